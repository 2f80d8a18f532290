"""Opt-out webhooks: deliver the ledger's outbox to the accounts' ``webhook_url``.

The outbox rows are written by the ledger in the same transaction as the events
they announce (see gateway.ledger.sqlite), so an acknowledged opt-out is always
announced, at least once, even across crashes. ``WebhookWorker`` runs in a task
of its own next to the MT path and never blocks it:

    claim due rows (atomic, leased: several instances never hold the same row)
      -> POST the stored JSON body, signed ``X-Stopgate-Signature: sha256=<hex
         HMAC-SHA256(webhook_secret, body)>``, ``webhook.timeout`` per attempt
      -> 2xx: done | anything else (status, timeout, connection error): retry at
         ``backoff_initial * 2**(attempts-1)`` capped at ``backoff_max``, with full
         jitter, until ``give_up_after`` since the event was recorded: given up
      -> ``stopgate_webhook_deliveries_total{outcome=delivered|retry|gave_up|no_url}``

**TLS**: an ``https://`` endpoint must present a certificate the system trusts for
its name (TLS 1.2 or later): the default CA store, which the ``SSL_CERT_FILE`` and
``SSL_CERT_DIR`` environment variables override as for any OpenSSL program. There
is no switch to turn that off. A certificate that fails is an attempt that fails
like any other (retried, ``outcome="retry"``), logged with the reason (e.g. ``TLS
certificate refused (unknown_ca): ...``).

Claims carry the worker's id. The gateway gives a stable one (machine, data_dir,
worker slot: ``gateway.components.instance_id``), and a worker releases that id's
claims when it starts: deliveries in flight when a gateway was killed are due at
once after its restart, not when their lease runs out.

Order per number: the claim skips a row while an earlier row for the same
(account, number) is open, so an opt-in is never announced before the opt-out
it follows. Concurrency is bounded (``concurrency`` requests in flight, over
every account); a slow or dead endpoint costs at most that many sockets and
ledger rows, not MT latency. The worker wakes on ``wake()`` (called by
``Suppressions`` after a state change) and polls every ``poll_interval``
otherwise. Logs name the account, outbox id and status; never the number, the
URL (it may carry a token) or the secret.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import time
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta

import aiohttp

from gateway.config.model import Account, Webhook
from gateway.ledger.model import OutboxRow
from gateway.ledger.threaded import AsyncLedger
from gateway.lifecycle import Background, TaskSet, backoff
from gateway.observability.logs import fields
from gateway.observability.metrics import Metrics
from gateway.tls import client_context, failure_reason

__all__ = ["SIGNATURE_HEADER", "WebhookWorker", "sign"]

log = logging.getLogger("stopgate.webhooks")

#: How often the worker counts the outbox for stopgate_webhook_backlog, in seconds.
BACKLOG_EVERY = 5.0
SIGNATURE_HEADER = "X-Stopgate-Signature"
#: The ledger event id, the same on every attempt: receivers deduplicate on it.
EVENT_ID_HEADER = "X-Stopgate-Event-Id"


def sign(secret: str, body: bytes) -> str:
    """The ``X-Stopgate-Signature`` value of ``body``."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


class WebhookWorker:
    """Delivers the webhook outbox (see the module docstring)."""

    def __init__(
        self,
        ledger: AsyncLedger,
        accounts: Iterable[Account] | Mapping[str, Account],
        config: Webhook,
        metrics: Metrics,
        *,
        worker_id: str | None = None,
        concurrency: int = 16,
        poll_interval: float = 1.0,
    ) -> None:
        if isinstance(accounts, Mapping):
            accounts = accounts.values()
        self.ledger = ledger
        self.accounts = {account.system_id: account for account in accounts}
        self.config = config
        self.metrics = metrics
        self.worker_id = worker_id or f"stopgate-{uuid.uuid4().hex[:12]}"
        self.concurrency = max(1, concurrency)
        self.poll_interval = poll_interval
        # A claim outlives any attempt: only a worker that died leaves rows to expire.
        self.lease_seconds = 2 * config.timeout + 30.0
        self._wake = asyncio.Event()
        self._inflight = TaskSet()
        self._runner = Background("webhook-worker", self.run)
        self._session: aiohttp.ClientSession | None = None
        self._backlog_due = 0.0

    def wake(self) -> None:
        """Something was recorded: look at the outbox now (safe from the loop only)."""
        self._wake.set()

    def start(self) -> None:
        self._runner.start()

    async def stop(self) -> None:
        """Stop claiming, abandon attempts in flight, and give their rows back (due at
        once for the next worker); call before the ledger is closed."""
        await self._runner.stop()
        await self._inflight.cancel()
        if self._session is not None:
            await self._session.close()
            self._session = None
        try:
            await self.ledger.webhook_release(self.worker_id)
        except Exception:
            log.warning("webhooks: could not release claims on stop; they expire by "
                        "themselves", extra=fields("webhook_release_failed",
                                                   lease_s=self.lease_seconds))

    async def run(self) -> None:
        """Claim and deliver until cancelled; a failing ledger is retried each poll."""
        try:
            # A predecessor with this id (killed, so it never released them) left claims:
            # they are due now rather than when their lease runs out.
            released = await self.ledger.webhook_release(self.worker_id)
        except Exception:
            log.warning("webhooks: could not release a previous run's claims; they expire "
                        "within %.0fs", self.lease_seconds,
                        extra=fields("webhook_release_failed", lease_s=self.lease_seconds))
        else:
            if released:
                log.info("webhooks: %d deliveries claimed before a restart are due again",
                         released, extra=fields("webhook_claims_released", count=released))
        # Verifying, with the system's CAs (or SSL_CERT_FILE / SSL_CERT_DIR's), read now.
        verified = client_context(ca=None, cert=None, key=None, verify=True)
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=self.concurrency, ssl=verified),
            timeout=aiohttp.ClientTimeout(total=self.config.timeout),
        )
        failing = False
        while True:
            self._wake.clear()
            claimed = 0
            free = self.concurrency - len(self._inflight)
            if free > 0:
                try:
                    rows = await self.ledger.claim_webhooks(
                        self.worker_id, free, self.lease_seconds, datetime.now(UTC))
                except Exception as exc:
                    # Once per outage: a ledger that cannot be written fails every poll.
                    if not failing:
                        log.exception("webhooks: claiming from the ledger failed; retrying "
                                      "every %.1fs", self.poll_interval,
                                      extra=fields("webhook_claim_failed"))
                    else:
                        log.debug("webhooks: claiming from the ledger failed again",
                                  extra=fields("webhook_claim_failed", error=str(exc)))
                    failing = True
                    rows = []
                else:
                    if failing:
                        log.info("webhooks: claiming from the ledger works again",
                                 extra=fields("webhook_claim_recovered"))
                    failing = False
                claimed = len(rows)
                for row in rows:
                    task = asyncio.create_task(self._deliver(row), name=f"webhook-{row.id}")
                    self._inflight.add(task)
                    task.add_done_callback(self._finished)  # after the set's own discard
            await self._count_backlog()
            if claimed and claimed == free:
                continue  # maybe more due: claim again once a slot frees (wake)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.poll_interval):
                    await self._wake.wait()

    async def _count_backlog(self) -> None:
        """stopgate_webhook_backlog, at most every ``BACKLOG_EVERY`` seconds (a count over
        the outbox's open rows); a failing ledger leaves the last value."""
        now = time.monotonic()
        if now < self._backlog_due:
            return
        self._backlog_due = now + BACKLOG_EVERY
        with contextlib.suppress(Exception):
            self.metrics.webhook_backlog.set(await self.ledger.webhook_backlog())

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._wake.set()  # a free slot, and maybe a number's next event is due now

    async def _deliver(self, row: OutboxRow) -> None:
        try:
            await self._attempt(row)
        except asyncio.CancelledError:
            raise
        except Exception:  # the ledger failed closing the row: the lease expires, retried
            log.exception("webhooks: could not record the outcome of a delivery",
                          extra=fields("webhook_record_failed", account=row.account,
                                       delivery=row.id))

    async def _attempt(self, row: OutboxRow) -> None:
        account = self.accounts.get(row.account)
        if account is None or not account.webhook_url:
            await self.ledger.webhook_give_up(row.id, self.worker_id, None, datetime.now(UTC))
            self.metrics.webhook_deliveries.labels("no_url").inc()
            log.info("webhooks: the account has no webhook_url; delivery dropped",
                     extra=fields("webhook_dropped", account=row.account, delivery=row.id))
            return
        status: int | None = None
        try:
            status = await self._post(account, row)
        except aiohttp.ClientConnectorCertificateError as exc:
            error = exc.certificate_error
            failure = (f"TLS certificate refused ({failure_reason(error)}): "
                       f"{getattr(error, 'verify_message', None) or error}")
        except aiohttp.ClientSSLError as exc:
            failure = f"TLS handshake failed ({failure_reason(exc.os_error)})"
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            failure = type(exc).__name__
        else:
            failure = f"HTTP {status}"
        now = datetime.now(UTC)
        if status is not None and 200 <= status < 300:
            await self.ledger.webhook_done(row.id, status, now)
            self.metrics.webhook_deliveries.labels("delivered").inc()
            return
        age = (now - row.created).total_seconds()
        delay = backoff(row.attempts, self.config.backoff_initial, self.config.backoff_max,
                        jitter=True)
        if age + delay >= self.config.give_up_after:
            await self.ledger.webhook_give_up(row.id, self.worker_id, status, now)
            self.metrics.webhook_deliveries.labels("gave_up").inc()
            log.warning("webhooks: delivery given up", extra=fields(
                "webhook_given_up", account=row.account, delivery=row.id,
                event_id=row.event_id, attempts=row.attempts, error=failure,
                status=status, age_s=round(age)))
            return
        await self.ledger.webhook_retry(row.id, self.worker_id, status,
                                        now + timedelta(seconds=delay))
        self.metrics.webhook_deliveries.labels("retry").inc()
        log.info("webhooks: delivery failed; retrying", extra=fields(
            "webhook_retry", account=row.account, delivery=row.id, event_id=row.event_id,
            attempts=row.attempts, error=failure, status=status, retry_in_s=round(delay, 1)))

    async def _post(self, account: Account, row: OutboxRow) -> int:
        assert self._session is not None
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(account.webhook_secret, row.payload),
            EVENT_ID_HEADER: str(row.event_id),
            "User-Agent": "stopgate-webhooks",
        }
        async with self._session.post(account.webhook_url, data=row.payload, headers=headers,
                                      allow_redirects=False) as response:
            await response.read()
            return response.status
