"""A sensitive list is edited without being read back: adding one entry keeps the others."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from core.errors import ConfigError
from core.userconfig import ListEdit
from tests.core.data.bundle_factory import with_config, write_bundle
from tests.core.data.hosting import opened

FIELDS = {
    "keys": {"type": "string", "title": "API keys", "sensitive": True, "multiple": True},
    "tags": {"type": "string", "title": "Tags", "multiple": True},
}
STORED = ["key-aaa-111", "key-bbb-222", "key-ccc-333"]


async def test_list_edits_keep_what_is_stored(tmp_path: Path) -> None:
    src = write_bundle(tmp_path / "src", with_config(FIELDS, args=["${user_config.keys}"]))
    async with opened(tmp_path / "data", restore=False) as host:
        ws = host.create_workspace("Lists").id
        await host.install_bundle(ws, src, server_name="svc")
        load = lambda: host._credentials.load(ws, "svc").get("keys")  # noqa: E731
        await host.set_user_config(ws, "svc", {"keys": STORED})
        assert host.config_counts(ws, "svc") == {"keys": 3, "tags": 0}
        assert "keys" not in host.config_values(ws, "svc")  # never read back

        # The data-loss case: one entry added, the three stored ones stay.
        await host.set_user_config(ws, "svc", {"keys": ListEdit((0, 1, 2), ("key-new-444",), 3)})
        assert load() == [*STORED, "key-new-444"]
        # Remove the second one without knowing it.
        await host.set_user_config(ws, "svc", {"keys": ListEdit((0, 2, 3), (), 4)})
        assert load() == ["key-aaa-111", "key-ccc-333", "key-new-444"]
        # Two saves in one batch each add one entry: both land.
        await asyncio.gather(
            host.set_user_config(ws, "svc", {"keys": ListEdit(None, ("key-x",))}),
            host.set_user_config(ws, "svc", {"keys": ListEdit(None, ("key-y",))}),
        )
        assert load()[-2:] == ["key-x", "key-y"] and len(load()) == 5
        # A form that showed a stale count is refused, and nothing changes.
        with pytest.raises(ConfigError, match='"API keys" changed while you edited it'):
            await host.set_user_config(ws, "svc", {"keys": ListEdit((0,), ("z",), 3)})
        assert len(load()) == 5
        assert host.validate_user_config(ws, "svc", {"keys": ListEdit((0, 9), (), 5)}) == [
            '"API keys": the entries to keep are not valid.'
        ]
        # Removing every entry clears the key.
        await host.set_user_config(ws, "svc", {"keys": ListEdit((), (), 5)})
        assert load() is None and host.config_counts(ws, "svc")["keys"] == 0
        assert host.validate_user_config(ws, "svc", {"tags": ListEdit(None, ("ok",))}) == []
