"""``passthrough [--workspace WS] [NAME ... | --clear]``: extra host variables for bundles.

Proxy and CA variables pass without being listed; these are the others the
administrator chose. They apply at each bundle's next start or restart.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from core.cli.main import run_with_session
from core.cli.output import emit_json


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "passthrough",
        parents=[common],
        help="show or set the extra host environment variables bundles get",
    )
    p.add_argument("names", nargs="*", help="replace the list with these variable names")
    p.add_argument("--workspace", help="this workspace's own list (default: every workspace)")
    p.add_argument("--clear", action="store_true", help="empty the list")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=run)


def run(args: argparse.Namespace, data_dir: Path) -> int:
    def body(session: Any) -> int:
        req: dict[str, Any] = {}
        if args.workspace:
            req["workspace"] = args.workspace
        if args.clear:
            req["names"] = []
        elif args.names:
            req["names"] = list(args.names)
        result = session.call("env_passthrough", req)
        if args.json:
            emit_json(result)
            return 0
        print("Every workspace: " + (", ".join(result["global"]) or "(none)"))
        if "workspace" in result:
            print(f"{result['workspace']}: " + (", ".join(result["workspace_names"]) or "(none)"))
        print("Proxy and CA variables (HTTPS_PROXY, SSL_CERT_FILE, ...) always pass.")
        return 0

    return run_with_session(args, data_dir, body)
