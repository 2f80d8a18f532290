"""What the carrier simulator sends: delivery receipts and MOs, and the outbox they wait in.

Each system_id is owed its own deliveries (key None: any receiver will do).
They go out round robin over that system_id's receiver and transceiver
sessions with window room, wait while none is bound (an ESME reconnecting
loses nothing), and are retried after ``retry_delay`` when refused or left
unanswered, up to ``attempts`` times: at-least-once, like a real SMSC.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from functools import partial
from typing import Any

from gateway.smpp_link import LinkClosed, SmppLink
from simulator.records import SimulatorStats
from smpp.constants import ESM_DELIVERY_RECEIPT, Tag
from smpp.gsm import encode_gsm, gsm_septets
from smpp.pdu import DeliverSm, Pdu, SubmitSm
from smpp.segments import ConcatError, build_parts, concat_info, split_text
from smpp.text import choose_encoding, decode_text

__all__ = ["STAT_STATES", "Delivery", "Outbox", "mo_parts", "receipt"]

#: DLR ``stat:`` values and the message_state they report.
STAT_STATES: dict[str, int] = {
    "ENROUTE": 1, "DELIVRD": 2, "EXPIRED": 3, "DELETED": 4,
    "UNDELIV": 5, "ACCEPTD": 6, "UNKNOWN": 7, "REJECTD": 8,
}
_TAG_RECEIPTED_ID = int(Tag.receipted_message_id)
_STATE_TLVS = {
    stat: (int(Tag.message_state), bytes((state,))) for stat, state in STAT_STATES.items()
}
# Characters whose GSM 03.38 septet equals their ASCII octet: a DLR snippet made of them
# reads the same whichever alphabet the receiver assumes for data_coding 0.
_PLAIN = frozenset(c for c in map(chr, range(0x20, 0x7F)) if gsm_septets(c) == 1
                   and encode_gsm(c) == c.encode())


class Delivery:
    """One deliver_sm owed to ``system_id``: its fields, built into a PDU at each attempt."""

    __slots__ = ("attempts", "fields", "is_dlr", "system_id")

    def __init__(self, system_id: str | None, is_dlr: bool, fields: dict[str, Any]) -> None:
        self.system_id = system_id
        self.is_dlr = is_dlr
        self.fields = fields
        self.attempts = 0


def receipt(
    system_id: str, submit: SubmitSm, dlr_id: str, stat: str, submitted: str, done: str,
    snippet: bool = True,
) -> Delivery:
    """The delivery receipt for ``submit`` (SMPP 3.4 appendix B text, receipted_message_id and
    message_state TLVs); ``snippet`` False leaves ``text:`` empty (benchmark mode)."""
    ok = stat == "DELIVRD"
    text = (f"id:{dlr_id} sub:001 dlvrd:{'001' if ok else '000'} submit date:{submitted} "
            f"done date:{done} stat:{stat} err:{'000' if ok else '001'} "
            f"text:{_snippet(submit) if snippet else ''}")
    return Delivery(system_id, True, {
        "source_addr_ton": submit.dest_addr_ton, "source_addr_npi": submit.dest_addr_npi,
        "source_addr": submit.destination_addr, "dest_addr_ton": submit.source_addr_ton,
        "dest_addr_npi": submit.source_addr_npi, "destination_addr": submit.source_addr,
        "esm_class": ESM_DELIVERY_RECEIPT, "short_message": text.encode("ascii"),
        "tlvs": ((_TAG_RECEIPTED_ID, dlr_id.encode("ascii") + b"\0"), _STATE_TLVS[stat]),
    })


def _snippet(submit: SubmitSm) -> str:
    """The first 20 characters of the text, '?' for those GSM and ASCII disagree on."""
    try:
        info = concat_info(submit.esm_class, submit.short_message, submit.tlvs)
    except ConcatError:
        info = None
    payload = submit.short_message if info is None else info.payload
    text = decode_text(payload, submit.data_coding)[:20]
    return "".join(c if c in _PLAIN else "?" for c in text)


def mo_parts(
    system_id: str | None, source_addr: str, destination_addr: str, text: str,
    data_coding: int | None, ref: int,
) -> list[Delivery]:
    """The deliver_sm parts of an MO; long texts as UDH 8-bit concatenation with ``ref``."""
    coding = choose_encoding(text) if data_coding is None else data_coding
    source_ton, source_npi, source = _address(source_addr)
    dest_ton, dest_npi, dest = _address(destination_addr)
    return [
        Delivery(system_id, False, {
            "source_addr_ton": source_ton, "source_addr_npi": source_npi, "source_addr": source,
            "dest_addr_ton": dest_ton, "dest_addr_npi": dest_npi, "destination_addr": dest,
            "esm_class": esm_class, "data_coding": coding, "short_message": short_message,
            "tlvs": tlvs,
        })
        for esm_class, short_message, tlvs in build_parts(
            split_text(text, coding, udh="udh8"), ref, "udh8"
        )
    ]


def _address(number: str) -> tuple[int, int, str]:
    """(ton, npi, addr): "+33..." becomes international (1/1) without the plus."""
    if number.startswith("+"):
        return 1, 1, number[1:]
    return 0, 0, number


class Outbox:
    """Receivers by system_id and the deliveries waiting for them."""

    def __init__(self, stats: SimulatorStats, attempts: int, retry_delay: float) -> None:
        if attempts < 1:
            raise ValueError(f"deliver_attempts must be at least 1, not {attempts}")
        self.stats = stats
        self.attempts = attempts
        self.retry_delay = retry_delay
        self.in_flight = 0
        #: Tests watch the carrier's side with this: (delivery, deliver_sm_resp status, or
        #: None when no answer came) after every attempt.
        self.on_answered: Callable[[Delivery, int | None], None] | None = None
        self._receivers: dict[str, list[SmppLink]] = {}
        self._held: dict[str | None, deque[Delivery]] = {}
        self._turn: dict[str | None, int] = {}

    @property
    def held(self) -> int:
        """Deliveries waiting for a receiver or for window room."""
        return sum(len(queue) for queue in self._held.values())

    @property
    def receivers(self) -> int:
        return sum(len(links) for links in self._receivers.values())

    def add_receiver(self, system_id: str, link: SmppLink) -> None:
        """A receiver or transceiver bound: send it what its system_id is owed."""
        self._receivers.setdefault(system_id, []).append(link)
        self._pump(system_id)
        self._pump(None)

    def remove(self, link: SmppLink) -> None:
        """A session closed; what was in flight on it comes back through its futures."""
        links = self._receivers.get(link.owner)
        if links is not None and link in links:
            links.remove(link)

    def put(self, delivery: Delivery, front: bool = False) -> None:
        queue = self._held.get(delivery.system_id)
        if queue is None:
            queue = self._held[delivery.system_id] = deque()
        if front:
            queue.appendleft(delivery)
        else:
            queue.append(delivery)
        self._pump(delivery.system_id)

    def _pump(self, key: str | None) -> None:
        queue = self._held.get(key)
        if not queue:
            return
        links = self._receivers.get(key, []) if key is not None else [
            link for group in self._receivers.values() for link in group
        ]
        count = len(links)
        if not count:
            return
        turn = self._turn.get(key, 0)
        while queue:
            for step in range(count):
                link = links[(turn + step) % count]
                if link.can_send:
                    break
            else:
                break  # every window is full: the next deliver_sm_resp pumps again
            turn = (turn + step + 1) % count
            self._send(link, queue.popleft())
        self._turn[key] = turn

    def _send(self, link: SmppLink, delivery: Delivery) -> None:
        assert link.session is not None
        # Numbered here, so the session sends it as is instead of copying it to renumber.
        pdu = DeliverSm(sequence=link.session.next_sequence, **delivery.fields)
        try:
            future = link.send(pdu)
        except LinkClosed:
            self.put(delivery, front=True)
            return
        delivery.attempts += 1
        self.in_flight += 1
        if delivery.is_dlr:
            self.stats.dlrs_sent += 1
        else:
            self.stats.mos_sent += 1
        future.add_done_callback(partial(self._answered, link, delivery))

    def _answered(self, link: SmppLink, delivery: Delivery, future: asyncio.Future[Pdu]) -> None:
        self.in_flight -= 1
        stats = self.stats
        error = None if future.cancelled() else future.exception()
        if self.on_answered is not None:
            self.on_answered(delivery, None if future.cancelled() or error is not None
                             else future.result().command_status)
        if future.cancelled() or isinstance(error, LinkClosed):
            delivery.attempts -= 1  # the ESME going away is not its refusal
            self.put(delivery, front=True)
        elif error is None and future.result().command_status == 0:
            if delivery.is_dlr:
                stats.dlrs_acked += 1
            else:
                stats.mos_acked += 1
        elif delivery.attempts >= self.attempts:
            if delivery.is_dlr:
                stats.dlrs_failed += 1
            else:
                stats.mos_failed += 1
        else:  # refused or unanswered: it goes again later
            asyncio.get_running_loop().call_later(self.retry_delay, self.put, delivery)
        self._pump(link.owner)
        self._pump(None)
