"""Find and stop bundle processes left behind by a console that was killed.

Each live bundle process has a small record under ``<data>/run/<ws>/<server>.json``
(pid, process group, OS start time, marker). A console that exits normally
removes them; after a SIGKILL they remain, and the next :func:`reap_orphans`
stops what they describe before any bundle starts again.

The record is written twice per spawn: just before ``Popen`` with the spawn's
random token and no pid (:meth:`OrphanRecord.before_spawn`), and again with the
pid once the loop has it. A console killed in between (``Popen`` runs in a
worker thread; the loop may be busy when it returns) leaves the first, and the
process is found by the token in its environment.

A pid can be reused by an unrelated process, so a record only matches a live
process whose OS start time equals the recorded one and whose environment
carries the bundle marker. The start time is the kernel's, counted in clock
ticks since boot, plus the boot id: the wall-clock start time that psutil
reports is derived from ``btime`` in /proc/stat, which moves by a second when
the clock is adjusted, so the same process can show two different values.

Records are written with rename but without fsync: they must survive the
console being killed (the kernel keeps the page cache), not a power cut (after
which no process survives either), and an fsync per spawn would stall the
event loop during mass restarts.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil

from core.atomic import ensure_private_dir, refuse_links
from core.errors import DataError
from core.escapees import Spawn, find_escapees
from core.models import MARKER_ENV
from core.proctable import TICK_TOLERANCE, boot_id, now_since_boot, start_since_boot

#: Where only wall-clock start times exist, they may be off by the btime jitter.
WALL_CLOCK_TOLERANCE = 1.5
#: A record written before ``Popen`` dates the spawn this much early (clock ticks,
#: rounding): the random spawn token, not the time, is what tells the process apart.
PENDING_SLACK = 1.0


@dataclass(frozen=True)
class OrphanRecord:
    server_name: str
    ws_id: str
    pid: int
    pgid: int
    create_time: float  # wall clock, for people reading the file
    marker: str
    boot_id: str = ""
    since_boot: float | None = None  # what matching uses, see the module doc
    spawn_token: str = ""  # finds what it left outside its group (core.escapees)

    @classmethod
    def before_spawn(
        cls, server_name: str, ws_id: str, marker: str, spawn_token: str, boot: str
    ) -> OrphanRecord:
        """The record written just before ``Popen``: no pid yet (0), only the token.

        Whatever carries the token and started after ``since_boot`` is this spawn
        (the token is random per spawn); the pid is written once the loop has it.
        """
        now = now_since_boot()
        return cls(
            server_name,
            ws_id,
            0,
            0,
            time.time(),
            marker,
            boot_id=boot,
            since_boot=None if now is None else now - PENDING_SLACK,
            spawn_token=spawn_token,
        )

    @property
    def pending(self) -> bool:
        """Written before the process existed: matched by its spawn token alone."""
        return self.pid <= 0


class ProcessRecords:
    """The on-disk list of bundle processes this console owns.

    ``run/`` and ``run/<ws>/`` are never used through a symlink (the console never
    makes one): writing or deleting there raises :class:`DataError` naming the link,
    and :meth:`load` reads no record through one.
    """

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        #: the data dir: links are looked for from here down
        self.root = run_dir.parent

    def _path(self, ws_id: str, server_name: str) -> Path:
        return self.run_dir / ws_id / f"{server_name}.json"

    def record(self, rec: OrphanRecord) -> None:
        path = self._path(rec.ws_id, rec.server_name)
        ensure_private_dir(path.parent, self.root)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".rec.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w") as fh:
                json.dump(asdict(rec), fh)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise

    def forget(self, ws_id: str, server_name: str) -> None:
        path = self._path(ws_id, server_name)
        refuse_links(path.parent, self.root)
        with contextlib.suppress(FileNotFoundError):
            path.unlink()

    def load(self) -> tuple[list[OrphanRecord], list[str]]:
        """All records, and a message per unreadable one (which is then dropped)."""
        records: list[OrphanRecord] = []
        problems: list[str] = []
        try:
            refuse_links(self.run_dir, self.root)
        except DataError as exc:
            return records, [f"{exc}; no process record was read from it"]
        if not self.run_dir.is_dir():
            return records, problems
        for path in sorted(self.run_dir.glob("*/*.json")):
            try:
                refuse_links(path, self.root)
            except DataError as exc:
                if str(exc) not in problems:
                    problems.append(str(exc))
                continue
            try:
                records.append(OrphanRecord(**json.loads(path.read_text())))
            except (OSError, ValueError, TypeError) as exc:
                problems.append(f"{path}: unreadable process record ({exc}); ignored")
                with contextlib.suppress(OSError):
                    path.unlink()
        return records, problems


def _started_as_recorded(proc: psutil.Process, rec: OrphanRecord, *, exact: bool) -> bool:
    """Whether ``proc`` started when ``rec`` says (``exact``) or after it (a descendant)."""
    if rec.boot_id and rec.since_boot is not None:
        started = start_since_boot(proc.pid)
        if rec.boot_id != boot_id() or started is None:
            return False  # recorded before a reboot: nothing of it can be alive
        if exact:
            return abs(started - rec.since_boot) <= TICK_TOLERANCE
        return started + TICK_TOLERANCE >= rec.since_boot
    started = proc.create_time()
    if exact:
        return abs(started - rec.create_time) <= WALL_CLOCK_TOLERANCE
    return started + WALL_CLOCK_TOLERANCE >= rec.create_time


def _matches(proc: psutil.Process, rec: OrphanRecord, *, exact_start: bool) -> bool:
    try:
        if not _started_as_recorded(proc, rec, exact=exact_start):
            return False
        return proc.environ().get(MARKER_ENV) == rec.marker
    except psutil.Error:
        return False


def find_orphans(rec: OrphanRecord) -> list[psutil.Process]:
    """Live processes described by ``rec``: the leader, and what it left in its group."""
    found: list[psutil.Process] = []
    if rec.pending:  # killed before it learnt the pid: every carrier of the token
        if rec.spawn_token and rec.since_boot is not None and rec.boot_id == boot_id():
            spawn = Spawn(rec.spawn_token, rec.since_boot, pgid=-1)  # no group is -1
            for pid in find_escapees([spawn])[rec.spawn_token]:
                with contextlib.suppress(psutil.Error):
                    found.append(psutil.Process(pid))
        return found
    with contextlib.suppress(psutil.Error):
        leader = psutil.Process(rec.pid)
        if leader.status() != psutil.STATUS_ZOMBIE and _matches(leader, rec, exact_start=True):
            found.append(leader)
    for proc in psutil.process_iter():
        if proc.pid == rec.pid:
            continue
        try:
            if os.getpgid(proc.pid) != rec.pgid or proc.status() == psutil.STATUS_ZOMBIE:
                continue
        except (OSError, psutil.Error):
            continue
        # Group members started after the leader with the same marker are its descendants.
        if _matches(proc, rec, exact_start=False):
            found.append(proc)
    if rec.spawn_token and rec.since_boot is not None and rec.boot_id == boot_id():
        spawn = Spawn(rec.spawn_token, rec.since_boot, pgid=rec.pgid)
        for pid in find_escapees([spawn])[rec.spawn_token]:
            with contextlib.suppress(psutil.Error):
                found.append(psutil.Process(pid))
    return found


async def reap_orphans(records: ProcessRecords, *, grace: float = 2.0) -> list[str]:
    """Stop every leftover bundle process; returns one line per action for the log."""
    recs, messages = records.load()
    victims: list[tuple[OrphanRecord, list[psutil.Process]]] = []
    for rec in recs:
        procs = find_orphans(rec)
        if procs:
            victims.append((rec, procs))
        else:
            records.forget(rec.ws_id, rec.server_name)
    for _rec, procs in victims:
        for proc in procs:
            with contextlib.suppress(psutil.Error):
                proc.send_signal(signal.SIGTERM)
    deadline = asyncio.get_running_loop().time() + grace
    for rec, procs in victims:
        alive = procs
        while alive and asyncio.get_running_loop().time() < deadline:
            alive = [p for p in alive if _alive(p)]
            if alive:
                await asyncio.sleep(0.05)
        for proc in alive:
            with contextlib.suppress(psutil.Error):
                proc.kill()
        pids = ", ".join(str(p.pid) for p in procs)
        messages.append(
            f'Stopped {len(procs)} leftover process(es) of "{rec.server_name}" '
            f'in workspace "{rec.ws_id}" (pid {pids}) from a previous session.'
        )
        records.forget(rec.ws_id, rec.server_name)
    return messages


def _alive(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False
