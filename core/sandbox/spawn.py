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
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from typing import Any

from core.sandbox.bwrap import wrap
from core.sandbox.policy import Isolation, SandboxPolicy

#: How long a sandbox may take to set itself up before we stop watching (then it
#: runs as it is; the handshake timeout bounds the rest).
READY_TIMEOUT = 10.0
_BASH = shutil.which("bash") or ""


def spawn(
    argv: Sequence[str],
    env: Mapping[str, str],
    cwd: str | None,
    policy: SandboxPolicy | None,
    **popen: Any,
) -> tuple[subprocess.Popen[bytes], Isolation]:
    """``Popen(argv)`` with stdin/stdout/stderr pipes, inside the bundle's sandbox if possible.

    ``env`` is the process's environment; ``popen`` holds other ``Popen`` arguments. Blocks
    until the sandbox is set up (a few ms), so call it from a worker thread.
    """
    wrapped, isolation = wrap(argv, env, cwd, policy)
    pipes = {"stdin": subprocess.PIPE, "stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
    if not isolation.isolated or not _BASH:
        return subprocess.Popen(wrapped, env=env, cwd=cwd, **pipes, **popen), isolation
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
        ready = _wait_ready(ready_r)
    finally:
        os.close(ready_r)
    if ready:
        return proc, isolation
    detail = _failure(proc)
    fallback = subprocess.Popen(list(argv), env=env, cwd=cwd, **pipes, **popen)
    return fallback, Isolation(False, f"bubblewrap could not set up its sandbox ({detail})")


def _wait_ready(fd: int) -> bool:
    """True once the shell inside the sandbox has run; False if bwrap died first."""
    readable, _, _ = select.select([fd], [], [], READY_TIMEOUT)
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
