"""A respawn sets up the next sandbox while the old one stops; it is used only if nothing changed.

Real bwrap sandboxes and the fixture server. The old process ignores stdin EOF,
so its stop takes the whole stop grace: time enough to see what happens in it.
Run as root here; what the sandbox hides is tested as a normal user elsewhere.
"""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from pathlib import Path

import pytest

from core.lifecycle import BundleLifecycleManager
from core.models import LaunchSpec
from core.sandbox import availability, default_policy
from core.states import BundleState
from tests.core.engine_support import SpecTable, make_manager
from tests.procs import marked_processes, wait_for

pytestmark = pytest.mark.skipif(
    availability()[0] is None, reason=f"no sandbox here: {availability()[1]}"
)

WS = "ws_ahead"
GRACE = 0.6


class _Confined(SpecTable):
    def __init__(self, tag: str, data: Path) -> None:
        super().__init__(tag)
        self.data = data
        (data / "bundles" / "srv").mkdir(parents=True)

    def __call__(self, server: str, ws: str) -> LaunchSpec:
        spec = super().__call__(server, ws)
        policy = default_policy(self.data, self.data / "bundles" / "srv")
        return dataclasses.replace(spec, sandbox=policy)


@pytest.fixture
async def confined(tmp_path: Path):
    table = _Confined(f"a{uuid.uuid4().hex[:10]}", tmp_path / "data")
    lc = make_manager(table, tmp_path, stop_grace=GRACE)
    yield table, lc
    await lc.shutdown()
    assert await wait_for(lambda: marked_processes(table.tag) == {}, 5.0), "a sandbox outlived"


def _journal(path: Path) -> list[tuple[str, int, float]]:
    rows = [line.split() for line in path.read_text().splitlines()]
    return [(word, int(pid), float(at)) for word, pid, at in rows]


async def _stopping(lc: BundleLifecycleManager, name: str) -> None:
    inst = lc.get_instance(name, WS)
    assert await wait_for(lambda: inst.state is BundleState.STOPPING, 5.0, 0.005)


async def test_the_sandbox_is_set_up_during_the_stop_and_runs_nothing_before_it_ends(
    confined, tmp_path: Path
) -> None:
    table, lc = confined
    journal = tmp_path / "journal"
    table.add("srv", WS, "--ignore-eof", "--journal", str(journal))
    lc.register("srv", WS)
    assert (await lc.start_bundle("srv", WS)).ok
    inst = lc.get_instance("srv", WS)
    old = inst.pid

    respawn = asyncio.ensure_future(lc.respawn_bundle("srv", WS))
    await _stopping(lc, "srv")
    # The new sandbox (its bwrap) exists while the old server is still stopping...
    assert await wait_for(lambda: len(_sandboxes(table)) == 2, GRACE / 2, 0.005)
    during = set(_sandboxes(table)) - {old}
    assert inst.state is BundleState.STOPPING
    result = await respawn
    assert result.ok, result.error
    assert inst.pid in during
    # ...but the new server's code started only once the old one had exited.
    assert [word for word, _, _ in _journal(journal)] == ["start", "exit", "start"]
    (_, _, _), (_, _, old_exit), (_, _, new_start) = _journal(journal)
    assert new_start > old_exit
    assert lc.get_instance("srv", WS).isolation.isolated


async def test_a_credential_changed_during_the_stop_reaches_the_new_process(confined) -> None:
    table, lc = confined
    spec = table.add("srv", WS, "--ignore-eof", env={"API_TOKEN": "before"})
    lc.register("srv", WS)
    assert (await lc.start_bundle("srv", WS)).ok

    respawn = asyncio.ensure_future(lc.respawn_bundle("srv", WS))
    await _stopping(lc, "srv")  # the next sandbox is being set up with "before"
    spec.env["API_TOKEN"] = "after"
    result = await respawn
    assert result.ok, result.error
    called = await lc.call_tool("srv", WS, "env", {"name": "API_TOKEN"})
    assert called.content[0].text == "after"
    # the sandbox set up for "before" was never used, and is gone
    assert len(_sandboxes(table)) == 1


async def test_an_unused_sandbox_is_gone_before_the_new_handshake_ends(confined) -> None:
    table, lc = confined
    # tools/list answers after 1.5 s: the new process stays STARTING that long
    spec = table.add("srv", WS, "--ignore-eof", "--slow-tools", "1.5", env={"API_TOKEN": "a"})
    lc.register("srv", WS)
    assert (await lc.start_bundle("srv", WS)).ok
    inst = lc.get_instance("srv", WS)

    respawn = asyncio.ensure_future(lc.respawn_bundle("srv", WS))
    await _stopping(lc, "srv")
    spec.env["API_TOKEN"] = "b"  # the sandbox being set up for "a" cannot be used
    assert await wait_for(lambda: inst.state is BundleState.STARTING, 5.0, 0.005)
    # Discarded while the new process starts, not after: one sandbox is left.
    assert await wait_for(lambda: len(_sandboxes(table)) == 1, 1.0, 0.005), _sandboxes(table)
    assert inst.state is BundleState.STARTING
    assert (await respawn).ok


async def test_a_stop_during_the_respawn_leaves_no_sandbox_behind(confined) -> None:
    table, lc = confined
    table.add("srv", WS, "--ignore-eof")
    lc.register("srv", WS)
    assert (await lc.start_bundle("srv", WS)).ok

    respawn = asyncio.ensure_future(lc.respawn_bundle("srv", WS))
    await _stopping(lc, "srv")
    await lc.stop_bundle("srv", WS)
    assert (await respawn).outcome == "stopped"
    assert await wait_for(lambda: marked_processes(table.tag) == {}, 5.0)


def _sandboxes(table: SpecTable) -> list[int]:
    """The bwrap monitors running for this test's bundle (each one sandbox)."""
    return marked_processes(table.tag).get(f"{table.tag}:{WS}/srv", [])
