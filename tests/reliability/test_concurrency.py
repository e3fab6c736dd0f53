"""Randomized concurrent operations on a real Host, checked against the OS process table.

A seeded random schedule issues operations on 8 bundles in 3 workspaces with
several in flight at once: credential writes, Restart, Start, Stop, SIGKILL of
the bundle process from outside, Uninstall and Reinstall. Throughout, a thread
samples the OS process table (processes found by their marker env var, never
through the console's bookkeeping) and every lifecycle event is checked against
the transition table and against the previous state of its bundle. At every
checkpoint, once the console has settled:

* the live bundle processes are exactly one per running bundle, with its pid;
* each running process's environment (/proc/<pid>/environ) holds the values of
  the credentials file on disk, i.e. the last write;
* a bundle whose last Start/Stop/Restart was Stop is not running, one whose last
  was Start/Restart is running or dead, and ``workspace.json`` persists that intent;
* the lock maps are empty.

Finally ``shutdown()`` is called in the middle of a burst of operations: no bundle
process is left, and no operation fails other than by saying the console is closing.

The default run uses one fixed seed and 500 operations; ``BUNDLE_CONSOLE_SEEDS=n``
runs n seeds, ``BUNDLE_CONSOLE_SOAK=1`` runs 5 seeds (unless SEEDS says otherwise)
of 3000 operations.
"""

from __future__ import annotations

import asyncio
import collections
import json
import os
import random
import signal
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from core.errors import InstallError, NotFoundError
from core.host import Host
from core.states import BundleState
from tests.procs import (
    marked_processes,
    pid_alive,
    proc_env,
    process_tree,
    runs_bundle_code,
    wait_for,
)
from tests.reliability.support import SOAK, EventLog, opened, write_bundle, ws_name

S = BundleState
SEED_BASE = 20261127
OPS = 3000 if SOAK else 500
CHECK_EVERY = 100
MAX_IN_FLIGHT = 6
#: operations in flight when shutdown() is called at the end
SHUTDOWN_BURST = 24
#: workspace suffix -> server names (8 bundles in 3 workspaces)
LAYOUT = {"a": ["s0", "s1", "s2"], "b": ["s0", "s1", "s2"], "c": ["s0", "s1"]}
#: servers whose process ignores stdin EOF, so each stop takes stop_grace (wider races)
SLOW_STOP = {"s2"}
WEIGHTS = {"write": 26, "respawn": 15, "start": 16, "stop": 16, "kill": 15, "structural": 12}
FIELDS = {
    "token": {"type": "string", "title": "Token", "sensitive": True},
    "label": {"type": "string", "title": "Label"},
}
ENV = {"TOKEN": "${user_config.token}", "LABEL": "${user_config.label}"}
SETTLED = frozenset({S.RUNNING, S.STOPPED, S.DEAD})


def seeds() -> list[int]:
    count = int(os.environ.get("BUNDLE_CONSOLE_SEEDS", "0") or 0) or (5 if SOAK else 1)
    return [SEED_BASE + n for n in range(count)]


@dataclass
class Key:
    ws: str
    server: str
    #: last Start/Restart (True) or Stop (False) issued since the last (un)install settled
    intent: bool | None = None
    structural: int = 0  # install/uninstall operations in flight
    #: (op number, op, "call" | outcome) in the order they happened, for failure reports
    history: list[tuple[int, str, str]] = field(default_factory=list)

    @property
    def marker(self) -> str:
        return f"{self.ws}/{self.server}"


@dataclass
class Stats:
    ops: collections.Counter[str] = field(default_factory=collections.Counter)
    outcomes: collections.Counter[str] = field(default_factory=collections.Counter)
    kills: int = 0
    checkpoints: int = 0
    samples: int = 0
    max_live: int = 0


class Sampler(threading.Thread):
    """Watches the OS process table from another thread while operations run."""

    def __init__(self, tag: str) -> None:
        super().__init__(daemon=True)
        self.tag = tag
        self.halt = threading.Event()
        self.violations: list[str] = []
        self.samples = 0
        self.max_live = 0

    def run(self) -> None:
        while not self.halt.is_set():
            found = marked_processes(self.tag)
            self.samples += 1
            self.max_live = max(self.max_live, sum(map(len, found.values())))
            for marker, pids in found.items():
                if len(pids) > 1:
                    # A sandbox being torn down shows its server for a few ms after its
                    # bwrap is gone; two processes that are both still there 0.2 s later
                    # are two bundles.
                    time.sleep(0.2)
                    # Only what runs code of the bundle counts (tests.procs.runs_bundle_code):
                    # not a sandbox a respawn set up that still waits to exec its server.
                    # Checked twice in order: if p2 runs code at its first check and p1
                    # still at its second, which came later, both ran at once.
                    now = marked_processes(self.tag).get(marker, [])
                    still = [p for p in now if p in pids and runs_bundle_code(p)]
                    still = [p for p in still if runs_bundle_code(p)]
                    if len(still) > 1:
                        trees = "; ".join(process_tree(p) for p in still)
                        self.violations.append(f"{marker}: {len(still)} live processes ({trees})")
            self.halt.wait(0.03)


class Chaos:
    def __init__(self, host: Host, rng: random.Random, tag: str, src: dict[str, Path]) -> None:
        self.host = host
        self.lc = host.lifecycle
        self.rng = rng
        self.tag = tag
        self.src = src
        self.keys = [
            Key(f"ws_{tag}_{suffix}", server)
            for suffix, servers in LAYOUT.items()
            for server in servers
        ]
        self.stats = Stats()
        self.problems: list[str] = []
        self.closing = False

    def pick(self) -> tuple[str, Key]:
        op = self.rng.choices(list(WEIGHTS), weights=list(WEIGHTS.values()))[0]
        key = self.rng.choice(self.keys)
        if op == "structural":  # the one that makes sense now (a race may still refuse it)
            op = "uninstall" if self.installed(key) else "reinstall"
        elif op == "kill" and not marked_processes(self.tag).get(key.marker):
            live = [k for k in self.keys if marked_processes(self.tag).get(k.marker)]
            key = self.rng.choice(live) if live else key
        return op, key

    async def run_op(self, op: str, key: Key, n: int) -> None:
        self.stats.ops[op] += 1
        key.history.append((n, op, "call"))
        try:
            await self._dispatch(op, key, n)
            key.history.append((n, op, "done"))
        except (NotFoundError, InstallError) as exc:
            # Racing an uninstall/reinstall is allowed to be refused, with these words.
            text = str(exc)
            if "is not installed" not in text and "already has a bundle named" not in text:
                self.problems.append(f"{op} {key.marker}: unexpected refusal {text!r}")
            self.stats.outcomes[f"{op}:refused"] += 1
        except Exception:
            self.problems.append(f"{op} {key.marker} raised:\n{traceback.format_exc()}")

    async def _dispatch(self, op: str, key: Key, n: int) -> None:
        lc, host = self.lc, self.host
        if op in ("start", "respawn", "stop"):
            if key.structural == 0:
                key.intent = op != "stop"
            call = {"start": lc.start_bundle, "respawn": lc.respawn_bundle, "stop": lc.stop_bundle}
            result = await call[op](key.server, key.ws)
            self.stats.outcomes[f"{op}:{result.outcome}"] += 1
            self._check_failure(op, key, result)
        elif op == "write":
            values = {"token": f"tok-{n}-{self.rng.getrandbits(32):08x}"}
            if self.rng.random() < 0.5:
                values["label"] = f"label-{n}" if self.rng.random() < 0.8 else ""
            result = await host.set_user_config(key.ws, key.server, values)
            self.stats.outcomes[f"write:{result.outcome}"] += 1
            if result.respawn is not None:
                self._check_failure(op, key, result.respawn)
            if values["token"] in repr(result):
                self.problems.append(f"write {key.marker}: the value is in {result!r}")
        elif op == "kill":
            pids = marked_processes(self.tag).get(key.marker, [])
            for pid in pids:
                os.kill(pid, signal.SIGKILL)
                self.stats.kills += 1
            self.stats.outcomes[f"kill:{len(pids)}"] += 1
        elif op in ("uninstall", "reinstall"):
            key.structural += 1
            key.intent = None
            try:
                if op == "uninstall":
                    await host.uninstall_bundle(key.ws, key.server)
                    if self.rng.random() < 0.6:  # Uninstall, then Reinstall at once
                        self.stats.ops["reinstall"] += 1
                        key.history.append((n, "reinstall", "call"))
                        await host.install_bundle(key.ws, self.source(key), server_name=key.server)
                else:
                    await host.install_bundle(key.ws, self.source(key), server_name=key.server)
                self.stats.outcomes[f"{op}:ok"] += 1
            finally:
                key.structural -= 1
                key.intent = None

    def source(self, key: Key) -> Path:
        return self.src["slow" if key.server in SLOW_STOP else "plain"]

    def _check_failure(self, op: str, key: Key, result: Any) -> None:
        """A restart may only fail because our SIGKILL hit it (or the console is closing)."""
        error = result.error or ""
        if self.closing and "shutting down" in error:
            return
        if result.outcome == "failed" and "killed by SIGKILL" not in error:
            self.problems.append(f"{op} {key.marker} failed: {result.error}")

    def installed(self, key: Key) -> bool:
        return any(b.server_name == key.server for b in self.host.workspace(key.ws).bundles)

    async def settle(self) -> None:
        """Wait until every bundle is in a resting state and every running pid is alive."""

        def calm() -> bool:
            return self.lc.lock_count == 0 and all(
                inst.state in SETTLED
                and (inst.state is not S.RUNNING or (inst.pid and pid_alive(inst.pid)))
                for inst in self.lc.instances()
            )

        for _ in range(2):  # calm twice, with room for a crash handler to show up between
            assert await wait_for(calm, 30), [
                (i.ws_id, i.server_name, i.state) for i in self.lc.instances()
            ]
            await asyncio.sleep(0.6)
        assert calm()

    def check(self) -> None:
        self.stats.checkpoints += 1
        lc = self.lc
        running = {
            f"{i.ws_id}/{i.server_name}": [i.pid] for i in lc.instances() if i.state is S.RUNNING
        }
        assert marked_processes(self.tag) == running
        assert lc.lock_count == 0
        assert self.host._credentials.lock_count == 0
        for key in self.keys:
            inst = lc.get_instance(key.server, key.ws)
            assert (inst is not None) == self.installed(key), key
            if inst is None:
                continue
            path = self.host.data_dir / f"workspaces/{key.ws}/credentials/{key.server}.json"
            stored = json.loads(path.read_text()) if path.exists() else {}
            if inst.state is S.RUNNING:
                env = proc_env(inst.pid)  # type: ignore[arg-type]
                seen = {k.lower(): env[k] for k in ("TOKEN", "LABEL") if k in env}
                want = {k: v for k, v in stored.items() if v != ""}
                assert seen == want, (key.marker, seen, want)
            if key.intent is False and inst.state is not S.STOPPED:
                pytest.fail(f"{key.marker} is {inst.state} after a Stop: {key.history}")
            if key.intent is True and inst.state not in (S.RUNNING, S.DEAD):
                pytest.fail(f"{key.marker} is {inst.state} after a Start/Restart: {key.history}")
            if key.intent is not None:
                ws_file = self.host.data_dir / f"workspaces/{key.ws}/workspace.json"
                [entry] = [
                    b
                    for b in json.loads(ws_file.read_text())["bundles"]
                    if b["server_name"] == key.server
                ]
                assert entry["desired_running"] is key.intent, (key.marker, entry)


@pytest.mark.timeout(1200 if SOAK else 120)
@pytest.mark.parametrize("seed", seeds())
async def test_random_operations_keep_every_invariant(seed: int, tmp_path: Path, tag: str) -> None:
    plain = write_bundle(tmp_path / "plain", user_config=FIELDS, env=ENV)
    slow_stop = write_bundle(tmp_path / "slow", ["--ignore-eof"], user_config=FIELDS, env=ENV)
    rng = random.Random(seed)
    sampler = Sampler(tag)
    events = EventLog()
    started = time.monotonic()
    async with opened(tmp_path / "data", tag, stable_uptime=1.0) as host:
        chaos = Chaos(host, rng, tag, {"plain": plain, "slow": slow_stop})
        for suffix in LAYOUT:
            host.create_workspace(ws_name(tag, suffix))
        for key in chaos.keys:
            await host.install_bundle(key.ws, chaos.source(key), server_name=key.server)
        host.lifecycle.subscribe(events)
        sampler.start()
        in_flight: set[asyncio.Task[None]] = set()
        try:
            for n in range(OPS):
                while len(in_flight) >= MAX_IN_FLIGHT:
                    _, in_flight = await asyncio.wait(
                        in_flight, return_when=asyncio.FIRST_COMPLETED
                    )
                op, key = chaos.pick()
                in_flight.add(asyncio.create_task(chaos.run_op(op, key, n)))
                await asyncio.sleep(rng.random() * 0.03 if rng.random() < 0.3 else 0)
                if (n + 1) % CHECK_EVERY == 0 or n + 1 == OPS:
                    await asyncio.gather(*in_flight)
                    in_flight = set()
                    await chaos.settle()
                    assert chaos.problems == [], chaos.problems
                    chaos.check()
            # Last, Shutdown lands in the middle of a burst of operations.
            chaos.closing = True
            burst = [
                asyncio.create_task(chaos.run_op(*chaos.pick(), OPS + i))
                for i in range(SHUTDOWN_BURST)
            ]
            await asyncio.sleep(rng.random() * 0.05)
            await host.shutdown()
            await asyncio.gather(*burst)
            assert chaos.problems == [], chaos.problems
            assert marked_processes(tag) == {}, "a process outlived shutdown()"
        finally:
            sampler.halt.set()
            await asyncio.gather(*in_flight, return_exceptions=True)
            sampler.join()
        spawns = host.lifecycle.spawn_count
    stats = chaos.stats
    assert events.problems == []
    assert sampler.violations == []
    assert sum(stats.ops.values()) >= OPS
    crashes = sum(1 for e in events.events if e.kind == "transition" and e.state is S.CRASHED)
    print(
        f"\nseed {seed}: {sum(stats.ops.values())} ops {dict(stats.ops)} "
        f"in {time.monotonic() - started:.1f} s; "
        f"{spawns} spawns, {stats.kills} kills, {crashes} crashes, "
        f"{len(events.events)} events, {stats.checkpoints} checkpoints, "
        f"{sampler.samples} process-table samples (max {sampler.max_live} live); "
        f"outcomes {dict(sorted(stats.outcomes.items()))}"
    )
