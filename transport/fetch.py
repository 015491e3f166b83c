"""Both ends of the Fetch RPC: an agent asks for released results, the coordinator serves them.

The agent names only a scope ("cluster", "region", or a transparency-log
scope with a request body) and optionally a round id; the coordinator decides
from the caller's certificate which cluster or region it may see, and for
which practice it speaks. "Nothing released" is NOT_FOUND on the wire and `FetchNotFound`
at both ends; "not yours" (`FetchDenied`: a partner asking beyond its grant)
is PERMISSION_DENIED; any other refusal reaches the agent as `FetchError`.
A partner's certificate passes the gate only here, never into a session.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, NoReturn

import grpc
from google.protobuf.message import DecodeError

from common.errors import KlyngeError
from common.i18n import register, t
from common.logs import log_event
from protocols.envelope import (
    PROTOCOL_VERSION,
    FetchDenied,
    FetchNotFound,
    FetchQuery,
    FetchResult,
)
from protocols.generated import klynge_pb2 as pb
from transport.admission import Gate
from transport.frames import FETCH_METHOD
from transport.limits import MAX_MESSAGE_BYTES
from transport.tls import PeerIdentity

register(
    {
        "agent.fetch_failed": {
            "en": "fetching results from the coordinator failed: {status}: {details}",
            "da": "hentning af resultater fra koordinatoren mislykkedes: {status}: {details}",
        },
    }
)

FetchHandler = Callable[[PeerIdentity, FetchQuery], FetchResult]
MAX_REQUEST_BODY_BYTES = 1024 * 1024  # a signed receipt with its parameters is a few kB


class FetchError(KlyngeError):
    """Fetching released results failed for a reason other than 'nothing released'."""

    def __init__(self, status: str, details: str) -> None:
        self.status = status
        self.details = details
        super().__init__(t("agent.fetch_failed", status=status, details=details))


class FetchService:
    """The coordinator's Fetch RPC: authenticate, ask `fetch`, answer or refuse with a status."""

    def __init__(self, gate: Gate, fetch: FetchHandler | None, log: logging.Logger) -> None:
        self._gate = gate
        self._fetch = fetch
        self._log = log

    def __call__(self, raw: bytes, context: grpc.ServicerContext) -> bytes:
        peer = self._gate.authenticate(context, "Fetch", partners=True)
        who: dict[str, Any] = {} if peer.partner_id is None else {"partner_id": peer.partner_id}

        def refuse(status: grpc.StatusCode, reason: str) -> NoReturn:
            self._gate.refuse(
                context, status, "fetch_refused", reason, practice_id=peer.practice_id, **who
            )

        try:
            request = pb.FetchRequest.FromString(raw)
        except DecodeError:
            refuse(grpc.StatusCode.INVALID_ARGUMENT, "bytes are not a FetchRequest")
        if request.protocol_version != PROTOCOL_VERSION:
            refuse(
                grpc.StatusCode.FAILED_PRECONDITION,
                f"protocol version {request.protocol_version} is not {PROTOCOL_VERSION}",
            )
        if self._fetch is None:
            refuse(grpc.StatusCode.UNIMPLEMENTED, "this coordinator serves no releases")
        if len(request.body) > MAX_REQUEST_BODY_BYTES:
            refuse(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"request body of {len(request.body)} bytes exceeds {MAX_REQUEST_BODY_BYTES}",
            )
        query = FetchQuery(
            scope=request.scope[:64], round_id=request.round_id[:128], body=bytes(request.body)
        )
        started = time.perf_counter()
        try:
            result = self._fetch(peer, query)
        except FetchNotFound as exc:
            refuse(grpc.StatusCode.NOT_FOUND, str(exc))
        except FetchDenied as exc:
            refuse(grpc.StatusCode.PERMISSION_DENIED, str(exc))
        except KlyngeError as exc:
            refuse(grpc.StatusCode.FAILED_PRECONDITION, str(exc))
        except Exception as exc:
            log_event(
                self._log,
                "handler_failed",
                level=logging.ERROR,
                callback="fetch",
                practice_id=peer.practice_id,
                error=type(exc).__name__,
                **who,
            )
            context.abort(grpc.StatusCode.INTERNAL, "coordinator failed to serve the fetch")
        log_event(
            self._log,
            "fetch_served",
            practice_id=peer.practice_id,
            **who,
            scope=query.scope,
            round_id=result.round_id,
            bytes=len(result.body),
            ms=round((time.perf_counter() - started) * 1000, 2),
        )
        return pb.FetchResponse(
            protocol_version=PROTOCOL_VERSION,
            round_id=result.round_id,
            media_type=result.media_type,
            body=result.body,
        ).SerializeToString()


def fetch_release(
    channel: grpc.Channel, scope: str, round_id: str, timeout: float, body: bytes = b""
) -> FetchResult:
    """Call Fetch on `channel` with a deadline; NOT_FOUND is `FetchNotFound`."""
    request = pb.FetchRequest(
        protocol_version=PROTOCOL_VERSION, scope=scope, round_id=round_id, body=body
    )
    call = channel.unary_unary(
        FETCH_METHOD,
        request_serializer=pb.FetchRequest.SerializeToString,
        response_deserializer=pb.FetchResponse.FromString,
    )
    try:
        response = call(request, timeout=timeout)
    except grpc.RpcError as exc:
        status = exc.code()
        if status == grpc.StatusCode.NOT_FOUND:
            raise FetchNotFound(exc.details() or "nothing released") from exc
        raise FetchError(status.name if status else "UNKNOWN", exc.details() or "") from exc
    return FetchResult(response.round_id, response.media_type, bytes(response.body))


def fetch_once(
    credentials: grpc.ChannelCredentials,
    target: str,
    scope: str,
    *,
    body: bytes = b"",
    timeout: float = 30.0,
    server_name: str | None = None,
    max_bytes: int = MAX_MESSAGE_BYTES,
) -> FetchResult:
    """One Fetch on a channel of its own, closed after: for a caller that holds no session (a
    partner), unlike an agent, whose transport keeps a channel for its fetches."""
    options: list[tuple[str, object]] = [("grpc.max_receive_message_length", max_bytes)]
    if server_name:
        options.append(("grpc.ssl_target_name_override", server_name))
    with grpc.secure_channel(target, credentials, options) as channel:
        return fetch_release(channel, scope, "", timeout, body)
