"""Turn a ``tools/call`` result into what the tool runner shows.

Results arrive either as the SDK's ``CallToolResult`` or as the wire JSON a
gateway relays; both are normalised to the wire form (camelCase keys) first,
so one function decides how every content block is shown. Pure, so it is
tested without a window.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any, Literal

#: Longer texts are cut in the view (the full text is still copyable as JSON).
MAX_TEXT_CHARS = 200_000


@dataclass(frozen=True)
class Part:
    kind: Literal["text", "json", "image", "note"]
    text: str = ""
    data: bytes = b""
    mime_type: str = ""


def to_wire(result: Any) -> dict[str, Any]:
    """The result as the JSON an MCP client receives."""
    if hasattr(result, "model_dump"):
        return result.model_dump(mode="json", by_alias=True, exclude_none=True)
    if isinstance(result, dict):
        return result
    raise TypeError(f"not a tools/call result: {type(result).__name__}")


def _pretty(text: str) -> Part:
    stripped = text.strip()
    if stripped[:1] in ("{", "[") and len(stripped) <= MAX_TEXT_CHARS:
        try:
            return Part("json", json.dumps(json.loads(stripped), indent=2, ensure_ascii=False))
        except json.JSONDecodeError:
            pass
    if len(text) > MAX_TEXT_CHARS:
        text = text[:MAX_TEXT_CHARS] + f"\n… ({len(text) - MAX_TEXT_CHARS} more characters)"
    return Part("text", text)


def parts_of(result: Any) -> tuple[bool, list[Part]]:
    """``(is_error, parts)`` in the order the server sent them; structured content last."""
    wire = to_wire(result)
    parts: list[Part] = []
    for block in wire.get("content") or []:
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        if kind == "text":
            parts.append(_pretty(str(block.get("text", ""))))
        elif kind == "image":
            try:
                data = base64.b64decode(str(block.get("data", "")), validate=True)
            except (binascii.Error, ValueError):
                parts.append(Part("note", "An image whose data is not valid base64."))
                continue
            parts.append(Part("image", data=data, mime_type=str(block.get("mimeType", ""))))
        elif kind == "resource":
            resource = block.get("resource") or {}
            uri = resource.get("uri", "")
            if "text" in resource:
                parts.append(Part("note", f"Resource {uri}"))
                parts.append(_pretty(str(resource["text"])))
            else:
                parts.append(
                    Part("note", f"Binary resource {uri} ({resource.get('mimeType', '')})")
                )
        elif kind == "resource_link":
            parts.append(Part("note", f"Link to resource {block.get('uri', '')}"))
        elif kind == "audio":
            parts.append(Part("note", f"Audio ({block.get('mimeType', 'unknown type')})"))
        else:
            parts.append(Part("json", json.dumps(block, indent=2, ensure_ascii=False)))
    structured = wire.get("structuredContent")
    shown = json.dumps(structured, indent=2, ensure_ascii=False) if structured is not None else None
    # The SDK's servers send structured results twice (as JSON text too): show them once.
    if structured is not None and not any(p.kind == "json" and p.text == shown for p in parts):
        parts.append(Part("note", "Structured content"))
        parts.append(Part("json", shown or ""))
    if not parts:
        parts.append(Part("note", "The tool returned no content."))
    return bool(wire.get("isError")), parts
