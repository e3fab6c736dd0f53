"""Replace known sensitive values in any text the core hands out.

A value can reach a text in more shapes than its own: a Python ``repr`` in a
traceback doubles its backslashes, JSON escapes quotes and non-ASCII, and a
value holding a newline arrives line by line (a log, a "last stderr line").
Every shape of every value is masked, longest first, so a secret containing
another is masked whole. :class:`Redactor` holds the values of the whole
console (every bundle's, current and previous), in memory only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

MASK = "••••"

#: Values shorter than this are not redacted: masking "1" or "a" everywhere
#: would shred every log line while protecting nothing.
MIN_SECRET_LEN = 3


def variants(secret: str) -> set[str]:
    """Every shape in which ``secret`` may appear in a text (each at least MIN_SECRET_LEN)."""
    shapes = {secret, repr(secret)[1:-1], ascii(secret)[1:-1]}
    shapes |= {json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1]}
    # repr() picks double quotes for a value holding a single quote: the other
    # quoting, and single-escaped quotes, appear in hand-made messages.
    shapes.add(secret.replace("\\", "\\\\").replace("'", "\\'"))
    for shape in list(shapes):
        # A line-oriented text (log, stderr tail) holds one line of a multi-line value.
        lines = shape.splitlines()
        if len(lines) > 1:
            shapes.update(line.strip() for line in lines)
    return {s for s in shapes if len(s) >= MIN_SECRET_LEN}


def _pattern(secrets: Iterable[str]) -> re.Pattern[str] | None:
    shapes: set[str] = set()
    for secret in secrets:
        if len(secret) >= MIN_SECRET_LEN:
            shapes |= variants(secret)
    if not shapes:
        return None
    # Alternatives are tried in order: longest first masks a value containing another whole.
    ordered = sorted(shapes, key=len, reverse=True)
    return re.compile("|".join(map(re.escape, ordered)))


def redact(text: str, secrets: Iterable[str]) -> str:
    """Return ``text`` with every shape of each secret replaced by ``MASK``."""
    pattern = _pattern(secrets)
    return text if pattern is None else pattern.sub(MASK, text)


class Redactor:
    """The console's set of sensitive values, and the one function that masks them.

    Values are only added (a rotated-out value still appears in old log lines);
    they live in memory only. The compiled pattern is rebuilt lazily on change.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._values: dict[str, None] = {}
        self._pattern: re.Pattern[str] | None = None
        self._dirty = False
        self._longest = 0
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        for secret in secrets:
            if len(secret) >= MIN_SECRET_LEN and secret not in self._values:
                self._values[secret] = None
                self._longest = max(self._longest, max(map(len, variants(secret)), default=0))
                self._dirty = True

    def __contains__(self, secret: str) -> bool:
        return secret in self._values

    def __len__(self) -> int:
        return len(self._values)

    @property
    def longest(self) -> int:
        """Length of the longest shape masked: how much a stream cut must hold back."""
        return self._longest

    def __call__(self, text: str) -> str:
        if self._dirty:
            self._pattern = _pattern(self._values)
            self._dirty = False
        return text if self._pattern is None else self._pattern.sub(MASK, text)

    def value(self, obj: object) -> object:
        """Mask every string inside a JSON-like value (tool schemas, error data)."""
        if isinstance(obj, str):
            return self(obj)
        if isinstance(obj, dict):
            return {self(str(k)): self.value(v) for k, v in obj.items()}
        if isinstance(obj, list | tuple):
            return [self.value(v) for v in obj]
        return obj
