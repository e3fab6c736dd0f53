"""The engine on the real SDK-based demo bundles (slower: ~0.8 s of imports per start)."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

from core.states import BundleState
from tests.core.engine_support import SpecTable
from tests.procs import marked_processes, proc_env

BUNDLES = Path(__file__).resolve().parents[2] / "resources" / "bundles"
WS = "ws_sdk"


async def test_demo_vault_respawn_picks_up_the_new_token(lc, table: SpecTable):
    table.add(
        "vault",
        WS,
        script=BUNDLES / "demo-vault" / "server" / "main.py",
        env={"VAULT_API_TOKEN": "token-one"},
        secrets=("token-one",),
    )
    lc.register("vault", WS)
    assert (await lc.start_bundle("vault", WS)).ok
    inst = lc.get_instance("vault", WS)
    assert "token_fingerprint" in {t.name for t in inst.tools}

    async def fingerprint() -> str:
        result = await lc.call_tool("vault", WS, "token_fingerprint", {})
        payload = result.structured_content or json.loads(result.content[0].text)
        return payload["fingerprint"]

    assert await fingerprint() == hashlib.sha256(b"token-one").hexdigest()[:12]
    old_pid = inst.pid
    spec = table.specs[("vault", WS)]
    spec.env["VAULT_API_TOKEN"] = "token-two"
    spec.secrets = ("token-two",)
    t0 = time.perf_counter()
    result = await lc.respawn_bundle("vault", WS)
    print(f"demo-vault respawn: {(time.perf_counter() - t0) * 1000:.0f} ms")
    assert result.ok and inst.state is BundleState.RUNNING and inst.pid != old_pid
    assert proc_env(inst.pid)["VAULT_API_TOKEN"] == "token-two"
    assert await fingerprint() == hashlib.sha256(b"token-two").hexdigest()[:12]


async def test_demo_vault_without_token_is_dead_with_its_own_message(lc, table: SpecTable):
    table.add("vault", WS, script=BUNDLES / "demo-vault" / "server" / "main.py")
    lc.register("vault", WS)
    result = await lc.respawn_bundle("vault", WS)
    assert not result.ok and lc.get_instance("vault", WS).state is BundleState.DEAD
    assert "exited with code 2" in result.error and "VAULT_API_TOKEN is not set" in result.error
    assert marked_processes(table.tag) == {}


async def test_demo_clock_tools_and_stop(lc, table: SpecTable):
    table.add("clock", WS, script=BUNDLES / "demo-clock" / "server" / "main.py")
    lc.register("clock", WS)
    assert (await lc.start_bundle("clock", WS)).ok
    echoed = await lc.call_tool("clock", WS, "echo", {"text": "hi"})
    assert "hi" in echoed.content[0].text
    t0 = time.perf_counter()
    await lc.respawn_bundle("clock", WS)
    print(f"demo-clock respawn: {(time.perf_counter() - t0) * 1000:.0f} ms")
    proc = lc.get_instance("clock", WS)._proc
    assert proc is not None
    # A loaded machine can take longer than the 1 s grace to run the server's exit path;
    # a long grace leaves SIGTERM for a server that really ignores EOF.
    proc.stop_grace = 30.0
    await lc.stop_bundle("clock", WS)
    # The SDK server exits on stdin EOF, so stop never needs SIGTERM: it ends with 0,
    # not -SIGTERM / -SIGKILL (an outcome, not a timing, so load cannot fail it).
    assert proc.returncode == 0, proc.returncode
    assert marked_processes(table.tag) == {}
