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

:func:`prepare` adds a gate: the shell waits on a pipe before it execs, so a
respawn can have bwrap build the next sandbox while the old server is still
stopping, and no code of the new one runs until the old one is gone.
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
_PIPES = {"stdin": subprocess.PIPE, "stdout": subprocess.PIPE, "stderr": subprocess.PIPE}


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
    if not isolation.isolated or not _BASH:
        return Spawned(subprocess.Popen(wrapped, env=env, cwd=cwd, **_PIPES, **popen), isolation)
    started = _sandbox(wrapped, env, cwd, isolation, gated=False, popen=popen)
    if isinstance(started, Prepared):
        return Spawned(started.popen, isolation, started.pid_one)
    fallback = subprocess.Popen(list(argv), env=env, cwd=cwd, **_PIPES, **popen)
    reason = f"bubblewrap could not set up its sandbox ({started})"
    return Spawned(fallback, Isolation(False, reason))


def prepare(
    argv: Sequence[str],
    env: Mapping[str, str],
    cwd: str | None,
    policy: SandboxPolicy | None,
    **popen: Any,
) -> Prepared | None:
    """Set up the bundle's sandbox now and exec ``argv`` in it only at :meth:`Prepared.release`.

    A respawn prepares the new sandbox while the old process is still stopping, so
    bwrap's set-up (5 ms quiet, 15-20 ms on a loaded 2-core machine) is off its path.
    None where there is no sandbox to prepare (unconfined, or bwrap failed: then
    :func:`spawn` reports why). Blocks like :func:`spawn`.
    """
    wrapped, isolation = wrap(argv, env, cwd, policy)
    if not isolation.isolated or not _BASH:
        return None
    started = _sandbox(wrapped, env, cwd, isolation, gated=True, popen=popen)
    return started if isinstance(started, Prepared) else None


class Prepared:
    """A sandbox that is set up and waits on a gate pipe before it execs its command."""

    def __init__(
        self,
        popen: subprocess.Popen[bytes],
        isolation: Isolation,
        pid_one: PidOne | None,
        gate: int | None,
    ) -> None:
        self.popen, self.isolation, self.pid_one = popen, isolation, pid_one
        self._gate = gate

    def release(self) -> Spawned | None:
        """Let the command exec now; None if the sandbox is gone meanwhile (then discarded)."""
        gate, self._gate = self._gate, None
        if gate is None or self.popen.poll() is not None:
            self._gate = gate
            self.discard()
            return None
        try:
            os.write(gate, b"x")
        except OSError:
            self._gate = gate
            self.discard()
            return None
        os.close(gate)
        return Spawned(self.popen, self.isolation, self.pid_one)

    def discard(self) -> None:
        """End the unused sandbox and reap it (it never ran the command)."""
        if self._gate is not None:
            os.close(self._gate)
            self._gate = None
        with contextlib.suppress(OSError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait()
        for pipe in (self.popen.stdin, self.popen.stdout, self.popen.stderr):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()
        if self.pid_one is not None:
            self.pid_one.close()


def _sandbox(
    wrapped: list[str],
    env: Mapping[str, str],
    cwd: str | None,
    isolation: Isolation,
    *,
    gated: bool,
    popen: dict[str, Any],
) -> Prepared | str:
    """Start bwrap with the stdout/ready shim; the sandbox, or bwrap's reason for failing."""
    out_r, out_w = os.pipe()
    ready_r, ready_w = os.pipe()
    gate_r, gate_w = os.pipe() if gated else (None, None)
    wait = f"read -r -n 1 -u {gate_r} || exit 0; exec {gate_r}<&-; " if gated else ""
    shim = f'echo >&{ready_w}; {wait}exec 1>&{out_w} {out_w}>&- {ready_w}>&-; exec "$@"'
    split = wrapped.index("--") + 1
    command = [*wrapped[:split], _BASH, "-c", shim, "bash", *wrapped[split:]]
    passed = (out_w, ready_w) if gate_r is None else (out_w, ready_w, gate_r)
    try:
        proc = subprocess.Popen(
            command,
            env=env,
            cwd=cwd,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            pass_fds=passed,
            **popen,
        )
    except BaseException:
        for fd in (out_r, ready_r, gate_w, *passed):
            if fd is not None:
                os.close(fd)
        raise
    for fd in passed:
        os.close(fd)
    proc.stdout = open(out_r, "rb", buffering=0)  # closed with the Popen
    try:
        ready = _wait_ready(ready_r, proc)
    finally:
        os.close(ready_r)
    if ready is None:  # killed while it set up: end what it started, report the kill
        with contextlib.suppress(OSError):
            os.killpg(proc.pid, signal.SIGKILL)
        if gate_w is not None:
            os.close(gate_w)
        return Prepared(proc, isolation, None, None)
    if ready:
        return Prepared(proc, isolation, PidOne.of_monitor(proc.pid), gate_w)
    if gate_w is not None:
        os.close(gate_w)
    return _failure(proc)


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
