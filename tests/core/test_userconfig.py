"""Validating a Configure batch: all-or-nothing, messages name titles, never values."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from core.errors import ConfigError
from core.manifest import Manifest, parse_manifest
from core.userconfig import MAX_ITEMS, MAX_LIST_BYTES, MAX_VALUE_BYTES, prepare, problems
from tests.core.data.bundle_factory import with_config

SECRET = "hunter2-very-secret"


@pytest.fixture
def m() -> Manifest:
    fields = {
        "token": {"type": "string", "title": "API token", "sensitive": True, "required": True},
        "limit": {"type": "number", "title": "Max items", "min": 1, "max": 100},
        "floor": {"type": "number", "title": "Floor", "min": 0},
        "ro": {"type": "boolean", "title": "Read-only"},
        "dir": {"type": "directory", "title": "Notes folder"},
        "db": {"type": "file", "title": "Database"},
        "refs": {"type": "directory", "title": "Reference folders", "multiple": True},
        "tags": {"type": "string", "title": "Tags", "multiple": True},
    }
    return parse_manifest(json.dumps(with_config(fields)).encode(), "manifest.json")


def test_valid_batch_is_normalised(m: Manifest, tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    db.write_text("")
    changes = prepare(
        m,
        {
            "token": SECRET,
            "limit": "42",
            "floor": 2.0,
            "ro": "true",
            "dir": str(tmp_path),
            "db": str(db),
            "refs": [str(tmp_path), ""],
            "tags": ["a", "b"],
        },
    )
    assert changes == {
        "token": SECRET,
        "limit": 42,
        "floor": 2,
        "ro": True,
        "dir": str(tmp_path),
        "db": str(db),
        "refs": [str(tmp_path)],
        "tags": ["a", "b"],
    }


def test_empty_clears(m: Manifest) -> None:
    assert prepare(m, {"token": "", "refs": [], "limit": None}) == {
        "token": None,
        "refs": None,
        "limit": None,
    }


def test_unknown_keys_reject_the_batch_listing_allowed_keys(m: Manifest) -> None:
    with pytest.raises(ConfigError) as info:
        prepare(m, {"token": SECRET, "tokn": "x"})
    message = str(info.value)
    assert '"tokn"' in message
    assert "Allowed keys: token, limit, floor, ro, dir, db, refs, tags." in message
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"limit": 0}, '"Max items" must be between 1 and 100.'),
        ({"limit": 101.5}, '"Max items" must be between 1 and 100.'),
        ({"limit": True}, '"Max items" must be a number.'),
        ({"limit": "many"}, '"Max items" must be a number.'),
        ({"limit": float("nan")}, '"Max items" must be a finite number.'),
        ({"floor": -1}, '"Floor" must be at least 0.'),
        ({"ro": "yes"}, '"Read-only" must be true or false.'),
        ({"token": 12345}, '"API token" must be text.'),
        ({"token": f"{SECRET}\0"}, '"API token" cannot contain a NUL character.'),
        ({"dir": "/no/such/dir/x"}, '"Notes folder" must be an existing folder.'),
        ({"db": "/no/such/file"}, '"Database" must be an existing file.'),
        ({"refs": "/tmp"}, '"Reference folders" must be a list.'),
        ({"refs": ["/no/such/dir"]}, '"Reference folders" must be an existing folder.'),
        ({"tags": [SECRET, 3]}, '"Tags" must be text.'),
        # An int past float range: math.isfinite raised OverflowError, not a ConfigError.
        ({"limit": 10**400}, '"Max items" must be a finite number.'),
        ({"floor": -(10**400)}, '"Floor" must be a finite number.'),
        ({"limit": "1" + "0" * 400}, '"Max items" must be a finite number.'),
        # Past what one argv/env string may hold (MAX_ARG_STRLEN): refused at save time.
        ({"token": SECRET + "x" * MAX_VALUE_BYTES}, '"API token" is longer than 32 KiB.'),
        ({"tags": ["é" * (MAX_VALUE_BYTES // 2 + 1)]}, '"Tags" is longer than 32 KiB.'),
        ({"tags": ["t"] * (MAX_ITEMS + 1)}, f'"Tags" has more than {MAX_ITEMS} items.'),
        (
            {"tags": ["x" * MAX_VALUE_BYTES] * (MAX_LIST_BYTES // MAX_VALUE_BYTES + 1)},
            '"Tags" adds up to more than 256 KiB.',
        ),
    ],
)
def test_bad_value_names_the_title_never_the_value(
    m: Manifest, values: dict[str, Any], expected: str
) -> None:
    with pytest.raises(ConfigError) as info:
        prepare(m, {"token": SECRET, **values})
    assert str(info.value) == expected
    assert SECRET not in str(info.value)
    assert problems(m, {"token": SECRET, **values}) == [expected]


def test_problems_lists_every_bad_field(m: Manifest) -> None:
    assert problems(m, {"limit": 0, "ro": 3}) == [
        '"Max items" must be between 1 and 100.',
        '"Read-only" must be true or false.',
    ]
    assert problems(m, {"token": SECRET}) == []


def test_relative_paths_are_refused_not_resolved_against_our_cwd(
    m: Manifest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "notes").mkdir()
    monkeypatch.chdir(tmp_path)  # "notes" exists relative to the cwd: still refused
    message = '"Notes folder" must be a full path (starting with / or ~), not a relative one.'
    assert problems(m, {"dir": "notes"}) == [message]
    assert problems(m, {"refs": ["./notes"]})[0].startswith('"Reference folders" must be a full')
    assert problems(m, {"dir": str(tmp_path / "notes")}) == []
    monkeypatch.setenv("HOME", str(tmp_path))
    assert prepare(m, {"dir": "~/notes"}) == {"dir": str(tmp_path / "notes")}


def test_values_at_the_bounds_are_accepted(m: Manifest) -> None:
    big = "x" * MAX_VALUE_BYTES
    changes = prepare(m, {"token": big, "limit": 100, "floor": 10**300, "tags": ["t"] * MAX_ITEMS})
    assert changes["token"] == big and changes["floor"] == 10**300
