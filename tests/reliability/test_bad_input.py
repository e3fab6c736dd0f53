"""Bad input end to end: a clear, specific error, the console keeps running, nothing overwritten.

Every case runs against a Host that already has a "canary" bundle running in
another workspace. After each bad input the canary still runs in the same process
(checked in the OS process table), a Restart of it still works, and the data dir's
workspaces/ and bundles/ are byte for byte what they were.

Corpus: every broken manifest of tests/core/data/broken_manifests (as a folder and
as a .mcpb), zip-slip archives (``..``, absolute, backslash, symlink escape), a 50 MB
manifest (folder, .mcpb, and a .mcpb whose header lies about its size), and
workspace dirs with wrong permissions (unreadable, read-only), run as an
unprivileged user since root ignores permission bits. Corrupt credentials and
workspace files are covered in test_crash_safe_files.py.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys
import textwrap
import time
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from core.errors import ConsoleError, InstallError, ManifestError
from core.host import Host
from core.states import BundleState
from tests.core.test_manifest import BROKEN, CORPUS
from tests.procs import marked_processes
from tests.reliability.support import opened, write_bundle, ws_name

S = BundleState
ROOT = Path(__file__).resolve().parents[2]
FIFTY_MB = 50 * 1024 * 1024


class Canary:
    """A Host with one bundle running elsewhere, and a way to prove nothing moved."""

    def __init__(self, host: Host, tag: str, tmp_path: Path) -> None:
        self.host = host
        self.tag = tag
        self.tmp_path = tmp_path
        self.canary_ws = ""
        self.target_ws = ""
        self.pid = 0

    async def setup(self) -> None:
        self.canary_ws = self.host.create_workspace(ws_name(self.tag, "canary")).id
        self.target_ws = self.host.create_workspace(ws_name(self.tag, "target")).id
        await self.host.install_bundle(
            self.canary_ws, write_bundle(self.tmp_path / "canary"), server_name="canary"
        )
        assert (await self.host.lifecycle.start_bundle("canary", self.canary_ws)).ok
        self.pid = marked_processes(self.tag)[f"{self.canary_ws}/canary"][0]

    def snapshot(self) -> dict[str, bytes | None]:
        root = self.host.data_dir
        return {
            str(p.relative_to(root)): p.read_bytes() if p.is_file() else None
            for top in ("workspaces", "bundles")
            for p in sorted((root / top).rglob("*"))
        }

    def still_fine(self) -> None:
        assert marked_processes(self.tag) == {f"{self.canary_ws}/canary": [self.pid]}
        inst = self.host.lifecycle.get_instance("canary", self.canary_ws)
        assert inst is not None and inst.state is S.RUNNING and inst.pid == self.pid


@pytest.fixture
async def canary(tmp_path: Path, tag: str) -> AsyncIterator[Canary]:
    async with opened(tmp_path / "data", tag) as host:
        c = Canary(host, tag, tmp_path)
        await c.setup()
        yield c
        # and after all that, a Restart of the canary still works
        assert (await host.lifecycle.respawn_bundle("canary", c.canary_ws)).ok


async def rejected(
    canary: Canary, source: Path, error: type[Exception], *needles: str
) -> ConsoleError:
    """Install ``source`` into the target workspace: refused as said, nothing changed."""
    before = canary.snapshot()
    with pytest.raises(error) as info:
        await canary.host.install_bundle(canary.target_ws, source)
    text = str(info.value)
    for needle in needles:
        assert needle in text, (needle, text)
    assert canary.snapshot() == before
    assert canary.host.workspace(canary.target_ws).bundles == []
    canary.still_fine()
    return info.value  # type: ignore[return-value]


def manifest_zip(archive: Path, manifest: bytes, extra: dict[str, bytes] | None = None) -> Path:
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("manifest.json", manifest)
        for name, data in (extra or {}).items():
            zf.writestr(zipfile.ZipInfo(name), data)
    return archive


async def test_every_broken_manifest_is_refused_by_name(canary: Canary, tmp_path: Path) -> None:
    # issue 13 moved what the official validator accepts (dotted keys, text defaults...)
    # out of this corpus into tolerated_manifests/ (tests/core/test_conformance.py)
    assert len(BROKEN) >= 15
    for case, problem in sorted(BROKEN.items()):
        folder = tmp_path / "broken" / case.removesuffix(".json")
        folder.mkdir(parents=True)
        shutil.copyfile(CORPUS / case, folder / "manifest.json")
        error = await rejected(canary, folder, ManifestError, f"{folder / 'manifest.json'}: ")
        assert any(problem in line for line in error.problems), (case, error.problems)
        archive = manifest_zip(
            tmp_path / "broken" / f"{folder.name}.mcpb", (CORPUS / case).read_bytes()
        )
        error = await rejected(canary, archive, ManifestError, f"{archive}:manifest.json: ")
        assert any(problem in line for line in error.problems), (case, error.problems)


VALID = json.dumps(
    {
        "manifest_version": "0.3",
        "name": "evil",
        "version": "1.0.0",
        "description": "x",
        "author": {"name": "x"},
        "server": {"type": "python", "entry_point": "server.py"},
    }
).encode()

SLIPS: dict[str, tuple[dict[str, bytes], str]] = {
    "dotdot": ({"../../escaped.txt": b"x"}, "climbs out of the bundle with '..'"),
    "nested dotdot": ({"server/../../../escaped.txt": b"x"}, "climbs out of the bundle"),
    "backslash": ({"..\\..\\escaped.txt": b"x"}, "climbs out of the bundle"),
    "absolute": ({"/tmp/escaped.txt": b"x"}, "has an absolute path"),
}


@pytest.mark.parametrize("case", sorted(SLIPS))
async def test_zip_slip_is_refused_and_writes_nowhere(
    canary: Canary, tmp_path: Path, case: str
) -> None:
    entries, message = SLIPS[case]
    archive = manifest_zip(tmp_path / "slip.mcpb", VALID, entries)
    await rejected(canary, archive, InstallError, str(archive), message)
    assert not escaped(tmp_path)


def escaped(tmp_path: Path) -> bool:
    return bool(list(tmp_path.rglob("escaped.txt"))) or Path("/tmp/escaped.txt").exists()


async def test_symlink_escape_in_a_mcpb_is_refused(canary: Canary, tmp_path: Path) -> None:
    archive = tmp_path / "link.mcpb"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("manifest.json", VALID)
        link = zipfile.ZipInfo("server.py")
        link.external_attr = (0o120777) << 16  # a symlink entry
        zf.writestr(link, str(tmp_path / "outside.py"))
    await rejected(canary, archive, InstallError, "symlink 'server.py' points outside the bundle")


def _big_manifest(size: int) -> bytes:
    body = VALID[:-1] + b', "description_padding": "'
    return body + b" " * (size - len(body) - 2) + b'"}'


async def test_a_50_mb_manifest_is_refused_without_reading_it(
    canary: Canary, tmp_path: Path
) -> None:
    big = _big_manifest(FIFTY_MB)
    assert len(big) == FIFTY_MB
    folder = tmp_path / "big"
    folder.mkdir()
    (folder / "manifest.json").write_bytes(big)
    started = time.monotonic()
    await rejected(canary, folder, ManifestError, f"manifest is {FIFTY_MB} bytes, over the")
    archive = manifest_zip(tmp_path / "big.mcpb", big)
    await rejected(canary, archive, ManifestError, f"manifest is {FIFTY_MB} bytes, over the")
    # an archive whose directory claims a tiny manifest that really inflates to 50 MB
    liar = _lie_about_size(archive, "manifest.json", 200)
    await rejected(canary, liar, (InstallError, ManifestError), str(liar))  # type: ignore[arg-type]
    assert time.monotonic() - started < 30  # never inflates 50 MB into the parser


def _lie_about_size(archive: Path, name: str, size: int) -> Path:
    """A copy of ``archive`` whose central directory says ``name`` unpacks to ``size``."""
    data = bytearray(archive.read_bytes())
    with zipfile.ZipFile(archive) as zf:
        info = zf.getinfo(name)
    central = data.rfind(b"PK\x01\x02" + data[info.header_offset + 4 : info.header_offset + 6])
    central = data.find(b"PK\x01\x02")
    while central != -1:
        name_len = struct.unpack_from("<H", data, central + 28)[0]
        if data[central + 46 : central + 46 + name_len] == name.encode():
            struct.pack_into("<I", data, central + 24, size)  # uncompressed size
            break
        central = data.find(b"PK\x01\x02", central + 4)
    struct.pack_into("<I", data, info.header_offset + 22, size)  # and in the local header
    liar = archive.with_name("liar.mcpb")
    liar.write_bytes(bytes(data))
    return liar


# -- wrong permissions --------------------------------------------------------------

PERMISSIONS = textwrap.dedent(
    """
    import asyncio, json, logging, os, stat, sys
    sys.path.insert(0, {root!r})
    from core.host import Host
    from tests.reliability.support import FAST

    DATA, SRC, TAG = {data!r}, {src!r}, {tag!r}
    warnings = []
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger().addHandler(logging.Handler())
    logging.getLogger().handlers[-1].emit = lambda r: warnings.append(r.getMessage())

    async def attempt(report, name, call):
        try:
            result = call()
            if asyncio.iscoroutine(result):
                result = await result
            report[name] = ["ok", repr(result)]
        except Exception as exc:
            report[name] = [type(exc).__name__, str(exc)]

    def mode(*parts):
        return oct(stat.S_IMODE(os.stat(os.path.join(DATA, "workspaces", *parts)).st_mode))

    async def main():
        host = await Host.open(DATA, **FAST)
        ids = {{}}
        for part in ("canary", "locked", "readonly", "open"):
            ws = ids[part] = host.create_workspace(TAG + " " + part).id
            await host.install_bundle(ws, SRC, server_name="svc")
        for part in ("canary", "locked", "open"):
            await host.set_user_config(ids[part], "svc", {{"token": "tok-" + part}})
        for part in ("canary", "open"):
            assert (await host.lifecycle.start_bundle("svc", ids[part])).ok
        await host.shutdown()
        ws_dir = lambda part: os.path.join(DATA, "workspaces", ids[part])
        os.chmod(ws_dir("locked"), 0o000)  # unreadable
        os.chmod(ws_dir("readonly"), 0o500)  # read-only, no credentials folder yet
        os.chmod(ws_dir("open"), 0o777)  # readable by everyone
        os.chmod(os.path.join(ws_dir("open"), "credentials"), 0o777)
        os.chmod(os.path.join(ws_dir("open"), "credentials", "svc.json"), 0o644)
        report = {{"ids": ids}}
        try:
            host = await Host.open(DATA, **FAST)  # restores canary and open
        except Exception as exc:
            report["open"] = [type(exc).__name__, str(exc)]
            print(json.dumps(report), flush=True)
            return
        lc, ro, op = host.lifecycle, ids["readonly"], ids["open"]
        report["open"] = ["ok", ""]
        report["load_errors"] = host.load_errors
        report["warnings"] = list(warnings)
        report["workspaces"] = [w.id for w in host.workspaces()]
        report["states"] = {{p: str(lc.get_instance("svc", ids[p]).state)
                            for p in ("canary", "open") }}
        await attempt(report, "save_readonly",
                      lambda: host.set_user_config(ro, "svc", {{"token": "t"}}))
        await attempt(report, "start_readonly", lambda: lc.start_bundle("svc", ro))
        await attempt(report, "stop_readonly", lambda: lc.stop_bundle("svc", ro))
        await attempt(report, "rename_readonly", lambda: host.rename_workspace(ro, "Renamed"))
        report["readonly_mode_after_rename"] = mode(ro)
        await attempt(report, "save_open",
                      lambda: host.set_user_config(op, "svc", {{"token": "t2"}}))
        report["open_modes_after_save"] = [
            mode(op, "credentials"), mode(op, "credentials", "svc.json")
        ]
        await attempt(report, "create_again", lambda: host.create_workspace(TAG + " locked").id)
        await attempt(report, "canary_respawn",
                      lambda: host.set_user_config(ids["canary"], "svc", {{"token": "tok-new"}}))
        report["canary_after"] = str(lc.get_instance("svc", ids["canary"]).state)
        await host.shutdown()
        os.chmod(ws_dir("locked"), 0o700)
        print(json.dumps(report), flush=True)

    asyncio.run(main())
    """
)


CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, PR_CAPBSET_DROP = 1, 2, 24


def _without_dac_override() -> None:
    """Root reads and writes anything: drop the two capabilities that let it (preexec)."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "cannot drop a capability")


def run_console(script: str, cwd: Path) -> dict[str, Any]:
    child = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=90,
        preexec_fn=_without_dac_override if os.geteuid() == 0 else None,
        cwd=str(cwd),
    )
    assert child.returncode == 0, child.stderr[-3000:]
    return json.loads(child.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


async def test_workspace_dirs_with_wrong_permissions(tmp_path: Path, tag: str) -> None:
    src = write_bundle(
        tmp_path / "src",
        user_config={"token": {"type": "string", "title": "Token", "sensitive": True}},
        env={"TOKEN": "${user_config.token}"},
    )
    data = tmp_path / "data"
    script = PERMISSIONS.format(root=str(ROOT), data=str(data), src=str(src), tag=tag)
    report = run_console(script, tmp_path)
    ids = report["ids"]
    ws_dir = {part: data / "workspaces" / ws for part, ws in ids.items()}
    assert report["open"] == ["ok", ""], report["open"]
    # unreadable: named with the reason and skipped; its id stays taken, nothing written
    locked_file = ws_dir["locked"] / "workspace.json"
    open_creds = ws_dir["open"] / "credentials"
    assert report["load_errors"] == [
        f"{locked_file}: cannot be read (Permission denied)",
        f"{open_creds}: credentials folder was open to other users (mode 777); it is 0700 now",
        f"{open_creds / 'svc.json'}: credentials file was readable by other users (mode 644); "
        "it is 0600 now, but the values in it may have been seen",
    ]
    assert ids["locked"] not in report["workspaces"]
    assert report["create_again"] == ["ok", repr(ids["locked"] + "_2")]
    assert json.loads(locked_file.read_text())["name"] == f"{tag} locked"
    # read-only: loads; a credential save that needs a new folder there is refused by
    # name; Start/Stop work; the next workspace.json save restores the folder's 0700
    kind, text = report["save_readonly"]
    assert kind == "DataError", report["save_readonly"]
    assert text == (
        f"{ws_dir['readonly'] / 'credentials/svc.json'}: cannot be written (Permission denied)"
    )
    assert report["start_readonly"][0] == report["stop_readonly"][0] == "ok"
    assert report["rename_readonly"][0] == "ok"
    assert report["readonly_mode_after_rename"] == "0o700"
    # readable by everyone: works, warns about the file, and opening makes it private
    assert report["states"] == {"canary": "running", "open": "running"}
    creds = ws_dir["open"] / "credentials/svc.json"
    assert any(
        f"{creds}: credentials file is readable by other users" in w for w in report["warnings"]
    )
    assert report["save_open"][0] == "ok"
    assert report["open_modes_after_save"] == ["0o700", "0o600"]
    # and the canary workspace kept working throughout
    assert report["canary_respawn"][0] == "ok" and "respawned" in report["canary_respawn"][1]
    assert report["canary_after"] == "running"
