"""Configure never loses or mangles a value: numbers as typed, cleared = default,
first field focused, no stray-key dismissal during a save, unsaved text asks first."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QMessageBox

from gui.config_fields import NumberEditor
from tests.gui.conftest import server_named, wait_badge, wait_until
from tests.gui.test_configure_dialog import open_configure
from tests.procs import proc_env


async def test_numbers_are_never_clamped_and_cleared_means_default(launch: Any) -> None:
    async with launch() as console:
        window, host = console.window, console.host
        ws = window.current_ws_id
        vault = server_named(host, ws, "vault")
        dialog = open_configure(window, vault)
        # Focus: the first field has it when the dialog opens.
        first = next(iter(dialog.editors.values()))
        await wait_until(
            lambda: dialog.focusWidget() is not None and first.isAncestorOf(dialog.focusWidget()),
            5,
            f"focus on the first field (now {dialog.focusWidget()})",
        )

        dialog.editors["api_token"].edit.setText("tok-numbers")
        number = dialog.editors["max_items"]
        assert isinstance(number, NumberEditor)
        number.edit.clear()
        QTest.keyClicks(number.edit, "5000")  # typed key by key, as an administrator would
        assert number.edit.text() == "5000"  # never rewritten to 500 or 1000
        assert '"Maximum items" must be between 1 and 1000 (you typed 5000).' in (
            dialog.problems_label.text()
        ), dialog.problems_label.text()
        assert not dialog.save_button.isEnabled()
        await dialog.save()  # even forced, nothing is written
        assert "max_items" not in host.config_values(ws, vault)
        number.edit.setText("twelve")
        assert "must be a number" in dialog.problems_label.text()
        number.edit.setText("2.5")
        assert "must be a whole number" in dialog.problems_label.text()
        QTest.keyClick(number.edit, Qt.Key.Key_Up)  # nothing to step from: unchanged
        assert number.edit.text() == "2.5"
        number.edit.setText("999")
        QTest.keyClick(number.edit, Qt.Key.Key_Up)
        QTest.keyClick(number.edit, Qt.Key.Key_Up)  # stops at max, no wrap
        assert number.edit.text() == "1000"
        assert dialog.problems_label.isHidden() and dialog.save_button.isEnabled()
        done = dialog.saves_done
        dialog.save_button.click()
        await wait_until(lambda: dialog.saves_done > done, what="save")
        assert host.config_values(ws, vault)["max_items"] == 1000
        await wait_badge(window, vault, "running")
        inst = host.lifecycle.get_instance(vault, ws)
        assert proc_env(inst.pid)["VAULT_MAX_ITEMS"] == "1000"

        # Cleared means "use the default": the stored value is removed, not kept.
        number = dialog.editors["max_items"]
        assert number.edit.text() == "1000"
        number.edit.clear()
        assert number.is_dirty() and dialog.changes() == {"max_items": None}
        done = dialog.saves_done
        dialog.save_button.click()
        await wait_until(lambda: dialog.saves_done > done, what="save")
        assert "max_items" not in host.config_values(ws, vault)
        default = host.manifest(ws, vault).user_config["max_items"].default
        inst = host.lifecycle.get_instance(vault, ws)
        await wait_badge(window, vault, "running")
        assert proc_env(inst.pid)["VAULT_MAX_ITEMS"] == str(default)
        assert dialog.editors["max_items"].edit.placeholderText() == f"default {default}"
        dialog.close()


async def test_stray_keys_during_a_save_and_unsaved_text_on_close(launch: Any) -> None:
    async with launch() as console:
        window, host = console.window, console.host
        ws = window.current_ws_id
        vault = server_named(host, ws, "vault")
        dialog = open_configure(window, vault)
        dialog.editors["api_token"].edit.setText("tok-keys")
        dialog.save_button.click()
        await wait_until(lambda: dialog.saving, 2, "the save to begin")
        assert not dialog.close_button.isEnabled()
        for key in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Escape):
            QTest.keyClick(dialog, key)
        assert dialog.isVisible() and dialog.saving  # not dismissed by a stray key
        await wait_until(lambda: not dialog.saving, what="the save to finish")
        assert dialog.isVisible() and dialog.close_button.isEnabled()

        # Typed but not saved: Close asks; Cancel keeps the text, Discard closes.
        dialog.editors["max_items"].edit.setText("42")
        dialog.close_button.click()
        assert dialog.isVisible() and dialog.question is not None
        dialog.question.button(QMessageBox.StandardButton.Cancel).click()
        assert dialog.isVisible() and dialog.editors["max_items"].edit.text() == "42"
        QTest.keyClick(dialog, Qt.Key.Key_Escape)
        assert dialog.isVisible() and dialog.question is not None
        dialog.question.button(QMessageBox.StandardButton.Discard).click()
        assert not dialog.isVisible()
        assert "max_items" not in host.config_values(ws, vault)

        # Nothing typed: Close closes at once.
        dialog = open_configure(window, vault)
        dialog.close_button.click()
        assert not dialog.isVisible() and dialog.question is None
