"""Configure's Save & Test: the new token is saved, the vault restarts, and the last tried
call (the fingerprint) proves the new process has it; a tools/list check; never a secret."""

from __future__ import annotations

import hashlib
from typing import Any

from gui.settings import GuiSettings
from tests.gui.conftest import server_named, wait_badge, wait_until
from tests.gui.test_tool_runner import run, select_tool


def fp(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:12]


async def test_save_and_test_reruns_the_last_tried_call_on_the_new_process(launch: Any) -> None:
    async with launch() as console:
        window, host = console.window, console.host
        ws = window.current_ws_id
        vault = server_named(host, ws, "vault")
        await host.set_user_config(ws, vault, {"api_token": "first-token-5Kx"})
        await host.lifecycle.start_bundle(vault, ws)
        await wait_badge(window, vault, "running")
        await wait_until(lambda: window.detail.tools.tool_names(), what="the vault's tools")

        # The administrator tried the fingerprint tool once: that is "the last tried call".
        select_tool(window, vault, "token_fingerprint").try_button.click()
        runner = window.detail.tool_runner
        await run(runner)
        runner.close()

        window.open_configure()
        dialog = window.configure_dialog
        check = dialog.save_test
        assert check.check.currentData() == "token_fingerprint"
        assert "last tried call" in check.check.currentText()
        pid = host.lifecycle.get_instance(vault, ws).pid

        token = "rotated-token-7Wq"
        dialog.editors["api_token"].edit.setText(token)
        check.button.click()
        await wait_until(lambda: check.tests_done == 1, 60, "Save & Test")
        assert dialog.last_result.outcome == "respawned"
        assert host.lifecycle.get_instance(vault, ws).pid != pid
        kind, text = check.last
        assert kind == "ok" and text.startswith("Test passed: token_fingerprint answered"), text
        assert fp(token) in text and token not in text and token not in dialog.banner.text
        assert check.result.text == text and check.result.isVisible()

        # Nothing to save: the check alone, here a fresh tools/list.
        check.check.setCurrentIndex(check.check.findData(None))
        check.button.click()
        await wait_until(lambda: check.tests_done == 2, 30, "tools/list check")
        kind, text = check.last
        assert kind == "ok" and "answered tools/list with 6 tool(s)" in text, text
        assert "token_fingerprint" in text

        # A tool whose answer is a stored secret: shown masked, never as typed.
        await host.lifecycle.call_tool(vault, ws, "put_item", {"key": "leak", "value": token})
        settings = GuiSettings()
        settings.set_tool_arguments(host.data_dir, ws, vault, "get_item", {"key": "leak"})
        settings.sync()
        check.check.setCurrentIndex(check.check.findData("get_item"))
        check.button.click()
        await wait_until(lambda: check.tests_done == 3, 30, "get_item check")
        kind, text = check.last
        assert kind == "ok" and "get_item answered" in text and token not in text, text

        # A check that fails says so, as an error.
        check.check.setCurrentIndex(check.check.findData("delete_item"))
        check.button.click()
        await wait_until(lambda: check.tests_done == 4, 30, "delete_item check")
        kind, text = check.last
        assert kind == "error" and text.startswith("Test failed: delete_item"), text
        dialog.close()
        records = [r for r in window.gateway.history() if r["client"].endswith("(Save & test)")]
        assert [r["tool"] for r in records] == ["token_fingerprint", "get_item", "delete_item"]
