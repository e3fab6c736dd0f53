"""Bundle details show the signature verdict and the install warnings; Workspace → Host
Environment… edits the passthrough lists, and the next spawn gets the variable."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtWidgets import QPlainTextEdit

from gui.env_passthrough_dialog import EnvPassthroughDialog
from tests.core.data.bundle_factory import manifest, write_bundle
from tests.core.data.signing import HARMLESS_OFFSET, flipped_byte, pack, sign_self_signed
from tests.gui.conftest import wait_until
from tests.gui.test_history_and_errors import window_on


async def test_details_show_signature_and_warnings(tmp_path: Path) -> None:
    loose = manifest(name="loose", no_such_key=True)  # the official schema rejects it
    loose["user_config"] = {"limit": {"type": "number", "title": "Limit", "min": 9, "max": 1}}
    plain = write_bundle(tmp_path / "src" / "loose", loose)
    signed = sign_self_signed(
        pack(write_bundle(tmp_path / "src" / "s", manifest(name="s")), tmp_path / "s.mcpb")
    )
    bad = flipped_byte(signed, tmp_path / "bad.mcpb", HARMLESS_OFFSET)
    async with window_on(tmp_path / "data") as (window, host):
        ws = host.create_workspace("Ops").id
        await host.install_bundle(ws, plain)
        await host.install_bundle(ws, bad, allow_invalid_signature=True)
        window.refresh_workspaces()
        window.select_workspace(ws)
        box = window.detail.provenance

        await wait_until(lambda: window.select_bundle("loose"), what="the installed bundles")
        window.detail.refresh()
        assert box.isVisible() and box.property("kind") == "warn"
        warnings = host.install_warnings(ws, "loose")
        assert any("no_such_key" in w for w in warnings)
        assert box.text.startswith("Signature: Unsigned")
        assert f"{len(warnings)} install warning" in box.text and "no_such_key" in box.text
        window.grab().save(str(tmp_path / "loose.png"))

        assert window.select_bundle("s")
        window.detail.refresh()
        assert box.property("kind") == "error"
        assert "Invalid signature" in box.text and "confirmed override" in box.text

        empty = host.create_workspace("Empty").id
        window.refresh_workspaces()
        window.select_workspace(empty)
        window.detail.refresh()
        assert not box.isVisible()  # nothing selected: nothing claimed


async def test_host_environment_dialog_saves_both_lists(tmp_path: Path) -> None:
    async with window_on(tmp_path / "data") as (window, host):
        ws = host.create_workspace("Ops").id
        window.refresh_workspaces()
        window.select_workspace(ws)
        window.env_action.trigger()
        dialog = window._dialog
        assert isinstance(dialog, EnvPassthroughDialog) and dialog.isVisible()
        edits = {e.objectName(): e for e in dialog.findChildren(QPlainTextEdit)}

        edits["envPassthroughGlobal"].setPlainText("CORP_ONE, 2BAD")
        assert not dialog.save()  # refused: nothing saved, the reason in the dialog
        assert dialog.isVisible() and "'2BAD' is not an environment variable name" in (
            dialog.error.text()
        )
        assert host.env_passthrough() == [] and host.env_passthrough(ws) == []

        edits["envPassthroughGlobal"].setPlainText("CORP_ONE\nCORP_ONE")
        edits["envPassthroughWorkspace"].setPlainText("CORP_TWO")
        assert dialog.save() and not dialog.isVisible()
        assert host.env_passthrough() == ["CORP_ONE"] and host.env_passthrough(ws) == ["CORP_TWO"]
        assert "CORP_ONE, CORP_TWO" in window.statusBar().currentMessage()

        # the next spawn sees them (core filters the host env with these lists)
        folder = write_bundle(tmp_path / "src" / "env", manifest(name="env"))
        await host.install_bundle(ws, folder)
        os.environ.update(CORP_ONE="1", CORP_TWO="2", CORP_THREE="3")
        try:
            spec = host.spec_provider("env", ws)
        finally:
            for name in ("CORP_ONE", "CORP_TWO", "CORP_THREE"):
                os.environ.pop(name)
        assert spec.env["CORP_ONE"] == "1" and spec.env["CORP_TWO"] == "2"
        assert "CORP_THREE" not in spec.env
