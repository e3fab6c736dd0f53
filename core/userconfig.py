"""Checking ``user_config`` values against their manifest fields before anything is saved.

One function, :func:`prepare`, decides what a Configure save means: it rejects
the whole batch on the first unknown key or bad value, and otherwise returns
the normalised changes (``None`` = clear). Messages name the field's title and
never echo the value, because the value may be a secret.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from core.errors import ConfigError
from core.manifest import Manifest, UserConfigField

_CLEAR = object()

#: Longest text value, in UTF-8 bytes. Values reach the bundle as one argument or
#: environment string, which Linux caps at 128 KiB each (MAX_ARG_STRLEN) and
#: all together at ARG_MAX (often 2 MiB): a bigger value saves, then every start
#: fails with "Argument list too long" without naming the field.
MAX_VALUE_BYTES = 32 * 1024
#: Most items of a ``multiple`` field, and the most bytes they may add up to.
MAX_ITEMS = 256
MAX_LIST_BYTES = 256 * 1024


@dataclass(frozen=True)
class ListEdit:
    """A change to a stored list the caller is not shown (a sensitive ``multiple`` field).

    Keep the stored entries at ``keep`` (indices, in that order; None keeps them
    all), then append ``add``. Sending the new entries alone as a list replaced
    the stored ones: data loss. The credential store applies the edit under its
    lock, to the value on disk. ``seen`` is how many entries the caller was
    shown; when the store holds another number the save is refused rather than
    keeping the wrong ones.
    """

    keep: tuple[int, ...] | None = None
    add: tuple[Any, ...] = ()
    seen: int | None = None
    #: the field's title, for the error (set by :func:`prepare`)
    title: str = ""

    def apply(self, stored: Any) -> list[Any] | None:
        """The new list (None when it ends up empty); ConfigError on a stale ``seen``."""
        if isinstance(stored, list):
            current = list(stored)
        else:
            current = [] if stored is None or stored == "" else [stored]
        if self.seen is not None and len(current) != self.seen:
            name = f'"{self.title}"' if self.title else "A list"
            raise ConfigError(
                f"{name} changed while you edited it ({len(current)} entries stored now, "
                f"{self.seen} shown). Nothing was saved; reopen Configure and try again."
            )
        if self.keep is None:
            kept = current
        else:
            kept = [current[i] for i in self.keep if i < len(current)]
        return [*kept, *self.add] or None


def unknown_keys_problem(manifest: Manifest, keys: list[str]) -> str | None:
    unknown = [k for k in keys if k not in manifest.user_config]
    if not unknown:
        return None
    names = ", ".join(f'"{k}"' for k in unknown)
    if not manifest.user_config:
        return f"{manifest.label} has no settings; unknown key(s) {names}."
    allowed = ", ".join(manifest.user_config)
    return f"Unknown setting(s) {names} for {manifest.label}. Allowed keys: {allowed}."


def _number(field: UserConfigField, value: Any) -> tuple[Any, str | None]:
    title = field.title
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return None, f'"{title}" must be a number.'
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None, f'"{title}" must be a number.'
    try:
        finite = math.isfinite(value)  # an int past float range raises OverflowError
    except OverflowError:
        finite = False
    if not finite:
        return None, f'"{title}" must be a finite number.'
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    low, high = field.min, field.max
    if (low is not None and value < low) or (high is not None and value > high):
        if low is not None and high is not None:
            return None, f'"{title}" must be between {low:g} and {high:g}.'
        if low is not None:
            return None, f'"{title}" must be at least {low:g}.'
        return None, f'"{title}" must be at most {high:g}.'
    return value, None


def _scalar(field: UserConfigField, value: Any) -> tuple[Any, str | None]:
    """Normalise one (non-list) value for ``field``; (value, None) or (None, problem)."""
    title = field.title
    if field.type == "number":
        return _number(field, value)
    if field.type == "boolean":
        if isinstance(value, bool):
            return value, None
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true", None
        return None, f'"{title}" must be true or false.'
    if not isinstance(value, str):
        return None, f'"{title}" must be text.'
    if "\0" in value:
        return None, f'"{title}" cannot contain a NUL character.'
    if _size(value) > MAX_VALUE_BYTES:
        return None, f'"{title}" is longer than {MAX_VALUE_BYTES // 1024} KiB.'
    if field.type in ("directory", "file") and not os.path.isabs(os.path.expanduser(value)):
        # Relative to what? The console's working directory means nothing to the
        # administrator, and the bundle runs in its own folder: refuse, say why.
        return None, f'"{title}" must be a full path (starting with / or ~), not a relative one.'
    if field.type == "directory":
        path = os.path.expanduser(value)
        if not os.path.isdir(path):
            return None, f'"{title}" must be an existing folder.'
        return os.path.abspath(path), None
    if field.type == "file":
        path = os.path.expanduser(value)
        if not os.path.isfile(path):
            return None, f'"{title}" must be an existing file.'
        return os.path.abspath(path), None
    return value, None


def _size(value: Any) -> int:
    return (
        len(value.encode("utf-8", "surrogatepass")) if isinstance(value, str) else len(str(value))
    )


def _check(field: UserConfigField, value: Any) -> tuple[Any, str | None]:
    """(normalised value or _CLEAR, problem)."""
    if value is None or value == "":
        return _CLEAR, None
    if isinstance(value, ListEdit):
        return _check_edit(field, value)
    if field.multiple:
        if isinstance(value, str | bytes) or not isinstance(value, list | tuple):
            return None, f'"{field.title}" must be a list.'
        if len(value) > MAX_ITEMS:
            return None, f'"{field.title}" has more than {MAX_ITEMS} items.'
        items = []
        for item in value:
            if item is None or item == "":
                continue  # a blank row in the list editor
            normalised, problem = _scalar(field, item)
            if problem:
                return None, problem
            items.append(normalised)
        if sum(_size(item) for item in items) > MAX_LIST_BYTES:
            return None, f'"{field.title}" adds up to more than {MAX_LIST_BYTES // 1024} KiB.'
        return (items or _CLEAR), None
    return _scalar(field, value)


def _check_edit(field: UserConfigField, edit: ListEdit) -> tuple[Any, str | None]:
    """A :class:`ListEdit` of a ``multiple`` field: indices, then each added item."""
    title = field.title
    if not field.multiple:
        return None, f'"{title}" is not a list.'
    keep = edit.keep
    if keep is not None and (
        not all(isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in keep)
        or len(set(keep)) != len(keep)
        or (edit.seen is not None and any(i >= edit.seen for i in keep))
    ):
        return None, f'"{title}": the entries to keep are not valid.'
    if (len(keep) if keep is not None else (edit.seen or 0)) + len(edit.add) > MAX_ITEMS:
        return None, f'"{title}" has more than {MAX_ITEMS} items.'
    added = []
    for item in edit.add:
        if item is None or item == "":
            continue
        normalised, problem = _scalar(field, item)
        if problem:
            return None, problem
        added.append(normalised)
    if sum(_size(item) for item in added) > MAX_LIST_BYTES:
        return None, f'"{title}" adds up to more than {MAX_LIST_BYTES // 1024} KiB.'
    return ListEdit(None if keep is None else tuple(keep), tuple(added), edit.seen, title), None


def problems(manifest: Manifest, values: Mapping[str, Any]) -> list[str]:
    """Every reason ``values`` would be rejected ([] when the batch is valid)."""
    unknown = unknown_keys_problem(manifest, list(values))
    if unknown:
        return [unknown]
    found = []
    for key, value in values.items():
        _, problem = _check(manifest.user_config[key], value)
        if problem:
            found.append(problem)
    return found


def prepare(manifest: Manifest, values: Mapping[str, Any]) -> dict[str, Any | None]:
    """Validated changes for the credential store (None clears a key); raises ConfigError."""
    if not isinstance(values, Mapping):
        raise ConfigError("Settings must be given as a mapping of key to value.")
    found = problems(manifest, values)
    if found:
        raise ConfigError(" ".join(found), found)
    changes: dict[str, Any | None] = {}
    for key, value in values.items():
        normalised, _ = _check(manifest.user_config[key], value)
        changes[key] = None if normalised is _CLEAR else normalised
    return changes
