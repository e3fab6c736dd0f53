"""Feeds the history store: every lifecycle event, and each configuration change.

The Host opens one recorder after it has registered the installed bundles
(so a relaunch does not log "registered" for each of them again), gives the
instances back the restart counters of their last record, then subscribes.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from core.history.store import HistoryRecord, HistoryStore

#: Channels a configuration change can come through.
CHANNELS = ("gui", "cli", "gateway", "api")


def current_user() -> str:
    """The OS user running the console (a socket client is the same user: same_user)."""
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_name
    except (ImportError, KeyError, OSError):
        try:
            return getpass.getuser()
        except Exception:
            return str(os.getuid()) if hasattr(os, "getuid") else "unknown"


class HistoryRecorder:
    """Writes what the lifecycle publishes, with the instance's counters."""

    def __init__(self, store: HistoryStore, lifecycle: Any) -> None:
        self.store = store
        self._lifecycle = lifecycle
        self._unsubscribe: Callable[[], None] | None = None

    @classmethod
    def open(cls, data_dir: Path, lifecycle: Any, **store_options: Any) -> HistoryRecorder:
        store = HistoryStore(data_dir / "history" / "events.jsonl", root=data_dir, **store_options)
        recorder = cls(store, lifecycle)
        recorder.restore_counters(lifecycle.instances())
        recorder._unsubscribe = lifecycle.subscribe(recorder._on_event)
        return recorder

    def restore_counters(self, instances: Iterable[Any]) -> None:
        counters = self.store.counters()
        for inst in instances:
            saved = counters.get((inst.ws_id, inst.server_name))
            if saved is not None:
                inst.restarts, inst.crash_restarts, inst.respawns = saved

    def _on_event(self, event: Any) -> None:
        inst = self._lifecycle.get_instance(event.server_name, event.ws_id)
        counts: dict[str, int | None] = {}
        if inst is not None and event.kind != "unregistered":
            counts = {
                "restarts": inst.restarts,
                "crash_restarts": inst.crash_restarts,
                "respawns": inst.respawns,
            }
        self.store.append(
            HistoryRecord(
                ws_id=event.ws_id,
                server_name=event.server_name,
                kind=str(event.kind),
                at=event.at,
                previous=str(event.previous),
                state=str(event.state),
                error=event.error,  # redacted by the lifecycle
                **counts,
            )
        )

    def config_changed(
        self, ws_id: str, server_name: str, keys: Iterable[str], via: str, user: str | None = None
    ) -> None:
        """Record that ``keys`` were written or cleared: names only, never values."""
        self.store.append(
            HistoryRecord(
                ws_id=ws_id,
                server_name=server_name,
                kind="config",
                keys=tuple(sorted(keys)),
                user=user or current_user(),
                via=via if via in CHANNELS else "api",
            )
        )

    def note(
        self, ws_id: str, server_name: str, kind: str, text: str, keys: Iterable[str] = ()
    ) -> None:
        """A change that is not a lifecycle event (an update, a roll back): ``text`` says
        what happened (no values), ``keys`` the settings it dropped."""
        self.store.append(
            HistoryRecord(
                ws_id=ws_id,
                server_name=server_name,
                kind=kind,
                error=text,
                keys=tuple(sorted(keys)),
                user=current_user(),
            )
        )

    def close(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self.store.close()
