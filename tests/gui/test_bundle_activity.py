"""The bundle table's live call activity: calls in the last minute, in flight, the last
failed call, pushed from the gateway's call events onto the one row they concern."""

from __future__ import annotations

import asyncio
import os
import signal
from typing import Any

from PySide6.QtCore import Qt

from gui.bundle_model import Column
from tests.gui.conftest import server_named, wait_badge, wait_until


async def test_calls_in_flight_per_minute_and_the_last_error_follow_the_gateway(
    launch: Any,
) -> None:
    async with launch() as console:
        window, host = console.window, console.host
        ws = window.current_ws_id
        clock = server_named(host, ws, "clock")
        notes = server_named(host, ws, "notes")
        await wait_badge(window, clock, "running")
        gateway = window.gateway
        assert gateway is not None

        def cell(server: str, column: Column, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
            return window.proxy_index(server, column).data(role)

        assert cell(clock, Column.CALLS) == "—" and not cell(clock, Column.CALL_ERROR)
        assert window.proxy.headerData(Column.CALLS, Qt.Orientation.Horizontal) == "Calls"

        touched: list[int] = []  # rows whose activity cells were repainted
        window.bundles.dataChanged.connect(
            lambda first, _last, *_: (
                touched.append(first.row()) if first.column() == Column.CALLS else None
            )
        )
        clock_row = window.bundles.row_for(ws, clock)

        # A call held in flight: the bundle is frozen (SIGSTOP) while it is asked.
        inst = host.lifecycle.get_instance(clock, ws)
        os.killpg(inst.pid, signal.SIGSTOP)
        try:
            held = asyncio.ensure_future(
                gateway.call_tool(ws, clock, "echo", {"text": "held"}, client_name="held-client")
            )
            await wait_until(
                lambda: cell(clock, Column.CALLS) == "0/min · 1 in flight", what="1 in flight"
            )
        finally:
            os.killpg(inst.pid, signal.SIGCONT)
        result = await held
        assert not result.is_error
        await wait_until(lambda: cell(clock, Column.CALLS) == "1/min", what="1/min")

        # A failing call: the error column names the tool and the outcome, never arguments.
        failed = await gateway.call_tool(ws, clock, "new_uuid", {"count": 0}, client_name="fuzzer")
        assert failed.is_error
        await wait_until(lambda: cell(clock, Column.CALLS) == "2/min", what="2/min")
        assert cell(clock, Column.CALL_ERROR) == "new_uuid: tool error"
        tip = cell(clock, Column.CALL_ERROR, Qt.ItemDataRole.ToolTipRole)
        assert "from fuzzer" in tip and "new_uuid — tool error" in tip
        assert "count" not in tip

        # Later good calls keep the failure visible, marked as old news.
        await asyncio.gather(
            *(gateway.call_tool(ws, clock, "echo", {"text": str(i)}) for i in range(3))
        )
        await wait_until(lambda: cell(clock, Column.CALLS) == "5/min", what="5/min")
        assert cell(clock, Column.CALL_ERROR) == "new_uuid: tool error (ok since)"
        assert "3 call(s) to this bundle succeeded since" in cell(
            clock, Column.CALL_ERROR, Qt.ItemDataRole.ToolTipRole
        )
        tip = cell(clock, Column.CALLS, Qt.ItemDataRole.ToolTipRole)
        assert "in the last minute: 5" in tip and "in flight now: 0" in tip

        # Only the called bundle's row was repainted; the others never were.
        assert touched and set(touched) == {clock_row}
        assert cell(notes, Column.CALLS) == "—"

        # The minute slides: calls older than a minute no longer count.
        stats = window.activity.stats((ws, clock))
        stats.recent = type(stats.recent)(t - 61 for t in stats.recent)
        window.activity.tick()
        assert cell(clock, Column.CALLS) == "—"
        assert cell(clock, Column.CALL_ERROR).startswith("new_uuid")  # the error stays
