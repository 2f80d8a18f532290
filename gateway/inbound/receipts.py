"""Delivery receipts as values: recognise, read, rewrite and build them. Pure functions, no I/O.

A carrier's receipt is a deliver_sm whose esm_class message type is SMSC
delivery receipt (0x04) or intermediate notification (0x20). Its message id
is in the ``receipted_message_id`` TLV and/or in the text, in the informal
format of SMPP 3.4 Appendix B::

    id:IIIIIIIIII sub:SSS dlvrd:DDD submit date:YYMMDDhhmm done date:YYMMDDhhmm
    stat:DDDDDDD err:E text: . . . . . . . . .

The text is read tolerantly: keys in any case, any run of spaces or tabs
around the colon, ``submit_date``/``submitdate`` spellings, ids of up to 65
characters, fields in any order; the ``text:`` field runs to the end, so an
``id:`` inside it is never taken for the receipt's.

Carriers that leave esm_class 0 on receipts are tolerated: a deliver_sm with
message type 0 counts as a receipt when it carries both ``receipted_message_id``
and ``message_state`` TLVs, or when its text starts with ``id:`` and has a
``stat:`` field. A handset MO written exactly like that would be taken for a
receipt with an unknown id and dropped; no real MO looks like that, while
carriers sending esm_class 0 receipts are common.

The text is handled as the carrier's octets: GSM default (unpacked), IA5 and
Latin-1 bodies are viewed one octet per character (Latin-1, lossless both
ways) and UCS-2 bodies as UTF-16; a rewrite replaces only the id's characters,
so every other octet of the body and every other TLV leaves as it came.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime
from functools import lru_cache

from smpp.constants import (
    ESM_DELIVERY_RECEIPT,
    ESM_INTERMEDIATE_NOTIFICATION,
    ESM_TYPE_MASK,
    MessageState,
    Tag,
)
from smpp.gsm import UnencodableError, encode_gsm
from smpp.pdu import DeliverSm, ShortMessagePdu, Tlvs
from smpp.text import Alphabet, alphabet_of
from smpp.tlv import encode_tlv_int, encode_tlv_str, tlv_str

__all__ = [
    "STAT_TO_STATE",
    "ReceiptText",
    "build_receipt",
    "is_receipt",
    "parse_receipt_text",
    "receipt_body",
    "receipt_id",
    "receipt_ids",
    "receipt_text",
    "rewrite_receipt",
]

#: SMPP 3.4 Appendix B stat values and the message_state each stands for.
STAT_TO_STATE: dict[str, int] = {
    "ENROUTE": MessageState.ENROUTE,
    "DELIVRD": MessageState.DELIVERED,
    "EXPIRED": MessageState.EXPIRED,
    "DELETED": MessageState.DELETED,
    "UNDELIV": MessageState.UNDELIVERABLE,
    "ACCEPTD": MessageState.ACCEPTED,
    "UNKNOWN": MessageState.UNKNOWN,
    "REJECTD": MessageState.REJECTED,
}

_RECEIPT_TYPES = (ESM_DELIVERY_RECEIPT, ESM_INTERMEDIATE_NOTIFICATION)
_SM_LENGTH_MAX = 254  # longer bodies go in message_payload (SMPP 3.4 5.3.2.32)
_MAX_ID = 65

# A key starts the text or follows white space; "id:" inside "sub:001id:2" is no key.
_KEY = re.compile(
    r"(?<!\S)(id|sub|dlvrd|submit[ _]?date|done[ _]?date|stat|err|text)[ \t]*:[ \t]*",
    re.IGNORECASE,
)
_STARTS_LIKE_RECEIPT = re.compile(r"\s*id[ \t]*:", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class ReceiptText:
    """The fields of an Appendix B receipt text.

    Keys are normalised to ``id sub dlvrd submit_date done_date stat err text``;
    ``id_span`` is where the id sits in the text (character offsets), if it has one.
    """

    fields: dict[str, str]
    id_span: tuple[int, int] | None

    @property
    def id(self) -> str | None:
        return self.fields.get("id")

    @property
    def stat(self) -> str | None:
        return self.fields.get("stat")


def _key_name(raw: str) -> str:
    key = raw.lower().replace(" ", "").replace("_", "")
    return {"submitdate": "submit_date", "donedate": "done_date"}.get(key, key)


@lru_cache(maxsize=256)
def parse_receipt_text(text: str) -> ReceiptText:
    """The Appendix B fields found in ``text`` (an empty ReceiptText if there are none).

    Cached (small): routing one receipt reads its text up to three times (is it a
    receipt, which id, rewrite the id). The result is shared: do not change its fields.
    """
    fields: dict[str, str] = {}
    id_span: tuple[int, int] | None = None
    matches = list(_KEY.finditer(text))
    for index, match in enumerate(matches):
        key = _key_name(match.group(1))
        start = match.end()
        if key == "text":
            # Free text, kept exactly as sent (from just after the colon), to the end:
            # an "id:" in it is not ours.
            fields.setdefault("text", text[match.start() + match.group(0).index(":") + 1:])
            break
        end = matches[index + 1].start() if index + 1 < len(matches) else len(text)
        value = text[start:end]
        token = value.split(None, 1)[0] if value.strip() else ""
        if key in fields:
            continue  # the first occurrence counts
        if key == "id":
            if not token or len(token) > _MAX_ID:
                continue
            id_span = (start, start + len(token))
            fields["id"] = token
        else:
            # Values with spaces are not in the format; keep the first word, like the id.
            fields[key] = token
    return ReceiptText(fields, id_span)


def receipt_body(pdu: ShortMessagePdu) -> bytes:
    """The octets holding the receipt text: short_message, else the message_payload TLV."""
    if pdu.short_message:
        return pdu.short_message
    return pdu.tlv(Tag.message_payload) or b""


def _as_text(body: bytes, data_coding: int) -> str:
    if alphabet_of(data_coding) is Alphabet.UCS2 and len(body) % 2 == 0:
        return body.decode("utf-16-be", "surrogatepass")
    return body.decode("latin-1")  # one character per octet: lossless both ways


def _as_body(text: str, data_coding: int, original: bytes) -> bytes:
    if alphabet_of(data_coding) is Alphabet.UCS2 and len(original) % 2 == 0:
        return text.encode("utf-16-be", "surrogatepass")
    return text.encode("latin-1")


def receipt_text(pdu: ShortMessagePdu) -> ReceiptText:
    """The Appendix B fields of ``pdu``'s text (short_message or message_payload)."""
    return parse_receipt_text(_as_text(receipt_body(pdu), pdu.data_coding))


def is_receipt(pdu: ShortMessagePdu) -> bool:
    """Whether a carrier deliver_sm is a delivery receipt (see the module docstring)."""
    kind = pdu.esm_class & ESM_TYPE_MASK
    if kind in _RECEIPT_TYPES:
        return True
    if kind != 0:
        return False  # SME delivery/manual acknowledgements and the like: MOs
    if pdu.tlv(Tag.receipted_message_id) is not None and pdu.tlv(Tag.message_state) is not None:
        return True
    text = _as_text(receipt_body(pdu), pdu.data_coding)
    return bool(_STARTS_LIKE_RECEIPT.match(text)) and "stat" in receipt_text(pdu).fields


def receipt_ids(pdu: ShortMessagePdu) -> list[str]:
    """The carrier message ids a receipt names: the TLV's first, then the text's if different."""
    ids: list[str] = []
    tlv_id = tlv_str(pdu, Tag.receipted_message_id)
    if tlv_id is not None and tlv_id.strip():
        ids.append(tlv_id.strip())
    text_id = receipt_text(pdu).id
    if text_id and text_id not in ids:
        ids.append(text_id)
    return ids


def receipt_id(pdu: ShortMessagePdu) -> str | None:
    """The carrier message id of a receipt: receipted_message_id first, else the text's id."""
    ids = receipt_ids(pdu)
    return ids[0] if ids else None


def _replace_tlv(tlvs: Tlvs, tag: int, value: bytes) -> Tlvs:
    """``tlvs`` with the first ``tag`` TLV's value replaced in place (appended if absent)."""
    for index, (t, _) in enumerate(tlvs):
        if t == tag:
            return (*tlvs[:index], (tag, value), *tlvs[index + 1:])
    return (*tlvs, (tag, value))


def rewrite_receipt(pdu: DeliverSm, sender_id: str) -> DeliverSm:
    """``pdu`` with its message id replaced by ``sender_id`` in the TLV and in the text.

    receipted_message_id is replaced where it stands, or added when the carrier
    left it out (SPEC: the sender finds its id in both places). Everything else
    is kept octet for octet, except that a text grown past 254 octets by a longer
    id moves to message_payload, as SMPP requires.
    """
    tlvs = _replace_tlv(pdu.tlvs, Tag.receipted_message_id,
                        encode_tlv_str(Tag.receipted_message_id, sender_id)[1])
    short_message = pdu.short_message
    body = receipt_body(pdu)
    text = _as_text(body, pdu.data_coding)
    span = parse_receipt_text(text).id_span
    if span is not None:
        new_body = _as_body(text[:span[0]] + sender_id + text[span[1]:], pdu.data_coding, body)
        if short_message:
            if len(new_body) <= _SM_LENGTH_MAX:
                short_message = new_body
            else:
                short_message = b""
                tlvs = _replace_tlv(tlvs, Tag.message_payload, new_body)
        else:
            tlvs = _replace_tlv(tlvs, Tag.message_payload, new_body)
    return replace(pdu, short_message=short_message, tlvs=tlvs)


def _gsm_safe(text: str) -> bytes:
    """``text`` in the GSM default alphabet, '?' for each character outside it."""
    try:
        return encode_gsm(text)
    except UnencodableError:
        out = bytearray()
        for char in text:
            try:
                out += encode_gsm(char)
            except UnencodableError:
                out += b"?"
        return bytes(out)


def build_receipt(
    message_id: str,
    *,
    source_addr: str,
    destination_addr: str,
    stat: str,
    submit_date: datetime,
    done_date: datetime | None = None,
    err: int | str = 0,
    text: str = "",
    sub: int = 1,
    dlvrd: int | None = None,
    source_addr_ton: int = 0,
    source_addr_npi: int = 0,
    dest_addr_ton: int = 0,
    dest_addr_npi: int = 0,
    extra_tlvs: Tlvs = (),
) -> DeliverSm:
    """A receipt stopgate issues itself (e.g. REJECTD for a blocked message).

    ``source_addr`` is the handset the message was for and ``destination_addr``
    the sender's originator, as in a carrier's receipt. The text follows
    Appendix B with the first 20 characters of ``text`` (GSM default alphabet,
    '?' for what it cannot hold); receipted_message_id and message_state are set
    as SMPP 3.4 asks, followed by ``extra_tlvs`` (network_error_code...).
    """
    stat = stat.upper()
    if dlvrd is None:
        dlvrd = sub if stat == "DELIVRD" else 0
    done = done_date or submit_date
    err_text = f"{err:03d}" if isinstance(err, int) else err
    head = (
        f"id:{message_id} sub:{sub:03d} dlvrd:{dlvrd:03d} "
        f"submit date:{submit_date:%y%m%d%H%M} done date:{done:%y%m%d%H%M} "
        f"stat:{stat} err:{err_text} text:"
    )
    short_message = head.encode("ascii") + _gsm_safe(text[:20])
    tlvs: Tlvs = (encode_tlv_str(Tag.receipted_message_id, message_id),)
    state = STAT_TO_STATE.get(stat)
    if state is not None:
        tlvs = (*tlvs, encode_tlv_int(Tag.message_state, state))
    return DeliverSm(
        source_addr_ton=source_addr_ton,
        source_addr_npi=source_addr_npi,
        source_addr=source_addr,
        dest_addr_ton=dest_addr_ton,
        dest_addr_npi=dest_addr_npi,
        destination_addr=destination_addr,
        esm_class=ESM_DELIVERY_RECEIPT,
        data_coding=0,
        short_message=short_message,
        tlvs=(*tlvs, *extra_tlvs),
    )
