"""Figure 2: save-to-running latency through ``Host.set_user_config``.

Console sample, with the bundle running: ``await host.set_user_config(ws,
name, {key: new})`` — validation, the credentials file's read-modify-write
(atomic: fsync + rename + dir fsync, off the loop), then ``respawn_bundle``:
old process stopped, the launch spec resolved from manifest + credentials, a
new process spawned and ``initialize`` + ``tools/list`` done. The clock stops
when the call returns (``running``); then the new value is checked in
``/proc/<pid>/environ`` (untimed; a miss is reported).

Baseline sample: the SDK respawn of figure 1 with the new value in the env
(``stdio_client`` exit, then enter + ``initialize`` + ``list_tools``). It
writes nothing to disk; the console's write phase is reported separately.

Servers: a temp MCPB folder running the fixture server with
``user_config.token`` → ``BENCH_TOKEN``, and the SDK-based demo-vault bundle
(``api_token`` → ``VAULT_API_TOKEN``).
"""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path

from benchmarks.harness import Figure, interleave
from benchmarks.support import (
    ROOT,
    SdkSession,
    Server,
    Stamps,
    base_env,
    now,
    proc_environ,
    tmp_log,
    write_fixture_bundle,
)
from core.states import BundleState

S = BundleState
DEMO_VAULT = ROOT / "resources" / "bundles" / "demo-vault"


async def measure(
    label: str, folder: Path, field: str, env_key: str, server: Server, rounds: int
) -> Figure:
    from core.host import Host

    tag = f"save-{uuid.uuid4().hex[:8]}"
    misses: list[str] = []
    counter = 0
    with tempfile.TemporaryDirectory(prefix="bench-save-") as tmp:
        host = await Host.open(Path(tmp) / "data", restore=False)
        errlog = tmp_log(Path(tmp) / "sdk", "stderr.log")
        env = base_env(tag)
        sdk = SdkSession(server, env, errlog)
        try:
            ws = host.create_workspace("Bench")
            name = (await host.install_bundle(ws.id, folder)).server_name
            lc = host.lifecycle
            stamps = Stamps(lc)
            await host.set_user_config(ws.id, name, {field: "initial"})
            if not (await lc.start_bundle(name, ws.id)).ok:
                raise RuntimeError(f"{label} did not start")
            env[env_key] = "initial"
            await sdk.start()

            async def console() -> dict[str, float]:
                nonlocal counter
                counter += 1
                value = f"console-{counter}"
                stamps.clear()
                t0 = now()
                res = await host.set_user_config(ws.id, name, {field: value})
                t1 = now()
                inst = lc.get_instance(name, ws.id)
                if res.outcome != "respawned" or inst is None or inst.pid is None:
                    raise RuntimeError(f"save did not respawn: {res}")
                seen = proc_environ(inst.pid).get(env_key)
                if seen != value:
                    misses.append(f"console expected {value!r}, saw {seen!r}")
                stopping = stamps.get(name, ws.id, S.STOPPING)
                return {"total": t1 - t0, "write": stopping - t0, "respawn": t1 - stopping}

            async def baseline() -> dict[str, float]:
                nonlocal counter
                counter += 1
                value = f"sdk-{counter}"
                t0 = now()
                await sdk.stop()
                env[env_key] = value
                await sdk.start()
                t1 = now()
                seen = proc_environ(sdk.pid).get(env_key) if sdk.pid else None
                if seen != value:
                    misses.append(f"sdk expected {value!r}, saw {seen!r}")
                return {"total": t1 - t0}

            samples = await interleave({"console": console, "sdk": baseline}, rounds, warmup=2)
        finally:
            await sdk.stop()
            await host.shutdown()
            errlog.close()
    c, b = samples["console"], samples["sdk"]
    fig = Figure(f"save-{label}", f"save-to-running: set_user_config → running ({label})")
    fig.series("console set_user_config → running, new env", c["total"])
    fig.series("SDK stop + spawn/initialize/list_tools, new env", b["total"])
    fig.pair("ratio console / SDK", c["total"], b["total"], goal=("<=", 1.10), diff_name="overhead")
    fig.series("  console: validate + credential write (→ stopping)", c["write"])
    fig.series("  console: respawn (stopping → running)", c["respawn"])
    fig.pair("  respawn-only ratio console / SDK", c["respawn"], b["total"])
    fig.fact(
        "new value in /proc/<pid>/environ",
        "every sample" if not misses else f"{len(misses)} misses: {misses[0]}",
        met=not misses,
        goal="always",
    )
    return fig


async def run(quick: bool) -> list[Figure]:
    with tempfile.TemporaryDirectory(prefix="bench-save-src-") as src:
        fixture_bundle = write_fixture_bundle(Path(src) / "bench-fixture")
        return [
            await measure(
                "fixture",
                fixture_bundle,
                "token",
                "BENCH_TOKEN",
                Server("fixture", *_python(fixture_bundle / "server" / "fixture_server.py")),
                6 if quick else 30,
            ),
            await measure(
                "demo-vault",
                DEMO_VAULT,
                "api_token",
                "VAULT_API_TOKEN",
                Server("demo-vault", *_python(DEMO_VAULT / "server" / "main.py")),
                3 if quick else 12,
            ),
        ]


def _python(script: Path) -> tuple[str, tuple[str, ...]]:
    import sys

    return sys.executable, (str(script),)
