"""System users for tests that must run something as another (unprivileged) user.

Tests run as root, and pytest-xdist runs test files at the same time: two
``useradd`` calls at once fail ("cannot lock /etc/passwd"), and two workers
creating one name race to "already exists". One lock file serialises them.
"""

from __future__ import annotations

import contextlib
import fcntl
import pwd
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

LOCK = "/tmp/bundle-console-tests-useradd.lock"


def system_user(name: str) -> pwd.struct_passwd:
    """The account ``name``, created (``useradd --system``, no home) if it is missing."""
    try:
        return pwd.getpwnam(name)
    except KeyError:
        pass
    with open(LOCK, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for attempt in range(50):
            try:
                return pwd.getpwnam(name)  # made by whoever held the lock before us
            except KeyError:
                pass
            done = subprocess.run(
                ["useradd", "--system", "--no-create-home", name], capture_output=True, text=True
            )
            if done.returncode == 0:
                return pwd.getpwnam(name)
            if done.returncode != 10 or attempt == 49:  # 10: /etc/passwd locked by another tool
                raise RuntimeError(f"useradd {name} failed ({done.returncode}): {done.stderr}")
            time.sleep(0.1)
    raise AssertionError("unreachable")


@contextlib.contextmanager
def reachable(path: Path) -> Iterator[None]:
    """Let any user reach ``path``: ``o+x`` on each ancestor that lacks it, undone after.

    A console run as the test user reads its own code and data from the checkout
    (schemas included); a clone inside ``mktemp -d`` (0700, root's) is otherwise
    out of its reach. Traverse only: nothing becomes listable or readable. The
    undo is not shared between xdist workers: use it from a module-scoped
    fixture, which tests/conftest.py turns into one worker for the module.
    """
    changed: list[tuple[Path, int]] = []
    try:
        resolved = path.resolve()
        for parent in [*reversed(resolved.parents), resolved]:
            mode = stat.S_IMODE(parent.stat().st_mode)
            if not mode & stat.S_IXOTH:
                parent.chmod(mode | stat.S_IXOTH)
                changed.append((parent, mode))
        yield
    finally:
        for parent, mode in reversed(changed):
            parent.chmod(mode)
