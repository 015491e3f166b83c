from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ErrorCode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ERROR_CODE_UNSPECIFIED: _ClassVar[ErrorCode]
    MALFORMED_FRAME: _ClassVar[ErrorCode]
    UNKNOWN_FRAME_TYPE: _ClassVar[ErrorCode]
    UNSUPPORTED_VERSION: _ClassVar[ErrorCode]
    INVALID_ENVELOPE: _ClassVar[ErrorCode]
    PAYLOAD_TOO_LARGE: _ClassVar[ErrorCode]
    IDENTITY_MISMATCH: _ClassVar[ErrorCode]
    NOT_REGISTERED: _ClassVar[ErrorCode]
    OUT_OF_ORDER: _ClassVar[ErrorCode]
    REJECTED: _ClassVar[ErrorCode]
    INTERNAL: _ClassVar[ErrorCode]
    SHUTTING_DOWN: _ClassVar[ErrorCode]
    SUPERSEDED: _ClassVar[ErrorCode]
ERROR_CODE_UNSPECIFIED: ErrorCode
MALFORMED_FRAME: ErrorCode
UNKNOWN_FRAME_TYPE: ErrorCode
UNSUPPORTED_VERSION: ErrorCode
INVALID_ENVELOPE: ErrorCode
PAYLOAD_TOO_LARGE: ErrorCode
IDENTITY_MISMATCH: ErrorCode
NOT_REGISTERED: ErrorCode
OUT_OF_ORDER: ErrorCode
REJECTED: ErrorCode
INTERNAL: ErrorCode
SHUTTING_DOWN: ErrorCode
SUPERSEDED: ErrorCode

class Envelope(_message.Message):
    __slots__ = ("protocol_version", "round_id", "stage", "sender", "seq", "kind", "payload")
    PROTOCOL_VERSION_FIELD_NUMBER: _ClassVar[int]
    ROUND_ID_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    SENDER_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    protocol_version: int
    round_id: str
    stage: str
    sender: str
    seq: int
    kind: str
    payload: bytes
    def __init__(self, protocol_version: _Optional[int] = ..., round_id: _Optional[str] = ..., stage: _Optional[str] = ..., sender: _Optional[str] = ..., seq: _Optional[int] = ..., kind: _Optional[str] = ..., payload: _Optional[bytes] = ...) -> None: ...

class Hello(_message.Message):
    __slots__ = ("protocol_version", "practice_id", "agent_version")
    PROTOCOL_VERSION_FIELD_NUMBER: _ClassVar[int]
    PRACTICE_ID_FIELD_NUMBER: _ClassVar[int]
    AGENT_VERSION_FIELD_NUMBER: _ClassVar[int]
    protocol_version: int
    practice_id: str
    agent_version: str
    def __init__(self, protocol_version: _Optional[int] = ..., practice_id: _Optional[str] = ..., agent_version: _Optional[str] = ...) -> None: ...

class Welcome(_message.Message):
    __slots__ = ("protocol_version", "session_id", "heartbeat_interval_ms")
    PROTOCOL_VERSION_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_INTERVAL_MS_FIELD_NUMBER: _ClassVar[int]
    protocol_version: int
    session_id: str
    heartbeat_interval_ms: int
    def __init__(self, protocol_version: _Optional[int] = ..., session_id: _Optional[str] = ..., heartbeat_interval_ms: _Optional[int] = ...) -> None: ...

class Ack(_message.Message):
    __slots__ = ("round_id", "stage", "sender", "seq", "duplicate")
    ROUND_ID_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    SENDER_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_FIELD_NUMBER: _ClassVar[int]
    round_id: str
    stage: str
    sender: str
    seq: int
    duplicate: bool
    def __init__(self, round_id: _Optional[str] = ..., stage: _Optional[str] = ..., sender: _Optional[str] = ..., seq: _Optional[int] = ..., duplicate: _Optional[bool] = ...) -> None: ...

class Heartbeat(_message.Message):
    __slots__ = ("nonce",)
    NONCE_FIELD_NUMBER: _ClassVar[int]
    nonce: int
    def __init__(self, nonce: _Optional[int] = ...) -> None: ...

class Error(_message.Message):
    __slots__ = ("code", "reason", "round_id", "stage", "sender", "seq")
    CODE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    ROUND_ID_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    SENDER_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    code: ErrorCode
    reason: str
    round_id: str
    stage: str
    sender: str
    seq: int
    def __init__(self, code: _Optional[_Union[ErrorCode, str]] = ..., reason: _Optional[str] = ..., round_id: _Optional[str] = ..., stage: _Optional[str] = ..., sender: _Optional[str] = ..., seq: _Optional[int] = ...) -> None: ...

class AgentFrame(_message.Message):
    __slots__ = ("hello", "envelope", "heartbeat", "error")
    HELLO_FIELD_NUMBER: _ClassVar[int]
    ENVELOPE_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    hello: Hello
    envelope: Envelope
    heartbeat: Heartbeat
    error: Error
    def __init__(self, hello: _Optional[_Union[Hello, _Mapping]] = ..., envelope: _Optional[_Union[Envelope, _Mapping]] = ..., heartbeat: _Optional[_Union[Heartbeat, _Mapping]] = ..., error: _Optional[_Union[Error, _Mapping]] = ...) -> None: ...

class CoordinatorFrame(_message.Message):
    __slots__ = ("welcome", "envelope", "heartbeat", "ack", "error")
    WELCOME_FIELD_NUMBER: _ClassVar[int]
    ENVELOPE_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_FIELD_NUMBER: _ClassVar[int]
    ACK_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    welcome: Welcome
    envelope: Envelope
    heartbeat: Heartbeat
    ack: Ack
    error: Error
    def __init__(self, welcome: _Optional[_Union[Welcome, _Mapping]] = ..., envelope: _Optional[_Union[Envelope, _Mapping]] = ..., heartbeat: _Optional[_Union[Heartbeat, _Mapping]] = ..., ack: _Optional[_Union[Ack, _Mapping]] = ..., error: _Optional[_Union[Error, _Mapping]] = ...) -> None: ...

class FetchRequest(_message.Message):
    __slots__ = ("protocol_version", "scope", "round_id", "body")
    PROTOCOL_VERSION_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    ROUND_ID_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    protocol_version: int
    scope: str
    round_id: str
    body: bytes
    def __init__(self, protocol_version: _Optional[int] = ..., scope: _Optional[str] = ..., round_id: _Optional[str] = ..., body: _Optional[bytes] = ...) -> None: ...

class FetchResponse(_message.Message):
    __slots__ = ("protocol_version", "round_id", "media_type", "body")
    PROTOCOL_VERSION_FIELD_NUMBER: _ClassVar[int]
    ROUND_ID_FIELD_NUMBER: _ClassVar[int]
    MEDIA_TYPE_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    protocol_version: int
    round_id: str
    media_type: str
    body: bytes
    def __init__(self, protocol_version: _Optional[int] = ..., round_id: _Optional[str] = ..., media_type: _Optional[str] = ..., body: _Optional[bytes] = ...) -> None: ...
