"""``workspace list | create NAME | rename NAME NEW | delete NAME [--yes]``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from core.cli.main import run_with_session
from core.cli.output import emit_json, err, table


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("workspace", help="list, create, rename or delete workspaces")
    verbs = p.add_subparsers(dest="ws_command", metavar="list|create|rename|delete", required=True)
    lst = verbs.add_parser("list", parents=[common], help="every workspace")
    lst.add_argument("--json", action="store_true")
    lst.set_defaults(run=run_list)
    create = verbs.add_parser("create", parents=[common], help="a new empty workspace")
    create.add_argument("name")
    create.add_argument("--json", action="store_true")
    create.set_defaults(run=run_create)
    rename = verbs.add_parser("rename", parents=[common], help="rename a workspace")
    rename.add_argument("workspace", help="name or id")
    rename.add_argument("new_name")
    rename.add_argument("--json", action="store_true")
    rename.set_defaults(run=run_rename)
    delete = verbs.add_parser(
        "delete", parents=[common], help="stop its bundles, delete it and its credentials"
    )
    delete.add_argument("workspace", help="name or id")
    delete.add_argument("--yes", action="store_true", help="required: confirms the deletion")
    delete.add_argument("--json", action="store_true")
    delete.set_defaults(run=run_delete)


def _one(args: argparse.Namespace, data_dir: Path, op: str, req: dict[str, Any], done: str) -> int:
    def body(session: Any) -> int:
        ws = session.call(op, req)
        if args.json:
            emit_json(ws)
        else:
            print(done.format(**ws))
        return 0

    return run_with_session(args, data_dir, body)


def run_list(args: argparse.Namespace, data_dir: Path) -> int:
    def body(session: Any) -> int:
        spaces = session.call("workspace_list")
        if args.json:
            emit_json(spaces)
        elif spaces:
            rows = [["ID", "NAME", "BUNDLES"]]
            rows += [[w["id"], w["name"], str(len(w["bundles"]))] for w in spaces]
            print(table(rows, indent=""))
        else:
            print("(no workspaces)")
        return 0

    return run_with_session(args, data_dir, body)


def run_create(args: argparse.Namespace, data_dir: Path) -> int:
    req = {"name": args.name}
    return _one(args, data_dir, "workspace_create", req, 'Created "{name}" ({id}).')


def run_rename(args: argparse.Namespace, data_dir: Path) -> int:
    req = {"workspace": args.workspace, "name": args.new_name}
    return _one(args, data_dir, "workspace_rename", req, 'Renamed to "{name}" ({id}).')


def run_delete(args: argparse.Namespace, data_dir: Path) -> int:
    if not args.yes:
        err(f'Deleting "{args.workspace}" removes its bundles and credentials: add --yes.')
        return 2
    req = {"workspace": args.workspace}
    return _one(args, data_dir, "workspace_delete", req, 'Deleted "{name}" ({id}).')
