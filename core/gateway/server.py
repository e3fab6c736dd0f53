"""The gateway server inside the console that holds the data dir (GUI or ``serve``).

One Unix socket, ``<data>/service/gateway.sock`` (0600 in the 0700
``service/`` folder). A connection is admitted only from the same uid, never
from a process carrying a bundle's marker or spawn token, and only with the
token of ``gateway.token``; its first line names the workspace. The rest of
the connection is MCP, served by the official SDK's low-level ``Server``:
the workspace's union (see :mod:`catalog`), calls routed through
``lifecycle.use_process`` so they wait out starts and respawns, and
``list_changed`` to every client of a workspace when its union changes.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.gateway import catalog, files, unixsock
from core.gateway.console_requests import ConsoleRequests
from core.gateway.records import CallLog, CallRecord, read_records
from core.lifecycle import BundleUnavailable
from core.redact import redact
from core.sdk_import import import_off_loop
from core.states import BundleState

if TYPE_CHECKING:
    from core.host import Host
    from core.lifecycle import BundleInstance
    from core.models import LifecycleEvent
    from core.process import BundleProcess

log = logging.getLogger(__name__)
S = BundleState
HELLO_LIMIT = 4096
LIST_KINDS = ("tools", "resources", "prompts")
#: After a console starts, a bundle left running last time counts as on its way
#: (tools listed, calls wait) until restore has started it, at most this long.
RESTORE_WINDOW = 30.0
#: a list request waits this long for a bundle to list its resources again
RELIST_TIMEOUT = 5.0
#: server->client requests a bundle may make: (client capability, request, result type)
SERVER_REQUESTS = {
    "sampling/createMessage": ("sampling", "CreateMessageRequest", "CreateMessageResult"),
    "elicitation/create": ("elicitation", "ElicitRequest", "ElicitResult"),
    "roots/list": ("roots", "ListRootsRequest", "ListRootsResult"),
}


@dataclass(eq=False)
class Client:
    ws_id: str
    ws_name: str
    session: Any = None  # mcp ServerSession, once the client sent initialized
    name: str = ""
    version: str = ""
    writer: asyncio.StreamWriter | None = field(default=None, repr=False)
    #: what the Clients view shows (no argument or result is ever kept)
    connected_at: float = field(default_factory=time.time)
    calls: int = 0
    errors: int = 0
    in_flight: int = 0
    #: calls in flight per bundle: a bundle's server->client request goes to its caller
    busy: collections.Counter[str] = field(default_factory=collections.Counter, repr=False)


class Gateway(ConsoleRequests):
    """Use :meth:`start`; :meth:`close` before the Host shuts down (see there)."""

    def __init__(self, host: Host, *, call_timeout: float = 120.0) -> None:
        self.host = host
        self.lifecycle = host.lifecycle
        self.data_dir = Path(host.data_dir)
        self.call_timeout = call_timeout
        self.calls = CallLog(files.calls_path(self.data_dir))
        self.clients: set[Client] = set()
        #: ``(ws_id, server) -> calls in flight`` (every caller; the bundle table shows it)
        self.bundle_in_flight: dict[tuple[str, str], int] = {}
        self._client_watchers: list[Callable[[], None]] = []
        self._token = ""
        self._server: asyncio.base_events.Server | None = None
        self._unions: dict[str, catalog.Union] = {}
        self._signatures: dict[tuple[str, str], str] = {}
        self._extras: dict[tuple[str, str], catalog.Extras] = {}
        self._dirty: set[str] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._unsubscribe: Any = None
        self._started = time.monotonic()
        self._changed: asyncio.Event = asyncio.Event()

    # -- start and stop ------------------------------------------------------------

    async def start(self) -> None:
        await import_off_loop(SDK_MODULES)
        self._token = files.write_token(self.data_dir)
        sock = unixsock.bind(files.socket_path(self.data_dir))
        self._server = await asyncio.start_unix_server(
            self._accept, sock=sock, limit=64 * 1024 * 1024
        )
        self._unsubscribe = self.lifecycle.subscribe(self._on_event)
        self.lifecycle.on_server_notification = self._on_bundle_notification
        self.lifecycle.on_server_request = self._on_bundle_request
        for ws in self.host.workspaces():
            for bundle in ws.bundles:
                inst = self.lifecycle.get_instance(bundle.server_name, ws.id)
                if inst is not None and inst._proc is not None:
                    self._watch(inst, inst._proc)
            self._refresh(ws.id, notify=False)

    async def close(self) -> None:
        """Stop listening and drop every client *without answering* calls in flight.

        Relays resend unanswered calls to the next console (GUI takeover), so a
        call cut off here must not be answered with an error first.
        """
        if self._unsubscribe is not None:
            self._unsubscribe()
        if self.lifecycle.on_server_request == self._on_bundle_request:
            self.lifecycle.on_server_request = None  # no client left to ask
        if self._server is not None:
            self._server.close()
        for client in list(self.clients):
            if client.writer is not None:
                client.writer.transport.abort()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for path in (files.socket_path(self.data_dir), files.token_path(self.data_dir)):
            with contextlib.suppress(OSError):
                path.unlink()
        self.calls.close()

    def _track(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # -- admission -------------------------------------------------------------------

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        client: Client | None = None
        try:
            client = await self._admit(reader, writer)
            if client is not None:
                self.clients.add(client)
                self._clients_changed()
                await self._serve(client, reader, writer)
        except (ConnectionError, OSError, asyncio.IncompleteReadError):
            pass
        except Exception:
            log.exception("gateway connection failed")
        finally:
            if client is not None:
                self.clients.discard(client)
                self._clients_changed()
            writer.transport.abort()

    async def _admit(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> Client | None:
        sock = writer.get_extra_info("socket")
        pid, uid, _ = unixsock.peer_credentials(sock)
        if uid != os.getuid():
            log.warning("gateway: refused a process of uid %d", uid)
            return None  # another user gets nothing, not even a reason
        if files.peer_is_bundle(pid):
            log.warning("gateway: refused pid %d, a bundle process", pid)
            return self._refuse(writer, "Bundle processes cannot connect to the gateway.")
        try:
            raw = await asyncio.wait_for(reader.readline(), 10.0)
        except TimeoutError:
            return None
        try:
            hello = json.loads(raw[:HELLO_LIMIT])
        except ValueError:
            hello = None
        if not isinstance(hello, dict) or hello.get("gateway") != files.PROTOCOL:
            return self._refuse(writer, "Not a Bundle Console gateway hello.")
        if not files.same_token(hello.get("token"), self._token):
            return self._refuse(writer, "Wrong gateway token.")
        wanted = hello.get("workspace")
        ws = self._find_workspace(wanted)
        for _ in range(50):  # a console's first launch seeds Demo just after it listens
            if ws is not None or time.monotonic() - self._started > RESTORE_WINDOW:
                break
            await asyncio.sleep(0.1)
            ws = self._find_workspace(wanted)
        if ws is None:
            return self._refuse(writer, f"No workspace named {wanted!r} in {self.data_dir}.")
        writer.write(json.dumps({"ok": True, "workspace": ws.id}).encode() + b"\n")
        return Client(ws.id, ws.name, writer=writer)

    def _refuse(self, writer: asyncio.StreamWriter, text: str) -> None:
        writer.write(json.dumps({"ok": False, "error": text}).encode() + b"\n")
        return None

    def _find_workspace(self, wanted: object) -> Any:
        if not isinstance(wanted, str) or not wanted.strip():
            return None
        folded = wanted.strip().casefold()
        for ws in self.host.workspaces():
            if ws.id == wanted or ws.name.casefold() == folded:
                return ws
        return None

    # -- one client's MCP session ------------------------------------------------------

    async def _serve(
        self, client: Client, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        import anyio
        import mcp_types as types
        from mcp.server.lowlevel import NotificationOptions
        from mcp.shared.message import SessionMessage

        server = self._make_server(client)
        read_send, read_recv = anyio.create_memory_object_stream[SessionMessage | Exception](64)
        write_send, write_recv = anyio.create_memory_object_stream[SessionMessage](64)

        async def pump_in() -> None:
            async with read_send:
                while raw := await reader.readline():
                    if not raw.strip():
                        continue
                    try:
                        message = types.jsonrpc_message_adapter.validate_json(raw, by_name=False)
                    except ValueError as exc:
                        await read_send.send(exc)
                        continue
                    await read_send.send(SessionMessage(message))

        async def pump_out() -> None:
            async with write_recv:
                async for message in write_recv:
                    data = message.message.model_dump_json(by_alias=True, exclude_unset=True)
                    writer.write(data.encode() + b"\n")
                    await writer.drain()

        options = server.create_initialization_options(NotificationOptions(True, True, True))
        async with anyio.create_task_group() as tg:
            tg.start_soon(pump_in)
            tg.start_soon(pump_out)
            await server.run(read_recv, write_send, options)
            tg.cancel_scope.cancel()

    def _make_server(self, client: Client) -> Any:
        import mcp_types as types
        from mcp.server.lowlevel import Server
        from mcp.shared.exceptions import MCPError

        ws_id = client.ws_id

        async def initialized(ctx: Any, params: Any) -> None:
            client.session = ctx.session
            info = ctx.session.client_params.client_info if ctx.session.client_params else None
            if info is not None:
                client.name, client.version = info.name, info.version or ""
                self._clients_changed()

        async def list_tools(ctx: Any, params: Any) -> Any:
            if client.session is None:  # a client that lists before it says initialized
                client.session = ctx.session
            return types.ListToolsResult(tools=self.union(ws_id).tools)

        async def list_resources(ctx: Any, params: Any) -> Any:
            await self._relist(ws_id)  # as the bundles serve them now, not as last listed
            return types.ListResourcesResult(resources=self.union(ws_id).resources)

        async def list_templates(ctx: Any, params: Any) -> Any:
            await self._relist(ws_id)
            return types.ListResourceTemplatesResult(resource_templates=self.union(ws_id).templates)

        async def list_prompts(ctx: Any, params: Any) -> Any:
            return types.ListPromptsResult(prompts=self.union(ws_id).prompts)

        async def call_tool(ctx: Any, params: Any) -> Any:
            route = self.union(ws_id).tool_routes.get(params.name)
            if route is None:
                raise MCPError(types.INVALID_PARAMS, f"Unknown tool: {params.name}")
            return await self._call(client, ctx, route[0], route[1], params.arguments)

        async def read_resource(ctx: Any, params: Any) -> Any:
            uri = str(params.uri)
            server = self.union(ws_id).route_resource(uri)
            if server is None:  # one a bundle serves since it was last listed?
                await self._relist(ws_id)
                server = self.union(ws_id).route_resource(uri)
            if server is None:
                raise MCPError(types.INVALID_PARAMS, f"Unknown resource: {uri}")
            return await self._forward(client, server, "resource", lambda s: s.read_resource(uri))

        async def get_prompt(ctx: Any, params: Any) -> Any:
            route = self.union(ws_id).prompt_routes.get(params.name)
            if route is None:
                raise MCPError(types.INVALID_PARAMS, f"Unknown prompt: {params.name}")
            server, name = route
            return await self._forward(
                client, server, "prompt", lambda s: s.get_prompt(name, params.arguments)
            )

        async def roots_changed(ctx: Any, params: Any) -> None:
            self._roots_changed(ws_id)

        server = Server(
            f"bundle-console {client.ws_name}",
            version="0.1.0",
            instructions=f"The tools of the Bundle Console workspace {client.ws_name}.",
            on_list_tools=list_tools,
            on_call_tool=call_tool,
            on_list_resources=list_resources,
            on_list_resource_templates=list_templates,
            on_read_resource=read_resource,
            on_list_prompts=list_prompts,
            on_get_prompt=get_prompt,
        )
        server.add_notification_handler(
            "notifications/initialized", types.NotificationParams, initialized
        )
        # The SDK's tracing middleware is a no-op without an exporter, but not free per call.
        server.middleware[:] = [
            m for m in server.middleware if type(m).__name__ != "OpenTelemetryMiddleware"
        ]
        # Not the deprecated on_roots_list_changed= (it warns on every connection).
        server.add_notification_handler(
            "notifications/roots/list_changed", types.NotificationParams, roots_changed
        )
        return server

    # -- calls -------------------------------------------------------------------------

    # -- the Clients view's feed -------------------------------------------------------

    def subscribe_clients(self, callback: Callable[[], None]) -> Callable[[], None]:
        """``callback()`` whenever a client connects, disconnects, names itself, or a call
        starts or ends; read :attr:`clients` then. Returns the unsubscribe function."""
        self._client_watchers.append(callback)

        def unsubscribe() -> None:
            with contextlib.suppress(ValueError):
                self._client_watchers.remove(callback)

        return unsubscribe

    def _clients_changed(self) -> None:
        for callback in list(self._client_watchers):
            try:
                callback()
            except Exception:
                log.exception("clients subscriber failed")

    def history(self) -> list[dict[str, object]]:
        """The recorded calls, oldest first, as the record file holds them (both parts)."""
        return list(read_records(self.calls.path))

    async def call_tool(
        self,
        ws_id: str,
        server: str,
        tool: str,
        arguments: dict[str, Any] | None,
        *,
        client_name: str = "Bundle Console",
    ) -> Any:
        """A call the console itself makes ("Try a tool"): the same path as a client's.

        It waits through a respawn, is bounded by the call timeout and is recorded
        (as ``client_name``), so what the administrator proves is what an AI client
        gets. An unavailable bundle comes back as an error result, as for a client.
        """
        ws = self.host.workspace(ws_id)
        caller = Client(ws_id=ws_id, ws_name=ws.name, name=client_name)
        return await self._call(caller, None, server, tool, arguments)

    async def _call(self, client: Client, ctx: Any, server: str, tool: str, arguments: Any) -> Any:
        import mcp_types as types
        from mcp.shared.exceptions import MCPError

        started = time.time()
        clock = time.monotonic()
        outcome = "ok"

        async def progress(value: float, total: float | None, message: str | None) -> None:
            if ctx is None:  # the console's own call: nobody to report progress to
                return
            with contextlib.suppress(Exception):
                await ctx.session.report_progress(value, total, message)

        client.in_flight += 1
        key = (client.ws_id, server)
        self.bundle_in_flight[key] = self.bundle_in_flight.get(key, 0) + 1
        self._clients_changed()
        try:
            await self._await_restore(server, client.ws_id)
            async with self.lifecycle.use_process(
                server, client.ws_id, timeout=self.call_timeout
            ) as proc:
                client.busy[server] += 1
                try:
                    result = await self._bundle_call(proc, tool, arguments, progress)
                finally:
                    client.busy[server] -= 1
            if result.is_error:
                outcome = "tool_error"
            return result
        except BundleUnavailable as exc:
            outcome = "timeout" if exc.waited else "unavailable"
            text = self.unavailable_text(exc)
            return types.CallToolResult(
                content=[types.TextContent(type="text", text=text)], is_error=True
            )
        except MCPError as exc:
            outcome = "error"
            if exc.code == types.REQUEST_TIMEOUT:
                outcome = "timeout"
            raise MCPError(exc.code, self._redact(server, client.ws_id, exc.message)) from None
        except TimeoutError:
            outcome = "timeout"
            raise MCPError(
                types.INTERNAL_ERROR,
                f"{self._label(server, client.ws_id)} did not answer within "
                f"{self.call_timeout:g} s.",
            ) from None
        except BaseException as exc:
            outcome = "cancelled" if _is_cancel(exc) else "error"
            raise
        finally:
            client.in_flight -= 1
            if self.bundle_in_flight.get(key, 0) > 1:
                self.bundle_in_flight[key] -= 1
            else:
                self.bundle_in_flight.pop(key, None)
            client.calls += 1
            if outcome != "ok":
                client.errors += 1
            self._clients_changed()
            self.calls.add(
                CallRecord(
                    at=started,
                    workspace=client.ws_id,
                    workspace_name=client.ws_name,
                    client=client.name,
                    client_version=client.version,
                    bundle=server,
                    tool=tool,
                    duration_ms=round((time.monotonic() - clock) * 1000, 3),
                    outcome=outcome,
                )
            )

    async def _bundle_call(
        self, proc: BundleProcess, tool: str, arguments: Any, progress: Any
    ) -> Any:
        return await proc.call_tool(tool, arguments, timeout=self.call_timeout, progress=progress)

    async def _forward(self, client: Client, server: str, what: str, request: Any) -> Any:
        """Resources and prompts: routed and waited for like calls, not recorded."""
        import mcp_types as types
        from mcp.shared.exceptions import MCPError

        try:
            await self._await_restore(server, client.ws_id)
            async with self.lifecycle.use_process(
                server, client.ws_id, timeout=self.call_timeout
            ) as proc:
                if proc.session is None:
                    raise ConnectionError("the bundle process went away")
                return await request(proc.session)
        except BundleUnavailable as exc:
            raise MCPError(types.INVALID_REQUEST, self.unavailable_text(exc)) from None
        except MCPError as exc:
            raise MCPError(exc.code, self._redact(server, client.ws_id, exc.message)) from None

    def unavailable_text(self, exc: BundleUnavailable) -> str:
        """What an administrator must do; names and states only, never a value."""
        label = self._label(exc.server_name, exc.ws_id)
        ws = self._ws_name(exc.ws_id)
        inst = exc.instance
        if inst is None:
            return f"{label} is not installed in workspace {ws}."
        if exc.waited:
            return (
                f"{label} did not become ready in workspace {ws} within "
                f"{self.call_timeout:g} s; try again later."
            )
        missing = self._missing_field(inst)
        if missing is not None:
            return f'{label} needs setup in workspace {ws}: "{missing}" is missing.'
        if inst.state is S.DEAD:
            return (
                f"{label} failed in workspace {ws} and is not running; an administrator "
                "can read its log and restart it in Bundle Console."
            )
        if inst.state is S.CRASHED and inst.next_retry_at is not None:
            wait = max(1, round(inst.next_retry_at - time.time()))
            return f"{label} crashed in workspace {ws}; it restarts in {wait} s, try again then."
        return (
            f"{label} is stopped in workspace {ws}; "
            "an administrator can start it in Bundle Console."
        )

    def _missing_field(self, inst: BundleInstance) -> str | None:
        if inst.needs_setup is None:
            return None
        try:
            manifest = self.host.manifest(inst.ws_id, inst.server_name)
            populated = self.host.config_status(inst.ws_id, inst.server_name)
        except Exception:
            return None
        for key, spec in manifest.user_config.items():
            if spec.required and not populated.get(key) and spec.default in (None, "", []):
                return spec.title
        return None

    def _label(self, server: str, ws_id: str) -> str:
        try:
            return self.host.manifest(ws_id, server).label
        except Exception:
            return server

    def _ws_name(self, ws_id: str) -> str:
        try:
            return self.host.workspace(ws_id).name
        except Exception:
            return ws_id

    def _redact(self, server: str, ws_id: str, text: str) -> str:
        inst = self.lifecycle.get_instance(server, ws_id)
        return redact(text, inst._secrets) if inst is not None else text

    # -- server->client requests (sampling, elicitation, roots) ---------------------------

    async def _on_bundle_request(
        self, server: str, ws_id: str, method: str, params: dict[str, Any] | None
    ) -> dict[str, Any]:
        """Ask a client of the workspace that offers it; else an MCP error.

        The client whose call to ``server`` is in flight is asked first (the
        request is most likely part of that call), then any capable client.
        How many may wait at once per bundle is bounded where the request
        arrives (``core.process.MAX_FORWARDED``: the rest are refused at once).
        """
        import mcp_types as types
        from mcp.shared.exceptions import MCPError

        kind = SERVER_REQUESTS.get(method)
        if kind is None:
            raise NotImplementedError(method)
        capability, request_type, result_type = kind
        client = self._pick_client(ws_id, server, capability)
        if client is None:
            raise MCPError(
                types.METHOD_NOT_FOUND,
                f"{method}: no MCP client connected to workspace {self._ws_name(ws_id)} "
                f"supports {capability}.",
            )
        request_cls = getattr(types, request_type)
        try:
            request = request_cls.model_validate(
                {"method": method, "params": params or {}}, by_name=False
            )
        except ValueError as exc:
            raise MCPError(types.INVALID_PARAMS, f"{method}: invalid params ({exc})") from None
        if method == "sampling/createMessage" and (params or {}).get("tools"):
            result_type = "CreateMessageResultWithTools"
        try:
            result = await client.session.send_request(
                request, getattr(types, result_type), request_read_timeout_seconds=self.call_timeout
            )
        except MCPError:
            raise  # the client's own error, passed on as it is
        except TimeoutError:
            raise MCPError(
                types.REQUEST_TIMEOUT,
                f"{method}: the client did not answer within {self.call_timeout:g} s.",
            ) from None
        except ValueError:  # pydantic: the client's answer is not a valid result
            raise MCPError(
                types.INTERNAL_ERROR, f"{method}: the client's answer is not a valid result."
            ) from None
        except Exception as exc:  # the client went away meanwhile
            raise MCPError(
                types.INTERNAL_ERROR, f"{method}: the client is gone ({type(exc).__name__})."
            ) from None
        return result.model_dump(by_alias=True, mode="json", exclude_none=True)

    def _pick_client(self, ws_id: str, server: str, capability: str) -> Client | None:
        capable = [
            c
            for c in sorted(self.clients, key=lambda c: c.connected_at)
            if c.ws_id == ws_id and c.session is not None and _offers(c.session, capability)
        ]
        for c in capable:
            if c.busy[server] > 0:
                return c
        return capable[0] if capable else None

    def _roots_changed(self, ws_id: str) -> None:
        """A client's roots changed: tell every running bundle of its workspace."""
        for inst in self.lifecycle.instances(ws_id):
            proc = inst._proc
            if inst.state is S.RUNNING and proc is not None and proc.session is not None:
                self._track(_quietly(proc.session.send_roots_list_changed()))

    # -- the union and list_changed --------------------------------------------------------

    def union(self, ws_id: str) -> catalog.Union:
        union = self._unions.get(ws_id)
        if union is None or ws_id in self._dirty:
            union = self._rebuild(ws_id)
        return union

    def _rebuild(self, ws_id: str) -> catalog.Union:
        self._dirty.discard(ws_id)
        lc = self.lifecycle
        entries = []
        for inst in sorted(lc.instances(ws_id), key=lambda i: i.server_name):
            try:
                declared = [t.name for t in self.host.manifest(ws_id, inst.server_name).tools]
            except Exception:
                declared = []
            offered = inst.state is S.RUNNING or lc._worth_waiting(inst) or self._restoring(inst)
            extras = self._extras.get(inst.key)
            entries.append((inst.server_name, offered, inst.tools, extras, declared))
        union = self._unions[ws_id] = catalog.build(entries)
        return union

    def _restoring(self, inst: BundleInstance) -> bool:
        """Stopped, but left running last time, and this console only just started."""
        if inst.state is not S.STOPPED or time.monotonic() - self._started > RESTORE_WINDOW:
            return False
        try:
            bundle = self.host.workspace(inst.ws_id).bundle(inst.server_name)
        except Exception:
            return False
        return bundle is not None and bundle.desired_running

    async def _await_restore(self, server: str, ws_id: str) -> None:
        while True:
            inst = self.lifecycle.get_instance(server, ws_id)
            if inst is None or not self._restoring(inst):
                return
            self._changed = self._changed if not self._changed.is_set() else asyncio.Event()
            remaining = RESTORE_WINDOW - (time.monotonic() - self._started)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), max(0.1, remaining))

    def _on_event(self, event: LifecycleEvent) -> None:
        self._changed.set()
        if event.kind == "transition" and event.state is S.RUNNING:
            inst = self.lifecycle.get_instance(event.server_name, event.ws_id)
            if inst is not None and inst._proc is not None:
                self._watch(inst, inst._proc)
        if event.kind == "unregistered":
            self._extras.pop((event.server_name, event.ws_id), None)
        self._refresh(event.ws_id)

    def _refresh(self, ws_id: str, *, notify: bool = True) -> None:
        """Rebuild the union now; tell the workspace's clients what changed."""
        self._dirty.add(ws_id)
        union = self.union(ws_id)
        changed = []
        for kind in LIST_KINDS:
            sig = union.signature(kind)
            if kind == "resources":
                sig += union.signature("templates")
            if self._signatures.get((ws_id, kind)) != sig:
                self._signatures[(ws_id, kind)] = sig
                changed.append(kind)
        if notify and changed:
            for client in list(self.clients):
                if client.ws_id == ws_id and client.session is not None:
                    self._track(_notify(client.session, changed))

    def _on_bundle_notification(
        self, server: str, ws_id: str, method: str, params: dict[str, Any] | None
    ) -> None:
        """A bundle's own list changed: list it again (the union follows)."""
        inst = self.lifecycle.get_instance(server, ws_id)
        if method.endswith("/list_changed") and inst is not None and inst._proc is not None:
            tools = method.startswith("notifications/tools")
            self._track(self._fetch(inst, inst._proc, tools=tools))

    async def _relist(self, ws_id: str) -> None:
        """List the running bundles' resources again (a client asked: it gets what they serve now).

        The union keeps no copy a client would be answered from: contents are always
        read from the bundle, and the list is fetched again for every list request
        (a bundle may change it without a ``list_changed``). A bundle between two
        processes keeps its last list meanwhile (a respawn changes nothing a client
        sees); one that does not answer within RELIST_TIMEOUT keeps its last list too.
        """
        fetches = []
        for inst in self.lifecycle.instances(ws_id):
            proc = inst._proc
            caps = proc.capabilities if proc is not None else None
            if inst.state is S.RUNNING and caps is not None and caps.resources is not None:
                fetches.append(
                    asyncio.wait_for(self._fetch(inst, proc, tools=False), RELIST_TIMEOUT)
                )
        for outcome in await asyncio.gather(*fetches, return_exceptions=True):
            if isinstance(outcome, BaseException) and not isinstance(outcome, Exception):
                raise outcome

    def _watch(self, inst: BundleInstance, proc: BundleProcess) -> None:
        """Fetch what the process offers besides tools."""
        caps = proc.capabilities
        if caps is not None and (caps.resources is not None or caps.prompts is not None):
            self._track(self._fetch(inst, proc, tools=False))
        else:
            self._extras.pop(inst.key, None)

    async def _fetch(self, inst: BundleInstance, proc: BundleProcess, *, tools: bool) -> None:
        session, caps = proc.session, proc.capabilities
        if session is None:
            return
        extras = catalog.Extras()
        try:
            if tools:
                import mcp_types as types

                proc.tools = await proc._list_tools(session, types)
                inst.tools = list(proc.tools)
            if caps is not None and caps.resources is not None:
                extras.resources = await catalog.all_pages(session.list_resources, "resources")
                with contextlib.suppress(Exception):
                    extras.templates = await catalog.all_pages(
                        session.list_resource_templates, "resource_templates"
                    )
            if caps is not None and caps.prompts is not None:
                extras.prompts = await catalog.all_pages(session.list_prompts, "prompts")
        except Exception as exc:
            proc.log.note(f"gateway: listing what it offers failed: {exc}")
            return
        if inst._proc is proc:
            self._extras[inst.key] = extras
            self._refresh(inst.ws_id)


async def _notify(session: Any, kinds: list[str]) -> None:
    with contextlib.suppress(Exception):
        for kind in kinds:
            if kind == "tools":
                await session.send_tool_list_changed()
            elif kind == "resources":
                await session.send_resource_list_changed()
            else:
                await session.send_prompt_list_changed()


def _offers(session: Any, capability: str) -> bool:
    caps = session.client_capabilities
    return caps is not None and getattr(caps, capability, None) is not None


async def _quietly(coro: Any) -> None:
    with contextlib.suppress(Exception):
        await coro


def _is_cancel(exc: BaseException) -> bool:
    if isinstance(exc, asyncio.CancelledError):
        return True
    import anyio

    return isinstance(exc, anyio.get_cancelled_exc_class())


#: What the gateway's sessions need, imported at its start (core.sdk_import).
SDK_MODULES = ("mcp.server.lowlevel", "mcp.shared.exceptions", "mcp_types")


async def start_gateway(host: Host, **options: Any) -> Gateway:
    """Serve every workspace of ``host`` to MCP clients (see module doc)."""
    gateway = Gateway(host, **options)
    await gateway.start()
    return gateway
