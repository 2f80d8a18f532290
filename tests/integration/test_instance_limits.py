"""Two gateways (two instances: their own instance_id and data_dir) sharing one Redis and
one carrier: carrier sessions and tps and account tps hold in total, not per instance."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable
from pathlib import Path

import aiohttp
import redis.asyncio as aioredis

from gateway.http.optout import GUESS_BURST
from gateway.instances.counters import key
from gateway.senders.server import BINDS
from simulator.carrier import CarrierSimulator
from smpp.codec import decode, encode
from smpp.constants import CommandId, CommandStatus
from smpp.pdu import BindTransmitter
from tests.integration.conftest import ACME, GLOBEX, Stack, start_stack
from tests.integration.served import start_serve, stop_process, write_config
from tests.support.metrics import metric
from tests.support.waiting import eventually

UPSTREAM = {"name": "sim", "host": "127.0.0.1", "system_id": "proxy", "password": "secret",
            "window": 50, "sessions": 2, "tps": 40}
SETTLED = 20.0  # heartbeats are 1 s apart; a share changes within a few of them


async def instance(redis_url: str, tmp_path: Path, name: str,
                   simulator: CarrierSimulator) -> Stack:
    return await start_stack(
        redis_url, tmp_path / name, simulator, server={"instance_id": name},
        upstreams=[{**UPSTREAM, "port": simulator.port}],
        accounts=[{**ACME, "tps": 10}, GLOBEX])


async def test_two_instances_hold_the_carrier_sessions_and_tps_in_total(
    flushed_redis: str, tmp_path: Path,
) -> None:
    carrier = CarrierSimulator(credentials={"proxy": "secret"})
    await carrier.start("127.0.0.1", 0, http_port=0)
    seen: list[int] = []  # the carrier's open sessions, sampled throughout

    async def watch() -> None:
        while True:
            seen.append(carrier.stats_json()["sessions"])
            await asyncio.sleep(0.005)

    watcher = asyncio.create_task(watch())
    a = await instance(flushed_redis, tmp_path, "a", carrier)
    b = None
    try:
        await eventually(lambda: a.gateway.pool.bound_sessions() == 2, "a alone binds 2")
        b = await instance(flushed_redis, tmp_path, "b", carrier)
        await eventually(lambda: (a.gateway.pool.bound_sessions(),
                                  b.gateway.pool.bound_sessions()) == (1, 1),
                         "one bind each", SETTLED)
        assert carrier.stats_json()["sessions"] == 2
        # Each says how many instances split the limits, and which one it is.
        async with aiohttp.ClientSession() as http:
            for rank, stack in enumerate((a, b)):
                async with http.get(stack.http_url + "/readyz") as answer:
                    assert (await answer.json())["instances"] == {"live": 2, "rank": rank}
                assert metric(stack.gateway.metrics, "stopgate_instances") == 2
        # The tokens each instance's buckets are given: half of each total.
        for stack in (a, b):
            assert metric(stack.gateway.metrics, "stopgate_upstream_rate_limit",
                          {"upstream": "sim"}) == 20
            assert stack.gateway.server.buckets["acme"].rate == 5
            assert stack.gateway.server.buckets["globex"].rate == 0  # unlimited stays so
        # Never more than 2 binds at the carrier, while b joined and a made room.
        assert max(seen) == 2, seen
        # a stops: b takes up the whole share (a left the membership on its way out).
        await a.gateway.stop(timeout=2.0)
        await eventually(lambda: b.gateway.pool.bound_sessions() == 2, "b binds both",
                         SETTLED)
        assert metric(b.gateway.metrics, "stopgate_upstream_rate_limit",
                      {"upstream": "sim"}) == 40
        assert metric(b.gateway.metrics, "stopgate_instances") == 1
        assert b.gateway.server.buckets["acme"].rate == 10
        assert max(seen) == 2, seen
    finally:
        watcher.cancel()
        for stack in (a, b):
            if stack is not None:
                await stack.gateway.stop(timeout=2.0)
        await carrier.stop()


async def test_a_second_instance_with_the_same_instance_id_refuses_to_start(
    flushed_redis: str, tmp_path: Path,
) -> None:
    carrier = CarrierSimulator(credentials={"proxy": "secret"})
    await carrier.start("127.0.0.1", 0)
    first = None
    try:
        server = 'instance_id = "edge-1"'
        one = write_config(tmp_path / "one.toml", carrier.port, tmp_path / "one",
                           redis_url=flushed_redis, server=server)
        two = write_config(tmp_path / "two.toml", carrier.port, tmp_path / "two",
                           redis_url=flushed_redis, server=server)
        first, _ = await start_serve(one, tmp_path / "one.log", 30.0)
        log = tmp_path / "two.log"
        with log.open("ab") as stderr:
            second = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "gateway.cli.main", "serve", "-c", str(two),
                stdout=asyncio.subprocess.DEVNULL, stderr=stderr)
        assert await asyncio.wait_for(second.wait(), 30.0) != 0
        text = log.read_text()
        assert "another live process already runs as 'edge-1/0'" in text, text
        assert "give each host its own server.instance_id" in text
        assert first.returncode is None  # the first one is untouched, and still alone
        assert carrier.stats_json()["sessions"] == 1
    finally:
        if first is not None:
            await stop_process(first, 10.0)
        await carrier.stop()


async def two_instances(redis_url: str, tmp_path: Path, carrier: CarrierSimulator,
                        **sections: object) -> tuple[Stack, Stack]:
    stacks = []
    for name in ("a", "b"):
        stacks.append(await start_stack(redis_url, tmp_path / name, carrier,
                                        server={"instance_id": name}, **sections))
    return stacks[0], stacks[1]


async def test_wrong_api_keys_spread_over_two_instances_meet_the_limit_in_total(
    flushed_redis: str, tmp_path: Path,
) -> None:
    carrier = CarrierSimulator(credentials={"proxy": "secret"})
    await carrier.start("127.0.0.1", 0)
    a, b = await two_instances(flushed_redis, tmp_path, carrier, http={
        "failed_auth_limit": 4, "failed_auth_delay": 0.01, "failed_auth_delay_max": 0.02})
    wrong = {"Authorization": "Bearer not-a-key"}
    try:
        async with aiohttp.ClientSession() as http:
            async def status(stack: Stack) -> int:
                async with http.post(stack.http_url + "/v1/messages", headers=wrong,
                                     json={"to": "+33612345678", "text": "hi"}) as answer:
                    return answer.status

            # 4 wrong keys in total, 2 on each instance: each alone would allow 4 more
            assert [await status(s) for s in (a, b, a, b)] == [401, 401, 401, 401]
            # the limit holds in total: b refuses unchecked at once; a checks one more
            # key (its own count was 3: one failure per other instance at most) and then
            # refuses too
            assert await status(b) == 429
            assert [await status(a), await status(a)] == [401, 429]
            assert await status(b) == 429
    finally:
        for stack in (a, b):
            await stack.gateway.stop(timeout=2.0)
        await carrier.stop()


async def test_link_guessing_spread_over_two_instances_meets_the_limit_in_total(
    flushed_redis: str, tmp_path: Path,
) -> None:
    carrier = CarrierSimulator(credentials={"proxy": "secret"})
    await carrier.start("127.0.0.1", 0)
    a, b = await two_instances(flushed_redis, tmp_path, carrier)
    try:
        async with aiohttp.ClientSession() as http:
            answers = []
            for attempt in range(2 * GUESS_BURST):
                stack = (a, b)[attempt % 2]
                async with http.get(f"{stack.http_url}/o/zz{attempt:07d}") as answer:
                    answers.append(answer.status)
            # GUESS_BURST unknown tokens in total, then 429 on both: not GUESS_BURST each
            assert answers[:GUESS_BURST] == [404] * GUESS_BURST
            assert answers[GUESS_BURST:] == [429] * GUESS_BURST
    finally:
        for stack in (a, b):
            await stack.gateway.stop(timeout=2.0)
        await carrier.stop()



#: Bind pacing short enough to watch: failures 2, 3 and 4 (in total) wait 0.4, 0.8 and
#: 1.6 s; the last is past the bind timeout, so its answer is never sent.
BIND_PACING = {"bind_timeout": 1.0, "failed_bind_delay": 0.2, "failed_bind_delay_max": 5.0}
REFUSED = (CommandId.bind_transmitter_resp, CommandStatus.ESME_RINVPASWD)
BOUND = (CommandId.bind_transmitter_resp, CommandStatus.ESME_ROK)


async def bind(stack: Stack, password: str, system_id: str = "acme",
               source: str = "127.0.0.1") -> tuple[int, int] | None:
    """One bind_transmitter on a fresh connection from ``source``: the (command_id,
    command_status) of the answer; None when the gateway closed it unanswered."""
    reader, writer = await asyncio.wait_for(asyncio.open_connection(
        "127.0.0.1", stack.smpp_port, local_addr=(source, 0)), 5.0)
    try:
        writer.write(encode(BindTransmitter(system_id=system_id, password=password)))
        try:  # bounded: the bind timeout (1 s) closes an unanswered connection
            header = await asyncio.wait_for(reader.readexactly(16), 5.0)
        except asyncio.IncompleteReadError as closed:
            assert closed.partial == b""
            return None
        length = int.from_bytes(header[:4], "big")
        answer = decode(header + await asyncio.wait_for(reader.readexactly(length - 16), 5.0))
        return answer.command_id, answer.command_status
    finally:
        writer.close()


async def timed(loop: asyncio.AbstractEventLoop, answer: Awaitable[tuple[int, int] | None]
                ) -> tuple[tuple[int, int] | None, float]:
    started = loop.time()
    return await answer, loop.time() - started


async def test_failed_binds_spread_over_two_instances_meet_the_pacing_in_total(
    flushed_redis: str, tmp_path: Path,
) -> None:
    carrier = CarrierSimulator(credentials={"proxy": "secret"})
    await carrier.start("127.0.0.1", 0)
    a, b = await two_instances(flushed_redis, tmp_path, carrier, smpp=BIND_PACING)
    loop = asyncio.get_running_loop()
    try:
        assert await bind(a, "guess") == REFUSED  # a typo: answered at once
        # Each instance's own second failure would wait 0.4 s and be answered; in total
        # they are the second, third and fourth (lower bounds only).
        answer, took = await timed(loop, bind(b, "guess"))
        assert answer == REFUSED and took >= 0.4
        answer, took = await timed(loop, bind(a, "guess"))
        assert answer == REFUSED and took >= 0.8
        assert await bind(b, "guess") is None  # due after 1.6 s: closed unanswered
        # The right password from that address waits its turn like a guess: past the
        # bind timeout too, on either instance (each asks Redis: 4 failures).
        assert await bind(a, "acmepass") is None
        assert await bind(b, "acmepass") is None
        # Nobody else is harmed: another account from the address, the account from
        # another address, bind at once on either instance.
        for stack in (a, b):
            assert await bind(stack, "globex1", "globex") == BOUND
            assert await bind(stack, "acmepass", source="127.0.0.2") == BOUND
        for stack, refused in ((a, 2), (b, 1)):  # answered refusals, each where it went
            assert metric(stack.gateway.metrics, "stopgate_sender_binds_total",
                          {"outcome": "bad_password"}) == refused
    finally:
        for stack in (a, b):
            await stack.gateway.stop(timeout=2.0)
        await carrier.stop()


async def test_a_bind_on_one_instance_forgives_the_failures_counted_on_another(
    flushed_redis: str, tmp_path: Path,
) -> None:
    carrier = CarrierSimulator(credentials={"proxy": "secret"})
    await carrier.start("127.0.0.1", 0)
    a, b = await two_instances(flushed_redis, tmp_path, carrier, smpp=BIND_PACING)
    try:
        # Typos on b, enough that b leaves even the right password unanswered.
        assert [await bind(b, "typo") for _ in range(4)] == [REFUSED] * 3 + [None]
        assert await bind(b, "acmepass") is None
        # a has seen none of them: its first bind for the key is answered as a first one
        # (no Redis round trip), and the sender is bound.
        assert await bind(a, "acmepass") == BOUND
        # The account bound: forgiven on every instance (once a's word reaches Redis); b
        # asks Redis before pacing the right password by its own four failures, and binds
        # it at once.
        async with aioredis.Redis.from_url(flushed_redis) as redis:
            await eventually(lambda: _gone(redis, key(BINDS, "127.0.0.1 acme")),
                             "the shared count forgiven", 5.0)
        assert await bind(b, "acmepass") == BOUND
    finally:
        for stack in (a, b):
            await stack.gateway.stop(timeout=2.0)
        await carrier.stop()


async def _gone(redis: aioredis.Redis, name: str) -> bool:
    return not await redis.exists(name)
