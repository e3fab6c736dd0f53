"""The ``bundle-console`` entry point: subcommands, or the GUI when none is given.

``core`` may not import ``gui`` (import-linter), so the window is launched by
module name (``gui.app``) through importlib: the CLI path never loads Qt.
Exit status: 0 success, 1 the operation failed, 2 a usage error.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from core.service.protocol import USAGE, ServiceError

#: one module per verb group, each with register(subparsers); engineer G adds
#: "core.cli.gateway" (connect, calls) here, U adds protect/unprotect the same way.
VERB_MODULES = [
    "core.cli.serve_cmd",
    "core.cli.status",
    "core.cli.bundles",
    "core.cli.config",
    "core.cli.workspace",
    "core.cli.logs",
    "core.cli.secrets",
    "core.cli.passthrough",
    "core.cli.gateway",
]
#: options the GUI shares with the CLI, skipped when looking for a subcommand
_VALUED = {"--data-dir", "--log-level"}
GUI_MODULE = "gui.app"

EPILOG = (
    "With no subcommand, the console window opens (options: --data-dir, --no-restore, "
    "--log-level, and Qt's own). Exit status: 0 success, 1 the operation failed, 2 usage error."
)


def resolve_data_dir(value: str | None) -> Path:
    from core.paths import resolve_data_dir as resolve

    return resolve(value)


def common_options() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--data-dir",
        default=argparse.SUPPRESS,
        help="data directory (default: $BUNDLE_CONSOLE_HOME, else the platform's user data dir)",
    )
    return common


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bundle-console", epilog=EPILOG)
    parser.add_argument("--data-dir", default=None, help=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    common = common_options()
    for name in VERB_MODULES:
        importlib.import_module(name).register(sub, common)
    return parser


def subcommand_of(argv: Sequence[str]) -> str | None:
    """The first positional word, skipping the options shared with the GUI."""
    skip = False
    for arg in argv:
        if skip:
            skip = False
            continue
        if arg in _VALUED:
            skip = True
            continue
        if arg.startswith("-"):
            continue
        return arg
    return None


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    wants_help = any(a in ("-h", "--help") for a in argv)
    if subcommand_of(argv) is None and not wants_help:
        return importlib.import_module(GUI_MODULE).main(argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    data_dir = resolve_data_dir(getattr(args, "data_dir", None))
    try:
        return int(args.run(args, data_dir) or 0)
    except ServiceError as exc:
        from core.cli.output import err

        err(str(exc))
        return 2 if exc.kind == USAGE else 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def run_with_session(args: argparse.Namespace, data_dir: Path, body) -> int:  # type: ignore[no-untyped-def]
    """Open a session (console or data dir), run ``body(session)``, always close it."""
    from core.cli.session import Session
    from core.errors import ConsoleError

    session = Session(data_dir)
    try:
        return int(body(session) or 0)
    except ConsoleError as exc:  # offline: the data dir itself refused (locked, corrupt)
        from core.cli.output import err

        err(str(exc))
        return 1
    finally:
        session.close()
