"""Structured logs: one event per line, JSON or key=value text, phone numbers masked.

Every log call in the gateway names its event and carries its data as fields::

    log.info("sender bound", extra=fields("sender_bound", account="acme",
                                          bind="transceiver", peer="10.0.0.7:40112"))

``log.format = "json"`` writes that as one object per line (orjson)::

    {"ts": "2026-12-02T04:08:56.123Z", "level": "info", "logger": "stopgate.server",
     "event": "sender_bound", "message": "sender bound", "account": "acme", ...}

and ``"text"`` as ``2026-12-02T04:08:56.123Z INFO stopgate.server sender_bound: sender
bound account=acme bind=transceiver peer=10.0.0.7:40112``. Lines from other libraries
(asyncio, aiohttp) get the event ``other``.

Privacy is the formatter's job, so no call site can forget it: with
``log.mask_numbers`` (the default) the fields that hold a subscriber's number
(``NUMBER_FIELDS``) are masked with ``mask_number``, and the free text (message,
error, traceback) has anything that looks like a phone number masked too. Secret
fields (``SECRET_FIELDS``) are never written, whatever the setting.

Values can come from senders (a campaign name, a reason, a system_id), so no
line carries a character a terminal acts on or that breaks a line
(``gateway.observability.visible``): in text, the message is written with them escaped
(``\\x1b``), a field value holding one is JSON-quoted and escaped, and each
traceback line is indented by two spaces with them escaped, so every line that
starts in the first column is a log line of stopgate's; in JSON the encoder
escapes C0 controls and stopgate escapes DEL, C1 controls, the bidi controls
and U+2028/U+2029 as ``\\uXXXX`` (the same JSON string, decoded exactly).
"""

from __future__ import annotations

import logging
import re
import sys
import time
from collections.abc import Mapping
from typing import IO, TYPE_CHECKING, Any

import orjson
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE

from gateway.observability.visible import UNSAFE_CLASS, json_safe, visible

if TYPE_CHECKING:
    from gateway.config.model import Log

__all__ = [
    "NUMBER_FIELDS", "SECRET_FIELDS", "StructuredFormatter", "configure", "fields",
    "mask_number", "scrub", "set_context",
]

#: Fields that hold a subscriber's phone number: masked unless ``log.mask_numbers = false``.
NUMBER_FIELDS = frozenset({"number", "msisdn", "recipient"})
#: Fields never written, whatever a call site passes (passwords, keys, HMAC secrets, tokens).
SECRET_FIELDS = frozenset({"password", "api_key", "secret", "webhook_secret", "token"})
#: Free-text fields scrubbed of phone numbers like the message itself.
TEXT_FIELDS = frozenset({"error", "reason", "detail"})
#: Digits of a number that stay visible after its country code.
SHOWN_AFTER_COUNTRY_CODE = 4
#: Digits of a number that are always masked (all of them, for a shorter one).
ALWAYS_MASKED = 4

# In free text: "+" and 6 to 15 digits, or a bare run of 10 to 15 digits (national and
# international numbers without "+"). Shorter runs are counts, ports, pids, shortcodes.
_NUMBER_IN_TEXT = re.compile(r"\+\d{6,15}(?!\d)|(?<![\w.])\d{10,15}(?![\w.])")
_DIGITS = frozenset("0123456789")
# One token, and nothing a terminal acts on (observability.visible): else the value is quoted.
_BARE_VALUE = re.compile(r"[^\s=\"'\\" + UNSAFE_CLASS + "]+")
_LEVELS = {logging.DEBUG: "debug", logging.INFO: "info", logging.WARNING: "warning",
           logging.ERROR: "error", logging.CRITICAL: "critical"}

#: Process-wide fields on every line (``worker``/``pid`` in a worker process).
_context: dict[str, Any] = {}


def _country_code_length(digits: str) -> int:
    for length in (1, 2, 3):
        if len(digits) > length and int(digits[:length]) in COUNTRY_CODE_TO_REGION_CODE:
            return length
    return 0


def mask_number(number: str) -> str:
    """``+33612345678`` -> ``+336123*****``: the country code and the next 4 digits stay.

    At least the last 4 digits are always masked (every digit of a number of 4 or
    fewer). Without a ``+`` (a national number) only its first 4 digits can stay.
    Other characters (``+``, spaces, letters of an alphanumeric sender id) are kept,
    so the result has the input's length.
    """
    digits = "".join(char for char in number if char in _DIGITS)
    if not digits:
        return number
    country = _country_code_length(digits) if number.startswith("+") else 0
    shown = max(0, min(country + SHOWN_AFTER_COUNTRY_CODE, len(digits) - ALWAYS_MASKED))
    out = []
    for char in number:
        if char in _DIGITS:
            if shown > 0:
                shown -= 1
            else:
                char = "*"
        out.append(char)
    return "".join(out)


def scrub(text: str) -> str:
    """Free text with every phone-number-like run of digits masked (see ``mask_number``)."""
    return _NUMBER_IN_TEXT.sub(lambda found: mask_number(found.group()), text)


def fields(event: str, **values: Any) -> dict[str, Any]:
    """The ``extra`` of a log call: its event name and its structured fields."""
    return {"event": event, "fields": values}


def set_context(**values: Any) -> None:
    """Fields added to every line of this process (a worker's slot and pid)."""
    _context.update(values)


def _timestamp(created: float) -> str:
    seconds = int(created)
    millis = int((created - seconds) * 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"


def _text_value(value: Any) -> str:
    """A key=value value: bare when it is one token, else JSON-quoted (no line breaks)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    text = value if isinstance(value, str) else str(value)
    if text and _BARE_VALUE.fullmatch(text):
        return text
    return json_safe(orjson.dumps(text).decode())


class StructuredFormatter(logging.Formatter):
    """Formats records as JSON objects or key=value text (see the module docstring)."""

    def __init__(self, *, json: bool = False, mask_numbers: bool = True) -> None:
        super().__init__()
        self.json = json
        self.mask_numbers = mask_numbers

    def values(self, record: logging.LogRecord) -> tuple[str, str, dict[str, Any], str]:
        """(event, message, fields, traceback text) of a record, masked and redacted."""
        mask = self.mask_numbers
        message = record.getMessage()
        found: Mapping[str, Any] = getattr(record, "fields", None) or {}
        out: dict[str, Any] = {}
        for key, value in found.items():
            if key in SECRET_FIELDS:
                continue
            if mask and value is not None:
                if key in NUMBER_FIELDS:
                    value = mask_number(str(value))
                elif key in TEXT_FIELDS:
                    value = scrub(str(value))
            out[key] = value
        trace = ""
        if record.exc_info:
            trace = self.formatException(record.exc_info)
        elif record.exc_text:
            trace = record.exc_text
        if mask:
            message = scrub(message)
            trace = scrub(trace)
        return getattr(record, "event", None) or "other", message, out, trace

    def format(self, record: logging.LogRecord) -> str:
        event, message, values, trace = self.values(record)
        if self.json:
            line: dict[str, Any] = {
                "ts": _timestamp(record.created),
                "level": _LEVELS.get(record.levelno, record.levelname.lower()),
                "logger": record.name, "event": event, "message": message,
            }
            for key, value in _context.items():
                line.setdefault(key, value)
            for key, value in values.items():
                line.setdefault(key, value)  # a field never hides ts, level, event...
            if trace:
                line["traceback"] = trace
            return json_safe(orjson.dumps(line, default=str).decode())
        prefix = ""
        if _context:  # "[worker 1 pid 4242] ", as the README shows worker lines
            prefix = "[" + " ".join(f"{key} {value}" for key, value in _context.items()) + "] "
        pairs = "".join(f" {key}={_text_value(value)}" for key, value in values.items())
        text = (f"{_timestamp(record.created)} {record.levelname} {record.name} {event}: "
                f"{prefix}{visible(message)}{pairs}")
        if not trace:
            return text
        lines = visible(trace, keep_newlines=True).split("\n")
        return text + "".join(f"\n  {line}" for line in lines)


class _Handler(logging.StreamHandler[IO[str]]):
    """The handler ``configure`` installs (the next call replaces it)."""


def configure(config: Log, stream: IO[str] | None = None) -> logging.Handler:
    """Log to ``stream`` (stderr) at ``config.level`` in ``config.format``; the handler.

    Replaces the handler an earlier call installed (handlers others put on the root
    logger, such as pytest's, stay).
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, _Handler):
            root.removeHandler(handler)
    handler = _Handler(stream if stream is not None else sys.stderr)
    handler.setFormatter(StructuredFormatter(json=config.format == "json",
                                             mask_numbers=config.mask_numbers))
    root.addHandler(handler)
    root.setLevel(config.level.upper())
    return handler
