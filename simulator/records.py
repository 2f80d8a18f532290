"""What the carrier simulator counts and keeps: counters, received submits, whole messages."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass, fields
from typing import Any

from smpp.pdu import SubmitSm
from smpp.reassembly import DuplicatePartError, Reassembler, ReassemblyError
from smpp.segments import ConcatError, concat_info
from smpp.text import decode_text

__all__ = ["ReceivedMessage", "ReceivedSubmit", "SimulatorStats", "reassemble"]


@dataclass(slots=True)
class SimulatorStats:
    """Counters; ``submits`` counts submit_sm PDUs, ``parts`` those carrying part of a long one."""

    submits: int = 0
    parts: int = 0
    accepted: int = 0
    rejected: int = 0  # refused with error_status (error_rate)
    throttled: int = 0  # refused with ESME_RTHROTTLED
    dlrs_sent: int = 0  # deliver_sm receipts written, retries included
    dlrs_acked: int = 0
    dlrs_failed: int = 0  # given up after deliver_attempts
    mos_sent: int = 0  # MO deliver_sm written (one per part), retries included
    mos_acked: int = 0
    mos_failed: int = 0
    binds: int = 0
    bind_failures: int = 0

    def clear(self) -> None:
        """Zero every counter in place (the outbox holds a reference)."""
        for field in fields(self):
            setattr(self, field.name, 0)


@dataclass(frozen=True, slots=True)
class ReceivedSubmit:
    """One submit_sm as it arrived; ``carrier_id`` is "" when it was refused."""

    pdu: SubmitSm
    system_id: str
    carrier_id: str
    status: int


@dataclass(frozen=True, slots=True)
class ReceivedMessage:
    """An accepted message with its parts put back together."""

    system_id: str
    source_addr: str
    destination_addr: str
    data_coding: int
    payload: bytes  # the user data, without UDH
    parts: int  # parts received (all of them when complete)
    carrier_ids: tuple[str, ...]  # the id each part got, in part order
    complete: bool = True

    @property
    def text(self) -> str:
        return decode_text(self.payload, self.data_coding)

    def as_json(self) -> dict[str, Any]:
        return {
            "system_id": self.system_id, "from": self.source_addr, "to": self.destination_addr,
            "text": self.text, "data_coding": self.data_coding, "parts": self.parts,
            "carrier_ids": list(self.carrier_ids), "complete": self.complete,
        }


def reassemble(received: Iterable[ReceivedSubmit]) -> list[ReceivedMessage]:
    """The accepted submits as whole messages, in completion order; incomplete ones last.

    A part received twice (the ESME resent what it got no answer for) counts once.
    """
    records = [record for record in received if not record.status]
    reassembler: Reassembler[ReceivedSubmit] = Reassembler(
        max_pending=len(records) + 1, max_bytes=sys.maxsize, timeout=1.0
    )
    out: list[ReceivedMessage] = []
    for record in records:
        pdu = record.pdu
        try:
            info = concat_info(pdu.esm_class, pdu.short_message, pdu.tlvs)
        except ConcatError:
            info = None  # kept as it came: the bytes are what a test wants to see
        if info is None:
            out.append(ReceivedMessage(record.system_id, pdu.source_addr, pdu.destination_addr,
                                       pdu.data_coding, pdu.short_message, 1,
                                       (record.carrier_id,)))
            continue
        key = (record.system_id, pdu.source_addr, pdu.destination_addr)
        try:
            done = reassembler.add(key, info, 0.0, record)
        except (DuplicatePartError, ReassemblyError):
            continue
        if done is not None:
            out.append(_whole(done.contexts, done.payload, complete=True))
    for expired in reassembler.expire(2.0):  # everything still pending is incomplete
        payload = b"".join(part.payload for part in expired.parts)
        out.append(_whole(expired.contexts, payload, complete=False))
    return out


def _whole(
    contexts: tuple[ReceivedSubmit | None, ...], payload: bytes, *, complete: bool
) -> ReceivedMessage:
    records = [record for record in contexts if record is not None]
    first = records[0].pdu
    return ReceivedMessage(records[0].system_id, first.source_addr, first.destination_addr,
                           first.data_coding, payload, len(records),
                           tuple(record.carrier_id for record in records), complete)
