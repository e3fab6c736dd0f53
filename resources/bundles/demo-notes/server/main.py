"""Demo Notes: an MCP server (stdio) over a folder of plain-text notes.

Configuration, as mapped by the bundle's ``manifest.json``:

* ``NOTES_DIR`` (env, from the ``notes_dir`` directory field): the writable
  notes folder. Created on the first write. When unset, ``~/Documents/Demo Notes``
  (or ``~/Demo Notes`` without a Documents folder) is used.
* command-line arguments (from the ``reference_dirs`` field, ``multiple: true``,
  each folder one argument): extra folders that are searched and read, never
  written.

Only top-level ``*.md`` / ``*.txt`` files are notes. Note names are plain file
names: no separators, no leading dot, so a tool call can never reach outside
the configured folders. Only the standard library and ``mcp`` are imported.

Besides tools it serves resources (``notes://index``, the template
``notes://note/{name}``, and a binary ``notes://icon.png``) and one prompt,
``summarize_note``: the console's Resources and Prompts tabs show them.
"""

from __future__ import annotations

import logging
import os
import struct
import sys
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ToolError

SERVER_NAME = "demo-notes"
SERVER_VERSION = "1.0.0"
NOTE_SUFFIXES = (".md", ".txt")
MAX_NOTE_BYTES = 256 * 1024
MAX_SEARCH_HITS = 50

# Configure stderr logging before the SDK does (its setup is a no-op once ours exists).
logging.basicConfig(
    stream=sys.stderr,
    level=logging.INFO,
    format=f"{SERVER_NAME}: %(levelname)s %(message)s",
)
log = logging.getLogger(SERVER_NAME)


def _configured(raw: str | None) -> bool:
    """Not empty, and not a ``${user_config.x}`` placeholder left unsubstituted."""
    return bool(raw and raw.strip() and not raw.strip().startswith("${"))


def _default_notes_dir() -> Path:
    home = Path.home()
    documents = home / "Documents"
    return (documents if documents.is_dir() else home) / "Demo Notes"


def _resolve_roots(environ: Mapping[str, str], argv: list[str]) -> list[Path]:
    raw = environ.get("NOTES_DIR")
    notes_dir = Path(raw.strip()).expanduser() if _configured(raw) else _default_notes_dir()
    roots = [notes_dir.resolve()]
    for arg in argv:
        if not _configured(arg):
            continue
        path = Path(arg).expanduser().resolve()
        if not path.is_dir():
            log.warning("ignoring reference folder %s: not a directory", path)
        elif path not in roots:
            roots.append(path)
    return roots


ROOTS = _resolve_roots(os.environ, sys.argv[1:])

mcp = MCPServer(
    name=SERVER_NAME,
    title="Demo Notes",
    version=SERVER_VERSION,
    instructions=(
        "Plain-text notes. Root 0 is the writable notes folder; other roots are "
        "read-only reference folders."
    ),
)


def _root(index: int) -> Path:
    if not 0 <= index < len(ROOTS):
        raise ToolError(f"root must be between 0 and {len(ROOTS) - 1}, got {index}")
    return ROOTS[index]


def _note_path(root: Path, name: str) -> Path:
    name = name.strip()
    if not name or name.startswith(".") or "/" in name or "\\" in name or "\0" in name:
        raise ToolError(f"invalid note name {name!r}: use a plain file name such as 'todo.md'")
    if not name.lower().endswith(NOTE_SUFFIXES):
        name += ".md"
    path = root / name
    if path.parent != root:  # belt and braces: the checks above already forbid this
        raise ToolError(f"invalid note name {name!r}")
    return path


def _iter_notes(root: Path) -> list[Path]:
    try:
        entries = list(root.iterdir())
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise ToolError(f"cannot read folder {root}: {exc.strerror or exc}") from None
    return sorted(
        (
            p
            for p in entries
            if p.suffix.lower() in NOTE_SUFFIXES and not p.name.startswith(".") and p.is_file()
        ),
        key=lambda p: p.name.lower(),
    )


def _read_text(path: Path) -> str:
    try:
        size = path.stat().st_size
        if size > MAX_NOTE_BYTES:
            raise ToolError(f"{path.name} is too large ({size} bytes, max {MAX_NOTE_BYTES})")
        return path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        raise ToolError(f"no note named {path.name!r}") from None
    except OSError as exc:
        raise ToolError(f"cannot read {path.name}: {exc.strerror or exc}") from None


@mcp.tool(
    description=(
        "List the notes (top-level .md/.txt files) of every root: root 0 is the writable "
        "notes folder, the others are read-only reference folders."
    )
)
def list_notes() -> dict[str, Any]:
    roots = []
    notes = []
    for index, root in enumerate(ROOTS):
        roots.append(
            {"root": index, "path": str(root), "writable": index == 0, "exists": root.is_dir()}
        )
        for path in _iter_notes(root):
            stat = path.stat()
            notes.append(
                {
                    "root": index,
                    "name": path.name,
                    "bytes": stat.st_size,
                    "modified": datetime.fromtimestamp(stat.st_mtime, UTC).isoformat(
                        timespec="seconds"
                    ),
                }
            )
    return {"roots": roots, "notes": notes}


@mcp.tool(description="Read a note by file name from `root` (0, the notes folder, by default).")
def read_note(name: str, root: int = 0) -> str:
    return _read_text(_note_path(_root(root), name))


@mcp.tool(
    description=(
        "Write a note into the notes folder (root 0); '.md' is appended when the name has no "
        ".md/.txt suffix. Refuses to replace an existing note unless `overwrite` is true."
    )
)
def write_note(name: str, text: str, overwrite: bool = False) -> dict[str, Any]:
    data = text.encode("utf-8")
    if len(data) > MAX_NOTE_BYTES:
        raise ToolError(f"note is too large ({len(data)} bytes, max {MAX_NOTE_BYTES})")
    root = ROOTS[0]
    path = _note_path(root, name)
    try:
        root.mkdir(parents=True, exist_ok=True)
        with open(path, "wb" if overwrite else "xb") as fh:
            fh.write(data)
    except FileExistsError:
        raise ToolError(f"{path.name} already exists; pass overwrite=true to replace it") from None
    except OSError as exc:
        raise ToolError(f"cannot write {path.name}: {exc.strerror or exc}") from None
    log.info("wrote %s (%d bytes)", path, len(data))
    return {"root": 0, "name": path.name, "bytes": len(data), "path": str(path)}


@mcp.tool(
    description=(
        f"Case-insensitive text search across the notes of every root; returns up to "
        f"{MAX_SEARCH_HITS} matching lines with their note and line number."
    )
)
def search_notes(query: str) -> dict[str, Any]:
    needle = query.strip().lower()
    if not needle:
        raise ToolError("query must not be empty")
    hits: list[dict[str, Any]] = []
    for index, root in enumerate(ROOTS):
        for path in _iter_notes(root):
            try:
                text = _read_text(path)
            except ToolError:
                continue  # too large or unreadable: skip it, keep searching
            for number, line in enumerate(text.splitlines(), start=1):
                if needle in line.lower():
                    hits.append(
                        {"root": index, "name": path.name, "line": number, "text": line[:300]}
                    )
                    if len(hits) >= MAX_SEARCH_HITS:
                        return {"hits": hits, "truncated": True}
    return {"hits": hits, "truncated": False}


@dataclass
class NoteFilter:
    """Narrows ``find_notes``: one root, one suffix."""

    root: int | None = None
    suffix: Literal[".md", ".txt"] | None = None


@mcp.tool(
    description=(
        "Find the notes containing any (or all) of the given words, case-insensitively; "
        "newest first, at most `limit` of them. `where` narrows the search to one root "
        "and/or one suffix."
    )
)
def find_notes(
    words: list[str],
    match: Literal["any", "all"] = "any",
    limit: int = 20,
    where: NoteFilter | None = None,
) -> dict[str, Any]:
    if not 1 <= limit <= MAX_SEARCH_HITS:
        raise ToolError(f"limit must be between 1 and {MAX_SEARCH_HITS}")
    needles = [w.strip().lower() for w in words if w.strip()]
    if not needles:
        raise ToolError("give at least one non-empty word")
    where = where or NoteFilter()
    found: list[tuple[float, dict[str, Any]]] = []
    for index, root in enumerate(ROOTS):
        if where.root is not None and where.root != index:
            continue
        for path in _iter_notes(root):
            if where.suffix is not None and path.suffix != where.suffix:
                continue
            try:
                text = _read_text(path).lower()
            except ToolError:
                continue
            hits = [n in text for n in needles]
            if all(hits) if match == "all" else any(hits):
                found.append((path.stat().st_mtime, {"root": index, "name": path.name}))
    found.sort(key=lambda item: item[0], reverse=True)
    return {"notes": [note for _mtime, note in found[:limit]], "total": len(found)}


# -- resources and a prompt: what the console's Resources and Prompts tabs show --------


@mcp.resource(
    "notes://index",
    name="index",
    title="Notes index",
    description="Every note of every root, one line each (Markdown).",
    mime_type="text/markdown",
)
def notes_index() -> str:
    lines = ["# Notes", ""]
    for index, root in enumerate(ROOTS):
        for path in _iter_notes(root):
            lines.append(f"- {path.name} (root {index}, {path.stat().st_size} bytes)")
    if len(lines) == 2:
        lines.append("No notes yet.")
    return "\n".join(lines) + "\n"


@mcp.resource(
    "notes://note/{name}",
    name="note",
    title="A note",
    description="One note of the notes folder (root 0), by file name.",
    mime_type="text/plain",
)
def note_resource(name: str) -> str:
    try:
        return _read_text(_note_path(ROOTS[0], name))
    except ToolError as exc:  # the client reads the reason, not a traceback
        raise ResourceError(str(exc)) from None


def _icon_png(side: int = 16) -> bytes:
    """A small note icon (a yellow page with ruled lines), drawn without any library."""
    rows = []
    for y in range(side):
        row = bytearray([0])  # filter type: none
        for x in range(side):
            edge = x in (1, side - 2) or y in (0, side - 1)
            ruled = y % 4 == 3 and 3 <= x <= side - 4
            row += bytes((90, 90, 90, 255) if edge or ruled else (255, 214, 92, 255))
        rows.append(bytes(row))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", side, side, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(rows)))
        + chunk(b"IEND", b"")
    )


@mcp.resource(
    "notes://icon.png",
    name="icon",
    title="Icon",
    description="The bundle's icon, a binary resource (PNG).",
    mime_type="image/png",
)
def icon() -> bytes:
    return _icon_png()


@mcp.prompt(
    name="summarize_note",
    title="Summarize a note",
    description="Ask the model for a summary of one note, as bullets or a paragraph.",
)
def summarize_note(name: str, style: str = "bullets") -> str:
    text = _read_text(_note_path(ROOTS[0], name))
    shape = "three short bullet points" if style != "paragraph" else "one short paragraph"
    return f"Summarize the note {name!r} in {shape}:\n\n{text}"


def main() -> None:
    log.info(
        "starting (pid %d): notes folder %s, %d reference folder(s)",
        os.getpid(),
        ROOTS[0],
        len(ROOTS) - 1,
    )
    mcp.run()


if __name__ == "__main__":
    main()
