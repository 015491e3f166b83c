"""Log lines without values: one JSON object per event, scalar fields only.

Both ends of the federation, the agent core and the coordinator log through
`log_event`. It refuses bytes and non-scalar fields, so payloads, vectors and
key material cannot reach a log through it by construction; long strings are
cut, because an error text is the only place a value could hide.
`JsonLineFormatter` puts time, level and logger name around the event.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from enum import IntEnum

from common.cpr import mask_cpr

LogValue = str | int | float | bool | None
_MAX_LOG_TEXT = 300


def _log_value(name: str, value: object) -> LogValue:
    if isinstance(value, bytes | bytearray | memoryview):
        raise TypeError(f"log field {name!r}: bytes are never logged")
    if isinstance(value, IntEnum):
        return value.name
    if isinstance(value, str):
        text = "".join(c if c.isprintable() else "?" for c in value)
        return text if len(text) <= _MAX_LOG_TEXT else text[:_MAX_LOG_TEXT] + "…"
    if value is None or isinstance(value, bool | int | float):
        return value
    raise TypeError(f"log field {name!r}: {type(value).__name__} is not a scalar")


def log_event(
    logger: logging.Logger, event: str, *, level: int = logging.INFO, **fields: object
) -> None:
    """Log one JSON object `{"event": ..., **fields}`; scalar fields only."""
    if not logger.isEnabledFor(level):
        return
    document = {"event": event, **{k: _log_value(k, v) for k, v in fields.items()}}
    logger.log(level, json.dumps(document, ensure_ascii=False, sort_keys=True))


class JsonLineFormatter(logging.Formatter):
    """One JSON object per line with time, level and logger around the event fields."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        try:
            body = json.loads(message)
            if not isinstance(body, dict):
                body = {"message": message}
        except ValueError:
            body = {"message": message}
        document = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            **body,
        }
        return mask_cpr(json.dumps(document, ensure_ascii=False, sort_keys=True))  # never a CPR


class TextLineFormatter(JsonLineFormatter):
    """The same events as one readable line: `TIME LEVEL LOGGER event key=value ...`.

    For a person tailing a log; `JsonLineFormatter` is for machines (and the default).
    """

    def format(self, record: logging.LogRecord) -> str:
        document = json.loads(super().format(record))
        head = [document.pop(k, "") for k in ("ts", "level", "logger")]
        event = document.pop("event", None) or document.pop("message", "")
        fields = " ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in document.items())
        return " ".join(str(p) for p in (*head, event, fields) if p != "")


LOG_FORMATS = ("json", "text")


def line_formatter(kind: str) -> logging.Formatter:
    """The formatter `log_format = "json"|"text"` (server.toml, `--log-format`) names."""
    return TextLineFormatter() if kind == "text" else JsonLineFormatter()
