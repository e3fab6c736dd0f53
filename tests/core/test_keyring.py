"""Secrets at rest in a REAL Secret Service (private bus + gnome-keyring), file as fallback.

Save → respawn → the value in /proc/<pid>/environ, rotate, migrate file → keyring
→ file, uninstall / workspace delete remove the items, a keyring that vanishes,
locks or stops answering mid-session, and no sensitive value left anywhere under
the data dir once the keyring is the store.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from benchmarks.support import write_fixture_bundle
from core.host import Host
from core.secrets import SECRETS_ENV, KeyringUnavailable, is_marker
from core.states import BundleState
from tests.core.data.hosting import bundle_processes, opened
from tests.procs import proc_env
from tests.secret_service import SecretService, available

WS = "ws_team"
ITEM = f"{WS}/vault/api_token"

pytestmark = pytest.mark.skipif(available() is not None, reason=str(available()))


@pytest.fixture(scope="module")
def vault_src(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The dependency-free fixture server (fast to spawn) with demo-vault's fields."""
    folder = write_fixture_bundle(tmp_path_factory.mktemp("src") / "kr-vault", "kr-vault")
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["server"]["mcp_config"]["env"] = {
        "VAULT_API_TOKEN": "${user_config.api_token}",
        "VAULT_MAX_ITEMS": "${user_config.max_items}",
        "VAULT_READ_ONLY": "${user_config.read_only}",
    }
    manifest["user_config"] = {
        "api_token": {"type": "string", "title": "API token", "sensitive": True, "required": True},
        "max_items": {"type": "number", "title": "Max", "default": 50, "required": False},
        "read_only": {"type": "boolean", "title": "RO", "default": False, "required": False},
    }
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


@pytest.fixture(scope="module")
def service() -> Iterator[SecretService]:
    ss = SecretService().start()
    try:
        yield ss
    finally:
        ss.stop()


@pytest.fixture
def keyring_env(service: SecretService, monkeypatch: pytest.MonkeyPatch) -> SecretService:
    """The console under test sees this Secret Service and is told to use the keyring."""
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", service.address)
    monkeypatch.setenv(SECRETS_ENV, "keyring")
    return service


@pytest.fixture
def own_service(monkeypatch: pytest.MonkeyPatch) -> Iterator[SecretService]:
    """A Secret Service this test alone may kill, lock or freeze."""
    ss = SecretService().start()
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", ss.address)
    monkeypatch.setenv(SECRETS_ENV, "keyring")
    try:
        yield ss
    finally:
        if ss.keyring is not None:
            os.kill(ss.keyring.pid, signal.SIGCONT)
        ss.stop()


@pytest.fixture
async def host(keyring_env: SecretService, tmp_path: Path, vault_src: Path) -> AsyncIterator[Host]:
    async with opened(tmp_path / "data") as h:
        h.create_workspace("Team")
        await h.install_bundle(WS, vault_src, server_name="vault")
        yield h


def service_of(host: Host) -> str:
    return json.loads((host.data_dir / "secrets.json").read_text())["service"]


def stored_file(host: Host) -> dict[str, object]:
    return json.loads(host.paths.credentials_file(WS, "vault").read_text())


def files_holding(root: Path, value: str) -> list[Path]:
    """Every file under ``root`` whose bytes contain ``value``."""
    needle = value.encode()
    return [p for p in root.rglob("*") if p.is_file() and needle in p.read_bytes()]


def vault_pid(host: Host) -> int:
    inst = host.lifecycle.get_instance("vault", WS)
    assert inst is not None and inst.state is BundleState.RUNNING and inst.pid is not None
    return inst.pid


async def test_save_respawn_rotate_and_no_trace_in_the_data_dir(
    host: Host, keyring_env: SecretService
) -> None:
    status = host.secrets_status()
    assert status.store == "keyring" and not status.fallback and status.notice is None

    await host.lifecycle.start_bundle("vault", WS)  # needs setup: nothing started
    first = await host.set_user_config(WS, "vault", {"api_token": "kr-token-one-111"})
    assert first.outcome == "respawned"
    old_pid = vault_pid(host)
    assert proc_env(old_pid)["VAULT_API_TOKEN"] == "kr-token-one-111"
    assert keyring_env.items(service_of(host)) == {ITEM: '"kr-token-one-111"'}
    assert is_marker(stored_file(host)["api_token"])
    assert host.config_status(WS, "vault")["api_token"] is True
    assert "kr-token-one-111" in host.lifecycle.redactor  # the value, not its marker

    rotated = await host.set_user_config(
        WS, "vault", {"api_token": "kr-token-two-222", "max_items": 7}
    )
    assert rotated.outcome == "respawned"
    new_pid = vault_pid(host)
    assert new_pid != old_pid
    env = proc_env(new_pid)
    assert env["VAULT_API_TOKEN"] == "kr-token-two-222" and env["VAULT_MAX_ITEMS"] == "7"
    assert keyring_env.items(service_of(host)) == {ITEM: '"kr-token-two-222"'}
    assert stored_file(host)["max_items"] == 7  # non-sensitive values stay in the file
    assert host.config_values(WS, "vault") == {"max_items": 7}

    for value in ("kr-token-one-111", "kr-token-two-222"):
        assert files_holding(host.data_dir, value) == []


async def test_the_file_store_chosen_on_a_keyring_data_dir_asks_for_setup(
    keyring_env: SecretService, tmp_path: Path, vault_src: Path
) -> None:
    data = tmp_path / "data"
    async with opened(data) as h:
        h.create_workspace("Team")
        await h.install_bundle(WS, vault_src, server_name="vault")
        await h.set_user_config(WS, "vault", {"api_token": "kept-191"})
    async with opened(data, secrets="file") as h:  # the value is not silently "absent"
        inst = h.lifecycle.get_instance("vault", WS)
        assert inst is not None and "kept in the keyring" in (inst.needs_setup or "")


async def test_concurrent_saves_stay_group_committed_and_coalesced(
    host: Host, keyring_env: SecretService
) -> None:
    await host.set_user_config(WS, "vault", {"api_token": "start-181"})
    await host.lifecycle.start_bundle("vault", WS)
    spawns = host.lifecycle.spawn_count
    results = await asyncio.gather(
        *(host.set_user_config(WS, "vault", {"api_token": f"burst-{i:03d}"}) for i in range(8))
    )
    assert all(r.outcome == "respawned" for r in results)
    assert host.lifecycle.spawn_count - spawns <= 2  # coalesced as with the file store
    assert proc_env(vault_pid(host))["VAULT_API_TOKEN"] == "burst-007"  # the last write won
    assert keyring_env.items(service_of(host)) == {ITEM: '"burst-007"'}
    assert host._credentials.lock_count == 0


async def test_migration_file_to_keyring_to_file_loses_nothing(
    keyring_env: SecretService, tmp_path: Path, vault_src: Path
) -> None:
    data = tmp_path / "data"
    async with opened(data, secrets="file") as h:  # an existing console: values in the file
        assert h.secrets_status().store == "file"
        h.create_workspace("Team")
        await h.install_bundle(WS, vault_src, server_name="vault")
        await h.set_user_config(WS, "vault", {"api_token": "moving-token-333", "read_only": True})
        assert files_holding(data, "moving-token-333") != []

    async with opened(data) as h:  # first open with a keyring: moved in
        assert h.secrets_status().store == "keyring"
        service = service_of(h)
        assert keyring_env.items(service) == {ITEM: '"moving-token-333"'}
        assert files_holding(data, "moving-token-333") == []
        assert stored_file(h)["read_only"] is True
        assert "moving-token-333" in h.lifecycle.redactor
        await h.lifecycle.start_bundle("vault", WS)
        env = proc_env(vault_pid(h))
        assert env["VAULT_API_TOKEN"] == "moving-token-333" and env["VAULT_READ_ONLY"] == "true"

        moved = await h.move_secrets_to_file()
        assert moved == 1 and keyring_env.items(service) == {}
        assert stored_file(h)["api_token"] == "moving-token-333"
        assert h.secrets_status().store == "file"
        await h.lifecycle.respawn_bundle("vault", WS)
        assert proc_env(vault_pid(h))["VAULT_API_TOKEN"] == "moving-token-333"
        await h.set_user_config(WS, "vault", {"api_token": "file-token-444"})
        assert stored_file(h)["api_token"] == "file-token-444"

    async with opened(data) as h:  # the choice sticks: a keyring present is not used
        assert h.secrets_status().store == "file" and not h.secrets_status().fallback
        assert keyring_env.items(service) == {}
        assert proc_env(vault_pid(h))["VAULT_API_TOKEN"] == "file-token-444"
        await h.move_secrets_to_keyring()  # and back again
        assert keyring_env.items(service) == {ITEM: '"file-token-444"'}
        assert files_holding(data, "file-token-444") == []


async def test_uninstall_and_workspace_delete_remove_the_items(
    host: Host, keyring_env: SecretService, vault_src: Path
) -> None:
    other = host.create_workspace("Other")
    await host.install_bundle(other.id, vault_src, server_name="vault")
    await host.set_user_config(WS, "vault", {"api_token": "team-token-555"})
    saved = await host.set_user_config(other.id, "vault", {"api_token": "other-token-666"})
    assert saved.outcome == "saved_stopped"
    assert "other-token-666" in host.lifecycle.redactor  # masked everywhere
    service = service_of(host)
    assert set(keyring_env.items(service)) == {ITEM, f"{other.id}/vault/api_token"}

    await host.uninstall_bundle(WS, "vault")
    assert set(keyring_env.items(service)) == {f"{other.id}/vault/api_token"}
    await host.delete_workspace(other.id)
    assert keyring_env.items(service) == {}


async def test_a_keyring_that_vanishes_mid_session_loses_nothing(
    own_service: SecretService, tmp_path: Path, vault_src: Path
) -> None:
    async with opened(tmp_path / "data") as h:
        h.create_workspace("Team")
        await h.install_bundle(WS, vault_src, server_name="vault")
        await h.set_user_config(WS, "vault", {"api_token": "before-777"})
        await h.lifecycle.start_bundle("vault", WS)
        pid = vault_pid(h)
        before = stored_file(h)

        own_service.stop_keyring()
        with pytest.raises(KeyringUnavailable) as caught:
            await h.set_user_config(WS, "vault", {"api_token": "during-888"})
        message = str(caught.value)
        assert message.startswith("Not saved:") and "keyring" in message
        assert "during-888" not in message and "before-777" not in message
        assert stored_file(h) == before and vault_pid(h) == pid  # nothing changed, still up
        # A restart still gets the last saved value (held since it was read).
        assert (await h.lifecycle.respawn_bundle("vault", WS)).ok
        assert proc_env(vault_pid(h))["VAULT_API_TOKEN"] == "before-777"

        own_service.start_keyring()  # the keyring is back (same files): saves work again
        saved = await h.set_user_config(WS, "vault", {"api_token": "after-999"})
        assert saved.outcome == "respawned"
        assert proc_env(vault_pid(h))["VAULT_API_TOKEN"] == "after-999"
        assert own_service.items(service_of(h)) == {ITEM: '"after-999"'}


async def test_a_locked_keyring_means_needs_setup_and_the_file_fallback_says_so(
    own_service: SecretService, tmp_path: Path, vault_src: Path
) -> None:
    data = tmp_path / "data"
    async with opened(data) as h:
        h.create_workspace("Team")
        await h.install_bundle(WS, vault_src, server_name="vault")
        await h.set_user_config(WS, "vault", {"api_token": "locked-away-121"})
    own_service.lock()

    async with opened(data) as h:  # restores the bundle: it cannot, and says why
        status = h.secrets_status()
        assert status.store == "file" and status.fallback and "locked" in (status.reason or "")
        assert status.notice is not None and "0600" in status.notice
        inst = h.lifecycle.get_instance("vault", WS)
        assert inst is not None and inst.state is BundleState.STOPPED
        assert inst.needs_setup is not None and "needs setup: keyring locked" in inst.needs_setup
        refused = await h.lifecycle.start_bundle("vault", WS)
        assert refused.outcome == "needs_setup" and bundle_processes(data) == {}
        assert h.config_status(WS, "vault")["api_token"] is True  # still "set", not lost

        own_service.stop_keyring()
        own_service.start_keyring()  # unlocked (the login password), the console still open
        await h.move_secrets_to_keyring()
        assert h.secrets_status().store == "keyring" and inst.needs_setup is None
        assert (await h.lifecycle.start_bundle("vault", WS)).ok
        assert proc_env(vault_pid(h))["VAULT_API_TOKEN"] == "locked-away-121"


async def test_an_unanswering_keyring_never_blocks_the_loop(
    own_service: SecretService, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    assert own_service.keyring is not None
    os.kill(own_service.keyring.pid, signal.SIGSTOP)  # owns the bus name, answers nothing
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    task = asyncio.create_task(ticker())
    try:
        async with opened(data, keyring_timeout=1.0) as h:
            status = h.secrets_status()
            assert status.store == "file" and status.fallback
            assert "not answering" in (status.reason or "")
            assert ticks > 3  # the loop kept running while the keyring call hung
    finally:
        task.cancel()


async def test_no_backend_falls_back_to_the_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, vault_src: Path
) -> None:
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", f"unix:path={tmp_path}/no-bus")
    monkeypatch.setenv(SECRETS_ENV, "auto")
    async with opened(tmp_path / "data") as h:
        status = h.secrets_status()
        assert status.store == "file" and status.fallback and status.notice is not None
        h.create_workspace("Team")
        await h.install_bundle(WS, vault_src, server_name="vault")
        await h.set_user_config(WS, "vault", {"api_token": "plain-131"})
        assert stored_file(h)["api_token"] == "plain-131"
        await h.lifecycle.start_bundle("vault", WS)
        assert proc_env(vault_pid(h))["VAULT_API_TOKEN"] == "plain-131"


async def test_saved_while_locked_goes_to_the_file_then_into_the_keyring(
    own_service: SecretService, tmp_path: Path, vault_src: Path
) -> None:
    data = tmp_path / "data"
    async with opened(data) as h:
        h.create_workspace("Team")
        await h.install_bundle(WS, vault_src, server_name="vault")
        await h.set_user_config(WS, "vault", {"api_token": "old-141"})
        service = service_of(h)
    own_service.lock()
    async with opened(data) as h:  # fallback: the new value is kept in the file, said so
        assert h.secrets_status().fallback
        saved = await h.set_user_config(WS, "vault", {"api_token": "new-151"})
        assert saved.outcome == "saved_stopped"
        assert stored_file(h)["api_token"] == "new-151"
        await h.lifecycle.start_bundle("vault", WS)
        assert proc_env(vault_pid(h))["VAULT_API_TOKEN"] == "new-151"
    own_service.stop_keyring()
    own_service.start_keyring()  # unlocked again (the login password)
    async with opened(data) as h:  # the newer file value wins and moves in
        assert h.secrets_status().store == "keyring"
        assert own_service.items(service) == {ITEM: '"new-151"'}
        assert files_holding(data, "new-151") == [] and files_holding(data, "old-141") == []
        assert proc_env(vault_pid(h))["VAULT_API_TOKEN"] == "new-151"
