"""Vendor a Python bundle's dependencies into its ``server/lib`` (MCPB's python layout).

A bundle that declares ``server/requirements.txt`` gets those packages installed
with ``pip install --target`` into ``server/lib`` at build time (``make install``),
and its manifest puts ``${__dirname}/server/lib`` on ``PYTHONPATH``: the bundle then
runs on any Python of the same version with nothing but the standard library,
which is how the console runs it (``core.runtimes.python_launch``).

One build per distinct requirements file (and Python version) is kept under
``.ci-tools/pylib/`` and hard-linked into each bundle, so three bundles needing
``mcp`` cost one pip run and one copy on disk. Up-to-date libs are left alone, so
``make run`` does not touch pip after the first time.

Usage: ``python resources/bundles/vendor.py [BUNDLE_DIR...]`` (default: every
bundle under ``resources/bundles`` and ``tests/fixtures/bundles``).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SEARCHED = (ROOT / "resources" / "bundles", ROOT / "tests" / "fixtures" / "bundles")
BUILDS = ROOT / ".ci-tools" / "pylib"
MARKER = "VENDORED"  # in server/lib: which build it is a copy of


def build_key(requirements: Path) -> str:
    tag = f"pyc-checked-{sys.implementation.cache_tag}-{sys.platform}-{os.uname().machine}"
    return hashlib.sha256(requirements.read_bytes() + tag.encode()).hexdigest()[:16]


def build(requirements: Path, key: str) -> Path:
    """The pip --target install for these requirements, made once."""
    done = BUILDS / key
    if (done / MARKER).is_file():
        return done
    partial = BUILDS / f".{key}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    pip = [sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run(
        [*pip, "--no-compile", "--target", str(partial), "-r", str(requirements)], check=True
    )
    shutil.rmtree(partial / "bin", ignore_errors=True)  # console scripts point at this venv
    # Byte-code shipped with the bundle: the installed folder is read-only to the bundle
    # (core.sandbox), so without it every start compiles the SDK again (measured: 10 s
    # instead of 2 s on this machine). Hash-checked .pyc stay valid after a copy or an
    # unzip (which do not keep mtimes) and are never trusted over a changed source.
    compileall = [sys.executable, "-m", "compileall", "-q", "-j", "0"]
    subprocess.run(
        [*compileall, "--invalidation-mode", "checked-hash", str(partial)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    (partial / MARKER).write_text(f"{key}\n{requirements.read_text()}")
    shutil.rmtree(done, ignore_errors=True)
    partial.rename(done)
    return done


def link_tree(source: Path, dest: Path) -> None:
    """Hard links where the filesystem allows them, copies elsewhere."""

    def link_or_copy(src: str, dst: str) -> None:
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    shutil.copytree(source, dest, symlinks=True, copy_function=link_or_copy)


def vendor(bundle: Path) -> bool:
    """Bring ``bundle/server/lib`` up to date; False when it has nothing to vendor."""
    requirements = bundle / "server" / "requirements.txt"
    if not requirements.is_file():
        return False
    key = build_key(requirements)
    lib = bundle / "server" / "lib"
    marker = lib / MARKER
    if marker.is_file() and marker.read_text().split("\n", 1)[0] == key:
        return True
    source = build(requirements, key)
    staged = lib.with_name(".lib.partial")
    shutil.rmtree(staged, ignore_errors=True)
    link_tree(source, staged)
    shutil.rmtree(lib, ignore_errors=True)
    staged.rename(lib)
    print(f"vendored {requirements.relative_to(ROOT)} into {lib.relative_to(ROOT)}")
    return True


def default_bundles() -> list[Path]:
    return [d for root in SEARCHED if root.is_dir() for d in sorted(root.iterdir()) if d.is_dir()]


def missing() -> list[Path]:
    """Bundles whose server/lib was never vendored (a clone that skipped ``make install``)."""
    return [
        b
        for b in default_bundles()
        if (b / "server" / "requirements.txt").is_file()
        and not (b / "server" / "lib" / MARKER).is_file()
    ]


def main(argv: list[str]) -> int:
    import fcntl

    bundles = [Path(a).resolve() for a in argv] or default_bundles()
    BUILDS.mkdir(parents=True, exist_ok=True)
    with open(BUILDS / ".lock", "w") as lock:  # parallel test workers, two makes
        fcntl.flock(lock, fcntl.LOCK_EX)
        for bundle in bundles:
            vendor(bundle)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
