"""The gateway in the window: a real SDK client through the Connect snippet, the Clients
and Calls view following it, and Try a tool going the gateway's way (recorded)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import sys
import threading
from pathlib import Path
from typing import Any

from core.clients import snippets
from core.gateway.naming import prefixed
from tests.gui.conftest import server_named, wait_badge, wait_until
from tests.gui.test_tool_runner import run, select_tool

ROOT = Path(__file__).resolve().parents[2]


class SdkClient(threading.Thread):
    """The official SDK stdio client, launched from a Connect snippet, on its own loop.

    It lists tools, calls ``tool`` once, then stays connected until :meth:`leave`.
    """

    def __init__(self, command: str, args: list[str], tool: str) -> None:
        super().__init__(daemon=True)
        self.command, self.args, self.tool = command, args, tool
        self.tools: list[str] = []
        self.result: Any = None
        self.error: BaseException | None = None
        self.called = threading.Event()
        self._leave = threading.Event()

    def run(self) -> None:
        try:
            asyncio.run(self._session())
        except BaseException as exc:
            self.error = exc
            self.called.set()

    async def _session(self) -> None:
        from mcp.client.session import ClientSession
        from mcp.client.stdio import StdioServerParameters, stdio_client
        from mcp_types import Implementation

        params = StdioServerParameters(command=self.command, args=self.args, cwd=str(ROOT))
        async with stdio_client(params) as (read, write):
            info = Implementation(name="gui-test-client", version="9.1")
            async with ClientSession(read, write, client_info=info) as session:
                await session.initialize()
                self.tools = [t.name for t in (await session.list_tools()).tools]
                self.result = await session.call_tool(self.tool, {})
                self.called.set()
                while not self._leave.is_set():
                    await asyncio.sleep(0.05)

    def leave(self) -> None:
        self._leave.set()


async def test_a_client_from_the_snippet_shows_in_clients_and_calls(launch: Any) -> None:
    async with launch() as console:
        window, host = console.window, console.host
        ws = window.current_ws_id
        clock = server_named(host, ws, "clock")
        await wait_badge(window, clock, "running")
        assert window.gateway is not None

        # The generic snippet, exactly as the dialog shows it, is what the client runs.
        dialog = window.open_connect(ws)
        text = dialog.client_tabs["generic"].text.toPlainText()
        dialog.close()
        entry = json.loads(text)
        assert entry == json.loads(snippets("Demo", host.data_dir)["generic"].text)
        args = entry["args"]
        if Path(entry["command"]).name != "bundle-console":  # no script installed: same module
            args = args[args.index("connect") :]
        command = entry["command"]
        if Path(command).name == "bundle-console" and not Path(command).exists():
            command, args = sys.executable, ["-m", "core.cli", *args]

        activity = window.open_activity()
        # Only core's push may update the table here, not the 5 s "connected since" clock.
        activity._clock.stop()
        activity._clock.setInterval(24 * 3600 * 1000)

        def shown_rows() -> list[list[str]]:
            table = activity.clients
            if not table.isVisibleTo(activity):
                return []
            return [
                [table.item(r, c).text() for c in range(table.columnCount())]
                for r in range(table.rowCount())
            ]

        client = SdkClient(command, args, prefixed(clock, "current_time"))
        client.start()
        try:
            await wait_until(client.called.is_set, 60, "the client's call")
            assert client.error is None, client.error
            assert prefixed(clock, "current_time") in client.tools
            assert not client.result.is_error
            # The call is answered after its record: the pushed table already shows it.
            (row,) = [r for r in shown_rows() if r[0] == "gui-test-client 9.1"]
            assert row[1] == "Demo" and row[3] == "1" and row[4] == "0" and row[5] == "0"
            await wait_until(
                lambda: any(
                    (r["client"], r["bundle"], r["tool"])
                    == ("gui-test-client", clock, "current_time")
                    for r in activity.calls.model.records
                ),
                what="the call in the Calls view",
            )
        finally:
            client.leave()
            await asyncio.to_thread(client.join, 30)
        await wait_until(lambda: shown_rows() == [], what="the client to leave the table")


async def test_try_a_tool_goes_through_the_gateway_and_is_recorded(launch: Any) -> None:
    async with launch() as console:
        window, host = console.window, console.host
        ws = window.current_ws_id
        vault = server_named(host, ws, "vault")
        await host.set_user_config(ws, vault, {"api_token": "through-the-gateway"})
        await host.lifecycle.start_bundle(vault, ws)
        await wait_badge(window, vault, "running")
        await wait_until(lambda: window.detail.tools.tool_names(), what="tools")
        tools = select_tool(window, vault, "token_fingerprint")
        tools.try_button.click()
        runner = window.detail.tool_runner

        # A rotation started just before Run: the call waits for (or drains into) a
        # process and never fails; a second run sees the new token.
        rotation = asyncio.ensure_future(
            host.set_user_config(ws, vault, {"api_token": "rotated-while-trying"})
        )
        await run(runner)
        assert runner.last_error is False, [p.text for p in runner.last_parts]
        assert (await rotation).outcome == "respawned"
        await run(runner)
        shown = "\n".join(p.text for p in runner.last_parts)
        assert hashlib.sha256(b"rotated-while-trying").hexdigest()[:12] in shown
        runner.close()

        records = [
            r for r in window.gateway.history() if r["client"] == "Bundle Console (Try a tool)"
        ]
        assert [r["tool"] for r in records] == ["token_fingerprint"] * 2
        assert {r["outcome"] for r in records} == {"ok"} and records[0]["bundle"] == vault
        assert "rotated-while-trying" not in json.dumps(records)
