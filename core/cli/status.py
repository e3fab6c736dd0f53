"""``bundle-console status [WORKSPACE] [--json]``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from core.cli.main import run_with_session
from core.cli.output import duration, emit_json, table


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("status", parents=[common], help="workspaces, bundles and their state")
    p.add_argument("workspace", nargs="?", help="only this workspace (name or id)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(run=run)


def run(args: argparse.Namespace, data_dir: Path) -> int:
    def body(session: Any) -> int:
        args_ = {"workspace": args.workspace} if args.workspace else {}
        result = session.call("status", args_)
        if args.json:
            emit_json(result)
        else:
            print(render(result))
        return 0

    return run_with_session(args, data_dir, body)


def _signature(b: dict[str, Any]) -> str:
    """The short form for the table; the full sentence follows it."""
    status = b.get("signature_status")
    if status is None:
        return "-"
    if status == "invalid":
        return "INVALID (override)" if b.get("signature_override") else "INVALID"
    if status == "signed":
        return {"trusted": "signed", "self-signed": "self-signed"}.get(
            b.get("signature_trust") or "", "signed (untrusted)"
        )
    return "unsigned"


def render(result: dict[str, Any]) -> str:
    if result["console"] == "offline":
        lines = ["No console running: every bundle is stopped."]
    else:
        lines = [f"Console: {result['console']} (pid {result['pid']})"]
    secrets = result.get("secrets")
    if secrets:  # where sensitive values are kept; a keyring fallback is said here too
        lines.append(f"Secrets: {secrets['summary']}")
        if secrets.get("fallback"):
            lines.append(
                f"  Keyring unavailable ({secrets['reason']}): secrets are kept in 0600 files."
            )
    for ws in result["workspaces"]:
        lines.append(f"\n{ws['name']} ({ws['id']})")
        if not ws["bundles"]:
            lines.append("  (no bundles)")
            continue
        rows = [["BUNDLE", "STATE", "PID", "UPTIME", "RESTARTS", "SIGNATURE", "NOTE"]]
        for b in ws["bundles"]:
            note = b["needs_setup"] or b["last_error"] or ""
            if b["protected"]:
                note = f"protected. {note}".strip()
            rows.append(
                [
                    b["server_name"],
                    b["state"],
                    str(b["pid"] or "-"),
                    duration(b["uptime"]),
                    str(b["restarts"]),
                    _signature(b),
                    note.splitlines()[0] if note else "",
                ]
            )
        lines.append(table(rows))
        for b in ws["bundles"]:
            if b.get("signature_status") in ("signed", "invalid"):
                lines.append(f"  {b['server_name']}: {b['signature']}")
            isolation = b.get("isolation", "")
            if isolation.startswith("not isolated") or b.get("network") == "blocked":
                lines.append(f"  {b['server_name']}: {isolation}")
            for warning in b.get("warnings", []):
                lines.append(f"  {b['server_name']}: warning: {warning}")
    return "\n".join(lines)
