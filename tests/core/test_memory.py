"""core.memory: the heap trim after a storm runs once the storm is over, once."""

from __future__ import annotations

import pytest

from core import memory
from tests.procs import wait_for


@pytest.mark.skipif(not memory.available(), reason="malloc_trim is glibc's")
async def test_requests_in_a_burst_make_one_trim_after_they_stop() -> None:
    trimmer = memory.Trimmer(quiet=0.05)
    for _ in range(50):  # a storm: one request per event
        trimmer.request()
    assert await wait_for(lambda: trimmer.runs >= 1, 5)
    assert trimmer.runs == 1
    trimmer.request()  # the next storm gets its own
    assert await wait_for(lambda: trimmer.runs >= 2, 5)
    assert trimmer.runs == 2
    assert memory.trim()
