"""The carrier link pool against the built-in carrier simulator, as the gateway runs it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from gateway.carriers.pool import CarrierRejected, UpstreamPool
from gateway.config.model import Config, Smpp, Upstream
from gateway.observability.metrics import Metrics
from simulator.carrier import CarrierSimulator
from smpp.constants import ESM_DELIVERY_RECEIPT, CommandStatus, Tag
from smpp.pdu import DeliverSm, SubmitSm
from tests.support.waiting import eventually

WAIT = 5.0
FR = "+33612345678"


def config(port: int, *, response_timeout: float = 1.0, **options: Any) -> Config:
    upstream = Upstream(name="sim", host="127.0.0.1", port=port, system_id="stopgate",
                        password="secret", **options)
    smpp = Smpp(response_timeout=response_timeout, bind_timeout=1.0, reconnect_delay=0.02,
                reconnect_delay_max=0.1)
    return Config(upstreams=(upstream,), smpp=smpp)


def part(text: str, registered_delivery: int = 0) -> SubmitSm:
    return SubmitSm(destination_addr="33612345678", short_message=text.encode(),
                    registered_delivery=registered_delivery)


class Inbox:
    """The pool's deliver_sm callback: keeps what the carrier delivered."""

    def __init__(self) -> None:
        self.pdus: list[DeliverSm] = []

    async def __call__(self, pdu: DeliverSm, upstream: str) -> int:
        self.pdus.append(pdu)
        return 0


@asynccontextmanager
async def gateway_and_carrier(
    sim: CarrierSimulator, inbox: Inbox | None = None, **options: Any
) -> AsyncIterator[UpstreamPool]:
    await sim.start(port=0)
    pool = UpstreamPool(config(sim.port, **options), Metrics(), on_deliver_sm=inbox or Inbox())
    try:
        await pool.start()
        await eventually(lambda: pool.ready)
        yield pool
    finally:
        await asyncio.wait_for(pool.stop(1.0), WAIT)
        await sim.stop()


def simulator(**options: Any) -> CarrierSimulator:
    return CarrierSimulator(credentials={"stopgate": "secret"}, **options)


async def test_ids_are_the_simulators_and_its_receipts_reach_the_callback() -> None:
    sim, inbox = simulator(), Inbox()
    async with gateway_and_carrier(sim, inbox, bind=("transmitter", "receiver")) as pool:
        sent = await asyncio.wait_for(
            pool.submit([part("hello", registered_delivery=1)], e164=FR, country="FR"), WAIT)
        assert sent.carrier_ids == [sim.received[0].carrier_id]
        await eventually(lambda: inbox.pdus)
        receipt = inbox.pdus[0]
        assert receipt.esm_class & ESM_DELIVERY_RECEIPT
        receipted = receipt.tlv(Tag.receipted_message_id) or b""
        assert receipted.rstrip(b"\0") == sent.carrier_ids[0].encode()  # a C-octet string
        await eventually(lambda: sim.stats.dlrs_acked == 1)


async def test_simulator_throttling_slows_messages_down_without_losing_any() -> None:
    sim = simulator(throttle_tps=100)
    async with gateway_and_carrier(sim, sessions=2, window=20, response_timeout=3.0) as pool:
        sends = [pool.submit([part(f"m{i}")], e164=FR, country="FR") for i in range(150)]
        results = await asyncio.wait_for(asyncio.gather(*sends), 3 * WAIT)
    assert sim.stats.throttled > 0
    accepted = {r.carrier_id for r in sim.received if r.carrier_id}
    assert sorted(sent.carrier_ids[0] for sent in results) == sorted(accepted)
    assert len(accepted) == 150


async def test_a_simulator_disconnect_mid_window_loses_nothing() -> None:
    sim = simulator(latency=0.05)
    async with gateway_and_carrier(sim, window=50) as pool:
        sends = [asyncio.ensure_future(pool.submit([part(f"m{i}")], e164=FR, country="FR"))
                 for i in range(30)]
        await eventually(lambda: len(sim.received) == 30)
        assert sim.disconnect() == 1
        results = await asyncio.wait_for(asyncio.gather(*sends), WAIT)
    texts = [r.pdu.short_message for r in sim.received]
    assert sorted(set(texts)) == sorted(f"m{i}".encode() for i in range(30))
    # The ids the sender gets are those of the copies the carrier answered.
    by_text = {r.pdu.short_message: r.carrier_id for r in sim.received[30:]}
    assert [sent.carrier_ids[0] for sent in results] == [by_text[f"m{i}".encode()]
                                                          for i in range(30)]


async def test_simulator_errors_come_back_as_carrier_rejections() -> None:
    sim = simulator(error_rate=0.5, error_status=CommandStatus.ESME_RSUBMITFAIL)
    async with gateway_and_carrier(sim) as pool:
        outcomes = await asyncio.gather(
            *(pool.submit([part(f"m{i}")], e164=FR, country="FR") for i in range(10)),
            return_exceptions=True)
    rejected = [o for o in outcomes if isinstance(o, CarrierRejected)]
    assert len(rejected) == 5
    assert {o.status for o in rejected} == {CommandStatus.ESME_RSUBMITFAIL}


async def test_an_mo_from_the_simulator_reaches_the_callback() -> None:
    sim, inbox = simulator(), Inbox()
    async with gateway_and_carrier(sim, inbox):
        await sim.inject_mo("33612345678", "36173", "STOP")
        await eventually(lambda: inbox.pdus)
        assert inbox.pdus[0].short_message == b"STOP"
        assert inbox.pdus[0].source_addr == "33612345678"
        await eventually(lambda: sim.stats.mos_acked == 1)


async def test_wrong_credentials_never_bind() -> None:
    sim = CarrierSimulator(credentials={"stopgate": "other"})
    await sim.start(port=0)
    metrics = Metrics()
    pool = UpstreamPool(config(sim.port), metrics, on_deliver_sm=Inbox())
    try:
        await pool.start()
        await eventually(lambda: sim.stats.bind_failures >= 2)
        assert not pool.ready
        assert pool.status()["sim"]["bound"] == 0
    finally:
        await asyncio.wait_for(pool.stop(1.0), WAIT)
        await sim.stop()
