"""Small real implementations of the pipeline's seams (``Carrier``, ``IdMap``), in memory.

Not mocks: each does what the protocol says, and remembers what it was given so a test
can assert on it and answer for the carrier when it chooses.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass

from gateway.carriers.pool import CarrierAnswer, Sent, SubmitError
from gateway.config.model import Account
from gateway.inbound.id_map import IdMapEntry
from gateway.message import Message
from smpp.pdu import SubmitSm

ACME = Account(system_id="acme", password="acmepass", default_region="FR",
               numbers=("36173",), shortcode="36173")


@dataclass
class Handed:
    """One message the pipeline handed to the carrier."""

    parts: list[SubmitSm]
    e164: str
    country: str
    answer: CarrierAnswer


class ListCarrier:
    """A carrier that keeps what it is given; the test answers (``take``/``fail``)."""

    def __init__(self, refuse: SubmitError | None = None) -> None:
        self.handed: list[Handed] = []
        self.refuse = refuse

    def submit_then(self, parts: list[SubmitSm], *, e164: str, country: str,
                    answer: CarrierAnswer) -> None:
        if self.refuse is not None:
            raise self.refuse
        self.handed.append(Handed(parts, e164, country, answer))

    def take(self, index: int = 0, upstream: str = "up") -> list[str]:
        """Answer message ``index`` as the carrier took every part: ids c1, c2, ..."""
        handed = self.handed[index]
        ids = [f"c{k + 1}" for k in range(len(handed.parts))]
        handed.answer.sent(Sent(upstream, ids))
        return ids

    def fail(self, error: BaseException, index: int = 0) -> None:
        self.handed[index].answer.sent(error)


class ListIdMap:
    """An id map in two lists: what was noted at once, what was written (in batches)."""

    def __init__(self) -> None:
        self.noted: list[IdMapEntry] = []
        self.written: list[list[IdMapEntry]] = []

    def note(self, entries: Iterable[IdMapEntry]) -> None:
        self.noted.extend(entries)

    async def remember_many(self, entries: Iterable[IdMapEntry]) -> None:
        self.written.append(list(entries))


def text_message(text: str = "Your code is 123456", to: str = "0612345678", *,
                 account: str = "acme", parts: int = 1, via: str = "smpp",
                 registered_delivery: int = 1) -> Message:
    """A message as a sender's submit_sm makes it (``parts`` > 1: reassembled, with the
    ids each part was answered with)."""
    message = Message.from_text(account, source_addr="ACME", destination_addr=to, text=text,
                                dest_addr_ton=0, registered_delivery=registered_delivery)
    part_ids = (*(f"p{k + 1}" for k in range(parts - 1)), message.id)
    return dataclasses.replace(message, part_ids=part_ids, via=via)  # type: ignore[arg-type]
