"""Host's data API without spawning: user_config writes, spec_provider, open/load errors."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from core.errors import ConfigError, NotFoundError
from core.host import Host
from core.models import MARKER_ENV, LaunchError, LifecycleEvent, NeedsSetup
from core.paths import HOME_ENV
from tests.core.data.bundle_factory import snapshot, with_config, write_bundle
from tests.core.data.hosting import opened

SECRET = "s3cret-value-xyz"
FIELDS = {
    "token": {"type": "string", "title": "API token", "sensitive": True, "required": True},
    "region": {"type": "string", "title": "Region", "default": "eu"},
    "limit": {"type": "number", "title": "Limit", "min": 1, "max": 10},
    "debug": {"type": "boolean", "title": "Debug"},
}
ENV = {
    "TOKEN": "${user_config.token}",
    "REGION": "${user_config.region}",
    "LIMIT": "${user_config.limit}",
    "DEBUG": "${user_config.debug}",
}


@pytest.fixture
async def host(tmp_path: Path) -> AsyncIterator[Host]:
    async with opened(tmp_path / "data") as h:
        h.create_workspace("Team")
        src = write_bundle(tmp_path / "src", with_config(FIELDS, env=ENV) | {"display_name": "Svc"})
        await h.install_bundle("ws_team", src, server_name="svc")
        yield h


def creds_file(host: Host) -> Path:
    return host.data_dir / "workspaces/ws_team/credentials/svc.json"


async def test_save_on_stopped_bundle_refreshes_setup_only(host: Host) -> None:
    events: list[LifecycleEvent] = []
    host.lifecycle.subscribe(events.append)
    inst = host.lifecycle.get_instance("svc", "ws_team")
    assert inst is not None and inst.needs_setup is not None

    result = await host.set_user_config("ws_team", "svc", {"token": SECRET, "limit": 3})
    assert result.outcome == "saved_stopped" and result.respawn is None
    assert result.populated == {"token": True, "region": False, "limit": True, "debug": False}
    assert SECRET not in repr(result)
    assert inst.needs_setup is None
    assert [e.kind for e in events] == ["setup"]
    assert host.lifecycle.spawn_count == 0
    assert json.loads(creds_file(host).read_text()) == {"token": SECRET, "limit": 3}
    assert creds_file(host).stat().st_mode & 0o777 == 0o600


async def test_empty_string_clears_one_and_omitted_are_untouched(host: Host) -> None:
    await host.set_user_config("ws_team", "svc", {"token": SECRET, "region": "us", "debug": True})
    result = await host.set_user_config("ws_team", "svc", {"region": ""})
    assert result.populated == {"token": True, "region": False, "limit": False, "debug": True}
    assert host.config_values("ws_team", "svc") == {"debug": True}
    assert host.config_status("ws_team", "svc") == result.populated


async def test_clearing_a_required_field_brings_setup_back(host: Host) -> None:
    await host.set_user_config("ws_team", "svc", {"token": SECRET})
    await host.set_user_config("ws_team", "svc", {"token": ""})
    inst = host.lifecycle.get_instance("svc", "ws_team")
    assert inst is not None and inst.needs_setup is not None


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"token": SECRET, "nope": 1}, 'Unknown setting(s) "nope" for Svc.'),
        ({"token": SECRET, "limit": 99}, '"Limit" must be between 1 and 10.'),
        ({"token": SECRET, "debug": "maybe"}, '"Debug" must be true or false.'),
        ({"token": SECRET, "limit": 10**400}, '"Limit" must be a finite number.'),
        ({"token": SECRET * 700_000}, '"API token" is longer than 32 KiB.'),
    ],
)
async def test_bad_batch_writes_nothing(
    host: Host, values: dict[str, object], message: str
) -> None:
    await host.set_user_config("ws_team", "svc", {"region": "us"})
    before = snapshot(host.data_dir)
    with pytest.raises(ConfigError) as info:
        await host.set_user_config("ws_team", "svc", values)
    assert message in str(info.value) and SECRET not in str(info.value)
    assert snapshot(host.data_dir) == before
    assert host.validate_user_config("ws_team", "svc", values) == info.value.problems


async def test_validate_user_config_and_manifest(host: Host) -> None:
    assert host.validate_user_config("ws_team", "svc", {"token": "x", "limit": 5}) == []
    m = host.manifest("ws_team", "svc")
    assert m.label == "Svc" and list(m.user_config) == ["token", "region", "limit", "debug"]


async def test_clear_user_config(host: Host) -> None:
    await host.set_user_config("ws_team", "svc", {"token": SECRET, "region": "us"})
    result = await host.clear_user_config("ws_team", "svc")
    assert result.populated == dict.fromkeys(FIELDS, False)
    assert not creds_file(host).exists()


async def test_unknown_bundle_or_workspace(host: Host) -> None:
    with pytest.raises(NotFoundError, match='Bundle "ghost" is not installed in workspace "Team"'):
        await host.set_user_config("ws_team", "ghost", {"x": 1})
    with pytest.raises(NotFoundError, match="ws_ghost"):
        host.config_status("ws_ghost", "svc")


async def test_concurrent_saves_all_land(host: Host) -> None:
    await asyncio.gather(
        host.set_user_config("ws_team", "svc", {"token": SECRET}),
        host.set_user_config("ws_team", "svc", {"region": "us"}),
        host.set_user_config("ws_team", "svc", {"limit": 2}),
        host.set_user_config("ws_team", "svc", {"debug": False}),
    )
    assert json.loads(creds_file(host).read_text()) == {
        "token": SECRET,
        "region": "us",
        "limit": 2,
        "debug": False,
    }


async def test_spec_provider_reads_credentials_at_call_time(host: Host) -> None:
    with pytest.raises(NeedsSetup, match=r'"API token" for Svc \(workspace Team\)'):
        host.spec_provider("svc", "ws_team")
    await host.set_user_config("ws_team", "svc", {"token": SECRET, "limit": 4.0})
    spec = host.spec_provider("svc", "ws_team")
    assert spec.command != sys.executable and spec.args[0] == "-S"  # not our venv
    assert spec.cwd == str(host.bundle_path("ws_team", "svc"))
    assert spec.env["TOKEN"] == SECRET and spec.env["REGION"] == "eu"
    assert spec.env["LIMIT"] == "4" and "DEBUG" not in spec.env
    assert spec.env[MARKER_ENV] == "ws_team/svc"
    assert spec.secrets == (SECRET,)
    await host.set_user_config("ws_team", "svc", {"token": "newer-token"})
    assert host.spec_provider("svc", "ws_team").env["TOKEN"] == "newer-token"


async def test_spec_provider_only_raises_launch_errors(host: Host) -> None:
    with pytest.raises(LaunchError, match='Bundle "ghost" is not installed'):
        host.spec_provider("ghost", "ws_team")
    creds_file(host).parent.mkdir(mode=0o700, exist_ok=True)
    creds_file(host).write_text("{broken")
    with pytest.raises(LaunchError) as info:
        host.spec_provider("svc", "ws_team")
    assert str(creds_file(host)) in str(info.value) and "not valid JSON" in str(info.value)
    assert creds_file(host).read_text() == "{broken"


async def test_desired_state_is_persisted(host: Host) -> None:
    # the start is refused (setup missing) but the intent is recorded
    result = await host.lifecycle.start_bundle("svc", "ws_team")
    assert result.outcome == "needs_setup"
    assert host.workspace("ws_team").bundles[0].desired_running is True
    await host.lifecycle.stop_bundle("svc", "ws_team")
    data = json.loads((host.data_dir / "workspaces/ws_team/workspace.json").read_text())
    assert data["bundles"][0]["desired_running"] is False


async def test_open_reports_corrupt_credentials_and_missing_bundle(tmp_path: Path) -> None:
    data = tmp_path / "data"
    async with opened(data) as host:
        host.create_workspace("Team")
        src = write_bundle(tmp_path / "src", with_config(FIELDS, env=ENV))
        await host.install_bundle("ws_team", src, server_name="a")
        await host.install_bundle("ws_team", src, server_name="b")
    bad = data / "workspaces/ws_team/credentials/a.json"
    bad.parent.mkdir(mode=0o700, exist_ok=True)
    bad.write_text("not json")
    for path in sorted((data / "bundles/b-1.0.0").rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    (data / "bundles/b-1.0.0").rmdir()
    async with opened(data) as host:
        assert len(host.load_errors) == 2
        assert any(e.startswith(f"{bad}: is not valid JSON") for e in host.load_errors)
        assert any("bundle folder of b is missing" in e for e in host.load_errors)
        # both stay registered and visible; the app keeps working
        assert {i.server_name for i in host.lifecycle.instances()} == {"a", "b"}
        result = await host.lifecycle.start_bundle("b", "ws_team")
        assert result.outcome == "failed" and "bundle folder of b is missing" in (
            result.error or ""
        )
    assert bad.read_text() == "not json"


async def test_open_uses_env_var_when_no_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(HOME_ENV, str(tmp_path / "from-env"))
    host = await Host.open()
    try:
        assert host.data_dir == tmp_path / "from-env"
        assert (tmp_path / "from-env").stat().st_mode & 0o777 == 0o700
    finally:
        await host.shutdown()


async def test_rename_refreshes_the_setup_message(host: Host) -> None:
    host.rename_workspace("ws_team", "Production")
    inst = host.lifecycle.get_instance("svc", "ws_team")
    assert inst is not None and inst.needs_setup is not None
    assert "(workspace Production)" in inst.needs_setup


async def test_stored_values_of_a_bundle_that_needs_setup_are_masked_console_wide(
    tmp_path: Path,
) -> None:
    """No launch spec is built while setup is missing, yet its stored values are masked."""
    from core.redact import MASK

    fields = FIELDS | {"tenant": {"type": "string", "title": "Tenant", "required": True}}
    data = tmp_path / "data"
    async with opened(data) as h:
        h.create_workspace("Team")
        src = write_bundle(tmp_path / "src", with_config(fields, env=ENV))
        await h.install_bundle("ws_team", src, server_name="svc")
        await h.set_user_config("ws_team", "svc", {"token": SECRET})
        assert h.lifecycle.get_instance("svc", "ws_team").needs_setup  # tenant still missing
        assert h.lifecycle.redactor(f"printed {SECRET}") == f"printed {MASK}"
    async with opened(data) as h:  # learnt again at open, from the credential store
        assert h.lifecycle.redactor(f"printed {SECRET}") == f"printed {MASK}"
