"""Configure: generated form, validation, saving through core, and a loop that never stalls."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QMessageBox

from core.demo import demo_bundles_root
from gui.config_fields import ListEditor, NumberEditor, PathEditor, StringEditor
from tests.gui.conftest import (
    Recorder,
    badge_kind,
    bundle_pids,
    server_named,
    wait_badge,
    wait_until,
)
from tests.procs import proc_env


class Ticker:
    """A 10 ms QTimer: if the loop were blocked or nested wrongly, it would stop counting."""

    def __init__(self) -> None:
        self.count = 0
        self.timer = QTimer()
        self.timer.setInterval(10)
        self.timer.timeout.connect(self._tick)
        self.timer.start()

    def _tick(self) -> None:
        self.count += 1


def open_configure(window: Any, server_name: str) -> Any:
    assert window.select_bundle(server_name)
    window.bundle_actions.configure.trigger()
    dialog = window.configure_dialog
    assert dialog is not None and dialog.isVisible() and dialog.isModal()
    return dialog


async def save_and_watch(dialog: Any, ticker: Ticker) -> int:
    """Click Save; return how often the ticker fired until the outcome was shown."""
    start, done = ticker.count, dialog.saves_done
    dialog.save_button.click()
    await wait_until(lambda: dialog.saves_done > done, what="the save outcome")
    return ticker.count - start


async def test_entering_the_token_starts_the_vault_with_it(launch: Any) -> None:
    async with launch() as console:
        window, host = console.window, console.host
        ws, lc = window.current_ws_id, console.host.lifecycle
        vault = server_named(host, ws, "vault")
        ticker = Ticker()
        dialog = open_configure(window, vault)

        # Generated form: one editor per user_config field, of the right kind.
        token = dialog.editors["api_token"]
        assert isinstance(token, StringEditor) and token.sensitive
        assert isinstance(dialog.editors["max_items"], NumberEditor)
        assert dialog.editors["max_items"].spec.min == 1
        assert dialog.editors["max_items"].spec.max == 1000
        assert token.state_label.text() == "not set"
        assert not dialog.save_button.isEnabled()
        assert '"API token" is required.' in dialog.problems_label.text()
        assert dialog.start_after.isChecked()  # stopped because it needs setup

        before = ticker.count
        await wait_until(lambda: ticker.count >= before + 10, 5, "ticks while the dialog is open")

        seen = Recorder(window.bundles, ws, vault)
        token.edit.setText("tok-first-1234")
        assert token.edit.echoMode() == token.edit.EchoMode.Password
        token.reveal.click()
        assert token.edit.echoMode() == token.edit.EchoMode.Normal
        assert dialog.save_button.isEnabled() and dialog.problems_label.isHidden()
        dialog.save_button.click()
        await wait_until(lambda: dialog.saving, 2, "the save to begin")
        assert dialog.banner.spinner.spinning and not dialog.save_button.isEnabled()
        assert not dialog.form_host.isEnabled()
        in_flight = ticker.count
        await wait_until(lambda: not dialog.saving, what="the save to finish")
        assert ticker.count - in_flight >= 5, "the loop stalled during the save"
        assert dialog.banner.text == "Saved and started" and dialog.banner.kind == "ok"
        await wait_badge(window, vault, "running")
        assert seen.saw_in_order("starting", "running"), seen.kinds
        inst = lc.get_instance(vault, ws)
        assert proc_env(inst.pid)["VAULT_API_TOKEN"] == "tok-first-1234"

        # The stored secret is never shown back: the field says "set" and stays empty.
        token = dialog.editors["api_token"]
        assert token.state_label.text() == "● set" and token.edit.text() == ""
        assert dialog.isVisible(), "dialog hidden"
        assert token.clear_button.isVisible()
        assert host.config_status(ws, vault)["api_token"] is True
        assert "tok-first-1234" not in window.detail.logs.plain_text()

        # Saving again while it runs restarts it with the new values.
        old_pid = inst.pid
        dialog.editors["max_items"].set_number(7)
        assert dialog.save_button.text() == "Save && Restart"
        await save_and_watch(dialog, ticker)
        assert dialog.banner.text == "Saved and restarted"
        assert inst.pid != old_pid and proc_env(inst.pid)["VAULT_MAX_ITEMS"] == "7"
        assert dialog.editors["max_items"].value() == 7  # non-sensitive values come back

        # Clear removes the stored secret; the vault is back to needing setup.
        token = dialog.editors["api_token"]
        token.clear_button.click()
        assert token.state_label.text() == "will be cleared"
        assert dialog.save_button.isEnabled()
        # ... but it stops a running bundle: warned inline, and Save asks first.
        warning = f"Saving will stop {dialog.manifest.label}: API token is required."
        assert warning in dialog.warnings_label.text()
        done = dialog.saves_done
        dialog.save_button.click()
        await wait_until(lambda: dialog.question is not None, 5, "the stop confirmation")
        assert dialog.saves_done == done
        assert host.config_status(ws, vault)["api_token"] is True  # nothing written yet
        dialog.question.button(QMessageBox.StandardButton.Save).click()
        await wait_until(lambda: dialog.saves_done > done, what="the confirmed save")
        assert dialog.banner.text.startswith("Saved; still needs setup")
        assert "Open Configure" not in dialog.banner.text  # we are in Configure
        assert host.config_status(ws, vault)["api_token"] is False
        await wait_badge(window, vault, "setup")
        assert old_pid not in bundle_pids(host.data_dir)
        dialog.close()
        ticker.timer.stop()


async def test_protected_bundle_refusal_is_shown(launch: Any) -> None:
    async with launch() as console:
        window, host = console.window, console.host
        ws, lc = window.current_ws_id, host.lifecycle
        await host.install_bundle(
            ws, demo_bundles_root() / "demo-vault", "vault-prod", protected=True
        )
        await host.set_user_config(ws, "vault-prod", {"api_token": "prod-secret-99"})
        await lc.start_bundle("vault-prod", ws)
        await wait_badge(window, "vault-prod", "running")
        pid = lc.get_instance("vault-prod", ws).pid

        window.select_bundle("vault-prod")
        actions = window.bundle_actions
        assert window.bundles.badge(ws, "vault-prod").protected
        assert not actions.restart.isEnabled()
        assert not actions.stop.isEnabled()
        assert not actions.uninstall.isEnabled()
        assert actions.configure.isEnabled()

        await window.restart_selected()  # scripted callers still reach core, which refuses
        assert "protected" in window.statusBar().currentMessage()

        ticker = Ticker()
        dialog = open_configure(window, "vault-prod")
        dialog.editors["read_only"].check.setChecked(True)
        await save_and_watch(dialog, ticker)
        assert dialog.banner.text == "Saved; bundle is protected, restart refused"
        assert dialog.banner.kind == "warn"
        assert lc.get_instance("vault-prod", ws).pid == pid
        assert host.config_values(ws, "vault-prod") == {"read_only": True}
        assert badge_kind(window, "vault-prod") == "running"
        dialog.close()
        ticker.timer.stop()


async def test_bad_input_is_rejected_and_nothing_is_saved(launch: Any, tmp_path: Any) -> None:
    async with launch() as console:
        window, host = console.window, console.host
        ws = window.current_ws_id
        notes = server_named(host, ws, "notes")
        dialog = open_configure(window, notes)
        folder = dialog.editors["notes_dir"]
        refs = dialog.editors["reference_dirs"]
        assert isinstance(folder, PathEditor) and isinstance(refs, ListEditor)
        assert folder.edit.placeholderText() == "${DOCUMENTS}/Demo Notes"  # default as placeholder

        folder.edit.setText(str(tmp_path / "does-not-exist"))
        assert '"Notes folder" must be an existing folder.' in dialog.problems_label.text()
        assert folder.edit.property("invalid") is True
        assert not dialog.save_button.isEnabled()
        await dialog.save()  # even when forced, an invalid form writes nothing
        assert host.config_values(ws, notes) == {}
        assert dialog.banner.isHidden()

        folder.edit.setText(str(tmp_path))
        refs.add_value(str(tmp_path / "missing-ref"))
        assert '"Reference folders" must be an existing folder.' in dialog.problems_label.text()
        assert not dialog.save_button.isEnabled()
        refs.list.setCurrentRow(0)
        refs.remove.click()
        refs.add_value(str(tmp_path))
        assert dialog.problems_label.isHidden() and dialog.save_button.isEnabled()

        # Core remains the judge: a value that slipped past the form is refused as a whole.
        dialog.editors["notes_dir"].edit.setText(str(tmp_path / "gone"))
        dialog._problems = []  # simulate a stale form
        result = await host_refuses(dialog)
        assert result.startswith("Not saved:") and "Notes folder" in result
        assert host.config_values(ws, notes) == {}
        dialog.close()


async def host_refuses(dialog: Any) -> str:
    """Call the save path directly, bypassing the button, and return the banner text."""
    dialog.revalidate = lambda: None  # keep the stale (empty) problem list
    await dialog.save()
    return dialog.banner.text


async def test_closing_during_a_save_lets_it_finish(launch: Any) -> None:
    async with launch() as console:
        window, host = console.window, console.host
        ws = window.current_ws_id
        vault = server_named(host, ws, "vault")
        dialog = open_configure(window, vault)
        finished: list[int] = []
        dialog.finished.connect(finished.append)
        dialog.editors["api_token"].edit.setText("tok-closed-early")
        dialog.save_button.click()
        await wait_until(lambda: dialog.saving, 2, "the save to begin")
        dialog.reject()  # Close / Esc while the bundle is starting
        assert not dialog.isVisible() and finished == []
        await wait_until(lambda: finished, what="the dialog to finish after the save")
        assert dialog.saves_done == 1
        await wait_badge(window, vault, "running")
        await wait_until(
            lambda: "Saved and started" in window.statusBar().currentMessage(), 5, "status"
        )
