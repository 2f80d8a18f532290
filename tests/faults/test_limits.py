"""SMPP limits and the receipt queue: over one, a defined answer; everyone else notices nothing.

Each test starts a real gateway on loopback with the limit turned down, goes over
it with real SMPP, checks the exact answer and the metric that counts it,
and checks that a well-behaved sender next to it lost nothing. Loopback has more
than one address: a bind from 127.0.0.2 (still to 127.0.0.1) stands for a
second client machine.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from gateway.smpp_link import BindError, LinkOptions, SmppLink
from simulator.outbox import mo_parts
from smpp.codec import encode
from smpp.constants import CommandId, CommandStatus, Tag
from smpp.pdu import BindTransmitter, SubmitSmResp
from smpp.session import Role
from smpp.tlv import tlv_str
from tests.integration.policy_stack import multipart, send_parts
from tests.integration.senders import RawSmpp, Sender, bind_sender, message, running_stack
from tests.integration.test_hostile_senders import (
    Bystander,
    Scene,
    id_map,
    while_bystander_sends,
)
from tests.support.metrics import metric
from tests.support.waiting import eventually

TIMEOUT = 5.0
S = CommandStatus
OTHER_HOST = "127.0.0.2"  # loopback too: a second client address
LONG = ("Your parcel 4711 left our warehouse in Lyon this morning and reaches the pickup "
        "point on Thursday; bring this message and an ID to collect it before Saturday noon.")


@contextlib.asynccontextmanager
async def scene_with(redis_url: str, tmp_path: Path, **sections: Any) -> AsyncIterator[Scene]:
    """A stack with these limits and a bystander bound on it (as test_hostile_senders')."""
    async with running_stack(redis_url, tmp_path, **sections) as stack:
        link, sender = await bind_sender(stack.smpp_port)
        first = await asyncio.wait_for(link.request(message("before")), TIMEOUT)
        await eventually(lambda: len(sender.receipts()) == 1, "the first receipt")
        assert sender.receipt_ids() == [first.message_id]  # type: ignore[attr-defined]
        redis = aioredis.Redis.from_url(redis_url)
        try:
            before: dict[bytes, bytes] = {}
            for _ in range(int(TIMEOUT / 0.01)):  # the id map write trails the answer
                before = await id_map(redis)
                if before:
                    break
                await asyncio.sleep(0.01)
            assert before, "the first message left an id map entry"
            yield Scene(stack, redis, Bystander(link, sender), before)
        finally:
            await redis.aclose()
            link.abort()


async def bound_raw(port: int) -> RawSmpp:
    """A raw connection bound as acme's transmitter (receipts never land on it)."""
    raw = await RawSmpp.open(port)
    await raw.send(BindTransmitter(sequence=1, system_id="acme", password="acmepass"))
    _, command_id, status, _ = await raw.read_header()
    assert (command_id, status) == (CommandId.bind_transmitter_resp, 0)
    return raw


async def trickle(raw: RawSmpp, data: bytes, every: float) -> int:
    """Write ``data`` a byte at a time until done or the peer closes; the bytes written."""
    for sent in range(len(data)):
        if raw.writer.is_closing() or raw.reader.at_eof():
            return sent
        raw.writer.write(data[sent:sent + 1])
        try:
            await asyncio.wait_for(raw.writer.drain(), TIMEOUT)
        except ConnectionError:
            return sent
        await asyncio.sleep(every)
    return len(data)


# --- SMPP: sessions ----------------------------------------------------------------------


async def bind_from(port: int, host: str, system_id: str, password: str) -> SmppLink:
    """Bind a transmitter from the local address ``host``; raises BindError when refused."""
    loop = asyncio.get_running_loop()
    _, link = await asyncio.wait_for(loop.create_connection(
        lambda: SmppLink(Role.ESME, Sender(),
                         LinkOptions(enquire_link_interval=None, idle_timeout=None)),
        "127.0.0.1", port, local_addr=(host, 0)), TIMEOUT)
    try:
        await asyncio.wait_for(link.bind("transmitter", system_id, password), TIMEOUT)
    except BaseException:
        link.abort()
        raise
    return link


async def test_binds_over_max_sessions_per_address_get_esme_rbindfail_and_bound_sessions_carry_on(
    flushed_redis: str, tmp_path: Path,
) -> None:
    async with running_stack(flushed_redis, tmp_path, smpp={
            "max_sessions_per_address": 2, "max_sessions_per_account": 0}) as stack:
        port = stack.smpp_port
        acme = await bind_from(port, "127.0.0.1", "acme", "acmepass")
        globex = await bind_from(port, "127.0.0.1", "globex", "globex1")
        # A third bind from the same address, whatever the account: refused.
        for system_id, password in (("acme", "acmepass"), ("globex", "globex1")):
            with pytest.raises(BindError) as refused:
                await bind_from(port, "127.0.0.1", system_id, password)
            assert refused.value.status == S.ESME_RBINDFAIL
        assert metric(stack, "stopgate_sender_binds_total",
                      {"outcome": "too_many_from_address"}) == 2
        # Another address has its own allowance.
        elsewhere = await bind_from(port, OTHER_HOST, "acme", "acmepass")
        # The bound sessions noticed nothing.
        for link in (acme, globex, elsewhere):
            answer = await asyncio.wait_for(link.request(message("still here")), TIMEOUT)
            assert isinstance(answer, SubmitSmResp) and answer.command_status == 0
        await eventually(lambda: len(stack.simulator.messages()) == 3, "three messages out")
        # A session that leaves frees its place.
        await asyncio.wait_for(globex.unbind(), TIMEOUT)
        again = await bind_from(port, "127.0.0.1", "globex", "globex1")
        for link in (acme, again, elsewhere):
            await asyncio.wait_for(link.unbind(), TIMEOUT)


# --- SMPP: slow senders --------------------------------------------------------------------


async def test_a_connection_that_never_binds_is_closed_after_bind_timeout(
    flushed_redis: str, tmp_path: Path,
) -> None:
    async with scene_with(flushed_redis, tmp_path, smpp={"bind_timeout": 0.5}) as scene:
        loop = asyncio.get_running_loop()
        bind = encode(BindTransmitter(sequence=1, system_id="acme", password="acmepass"))

        async def silent_and_trickling() -> None:
            started = loop.time()
            silent = await RawSmpp.open(scene.stack.smpp_port)
            trickler = await RawSmpp.open(scene.stack.smpp_port)
            # A byte every 0.1 s would need 4 s for the bind: the 0.5 s deadline comes first.
            sending = asyncio.create_task(trickle(trickler, bind, 0.1))
            assert await silent.closed_by_peer()
            assert await trickler.closed_by_peer()
            assert await asyncio.wait_for(sending, TIMEOUT) < len(bind)
            assert loop.time() - started >= 0.5
            silent.close()
            trickler.close()

        await while_bystander_sends(scene, silent_and_trickling)


@pytest.mark.parametrize("how", ["stops_mid_frame", "trickles_a_byte_at_a_time"])
async def test_a_bound_sender_whose_frame_never_completes_is_closed_after_frame_timeout(
    flushed_redis: str, tmp_path: Path, how: str,
) -> None:
    async with scene_with(flushed_redis, tmp_path, smpp={"frame_timeout": 0.5}) as scene:
        frame = encode(message("x" * 150, receipt=False))

        async def stuck() -> None:
            raw = await bound_raw(scene.stack.smpp_port)
            if how == "stops_mid_frame":
                await raw.send(frame[:20])
                assert await raw.closed_by_peer()
            else:  # 0.05 s a byte: 9 s for the frame, far past the deadline
                sending = asyncio.create_task(trickle(raw, frame, 0.05))
                assert await raw.closed_by_peer()
                assert await asyncio.wait_for(sending, TIMEOUT) < len(frame)
            raw.close()

        await while_bystander_sends(scene, stuck)
        assert metric(scene.stack, "stopgate_sender_connections_closed_total",
                      {"reason": "frame_timeout"}) == 1
        assert all(m.text != "x" * 150 for m in scene.stack.simulator.messages())


# --- SMPP: reassembly --------------------------------------------------------------------


def undeliv_receipt_ids(sender: Sender) -> list[str]:
    return [tlv_str(pdu, Tag.receipted_message_id) or "" for pdu in sender.receipts()
            if b"stat:UNDELIV" in pdu.short_message]


async def test_multipart_submits_over_reassembly_max_pending_drop_the_oldest_with_a_receipt(
    flushed_redis: str, tmp_path: Path,
) -> None:
    async with running_stack(flushed_redis, tmp_path,
                             smpp={"reassembly_max_pending": 2}) as stack:
        link, sender = await bind_sender(stack.smpp_port)
        messages = {name: multipart(f"{LONG} [{name}]", "udh8", service_type="OTP",
                                    ref=ref) for ref, name in enumerate("ABC", start=1)}
        assert all(len(parts) == 2 for parts in messages.values())
        # The first part of each: A and B wait; C's makes three, so A (the oldest) goes.
        firsts = {name: (await send_parts(link, parts[:1]))[0]
                  for name, parts in messages.items()}
        assert {answer.command_status for answer in firsts.values()} == {0}
        await eventually(lambda: metric(stack, "stopgate_reassembly_dropped_total",
                                        {"reason": "evicted", "account": "acme"}) == 1,
                         "A evicted")
        # A's sender learns it: an UNDELIV receipt for the id its part was given.
        await eventually(lambda: len(undeliv_receipt_ids(sender)) == 1, "A's receipt")
        assert undeliv_receipt_ids(sender) == [firsts["A"].message_id]
        # B and C complete and go out whole; A never reaches the carrier.
        for name in "BC":
            [last] = await send_parts(link, messages[name][1:])
            assert last.command_status == 0
        await eventually(lambda: len(stack.simulator.messages()) == 2, "B and C out")
        assert sorted(m.text for m in stack.simulator.messages()) == [
            f"{LONG} [B]", f"{LONG} [C]"]
        assert metric(stack, "stopgate_reassembly_pending") == 0
        answer = await asyncio.wait_for(link.request(message("short")), TIMEOUT)
        assert isinstance(answer, SubmitSmResp) and answer.command_status == 0
        await asyncio.wait_for(link.unbind(), TIMEOUT)


async def test_an_account_flooding_unfinished_multiparts_evicts_only_its_own_and_others_complete(
    flushed_redis: str, tmp_path: Path,
) -> None:
    # Two accounts share a pool of 4 incomplete messages: 2 each, borrowable while free.
    async with running_stack(flushed_redis, tmp_path,
                             smpp={"reassembly_max_pending": 4}) as stack:
        acme, acme_sender = await bind_sender(stack.smpp_port)
        globex, globex_sender = await bind_sender(stack.smpp_port, "globex", "globex1")
        ours = [replace(part, source_addr="+447400900000", source_addr_ton=1,
                        source_addr_npi=1)
                for part in multipart(f"{LONG} [globex]", "udh8", service_type="OTP", ref=9)]
        [first] = await send_parts(globex, ours[:1])
        assert first.command_status == 0
        # acme starts 7 long messages and finishes none: it fills the free room, then each
        # new one evicts acme's own oldest; globex's part stays (it is within its share).
        floods = [multipart(f"{LONG} [acme {n}]", "udh8", service_type="OTP", ref=n)
                  for n in range(1, 8)]
        firsts = [(await send_parts(acme, parts[:1]))[0] for parts in floods]
        assert {answer.command_status for answer in firsts} == {0}
        evicted = {"reason": "evicted", "account": "acme"}
        await eventually(lambda: metric(stack, "stopgate_reassembly_dropped_total", evicted) == 4,
                         "acme's four oldest evicted")
        assert metric(stack, "stopgate_reassembly_dropped_total",
                      {"reason": "evicted", "account": "globex"}) == 0
        assert metric(stack, "stopgate_reassembly_pending") == 4  # memory stays bounded
        # acme hears of each one it lost: UNDELIV for the ids its first parts were given.
        await eventually(lambda: len(undeliv_receipt_ids(acme_sender)) == 4, "acme's receipts")
        assert sorted(undeliv_receipt_ids(acme_sender)) == sorted(
            answer.message_id for answer in firsts[:4])
        # globex's message completes and goes out whole; globex got no failure receipt.
        [last] = await send_parts(globex, ours[1:])
        assert last.command_status == 0
        await eventually(lambda: len(stack.simulator.messages()) == 1, "globex's message out")
        [out] = stack.simulator.messages()
        assert out.text == f"{LONG} [globex]"
        assert undeliv_receipt_ids(globex_sender) == []
        # acme's newest three were kept and still complete.
        for parts in floods[4:]:
            [answer] = await send_parts(acme, parts[1:])
            assert answer.command_status == 0
        await eventually(lambda: len(stack.simulator.messages()) == 4, "acme's newest three out")
        assert sorted(m.text for m in stack.simulator.messages()) == sorted(
            [f"{LONG} [globex]"] + [f"{LONG} [acme {n}]" for n in (5, 6, 7)])
        assert metric(stack, "stopgate_reassembly_pending") == 0
        await asyncio.wait_for(acme.unbind(), TIMEOUT)
        await asyncio.wait_for(globex.unbind(), TIMEOUT)


async def test_long_mos_over_reassembly_max_pending_drop_the_oldest_and_every_part_still_arrives(
    flushed_redis: str, tmp_path: Path,
) -> None:
    async with running_stack(flushed_redis, tmp_path,
                             smpp={"reassembly_max_pending": 2}) as stack:
        _, receiver = await bind_sender(stack.smpp_port, kind="receiver")
        mos = {name: mo_parts(None, f"+3361234567{n}", "36173", f"{LONG} [{name}]", None, n)
               for n, name in enumerate("ABC")}
        for parts in mos.values():  # the first part of each: C's evicts A, the oldest
            stack.simulator.outbox.put(parts[0])
        await eventually(lambda: len(receiver.delivered) == 3, "three first parts passed on")
        assert metric(stack, "stopgate_reassembly_dropped_total",
                      {"reason": "evicted", "account": ""}) == 1
        for name in "BC":
            stack.simulator.outbox.put(mos[name][1])
        await eventually(lambda: len(receiver.delivered) == 5, "B and C passed on whole")
        # B and C were judged as whole messages (no keyword: "other"); A never was.
        await eventually(lambda: metric(stack, "stopgate_mo_total", {"kind": "other"}) == 2,
                         "B and C judged")


# --- DLR queue -----------------------------------------------------------------------------


async def test_receipts_over_pending_max_count_drop_the_oldest_and_the_newest_arrive_on_rebind(
    flushed_redis: str, tmp_path: Path,
) -> None:
    async with running_stack(flushed_redis, tmp_path, dlr={"pending_max_count": 3}) as stack:
        transmitter, _ = await bind_sender(stack.smpp_port, kind="transmitter")
        ids = []
        for n in range(5):  # one at a time: the queue's order is the sending order
            answer = await asyncio.wait_for(transmitter.request(message(f"parcel {n}")), TIMEOUT)
            assert isinstance(answer, SubmitSmResp) and answer.command_status == 0
            ids.append(answer.message_id)
            await eventually(lambda n=n: metric(stack, "stopgate_dlr_total",
                                                {"outcome": "queued"}) == n + 1,
                             f"receipt {n} queued")
        assert metric(stack, "stopgate_dlr_total", {"outcome": "dropped_count"}) == 2
        receiver, listener = await bind_sender(stack.smpp_port, kind="receiver")
        await eventually(lambda: metric(stack, "stopgate_dlr_total",
                                        {"outcome": "delivered"}) == 3, "the queue delivered")
        assert sorted(listener.receipt_ids()) == sorted(ids[2:])  # the newest three
        for link in (transmitter, receiver):
            await asyncio.wait_for(link.unbind(), TIMEOUT)
