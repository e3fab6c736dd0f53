"""What a signature check found, in a form the workspace file, the GUI and the CLI share."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

SignatureStatus = Literal["signed", "unsigned", "invalid"]
#: signed only: does the signer chain to a trusted root, or sign itself?
Trust = Literal["trusted", "self-signed", "untrusted"]


class SignatureInfo(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    status: SignatureStatus
    trust: Trust | None = None
    #: the publisher's certificate subject, RFC 4514 (``CN=...,O=...``)
    subject: str = ""
    issuer: str = ""
    #: SHA-256 of the signer's certificate (DER), hex
    fingerprint: str = ""
    valid_from: str = ""
    valid_to: str = ""
    signed_at: str = ""
    #: invalid: why the signature does not hold; untrusted: why the chain is not trusted
    problem: str = ""

    @property
    def summary(self) -> str:
        """One line for an install result, the details view and ``status``."""
        if self.status == "unsigned":
            return "Unsigned"
        if self.status == "invalid":
            return f"Invalid signature: {self.problem}"
        if self.trust == "trusted":
            return f"Signed by {self.subject} (chains to a trusted root)"
        if self.trust == "self-signed":
            return f"Signed by {self.subject} (self-signed: the publisher is not verified)"
        return f"Signed by {self.subject} (not trusted: {self.problem})"


UNSIGNED = SignatureInfo(status="unsigned")
