"""The roots a signer may chain to: the system's CA bundle plus the administrator's own."""

from __future__ import annotations

import functools
import logging
import os
import ssl
import warnings
from collections.abc import Iterable
from pathlib import Path

from cryptography import x509

log = logging.getLogger(__name__)


def _system_files() -> list[Path]:
    paths = ssl.get_default_verify_paths()
    found: list[Path] = []
    for name in (paths.cafile, paths.openssl_cafile):
        if name and os.path.isfile(name):
            found.append(Path(name))
            break
    return found


@functools.lru_cache(maxsize=16)
def _load_pem(path: str, _mtime: float) -> tuple[x509.Certificate, ...]:
    try:
        with warnings.catch_warnings():  # some system roots carry RFC-violating serials
            warnings.simplefilter("ignore")
            return tuple(x509.load_pem_x509_certificates(Path(path).read_bytes()))
    except (OSError, ValueError) as exc:
        log.warning("ignoring trust store %s: %s", path, exc)
        return ()


def load_trust_store(extra: Iterable[Path] = ()) -> list[x509.Certificate]:
    """System roots plus every readable extra PEM file (missing files are skipped)."""
    roots: list[x509.Certificate] = []
    for path in [*_system_files(), *extra]:
        try:
            mtime = path.stat().st_mtime
        except OSError:
            continue
        roots.extend(_load_pem(str(path), mtime))
    return roots
