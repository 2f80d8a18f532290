"""The way back: carrier deliver_sm (receipts and MOs) to the senders' receiver binds.

::

    carrier deliver_sm --+-- receipt --> id map --> rewrite id --+--> account's RX/TRX binds
                         |                                       |      (round robin)
                         +-- MO -------> owners of the number ---+--> else its pending queue
                         |               (mo_hook: STOP handling)        (flushed on bind)

What the carrier hears (``on_carrier_deliver_sm`` returns the deliver_sm_resp
command_status):

- ESME_ROK once every copy is acknowledged by a sender or stored in a pending
  queue; also for receipts with an unknown id and MOs to a number no account
  owns (counted, then dropped: a carrier resends an unanswered PDU forever);
- ESME_RX_T_APPN (temporary) when Redis cannot be reached or the MO hook
  fails, so the carrier retries: nothing acknowledged is ever lost. A retry
  may reach a sender twice (at-least-once). A receipt whose id this process
  remembers (its own recent submits) and whose sender is bound needs no Redis:
  it goes through during an outage (counted ``dlr_total{outcome="retry"}``
  otherwise).

Receipts: see ``gateway.inbound.receipts`` (recognition, the id in the TLV and the
text) and ``gateway.inbound.id_map`` (carrier id forms, key layout). One carrier
receipt becomes one receipt per sender-visible id it maps to.

MOs go, untouched, to every account whose ``numbers`` (or numeric ``senders``)
hold the destination, compared as digits with any ``+``/``00`` international prefix
removed (``+33757000000`` = ``33757000000`` = ``0033757000000``; shortcodes
exactly) or, with the sender ownership index, in E.164 (rules/senders.py),
so a shared shortcode's MO reaches every brand on it. The parts of a long MO
pass one by one as they come: the sender reassembles them, as it would
behind the carrier; stopgate's keyword handling keeps its own reassembled
copy. ``mo_hook`` (STOP/START/HELP: the MO keyword handler) sees every MO
first; it may answer the carrier itself (return a status) or let the MO pass
(return None). With a hook set, counting ``mo_total`` by kind is the hook's job.

Delivery: a receiver is chosen round robin among the account's bound RX/TRX
links (a full window moves on to the next one); without one, or when the
sender answers an error, times out or drops the link, the PDU goes to the
account's pending queue (``gateway.inbound.pending``). A live PDU may overtake
older queued ones while a flush runs; receipts carry their own dates. A PDU
queued unanswered while other receivers of the account are still bound starts
a flush at once.

``flush(account)``, called when an account binds a receiver (the router listens to
the ``SenderDirectory``, gateway/senders/bound.py), when another
process (worker) announces that it queued for the account
(gateway/inbound/notices.py), and by ``run_flusher`` every so often, sends the
queue in order: a PDU the sender
refuses with an error status goes to the back of the queue, a timeout or a
lost link ends the flush with the PDU still first in line. One flush makes at
most one pass over what was queued when it started. A flush that finds the
queue's lock held (another process flushing it, or one killed mid-flush, whose
lock outlives it by up to ``pending.LOCK_TTL``) looks again when the lock is due
to expire, if a receiver is still bound here.

Logs at info and above carry account and upstream names, never numbers or text.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

from gateway.config.model import Account, Dlr
from gateway.inbound.id_map import IdMap, IdMapEntry, canonical_id, lookup_forms, pair_ids
from gateway.inbound.notices import CHANNEL as NOTICE_CHANNEL
from gateway.inbound.notices import NoticeTag
from gateway.inbound.pending import PendingQueue, now_ms
from gateway.inbound.receipts import is_receipt, receipt_ids, rewrite_receipt
from gateway.ledger.model import LedgerError
from gateway.lifecycle import TaskSet
from gateway.observability.logs import fields
from gateway.observability.metrics import Metrics
from gateway.smpp_link import LinkClosed, ResponseTimeout, SmppLink, WindowFull
from rules.numbers import number_key
from rules.senders import SenderOwnership
from smpp.constants import CommandStatus
from smpp.pdu import DeliverSm, Pdu
from smpp.session import LocalProtocolError

__all__ = ["DlrRouter", "MoHook", "SenderDirectory"]

log = logging.getLogger("stopgate.dlr")

ROK = CommandStatus.ESME_ROK
RETRY_LATER = CommandStatus.ESME_RX_T_APPN

#: MO hook: (the MO, owning account system_ids) -> a status to answer now, or None to pass it on.
MoHook = Callable[[DeliverSm, list[str]], Awaitable[int | None]]


class SenderDirectory(Protocol):
    """Who can take deliver_sm for an account right now (the sender-facing server)."""

    def receivers(self, account: str) -> list[SmppLink]:
        """The account's bound receiver and transceiver links."""
        ...

    def subscribe(self, listener: Callable[[str], object]) -> None:
        """Call ``listener(account)`` when a receiver of the account binds."""
        ...


#: Id map entries this process keeps of its own writes (~200 B each).
RECENT_IDS = 100_000
#: Pauses before looking an unknown receipt id up again (seconds).
UNKNOWN_ID_RETRIES = (0.05, 0.2, 0.5)
#: After another flush's lock is due to expire, wait this much more before looking again.
RELOOK_MARGIN = 0.1


class DlrRouter:
    """Routes carrier receipts and MOs to the owning accounts' receiver binds or queues.

    ``redis`` must return bytes (``decode_responses=False``).
    """

    def __init__(
        self,
        redis: Redis,
        dlr_config: Dlr,
        accounts_config: Iterable[Account],
        senders: SenderDirectory,
        metrics: Metrics,
        *,
        delivery_timeout: float = 5.0,
        flush_batch: int = 64,
        ownership: SenderOwnership | None = None,
        mo_hook: MoHook | None = None,
        notices: NoticeTag | None = None,
    ) -> None:
        self.id_map = IdMap(redis, dlr_config.id_map_ttl)
        self.queue = PendingQueue(redis, dlr_config.pending_max_count, dlr_config.pending_max_age)
        self.senders = senders
        self.metrics = metrics
        # Kept below the carrier's own response timeout (usually 10 s or more), so the
        # carrier hears from us before it gives up and resends.
        self.delivery_timeout = delivery_timeout
        self.flush_batch = flush_batch
        self.mo_hook = mo_hook
        #: Announces queue growth to the other processes on this Redis (gateway/inbound/notices.py).
        self.notices = notices
        self.accounts = tuple(account.system_id for account in accounts_config)
        self._owners: dict[str, list[str]] = {}
        for account in accounts_config:
            # Numeric senders receive MOs like numbers do (an alphanumeric id cannot).
            numeric = (s for s in account.senders if not any(c.isalpha() for c in s))
            for number in (*account.numbers, *numeric):
                owners = self._owners.setdefault(number_key(number), [])
                if account.system_id not in owners:
                    owners.append(account.system_id)
        #: Also matches a destination written another way than the config's entry (a
        #: national "0757000000" entry, an MO to "33757000000"): E.164 keys.
        self.ownership = ownership
        self._next: dict[str, int] = {}
        # Per account: flushes asked for, and how many of those asks the latest flush covers.
        self._flush_locks: dict[str, asyncio.Lock] = {}
        self._flush_asked: dict[str, int] = {}
        self._flush_started: dict[str, int] = {}
        self._flushes = TaskSet()  # flushes started by _route, binds and notices
        #: Accounts whose queue's lock another flush held: looked at again when it expires.
        self._relooks: dict[str, asyncio.TimerHandle] = {}
        # The two counters every receipt moves, looked up once (labels() costs ~1 µs).
        self._receipts_seen = metrics.mo_total.labels("dlr")
        self._delivered = metrics.dlr_total.labels("delivered")
        #: (upstream, canonical carrier id) -> (account, sender ids), the latest written
        self._recent: OrderedDict[tuple[str, str], tuple[str, tuple[str, ...]]] = OrderedDict()
        # A receiver that binds gets its account's queue at once.
        senders.subscribe(self._spawn_flush)

    # --- the MT path's side ------------------------------------------------------------

    async def remember(
        self, upstream: str, carrier_ids: Sequence[str], account: str, sender_ids: Sequence[str]
    ) -> None:
        """Record where receipts for ``carrier_ids`` go (see ``IdMap.remember``)."""
        await self.remember_many((upstream, carrier_id, account, senders)
                                 for carrier_id, senders in pair_ids(carrier_ids, sender_ids))

    async def remember_many(self, entries: Iterable[IdMapEntry]) -> None:
        """Record many (upstream, carrier id, account, sender id) in one round trip.

        Also kept in process for a while (``RECENT_IDS`` entries): most receipts come back
        within seconds on a link of this process, and are routed without asking Redis,
        nor waiting for this write if they overtake it.
        """
        entries = list(entries)
        self.note(entries)
        await self.id_map.remember_many(entries)

    def note(self, entries: Iterable[IdMapEntry]) -> None:
        """Remember entries in this process only (the MT path calls this as soon as the
        carrier answers, and writes Redis a few milliseconds later)."""
        recent = self._recent
        for upstream, carrier_id, account, senders in entries:
            ids = (senders,) if isinstance(senders, str) else tuple(senders)
            recent[(upstream, canonical_id(carrier_id))] = (account, ids)
        for _ in range(len(recent) - RECENT_IDS):
            # OrderedDict: popping the oldest is O(1); a plain dict's first key is found by
            # scanning past every slot deleted before it.
            recent.popitem(last=False)

    def _recent_lookup(self, upstream: str, ids: Sequence[str]
                       ) -> tuple[str, tuple[str, ...]] | None:
        """``IdMap.lookup`` against what this process wrote lately (same order of forms)."""
        recent = self._recent
        for carrier_id in ids:
            for form in lookup_forms(carrier_id):
                found = recent.get((upstream, form))
                if found is not None:
                    return found
        return None

    # --- the carrier's side -----------------------------------------------------------------

    def owners(self, destination_addr: str, ton: int = 0) -> list[str]:
        """The accounts whose ``numbers`` or numeric ``senders`` hold ``destination_addr``,
        in configuration order."""
        found = list(self._owners.get(number_key(destination_addr), ()))
        if self.ownership is not None:
            more = [a for a in self.ownership.destination_listers(destination_addr, ton)
                    if a not in found]
            if more:
                order = {name: index for index, name in enumerate(self.accounts)}
                found = sorted((*found, *more), key=lambda name: order.get(name, len(order)))
        return found

    async def on_carrier_deliver_sm(self, pdu: DeliverSm, upstream: str) -> int:
        """Route one carrier deliver_sm; the command_status for its deliver_sm_resp."""
        try:
            if is_receipt(pdu):
                return await self._on_receipt(pdu, upstream)
            return await self._on_mo(pdu)
        except RedisError as exc:
            self.metrics.dlr_total.labels("retry").inc()
            log.warning("Redis unavailable: the carrier is asked to retry the deliver_sm",
                        extra=fields("deliver_sm_retry", upstream=upstream, error=str(exc)))
            return RETRY_LATER

    async def _on_receipt(self, pdu: DeliverSm, upstream: str) -> int:
        ids = receipt_ids(pdu)
        found = self._recent_lookup(upstream, ids)
        failure: RedisError | None = None
        if found is None and ids:
            # An instant receipt often comes in the same read as its submit_sm_resp, whose
            # callbacks (and the note of its id) run just after this task's first step.
            await asyncio.sleep(0)
            found, failure = await self._look_up(upstream, ids)
        # A fast carrier's receipt can overtake the id map write that follows its
        # submit_sm_resp (on this instance or another), or the answer to the other parts
        # of its message: look again before giving up. While Redis is down this process's
        # own memory may still know the id, so a Redis error waits like a miss does.
        for delay in UNKNOWN_ID_RETRIES if ids else ():
            if found is not None:
                break
            await asyncio.sleep(delay)
            found, failure = await self._look_up(upstream, ids)
        if found is None and failure is not None:
            raise failure  # Redis may know it: the carrier sends it again
        self._receipts_seen.inc()
        if found is None:
            self.metrics.dlr_total.labels("unknown_id").inc()
            log.debug("receipt for an unknown message id", extra=fields(
                "receipt_unknown_id", upstream=upstream, carrier_id=ids[0] if ids else ""))
            return ROK
        account, sender_ids = found
        await self._route(account, [rewrite_receipt(pdu, sender_id) for sender_id in sender_ids])
        return ROK

    async def _look_up(self, upstream: str, ids: Sequence[str]
                       ) -> tuple[tuple[str, tuple[str, ...]] | None, RedisError | None]:
        """(where the receipt goes or None, the Redis error that left it unknown or None)."""
        found = self._recent_lookup(upstream, ids)
        if found is not None:
            return found, None
        try:
            return await self.id_map.lookup(upstream, ids), None
        except RedisError as exc:
            return None, exc

    async def _on_mo(self, pdu: DeliverSm) -> int:
        owners = self.owners(pdu.destination_addr, pdu.dest_addr_ton)
        if self.mo_hook is not None:
            try:
                status = await self.mo_hook(pdu, owners)
            except RedisError:
                raise
            except (LedgerError, sqlite3.Error) as exc:
                # The ledger cannot record (locked, disk full): the ledger health logs the
                # outage once; a traceback per carrier retry would flood the log.
                log.debug("MO hook: the ledger cannot record (%s); carrier asked to retry", exc,
                          extra=fields("mo_ledger_retry", error=str(exc)))
                return RETRY_LATER
            except Exception:
                # The hook makes opt-outs durable before we acknowledge: if it could not,
                # the carrier must send the MO again.
                log.exception("MO handling failed; the carrier is asked to retry",
                              extra=fields("mo_failed", owners=owners))
                return RETRY_LATER
            if status is not None:
                return status
        else:
            self.metrics.mo_total.labels("other").inc()
        if not owners:
            self.metrics.dlr_total.labels("no_owner").inc()
            return ROK
        await asyncio.gather(*(self._route(account, [pdu]) for account in owners))
        return ROK

    # --- delivery -----------------------------------------------------------------------------

    def _send(self, account: str, pdu: DeliverSm) -> asyncio.Future[Pdu] | None:
        """Send on the next receiver (round robin) that takes it; None if none does."""
        links = self.senders.receivers(account)
        if not links:
            return None
        start = self._next.get(account, 0)
        self._next[account] = start + 1
        for step in range(len(links)):
            link = links[(start + step) % len(links)]
            try:
                return link.send(pdu)
            except (WindowFull, LinkClosed, LocalProtocolError):
                continue  # full window, just closed, or not a receiver: the next one
        return None

    async def _acknowledged(self, response: asyncio.Future[Pdu]) -> bool | None:
        """True: answered OK; False: answered with an error; None: no answer (timeout, closed)."""
        try:
            async with asyncio.timeout(self.delivery_timeout):  # no task, unlike wait_for
                pdu = await response
        except (TimeoutError, ResponseTimeout, LinkClosed):
            return None
        return pdu.command_status == ROK

    async def _deliver(self, account: str, pdu: DeliverSm) -> bool | None:
        """As ``_acknowledged``; None also when no receiver could take it."""
        response = self._send(account, pdu)
        return None if response is None else await self._acknowledged(response)

    async def deliver(self, account: str, pdus: list[DeliverSm]) -> None:
        """Deliver receipts stopgate made itself (REJECTD...) like a carrier's: now, or queued."""
        await self._route(account, pdus)

    async def _route(self, account: str, pdus: list[DeliverSm]) -> None:
        """Deliver ``pdus`` to ``account`` now, queueing what no receiver acknowledged."""
        if len(pdus) == 1:  # the common case: one receipt, no gather (a task per PDU)
            results = [await self._deliver(account, pdus[0])]
        else:
            results = await asyncio.gather(*(self._deliver(account, pdu) for pdu in pdus))
        delivered = sum(1 for ok in results if ok)
        if delivered:
            self._delivered.inc(delivered)
        failed = [pdu for pdu, ok in zip(pdus, results, strict=True) if not ok]
        if failed:
            # No receiver here, or it did not answer: a receiver of the account bound to
            # another process (worker) should flush now. A refusal waits, as below.
            notice = (None if self.notices is None or None not in results
                      else (NOTICE_CHANNEL, self.notices.notice(account)))
            dropped, depth = await self.queue.push(account, failed, notice)
            self.metrics.dlr_total.labels("queued").inc(len(failed))
            if dropped:
                self.metrics.dlr_total.labels("dropped_count").inc(dropped)
                log.warning("pending queue full: oldest receipts/MOs dropped", extra=fields(
                    "dlr_queue_dropped", account=account, dropped=dropped, depth=depth))
            self.metrics.dlr_queue_depth.labels(account).set(depth)
            if None in results and self.senders.receivers(account):
                # Unanswered (the receiver we chose dropped the link, timed out or had no
                # window) while receivers are bound: flush now rather than leave it until
                # the next bind or the periodic flusher. Not after a refusal: that waits
                # for the next flush, or a sender refusing everything would get the whole
                # queue again with each receipt.
                self._spawn_flush(account)

    def on_queue_notice(self, account: str) -> None:
        """Another process queued deliver_sm for ``account``: flush if a receiver is bound here."""
        if account in self.accounts and self.senders.receivers(account):
            self._spawn_flush(account)

    def flush_bound(self) -> None:
        """Start a flush of every account with a receiver bound here (notices may be lost)."""
        for account in self.accounts:
            if self.senders.receivers(account):
                self._spawn_flush(account)

    def _spawn_flush(self, account: str) -> None:
        self._flushes.spawn(self.flush(account))

    # --- the pending queue ----------------------------------------------------------------------

    async def flush(self, account: str) -> int:
        """Send ``account``'s pending queue to its receivers, in order; how many were delivered.

        Never raises for Redis trouble (logged): it runs as a task on every receiver bind.
        Flushes of one account run one at a time in this process, and a flush that started
        after this call was made covers it (this call then returns 0): a storm of receiver
        binds costs two flushes, not a Redis connection and three round trips per bind.
        """
        lock = self._flush_locks.setdefault(account, asyncio.Lock())
        asked = self._flush_asked[account] = self._flush_asked.get(account, 0) + 1
        async with lock:
            if self._flush_started.get(account, 0) >= asked:
                return 0
            self._flush_started[account] = self._flush_asked[account]
            return await self._flush_once(account)

    async def _flush_once(self, account: str) -> int:
        if not self.senders.receivers(account):
            return 0
        try:
            budget = await self.queue.depth(account)
            if not budget:
                self.metrics.dlr_queue_depth.labels(account).set(0)
                return 0
            token = await self.queue.lock(account)
            if token is None:
                # Another flush (here or in another gateway) is on it. Should its gateway
                # have died mid-flush, the lock outlives it by up to its TTL: look again
                # then, or a receiver bound here would wait for the next queue write or
                # periodic flush (a live holder has emptied the queue by then).
                await self._look_again(account)
                return 0
        except RedisError as exc:
            log.warning("pending queue not flushed: Redis unavailable", extra=fields(
                "dlr_flush_failed", account=account, error=str(exc)))
            return 0
        delivered = 0
        try:
            delivered = await self._flush_locked(account, token, budget)
        except RedisError as exc:
            log.warning("pending queue flush stopped: Redis unavailable", extra=fields(
                "dlr_flush_failed", account=account, error=str(exc)))
        finally:
            try:
                await self.queue.unlock(account, token)
                self.metrics.dlr_queue_depth.labels(account).set(await self.queue.depth(account))
            except RedisError:
                pass  # the lock expires by itself
        if delivered:
            log.info("pending receipts/MOs delivered", extra=fields(
                "dlr_queue_flushed", account=account, delivered=delivered))
        return delivered

    async def _look_again(self, account: str) -> None:
        """Flush ``account`` again once the lock another flush holds is due to expire."""
        if account in self._relooks:
            return
        remaining = await self.queue.lock_remaining(account)
        if account not in self._relooks:
            self._relooks[account] = asyncio.get_running_loop().call_later(
                remaining + RELOOK_MARGIN, self._relook, account)

    def _relook(self, account: str) -> None:
        del self._relooks[account]
        if self.senders.receivers(account):
            self._spawn_flush(account)

    async def _flush_locked(self, account: str, token: str, budget: int) -> int:
        delivered = 0
        while budget > 0 and self.senders.receivers(account):
            batch = await self.queue.claim(account, min(self.flush_batch, budget))
            if not batch:
                break
            now = now_ms()
            done: list[bytes] = []
            aged = 0
            sent: list[tuple[bytes, asyncio.Future[Pdu]]] = []
            for entry in batch:
                if self.queue.expired(entry, now):
                    done.append(entry.raw)
                    aged += 1
                    continue
                assert entry.pdu is not None
                response = self._send(account, entry.pdu)
                if response is None:
                    break  # windows full: the rest stays first in line for the next round
                sent.append((entry.raw, response))
            outcomes = await asyncio.gather(*(self._acknowledged(r) for _, r in sent))
            retry: list[bytes] = []
            unanswered = False
            for (raw, _), outcome in zip(sent, outcomes, strict=True):
                if outcome is True:
                    done.append(raw)
                    delivered += 1
                elif outcome is False:
                    retry.append(raw)
                else:
                    unanswered = True
            await self.queue.settle(account, done, retry)
            if aged:
                self.metrics.dlr_total.labels("dropped_age").inc(aged)
            if len(done) > aged:
                self.metrics.dlr_total.labels("delivered").inc(len(done) - aged)
            budget -= len(done) + len(retry)
            if unanswered or not (done or retry):
                break
            if not await self.queue.extend(account, token):
                break  # the lock expired under us: let its new holder carry on
        return delivered

    async def flush_all(self) -> int:
        """Flush every configured account that has a receiver bound."""
        total = 0
        for account in self.accounts:
            if self.senders.receivers(account):
                total += await self.flush(account)
        return total

    async def run_flusher(self, interval: float = 30.0) -> None:
        """Flush every ``interval`` seconds until cancelled (catches queues a bind left over);
        each pass first adopts what an earlier version queued under its own key names."""
        first = True
        try:
            while True:
                if not first:
                    await asyncio.sleep(interval)
                first = False
                try:
                    for account in self.accounts:
                        if moved := await self.queue.adopt_legacy(account):
                            log.info("pending queue of an earlier version adopted",
                                     extra=fields("dlr_queue_adopted", account=account,
                                                  entries=moved))
                    await self.flush_all()
                except Exception:  # keep flushing whatever went wrong this time
                    log.exception("periodic flush failed", extra=fields("dlr_flush_failed"))
        finally:  # stopped: no more looks at queues other flushes held
            for handle in self._relooks.values():
                handle.cancel()
            self._relooks.clear()
