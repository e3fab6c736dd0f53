"""Replace known sensitive values in any text the core hands out."""

from __future__ import annotations

from collections.abc import Iterable

MASK = "••••"

#: Values shorter than this are not redacted: masking "1" or "a" everywhere
#: would shred every log line while protecting nothing.
MIN_SECRET_LEN = 3


def redact(text: str, secrets: Iterable[str]) -> str:
    """Return ``text`` with every occurrence of each secret replaced by ``MASK``.

    Longer secrets are replaced first so a secret containing another is masked whole.
    """
    for secret in sorted({s for s in secrets if len(s) >= MIN_SECRET_LEN}, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, MASK)
    return text
