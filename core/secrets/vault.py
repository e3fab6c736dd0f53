"""The OS keyring through the ``keyring`` library, never on the event loop.

Every call runs on one dedicated worker thread and is given up after
``timeout`` seconds: a locked keyring that waits for a password prompt, or a
Secret Service that stopped answering, turns into :class:`KeyringUnavailable`
(a clear message) instead of a hung UI. One thread, because the keyring is one
resource: a call stuck in it makes the next ones time out too, which is the
truth. A call given up on may still finish later; :class:`Ticket` lets it check,
before its point of no return, that nobody stopped waiting for it.

Values are stored JSON-encoded (a ``user_config`` value may be a number, a
boolean or a list); nothing here ever puts a value in a message or a log line.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from core.errors import ConsoleError

log = logging.getLogger(__name__)
T = TypeVar("T")


class KeyringUnavailable(ConsoleError):
    """The keyring cannot be used right now (absent, locked, gone, not answering)."""

    def __init__(self, message: str, *, locked: bool = False) -> None:
        super().__init__(message)
        self.locked = locked


class Abandoned(Exception):
    """The caller stopped waiting (timeout): do not commit anything more."""


class Ticket:
    """Shared by a worker call and its waiter; see the module doc."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._abandoned = False

    def abandon(self) -> None:
        with self._lock:
            self._abandoned = True

    def commit(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` (the point of no return) unless the waiter has given up."""
        with self._lock:
            if self._abandoned:
                raise Abandoned
            return fn()


class KeyringVault:
    """One data dir's items: service ``bundle-console/<id>``, names ``ws/server/key``."""

    def __init__(self, timeout: float = 5.0) -> None:
        self.timeout = timeout
        self.backend_name: str | None = None
        self._backend: Any = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="keyring")

    async def run(self, fn: Callable[[Ticket], T], what: str) -> T:
        """``fn(ticket)`` on the keyring thread, given up after ``timeout`` seconds."""
        loop = asyncio.get_running_loop()
        ticket = Ticket()
        future = loop.run_in_executor(self._executor, fn, ticket)
        try:
            return await asyncio.wait_for(asyncio.shield(future), self.timeout)
        except TimeoutError:
            ticket.abandon()
            future.add_done_callback(_swallow)
            raise KeyringUnavailable(
                f"The keyring is not answering ({what} gave up after {self.timeout:g} s); "
                "it may be locked and waiting for a password."
            ) from None

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

    # -- on the keyring thread -------------------------------------------------------

    def detect(self, probe_service: str) -> None:
        """Pick the platform's backend and check it answers unlocked, or raise.

        Detection runs every time (not once per process): the session bus of a
        console opened later may differ from the first one's.
        """
        import keyring
        import keyring.backend
        import keyring.core

        # get_all_keyring() keeps its first answer for the life of the process
        # (jaraco's ``once``): forget it, so a bus that appeared since is seen.
        vars(keyring.backend.get_all_keyring).pop("saved_result", None)
        try:
            keyring.core.init_backend()
            backend = keyring.get_keyring()
        except Exception as exc:  # a backend's probe failing in an unexpected way
            raise KeyringUnavailable(f"no usable keyring backend ({_short(exc)})") from None
        if not keyring.core.recommended(backend):
            raise KeyringUnavailable(f"no usable keyring backend ({_backend_label(backend)})")
        self._backend, self.backend_name = backend, _backend_label(backend)
        self.get(probe_service, "probe")  # raises when locked or broken

    def get(self, service: str, name: str) -> Any | None:
        raw = self._call("read", lambda b: b.get_password(service, name))
        if raw is None:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            return raw  # an item edited by hand: take its text as the value

    def set(self, service: str, name: str, value: Any) -> None:
        encoded = json.dumps(value)
        self._call("write", lambda b: b.set_password(service, name, encoded))

    def delete(self, service: str, name: str) -> None:
        import keyring.errors

        def remove(backend: Any) -> None:
            try:
                backend.delete_password(service, name)
            except keyring.errors.PasswordDeleteError:
                pass  # already gone: deleting is idempotent

        self._call("delete", remove)

    def _call(self, what: str, fn: Callable[[Any], T]) -> T:
        import keyring.errors

        if self._backend is None:
            raise KeyringUnavailable("no keyring backend was detected")
        try:
            return fn(self._backend)
        except keyring.errors.KeyringLocked:
            raise KeyringUnavailable("the keyring is locked", locked=True) from None
        except keyring.errors.KeyringError as exc:
            raise KeyringUnavailable(f"the keyring refused the {what} ({_short(exc)})") from None
        except Exception as exc:  # D-Bus gone mid-call, broken backend...
            raise KeyringUnavailable(f"the keyring failed the {what} ({_short(exc)})") from None


def _backend_label(backend: Any) -> str:
    module = type(backend).__module__.removeprefix("keyring.backends.")
    return "Secret Service" if module == "SecretService" else module


def _short(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text if len(text) <= 200 else text[:200] + "…"


def _swallow(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()
