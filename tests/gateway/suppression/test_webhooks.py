"""Webhook delivery against a real aiohttp receiver on loopback, over a real SQLite ledger."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp import web

from gateway.config.model import Account, Webhook
from gateway.ledger.model import OptEvent
from gateway.ledger.sqlite import SqliteLedger
from gateway.ledger.threaded import AsyncLedger
from gateway.lifecycle import backoff
from gateway.observability.metrics import Metrics
from gateway.suppression.store import Suppressions
from gateway.suppression.webhooks import SIGNATURE_HEADER, WebhookWorker, sign
from tests.support.tls import Pki
from tests.support.waiting import eventually

ALICE = "+33612345678"
BOB = "+33698765432"
SECRET = "acme-hmac-secret"
FAST = Webhook(timeout=0.5, backoff_initial=0.01, backoff_max=0.05, give_up_after=3600)
PAYLOAD_TYPES = {"timestamp": str, "unsubscribed_number": str, "source": str, "event": str,
                 "account": str, "campaign": (str, type(None)), "keyword": (str, type(None)),
                 "reason": (str, type(None)), "number_called": (str, type(None))}


@dataclass
class Hit:
    body: bytes
    signature: str
    event_id: str
    status: int  # what the receiver answered (0: no answer)


@dataclass
class Receiver:
    """A webhook endpoint: answers from ``script`` (500, "timeout", "reset"), then ``then``."""

    script: list[int | str] = field(default_factory=list)
    then: int = 204
    delay: float = 0.0
    hits: list[Hit] = field(default_factory=list)
    url: str = ""

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        action: int | str = self.script.pop(0) if self.script else self.then
        hit = Hit(body, request.headers.get(SIGNATURE_HEADER, ""),
                  request.headers.get("X-Stopgate-Event-Id", ""), 0)
        self.hits.append(hit)
        if self.delay:
            await asyncio.sleep(self.delay)
        if action == "timeout":
            await asyncio.sleep(5)  # longer than the worker's timeout
        if action == "reset":
            assert request.transport is not None
            request.transport.abort()
            return web.Response(status=204)
        assert isinstance(action, int)
        hit.status = action
        return web.Response(status=action)

    def delivered(self) -> list[Hit]:
        return [hit for hit in self.hits if 200 <= hit.status < 300]


@contextlib.asynccontextmanager
async def serving(target: Receiver, tls: ssl.SSLContext | None = None) -> AsyncIterator[Receiver]:
    """``target`` as a webhook endpoint on loopback (over HTTPS with ``tls``)."""
    app = web.Application()
    app.router.add_post("/hook", target.handle)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=tls)
    await site.start()
    server = getattr(site, "_server", None)
    assert server is not None
    port = server.sockets[0].getsockname()[1]
    target.url = f"{'https' if tls else 'http'}://127.0.0.1:{port}/hook"
    try:
        yield target
    finally:
        await runner.cleanup()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with serving(Receiver()) as target:
        yield target


def accounts(receiver: Receiver) -> list[Account]:
    return [
        Account(system_id="acme", password="p", webhook_url=receiver.url,
                webhook_secret=SECRET),
        Account(system_id="globex", password="p", webhook_url=receiver.url,
                webhook_secret="globex-secret"),
        Account(system_id="initech", password="p"),  # no webhook_url
    ]


@dataclass
class Instance:
    """One gateway's share of the work: its ledger connection and webhook worker."""

    ledger: AsyncLedger
    worker: WebhookWorker
    metrics: Metrics
    stopped: bool = False

    async def stop(self) -> None:
        """Like a gateway stopping: the worker, then the ledger."""
        if not self.stopped:
            self.stopped = True
            await self.worker.stop()
            await self.ledger.aclose()

    def count(self, outcome: str) -> float:
        value = self.metrics.registry.get_sample_value("stopgate_webhook_deliveries_total",
                                                       {"outcome": outcome})
        return value or 0.0


@pytest.fixture
async def instances(tmp_path: Path) -> AsyncIterator[Callable[..., Awaitable[Instance]]]:
    """Start instances on one ledger file; all are stopped (worker, then ledger) at the end."""
    async with AsyncExitStack() as stack:

        async def start(receiver: Receiver, config: Webhook = FAST) -> Instance:
            ledger = AsyncLedger(SqliteLedger(tmp_path / "ledger.sqlite3"))
            metrics = Metrics()
            worker = WebhookWorker(ledger, accounts(receiver), config, metrics,
                                   poll_interval=0.05)
            instance = Instance(ledger, worker, metrics)
            stack.push_async_callback(instance.stop)
            worker.start()
            return instance

        yield start


def event(number: str, kind: str = "optout", scope: str = "acme", **fields: object) -> OptEvent:
    return OptEvent(number=number, scope=scope, event=kind, source="keyword",  # type: ignore[arg-type]
                    **fields)  # type: ignore[arg-type]


def verify(hit: Hit, secret: str = SECRET) -> dict[str, object]:
    expected = "sha256=" + hmac.new(secret.encode(), hit.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(hit.signature, expected)
    payload: dict[str, object] = json.loads(hit.body)
    return payload


async def test_failing_deliveries_are_retried_until_one_2xx_in_order_per_number(
        receiver: Receiver, instances: Callable[..., Awaitable[Instance]]) -> None:
    receiver.script = [500, "timeout", "reset"]
    gw = await instances(receiver)
    await gw.ledger.record([event(ALICE, keyword="STOP", campaign="black-friday",
                                  number_called="36173")])
    await gw.ledger.record([event(ALICE, "optin", keyword="START")])
    gw.worker.wake()
    await eventually(lambda: len(receiver.delivered()) == 2, "both events delivered")
    await eventually(lambda: gw.count("delivered") == 2, "delivered counted")
    first, second = (verify(hit) for hit in receiver.delivered())
    assert (first["event"], second["event"]) == ("optout", "optin")
    # The three failures all hit the opt-out: the opt-in waited behind it.
    assert [json.loads(hit.body)["event"] for hit in receiver.hits] == ["optout"] * 4 + ["optin"]
    assert first == {"timestamp": first["timestamp"], "unsubscribed_number": ALICE,
                     "source": "keyword", "event": "optout", "account": "acme",
                     "campaign": "black-friday", "keyword": "STOP", "reason": None,
                     "number_called": "36173"}
    for payload in (first, second):
        assert payload.keys() == PAYLOAD_TYPES.keys()
        assert all(isinstance(payload[key], kind) for key, kind in PAYLOAD_TYPES.items())
        assert str(payload["timestamp"]).endswith("Z")
    assert gw.count("retry") == 3 and gw.count("gave_up") == 0
    assert await gw.ledger.webhook_backlog() == 0


async def test_suppressions_announce_state_changes_to_the_accounts_in_scope(
        receiver: Receiver, instances: Callable[..., Awaitable[Instance]]) -> None:
    gw = await instances(receiver)
    webhook_accounts = [a.system_id for a in accounts(receiver) if a.webhook_url]
    suppressions = Suppressions(gw.ledger, None, gw.metrics, webhook_accounts=webhook_accounts,
                                on_recorded=gw.worker.wake)
    await suppressions.optout("acme", ALICE, source="api")
    await suppressions.optout("acme", ALICE, source="api")  # a repeat: announced once
    await suppressions.optout("initech", ALICE, source="api")  # no webhook_url: nothing
    await suppressions.optout("*", BOB, source="keyword", keyword="STOPALL")
    await eventually(lambda: len(receiver.delivered()) == 3, "three deliveries")
    got = sorted((str(payload["account"]), str(payload["unsubscribed_number"]))
                 for payload in (json.loads(hit.body) for hit in receiver.delivered()))
    assert got == [("acme", ALICE), ("acme", BOB), ("globex", BOB)]
    globex = next(hit for hit in receiver.delivered() if b'"globex"' in hit.body)
    verify(globex, "globex-secret")
    await asyncio.sleep(0.2)  # nothing else was queued
    assert len(receiver.hits) == 3 and await gw.ledger.webhook_backlog() == 0


async def test_a_restart_in_the_middle_of_retries_loses_nothing(
        receiver: Receiver, instances: Callable[..., Awaitable[Instance]]) -> None:
    receiver.then = 503
    first = await instances(receiver)
    await first.ledger.record([event(ALICE)])
    first.worker.wake()
    await eventually(lambda: first.count("retry") >= 2, "retrying")
    await first.stop()
    receiver.then = 204
    second = await instances(receiver)  # a new process: new SqliteLedger on the same file
    await eventually(lambda: len(receiver.delivered()) == 1, "delivered after the restart")
    assert verify(receiver.delivered()[0])["unsubscribed_number"] == ALICE
    await eventually(lambda: second.count("delivered") == 1, "counted")
    assert await second.ledger.webhook_backlog() == 0


async def test_two_instances_on_one_ledger_never_send_an_event_twice(
        receiver: Receiver, instances: Callable[..., Awaitable[Instance]]) -> None:
    receiver.delay = 0.05
    one = await instances(receiver)
    two = await instances(receiver)
    numbers = [f"+336000000{i:02d}" for i in range(40)]
    await one.ledger.record([event(number) for number in numbers])
    one.worker.wake()
    two.worker.wake()
    await eventually(lambda: len(receiver.delivered()) >= 40, "all delivered")
    await eventually(lambda: one.count("delivered") + two.count("delivered") == 40, "counted")
    ids = [hit.event_id for hit in receiver.hits]
    assert len(ids) == len(set(ids)) == 40
    assert one.count("delivered") > 0 and two.count("delivered") > 0  # both took a share


async def test_a_delivery_is_given_up_after_its_age_and_unblocks_the_number(
        receiver: Receiver, instances: Callable[..., Awaitable[Instance]]) -> None:
    receiver.then = 500
    gw = await instances(receiver, Webhook(timeout=0.5, backoff_initial=0.01,
                                           backoff_max=0.05, give_up_after=0.001))
    await gw.ledger.record([event(ALICE)])
    await eventually(lambda: gw.count("gave_up") == 1, "given up")
    assert await gw.ledger.webhook_backlog() == 0
    receiver.then = 204
    await gw.ledger.record([event(ALICE, "optin")])
    await eventually(lambda: len(receiver.delivered()) == 1, "the next event still goes")
    assert len(receiver.hits) == 2 and gw.count("retry") == 0


async def test_an_account_without_webhook_url_is_counted_not_sent(
        receiver: Receiver, instances: Callable[..., Awaitable[Instance]]) -> None:
    gw = await instances(receiver)
    await gw.ledger.record([event(ALICE, scope="initech"), event(BOB, scope="gone")])
    await eventually(lambda: gw.count("no_url") == 2, "both dropped")
    assert receiver.hits == [] and await gw.ledger.webhook_backlog() == 0


def test_backoff_doubles_to_the_cap_with_full_jitter() -> None:
    # The delay webhooks.py waits after ``attempts`` failed deliveries (row.attempts).
    for attempts, ceiling in ((1, 5), (2, 10), (3, 20), (10, 60), (500, 60)):
        delays = [backoff(attempts, 5, 60, jitter=True) for _ in range(200)]
        assert all(0 <= d <= ceiling for d in delays)
        assert max(delays) > ceiling / 2


def test_signature_is_hmac_sha256_of_the_exact_body() -> None:
    body = b'{"event":"optout"}'
    assert sign("k", body) == "sha256=" + hmac.new(b"k", body, hashlib.sha256).hexdigest()


async def test_an_https_endpoint_is_delivered_only_when_its_certificate_is_trusted(
        tmp_path: Path, instances: Callable[..., Awaitable[Instance]],
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """The receiver's certificate is verified against the system's CAs, which
    SSL_CERT_FILE replaces here (as an operator would for a private CA)."""
    caplog.set_level(logging.INFO, logger="stopgate.webhooks")
    pki = Pki(tmp_path / "pki")
    monkeypatch.setenv("SSL_CERT_FILE", str(pki.ca_file))
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    impostor = pki.issue("impostor", "127.0.0.1", "localhost", ca=pki.other_ca)
    async with serving(Receiver(), pki.server_context(impostor)) as untrusted:
        gw = await instances(untrusted)
        await gw.ledger.record([event(ALICE, keyword="STOP")])
        gw.worker.wake()
        await eventually(lambda: gw.count("retry") >= 2, "failed attempts retried")
        assert untrusted.hits == [] and gw.count("delivered") == 0  # never sent to it
        retries = [r for r in caplog.records if getattr(r, "event", None) == "webhook_retry"]
        error = retries[0].fields["error"]  # type: ignore[attr-defined]
        assert error.startswith("TLS certificate refused (unknown_ca): "), error
        assert "unable to get local issuer certificate" in error
        assert untrusted.url not in caplog.text  # the URL is never logged
        await gw.stop()
    async with serving(Receiver(), pki.server_context()) as trusted:
        gw = await instances(trusted)  # the same ledger: the retried event is delivered
        gw.worker.wake()
        await eventually(lambda: len(trusted.delivered()) == 1, "delivered over HTTPS")
        assert verify(trusted.delivered()[0])["unsubscribed_number"] == ALICE
        # counted once the receiver has answered, a moment after it recorded the request
        await eventually(lambda: gw.count("delivered") == 1, "delivered counted")
        await gw.stop()  # before the endpoint, as above


async def test_without_the_private_ca_an_https_endpoint_is_refused(
        tmp_path: Path, instances: Callable[..., Awaitable[Instance]],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Verification is on by default: the system's CAs do not know the test CA."""
    pki = Pki(tmp_path / "pki")
    monkeypatch.setenv("SSL_CERT_FILE", str(pki.other_ca_file))
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    async with serving(Receiver(), pki.server_context()) as endpoint:
        gw = await instances(endpoint)
        await gw.ledger.record([event(ALICE, keyword="STOP")])
        gw.worker.wake()
        await eventually(lambda: gw.count("retry") >= 1, "the attempt failed")
        assert endpoint.hits == [] and gw.count("delivered") == 0
        # Stopped before the endpoint: its server waits for every connection to close,
        # and a client that refused the certificate may hold its socket until then.
        await gw.stop()
