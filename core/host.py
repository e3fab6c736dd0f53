"""``Host``: the data half of the console, wired to the lifecycle engine.

It owns workspaces, installed bundles and credentials, answers the engine's
``spec_provider`` at every spawn, and routes every credential write through
``lifecycle.respawn_bundle`` so there is one restart path. Structural changes
(install, uninstall, delete) are serialised by one lock; per-bundle credential
writes by the credential store's per-file locks.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import shutil
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core import bulk, bundles, demo, sandbox, settings, signatures, updates, userconfig
from core.atomic import PRIVATE_DIR_MODE, refuse_links, remove_stale_temps
from core.credentials import CredentialStore
from core.datalock import DataDirLock
from core.errors import (
    ConfigError,
    ConsoleError,
    DataError,
    InstallError,
    NotFoundError,
    WorkspaceError,
)
from core.history import HistoryRecorder
from core.launch import build_launch_spec, format_scalar, is_empty
from core.manifest import Manifest, load_manifest
from core.models import (
    ConfigureResult,
    LaunchError,
    LaunchSpec,
    NeedsSetup,
    RespawnResult,
    not_installed_message,
)
from core.paths import DataPaths, resolve_data_dir, validate_server_name, validate_ws_id
from core.secrets import KeyringUnavailable, SecretsStatus, is_marker
from core.states import BundleState
from core.workspaces import InstalledBundle, Workspace, WorkspaceStore, clean_name, derive_id

if TYPE_CHECKING:
    from core.lifecycle import BundleInstance, BundleLifecycleManager
    from core.orphans import OrphanRecord, ProcessRecords

log = logging.getLogger(__name__)

#: States in which a credential write must restart the process to take effect.
RESPAWN_STATES = frozenset(
    {BundleState.RUNNING, BundleState.STARTING, BundleState.CRASHED, BundleState.DEAD}
)
#: an icon larger than this is not shown (the details view and the table)
_MAX_ICON_BYTES = 1 << 20
_OUTCOMES = {
    "respawned": "respawned",
    "protected": "protected",
    "needs_setup": "needs_setup",
    "stopped": "saved_stopped",  # a Stop overtook the restart: saved, and stopped as asked
}


class Host:
    """Use :meth:`open`; the constructor does no I/O and starts nothing."""

    def __init__(
        self, data_dir: Path, *, limits: bundles.ArchiveLimits = bundles.DEFAULT_LIMITS
    ) -> None:
        self.paths = DataPaths(data_dir)
        self.load_errors: list[str] = []
        self._limits = limits
        self._store = WorkspaceStore(self.paths)
        self._credentials = CredentialStore(self.paths)
        self._workspaces: dict[str, Workspace] = {}
        self._manifests: dict[str, Manifest] = {}
        self._removing: set[tuple[str, str]] = set()
        #: (ws_id, server) -> did the administrator ask it to run *this session*
        #: (start/respawn/restore -> True, stop -> False). Unlike the bundle's state,
        #: this does not flicker to "stopped" in the middle of a respawn.
        self._intent: dict[tuple[str, str], bool] = {}
        self._mutate = asyncio.Lock()
        self._lifecycle: BundleLifecycleManager | None = None
        self._records: ProcessRecords | None = None
        #: what open() did about processes a killed console left running (log lines)
        self.reaped: list[str] = []
        self._closing = False
        self._lock: DataDirLock | None = None
        self._console_settings: settings.ConsoleSettings | None = None
        self._keyring_timeout = 5.0
        #: lifecycle events and config changes, kept across relaunches (core.history)
        self.history: HistoryRecorder | None = None

    # -- opening and closing ------------------------------------------------------

    @classmethod
    async def open(
        cls,
        data_dir: str | os.PathLike[str] | None = None,
        restore: bool = True,
        **lifecycle_options: Any,
    ) -> Host:
        """Load the data dir, register every installed bundle, restore the running ones.

        ``data_dir`` None means ``$BUNDLE_CONSOLE_HOME``, else the platform's user
        data dir. Unreadable files end up in ``load_errors``; the rest works.
        ``lifecycle_options`` go to BundleLifecycleManager, except
        ``archive_limits`` (a :class:`bundles.ArchiveLimits`) which caps installs,
        ``secrets`` ("auto", "keyring" or "file"; default ``$BUNDLE_CONSOLE_SECRETS``
        or "auto", see :mod:`core.secrets.choice`) and ``keyring_timeout`` (seconds
        before a keyring call is given up on).
        """
        from core.lifecycle import BundleLifecycleManager, LifecycleHooks
        from core.orphans import ProcessRecords, reap_orphans

        root = resolve_data_dir(data_dir)
        if not root.exists():
            root.mkdir(parents=True, mode=PRIVATE_DIR_MODE)
        host = cls(root, limits=lifecycle_options.pop("archive_limits", bundles.DEFAULT_LIMITS))
        secrets_choice = lifecycle_options.pop("secrets", None)
        host._keyring_timeout = lifecycle_options.pop("keyring_timeout", 5.0)
        # Reaping and the temp sweep below assume no other console uses this dir.
        host._lock = DataDirLock.acquire(root)
        try:
            host._load()
            host.load_errors += await host._credentials.open_secrets(
                secrets_choice, host._sensitive_map(), timeout=host._keyring_timeout
            )
            # A console that was killed left its bundles running: stop them before
            # anything starts again, or restore would run each bundle twice.
            records = ProcessRecords(host.paths.run_dir)
            host.reaped = await reap_orphans(records)
            await asyncio.to_thread(sandbox.availability)  # probe once, off the loop
            for message in host.reaped:
                log.warning("%s", message)
            lc = BundleLifecycleManager(
                host.spec_provider,
                host.paths.logs_dir,
                hooks=LifecycleHooks(on_desired=host._on_desired, on_process=host._on_process),
                **lifecycle_options,
            )
            host._lifecycle = lc
            host._records = records
            for ws in host._workspaces.values():
                for bundle in ws.bundles:
                    lc.register(bundle.server_name, ws.id, protected=bundle.protected)
                    lc.check_setup(bundle.server_name, ws.id)
                    host._learn_secrets(ws.id, bundle.server_name)
            # After the registrations: a relaunch is not a reinstall of every bundle.
            host.history = HistoryRecorder.open(root, lc)
            if host.history.store.problem is not None:
                host.load_errors.append(host.history.store.problem)
            if restore:
                await host.restore()
        except BaseException:
            await host.shutdown()  # stops what restore started, releases the lock
            raise
        return host

    async def restore(self) -> list[RespawnResult]:
        """Start, concurrently, every bundle whose persisted intent is to run.

        ``open(restore=True)`` calls it; a GUI that opens with ``restore=False``
        (to subscribe before the first event) calls it afterwards.
        """
        keys = [
            (b.server_name, ws.id)
            for ws in self._workspaces.values()
            for b in ws.bundles
            if b.desired_running
        ]
        return list(await asyncio.gather(*(self.lifecycle.start_bundle(*k) for k in keys)))

    def _load(self) -> None:
        # A console killed mid-write leaves the temp file of that write behind, maybe
        # with credentials in it: no write is in flight yet, so sweep them first.
        for ws_id in self._store.existing_ids():
            for directory in (self.paths.workspace_dir(ws_id), self.paths.credentials_dir(ws_id)):
                try:
                    for path in remove_stale_temps(directory, self.paths.root):
                        log.info("removed %s, left by an interrupted write", path)
                except DataError as exc:  # a link: load_all / scan report it as a load error
                    log.warning("%s; not swept", exc)
        try:
            for path in bundles.remove_stale_staging(self.paths.bundles_dir):
                log.info("removed %s, left by an interrupted install", path)
        except DataError as exc:
            self.load_errors.append(str(exc))
        self._workspaces, errors = self._store.load_all()
        self.load_errors.extend(errors)
        try:
            self._console_settings = settings.load_settings(self.paths.root)
        except DataError as exc:
            self.load_errors.append(str(exc))
        for ws in self._workspaces.values():
            for bundle in ws.bundles:
                try:
                    self._manifest_for(bundle)
                except ConsoleError as exc:
                    self.load_errors.append(str(exc))
            self.load_errors.extend(self._credentials.scan(ws.id))
        for message in self.load_errors:
            log.error("%s", message)

    async def shutdown(self) -> None:
        """Stop every bundle concurrently; desired states stay as they were for restore."""
        self._closing = True
        try:
            if self._lifecycle is not None:
                await self._lifecycle.shutdown()
        finally:
            if self.history is not None:
                self.history.close()
            self._credentials.close()
            if self._lock is not None:
                self._lock.release()

    @property
    def data_dir(self) -> Path:
        return self.paths.root

    @property
    def lifecycle(self) -> BundleLifecycleManager:
        if self._lifecycle is None:
            raise RuntimeError("Host.lifecycle is only available on a Host made by Host.open().")
        return self._lifecycle

    # -- workspaces -----------------------------------------------------------------

    def workspaces(self) -> list[Workspace]:
        """Copies, in name order: callers cannot change state behind the Host's back."""
        return [ws.model_copy(deep=True) for ws in sorted(self._workspaces.values(), key=_ws_key)]

    def workspace(self, ws_id: str) -> Workspace:
        return self._ws(ws_id).model_copy(deep=True)

    def has_any_workspace(self) -> bool:
        """Counts unreadable workspaces too (used to decide whether to seed the demo)."""
        return bool(self._workspaces) or bool(self._store.existing_ids())

    def workspace_name_problem(self, name: str, ws_id: str | None = None) -> str | None:
        """Why ``name`` cannot name a new workspace (or ``ws_id`` renamed), else None.

        The same rules as create/rename, for an editor's inline error.
        """
        try:
            self._check_name_free(clean_name(name), ws_id)
        except WorkspaceError as exc:
            return str(exc)
        return None

    def _check_name_free(self, name: str, ws_id: str | None = None) -> None:
        """Workspace names are unique ignoring case and spacing (``clean_name`` folds spaces)."""
        folded = name.casefold()
        for other in self._workspaces.values():
            if other.id != ws_id and other.name.casefold() == folded:
                raise WorkspaceError(
                    f'A workspace named "{other.name}" already exists. Choose another name.'
                )

    def create_workspace(self, name: str) -> Workspace:
        name = clean_name(name)
        self._check_name_free(name)
        ws_id = derive_id(name, set(self._workspaces) | self._store.existing_ids())
        ws = Workspace(id=ws_id, name=name)
        self._store.create_dir(ws_id)
        try:
            self._save(ws)
        except BaseException:
            self._store.delete(ws_id)
            raise
        self._workspaces[ws_id] = ws
        return ws.model_copy(deep=True)

    def rename_workspace(self, ws_id: str, new_name: str) -> Workspace:
        ws = self._ws(ws_id)
        name = clean_name(new_name)
        self._check_name_free(name, ws_id)
        renamed = ws.model_copy(update={"name": name})
        self._save(renamed)
        self._workspaces[ws_id] = renamed
        if self._lifecycle is not None:  # needs-setup messages quote the workspace name
            for bundle in renamed.bundles:
                self._lifecycle.check_setup(bundle.server_name, ws_id)
        return renamed.model_copy(deep=True)

    async def delete_workspace(self, ws_id: str) -> None:
        """Stop its bundles, then remove its credentials and its folder."""
        async with self._mutate:
            ws = self._ws(ws_id)
            keys = [(ws_id, b.server_name) for b in ws.bundles]
            self._removing.update(keys)
            try:
                await asyncio.gather(
                    *(self.lifecycle.unregister(b.server_name, ws_id) for b in ws.bundles)
                )
                await self._credentials.forget_workspace_items(ws_id)
                self._credentials.delete_workspace(ws_id)
                self._store.delete(ws_id)
                self._remove_ws_leftovers(ws_id)
                del self._workspaces[ws_id]
                for key in keys:
                    self._intent.pop(key, None)
            finally:
                self._removing.difference_update(keys)
            for bundle in ws.bundles:
                self._collect_bundle_dir(bundle.bundle_dir)
                if bundle.previous is not None:
                    self._collect_bundle_dir(bundle.previous.bundle_dir)

    def _remove_ws_leftovers(self, ws_id: str) -> None:
        """A deleted workspace leaves no logs/<ws_id> or run/<ws_id> behind (its
        bundles are stopped by now, so their process records are stale)."""
        for folder in (self.paths.logs_dir / ws_id, self.paths.run_dir / ws_id):
            try:
                refuse_links(folder, self.paths.root)  # rmtree must not follow logs/ or run/
                shutil.rmtree(folder)
            except FileNotFoundError:
                pass
            except DataError as exc:
                log.warning("%s; kept", exc)
            except OSError as exc:
                log.warning("cannot remove %s: %s", folder, exc)

    # -- bundles ----------------------------------------------------------------------

    async def install_bundle(
        self,
        ws_id: str,
        path: str | os.PathLike[str],
        server_name: str | None = None,
        *,
        protected: bool = False,
        allow_invalid_signature: bool = False,
    ) -> BundleInstance:
        """Install a bundle folder or ``.mcpb`` into a workspace (stopped, registered).

        Nothing is written unless every check passes. Non-blocking problems (a
        sensitive value in args...) are logged and kept in the workspace entry's
        ``warnings`` (see :meth:`install_warnings`). A ``.mcpb`` whose signature
        does not match is refused (:class:`SignatureError`) unless
        ``allow_invalid_signature`` says the administrator confirmed it; the
        override is recorded on the entry (:meth:`signature`).
        """
        source = _source_path(path)
        self._ws(ws_id)
        if server_name is not None:
            try:
                validate_server_name(server_name)
            except ConsoleError as exc:
                raise InstallError(str(exc)) from None
        inspected, runtime_warnings = await asyncio.to_thread(
            self._inspect, source, allow_invalid_signature
        )
        manifest = inspected.manifest
        signature = inspected.signature
        override_at: float | None = None
        if signature.status == "invalid":  # only reached with the override confirmed
            override_at = time.time()
            log.warning("installing %s despite an invalid signature (override)", source)
        async with self._mutate:
            ws = self._ws(ws_id)
            taken = {b.server_name for b in ws.bundles}
            if server_name is None:
                name = bundles.derive_server_name(manifest.name, taken)
            elif server_name in taken:
                raise InstallError(
                    f'Workspace "{ws.name}" already has a bundle named "{server_name}". '
                    "Choose another server name."
                )
            else:
                name = server_name
            placed = await asyncio.to_thread(self._stage_and_place, inspected, name)
            warnings = bundles.install_warnings(manifest) + runtime_warnings
            if override_at is not None:
                warnings.insert(
                    0,
                    f"Installed despite an invalid signature ({signature.problem}): "
                    "the administrator confirmed the override.",
                )
            entry = InstalledBundle(
                server_name=name,
                bundle_dir=f"bundles/{placed.dir_name}",
                version=manifest.version,
                protected=protected,
                warnings=warnings,
                source=str(source),
                signature=signature,
                signature_override_at=override_at,
            )
            try:
                # Values left by an earlier bundle of that name must not leak into this one.
                await self._credentials.delete(ws_id, name)
                # Re-read it: while we staged, a Start/Stop of another bundle (desired
                # state) or a rename saved a newer copy; writing the old one loses it.
                ws = self._ws(ws_id)
                updated = ws.model_copy(update={"bundles": [*ws.bundles, entry]})
                self._save(updated)
            except BaseException:
                if placed.created:
                    self._collect_bundle_dir(entry.bundle_dir)
                raise
            self._workspaces[ws_id] = updated
            self._manifests[placed.dir_name] = manifest
        for warning in warnings:
            log.warning("%s in %s: %s", name, ws_id, warning)
        inst = self.lifecycle.register(name, ws_id, protected=protected)
        self.lifecycle.check_setup(name, ws_id)
        return inst

    def _inspect(
        self, source: Path, allow_invalid_signature: bool
    ) -> tuple[bundles.Inspected, list[str]]:
        """In a thread: signature, archive and manifest checks, then the runtime checks."""
        from core.runtimes import runtime_warnings
        from core.signatures.trust import load_trust_store

        roots = load_trust_store([self.trusted_publishers_file])
        inspected = bundles.inspect_source(
            source, self._limits, roots, allow_invalid_signature=allow_invalid_signature
        )
        return inspected, runtime_warnings(inspected.manifest)

    @property
    def trusted_publishers_file(self) -> Path:
        """Extra roots (PEM) a signer may chain to, besides the system's CA bundle."""
        return self.paths.root / signatures.TRUSTED_PUBLISHERS_FILE

    def _stage_and_place(self, inspected: bundles.Inspected, name: str) -> bundles.Placed:
        bundles_dir = self.paths.bundles_dir
        created_dir = not bundles_dir.exists()
        staging = bundles.make_staging(bundles_dir)
        try:
            content = bundles.stage(inspected, staging, self._limits)
            return bundles.place(content, bundles_dir, name, inspected.manifest.version)
        finally:
            bundles.remove_tree(staging)
            if created_dir:  # succeeds only when empty, i.e. the install failed
                with contextlib.suppress(OSError):
                    bundles_dir.rmdir()

    async def uninstall_bundle(self, ws_id: str, server_name: str, *, force: bool = False) -> None:
        """Stop and forget a bundle in one workspace; its files stay while others use them.

        A protected bundle is refused unless ``force`` (protection guards tear-down).
        """
        async with self._mutate:
            ws, bundle = self._bundle(ws_id, server_name)
            if bundle.protected and not force:
                raise InstallError(
                    f'Bundle "{server_name}" is protected in workspace "{ws.name}": '
                    "uninstall refused."
                )
            key = (ws_id, server_name)
            self._removing.add(key)
            try:
                await self.lifecycle.unregister(server_name, ws_id)
                await self._credentials.delete(ws_id, server_name)
                ws = self._ws(ws_id)
                updated = ws.model_copy(
                    update={"bundles": [b for b in ws.bundles if b.server_name != server_name]}
                )
                self._save(updated)
                self._workspaces[ws_id] = updated
                self._intent.pop(key, None)
            finally:
                self._removing.discard(key)
            self._collect_bundle_dir(bundle.bundle_dir)
            if bundle.previous is not None:
                self._collect_bundle_dir(bundle.previous.bundle_dir)

    def _collect_bundle_dir(self, rel: str) -> None:
        """Delete an unpacked bundle nobody references (never while a workspace is unreadable).

        A previous version kept for Roll back counts as a reference.
        """
        if any(
            rel in (b.bundle_dir, b.previous.bundle_dir if b.previous else None)
            for ws in self._workspaces.values()
            for b in ws.bundles
        ):
            return
        if set(self._store.existing_ids()) - set(self._workspaces):
            log.info("keeping %s: an unreadable workspace may still use it", rel)
            return
        self._manifests.pop(rel.removeprefix("bundles/"), None)
        folder = self.paths.bundle_dir(rel)
        try:
            refuse_links(folder, self.paths.root)  # rmtree would delete what bundles/ links to
        except DataError as exc:
            log.warning("%s; kept", exc)
            return
        bundles.remove_tree(folder)

    def set_protected(
        self, ws_id: str, server_name: str, protected: bool, *, via: str = "api"
    ) -> InstalledBundle:
        """Protect (or unprotect) a bundle: a protected one refuses restarts and uninstall.

        Saved in workspace.json first, then applied to the live instance, so a
        failed write changes nothing.
        """
        ws, bundle = self._bundle(ws_id, server_name)
        changed = bundle.model_copy(update={"protected": bool(protected)})
        updated = ws.model_copy(
            update={"bundles": [changed if b is bundle else b for b in ws.bundles]}
        )
        self._save(updated)
        self._workspaces[ws_id] = updated
        inst = self.lifecycle.get_instance(server_name, ws_id)
        if inst is not None:
            inst.protected = bool(protected)
        if self.history is not None and bundle.protected != changed.protected:
            self.history.config_changed(ws_id, server_name, ["protected"], via)
        return changed.model_copy(deep=True)

    # -- update in place and roll back (core.updates) -------------------------------

    def installed_as(self, ws_id: str, manifest_name: str) -> str | None:
        """The server name under which the workspace has a bundle of that manifest name.

        With several copies, the one installed under the derived name wins, else the first.
        """
        ws = self._ws(ws_id)
        matches = []
        for b in ws.bundles:
            try:
                if self._manifest_for(b).name == manifest_name:
                    matches.append(b.server_name)
            except ConsoleError:
                continue
        if not matches:
            return None
        derived = bundles.derive_server_name(manifest_name, set())
        return derived if derived in matches else matches[0]

    async def plan_update(
        self,
        ws_id: str,
        path: str | os.PathLike[str],
        *,
        allow_invalid_signature: bool = False,
    ) -> updates.UpdatePlan | None:
        """What installing ``path`` would update, or None when it is new to the workspace.

        Runs every install check (a bad source raises as :meth:`install_bundle` does)
        and writes nothing. The GUI and the CLI ask this first: an installed name is
        updated in place; a second copy is only made when the administrator says so.
        """
        source = _source_path(path)
        self._ws(ws_id)
        inspected, _ = await asyncio.to_thread(self._inspect, source, allow_invalid_signature)
        server_name = self.installed_as(ws_id, inspected.manifest.name)
        if server_name is None:
            return None
        return self._plan(ws_id, server_name, inspected.manifest, str(source))

    def _plan(
        self, ws_id: str, server_name: str, new: Manifest, source: str, kind: str | None = None
    ) -> updates.UpdatePlan:
        _ws, bundle = self._bundle(ws_id, server_name)
        old = self._manifest_for(bundle)
        try:
            stored = self._credentials.load(ws_id, server_name)
        except KeyringUnavailable:  # markers count as set; their values are kept
            stored = self._credentials.load_raw(ws_id, server_name)
        return updates.UpdatePlan(
            ws_id=ws_id,
            server_name=server_name,
            label=new.label,
            old_version=old.version,
            new_version=new.version,
            kind=kind or ("replace" if old.version == new.version else "update"),  # type: ignore[arg-type]
            diff=updates.config_diff(old, new, stored),
            source=source,
            protected=bundle.protected,
        )

    async def update_bundle(
        self,
        ws_id: str,
        server_name: str,
        path: str | os.PathLike[str],
        *,
        allow_invalid_signature: bool = False,
    ) -> updates.UpdateResult:
        """Install ``path`` over an installed bundle of the same manifest name, in place.

        The server name, credentials, protection, network and isolation settings
        stay; values of settings the new version dropped (or no longer accepts) are
        removed. The previous folder stays on disk for :meth:`rollback_bundle` until
        the next update. A live bundle is restarted through ``respawn_bundle``; a
        stopped one stays stopped. Refused (InstallError, nothing written) for a
        protected bundle or a bundle of another name.
        """
        source = _source_path(path)
        self._bundle(ws_id, server_name)
        inspected, runtime_warnings = await asyncio.to_thread(
            self._inspect, source, allow_invalid_signature
        )
        manifest, signature = inspected.manifest, inspected.signature
        override_at = time.time() if signature.status == "invalid" else None
        async with self._mutate:
            ws, current = self._bundle(ws_id, server_name)
            old = self._manifest_for(current)
            if current.protected:
                raise InstallError(
                    f'Bundle "{old.label}" is protected in workspace "{ws.name}": update '
                    "refused. Unprotect it first."
                )
            if manifest.name != old.name:
                raise InstallError(
                    f'{source} is the bundle "{manifest.name}", not "{old.name}": it cannot '
                    "update it. Install it as a second copy instead."
                )
            plan = self._plan(ws_id, server_name, manifest, str(source))
            placed = await asyncio.to_thread(self._stage_and_place, inspected, server_name)
            warnings = bundles.install_warnings(manifest) + runtime_warnings
            if override_at is not None:
                warnings.insert(
                    0,
                    f"Installed despite an invalid signature ({signature.problem}): "
                    "the administrator confirmed the override.",
                )
            new_dir = f"bundles/{placed.dir_name}"
            # Identical content reinstalled: the version to go back to stays what it was.
            previous = (
                current.previous
                if new_dir == current.bundle_dir
                else current.model_copy(update={"previous": None})
            )
            entry = current.model_copy(
                update={
                    "bundle_dir": new_dir,
                    "version": manifest.version,
                    "warnings": warnings,
                    "source": str(source),
                    "installed_at": time.time(),
                    "signature": signature,
                    "signature_override_at": override_at,
                    "previous": previous,
                }
            )
            try:
                self._replace_entry(ws_id, entry)
            except BaseException:
                if placed.created:
                    self._collect_bundle_dir(new_dir)
                raise
            self._manifests[placed.dir_name] = manifest
            stored = await self._drop_values(ws_id, server_name, plan.diff.dropped)
        # The version before the previous one is no longer reachable: free its folder.
        if current.previous is not None and previous is not current.previous:
            self._collect_bundle_dir(current.previous.bundle_dir)
        for warning in warnings:
            log.warning("%s in %s: %s", server_name, ws_id, warning)
        log.info("%s in %s: %s", server_name, ws_id, updates.describe(plan))
        if self.history is not None:
            self.history.note(
                ws_id, server_name, "update", updates.describe(plan), plan.diff.dropped
            )
        self._learn_secrets(ws_id, server_name, manifest)
        config = await self._apply_config(ws_id, server_name, manifest, stored)
        return updates.UpdateResult(
            plan, config, previous.version if previous else None, plan.diff.notes
        )

    async def rollback_bundle(self, ws_id: str, server_name: str) -> updates.UpdateResult:
        """Go back to the version the last update replaced (its folder was kept).

        Settings the rolled-back version does not know are dropped as in an update;
        values the update dropped are not brought back (the bundle may need setup).
        The newer folder is removed unless another entry uses it. A live bundle is
        restarted through ``respawn_bundle``.
        """
        async with self._mutate:
            ws, current = self._bundle(ws_id, server_name)
            now = self._manifest_for(current)
            if current.protected:
                raise InstallError(
                    f'Bundle "{now.label}" is protected in workspace "{ws.name}": roll back '
                    "refused. Unprotect it first."
                )
            prev = current.previous
            if prev is None:
                raise InstallError(
                    f'Bundle "{now.label}" in workspace "{ws.name}" has no previous version '
                    "to roll back to (an update keeps one until the next update)."
                )
            target = self._manifest_for(prev)  # DataError naming the folder if it is gone
            plan = self._plan(ws_id, server_name, target, prev.source, kind="rollback")
            entry = prev.model_copy(
                update={
                    "protected": current.protected,
                    "desired_running": current.desired_running,
                    "network": current.network,
                    "isolated": current.isolated,
                    "previous": None,
                }
            )
            self._replace_entry(ws_id, entry)
            stored = await self._drop_values(ws_id, server_name, plan.diff.dropped)
        self._collect_bundle_dir(current.bundle_dir)
        log.info("%s in %s: rolled back %s → %s", server_name, ws_id, now.version, prev.version)
        if self.history is not None:
            text = f"Rolled back {now.label} {now.version} → {prev.version}"
            self.history.note(ws_id, server_name, "rollback", text, plan.diff.dropped)
        self._learn_secrets(ws_id, server_name, target)
        config = await self._apply_config(ws_id, server_name, target, stored)
        return updates.UpdateResult(plan, config, None, plan.diff.notes)

    def previous_version(self, ws_id: str, server_name: str) -> str | None:
        """The version Roll back would return to (None: no update to undo)."""
        previous = self._bundle(ws_id, server_name)[1].previous
        return previous.version if previous is not None else None

    def _replace_entry(self, ws_id: str, entry: InstalledBundle) -> None:
        ws = self._ws(ws_id)  # re-read: a Start/Stop may have saved a newer copy meanwhile
        entry = entry.model_copy(
            update={"desired_running": ws.bundle(entry.server_name).desired_running}  # type: ignore[union-attr]
        )
        updated = ws.model_copy(
            update={
                "bundles": [entry if b.server_name == entry.server_name else b for b in ws.bundles]
            }
        )
        self._save(updated)
        self._workspaces[ws_id] = updated

    async def _drop_values(
        self, ws_id: str, server_name: str, keys: tuple[str, ...]
    ) -> dict[str, Any]:
        """Remove stored values of settings the installed version does not take."""
        if keys:
            try:
                return await self._credentials.update(
                    ws_id,
                    server_name,
                    dict.fromkeys(keys),
                    guard=lambda: self._require_installed(ws_id, server_name),
                )
            except ConsoleError as exc:  # inert: the manifest no longer declares them
                log.warning("%s in %s: dropped values stay stored (%s)", server_name, ws_id, exc)
        return self._credentials.load_raw(ws_id, server_name)

    def install_warnings(self, ws_id: str, server_name: str) -> list[str]:
        return list(self._bundle(ws_id, server_name)[1].warnings)

    def bundle_details(self, ws_id: str, server_name: str) -> dict[str, Any]:
        """What the details view and ``status`` show about where a bundle came from.

        Plain data: provenance (signature verdict and summary, any override),
        install warnings (official-schema problems among them) and the manifest's
        metadata for the administrator.
        """
        _ws, bundle = self._bundle(ws_id, server_name)
        m = self._manifest_for(bundle)
        sig = bundle.signature
        return {
            "signature": sig.summary if sig is not None else "Not checked (installed earlier)",
            "signature_info": sig.model_dump() if sig is not None else None,
            "signature_override_at": bundle.signature_override_at,
            "warnings": list(bundle.warnings),
            "source": bundle.source,
            "name": m.name,
            "display_name": m.label,
            "version": m.version,
            "description": m.description,
            "long_description": m.long_description,
            "author": m.author.model_dump(exclude_none=True),
            "license": m.license,
            "homepage": m.homepage,
            "documentation": m.documentation,
            "support": m.support,
            "privacy_policies": list(m.privacy_policies),
            "repository": m.repository.model_dump() if m.repository else None,
            "keywords": list(m.keywords),
            "icon": m.icon,
            "icons": [i.model_dump(exclude_none=True) for i in m.icons],
            "screenshots": list(m.screenshots),
            "localization": m.localization.model_dump() if m.localization else None,
            "compatibility": (
                m.compatibility.model_dump(exclude_none=True) if m.compatibility else None
            ),
            "installed_at": bundle.installed_at,
            "bundle_dir": str(self.paths.bundle_dir(bundle.bundle_dir)),
            "previous_version": bundle.previous.version if bundle.previous else None,
        }

    def bundle_icon(self, ws_id: str, server_name: str, size: int = 32) -> bytes | None:
        """The manifest's icon file (bytes), the ``icons`` entry nearest ``size`` first.

        For the details view and the bundle table: the GUI never reads the data dir
        itself. None when the manifest names none, or the file is missing, larger
        than 1 MiB, or resolves outside the bundle folder.
        """
        _ws, bundle = self._bundle(ws_id, server_name)
        m = self._manifest_for(bundle)
        root = self.paths.bundle_dir(bundle.bundle_dir)

        def distance(icon: Any) -> int:
            width = icon.size.split("x")[0]
            return abs(int(width) - size) if width.isdigit() else 10_000

        candidates = [i.src for i in sorted(m.icons, key=distance) if i.theme in (None, "light")]
        if m.icon:
            candidates.append(m.icon)
        real_root = os.path.realpath(root)
        for rel in candidates:
            path = os.path.realpath(root / rel)
            if not path.startswith(real_root + os.sep):
                continue
            try:
                with open(path, "rb") as handle:
                    data = handle.read(_MAX_ICON_BYTES + 1)
            except OSError:
                continue
            if data and len(data) <= _MAX_ICON_BYTES:
                return data
        return None

    def signature(self, ws_id: str, server_name: str) -> signatures.SignatureInfo | None:
        """What the signature check said at install (None for entries older than the check)."""
        return self._bundle(ws_id, server_name)[1].signature

    def manifest(self, ws_id: str, server_name: str) -> Manifest:
        return self._manifest_for(self._bundle(ws_id, server_name)[1])

    def bundle_path(self, ws_id: str, server_name: str) -> Path:
        return self.paths.bundle_dir(self._bundle(ws_id, server_name)[1].bundle_dir)

    # -- bulk actions (core.bulk) -------------------------------------------------------

    async def start_all(self, ws_id: str) -> bulk.BulkResult:
        """Start every bundle of the workspace, paced like a mass start (see core.bulk)."""
        return await self._bulk(ws_id, "start")

    async def stop_all(self, ws_id: str) -> bulk.BulkResult:
        """Stop every bundle of the workspace; protected ones are left running."""
        return await self._bulk(ws_id, "stop")

    async def restart_all(self, ws_id: str) -> bulk.BulkResult:
        """Respawn every live bundle of the workspace; stopped ones stay stopped."""
        return await self._bulk(ws_id, "restart")

    async def _bulk(self, ws_id: str, verb: bulk.BulkVerb) -> bulk.BulkResult:
        ws = self._ws(ws_id)
        lc = self.lifecycle

        async def one(b: InstalledBundle) -> bulk.BulkItem:
            try:
                m = self._manifest_for(b)
                # a second copy is told apart by its server name, as in the table
                label = m.label if b.server_name == m.name else f"{m.label} ({b.server_name})"
            except ConsoleError:
                label = b.server_name
            inst = lc.get_instance(b.server_name, ws_id)
            if verb == "start":
                result = await lc.start_bundle(b.server_name, ws_id)
            elif inst is not None and inst.protected:
                result = RespawnResult(False, f"{label} is protected.", "protected")
            elif verb == "stop":
                result = await lc.stop_bundle(b.server_name, ws_id)
            elif inst is None or not (
                inst.state in RESPAWN_STATES or self._intent.get((ws_id, b.server_name))
            ):
                return bulk.BulkItem(b.server_name, label, None)
            else:
                result = await lc.respawn_bundle(b.server_name, ws_id)
            return bulk.BulkItem(b.server_name, label, result)

        items = await asyncio.gather(*(one(b) for b in ws.bundles))
        outcome = bulk.BulkResult(verb, ws_id, ws.name, tuple(items))
        log.info("%s", outcome.summary())
        return outcome

    # -- host environment passthrough ------------------------------------------------

    def env_passthrough(self, ws_id: str | None = None) -> list[str]:
        """Extra host variables passed to bundles: the global list, or one workspace's own."""
        if ws_id is None:
            return list(self._settings().env_passthrough)
        return list(self._ws(ws_id).env_passthrough)

    def set_env_passthrough(self, names: list[str], ws_id: str | None = None) -> list[str]:
        """Replace the global (``ws_id`` None) or a workspace's list; applies at the next start.

        Proxy and CA variables (``core.launch.NETWORK_ENV``) pass without being listed.
        """
        try:
            cleaned = settings.clean_env_names(names)
        except ConsoleError as exc:
            raise ConfigError(str(exc), [str(exc)]) from None
        if ws_id is None:
            current = self._settings()
            updated_settings = current.model_copy(update={"env_passthrough": cleaned})
            try:
                settings.save_settings(self.paths.root, updated_settings)
            except OSError as exc:
                raise DataError(
                    self.paths.root / settings.SETTINGS_FILE, f"cannot be written ({exc})"
                ) from exc
            self._console_settings = updated_settings
            return cleaned
        ws = self._ws(ws_id)
        updated = ws.model_copy(update={"env_passthrough": cleaned})
        self._save(updated)
        self._workspaces[ws_id] = updated
        return cleaned

    def effective_env_passthrough(self, ws_id: str) -> list[str]:
        """Global list then the workspace's, without repeats (what the next spawn uses)."""
        names = list(self._settings().env_passthrough)
        ws = self._workspaces.get(ws_id)
        for name in ws.env_passthrough if ws else []:
            if name not in names:
                names.append(name)
        return names

    def _settings(self) -> settings.ConsoleSettings:
        if self._console_settings is None:
            try:
                self._console_settings = settings.load_settings(self.paths.root)
            except DataError as exc:  # reported at open; bundles get the built-in list
                log.error("%s", exc)
                return settings.ConsoleSettings()
        return self._console_settings

    # -- user_config ----------------------------------------------------------------

    def config_status(self, ws_id: str, server_name: str) -> dict[str, bool]:
        """Per key: does the credential store hold a value (defaults do not count)."""
        manifest = self.manifest(ws_id, server_name)
        stored = self._credentials.load_raw(ws_id, server_name)  # keyring markers count as set
        return _populated(manifest, stored)

    def config_values(self, ws_id: str, server_name: str) -> dict[str, object]:
        """Stored values of NON-sensitive fields, to pre-fill the Configure form."""
        manifest = self.manifest(ws_id, server_name)
        stored = self._credentials.load_raw(ws_id, server_name)
        return {
            k: v
            for k, v in stored.items()
            if k in manifest.user_config
            and not manifest.user_config[k].sensitive
            and not is_marker(v)
        }

    def config_counts(self, ws_id: str, server_name: str) -> dict[str, int | None]:
        """Per ``multiple`` field: how many entries are stored (None: in a keyring this
        console cannot read now). Lets a form show a sensitive list without its values."""
        manifest = self.manifest(ws_id, server_name)
        stored = self._credentials.load_raw(ws_id, server_name)
        counts: dict[str, int | None] = {}
        for key, spec in manifest.user_config.items():
            if not spec.multiple:
                continue
            value = stored.get(key)
            if is_marker(value):
                try:
                    value = self._credentials.load(ws_id, server_name).get(key)
                except KeyringUnavailable:
                    counts[key] = None
                    continue
            counts[key] = len(value) if isinstance(value, list) else int(not is_empty(value))
        return counts

    def validate_user_config(
        self, ws_id: str, server_name: str, values: Mapping[str, Any]
    ) -> list[str]:
        """What :meth:`set_user_config` would reject, without writing ([] = valid)."""
        return userconfig.problems(self.manifest(ws_id, server_name), values)

    async def set_user_config(
        self, ws_id: str, server_name: str, values: Mapping[str, Any], *, via: str = "api"
    ) -> ConfigureResult:
        """Save values ("" clears one; omitted keys untouched), then respawn if it was live.

        The whole batch is rejected (ConfigError) before any write if one key or
        value is bad. A running/starting/crashed/dead bundle is respawned, and so
        is one the administrator asked to run this session (a Start refused for
        missing setup, or a respawn in flight whose state reads "stopped" for a
        moment: the write must still reach a process). A bundle stopped by choice
        (even while that stop is still in progress) or never started is only saved
        ("saved_stopped"); its setup badge refreshes.
        """
        manifest = self.manifest(ws_id, server_name)
        changes = userconfig.prepare(manifest, values)
        stored = await self._credentials.update(
            ws_id,
            server_name,
            changes,
            guard=lambda: self._require_installed(ws_id, server_name),
            sensitive=frozenset(manifest.sensitive_keys()),
        )
        self._learn_secrets(ws_id, server_name, manifest, stored)
        if self.history is not None:  # which keys, who, through what: never a value
            self.history.config_changed(ws_id, server_name, changes, via)
        return await self._apply_config(ws_id, server_name, manifest, stored)

    async def clear_user_config(
        self, ws_id: str, server_name: str, *, via: str = "api"
    ) -> ConfigureResult:
        """Remove every stored value for the bundle; a live bundle is respawned like a save."""
        manifest = self.manifest(ws_id, server_name)
        cleared: list[str] = []
        with contextlib.suppress(DataError):  # a corrupt file is cleared all the same
            cleared = list(self._credentials.load_raw(ws_id, server_name))
        await self._credentials.clear(ws_id, server_name)
        if self.history is not None:
            self.history.config_changed(ws_id, server_name, cleared, via)
        return await self._apply_config(ws_id, server_name, manifest, {})

    async def _apply_config(
        self, ws_id: str, server_name: str, manifest: Manifest, stored: Mapping[str, Any]
    ) -> ConfigureResult:
        populated = _populated(manifest, stored)
        lc = self.lifecycle
        inst = lc.get_instance(server_name, ws_id)
        wants_running = self._intent.get((ws_id, server_name))
        # A Stop already requested wins even while its process is still running or
        # stopping (the state lags the intent): a save must not revive the bundle.
        if (
            inst is None
            or wants_running is False
            or not (inst.state in RESPAWN_STATES or wants_running)
        ):
            lc.check_setup(server_name, ws_id)
            return ConfigureResult(populated, None, "saved_stopped")
        result: RespawnResult = await lc.respawn_bundle(server_name, ws_id)
        outcome = "respawned" if result.ok else _OUTCOMES.get(result.outcome, "failed")
        return ConfigureResult(populated, result, outcome)

    def _learn_secrets(
        self,
        ws_id: str,
        server_name: str,
        manifest: Manifest | None = None,
        stored: Mapping[str, Any] | None = None,
    ) -> None:
        """Hand every stored sensitive value to the console-wide redactor.

        A bundle that needs setup never builds a launch spec, yet its stored values
        must be masked in every other bundle's texts too (core.redact).
        """
        try:
            manifest = manifest or self.manifest(ws_id, server_name)
            if stored is None or any(is_marker(v) for v in stored.values()):
                stored = self._credentials.load(ws_id, server_name)  # keyring values resolved
        except Exception:  # unreadable: reported elsewhere (load_errors)
            return
        values: list[str] = []
        for key in manifest.sensitive_keys():
            value = stored.get(key)
            for item in value if isinstance(value, list) else [value]:
                if not is_empty(item):
                    values.append(format_scalar(item))
        self.lifecycle.redactor.add(values)

    # -- the engine's seam --------------------------------------------------------------

    def spec_provider(self, server_name: str, ws_id: str) -> LaunchSpec:
        """Resolve the launch now (credentials read fresh). Raises NeedsSetup/LaunchError only."""
        ws = self._workspaces.get(ws_id)
        bundle = ws.bundle(server_name) if ws else None
        if ws is None or bundle is None or (ws_id, server_name) in self._removing:
            raise LaunchError(not_installed_message(server_name, ws.name if ws else ws_id))
        try:
            manifest = self._manifest_for(bundle)
            stored = self._credentials.load(ws_id, server_name)
            spec = build_launch_spec(
                manifest,
                self.paths.bundle_dir(bundle.bundle_dir),
                stored,
                ws_id=ws_id,
                server_name=server_name,
                ws_name=ws.name,
                env_passthrough=self.effective_env_passthrough(ws_id),
            )
            policy = sandbox.default_policy(
                self.paths.root,
                self.paths.bundle_dir(bundle.bundle_dir),
                network=bundle.network,
                enabled=bundle.isolated,
            )
            return dataclasses.replace(spec, sandbox=policy)
        except LaunchError:
            raise
        except KeyringUnavailable as exc:  # locked at open: not a crash, the UI asks for setup
            raise NeedsSetup(str(exc)) from None
        except ConsoleError as exc:
            raise LaunchError(str(exc)) from None
        except Exception as exc:  # the engine only expects LaunchError: never leak others
            log.exception("resolving the launch of %s in %s failed", server_name, ws_id)
            raise LaunchError(f"{server_name}: cannot prepare the launch ({exc}).") from None

    def _on_desired(self, server_name: str, ws_id: str, running: bool) -> None:
        """Persist the administrator's intent so the next open restores it."""
        self._intent[(ws_id, server_name)] = running
        if self._closing:
            return
        ws = self._workspaces.get(ws_id)
        bundle = ws.bundle(server_name) if ws else None
        if ws is None or bundle is None or bundle.desired_running == running:
            return
        updated = ws.model_copy(
            update={
                "bundles": [
                    b.model_copy(update={"desired_running": running})
                    if b.server_name == server_name
                    else b
                    for b in ws.bundles
                ]
            }
        )
        self._save(updated)
        self._workspaces[ws_id] = updated

    def _on_process(self, server_name: str, ws_id: str, record: OrphanRecord | None) -> None:
        """Keep <data>/run in step with live bundle processes (for reap after a crash)."""
        if self._records is None:
            return
        if record is None:
            self._records.forget(ws_id, server_name)
        else:
            self._records.record(record)

    # -- secrets at rest (core.secrets) ---------------------------------------------------

    def secrets_status(self) -> SecretsStatus:
        """Keyring or 0600 file, and why: for the details pane, ``status``, the status bar."""
        return self._credentials.secrets

    async def move_secrets_to_file(self) -> int:
        """Every keyring-held value back into its 0600 file, items deleted; returns the count.

        The data dir remembers the choice: later opens keep the file store.
        """
        async with self._mutate:
            return await self._credentials.move_to_file(self._sensitive_map())

    async def move_secrets_to_keyring(self) -> list[str]:
        """Use the keyring again (undoes move-to-file) and migrate the files into it."""
        async with self._mutate:
            problems = await self._credentials.move_to_keyring(
                self._sensitive_map(), timeout=self._keyring_timeout
            )
        if self._lifecycle is not None:
            for ws in self._workspaces.values():
                for b in ws.bundles:
                    self._lifecycle.check_setup(b.server_name, ws.id)
        return problems

    def _sensitive_map(self) -> dict[tuple[str, str], frozenset[str]]:
        found: dict[tuple[str, str], frozenset[str]] = {}
        for ws in self._workspaces.values():
            for b in ws.bundles:
                try:
                    found[(ws.id, b.server_name)] = frozenset(
                        self._manifest_for(b).sensitive_keys()
                    )
                except ConsoleError:
                    found[(ws.id, b.server_name)] = frozenset()
        return found

    # -- demo -------------------------------------------------------------------------

    async def seed_demo(self) -> Workspace | None:
        """Create "Demo" with every bundle under resources/bundles, on an empty data dir."""
        return await demo.seed(self)

    # -- isolation (core.sandbox) ---------------------------------------------------------

    def isolation(self, ws_id: str, server_name: str) -> sandbox.Isolation:
        """How the bundle runs confined: its live process's, else what a start would get."""
        _, bundle = self._bundle(ws_id, server_name)
        inst = self.lifecycle.get_instance(server_name, ws_id)
        if inst is not None and inst.isolation is not None:
            return inst.isolation
        return sandbox.planned_isolation(bundle.network, bundle.isolated)

    def sandbox_settings(self, ws_id: str, server_name: str) -> tuple[sandbox.Network, bool]:
        """``(network, isolated)`` as stored with the workspace."""
        _, bundle = self._bundle(ws_id, server_name)
        return bundle.network, bundle.isolated

    def set_sandbox(
        self,
        ws_id: str,
        server_name: str,
        *,
        network: sandbox.Network | None = None,
        isolated: bool | None = None,
        via: str = "api",
    ) -> bool:
        """Store the network switch / isolation toggle; True if anything changed.

        Takes effect at the next (re)start: Save in Configure respawns a live bundle.
        Turning isolation off is the caller's to confirm with the administrator.
        """
        if network is not None and network not in ("allowed", "blocked"):
            raise ConsoleError(f"Network must be 'allowed' or 'blocked', not {network!r}.")
        ws, bundle = self._bundle(ws_id, server_name)
        old = (bundle.network, bundle.isolated)
        new = (network or bundle.network, bundle.isolated if isolated is None else isolated)
        if new == old:
            return False
        bundle.network, bundle.isolated = new
        try:
            self._save(ws)
        except DataError:
            bundle.network, bundle.isolated = old
            raise
        if self.history is not None:
            keys = [k for k, a, b in zip(("network", "isolated"), old, new, strict=True) if a != b]
            self.history.config_changed(ws_id, server_name, keys, via)
        return True

    # -- helpers ------------------------------------------------------------------------

    def _ws(self, ws_id: str) -> Workspace:
        validate_ws_id(ws_id)
        ws = self._workspaces.get(ws_id)
        if ws is None:
            raise NotFoundError(f'Workspace "{ws_id}" does not exist.')
        return ws

    def _bundle(self, ws_id: str, server_name: str) -> tuple[Workspace, InstalledBundle]:
        ws = self._ws(ws_id)
        bundle = ws.bundle(server_name)
        if bundle is None or (ws_id, server_name) in self._removing:
            raise NotFoundError(not_installed_message(server_name, ws.name))
        return ws, bundle

    def _require_installed(self, ws_id: str, server_name: str) -> None:
        self._bundle(ws_id, server_name)

    def _manifest_for(self, bundle: InstalledBundle) -> Manifest:
        key = bundle.bundle_dir.removeprefix("bundles/")
        cached = self._manifests.get(key)
        if cached is None:
            directory = self.paths.bundle_dir(bundle.bundle_dir)
            if not directory.is_dir():
                raise DataError(directory, f"bundle folder of {bundle.server_name} is missing")
            cached = self._manifests[key] = load_manifest(directory)
        return cached

    def _save(self, ws: Workspace) -> None:
        try:
            self._store.save(ws)
        except OSError as exc:
            raise DataError(
                self.paths.workspace_file(ws.id), f"cannot be written ({exc.strerror or exc})"
            ) from exc


def _populated(manifest: Manifest, stored: Mapping[str, Any]) -> dict[str, bool]:
    return {key: not is_empty(stored.get(key)) for key in manifest.user_config}


def _source_path(path: str | os.PathLike[str]) -> Path:
    return Path(path).expanduser().absolute()


def _ws_key(ws: Workspace) -> tuple[str, str]:
    return (ws.name.casefold(), ws.id)
