"""Update in place: what changes when a bundle already installed is installed again.

Installing a bundle whose manifest ``name`` a workspace already has is an
update of that entry, not a second copy: the server name, credentials and the
administrator's settings stay, the files move to the new version's folder, and
the previous folder stays on disk so :meth:`core.host.Host.rollback_bundle`
can go back until the next update. This module holds the plain-data side (the
plan shown before, the result after, the ``user_config`` difference); the
Host applies it under its structural lock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from core import userconfig
from core.launch import is_empty
from core.manifest import Manifest
from core.models import ConfigureResult
from core.secrets import is_marker

UpdateKind = Literal["update", "replace", "rollback"]


@dataclass(frozen=True)
class ConfigDiff:
    """How ``user_config`` differs between the installed and the new manifest (keys only)."""

    #: keys only the new version declares
    added: tuple[str, ...] = ()
    #: keys the new version no longer declares: their stored values are dropped
    removed: tuple[str, ...] = ()
    #: keys both declare whose stored value the new declaration rejects: dropped too
    incompatible: tuple[str, ...] = ()
    #: required in the new version, no stored value, no default: the bundle needs setup
    needs_setup: tuple[str, ...] = ()
    #: one line per change, in the administrator's words (never a value)
    notes: tuple[str, ...] = ()

    @property
    def dropped(self) -> tuple[str, ...]:
        return self.removed + self.incompatible


@dataclass(frozen=True)
class UpdatePlan:
    """What installing ``source`` over ``server_name`` would do (nothing written yet)."""

    ws_id: str
    server_name: str
    label: str
    old_version: str
    new_version: str
    #: "replace" when the versions are equal
    kind: UpdateKind
    diff: ConfigDiff
    source: str
    #: the entry is protected: the update is refused until it is unprotected
    protected: bool = False


@dataclass(frozen=True)
class UpdateResult:
    plan: UpdatePlan
    #: the credential-write outcome: "respawned", "saved_stopped", "needs_setup", "failed"...
    config: ConfigureResult
    #: the version that Roll back returns to (None: nothing to go back to)
    previous_version: str | None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def outcome(self) -> str:
        return self.config.outcome


def config_diff(old: Manifest, new: Manifest, stored: Mapping[str, Any]) -> ConfigDiff:
    """Compare declarations; ``stored`` (resolved values) decides what still fits.

    A value is kept when the new declaration accepts it, so a retitled field or
    a widened range loses nothing; only its key and title reach the notes.
    """
    added = tuple(k for k in new.user_config if k not in old.user_config)
    removed = tuple(k for k in old.user_config if k not in new.user_config)
    incompatible = tuple(
        k
        for k in new.user_config
        if k in old.user_config
        and not is_empty(stored.get(k))
        and not is_marker(stored[k])  # a keyring-held value that cannot be read now: kept
        and userconfig.problems(new, {k: stored[k]})
    )
    needs_setup = tuple(
        k
        for k, f in new.user_config.items()
        if f.required and is_empty(f.default) and (is_empty(stored.get(k)) or k in incompatible)
    )
    notes: list[str] = []
    for k in added:
        f = new.user_config[k]
        kind = "required" if f.required else "optional"
        notes.append(f"New {kind} setting: {new.field_label(k)}.")
    for k in removed:
        dropped = "; its value is dropped" if not is_empty(stored.get(k)) else ""
        notes.append(f"{old.field_label(k)}: no longer used by {new.version}{dropped}.")
    for k in incompatible:
        notes.append(
            f"{new.field_label(k)}: the stored value does not fit {new.version}; it is dropped."
        )
    if needs_setup:
        labels = ", ".join(new.field_label(k) for k in needs_setup)
        notes.append(f"Needs setup after the update: {labels}.")
    return ConfigDiff(added, removed, incompatible, needs_setup, tuple(notes))


def describe(plan: UpdatePlan) -> str:
    """One line: "Update Demo Vault 1.0.0 → 1.1.0" / "Replace Demo Vault 1.0.0"."""
    if plan.kind == "replace":
        return f"Replace {plan.label} {plan.old_version}"
    return f"Update {plan.label} {plan.old_version} → {plan.new_version}"
