"""``connect WORKSPACE`` (the stdio MCP server a client launches) and ``calls [-f] [--json]``."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    c = sub.add_parser(
        "connect",
        parents=[common],
        help="serve a workspace to an MCP client over stdio (starts a console if none runs)",
    )
    c.add_argument("workspace", help="workspace name or id")
    c.set_defaults(run=run_connect)
    k = sub.add_parser("calls", parents=[common], help="the record of MCP client tool calls")
    k.add_argument("-f", "--follow", action="store_true", help="keep printing new calls")
    k.add_argument("--json", action="store_true", help="one JSON object per line")
    k.set_defaults(run=run_calls)


def run_connect(args: argparse.Namespace, data_dir: Path) -> int:
    from core.gateway.relay import run_and_exit

    return run_and_exit(args.workspace, data_dir)


def format_call(record: dict[str, Any]) -> str:
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(record.get("at", 0))))
    client = f"{record.get('client') or '?'} {record.get('client_version') or ''}".strip()
    return (
        f"{stamp}  {record.get('workspace_name')}  {record.get('bundle')}/{record.get('tool')}"
        f"  {record.get('outcome')}  {float(record.get('duration_ms', 0)):.1f} ms  ({client})"
    )


def run_calls(args: argparse.Namespace, data_dir: Path) -> int:
    from core.gateway.files import calls_path
    from core.gateway.records import read_records

    path = calls_path(data_dir)

    def show(record: dict[str, Any]) -> None:
        print(json.dumps(record, sort_keys=True) if args.json else format_call(record), flush=True)

    for record in read_records(path):
        show(record)
    if not args.follow:
        return 0
    offset = path.stat().st_size if path.exists() else 0
    while True:  # follow: poll the file; a rotation starts it again from 0
        time.sleep(0.25)
        try:
            size = path.stat().st_size
        except OSError:
            continue
        if size < offset:
            offset = 0
        if size == offset:
            continue
        with path.open("rb") as fh:
            fh.seek(offset)
            chunk = fh.read(size - offset)
        end = chunk.rfind(b"\n") + 1
        offset += end
        for line in chunk[:end].splitlines():
            try:
                show(json.loads(line))
            except ValueError:
                continue
