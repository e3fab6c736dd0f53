"""Start all, Stop all, Restart all for one workspace, with one summary line.

The calls go to the lifecycle together, as ``Host.restore`` does: its start
and stop slots and its spawn gate (``core.lifecycle.Slots``,
``_pace_spawn``) pace them exactly like a mass start, so a workspace of a
hundred bundles does not stall the loop. Restart all restarts what runs (or
tried to: crashed, dead) and leaves bundles stopped by choice alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from core.models import RespawnResult

BulkVerb = Literal["start", "stop", "restart"]
_DONE = {"start": "Started", "stop": "Stopped", "restart": "Restarted"}
_INFINITIVE = {"start": "start", "stop": "stop", "restart": "restart"}


@dataclass(frozen=True)
class BulkItem:
    server_name: str
    label: str
    result: RespawnResult | None  # None: skipped (Restart all leaves stopped bundles alone)


@dataclass(frozen=True)
class BulkResult:
    verb: BulkVerb
    ws_id: str
    ws_name: str
    items: tuple[BulkItem, ...]

    @property
    def done(self) -> list[BulkItem]:
        return [i for i in self.items if i.result is not None and i.result.ok]

    @property
    def failed(self) -> list[BulkItem]:
        return [i for i in self.items if i.result is not None and not i.result.ok]

    @property
    def skipped(self) -> list[BulkItem]:
        return [i for i in self.items if i.result is None]

    @property
    def ok(self) -> bool:
        return not self.failed

    def summary(self) -> str:
        """ "Started 4 of 5 bundles in Demo; Demo Vault needs setup" (never a value)."""
        attempted = len(self.items) - len(self.skipped)
        if not self.items:
            return f"Workspace {self.ws_name} has no bundles."
        if self.verb == "restart" and attempted == 0:
            return f"Nothing to restart in {self.ws_name}: every bundle is stopped."
        noun = "bundle" if attempted == 1 else "bundles"
        text = f"{_DONE[self.verb]} {len(self.done)} of {attempted} {noun} in {self.ws_name}"
        reasons = [f"{i.label} {_why(self.verb, i.result)}" for i in self.failed if i.result]
        if self.skipped:
            n = len(self.skipped)
            reasons.append(f"{n} stopped {'bundle' if n == 1 else 'bundles'} left stopped")
        return "; ".join([text, *reasons])


def _why(verb: BulkVerb, result: RespawnResult) -> str:
    if result.outcome == "needs_setup":
        return "needs setup"
    if result.outcome == "protected":
        return "is protected"
    if result.outcome == "stopped":
        return "was stopped meanwhile"
    return f"could not {_INFINITIVE[verb]}"
