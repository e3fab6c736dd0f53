"""Configure's "Save & Test": save, wait for the restart, then prove the bundle works.

The check is chosen in the dialog: the bundle answers a fresh ``tools/list``,
or a tool is called with the arguments last used in "Try a tool" (the last
tried tool of the bundle is the default, as the issue asks: re-run the last
tried call). It goes the gateway's way (``gateway.list_tools_now`` /
``gateway.call_tool``), so it waits through the respawn Save started and is
recorded like any call. What is shown is the outcome and the start of the
answer, passed through the console-wide redactor: never a stored secret, and
never the arguments.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from PySide6.QtWidgets import (
    QComboBox,
    QDialogButtonBox,
    QFormLayout,
    QPushButton,
    QSizePolicy,
    QWidget,
)

from gui.tasks import async_slot
from gui.tool_result import parts_of

log = logging.getLogger(__name__)

CLIENT_NAME = "Bundle Console (Save & test)"
#: The answer is shown up to this many characters.
MAX_SHOWN = 400
#: Save outcomes after which the new settings are live in a process worth testing.
LIVE = {"respawned", "started"}
NOT_TESTED = {
    "saved_stopped": "Not tested: the bundle is stopped (tick “Start after saving” to test it).",
    "protected": "Not tested: the bundle is protected, so it was not restarted.",
    "failed": "Not tested: the restart failed (see above).",
    "start_failed": "Not tested: the start failed (see above).",
    "needs_setup": "Not tested: the bundle still needs setup.",
}


class SaveAndTest:
    """Adds the check picker, the result line and the button to a ConfigureDialog."""

    def __init__(self, dialog: Any) -> None:
        self.dialog = dialog
        host = dialog.host
        self.host = host
        self.ws_id, self.server = dialog.ws_id, dialog.server_name
        box = QWidget(dialog)
        form = QFormLayout(box)
        form.setContentsMargins(0, 0, 0, 0)
        self.check = QComboBox(box)
        self.check.setObjectName("testCheck")
        self.check.setToolTip("What “Save && Test” runs once the bundle has restarted")
        form.addRow("Test", self.check)
        from gui.configure_dialog import Banner  # the dialog imports this module

        self.result = Banner(box)
        self.result.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        form.addRow(self.result)
        layout = dialog.layout()
        layout.insertWidget(layout.indexOf(dialog.banner), box)
        self.button = QPushButton("Save && Test", dialog)
        self.button.setObjectName("saveTestButton")
        self.button.setAutoDefault(False)
        self.button.setToolTip(
            "Save any change, wait for the restart, then run the test chosen above"
        )
        dialog.buttons.addButton(self.button, QDialogButtonBox.ButtonRole.ActionRole)
        self.button.clicked.connect(lambda: self.run())
        self._fill_checks()
        self._running = False
        #: (kind, text) of the last test, and how many ran (for observers and tests)
        self.last: tuple[str, str] | None = None
        self.tests_done = 0

    def _fill_checks(self) -> None:
        from gui.settings import GuiSettings

        self.check.addItem("The bundle answers tools/list", None)
        inst = self.host.lifecycle.get_instance(self.server, self.ws_id)
        tools = [t.name for t in (inst.tools if inst is not None else [])]
        settings = GuiSettings()
        last = settings.last_tried_tool(self.host.data_dir, self.ws_id, self.server)
        for name in tools:
            label = f"Call {name}" + (" (the last tried call)" if name == last else "")
            self.check.addItem(label, name)
        if last in tools:
            self.check.setCurrentIndex(self.check.findData(last))

    def _gateway(self) -> Any:
        gateway = getattr(self.dialog, "gateway", None)
        if gateway is None:
            gateway = getattr(self.dialog.parentWidget(), "gateway", None)
        return gateway

    @property
    def running(self) -> bool:
        return self._running

    @async_slot()
    async def run(self) -> None:
        dialog = self.dialog
        if self._running or dialog.saving:
            return
        self._running = True
        self.button.setEnabled(False)
        try:
            if dialog.changes():
                before = dialog.saves_done
                result_before = dialog.last_result
                task = dialog.save()
                if isinstance(task, asyncio.Future):
                    await task
                if dialog.saves_done == before or dialog.last_result is result_before:
                    self._show("warn", "Not tested: nothing was saved (see above).")
                    return
                outcome = dialog.last_result.outcome
                if dialog.last_start is not None:
                    start = dialog.last_start
                    failed = "needs_setup" if start.outcome == "needs_setup" else "start_failed"
                    outcome = "started" if start.ok else failed
                if outcome not in LIVE:
                    self._show("warn", NOT_TESTED.get(outcome, f"Not tested ({outcome})."))
                    return
            await self._test()
        finally:
            self._running = False
            self.button.setEnabled(True)
            self.tests_done += 1

    async def _test(self) -> None:
        gateway = self._gateway()
        if gateway is None:
            self._show("error", "Not tested: the gateway is not running.")
            return
        tool = self.check.currentData()
        redact = self.host.lifecycle.redactor
        self._show("busy", "Testing…")
        started = time.perf_counter()
        try:
            if tool is None:
                check = await gateway.list_tools_now(self.ws_id, self.server)
                names = ", ".join(check.tools[:8]) + (" …" if len(check.tools) > 8 else "")
                self._show(
                    "ok",
                    f"Test passed: the bundle answered tools/list with {len(check.tools)} "
                    f"tool(s) in {check.duration_ms:.0f} ms ({names}).",
                )
                return
            arguments = self._arguments(tool)
            result = await gateway.call_tool(
                self.ws_id, self.server, tool, arguments, client_name=CLIENT_NAME
            )
        except Exception as exc:
            self._show("error", f"Test failed: {redact(str(exc) or type(exc).__name__)}")
            return
        elapsed = (time.perf_counter() - started) * 1000
        try:
            is_error, parts = parts_of(result)
        except TypeError as exc:
            is_error, parts = True, []
            log.info("save & test: %s", exc)
        text = " ".join(p.text for p in parts if p.text and p.kind != "note").strip()
        text = redact(text)
        if len(text) > MAX_SHOWN:
            text = text[:MAX_SHOWN] + "…"
        if is_error:
            self._show("error", f"Test failed: {tool} returned an error: {text}")
        else:
            self._show("ok", f"Test passed: {tool} answered in {elapsed:.0f} ms: {text}")

    def _arguments(self, tool: str) -> dict[str, Any]:
        from gui.settings import GuiSettings

        return GuiSettings().tool_arguments(self.host.data_dir, self.ws_id, self.server, tool)

    def _show(self, kind: str, text: str) -> None:
        self.last = (kind, text)
        self.result.show_message(kind, text, busy=kind == "busy")
