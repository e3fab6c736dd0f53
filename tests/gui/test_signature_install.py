"""A bundle whose signature does not match: refused; installed only with a confirmed override."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QMessageBox

from core.demo import demo_bundles_root
from tests.core.data.signing import HARMLESS_OFFSET, flipped_byte, pack_once, sign_self_signed
from tests.gui.conftest import wait_until


async def test_invalid_signature_needs_the_confirmed_override(launch: Any, tmp_path: Path) -> None:
    clock = pack_once(demo_bundles_root() / "demo-clock", tmp_path / "clock.mcpb")
    signed = sign_self_signed(clock)
    bad = flipped_byte(signed, tmp_path / "bad.mcpb", HARMLESS_OFFSET)
    async with launch() as console:
        window, host = console.window, console.host
        # A workspace without Demo Clock: in Demo, installing it again offers Update.
        ws = host.create_workspace("Signed").id
        before = [b.server_name for b in host.workspace(ws).bundles]
        await window.install(ws, str(bad))
        assert "signature does not match" in window.statusBar().currentMessage()
        assert [b.server_name for b in host.workspace(ws).bundles] == before
        box = window._dialog
        assert isinstance(box, QMessageBox) and box.windowTitle() == "Invalid Signature"
        assert box.defaultButton() is box.button(QMessageBox.StandardButton.Cancel)
        [anyway] = [b for b in box.buttons() if b.text() == "Install Anyway"]
        anyway.click()
        await wait_until(
            lambda: len(host.workspace(ws).bundles) == len(before) + 1, what="the override install"
        )
        entry = host.workspace(ws).bundles[-1]
        assert entry.signature is not None and entry.signature.status == "invalid"
        assert entry.signature_override_at is not None
        await wait_until(
            lambda: "Invalid signature" in window.statusBar().currentMessage(),
            what="the install result with the signature",
        )


async def test_signed_install_reports_the_signer(launch: Any, tmp_path: Path) -> None:
    clock = pack_once(demo_bundles_root() / "demo-clock", tmp_path / "clock.mcpb")
    signed = sign_self_signed(clock)
    async with launch() as console:
        window = console.window
        ws = console.host.create_workspace("Signed").id  # Demo has Demo Clock already
        await window.install(ws, str(signed))
        message = window.statusBar().currentMessage()
        assert "Signed by C=US,O=MCPB Extensions,CN=MCPB Self-Signed Certificate" in message
        assert "self-signed" in message
