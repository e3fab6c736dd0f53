"""Bundle lifecycle: start, stop, supervise and respawn bundle processes.

Every state change goes through :meth:`BundleLifecycleManager._transition`,
which checks the table in :mod:`core.states` and publishes a
:class:`LifecycleEvent`. Work on one ``(server_name, ws_id)`` is serialised by
a per-key lock; ``respawn_bundle`` is the one path that restarts a bundle after
its credentials change, and it coalesces requests that queue up behind a
running one, because the launch spec (and so the credentials) is read at spawn
time: a queued respawn that has not started yet will see every write made
before it starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import DataError
from core.escapees import EscapeeSweeper
from core.locks import KeyedLocks
from core.logs import BundleLog, read_tail
from core.models import (
    MARKER_ENV,
    LaunchError,
    LaunchSpec,
    LifecycleEvent,
    NeedsSetup,
    RespawnResult,
    ToolInfo,
    not_installed_message,
)
from core.orphans import OrphanRecord
from core.process import BundleProcess, SpawnAhead, SpawnError, exit_text
from core.proctable import boot_id
from core.redact import Redactor
from core.sandbox import Isolation
from core.states import BundleState, check_transition

log = logging.getLogger(__name__)

S = BundleState
Key = tuple[str, str]
SpecProvider = Callable[[str, str], LaunchSpec]
Subscriber = Callable[[LifecycleEvent], None]
ServerRequestHook = Callable[[str, str, str, dict[str, Any] | None], Awaitable[dict[str, Any]]]
ServerNotificationHook = Callable[[str, str, str, dict[str, Any] | None], None]

BOOT_ID = boot_id()
#: How many values a bundle's own list keeps across rotations (the console-wide
#: redactor keeps them all for the session).
PREVIOUS_SECRETS = 64

STOPPED_BEFORE_READY = "Stopped before the bundle was ready."
PROTECTED = (
    'Bundle "{server}" is protected in workspace "{ws}": restart refused. '
    "Its process was left running untouched."
)


class Slots:
    """Bound how many bundles are starting (or stopping) at once.

    Starting an interpreter is CPU-bound, and so is a hundred of them exiting
    together: 100 bundles respawned at once on 2 cores kept both cores busy
    and left the console's own event loop waiting for a CPU (gaps of 150-300
    ms). The lifecycle keeps one pool for starts (held until the handshake
    ends) and one for stops (held until the process is gone), each slot for
    at most ``hold`` seconds, so servers that hang on ``initialize`` or ignore
    SIGTERM cannot hold back the others, and a Stop never waits behind a
    start. Shutdown takes no slot: quitting must be quick.
    """

    def __init__(self, slots: int, hold: float) -> None:
        self._sem = asyncio.Semaphore(slots)
        self.hold = hold

    async def take(self) -> Callable[[], None]:
        await self._sem.acquire()
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                timer.cancel()
                self._sem.release()

        timer = asyncio.get_running_loop().call_later(self.hold, release)
        return release


@dataclass
class LifecycleHooks:
    """Callbacks into the data layer; the engine itself persists nothing."""

    #: The administrator's intent changed: start/respawn -> True, stop -> False.
    on_desired: Callable[[str, str, bool], None] | None = None
    #: A bundle process appeared (record) or is gone (None).
    #: Persisted so orphans can be found after a console crash (see core.orphans).
    on_process: Callable[[str, str, OrphanRecord | None], None] | None = None


@dataclass(eq=False)
class BundleInstance:
    """One installed bundle in one workspace, as the engine sees it."""

    server_name: str
    ws_id: str
    protected: bool = False
    state: BundleState = S.STOPPED
    pid: int | None = None
    started_at: float | None = None
    restarts: int = 0
    #: ``restarts`` split by cause: automatic restarts after a crash, and respawns
    #: (Restart, Save in Configure, the CLI, the gateway: respawn_bundle)
    crash_restarts: int = 0
    respawns: int = 0
    last_error: str | None = None
    tools: list[ToolInfo] = field(default_factory=list)
    needs_setup: str | None = None
    next_retry_at: float | None = None
    # engine-private
    _proc: BundleProcess | None = field(default=None, repr=False)
    _failures: int = field(default=0, repr=False)
    _retry: asyncio.TimerHandle | None = field(default=None, repr=False)
    _secrets: tuple[str, ...] = field(default=(), repr=False)
    _running_since: float | None = field(default=None, repr=False)
    #: stderr lines of the last process that ended (see ``stderr_tail``)
    _last_tail: list[str] = field(default_factory=list, repr=False)
    #: how many stops were ever requested: a start/respawn/retry that sees it grow
    #: between its request and its spawn gives way to the later stop
    _stop_calls: int = field(default=0, repr=False)
    #: calls in flight through use_process, respawns holding new calls back, and
    #: the events that wake callers waiting for a process / a drain to finish
    _inflight: int = field(default=0, repr=False)
    _respawning: int = field(default=0, repr=False)
    _wake: asyncio.Event | None = field(default=None, repr=False)
    _drained: asyncio.Event | None = field(default=None, repr=False)

    @property
    def stderr_tail(self) -> list[str]:
        """The current process's last stderr lines; the previous one's only once none runs.

        A respawned bundle must not show the lines of the process it replaced.
        """
        if self._proc is not None:
            return list(self._proc.log.tail)
        return list(self._last_tail)

    @property
    def key(self) -> Key:
        return (self.server_name, self.ws_id)

    @property
    def notifications_dropped(self) -> int:
        """Notifications the current process flooded past its budget (core.process)."""
        return self._proc.notifications_dropped if self._proc is not None else 0

    @property
    def isolation(self) -> Isolation | None:
        """How the current process is confined (None when none was spawned)."""
        return self._proc.isolation if self._proc is not None else None


class BundleLifecycleManager:
    """Owns every bundle process of the console (see module doc)."""

    def __init__(
        self,
        spec_provider: SpecProvider,
        log_dir: Path,
        *,
        handshake_timeout: float = 30.0,
        stop_grace: float = 2.0,
        term_grace: float = 3.0,
        backoff: Iterable[float] = (1, 2, 4, 8, 16),
        max_restarts: int = 5,
        stable_uptime: float = 30.0,
        spawn_interval: float = 0.002,
        max_concurrent_starts: int | None = None,
        start_slot_hold: float = 2.0,
        stop_slot_hold: float = 1.0,
        log_max_bytes: int = 1024 * 1024,
        hooks: LifecycleHooks | None = None,
        call_timeout: float = 60.0,
        ping_interval: float = 15.0,
        ping_timeout: float = 10.0,
        drain_grace: float = 10.0,
    ) -> None:
        self._spec_provider = spec_provider
        self.log_dir = Path(log_dir)
        self.handshake_timeout = handshake_timeout
        self.stop_grace = stop_grace
        #: One process-table scan for escapees per batch of stops (core.escapees).
        self._sweeper = EscapeeSweeper()
        self.term_grace = term_grace
        self.backoff = tuple(backoff)
        self.max_restarts = max_restarts
        self.stable_uptime = stable_uptime
        self.spawn_interval = spawn_interval
        self.log_max_bytes = log_max_bytes
        #: how long a respawn lets calls in flight on the old process finish
        self.drain_grace = drain_grace
        self.hooks = hooks or LifecycleHooks()
        #: Every sensitive value the console has seen, masked in every text (core.redact).
        self.redactor = Redactor()
        #: Default per-call timeout of :meth:`call_tool` (a caller may pass its own).
        self.call_timeout = call_timeout
        #: A bundle that does not answer ``ping`` within ``ping_timeout`` (asked every
        #: ``ping_interval`` s) is reported unresponsive and restarted like a crash.
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        #: Hook for server->client requests and notifications (the gateway installs
        #: them): ``(server, ws_id, method, params)``; see BundleProcess.on_request.
        self.on_server_request: ServerRequestHook | None = None
        self.on_server_notification: ServerNotificationHook | None = None
        self.spawn_count = 0
        self._instances: dict[Key, BundleInstance] = {}
        self._locks = KeyedLocks()
        self._pending: dict[Key, asyncio.Task[RespawnResult]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._subscribers: list[Subscriber] = []
        self._closing = False
        self._spawn_gate = asyncio.Lock()
        if max_concurrent_starts is None:
            max_concurrent_starts = max(4, 2 * (os.cpu_count() or 1))
        self._start_slots = Slots(max_concurrent_starts, start_slot_hold)
        self._stop_slots = Slots(max_concurrent_starts, stop_slot_hold)
        self._last_spawn_at = float("-inf")

    # -- registry ----------------------------------------------------------------

    def register(self, server_name: str, ws_id: str, *, protected: bool = False) -> BundleInstance:
        key = (server_name, ws_id)
        inst = self._instances.get(key)
        if inst is None:
            inst = self._instances[key] = BundleInstance(server_name, ws_id, protected=protected)
            self._publish(inst, inst.state, kind="registered")
        else:
            inst.protected = protected
        return inst

    async def unregister(self, server_name: str, ws_id: str) -> None:
        """Stop the bundle and forget it (uninstall, workspace deletion)."""
        inst = self._instances.get((server_name, ws_id))
        if inst is None:
            return
        await self._stop(inst, persist=False)
        if self._instances.pop(inst.key, None) is not None:
            self._publish(inst, inst.state, kind="unregistered")

    def get_instance(self, server_name: str, ws_id: str) -> BundleInstance | None:
        return self._instances.get((server_name, ws_id))

    def instances(self, ws_id: str | None = None) -> list[BundleInstance]:
        return [i for i in self._instances.values() if ws_id is None or i.ws_id == ws_id]

    @property
    def lock_count(self) -> int:
        return len(self._locks)

    # -- events --------------------------------------------------------------------

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Call ``callback(event)`` on every change; returns the unsubscribe function."""
        self._subscribers.append(callback)

        def unsubscribe() -> None:
            with contextlib.suppress(ValueError):
                self._subscribers.remove(callback)

        return unsubscribe

    def _publish(
        self,
        inst: BundleInstance,
        previous: BundleState,
        *,
        error: str | None = None,
        kind: str = "transition",
    ) -> None:
        event = LifecycleEvent(
            inst.ws_id,
            inst.server_name,
            previous,
            inst.state,
            None if error is None else self.redactor(error),
            kind=kind,  # type: ignore[arg-type]
        )
        self._wake_callers(inst)
        for callback in list(self._subscribers):
            try:
                callback(event)
            except Exception:
                log.exception("lifecycle subscriber failed")

    def _transition(self, inst: BundleInstance, new: BundleState, error: str | None = None) -> None:
        """The only place a state changes: checked against the table, then published."""
        check_transition(inst.state, new)
        previous, inst.state = inst.state, new
        if error is not None:
            inst.last_error = error = self._redact(inst, error)
        self._publish(inst, previous, error=error)

    def _redact(self, inst: BundleInstance, text: str) -> str:
        """Mask every value the console holds, not only this bundle's: a hostile
        bundle may print another's secret."""
        return self.redactor(text)

    def _remember_secrets(self, inst: BundleInstance, secrets: Iterable[str]) -> None:
        current = tuple(secrets)
        self.redactor.add(current)
        # All current values (a ``multiple`` field may hold many), then earlier ones.
        merged = tuple(dict.fromkeys((*current, *inst._secrets)))
        inst._secrets = merged[: max(len(current), PREVIOUS_SECRETS)]

    # -- public operations -------------------------------------------------------

    async def start_bundle(self, server_name: str, ws_id: str) -> RespawnResult:
        """Start a stopped, crashed or dead bundle; a no-op when it already runs."""
        inst = self._instances.get((server_name, ws_id))
        if inst is None:
            return _not_installed(server_name, ws_id)
        if self._closing:
            return RespawnResult(False, "The console is shutting down.", "failed")
        self._set_desired(inst, True)
        stop_calls = inst._stop_calls
        async with self._locks.hold(inst.key):
            if self._instances.get(inst.key) is not inst:
                return _not_installed(server_name, ws_id)
            if inst.state in (S.RUNNING, S.STARTING):
                return RespawnResult(True, None, "running")
            self._cancel_retry(inst)
            result = await self._spawn(inst, stop_calls)
            return dataclasses.replace(result, outcome="started") if result.ok else result

    async def stop_bundle(self, server_name: str, ws_id: str) -> RespawnResult:
        """Stop a bundle by the administrator's choice; it is never revived."""
        inst = self._instances.get((server_name, ws_id))
        if inst is None:
            return _not_installed(server_name, ws_id)
        await self._stop(inst, persist=True)
        return RespawnResult(True, None, "stopped")

    async def respawn_bundle(self, server_name: str, ws_id: str) -> RespawnResult:
        """Restart a bundle so it picks up its current credentials: the single supported path.

        Refuses a missing or protected bundle; otherwise stops the old process
        (if any) and spawns a new one, ending ``running`` or ``dead``. A request
        that arrives while another for the same key is queued but not started
        joins it; a request that arrives while one is in flight queues behind it.
        Start, Stop and Restart take effect in call order: a Stop requested after
        this call makes it give way (outcome "stopped") and is never joined across.
        """
        key = (server_name, ws_id)
        inst = self._instances.get(key)
        if inst is None:
            return _not_installed(server_name, ws_id)
        if inst.protected:
            return RespawnResult(False, PROTECTED.format(server=server_name, ws=ws_id), "protected")
        if self._closing:
            return RespawnResult(False, "The console is shutting down.", "failed")
        # The intent is the caller's now, in call order with Start and Stop (a Stop
        # called after this request must win, persisted state included).
        self._set_desired(inst, True)
        task = self._pending.get(key)
        if task is None:
            task = self._pending[key] = self._track(self._held_respawn(inst, inst._stop_calls))
        # Shielded: a caller giving up must not abandon a half-done respawn.
        return await asyncio.shield(task)

    async def _held_respawn(self, inst: BundleInstance, stop_calls: int) -> RespawnResult:
        """A respawn during which new calls wait for the new process (see use_process)."""
        inst._respawning += 1
        try:
            return await self._queued_respawn(inst, stop_calls)
        finally:
            inst._respawning -= 1
            self._wake_callers(inst)

    async def _queued_respawn(self, inst: BundleInstance, stop_calls: int) -> RespawnResult:
        key = inst.key
        async with self._locks.hold(key):
            # From here on the respawn has started: later requests queue a new one.
            if self._pending.get(key) is asyncio.current_task():
                del self._pending[key]
            if self._instances.get(key) is not inst:
                return _not_installed(*key)
            if inst.protected:
                return RespawnResult(False, PROTECTED.format(server=key[0], ws=key[1]), "protected")
            if self._closing:
                return RespawnResult(False, "The console is shutting down.", "failed")
            if inst._stop_calls != stop_calls:
                # A Stop requested after this Restart: it wins, the process is left to it.
                return RespawnResult(False, STOPPED_BEFORE_READY, "stopped")
            self._cancel_retry(inst)
            had_process = inst._proc is not None
            ahead = self._spawn_ahead(inst) if had_process else None
            try:
                await self._drain(inst)
                await self._stop_process(inst, slot=True)
                if had_process or inst.state in (S.CRASHED, S.DEAD):
                    inst.restarts += 1
                    inst.respawns += 1
                return await self._spawn(inst, stop_calls, ahead=ahead)
            finally:
                if ahead is not None:
                    await ahead.discard()

    def _spawn_ahead(self, inst: BundleInstance) -> SpawnAhead | None:
        """Set up the next process's sandbox while the old one drains and stops.

        The spec is read again at the spawn; the sandbox is used only if it is
        the same (see :class:`core.process.SpawnAhead`). Unconfined, nothing is done.
        """
        try:
            spec = self._spec_provider(inst.server_name, inst.ws_id)
        except Exception:  # needs setup, a launch error: the spawn itself reports it
            return None
        if spec.sandbox is None or not spec.sandbox.enabled:
            return None
        return SpawnAhead(spec)

    def check_setup(self, server_name: str, ws_id: str) -> str | None:
        """Re-evaluate whether the bundle can launch; publish a ``setup`` event on change."""
        inst = self._instances.get((server_name, ws_id))
        if inst is None:
            return None
        try:
            spec = self._spec_provider(server_name, ws_id)
        except NeedsSetup as exc:
            self._set_needs_setup(inst, str(exc))
        except LaunchError:
            self._set_needs_setup(inst, None)
        else:
            self._remember_secrets(inst, spec.secrets)
            self._set_needs_setup(inst, None)
        return inst.needs_setup

    def _set_needs_setup(self, inst: BundleInstance, message: str | None) -> None:
        if inst.needs_setup != message:
            inst.needs_setup = message
            self._publish(inst, inst.state, error=message, kind="setup")

    async def call_tool(
        self,
        server_name: str,
        ws_id: str,
        tool: str,
        arguments: dict[str, Any] | None = None,
        *,
        timeout: float | None = None,
    ) -> Any:
        """Call a tool on the running process.

        ``timeout`` (seconds; None: :attr:`call_timeout`) bounds the wait: a hung
        server raises :class:`core.process.CallTimeout`. Errors are redacted.
        """
        inst = self._instances.get((server_name, ws_id))
        if inst is None or inst._proc is None or inst.state is not S.RUNNING:
            raise RuntimeError(f'Bundle "{server_name}" is not running in workspace "{ws_id}".')
        return await inst._proc.call_tool(tool, arguments, timeout=timeout)

    def _hook_server_messages(self, inst: BundleInstance, proc: BundleProcess) -> None:
        """Route the process's server->client requests to the hooks, read at call time."""
        server, ws_id = inst.key

        async def request(method: str, params: dict[str, Any] | None) -> dict[str, Any]:
            hook = self.on_server_request
            if hook is None:
                raise NotImplementedError(method)
            return await hook(server, ws_id, method, params)

        def notification(method: str, params: dict[str, Any] | None) -> None:
            hook = self.on_server_notification
            if hook is not None:
                hook(server, ws_id, method, params)

        proc.on_request = request
        proc.on_notification = notification

    # -- calls from clients (the workspace gateway) ------------------------------

    def draining(self, inst: BundleInstance) -> bool:
        """A respawn is queued or running: new calls wait for the new process."""
        return inst._respawning > 0 or inst.key in self._pending

    def _worth_waiting(self, inst: BundleInstance) -> bool:
        """Whether a process for ``inst`` is on its way (else a call fails at once)."""
        if self.draining(inst) or inst.state in (S.STARTING, S.RUNNING):
            return True
        if inst.state is S.CRASHED and inst.next_retry_at is not None:
            return inst.next_retry_at - time.time() <= self.handshake_timeout
        return False

    @asynccontextmanager
    async def use_process(
        self, server_name: str, ws_id: str, *, timeout: float
    ) -> AsyncIterator[BundleProcess]:
        """The running process to send one call to, counted in flight until the block ends.

        Waits (up to ``timeout``) while the bundle is starting, respawning or
        crashed with a restart due within the handshake timeout; a respawn lets
        these calls finish before it stops the old process (see ``_drain``).
        Raises :class:`BundleUnavailable` when no process is coming.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        key = (server_name, ws_id)
        while True:
            inst = self._instances.get(key)
            if inst is None or self._closing:
                raise BundleUnavailable(server_name, ws_id, None, waited=False)
            proc = inst._proc
            ready = proc is not None and proc.session is not None and proc.alive
            if inst.state is S.RUNNING and ready and not self.draining(inst):
                break
            if not self._worth_waiting(inst):
                raise BundleUnavailable(server_name, ws_id, inst, waited=False)
            if inst._wake is None:
                inst._wake = asyncio.Event()
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise BundleUnavailable(server_name, ws_id, inst, waited=True)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(inst._wake.wait(), remaining)
        assert proc is not None
        inst._inflight += 1
        try:
            yield proc
        finally:
            inst._inflight -= 1
            if inst._inflight == 0 and inst._drained is not None:
                inst._drained.set()

    def _wake_callers(self, inst: BundleInstance) -> None:
        event, inst._wake = inst._wake, None
        if event is not None:
            event.set()

    async def _drain(self, inst: BundleInstance) -> None:
        """Let the calls in flight on the old process finish, up to ``drain_grace``."""
        if inst._inflight == 0 or inst._proc is None or self.drain_grace <= 0:
            return
        inst._drained = asyncio.Event()
        try:
            await asyncio.wait_for(inst._drained.wait(), self.drain_grace)
        except TimeoutError:
            log.warning(
                "%s: %d call(s) still running after %g s; stopping the old process",
                inst.key,
                inst._inflight,
                self.drain_grace,
            )
        finally:
            inst._drained = None

    def log_path(self, server_name: str, ws_id: str) -> Path:
        return self.log_dir / ws_id / f"{server_name}.log"

    def read_log(self, server_name: str, ws_id: str, max_lines: int = 500) -> list[str]:
        inst = self._instances.get((server_name, ws_id))
        secrets = inst._secrets if inst is not None else ()
        self.redactor.add(secrets)
        return read_tail(self.log_path(server_name, ws_id), max_lines, self.redactor)

    async def shutdown(self) -> None:
        """Stop every bundle concurrently, including those still starting.

        Desired states are left as they are, so the next ``Host.open`` restores them.
        """
        self._closing = True
        for inst in self._instances.values():
            self._cancel_retry(inst)
        await asyncio.gather(
            *(
                self._stop(inst, persist=False, slot=False)
                for inst in list(self._instances.values())
            ),
            return_exceptions=True,
        )
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # -- internals ---------------------------------------------------------------

    def _track(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _set_desired(self, inst: BundleInstance, running: bool) -> None:
        if self.hooks.on_desired is not None:
            try:
                self.hooks.on_desired(inst.server_name, inst.ws_id, running)
            except Exception:
                log.exception("persisting the desired state of %s failed", inst.key)

    def _record_process(self, inst: BundleInstance, proc: BundleProcess | None) -> None:
        if self.hooks.on_process is None:
            return
        record = None
        if proc is not None and proc.pid is None:
            record = OrphanRecord.before_spawn(
                inst.server_name,
                inst.ws_id,
                proc.spec.env.get(MARKER_ENV, ""),
                proc.spawn_token,
                BOOT_ID,
            )
        elif proc is not None:
            record = OrphanRecord(
                inst.server_name,
                inst.ws_id,
                proc.pid,
                proc.pid,  # the leader of its own process group
                proc.create_time or 0.0,
                proc.spec.env.get(MARKER_ENV, ""),
                boot_id=BOOT_ID,
                since_boot=proc.since_boot,  # read once, at spawn
                spawn_token=proc.spawn_token,
            )
        try:
            self.hooks.on_process(inst.server_name, inst.ws_id, record)
        except DataError as exc:  # e.g. a symlinked run/ folder, refused and named
            log.error("cannot record the process of %s: %s", inst.key, exc)
        except Exception:
            log.exception("recording the process of %s failed", inst.key)

    def _cancel_retry(self, inst: BundleInstance) -> None:
        if inst._retry is not None:
            inst._retry.cancel()
            inst._retry = None
        inst.next_retry_at = None

    async def _stop(self, inst: BundleInstance, *, persist: bool, slot: bool = True) -> None:
        if persist:
            self._set_desired(inst, False)
        # Any start/respawn/retry requested before this stop and not yet spawned
        # gives way to it (see _spawn), and no later Restart joins one of those.
        inst._stop_calls += 1
        self._pending.pop(inst.key, None)
        self._cancel_retry(inst)
        # A handshake in flight holds the lock for up to the handshake timeout: end
        # the process now so the start fails fast and releases it. In the background:
        # this stop takes its place in the lock's queue now, before any later Start.
        if inst.state is S.STARTING and inst._proc is not None:
            self._track(inst._proc.stop())
        async with self._locks.hold(inst.key):
            self._cancel_retry(inst)
            await self._stop_process(inst, slot=slot)
            if inst.state in (S.CRASHED, S.DEAD):
                self._transition(inst, S.STOPPED)

    async def _stop_process(self, inst: BundleInstance, *, slot: bool = False) -> None:
        """Stop the current process if any; the caller holds the key's lock.

        ``slot``: take a stop slot first (see :class:`Slots`); the badge says
        stopping meanwhile, and an exit in between is not taken for a crash.
        """
        proc = inst._proc
        if proc is None:
            return
        proc.stopping = True
        self._transition(inst, S.STOPPING)
        release = await self._stop_slots.take() if slot else None
        try:
            await proc.stop()
        finally:
            if release is not None:
                release()
        self._finish_process(inst, proc)
        self._transition(inst, S.STOPPED)

    def _finish_process(self, inst: BundleInstance, proc: BundleProcess) -> None:
        if inst._proc is proc:
            inst._proc = None
        inst.pid = None
        inst._running_since = None
        inst._last_tail = list(proc.log.tail)
        proc.log.close()
        self._record_process(inst, None)

    async def _pace_spawn(self) -> None:
        """Spread bursts of spawns so a mass restart does not stall the event loop.

        Spawns pass a FIFO gate one at a time, each ``spawn_interval`` after the
        *end* of the previous one's synchronous step (fork/exec, events, views),
        so the loop gets a turn between any two spawns. Fixed time slots did
        not: when a spawn step costs more than the interval, every slot is
        overdue and the whole burst runs back to back, stalling the loop.
        """
        if self.spawn_interval <= 0:
            return
        loop = asyncio.get_running_loop()
        async with self._spawn_gate:
            delay = self._last_spawn_at + self.spawn_interval - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            self._last_spawn_at = loop.time()
            # Runs after the caller's spawn step, before the next waiter wakes.
            loop.call_soon(self._spawn_step_done)

    def _spawn_step_done(self) -> None:
        self._last_spawn_at = asyncio.get_running_loop().time()

    async def _spawn(
        self,
        inst: BundleInstance,
        stop_calls: int,
        *,
        auto: bool = False,
        ahead: SpawnAhead | None = None,
    ) -> RespawnResult:
        """Start a process within a start slot (see :class:`Slots`)."""
        release = await self._start_slots.take()
        try:
            return await self._spawn_now(inst, stop_calls, auto=auto, ahead=ahead)
        finally:
            release()

    async def _spawn_now(
        self,
        inst: BundleInstance,
        stop_calls: int,
        *,
        auto: bool = False,
        ahead: SpawnAhead | None = None,
    ) -> RespawnResult:
        """Resolve the launch spec now and start a process; the caller holds the lock.

        ``stop_calls`` is ``inst._stop_calls`` when the start was requested: if a
        stop has been requested since, the stop is the later intent and wins.
        """
        inst._running_since = None
        # Pace before reading the spec: from the read to STARTING there is no
        # await, so no credential write can land unseen in between.
        await self._pace_spawn()
        if ahead is not None:
            await ahead.ready()  # before the read: no await between it and STARTING
        if inst._stop_calls != stop_calls or self._closing:
            # Stopped while this spawn waited for the lock or its pacing slot (a Stop
            # clicked while a Restart was still stopping the old process): don't start
            # a process only to stop it, maybe after a whole handshake timeout.
            return RespawnResult(False, STOPPED_BEFORE_READY, "stopped")
        try:
            spec = self._spec_provider(inst.server_name, inst.ws_id)
        except NeedsSetup as exc:
            self._set_needs_setup(inst, str(exc))
            if inst.state in (S.CRASHED, S.DEAD):
                self._transition(inst, S.STOPPED)
            return RespawnResult(False, str(exc), "needs_setup")
        except LaunchError as exc:
            message = self._redact(inst, str(exc))
            if inst.state is S.DEAD:
                inst.last_error = message
                self._publish(inst, S.DEAD, error=message, kind="setup")
            else:
                self._transition(inst, S.DEAD, message)
            return RespawnResult(False, message, "failed")
        self._set_needs_setup(inst, None)
        self._remember_secrets(inst, spec.secrets)
        try:
            bundle_log = BundleLog(
                self.log_path(inst.server_name, inst.ws_id),
                self.redactor,
                max_bytes=self.log_max_bytes,
                root=self.log_dir.parent,  # a symlinked logs/ or logs/<ws>/ is refused
            )
        except DataError as exc:  # the log path is a symlink: refused, and named
            message = str(exc)
            if inst.state is S.DEAD:
                inst.last_error = message
                self._publish(inst, S.DEAD, error=message, kind="setup")
            else:
                self._transition(inst, S.DEAD, message)
            return RespawnResult(False, message, "failed")
        proc = BundleProcess(
            spec,
            bundle_log,
            label=f"{inst.server_name}@{inst.ws_id}",
            handshake_timeout=self.handshake_timeout,
            stop_grace=self.stop_grace,
            term_grace=self.term_grace,
            sweeper=self._sweeper,
            redactor=self.redactor,
            call_timeout=self.call_timeout,
            ping_interval=self.ping_interval,
            ping_timeout=self.ping_timeout,
            prepared=ahead.take(spec) if ahead is not None else None,
        )
        self._hook_server_messages(inst, proc)
        inst._proc = proc
        inst.last_error = None if not auto else inst.last_error
        self._transition(inst, S.STARTING)
        self.spawn_count += 1
        proc.on_spawned = lambda p: self._record_process(inst, p)  # before the handshake
        # ...and before Popen, with the spawn token and no pid: a console killed
        # between Popen and the loop resuming still leaves a record that finds it.
        self._record_process(inst, proc)
        try:
            await proc.start()
        except SpawnError as exc:
            message = self._redact(inst, str(exc))
            self._finish_process(inst, proc)
            if inst._stop_calls != stop_calls or self._closing:
                self._transition(inst, S.STOPPING)
                self._transition(inst, S.STOPPED)
                return RespawnResult(False, STOPPED_BEFORE_READY, "stopped")
            if auto:
                self._crashed(inst, message)
            else:
                self._transition(inst, S.DEAD, message)
            return RespawnResult(False, message, "failed")
        inst.pid = proc.pid
        inst.tools = list(proc.tools)
        inst.started_at = time.time()
        inst._running_since = time.monotonic()
        self._record_process(inst, proc)
        proc.on_exit = lambda p: self._on_exit(inst, p)
        self._transition(inst, S.RUNNING)
        if not proc.alive or proc.lost_reason is not None:  # exited or lost since the handshake
            self._on_exit(inst, proc)
        return RespawnResult(True, None, "respawned")

    def _on_exit(self, inst: BundleInstance, proc: BundleProcess) -> None:
        if inst._proc is not proc or proc.stopping:
            return
        self._track(self._handle_crash(inst, proc))

    async def _handle_crash(self, inst: BundleInstance, proc: BundleProcess) -> None:
        """An unexpected exit: let stderr drain, then crashed -> backoff restart (or dead)."""
        await proc.stderr_drained(0.5)
        if inst._proc is not proc or proc.stopping or inst.state is not S.RUNNING:
            return
        uptime = time.monotonic() - (inst._running_since or time.monotonic())
        proc.stopping = True
        await proc.stop()  # reap anything it left in its group
        self._finish_process(inst, proc)
        if inst.state is not S.RUNNING:
            return
        tail = next((line for line in reversed(inst.stderr_tail) if line.strip()), "")
        message = exit_text(proc.returncode).replace("exited", "exited unexpectedly", 1)
        if proc.lost_reason is not None:  # still alive, but of no use: stopped above
            message = f"{proc.lost_reason}; the console stopped it"
        elif tail:
            message += f". Last stderr: {tail.strip()[:300]}"
        if uptime >= self.stable_uptime:
            inst._failures = 0
        self._crashed(inst, self._redact(inst, message))

    def _crashed(self, inst: BundleInstance, message: str) -> None:
        inst._failures += 1
        if self._closing:  # shutdown will move it to stopped; never revive it
            self._transition(inst, S.CRASHED, message)
            return
        if inst._failures > self.max_restarts:
            if inst.state is S.RUNNING:
                # It ran, then exited: record that crash first (running -> dead is
                # not a move of the table; raising here left it "running" forever).
                self._transition(inst, S.CRASHED, message)
            message = (
                f"gave up after {self.max_restarts} restarts without "
                f"{self.stable_uptime:g} s of uptime: {message}"
            )
            self._transition(inst, S.DEAD, message)
            return
        delay = self.backoff[min(inst._failures, len(self.backoff)) - 1] if self.backoff else 0.0
        inst.next_retry_at = time.time() + delay
        self._transition(inst, S.CRASHED, message)
        loop = asyncio.get_running_loop()
        inst._retry = loop.call_later(delay, self._fire_retry, inst)

    def _fire_retry(self, inst: BundleInstance) -> None:
        inst._retry = None
        self._track(self._auto_restart(inst, inst._stop_calls))

    async def _auto_restart(self, inst: BundleInstance, stop_calls: int) -> None:
        async with self._locks.hold(inst.key):
            if self._instances.get(inst.key) is not inst or inst.state is not S.CRASHED:
                return
            if self._closing:
                return
            inst.next_retry_at = None
            inst.restarts += 1
            inst.crash_restarts += 1
            result = await self._spawn(inst, stop_calls, auto=True)
            if result.ok:
                log.info("%s restarted after a crash", inst.key)


class BundleUnavailable(Exception):
    """No process will serve this call: the caller reports ``instance``'s state.

    ``instance`` is None when the bundle is not installed (or the console is
    closing); ``waited`` means the wait for a process ran out of time.
    """

    def __init__(
        self, server_name: str, ws_id: str, instance: BundleInstance | None, *, waited: bool
    ) -> None:
        super().__init__(f"{server_name} in {ws_id} is not available")
        self.server_name = server_name
        self.ws_id = ws_id
        self.instance = instance
        self.waited = waited


def _not_installed(server_name: str, ws_id: str) -> RespawnResult:
    return RespawnResult(False, not_installed_message(server_name, ws_id), "not_installed")
