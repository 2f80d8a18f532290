"""Held messages: kept in the ledger through quiet hours, released when the window opens.

**Holding** (``Holder.hold``, called by the send-time stage for a quiet-hours verdict
whose action is "hold"): the message as the sender gave it (gateway/sendtime/stored.py)
goes into the ledger (``held_messages``), and only then is the sender answered:
ESME_ROK with its message id (HTTP: 202 ``status: "held"`` and ``due``). Refused
instead:

- ESME_RMSGQFUL, reason ``held_backlog_full``: the account has
  ``policy.held_max_per_account`` messages held already;
- ESME_RMSGQFUL, reason ``held_write_failed``: the ledger could not keep it (retry);
- ``policy.quiet_status`` (reason ``quiet_hours``, no ``retry_after``): no window opens
  within the horizon searched.

A message whose window opens only after it expires (its ``validity_period``, or
``policy.held_max_age`` without one) is held all the same and gets its EXPIRED receipt
when it expires, as an SMSC does with a message it cannot deliver in time.

**Releasing** (``Releaser``, one task per gateway process): every second (or at once
when woken) it claims, with a lease, the rows that are due, expired, or cancelled with a
receipt to send (gateway/ledger/held.py: one recipient's messages in order, one at a
time, across every instance) and for each:

- **due**: the message is rebuilt as received and goes through the whole MT pipeline
  again with ``notes["released"] = "1"``: the opt-out check, quiet hours (a window
  that closed again holds it again, due at its next opening), the frequency caps and
  the footer all happen *now*. Then
  forwarded -> ``released`` (the sender's receipts come from the carrier, under the id it
  was given: the DLR id map maps the carrier's ids to the sender's part ids);
  refused (opted out, capped, quiet with action reject, invalid, refused by the
  carrier) -> ``dropped`` and a REJECTD receipt per part (err = the status);
  a temporary failure (no carrier link, throttled, suppression or caps state unknown,
  a failure of stopgate's own) -> held again, due in ``RETRY_DELAY``, until it expires or
  ``MAX_ATTEMPTS`` claims have failed (then dropped);
- **expired** before its release -> ``expired`` and an EXPIRED receipt per part;
- **cancelled** (``DELETE /v1/held``, ``stopgate held cancel``) -> a DELETED receipt per
  part.
- **erased** (its number was erased while it was held: the row holds only the number's
  hash, the stored message no destination; gateway/ledger/held.py) -> ``dropped``,
  reason ``erased``, and a REJECTD receipt per part with err = ``policy.blocked_status``
  (the person asked to be forgotten: the message can never be sent, and the sender
  hears so as it would of an opt-out). Checked first: an erased row that also expired
  is dropped as erased.

Receipts go to the account's receiver binds like any other (queued while none is
bound), only where the message asked for one (``registered_delivery``). A receipt is
sent before its row is closed: a crash between the two repeats it, never loses it.

**Stopping**: no new claims; the releases under way finish (bounded by the shutdown
timeout) and the claims not started are given back. A killed process's claims are
taken over when their lease (``LEASE``) runs out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from gateway.config.model import Config
from gateway.ledger.held import ERASED_REASON, HeldRow, NewHeld
from gateway.ledger.model import ERASED_PREFIX
from gateway.ledger.threaded import AsyncLedger
from gateway.lifecycle import Background, TaskSet, backoff
from gateway.message import Message
from gateway.mt.pipeline import HELD, QUIET_HOURS, MtPipeline, MtResult, Transit
from gateway.observability.logs import fields
from gateway.observability.metrics import Metrics
from gateway.sendtime import stored
from gateway.sendtime.clock import Clock
from smpp.constants import CommandStatus
from smpp.times import absolute_time, parse_time

__all__ = ["BACKLOG_FULL", "LEASE", "WRITE_FAILED", "Holder", "Releaser"]

log = logging.getLogger("stopgate.held")

#: ``MtResult.reason`` of a message refused because its account's held backlog is full.
BACKLOG_FULL = "held_backlog_full"
#: ... and of one the ledger could not keep.
WRITE_FAILED = "held_write_failed"
#: How long a claim is a worker's: a release takes well under it (the carrier answers or
#: times out within seconds); a killed instance's claims are taken over after it.
LEASE = 120.0
#: Rows claimed per kind and pass.
CLAIM_LIMIT = 200
#: Messages to hold written in one ledger transaction at most.
WRITE_BATCH = 500
#: Between passes when there was nothing to do.
INTERVAL = 1.0
#: How often the per-account counts (backlog cap, gauge) are read from the ledger.
COUNT_EVERY = 5.0
#: A release that failed for a reason that passes (no carrier link, Redis unknown) is
#: due again this much later...
RETRY_DELAY = timedelta(seconds=30)
#: ...and dropped after this many claims.
MAX_ATTEMPTS = 20
#: Failures that pass: retried, not dropped.
TEMPORARY = frozenset({CommandStatus.ESME_RTHROTTLED, CommandStatus.ESME_RMSGQFUL,
                       CommandStatus.ESME_RX_T_APPN, CommandStatus.ESME_RSYSERR})
_RECEIPT_WANTED = 0x03

#: Sends failure receipts: (message, ids, stat, status) (gateway.components.PartReceipts).
Receipts = Callable[[Message, Sequence[str], str, int], Awaitable[None]]


class Holder:
    """Keeps held messages in the ledger and answers their senders (module docstring)."""

    def __init__(self, config: Config, ledger: AsyncLedger, clock: Clock,
                 metrics: Metrics) -> None:
        self.ledger = ledger
        self.clock = clock
        self.metrics = metrics
        self.max_per_account = config.policy.held_max_per_account
        self.max_age = timedelta(seconds=config.policy.held_max_age)
        self.quiet_status = config.policy.quiet_status
        #: Messages held per account, as last read from the ledger plus those held here
        #: since (``Releaser`` refreshes it every ``COUNT_EVERY``).
        self.counts: dict[str, int] = {}
        self._writes = TaskSet()
        #: Messages waiting for the ledger write under way to end, and whether one is.
        self._pending: list[tuple[Transit, NewHeld]] = []
        self._flushing = False

    async def drain(self, timeout: float) -> None:
        """Wait (bounded) for the ledger writes under way; at shutdown."""
        await self._writes.drain(timeout)

    def hold(self, transit: Transit, due: datetime | None,
             refused_by: tuple[str, ...]) -> None:
        message = transit.message
        if message.notes.get("released"):
            # Back from the ledger and outside the window again: the releaser keeps its
            # row, due at the next opening (it reads this answer).
            transit.settle(MtResult(CommandStatus.ESME_ROK, message.id, 0, reason=HELD,
                                    retry_after=due))
            return
        if due is None:  # no window within the horizon: nothing to wait for
            transit.settle(MtResult(self.quiet_status, reason=QUIET_HOURS))
            return
        now = self.clock.now()
        expires = self._expiry(message, now)
        account = message.account
        if self.counts.get(account, 0) >= self.max_per_account:
            self.metrics.held_total.labels(account, "refused_backlog_full").inc()
            transit.settle(MtResult(CommandStatus.ESME_RMSGQFUL, reason=BACKLOG_FULL))
            return
        row = NewHeld(account, message.e164, message.campaign, message.id, due, now, expires,
                      stored.dump(message), "; ".join(refused_by) or None)
        self.counts[account] = self.counts.get(account, 0) + 1
        self._pending.append((transit, row))
        if not self._flushing:
            self._flushing = True
            self._writes.spawn(self._flush())

    async def _flush(self) -> None:
        """Write the messages to hold, those that came while a write was under way in the
        next one (one transaction, one fsync each): a campaign held at 22:00 costs the
        ledger one commit per batch, not per message, and a STOP waits behind less."""
        try:
            while self._pending:
                batch = self._pending[:WRITE_BATCH]
                del self._pending[:WRITE_BATCH]
                await self._write(batch)
        finally:
            self._flushing = False

    async def _write(self, batch: list[tuple[Transit, NewHeld]]) -> None:
        try:
            await self.ledger.hold_many([row for _, row in batch])
        except Exception as error:  # the senders hear "retry", nothing was kept
            for _, row in batch:
                self.counts[row.account] = max(0, self.counts.get(row.account, 1) - 1)
            log.error("could not hold messages: refused", extra=fields(
                "held_write_failed", messages=len(batch), error=str(error)))
            for transit, _ in batch:
                _settle(transit, MtResult(CommandStatus.ESME_RMSGQFUL, reason=WRITE_FAILED))
            return
        for transit, row in batch:
            self.metrics.held_total.labels(row.account, "held").inc()
            _settle(transit, MtResult(CommandStatus.ESME_ROK, transit.message.id, 0,
                                      reason=HELD, retry_after=row.due_at))

    def _expiry(self, message: Message, now: datetime) -> datetime:
        """When the message stops being worth sending: its validity_period, or
        ``held_max_age`` from now without one (or with one that does not parse)."""
        try:
            validity = parse_time(message.template.validity_period, now)
        except ValueError:
            validity = None
        return validity if validity is not None else now + self.max_age


class Releaser:
    """Claims held rows and releases, expires or reports them (module docstring)."""

    def __init__(self, holder: Holder, ledger: AsyncLedger, pipeline: MtPipeline,
                 receipts: Receipts, clock: Clock, metrics: Metrics, *, worker_id: str,
                 accounts: Sequence[str] = (), interval: float = INTERVAL,
                 ready: Callable[[], bool] | None = None,
                 blocked_status: int = CommandStatus.ESME_RX_P_APPN) -> None:
        self.holder = holder
        self.ledger = ledger
        self.pipeline = pipeline
        self.receipts = receipts
        self.clock = clock
        self.metrics = metrics
        self.worker_id = worker_id
        self.accounts = tuple(accounts)
        self.interval = interval
        #: Rows claimed per kind and pass.
        self.claim_limit = CLAIM_LIMIT
        #: Whether releases can go out now (a carrier link, the opt-out state known).
        self.ready = ready
        #: err of the receipts of a message dropped because its number was erased.
        self.blocked_status = blocked_status
        self._task = Background("held-releaser", self._run)
        self._wake = asyncio.Event()
        self._releases = TaskSet()
        self._counted_at = -COUNT_EVERY
        self._stopping = False

    def start(self) -> asyncio.Task[None]:
        self._stopping = False
        return self._task.start()

    def wake(self) -> None:
        """Look for work now (a campaign cancelled, a test moving its clock)."""
        self._wake.set()

    async def drain(self, timeout: float) -> None:
        """Stop claiming; let the releases under way finish (bounded)."""
        self._stopping = True
        await self._task.stop()
        await self._releases.drain(timeout)

    async def stop(self) -> None:
        """Give back whatever claims are left (a release cut short: due again at once)."""
        self._stopping = True
        await self._task.stop()
        await self._releases.cancel()
        try:
            await self.ledger.held_give_back(self.worker_id)
        except Exception as error:
            log.warning("held-message claims not given back: they are taken over when their "
                        "lease runs out", extra=fields("held_give_back_failed",
                                                       error=str(error)))

    # --- the loop -------------------------------------------------------------------------

    async def _run(self) -> None:
        attempt = 0
        while not self._stopping:
            try:
                busy = await self.run_once()
                attempt = 0
            except Exception as error:  # the ledger, mostly: tried again, backing off
                attempt += 1
                log.warning("held messages not claimed: the ledger failed", extra=fields(
                    "held_claim_failed", error=str(error)))
                await asyncio.sleep(backoff(attempt, 1.0, 30.0, jitter=True))
                continue
            if busy:
                await asyncio.sleep(0)
                continue
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval)

    async def run_once(self) -> bool:
        """One pass: refresh the counts when due, claim, and start each row's work. True
        when rows were claimed (there may be more)."""
        loop = asyncio.get_running_loop()
        if loop.time() - self._counted_at >= COUNT_EVERY:
            await self.count()
            self._counted_at = loop.time()
        if self.ready is not None and not self.ready():
            return False
        now = self.clock.now()
        rows = await self.ledger.claim_held(self.worker_id, self.claim_limit, LEASE, now)
        for row in rows:
            self._releases.spawn(self._handle(row, now))
        if rows:
            await self._releases.drain(LEASE / 2)  # one pass's work before the next claim
        return bool(rows)

    async def count(self) -> None:
        """The backlog per account from the ledger: the cap and the gauge."""
        counts = await self.ledger.count_held()
        self.holder.counts = dict(counts)
        for account in {*self.accounts, *counts}:
            self.metrics.held_messages.labels(account).set(counts.get(account, 0))

    # --- one row --------------------------------------------------------------------------

    async def _handle(self, row: HeldRow, now: datetime) -> None:
        try:
            message = stored.load(row.message, asyncio.get_running_loop().time())
        except Exception as error:  # a row no stopgate can read: dropped, said loudly
            log.error("a held message cannot be read back: dropped", extra=fields(
                "held_unreadable", account=row.account, held_id=row.id, error=str(error)))
            await self._finish(row, "dropped", now, "unreadable")
            return
        try:
            if row.status == "held" and row.number.startswith(ERASED_PREFIX):
                await self._receipts(message, "REJECTD", self.blocked_status)
                await self._finish(row, "dropped", now, ERASED_REASON)
            elif row.status == "cancelled":
                await self._receipts(message, "DELETED", 0)
                if await self.ledger.held_notified(row.id, self.worker_id, now):
                    self.metrics.held_total.labels(row.account, "cancelled").inc()
            elif row.expires_at <= now:
                await self._receipts(message, "EXPIRED", 0)
                await self._finish(row, "expired", now, "expired")
            else:
                await self._release(row, message)
        except Exception as error:  # the lease runs out and the row is claimed again
            log.error("a held message could not be handled; it is tried again after its "
                      "lease", extra=fields("held_release_failed", account=row.account,
                                            held_id=row.id, error=str(error)))

    async def _release(self, row: HeldRow, message: Message) -> None:
        message.notes["released"] = "1"
        template = message.template
        if template.validity_period.endswith("R"):
            # Relative to the submission, which was hours ago: the carrier must not start
            # counting again now.
            message.template = replace(template,
                                       validity_period=absolute_time(row.expires_at))
        result = await self.pipeline.submit(message)
        now = self.clock.now()
        if result.reason == HELD:  # outside the window again
            due = result.retry_after or now + RETRY_DELAY
            await self.ledger.held_again(row.id, self.worker_id, due, "window closed again")
        elif result.ok and result.reason == "":
            await self._finish(row, "released", now, None)
        elif result.status in TEMPORARY and row.attempts < MAX_ATTEMPTS:
            log.info("a held message could not be released yet: due again", extra=fields(
                "held_release_deferred", account=row.account, held_id=row.id,
                status=f"0x{result.status:08X}", reason=result.reason))
            await self.ledger.held_again(row.id, self.worker_id, now + RETRY_DELAY,
                                         result.reason or f"0x{result.status:08X}")
        else:
            status = result.status or CommandStatus.ESME_RSUBMITFAIL
            await self._receipts(message, "REJECTD", status)
            await self._finish(row, "dropped", now, result.reason or f"0x{status:08X}")

    async def _finish(self, row: HeldRow, status: Any, now: datetime,
                      reason: str | None) -> None:
        if await self.ledger.held_finish(row.id, self.worker_id, status, now, reason):
            outcome = "dropped_at_release" if status == "dropped" else status
            self.metrics.held_total.labels(row.account, outcome).inc()

    async def _receipts(self, message: Message, stat: str, status: int) -> None:
        if message.template.registered_delivery & _RECEIPT_WANTED:
            await self.receipts(message, message.part_ids, stat, status)


def _settle(transit: Transit, result: MtResult) -> None:
    """Answer one message of a batch; a failure answering it is not the others'."""
    try:
        transit.settle(result)
    except Exception:
        log.exception("a held message's answer failed", extra=fields(
            "held_answer_failed", account=transit.message.account,
            message_id=transit.message.id))


def held_answer(result: MtResult) -> Mapping[str, Any] | None:
    """What an HTTP sender reads of a held message's answer (None: it was not held)."""
    if not result.ok or result.reason != HELD:
        return None
    due = result.retry_after
    return {"status": "held",
            "due": due.strftime("%Y-%m-%dT%H:%M:%SZ") if due is not None else None}
