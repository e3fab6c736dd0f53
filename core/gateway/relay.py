"""``bundle-console connect WORKSPACE``: the stdio MCP server a client launches.

It is a relay, not a server: JSON-RPC lines go both ways between the client
(stdin/stdout) and the gateway of the console holding the data dir. It
starts a headless console when none runs, and when the console is replaced
(the GUI taking over from ``serve``) it reconnects, replays the client's own
``initialize``, resends the requests that had no answer yet and tells the
client ``tools/list_changed``: calls made meanwhile wait and then succeed.

Standard library only, and no asyncio (its import alone, with ``ssl``, costs
more than the rest of the start-up): the main thread copies stdin to the
socket, one thread copies the socket to stdout and reconnects when it ends.
No Qt, no MCP SDK, so a client's start-up stays fast.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any, BinaryIO

from core.gateway import files, unixsock

#: How long to wait for a console (auto-started or taking over) before giving up.
CONNECT_TIMEOUT = 60.0
#: Without a console for this long while reconnecting, start one.
RESTART_AFTER = 10.0
#: Refused at once: how long to wait for the client's first request, to answer it.
REFUSAL_GRACE = 2.0
REINIT_ID = "bundle-console-relay:reinit:"
LIST_CHANGED = (
    "notifications/tools/list_changed",
    "notifications/resources/list_changed",
    "notifications/prompts/list_changed",
)


class RelayError(Exception):
    """The relay cannot reach a usable gateway; the text is for the client's log."""


class Relay:
    """State shared by the two copying threads; see the module doc.

    ``_state`` guards the fields below; ``_send_lock`` orders writes to the
    socket (taken first, and never by the socket reader while it relays, so a
    blocked send cannot stop answers from flowing back).
    """

    def __init__(
        self,
        workspace: str,
        data_dir: Path,
        *,
        autostart: bool = True,
        stdout: BinaryIO | None = None,
    ) -> None:
        self.workspace = workspace
        self.data_dir = data_dir
        self.autostart = autostart
        self.stdout = stdout if stdout is not None else sys.stdout.buffer
        self.pending: dict[str, bytes] = {}  # client requests without an answer yet, in order
        self.outbox: list[bytes] = []  # client lines that arrived while disconnected
        self.init_line: bytes | None = None
        self.initialized = False  # a console has seen this client's initialize
        #: the relay itself sent ``notifications/initialized`` on this connection (a
        #: replayed handshake): the client's own, if it follows, is not sent twice
        self._said_initialized = False
        self.sock: socket.socket | None = None
        self._state = threading.Lock()
        self._send_lock = threading.Lock()
        self._out_lock = threading.Lock()
        self._started_console = 0.0
        self._counter = 0
        self._heard = threading.Event()  # the client sent its first line

    # -- client side ---------------------------------------------------------------

    def to_client(self, line: bytes) -> None:
        with self._out_lock:
            self.stdout.write(line if line.endswith(b"\n") else line + b"\n")
            self.stdout.flush()

    def from_client(self, line: bytes) -> None:
        if not line.endswith(b"\n"):
            line += b"\n"
        message = _parse(line)
        with self._send_lock:
            self._heard.set()  # under the lock: a refusal waiting for it sees it in pending
            with self._state:
                if isinstance(message, dict):
                    method, ident = message.get("method"), message.get("id")
                    if method is not None and ident is not None:
                        self.pending[_key(ident)] = line
                        if method == "initialize":
                            self.init_line = line
                            self._said_initialized = False
                    elif method == "notifications/cancelled":
                        params = message.get("params") or {}
                        self.pending.pop(_key(params.get("requestId")), None)
                    elif method == "notifications/initialized" and self._said_initialized:
                        return
                sock = self.sock
                if sock is None:
                    self.outbox.append(line)
                    return
                if line is self.init_line:
                    self.initialized = True
            try:
                sock.sendall(line)
            except OSError:  # the console went: the reconnect sends it
                with self._state:
                    self.outbox.append(line)

    # -- gateway side ----------------------------------------------------------------

    def open_connection(self) -> tuple[socket.socket, BinaryIO]:
        """Connect and pass the hello; RelayError if the gateway refuses us."""
        token = files.read_token(self.data_dir)
        if token is None:
            raise ConnectionRefusedError("no gateway token")
        sock = unixsock.connect(files.socket_path(self.data_dir), timeout=5.0)
        try:
            sock.settimeout(30.0)  # the hello only; a console just starting may be slow
            hello = {"gateway": files.PROTOCOL, "token": token, "workspace": self.workspace}
            sock.sendall(json.dumps(hello).encode() + b"\n")
            reader = sock.makefile("rb")
            answer = _parse(reader.readline())
            sock.settimeout(None)
        except (OSError, ValueError):
            sock.close()
            raise ConnectionResetError("the gateway closed the connection") from None
        if not isinstance(answer, dict):
            sock.close()
            raise ConnectionResetError("the gateway closed the connection")
        if not answer.get("ok"):
            sock.close()
            raise RelayError(str(answer.get("error") or "the gateway refused the connection"))
        return sock, reader

    def connect(self, *, first: bool) -> BinaryIO:
        """Reach a gateway, starting a console when none answers; bounded by CONNECT_TIMEOUT."""
        started = time.monotonic()
        delay = 0.02
        while True:
            try:
                sock, reader = self.open_connection()
                break
            except (OSError, ConnectionError) as exc:
                waited = time.monotonic() - started
                if waited > CONNECT_TIMEOUT:
                    raise RelayError(
                        f"no Bundle Console answered for {self.data_dir} within "
                        f"{CONNECT_TIMEOUT:g} s ({exc}); see {self.data_dir}/logs/serve.log"
                    ) from None
                # Once at first; while reconnecting only after RESTART_AFTER without
                # a console (a GUI taking over needs that long at most).
                if self.autostart and (first or waited > RESTART_AFTER):
                    self.start_console(again=not first)
                time.sleep(delay)
                delay = min(delay * 1.5, 0.25)
        with self._state:
            replay = self.initialized and self.init_line is not None
        try:
            if replay:
                # The console had this client's session: give the new one the same
                # handshake. An initialize the client sent meanwhile (or that the old
                # console never answered) gets the new console's answer.
                answer = self._replay_initialize(sock, reader)
            self._publish(sock, answer if replay else None)
        except OSError:
            sock.close()
            raise
        if not first:
            for method in LIST_CHANGED:
                self.to_client(json.dumps({"jsonrpc": "2.0", "method": method}).encode())
        return reader

    def _publish(self, sock: socket.socket, answer: dict[str, Any] | None) -> None:
        """Send what waited for a console, then let the client's lines go straight to it."""
        with self._send_lock, self._state:
            if answer is not None:
                assert self.init_line is not None
                self._said_initialized = True
                client_id = _parse(self.init_line)["id"]
                if self.pending.pop(_key(client_id), None) is not None:
                    answer["id"] = client_id
                    self.to_client(json.dumps(answer).encode())
                outbox = [line for line in self.outbox if not _is_handshake(line)]
                lines = [line for line in self.pending.values() if line not in outbox]
                lines += outbox
            else:
                lines = self.outbox
            sock.sendall(b"".join(lines))
            self.outbox = []
            if self.init_line is not None:
                self.initialized = True
            self.sock = sock

    def _replay_initialize(self, sock: socket.socket, reader: BinaryIO) -> dict[str, Any]:
        """Initialise the new console's session with the client's own initialize.

        Returns the console's answer (under the relay's own id)."""
        assert self.init_line is not None
        message = _parse(self.init_line)
        assert isinstance(message, dict)
        self._counter += 1
        message["id"] = f"{REINIT_ID}{self._counter}"
        sock.sendall(json.dumps(message).encode() + b"\n")
        while True:
            raw = reader.readline()
            if not raw:
                raise ConnectionResetError("the gateway closed during initialize")
            answer = _parse(raw)
            if isinstance(answer, dict) and answer.get("id") == message["id"]:
                break
            self.to_client(raw)  # a notification sent meanwhile
        sock.sendall(b'{"jsonrpc":"2.0","method":"notifications/initialized"}\n')
        return answer

    def start_console(self, *, again: bool) -> None:
        """Start ``serve`` for the data dir, detached and logging into it.

        Once per outage: a slow start must not get a second console queued on the lock.
        """
        import subprocess

        from core.atomic import ensure_private_dir, refuse_links  # here: off the start-up path
        from core.errors import DataError

        now = time.monotonic()
        if self._started_console and (not again or now - self._started_console < CONNECT_TIMEOUT):
            return
        self._started_console = now
        logs = self.data_dir / "logs"
        try:  # never through a symlinked logs/ or serve.log (core.atomic.refuse_links)
            ensure_private_dir(logs, self.data_dir)
            refuse_links(logs / "serve.log", self.data_dir)
            flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
            log: Any = os.fdopen(os.open(logs / "serve.log", flags, 0o600), "ab")
        except (OSError, DataError) as exc:
            # The console still starts; the client's log says why its output is lost.
            print(f"bundle-console connect: {exc}; serve's output is not logged", file=sys.stderr)
            log = subprocess.DEVNULL
        try:
            console = subprocess.Popen(
                [sys.executable, "-m", "core.cli", "serve", "--data-dir", str(self.data_dir)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
                cwd=str(Path(__file__).resolve().parents[2]),
                close_fds=True,
            )
            # Reap it when it exits (a takeover), so no zombie is left behind us.
            threading.Thread(target=console.wait, daemon=True).start()
        finally:
            if log is not subprocess.DEVNULL:
                log.close()

    def from_gateway(self, raw: bytes) -> None:
        message = _parse(raw)
        if isinstance(message, dict) and "method" not in message and "id" in message:
            with self._state:
                self.pending.pop(_key(message["id"]), None)
        self.to_client(raw)

    def fail_pending(self, text: str) -> None:
        with self._state:
            waiting, self.pending = list(self.pending.values()), {}
        for line in waiting:
            message = _parse(line)
            if isinstance(message, dict):
                error = {"code": -32603, "message": text}
                answer = {"jsonrpc": "2.0", "id": message.get("id"), "error": error}
                self.to_client(json.dumps(answer).encode())

    # -- the whole relay ---------------------------------------------------------------

    def serve_gateway(self) -> int:
        """Connect, copy the gateway to the client, reconnect when it ends.

        Returns only on a RelayError (the exit status); runs until the process ends.
        """
        first = True
        while True:
            try:
                reader = self.connect(first=first)
            except RelayError as exc:
                print(f"bundle-console connect: {exc}", file=sys.stderr, flush=True)
                # Refused before the client's first request arrived (the relay starts
                # fast): wait a moment for it, so it gets the reason, not a bare EOF.
                self._heard.wait(REFUSAL_GRACE)
                with self._send_lock:  # a line being handled now is in pending after this
                    pass
                self.fail_pending(str(exc))
                return 1
            except (OSError, ConnectionError):
                continue  # the new console went during the handshake: again
            first = False
            with contextlib.suppress(OSError, ValueError):
                for raw in iter(reader.readline, b""):
                    self.from_gateway(raw)
            with self._send_lock, self._state:
                sock, self.sock = self.sock, None
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.close()

    def run(self, stdin: BinaryIO | None = None) -> int:
        """Relay until the client closes stdin (0) or the gateway refuses us (1)."""
        code: list[int] = []
        done = threading.Event()

        def gateway() -> None:
            code.append(self.serve_gateway())
            done.set()

        def client() -> None:
            source = stdin if stdin is not None else sys.stdin.buffer
            with contextlib.suppress(OSError, ValueError):
                for line in iter(source.readline, b""):
                    if line.strip():
                        self.from_client(line)
            done.set()

        threading.Thread(target=gateway, daemon=True).start()
        threading.Thread(target=client, daemon=True).start()
        done.wait()
        return code[0] if code else 0


def _parse(line: bytes) -> Any:
    try:
        return json.loads(line)
    except ValueError:
        return None


def _key(ident: Any) -> str:
    return json.dumps(ident)


def _is_handshake(line: bytes) -> bool:
    message = _parse(line)
    return isinstance(message, dict) and message.get("method") in (
        "initialize",
        "notifications/initialized",
    )


def main(workspace: str, data_dir: str | os.PathLike[str] | None = None) -> int:
    """Entry point for ``bundle-console connect`` (S's CLI calls it)."""
    from core.paths import resolve_data_dir

    return run_and_exit(workspace, resolve_data_dir(data_dir))


def run_and_exit(workspace: str, data_dir: Path) -> int:
    """Run the relay, then end the process at once.

    The copying threads are daemons blocked in ``readline`` holding stdin's
    buffer lock: a normal interpreter shutdown would abort on that lock.
    """
    try:
        code = Relay(workspace, data_dir).run()
    except KeyboardInterrupt:
        code = 130
    with contextlib.suppress(Exception):
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":  # python -m core.gateway.relay WORKSPACE [DATA_DIR]
    sys.exit(main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None))
