"""The MT pipeline: one whole message in, a status and a sender-visible id out.

    Message -> stages (normalise; the opt-out policy slots in here) -> outbound parts
            -> carrier link pool -> id map for DLRs -> MtResult

SMPP and HTTP senders both come through ``MtPipeline.submit``. A stage is a
callable that may set fields on the message and returns ``None`` to let it
go on, or an ``MtResult`` to stop it there (refused, blocked).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol

from gateway.carriers.pool import Sent, SubmitError
from gateway.config.model import Account
from gateway.inbound.id_map import IdMapEntry, pair_ids
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

    @property
    def ok(self) -> bool:
        return self.status == 0


class Deferred:
    """A stage's verdict that comes later (a Redis lookup): a future without the event
    loop round trip per step. The stage calls ``settle`` once; the pipeline ``then``."""

    __slots__ = ("_settled", "_then", "_verdict")

    def __init__(self) -> None:
        self._then: Callable[[MtResult | None], None] | None = None
        self._verdict: MtResult | None = None
        self._settled = False

    def settle(self, verdict: MtResult | None) -> None:
        if self._settled:
            return
        self._settled = True
        if self._then is not None:
            self._then(verdict)
        else:
            self._verdict = verdict

    def then(self, callback: Callable[[MtResult | None], None]) -> None:
        if self._settled:
            callback(self._verdict)
        else:
            self._then = callback


#: A stage: None (go on), an MtResult (stop there), a Deferred or an awaitable of either.
Stage = Callable[[Message], "MtResult | Deferred | Awaitable[MtResult | None] | None"]


class Carrier(Protocol):
    """The carrier link pool as the pipeline needs it."""

    def submit_nowait(self, parts: list[SubmitSm], *, e164: str,
                      country: str) -> asyncio.Future[Sent]: ...


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

    Driven by callbacks, not a task per message: a transactional message goes from the
    sender's socket to the carrier's in one loop step, and its answer comes back on the
    carrier's response callback. Only a stage that must wait (a suppression lookup, a token
    from the ledger) defers the message; the DLR id map write goes behind the answer,
    gathered over ``ID_MAP_BATCH_WINDOW``.
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
        self._id_writes: set[asyncio.Future[None]] = set()

    async def submit(self, message: Message) -> MtResult:
        """Judge and forward one message; never raises for a bad message."""
        answer: asyncio.Future[MtResult] = asyncio.get_running_loop().create_future()
        self.start(message, partial(_settle, answer))
        return await answer

    async def drain(self, timeout: float) -> None:
        """Write the id map entries still queued or under way (bounded); at shutdown."""
        self._write_ids()
        if self._id_writes:
            await asyncio.wait(set(self._id_writes), timeout=timeout)

    def start(self, message: Message, done: Done) -> None:
        """Judge and forward one message; ``done`` is called once with the result (maybe
        before this returns). Never raises for a bad message."""
        self._advance(message, 0, message.klass or "unclassified", done)

    # --- the steps, each one callback ---------------------------------------------------

    def _advance(self, message: Message, index: int, klass: str, done: Done) -> None:
        stages = self.stages
        try:
            while index < len(stages):
                verdict = stages[index](message)
                index += 1
                if verdict is None:
                    continue
                if isinstance(verdict, MtResult):
                    self._refused(message, klass, verdict, done)
                    return
                if isinstance(verdict, Deferred):
                    verdict.then(partial(self._resumed, message, index, klass, done))
                    return
                waiting = asyncio.ensure_future(verdict)
                waiting.add_done_callback(
                    partial(self._stage_done, message, index, klass, done))
                return
            parts = message.outbound_parts()
        except TooManyPartsError:
            result = MtResult(CommandStatus.ESME_RINVMSGLEN, reason="too_long")
            self._count(message, klass, "rejected", result)
            done(result)
            self._parts_refused(message, result)
            return
        except Exception:
            self._crashed(message, done)
            return
        try:
            sent = self.carrier.submit_nowait(parts, e164=message.e164, country=message.country)
        except SubmitError as error:
            self._failed(message, klass, error, done)
            return
        sent.add_done_callback(partial(self._sent, message, klass, len(parts), done))

    def _stage_done(self, message: Message, index: int, klass: str, done: Done,
                    waiting: asyncio.Future[MtResult | None]) -> None:
        try:
            verdict = waiting.result()
        except Exception:
            self._crashed(message, done)
            return
        if verdict is not None:
            self._refused(message, klass, verdict, done)
        else:
            self._advance(message, index, klass, done)

    def _resumed(self, message: Message, index: int, klass: str, done: Done,
                 verdict: MtResult | None) -> None:
        if verdict is not None:
            self._refused(message, klass, verdict, done)
        else:
            self._advance(message, index, klass, done)

    def _sent(self, message: Message, klass: str, count: int, done: Done,
              sent: asyncio.Future[Sent]) -> None:
        try:
            result = sent.result()
        except SubmitError as error:
            self._failed(message, klass, error, done)
            return
        except BaseException:  # cancelled (shutdown) or a bug: the sender hears "system error"
            self._crashed(message, done)
            return
        answer = MtResult(CommandStatus.ESME_ROK, message.id, count)
        if message.template.registered_delivery & _WANTS_RECEIPT:
            senders = sender_ids_for_parts(message, len(result.carrier_ids))
            entries: list[IdMapEntry] = [(result.upstream, carrier_id, message.account, sender)
                       for carrier_id, sender in pair_ids(result.carrier_ids, senders)]
            self.ids.note(entries)  # a receipt right behind the answer finds it at once
            batch = self._id_batch
            if not batch:
                asyncio.get_running_loop().call_later(ID_MAP_BATCH_WINDOW, self._write_ids)
            batch.extend(entries)
            if len(batch) >= ID_MAP_BATCH_MAX:
                self._write_ids()
        self._forwarded(message, answer, done)

    def _forwarded(self, message: Message, answer: MtResult, done: Done) -> None:
        self._count(message, message.klass or "unclassified", "forwarded", answer)
        if self.on_forwarded is not None:
            self.on_forwarded(message)
        done(answer)

    def _write_ids(self) -> None:
        """One Redis command for the id map entries gathered (see ID_MAP_BATCH_WINDOW)."""
        batch, self._id_batch = self._id_batch, []
        if batch:
            task = asyncio.ensure_future(self._store_ids(batch))
            self._id_writes.add(task)
            task.add_done_callback(self._id_writes.discard)

    async def _store_ids(self, batch: list[IdMapEntry]) -> None:
        try:
            async with asyncio.timeout(ID_MAP_WAIT):
                await self.ids.remember_many(batch)
        except Exception:  # the messages are with the carrier: only their receipts are lost
            log.warning("could not store the DLR id map: these parts' receipts are lost",
                        exc_info=True, extra=fields("id_map_write_failed", parts=len(batch)))

    # --- outcomes -------------------------------------------------------------------------

    def _refused(self, message: Message, klass: str, verdict: MtResult, done: Done) -> None:
        outcome = "blocked" if verdict.reason == "blocked" else "rejected"
        self._count(message, message.klass or klass, outcome, verdict)
        done(verdict)
        if outcome != "blocked":  # the policy sends a blocked message's REJECTD receipts
            self._parts_refused(message, verdict)

    def _failed(self, message: Message, klass: str, error: SubmitError, done: Done) -> None:
        result = MtResult(error.status, reason=type(error).__name__)
        self._count(message, message.klass or klass, "failed", result)
        done(result)
        self._parts_refused(message, result)

    def _crashed(self, message: Message, done: Done) -> None:
        log.exception("MT pipeline failed", extra=fields(
            "mt_failed", account=message.account, message_id=message.id,
            number=message.e164 or message.destination_addr))
        result = MtResult(CommandStatus.ESME_RSYSERR, reason="internal")
        done(result)
        self._parts_refused(message, result)

    def _parts_refused(self, message: Message, result: MtResult) -> None:
        """A multipart SMPP message refused or failed on its completing part: the parts
        answered ESME_ROK before it (so a sender with a window of 1 could go on) will
        never be delivered, and their senders hear it by receipt. HTTP senders hear the
        whole refusal in the answer."""
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
