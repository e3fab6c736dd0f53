"""Host environment a bundle sees: proxy/CA variables by default, more by setting."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from core.errors import ConfigError
from core.host import Host
from core.launch import NETWORK_ENV, filter_host_env
from tests.core.data.hosting import opened
from tests.procs import proc_env

DEMO_CLOCK = Path(__file__).resolve().parents[2] / "resources" / "bundles" / "demo-clock"


def test_proxy_and_ca_variables_pass_in_both_cases() -> None:
    environ = {
        "HTTPS_PROXY": "http://proxy:3128",
        "no_proxy": "localhost",
        "SSL_CERT_FILE": "/etc/corp.pem",
        "NODE_EXTRA_CA_CERTS": "/etc/corp.pem",
        "AWS_SECRET_ACCESS_KEY": "nope",
        "CORP_TOKEN": "nope",
    }
    kept = filter_host_env(environ)
    assert kept == {k: v for k, v in environ.items() if k in NETWORK_ENV}
    assert filter_host_env(environ, ["CORP_TOKEN"])["CORP_TOKEN"] == "nope"
    assert "AWS_SECRET_ACCESS_KEY" not in filter_host_env(environ, ["CORP_TOKEN"])


@pytest.fixture
async def host(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Host]:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.test:3128")
    monkeypatch.setenv("requests_ca_bundle", "/etc/ssl/certs/ca-certificates.crt")
    monkeypatch.setenv("CORP_GLOBAL", "global-value")
    monkeypatch.setenv("CORP_TEAM", "team-value")
    async with opened(tmp_path / "data") as h:
        h.create_workspace("Team")
        h.create_workspace("Other")
        yield h


async def _env_of(host: Host, ws_id: str) -> dict[str, str]:
    ws = host.workspace(ws_id)
    if not ws.bundles:
        await host.install_bundle(ws_id, DEMO_CLOCK)
    name = host.workspace(ws_id).bundles[0].server_name
    result = await host.lifecycle.respawn_bundle(name, ws_id)
    assert result.ok, result.error
    pid = host.lifecycle.get_instance(name, ws_id).pid
    assert pid is not None
    return proc_env(pid)


async def test_real_bundle_gets_network_vars_and_the_configured_extras(
    host: Host, tmp_path: Path
) -> None:
    env = await _env_of(host, "ws_team")
    assert env["HTTPS_PROXY"] == "http://proxy.test:3128"
    assert env["requests_ca_bundle"] == "/etc/ssl/certs/ca-certificates.crt"
    assert "CORP_GLOBAL" not in env and "CORP_TEAM" not in env

    host.set_env_passthrough(["CORP_GLOBAL"])
    host.set_env_passthrough(["CORP_TEAM"], "ws_team")
    env = await _env_of(host, "ws_team")
    assert (env["CORP_GLOBAL"], env["CORP_TEAM"]) == ("global-value", "team-value")
    other = await _env_of(host, "ws_other")
    assert other["CORP_GLOBAL"] == "global-value" and "CORP_TEAM" not in other

    saved = json.loads((tmp_path / "data/settings.json").read_text())
    assert saved == {"env_passthrough": ["CORP_GLOBAL"]}
    ws_file = tmp_path / "data/workspaces/ws_team/workspace.json"
    assert json.loads(ws_file.read_text())["env_passthrough"] == ["CORP_TEAM"]


async def test_settings_survive_a_reopen(tmp_path: Path) -> None:
    async with opened(tmp_path / "data") as h:
        h.create_workspace("Team")
        h.set_env_passthrough(["A_VAR", "A_VAR", "B_VAR"])
        h.set_env_passthrough(["C_VAR"], "ws_team")
    async with opened(tmp_path / "data") as h:
        assert h.env_passthrough() == ["A_VAR", "B_VAR"]
        assert h.effective_env_passthrough("ws_team") == ["A_VAR", "B_VAR", "C_VAR"]


@pytest.mark.parametrize("bad", [["1ABC"], ["HAS SPACE"], ["A=B"], "PATH", [""]])
async def test_bad_names_are_refused_and_nothing_saved(host: Host, bad: object) -> None:
    with pytest.raises(ConfigError, match=r"environment variable name|as a list"):
        host.set_env_passthrough(bad)  # type: ignore[arg-type]
    assert host.env_passthrough() == []
    assert not (host.data_dir / "settings.json").exists()


async def test_corrupt_settings_file_is_reported_and_kept(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data/settings.json").write_text('{"env_passthrough": "oops"}')
    async with opened(tmp_path / "data") as h:
        assert any("settings.json" in line for line in h.load_errors)
        assert h.env_passthrough() == []
    assert (tmp_path / "data/settings.json").read_text() == '{"env_passthrough": "oops"}'
