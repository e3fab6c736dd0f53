"""Checking a ``.mcpb`` signature: content digest, signer's signature, then the chain."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from pathlib import Path

from asn1crypto import cms
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils
from cryptography.x509 import verification

from core.signatures.block import SignedLayout, find_signature
from core.signatures.model import UNSIGNED, SignatureInfo

#: digests a signer may use; MD5/SHA-1 signatures are refused as invalid
_HASHES: dict[str, tuple[type[hashes.HashAlgorithm], str]] = {
    "sha256": (hashes.SHA256, "sha256"),
    "sha384": (hashes.SHA384, "sha384"),
    "sha512": (hashes.SHA512, "sha512"),
}
_RSA = {"rsassa_pkcs1v15", "sha256_rsa", "sha384_rsa", "sha512_rsa"}
_ECDSA = {"ecdsa", "sha256_ecdsa", "sha384_ecdsa", "sha512_ecdsa"}
_CHUNK = 1024 * 1024
_MISMATCH = "the signature does not match the bundle's contents (changed after signing)"


class _Invalid(Exception):
    pass


def verify_file(
    path: Path, roots: Sequence[x509.Certificate], *, now: dt.datetime | None = None
) -> tuple[SignatureInfo, int | None]:
    """(what the signature says, length of the signed bytes or None when unsigned)."""
    layout = find_signature(path)
    if layout is None:
        return UNSIGNED, None
    try:
        return _verify(path, layout, roots, now), layout.content_length
    except _Invalid as exc:
        return SignatureInfo(status="invalid", problem=str(exc)), layout.content_length


def _verify(
    path: Path, layout: SignedLayout, roots: Sequence[x509.Certificate], now: dt.datetime | None
) -> SignatureInfo:
    if layout.problem:
        raise _Invalid(layout.problem)
    try:
        info = cms.ContentInfo.load(layout.der)
        if info["content_type"].native != "signed_data":
            raise _Invalid("the signature block is not PKCS#7 signed data")
        signed = info["content"]
        signer_infos = list(signed["signer_infos"])
        certs = [c.chosen for c in signed["certificates"] if c.name == "certificate"]
    except _Invalid:
        raise
    except (ValueError, TypeError, KeyError) as exc:
        raise _Invalid(f"the signature block cannot be read ({exc})") from None
    if len(signer_infos) != 1:
        raise _Invalid(f"expected one signer, found {len(signer_infos)}")
    signer = signer_infos[0]
    cert = _signer_cert(signer, certs)
    try:
        leaf = x509.load_der_x509_certificate(cert.dump())
        others = [x509.load_der_x509_certificate(c.dump()) for c in certs if c is not cert]
    except ValueError as exc:
        raise _Invalid(f"a certificate in the signature cannot be read ({exc})") from None

    digest_name = signer["digest_algorithm"]["algorithm"].native
    if digest_name not in _HASHES:
        raise _Invalid(f"digest algorithm {digest_name} is not accepted")
    hash_cls, hashlib_name = _HASHES[digest_name]
    content_digest = _file_digest(path, layout.content_length, hashlib_name)

    attrs = signer["signed_attrs"]
    signed_at = ""
    if attrs.native is not None and len(attrs):
        values = {a["type"].native: a["values"] for a in attrs}
        if "message_digest" not in values:
            raise _Invalid("the signature has no message digest")
        if values["message_digest"][0].native != content_digest:
            raise _Invalid(_MISMATCH)
        if "content_type" in values and values["content_type"][0].native != "data":
            raise _Invalid("the signature covers something other than the bundle's data")
        if "signing_time" in values:
            signed_at = values["signing_time"][0].native.isoformat()
        payload, prehashed = attrs.untag().dump(), False
    else:
        payload, prehashed = content_digest, True
    _check_signature(leaf, signer, payload, hash_cls(), prehashed)
    return _describe(leaf, others, roots, now, signed_at)


def _signer_cert(signer: cms.SignerInfo, certs: list[cms.Certificate]) -> cms.Certificate:
    sid = signer["sid"]
    for cert in certs:
        if sid.name == "issuer_and_serial_number":
            if (
                cert.issuer == sid.chosen["issuer"]
                and cert.serial_number == sid.chosen["serial_number"].native
            ):
                return cert
        elif cert.key_identifier == sid.chosen.native:
            return cert
    raise _Invalid("the signer's certificate is not in the signature")


def _file_digest(path: Path, length: int, name: str) -> bytes:
    digest = hashlib.new(name)
    left = length
    with open(path, "rb") as handle:
        while left > 0:
            chunk = handle.read(min(_CHUNK, left))
            if not chunk:
                raise _Invalid("the file is shorter than its signature says")
            digest.update(chunk)
            left -= len(chunk)
    return digest.digest()


def _check_signature(
    leaf: x509.Certificate,
    signer: cms.SignerInfo,
    payload: bytes,
    algorithm: hashes.HashAlgorithm,
    prehashed: bool,
) -> None:
    sig_alg = signer["signature_algorithm"]["algorithm"].native
    signature = signer["signature"].native
    chosen: hashes.HashAlgorithm | utils.Prehashed = (
        utils.Prehashed(algorithm) if prehashed else algorithm
    )
    key = leaf.public_key()
    try:
        if isinstance(key, rsa.RSAPublicKey) and sig_alg in _RSA:
            key.verify(signature, payload, padding.PKCS1v15(), chosen)
        elif isinstance(key, ec.EllipticCurvePublicKey) and sig_alg in _ECDSA:
            key.verify(signature, payload, ec.ECDSA(chosen))
        else:
            raise _Invalid(f"signature algorithm {sig_alg} is not supported")
    except InvalidSignature:
        raise _Invalid(_MISMATCH) from None
    except UnsupportedAlgorithm as exc:
        raise _Invalid(f"signature algorithm {sig_alg} is not supported ({exc})") from None


def _describe(
    leaf: x509.Certificate,
    others: list[x509.Certificate],
    roots: Sequence[x509.Certificate],
    now: dt.datetime | None,
    signed_at: str,
) -> SignatureInfo:
    trust, problem = _chain(leaf, others, roots, now)
    return SignatureInfo(
        status="signed",
        trust=trust,
        subject=leaf.subject.rfc4514_string(),
        issuer=leaf.issuer.rfc4514_string(),
        fingerprint=leaf.fingerprint(hashes.SHA256()).hex(),
        valid_from=leaf.not_valid_before_utc.isoformat(),
        valid_to=leaf.not_valid_after_utc.isoformat(),
        signed_at=signed_at,
        problem=problem,
    )


def _self_signed(cert: x509.Certificate) -> bool:
    if cert.issuer != cert.subject:
        return False
    try:
        cert.verify_directly_issued_by(cert)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _chain(
    leaf: x509.Certificate,
    others: list[x509.Certificate],
    roots: Sequence[x509.Certificate],
    now: dt.datetime | None,
) -> tuple[str, str]:
    """("trusted" | "self-signed" | "untrusted", why not trusted)."""
    moment = now or dt.datetime.now(dt.UTC)
    if _self_signed(leaf):
        if leaf in roots:
            return "trusted", ""
        return "self-signed", "the certificate is self-signed"
    if not roots:
        return "untrusted", "no trusted roots are available"
    builder = (
        verification.PolicyBuilder()
        .store(verification.Store(list(roots)))
        .time(moment)
        .extension_policies(
            ca_policy=verification.ExtensionPolicy.webpki_defaults_ca(),
            ee_policy=verification.ExtensionPolicy.permit_all(),
        )
    )
    try:
        builder.build_client_verifier().verify(leaf, others)
    except verification.VerificationError as exc:
        detail = "" if "candidates exhausted" in str(exc) else f" ({exc})"
        return "untrusted", f"the certificate does not chain to a trusted root{detail}"
    return "trusted", ""
