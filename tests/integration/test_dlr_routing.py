"""Receipts and MOs on their way back: queued while nobody listens, matched whatever the id form,
and an MO to a shared shortcode reaching every account on it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from gateway.observability.metrics import Metrics
from gateway.smpp_link import SmppLink
from simulator.carrier import CarrierSimulator
from smpp.constants import ESM_DELIVERY_RECEIPT
from smpp.pdu import SubmitSmResp
from tests.integration.conftest import Stack
from tests.integration.senders import bind_sender, message, running_stack
from tests.support.waiting import eventually

TIMEOUT = 10.0


def dlr_count(metrics: Metrics, outcome: str) -> float:
    value = metrics.registry.get_sample_value("stopgate_dlr_total", {"outcome": outcome})
    return value or 0.0


async def send(link: SmppLink, count: int) -> list[str]:
    responses = await asyncio.wait_for(
        asyncio.gather(*(link.request(message(f"parcel {n}")) for n in range(count))), TIMEOUT)
    assert all(isinstance(r, SubmitSmResp) and r.command_status == 0 for r in responses)
    return [r.message_id for r in responses]


async def test_receipts_for_a_transmitter_only_sender_wait_and_arrive_when_it_binds_a_receiver(
    stack: Stack, flushed_redis: str,
) -> None:
    transmitter, _ = await bind_sender(stack.smpp_port, kind="transmitter")
    ids = await send(transmitter, 12)
    redis = aioredis.Redis.from_url(flushed_redis)
    try:
        async def queued() -> int:
            return int(await redis.llen("dq:{acme}"))

        for _ in range(500):  # the carrier's receipts reach the pending queue in Redis
            if (await queued() == len(ids)
                    and dlr_count(stack.gateway.metrics, "queued") == len(ids)):
                break
            await asyncio.sleep(0.01)
        assert await queued() == len(ids)
        assert dlr_count(stack.gateway.metrics, "queued") == len(ids)

        receiver, listener = await bind_sender(stack.smpp_port, kind="receiver")
        await eventually(lambda: len(listener.receipts()) == len(ids), "the queued receipts")
        assert sorted(listener.receipt_ids()) == sorted(ids)
        await eventually(lambda: dlr_count(stack.gateway.metrics, "delivered") == len(ids),
                         "the queued receipts acknowledged")
        assert await redis.llen("dq:{acme}") == await redis.llen("dq:{acme}:p") == 0
    finally:
        await redis.aclose()
    await transmitter.unbind()
    await receiver.unbind()


@pytest.mark.parametrize("dlr_id_format", ["decimal", "decimal_zero_padded"])
async def test_hex_submit_ids_match_receipts_that_write_them_in_decimal(
    flushed_redis: str, tmp_path: Path, dlr_id_format: str,
) -> None:
    simulator = CarrierSimulator(credentials={"proxy": "secret"}, id_format="hex",
                                 dlr_id_format=dlr_id_format)  # type: ignore[arg-type]
    async with running_stack(flushed_redis, tmp_path, simulator) as stack:
        link, sender = await bind_sender(stack.smpp_port)
        ids = await send(link, 5)
        await eventually(lambda: len(sender.receipts()) == len(ids), "every receipt")
        assert sorted(sender.receipt_ids()) == sorted(ids)
        assert dlr_count(stack.gateway.metrics, "unknown_id") == 0
        await link.unbind()


async def test_mo_to_a_shared_shortcode_reaches_every_account_on_it(stack: Stack) -> None:
    acme, acme_sender = await bind_sender(stack.smpp_port, kind="transceiver")
    globex, globex_sender = await bind_sender(stack.smpp_port, "globex", "globex1",
                                              kind="receiver")
    await stack.simulator.inject_mo("+33612345678", "36173", "hello")
    await eventually(lambda: len(acme_sender.delivered) == len(globex_sender.delivered) == 1,
                     "the MO at both accounts")
    for mo in (acme_sender.delivered[0], globex_sender.delivered[0]):
        assert mo.esm_class & ESM_DELIVERY_RECEIPT == 0
        assert (mo.source_addr, mo.destination_addr, mo.short_message) == (
            "33612345678", "36173", b"hello")
    await eventually(lambda: stack.simulator.stats.mos_acked == 1, "the carrier's MO acknowledged")
    await acme.unbind()
    await globex.unbind()


async def test_mo_to_a_number_no_account_owns_is_acknowledged_and_counted(stack: Stack) -> None:
    link, sender = await bind_sender(stack.smpp_port)
    await stack.simulator.inject_mo("+33612345678", "+33999999999", "anyone?")
    await eventually(lambda: stack.simulator.stats.mos_acked == 1, "the carrier's MO acknowledged")
    assert 'stopgate_dlr_total{outcome="no_owner"} 1.0' in stack.gateway.metrics.render().decode()
    await asyncio.sleep(0.05)
    assert sender.delivered == []
    await link.unbind()
