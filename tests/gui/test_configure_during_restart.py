"""Configure opened while a restart runs says so, and says how it ended."""

from __future__ import annotations

import asyncio
from pathlib import Path

from gui.configure_dialog import ConfigureDialog
from tests.core.data.hosting import opened
from tests.gui.conftest import wait_until

CLOCK = Path(__file__).resolve().parents[2] / "resources" / "bundles" / "demo-clock"


async def test_reopening_configure_during_a_restart_shows_it(tmp_path: Path) -> None:
    async with opened(tmp_path / "data", restore=False) as host:
        ws = host.create_workspace("Restarts").id
        await host.install_bundle(ws, CLOCK, server_name="clock")
        assert (await host.lifecycle.start_bundle("clock", ws)).ok
        idle = ConfigureDialog(host, ws, "clock")
        assert idle.banner.isHidden() and not idle.restart_in_progress()
        idle.close()

        respawn = asyncio.ensure_future(host.lifecycle.respawn_bundle("clock", ws))
        await wait_until(
            lambda: host.lifecycle.draining(host.lifecycle.get_instance("clock", ws)),
            what="the respawn to begin",
        )
        dialog = ConfigureDialog(host, ws, "clock")
        dialog.show()
        assert dialog.banner.kind == "busy", dialog.banner.text
        assert "Demo Clock is restarting" in dialog.banner.text
        assert (await respawn).ok
        await wait_until(lambda: dialog.banner.kind == "ok", what="the banner to follow")
        assert dialog.banner.text == "Restart finished: Demo Clock is running."
        assert not dialog._restart_timer.isActive()
        dialog.close()
