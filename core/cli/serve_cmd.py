"""``bundle-console serve``: run the console headless (see core.service.serve)."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "serve",
        parents=[common],
        help="run the console without a window (stops its bundles on SIGTERM)",
    )
    p.add_argument("--no-restore", action="store_true", help="do not restart bundles that ran")
    p.add_argument("--log-level", default="INFO", help="Python log level (default INFO)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace, data_dir: Path) -> int:
    from core.service.serve import main

    return main(data_dir, restore=not args.no_restore, log_level=args.log_level)
