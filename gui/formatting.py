"""Small text helpers shared by the views (durations, summaries, outcomes)."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any


def format_duration(seconds: float) -> str:
    """Compact human duration: ``45 s``, ``12 min``, ``3 h 05 min``, ``2 d 4 h``."""
    s = int(max(0, seconds))
    if s < 60:
        return f"{s} s"
    m, s = divmod(s, 60)
    if m < 60:
        return f"{m} min {s:02d} s"
    h, m = divmod(m, 60)
    if h < 24:
        return f"{h} h {m:02d} min"
    d, h = divmod(h, 24)
    return f"{d} d {h} h"


def uptime_seconds(inst: Any, now: float | None = None) -> float | None:
    """Seconds since the bundle reached running, or None when it is not running."""
    if str(inst.state) != "running" or inst.started_at is None:
        return None
    return max(0.0, (now or time.time()) - inst.started_at)


def health_summary(instances: Iterable[Any]) -> str:
    """One line per workspace, e.g. ``3 running · 1 failed · 1 needs setup``."""
    counts: dict[str, int] = {}
    total = 0
    for inst in instances:
        total += 1
        state = str(inst.state)
        if inst.needs_setup and state in ("stopped", "dead"):
            key = "needs setup"
        elif state == "dead":
            key = "failed"
        else:
            key = state
        counts[key] = counts.get(key, 0) + 1
    if total == 0:
        return "no bundles"
    order = ("running", "starting", "stopping", "crashed", "failed", "needs setup", "stopped")
    parts = [f"{counts[k]} {k}" for k in order if counts.get(k)]
    return " · ".join(parts)


def first_line(text: str | None, limit: int = 160) -> str:
    """The first non-empty line of ``text``, shortened for a table cell."""
    if not text:
        return ""
    for line in text.splitlines():
        if line.strip():
            line = line.strip()
            return line if len(line) <= limit else line[: limit - 1] + "…"
    return ""


#: Longest tooltip shown: a bundle's text must not grow a window or a tooltip without end.
MAX_TIP = 2000


def plain_tip(text: str | None) -> str | None:
    """A tooltip that shows ``text`` literally.

    Qt renders any tooltip that *looks* like HTML as rich text, with no switch to
    turn that off: bundle text (names, descriptions, errors) could spoof a badge
    or load a huge ``<img>``. Escaped and wrapped, it is always shown as typed.
    """
    if not text:
        return None
    import html

    if len(text) > MAX_TIP:
        text = text[:MAX_TIP] + "…"
    return f"<p style='white-space:pre-wrap'>{html.escape(text)}</p>"


def error_text(exc: BaseException) -> str:
    """Core's ConsoleError messages are complete sentences; anything else gets its type."""
    text = str(exc)
    return text if text else type(exc).__name__
