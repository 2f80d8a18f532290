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
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from gateway.config import Account
from gateway.message import Message
from gateway.metrics import Metrics
from gateway.upstream import Sent, SubmitError
from rules.numbers import normalize
from smpp.constants import CommandStatus
from smpp.pdu import SubmitSm
from smpp.segments import TooManyPartsError

log = logging.getLogger("stopgate.mt")

#: registered_delivery bits that ask for a receipt of some kind (SMSC receipt, intermediate).
_WANTS_RECEIPT = 0x03 | 0x10
#: How long an answer waits for its DLR id map write. Redis that stalls (a TCP Redis behind
#: a partition, a frozen server) would otherwise hold every answer for the client's socket
#: timeout (5 s): the message is with the carrier, and transactional traffic never waits
#: on Redis; only that message's receipts are lost.
ID_MAP_WAIT = 0.5


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


Stage = Callable[[Message], "MtResult | Awaitable[MtResult | None] | None"]


class Carrier(Protocol):
    """The carrier link pool as the pipeline needs it."""

    async def submit(self, parts: list[SubmitSm], *, e164: str, country: str) -> Sent: ...


class IdMap(Protocol):
    """Where carrier ids are remembered so their DLRs find the sender."""

    async def remember(
        self, upstream: str, carrier_ids: Sequence[str], account: str, sender_ids: Sequence[str]
    ) -> None: ...


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


class MtPipeline:
    """Runs every MT through the stages, then to the carrier."""

    def __init__(
        self,
        *,
        carrier: Carrier,
        ids: IdMap,
        metrics: Metrics,
        stages: Sequence[Stage],
        on_forwarded: Callable[[Message], None] | None = None,
    ) -> None:
        self.carrier = carrier
        self.ids = ids
        self.metrics = metrics
        self.stages = list(stages)
        #: Told of every message the carrier took (campaign attribution); must not block.
        self.on_forwarded = on_forwarded

    async def submit(self, message: Message) -> MtResult:
        """Judge and forward one message; never raises for a bad message."""
        mt_total = self.metrics.mt_total
        klass = message.klass or "unclassified"
        for stage in self.stages:
            verdict = stage(message)
            if verdict is not None and not isinstance(verdict, MtResult):
                verdict = await verdict
            if verdict is not None:
                outcome = "blocked" if verdict.reason == "blocked" else "rejected"
                mt_total.labels(message.account, message.klass or klass, outcome).inc()
                return verdict
        try:
            parts = message.outbound_parts()
        except TooManyPartsError:
            mt_total.labels(message.account, klass, "rejected").inc()
            return MtResult(CommandStatus.ESME_RINVMSGLEN, reason="too_long")
        try:
            sent = await self.carrier.submit(parts, e164=message.e164, country=message.country)
        except SubmitError as error:
            mt_total.labels(message.account, message.klass or klass, "failed").inc()
            return MtResult(error.status, reason=type(error).__name__)
        if message.template.registered_delivery & _WANTS_RECEIPT:
            try:
                async with asyncio.timeout(ID_MAP_WAIT):
                    await self.ids.remember(
                        sent.upstream,
                        sent.carrier_ids,
                        message.account,
                        sender_ids_for_parts(message, len(sent.carrier_ids)),
                    )
            except Exception:  # the message is with the carrier: tell the sender so
                log.warning("could not store the DLR id map for %s", message.id, exc_info=True)
        mt_total.labels(message.account, message.klass or klass, "forwarded").inc()
        if self.on_forwarded is not None:
            self.on_forwarded(message)
        return MtResult(CommandStatus.ESME_ROK, message.id, len(parts))
