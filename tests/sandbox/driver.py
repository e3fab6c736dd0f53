"""Run a console as an unprivileged user and report what its bundles could do.

Started as root by the tests: imports everything first (the interpreter may live
under /root), then drops to the test user for good, so the console and every
bundle are that user's processes with no capability left.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import sys
from pathlib import Path

import psutil

from core.host import Host
from core.process import SDK_MODULES
from tests.reliability.support import FAST

# Lazy imports of the console, done while the interpreter is still readable.
for _name in (*SDK_MODULES, "jsonschema", "pprint", "core.conformance.check"):
    __import__(_name)

SERVER = Path(__file__).with_name("mini_server.py")
PYTHON = "/usr/bin/python3"
SECRET = "alpha-secret-7f3e9c"


def write_bundle(path: Path, name: str) -> Path:
    path.mkdir(parents=True)
    shutil.copy(SERVER, path / "server.py")
    manifest = {
        "manifest_version": "0.3",
        "name": name,
        "version": "1.0.0",
        "description": "sandbox test bundle",
        "author": {"name": "tests"},
        "server": {
            "type": "python",
            "entry_point": "server.py",
            "mcp_config": {
                "command": PYTHON,
                "args": ["${__dirname}/server.py"],
                "env": {"SECRET": "${user_config.secret}"},
            },
        },
        "user_config": {
            "secret": {"type": "string", "title": "Secret", "sensitive": True, "required": False}
        },
    }
    (path / "manifest.json").write_text(json.dumps(manifest))
    return path


async def tool(host: Host, ws: str, server: str, name: str, **args: object) -> object:
    result = await host.lifecycle.call_tool(server, ws, name, args)
    return json.loads(result.content[0].text) if not result.is_error else result.content[0].text


async def add(host: Host, ws: str, work: Path, name: str) -> None:
    await host.install_bundle(ws, write_bundle(work / "src" / name, name), server_name=name)


async def hostile(host: Host, work: Path, args: dict) -> dict:
    a = host.create_workspace("Alpha").id
    b = host.create_workspace("Beta").id
    await add(host, a, work, "alpha")
    await add(host, b, work, "hostile")
    await host.set_user_config(a, "alpha", {"secret": SECRET})
    assert (await host.lifecycle.start_bundle("alpha", a)).ok
    service = host.data_dir / "service"
    service.mkdir(mode=0o700)
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(service / "gateway.sock"))
    listener.listen()
    settings = Path(os.environ["XDG_CONFIG_HOME"]) / "bundle-console" / "gui.ini"
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text("[window]\ngeometry=1\n")
    inst = host.lifecycle.get_instance("alpha", a)
    assert inst is not None and inst.pid is not None
    alpha_pid = next(
        c.pid
        for c in psutil.Process(inst.pid).children(recursive=True)
        if SECRET.encode() in open(f"/proc/{c.pid}/environ", "rb").read()
    )
    targets = {
        "credentials": str(host.data_dir / "workspaces" / a / "credentials" / "alpha.json"),
        "log": str(host.data_dir / "logs" / a / "alpha.log"),
        "run_dir": str(host.data_dir / "run"),
        "settings": str(settings),
        "pid": alpha_pid,
        "secret": SECRET,
        "bundle": str(host.bundle_path(a, "alpha")),
        "socket": str(service / "gateway.sock"),
    }
    out: dict = {}
    for isolated in (True, False):
        host.set_sandbox(b, "hostile", isolated=isolated)
        assert (await host.lifecycle.respawn_bundle("hostile", b)).ok
        out["isolated" if isolated else "unconfined"] = await tool(
            host, b, "hostile", "probe", **targets
        )
        out[f"summary_{isolated}"] = host.isolation(b, "hostile").summary()
        # after each probe, A still runs with its secret, its folder untouched
        out[f"alpha_env_{isolated}"] = await tool(host, a, "alpha", "env", key="SECRET")
        out[f"alpha_pid_{isolated}"] = psutil.pid_exists(alpha_pid)
        evil = Path(targets["bundle"]) / "evil.py"
        out[f"evil_{isolated}"] = evil.exists()
        evil.unlink(missing_ok=True)
    listener.close()
    return out


async def network(host: Host, work: Path, args: dict) -> dict:
    ws = host.create_workspace("Net").id
    out: dict = {}
    for name, net in (("blocked", "blocked"), ("allowed", "allowed")):
        await add(host, ws, work, name)
        host.set_sandbox(ws, name, network=net)
        assert (await host.lifecycle.start_bundle(name, ws)).ok
        out[name] = await tool(host, ws, name, "connect", port=args["port"])
        out[f"summary_{name}"] = host.isolation(ws, name).summary()
    return out


async def descendants(host: Host, work: Path, args: dict) -> dict:
    ws = host.create_workspace("Kids").id
    await add(host, ws, work, "parent")
    assert (await host.lifecycle.start_bundle("parent", ws)).ok
    spawned = await tool(
        host, ws, "parent", "helpers", count=args["count"], seconds=args["seconds"]
    )
    running = _sleepers(args["seconds"])
    await host.lifecycle.stop_bundle("parent", ws)
    return {"spawned": spawned, "running_before": running, "left_after": _sleepers(args["seconds"])}


async def fallback(host: Host, work: Path, args: dict) -> dict:
    """One bundle whose sandbox bwrap cannot build (its bind source is gone), one fine."""
    from core.lifecycle import BundleLifecycleManager
    from core.models import LaunchSpec
    from core.sandbox import default_policy

    data = work / "engine"
    (data / "bundles" / "fine").mkdir(parents=True)
    server = write_bundle(work / "src" / "fallback", "fallback") / "server.py"
    dirs = {"broken": data / "bundles" / "gone", "fine": data / "bundles" / "fine"}

    def spec(name: str, ws: str) -> LaunchSpec:
        env = {"PATH": os.environ["PATH"], "SECRET": f"{name}-value"}
        policy = default_policy(data, dirs[name])
        return LaunchSpec(PYTHON, (str(server),), env, cwd=str(work), sandbox=policy)

    lc = BundleLifecycleManager(spec, work / "engine-logs")
    out: dict = {}
    try:
        for name in dirs:
            lc.register(name, "ws")
            result = await lc.start_bundle(name, "ws")
            out[f"ok_{name}"] = result.ok
            inst = lc.get_instance(name, "ws")
            assert inst is not None and inst.isolation is not None
            out[f"summary_{name}"] = inst.isolation.summary()
            env = await lc.call_tool(name, "ws", "env", {"key": "SECRET"})
            out[f"env_{name}"] = json.loads(env.content[0].text)
            out[f"log_{name}"] = lc.log_path(name, "ws").read_text()
    finally:
        await lc.shutdown()
    return out


def _sleepers(seconds: str) -> int:
    found = 0
    for proc in psutil.process_iter(["cmdline", "status"]):
        if proc.info["cmdline"] == ["sleep", seconds] and proc.info["status"] != "zombie":
            found += 1
    return found


async def main() -> None:
    scenario, work, uid, raw = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    if os.getuid() == 0 and uid != 0:
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
    os.environ.update(HOME=str(work), XDG_CONFIG_HOME=str(work / "config"))
    os.environ.update(XDG_DATA_HOME=str(work / "share"))
    host = await Host.open(work / "data", **FAST)
    try:
        fn = {
            "hostile": hostile,
            "network": network,
            "descendants": descendants,
            "fallback": fallback,
        }[scenario]
        report = await fn(host, work, json.loads(raw))
    finally:
        await host.shutdown()
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
