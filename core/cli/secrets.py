"""``secrets move-to-file | move-to-keyring``: where sensitive values are kept (core.secrets)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from core.cli.main import run_with_session
from core.cli.output import emit_json


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("secrets", help="move sensitive values between the keyring and the file")
    verbs = p.add_subparsers(
        dest="secrets_command", metavar="move-to-file|move-to-keyring", required=True
    )
    to_file = verbs.add_parser(
        "move-to-file",
        parents=[common],
        help="every keyring-held value back into its 0600 file (kept there from now on)",
    )
    to_file.add_argument("--json", action="store_true")
    to_file.set_defaults(run=run_to_file)
    to_keyring = verbs.add_parser(
        "move-to-keyring",
        parents=[common],
        help="use the OS keyring again and move the files' secrets into it",
    )
    to_keyring.add_argument("--json", action="store_true")
    to_keyring.set_defaults(run=run_to_keyring)


def run_to_file(args: argparse.Namespace, data_dir: Path) -> int:
    def body(session: Any) -> int:
        result = session.call("secrets_move_to_file")
        if args.json:
            emit_json(result)
        else:
            print(f"Moved {result['moved']} secret(s) to the 0600 files; keyring items deleted.")
            print(f"Secrets: {result['secrets']['summary']}")
        return 0

    return run_with_session(args, data_dir, body)


def run_to_keyring(args: argparse.Namespace, data_dir: Path) -> int:
    def body(session: Any) -> int:
        result = session.call("secrets_move_to_keyring")
        if args.json:
            emit_json(result)
        else:
            print(f"Secrets: {result['secrets']['summary']}")
            for problem in result["problems"]:
                print(f"  {problem}")
        return 0

    return run_with_session(args, data_dir, body)
