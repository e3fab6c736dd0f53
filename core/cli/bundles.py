"""``start | stop | restart WORKSPACE BUNDLE``, ``install``, ``uninstall``, ``rollback``,
``start-all | stop-all | restart-all WORKSPACE``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from core.cli.main import run_with_session
from core.cli.output import emit_json, err


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    for verb, text in (
        ("start", "start a bundle"),
        ("stop", "stop a bundle"),
        ("restart", "restart a bundle (respawn_bundle: reads its credentials afresh)"),
    ):
        p = sub.add_parser(verb, parents=[common], help=text)
        _target(p)
        p.set_defaults(run=_lifecycle(verb))
    p = sub.add_parser("install", parents=[common], help="install a bundle folder or .mcpb")
    p.add_argument("workspace", help="workspace name or id")
    p.add_argument("path", help="bundle folder or .mcpb file")
    p.add_argument("--name", help="server name (default: derived from the manifest)")
    p.add_argument(
        "--allow-invalid-signature",
        action="store_true",
        help="install even though the signature does not match (recorded on the bundle)",
    )
    p.add_argument(
        "--copy",
        action="store_true",
        help="install a second copy even when the workspace has this bundle (default: update it)",
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=run_install)
    p = sub.add_parser(
        "rollback", parents=[common], help="go back to the version the last update replaced"
    )
    _target(p)
    p.set_defaults(run=run_rollback)
    for verb, text in (
        ("start-all", "start every bundle of a workspace"),
        ("stop-all", "stop every bundle of a workspace (protected ones keep running)"),
        ("restart-all", "restart every running bundle of a workspace"),
    ):
        p = sub.add_parser(verb, parents=[common], help=text)
        p.add_argument("workspace", help="workspace name or id")
        p.add_argument("--json", action="store_true")
        p.set_defaults(run=_bulk(verb.replace("-", "_")))
    p = sub.add_parser("uninstall", parents=[common], help="stop and remove a bundle")
    _target(p)
    p.add_argument("--force", action="store_true", help="also when the bundle is protected")
    p.set_defaults(run=run_uninstall)
    for verb, text in (
        ("protect", "protect a bundle: restarts and uninstall are refused"),
        ("unprotect", "remove a bundle's protection"),
    ):
        p = sub.add_parser(verb, parents=[common], help=text)
        _target(p)
        p.set_defaults(run=_protect(verb == "protect"))


def _target(p: argparse.ArgumentParser) -> None:
    p.add_argument("workspace", help="workspace name or id")
    p.add_argument("bundle", help="server name or display name")
    p.add_argument("--json", action="store_true")


_DONE = {"start": "started", "stop": "stopped", "restart": "restarted"}


def _lifecycle(verb: str):  # type: ignore[no-untyped-def]
    def run(args: argparse.Namespace, data_dir: Path) -> int:
        def body(session: Any) -> int:
            target = {"workspace": args.workspace, "bundle": args.bundle}
            result = session.call(verb, target)
            if args.json:
                emit_json(result)
            elif result["ok"]:
                print(f"{args.bundle}: {_DONE[verb]} ({result['outcome']}).")
            if not result["ok"]:
                if not args.json:
                    err(result["error"] or f"{verb} failed ({result['outcome']}).")
                return 1
            return 0

        return run_with_session(args, data_dir, body)

    return run


def run_install(args: argparse.Namespace, data_dir: Path) -> int:
    def body(session: Any) -> int:
        req = {"workspace": args.workspace, "path": str(Path(args.path).expanduser().absolute())}
        if args.name:
            req["server_name"] = args.name
        if args.allow_invalid_signature:
            req["allow_invalid_signature"] = True
        if args.copy:
            req["copy"] = True
        result = session.call("install", req)
        if args.json:
            emit_json(result)
            return 0
        if result.get("updated"):
            return _print_update(result)
        print(f'Installed "{result["bundle"]}" (stopped).')
        if result.get("signature"):
            print(f"Signature: {result['signature']}")
        for warning in result["warnings"]:
            print(f"warning: {warning}")
        if result["needs_setup"]:
            print(f"Needs setup: {result['needs_setup']}")
        return 0

    return run_with_session(args, data_dir, body)


_KIND = {"update": "Updated", "replace": "Replaced", "rollback": "Rolled back"}


def _print_update(result: dict[str, Any]) -> int:
    """The version change, the user_config notes, then how the restart went."""
    change = (
        f"{result['from_version']} → {result['to_version']}"
        if result["from_version"] != result["to_version"]
        else result["to_version"]
    )
    print(f'{_KIND[result["kind"]]} "{result["bundle"]}" ({change}).')
    for note in result["notes"]:
        print(f"  {note}")
    outcome = result["outcome"]
    if outcome == "respawned":
        print("Restarted with its settings.")
    elif outcome == "saved_stopped":
        print("It was not running: start it when ready.")
    elif outcome == "needs_setup":
        print("It needs setup before it can start: use `config set`.")
    else:
        err(result["error"] or f"the restart failed ({outcome}).")
        if result.get("previous_version") and result["kind"] != "rollback":
            err(f"`rollback` returns to {result['previous_version']}.")
        return 1
    if result.get("previous_version") and result["kind"] != "rollback":
        print(f"`rollback` returns to {result['previous_version']} until the next update.")
    return 0


def run_rollback(args: argparse.Namespace, data_dir: Path) -> int:
    def body(session: Any) -> int:
        result = session.call("rollback", {"workspace": args.workspace, "bundle": args.bundle})
        if args.json:
            emit_json(result)
            return 0
        return _print_update(result)

    return run_with_session(args, data_dir, body)


def _bulk(op: str):  # type: ignore[no-untyped-def]
    def run(args: argparse.Namespace, data_dir: Path) -> int:
        def body(session: Any) -> int:
            result = session.call(op, {"workspace": args.workspace})
            if args.json:
                emit_json(result)
            else:
                print(result["summary"] + ".")
                for item in result["bundles"]:
                    if not item["skipped"] and not item["ok"] and item["error"]:
                        err(f"{item['bundle']}: {item['error']}")
            return 0 if result["ok"] else 1

        return run_with_session(args, data_dir, body)

    return run


def run_uninstall(args: argparse.Namespace, data_dir: Path) -> int:
    def body(session: Any) -> int:
        req = {"workspace": args.workspace, "bundle": args.bundle, "force": args.force}
        result = session.call("uninstall", req)
        if args.json:
            emit_json(result)
        else:
            print(f'Uninstalled "{result["bundle"]}".')
        return 0

    return run_with_session(args, data_dir, body)


def _protect(protected: bool):  # type: ignore[no-untyped-def]
    def run(args: argparse.Namespace, data_dir: Path) -> int:
        def body(session: Any) -> int:
            req = {"workspace": args.workspace, "bundle": args.bundle, "protected": protected}
            result = session.call("protect", req)
            if args.json:
                emit_json(result)
            else:
                state = "protected" if result["protected"] else "no longer protected"
                print(f'"{result["bundle"]}" is {state}.')
            return 0

        return run_with_session(args, data_dir, body)

    return run
