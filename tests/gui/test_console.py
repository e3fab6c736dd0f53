"""End to end through the window: real Host, real demo bundle processes, real qasync loop."""

from __future__ import annotations

import os
import signal
from typing import Any

from PySide6.QtCore import Qt

from core.redact import MASK
from gui.bundle_model import Column
from gui.workspace_list import SUMMARY_ROLE
from tests.gui.conftest import (
    Recorder,
    badge_kind,
    bundle_pids,
    server_named,
    wait_badge,
    wait_until,
)


async def test_first_launch_seeds_the_demo_and_shows_needs_setup(launch: Any) -> None:
    async with launch() as console:
        window, host = console.window, console.host
        assert any("First launch" in m for m in window.seen_status), window.seen_status
        (demo,) = host.workspaces()
        assert demo.name == "Demo" and window.current_ws_id == demo.id
        assert window.workspaces.rowCount() == 1
        assert window.proxy.rowCount() == len(demo.bundles) == 3
        vault = server_named(host, demo.id, "vault")
        assert badge_kind(window, vault) == "setup"
        error_cell = window.proxy_index(vault, Column.ERROR).data()
        assert "API token" in error_cell
        for name in (server_named(host, demo.id, "clock"), server_named(host, demo.id, "notes")):
            await wait_badge(window, name, "running")
        summary = window.workspaces.index(0).data(SUMMARY_ROLE)
        assert summary == "2 running · 1 needs setup"
        window.select_bundle(vault)
        actions = window.bundle_actions
        assert actions.configure.isEnabled() and not actions.start.isEnabled()


async def test_restart_shows_starting_then_running_with_a_new_pid(launch: Any) -> None:
    async with launch() as console:
        window, host = console.window, console.host
        ws = window.current_ws_id
        clock = server_named(host, ws, "clock")
        await wait_badge(window, clock, "running")
        window.select_bundle(clock)
        inst = host.lifecycle.get_instance(clock, ws)
        old_pid = inst.pid
        seen = Recorder(window.bundles, ws, clock)
        assert window.bundle_actions.restart.isEnabled()
        window.bundle_actions.restart.trigger()
        await wait_until(
            lambda: seen.saw_in_order("stopping", "starting", "running"), what=f"{seen.kinds}"
        )
        assert inst.pid not in (None, old_pid)
        assert inst.restarts == 1
        assert window.proxy_index(clock, Column.RESTARTS).data() == 1
        # The status line follows respawn_bundle's result, which returns just after
        # the "running" event the badge shows.
        await wait_until(
            lambda: "restarted" in window.statusBar().currentMessage(),
            what=window.statusBar().currentMessage(),
        )
        # The Events tab recorded the transitions, newest first.
        rows = window.detail.events.rows()
        assert rows[0] == "starting → running"


async def test_stop_then_start(launch: Any) -> None:
    async with launch() as console:
        window, host = console.window, console.host
        ws = window.current_ws_id
        notes = server_named(host, ws, "notes")
        await wait_badge(window, notes, "running")
        window.select_bundle(notes)
        pid = host.lifecycle.get_instance(notes, ws).pid
        window.bundle_actions.stop.trigger()
        await wait_badge(window, notes, "stopped")
        assert pid not in bundle_pids(host.data_dir)
        assert (
            window.bundle_actions.start.isEnabled() and not window.bundle_actions.stop.isEnabled()
        )
        assert window.proxy_index(notes, Column.UPTIME).data() == "—"
        window.bundle_actions.start.trigger()
        await wait_badge(window, notes, "running")
        assert host.lifecycle.get_instance(notes, ws).pid in bundle_pids(host.data_dir)


async def test_killed_from_outside_shows_crashed_then_running(launch: Any) -> None:
    async with launch() as console:
        window, host = console.window, console.host
        ws = window.current_ws_id
        clock = server_named(host, ws, "clock")
        await wait_badge(window, clock, "running")
        inst = host.lifecycle.get_instance(clock, ws)
        old_pid = inst.pid
        seen = Recorder(window.bundles, ws, clock)
        os.kill(old_pid, signal.SIGKILL)
        await wait_badge(window, clock, "crashed")
        status = window.proxy_index(clock, Column.STATUS).data()
        assert status.startswith("Crashed · restart in")
        error = window.proxy_index(clock, Column.ERROR).data()
        assert "was killed by SIGKILL" in error and "code -9" not in error, error
        await wait_badge(window, clock, "running")
        assert seen.saw_in_order("crashed", "starting", "running")
        assert inst.pid != old_pid and inst.restarts == 1
        assert (inst.crash_restarts, inst.respawns) == (1, 0)
        window.select_bundle(clock)
        window.bundle_actions.restart.trigger()
        await wait_until(lambda: inst.respawns == 1, what="the respawn to be counted")
        await wait_badge(window, clock, "running")
        tip = window.proxy_index(clock, Column.RESTARTS).data(Qt.ItemDataRole.ToolTipRole)
        assert "Crash restarts: 1" in tip and "Respawns: 1" in tip, tip
        assert window.proxy_index(clock, Column.RESTARTS).data() == 2
        assert "running" in window.workspaces.index(0).data(SUMMARY_ROLE)


async def test_logs_tab_tails_the_redacted_log(launch: Any) -> None:
    async with launch() as console:
        window, host = console.window, console.host
        ws = window.current_ws_id
        clock = server_named(host, ws, "clock")
        await wait_badge(window, clock, "running")
        window.select_bundle(clock)
        window.detail.tabs.setCurrentWidget(window.detail.logs)
        logs = window.detail.logs
        await wait_until(
            lambda: "started pid" in logs.plain_text(), what="the spawn line in the log"
        )
        before = logs.plain_text().count("started pid")
        window.bundle_actions.restart.trigger()  # a new spawn appends new lines: the view follows
        await wait_until(
            lambda: logs.plain_text().count("started pid") > before, what="new log lines"
        )
        spawns = logs.plain_text().count("started pid")
        assert spawns >= 2
        logs.search.setText("started pid")
        assert logs.matches.text() == f"{spawns} matches"  # every spawn line, no fewer
        window.detail.tabs.setCurrentWidget(window.detail.tools)
        assert "current_time" in window.detail.tools.tool_names()

        # A value in the log file itself (written before it was known as a secret,
        # or by another bundle) is masked again on its way to the view.
        vault = server_named(host, ws, "vault")
        token = "tail-view-token-5150"
        await host.set_user_config(ws, vault, {"api_token": token})
        log_file = host.lifecycle.log_path(vault, ws)
        log_file.parent.mkdir(parents=True, exist_ok=True)
        with log_file.open("a", encoding="utf-8") as fh:
            fh.write(f"debug: api token is {token}\n")
        window.select_bundle(vault)
        window.detail.tabs.setCurrentWidget(window.detail.logs)
        await wait_until(lambda: "debug: api token is" in logs.plain_text(), what="the vault log")
        assert f"debug: api token is {MASK}" in logs.plain_text()
        assert token not in logs.plain_text()


async def test_workspaces_create_rename_delete(launch: Any) -> None:
    async with launch() as console:
        window, host = console.window, console.host
        demo_id = window.current_ws_id
        window.create_workspace("Staging")
        staging = next(ws for ws in host.workspaces() if ws.name == "Staging")
        assert window.current_ws_id == staging.id and window.proxy.rowCount() == 0
        assert window.empty_label.isVisible()
        window.rename_workspace(staging.id, "Production")
        assert window.workspaces.name_of(staging.id) == "Production"
        assert window.ws_title.text() == "Production"
        await window.delete_workspace(staging.id)
        assert staging.id not in [ws.id for ws in host.workspaces()]
        assert window.workspaces.rowCount() == 1
        await wait_until(lambda: window.current_ws_id == demo_id, what="selection back on Demo")


async def test_uninstall_and_install_again(launch: Any) -> None:
    async with launch() as console:
        window, host = console.window, console.host
        ws = window.current_ws_id
        notes = server_named(host, ws, "notes")
        await wait_badge(window, notes, "running")
        pid = host.lifecycle.get_instance(notes, ws).pid
        await window.uninstall(ws, notes)
        assert window.proxy_index(notes).isValid() is False
        assert pid not in bundle_pids(host.data_dir)
        from core.demo import demo_bundles_root

        await window.install(ws, str(demo_bundles_root() / "demo-notes" / "manifest.json"))
        await wait_until(lambda: window.proxy_index(notes).isValid(), what="the row to come back")
        assert badge_kind(window, notes) == "stopped"
        assert "Installed" in window.statusBar().currentMessage()


async def test_quit_while_a_restart_is_in_flight_leaves_nothing(launch: Any) -> None:
    async with launch() as console:
        window, host = console.window, console.host
        ws = window.current_ws_id
        clock = server_named(host, ws, "clock")
        await wait_badge(window, clock, "running")
        window.select_bundle(clock)
        quit_requests: list[bool] = []
        window.quitRequested.connect(lambda: quit_requests.append(True))
        window.bundle_actions.restart.trigger()
        await wait_badge(window, clock, "starting")
        window.quit_action.trigger()  # Ctrl+Q / File → Quit
        assert quit_requests == [True]
        assert window.loading_label.text() == "Stopping bundles…"
        # Leaving the block runs Console.shutdown() and asserts no process is left.
