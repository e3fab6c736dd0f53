"""``stderr_tail`` belongs to the current process: a respawn never shows the old one's lines."""

from __future__ import annotations

import asyncio

from core.states import BundleState as S

WS = "ws_tail"


async def _until(predicate, what: str) -> None:  # type: ignore[no-untyped-def]
    for _ in range(400):
        if predicate():
            return
        await asyncio.sleep(0.025)
    raise AssertionError(f"never saw {what}")


async def test_respawn_replaces_the_stderr_tail(lc, table) -> None:  # type: ignore[no-untyped-def]
    spec = table.add("talker", WS, "--print-env", "GENERATION", env={"GENERATION": "first"})
    lc.register("talker", WS)
    assert (await lc.start_bundle("talker", WS)).ok
    inst = lc.get_instance("talker", WS)
    await _until(lambda: "GENERATION=first" in inst.stderr_tail, "the first process's line")
    spec.env["GENERATION"] = "second"
    assert (await lc.respawn_bundle("talker", WS)).ok
    assert inst.state is S.RUNNING
    assert "GENERATION=first" not in inst.stderr_tail
    await _until(lambda: "GENERATION=second" in inst.stderr_tail, "the new process's line")
    assert "GENERATION=first" not in inst.stderr_tail
    await lc.stop_bundle("talker", WS)
    # once stopped, the last process's lines stay readable (they explain a crash)
    assert "GENERATION=second" in inst.stderr_tail
