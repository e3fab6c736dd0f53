"""One bundle process and the MCP session on it.

We own the process instead of using the SDK's ``stdio_client`` because it
hides the pid and fixes its own stop timing. The SDK's transport interface is
just a pair of memory streams, so we spawn the server in a new session (its
own process group), feed ``ClientSession`` from a stdout-reader / stdin-writer
pair, route stderr to the bundle log, and apply our own stop policy
(stdin close -> SIGTERM -> SIGKILL, whole group).

``ClientSession`` runs anyio task groups that must be entered and exited in
the same task, so one long-lived owner task per process holds the session;
other tasks only call methods on it.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from core.escapees import SPAWN_ENV, EscapeeSweeper, Spawn, new_token
from core.logs import BundleLog
from core.memory import trim_soon
from core.models import LaunchSpec, ToolInfo
from core.proctable import start_since_boot
from core.redact import Redactor
from core.sandbox import Isolation, SandboxPolicy, spawn
from core.sandbox.pid_one import PidOne
from core.sandbox.spawn import Prepared, Spawned, prepare
from core.sdk_import import import_off_loop

if TYPE_CHECKING:
    from mcp.client.session import ClientSession

#: stdout lines longer than this are dropped as protocol garbage.
STDOUT_LIMIT = 16 * 1024 * 1024

# Caps on what a server can make the console hold (a hostile server paged
# ``tools/list`` out to 100,000 tools: 666 MB, and a frozen window).
#: Tools one bundle may list; more is a handshake failure.
MAX_TOOLS = 2000
#: ``tools/list`` pages followed; a server still paging after that fails the handshake.
MAX_TOOL_PAGES = 50
#: Longest tool description kept (longer ones are cut, and the log says so once).
MAX_DESCRIPTION = 4096
#: Largest input schema of one tool, as JSON; a larger one fails the handshake.
MAX_SCHEMA_BYTES = 64 * 1024

# Server->client requests (ping, sampling, elicitation, roots) are answered by
# the console itself, never queued without bound: a server that sent them in a
# loop and never read its stdin grew the console to 1.3 GB.
#: Replies that may wait in the stdin buffer (bytes) before the server counts as
#: flooding: it sends requests and does not read the answers.
MAX_REPLY_BACKLOG = 256 * 1024
#: Token bucket for server->client requests: a burst of this many...
REQUEST_BURST = 200
#: ...refilled at this rate per second. Faster for long is a flood.
REQUEST_RATE = 50.0
#: Server->client requests handed to the hook (a gateway) at once; more get an error.
MAX_FORWARDED = 16
# Notifications (log messages, progress, list_changed) need no answer, so a flood
# of them never backs up stdin; it costs the loop a parse each, and each one the
# gateway acts on (a list_changed makes it list again). Past a burst they are
# dropped and counted, and the bundle's log says so once.
#: Token bucket for server->client notifications: a burst of this many...
NOTIFICATION_BURST = 500
#: ...refilled at this rate per second; the excess is dropped.
NOTIFICATION_RATE = 200.0
#: A ``*/list_changed`` dropped in a flood is not lost: the kind is delivered once,
#: this many seconds later (more of the same kind meanwhile coalesce into it).
LIST_CHANGED_DELAY = 0.5
#: A stdout line this long (a huge tool result) asks for a heap trim once it is freed.
BIG_LINE = 1024 * 1024
#: JSON-RPC "method not found", and a generic server error code for refusals.
METHOD_NOT_FOUND = -32601
SERVER_BUSY = -32000
#: The SDK's MCPError code for a request whose read timeout elapsed.
REQUEST_TIMEOUT_CODE = -32001
CLIENT_NAME = "bundle-console"
#: What the session task imports. ``core`` imports them lazily (cheap GUI start-up)
#: and the first spawn imports them in a worker thread (see _import_sdk).
SDK_MODULES = (
    "anyio",
    "anyio._backends._asyncio",  # else imported on the loop by the first task group (~14 ms)
    "mcp_types",
    "mcp.client.session",
    "mcp.shared.message",
)


def exit_text(returncode: int | None) -> str:
    """How a process ended, in words: ``exited with code 4`` or ``was killed by SIGKILL``
    (a negative return code is a signal; "code -9" was read as an exit code)."""
    if returncode is not None and returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return f"was killed by {name}"
    return f"exited with code {returncode}"


class SpawnError(Exception):
    """The process could not be started or did not complete the MCP handshake."""


class CallTimeout(TimeoutError):
    """A request got no answer within its timeout (the server hangs)."""


RequestHook = Callable[[str, dict[str, Any] | None], Awaitable[dict[str, Any]]]
NotificationHook = Callable[[str, dict[str, Any] | None], None]


class _StderrProtocol(asyncio.Protocol):
    """Routes the server's stderr straight into its log, decoded incrementally."""

    def __init__(self, owner: BundleProcess) -> None:
        self._owner = owner
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")

    def data_received(self, data: bytes) -> None:
        self._owner.log.feed(self._decoder.decode(data))

    def connection_lost(self, exc: Exception | None) -> None:
        tail = self._decoder.decode(b"", final=True)
        if tail:
            self._owner.log.feed(tail)
        self._owner._on_stderr_closed()


class _StdinProtocol(asyncio.streams.FlowControlMixin):
    """Write-pipe protocol giving ``StreamWriter`` its drain() flow control."""


def _spawn(spec: LaunchSpec, token: str) -> Spawned:
    """Run in a worker thread: ``Popen`` blocks until the child has exec'd, which
    on a loaded 2-core machine took 5-40 ms per spawn when done on the loop.

    The command runs inside the bundle's sandbox when one can be made (core.sandbox).
    """
    return spawn(*_launch(spec, token), start_new_session=True)


def _prepare(spec: LaunchSpec, token: str) -> Prepared | None:
    """:func:`_spawn`'s sandbox, set up now and exec'd later (core.sandbox.prepare)."""
    return prepare(*_launch(spec, token), start_new_session=True)


def _launch(
    spec: LaunchSpec, token: str
) -> tuple[list[str], dict[str, str], str | None, SandboxPolicy | None]:
    """argv, environment (with the spawn token), cwd and sandbox policy of a spawn."""
    return [spec.command, *spec.args], {**spec.env, SPAWN_ENV: token}, spec.cwd, spec.sandbox


class SpawnAhead:
    """A respawn's next sandbox, set up in a worker thread while the old process stops.

    Used only if the spec read at the spawn itself is the one it was set up for
    (credentials, network switch, paths): otherwise it is discarded at once, in
    the background, while the spawn is made as usual. An unused one is always
    discarded (never exec'd).
    """

    def __init__(self, spec: LaunchSpec) -> None:
        self.spec = spec
        self.token = new_token()
        self._future = asyncio.get_running_loop().run_in_executor(None, _prepare, spec, self.token)
        self._taken = False
        self._discarding: asyncio.Future[None] | None = None

    async def ready(self) -> None:
        """Wait until the set-up has finished (it may have failed: then there is none)."""
        with contextlib.suppress(Exception):
            await asyncio.shield(self._future)

    def take(self, spec: LaunchSpec) -> tuple[Prepared, str] | None:
        """The set-up sandbox and its token if ``spec`` is the one it was made for.

        If not, its discard starts now, so it is gone while the new spawn sets up.
        """
        if not self._taken and self._future.done() and self._future.exception() is None:
            prepared = self._future.result()
            if prepared is not None and spec == self.spec:
                self._taken = True
                return prepared, self.token
        self._start_discard()
        return None

    async def discard(self) -> None:
        """End the sandbox unless :meth:`take` handed it out; returns once it is gone."""
        self._start_discard()
        if self._discarding is not None:
            await asyncio.shield(self._discarding)

    def _start_discard(self) -> None:
        if self._taken or self._discarding is not None:
            return
        self._discarding = asyncio.ensure_future(self._end())

    async def _end(self) -> None:
        try:
            prepared = await asyncio.shield(self._future)
        except Exception:
            return
        if prepared is not None:
            await asyncio.get_running_loop().run_in_executor(None, prepared.discard)


class BundleProcess:
    """Spawn, handshake, serve calls, and stop one MCP server process."""

    def __init__(
        self,
        spec: LaunchSpec,
        log: BundleLog,
        *,
        label: str,
        handshake_timeout: float = 30.0,
        stop_grace: float = 2.0,
        term_grace: float = 3.0,
        sweeper: EscapeeSweeper | None = None,
        redactor: Redactor | None = None,
        call_timeout: float = 60.0,
        ping_interval: float = 15.0,
        ping_timeout: float = 10.0,
        prepared: tuple[Prepared, str] | None = None,
    ) -> None:
        self.spec = spec
        #: A sandbox set up ahead for this spec, and the spawn token in its environment
        #: (core.sandbox.prepare): :meth:`start` lets it exec instead of spawning.
        self._prepared = prepared
        #: Masks every value the console holds (core.redact), this bundle's included.
        self.redactor = redactor if redactor is not None else Redactor()
        self.redactor.add(spec.secrets)
        self.call_timeout = call_timeout
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        #: Server->client requests other than ``ping`` go here (the gateway forwards
        #: them to a client); unset, they are answered "method not found". Raising
        #: answers with an error. Notifications go to ``on_notification`` as well
        #: as to the session.
        self.on_request: RequestHook | None = None
        self.on_notification: NotificationHook | None = None
        #: Set when the session is lost while the process lives (closed stdout, no
        #: answer to ping, a request flood): the lifecycle treats it as a crash.
        self.lost_reason: str | None = None
        self._bucket = float(REQUEST_BURST)
        self._bucket_at = time.monotonic()
        #: Notifications dropped in floods (see NOTIFICATION_BURST); the log says so once.
        self.notifications_dropped = 0
        self._notify_bucket = float(NOTIFICATION_BURST)
        self._notify_at = self._bucket_at
        self._deferred: set[str] = set()
        self._deferred_timer: asyncio.TimerHandle | None = None
        self._forwarded = 0
        #: tools/call requests awaiting an answer (a busy single-threaded server
        #: may not answer ping meanwhile: that is not a hang, the call timeout bounds it)
        self._calls_in_flight = 0
        self._forwards: set[asyncio.Future[None]] = set()
        #: the same tasks by request id: a bundle's notifications/cancelled cancels one
        self._forward_ids: dict[str, asyncio.Future[None]] = {}
        self.sweeper = sweeper or EscapeeSweeper()
        #: In the process's environment, inherited by its descendants (see core.escapees).
        self.spawn_token = prepared[1] if prepared is not None else new_token()
        #: Start in seconds since boot (Linux), to tell descendants from older processes.
        self.since_boot: float | None = None
        self.log = log
        self.label = label
        self.handshake_timeout = handshake_timeout
        self.stop_grace = stop_grace
        self.term_grace = term_grace
        self.pid: int | None = None
        self.returncode: int | None = None
        self.tools: list[ToolInfo] = []
        self.session: ClientSession | None = None
        self.stopping = False
        #: Called once (from the loop) when the process exits, deliberate or not.
        self.on_exit: Callable[[BundleProcess], None] | None = None
        #: Called (from the loop) the moment the process exists, before the handshake.
        self.on_spawned: Callable[[BundleProcess], None] | None = None
        #: What ``initialize`` answered (mcp_types.ServerCapabilities), for aggregation.
        self.capabilities: Any = None
        self._popen: subprocess.Popen[bytes] | None = None
        self._stdout: asyncio.StreamReader | None = None
        self._stdin: asyncio.StreamWriter | None = None
        self._pipes: list[asyncio.BaseTransport] = []
        self._exited: asyncio.Future[int] | None = None
        self._close_session: asyncio.Event | None = None
        self._owner: asyncio.Task[None] | None = None
        self._ready: asyncio.Future[None] | None = None
        self._garbage: str | None = None
        self._stderr_eof: asyncio.Future[None] | None = None
        self._sweep: asyncio.Future[None] | None = None
        #: Process start time as the OS reports it (psutil), to tell a reused pid apart.
        self.create_time: float | None = None
        #: Whether this process runs confined, and if not why (set at spawn).
        self.isolation: Isolation | None = None
        #: The sandbox's pid 1 when confined: its exit means nothing of the bundle is left.
        self._pid_one: PidOne | None = None
        self._sandbox_reap: asyncio.Future[None] | None = None

    # -- start ---------------------------------------------------------------

    async def start(self) -> None:
        """Spawn the process and complete ``initialize`` + ``tools/list``.

        Raises :class:`SpawnError` with a user-shaped, redacted message; on any
        failure the process is gone when this returns.
        """
        ahead, self._prepared = self._prepared, None
        try:
            await _import_sdk()
        except BaseException:
            if ahead is not None:
                ahead[0].discard()
            raise
        loop = asyncio.get_running_loop()
        self._exited = loop.create_future()
        self._close_session = asyncio.Event()
        self._ready = loop.create_future()
        self._stderr_eof = loop.create_future()
        released = ahead[0].release() if ahead is not None else None  # a one-byte write
        if released is not None:
            spawning: asyncio.Future[Spawned] = loop.create_future()
            spawning.set_result(released)
        else:
            spawning = loop.run_in_executor(None, _spawn, self.spec, self.spawn_token)
        try:
            popen, self.isolation, self._pid_one = await asyncio.shield(spawning)
        except (OSError, ValueError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            self.log.note(f"spawn failed: {reason}")
            raise SpawnError(self._redact(f"cannot run {self.spec.command!r}: {reason}")) from None
        except asyncio.CancelledError:
            # Cancelled mid-spawn: the process may exist already; never leak it.
            with contextlib.suppress(Exception):
                leaked = await spawning
                if leaked.pid_one is not None:
                    leaked.pid_one.close()
                os.killpg(leaked.popen.pid, signal.SIGKILL)
                await loop.run_in_executor(None, leaked.popen.wait)
            raise
        self._popen = popen
        self.pid = popen.pid
        self.create_time = _create_time(self.pid)
        self.since_boot = start_since_boot(self.pid)
        if self.on_spawned is not None:
            # Recorded before the first await: a console killed during the handshake
            # must leave a record, or the next one never reaps this process.
            self.on_spawned(self)
        self._watch_exit(loop, popen)
        await self._connect_pipes(loop, popen)
        self.log.note(f"started pid {self.pid}: {self.spec.command} {' '.join(self.spec.args)}")
        if self.isolation is not None:
            self.log.note(self.isolation.summary())
        if self.stopping:
            # stop() ran while the process was being spawned, when there was nothing
            # for it to stop yet: finish its work now instead of waiting out the
            # handshake timeout (30 s by default) with a server that may never answer.
            await self.stop()
            raise SpawnError(self._with_context("stopped before the MCP handshake"))
        self._owner = asyncio.create_task(self._own_session(), name=f"mcp-session {self.label}")
        try:
            await self._await_handshake()
        except BaseException:
            await self.stop()
            raise

    async def _connect_pipes(
        self, loop: asyncio.AbstractEventLoop, popen: subprocess.Popen[bytes]
    ) -> None:
        assert popen.stdin and popen.stdout and popen.stderr
        self._stdout = asyncio.StreamReader(limit=STDOUT_LIMIT, loop=loop)
        reader = self._stdout
        out, _ = await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader, loop=loop), popen.stdout
        )
        err, _ = await loop.connect_read_pipe(lambda: _StderrProtocol(self), popen.stderr)
        inp, protocol = await loop.connect_write_pipe(lambda: _StdinProtocol(loop), popen.stdin)
        self._stdin = asyncio.StreamWriter(inp, protocol, None, loop)
        self._pipes = [out, err, inp]

    def _watch_exit(self, loop: asyncio.AbstractEventLoop, popen: subprocess.Popen[bytes]) -> None:
        """Report the exit the moment it happens, without waiting for pipes to close.

        A pidfd in the loop's selector costs no thread (Linux >= 5.3); elsewhere a
        daemon thread waits. Either way only the leader's exit counts: a
        grandchild holding stdout open must not make an exited server look alive.
        """
        try:
            pidfd = os.pidfd_open(popen.pid)
        except (AttributeError, OSError):
            pidfd = None
        if pidfd is not None:

            def readable() -> None:
                loop.remove_reader(pidfd)
                os.close(pidfd)
                returncode = popen.poll()
                if returncode is None:  # cannot happen once the pidfd is readable
                    returncode = popen.wait()
                self._on_process_exited(returncode)

            loop.add_reader(pidfd, readable)
            return

        def wait() -> None:
            returncode = popen.wait()
            with contextlib.suppress(RuntimeError):  # loop closed
                loop.call_soon_threadsafe(self._on_process_exited, returncode)

        threading.Thread(target=wait, name=f"wait {popen.pid}", daemon=True).start()

    async def _await_handshake(self) -> None:
        assert self._ready is not None and self._exited is not None and self._owner is not None
        done, _ = await asyncio.wait(
            {self._ready, self._owner},
            timeout=self.handshake_timeout,
            return_when=asyncio.FIRST_COMPLETED,
        )
        if self._ready in done and not self._ready.exception():
            return
        if not done:
            raise SpawnError(
                self._with_context(
                    f"did not complete the MCP handshake within {self.handshake_timeout:g} s"
                )
            )
        # The session failed: most often because the process died. Give the exit
        # a moment to be observed so the message can say how it ended.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._exited), 1.0)
        await self.stderr_drained(0.5)
        if self._exited.done():
            raise SpawnError(
                self._with_context(f"{exit_text(self._exited.result())} during the MCP handshake")
            )
        exc = self._ready.exception() if self._ready.done() else self._owner.exception()
        raise SpawnError(self._with_context(f"MCP handshake failed: {_describe(exc)}"))

    def _with_context(self, message: str) -> str:
        """Append the last stderr line (and any stdout garbage) to an error."""
        tail = [line for line in self.log.tail if line.strip()]
        if tail:
            message += f". Last stderr: {tail[-1].strip()[:300]}"
        if self._garbage is not None:
            message += f". It wrote non-JSON text to stdout: {self._garbage[:120]!r}"
        return self._redact(message)

    def _redact(self, text: str) -> str:
        return self.redactor(text)

    def _lose(self, reason: str) -> None:
        """The process lives but its session is of no use: report it like an exit.

        The lifecycle's exit callback stops the process and restarts it with
        backoff, so a lost session never stays "running".
        """
        if self.lost_reason is not None or self.stopping or not self.alive:
            return
        self.lost_reason = reason
        self.log.note(reason)
        trim_soon()  # a request storm: its buffers go with the session
        if self._ready is not None and not self._ready.done():  # fail a handshake at once
            self._ready.set_exception(SpawnError(reason))
        if self._close_session is not None:
            self._close_session.set()
        if self.on_exit is not None:
            callback, self.on_exit = self.on_exit, None
            asyncio.get_running_loop().call_soon(callback, self)

    async def _own_session(self) -> None:
        """Own the ClientSession for the whole life of the process (see module doc)."""
        import anyio
        import mcp_types as types
        from mcp.client.session import ClientSession
        from mcp.shared.message import SessionMessage

        assert self._ready is not None and self._close_session is not None
        read_send, read_recv = anyio.create_memory_object_stream[SessionMessage | Exception](64)
        write_send, write_recv = anyio.create_memory_object_stream[SessionMessage](64)
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._pump_stdout, read_send, SessionMessage, types)
                tg.start_soon(self._pump_stdin, write_recv)
                try:
                    async with ClientSession(
                        read_recv,
                        write_send,
                        client_info=types.Implementation(name=CLIENT_NAME, version="0.1.0"),
                        # Declares sampling, elicitation and roots to the bundle; the
                        # requests themselves never reach the session (see
                        # _server_request): the gateway forwards them to a client.
                        sampling_callback=_intercepted,
                        elicitation_callback=_intercepted,
                        list_roots_callback=_intercepted,
                    ) as session:
                        self.capabilities = (await session.initialize()).capabilities
                        self.tools = await self._list_tools(session, types)
                        self.session = session
                        if not self._ready.done():
                            self._ready.set_result(None)
                        if self.ping_interval > 0:
                            tg.start_soon(self._watch_ping, session)
                        await self._close_session.wait()
                finally:
                    self.session = None
                    tg.cancel_scope.cancel()
        except* Exception as group:
            if not self._ready.done():
                self._ready.set_exception(_first_leaf(group))
        finally:
            if not self._ready.done():
                self._ready.set_exception(SpawnError("connection closed"))
            # Retrieve it so an unobserved failure does not warn at GC.
            if self._ready.done() and not self._ready.cancelled():
                self._ready.exception()

    async def _pump_stdout(self, send: Any, session_message: Any, types: Any) -> None:
        """Parse stdout lines into JSON-RPC messages for the session."""
        assert self._stdout is not None
        stdout = self._stdout
        dropped = 0  # since the last turn given to the loop
        async with send:
            while True:
                try:
                    raw = await stdout.readline()
                except ValueError:  # a line over STDOUT_LIMIT
                    self._note_garbage("<line over the size limit>")
                    continue
                if not raw:
                    self._stdout_closed()
                    return
                if len(raw) > BIG_LINE:
                    trim_soon()  # a huge result: its copies are freed soon, give them back
                admitted = False
                if b'"id"' not in raw and b"list_changed" not in raw:
                    # No id: not a request or response. In a flood it is dropped before
                    # the parse (a notification's whole cost), and readline() does not
                    # yield while lines are buffered: give the loop a turn now and then.
                    if not self._admit_notification(""):
                        dropped += 1
                        if dropped % 64 == 0:
                            await asyncio.sleep(0)
                        continue
                    admitted = True
                line = raw.decode("utf-8", "replace").strip()
                if not line:
                    continue
                try:
                    message = types.jsonrpc_message_adapter.validate_json(line, by_name=False)
                except ValueError:
                    self._note_garbage(line)
                    continue
                if isinstance(message, types.JSONRPCRequest):
                    # Answered here, bounded, never queued in the session (see MAX_*).
                    self._server_request(message)
                    await asyncio.sleep(0)  # a flood must not hold the loop
                    continue
                if isinstance(message, types.JSONRPCNotification):
                    if not admitted and not self._admit_notification(message.method):
                        await asyncio.sleep(0)  # a flood must not hold the loop
                        continue
                    self._server_notification(message)
                await send.send(session_message(message))

    def _stdout_closed(self) -> None:
        """EOF on stdout: an exit comes with it; a live process without it is lost."""
        loop = asyncio.get_running_loop()

        def check() -> None:
            if self.alive and not self.stopping:
                self._lose("closed its stdout while still running: no MCP session left")

        # The exit (pidfd) usually lands in the same loop turn as the EOF.
        loop.call_later(0.2, check)

    def _server_request(self, message: Any) -> None:
        """Answer a server->client request: ping here, others through the hook."""
        now = time.monotonic()
        self._bucket = min(REQUEST_BURST, self._bucket + (now - self._bucket_at) * REQUEST_RATE)
        self._bucket_at = now
        self._bucket -= 1
        backlog = self._stdin.transport.get_write_buffer_size() if self._stdin else 0
        if self._bucket < 0 or backlog > MAX_REPLY_BACKLOG:
            why = (
                f"more than {REQUEST_RATE:g}/s"
                if self._bucket < 0
                else "without reading the answers"
            )
            self._lose(
                f"flooded the console with server->client requests ({why}, last {message.method!r})"
            )
            return
        if message.method == "ping":
            self._reply(message.id, result={})
        elif self.on_request is None or self._forwarded >= MAX_FORWARDED:
            busy = self.on_request is not None
            self._reply(
                message.id,
                error={
                    "code": SERVER_BUSY if busy else METHOD_NOT_FOUND,
                    "message": (
                        f"too many {message.method} requests in flight"
                        if busy
                        else f"{message.method} is not supported by this client"
                    ),
                },
            )
        else:
            self._forwarded += 1
            task = asyncio.ensure_future(self._forward(message))
            self._forwards.add(task)
            task.add_done_callback(self._forwards.discard)
            key = json.dumps(message.id)
            self._forward_ids[key] = task
            task.add_done_callback(lambda _t, key=key: self._forward_ids.pop(key, None))

    async def _forward(self, message: Any) -> None:
        assert self.on_request is not None
        try:
            result = await self.on_request(message.method, message.params)
        except NotImplementedError:
            error = {"code": METHOD_NOT_FOUND, "message": f"{message.method} is not supported"}
            self._reply(message.id, error=error)
        except Exception as exc:
            code = getattr(exc, "code", SERVER_BUSY)
            self._reply(message.id, error={"code": code, "message": str(exc) or "failed"})
        else:
            self._reply(message.id, result=result)
        finally:
            self._forwarded -= 1

    def _reply(
        self, rid: Any, *, result: dict[str, Any] | None = None, error: dict[str, Any] | None = None
    ) -> None:
        if self._stdin is None or self._stdin.is_closing():
            return
        body: dict[str, Any] = {"jsonrpc": "2.0", "id": rid}
        body.update({"error": error} if error is not None else {"result": result or {}})
        with contextlib.suppress(ConnectionError, OSError, RuntimeError):
            self._stdin.write(json.dumps(body).encode() + b"\n")

    def _admit_notification(self, method: str) -> bool:
        """Whether a notification goes on (token bucket); the excess is dropped, counted.

        A dropped ``*/list_changed`` is kept (one per kind) and delivered after
        :data:`LIST_CHANGED_DELAY`: what changed must still be listed again.
        """
        now = time.monotonic()
        self._notify_bucket = min(
            NOTIFICATION_BURST, self._notify_bucket + (now - self._notify_at) * NOTIFICATION_RATE
        )
        self._notify_at = now
        if self._notify_bucket >= 1:
            self._notify_bucket -= 1
            return True
        if method.endswith("/list_changed") and method not in self._deferred:
            self._deferred.add(method)
            if self._deferred_timer is None:
                loop = asyncio.get_running_loop()
                self._deferred_timer = loop.call_later(LIST_CHANGED_DELAY, self._flush_deferred)
            return False
        trim_soon()  # once the flood is over, hand its memory back (core.memory)
        if not self.notifications_dropped:
            self.log.note(
                f"notification flood: more than {NOTIFICATION_RATE:g}/s after a burst of "
                f"{NOTIFICATION_BURST}; the excess is dropped (and counted) while it lasts"
            )
        self.notifications_dropped += 1
        return False

    def _flush_deferred(self) -> None:
        self._deferred_timer = None
        methods, self._deferred = sorted(self._deferred), set()
        if self.session is None or self.stopping:
            return
        for method in methods:
            self._notify_hook(method, None)

    def _server_notification(self, message: Any) -> None:
        if message.method == "notifications/cancelled":
            # The bundle gave up on a request it sent us: stop asking the client
            # (the gateway's send is cancelled, and the SDK tells the client so).
            params = message.params if isinstance(message.params, dict) else {}
            task = self._forward_ids.get(json.dumps(params.get("requestId")))
            if task is not None:
                task.cancel()  # no reply: the request is gone
        self._notify_hook(message.method, message.params)

    def _notify_hook(self, method: str, params: dict[str, Any] | None) -> None:
        if self.on_notification is None:
            return
        try:
            self.on_notification(method, params)
        except Exception as exc:
            self.log.note(f"notification hook failed: {type(exc).__name__}")

    async def _watch_ping(self, session: ClientSession) -> None:
        """Ping every ``ping_interval`` s; no answer within ``ping_timeout`` -> lost."""
        while True:
            await asyncio.sleep(self.ping_interval)
            try:
                await asyncio.wait_for(session.send_ping(), self.ping_timeout)
            except TimeoutError:
                pass
            except Exception as exc:
                if getattr(exc, "code", None) != REQUEST_TIMEOUT_CODE:
                    return  # the session is closing: the exit path reports it
            else:
                continue
            if self._calls_in_flight:
                continue  # busy with a call; each call has its own timeout
            self._lose(f"unresponsive: did not answer ping within {self.ping_timeout:g} s")
            return

    def _note_garbage(self, line: str) -> None:
        if self._garbage is None:
            self._garbage = self._redact(line)
        self.log.note(f"ignored non-JSON stdout line: {self._redact(line)[:200]!r}")

    async def _pump_stdin(self, recv: Any) -> None:
        """Write the session's outgoing messages to the process's stdin."""
        assert self._stdin is not None
        stdin = self._stdin
        async with recv:
            async for message in recv:
                data = message.message.model_dump_json(by_alias=True, exclude_unset=True)
                try:
                    stdin.write(data.encode() + b"\n")
                    await stdin.drain()
                except (ConnectionError, OSError):
                    return

    # -- exit and stop -----------------------------------------------------------

    def _on_process_exited(self, returncode: int | None) -> None:
        assert self._exited is not None
        self.returncode = returncode
        if not self._exited.done():
            self._exited.set_result(returncode if returncode is not None else -1)
        self.log.note(f"pid {self.pid} {exit_text(self.returncode)}")
        if self._close_session is not None:
            self._close_session.set()
        if self.on_exit is not None:
            callback, self.on_exit = self.on_exit, None
            asyncio.get_running_loop().call_soon(callback, self)

    def _on_stderr_closed(self) -> None:
        if self._stderr_eof is not None and not self._stderr_eof.done():
            self._stderr_eof.set_result(None)

    async def stderr_drained(self, timeout: float) -> None:
        """Wait (bounded) until stderr hits EOF, so the last lines reach the log and tail."""
        if self._stderr_eof is None:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._stderr_eof), timeout)

    @property
    def alive(self) -> bool:
        return self._exited is not None and not self._exited.done()

    async def stop(self) -> int | None:
        """Stop the whole process group: stdin close, SIGTERM, SIGKILL; bounded in time.

        Idempotent and safe to call concurrently with :meth:`start` (it makes a
        pending handshake fail at once).
        """
        self.stopping = True
        if self._deferred_timer is not None:
            self._deferred_timer.cancel()
            self._deferred_timer = None
        if self._close_session is not None:
            self._close_session.set()
        for task in list(self._forwards):
            task.cancel()
        if self._owner is not None:
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(self._owner), 1.0)
            if not self._owner.done():
                self._owner.cancel()
        if self._popen is None or self._exited is None:
            return None
        if not self._exited.done():
            if self._stdin is not None:
                with contextlib.suppress(OSError, RuntimeError):
                    self._stdin.close()
            if not await self._wait_exit(self.stop_grace):
                self._signal_group(signal.SIGTERM)
                if not await self._wait_exit(self.term_grace):
                    self.log.note(f"pid {self.pid} ignored SIGTERM; sending SIGKILL")
                    self._signal_group(signal.SIGKILL)
                    await self._wait_exit(5.0)
        if self._pid_one is not None or self._sandbox_reap is not None:
            # Once, however many stops run at once: the pidfd is watched by one
            # reader and closed once (a closed fd's number is soon another pipe's).
            if self._sandbox_reap is None and self._pid_one is not None:
                self._sandbox_reap = asyncio.ensure_future(self._reap_sandbox(self._pid_one))
            await asyncio.shield(self._sandbox_reap)
        else:
            await self._reap_group()
            await self._sweep_escapees()
        for pipe in self._pipes:  # a kill survivor may still hold the other ends
            pipe.close()
        trim_soon()  # its buffers are free now (core.memory: once, when things are quiet)
        return self.returncode

    async def _wait_exit(self, timeout: float) -> bool:
        assert self._exited is not None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._exited), timeout)
        return self._exited.done()

    def _signal_group(self, sig: signal.Signals) -> None:
        if self.pid is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, sig)

    async def _reap_group(self) -> None:
        """Terminate what the server left in its group (grandchildren)."""
        if self.pid is None or not _group_alive(self.pid):
            return
        self._signal_group(signal.SIGTERM)
        deadline = time.monotonic() + 1.0
        delay = 0.001  # a sandbox's init outlives its monitor by about a millisecond
        while time.monotonic() < deadline and _group_alive(self.pid):
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.02)
        if _group_alive(self.pid):
            self._signal_group(signal.SIGKILL)

    async def _reap_sandbox(self, pid_one: PidOne) -> None:
        """:meth:`_reap_group` for a confined process, watching the sandbox's pid 1.

        No scan of the process table, and no escapee sweep: nothing leaves a pid
        namespace (see core.sandbox.pid_one). What the server left gets SIGTERM
        (``setsid()`` helpers too) and a second to go; then pid 1 is killed,
        which ends the rest.
        """
        try:
            if pid_one.exited():
                return
            self._signal_group(signal.SIGTERM)
            for pid in pid_one.descendants():
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGTERM)
            if not await _readable(pid_one.fd, 1.0):
                pid_one.kill()
                await _readable(pid_one.fd, 5.0)
        finally:
            pid_one.close()

    async def _sweep_escapees(self) -> None:
        """Stop descendants that left the group with ``setsid()`` (see core.escapees).

        Runs once; a concurrent second ``stop()`` waits for the same sweep.
        """
        if self.pid is None or self.since_boot is None:
            return
        if self._sweep is None:
            self._sweep = asyncio.ensure_future(self._sweep_once(self.pid, self.since_boot))
        await asyncio.shield(self._sweep)

    async def _sweep_once(self, pid: int, since_boot: float) -> None:
        spawn = Spawn(self.spawn_token, since_boot, pgid=pid)
        try:
            pids = await self.sweeper.sweep(spawn)
        except Exception as exc:
            self.log.note(f"could not look for processes left outside the group: {exc}")
            return
        if pids:
            listed = ", ".join(map(str, pids))
            self.log.note(f"stopped {len(pids)} process(es) it left outside its group: {listed}")

    async def call_tool(
        self,
        name: str,
        arguments: dict[str, Any] | None = None,
        *,
        timeout: float | None = None,
        progress: Any = None,
    ) -> Any:
        """``tools/call``, bounded by ``timeout`` (None: :attr:`call_timeout`).

        A hung server raises :class:`CallTimeout` (the SDK also sends the server a
        ``notifications/cancelled``); an MCP error comes back redacted.
        """
        if self.session is None:
            raise RuntimeError(f"{self.label} is not running")
        limit = self.call_timeout if timeout is None else timeout
        hung = CallTimeout(f"{self.label} did not answer tools/call {name!r} within {limit:g} s")
        self._calls_in_flight += 1
        try:
            # The outer bound also covers a write that blocks (a server not reading stdin).
            return await asyncio.wait_for(
                self.session.call_tool(
                    name, arguments or {}, read_timeout_seconds=limit, progress_callback=progress
                ),
                limit + 1.0,
            )
        except TimeoutError:
            raise hung from None
        except Exception as exc:
            if getattr(exc, "code", None) == REQUEST_TIMEOUT_CODE:
                raise hung from None
            raise self._redacted_error(exc) from None
        finally:
            self._calls_in_flight -= 1

    def _redacted_error(self, exc: Exception) -> Exception:
        """The same error with every sensitive value masked (MCP errors keep their code)."""
        from mcp.shared.exceptions import MCPError

        if isinstance(exc, MCPError):
            data = self.redactor.value(exc.data) if exc.data is not None else None
            return MCPError(exc.code, self._redact(exc.message), data)
        return RuntimeError(self._redact(str(exc) or type(exc).__name__))

    async def _list_tools(self, session: ClientSession, types: Any) -> list[ToolInfo]:
        """All pages of ``tools/list``, capped (MAX_TOOLS...) and redacted."""
        tools: list[ToolInfo] = []
        cursor: str | None = None
        cut = 0
        for _ in range(MAX_TOOL_PAGES):
            params = types.PaginatedRequestParams(cursor=cursor) if cursor else None
            result = await session.list_tools(params=params)
            if len(tools) + len(result.tools) > MAX_TOOLS:
                raise SpawnError(
                    f"lists more than {MAX_TOOLS} tools; the console accepts at most {MAX_TOOLS}"
                )
            for t in result.tools:
                schema = dict(t.input_schema or {})
                if len(json.dumps(schema, default=str)) > MAX_SCHEMA_BYTES:
                    raise SpawnError(
                        f"tool {t.name[:80]!r} has an input schema over "
                        f"{MAX_SCHEMA_BYTES // 1024} KiB; the console refuses it"
                    )
                description = t.description or ""
                if len(description) > MAX_DESCRIPTION:
                    cut += 1
                    description = description[:MAX_DESCRIPTION] + "…"
                tools.append(
                    ToolInfo(
                        t.name,  # kept as is: it is what a call must send
                        self._redact(description),
                        self.redactor.value(schema),  # type: ignore[arg-type]
                    )
                )
            cursor = result.next_cursor
            if not cursor:
                break
        else:
            raise SpawnError(
                f"was still paging tools/list after {MAX_TOOL_PAGES} pages; "
                f"the console follows at most {MAX_TOOL_PAGES}"
            )
        if cut:
            self.log.note(f"cut {cut} tool description(s) longer than {MAX_DESCRIPTION} characters")
        return tools


async def _import_sdk() -> None:
    """Import the MCP SDK off the event loop the first time a bundle starts.

    Importing it builds hundreds of pydantic models: about a second during which
    the loop (the GUI's, under qasync) would not turn if the session task did it.
    """
    await import_off_loop(SDK_MODULES)


def _create_time(pid: int) -> float | None:
    import psutil

    try:
        return psutil.Process(pid).create_time()
    except psutil.Error:
        return None


async def _readable(fd: int | None, timeout: float) -> bool:
    """Wait until ``fd`` (a pidfd: the process exited) is readable; False on timeout."""
    if fd is None:
        return True
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()
    loop.add_reader(fd, lambda: done.done() or done.set_result(None))
    try:
        await asyncio.wait_for(done, timeout)
        return True
    except TimeoutError:
        return False
    finally:
        loop.remove_reader(fd)


def _group_alive(pgid: int) -> bool:
    """Whether any live (non-zombie) process remains in the group."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    import psutil

    for proc in psutil.process_iter(["status"]):
        try:
            if os.getpgid(proc.pid) == pgid and proc.info["status"] != psutil.STATUS_ZOMBIE:
                return True
        except (ProcessLookupError, psutil.Error):
            continue
    return False


async def _intercepted(*_args: Any) -> Any:
    """Never called: server->client requests are answered before the session sees them."""
    raise NotImplementedError


def _first_leaf(exc: BaseException) -> BaseException:
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def _describe(exc: BaseException | None) -> str:
    if exc is None:
        return "connection closed"
    exc = _first_leaf(exc)
    text = str(exc) or type(exc).__name__
    return text
