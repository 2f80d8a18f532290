"""Hostile connections get the right answer and a clean close; everyone else notices nothing.

Each test binds a well-behaved sender first and keeps it sending (with receipts)
while raw sockets misbehave next to it; afterwards that sender got an answer and
a receipt for every message, the id map it relied on is intact in Redis, and the
server holds no trace of the hostile connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import struct
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import pytest
import redis.asyncio as aioredis

from gateway.smpp_link import SmppLink
from smpp.codec import encode
from smpp.constants import CommandId, CommandStatus
from smpp.pdu import BindTransmitter, SubmitSm, SubmitSmResp
from tests.integration.conftest import Stack
from tests.integration.senders import RawSmpp, Sender, bind_sender, message
from tests.support.waiting import eventually

GENERIC_NACK = int(CommandId.generic_nack)
RINVCMDLEN = int(CommandStatus.ESME_RINVCMDLEN)
TIMEOUT = 10.0


@dataclass
class Bystander:
    """The well-behaved sender, sending one message every few milliseconds until stopped."""

    link: SmppLink
    sender: Sender
    ids: list[str] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def keep_sending(self) -> None:
        count = 0
        while not self.stop.is_set() or count < 3:  # at least a few, whatever happens
            count += 1
            response = await asyncio.wait_for(self.link.request(message(f"m{count}")), TIMEOUT)
            assert isinstance(response, SubmitSmResp)
            self.statuses.append(response.command_status)
            self.ids.append(response.message_id)
            await asyncio.sleep(0.005)


@dataclass
class Scene:
    stack: Stack
    redis: aioredis.Redis
    bystander: Bystander
    id_map_before: dict[bytes, bytes]


async def id_map(redis: aioredis.Redis) -> dict[bytes, bytes]:
    keys = sorted([key async for key in redis.scan_iter(match=b"m:*")])
    values = await redis.mget(keys) if keys else []
    return dict(zip(keys, values, strict=True))


@pytest.fixture
async def scene(stack: Stack, flushed_redis: str) -> AsyncIterator[Scene]:
    link, sender = await bind_sender(stack.smpp_port)
    first = await asyncio.wait_for(link.request(message("before")), TIMEOUT)
    await eventually(lambda: len(sender.receipts()) == 1, "the first receipt")
    assert sender.receipt_ids() == [first.message_id]  # type: ignore[attr-defined]
    redis = aioredis.Redis.from_url(flushed_redis)
    # The receipt can be routed from the gateway's memory before the id map write (a few
    # milliseconds behind the answer) reaches Redis: wait for the write.
    before = await id_map(redis)
    for _ in range(int(TIMEOUT / 0.01)):
        if before:
            break
        await asyncio.sleep(0.01)
        before = await id_map(redis)
    assert before, "the first message left an id map entry"
    try:
        yield Scene(stack, redis, Bystander(link, sender), before)
    finally:
        await redis.aclose()
        link.abort()


async def while_bystander_sends(scene: Scene, hostile: Callable[[], Awaitable[None]]) -> None:
    """Run ``hostile`` while the bystander sends; then check the bystander lost nothing."""
    bystander = scene.bystander
    sending = asyncio.create_task(bystander.keep_sending())
    try:
        await asyncio.wait_for(hostile(), 60)
    finally:
        bystander.stop.set()
        await asyncio.wait_for(sending, TIMEOUT)
    assert bystander.statuses and set(bystander.statuses) == {0}
    await eventually(lambda: len(bystander.sender.receipts()) == 1 + len(bystander.ids),
                     "a receipt for every message the bystander sent")
    assert sorted(bystander.sender.receipt_ids()[1:]) == sorted(bystander.ids)
    after = await id_map(scene.redis)
    assert {key: after.get(key) for key in scene.id_map_before} == scene.id_map_before
    server = scene.stack.gateway.server
    assert server is not None
    # The bystander's session is the one left, bound or not.
    await eventually(lambda: len(server.bound["acme"]) == len(server._links) == 1,
                     "no hostile session left behind")


def acme_bind() -> bytes:
    # A transmitter: the bystander's receipts (routed round robin over the account's
    # receivers, within milliseconds) must not land on the hostile connection's reads.
    return encode(BindTransmitter(sequence=1, system_id="acme", password="acmepass"))


async def nacked_then_closed(connection: RawSmpp, sequence: int | None = None) -> None:
    length, command_id, status, seq = await connection.read_header()
    assert (length, command_id, status) == (16, GENERIC_NACK, RINVCMDLEN)
    if sequence is not None:
        assert seq == sequence
    assert await connection.closed_by_peer()


async def test_garbage_bytes_get_generic_nack_and_a_close(scene: Scene) -> None:
    async def hostile() -> None:
        connection = await RawSmpp.open(scene.stack.smpp_port)
        await connection.send(b"GET / HTTP/1.1\r\nHost: stopgate\r\n\r\n")
        await nacked_then_closed(connection)

    await while_bystander_sends(scene, hostile)


async def test_command_length_of_8_gets_generic_nack_and_a_close(scene: Scene) -> None:
    async def hostile() -> None:
        connection = await RawSmpp.open(scene.stack.smpp_port)
        # Only 8 octets: a length below the header size is refused without waiting for 16.
        await connection.send(struct.pack(">II", 8, CommandId.bind_transmitter))
        await nacked_then_closed(connection)

    await while_bystander_sends(scene, hostile)


async def test_command_length_of_10_mb_gets_generic_nack_and_a_close(scene: Scene) -> None:
    async def hostile() -> None:
        connection = await RawSmpp.open(scene.stack.smpp_port)
        await connection.send(struct.pack(">IIII", 10 * 1024 * 1024, CommandId.bind_transmitter,
                                          0, 77) + b"\0" * 4096)
        await nacked_then_closed(connection, sequence=77)

    await while_bystander_sends(scene, hostile)


async def test_oversized_frame_on_a_bound_session_closes_only_that_session(scene: Scene) -> None:
    async def hostile() -> None:
        connection = await RawSmpp.open(scene.stack.smpp_port)
        await connection.send(acme_bind())
        assert (await connection.read_header())[2] == 0
        server = scene.stack.gateway.server
        assert server is not None and len(server.bound["acme"]) == 2
        await connection.send(struct.pack(">IIII", 10 * 1024 * 1024, CommandId.submit_sm, 0, 9))
        await nacked_then_closed(connection, sequence=9)

    await while_bystander_sends(scene, hostile)


async def test_truncated_frame_then_close_leaves_no_trace(scene: Scene) -> None:
    async def hostile() -> None:
        for bound in (False, True):
            connection = await RawSmpp.open(scene.stack.smpp_port)
            if bound:
                await connection.send(acme_bind())
                assert (await connection.read_header())[2] == 0
            frame = encode(SubmitSm(sequence=3, destination_addr="33612345678",
                                    short_message=b"cut short"))
            await connection.send(frame[: len(frame) // 2])
            connection.close()

    await while_bystander_sends(scene, hostile)
    assert scene.stack.simulator.stats.submits == 1 + len(scene.bystander.ids)


def smpp_sockets(port: int) -> int:
    """Connected sockets this process holds, either end, on the SMPP port (Linux /proc)."""
    inodes = set()
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            target = os.readlink(f"/proc/self/fd/{fd}")
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as lines:
            for line in list(lines)[1:]:
                fields = line.split()
                local, remote = (int(a.rsplit(":", 1)[1], 16) for a in fields[1:3])
                if fields[9] in inodes and fields[3] != "0A" and port in (local, remote):
                    count += 1
    return count


async def test_a_thousand_connections_opened_and_dropped_leave_no_trace(scene: Scene) -> None:
    port = scene.stack.smpp_port
    bind = acme_bind()
    submit = encode(SubmitSm(sequence=2, destination_addr="33612345678", short_message=b"x"))
    assert smpp_sockets(port) == 2  # the bystander's, both ends

    async def one(n: int) -> None:
        _, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port),
                                                TIMEOUT)
        kind = n % 5
        if kind == 1:
            writer.write(bind[:7])  # mid-header
        elif kind == 2:
            writer.write(bind[:-3])  # mid-body
        elif kind == 3:
            writer.write(bind + submit[:20])  # bound, then mid-PDU
        elif kind == 4:
            writer.write(bind)
            writer.transport.abort()  # reset instead of a FIN
            return
        await writer.drain()
        writer.close()

    async def hostile() -> None:
        for batch in range(4):  # a reconnect storm: 250 at once
            await asyncio.gather(*(one(batch * 250 + k) for k in range(250)))

    await while_bystander_sends(scene, hostile)
    await eventually(lambda: smpp_sockets(port) == 2, "the dropped connections' sockets closed")
    assert scene.stack.simulator.stats.submits == 1 + len(scene.bystander.ids)
