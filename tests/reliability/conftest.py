from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from tests.procs import marked_processes, wait_for
from tests.reliability.support import new_tag


@pytest.fixture
def tag() -> Iterator[str]:
    """A unique tag for this test's workspace ids; no process carrying it may outlive the test."""
    value = new_tag()
    yield value
    assert marked_processes(value) == {}, "a bundle process outlived the test"


@pytest.fixture(autouse=True)
async def loop_errors() -> AsyncIterator[list[dict[str, Any]]]:
    """Fail a test whose loop reported an unhandled error (a task that died unobserved...)."""
    loop = asyncio.get_running_loop()
    errors: list[dict[str, Any]] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: errors.append(context))
    yield errors
    await wait_for(lambda: False, 0.05)  # let late callbacks report
    loop.set_exception_handler(previous)
    assert not errors, [f"{c.get('message')}: {c.get('exception')!r}" for c in errors]
