"""Who may call the coordinator: the caller's certificate, then the registry's word.

Both RPCs pass here before anything else: `Gate.authenticate` reads the
practice from the client certificate gRPC already verified (TLS layer) and
asks `admit` whether that practice may connect (registry layer). A refusal
ends the RPC with a status code and leaves one log line saying why.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import NoReturn

import grpc

from common.errors import KlyngeError
from common.logs import log_event
from protocols.envelope import ErrorCode
from transport.tls import PeerIdentity, PeerIdentityError, peer_identity


class AdmissionRefused(KlyngeError):
    """Raised by an `admit` callback: this practice may not connect (and why)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


Admit = Callable[[PeerIdentity], None]


def allow_list(practice_ids: Iterable[str], fingerprints: Mapping[str, str] | None = None) -> Admit:
    """An `admit` callback for a fixed registry, optionally pinning certificate fingerprints."""
    allowed = frozenset(practice_ids)
    pins = dict(fingerprints or {})

    def admit(peer: PeerIdentity) -> None:
        if peer.practice_id not in allowed:
            raise AdmissionRefused("practice is not in the registry")
        pinned = pins.get(peer.practice_id)
        if pinned is not None and pinned != peer.fingerprint:
            raise AdmissionRefused("certificate fingerprint differs from the registry's")

    return admit


class Gate:
    """Authenticates and admits callers, and refuses RPCs with a log line saying why.

    Refusals of one kind for one practice are logged at most once per
    `quiet_s` seconds, with the number left unlogged meanwhile, so a flood of
    refused streams cannot turn into a flood of log writes.
    """

    def __init__(self, admit: Admit, log: logging.Logger, quiet_s: float = 1.0) -> None:
        self._admit = admit
        self._log = log
        self._quiet_s = quiet_s
        self._lock = threading.Lock()
        self._last: dict[tuple[str, str], tuple[float, int]] = {}

    def _throttled(self, key: tuple[str, str]) -> int | None:
        """None to stay quiet, or how many like it went unlogged since the last line."""
        now = time.monotonic()
        with self._lock:
            last, unlogged = self._last.get(key, (-self._quiet_s, 0))
            if now - last < self._quiet_s:
                self._last[key] = (last, unlogged + 1)
                return None
            if len(self._last) > 10_000:
                self._last.clear()
            self._last[key] = (now, 0)
            return unlogged

    def refuse(
        self,
        context: grpc.ServicerContext,
        status: grpc.StatusCode,
        event: str,
        reason: str,
        **fields: object,
    ) -> NoReturn:
        who = fields.get("practice_id") or fields.get("partner_id") or context.peer()
        unlogged = self._throttled((str(who), reason))
        if unlogged is not None:
            extra = {"unlogged": unlogged} if unlogged else {}
            log_event(
                self._log,
                event,
                level=logging.WARNING,
                reason=reason,
                status=status.name,
                address=context.peer(),
                **fields,
                **extra,
            )
        context.abort(status, reason)
        raise AssertionError("grpc's abort returned")  # it raises; this satisfies NoReturn

    def authenticate(
        self, context: grpc.ServicerContext, rpc: str, *, partners: bool = False
    ) -> PeerIdentity:
        """The caller, admitted. A partner's certificate passes only where `partners` (Fetch,
        whose handler checks it against the manifest); never into a practice's session."""
        try:
            peer = peer_identity(context)
        except PeerIdentityError as exc:
            self.refuse(context, grpc.StatusCode.UNAUTHENTICATED, "refused", exc.reason, rpc=rpc)
        if peer.partner_id is not None:
            if partners:
                return peer
            self.refuse(
                context,
                grpc.StatusCode.PERMISSION_DENIED,
                "refused",
                "a partner's certificate cannot open a practice's session",
                rpc=rpc,
                partner_id=peer.partner_id,
            )
        try:
            self._admit(peer)
        except AdmissionRefused as exc:
            self.refuse(
                context,
                grpc.StatusCode.PERMISSION_DENIED,
                "refused",
                f"{ErrorCode.NOT_REGISTERED.name}: {exc.reason}",
                rpc=rpc,
                practice_id=peer.practice_id,
            )
        return peer
