"""A real console for gateway tests: a Host holding the data dir, with the gateway.

``python -m tests.gateway.console DATA_DIR [BUNDLE_DIR...]`` seeds the Demo
workspace, installs the extra bundles, gives Demo Vault a token, starts what
should run, listens on the control socket (so the CLI reaches it) and the gateway, prints
``ready``, then obeys JSON lines on stdin (rotate, start, stop, workspace,
gateway_down/up: the gateway goes away and a new one listens, as in a
takeover) and answers each with one JSON line; EOF shuts it down.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from core.gateway.server import start_gateway
from core.host import Host
from core.service.server import ControlServer


async def main(data_dir: Path, extra: list[str]) -> None:
    host = await Host.open(data_dir, restore=False, drain_grace=10.0)
    try:
        ws = await host.seed_demo()
        if ws is not None:
            for folder in extra:
                await host.install_bundle(ws.id, folder)
            await host.set_user_config(ws.id, "demo-vault", {"api_token": "token-0"})
            for bundle in host.workspace(ws.id).bundles:
                await host.lifecycle.start_bundle(bundle.server_name, ws.id)
        else:
            await host.restore()
        # The control socket too (with the gateway beside it), so the CLI reaches us.
        control = await ControlServer.start(host, "serve")
        assert control.gateway is not None, "the gateway did not start (see stderr)"
        control.gateway.call_timeout = 60.0
        print("ready", flush=True)
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        while line := await reader.readline():
            cmd = json.loads(line)
            if cmd["op"] == "gateway_down":  # what a relay sees when its console goes
                await control.gateway.close()
                answer: dict = {"ok": True}
            elif cmd["op"] == "gateway_up":  # ... and when the next one listens
                control.gateway = await start_gateway(host, call_timeout=60.0)
                answer = {"ok": True}
            else:
                answer = await obey(host, cmd)
            print(json.dumps(answer), flush=True)
        await control.close()
    finally:
        await host.shutdown()


async def obey(host: Host, cmd: dict) -> dict:
    ws_id = cmd.get("ws") or "ws_demo"
    op = cmd["op"]
    lc = host.lifecycle
    if op == "rotate":
        result = await host.set_user_config(ws_id, cmd["server"], cmd["values"])
        return {"outcome": result.outcome}
    if op in ("start", "stop", "restart"):
        fn = {"start": lc.start_bundle, "stop": lc.stop_bundle, "restart": lc.respawn_bundle}[op]
        result = await fn(cmd["server"], ws_id)
        return {"outcome": result.outcome, "error": result.error}
    if op == "workspace":
        ws = host.create_workspace(cmd["name"])
        for folder in cmd.get("install", []):
            await host.install_bundle(ws.id, folder)
            name = host.workspace(ws.id).bundles[-1].server_name
            await lc.start_bundle(name, ws.id)
        return {"id": ws.id}
    if op == "workspace_install":
        await host.install_bundle(ws_id, cmd["path"])
        name = host.workspace(ws_id).bundles[-1].server_name
        result = await lc.start_bundle(name, ws_id)
        return {"outcome": result.outcome}
    if op == "pid":
        inst = lc.get_instance(cmd["server"], ws_id)
        return {"pid": inst.pid if inst else None, "state": str(inst.state) if inst else None}
    if op == "protect":
        inst = lc.get_instance(cmd["server"], ws_id)
        assert inst is not None
        inst.protected = True
        return {"ok": True}
    return {"error": f"unknown op {op}"}


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), sys.argv[2:]))
