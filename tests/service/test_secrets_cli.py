"""``bundle-console secrets move-to-file`` and the secrets line of ``status``, as subprocesses.

Against a real, private Secret Service: a data dir whose value lives in the
keyring is moved back to its 0600 file by the CLI (offline: the CLI opens the
data dir), the item is gone, and ``status`` says where secrets are kept.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.demo import demo_bundles_root
from core.secrets import SECRETS_ENV
from tests.core.data.hosting import opened
from tests.secret_service import SecretService, available
from tests.service.support import REPO

VAULT = demo_bundles_root() / "demo-vault"
ITEM = "ws_team/vault/api_token"

pytestmark = pytest.mark.skipif(available() is not None, reason=str(available()))


@pytest.fixture
def service(monkeypatch: pytest.MonkeyPatch) -> Iterator[SecretService]:
    ss = SecretService().start()
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", ss.address)
    monkeypatch.setenv(SECRETS_ENV, "keyring")
    try:
        yield ss
    finally:
        ss.stop()


def cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The CLI with this test's environment (bus address and secrets choice included)."""
    return subprocess.run(
        [sys.executable, "-m", "core.cli", *args, "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=90,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        cwd=REPO,
    )


async def test_move_to_file_from_the_cli(service: SecretService, tmp_path: Path) -> None:
    data = tmp_path / "data"
    async with opened(data) as h:
        h.create_workspace("Team")
        await h.install_bundle("ws_team", VAULT, server_name="vault")
        await h.set_user_config("ws_team", "vault", {"api_token": "cli-moved-171"})
        svc = json.loads((h.data_dir / "secrets.json").read_text())["service"]
    assert service.items(svc) == {ITEM: '"cli-moved-171"'}

    before = cli(data, "status")
    assert before.returncode == 0, before.stderr
    assert "Secrets: secrets in keyring (Secret Service)" in before.stdout

    moved = cli(data, "secrets", "move-to-file")
    assert moved.returncode == 0, moved.stderr
    assert "Moved 1 secret(s)" in moved.stdout
    assert "cli-moved-171" not in moved.stdout + moved.stderr
    assert service.items(svc) == {}
    stored = json.loads(
        (data / "workspaces" / "ws_team" / "credentials" / "vault.json").read_text()
    )
    assert stored["api_token"] == "cli-moved-171"

    after = json.loads(cli(data, "status", "--json").stdout)
    assert after["secrets"]["store"] == "file" and not after["secrets"]["fallback"]


def test_status_says_when_the_keyring_is_unavailable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", f"unix:path={tmp_path}/no-bus")
    monkeypatch.setenv(SECRETS_ENV, "auto")
    out = cli(tmp_path / "data", "status")
    assert out.returncode == 0, out.stderr
    assert "Secrets: secrets in 0600 file: keyring unavailable" in out.stdout
    assert "Keyring unavailable (" in out.stdout and "0600 files" in out.stdout
