"""Mutual-TLS credentials for the coordinator and the agents, and the caller's identity.

The guarantee: the coordinator learns who is calling from the TLS handshake
alone. gRPC (BoringSSL) verifies the client's chain against our CA before any
byte of the RPC arrives, so a certificate from another CA, or none at all, never
reaches application code. `peer_identity` then reads the practice (or partner) id from the
verified certificate's URI SAN; claims inside frames are only compared with it.

The PEM files are parsed and cross-checked here before gRPC sees them, because
gRPC reports a bad key or certificate as an opaque handshake failure at the
first connection, whereas an operator needs the file name at start-up.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import grpc
from cryptography import x509

from common.errors import KlyngeError
from common.i18n import register, t
from common.identities import PARTNER
from transport.pki import (
    PkiError,
    PkiLayout,
    check_key_matches,
    fingerprint,
    has_client_auth,
    identity_of,
    is_issued_by,
    load_certificate,
    load_private_key,
    practice_id_of,
)

register(
    {
        "tls.identity": {
            "en": "caller refused at the identity layer: {reason}",
            "da": "kalder afvist i identitetslaget: {reason}",
        },
    }
)


class PeerIdentityError(KlyngeError):
    """The TLS peer is authenticated but does not carry a usable practice identity."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(t("tls.identity", reason=reason))


@dataclass(frozen=True)
class TlsFiles:
    """The three PEM files one side of a mutual-TLS connection needs."""

    ca_cert: Path
    cert: Path
    key: Path

    @classmethod
    def for_server(cls, layout: PkiLayout) -> TlsFiles:
        return cls(layout.ca_cert, layout.server_cert, layout.server_key)

    @classmethod
    def for_practice(cls, layout: PkiLayout, practice_id: str) -> TlsFiles:
        return cls(
            layout.ca_cert, layout.practice_cert(practice_id), layout.practice_key(practice_id)
        )


@dataclass(frozen=True)
class LoadedTls:
    """PEM bytes that were parsed and found consistent: key matches, CA signed the cert."""

    files: TlsFiles
    ca_pem: bytes
    cert_pem: bytes
    key_pem: bytes
    certificate: x509.Certificate


def load_tls(files: TlsFiles) -> LoadedTls:
    ca = load_certificate(files.ca_cert)
    cert = load_certificate(files.cert)
    key = load_private_key(files.key)
    check_key_matches(files.cert, cert, key)
    if not is_issued_by(cert, ca):
        raise PkiError(
            "pki.mismatch", path=files.cert, reason=t("pki.reason.not issued by", ca=files.ca_cert)
        )
    return LoadedTls(
        files=files,
        ca_pem=files.ca_cert.read_bytes(),
        cert_pem=files.cert.read_bytes(),
        key_pem=files.key.read_bytes(),
        certificate=cert,
    )


def server_credentials(tls: LoadedTls) -> grpc.ServerCredentials:
    """Server credentials that require a client certificate chaining to our CA."""
    return grpc.ssl_server_credentials(
        [(tls.key_pem, tls.cert_pem)],
        root_certificates=tls.ca_pem,
        require_client_auth=True,
    )


def channel_credentials(tls: LoadedTls) -> grpc.ChannelCredentials:
    """Agent credentials: trust only our CA for the server, present the practice certificate."""
    return grpc.ssl_channel_credentials(
        root_certificates=tls.ca_pem,
        private_key=tls.key_pem,
        certificate_chain=tls.cert_pem,
    )


def practice_of_loaded(tls: LoadedTls) -> str:
    """The practice an agent's own certificate names, so it cannot claim another by mistake."""
    try:
        return practice_id_of(tls.certificate)
    except ValueError as exc:
        raise PkiError("pki.mismatch", path=tls.files.cert, reason=str(exc)) from exc


@dataclass(frozen=True)
class PeerIdentity:
    """Who is calling, as proven by the verified client certificate.

    A partner's certificate (`urn:klynge:partner:`) sets `partner_id` and
    leaves `practice_id` empty, which names no practice anywhere.
    """

    practice_id: str
    fingerprint: str  # SHA-256 of the DER certificate, for registry pinning
    partner_id: str | None = None

    @property
    def is_partner(self) -> bool:
        return self.partner_id is not None


def peer_identity(context: grpc.ServicerContext) -> PeerIdentity:
    """The practice behind an RPC, from the certificate gRPC already verified.

    Requires the certificate to be meant for TLS clients (EKU clientAuth), so
    the coordinator's own server certificate cannot be replayed as a practice.
    """
    # gRPC gives a list of values per property; the stubs say one bytes value.
    auth = cast(Mapping[str, Sequence[bytes]], context.auth_context())
    if auth.get("transport_security_type") != [b"ssl"]:
        raise PeerIdentityError("connection is not TLS")
    pems = auth.get("x509_pem_cert") or []
    if len(pems) != 1:
        raise PeerIdentityError("no verified client certificate")
    try:
        cert = x509.load_pem_x509_certificate(pems[0])
    except ValueError as exc:
        raise PeerIdentityError(f"unreadable client certificate: {exc}") from exc
    if not has_client_auth(cert):
        raise PeerIdentityError("certificate is not a TLS client certificate")
    try:
        role, subject = identity_of(cert)
    except ValueError as exc:
        raise PeerIdentityError(str(exc)) from exc
    if role == PARTNER:
        return PeerIdentity(practice_id="", fingerprint=fingerprint(cert), partner_id=subject)
    return PeerIdentity(practice_id=subject, fingerprint=fingerprint(cert))
