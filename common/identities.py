"""The identities client certificates carry, as one `urn:klynge:<role>:<id>` URI each.

One place for the naming, because both the PKI (which writes and reads
certificates) and the manifest (which declares who may fetch what) must spell
an identity the same way, and neither may import the other. A role is part of
the name, so a partner's certificate can never be read as a practice's: the
coordinator asks for the role it serves, and a certificate naming two
identities names nobody.

>>> parse_identity("urn:klynge:partner:rh-kvalitet")
('partner', 'rh-kvalitet')
>>> parse_identity("urn:klynge:practice:P001")
('practice', 'P001')
>>> parse_identity("urn:klynge:coordinator:x") is None
True
"""

from __future__ import annotations

import re

PRACTICE = "practice"
PARTNER = "partner"
ROLES: tuple[str, ...] = (PRACTICE, PARTNER)
URI_PREFIX = "urn:klynge:"
PRACTICE_URI_PREFIX = f"{URI_PREFIX}{PRACTICE}:"
PARTNER_URI_PREFIX = f"{URI_PREFIX}{PARTNER}:"
SUBJECT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def identity_uri(role: str, subject_id: str) -> str:
    """The URI SAN of a client certificate for `subject_id` in `role`."""
    return f"{URI_PREFIX}{role}:{subject_id}"


def parse_identity(uri: str) -> tuple[str, str] | None:
    """(role, id) of a well-formed identity URI of a known role, else None."""
    for role in ROLES:
        prefix = f"{URI_PREFIX}{role}:"
        if uri.startswith(prefix) and SUBJECT_ID.fullmatch(uri[len(prefix) :]):
            return role, uri[len(prefix) :]
    return None
