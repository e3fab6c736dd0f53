"""Requests the console itself makes to one bundle: what it offers, a resource, a prompt.

The window's Prompts and Resources tabs and Configure's "Save & test" ask the
running bundle directly (not the workspace union), on the same path as a
client's request: waited through a start or respawn, bounded by the call
timeout. Every text that comes back is passed through the console-wide
redactor before it leaves core, since it ends up in a widget; failures raise
:class:`RequestFailed` with a message that names the bundle, never a value.
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from core.gateway.catalog import all_pages
from core.lifecycle import BundleUnavailable


class RequestFailed(Exception):
    """The bundle could not answer (unavailable, an MCP error, a timeout); message redacted."""


@dataclass(frozen=True)
class Offered:
    """What a running bundle serves besides tools, as it answered just now (mcp_types objects)."""

    resources: list[Any] = field(default_factory=list)
    templates: list[Any] = field(default_factory=list)
    prompts: list[Any] = field(default_factory=list)
    #: the capabilities its ``initialize`` declared
    has_resources: bool = False
    has_prompts: bool = False


@dataclass(frozen=True)
class ResourcePart:
    """One content item of ``resources/read``: text (redacted) or a binary's size and type."""

    uri: str
    mime_type: str
    text: str | None
    size: int  # bytes: of the text as UTF-8, or of the decoded blob
    data: bytes = field(default=b"", repr=False)  # the blob, for an image preview


@dataclass(frozen=True)
class PromptMessage:
    role: str
    kind: str  # text | image | audio | resource | resource_link
    text: str  # redacted text, or a one-line description of a non-text content


@dataclass(frozen=True)
class PromptResult:
    description: str
    messages: list[PromptMessage]


@dataclass(frozen=True)
class ToolsCheck:
    """A live ``tools/list`` answered by the bundle (Save & test)."""

    tools: list[str]
    duration_ms: float


class ConsoleRequests:
    """Mixed into :class:`core.gateway.server.Gateway` (uses its lifecycle and helpers)."""

    lifecycle: Any
    call_timeout: float

    async def offered(self, ws_id: str, server: str) -> Offered:
        """Resources, templates and prompts, listed live from the bundle's process."""

        async def ask(proc: Any) -> Offered:
            caps = proc.capabilities
            session = proc.session
            resources: list[Any] = []
            templates: list[Any] = []
            prompts: list[Any] = []
            has_resources = caps is not None and caps.resources is not None
            has_prompts = caps is not None and caps.prompts is not None
            if has_resources:
                resources = await all_pages(session.list_resources, "resources")
                try:
                    templates = await all_pages(
                        session.list_resource_templates, "resource_templates"
                    )
                except Exception:  # templates are optional even with the capability
                    templates = []
            if has_prompts:
                prompts = await all_pages(session.list_prompts, "prompts")
            return Offered(resources, templates, prompts, has_resources, has_prompts)

        return await self._console_request(ws_id, server, ask)

    async def read_resource(self, ws_id: str, server: str, uri: str) -> list[ResourcePart]:
        async def ask(proc: Any) -> list[ResourcePart]:
            result = await proc.session.read_resource(uri)
            return [self._resource_part(item) for item in result.contents]

        return await self._console_request(ws_id, server, ask)

    async def get_prompt(
        self, ws_id: str, server: str, name: str, arguments: dict[str, str] | None
    ) -> PromptResult:
        async def ask(proc: Any) -> PromptResult:
            result = await proc.session.get_prompt(name, arguments or None)
            redact = self.lifecycle.redactor
            messages = [
                PromptMessage(m.role, *_describe_content(m.content, redact))
                for m in result.messages
            ]
            return PromptResult(redact(result.description or ""), messages)

        return await self._console_request(ws_id, server, ask)

    async def list_tools_now(self, ws_id: str, server: str) -> ToolsCheck:
        """A fresh ``tools/list`` to the bundle: proof that it answers after a restart."""

        async def ask(proc: Any) -> ToolsCheck:
            clock = time.monotonic()
            result = await proc.session.list_tools()
            elapsed = round((time.monotonic() - clock) * 1000, 3)
            return ToolsCheck([t.name for t in result.tools], elapsed)

        return await self._console_request(ws_id, server, ask)

    # -- plumbing -------------------------------------------------------------------

    def _resource_part(self, item: Any) -> ResourcePart:
        uri = str(getattr(item, "uri", ""))
        mime = getattr(item, "mime_type", None) or ""
        text = getattr(item, "text", None)
        if text is not None:
            return ResourcePart(uri, mime, self.lifecycle.redactor(text), len(text.encode()))
        try:
            data = base64.b64decode(getattr(item, "blob", "") or "", validate=True)
        except (binascii.Error, ValueError):
            return ResourcePart(uri, mime, "(a binary whose data is not valid base64)", 0)
        return ResourcePart(uri, mime, None, len(data), data)

    async def _console_request(
        self, ws_id: str, server: str, ask: Callable[[Any], Awaitable[Any]]
    ) -> Any:
        from mcp.shared.exceptions import MCPError

        try:
            await self._await_restore(server, ws_id)  # type: ignore[attr-defined]
            async with self.lifecycle.use_process(server, ws_id, timeout=self.call_timeout) as proc:
                if proc.session is None:
                    raise RequestFailed("the bundle's process went away; try again")
                return await ask(proc)
        except BundleUnavailable as exc:
            raise RequestFailed(self.unavailable_text(exc)) from None  # type: ignore[attr-defined]
        except MCPError as exc:
            raise RequestFailed(self.lifecycle.redactor(exc.message)) from None
        except TimeoutError:
            label = self._label(server, ws_id)  # type: ignore[attr-defined]
            raise RequestFailed(f"{label} did not answer within {self.call_timeout:g} s.") from None


def _describe_content(content: Any, redact: Callable[[str], str]) -> tuple[str, str]:
    kind = str(getattr(content, "type", "text"))
    if kind == "text":
        return kind, redact(str(getattr(content, "text", "")))
    if kind == "resource":
        inner = getattr(content, "resource", None)
        text = getattr(inner, "text", None)
        uri = str(getattr(inner, "uri", ""))
        return kind, redact(text) if text is not None else f"binary resource {uri}"
    if kind == "resource_link":
        return kind, f"link to {getattr(content, 'uri', '')}"
    return kind, f"{kind} ({getattr(content, 'mime_type', '') or 'unknown type'})"
