"""The control socket's wire format: one JSON object per line, versioned.

A client sends one request line ``{"v": 1, "op": NAME, "args": {...}}``; the
server answers one line ``{"v": 1, "ok": true, "result": ...}`` or
``{"v": 1, "ok": false, "kind": KIND, "error": TEXT}``. A streaming operation
(``events``) answers ``ok`` and then keeps sending ``{"v": 1, "event": {...}}``
lines until the client hangs up. Answers never carry a secret value: results
are built from redacted engine fields and "set / not set" flags only.

Error kinds map onto CLI exit statuses: ``usage`` (bad request, unknown
workspace or bundle, refused input) -> 2, everything else -> 1.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

VERSION = 1
#: a request or answer line may not exceed this (a log tail fits easily)
MAX_LINE = 4 * 1024 * 1024

USAGE = "usage"  # the request is malformed or names something that does not exist
FAILED = "failed"  # the operation ran and did not succeed
REFUSED = "refused"  # the console declines (e.g. a GUI asked to hand over)
NO_CONSOLE = "no_console"  # the operation needs a running console (offline mode)


class ServiceError(Exception):
    """An answer-shaped failure: ``kind`` is one of the constants above."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def usage(message: str) -> ServiceError:
    return ServiceError(USAGE, message)


def encode(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"


def request(op: str, args: dict[str, Any] | None = None) -> bytes:
    return encode({"v": VERSION, "op": op, "args": args or {}})


def answer(result: Any) -> bytes:
    return encode({"v": VERSION, "ok": True, "result": result})


def failure(kind: str, message: str) -> bytes:
    return encode({"v": VERSION, "ok": False, "kind": kind, "error": message})


def event(payload: dict[str, Any]) -> bytes:
    return encode({"v": VERSION, "event": payload})


@dataclass(frozen=True)
class Request:
    op: str
    args: dict[str, Any]


def parse_request(line: bytes) -> Request:
    """Validate a request line before anything runs; raises ServiceError(usage)."""
    try:
        obj = json.loads(line)
    except (ValueError, UnicodeDecodeError):
        raise usage("The request is not a JSON object on one line.") from None
    if not isinstance(obj, dict):
        raise usage("The request is not a JSON object.")
    if obj.get("v") != VERSION:
        raise usage(
            f"Unsupported protocol version {obj.get('v')!r}; this console speaks {VERSION}."
        )
    op, args = obj.get("op"), obj.get("args", {})
    if not isinstance(op, str) or not op:
        raise usage('The request has no "op".')
    if not isinstance(args, dict):
        raise usage('"args" must be an object.')
    return Request(op, args)


def parse_answer(line: bytes) -> dict[str, Any]:
    try:
        obj = json.loads(line)
    except (ValueError, UnicodeDecodeError):
        raise ServiceError(FAILED, "The console sent an unreadable answer.") from None
    if not isinstance(obj, dict) or obj.get("v") != VERSION:
        raise ServiceError(FAILED, "The console speaks another protocol version.")
    return obj
