"""A sandboxed bundle cannot reach the session bus, so not the keyring's items either.

The bundle is handed the bus address outright (DBUS_SESSION_BUS_ADDRESS passed
through, the worst case) and asks the Secret Service for this console's items
at start-up, writing what happened to stderr (its log). Unconfined, the same
bundle reaches them: that run shows the probe works.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import jeepney
import pytest

from core.host import Host
from core.sandbox import availability
from tests.core.data.hosting import opened
from tests.secret_service import SecretService, available

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "servers" / "fixture_server.py"
WS = "ws_team"

PROBE = """\
import os, runpy, sys
from jeepney import DBusAddress, new_method_call
from jeepney.io.blocking import open_dbus_connection

service = os.environ.get("PROBE_SERVICE", "")
try:
    conn = open_dbus_connection(bus=os.environ["DBUS_SESSION_BUS_ADDRESS"])
    secrets = DBusAddress("/org/freedesktop/secrets", bus_name="org.freedesktop.secrets",
                          interface="org.freedesktop.Secret.Service")
    reply = conn.send_and_get_reply(
        new_method_call(secrets, "SearchItems", "a{ss}", ({"service": service},)), timeout=5)
    unlocked, locked = reply.body
    print(f"BUS-PROBE reached: {len(unlocked) + len(locked)} item(s)", file=sys.stderr, flush=True)
except Exception as exc:
    print(f"BUS-PROBE refused: {type(exc).__name__}", file=sys.stderr, flush=True)
sys.argv = [sys.argv[0]]
runpy.run_path(os.path.join(os.path.dirname(__file__), "fixture_server.py"), run_name="__main__")
"""

pytestmark = [
    pytest.mark.skipif(available() is not None, reason=str(available())),
    pytest.mark.skipif(availability()[0] is None, reason=f"no sandbox here: {availability()[1]}"),
]


def probe_bundle(folder: Path) -> Path:
    (folder / "server").mkdir(parents=True)
    # Self-contained like any python bundle (core.runtimes.python_launch): it ships
    # the one package it imports, jeepney (pure Python), in server/lib.
    shutil.copytree(Path(jeepney.__file__).parent, folder / "server" / "lib" / "jeepney")
    (folder / "server" / "fixture_server.py").write_bytes(FIXTURE.read_bytes())
    (folder / "server" / "probe.py").write_text(PROBE)
    manifest = {
        "manifest_version": "0.3",
        "name": "bus-probe",
        "version": "1.0.0",
        "description": "Tries the session bus's Secret Service at start-up.",
        "author": {"name": "tests"},
        "server": {
            "type": "python",
            "entry_point": "server/probe.py",
            "mcp_config": {
                "command": "python",
                "args": ["${__dirname}/server/probe.py"],
                "env": {
                    "PROBE_SERVICE": "${user_config.service}",
                    "PYTHONPATH": "${__dirname}/server/lib",
                },
            },
        },
        "user_config": {
            "service": {"type": "string", "title": "Service", "required": True},
            "token": {"type": "string", "title": "Token", "sensitive": True, "required": True},
        },
    }
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


@pytest.fixture
async def host(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> AsyncIterator[tuple[Host, SecretService]]:
    ss = SecretService().start()
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", ss.address)
    monkeypatch.setenv("BUNDLE_CONSOLE_SECRETS", "keyring")
    try:
        async with opened(tmp_path / "data") as h:
            h.create_workspace("Team")
            await h.install_bundle(WS, probe_bundle(tmp_path / "src"), server_name="probe")
            h.set_env_passthrough(
                ["DBUS_SESSION_BUS_ADDRESS"]
            )  # the worst case: it knows the address
            service = json.loads((h.data_dir / "secrets.json").read_text())["service"]
            await h.set_user_config(WS, "probe", {"service": service, "token": "sandboxed-161"})
            assert ss.items(service)  # the item the bundle will look for exists
            yield h, ss
    finally:
        ss.stop()


async def probe_line(h: Host) -> str:
    assert (await h.lifecycle.start_bundle("probe", WS)).ok
    for _ in range(100):
        lines = [line for line in h.lifecycle.read_log("probe", WS) if "BUS-PROBE" in line]
        if lines:
            await h.lifecycle.stop_bundle("probe", WS)
            return lines[-1]
        await asyncio.sleep(0.05)
    raise AssertionError("the probe printed nothing")


async def test_a_sandboxed_bundle_cannot_reach_the_keyring(
    host: tuple[Host, SecretService],
) -> None:
    h, _ = host
    line = await probe_line(h)
    assert h.isolation(WS, "probe").isolated
    assert "BUS-PROBE refused" in line, line


async def test_unconfined_the_same_bundle_reaches_it(host: tuple[Host, SecretService]) -> None:
    h, _ = host
    h.set_sandbox(WS, "probe", isolated=False)
    line = await probe_line(h)
    assert "BUS-PROBE reached: 1 item(s)" in line, line
