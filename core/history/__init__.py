"""What happened to each bundle, kept across relaunches (see :mod:`core.history.store`)."""

from core.history.recorder import HistoryRecorder, current_user
from core.history.store import HistoryRecord, HistoryStore

__all__ = ["HistoryRecord", "HistoryRecorder", "HistoryStore", "current_user"]
