"""``python -m gui.screenshots``: render the console offscreen into docs/screenshots/.

Uses a throwaway data dir seeded with the demo workspace, starts the real demo
bundles, configures Demo Vault through the Configure dialog (as a user would),
and grabs the main window and the dialog with ``QWidget.grab()``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

OUT_DIR = Path(__file__).resolve().parent.parent / "docs" / "screenshots"


async def wait_for(predicate: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not reached while preparing screenshots")
        await asyncio.sleep(0.05)


async def settle(seconds: float = 0.3) -> None:
    """Let timers (uptime, spinners, log polling) and layouts catch up."""
    await asyncio.sleep(seconds)


async def render(out_dir: Path, data_dir: Path) -> list[Path]:
    from PySide6.QtWidgets import QApplication

    from gui.main_window import MainWindow
    from gui.settings import GuiSettings
    from gui.startup import open_host, restore_bundles, seed_if_empty

    window = MainWindow(GuiSettings(data_dir.parent / "gui.ini"))
    window.resize(1280, 800)
    window.show()
    host = await open_host(data_dir)
    written: list[Path] = []
    gateway = None
    try:
        demo = await seed_if_empty(host)
        assert demo is not None
        staging = host.create_workspace("Staging")
        for folder in ("demo-clock", "demo-vault"):
            await host.install_bundle(staging.id, Path(host_bundles_root(), folder))
        staging = host.workspace(staging.id)
        # A protected copy shows the lock mark (restart and uninstall refused).
        await host.install_bundle(
            demo.id, Path(host_bundles_root(), "demo-clock"), "ops-clock", protected=True
        )
        window.attach(host)
        # The gateway, as the app starts it beside the control socket: Try a tool goes
        # through it and the Clients and Calls window shows what it records.
        from core.gateway.server import start_gateway

        gateway = await start_gateway(host)
        window.set_gateway(gateway)
        window.refresh_workspaces()
        window.select_workspace(demo.id)
        await restore_bundles(host, demo=True)
        lc = host.lifecycle
        vault = next(b.server_name for b in demo.bundles if "vault" in b.server_name)
        clock = next(b.server_name for b in demo.bundles if "clock" in b.server_name)
        await wait_for(
            lambda: all(str(i.state) == "running" for i in lc.instances() if not i.needs_setup)
        )

        # The demo as first launched: running bundles, the vault waiting for its token,
        # and an AI client's calls in the Calls / Last call error columns.
        for args in ({"text": "hi"}, {"text": "there"}, {"text": "again"}):
            await gateway.call_tool(demo.id, clock, "echo", args, client_name="Claude Desktop")
        await gateway.call_tool(demo.id, clock, "new_uuid", {"count": 0}, client_name="Cursor")
        window.select_bundle(clock)
        window.detail.tabs.setCurrentWidget(window.detail.tools)
        await settle(2.2)
        written.append(grab(window, out_dir / "main-window.png"))

        # Configure Demo Vault the way an administrator would.
        window.select_bundle(vault)
        window.open_configure()
        dialog = window.configure_dialog
        assert dialog is not None
        dialog.editors["api_token"].edit.setText("demo-token-1234")
        dialog.editors["max_items"].set_number(200)
        await settle()
        written.append(grab(dialog, out_dir / "configure-dialog.png"))
        dialog.save()
        await wait_for(lambda: dialog.last_result is not None and not dialog.saving)
        await settle(0.4)
        written.append(grab(dialog, out_dir / "configure-saved.png"))
        # Save & Test with nothing left to save: the check alone (a fresh tools/list).
        dialog.save_test.run()
        await wait_for(lambda: dialog.save_test.tests_done > 0)
        dialog.resize(dialog.width(), dialog.sizeHint().height())
        await settle(0.3)
        written.append(grab(dialog, out_dir / "configure-save-test.png"))
        dialog.close()

        # Inline validation: a folder that does not exist blocks Save.
        window.select_bundle(next(b.server_name for b in demo.bundles if "notes" in b.server_name))
        window.open_configure()
        notes_dialog = window.configure_dialog
        assert notes_dialog is not None
        notes_dialog.editors["notes_dir"].edit.setText("/srv/notes/does-not-exist")
        await settle()
        written.append(grab(notes_dialog, out_dir / "configure-invalid.png"))
        notes_dialog.close()

        # Try a tool: the notes search form (enum, list, bounded integer, object), then a run.
        notes = next(b.server_name for b in demo.bundles if "notes" in b.server_name)
        await lc.call_tool(
            notes,
            demo.id,
            "write_note",
            {"name": "runbook", "text": "alpha: rotate the vault token", "overwrite": True},
        )
        window.select_bundle(notes)
        window.detail.tabs.setCurrentWidget(window.detail.tools)
        await wait_for(lambda: "find_notes" in window.detail.tools.tool_names())
        runner = window.detail.try_tool("find_notes")
        editors = runner.form.editors
        editors["words"].edit.setPlainText("alpha\nvault")
        editors["match"].combo.setCurrentText("all")
        editors["limit"].edit.setText("10")
        editors["where"].edit.setPlainText('{"suffix": ".md"}')
        runner.run()
        await wait_for(lambda: runner.calls_done > 0)
        await settle(0.4)
        written.append(grab(runner, out_dir / "tool-runner.png"))
        runner.close()

        # Connect a client: the Claude Desktop snippet for the Demo workspace.
        from gui.connect_dialog import ConnectDialog

        connect = ConnectDialog(demo.name, host.data_dir, parent=window)
        connect.show()
        await settle(0.3)
        written.append(grab(connect, out_dir / "connect-dialog.png"))
        connect.close()

        # Clients and Calls: the calls recorded so far (the tool runner's included).
        for text in ("alpha", "vault", "zzz"):
            await gateway.call_tool(
                demo.id, notes, "search_notes", {"query": text}, client_name="Bundle Console"
            )
        activity = window.open_activity()
        await settle(0.3)
        written.append(grab(activity, out_dir / "clients-and-calls.png"))
        activity.close()

        # Resources and Prompts of Demo Notes, as the running bundle serves them.
        offered = window.detail.offered
        window.select_bundle(notes)
        await wait_for(lambda: "notes://index" in offered.resources.uris())
        window.detail.tabs.setCurrentWidget(offered.resources)
        offered.resources.select("notes://note/{name}")
        offered.resources.uri.setText("notes://note/runbook.md")
        offered.resources.read()
        await wait_for(lambda: offered.resources.reads_done > 0)
        await settle(0.3)
        written.append(grab(window, out_dir / "main-window-resources.png"))
        window.detail.tabs.setCurrentWidget(offered.prompts)
        offered.prompts.select("summarize_note")
        assert offered.prompts.form is not None
        offered.prompts.form.editors["name"].edit.setText("runbook.md")
        offered.prompts.get()
        await wait_for(lambda: offered.prompts.gets_done > 0)
        await settle(0.3)
        written.append(grab(window, out_dir / "main-window-prompts.png"))

        window.select_bundle(vault)
        window.detail.tabs.setCurrentWidget(window.detail.events)
        await settle(0.6)
        written.append(grab(window, out_dir / "main-window-events.png"))
        window.detail.tabs.setCurrentWidget(window.detail.logs)
        await settle(0.8)
        written.append(grab(window, out_dir / "main-window-logs.png"))

        # Staging: kill a bundle from outside to show the crash badge and its countdown.
        staged_clock = lc.get_instance(staging.bundles[0].server_name, staging.id)
        window.select_workspace(staging.id)
        window.select_bundle(staged_clock.server_name)
        window.detail.tabs.setCurrentWidget(window.detail.events)
        os.kill(staged_clock.pid, signal.SIGKILL)
        await wait_for(lambda: str(staged_clock.state) == "crashed")
        await settle(0.2)
        written.append(grab(window, out_dir / "main-window-crashed.png"))

        written += await render_errors_and_lists(window, host, staging.id, out_dir)
        written += await render_update_and_details(window, host, staging.id, out_dir)

        # The same demo on a dark palette: badges must stay readable.
        from gui.style import dark_palette

        app = QApplication.instance()
        assert isinstance(app, QApplication)
        light = app.palette()
        app.setPalette(dark_palette())
        app.setStyleSheet(app.styleSheet())  # re-polish palette(...) references
        window.select_workspace(demo.id)
        window.select_bundle(vault)
        window.detail.tabs.setCurrentWidget(window.detail.events)
        await settle(0.5)
        written.append(grab(window, out_dir / "main-window-dark.png"))
        app.setPalette(light)
    finally:
        window.detach()
        if gateway is not None:
            await gateway.close()
        await host.shutdown()
    return written


#: A bundle written for the screenshots: a sensitive list, and a server that refuses to start.
FEED_MANIFEST = {
    "manifest_version": "0.3",
    "name": "feed-reader",
    "display_name": "Feed Reader",
    "version": "0.4.1",
    "description": "Reads the team's news feeds (refuses to start without a valid key).",
    "author": {"name": "Bundle Console screenshots"},
    "server": {
        "type": "python",
        "entry_point": "server/main.py",
        "mcp_config": {
            "command": "python",
            "args": ["${__dirname}/server/main.py"],
            "env": {"FEED_KEYS": "${user_config.api_keys}"},
        },
    },
    "user_config": {
        "api_keys": {
            "type": "string",
            "title": "API keys",
            "description": "Keys tried in order; add or remove one without seeing the others.",
            "sensitive": True,
            "multiple": True,
        }
    },
}
FEED_SERVER = (
    "import sys\n"
    "print('feed-reader: no API key was accepted by feeds.example.com (401)', file=sys.stderr)\n"
    "sys.exit(3)\n"
)


async def render_errors_and_lists(window: Any, host: Any, ws_id: str, out_dir: Path) -> list[Path]:
    """Install error dialog, start-failure banner, a sensitive list, the name editor."""
    import json

    written: list[Path] = []
    src = Path(tempfile.mkdtemp(prefix="bundle-console-shots-src-"))
    broken = src / "weather-tools"
    broken.mkdir()
    (broken / "manifest.json").write_text('{"name": "weather", "version": 2,}')
    feed = src / "feed-reader"
    (feed / "server").mkdir(parents=True)
    (feed / "manifest.json").write_text(json.dumps(FEED_MANIFEST))
    (feed / "server" / "main.py").write_text(FEED_SERVER)

    window.select_workspace(ws_id)
    await window.install(ws_id, str(broken))
    await settle(0.3)
    written.append(grab(window._dialog, out_dir / "install-error.png"))
    window._dialog.close()

    inst = await host.install_bundle(ws_id, feed)
    await host.set_user_config(ws_id, inst.server_name, {"api_keys": ["k-1", "k-2", "k-3"]})
    window.select_bundle(inst.server_name)
    window.open_configure()
    dialog = window.configure_dialog
    keys = dialog.editors["api_keys"]
    keys.add_value("k-4")
    keys.remove_row(1)
    await settle(0.3)
    written.append(grab(dialog, out_dir / "configure-secret-list.png"))
    dialog.close()

    await host.lifecycle.start_bundle(inst.server_name, ws_id)
    window.detail.tabs.setCurrentWidget(window.detail.logs)
    await wait_for(lambda: window.detail.start_failure.isVisible())
    await settle(1.0)
    written.append(grab(window, out_dir / "main-window-start-failed.png"))

    editor = window.workspace_panel.ask_create()
    editor.edit.setText("  demo ")
    await settle(0.2)
    written.append(grab(editor, out_dir / "workspace-name.png"))
    editor.reject()
    return written


async def render_update_and_details(
    window: Any, host: Any, ws_id: str, out_dir: Path
) -> list[Path]:
    """The Update offer for Demo Vault 2.0.0 (with an icon), then its Details tab."""
    import json
    import shutil

    from PySide6.QtCore import QRectF, Qt
    from PySide6.QtGui import QColor, QFont, QImage, QPainter

    written: list[Path] = []
    src = Path(tempfile.mkdtemp(prefix="bundle-console-shots-v2-")) / "demo-vault"
    shutil.copytree(host_bundles_root() / "demo-vault", src)
    manifest = json.loads((src / "manifest.json").read_text())
    uc = manifest["user_config"]
    del uc["read_only"]
    del manifest["server"]["mcp_config"]["env"]["VAULT_READ_ONLY"]
    uc["region"] = {"type": "string", "title": "Region", "description": "Data region."}
    uc["region"]["default"] = "eu"
    manifest.update(
        version="2.0.0",
        icon="icon.png",
        homepage="https://vault.example/",
        support="https://vault.example/help",
        privacy_policies=["https://vault.example/privacy"],
    )
    (src / "manifest.json").write_text(json.dumps(manifest))
    image = QImage(64, 64, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setBrush(QColor("#6a1b9a"))
    painter.setPen(Qt.PenStyle.NoPen)
    painter.drawRoundedRect(QRectF(2, 2, 60, 60), 14, 14)
    painter.setPen(QColor("white"))
    painter.setFont(QFont("DejaVu Sans", 30, QFont.Weight.Bold))
    painter.drawText(QRectF(0, 0, 64, 64), Qt.AlignmentFlag.AlignCenter, "V")
    painter.end()
    image.save(str(src / "icon.png"))

    window.select_workspace(ws_id)
    await window.install(ws_id, str(src))
    await wait_for(lambda: type(window._dialog).__name__ == "UpdateDialog")
    dialog = window._dialog
    await settle(0.3)
    written.append(grab(dialog, out_dir / "update-dialog.png"))
    dialog.update_button.click()
    await wait_for(lambda: host.manifest(ws_id, "demo-vault").version == "2.0.0")
    await settle(0.3)
    window.select_bundle("demo-vault")
    window.detail.tabs.setCurrentWidget(window.detail.details)
    await settle(0.5)
    written.append(grab(window, out_dir / "main-window-details.png"))
    return written


def host_bundles_root() -> Path:
    from core.demo import demo_bundles_root

    return demo_bundles_root()


def grab(widget: object, path: Path) -> Path:
    from PySide6.QtWidgets import QWidget

    assert isinstance(widget, QWidget)
    if not widget.grab().save(str(path)):
        raise OSError(f"could not write {path}")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gui.screenshots")
    parser.add_argument("--out", type=Path, default=OUT_DIR, help="output folder")
    args = parser.parse_args(argv)

    import qasync
    from PySide6.QtWidgets import QApplication

    from gui.gc_guard import GuiThreadCollector
    from gui.style import apply_style

    args.out.mkdir(parents=True, exist_ok=True)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    apply_style(app)
    GuiThreadCollector(app).start()
    with tempfile.TemporaryDirectory(prefix="bundle-console-shots-") as tmp:
        data_dir = Path(tmp) / "data"
        with asyncio.Runner(loop_factory=lambda: qasync.QEventLoop(app)) as runner:
            written = runner.run(render(args.out, data_dir))
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
