"""`stopgate serve` on SIGTERM: stop accepting, answer what is in flight, unbind senders, exit 0.

The real command in a subprocess, configured by a TOML file, against a carrier
simulator in the test (slow on purpose, so submits are in flight at the carrier
when the signal comes) and the test session's Redis. Only the process this test
started is ever signalled, by its PID.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from gateway.smpp_link import LinkClosed
from simulator.carrier import CarrierSimulator
from smpp.constants import CommandStatus
from smpp.pdu import BindTransmitter, SubmitSmResp
from tests.integration.senders import RawSmpp, bind_sender, message
from tests.integration.served import start_serve, stop_process, write_config
from tests.support.waiting import eventually

CARRIER_LATENCY = 0.3  # every submit_sm stays this long at the carrier
EXIT_BOUND = 15.0


@dataclass
class Served:
    process: asyncio.subprocess.Process
    smpp_port: int
    simulator: CarrierSimulator
    log: Path


@pytest.fixture
async def served(flushed_redis: str, tmp_path: Path) -> AsyncIterator[Served]:
    simulator = CarrierSimulator(credentials={"proxy": "secret"}, latency=CARRIER_LATENCY)
    await simulator.start("127.0.0.1", 0)
    config = write_config(tmp_path / "stopgate.toml", simulator.port, tmp_path / "data",
                          redis_url=flushed_redis,
                          # the shutdown test is about draining, not the policy
                          account='default_class = "transactional"\n')
    log = tmp_path / "stopgate.log"
    try:
        process, smpp_port = await start_serve(config, log, 20)
        try:
            await eventually(lambda: simulator.stats.binds >= 1, "stopgate's bind to the carrier")
            yield Served(process, smpp_port, simulator, log)
        finally:
            if process.returncode is None:  # the test failed before the process ended
                await stop_process(process, EXIT_BOUND)
    finally:
        await simulator.stop()


async def test_sigterm_answers_in_flight_submits_unbinds_senders_and_exits_0(
    served: Served,
) -> None:
    link, sender = await bind_sender(served.smpp_port, response_timeout=10.0)
    refused = await RawSmpp.open(served.smpp_port)  # a bind refused, the connection kept open
    await refused.send(BindTransmitter(sequence=1, system_id="acme", password="wrong"))
    assert (await refused.read_header())[2] == CommandStatus.ESME_RINVPASWD
    in_flight = [link.send(message(f"in flight {n}")) for n in range(10)]
    await eventually(lambda: served.simulator.stats.submits == 10, "the submits at the carrier")

    served.process.send_signal(signal.SIGTERM)
    responses = await asyncio.wait_for(asyncio.gather(*in_flight), EXIT_BOUND)
    assert {r.command_status for r in responses} == {CommandStatus.ESME_ROK}
    await asyncio.wait_for(link.closed, EXIT_BOUND)
    assert sender.unbound, "stopgate closed the session without an unbind"
    assert await asyncio.wait_for(served.process.wait(), EXIT_BOUND) == 0, (
        served.log.read_text())
    assert await refused.closed_by_peer()
    with pytest.raises(OSError):  # nobody listens any more
        await asyncio.open_connection("127.0.0.1", served.smpp_port)


async def test_submits_arriving_during_shutdown_are_all_answered(served: Served) -> None:
    """Between SIGTERM and the unbind, a sender may still send: nothing goes unanswered."""
    link, sender = await bind_sender(served.smpp_port, response_timeout=10.0)
    first = [link.send(message(f"before {n}")) for n in range(5)]
    await eventually(lambda: served.simulator.stats.submits == 5, "the submits at the carrier")
    served.process.send_signal(signal.SIGTERM)
    late: list[asyncio.Future[object]] = []
    while not link.closed.done() and len(late) < 200:
        with contextlib.suppress(LinkClosed):
            late.append(link.send(message(f"late {len(late)}")))  # type: ignore[arg-type]
        await asyncio.sleep(0.01)
    outcomes = await asyncio.wait_for(
        asyncio.gather(*first, *late, return_exceptions=True), EXIT_BOUND)
    unanswered = [o for o in outcomes if not isinstance(o, SubmitSmResp)]
    assert not unanswered, f"{len(unanswered)} of {len(outcomes)} submits got no answer"
    # ESME_RINVBNDSTS: a submit that crossed stopgate's unbind on the wire (answered
    # before the sender's unbind_resp is read; the sender waits for it before closing).
    statuses = {o.command_status for o in outcomes if isinstance(o, SubmitSmResp)}
    assert statuses <= {CommandStatus.ESME_ROK, CommandStatus.ESME_RTHROTTLED,
                        CommandStatus.ESME_RINVBNDSTS}
    assert sender.unbound
    assert await asyncio.wait_for(served.process.wait(), EXIT_BOUND) == 0
