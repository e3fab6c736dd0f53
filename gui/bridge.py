"""Carries core's lifecycle events into Qt.

Core calls subscribers synchronously on the event loop (which, under qasync,
is the GUI thread); the bridge re-emits each event as a Qt signal so views
connect to it like any other signal and core never learns about Qt.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

log = logging.getLogger(__name__)


class LifecycleBridge(QObject):
    """Subscribes to ``lc.subscribe`` and emits :attr:`event` for every ``LifecycleEvent``."""

    event = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._unsubscribe: Callable[[], Any] | None = None

    def connect_lifecycle(self, lifecycle: Any) -> None:
        self.disconnect_lifecycle()
        self._unsubscribe = lifecycle.subscribe(self._deliver)

    def disconnect_lifecycle(self) -> None:
        if self._unsubscribe is not None:
            unsubscribe, self._unsubscribe = self._unsubscribe, None
            unsubscribe()

    def _deliver(self, event: Any) -> None:
        # Never let a view's bug propagate into the engine's transition code.
        try:
            self.event.emit(event)
        except Exception:  # pragma: no cover - defensive
            log.exception("lifecycle event handler failed for %r", event)
