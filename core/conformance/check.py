"""Validate raw manifest JSON against the official schema of its manifest_version."""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

SCHEMAS = Path(__file__).parent / "schemas"
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_TYPE_WORDS = {
    "string": "text",
    "number": "a number",
    "boolean": "true or false",
    "array": "a list",
    "object": "an object",
}


def _is_url(value: object) -> bool:
    """What zod's ``url()`` accepts in practice: a scheme and, for web URLs, a host."""
    if not isinstance(value, str) or any(c.isspace() for c in value):
        return False
    parts = urlsplit(value)
    if not parts.scheme or not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*", parts.scheme):
        return False
    return bool(parts.netloc) or parts.scheme in ("mailto", "file", "urn", "data")


@functools.lru_cache(maxsize=8)
def _validator(version: str) -> Any:
    import jsonschema  # imported on the install path only

    path = SCHEMAS / f"mcpb-manifest-v{version}.schema.json"
    if not path.is_file():
        return None
    checker = jsonschema.FormatChecker(formats=())
    checker.checks("uri")(_is_url)
    checker.checks("email")(lambda v: not isinstance(v, str) or bool(_EMAIL_RE.match(v)))
    schema = json.loads(path.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema, format_checker=checker)


def _where(path: Any) -> str:
    return ".".join(str(p) for p in path) or "(top level)"


def _words(error: Any, version: str) -> str:
    where = _where(error.absolute_path)
    kind = error.validator
    if kind == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        names = ", ".join(repr(k) for k in extra)
        return f"{where}: unknown key(s) {names}: not part of manifest_version {version}"
    if kind == "required":
        missing = re.findall(r"'([^']+)' is a required property", error.message)
        name = missing[0] if missing else error.message
        return f"{where}: {name!r} is required by the official schema"
    if kind == "format":
        what = "URL" if error.validator_value == "uri" else error.validator_value
        return f"{where}: not a valid {what}"
    if kind == "type":
        expected = error.validator_value
        names = expected if isinstance(expected, list) else [expected]
        return f"{where}: should be {' or '.join(_TYPE_WORDS.get(n, n) for n in names)}"
    if kind == "const":
        return f"{where}: must be {error.validator_value!r}"
    if kind == "enum":
        allowed = ", ".join(repr(v) for v in error.validator_value)
        return f"{where}: must be one of {allowed}"
    if kind == "pattern":
        return f"{where}: {error.instance!r} does not have the required form"
    if kind == "anyOf":
        return f"{where}: has a value of the wrong type"
    return f"{where}: {error.message}"


def problems(data: dict[str, Any]) -> list[str]:
    """Each way ``data`` breaks its version's official schema, one sentence each."""
    version = data.get("manifest_version", data.get("dxt_version"))
    if not isinstance(version, str):
        return []
    validator = _validator(version)
    if validator is None:
        return []
    found: list[str] = []
    errors = sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path])
    for error in errors:
        line = _words(error, version)
        if line not in found:
            found.append(line)
    return found
