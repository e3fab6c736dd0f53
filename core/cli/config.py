"""``config show | set | clear WORKSPACE BUNDLE ...``: the Configure form, scripted.

A value written ``KEY=-`` is read from standard input (one line per ``-``, in
order, newline stripped), so secrets never reach argv or ``ps``. A sensitive
key given inline is refused (exit 2) before anything is sent or written, and
its value is never printed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from core.cli.main import run_with_session
from core.cli.output import emit_json, err, table
from core.service.protocol import ServiceError, usage

OUTCOME_WORDS = {
    "respawned": "Saved; {bundle} restarted with the new values{pid}.",
    "saved_stopped": "Saved. {bundle} is not running: the values apply when it next starts.",
    "protected": "Saved, but {bundle} is protected: restart refused, its process keeps the "
    "old values.",
    "needs_setup": "Saved, but {bundle} still needs setup: {error}",
    "failed": "Saved, but restarting {bundle} failed: {error}",
}
OK_OUTCOMES = {"respawned", "saved_stopped"}


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("config", help="show or change a bundle's user_config")
    verbs = p.add_subparsers(dest="config_command", metavar="show|set|clear", required=True)
    show = verbs.add_parser("show", parents=[common], help="each field: title, set or not")
    _target(show)
    show.add_argument("--json", action="store_true")
    show.set_defaults(run=run_show)
    setp = verbs.add_parser(
        "set", parents=[common], help="KEY=VALUE... (KEY=- reads the value from stdin)"
    )
    _target(setp)
    setp.add_argument("assignments", nargs="+", metavar="KEY=VALUE")
    setp.add_argument("--json", action="store_true")
    setp.set_defaults(run=run_set)
    clear = verbs.add_parser("clear", parents=[common], help="remove stored values")
    _target(clear)
    clear.add_argument("keys", nargs="*", metavar="KEY", help="only these (default: all)")
    clear.add_argument("--json", action="store_true")
    clear.set_defaults(run=run_clear)


def _target(p: argparse.ArgumentParser) -> None:
    p.add_argument("workspace", help="workspace name or id")
    p.add_argument("bundle", help="server name or display name")


def run_show(args: argparse.Namespace, data_dir: Path) -> int:
    def body(session: Any) -> int:
        result = session.call("config_show", {"workspace": args.workspace, "bundle": args.bundle})
        if args.json:
            emit_json(result)
            return 0
        rows = [["KEY", "TITLE", "", "VALUE"]]
        for f in result["fields"]:
            shown = "(sensitive)" if f["sensitive"] else _text(f["value"])
            mark = "set" if f["set"] else ("NOT SET (required)" if f["required"] else "not set")
            rows.append([f["key"], f["title"], mark, shown])
        print(table(rows, indent="") if len(rows) > 1 else "(no user_config fields)")
        return 0

    return run_with_session(args, data_dir, body)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return str(value)


def parse_assignments(
    assignments: list[str], fields: list[dict[str, Any]], stdin: Any
) -> dict[str, Any]:
    """KEY=VALUE words -> values; refuses unknown keys and inline sensitive ones."""
    by_key = {f["key"]: f for f in fields}
    values: dict[str, Any] = {}
    for word in assignments:
        key, eq, value = word.partition("=")
        if not eq or not key:
            raise usage(f'"{key or word}": expected KEY=VALUE (or KEY=- to read stdin).')
        f = by_key.get(key)
        if f is None:
            known = ", ".join(by_key) or "none"
            raise usage(f'Unknown key "{key}". Keys: {known}.')
        if value == "-":
            line = stdin.readline()
            if not line:
                raise usage(f'"{key}=-": standard input ended before its value.')
            value = line.removesuffix("\n").removesuffix("\r")
        elif f["sensitive"]:
            raise usage(
                f'"{key}" is sensitive: pass it as {key}=- and give the value on standard '
                "input, so it stays out of argv and ps. Nothing was written."
            )
        if f["multiple"]:
            values.setdefault(key, []).append(value)
        else:
            values[key] = value
    return values


def run_set(args: argparse.Namespace, data_dir: Path) -> int:
    def body(session: Any) -> int:
        target = {"workspace": args.workspace, "bundle": args.bundle}
        fields = session.call("config_show", target)["fields"]
        values = parse_assignments(args.assignments, fields, sys.stdin)
        return _report(session.call("config_set", {**target, "values": values}), args)

    return run_with_session(args, data_dir, body)


def run_clear(args: argparse.Namespace, data_dir: Path) -> int:
    def body(session: Any) -> int:
        req: dict[str, Any] = {"workspace": args.workspace, "bundle": args.bundle}
        if args.keys:
            req["keys"] = args.keys
        return _report(session.call("config_clear", req), args)

    return run_with_session(args, data_dir, body)


def _report(result: dict[str, Any], args: argparse.Namespace) -> int:
    if args.json:
        emit_json(result)
    else:
        outcome = result["outcome"]
        template = OUTCOME_WORDS.get(outcome, "Saved; outcome: " + outcome)
        pid = f" (pid {result['pid']})" if result.get("pid") else ""
        text = template.format(bundle=args.bundle, error=result.get("error") or "", pid=pid)
        (print if outcome in OK_OUTCOMES else err)(text)
    return 0 if result["outcome"] in OK_OUTCOMES else 1


__all__ = ["ServiceError", "parse_assignments"]
