from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from core.lifecycle import BundleLifecycleManager
from tests.core.engine_support import SpecTable, make_manager
from tests.procs import marked_processes


@pytest.fixture
def table() -> SpecTable:
    return SpecTable(f"t{uuid.uuid4().hex[:10]}")


@pytest.fixture
async def lc(table: SpecTable, tmp_path: Path) -> AsyncIterator[BundleLifecycleManager]:
    manager = make_manager(table, tmp_path)
    yield manager
    await manager.shutdown()
    assert marked_processes(table.tag) == {}, "a bundle process outlived shutdown()"
