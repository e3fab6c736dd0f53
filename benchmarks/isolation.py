"""Respawn with isolation on (bubblewrap) vs off vs the bare SDK, interleaved in one run.

Same server, same work per sample as benchmarks/respawn.py (stop the old
process, spawn, ``initialize`` + ``tools/list``). "on" uses the default policy
(core.sandbox.default_policy) on a scratch data dir; "on, network blocked"
adds the network namespace.

A second figure takes one bwrap spawn apart (``/bin/true`` run to exit, no
server): the namespaces, the policy's binds, the stdout/ready shim that
core.sandbox.spawn adds. Measured on this 2-core machine, medians:

- session 18 (load 3): respawn on / off 1.26x; the confined stop spent a
  median 10.2 ms in ``_reap_group`` (the poll slept 20 ms).
- session 19: a confined stop watches the sandbox's pid 1 (no process-table
  scan, which had found only that pid 1's zombie) and a respawn prepares the
  next sandbox while the old process stops: 0.99x quiet, 1.13-1.16x with
  both cores saturated (was 1.15x and 1.35x in the same
  conditions). Figures: the README's "What a bundle can and cannot touch".
- session 21: with ``--busy 2`` (loops in sessions of their own) 1.18-1.26x;
  the third figure (benchmarks.idle_spawn) shows why that figure moves.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

from benchmarks import idle_spawn
from benchmarks.harness import Figure, interleave
from benchmarks.support import (
    SdkSession,
    Server,
    SpecTable,
    base_env,
    make_lifecycle,
    now,
    tmp_log,
)
from core.models import LaunchSpec
from core.sandbox import availability, default_policy, spawn, wrap
from core.sandbox.bwrap import BASE_ARGS

WS = "ws_bench"
NAME = "srv"


class _Sandboxed(SpecTable):
    def __init__(self, tag: str, data: Path, network: str) -> None:
        super().__init__(tag)
        self.data, self.network = data, network

    def __call__(self, name: str, ws: str) -> LaunchSpec:
        spec = super().__call__(name, ws)
        own = self.data / "bundles" / "srv-1"
        policy = default_policy(self.data, own, network=self.network)  # type: ignore[arg-type]
        return dataclasses.replace(spec, sandbox=policy)


async def run(quick: bool) -> list[Figure]:
    if availability()[0] is None:
        fig = Figure("isolation", "respawn with isolation on vs off vs bare SDK")
        fig.fact("sandbox", f"unavailable: {availability()[1]}")
        return [fig]
    server, rounds = Server.fixture(), 6 if quick else 24
    tag = f"iso-{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory(prefix="bench-iso-") as tmp:
        data = Path(tmp) / "data"
        (data / "bundles" / "srv-1").mkdir(parents=True)
        tables = {
            "off": SpecTable(tag),
            "on": _Sandboxed(tag, data, "allowed"),
            "blocked": _Sandboxed(tag, data, "blocked"),
        }
        lcs = {}
        for key, table in tables.items():
            table.add(NAME, WS, server)
            lcs[key] = make_lifecycle(table, Path(tmp) / f"logs-{key}")
            lcs[key].register(NAME, WS)
            if not (await lcs[key].start_bundle(NAME, WS)).ok:
                raise RuntimeError(f"{key}: did not start")
        errlog = tmp_log(Path(tmp) / "sdk", "stderr.log")
        sdk = SdkSession(server, base_env(tag), errlog)
        await sdk.start()

        def respawner(key: str):
            async def go() -> dict[str, float]:
                t0 = now()
                res = await lcs[key].respawn_bundle(NAME, WS)
                if not res.ok:
                    raise RuntimeError(res.error)
                return {"total": now() - t0}

            return go

        async def baseline() -> dict[str, float]:
            t0 = now()
            await sdk.stop()
            await sdk.start()
            return {"total": now() - t0}

        try:
            s = await interleave(
                {
                    "on": respawner("on"),
                    "off": respawner("off"),
                    "blocked": respawner("blocked"),
                    "sdk": baseline,
                },
                rounds,
                2,
            )
        finally:
            await sdk.stop()
            for lc in lcs.values():
                await lc.shutdown()
            errlog.close()
    fig = Figure("isolation", f"respawn, {server.label} server: isolation on vs off vs bare SDK")
    fig.series("isolation on (bubblewrap)", s["on"]["total"])
    fig.series("isolation on, network blocked", s["blocked"]["total"])
    fig.series("isolation off", s["off"]["total"])
    fig.series("bare SDK stdio_client", s["sdk"]["total"])
    fig.pair("ratio on / off", s["on"]["total"], s["off"]["total"], goal=("<=", 1.10))
    fig.pair("ratio blocked / off", s["blocked"]["total"], s["off"]["total"], goal=("<=", 1.10))
    fig.pair("ratio on / SDK", s["on"]["total"], s["sdk"]["total"])
    parts = await _spawn_parts(6 if quick else 30)
    return [fig, parts, await idle_spawn.figure(6 if quick else 30)]


async def _spawn_parts(rounds: int) -> Figure:
    """Where a bwrap spawn's time goes: each variant runs ``/bin/true`` to its exit."""
    bwrap = availability()[0]
    assert bwrap is not None
    true = ["/bin/true"]
    with tempfile.TemporaryDirectory(prefix="bench-iso-parts-") as tmp:
        data = Path(tmp) / "data"
        own = data / "bundles" / "b-1"
        own.mkdir(parents=True)
        policy = default_policy(data, own)
        before = dataclasses.replace(policy, readonly=(*policy.readonly, sys.prefix))
        env = dict(os.environ)
        argv = {
            "exec /bin/true, no sandbox": true,
            "bwrap, user namespace only": [bwrap, "--unshare-user", "--dev-bind", "/", "/", *true],
            "+ pid, ipc ns, no userns, new /proc": [bwrap, *BASE_ARGS, *true],
            "+ default policy binds, before (venv bound too)": wrap(true, env, None, before)[0],
            "+ default policy binds, now": wrap(true, env, None, policy)[0],
        }

        def runner(args: list[str]):
            async def go() -> dict[str, float]:
                t0 = now()
                subprocess.run(args, check=True)  # noqa: ASYNC221 - the spawn is the measure
                return {"total": now() - t0}

            return go

        async def shimmed() -> dict[str, float]:
            t0 = now()
            spawned = spawn(true, env, None, policy)
            spawned.popen.communicate()
            if spawned.pid_one is not None:
                spawned.pid_one.close()
            return {"total": now() - t0}

        variants = {name: runner(a) for name, a in argv.items()}
        variants["+ stdout/ready shim (core.sandbox.spawn)"] = shimmed
        s = await interleave(variants, rounds, 2)
    fig = Figure("isolation", "one bwrap spawn taken apart (/bin/true to exit)")
    for name in variants:
        fig.series(name, s[name]["total"])
    base = s["exec /bin/true, no sandbox"]["total"]
    shim = s["+ stdout/ready shim (core.sandbox.spawn)"]["total"]
    fig.pair("ratio as spawned / exec", shim, base, diff_name="cost of a confined spawn over exec")
    return fig
