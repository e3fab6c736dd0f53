"""The credential store: private files, serialised read-modify-write, corrupt files kept."""

from __future__ import annotations

import asyncio
import json
import logging
import stat
from pathlib import Path

import pytest

from core.credentials import CredentialStore
from core.errors import DataError, NotFoundError
from core.paths import DataPaths


@pytest.fixture
def store(tmp_path: Path) -> CredentialStore:
    (tmp_path / "workspaces" / "ws_a").mkdir(parents=True)
    return CredentialStore(DataPaths(tmp_path))


async def test_update_writes_private_flat_map(store: CredentialStore) -> None:
    await store.update("ws_a", "vault", {"token": "t1", "n": 3})
    path = store.path("ws_a", "vault")
    assert json.loads(path.read_text()) == {"token": "t1", "n": 3}
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700
    assert store.load("ws_a", "vault") == {"token": "t1", "n": 3}


async def test_none_deletes_a_key_and_others_stay(store: CredentialStore) -> None:
    await store.update("ws_a", "vault", {"a": "1", "b": "2"})
    assert await store.update("ws_a", "vault", {"a": None}) == {"b": "2"}


async def test_concurrent_saves_lose_nothing(store: CredentialStore) -> None:
    await asyncio.gather(*(store.update("ws_a", "vault", {f"k{i}": i}) for i in range(40)))
    assert store.load("ws_a", "vault") == {f"k{i}": i for i in range(40)}
    assert store.lock_count == 0  # the lock map empties once every save is done


async def test_corrupt_file_is_an_error_and_is_never_overwritten(store: CredentialStore) -> None:
    path = store.path("ws_a", "vault")
    path.parent.mkdir(mode=0o700)
    path.write_text('{"token": "abc"')
    path.chmod(0o600)
    with pytest.raises(DataError) as info:
        store.load("ws_a", "vault")
    assert str(path) in str(info.value) and "not valid JSON" in str(info.value)
    assert "abc" not in str(info.value)
    with pytest.raises(DataError):
        await store.update("ws_a", "vault", {"token": "new"})
    assert path.read_text() == '{"token": "abc"'
    assert store.scan("ws_a") == [str(info.value)]


async def test_clear_sets_a_corrupt_file_aside(store: CredentialStore) -> None:
    path = store.path("ws_a", "vault")
    path.parent.mkdir(mode=0o700)
    path.write_text("[1, 2]")
    await store.clear("ws_a", "vault")
    assert not path.exists()
    [aside] = path.parent.glob("vault.json.corrupt-*")
    assert aside.read_text() == "[1, 2]"


async def test_loose_permissions_are_read_with_a_warning(
    store: CredentialStore, caplog: pytest.LogCaptureFixture
) -> None:
    await store.update("ws_a", "vault", {"token": "t"})
    store.path("ws_a", "vault").chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="core.credentials"):
        assert store.load("ws_a", "vault") == {"token": "t"}
    assert "readable by other users (mode 644)" in caplog.text


async def test_scan_makes_loose_files_private_and_says_so(store: CredentialStore) -> None:
    await store.update("ws_a", "vault", {"token": "t"})
    await store.update("ws_a", "tidy", {"token": "u"})
    path = store.path("ws_a", "vault")
    path.chmod(0o644)
    path.parent.chmod(0o755)
    problems = store.scan("ws_a")
    assert problems == [
        f"{path.parent}: credentials folder was open to other users (mode 755); it is 0700 now",
        f"{path}: credentials file was readable by other users (mode 644); "
        "it is 0600 now, but the values in it may have been seen",
    ]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert store.load("ws_a", "vault") == {"token": "t"}
    assert store.scan("ws_a") == []


async def test_guard_aborts_before_writing(store: CredentialStore) -> None:
    def gone() -> None:
        raise NotFoundError("uninstalled meanwhile")

    with pytest.raises(NotFoundError):
        await store.update("ws_a", "vault", {"token": "t"}, guard=gone)
    assert not store.path("ws_a", "vault").exists()


async def test_write_does_not_resurrect_a_deleted_workspace(
    store: CredentialStore, tmp_path: Path
) -> None:
    (tmp_path / "workspaces" / "ws_a").rmdir()
    with pytest.raises(DataError, match="cannot be written"):
        await store.update("ws_a", "vault", {"token": "t"})
    assert not (tmp_path / "workspaces" / "ws_a").exists()


async def test_delete_and_delete_workspace(store: CredentialStore) -> None:
    await store.update("ws_a", "one", {"x": "1"})
    await store.update("ws_a", "two", {"x": "2"})
    await store.delete("ws_a", "one")
    assert store.load("ws_a", "one") == {} and store.load("ws_a", "two") == {"x": "2"}
    store.delete_workspace("ws_a")
    assert store.load("ws_a", "two") == {}


async def test_a_burst_of_saves_is_group_committed_in_order(
    store: CredentialStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    import core.credentials as credentials

    writes: list[dict] = []
    real_apply = credentials._apply

    def counting_apply(path: Path, changes: dict) -> dict:
        writes.append(dict(changes))
        return real_apply(path, changes)

    monkeypatch.setattr(credentials, "_apply", counting_apply)
    results = await asyncio.gather(
        *(store.update("ws_a", "vault", {"token": f"v{i}", f"k{i}": i}) for i in range(50))
    )
    assert len(writes) <= 2  # the first save, then everything that queued behind it
    stored = store.load("ws_a", "vault")
    assert stored["token"] == "v49"  # arrival order: the last save wins
    assert all(stored[f"k{i}"] == i for i in range(50))
    assert results[-1] == stored
    assert store.lock_count == 0 and store._queued == {}


async def test_a_failing_guard_drops_only_its_own_save(store: CredentialStore) -> None:
    def refuse() -> None:
        raise NotFoundError("gone")

    first = asyncio.ensure_future(store.update("ws_a", "vault", {"a": "1"}))
    bad = asyncio.ensure_future(store.update("ws_a", "vault", {"b": "2"}, guard=refuse))
    good = asyncio.ensure_future(store.update("ws_a", "vault", {"c": "3"}))
    await first
    with pytest.raises(NotFoundError):
        await bad
    assert await good == {"a": "1", "c": "3"}
