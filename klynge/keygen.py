"""The one body of `klynge agent keygen` and `klynge partner keygen`.

Each command declares its own options (their help names a practice or a
partner); what they do is the same: make the TLS key and its request on this
machine (`transport.csr.make_request`) and print where they are and the key's
fingerprint, which the owner reads to the region on the telephone.
"""

from __future__ import annotations

from pathlib import Path

import typer

from common.i18n import register, t
from transport.csr import make_request
from transport.pki import PkiLayout

register(
    {
        "keygen.done": {
            "da": "TLS-nøgle for {role} {subject}: {key_file} (0600; den bliver på denne "
            "maskine). Certifikatanmodning: {csr}; send den til regionen. Nøglens fingeraftryk: "
            "{fingerprint}",
            "en": "TLS key for {role} {subject}: {key_file} (0600; it stays on this machine). "
            "Certificate request: {csr}; send it to the region. The key's fingerprint: "
            "{fingerprint}",
        },
    }
)

# The options both commands share, with one help text each.
CSR_OPTION: Path | None = typer.Option(
    None, "--csr", help="Where to write the request (default: beside the key, ID.csr)."
)
FORCE_OPTION: bool = typer.Option(
    False, "--force", help="Replace an existing key and request (a renewal)."
)


def make_key_and_request(
    pki: Path, role: str, subject_id: str, csr: Path | None, *, force: bool
) -> None:
    """Make the key (0600) and request of `subject_id` in `role`, and say so in one line."""
    made = make_request(PkiLayout(pki), role, subject_id, request_path=csr, force=force)
    typer.echo(
        t(
            "keygen.done",
            role=t(f"csr.role.{role}"),
            subject=made.subject_id,
            key_file=made.key_path,
            csr=made.request_path,
            fingerprint=made.key_fingerprint,
        )
    )
