"""Redaction through the engine: real processes print values, every text is checked.

``fixture_server.py --print-env NAME`` writes ``NAME=<value>`` to stderr at
start; with ``--hang-init`` (and a 1 s handshake timeout) that line becomes
the start error's "Last stderr", so one spawn puts a value into the log, the
result, the instance and the events at once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from core.lifecycle import BundleLifecycleManager
from core.models import LifecycleEvent
from core.redact import MASK
from core.states import BundleState
from tests.core.engine_support import SpecTable, make_manager

S = BundleState
WS = "ws_red"


@pytest.fixture
async def lc(table: SpecTable, tmp_path: Path) -> AsyncIterator[BundleLifecycleManager]:
    manager = make_manager(table, tmp_path, handshake_timeout=1.0)
    yield manager
    await manager.shutdown()


def record(lc: BundleLifecycleManager) -> list[LifecycleEvent]:
    events: list[LifecycleEvent] = []
    lc.subscribe(events.append)
    return events


def texts(lc: BundleLifecycleManager, server: str, result, events) -> list[str]:
    inst = lc.get_instance(server, WS)
    raw = lc.log_path(server, WS).read_text()
    return [
        raw,
        "\n".join(lc.read_log(server, WS)),
        repr(result),
        repr(inst),
        str(inst.last_error),
        "\n".join(inst.stderr_tail),
        *(repr(e) for e in events),
    ]


async def test_a_value_with_newlines_is_masked_line_by_line_everywhere(lc, table: SpecTable):
    secret = "first-line-of-key\nsecond-line-of-key"
    table.add(
        "nl",
        WS,
        "--print-env",
        "TOKEN",
        "--hang-init",
        env={"TOKEN": secret},
        secrets=(secret,),
    )
    lc.register("nl", WS)
    events = record(lc)
    result = await lc.start_bundle("nl", WS)
    assert not result.ok
    assert "Last stderr" in result.error and MASK in result.error
    for text in texts(lc, "nl", result, events):
        assert "first-line-of-key" not in text and "second-line-of-key" not in text, text


async def test_another_bundles_secret_is_masked_in_a_hostile_bundles_texts(lc, table):
    victim = "victim-secret-4242"
    table.add("victim", WS, env={"TOKEN": victim}, secrets=(victim,))
    # The thief's own spec knows nothing of the victim's value.
    table.add("thief", WS, "--print-env", "STOLEN", "--hang-init", env={"STOLEN": victim})
    lc.register("victim", WS)
    lc.register("thief", WS)
    lc.check_setup("victim", WS)  # the console holds the victim's value from now on
    events = record(lc)
    result = await lc.start_bundle("thief", WS)
    assert not result.ok
    for text in texts(lc, "thief", result, events):
        assert victim not in text, text
    assert f"STOLEN={MASK}" in lc.log_path("thief", WS).read_text()


async def test_every_value_of_a_many_valued_field_is_masked(lc, table):
    values = tuple(f"multi-value-{i:02d}" for i in range(40))  # past the 32nd too
    table.add(
        "multi",
        WS,
        "--print-env",
        "ALL",
        "--hang-init",
        env={"ALL": ",".join(values)},
        secrets=values,
    )
    lc.register("multi", WS)
    events = record(lc)
    result = await lc.start_bundle("multi", WS)
    for text in texts(lc, "multi", result, events):
        assert "multi-value-" not in text, text


async def test_the_previous_value_stays_masked_after_a_rotation(lc, table):
    old, new = "rotated-out-value-1", "rotated-in-value-2"
    spec = table.add("rot", WS, "--print-env", "TOKEN", env={"TOKEN": old}, secrets=(old,))
    lc.register("rot", WS)
    assert (await lc.start_bundle("rot", WS)).ok
    # Rotate; the new process still prints the old value (a cached credential).
    spec.secrets = (new,)
    spec.args += ["--hang-init"]
    events = record(lc)
    result = await lc.respawn_bundle("rot", WS)
    assert not result.ok and MASK in result.error
    for text in texts(lc, "rot", result, events):
        assert old not in text and new not in text, text
