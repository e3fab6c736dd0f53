"""System users for tests that must run something as another (unprivileged) user.

Tests run as root, and pytest-xdist runs test files at the same time: two
``useradd`` calls at once fail ("cannot lock /etc/passwd"), and two workers
creating one name race to "already exists". One lock file serialises them.
"""

from __future__ import annotations

import fcntl
import pwd
import subprocess
import time

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
