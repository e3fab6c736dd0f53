"""MCPB signatures: what ``mcpb sign`` appends to a ``.mcpb``, checked at install.

``mcpb sign`` appends ``MCPB_SIG_V1 | u32le length | DER PKCS#7 | MCPB_SIG_END``
to the zip. :func:`verify_file` checks the content digest over the bytes
before that block, the signer's signature over its signed attributes, then the
certificate chain against the trust store. CMS is parsed by ``asn1crypto`` and
every cryptographic step is done by ``cryptography``; nothing here encodes ASN.1.

``verify`` and ``trust`` (cryptography, asn1crypto: ~100 ms to import) are
imported where an install needs them, not here, to stay off the start path.
"""

from core.signatures.block import SignedLayout, find_signature, open_signed_zip
from core.signatures.model import UNSIGNED, SignatureInfo, SignatureStatus, Trust

#: ``<data>/trusted-publishers.pem``: extra roots (e.g. a company CA) the console trusts
TRUSTED_PUBLISHERS_FILE = "trusted-publishers.pem"

__all__ = [
    "TRUSTED_PUBLISHERS_FILE",
    "UNSIGNED",
    "SignatureInfo",
    "SignatureStatus",
    "SignedLayout",
    "Trust",
    "find_signature",
    "open_signed_zip",
]
