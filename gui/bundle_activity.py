"""Live call activity per bundle for the bundle table: calls in the last minute,
calls in flight, and the last call that failed.

Fed by the gateway's pushes (core.gateway): every finished call's record
(``gateway.calls.subscribe``) and every call start or end
(``gateway.subscribe_clients``, then ``gateway.bundle_in_flight``). A burst of
calls costs one repaint of the rows it touched, after the burst (a zero-delay
timer, as the window's workspace summaries do), never a table reset. The
one-minute window slides on the window's clock: :meth:`tick` repaints only the
rows that still have recent calls.

Records never carry arguments or results, so nothing shown here can hold a
secret; the error column names the outcome, the tool, the client and when.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer

from gui.bundle_model import SORT_ROLE

Key = tuple[str, str]  # (ws_id, server_name), as the bundle table keys its rows

#: The "calls in the last minute" window, in seconds.
WINDOW = 60.0

#: Outcomes counted as a failed call (a client's own cancel is not the bundle's error).
FAILED = {
    "tool_error": "tool error",
    "error": "MCP error",
    "unavailable": "unavailable",
    "timeout": "timed out",
}


@dataclass
class Failure:
    at: float
    tool: str
    client: str
    outcome: str
    #: calls to the bundle that ended well since this one
    ok_since: int = 0


@dataclass
class Stats:
    #: start times of the calls that finished within the window, oldest first
    recent: deque[float] = field(default_factory=deque)
    total: int = 0
    in_flight: int = 0
    failure: Failure | None = None

    def per_minute(self, now: float) -> int:
        while self.recent and self.recent[0] < now - WINDOW:
            self.recent.popleft()
        return len(self.recent)


def _ago(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds} s ago"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    return time.strftime("%H:%M", time.localtime(time.time() - seconds))


class BundleActivity(QObject):
    """Per-bundle counters; ``repaint(keys)`` is called once per burst with the rows to redraw."""

    def __init__(self, repaint: Callable[[set[Key]], None], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._repaint = repaint
        self._stats: dict[Key, Stats] = {}
        self._dirty: set[Key] = set()
        self._unsubscribe: list[Callable[[], None]] = []
        self.gateway: Any = None
        self._flush_timer = QTimer(self)
        self._flush_timer.setSingleShot(True)
        self._flush_timer.setInterval(0)
        self._flush_timer.timeout.connect(self.flush)

    # -- feeding ------------------------------------------------------------------

    def attach(self, gateway: Any) -> None:
        """Follow ``gateway`` (None: no gateway, every count is zero)."""
        self.detach()
        self.gateway = gateway
        if gateway is None:
            return
        self._unsubscribe.append(gateway.calls.subscribe(self.on_record))
        self._unsubscribe.append(gateway.subscribe_clients(self.on_calls_changed))
        self.on_calls_changed()

    def detach(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()
        self.gateway = None

    def on_record(self, record: Any) -> None:
        """One finished call (a ``CallRecord``): count it, note it if it failed."""
        key = (record.workspace, record.bundle)
        stats = self._stats.setdefault(key, Stats())
        stats.recent.append(record.at)
        stats.total += 1
        if record.outcome in FAILED:
            stats.failure = Failure(record.at, record.tool, record.client, record.outcome)
        elif record.outcome == "ok" and stats.failure is not None:
            stats.failure.ok_since += 1
        self._mark(key)

    def on_calls_changed(self) -> None:
        """A call started or ended somewhere: re-read the in-flight counts (a small dict)."""
        counts = dict(getattr(self.gateway, "bundle_in_flight", None) or {})
        for key, stats in self._stats.items():
            if stats.in_flight and key not in counts:
                stats.in_flight = 0
                self._mark(key)
        for key, n in counts.items():
            stats = self._stats.setdefault(key, Stats())
            if stats.in_flight != n:
                stats.in_flight = n
                self._mark(key)

    def forget(self, key: Key) -> None:
        """The bundle was uninstalled: a reinstall starts from nothing."""
        self._stats.pop(key, None)
        self._dirty.discard(key)

    def _mark(self, key: Key) -> None:
        self._dirty.add(key)
        if not self._flush_timer.isActive():
            self._flush_timer.start()

    def flush(self) -> None:
        dirty, self._dirty = self._dirty, set()
        if dirty:
            self._repaint(dirty)

    def tick(self) -> None:
        """The minute slides: repaint rows whose count may have dropped."""
        now = time.time()
        sliding = {k for k, s in self._stats.items() if s.recent and s.recent[0] < now - WINDOW}
        for key in sliding:
            self._stats[key].per_minute(now)
        if sliding:
            self._repaint(sliding)

    # -- what the table shows -----------------------------------------------------

    def stats(self, key: Key) -> Stats | None:
        return self._stats.get(key)

    def calls_cell(self, key: Key, role: int) -> Any:
        stats = self._stats.get(key)
        now = time.time()
        per_minute = stats.per_minute(now) if stats else 0
        in_flight = stats.in_flight if stats else 0
        if role == Qt.ItemDataRole.DisplayRole:
            if stats is None or (not per_minute and not in_flight):
                return "—" if self.gateway is not None else ""
            text = f"{per_minute}/min"
            return text + (f" · {in_flight} in flight" if in_flight else "")
        if role == SORT_ROLE:  # busiest first when sorted descending
            return (in_flight, per_minute)
        if role == Qt.ItemDataRole.ToolTipRole:
            if self.gateway is None:
                return "The gateway is not running: AI clients cannot call this bundle."
            total = stats.total if stats else 0
            return (
                f"Calls finished in the last minute: {per_minute}\n"
                f"Calls in flight now: {in_flight}\n"
                f"Calls since the console started: {total}\n"
                "(every client of the gateway, and Try a tool)"
            )
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def error_cell(self, key: Key, role: int) -> Any:
        stats = self._stats.get(key)
        failure = stats.failure if stats else None
        if failure is None:
            return "" if role == SORT_ROLE else None
        what = FAILED.get(failure.outcome, failure.outcome)
        if role in (Qt.ItemDataRole.DisplayRole, SORT_ROLE):
            text = f"{failure.tool}: {what}"
            return text + (" (ok since)" if failure.ok_since else "")
        if role == Qt.ItemDataRole.ToolTipRole:
            when = time.strftime("%H:%M:%S", time.localtime(failure.at))
            lines = [
                f"Last failed call: {failure.tool} — {what}",
                f"At {when} ({_ago(time.time() - failure.at)}), "
                f"from {failure.client or 'a client'}",
            ]
            if failure.ok_since:
                lines.append(f"{failure.ok_since} call(s) to this bundle succeeded since.")
            lines.append("View → Clients and Calls… lists every call.")
            return "\n".join(lines)
        return None
