"""Start a bundle process confined, or unconfined with the reason when bwrap fails for it.

Two things bwrap alone gets wrong for an MCP server on stdio:

- Its monitor and its pid-1 init keep their copies of fds 0-2 for the life of the
  sandbox, so a server that closes its stdout is never seen to (no EOF). The
  server's stdout pipe is therefore passed on another fd, which both close, and
  a shell inside the sandbox moves it to fd 1 just before it execs the server.
- A setup failure for one bundle's paths (a bind source gone, a mount refused)
  is only an exit code 1. The same shell writes one byte on a "ready" pipe once
  the sandbox exists; EOF without it means bwrap failed, and the bundle is
  started unconfined with bwrap's own message as the reason (never a failed start).

The shell is bash: dash cannot name fds above 9, and a console has many open.

A monitor killed from outside while the sandbox sets itself up may leave its
child waiting for it for ever: that is seen at once (a pidfd on the monitor),
the rest is killed, and the spawn reports a process killed by a signal.
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import signal
import subprocess
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from core.sandbox.bwrap import wrap
from core.sandbox.pid_one import PidOne
from core.sandbox.policy import Isolation, SandboxPolicy

#: How long a sandbox may take to set itself up before we stop watching (then it
#: runs as it is; the handshake timeout bounds the rest).
READY_TIMEOUT = 10.0
_BASH = shutil.which("bash") or ""


class Spawned(NamedTuple):
    """A started bundle process and whether it is confined."""

    popen: subprocess.Popen[bytes]
    isolation: Isolation
    #: the sandbox's pid 1 when confined (see core.sandbox.pid_one); the caller closes it
    pid_one: PidOne | None = None


def spawn(
    argv: Sequence[str],
    env: Mapping[str, str],
    cwd: str | None,
    policy: SandboxPolicy | None,
    **popen: Any,
) -> Spawned:
    """``Popen(argv)`` with stdin/stdout/stderr pipes, inside the bundle's sandbox if possible.

    ``env`` is the process's environment; ``popen`` holds other ``Popen`` arguments. Blocks
    until the sandbox is set up (a few ms), so call it from a worker thread.
    """
    wrapped, isolation = wrap(argv, env, cwd, policy)
    pipes = {"stdin": subprocess.PIPE, "stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
    if not isolation.isolated or not _BASH:
        return Spawned(subprocess.Popen(wrapped, env=env, cwd=cwd, **pipes, **popen), isolation)
    out_r, out_w = os.pipe()
    ready_r, ready_w = os.pipe()
    split = wrapped.index("--") + 1
    shim = f'echo >&{ready_w}; exec 1>&{out_w} {out_w}>&- {ready_w}>&-; exec "$@"'
    command = [*wrapped[:split], _BASH, "-c", shim, "bash", *wrapped[split:]]
    try:
        proc = subprocess.Popen(
            command,
            env=env,
            cwd=cwd,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            pass_fds=(out_w, ready_w),
            **popen,
        )
    except BaseException:
        for fd in (out_r, out_w, ready_r, ready_w):
            os.close(fd)
        raise
    os.close(out_w)
    os.close(ready_w)
    proc.stdout = open(out_r, "rb", buffering=0)  # closed with the Popen
    try:
        ready = _wait_ready(ready_r, proc)
    finally:
        os.close(ready_r)
    if ready is None:  # killed while it set up: end what it started, report the kill
        with contextlib.suppress(OSError):
            os.killpg(proc.pid, signal.SIGKILL)
        return Spawned(proc, isolation)
    if ready:
        return Spawned(proc, isolation, PidOne.of_monitor(proc.pid))
    detail = _failure(proc)
    fallback = subprocess.Popen(list(argv), env=env, cwd=cwd, **pipes, **popen)
    reason = f"bubblewrap could not set up its sandbox ({detail})"
    return Spawned(fallback, Isolation(False, reason))


def _wait_ready(fd: int, proc: subprocess.Popen[bytes]) -> bool | None:
    """True once the shell inside the sandbox has run; False if bwrap failed first.

    None if bwrap's monitor was killed by a signal first (from outside): its child
    may then wait for it for ever, so this does not wait for the ready byte.
    """
    try:
        monitor = os.pidfd_open(proc.pid)
    except (AttributeError, OSError):
        monitor = None
    try:
        watched = [fd] if monitor is None else [fd, monitor]
        readable, _, _ = select.select(watched, [], [], READY_TIMEOUT)
        if fd not in readable and readable:
            code = proc.poll()
            if code is not None and code < 0:
                return None
            readable, _, _ = select.select([fd], [], [], READY_TIMEOUT)
    finally:
        if monitor is not None:
            os.close(monitor)
    if not readable:
        return True  # still setting up: let it run, the handshake timeout bounds it
    return os.read(fd, 1) != b""


def _failure(proc: subprocess.Popen[bytes]) -> str:
    """bwrap's own message (``Can't find source path /x: ...``), its process reaped."""
    try:
        code = proc.wait(timeout=READY_TIMEOUT)
        err = b""
        assert proc.stderr is not None
        if select.select([proc.stderr], [], [], 1.0)[0]:
            err = proc.stderr.read(4096)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(OSError):
            proc.kill()
        proc.wait()
        return "it did not finish setting up"
    finally:
        for pipe in (proc.stdin, proc.stdout, proc.stderr):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()
    lines = [ln.strip() for ln in err.decode("utf-8", "replace").splitlines() if ln.strip()]
    if not lines:
        return f"bwrap exited with code {code}"
    return lines[-1].removeprefix("bwrap: ")[:300]
