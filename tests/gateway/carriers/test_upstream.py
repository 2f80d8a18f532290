"""The carrier link pool against a real SMPP peer on loopback (a small SMSC built from SmppLink)."""

from __future__ import annotations

import asyncio
import itertools
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
import pytest_asyncio

from gateway.carriers.pool import (
    CarrierRejected,
    NoRoute,
    QueueFull,
    Sent,
    Throttled,
    UpstreamPool,
)
from gateway.config.model import Config, Smpp, Upstream
from gateway.observability.metrics import Metrics
from gateway.smpp_link import LinkHandler, LinkOptions, SmppLink
from smpp.constants import CommandId, CommandStatus, Tag
from smpp.pdu import DataSm, DeliverSm, Pdu, SubmitSm, SubmitSmResp
from smpp.session import Role
from tests.support.metrics import metric
from tests.support.waiting import eventually

FR = "+33612345678"
WAIT = 5.0  # upper bound on any single wait; tests finish far sooner


class Smsc(LinkHandler):
    """A minimal SMSC: accepts 'stopgate'/'secret', answers submit_sm with 'id-<text>'.

    ``status_for`` picks each answer's status (None: never answer); ``hold`` keeps
    answers back until ``release``; ``latency`` delays them.
    """

    def __init__(self, *, refuse_binds: int = 0, latency: float = 0.0,
                 status_for: Callable[[SubmitSm], int | None] | None = None) -> None:
        self.refuse_binds = refuse_binds
        self.latency = latency
        self.status_for = status_for or (lambda pdu: 0)
        self.hold = False
        self.held: list[tuple[SmppLink, SubmitSm]] = []
        self.links: list[SmppLink] = []
        self.bind_attempts = 0
        self.binds: list[str] = []
        self.unbinds = 0
        self.received: list[tuple[SmppLink, SubmitSm, float]] = []
        self.outstanding: dict[SmppLink, int] = {}
        self.max_outstanding = 0
        self.port = 0
        self._server: asyncio.Server | None = None

    async def start(self) -> Smsc:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: SmppLink(Role.SMSC, self, LinkOptions(enquire_link_interval=None)),
            "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        self.drop()
        await self._server.wait_closed()

    def drop(self) -> None:
        """Break every connection, as a network failure would."""
        for link in list(self.links):
            link.abort()
        self.held.clear()

    def on_bind_request(self, link: SmppLink, pdu: Pdu) -> None:
        self.bind_attempts += 1
        if self.refuse_binds > 0 or getattr(pdu, "password", "") != "secret":
            self.refuse_binds -= 1
            link.reject_bind(pdu, CommandStatus.ESME_RBINDFAIL)
            return
        link.accept_bind(pdu, "smsc")
        self.binds.append(CommandId(pdu.command_id).name.removeprefix("bind_"))
        self.links.append(link)
        self.outstanding[link] = 0

    def on_pdu(self, link: SmppLink, pdu: Pdu) -> None:
        assert isinstance(pdu, SubmitSm)
        self.received.append((link, pdu, time.monotonic()))
        self.outstanding[link] += 1
        self.max_outstanding = max(self.max_outstanding, self.outstanding[link])
        if self.hold:
            self.held.append((link, pdu))
        elif self.latency:
            asyncio.get_running_loop().call_later(self.latency, self.answer, link, pdu)
        else:
            self.answer(link, pdu)

    def answer(self, link: SmppLink, pdu: SubmitSm) -> None:
        status = self.status_for(pdu)
        if status is None:
            return
        self.outstanding[link] -= 1
        message_id = "id-" + pdu.short_message.decode() if status == 0 else ""
        link.respond(pdu, SubmitSmResp(message_id=message_id, command_status=status))

    def release(self) -> None:
        self.hold = False
        held, self.held = self.held, []
        for link, pdu in held:
            self.answer(link, pdu)

    def on_unbound(self, link: SmppLink) -> None:
        self.unbinds += 1

    def on_closed(self, link: SmppLink, unanswered: tuple[Pdu, ...]) -> None:
        if link in self.links:
            self.links.remove(link)

    def texts(self) -> list[str]:
        return [pdu.short_message.decode() for _, pdu, _ in self.received]


def message(text: str, count: int = 1, destination: str = "33612345678") -> list[SubmitSm]:
    """Parts whose text the stub SMSC turns into the id: 'id-<text>/<index>'."""
    return [SubmitSm(destination_addr=destination, short_message=f"{text}/{i}".encode())
            for i in range(count)]


def ids(text: str, count: int = 1) -> list[str]:
    return [f"id-{text}/{i}" for i in range(count)]


def upstream(port: int, name: str = "a", **options: Any) -> Upstream:
    return Upstream(name=name, host="127.0.0.1", port=port, system_id="stopgate",
                    password="secret", **options)


def config(*upstreams: Upstream, **smpp: Any) -> Config:
    fast = {"response_timeout": 1.0, "bind_timeout": 1.0, "reconnect_delay": 0.02,
            "reconnect_delay_max": 0.1, "enquire_link_interval": 30.0}
    return Config(upstreams=upstreams, smpp=Smpp(**(fast | smpp)))


async def accept(pdu: DeliverSm, upstream: str) -> int:
    return 0


@asynccontextmanager
async def running(cfg: Config, on_deliver_sm: Callable[[DeliverSm, str], Awaitable[int]] = accept,
                  *, bound: bool = True) -> AsyncIterator[tuple[UpstreamPool, Metrics]]:
    metrics = Metrics()
    pool = UpstreamPool(cfg, metrics, on_deliver_sm=on_deliver_sm)
    await pool.start()
    try:
        if bound:
            expected = sum(u.sessions * len(u.bind) for u in cfg.upstreams)
            await eventually(lambda: pool.bound_sessions() == expected)
        yield pool, metrics
    finally:
        await asyncio.wait_for(pool.stop(1.0), WAIT)


@pytest_asyncio.fixture(loop_scope="function")  # the test's loop, not the session's
async def smsc() -> AsyncIterator[Smsc]:
    server = await Smsc().start()
    yield server
    await server.stop()


async def submit(pool: UpstreamPool, parts: list[SubmitSm], e164: str = FR,
                 country: str = "FR") -> Sent:
    return await asyncio.wait_for(pool.submit(parts, e164=e164, country=country), WAIT)


# --- binding and submitting ----------------------------------------------------------------


async def test_binds_and_returns_the_carrier_ids_in_part_order(smsc: Smsc) -> None:
    async with running(config(upstream(smsc.port))) as (pool, metrics):
        assert pool.ready
        assert pool.status() == {"a": {"bound": 1, "connecting": 0, "down": 0, "transmitting": 1}}
        assert metric(metrics, "stopgate_upstream_sessions", upstream="a", state="bound") == 1
        sent = await submit(pool, message("hello", 3))
        assert sent == Sent("a", ids("hello", 3))
        results = await asyncio.gather(*(submit(pool, message(f"m{i}")) for i in range(20)))
        assert [r.carrier_ids for r in results] == [ids(f"m{i}") for i in range(20)]
    assert smsc.binds == ["transceiver"]


async def test_every_part_of_a_message_goes_over_one_session_in_order(smsc: Smsc) -> None:
    async with running(config(upstream(smsc.port, sessions=3))) as (pool, _):
        results = await asyncio.gather(*(submit(pool, message(f"m{i}", 4)) for i in range(12)))
    assert [r.carrier_ids for r in results] == [ids(f"m{i}", 4) for i in range(12)]
    assert len({link for link, _, _ in smsc.received}) == 3  # the load was spread
    for i in range(12):
        seen = [(link, pdu.short_message) for link, pdu, _ in smsc.received
                if pdu.short_message.startswith(f"m{i}/".encode())]
        assert len({link for link, _ in seen}) == 1
        assert [text for _, text in seen] == [f"m{i}/{k}".encode() for k in range(4)]


async def test_never_more_than_window_submits_await_a_response_at_the_carrier() -> None:
    smsc = await Smsc(latency=0.01).start()
    try:
        async with running(config(upstream(smsc.port, sessions=2, window=3))) as (pool, _):
            results = await asyncio.gather(*(submit(pool, message(f"m{i}")) for i in range(40)))
        assert [r.carrier_ids for r in results] == [ids(f"m{i}") for i in range(40)]
        assert smsc.max_outstanding == 3
    finally:
        await smsc.stop()


async def test_the_tps_limit_holds_across_sessions(smsc: Smsc) -> None:
    async with running(config(upstream(smsc.port, sessions=2, tps=100))) as (pool, _):
        results = await asyncio.gather(*(submit(pool, message(f"m{i}")) for i in range(60)))
    assert len(results) == 60
    stamps = sorted(t for _, _, t in smsc.received)
    # At 100/s with a 5-token burst, any 0.2 s sees at most 20 + 5 (+1 for socket jitter).
    assert max(sum(1 for t in stamps if start <= t < start + 0.2) for start in stamps) <= 26


async def test_a_refused_bind_is_retried_with_backoff_and_counted() -> None:
    smsc = await Smsc(refuse_binds=2).start()
    try:
        async with running(config(upstream(smsc.port))) as (pool, metrics):
            assert await submit(pool, message("x")) == Sent("a", ids("x"))
            assert metric(metrics, "stopgate_upstream_events_total",
                          upstream="a", event="bind_failed") == 2
        assert smsc.bind_attempts == 3
    finally:
        await smsc.stop()


# --- failures and retries --------------------------------------------------------------------


async def test_parts_unanswered_when_the_link_drops_are_sent_again_after_the_rebind(
    smsc: Smsc,
) -> None:
    async with running(config(upstream(smsc.port, window=10))) as (pool, metrics):
        smsc.hold = True
        pending = [asyncio.ensure_future(submit(pool, message(f"m{i}", 1 + i % 3)))
                   for i in range(5)]
        await eventually(lambda: len(smsc.received) == 1 + 2 + 3 + 1 + 2)
        smsc.drop()  # the held answers never leave
        smsc.hold = False
        results = await asyncio.gather(*pending)
        assert [r.carrier_ids for r in results] == [ids(f"m{i}", 1 + i % 3) for i in range(5)]
        assert metric(metrics, "stopgate_upstream_events_total",
                      upstream="a", event="link_lost") == 1
    # Every part went twice: once into the dropped window, once after the rebind.
    assert sorted(smsc.texts()) == sorted(
        f"m{i}/{k}" for i in range(5) for k in range(1 + i % 3) for _ in range(2))


async def test_a_throttling_carrier_delays_messages_but_never_fails_them() -> None:
    started: list[float] = []

    def throttle_first_quarter_second(pdu: SubmitSm) -> int:
        now = time.monotonic()
        started.append(now)
        return CommandStatus.ESME_RTHROTTLED if now - started[0] < 0.25 else 0

    smsc = await Smsc(status_for=throttle_first_quarter_second).start()
    try:
        cfg = config(upstream(smsc.port, sessions=2, window=5), response_timeout=2.0)
        async with running(cfg) as (pool, metrics):
            results = await asyncio.gather(*(submit(pool, message(f"m{i}", 2)) for i in range(15)))
            assert [r.carrier_ids for r in results] == [ids(f"m{i}", 2) for i in range(15)]
            assert metric(metrics, "stopgate_upstream_events_total",
                          upstream="a", event="throttled") >= 10
    finally:
        await smsc.stop()


async def test_a_carrier_that_keeps_throttling_fails_the_message_after_the_deadline() -> None:
    smsc = await Smsc(status_for=lambda pdu: CommandStatus.ESME_RTHROTTLED).start()
    try:
        async with running(config(upstream(smsc.port), response_timeout=0.2)) as (pool, metrics):
            with pytest.raises(Throttled) as caught:
                await submit(pool, message("x"))
            assert caught.value.status == CommandStatus.ESME_RTHROTTLED
            assert metric(metrics, "stopgate_throttled_total", reason="carrier_deadline") == 1
        assert len(smsc.received) > 1  # it was tried again before giving up
    finally:
        await smsc.stop()


async def test_an_unanswered_part_is_sent_again_after_the_response_timeout() -> None:
    answered = itertools.count()
    smsc = await Smsc(status_for=lambda pdu: None if next(answered) == 0 else 0).start()
    try:
        async with running(config(upstream(smsc.port), response_timeout=0.2)) as (pool, metrics):
            assert await submit(pool, message("x")) == Sent("a", ids("x"))
            assert metric(metrics, "stopgate_upstream_events_total",
                          upstream="a", event="timeout") == 1
        assert smsc.texts() == ["x/0", "x/0"]
    finally:
        await smsc.stop()


async def test_a_carrier_error_status_fails_the_whole_message_with_that_status() -> None:
    def refuse_part_one(pdu: SubmitSm) -> int:
        return CommandStatus.ESME_RINVDSTADR if pdu.short_message.endswith(b"/1") else 0

    smsc = await Smsc(status_for=refuse_part_one).start()
    try:
        async with running(config(upstream(smsc.port))) as (pool, _):
            with pytest.raises(CarrierRejected) as caught:
                await submit(pool, message("x", 3))
            assert caught.value.status == CommandStatus.ESME_RINVDSTADR
            assert await submit(pool, message("y")) == Sent("a", ids("y"))
    finally:
        await smsc.stop()


async def test_without_a_bound_session_submit_fails_at_once_with_throttled() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with running(config(upstream(port)), bound=False) as (pool, metrics):
        assert not pool.ready
        with pytest.raises(Throttled) as caught:
            pool.submit_nowait(message("x"), e164=FR, country="FR")  # raises, no waiting
        assert caught.value.status == CommandStatus.ESME_RTHROTTLED
        assert metric(metrics, "stopgate_throttled_total", reason="no_upstream") == 1
        await eventually(lambda: metric(metrics, "stopgate_upstream_events_total",
                                   upstream="a", event="connect_failed") >= 2)


async def test_a_full_queue_fails_the_next_message_at_once(smsc: Smsc) -> None:
    cfg = config(upstream(smsc.port, window=1), submit_queue_max=3)
    async with running(cfg) as (pool, metrics):
        smsc.hold = True
        first = pool.submit_nowait(message("a"), e164=FR, country="FR")  # in the window
        queued = [pool.submit_nowait(message("b"), e164=FR, country="FR"),
                  pool.submit_nowait(message("c", 2), e164=FR, country="FR")]  # 3 parts wait
        with pytest.raises(QueueFull) as caught:
            pool.submit_nowait(message("d"), e164=FR, country="FR")
        assert caught.value.status == CommandStatus.ESME_RMSGQFUL
        assert metric(metrics, "stopgate_throttled_total", reason="queue_full") == 1
        await eventually(lambda: smsc.held)
        smsc.release()
        results = await asyncio.wait_for(asyncio.gather(first, *queued), WAIT)
        assert [r.carrier_ids for r in results] == [ids("a"), ids("b"), ids("c", 2)]


# --- routing -------------------------------------------------------------------------------


async def test_messages_follow_the_most_specific_route() -> None:
    france, uk_mobile, default = [await Smsc().start() for _ in range(3)]
    cfg = config(upstream(france.port, "fr", routes=("FR",)),
                 upstream(uk_mobile.port, "uk", routes=("+447",)),
                 upstream(default.port, "any", routes=("*",)))
    try:
        async with running(cfg) as (pool, _):
            assert (await submit(pool, message("f"), FR, "FR")).upstream == "fr"
            assert (await submit(pool, message("u"), "+447400900123", "GB")).upstream == "uk"
            assert (await submit(pool, message("g"), "+442079460000", "GB")).upstream == "any"
            assert (await submit(pool, message("d"), "+4915112345678", "DE")).upstream == "any"
        assert france.texts() == ["f/0"]
        assert uk_mobile.texts() == ["u/0"]
        assert default.texts() == ["g/0", "d/0"]
    finally:
        for server in (france, uk_mobile, default):
            await server.stop()


async def test_a_message_fails_over_to_the_next_route_when_the_best_has_no_session() -> None:
    primary, backup = [await Smsc().start() for _ in range(2)]
    cfg = config(upstream(primary.port, "primary", routes=("+33",)),
                 upstream(backup.port, "backup", routes=("FR",)))
    try:
        async with running(cfg) as (pool, _):
            await primary.stop()  # stops listening and drops the link
            await eventually(lambda: pool.bound_sessions("primary") == 0)
            assert (await submit(pool, message("x"))).upstream == "backup"
    finally:
        await backup.stop()


async def test_a_destination_no_upstream_routes_is_refused_with_invalid_destination(
    smsc: Smsc,
) -> None:
    async with running(config(upstream(smsc.port, routes=("FR", "+32")))) as (pool, _):
        with pytest.raises(NoRoute) as caught:
            pool.submit_nowait(message("x"), e164="+4915112345678", country="DE")
        assert caught.value.status == CommandStatus.ESME_RINVDSTADR


# --- from the carrier ----------------------------------------------------------------------


async def test_deliver_sm_is_answered_with_the_callback_status_after_it_returns(
    smsc: Smsc,
) -> None:
    gate = asyncio.Event()
    seen: list[tuple[str, str]] = []

    async def on_deliver_sm(pdu: DeliverSm, upstream: str) -> int:
        seen.append((pdu.source_addr, upstream))
        await gate.wait()
        return CommandStatus.ESME_RX_R_APPN

    async with running(config(upstream(smsc.port)), on_deliver_sm):
        answer = smsc.links[0].send(DeliverSm(source_addr="33612345678", short_message=b"STOP"))
        await eventually(lambda: seen)
        await asyncio.sleep(0.05)
        assert not answer.done()  # not acknowledged while the callback is still working
        gate.set()
        response = await asyncio.wait_for(answer, WAIT)
        assert response.command_status == CommandStatus.ESME_RX_R_APPN
        assert seen == [("33612345678", "a")]


async def test_a_failing_callback_asks_the_carrier_to_deliver_again(smsc: Smsc) -> None:
    async def broken(pdu: DeliverSm, upstream: str) -> int:
        raise RuntimeError("ledger unavailable")

    async with running(config(upstream(smsc.port)), broken):
        response = await asyncio.wait_for(smsc.links[0].send(DeliverSm(source_addr="1")), WAIT)
        assert response.command_status == CommandStatus.ESME_RX_T_APPN


async def test_data_sm_reaches_the_callback_as_a_deliver_sm(smsc: Smsc) -> None:
    seen: list[DeliverSm] = []

    async def on_deliver_sm(pdu: DeliverSm, upstream: str) -> int:
        seen.append(pdu)
        return 0

    async with running(config(upstream(smsc.port)), on_deliver_sm):
        data_sm = DataSm(source_addr="33612345678", destination_addr="36173",
                         tlvs=((Tag.message_payload, b"STOP"),))
        response = await asyncio.wait_for(smsc.links[0].send(data_sm), WAIT)
        assert response.command_id == CommandId.data_sm_resp
        assert response.command_status == 0
        assert [(p.source_addr, p.destination_addr, p.tlv(Tag.message_payload)) for p in seen] \
            == [("33612345678", "36173", b"STOP")]


async def test_a_transmitter_and_receiver_pair_sends_on_one_and_receives_on_the_other(
    smsc: Smsc,
) -> None:
    seen: list[str] = []

    async def on_deliver_sm(pdu: DeliverSm, upstream: str) -> int:
        seen.append(pdu.source_addr)
        return 0

    cfg = config(upstream(smsc.port, bind=("transmitter", "receiver")))
    async with running(cfg, on_deliver_sm) as (pool, _):
        assert sorted(smsc.binds) == ["receiver", "transmitter"]
        assert pool.status()["a"]["transmitting"] == 1
        assert await submit(pool, message("x")) == Sent("a", ids("x"))
        transmitter = smsc.received[0][0]
        receiver = next(link for link in smsc.links if link is not transmitter)
        response = await asyncio.wait_for(receiver.send(DeliverSm(source_addr="42")), WAIT)
        assert response.command_status == 0
        assert seen == ["42"]


# --- shutdown ------------------------------------------------------------------------------


async def test_stop_lets_in_flight_messages_finish_then_unbinds_every_session() -> None:
    smsc = await Smsc(latency=0.1).start()
    try:
        metrics = Metrics()
        pool = UpstreamPool(config(upstream(smsc.port, sessions=2)), metrics, on_deliver_sm=accept)
        await pool.start()
        await eventually(lambda: pool.bound_sessions() == 2)
        pending = [pool.submit_nowait(message(f"m{i}"), e164=FR, country="FR") for i in range(4)]
        await asyncio.wait_for(pool.stop(2.0), WAIT)
        assert [f.result().carrier_ids for f in pending] == [ids(f"m{i}") for i in range(4)]
        assert smsc.unbinds == 2
        assert pool.bound_sessions() == 0
        assert metric(metrics, "stopgate_upstream_sessions", upstream="a", state="down") == 2
        with pytest.raises(Throttled):
            pool.submit_nowait(message("late"), e164=FR, country="FR")
    finally:
        await smsc.stop()
