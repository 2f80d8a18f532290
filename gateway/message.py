"""The MT message as the pipeline sees it: one whole message, however it arrived.

A sender's submit_sm (``Message.from_pdu`` for a single one, ``Message.from_parts``
for a multipart one once reassembled) and an HTTP ``POST /v1/messages`` or a
confirmation (``Message.from_text``) all become a ``Message``. The pipeline stages read and
set its fields; at the end ``outbound_parts`` cuts it back into submit_sm
PDUs for the carrier, in the sender's own concatenation form.
"""

from __future__ import annotations

import itertools
import os
import random
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from smpp.constants import ESM_UDHI, Tag
from smpp.pdu import SubmitSm
from smpp.reassembly import Completed
from smpp.segments import ConcatInfo, Ie, build_parts, parse_udh, split_payload
from smpp.text import ConcatKind, choose_encoding, decode_text, encode_text, is_text

#: TLVs that describe how the sender cut its message; rebuilt for the outbound parts.
CONCAT_TAGS = frozenset(
    {Tag.sar_msg_ref_num, Tag.sar_total_segments, Tag.sar_segment_seqnum, Tag.message_payload}
)
#: stopgate's own vendor TLVs: read on the way in, never sent to the carrier.
VENDOR_TAGS = frozenset({Tag.stopgate_class, Tag.stopgate_campaign})

Via = Literal["smpp", "http"]


#: Message ids need uniqueness, not secrecy: 64 bits from a generator seeded by the OS,
#: without a getrandom() system call per message. Reseeded in a forked worker, which
#: would otherwise hand out its siblings' ids.
_id_bits = random.Random(os.urandom(32))
os.register_at_fork(after_in_child=lambda: _id_bits.seed(os.urandom(32)))


def new_message_id() -> str:
    """A sender-visible message id: 16 hex digits, unique across instances and restarts."""
    return f"{_id_bits.getrandbits(64):016x}"


_refs = itertools.count(int.from_bytes(os.urandom(2), "big"))


def next_concat_ref(kind: ConcatKind) -> int:
    """A concatenation reference for outbound parts (8-bit for udh8, 16-bit otherwise)."""
    ref = next(_refs)
    return ref & 0xFF if kind == "udh8" else ref & 0xFFFF


@dataclass(slots=True)
class Message:
    """One whole MT. Fields after ``template`` are filled in by pipeline stages."""

    account: str
    #: The id the sender got for the whole message (the final part's id) and will see in DLRs.
    id: str
    #: The id the sender got for each inbound part, in order (one entry for a single part).
    part_ids: tuple[str, ...]
    #: The first inbound PDU: every field the pipeline does not change is taken from it.
    template: SubmitSm
    data_coding: int
    #: The whole user data, encoded in ``data_coding``, without any UDH.
    payload: bytes
    #: How the sender cut the message, so the carrier sees the same form; None = one part.
    concat: ConcatKind | None = None
    #: UDH information elements other than concatenation (e.g. port addressing), per part.
    extra_ies: tuple[Ie, ...] = ()
    via: Via = "smpp"
    received_at: float = 0.0
    # --- set by stages ---
    e164: str = ""          # normalised recipient, "+33612345678"
    country: str = ""       # ISO region of the recipient, "FR"
    klass: str | None = None  # "promotional" | "transactional" once classified
    rule: str | None = None   # what decided klass
    campaign: str | None = None
    notes: dict[str, str] = field(default_factory=dict)
    #: (payload, segments) when a stage already cut ``payload`` for ``concat`` (the footer's
    #: fit does): outbound_parts uses them while the payload is still that one.
    cut: tuple[bytes, list[bytes]] | None = field(default=None, repr=False, compare=False)
    #: (payload, data_coding) as received, kept by the stage that first changes them (the
    #: footer): a message held for quiet hours is stored as the sender gave it.
    received: tuple[bytes, int] | None = field(default=None, repr=False, compare=False)
    #: (payload, data_coding, text) of the last ``text`` read: classify and footer both read it.
    _decoded: tuple[bytes, int, str] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    @property
    def source_addr(self) -> str:
        return self.template.source_addr

    @property
    def destination_addr(self) -> str:
        return self.template.destination_addr

    @property
    def is_text(self) -> bool:
        return is_text(self.data_coding)

    @property
    def text(self) -> str:
        """The decoded text (binary codings decode to one character per octet)."""
        payload, data_coding = self.payload, self.data_coding
        decoded = self._decoded
        if decoded is not None and decoded[0] is payload and decoded[1] == data_coding:
            return decoded[2]
        text = decode_text(payload, data_coding)
        self._decoded = (payload, data_coding, text)
        return text

    @classmethod
    def from_text(
        cls,
        account: str,
        *,
        source_addr: str,
        destination_addr: str,
        text: str,
        source_addr_ton: int = 0,
        source_addr_npi: int = 0,
        dest_addr_ton: int = 1,
        dest_addr_npi: int = 1,
        registered_delivery: int = 1,
        received_at: float = 0.0,
        via: Via = "http",
    ) -> Message:
        """A message built from text (HTTP API, confirmations): cheapest alphabet, UDH 8-bit."""
        data_coding = choose_encoding(text)
        template = SubmitSm(
            source_addr_ton=source_addr_ton,
            source_addr_npi=source_addr_npi,
            source_addr=source_addr,
            dest_addr_ton=dest_addr_ton,
            dest_addr_npi=dest_addr_npi,
            destination_addr=destination_addr,
            registered_delivery=registered_delivery,
            data_coding=data_coding,
        )
        message_id = new_message_id()
        return cls(
            account=account,
            id=message_id,
            part_ids=(message_id,),
            template=template,
            data_coding=data_coding,
            payload=encode_text(text, data_coding),
            concat="udh8",
            via=via,
            received_at=received_at,
        )

    @classmethod
    def from_pdu(cls, account: str, pdu: SubmitSm, info: ConcatInfo | None,
                 received_at: float) -> Message:
        """A one-PDU submit_sm (``info`` is its ``concat_info``): plain, UDH with only
        non-concatenation IEs, message_payload, or a "1 of 1" concatenated part."""
        extra_ies: tuple[Ie, ...] = ()
        concat: ConcatKind | None = None
        if info is not None:  # message_payload, or a "1 of 1" concatenated part
            payload, extra_ies = info.payload, info.extra_ies
            concat = info.kind
        elif pdu.esm_class & ESM_UDHI:
            extra_ies, payload = parse_udh(pdu.short_message)
        else:
            payload = pdu.short_message
        message_id = new_message_id()
        return cls(
            account=account,
            id=message_id,
            part_ids=(message_id,),
            template=pdu,
            data_coding=pdu.data_coding,
            payload=payload,
            concat=concat,
            extra_ies=extra_ies,
            via="smpp",
            received_at=received_at,
        )

    @classmethod
    def from_parts(cls, account: str, completed: Completed[tuple[Any, SubmitSm, str]],
                   last_id: str, received_at: float) -> Message:
        """A reassembled multipart submit_sm: each part's context is (link, pdu, the id its
        sender got), in part order; ``last_id`` (the final part's) becomes the message's."""
        contexts = [context for context in completed.contexts if context is not None]
        template = contexts[0][1]
        return cls(
            account=account,
            id=last_id,
            part_ids=tuple(part_id for _, _, part_id in contexts),
            template=template,
            data_coding=template.data_coding,
            payload=completed.payload,
            concat=completed.kind,
            extra_ies=completed.parts[0].extra_ies,
            via="smpp",
            received_at=received_at,
        )

    def outbound_parts(self) -> list[SubmitSm]:
        """The submit_sm PDUs that carry this message to the carrier (the session numbers
        them as it sends them, whatever their ``sequence``)."""
        base = self.template
        payload = self.payload
        if (
            payload is base.short_message
            and self.concat is None
            and not base.tlvs
            and not base.esm_class & ESM_UDHI
            and self.data_coding == base.data_coding
        ):
            return [base]  # one plain part, unchanged: the sender's own PDU goes on
        kind: ConcatKind = self.concat or "udh8"
        cut = self.cut
        if cut is not None and cut[0] is payload and not self.extra_ies:
            segments = cut[1]
        else:
            segments = split_payload(payload, self.data_coding, udh=kind,
                                     extra_ies=self.extra_ies)
        ref = next_concat_ref(kind) if len(segments) > 1 else 0
        kept = tuple(
            item for item in base.tlvs if item[0] not in CONCAT_TAGS and item[0] not in VENDOR_TAGS
        )
        esm_base = base.esm_class & ~ESM_UDHI
        parts = []
        for esm_bits, short_message, tlvs in build_parts(
            segments, ref, kind, extra_ies=self.extra_ies
        ):
            parts.append(
                replace(
                    base,
                    esm_class=esm_base | esm_bits,
                    data_coding=self.data_coding,
                    short_message=short_message,
                    tlvs=kept + tlvs,
                )
            )
        return parts
