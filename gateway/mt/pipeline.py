"""The MT pipeline: one whole message in, a status and a sender-visible id out.

    Message -> stages (normalise; the opt-out policy slots in here) -> outbound parts
            -> carrier link pool -> id map for DLRs -> MtResult

SMPP and HTTP senders both come through ``MtPipeline.start`` (``submit`` awaits it).
One ``Transit`` carries each message through. A stage is a callable that may set
fields on the message and returns ``None`` to let it go on, an ``MtResult`` to stop it
there (refused, blocked), or a deferred verdict (a ``Wait``: handed the transit, it
settles it later). The carrier pool answers the transit by calling it back.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any, Protocol

from gateway.carriers.pool import CarrierAnswer, Sent, SubmitError
from gateway.config.model import Account
from gateway.inbound.id_map import IdMapEntry, pair_ids
from gateway.lifecycle import TaskSet
from gateway.message import Message
from gateway.observability.logs import fields
from gateway.observability.metrics import Metrics
from rules.numbers import normalize
from rules.senders import AccountSenders, SenderOwnership
from smpp.constants import CommandStatus
from smpp.pdu import SubmitSm
from smpp.segments import TooManyPartsError

log = logging.getLogger("stopgate.mt")

#: registered_delivery bits that ask for a receipt of some kind (SMSC receipt, intermediate).
_WANTS_RECEIPT = 0x03 | 0x10
#: How long one batch of DLR id map writes may take before it is given up (and logged).
#: Answers never wait for it: the message is with the carrier, transactional traffic
#: never waits on Redis, and a receipt that comes back before the write is found in the
#: router's memory of its own writes or on its re-lookups (gateway/inbound/router.py). A Redis that
#: stalls past this loses those messages' receipts, nothing else.
ID_MAP_WAIT = 0.5
#: Id map entries gather this long (or up to this many) per Redis write: nothing waits
#: for the write, and redis-py costs ~50 µs a command whatever it carries.
ID_MAP_BATCH_WINDOW = 0.005
ID_MAP_BATCH_MAX = 2000


@dataclass(frozen=True, slots=True)
class MtResult:
    """What the sender is told: ``status`` 0 and the id, or an error status and why."""

    status: int
    message_id: str = ""
    parts: int = 0
    reason: str = ""
    #: A refusal for quiet hours: when the recipient's sending window next opens (UTC;
    #: None when it does not within the horizon searched).
    retry_after: datetime | None = None

    @property
    def ok(self) -> bool:
        return self.status == 0


class Transit:
    """One message on its way through the pipeline, from ``start`` to ``done``.

    The only object the pipeline makes per message: it remembers which stage comes
    next, it is what a stage that must wait settles, and it is what the carrier pool
    answers. Nothing else is allocated to carry a message along (no partials, no
    futures), and every step is a plain call: no loop round trip between them.
    """

    __slots__ = ("count", "done", "index", "klass", "message", "pipeline", "step")

    def __init__(self, pipeline: MtPipeline, message: Message, done: Done) -> None:
        self.pipeline = pipeline
        self.message = message
        self.done = done
        self.klass = message.klass or "unclassified"  # until a stage classifies it
        self.index = 0  # the next stage to run
        self.count = 0  # outbound parts handed to the carrier
        #: What a waiting stage does with the answer it waits for (see ``__call__``).
        self.step: Callable[[Transit, Any], None] | None = None

    def settle(self, verdict: MtResult | None) -> None:
        """A deferred verdict arrives: stop here (an ``MtResult``) or go on (``None``)."""
        if verdict is None:
            self.pipeline._advance(self)
        else:
            self.pipeline._refused(self, verdict)

    def __call__(self, answer: Any) -> None:
        """What a waiting stage asked for has come (a lookup, a token): the stage's
        ``step`` takes it from here and ends by settling this transit."""
        step, self.step = self.step, None
        assert step is not None, "a transit answered twice"
        step(self, answer)

    def sent(self, outcome: Sent | BaseException) -> None:
        """The carrier pool's answer: where the parts went, or why they did not."""
        self.pipeline._sent(self, outcome)


#: A deferred verdict: the pipeline hands it the message's ``Transit``, and it settles it
#: later (``Transit.settle``), maybe through ``Transit.step``.
Wait = Callable[[Transit], None]
#: A stage: None (go on), an MtResult (stop there) or a deferred verdict (a ``Wait``).
Stage = Callable[[Message], "MtResult | Wait | None"]


class Carrier(Protocol):
    """The carrier link pool as the pipeline needs it."""

    def submit_then(self, parts: list[SubmitSm], *, e164: str, country: str,
                    answer: CarrierAnswer) -> None:
        """Queue the parts; refusals raise ``SubmitError`` now, the rest come to
        ``answer.sent`` later (once)."""


class IdMap(Protocol):
    """Where carrier ids are remembered so their DLRs find the sender."""

    def note(self, entries: Iterable[IdMapEntry]) -> None: ...

    async def remember_many(self, entries: Iterable[IdMapEntry]) -> None: ...


Done = Callable[[MtResult], None]


def sender_ids_for_parts(message: Message, count: int) -> list[str]:
    """The sender-visible id each outbound part's DLR should carry.

    Outbound part k maps to inbound part k; extra outbound parts (a footer that
    needed another segment) map to the sender's last part.
    """
    ids = message.part_ids or (message.id,)
    last = len(ids) - 1
    return [ids[min(k, last)] for k in range(count)]


class NormaliseStage:
    """Recipient to E.164 with the account's default region; invalid -> ESME_RINVDSTADR."""

    name = "normalise"

    def __init__(self, accounts: Mapping[str, Account]) -> None:
        self._regions = {name: account.default_region for name, account in accounts.items()}

    def __call__(self, message: Message) -> MtResult | None:
        template = message.template
        region = self._regions.get(message.account, "")
        number = normalize(template.destination_addr, template.dest_addr_ton, region)
        if number is None:
            return MtResult(CommandStatus.ESME_RINVDSTADR, reason="invalid_destination")
        message.e164 = number.e164
        message.country = number.region
        return None


#: ``MtResult.reason`` of a message whose source address is another account's.
SENDER_NOT_ALLOWED = "sender_not_allowed"
#: ``MtResult.reason`` of a promotional message refused outside its recipient's sending
#: window, and of one over a frequency cap (gateway/sendtime/stage.py).
QUIET_HOURS = "quiet_hours"
FREQUENCY_CAP = "frequency_cap"
#: stopgate_mt_total's outcome for a refusal, by reason (others: "rejected").
#: ``MtResult.reason`` of a promotional message held for quiet hours (status ESME_ROK:
#: the sender is told it is accepted; gateway/sendtime/held.py).
HELD = "held"
REFUSAL_OUTCOMES = {"blocked": "blocked", QUIET_HOURS: "quiet", FREQUENCY_CAP: "capped",
                    HELD: "held"}


def sender_ownership(accounts: Iterable[Account]) -> SenderOwnership:
    """The ownership index of the configured accounts' ``numbers`` and ``senders``."""
    return SenderOwnership(
        AccountSenders(account.system_id, account.default_region, account.numbers,
                       account.senders)
        for account in accounts)


class SenderStage:
    """A source address the account may not use (another account lists it, or this
    account lists its ``senders`` and this is not one) -> ESME_RINVSRCADR.

    For every message, transactional too: it is about who may use a sender identity.
    The SMPP server also asks ``refusal`` for each part of a multipart message before
    reassembly, so no part of such a message is ever answered ESME_ROK.
    """

    name = "sender"

    def __init__(self, ownership: SenderOwnership, metrics: Metrics) -> None:
        self.ownership = ownership
        self.metrics = metrics
        self._counters: dict[str, Any] = {}

    def refusal(self, account: str, source_addr: str, ton: int) -> MtResult | None:
        """None when ``account`` may send from ``source_addr``; else the refusal (counted)."""
        if self.ownership.may_send(account, source_addr, ton):
            return None
        counter = self._counters.get(account)
        if counter is None:
            counter = self._counters[account] = self.metrics.sender_refused.labels(account)
        counter.inc()
        return MtResult(CommandStatus.ESME_RINVSRCADR, reason=SENDER_NOT_ALLOWED)

    def __call__(self, message: Message) -> MtResult | None:
        template = message.template
        return self.refusal(message.account, template.source_addr, template.source_addr_ton)


class MtPipeline:
    """Runs every MT through the stages, then to the carrier.

    Driven by calls, not a task per message: a transactional message goes from the
    sender's socket to the carrier's in one loop step, and its answer comes back in the
    step that reads the carrier's response. Each message is one ``Transit``; only a stage
    that must wait (a suppression lookup, a token from the ledger) defers it; the DLR id
    map write goes behind the answer, gathered over ``ID_MAP_BATCH_WINDOW``.

        start -> _advance: stages in order -> the carrier (submit_then)
                    | a stage's MtResult -> _refused        | SubmitError -> _failed
                    | a deferred verdict -> Transit.settle -> _advance (on) or _refused
              -> Transit.sent -> _sent: id map, _forwarded -> done
    """

    def __init__(
        self,
        *,
        carrier: Carrier,
        ids: IdMap,
        metrics: Metrics,
        stages: Sequence[Stage],
        on_forwarded: Callable[[Message], None] | None = None,
        on_parts_refused: Callable[[Message, Sequence[str], MtResult], None] | None = None,
    ) -> None:
        self.carrier = carrier
        self.ids = ids
        self.metrics = metrics
        self.stages = list(stages)
        #: Told of every message the carrier took (campaign attribution); must not block.
        self.on_forwarded = on_forwarded
        #: Told of the parts answered ESME_ROK before their message was refused or failed
        #: (see ``_parts_refused``); called after the answer, must not block.
        self.on_parts_refused = on_parts_refused
        self._outcomes: dict[tuple[str, str, str], Any] = {}
        #: Per-MT decisions are logged at debug only. Read once here (after logging is
        #: configured), so at the default level the hot path pays one attribute test.
        self._log_decisions = log.isEnabledFor(logging.DEBUG)
        self._id_batch: list[IdMapEntry] = []
        self._id_writes = TaskSet()

    async def submit(self, message: Message) -> MtResult:
        """Judge and forward one message; never raises for a bad message."""
        answer: asyncio.Future[MtResult] = asyncio.get_running_loop().create_future()
        self.start(message, partial(_settle, answer))
        return await answer

    async def drain(self, timeout: float) -> None:
        """Write the id map entries still queued or under way (bounded); at shutdown."""
        self._write_ids()
        await self._id_writes.drain(timeout)

    def start(self, message: Message, done: Done) -> None:
        """Judge and forward one message; ``done`` is called once with the result (maybe
        before this returns). Never raises for a bad message."""
        self._advance(Transit(self, message, done))

    # --- the way through ----------------------------------------------------------------

    def _advance(self, transit: Transit) -> None:
        """Run the stages from ``transit.index`` on; past the last, hand the parts over."""
        message = transit.message
        stages = self.stages
        index = transit.index
        try:
            while index < len(stages):
                verdict = stages[index](message)
                index += 1
                if verdict is None:
                    continue
                transit.index = index
                if isinstance(verdict, MtResult):
                    self._refused(transit, verdict)
                else:
                    verdict(transit)  # deferred: it settles the transit later
                return
            parts = message.outbound_parts()
        except TooManyPartsError:
            result = MtResult(CommandStatus.ESME_RINVMSGLEN, reason="too_long")
            self._count(message, transit.klass, "rejected", result)
            transit.done(result)
            self._parts_refused(message, result)
            return
        except Exception as error:
            self._crashed(transit, error)
            return
        transit.index = index
        transit.count = len(parts)
        try:
            self.carrier.submit_then(parts, e164=message.e164, country=message.country,
                                     answer=transit)
        except SubmitError as error:
            self._failed(transit, error)

    def _sent(self, transit: Transit, outcome: Sent | BaseException) -> None:
        """The carrier's answer (``Transit.sent``): the id map entries, then the sender's."""
        if isinstance(outcome, BaseException):
            if isinstance(outcome, SubmitError):
                self._failed(transit, outcome)
            else:  # cancelled (shutdown) or a bug: the sender hears "system error"
                self._crashed(transit, outcome)
            return
        message = transit.message
        answer = MtResult(CommandStatus.ESME_ROK, message.id, transit.count)
        if message.template.registered_delivery & _WANTS_RECEIPT:
            senders = sender_ids_for_parts(message, len(outcome.carrier_ids))
            entries: list[IdMapEntry] = [(outcome.upstream, carrier_id, message.account, sender)
                       for carrier_id, sender in pair_ids(outcome.carrier_ids, senders)]
            self.ids.note(entries)  # a receipt right behind the answer finds it at once
            batch = self._id_batch
            if not batch:
                asyncio.get_running_loop().call_later(ID_MAP_BATCH_WINDOW, self._write_ids)
            batch.extend(entries)
            if len(batch) >= ID_MAP_BATCH_MAX:
                self._write_ids()
        self._count(message, message.klass or "unclassified", "forwarded", answer)
        if self.on_forwarded is not None:
            self.on_forwarded(message)
        transit.done(answer)

    def _write_ids(self) -> None:
        """One Redis command for the id map entries gathered (see ID_MAP_BATCH_WINDOW)."""
        batch, self._id_batch = self._id_batch, []
        if batch:
            self._id_writes.spawn(self._store_ids(batch))

    async def _store_ids(self, batch: list[IdMapEntry]) -> None:
        try:
            async with asyncio.timeout(ID_MAP_WAIT):
                await self.ids.remember_many(batch)
        except Exception:  # the messages are with the carrier: only their receipts are lost
            log.warning("could not store the DLR id map: these parts' receipts are lost",
                        exc_info=True, extra=fields("id_map_write_failed", parts=len(batch)))

    # --- outcomes -------------------------------------------------------------------------

    def _refused(self, transit: Transit, verdict: MtResult) -> None:
        message = transit.message
        outcome = REFUSAL_OUTCOMES.get(verdict.reason, "rejected")
        self._count(message, message.klass or transit.klass, outcome, verdict)
        transit.done(verdict)
        if outcome != "blocked":  # the policy sends a blocked message's REJECTD receipts
            self._parts_refused(message, verdict)

    def _failed(self, transit: Transit, error: SubmitError) -> None:
        message = transit.message
        result = MtResult(error.status, reason=type(error).__name__)
        self._count(message, message.klass or transit.klass, "failed", result)
        transit.done(result)
        self._parts_refused(message, result)

    def _crashed(self, transit: Transit, error: BaseException) -> None:
        message = transit.message
        log.error("MT pipeline failed", exc_info=error, extra=fields(
            "mt_failed", account=message.account, message_id=message.id,
            number=message.e164 or message.destination_addr))
        result = MtResult(CommandStatus.ESME_RSYSERR, reason="internal")
        transit.done(result)
        self._parts_refused(message, result)

    def _parts_refused(self, message: Message, result: MtResult) -> None:
        """A multipart SMPP message refused or failed on its completing part: the parts
        answered ESME_ROK before it (so a sender with a window of 1 could go on) will
        never be delivered, and their senders hear it by receipt. HTTP senders hear the
        whole refusal in the answer."""
        if message.notes.get("released"):
            return  # released from hold: the releaser sends every part's receipt
        if (self.on_parts_refused is not None and message.via == "smpp"
                and len(message.part_ids) > 1 and result.status != CommandStatus.ESME_ROK):
            self.on_parts_refused(message, message.part_ids[:-1], result)

    def _count(self, message: Message, klass: str, outcome: str, result: MtResult) -> None:
        """stopgate_mt_total (the labelled child looked up once per label set), and the
        decision's debug line when debug logging was on at start."""
        key = (message.account, klass, outcome)
        child = self._outcomes.get(key)
        if child is None:
            child = self._outcomes[key] = self.metrics.mt_total.labels(*key)
        child.inc()
        if self._log_decisions:
            log_decision(message, klass, outcome, result)


def log_decision(message: Message, klass: str, outcome: str, result: MtResult) -> None:
    """One MT's decision as a debug line (event ``mt_decision``); see MtPipeline._count."""
    log.debug("MT %s", outcome, extra=fields(
        "mt_decision", account=message.account, message_id=message.id or result.message_id,
        via=message.via, number=message.e164 or message.destination_addr, country=message.country,
        **{"class": klass}, rule=message.rule, campaign=message.campaign, decision=outcome,
        status=f"0x{result.status:08X}", reason=result.reason or None,
        parts=result.parts or len(message.part_ids), footer=message.notes.get("footer"),
        offer=message.notes.get("offer")))


def _settle(answer: asyncio.Future[MtResult], result: MtResult) -> None:
    if not answer.done():  # the awaiting caller may have been cancelled
        answer.set_result(result)
