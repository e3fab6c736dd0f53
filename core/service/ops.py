"""What the control socket can do: one table of operations on a :class:`Host`.

The same table serves a running console (GUI or ``serve``, through the socket)
and the CLI's offline mode (a Host opened on the data dir under its lock), so
both give the same answers. Adding an operation is one function and one
``OPS`` entry; its argument spec is checked before the function runs.
Results carry redacted engine texts and set/not-set flags, never a value of a
sensitive field.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import os
import shlex
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import ConfigError, ConsoleError, NotFoundError
from core.service.protocol import FAILED, NO_CONSOLE, REFUSED, ServiceError, usage

if TYPE_CHECKING:
    from core.history.store import HistoryRecord
    from core.host import Host
    from core.models import LifecycleEvent
    from core.workspaces import InstalledBundle, Workspace

log = logging.getLogger(__name__)

#: how a console runs: "gui", "serve" (headless) or "offline" (the CLI on the data dir)
Mode = str
Handler = Callable[["Operations", dict[str, Any]], Awaitable[Any]]
Streamer = Callable[["Operations", dict[str, Any]], AsyncIterator[dict[str, Any]]]
RECENT_EVENTS = 200
FOLLOW_POLL = 0.25


@dataclass(frozen=True)
class Op:
    handler: Handler | None = None
    #: argument name -> (accepted types, required)
    args: dict[str, tuple[tuple[type, ...], bool]] | None = None
    #: needs a console with live processes (refused offline)
    live: bool = False
    #: answers ok, then a stream of event lines
    stream: Streamer | None = None


class Operations:
    """Binds the operation table to one Host (and remembers recent events)."""

    def __init__(self, host: Host, mode: Mode, *, on_handover: Callable[[], None] | None = None):
        self.host = host
        self.mode = mode
        self.on_handover = on_handover
        self.recent: collections.deque[dict[str, Any]] = collections.deque(maxlen=RECENT_EVENTS)
        self._listeners: set[asyncio.Queue[dict[str, Any]]] = set()
        self._unsubscribe = host.lifecycle.subscribe(self._on_event)

    def close(self) -> None:
        self._unsubscribe()

    def _on_event(self, ev: LifecycleEvent) -> None:
        payload = event_json(self.host, ev)
        self.recent.append(payload)
        for queue in list(self._listeners):
            queue.put_nowait(payload)

    async def run(self, op_name: str, args: dict[str, Any]) -> Any:
        """Validate and run one non-streaming operation (raises ServiceError)."""
        op = self.lookup(op_name, args)
        if op.handler is None:
            raise usage(f'"{op_name}" is a streaming operation.')
        try:
            return await op.handler(self, args)
        except ServiceError:
            raise
        except ConfigError as exc:
            problems = "; ".join(exc.problems) if exc.problems else str(exc)
            raise usage(problems) from None  # bad input, as the Configure form says
        except NotFoundError as exc:
            raise usage(str(exc)) from None
        except ConsoleError as exc:
            raise ServiceError(FAILED, str(exc)) from None

    def lookup(self, op_name: str, args: dict[str, Any]) -> Op:
        op = OPS.get(op_name)
        if op is None:
            raise usage(f'Unknown operation "{op_name}".')
        check_args(op_name, op, args)
        if op.live and self.mode == "offline":
            raise ServiceError(NO_CONSOLE, no_console_message(self.host))
        return op

    @contextlib.contextmanager
    def listen(self) -> Any:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._listeners.add(queue)
        try:
            yield queue
        finally:
            self._listeners.discard(queue)

    # -- resolution -----------------------------------------------------------------

    def workspace(self, text: str) -> Workspace:
        """A workspace by id or by name (case-insensitive); ambiguity is an error."""
        spaces = self.host.workspaces()
        for ws in spaces:
            if ws.id == text:
                return ws
        folded = text.casefold()
        matches = [ws for ws in spaces if ws.name.casefold() == folded]
        if len(matches) == 1:
            return matches[0]
        if matches:
            ids = ", ".join(ws.id for ws in matches)
            raise usage(f'Workspace name "{text}" is ambiguous: use one of the ids {ids}.')
        known = ", ".join(f'"{ws.name}"' for ws in spaces) or "none"
        raise usage(f'No workspace "{text}" (by name or id). Workspaces: {known}.')

    def bundle(self, ws: Workspace, text: str) -> InstalledBundle:
        """A bundle by server name, else by display name (case-insensitive)."""
        for b in ws.bundles:
            if b.server_name == text:
                return b
        folded = text.casefold()
        matches = [
            b
            for b in ws.bundles
            if b.server_name.casefold() == folded or self._label(ws, b).casefold() == folded
        ]
        if len(matches) == 1:
            return matches[0]
        if matches:
            names = ", ".join(b.server_name for b in matches)
            raise usage(f'Bundle "{text}" is ambiguous in "{ws.name}": use one of {names}.')
        known = ", ".join(b.server_name for b in ws.bundles) or "none"
        raise usage(f'No bundle "{text}" in workspace "{ws.name}". Installed: {known}.')

    def target(self, args: dict[str, Any]) -> tuple[Workspace, InstalledBundle]:
        ws = self.workspace(args["workspace"])
        return ws, self.bundle(ws, args["bundle"])

    def _label(self, ws: Workspace, b: InstalledBundle) -> str:
        try:
            return self.host.manifest(ws.id, b.server_name).label
        except ConsoleError:
            return b.server_name


def check_args(op_name: str, op: Op, args: dict[str, Any]) -> None:
    spec = op.args or {}
    for name in args:
        if name not in spec:
            raise usage(f'"{op_name}" takes no argument "{name}".')
    for name, (types, required) in spec.items():
        if name not in args:
            if required:
                raise usage(f'"{op_name}" needs the argument "{name}".')
            continue
        value = args[name]
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            raise usage(f'"{op_name}": argument "{name}" has the wrong type.')


def no_console_message(host: Host) -> str:
    return (
        "No console is running for this data dir. Start one with "
        f'"bundle-console serve --data-dir {host.data_dir}" (headless) '
        'or "bundle-console" (the window).'
    )


def cli_wording(host: Host, ws_id: str, server_name: str, text: str | None) -> str | None:
    """``text`` with the window's needs-setup hint replaced by the CLI command that sets it.

    The engine keeps one message (the window shows it); every answer here goes
    to a command line, where "Open Configure…" leads nowhere. The key comes
    from the manifest and the set/not-set flags, never from a value.
    """
    from core.launch import SETUP_HINT
    from core.paths import resolve_data_dir

    if not text or SETUP_HINT not in text:
        return text
    ws = next((w for w in host.workspaces() if w.id == ws_id), None)
    if ws is None:
        return text
    assignment, tail = "KEY=VALUE", ""
    with contextlib.suppress(ConsoleError):
        manifest = host.manifest(ws_id, server_name)
        populated = host.config_status(ws_id, server_name)
        missing = [
            (key, f)
            for key, f in manifest.user_config.items()
            if f.required and not populated.get(key) and f.default is None
        ]
        named = [(key, f) for key, f in missing if f'"{f.title}"' in text]
        if named or missing:
            key, f = (named or missing)[0]
            assignment = f"{key}=-" if f.sensitive else f"{key}=VALUE"
            tail = " (the value on standard input)" if f.sensitive else ""
    command = ["bundle-console", "config", "set", ws.name, server_name, assignment]
    if Path(host.data_dir) != resolve_data_dir(None):
        command += ["--data-dir", str(host.data_dir)]
    return text.replace(SETUP_HINT, f"Set it with: {shlex.join(command)}{tail}.")


def event_json(host: Host, ev: LifecycleEvent) -> dict[str, Any]:
    return {
        "at": ev.at,
        "kind": ev.kind,
        "workspace": ev.ws_id,
        "bundle": ev.server_name,
        "previous": str(ev.previous),
        "state": str(ev.state),
        "error": cli_wording(host, ev.ws_id, ev.server_name, ev.error),  # redacted by the engine
    }


def history_json(record: HistoryRecord) -> dict[str, Any]:
    """A history record in the shape of :func:`event_json`, plus who changed what."""
    data: dict[str, Any] = {
        "at": record.at,
        "kind": record.kind,
        "workspace": record.ws_id,
        "bundle": record.server_name,
        "previous": record.previous,
        "state": record.state,
        "error": record.error,  # redacted when it was recorded
    }
    if record.keys or record.via:  # a config change: key names only, never a value
        data.update(keys=list(record.keys), user=record.user, via=record.via)
    return data


# -- operations -----------------------------------------------------------------------

S = (str,)
WS = {"workspace": (S, True)}
WSB = {"workspace": (S, True), "bundle": (S, True)}


async def op_hello(ops: Operations, args: dict[str, Any]) -> Any:
    return {"mode": ops.mode, "pid": os.getpid(), "data_dir": str(ops.host.data_dir)}


def _bundle_status(ops: Operations, ws: Workspace, b: InstalledBundle) -> dict[str, Any]:
    lc = ops.host.lifecycle
    inst = lc.get_instance(b.server_name, ws.id)
    state = str(inst.state) if inst else "stopped"
    started = inst.started_at if inst else None
    running = inst is not None and state == "running" and started is not None
    return {
        "server_name": b.server_name,
        "name": ops._label(ws, b),
        "version": b.version,
        "state": state,
        "pid": inst.pid if inst else None,
        "uptime": round(time.time() - started, 1) if running and started else None,
        "restarts": inst.restarts if inst else 0,
        "crash_restarts": inst.crash_restarts if inst else 0,
        "respawns": inst.respawns if inst else 0,
        "needs_setup": cli_wording(
            ops.host, ws.id, b.server_name, inst.needs_setup if inst else None
        ),
        "last_error": inst.last_error if inst else None,  # redacted by the engine
        "protected": b.protected,
        # provenance and install warnings (official-schema problems among them)
        "signature": b.signature.summary if b.signature else "Not checked (installed earlier)",
        "signature_status": b.signature.status if b.signature else None,
        "signature_trust": b.signature.trust if b.signature else None,
        "signature_override": b.signature_override_at is not None,
        "warnings": list(b.warnings),
        # core.sandbox: "isolated (bubblewrap), network ..." or "not isolated: <reason>"
        "isolation": ops.host.isolation(ws.id, b.server_name).summary(),
        "network": b.network,
    }


async def op_status(ops: Operations, args: dict[str, Any]) -> Any:
    spaces = [ops.workspace(args["workspace"])] if args.get("workspace") else ops.host.workspaces()
    return {
        "console": ops.mode,
        "pid": os.getpid() if ops.mode != "offline" else None,
        "secrets": ops.host.secrets_status().as_dict(),  # keyring or file, and why (core.secrets)
        "workspaces": [
            {
                "id": ws.id,
                "name": ws.name,
                "bundles": [_bundle_status(ops, ws, b) for b in ws.bundles],
            }
            for ws in spaces
        ],
    }


def _respawn_json(ops: Operations, ws_id: str, server_name: str, result: Any) -> dict[str, Any]:
    data = asdict(result)
    data["error"] = cli_wording(ops.host, ws_id, server_name, data.get("error"))
    return data


async def op_start(ops: Operations, args: dict[str, Any]) -> Any:
    ws, b = ops.target(args)
    result = await ops.host.lifecycle.start_bundle(b.server_name, ws.id)
    return _respawn_json(ops, ws.id, b.server_name, result)


async def op_stop(ops: Operations, args: dict[str, Any]) -> Any:
    ws, b = ops.target(args)
    result = await ops.host.lifecycle.stop_bundle(b.server_name, ws.id)
    return _respawn_json(ops, ws.id, b.server_name, result)


async def op_restart(ops: Operations, args: dict[str, Any]) -> Any:
    ws, b = ops.target(args)
    result = await ops.host.lifecycle.respawn_bundle(b.server_name, ws.id)
    return _respawn_json(ops, ws.id, b.server_name, result)


async def op_config_show(ops: Operations, args: dict[str, Any]) -> Any:
    ws, b = ops.target(args)
    manifest = ops.host.manifest(ws.id, b.server_name)
    status = ops.host.config_status(ws.id, b.server_name)
    values = ops.host.config_values(ws.id, b.server_name)  # non-sensitive only
    fields = []
    for key, f in manifest.user_config.items():
        value = None if f.sensitive else values.get(key, f.default)
        fields.append(
            {
                "key": key,
                "title": f.title,
                "type": f.type,
                "required": f.required,
                "sensitive": f.sensitive,
                "multiple": f.multiple,
                "set": status.get(key, False),
                "value": value,
            }
        )
    return {"workspace": ws.id, "bundle": b.server_name, "fields": fields}


def _configure_json(ops: Operations, ws: Workspace, b: InstalledBundle, result: Any) -> Any:
    respawn = result.respawn
    inst = ops.host.lifecycle.get_instance(b.server_name, ws.id)
    return {
        "outcome": result.outcome,
        "populated": dict(result.populated),
        "error": cli_wording(  # redacted by the engine
            ops.host, ws.id, b.server_name, respawn.error if respawn is not None else None
        ),
        "pid": inst.pid if inst is not None else None,
    }


async def op_config_set(ops: Operations, args: dict[str, Any]) -> Any:
    ws, b = ops.target(args)
    values = args["values"]
    for key, value in values.items():
        if not isinstance(key, str) or not (
            isinstance(value, str)
            or (isinstance(value, list) and all(isinstance(v, str) for v in value))
        ):
            raise usage('"config_set": values must map keys to text or lists of text.')
    result = await ops.host.set_user_config(ws.id, b.server_name, values, via="cli")
    return _configure_json(ops, ws, b, result)


async def op_config_clear(ops: Operations, args: dict[str, Any]) -> Any:
    ws, b = ops.target(args)
    keys = args.get("keys") or []
    if not all(isinstance(k, str) for k in keys):
        raise usage('"config_clear": keys must be text.')
    if keys:
        result = await ops.host.set_user_config(
            ws.id, b.server_name, dict.fromkeys(keys, ""), via="cli"
        )
    else:
        result = await ops.host.clear_user_config(ws.id, b.server_name, via="cli")
    return _configure_json(ops, ws, b, result)


def _update_json(ops: Operations, ws: Workspace, result: Any) -> dict[str, Any]:
    plan = result.plan
    respawn = result.config.respawn
    return {
        "workspace": ws.id,
        "bundle": plan.server_name,
        "updated": True,
        "kind": plan.kind,
        "from_version": plan.old_version,
        "to_version": plan.new_version,
        "outcome": result.outcome,
        "error": cli_wording(  # redacted by the engine
            ops.host, ws.id, plan.server_name, respawn.error if respawn is not None else None
        ),
        "notes": list(result.notes),
        "needs_setup": list(plan.diff.needs_setup),
        "dropped": list(plan.diff.dropped),
        "previous_version": result.previous_version,
    }


async def op_install(ops: Operations, args: dict[str, Any]) -> Any:
    """An installed manifest name is updated in place unless ``copy`` asks for a second one."""
    ws = ops.workspace(args["workspace"])
    allow = bool(args.get("allow_invalid_signature"))
    if not args.get("copy") and not args.get("server_name"):
        plan = await ops.host.plan_update(ws.id, args["path"], allow_invalid_signature=allow)
        if plan is not None:
            result = await ops.host.update_bundle(
                ws.id, plan.server_name, args["path"], allow_invalid_signature=allow
            )
            return _update_json(ops, ws, result)
    inst = await ops.host.install_bundle(
        ws.id,
        args["path"],
        args.get("server_name"),
        allow_invalid_signature=bool(args.get("allow_invalid_signature")),
    )
    signature = ops.host.signature(ws.id, inst.server_name)
    return {
        "workspace": ws.id,
        "bundle": inst.server_name,
        "signature": signature.summary if signature else None,
        "warnings": ops.host.install_warnings(ws.id, inst.server_name),
        "needs_setup": cli_wording(ops.host, ws.id, inst.server_name, inst.needs_setup),
    }


async def op_rollback(ops: Operations, args: dict[str, Any]) -> Any:
    ws, b = ops.target(args)
    return _update_json(ops, ws, await ops.host.rollback_bundle(ws.id, b.server_name))


async def op_bulk(ops: Operations, args: dict[str, Any], verb: str) -> Any:
    ws = ops.workspace(args["workspace"])
    run = {"start": ops.host.start_all, "stop": ops.host.stop_all, "restart": ops.host.restart_all}
    result = await run[verb](ws.id)
    return {
        "workspace": ws.id,
        "ok": result.ok,
        "summary": result.summary(),
        "bundles": [
            {"bundle": i.server_name, "skipped": True}
            if i.result is None
            else {
                "bundle": i.server_name,
                "skipped": False,
                **_respawn_json(ops, ws.id, i.server_name, i.result),
            }
            for i in result.items
        ],
    }


async def op_start_all(ops: Operations, args: dict[str, Any]) -> Any:
    return await op_bulk(ops, args, "start")


async def op_stop_all(ops: Operations, args: dict[str, Any]) -> Any:
    return await op_bulk(ops, args, "stop")


async def op_restart_all(ops: Operations, args: dict[str, Any]) -> Any:
    return await op_bulk(ops, args, "restart")


async def op_uninstall(ops: Operations, args: dict[str, Any]) -> Any:
    ws, b = ops.target(args)
    await ops.host.uninstall_bundle(ws.id, b.server_name, force=bool(args.get("force")))
    return {"workspace": ws.id, "bundle": b.server_name}


async def op_protect(ops: Operations, args: dict[str, Any]) -> Any:
    ws, b = ops.target(args)
    changed = ops.host.set_protected(ws.id, b.server_name, bool(args["protected"]), via="cli")
    return {"workspace": ws.id, "bundle": b.server_name, "protected": changed.protected}


def _ws_json(ws: Workspace) -> dict[str, Any]:
    return {"id": ws.id, "name": ws.name, "bundles": [b.server_name for b in ws.bundles]}


async def op_ws_list(ops: Operations, args: dict[str, Any]) -> Any:
    return [_ws_json(ws) for ws in ops.host.workspaces()]


async def op_ws_create(ops: Operations, args: dict[str, Any]) -> Any:
    return _ws_json(ops.host.create_workspace(args["name"]))


async def op_ws_rename(ops: Operations, args: dict[str, Any]) -> Any:
    ws = ops.workspace(args["workspace"])
    return _ws_json(ops.host.rename_workspace(ws.id, args["name"]))


async def op_ws_delete(ops: Operations, args: dict[str, Any]) -> Any:
    ws = ops.workspace(args["workspace"])
    await ops.host.delete_workspace(ws.id)
    return _ws_json(ws)


async def op_secrets_move_to_file(ops: Operations, args: dict[str, Any]) -> Any:
    moved = await ops.host.move_secrets_to_file()
    return {"moved": moved, "secrets": ops.host.secrets_status().as_dict()}


async def op_secrets_move_to_keyring(ops: Operations, args: dict[str, Any]) -> Any:
    problems = await ops.host.move_secrets_to_keyring()
    return {"problems": problems, "secrets": ops.host.secrets_status().as_dict()}


async def op_logs(ops: Operations, args: dict[str, Any]) -> Any:
    ws, b = ops.target(args)
    lines = int(args.get("lines", 50))
    return ops.host.lifecycle.read_log(b.server_name, ws.id, max_lines=max(1, min(lines, 10000)))


async def op_events(ops: Operations, args: dict[str, Any]) -> Any:
    """The newest history records (kept across relaunches, core.history), oldest first.

    Without a readable history (a refused link, say) the events of this session.
    """
    history = ops.host.history
    if history is None or history.store.problem is not None:
        return list(ops.recent)
    newest = collections.deque(history.store.records(), maxlen=RECENT_EVENTS)
    return [history_json(record) for record in newest]


async def op_handover(ops: Operations, args: dict[str, Any]) -> Any:
    if ops.mode != "serve" or ops.on_handover is None:
        raise ServiceError(REFUSED, f"This console ({ops.mode}) does not hand over its data dir.")
    ops.on_handover()
    return {"pid": os.getpid()}


async def stream_events(ops: Operations, args: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
    with ops.listen() as queue:
        while True:
            yield await queue.get()


def new_lines(seen: list[str], now: list[str]) -> list[str]:
    """Lines of ``now`` after the longest suffix of ``seen`` it starts with."""
    for overlap in range(min(len(seen), len(now)), 0, -1):
        if seen[-overlap:] == now[:overlap]:
            return now[overlap:]
    return now


async def stream_logs(ops: Operations, args: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
    ws, b = ops.target(args)
    lc = ops.host.lifecycle
    seen = lc.read_log(b.server_name, ws.id, max_lines=max(1, int(args.get("lines", 50))))
    for line in seen:
        yield {"line": line}
    while True:
        await asyncio.sleep(FOLLOW_POLL)
        now = lc.read_log(b.server_name, ws.id, max_lines=200)
        for line in new_lines(seen, now):
            yield {"line": line}
        seen = now


async def op_passthrough(ops: Operations, args: dict[str, Any]) -> Any:
    """Extra host variables passed to bundles: show, or replace with ``names``."""
    ws_id = ops.workspace(args["workspace"]).id if args.get("workspace") else None
    if "names" in args:
        ops.host.set_env_passthrough(list(args["names"]), ws_id)
    result: dict[str, Any] = {"global": ops.host.env_passthrough()}
    if ws_id is not None:
        result["workspace"] = ws_id
        result["workspace_names"] = ops.host.env_passthrough(ws_id)
        result["effective"] = ops.host.effective_env_passthrough(ws_id)
    return result


OPS: dict[str, Op] = {
    "hello": Op(op_hello, {}),
    "status": Op(op_status, {"workspace": (S, False)}),
    "start": Op(op_start, WSB, live=True),
    "stop": Op(op_stop, WSB),
    "restart": Op(op_restart, WSB, live=True),
    "config_show": Op(op_config_show, WSB),
    "config_set": Op(op_config_set, {**WSB, "values": ((dict,), True)}),
    "config_clear": Op(op_config_clear, {**WSB, "keys": ((list,), False)}),
    "install": Op(
        op_install,
        {
            **WS,
            "path": (S, True),
            "server_name": (S, False),
            "allow_invalid_signature": ((bool,), False),
            "copy": ((bool,), False),
        },
    ),
    "rollback": Op(op_rollback, WSB),
    "start_all": Op(op_start_all, WS, live=True),
    "stop_all": Op(op_stop_all, WS),
    "restart_all": Op(op_restart_all, WS, live=True),
    "uninstall": Op(op_uninstall, {**WSB, "force": ((bool,), False)}),
    "protect": Op(op_protect, {**WSB, "protected": ((bool,), True)}),
    "env_passthrough": Op(op_passthrough, {"workspace": (S, False), "names": ((list,), False)}),
    "workspace_list": Op(op_ws_list, {}),
    "workspace_create": Op(op_ws_create, {"name": (S, True)}),
    "workspace_rename": Op(op_ws_rename, {**WS, "name": (S, True)}),
    "workspace_delete": Op(op_ws_delete, WS),
    "logs": Op(op_logs, {**WSB, "lines": ((int,), False)}),
    "logs_follow": Op(stream=stream_logs, args={**WSB, "lines": ((int,), False)}, live=True),
    "events": Op(op_events, {}),
    "secrets_move_to_file": Op(op_secrets_move_to_file, {}),
    "secrets_move_to_keyring": Op(op_secrets_move_to_keyring, {}),
    "events_follow": Op(stream=stream_events, args={}, live=True),
    "handover": Op(op_handover, {}),
}
