"""Parts answered before their multipart message completed (gateway.senders.answered_parts).

A message whose other parts never come: the part already answered is failed by
receipt. And with Redis down, the notes cannot be written: parts are still
answered (after one bounded wait), and transactional multipart traffic flows.

The reassembly timeout (``smpp.reassembly_timeout``, 2 min by default) is
shortened to half a second in the config; the rest is the real gateway, Redis
and simulator.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import orjson
import pytest

from gateway.process.redis_embedded import EmbeddedRedis
from gateway.senders.answered_parts import LEGACY_OWNERS, ORPHAN_AGE, OWNERS
from tests.faults.test_gateway_kill import LONG_TEXT, RECIPIENT, failure_receipt_ids
from tests.integration.policy_stack import multipart, send_parts
from tests.integration.senders import bind_sender, running_stack
from tests.support.waiting import eventually

BOUND = 20.0
SHORT_REASSEMBLY = {"reassembly_timeout": 0.5}


async def test_a_part_answered_whose_message_never_completes_gets_a_failure_receipt(
    flushed_redis: str, tmp_path: Path,
) -> None:
    async with running_stack(flushed_redis, tmp_path, smpp=SHORT_REASSEMBLY) as stack:
        link, sender = await bind_sender(stack.smpp_port)
        parts = multipart(LONG_TEXT, "udh16", service_type="OTP", to=RECIPIENT)
        whole = await send_parts(link, multipart(LONG_TEXT, "sar", service_type="OTP",
                                                 to=RECIPIENT, ref=0x31))
        answered = await send_parts(link, parts[:1])
        assert answered[0].command_status == 0
        part_id = answered[0].message_id
        await eventually(lambda: part_id in failure_receipt_ids([sender]),
                         "a failure receipt for the part of the message that never completed",
                         BOUND)
        assert failure_receipt_ids([sender]) == {part_id}
        assert not {a.message_id for a in whole} & failure_receipt_ids([sender])
        receipt = next(p for p in sender.receipts() if part_id.encode() in p.short_message)
        assert b"stat:UNDELIV err:008" in receipt.short_message
        assert [m.text for m in stack.simulator.messages()] == [LONG_TEXT]
        await asyncio.wait_for(link.unbind(), 5.0)


async def test_multipart_messages_still_go_and_still_fail_by_receipt_while_redis_is_down(
    tmp_path: Path,
) -> None:
    own = EmbeddedRedis(tmp_path / "redis")
    await asyncio.to_thread(own.start)
    try:
        async with running_stack(own.url, tmp_path / "gateway", smpp=SHORT_REASSEMBLY) as stack:
            link, sender = await bind_sender(stack.smpp_port)
            await asyncio.to_thread(own.kill)
            for ref in (0x41, 0x42, 0x43):  # the first note waits NOTE_TIMEOUT, then none
                parts = multipart(LONG_TEXT, "udh8", service_type="OTP", to=RECIPIENT, ref=ref)
                answers = await asyncio.wait_for(send_parts(link, parts), BOUND)
                assert [a.command_status for a in answers] == [0] * len(parts)
            await eventually(lambda: len(stack.simulator.messages()) == 3, "three messages",
                             BOUND)
            assert {m.text for m in stack.simulator.messages()} == {LONG_TEXT}
            # A message cut short is still failed by receipt: this process dropped it.
            cut = multipart(LONG_TEXT, "udh8", service_type="OTP", to=RECIPIENT, ref=0x44)
            answered = await asyncio.wait_for(send_parts(link, cut[:1]), BOUND)
            assert answered[0].command_status == 0
            await eventually(lambda: answered[0].message_id in failure_receipt_ids([sender]),
                             "a failure receipt without Redis", BOUND)
            link.abort()
    finally:
        await asyncio.to_thread(own.stop)


async def test_parts_sent_in_one_burst_leave_no_note_once_their_messages_complete(
    flushed_redis: str, tmp_path: Path,
) -> None:
    """A sender with a window sends every part at once: the completing part can arrive
    in the same read as the first. The first part's note must still go when the
    message completes, or a restart would fail a message that went."""
    async with running_stack(flushed_redis, tmp_path) as stack:
        link, sender = await bind_sender(stack.smpp_port)
        parts = [part for ref in range(0x50, 0x60)
                 for part in multipart(LONG_TEXT, "udh8", service_type="OTP", to=RECIPIENT,
                                       ref=ref)]
        answers = await asyncio.wait_for(
            asyncio.gather(*(link.request(part) for part in parts)), BOUND)
        assert [a.command_status for a in answers] == [0] * len(parts)
        await eventually(lambda: len(stack.simulator.messages()) == 16, "16 messages", BOUND)
        gateway = stack.gateway
        assert gateway.answered_parts is not None and gateway.redis is not None
        key = gateway.answered_parts.key
        for _ in range(200):
            if await gateway.redis.zcard(key) == 0:
                break
            await asyncio.sleep(0.02)
        assert await gateway.redis.zcard(key) == 0
        assert not failure_receipt_ids([sender])
        await asyncio.wait_for(link.unbind(), 5.0)


@pytest.mark.parametrize(("key", "owners_key"), [
    (b"{mp}:answered:gone-1", OWNERS),
    # Written by an earlier version (names without the Cluster hash tag): failed alike.
    (b"mp:answered:gone-1", LEGACY_OWNERS),
], ids=["today", "earlier-version"])
async def test_a_gateway_gone_for_good_has_its_parts_failed_by_any_instance_and_is_forgotten(
    flushed_redis: str, tmp_path: Path, key: bytes, owners_key: bytes,
) -> None:
    """Notes older than ORPHAN_AGE belong to a gateway that never came back: the sweep of
    any instance fails them by receipt (once) and drops owners left without notes."""
    async with running_stack(flushed_redis, tmp_path) as stack:
        link, sender = await bind_sender(stack.smpp_port)
        parts = stack.gateway.answered_parts
        redis = stack.gateway.redis
        assert parts is not None and redis is not None
        answered_at = time.time() - ORPHAN_AGE - 60
        note = orjson.dumps({
            "id": "gone-part-1", "a": "acme", "src": "36173", "dst": "33612345678",
            "st": 3, "sn": 0, "dt": 1, "dn": 1, "rd": 1, "at": answered_at})
        await redis.zadd(key, {note: int(answered_at * 1000)})
        await redis.sadd(owners_key, "gone-1", "gone-2")  # gone-2 left nothing behind

        assert await parts.sweep_once() == 1
        await eventually(lambda: "gone-part-1" in failure_receipt_ids([sender]),
                         "the orphan part's failure receipt", BOUND)
        assert await parts.sweep_once() == 0  # claimed once, never twice
        owners = {o.decode() for o in await redis.smembers(owners_key)}
        assert not owners & {"gone-1", "gone-2"}
        assert failure_receipt_ids([sender]) == {"gone-part-1"}
        await asyncio.wait_for(link.unbind(), 5.0)
