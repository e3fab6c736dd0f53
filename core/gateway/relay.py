"""``bundle-console connect WORKSPACE``: the stdio MCP server a client launches.

It is a relay, not a server: JSON-RPC lines go both ways between the client
(stdin/stdout) and the gateway of the console holding the data dir. It
starts a headless console when none runs, and when the console is replaced
(the GUI taking over from ``serve``) it reconnects, replays the client's own
``initialize``, resends the requests that had no answer yet and tells the
client ``tools/list_changed``: calls made meanwhile wait and then succeed.

Standard library only (no Qt, no MCP SDK), so a client's start-up stays fast.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from core.gateway import files, unixsock

#: How long to wait for a console (auto-started or taking over) before giving up.
CONNECT_TIMEOUT = 60.0
#: Without a console for this long while reconnecting, start one.
RESTART_AFTER = 10.0
REINIT_ID = "bundle-console-relay:reinit:"
LIST_CHANGED = (
    "notifications/tools/list_changed",
    "notifications/resources/list_changed",
    "notifications/prompts/list_changed",
)


class RelayError(Exception):
    """The relay cannot reach a usable gateway; the text is for the client's log."""


class Relay:
    def __init__(self, workspace: str, data_dir: Path, *, autostart: bool = True) -> None:
        self.workspace = workspace
        self.data_dir = data_dir
        self.autostart = autostart
        self.pending: dict[Any, bytes] = {}  # client requests without an answer yet, in order
        self.outbox: list[bytes] = []  # client lines that arrived while disconnected
        self.init_line: bytes | None = None
        self.initialized = False  # a console has seen this client's initialize
        #: the relay itself sent ``notifications/initialized`` on this connection (a
        #: replayed handshake): the client's own, if it follows, is not sent twice
        self._said_initialized = False
        self.writer: asyncio.StreamWriter | None = None
        self._reinit: dict[str, asyncio.Future[None]] = {}
        self._started_console = 0.0
        self._counter = 0

    # -- client side ---------------------------------------------------------------

    def to_client(self, line: bytes) -> None:
        out = sys.stdout.buffer
        out.write(line if line.endswith(b"\n") else line + b"\n")
        out.flush()

    def from_client(self, line: bytes) -> None:
        message = _parse(line)
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
        if self.writer is None:
            self.outbox.append(line)
        else:
            self._send(line)
            if line is self.init_line:
                self.initialized = True

    def _send(self, line: bytes) -> None:
        assert self.writer is not None
        self.writer.write(line if line.endswith(b"\n") else line + b"\n")

    # -- gateway side ----------------------------------------------------------------

    async def open_connection(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """Connect and pass the hello; RelayError if the gateway refuses us."""
        token = files.read_token(self.data_dir)
        if token is None:
            raise ConnectionRefusedError("no gateway token")
        sock = unixsock.connect(files.socket_path(self.data_dir), timeout=5.0)
        reader, writer = await asyncio.open_unix_connection(sock=sock, limit=64 * 1024 * 1024)
        hello = {"gateway": files.PROTOCOL, "token": token, "workspace": self.workspace}
        writer.write(json.dumps(hello).encode() + b"\n")
        answer = _parse(await reader.readline())
        if not isinstance(answer, dict):
            writer.close()
            raise ConnectionResetError("the gateway closed the connection")
        if not answer.get("ok"):
            writer.close()
            raise RelayError(str(answer.get("error") or "the gateway refused the connection"))
        return reader, writer

    async def connect(self, *, first: bool) -> asyncio.StreamReader:
        """Reach a gateway, starting a console when none answers; bounded by CONNECT_TIMEOUT."""
        started = time.monotonic()
        delay = 0.02
        while True:
            try:
                reader, writer = await self.open_connection()
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
                await asyncio.sleep(delay)
                delay = min(delay * 1.5, 0.25)
        self.writer = writer
        self._said_initialized = False
        if self.initialized and self.init_line is not None:
            # The console had this client's session: give the new one the same
            # handshake. An initialize the client sent meanwhile (or that the old
            # console never answered) gets the new console's answer.
            answer = await self._replay_initialize(reader)
            client_id = _parse(self.init_line)["id"]
            if self.pending.pop(_key(client_id), None) is not None:
                answer["id"] = client_id
                self.to_client(json.dumps(answer).encode())
            outbox = [line for line in self.outbox if not _is_handshake(line)]
            in_flight = [line for line in self.pending.values() if line not in outbox]
            for line in in_flight:
                self._send(line)
        else:
            outbox = self.outbox
        self.outbox = []
        for line in outbox:
            self._send(line)
        if self.init_line is not None:
            self.initialized = True
        if not first:
            for method in LIST_CHANGED:
                self.to_client(json.dumps({"jsonrpc": "2.0", "method": method}).encode())
        return reader

    async def _replay_initialize(self, reader: asyncio.StreamReader) -> dict[str, Any]:
        """Initialise the new console's session with the client's own initialize.

        Returns the console's answer (under the relay's own id)."""
        assert self.init_line is not None and self.writer is not None
        message = _parse(self.init_line)
        assert isinstance(message, dict)
        self._counter += 1
        message["id"] = f"{REINIT_ID}{self._counter}"
        self._send(json.dumps(message).encode())
        while True:
            raw = await reader.readline()
            if not raw:
                raise ConnectionResetError("the gateway closed during initialize")
            answer = _parse(raw)
            if isinstance(answer, dict) and answer.get("id") == message["id"]:
                break
            self.to_client(raw)  # a notification sent meanwhile
        self._send(b'{"jsonrpc":"2.0","method":"notifications/initialized"}')
        self._said_initialized = True
        return answer

    def start_console(self, *, again: bool) -> None:
        """Start ``serve`` for the data dir, detached and logging into it.

        Once per outage: a slow start must not get a second console queued on the lock.
        """
        now = time.monotonic()
        if self._started_console and (not again or now - self._started_console < CONNECT_TIMEOUT):
            return
        self._started_console = now
        logs = self.data_dir / "logs"
        with contextlib.suppress(OSError):
            logs.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            log = open(logs / "serve.log", "ab")
        except OSError:
            log = subprocess.DEVNULL  # type: ignore[assignment]
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
                log.close()  # type: ignore[union-attr]

    def from_gateway(self, raw: bytes) -> None:
        message = _parse(raw)
        if isinstance(message, dict) and "method" not in message and "id" in message:
            self.pending.pop(_key(message["id"]), None)
        self.to_client(raw)

    def fail_pending(self, text: str) -> None:
        for key, line in list(self.pending.items()):
            message = _parse(line)
            if isinstance(message, dict):
                error = {"code": -32603, "message": text}
                answer = {"jsonrpc": "2.0", "id": message.get("id"), "error": error}
                self.to_client(json.dumps(answer).encode())
            self.pending.pop(key, None)

    # -- the whole relay ---------------------------------------------------------------

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        lines: asyncio.Queue[bytes | None] = asyncio.Queue()
        threading.Thread(target=_read_stdin, args=(loop, lines), daemon=True).start()
        client_done = asyncio.Event()

        async def pump_client() -> None:
            while (line := await lines.get()) is not None:
                if line.strip():
                    self.from_client(line)
                    if self.writer is not None:
                        with contextlib.suppress(ConnectionError, OSError):
                            await self.writer.drain()
            client_done.set()

        client = asyncio.create_task(pump_client())
        first = True
        try:
            while not client_done.is_set():
                connecting = asyncio.create_task(self.connect(first=first))
                done, _ = await asyncio.wait(
                    {connecting, client}, return_when=asyncio.FIRST_COMPLETED
                )
                if connecting not in done:
                    connecting.cancel()
                    break
                try:
                    reader = connecting.result()
                except RelayError as exc:
                    print(f"bundle-console connect: {exc}", file=sys.stderr, flush=True)
                    self.fail_pending(str(exc))
                    return 1
                first = False
                reading = asyncio.create_task(self._pump_gateway(reader))
                await asyncio.wait({reading, client}, return_when=asyncio.FIRST_COMPLETED)
                if self.writer is not None:
                    self.writer.close()
                self.writer = None
                reading.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await reading
        finally:
            client.cancel()
        return 0

    async def _pump_gateway(self, reader: asyncio.StreamReader) -> None:
        while raw := await reader.readline():
            self.from_gateway(raw)


def _read_stdin(loop: asyncio.AbstractEventLoop, lines: asyncio.Queue[bytes | None]) -> None:
    stdin = sys.stdin.buffer
    try:
        for line in iter(stdin.readline, b""):
            loop.call_soon_threadsafe(lines.put_nowait, line)
    finally:
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(lines.put_nowait, None)


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

    The stdin reader is a daemon thread blocked in ``readline`` holding stdin's
    buffer lock: a normal interpreter shutdown would abort on that lock.
    """
    try:
        code = asyncio.run(Relay(workspace, data_dir).run())
    except KeyboardInterrupt:
        code = 130
    with contextlib.suppress(Exception):
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":  # python -m core.gateway.relay WORKSPACE [DATA_DIR]
    sys.exit(main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None))
