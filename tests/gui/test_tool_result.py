"""How each kind of tools/call content is shown (wire JSON and SDK models alike)."""

from __future__ import annotations

import base64
import json

import mcp.types as t

from gui.tool_result import parts_of

PNG_1PX = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def test_sdk_result_and_wire_json_give_the_same_parts() -> None:
    sdk = t.CallToolResult(
        content=[t.TextContent(type="text", text='{"b": 1, "a": [2]}')],
        structured_content={"b": 1, "a": [2]},
    )
    wire = {
        "content": [{"type": "text", "text": '{"b": 1, "a": [2]}'}],
        "structuredContent": {"b": 1, "a": [2]},
    }
    assert parts_of(sdk) == parts_of(wire)
    is_error, parts = parts_of(wire)
    assert not is_error
    # JSON text is pretty-printed; the same structured content is not shown twice.
    assert [p.kind for p in parts] == ["json"]
    assert json.loads(parts[0].text) == {"b": 1, "a": [2]}


def test_structured_content_that_differs_is_shown_after_the_text() -> None:
    _err, parts = parts_of(
        {"content": [{"type": "text", "text": "2 notes"}], "structuredContent": {"total": 2}}
    )
    assert [p.kind for p in parts] == ["text", "note", "json"]


def test_images_errors_resources_and_empty_results() -> None:
    encoded = base64.b64encode(PNG_1PX).decode()
    is_error, parts = parts_of(
        {
            "isError": True,
            "content": [
                {"type": "text", "text": "boom"},
                {"type": "image", "data": encoded, "mimeType": "image/png"},
                {"type": "image", "data": "@@not base64@@", "mimeType": "image/png"},
                {"type": "resource", "resource": {"uri": "file:///n.md", "text": "hello"}},
            ],
        }
    )
    assert is_error
    assert [p.kind for p in parts] == ["text", "image", "note", "note", "text"]
    assert parts[1].data == PNG_1PX and parts[1].mime_type == "image/png"
    assert "not valid base64" in parts[2].text
    assert parts[4].text == "hello"
    assert parts_of({"content": []})[1][0].text == "The tool returned no content."
