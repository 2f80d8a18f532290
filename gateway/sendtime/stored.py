"""A held message as the ledger keeps it: the message as the sender gave it, in bytes.

``dump(message)`` writes what rebuilds ``gateway.message.Message`` exactly as it was
received (``load``): the sender's first submit_sm as its wire encoding (every field and
TLV: registered_delivery, validity_period, the class and campaign TLVs), the
sender-visible ids of every part, the coding and the whole payload **before any footer
or label** the policy appended, how the sender cut it (UDH or SAR, other information
elements), where it came from (SMPP or HTTP), the class an HTTP sender stated, the
campaign, and the class and rule that decided it (for the listing, not re-used: the
message is classified again at release).

JSON (orjson) with hex for bytes, versioned (``v``): a row written by this stopgate is
read by the next.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import orjson

from gateway.message import Message
from smpp.codec import decode, encode
from smpp.errors import PduError
from smpp.pdu import SubmitSm

__all__ = ["VERSION", "dump", "load", "without_destination"]

VERSION = 1
#: The rule ``rules.classify.explicit_class`` names for a class given over HTTP.
_HTTP_CLASS_RULE = "explicit:http"


def dump(message: Message) -> bytes:
    """The bytes that ``load`` turns back into ``message`` as it was received."""
    payload, data_coding = message.received or (message.payload, message.data_coding)
    return orjson.dumps({
        "v": VERSION,
        "account": message.account,
        "id": message.id,
        "part_ids": list(message.part_ids),
        "template": encode(message.template).hex(),
        "data_coding": data_coding,
        "payload": payload.hex(),
        "concat": message.concat,
        "extra_ies": [[iei, data.hex()] for iei, data in message.extra_ies],
        "via": message.via,
        "http_class": message.klass if message.rule == _HTTP_CLASS_RULE else None,
        "campaign": message.campaign,
        "klass": message.klass,
        "rule": message.rule,
    })


def load(data: bytes, received_at: float = 0.0) -> Message:
    """The message ``dump`` wrote, as received: to go through the pipeline again."""
    stored: dict[str, Any] = orjson.loads(data)
    if stored.get("v") != VERSION:
        raise ValueError(f"a held message of format {stored.get('v')!r}: this stopgate "
                         f"reads format {VERSION}")
    template = decode(bytes.fromhex(stored["template"]))
    if not isinstance(template, SubmitSm):
        raise ValueError(f"a held message's template is a {type(template).__name__}")
    payload = bytes.fromhex(stored["payload"])
    if payload == template.short_message:
        payload = template.short_message  # a plain part goes on as the sender's own PDU
    message = Message(
        account=stored["account"],
        id=stored["id"],
        part_ids=tuple(stored["part_ids"]),
        template=template,
        data_coding=int(stored["data_coding"]),
        payload=payload,
        concat=stored["concat"],
        extra_ies=tuple((int(iei), bytes.fromhex(data)) for iei, data in stored["extra_ies"]),
        via=stored["via"],
        received_at=received_at,
    )
    message.klass = stored["http_class"]
    message.campaign = stored["campaign"]
    return message


def without_destination(data: bytes) -> bytes:
    """A stored message with its recipient's address removed (an erasure): what is left
    still names its parts, so the sender can be sent their failure receipts, but never
    goes out again. Bytes no stopgate can read become empty (``load`` refuses them, and
    the releaser drops the row as unreadable)."""
    try:
        stored: dict[str, Any] = orjson.loads(data)
        template = decode(bytes.fromhex(stored["template"]))
        if not isinstance(template, SubmitSm):
            return b""
        stored["template"] = encode(replace(template, destination_addr="")).hex()
    except (ValueError, KeyError, TypeError, PduError):
        return b""
    return orjson.dumps(stored)
