"""Atomic writes leave old-or-new content, never a torn file; reads name the bad file."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from core import atomic
from core.atomic import atomic_write_json, read_json
from core.errors import DataError


def test_write_replaces_whole_file_with_mode_and_no_temp_left(tmp_path: Path) -> None:
    target = tmp_path / "x.json"
    atomic_write_json(target, {"a": 1}, mode=0o600)
    atomic_write_json(target, {"b": 2}, mode=0o600)
    assert json.loads(target.read_text()) == {"b": 2}
    assert target.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]


def test_failed_write_keeps_the_old_content(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "x.json"
    atomic_write_json(target, {"old": True})

    def broken_replace(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic.os, "replace", broken_replace)
    with pytest.raises(OSError, match="No space"):
        atomic_write_json(target, {"new": True})
    monkeypatch.undo()
    assert json.loads(target.read_text()) == {"old": True}
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]


def test_unserialisable_object_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(TypeError):
        atomic_write_json(tmp_path / "x.json", {"a": object()})
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b'{"a": ', "is not valid JSON (Expecting value at line 1 column 7)"),
        (b"\xff\xfe", "is not UTF-8 text"),
    ],
)
def test_read_errors_name_the_file(tmp_path: Path, content: bytes, problem: str) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(DataError) as info:
        read_json(path)
    assert str(info.value) == f"{path}: {problem}"
    assert path.read_bytes() == content  # kept as it was


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files regardless of mode")
def test_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "locked.json"
    path.write_text("{}")
    path.chmod(0)
    with pytest.raises(DataError, match="cannot be read"):
        read_json(path)


def test_links_below_the_data_dir_are_refused_the_data_dir_itself_may_be_one(
    tmp_path: Path,
) -> None:
    real = tmp_path / "real"
    (real / "logs").mkdir(parents=True)
    (tmp_path / "elsewhere").mkdir()
    data = tmp_path / "data"
    data.symlink_to(real)  # an administrator's choice: allowed
    atomic.refuse_links(data / "logs" / "ws_a" / "x.log", data)
    assert atomic.ensure_private_dir(data / "logs" / "ws_a", data).is_dir()
    (real / "logs" / "ws_b").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(DataError) as info:
        atomic.ensure_private_dir(data / "logs" / "ws_b" / "deeper", data)
    assert info.value.path == data / "logs" / "ws_b" and "symbolic link" in str(info.value)
    assert list((tmp_path / "elsewhere").iterdir()) == []
    with pytest.raises(ValueError):
        atomic.refuse_links(tmp_path / "other", data)
