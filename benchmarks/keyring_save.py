"""Figure: save-to-running with the keyring store against the 0600 file, same run.

Two consoles on two temp data dirs, the same demo-vault bundle running in each:
one keeps its sensitive value in a real Secret Service (a private dbus-daemon +
gnome-keyring, as in tests/core/test_keyring.py), the other in the 0600 file.
Each sample is ``await host.set_user_config(ws, name, {"api_token": new})`` until
it returns running; rounds alternate the two. The write phase (to ``stopping``)
is where the keyring's cost shows: one D-Bus round trip set per item, on the
keyring thread. The new value is checked in ``/proc/<pid>/environ`` (untimed).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from benchmarks.harness import Figure, interleave
from benchmarks.support import ROOT, Stamps, now, proc_environ
from core.states import BundleState

DEMO_VAULT = ROOT / "resources" / "bundles" / "demo-vault"


async def run(quick: bool) -> list[Figure]:
    from core.host import Host
    from core.secrets import SECRETS_ENV
    from tests.secret_service import SecretService, available

    problem = available()
    if problem is not None:
        fig = Figure("keyring-save", "save-to-running: keyring vs file store")
        fig.fact("skipped", problem, met=None)
        return [fig]
    service = SecretService().start()
    saved_env = {k: os.environ.get(k) for k in ("DBUS_SESSION_BUS_ADDRESS", SECRETS_ENV)}
    os.environ["DBUS_SESSION_BUS_ADDRESS"] = service.address
    os.environ.pop(SECRETS_ENV, None)
    misses: list[str] = []
    try:
        with tempfile.TemporaryDirectory(prefix="bench-kr-") as tmp:
            hosts = {
                store: await Host.open(Path(tmp) / store, restore=False, secrets=store)
                for store in ("keyring", "file")
            }
            try:
                measures = {}
                for store, host in hosts.items():
                    if host.secrets_status().store != store:
                        raise RuntimeError(f"{store} store not in use: {host.secrets_status()}")
                    ws = host.create_workspace("Bench")
                    name = (await host.install_bundle(ws.id, DEMO_VAULT)).server_name
                    await host.set_user_config(ws.id, name, {"api_token": "initial"})
                    if not (await host.lifecycle.start_bundle(name, ws.id)).ok:
                        raise RuntimeError(f"demo-vault did not start ({store})")
                    measures[store] = _measure(host, ws.id, name, store, misses)
                samples = await interleave(measures, 3 if quick else 12, warmup=2)
            finally:
                for host in hosts.values():
                    await host.shutdown()
    finally:
        service.stop()
        for k, v in saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    k, f = samples["keyring"], samples["file"]
    fig = Figure("keyring-save", "save-to-running: set_user_config → running, keyring vs file")
    fig.series("keyring store: set_user_config → running", k["total"])
    fig.series("file store: set_user_config → running", f["total"])
    fig.pair(
        "ratio keyring / file", k["total"], f["total"], goal=("<=", 1.10), diff_name="overhead"
    )
    fig.series("  keyring: validate + item + file write (→ stopping)", k["write"])
    fig.series("  file: validate + file write (→ stopping)", f["write"])
    fig.fact(
        "new value in /proc/<pid>/environ",
        "every sample" if not misses else f"{len(misses)} misses: {misses[0]}",
        met=not misses,
        goal="always",
    )
    return [fig]


def _measure(host, ws_id: str, name: str, store: str, misses: list[str]):  # type: ignore[no-untyped-def]
    lc = host.lifecycle
    stamps = Stamps(lc)
    count = 0

    async def sample() -> dict[str, float]:
        nonlocal count
        count += 1
        value = f"{store}-{count}"
        stamps.clear()
        t0 = now()
        res = await host.set_user_config(ws_id, name, {"api_token": value})
        t1 = now()
        inst = lc.get_instance(name, ws_id)
        if res.outcome != "respawned" or inst is None or inst.pid is None:
            raise RuntimeError(f"save did not respawn: {res}")
        if proc_environ(inst.pid).get("VAULT_API_TOKEN") != value:
            misses.append(f"{store} expected {value!r}")
        stopping = stamps.get(name, ws_id, BundleState.STOPPING)
        return {"total": t1 - t0, "write": stopping - t0}

    return sample
