"""Run a bundle under bubblewrap: private mount, pid, IPC (and network) namespaces.

Why bubblewrap and not Landlock alone (measured on this machine, kernel 6.18):
- Landlock rules are an allow-list. "Everything as before except the data dir"
  cannot be said with it without enumerating every sibling of every ancestor of
  the data dir, and a new file there would still be denied. A mount namespace
  says it directly: an empty tmpfs over the data dir, the bundle's own folder
  bound back read-only.
- A new pid namespace with a fresh ``/proc`` hides every other process (its
  environ, mem, cmdline), and a pid the bundle cannot name it cannot signal or
  ptrace. When the namespace's first process exits, the kernel kills everything
  left in it: helpers that ``setsid()`` and scrub their environment included.
- ``--unshare-net`` gives a "blocked" bundle a network namespace with only its
  own loopback: no TCP (nor UDP) to anything, the host's 127.0.0.1 included.
- It costs about 5 ms per spawn on a quiet machine (15-30 ms loaded), and a
  respawn sets the next sandbox up while the old process stops
  (core.sandbox.spawn.prepare), so that cost is mostly off a respawn's path.
bwrap runs unprivileged here (user namespaces), drops every capability inside
the sandbox, sets no_new_privs, and ``--disable-userns`` stops the bundle from
making a namespace of its own to undo the mounts.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence

from core.sandbox.policy import Isolation, SandboxPolicy

#: Namespaces every sandbox gets; ``--unshare-net`` is added when network is blocked.
BASE_ARGS = (
    "--unshare-user",
    "--unshare-pid",
    "--unshare-ipc",
    "--disable-userns",
    "--dev-bind",
    "/",
    "/",
    "--proc",
    "/proc",
)
_PROBE_TIMEOUT = 10.0

_lock = threading.Lock()
_probed: tuple[str | None, str] | None = None


def availability() -> tuple[str | None, str]:
    """``(path to bwrap, "")`` when sandboxes work here, else ``(None, reason)``.

    Probed once per console (about 10 ms, in whichever thread asks first): a
    sandbox that cannot be made never fails a start, it is reported instead.
    """
    global _probed
    with _lock:
        if _probed is None:
            _probed = _probe()
        return _probed


def _probe() -> tuple[str | None, str]:
    if not sys.platform.startswith("linux"):
        return None, f"sandboxing needs Linux (bubblewrap); this is {sys.platform}"
    path = shutil.which("bwrap")
    if path is None:
        return None, "bubblewrap (bwrap) is not installed"
    try:
        done = subprocess.run(
            [path, *BASE_ARGS, "--unshare-net", "--", "true"],
            capture_output=True,
            timeout=_PROBE_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return None, f"bubblewrap cannot run: {exc}"
    if done.returncode != 0:
        lines = done.stderr.decode("utf-8", "replace").strip().splitlines()
        detail = lines[-1] if lines else f"exit code {done.returncode}"
        return None, f"bubblewrap cannot make a sandbox here ({detail})"
    return path, ""


def _reset_probe() -> None:
    """Forget the probe (tests that change PATH)."""
    global _probed
    with _lock:
        _probed = None


def wrap(
    argv: Sequence[str],
    env: Mapping[str, str],
    cwd: str | None,
    policy: SandboxPolicy | None,
) -> tuple[list[str], Isolation]:
    """The command line that runs ``argv`` confined by ``policy``, and what it achieves.

    Without a policy, with isolation turned off, or where bwrap does not work,
    the command is returned unchanged and the :class:`Isolation` says why.
    """
    if policy is None:
        return list(argv), Isolation(False, "no sandbox policy for this launch")
    if not policy.enabled:
        return list(argv), Isolation(False, "turned off for this bundle by the administrator")
    bwrap, reason = availability()
    if bwrap is None:
        return list(argv), Isolation(False, reason)
    _check_command(argv[0], env, cwd)
    args = [bwrap, *BASE_ARGS]
    if policy.network == "blocked":
        args.append("--unshare-net")
    for path in policy.readonly:
        if os.path.isdir(path):
            args += ["--ro-bind", path, path]
    for path in policy.hidden:
        if os.path.isdir(path):
            args += ["--tmpfs", path]
    for path in policy.masked:  # connect() to /dev/null: refused
        if os.path.exists(path) and not os.path.isdir(path):
            args += ["--ro-bind", "/dev/null", path]
    args += ["--ro-bind", policy.own_dir, policy.own_dir]
    if cwd:
        args += ["--chdir", cwd]
    return [*args, "--", *argv], Isolation(True, network=policy.network)


def _check_command(command: str, env: Mapping[str, str], cwd: str | None) -> None:
    """Fail like ``Popen`` would for a missing command, before bwrap hides the cause."""
    if os.sep in command:
        path = command if os.path.isabs(command) or not cwd else os.path.join(cwd, command)
        if not os.path.exists(path):
            raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), command)
        if not os.access(path, os.X_OK) or os.path.isdir(path):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), command)
        return
    if shutil.which(command, path=env.get("PATH", os.defpath)) is None:
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), command)
