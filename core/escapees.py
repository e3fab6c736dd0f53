"""Find the processes a bundle left outside its process group, and stop them.

Stopping a bundle signals its whole process group, which covers ordinary
children. A descendant that called ``setsid()`` (a daemonising helper) has a
group of its own and would outlive the bundle. Every spawn therefore carries a
random token in its environment (:data:`SPAWN_ENV`), which descendants inherit;
after the group is gone, the processes still carrying the token are escapees.

Scanning the process table costs about a millisecond per hundred processes, in
a worker thread. Stops that arrive while a scan runs (a workspace stopping, the
console quitting) share the next one: :class:`EscapeeSweeper` batches them.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import time
from collections.abc import Iterable
from dataclasses import dataclass

from core.proctable import TICK_TOLERANCE, read_proc, start_since_boot, stat_fields

#: Environment variable holding the per-spawn token.
SPAWN_ENV = "BUNDLE_CONSOLE_SPAWN"
#: How long escapees get between SIGTERM and SIGKILL.
TERM_GRACE = 1.0


def new_token() -> str:
    return secrets.token_hex(8)


@dataclass(frozen=True)
class Spawn:
    """What identifies one spawn's descendants: its token, and when it started."""

    token: str
    since_boot: float
    pgid: int


def find_escapees(spawns: Iterable[Spawn]) -> dict[str, list[int]]:
    """Pids carrying each spawn's token, started after it, outside its group (Linux)."""
    wanted = {f"{SPAWN_ENV}={s.token}".encode(): s for s in spawns}
    found: dict[str, list[int]] = {s.token: [] for s in wanted.values()}
    if not wanted or not os.path.isdir("/proc"):
        return found
    oldest = min(s.since_boot for s in wanted.values())
    me = os.getpid()
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == me:
            continue
        pid = int(name)
        started = start_since_boot(pid)
        if started is None or started + TICK_TOLERANCE < oldest:
            continue  # older than every spawn asked about: cannot descend from one
        try:
            entries = read_proc(f"/proc/{pid}/environ").split(b"\0")
        except OSError:
            continue  # gone, or not ours to read
        for entry in entries:
            spawn = wanted.get(entry)
            if spawn is None:
                continue
            if started + TICK_TOLERANCE >= spawn.since_boot:
                with contextlib.suppress(OSError):
                    if os.getpgid(pid) != spawn.pgid:
                        found[spawn.token].append(pid)
            break
    return found


def stop_pids(pids: Iterable[int], grace: float = TERM_GRACE) -> None:
    """SIGTERM, then SIGKILL what is still there after ``grace`` (blocking; run in a thread)."""
    pending = set(pids)
    for pid in list(pending):
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pending.discard(pid)
        except PermissionError:
            pending.discard(pid)  # not ours: never escalate on it
    deadline = time.monotonic() + grace
    while pending and time.monotonic() < deadline:
        pending = {pid for pid in pending if _alive(pid)}
        if pending:
            time.sleep(0.02)
    for pid in pending:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


def _alive(pid: int) -> bool:
    """Live and not a zombie (an escapee is not our child: its parent reaps it)."""
    try:
        state = stat_fields(pid)[0]
    except (OSError, IndexError):
        return False
    return state not in (b"Z", b"X")


class EscapeeSweeper:
    """Runs escapee sweeps one scan at a time; sweeps asked for meanwhile share the next.

    A lone stop pays for one scan (a few ms, in a worker thread); a hundred stops
    arriving together pay for two or three, not a hundred.
    """

    def __init__(self) -> None:
        self._pending: list[tuple[Spawn, asyncio.Future[list[int]]]] = []
        self._runner: asyncio.Task[None] | None = None

    async def sweep(self, spawn: Spawn) -> list[int]:
        """Stop ``spawn``'s escapees; returns their pids (empty almost always)."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[list[int]] = loop.create_future()
        self._pending.append((spawn, done))
        if self._runner is None:
            self._runner = loop.create_task(self._run())
        return await asyncio.shield(done)

    async def _run(self) -> None:
        try:
            while self._pending:
                batch, self._pending = self._pending, []
                try:
                    found = await asyncio.to_thread(find_escapees, [s for s, _ in batch])
                    pids = [pid for group in found.values() for pid in group]
                    if pids:
                        await asyncio.to_thread(stop_pids, pids)
                except Exception as exc:  # a failed sweep must not fail the stops
                    for _, done in batch:
                        if not done.done():
                            done.set_exception(exc)
                    continue
                for spawn, done in batch:
                    if not done.done():
                        done.set_result(found[spawn.token])
        finally:
            self._runner = None
