"""The limits both ends of a Session enforce, and the gRPC options that carry them.

A frame larger than `max_message_bytes` is refused by gRPC itself on either
side; an envelope's payload is held to `protocols.envelope.DEFAULT_MAX_PAYLOAD_BYTES`
by the envelope check, with room to spare for the frame around it. HTTP/2
keepalive pings find a dead connection underneath an idle stream.
"""

from __future__ import annotations

MAX_MESSAGE_BYTES = 8 * 1024 * 1024
# What a frame needs besides its envelope's payload.
FRAME_OVERHEAD_BYTES = 4096
KEEPALIVE_TIMEOUT_MS = 10_000

GrpcOptions = list[tuple[str, object]]


def stream_options(
    max_message_bytes: int, keepalive_time_ms: int, keepalive_timeout_ms: int
) -> GrpcOptions:
    """The gRPC options the coordinator's server and the agent's channel share."""
    return [
        ("grpc.max_receive_message_length", max_message_bytes),
        ("grpc.max_send_message_length", max_message_bytes),
        ("grpc.keepalive_time_ms", keepalive_time_ms),
        ("grpc.keepalive_timeout_ms", keepalive_timeout_ms),
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.http2.max_pings_without_data", 0),
    ]
