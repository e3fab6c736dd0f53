"""Escapee sweeps: a descendant that left its group is found by its spawn token."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import core.escapees as mod
from core.escapees import SPAWN_ENV, EscapeeSweeper, Spawn, find_escapees, new_token
from core.proctable import start_since_boot
from tests.procs import pid_alive, wait_for

SLEEP = [sys.executable, "-c", "import time; time.sleep(60)"]


def _spawn(token: str, *, new_session: bool) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        SLEEP, env={**os.environ, SPAWN_ENV: token}, start_new_session=new_session
    )


def _kill(*procs: subprocess.Popen[bytes]) -> None:
    for p in procs:
        p.kill()
        p.wait()


PARENT = (
    "import subprocess, sys, time;"
    "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']);"
    "print(p.pid, flush=True); time.sleep(60)"
)


def test_only_token_carriers_outside_the_group_and_newer_than_the_spawn():
    token, other = new_token(), new_token()
    leader = subprocess.Popen(
        [sys.executable, "-c", PARENT],
        env={**os.environ, SPAWN_ENV: token},
        stdout=subprocess.PIPE,
        start_new_session=True,
    )
    assert leader.stdout is not None
    same_group = int(leader.stdout.readline())  # the group stop covers this one
    escapee = _spawn(token, new_session=True)
    stranger = _spawn(other, new_session=True)
    try:
        since = start_since_boot(leader.pid)
        assert since is not None
        found = find_escapees([Spawn(token, since, pgid=leader.pid)])
        assert found[token] == [escapee.pid]  # not the leader, its group, or a stranger
        assert same_group != escapee.pid and pid_alive(same_group)
        later = start_since_boot(escapee.pid)
        assert later is not None
        # A spawn that started after the escapee cannot be its ancestor.
        assert find_escapees([Spawn(token, later + 1.0, pgid=leader.pid)])[token] == []
    finally:
        os.killpg(leader.pid, 9)
        _kill(leader, escapee, stranger)


async def test_sweeps_arriving_together_share_one_scan_and_stop_the_escapees(monkeypatch):
    tokens = [new_token() for _ in range(3)]
    escapees = [_spawn(t, new_session=True) for t in tokens]
    # Reap our own children as they die, as their real parent (init) would.
    waiters = [asyncio.create_task(asyncio.to_thread(p.wait)) for p in escapees]
    sweeper = EscapeeSweeper()
    scans = 0
    real = mod.find_escapees

    def counting(spawns):
        nonlocal scans
        scans += 1
        return real(spawns)

    monkeypatch.setattr(mod, "find_escapees", counting)
    spawns = [
        Spawn(t, start_since_boot(p.pid) or 0.0, pgid=-1)
        for t, p in zip(tokens, escapees, strict=True)
    ]
    found = await asyncio.gather(*(sweeper.sweep(s) for s in spawns))
    assert scans == 1
    assert found == [[p.pid] for p in escapees]
    assert await wait_for(lambda: not any(pid_alive(p.pid) for p in escapees), 5)
    await asyncio.gather(*waiters)
