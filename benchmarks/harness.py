"""Figures, interleaved measurement, and the printed table.

A :class:`Figure` is a list of :class:`Row` objects. A row holds the raw
samples (seconds are shown as ms), an optional goal on its median, and an
optional text value for facts that are not numbers ("last value won: 5/5").
Paired rows (ratios, differences) are computed per round from interleaved
samples, so a noisy neighbour that slows one round slows both sides of it.
"""

from __future__ import annotations

import asyncio
import gc
import operator
import statistics
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

Goal = tuple[str, float]  # ("<=", 1.10)
_OPS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le,
    "<": operator.lt,
    ">=": operator.ge,
    ">": operator.gt,
    "==": operator.eq,
}


@dataclass
class Row:
    name: str
    samples: list[float] = field(default_factory=list)
    #: "s" (shown in ms), "ms", "x" (ratio), "MB", "count", "" (plain number)
    unit: str = "s"
    goal: Goal | None = None
    #: a fact instead of a number (e.g. "yes (5/5)")
    text: str | None = None
    #: for text rows: whether the fact meets its goal
    met: bool | None = None
    goal_text: str | None = None

    @property
    def median(self) -> float | None:
        return statistics.median(self.samples) if self.samples else None

    def verdict(self) -> bool | None:
        """Whether the median meets the goal (or the fact's own verdict)."""
        if self.goal is not None and self.median is not None:
            op, limit = self.goal
            return _OPS[op](self.median, limit)
        return self.met

    def goal_label(self) -> str:
        if self.goal_text:
            return self.goal_text
        if self.goal is None:
            return ""
        op, limit = self.goal
        return f"{op} {_fmt(limit, self.unit)}"


@dataclass
class Figure:
    key: str
    title: str
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, row: Row) -> Row:
        self.rows.append(row)
        return row

    def series(self, name: str, samples: Sequence[float], unit: str = "s", **kw: Any) -> Row:
        return self.add(Row(name, list(samples), unit, **kw))

    def fact(self, name: str, text: str, met: bool | None = None, goal: str = "") -> Row:
        return self.add(Row(name, [], "", text=text, met=met, goal_text=goal or None))

    def pair(
        self,
        name: str,
        a: Sequence[float],
        b: Sequence[float],
        *,
        goal: Goal | None = None,
        diff_name: str | None = None,
    ) -> None:
        """Add the per-round ratio a/b (and, if named, the difference a-b)."""
        n = min(len(a), len(b))
        self.series(name, [a[i] / b[i] for i in range(n) if b[i] > 0], unit="x", goal=goal)
        if diff_name:
            self.series(diff_name, [a[i] - b[i] for i in range(n)], unit="s")

    def to_json(self) -> dict[str, Any]:
        rows = []
        for row in self.rows:
            data = asdict(row)
            data["median"] = row.median
            data["min"] = min(row.samples) if row.samples else None
            data["max"] = max(row.samples) if row.samples else None
            data["met"] = row.verdict()
            data["goal"] = row.goal_label() or None
            rows.append(data)
        return {"key": self.key, "title": self.title, "rows": rows, "notes": self.notes}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Figure:
        fig = cls(data["key"], data["title"], notes=list(data.get("notes", [])))
        for r in data["rows"]:
            fig.rows.append(
                Row(
                    r["name"],
                    list(r["samples"]),
                    r["unit"],
                    text=r.get("text"),
                    met=r.get("met"),
                    goal_text=r.get("goal"),
                )
            )
        return fig


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "s":
        ms = value * 1000
        return f"{ms:.0f} ms" if abs(ms) >= 100 else f"{ms:.1f} ms"
    if unit == "ms":
        return f"{value:.1f} ms"
    if unit == "x":
        return f"{value:.2f}x"
    if unit == "MB":
        return f"{value:.0f} MB"
    if unit == "count":
        return f"{value:.0f}"
    if unit == "%":
        return f"{value:.0f} %"
    return f"{value:g}"


def render(figures: Sequence[Figure]) -> str:
    header = ("figure / measure", "n", "median", "min", "max", "goal", "")
    lines: list[tuple[str, ...]] = [header]
    spans: list[str] = []
    for fig in figures:
        lines.append((f"[{fig.key}] {fig.title}", "", "", "", "", "", ""))
        for row in fig.rows:
            if row.text is not None:
                mark = {True: "ok", False: "MISS", None: ""}[row.met]
                lines.append((f"  {row.name}", "", row.text, "", "", row.goal_label(), mark))
                continue
            mark = {True: "ok", False: "MISS", None: ""}[row.verdict()]
            lines.append(
                (
                    f"  {row.name}",
                    str(len(row.samples)),
                    _fmt(row.median, row.unit),
                    _fmt(min(row.samples) if row.samples else None, row.unit),
                    _fmt(max(row.samples) if row.samples else None, row.unit),
                    row.goal_label(),
                    mark,
                )
            )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    for i, line in enumerate(lines):
        if i > 1 and line[0].startswith("["):
            spans.append("")
        cells = [line[0].ljust(widths[0])]
        cells += [cell.rjust(widths[j]) for j, cell in enumerate(line[1:6], start=1)]
        cells.append(line[6])
        spans.append("  ".join(cells).rstrip())
        if i == 0:
            spans.append("-" * len(spans[-1]))
    notes = [f"[{fig.key}] {note}" for fig in figures for note in fig.notes]
    if notes:
        spans += ["", "notes:", *(f"  {n}" for n in notes)]
    return "\n".join(spans)


Measure = Callable[[], Awaitable[dict[str, float]]]


async def interleave(
    variants: dict[str, Measure], rounds: int, warmup: int = 1, *, settle: float = 0.02
) -> dict[str, dict[str, list[float]]]:
    """Run each variant once per round, alternating the order (A B, B A, A B, ...).

    Each measure returns named timings (seconds); the result maps
    ``variant -> name -> samples``. Warm-up rounds are run and discarded. The
    garbage collector runs between samples, not inside them, and ``settle``
    seconds pass before each (0: none, for a figure about what idle time does).
    """
    names = list(variants)
    out: dict[str, dict[str, list[float]]] = {n: {} for n in names}
    for r in range(warmup + rounds):
        order = names if r % 2 == 0 else names[::-1]
        for name in order:
            gc.collect()
            if settle:
                await asyncio.sleep(settle)  # let the previous round's exits settle
            result = await variants[name]()
            if r >= warmup:
                for key, value in result.items():
                    out[name].setdefault(key, []).append(value)
    return out
