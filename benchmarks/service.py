"""The console as a service: CLI latency with a console running.

Figure "cli-status": wall time of ``bundle-console status`` (a fresh
interpreter, connect, one request, print) against ``python -c pass`` in the
same rounds; the difference is what the CLI itself costs (goal: status under
100 ms; no Qt or mcp import on that path). The same runs' CPU time (user +
system, from the reaped child's rusage) is printed beside it, not judged.

Figure "cli-rotation": ``bundle-console config set WS demo-vault api_token=-``
(token on stdin) against a headless ``serve`` -> "respawned", against the same
rotation through the Python API (``await host.set_user_config`` on a Host in
this process, its own data dir). Both end with a new vault process holding the
new token (checked in /proc/<pid>/environ, untimed). Goal: ratio <= 1.2.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.harness import Figure, interleave
from benchmarks.support import ROOT, now, proc_environ

DEMO_VAULT = ROOT / "resources" / "bundles" / "demo-vault"


def _cli_cmd() -> list[str]:
    script = Path(sys.executable).parent / "bundle-console"
    return [str(script)] if script.exists() else [sys.executable, "-m", "core.cli"]


async def _run(cmd: list[str], stdin: bytes | None = None) -> bytes:
    proc = await asyncio.create_subprocess_exec(
        *cmd,
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    )
    out, err = await proc.communicate(stdin)
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[1:3]} exited {proc.returncode}: {err.decode()[-300:]}")
    return out


def _children_cpu() -> float:
    """User + system CPU of this process's reaped children so far (one run at a time)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


async def bare_interpreter() -> dict[str, float]:
    """The baseline of every start-up figure: ``python -c pass``, wall time and CPU."""
    c0, t0 = _children_cpu(), now()
    await _run([sys.executable, "-c", "pass"])
    return {"t": now() - t0, "cpu": _children_cpu() - c0}


class _Serve:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "core.cli", "serve", "--data-dir", str(data_dir)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=ROOT,
        )

    async def ready(self) -> None:
        sock = self.data_dir / "service" / "control.sock"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if sock.exists():
                out = await _run(
                    [*_cli_cmd(), "status", "--json", "--data-dir", str(self.data_dir)]
                )
                if json.loads(out)["console"] == "serve":
                    return
            await asyncio.sleep(0.2)
        raise RuntimeError("serve did not come up")

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(60)


async def status_figure(rounds: int) -> Figure:
    with tempfile.TemporaryDirectory(prefix="bench-svc-") as tmp:
        data = Path(tmp) / "data"
        serve = _Serve(data)
        try:
            await serve.ready()
            status = [*_cli_cmd(), "status", "--data-dir", str(data)]

            async def cli() -> dict[str, float]:
                c0, t0 = _children_cpu(), now()
                await _run(status)
                return {"t": now() - t0, "cpu": _children_cpu() - c0}

            samples = await interleave({"cli": cli, "bare": bare_interpreter}, rounds, warmup=2)
        finally:
            serve.stop()
    fig = Figure("cli-status", "bundle-console status with a console running (wall time)")
    c, b = samples["cli"]["t"], samples["bare"]["t"]
    fig.series("bundle-console status", c, goal=("<", 0.100))
    fig.series("python -c pass", b)
    fig.pair("ratio status / python -c pass", c, b, diff_name="CLI cost over a bare interpreter")
    # CPU (user + system) of the status process: imports are most of it, and only
    # what the socket client needs is imported (core/__init__ is lazy).
    cc, bc = samples["cli"]["cpu"], samples["bare"]["cpu"]
    fig.series("status CPU (user + system)", cc)
    fig.series("python -c pass CPU (user + system)", bc)
    fig.pair("ratio status CPU / python -c pass CPU", cc, bc, diff_name="CLI CPU over bare")
    return fig


async def rotation_figure(rounds: int) -> Figure:
    from core.host import Host

    misses: list[str] = []
    counter = 0
    with tempfile.TemporaryDirectory(prefix="bench-rot-") as tmp:
        cli_data, api_data = Path(tmp) / "cli", Path(tmp) / "api"
        host = await Host.open(api_data, restore=False)
        serve: _Serve | None = None
        try:
            ws = host.create_workspace("Bench")
            name = (await host.install_bundle(ws.id, DEMO_VAULT)).server_name
            await host.set_user_config(ws.id, name, {"api_token": "initial"})
            if not (await host.lifecycle.start_bundle(name, ws.id)).ok:
                raise RuntimeError("vault did not start (API side)")
            base = [*_cli_cmd()]
            opts = ["--data-dir", str(cli_data)]
            await _run([*base, "workspace", "create", "Bench", *opts])
            await _run([*base, "install", "Bench", str(DEMO_VAULT), *opts])
            await _run([*base, "config", "set", "Bench", name, "api_token=-", *opts], b"initial\n")
            serve = _Serve(cli_data)
            await serve.ready()
            await _run([*base, "start", "Bench", name, *opts])

            async def via_cli() -> dict[str, float]:
                nonlocal counter
                counter += 1
                value = f"cli-{counter}"
                cmd = [*base, "config", "set", "Bench", name, "api_token=-", "--json", *opts]
                t0 = now()
                out = await _run(cmd, f"{value}\n".encode())
                t1 = now()
                res = json.loads(out)
                seen = proc_environ(res["pid"]).get("VAULT_API_TOKEN") if res["pid"] else None
                if res["outcome"] != "respawned" or seen != value:
                    misses.append(
                        f"cli: {res['outcome']}, token {'ok' if seen == value else 'old'}"
                    )
                return {"t": t1 - t0}

            async def via_api() -> dict[str, float]:
                nonlocal counter
                counter += 1
                value = f"api-{counter}"
                t0 = now()
                res = await host.set_user_config(ws.id, name, {"api_token": value})
                t1 = now()
                inst = host.lifecycle.get_instance(name, ws.id)
                seen = proc_environ(inst.pid).get("VAULT_API_TOKEN") if inst and inst.pid else None
                if res.outcome != "respawned" or seen != value:
                    misses.append(f"api: {res.outcome}")
                return {"t": t1 - t0}

            samples = await interleave({"cli": via_cli, "api": via_api}, rounds, warmup=1)
        finally:
            if serve is not None:
                serve.stop()
            await host.shutdown()
    fig = Figure("cli-rotation", "rotation: CLI config set api_token=- vs Host.set_user_config")
    c, a = samples["cli"]["t"], samples["api"]["t"]
    fig.series("CLI config set … api_token=- → respawned", c)
    fig.series("Python API set_user_config → respawned", a)
    fig.pair("ratio CLI / API", c, a, goal=("<=", 1.2), diff_name="CLI overhead")
    fig.fact(
        "new token in /proc/<pid>/environ",
        "every sample" if not misses else f"{len(misses)} misses: {misses[0]}",
        met=not misses,
        goal="always",
    )
    return fig


async def run(quick: bool) -> list[Figure]:
    os.environ.setdefault("BUNDLE_CONSOLE_SECRETS", "file")
    return [
        await status_figure(5 if quick else 20),
        await rotation_figure(3 if quick else 10),
    ]
