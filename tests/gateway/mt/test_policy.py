"""The policy stage in a pipeline, on a real SuppressionCache (the test Redis), a real
LookupBatcher and TokenCache, and the in-memory carrier: classify, block, fail closed,
footer, link tokens, REJECTD receipts after the answer."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest
from redis.asyncio import Redis

from gateway.config.model import parse_config
from gateway.message import Message
from gateway.mt.link_tokens import TokenCache
from gateway.mt.lookups import LookupBatcher
from gateway.mt.pipeline import MtPipeline, MtResult, NormaliseStage
from gateway.mt.policy import UNKNOWN_STATE_STATUS, PolicyStage
from gateway.observability.metrics import Metrics
from gateway.suppression.cache import SuppressionCache
from smpp.constants import CommandStatus
from tests.gateway.mt.fakes import ListCarrier, ListIdMap, text_message
from tests.support.metrics import metric
from tests.support.waiting import eventually

FR = "+33612345678"
ES = "+34612345678"
PROMO = "Black Friday: 30% off everything this weekend only at acme.example"
OTP = "Your verification code is 482913"
BLOCKED = 101  # policy.blocked_status's default
BASE_URL = "https://o.example/"


class PairLedger:
    """The ledger's read side over a list of (scope, number) opt-outs."""

    def __init__(self, pairs: Sequence[tuple[str, str]]) -> None:
        self.pairs = list(pairs)

    def iter_suppressed(self, batch: int = 10_000) -> Iterator[list[tuple[str, str]]]:
        for start in range(0, len(self.pairs), batch):
            yield self.pairs[start:start + batch]

    def count_suppressed(self) -> int:
        return len(self.pairs)


class Tokens:
    """The ledger's ``tokens_for``: a token per number, every call written down."""

    def __init__(self, fail: bool = False) -> None:
        self.calls: list[tuple[str, list[str], str | None]] = []
        self.fail = fail

    async def __call__(self, account: str, numbers: list[str],
                       campaign: str | None) -> dict[str, str]:
        self.calls.append((account, list(numbers), campaign))
        if self.fail:
            raise OSError("disk full")
        return {number: f"T{number[-4:]}" for number in numbers}



class Policy:
    """A pipeline of normalise + policy on the fakes, with its callbacks in order."""

    def __init__(self, cache: SuppressionCache, *, tokens: Tokens | None = None,
                 ready: Callable[[], bool] | None = None, **policy: Any) -> None:
        config = parse_config({
            "accounts": [{"system_id": "acme", "password": "pw", "default_region": "FR",
                          "numbers": ["36173"], "default_class": "auto"}],
            "optout": {"base_url": BASE_URL}, "policy": policy}, env={})
        self.metrics = Metrics()
        self.tokens = tokens or Tokens()
        self.events: list[tuple[str, Any]] = []
        self.stage = PolicyStage(config, self.metrics, LookupBatcher(cache, self.metrics),
                                 TokenCache(self.tokens), on_blocked_receipt=self._receipt,
                                 is_ready=ready)
        self.carrier = ListCarrier()
        self.pipeline = MtPipeline(
            carrier=self.carrier, ids=ListIdMap(), metrics=self.metrics,
            stages=[NormaliseStage({a.system_id: a for a in config.accounts}), self.stage],
            on_parts_refused=lambda message, ids, result: self.events.append(
                ("parts_refused", (tuple(ids), result.status))))

    async def _receipt(self, message: Message, ids: Sequence[str]) -> None:
        self.events.append(("receipt", tuple(ids)))

    def start(self, message: Message) -> None:
        self.pipeline.start(message, lambda result: self.events.append(("done", result)))

    async def settled(self, count: int = 1) -> None:
        """Until ``count`` messages were answered or handed to the carrier."""
        await eventually(lambda: sum(1 for kind, _ in self.events if kind == "done")
                         + len(self.carrier.handed) >= count, f"{count} messages settled")
        await asyncio.sleep(0)  # a receipt task's first step

    def sent_text(self, index: int = 0) -> bytes:
        return b"".join(part.short_message for part in self.carrier.handed[index].parts)

    def metric(self, name: str, **labels: str) -> float:
        return metric(self.metrics, name, **labels)


async def ready_cache(redis: Redis, opted_out: Sequence[tuple[str, str]] = ()
                      ) -> SuppressionCache:
    cache = SuppressionCache(redis)
    await cache.rebuild(PairLedger(opted_out))
    return cache


async def test_transactional_goes_on_at_once_untouched_without_a_lookup(redis: Redis) -> None:
    policy = Policy(SuppressionCache(redis))  # never built: a lookup would fail closed
    message = text_message(OTP, "0612345678")
    policy.start(message)
    assert len(policy.carrier.handed) == 1  # in the same call: no Redis, no wait
    assert (message.klass, policy.sent_text()) == ("transactional", OTP.encode())


async def test_promotional_not_opted_out_gets_the_countrys_footer(redis: Redis) -> None:
    policy = Policy(await ready_cache(redis, [("acme", "+33600000000")]))
    message = text_message(PROMO)
    policy.start(message)
    assert policy.carrier.handed == []  # waits for the lookup
    await policy.settled()
    assert message.klass == "promotional"
    assert policy.sent_text() == f"{PROMO}\nSTOP au 36173".encode()
    assert message.notes["footer"] == "STOP au 36173"
    assert policy.metric("stopgate_footers_total", country="FR") == 1
    assert policy.events == []  # the carrier has not answered


@pytest.mark.parametrize("scope", ["acme", "*"])
async def test_opted_out_is_blocked_and_the_answered_parts_get_receipts_after(
    redis: Redis, scope: str,
) -> None:
    policy = Policy(await ready_cache(redis, [(scope, FR)]))
    message = text_message(PROMO, parts=3)
    policy.start(message)
    await policy.settled()
    assert policy.carrier.handed == []
    assert policy.events == [("done", MtResult(BLOCKED, reason="blocked")),
                             ("receipt", ("p1", "p2"))]
    assert policy.metric("stopgate_mt_total", account="acme", outcome="blocked",
                         **{"class": "promotional"}) == 1


async def test_blocked_in_dlr_mode_is_accepted_and_every_id_gets_a_receipt(
    redis: Redis,
) -> None:
    policy = Policy(await ready_cache(redis, [("acme", FR)]), on_blocked="dlr")
    message = text_message(PROMO, parts=2)
    policy.start(message)
    await policy.settled()
    assert policy.events == [
        ("done", MtResult(CommandStatus.ESME_ROK, message.id, 0, reason="blocked")),
        ("receipt", ("p1", message.id))]


async def test_an_http_message_blocked_in_dlr_mode_is_still_refused(redis: Redis) -> None:
    policy = Policy(await ready_cache(redis, [("acme", FR)]), on_blocked="dlr")
    policy.start(text_message(PROMO, via="http"))
    await policy.settled()
    assert policy.events == [("done", MtResult(BLOCKED, reason="blocked"))]


async def test_unknown_state_refuses_promotional_at_once_transactional_goes(
    redis: Redis,
) -> None:
    policy = Policy(await ready_cache(redis), ready=lambda: False)
    policy.start(text_message(PROMO, parts=2))
    # Decided in the same call: the cache is known not to be ready.
    assert policy.events == [
        ("done", MtResult(UNKNOWN_STATE_STATUS, reason="suppression_unknown")),
        ("parts_refused", (("p1",), UNKNOWN_STATE_STATUS))]
    policy.start(text_message(OTP))
    assert len(policy.carrier.handed) == 1


async def test_a_refusal_while_not_ready_is_logged_with_the_cause_given(
    redis: Redis, caplog: pytest.LogCaptureFixture,
) -> None:
    """The ledger unwritable is not "the cache is being rebuilt": the log says which."""
    caplog.set_level(logging.WARNING, logger="stopgate.policy")
    policy = Policy(await ready_cache(redis), ready=lambda: False)
    policy.stage.unready_reason = lambda: "the ledger cannot record opt-outs (unreachable)"
    policy.start(text_message(PROMO))
    assert policy.events == [
        ("done", MtResult(UNKNOWN_STATE_STATUS, reason="suppression_unknown"))]
    [record] = [r for r in caplog.records if getattr(r, "event", None) == "promotional_refused"]
    assert record.fields["error"] == "the ledger cannot record opt-outs (unreachable)"


async def test_a_cache_not_built_fails_closed_and_wakes_the_keeper(redis: Redis) -> None:
    cache = SuppressionCache(redis)
    policy = Policy(cache)
    policy.start(text_message(PROMO))
    await policy.settled()
    assert policy.events == [("done", MtResult(UNKNOWN_STATE_STATUS,
                                               reason="suppression_unknown"))]
    assert cache.trouble.is_set()


async def test_fail_open_lets_promotional_through_with_its_footer(redis: Redis) -> None:
    policy = Policy(SuppressionCache(redis), fail_closed=False)
    policy.start(text_message(PROMO))
    await policy.settled()
    assert policy.sent_text() == f"{PROMO}\nSTOP au 36173".encode()


async def test_a_link_footer_waits_for_the_token_one_ledger_call_per_group(
    redis: Redis,
) -> None:
    policy = Policy(await ready_cache(redis))
    first, second = text_message(PROMO, ES), text_message(PROMO, ES)
    policy.start(first)
    policy.start(second)
    await policy.settled(2)
    assert policy.tokens.calls == [("acme", [ES], None)]  # both waited on one row
    footer = f"Baja: {BASE_URL}T5678"
    assert [policy.sent_text(0), policy.sent_text(1)] == [f"{PROMO}\n{footer}".encode()] * 2
    policy.start(text_message(PROMO, ES))  # remembered: no ledger call
    await policy.settled(3)
    assert len(policy.tokens.calls) == 1 and policy.sent_text(2) == policy.sent_text(0)


async def test_no_token_from_the_ledger_is_a_system_error(redis: Redis) -> None:
    policy = Policy(await ready_cache(redis), tokens=Tokens(fail=True))
    policy.start(text_message(PROMO, ES))
    await policy.settled()
    assert policy.events == [("done", MtResult(CommandStatus.ESME_RSYSERR, reason="internal"))]
    assert policy.carrier.handed == []


async def test_a_footer_that_does_not_fit_is_refused(redis: Redis) -> None:
    policy = Policy(await ready_cache(redis))
    full = PROMO + " " + "a" * (255 * 153 - len(PROMO) - 1)  # 255 parts: no room left
    policy.start(text_message(full))
    await policy.settled()
    assert policy.events == [("done", MtResult(CommandStatus.ESME_RINVMSGLEN,
                                               reason="footer_too_long"))]
