"""The send-time stage in a pipeline (normalise, then the stage), on a real CapCounter over
the test Redis, a test clock and the in-memory carrier: quiet hours (reject, hold, no
holder), caps, released messages, transactional traffic, Redis down."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from redis.asyncio import Redis

from gateway.config.model import parse_config
from gateway.message import Message
from gateway.mt.pipeline import MtPipeline, MtResult, NormaliseStage, Transit
from gateway.mt.policy import UNKNOWN_STATE_STATUS
from gateway.observability.metrics import Metrics
from gateway.sendtime.caps import CapCounter
from gateway.sendtime.clock import TestClock
from gateway.sendtime.stage import CAP_UNKNOWN, SendTimeStage
from tests.gateway.mt.fakes import ListCarrier, ListIdMap
from tests.support.metrics import metric
from tests.support.waiting import eventually

QUIET, CAP = 0x450, 0x451
FR = "+33612345678"
FLORIDA = "+13055550123"  # area code 305: US and US-FL
NEW_YORK = "+12125550123"  # US only
PARIS_22H = datetime(2026, 6, 9, 20, 0, tzinfo=UTC)  # a Tuesday, 22:00 in Paris
PARIS_NEXT_8H = datetime(2026, 6, 10, 6, 0, tzinfo=UTC)
MIAMI_NOON = datetime(2026, 6, 9, 16, 0, tzinfo=UTC)  # 12:00 EDT
MIAMI_20_30 = datetime(2026, 6, 10, 0, 30, tzinfo=UTC)  # 20:30 EDT, Tuesday
FR_REJECT = {"region": "FR", "days": "mon-sat", "start": "08:00", "end": "20:00",
             "holidays": True, "action": "reject"}


class Holder:
    """A holder that keeps what it is given and answers OK at once (as the real one does
    after its durable write)."""

    def __init__(self) -> None:
        self.held: list[tuple[Message, datetime | None, tuple[str, ...]]] = []

    def hold(self, transit: Transit, due: datetime | None, refused_by: tuple[str, ...]) -> None:
        self.held.append((transit.message, due, refused_by))
        transit.done(MtResult(0, transit.message.id))


class Stage:
    """normalise + send-time stage on the fakes; answers in ``results``."""

    def __init__(self, redis: Redis, now: datetime, *, holder: Holder | None = None,
                 **sections: Any) -> None:
        sections.setdefault("compliance", {"packs": ["FR", "US"]})
        config = parse_config({
            "accounts": [{"system_id": name, "password": "pw", "default_region": "FR"}
                         for name in ("acme", "globex")], **sections}, env={})
        self.clock = TestClock(now)
        self.metrics = Metrics()
        self.stage = SendTimeStage(config, self.clock, CapCounter(redis), self.metrics,
                                   holder=holder)
        self.carrier = ListCarrier()
        self.results: list[MtResult] = []
        self.pipeline = MtPipeline(
            carrier=self.carrier, ids=ListIdMap(), metrics=self.metrics,
            stages=[NormaliseStage({a.system_id: a for a in config.accounts}), self.stage])


async def send(stage: Stage, to: str, **options: Any) -> MtResult | None:
    """As ``Stage.send``, telling apart a refusal from a message handed to the carrier."""
    handed = len(stage.carrier.handed)
    answered = len(stage.results)
    message = Message.from_text(options.pop("account", "acme"), source_addr="ACME",
                                destination_addr=to[1:], dest_addr_ton=1,
                                text="30% off this weekend")
    message.klass = options.pop("klass", "promotional")
    if options.pop("released", False):
        message.notes["released"] = "1"
    assert not options
    stage.pipeline.start(message, stage.results.append)
    await eventually(lambda: len(stage.carrier.handed) > handed or len(stage.results) > answered,
                     "the message settled")
    return stage.results[-1] if len(stage.results) > answered else None


async def test_transactional_passes_any_hour_and_is_never_counted(redis: Redis) -> None:
    stage = Stage(redis, PARIS_22H, quiet_hours=[FR_REJECT])
    for _ in range(5):
        assert await send(stage, FR, klass="transactional") is None
        assert await send(stage, FLORIDA, klass="transactional") is None
    assert await redis.keys("fc:*") == []


async def test_quiet_reject_answers_quiet_status_with_the_next_opening(redis: Redis) -> None:
    stage = Stage(redis, PARIS_22H, quiet_hours=[FR_REJECT])
    refused = await send(stage, FR)
    assert refused == MtResult(QUIET, reason="quiet_hours", retry_after=PARIS_NEXT_8H)
    assert metric(stage.metrics, "stopgate_mt_total", outcome="quiet",
                  **{"class": "promotional"}) == 1
    stage.clock.set(PARIS_NEXT_8H)  # the window opens: on its way
    assert await send(stage, FR) is None


@pytest.mark.parametrize(("instant", "what"), [
    (datetime(2026, 6, 7, 10, 0, tzinfo=UTC), "a Sunday, 12:00 in Paris"),
    (datetime(2026, 7, 14, 10, 0, tzinfo=UTC), "14 July, 12:00 in Paris"),
    (datetime(2026, 5, 25, 10, 0, tzinfo=UTC), "Whit Monday 2026 (Easter + 50), 12:00"),
])
async def test_sundays_and_french_public_holidays_are_outside(
        redis: Redis, instant: datetime, what: str) -> None:
    stage = Stage(redis, instant, quiet_hours=[FR_REJECT])
    refused = await send(stage, FR)
    assert refused is not None and refused.status == QUIET, what
    assert refused.retry_after is not None and refused.retry_after > instant


async def test_a_florida_number_gets_the_stricter_of_the_us_and_florida_windows(
        redis: Redis) -> None:
    # the US pack holds; as own rules with "reject", the same windows answer at once
    stage = Stage(redis, MIAMI_20_30, compliance={"packs": []}, quiet_hours=[
        {"region": "US", "start": "08:00", "end": "21:00", "action": "reject"},
        {"region": "US-FL", "start": "08:00", "end": "20:00", "action": "reject"}])
    refused = await send(stage, FLORIDA)
    assert refused is not None and refused.status == QUIET
    assert refused.retry_after == datetime(2026, 6, 10, 12, 0, tzinfo=UTC)  # 08:00 EDT
    assert await send(stage, NEW_YORK) is None  # 20:30 in New York: the US window is open


async def test_a_hold_rule_hands_the_message_to_the_holder(redis: Redis) -> None:
    holder = Holder()
    stage = Stage(redis, PARIS_22H, holder=holder)  # the FR pack: hold
    assert await send(stage, FR) == MtResult(0, stage.results[-1].message_id)
    [(message, due, refused_by)] = holder.held
    assert message.e164 == FR
    assert due == PARIS_NEXT_8H
    assert refused_by == ("FR mon-sat 08:00-20:00, not on public holidays",)
    assert stage.carrier.handed == []


async def test_a_hold_rule_without_a_holder_refuses_and_says_so_once(
        redis: Redis, caplog: pytest.LogCaptureFixture) -> None:
    stage = Stage(redis, PARIS_22H)
    with caplog.at_level(logging.WARNING, "stopgate.sendtime"):
        first = await send(stage, FR)
        second = await send(stage, FR)
    assert first == second == MtResult(QUIET, reason="quiet_hours", retry_after=PARIS_NEXT_8H)
    lines = [r for r in caplog.records if getattr(r, "event", "") == "sendtime_hold_unavailable"]
    assert len(lines) == 1


async def test_a_released_message_is_checked_again_and_counted_then(redis: Redis) -> None:
    holder = Holder()
    stage = Stage(redis, datetime(2026, 6, 10, 3, 0, tzinfo=UTC), holder=holder)  # 23:00 EDT
    assert (await send(stage, FLORIDA)) is not None  # held
    assert len(holder.held) == 1
    assert await redis.keys("fc:*") == []  # a held message counts nothing
    assert (await send(stage, FLORIDA, released=True)) is not None  # still night: held again
    assert len(holder.held) == 2
    stage.clock.set(MIAMI_NOON + timedelta(days=1))
    assert await send(stage, FLORIDA, released=True) is None  # released and counted
    [key] = await redis.keys("fc:*")
    assert key == b"fc:{acme|13055550123}:US-FL:86400000"
    assert await redis.zcard(key) == 1


async def test_the_fourth_promotional_in_24h_to_florida_is_capped_per_account(
        redis: Redis) -> None:
    stage = Stage(redis, MIAMI_NOON)
    for _ in range(3):
        assert await send(stage, FLORIDA) is None
        stage.clock.advance(timedelta(hours=1))
    assert await send(stage, FLORIDA) == MtResult(CAP, reason="frequency_cap")
    assert metric(stage.metrics, "stopgate_mt_total", outcome="capped", account="acme") == 1
    assert await send(stage, FLORIDA, klass="transactional") is None
    assert await send(stage, FLORIDA, account="globex") is None  # its own count
    assert await send(stage, NEW_YORK) is None  # no cap for New York
    # 24 h after the first one, one place is free again (a rolling window)
    stage.clock.set(MIAMI_NOON + timedelta(hours=24))
    assert await send(stage, FLORIDA) is None
    assert await send(stage, FLORIDA) == MtResult(CAP, reason="frequency_cap")


async def test_caps_fail_closed_when_redis_does_not_answer(unreachable_redis: Redis) -> None:
    stage = Stage(unreachable_redis, MIAMI_NOON)
    assert await send(stage, FLORIDA) == MtResult(UNKNOWN_STATE_STATUS, reason=CAP_UNKNOWN)
    assert await send(stage, FLORIDA, klass="transactional") is None
    assert await send(stage, NEW_YORK) is None  # no cap applies: no Redis needed
    open_stage = Stage(unreachable_redis, MIAMI_NOON, policy={"fail_closed": False})
    assert await send(open_stage, FLORIDA) is None  # let through uncounted


@pytest.fixture
async def unreachable_redis() -> Any:
    """A real client of a port nothing listens on."""
    loop = asyncio.get_running_loop()
    server = await loop.create_server(asyncio.Protocol, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    client = Redis(host="127.0.0.1", port=port, socket_connect_timeout=0.2)
    yield client
    await client.aclose()
