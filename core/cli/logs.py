"""``logs WORKSPACE BUNDLE [-n N] [-f]`` and ``events [-f] [--json]`` (redacted)."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from core.cli.main import run_with_session
from core.cli.output import emit_json


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("logs", parents=[common], help="a bundle's stderr log (redacted)")
    p.add_argument("workspace", help="workspace name or id")
    p.add_argument("bundle", help="server name or display name")
    p.add_argument("-n", "--lines", type=int, default=50, help="last N lines (default 50)")
    p.add_argument("-f", "--follow", action="store_true", help="keep printing new lines")
    p.add_argument("--json", action="store_true", help="a JSON list (one object per line with -f)")
    p.set_defaults(run=run_logs)
    e = sub.add_parser(
        "events",
        parents=[common],
        help="bundle history (states, config changes), kept across relaunches",
    )
    e.add_argument("-f", "--follow", action="store_true", help="keep printing live events")
    e.add_argument("--json", action="store_true", help="JSON (one object per line with -f)")
    e.set_defaults(run=run_events)


def run_logs(args: argparse.Namespace, data_dir: Path) -> int:
    target = {"workspace": args.workspace, "bundle": args.bundle, "lines": args.lines}

    def body(session: Any) -> int:
        if args.follow:
            with session.stream("logs_follow", target) as events:
                for ev in events:
                    print(json.dumps(ev) if args.json else ev["line"], flush=True)
            return 0
        lines = session.call("logs", target)
        if args.json:
            emit_json(lines)
        else:
            for line in lines:
                print(line)
        return 0

    return run_with_session(args, data_dir, body)


def format_event(ev: dict[str, Any]) -> str:
    stamp = time.strftime("%H:%M:%S", time.localtime(ev["at"]))
    where = f"{ev['workspace']}/{ev['bundle']}"
    if ev["kind"] == "transition":
        text = f"{ev['previous']} -> {ev['state']}"
    elif ev.get("via"):  # a recorded change: which keys, who, through what
        keys = ", ".join(ev.get("keys") or []) or "-"
        text = f"{ev['kind']} {keys} (by {ev.get('user') or '?'} via {ev['via']})"
    else:
        text = ev["kind"]
    error = f"  {ev['error'].splitlines()[0]}" if ev.get("error") else ""
    return f"{stamp} {where} {text}{error}"


def run_events(args: argparse.Namespace, data_dir: Path) -> int:
    def body(session: Any) -> int:
        if args.follow:
            with session.stream("events_follow") as events:
                for ev in events:
                    print(json.dumps(ev) if args.json else format_event(ev), flush=True)
            return 0
        recent = session.call("events")
        if args.json:
            emit_json(recent)
        else:
            for ev in recent:
                print(format_event(ev))
        return 0

    return run_with_session(args, data_dir, body)
