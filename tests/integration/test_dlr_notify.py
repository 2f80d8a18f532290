"""Receipts queued by one gateway process reach a receiver bound to another, at once.

Two gateways on one Redis stand in for two workers: the first has no receiver of
the account, so what it has to deliver goes to the account's pending queue, with a
notice on ``dq:notify``; the second, which has the receiver, flushes on the notice.
The wait is kept under the periodic flush (30 s), so only the notice can pass it.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from gateway.inbound.receipts import build_receipt
from simulator.carrier import CarrierSimulator
from smpp.pdu import DeliverSm
from tests.integration.conftest import start_stack
from tests.integration.senders import bind_sender
from tests.support.waiting import eventually

NOTICE_BOUND = 10.0  # generous; well below DlrRouter.run_flusher's 30 s


def receipt(message_id: str) -> DeliverSm:
    return build_receipt(message_id, source_addr="33612345678", destination_addr="ACME",
                         stat="DELIVRD", submit_date=datetime.now(UTC))


async def test_receipt_queued_without_receiver_is_flushed_by_the_gateway_with_one(
    flushed_redis: str, tmp_path: Path
) -> None:
    simulator = CarrierSimulator(credentials={"proxy": "secret"})
    await simulator.start("127.0.0.1", 0, http_port=0)
    queuing = await start_stack(flushed_redis, tmp_path, simulator)
    holding = await start_stack(flushed_redis, tmp_path, simulator)
    link = None
    try:
        link, receiver = await bind_sender(holding.smpp_port, kind="receiver")
        await asyncio.sleep(0)  # the bind's own flush finds an empty queue
        assert queuing.gateway.dlr is not None
        assert queuing.gateway.server is not None
        assert not queuing.gateway.server.receivers("acme")
        ids = [f"{n:016x}" for n in range(1, 4)]
        await queuing.gateway.dlr.deliver("acme", [receipt(i) for i in ids])
        await eventually(lambda: receiver.receipt_ids() == ids,
                         "the receipts, in order, on the other gateway's receiver",
                         NOTICE_BOUND)
    finally:
        if link is not None:
            link.abort()
        await holding.gateway.stop(timeout=2.0)
        await queuing.gateway.stop(timeout=2.0)
        await simulator.stop()
