"""A practice that follows the protocol, then returns wrong (in-range) shares when unmasking.

Its shares are still field elements, so only the coordinator's decoder can tell.
"""

from __future__ import annotations

import dataclasses
import hashlib

from protocols import shamir
from protocols.agent import SecAggAgent
from protocols.messages import OwnerShare


def _bent(share: OwnerShare) -> int:
    """A different in-range value, unrelated across holders (so no two lies agree)."""
    delta = int.from_bytes(hashlib.sha256(share.share.to_bytes(66, "big")).digest(), "big")
    return (share.share + 1 + delta) % shamir.PRIME


class FaultyAgent(SecAggAgent):
    """Follows the protocol, then returns wrong (but in-range) shares for `owners`."""

    def __init__(self, *args: object, owners: str = "all", kinds: str = "both", **kw: object):
        super().__init__(*args, **kw)  # type: ignore[arg-type]
        self.owners = owners
        self.kinds = kinds

    def unmask(self, request):  # type: ignore[no-untyped-def]
        response = super().unmask(request)

        def bend(shares: tuple[OwnerShare, ...], kind: str) -> tuple[OwnerShare, ...]:
            if self.kinds not in ("both", kind):
                return shares
            chosen = shares if self.owners == "all" else shares[:1]
            keep = shares[len(chosen) :]
            return tuple(OwnerShare(s.owner, _bent(s)) for s in chosen) + keep

        return dataclasses.replace(
            response,
            self_mask_shares=bend(response.self_mask_shares, "self"),
            key_shares=bend(response.key_shares, "key"),
        )
