"""The control socket server: one request per connection, JSON lines.

Runs on whatever asyncio loop the console runs (qasync in the GUI, plain
asyncio in ``serve``). A peer of another uid is dropped before a byte is read.
Requests are never logged with their arguments (a ``config_set`` carries a
credential); only the operation name and outcome are.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.service import protocol
from core.service.ops import Operations
from core.service.sockets import bind_unix, control_socket_path, ensure_service_dir, same_user

if TYPE_CHECKING:
    from core.host import Host

log = logging.getLogger(__name__)


class ControlServer:
    """Listens on ``<data>/service/control.sock`` for the console holding the Host."""

    def __init__(self, ops: Operations) -> None:
        self.ops = ops
        self.path = control_socket_path(ops.host.data_dir)
        self._server: asyncio.Server | None = None
        self._clients: set[asyncio.Task[None]] = set()
        self.refused = 0  # peers of another uid turned away (for tests and logs)
        #: the workspace gateway beside it (core.gateway), in the same console
        self.gateway: Any = None

    @classmethod
    async def start(cls, host: Host, mode: str, **kwargs: object) -> ControlServer:
        server = cls(Operations(host, mode, **kwargs))  # type: ignore[arg-type]
        ensure_service_dir(Path(host.data_dir))
        sock = bind_unix(server.path)
        server._server = await asyncio.start_unix_server(
            server._accept, sock=sock, limit=protocol.MAX_LINE
        )
        log.info("control socket listening at %s", server.path)
        from core.gateway.server import start_gateway

        try:
            server.gateway = await start_gateway(host)
        except Exception:  # the console still works without its MCP endpoint
            log.exception("the workspace gateway could not start")
        return server

    async def close(self) -> None:
        """Stop accepting, end open streams, remove the socket file."""
        if self.gateway is not None:  # first: its relays resend to the next console
            await self.gateway.close()
            self.gateway = None
        if self._server is not None:
            self._server.close()
            self._server = None
        for task in list(self._clients):
            task.cancel()
        for task in list(self._clients):
            with contextlib.suppress(BaseException):
                await task
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        self.ops.close()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._clients.add(task)
        try:
            sock = writer.get_extra_info("socket")
            if sock is None or not same_user(sock):
                self.refused += 1
                log.warning("control socket: refused a connection from another user")
                return
            await self._serve_one(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            if task is not None:
                self._clients.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _serve_one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = await reader.readuntil(b"\n")
        except asyncio.LimitOverrunError:
            writer.write(protocol.failure(protocol.USAGE, "The request line is too long."))
            await writer.drain()
            return
        except asyncio.IncompleteReadError:
            return
        try:
            req = protocol.parse_request(line)
            op = self.ops.lookup(req.op, req.args)
            if op.stream is not None:
                if "workspace" in req.args:
                    self.ops.target(req.args)  # unknown names fail before the stream opens
                await self._stream(op, req, reader, writer)
                return
            result = await self.ops.run(req.op, req.args)
        except protocol.ServiceError as exc:
            log.info("control: %s -> %s", _op_name(line), exc.kind)
            writer.write(protocol.failure(exc.kind, str(exc)))
        except Exception:
            log.exception("control: %s failed", _op_name(line))
            writer.write(protocol.failure(protocol.FAILED, "Internal error; see the console log."))
        else:
            log.info("control: %s -> ok", req.op)
            writer.write(protocol.answer(result))
        await writer.drain()

    async def _stream(self, op, req, reader, writer) -> None:  # type: ignore[no-untyped-def]
        writer.write(protocol.answer(None))
        await writer.drain()
        hangup = asyncio.ensure_future(reader.read(1))  # any byte or EOF ends the stream
        try:
            events = op.stream(self.ops, req.args)
            while True:
                nxt = asyncio.ensure_future(anext(events))
                done, _ = await asyncio.wait({nxt, hangup}, return_when=asyncio.FIRST_COMPLETED)
                if nxt not in done:
                    nxt.cancel()
                    with contextlib.suppress(BaseException):
                        await nxt
                    await events.aclose()
                    return
                writer.write(protocol.event(nxt.result()))
                await writer.drain()
        finally:
            hangup.cancel()


def _op_name(line: bytes) -> str:
    try:
        return protocol.parse_request(line).op
    except protocol.ServiceError:
        return "(invalid request)"
