"""``python -m benchmarks [--quick] [--only NAME ...] [--busy N] [--json PATH]``.

Each figure runs in a fresh child process (its own event loop, its own
QApplication where needed, a clean RSS), and the parent prints one table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from benchmarks.harness import Figure, render
from benchmarks.load import busy_loops

#: figure group -> "module:function" (async def run(quick) -> list[Figure]); run in this order
GROUPS: dict[str, str] = {
    "respawn": "benchmarks.respawn",
    "isolation": "benchmarks.isolation",
    "coalesce": "benchmarks.coalesce",
    "stop": "benchmarks.stop",
    "save": "benchmarks.save",
    "keyring": "benchmarks.keyring_save",
    "stall": "benchmarks.stall",
    "service": "benchmarks.service",
    "gateway": "benchmarks.gateway",
    "hostile": "benchmarks.hostile",
    "faults": "benchmarks.faults",
    "history": "benchmarks.history",
    "gui": "benchmarks.gui_scale",
    "tools-tab": "benchmarks.tools_tab",
}
QT_GROUPS = {"stall", "gui", "tools-tab"}


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (smoke run)")
    parser.add_argument(
        "--only",
        action="append",
        choices=sorted(GROUPS),
        metavar="NAME",
        help=f"run only this figure group (repeatable): {', '.join(GROUPS)}",
    )
    parser.add_argument(
        "--busy",
        type=int,
        default=0,
        metavar="N",
        help="run N busy loops (own sessions) beside the figures, to measure a saturated machine",
    )
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write figures as JSON")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.busy < 0:
        parser.error(f"--busy: a count of loops, not {args.busy}")
    return args


def _run_child(group: str, quick: bool, out: Path) -> None:
    import importlib

    module = importlib.import_module(GROUPS[group])
    if group in QT_GROUPS:
        figures = module.run_qt(quick)  # owns its QApplication and qasync loop
    else:
        runner: Callable[[bool], Awaitable[list[Figure]]] = module.run
        figures = asyncio.run(runner(quick))
    out.write_text(json.dumps([f.to_json() for f in figures]))


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    if args.child:
        _run_child(args.child, args.quick, args.out)
        return 0
    groups = args.only or list(GROUPS)
    env = {**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen")}
    figures: list[Figure] = []
    failed: list[str] = []
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bench-out-") as tmp, busy_loops(args.busy):
        for group in groups:
            out = Path(tmp) / f"{group}.json"
            print(f"running {group}{' (quick)' if args.quick else ''}...", file=sys.stderr)
            t0 = time.monotonic()
            cmd = [sys.executable, "-m", "benchmarks", "--child", group, "--out", str(out)]
            if args.quick:
                cmd.append("--quick")
            proc = subprocess.run(cmd, env=env, check=False)
            took = time.monotonic() - t0
            if proc.returncode != 0 or not out.exists():
                failed.append(f"{group} (exit {proc.returncode})")
                print(f"  {group} failed after {took:.0f} s", file=sys.stderr)
                continue
            print(f"  {group} done in {took:.0f} s", file=sys.stderr)
            figures += [Figure.from_json(f) for f in json.loads(out.read_text())]
    print(render(figures))
    busy = f", {args.busy} busy loops beside it" if args.busy else ""
    print(f"\ntotal {time.monotonic() - started:.0f} s on {_machine()}{busy}")
    if failed:
        print(f"failed: {', '.join(failed)}")
    if args.json:
        payload = {
            "machine": _machine(),
            "quick": args.quick,
            "busy_loops": args.busy,
            "figures": [f.to_json() for f in figures],
            "failed": failed,
        }
        args.json.write_text(json.dumps(payload, indent=2))
    return 1 if failed else 0


def _machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs, {model}, Python {sys.version.split()[0]}"


if __name__ == "__main__":
    sys.exit(main())
