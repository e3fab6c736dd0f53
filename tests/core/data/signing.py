"""Bundles packed and signed by the official ``mcpb`` CLI, a test CA, and tampered copies."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from core.signatures.block import find_signature

ROOT = Path(__file__).resolve().parents[3]
MCPB = ROOT / ".ci-tools" / "node_modules" / ".bin" / "mcpb"


def mcpb(*args: str | Path, cwd: Path | None = None) -> str:
    """Run the official CLI (installed by ``make test-tools``); skip when it is absent."""
    if not MCPB.exists() or shutil.which("node") is None:
        pytest.skip("the official mcpb CLI is not installed (run `make test-tools`; needs npm)")
    done = subprocess.run(
        [str(MCPB), *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=120
    )
    assert done.returncode == 0, f"mcpb {args} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def pack(folder: Path, archive: Path) -> Path:
    mcpb("pack", folder, archive)
    return archive


PACK_CACHE = ROOT / ".ci-tools" / "packed"


def pack_once(folder: Path, archive: Path) -> Path:
    """``pack``, cached by the folder's content digest (a demo bundle, which rarely changes).

    A demo bundle vendors the SDK in server/lib (45 MB): ``mcpb pack`` takes 13 s
    on an idle 2-core machine, so every test that needs "a real server packed by the
    official CLI" shares one pack per content, across test processes and runs.
    """
    from core.bundles import tree_digest

    cached = PACK_CACHE / f"{folder.name}-{tree_digest(folder)[:16]}.mcpb"
    if not cached.is_file():
        PACK_CACHE.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=PACK_CACHE) as where:
            made = pack(folder, Path(where) / cached.name)
            os.replace(made, cached)  # atomic: a parallel test sees all of it or nothing
    shutil.copyfile(cached, archive)
    return archive


def sign_self_signed(archive: Path) -> Path:
    mcpb("sign", archive, "--self-signed")
    return archive


@dataclass(frozen=True)
class Chain:
    root: Path
    intermediate: Path
    leaf: Path
    key: Path


def _name(cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Bundle Console Tests"),
        ]
    )


def _cert(
    subject: str,
    key: rsa.RSAPrivateKey,
    issuer: tuple[x509.Name, rsa.RSAPrivateKey] | None,
    *,
    ca: bool,
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    issuer_name, issuer_key = issuer or (_name(subject), key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
        .add_extension(
            x509.KeyUsage(
                digital_signature=not ca,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=ca,
                crl_sign=ca,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    )
    if not ca:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False
        )
    return builder.sign(issuer_key, hashes.SHA256())


def make_chain(folder: Path, publisher: str = "Test Publisher") -> Chain:
    """A root CA, an intermediate and a code-signing leaf (RSA: all that mcpb sign reads)."""
    folder.mkdir(parents=True, exist_ok=True)
    keys = [rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(3)]
    root = _cert("Test Root CA", keys[0], None, ca=True)
    inter = _cert("Test Intermediate CA", keys[1], (root.subject, keys[0]), ca=True)
    leaf = _cert(publisher, keys[2], (inter.subject, keys[1]), ca=False)
    paths = Chain(
        folder / "root.pem", folder / "inter.pem", folder / "leaf.pem", folder / "key.pem"
    )
    for path, cert in ((paths.root, root), (paths.intermediate, inter), (paths.leaf, leaf)):
        path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths.key.write_bytes(
        keys[2].private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


def sign_with_chain(archive: Path, chain: Chain) -> Path:
    mcpb("sign", archive, "-c", chain.leaf, "-k", chain.key, "-i", chain.intermediate)
    return archive


#: the first local header's modification time: zipfile never checks it, so flipping it
#: leaves a readable archive whose signature no longer matches
HARMLESS_OFFSET = 10


def flipped_byte(signed: Path, out: Path, offset: int | None = None) -> Path:
    """A copy with one byte of the signed zip changed (by default in the middle)."""
    data = bytearray(signed.read_bytes())
    layout = find_signature(signed)
    assert layout is not None and not layout.problem
    data[layout.content_length // 2 if offset is None else offset] ^= 0x01
    out.write_bytes(bytes(data))
    return out


def replaced_manifest(signed: Path, manifest_text: str, out: Path) -> Path:
    """The same archive with manifest.json swapped, the old signature block kept at the end."""
    layout = find_signature(signed)
    assert layout is not None and not layout.problem
    block = signed.read_bytes()[layout.content_length :]
    with zipfile.ZipFile(signed) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = manifest_text.encode() if info.filename == "manifest.json" else src.read(info)
            dst.writestr(info, body)
    out.write_bytes(out.read_bytes() + block)
    return out
