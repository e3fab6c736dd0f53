"""Finding the signature block at the end of a ``.mcpb`` and reading only the signed bytes."""

from __future__ import annotations

import io
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

HEADER = b"MCPB_SIG_V1"
FOOTER = b"MCPB_SIG_END"
#: a PKCS#7 block with a certificate chain is a few KiB; anything larger is not ours
MAX_BLOCK_BYTES = 1024 * 1024


@dataclass(frozen=True)
class SignedLayout:
    """Where the signed content ends and what the block holds.

    ``problem`` is set (and ``der`` empty) when the file ends like a signed
    bundle but the block cannot be read: that is an invalid signature, not none.
    """

    content_length: int
    der: bytes = b""
    problem: str = ""


def find_signature(path: Path) -> SignedLayout | None:
    """The signature block of ``path``, or None when the file carries none.

    Like ``mcpb``'s own reader the block is found from the end; unlike it, the
    block must be the last bytes of the file (bytes appended after a signature
    are reported, not ignored).
    """
    size = path.stat().st_size
    tail_len = min(size, MAX_BLOCK_BYTES + len(HEADER) + 4 + len(FOOTER))
    with open(path, "rb") as handle:
        handle.seek(size - tail_len)
        tail = handle.read(tail_len)
    base = size - tail_len
    footer_at = tail.rfind(FOOTER)
    if footer_at == -1:
        return None
    header_at = tail.rfind(HEADER, 0, footer_at)
    ends_file = footer_at + len(FOOTER) == len(tail)
    if header_at == -1:
        if ends_file:
            return SignedLayout(size, problem="the signature block has no header (damaged)")
        return None
    start = header_at + len(HEADER)
    if start + 4 > footer_at:
        return SignedLayout(base + header_at, problem="the signature block is truncated")
    (length,) = struct.unpack("<I", tail[start : start + 4])
    if start + 4 + length != footer_at:
        if not ends_file:
            return None  # marker-like bytes inside the archive, not a block
        return SignedLayout(
            base + header_at, problem="the signature block's length does not match (damaged)"
        )
    if not ends_file:
        return SignedLayout(
            base + header_at, problem="bytes were appended after the signature block"
        )
    return SignedLayout(base + header_at, der=tail[start + 4 : footer_at])


class _Prefix(io.RawIOBase):
    """A read-only view of the first ``length`` bytes of a file (the signed zip)."""

    def __init__(self, path: Path, length: int) -> None:
        self._file = open(path, "rb")  # closed in close()
        self._length = length
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._pos, os.SEEK_END: self._length}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        want = min(len(buffer), self._length - self._pos)
        if want <= 0:
            return 0
        self._file.seek(self._pos)
        data = self._file.read(want)
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)

    def close(self) -> None:
        self._file.close()
        super().close()


def open_signed_zip(path: Path, content_length: int | None) -> BinaryIO:
    """Open ``path`` for zipfile, limited to the signed bytes when it carries a signature.

    Reading past the signed bytes would let a crafted signature block supply
    the archive's central directory: what is unpacked must be what was signed.
    """
    if content_length is None:
        return open(path, "rb")  # the caller closes it
    return io.BufferedReader(_Prefix(path, content_length))
