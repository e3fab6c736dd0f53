"""One CLI command's way to the data dir: the running console, or the dir itself.

With a console listening, every call goes over the control socket. Without
one, the command opens the data dir under its lock (a Host that starts
nothing) and runs the very same operation table, so both answer alike;
operations that need live processes say that no console is running. A console
that holds the lock but does not listen yet (``serve`` just started) is waited
for, never opened around.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.service.client import STARTING_TIMEOUT, find_console
from core.service.protocol import NO_CONSOLE, ServiceError

if TYPE_CHECKING:
    import asyncio


class Session:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.remote = find_console(data_dir, on_wait=_note)
        self._runner: asyncio.Runner | None = None
        self._ops: Any = None

    @property
    def offline(self) -> bool:
        return self.remote is None

    def call(self, op: str, args: dict[str, Any] | None = None) -> Any:
        ops = None if self.remote is not None else self._offline_ops()
        if ops is None:  # a console: found at once, or it took the lock as we looked
            assert self.remote is not None
            return self.remote.call(op, args)
        assert self._runner is not None
        return self._runner.run(ops.run(op, args or {}))

    @contextlib.contextmanager
    def stream(self, op: str, args: dict[str, Any] | None = None) -> Iterator[Iterator[dict]]:
        if self.remote is None:
            from core.service.ops import no_console_message

            raise ServiceError(NO_CONSOLE, no_console_message(_HostLike(self.data_dir)))
        with self.remote.stream(op, args) as events:
            yield events

    def _offline_ops(self) -> Any:
        """The offline operations, or None with ``self.remote`` set.

        The lock was free when the session looked; a console starting at that
        moment may have taken it since: then wait for its socket instead.
        """
        if self._ops is None:
            import asyncio  # offline only: a status through the socket never loads it

            from core.datalock import DataDirInUse
            from core.host import Host
            from core.service.ops import Operations

            if self._runner is None:
                self._runner = asyncio.Runner()
            deadline = time.monotonic() + STARTING_TIMEOUT
            while True:
                try:
                    host = self._runner.run(Host.open(self.data_dir, restore=False))
                    break
                except DataDirInUse:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise
                    self.remote = find_console(self.data_dir, timeout=left, on_wait=_note)
                    if self.remote is not None:
                        return None
            self._ops = Operations(host, "offline")
            print("(no console running: working on the data dir directly)", file=sys.stderr)
        return self._ops

    def close(self) -> None:
        if self._runner is not None:
            if self._ops is not None:
                self._ops.close()
                self._runner.run(self._ops.host.shutdown())
            self._runner.close()
            self._runner = None


def _note(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class _HostLike:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
