"""A steady mixed stream of submit_sm from several sender sessions, with every answer kept.

Each session sends, one message at a time and round after round, the same mix:
promotional and transactional, short and multipart (UDH 8-bit, UDH 16-bit, SAR),
to every number in its target lists. Every message carries a tag (``#s.n#``) in
its text, so what reached the carrier simulator can be matched to what was sent,
and the phase of the test it was sent in ("before", "down", ...). Every wait is
bounded: a submit that gets no answer within ``TIMEOUT`` fails the run.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from gateway.smpp_link import SmppLink
from smpp.pdu import SubmitSmResp
from smpp.text import ConcatKind
from tests.integration.policy_stack import multipart, submit
from tests.integration.senders import Sender, bind_sender

TIMEOUT = 10.0
TAG = re.compile(r"#(\d+\.\d+)#")
PROMO = "Spring sale: 25% off all garden furniture this week at acme.example"
LONG_PROMO = (
    "Spring sale at ACME: every chair, table and parasol is 25% off until Sunday night. "
    "Show this message in store or use the code SPRING25 online; one use per customer. "
    "Free delivery on every order over 50 EUR."
)
OTP = "Your verification code is 482913"
LONG_TRX = (
    "Your statement for March is ready: 3 payments received, 2 direct debits taken, "
    "balance 1,204.50 EUR on 31 March. Your next statement will be issued on 30 April. "
    "Questions: call us on the number on the back of your card."
)


@dataclass(frozen=True, slots=True)
class Shape:
    """One kind of message in the mix."""

    klass: str  # "promotional" | "transactional"
    concat: ConcatKind | None  # None: one short part

    @property
    def service_type(self) -> str:
        return "PROMO" if self.klass == "promotional" else "OTP"


MIX = (
    Shape("promotional", None), Shape("transactional", None),
    Shape("promotional", "udh8"), Shape("transactional", "udh16"),
    Shape("promotional", "sar"), Shape("transactional", None),
)


@dataclass(slots=True)
class Sent:
    """One message sent and what the gateway answered to each of its parts."""

    tag: str
    to: str
    klass: str
    parts: int
    phase: str  # the test's phase when its last part was sent
    answered_in: str = ""  # ... and when that part was answered
    statuses: list[int] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)

    @property
    def status(self) -> int:
        """The answer that judges the whole message: its last part's."""
        return self.statuses[-1]


class MixedTraffic:
    """``sessions`` acme transceivers sending ``MIX`` to ``targets`` until stopped."""

    def __init__(self, smpp_port: int, targets: Sequence[str], *, sessions: int = 3,
                 pause: float = 0.005, first: int = 0) -> None:
        self.smpp_port = smpp_port
        self.targets = tuple(targets)
        self.sessions = sessions
        #: The first session's number (tags ``#s.n#``): traffics sharing one carrier
        #: simulator number their sessions apart, so each tag names one message.
        self.first = first
        self.pause = pause
        self.phase = "before"
        self.sent: list[Sent] = []
        self.senders: list[Sender] = []
        self._links: list[SmppLink] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._stop = asyncio.Event()

    async def start(self) -> None:
        for index in range(self.first, self.first + self.sessions):
            link, sender = await bind_sender(self.smpp_port, window=10)
            self._links.append(link)
            self.senders.append(sender)
            self._tasks.append(asyncio.create_task(self._run(index, link)))

    async def halt(self) -> None:
        """Stop sending after the messages under way (the sessions stay bound for their
        receipts); raise what any session raised (a submit that got no answer in time)."""
        self._stop.set()
        await asyncio.wait_for(asyncio.gather(*self._tasks), 2 * TIMEOUT)

    async def close(self) -> None:
        """Unbind every session (abort one that does not answer)."""
        self._stop.set()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for link in self._links:
            try:
                await asyncio.wait_for(link.unbind(), TIMEOUT)
            except Exception:
                link.abort()

    def check_running(self) -> None:
        """Fail now if a session died (a submit that got no answer in time)."""
        for task in self._tasks:
            if task.done():
                task.result()

    async def _run(self, index: int, link: SmppLink) -> None:
        # Every (shape, target) pair once a round, in a shuffled order of the session's own.
        pairs = list(itertools.product(MIX, self.targets))
        random.Random(index).shuffle(pairs)
        for seq in itertools.count():
            if self._stop.is_set():
                return
            shape, to = pairs[seq % len(pairs)]
            await self._send(link, f"{index}.{seq}", shape, to, ref=(index * 85 + seq) % 256)
            await asyncio.sleep(self.pause)

    async def _send(self, link: SmppLink, tag: str, shape: Shape, to: str, ref: int) -> None:
        promotional = shape.klass == "promotional"
        if shape.concat is None:
            pdus = [submit(f"{PROMO if promotional else OTP} #{tag}#", to=to,
                           service_type=shape.service_type)]
        else:
            text = f"{LONG_PROMO if promotional else LONG_TRX} #{tag}#"
            if shape.concat == "udh16":
                ref = ref * 256 + 7
            pdus = multipart(text, shape.concat, to=to, service_type=shape.service_type, ref=ref)
        record = Sent(tag, to, shape.klass, len(pdus), self.phase)
        for pdu in pdus:
            record.phase = self.phase
            answer = await asyncio.wait_for(link.request(pdu), TIMEOUT)
            assert isinstance(answer, SubmitSmResp), answer
            record.statuses.append(answer.command_status)
            record.ids.append(answer.message_id)
        record.answered_in = self.phase
        self.sent.append(record)

    # --- reading what happened -------------------------------------------------------------

    def where(self, *, phase: str | None = None, klass: str | None = None,
              to: Iterable[str] | None = None) -> list[Sent]:
        wanted = None if to is None else set(to)
        return [s for s in self.sent
                if (phase is None or s.phase == phase) and (klass is None or s.klass == klass)
                and (wanted is None or s.to in wanted)]

    def receipt_ids(self) -> set[str]:
        """Every receipt id any session received."""
        return {rid for sender in self.senders for rid in sender.receipt_ids()}


def tags_in(texts: Iterable[str]) -> set[str]:
    """The traffic tags found in ``texts`` (messages as the carrier received them)."""
    return {found.group(1) for text in texts for found in TAG.finditer(text)}


def statuses(records: Iterable[Sent]) -> set[int]:
    return {record.status for record in records}


__all__ = ["MIX", "MixedTraffic", "Sent", "Shape", "statuses", "tags_in"]

