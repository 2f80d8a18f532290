"""A STOP survives the gateway dying: SIGKILL of the real `stopgate serve` around a STOP.

The gateway runs as a subprocess with its own data_dir (so its own embedded
redis-server child); the carrier simulator runs in the test and redelivers an
MO that got no deliver_sm_resp. (a) The window between the STOP arriving and its
acknowledgement is held open by SIGSTOP-ing the gateway's redis-server: the
ledger commit happens, the cache write then waits forever, so the carrier is
never answered; the gateway is killed there. (b) After an acknowledged STOP, a
SIGKILL, a restart and a FLUSHALL of its Redis still block the next promotion.
Only processes this test started (the gateway, by PID, and that gateway's own
redis-server child, by PID) are ever signalled.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import psutil  # type: ignore[import-untyped]
import pytest
import redis.asyncio as aioredis

from gateway.ledger.model import DEFAULT_FILE
from simulator.carrier import CarrierSimulator
from tests.integration.policy_stack import BLOCKED, TIMEOUT, send_one, submit
from tests.integration.senders import bind_sender
from tests.integration.served import SHORTCODE, start_serve, stop_process, write_config
from tests.support.waiting import eventually

NUMBER = "+33612000077"
CONFIRM = "ACME: no more offers. Reply START to resubscribe."
BOUND = 20.0


class Served:
    """One `stopgate serve` subprocess and its redis-server child."""

    def __init__(self, process: asyncio.subprocess.Process, smpp_port: int,
                 redis: psutil.Process) -> None:
        self.process = process
        self.smpp_port = smpp_port
        self.redis = redis
        self.redis_socket = _socket_of(redis)

    async def kill(self) -> None:
        """SIGKILL the gateway; its redis-server child must follow (PR_SET_PDEATHSIG)."""
        await stop_process(self.process, BOUND)
        # A SIGSTOPped child keeps its death signal pending until it runs again.
        with contextlib.suppress(psutil.NoSuchProcess):
            if self.redis.status() == psutil.STATUS_STOPPED:
                self.redis.resume()
        gone = await asyncio.to_thread(psutil.wait_procs, [self.redis], BOUND)
        assert not gone[1], f"redis-server {self.redis.pid} outlived its gateway"


def _socket_of(redis: psutil.Process) -> str:
    """The unix socket it listens on (redis-server rewrites its own command line)."""
    paths = {c.laddr for c in redis.net_connections(kind="unix") if c.laddr}
    assert len(paths) == 1, paths
    return str(paths.pop())


async def serve(config: Path, log: Path) -> Served:
    process, smpp_port = await start_serve(config, log, BOUND)
    try:
        children = [c for c in psutil.Process(process.pid).children()
                    if "redis-server" in c.name()]
        assert len(children) == 1, children
        return Served(process, smpp_port, children[0])
    except BaseException:
        await stop_process(process, BOUND)
        raise


def events(data_dir: Path, number: str) -> list[dict[str, Any]]:
    with contextlib.closing(sqlite3.connect(
            f"file:{data_dir / DEFAULT_FILE}?mode=ro", uri=True)) as db:
        db.row_factory = sqlite3.Row
        try:
            rows = db.execute("SELECT * FROM events WHERE number = ? ORDER BY id", (number,))
            return [dict(row) for row in rows]
        except sqlite3.OperationalError:  # not created yet
            return []


def changes(data_dir: Path) -> list[tuple[str, str]]:
    return [(r["scope"], r["event"]) for r in events(data_dir, NUMBER) if r["changed"]]


def confirmations(simulator: CarrierSimulator) -> list[str]:
    return [m.text for m in simulator.messages()
            if m.destination_addr == NUMBER[1:] and m.text == CONFIRM]


@pytest.fixture
async def carrier() -> AsyncIterator[CarrierSimulator]:
    simulator = CarrierSimulator(credentials={"proxy": "secret"}, deliver_timeout=0.5,
                                 retry_delay=0.1, deliver_attempts=200)
    await simulator.start("127.0.0.1", 0)
    try:
        yield simulator
    finally:
        await simulator.stop()


@pytest.fixture
async def gateways() -> AsyncIterator[list[Served]]:
    started: list[Served] = []
    try:
        yield started
    finally:
        for served in started:
            if served.process.returncode is None or served.redis.is_running():
                await served.kill()
        for served in started:  # nothing of ours is left listening
            with pytest.raises(OSError):
                await asyncio.open_connection("127.0.0.1", served.smpp_port)
            assert not os.path.exists(served.redis_socket) or not _answers(served.redis_socket)


def _answers(path: str) -> bool:
    import socket
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(1.0)
        try:
            sock.connect(path)
        except OSError:
            return False
        return True


async def test_stop_killed_before_its_ack_is_recorded_once_after_redelivery(
    carrier: CarrierSimulator, gateways: list[Served], tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    config = write_config(tmp_path / "stopgate.toml", carrier.port, data_dir,
                          account=f'confirm_text = "{CONFIRM}"\n')
    log = tmp_path / "stopgate.log"
    first = await serve(config, log)
    gateways.append(first)
    await eventually(lambda: carrier.stats.binds >= 1, "stopgate's bind", BOUND)

    first.redis.suspend()  # SIGSTOP: the cache write after the ledger commit never ends
    await carrier.inject_mo(NUMBER, SHORTCODE, "STOP")
    await eventually(lambda: changes(data_dir) == [("acme", "optout")], "ledger commit", BOUND)
    assert carrier.stats.mos_sent >= 1 and carrier.stats.mos_acked == 0
    await first.kill()
    assert carrier.stats.mos_acked == 0, "the STOP was acknowledged before the kill"

    second = await serve(config, log)
    gateways.append(second)
    await eventually(lambda: carrier.stats.mos_acked == 1, "the redelivered STOP", BOUND)
    await asyncio.sleep(0.5)  # a confirmation, if one is coming, is sent within this
    rows = events(data_dir, NUMBER)
    assert changes(data_dir) == [("acme", "optout")]  # the state changed once
    assert [r["changed"] for r in rows] == [1, 0]  # the redelivery recorded as no change
    # At most one confirmation (SPEC); the redelivery sees no change so sends none.
    assert len(confirmations(carrier)) <= 1
    link, _ = await bind_sender(second.smpp_port)
    answer = await asyncio.wait_for(send_one(link, submit(to=NUMBER)), TIMEOUT)
    assert answer.command_status == BLOCKED
    await link.unbind()
    await second.kill()


async def test_acknowledged_stop_survives_kill_restart_and_redis_flush(
    carrier: CarrierSimulator, gateways: list[Served], tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    config = write_config(tmp_path / "stopgate.toml", carrier.port, data_dir,
                          account=f'confirm_text = "{CONFIRM}"\n')
    log = tmp_path / "stopgate.log"
    first = await serve(config, log)
    gateways.append(first)
    await eventually(lambda: carrier.stats.binds >= 1, "stopgate's bind", BOUND)
    await carrier.inject_mo(NUMBER, SHORTCODE, "Stop")
    await eventually(lambda: carrier.stats.mos_acked == 1, "STOP acknowledged", BOUND)
    await eventually(lambda: len(confirmations(carrier)) == 1, "confirmation", BOUND)
    await first.kill()

    second = await serve(config, log)
    gateways.append(second)
    client = aioredis.Redis.from_url(f"unix://{second.redis_socket}")
    try:
        await asyncio.wait_for(client.flushall(), BOUND)
    finally:
        await client.aclose()
    link, _ = await bind_sender(second.smpp_port)
    other = "+33612000078"

    async def rebuilt() -> bool:  # the opt-out blocks and someone else's promotion goes
        blocked = await asyncio.wait_for(send_one(link, submit(to=NUMBER)), TIMEOUT)
        passed = await asyncio.wait_for(send_one(link, submit(to=other)), TIMEOUT)
        return blocked.command_status == BLOCKED and passed.command_status == 0

    for _ in range(100):
        if await rebuilt():
            break
        await asyncio.sleep(0.1)
    else:
        pytest.fail("the cache was not rebuilt from the ledger after FLUSHALL")
    assert changes(data_dir) == [("acme", "optout")]
    assert len(confirmations(carrier)) == 1
    await link.unbind()
    await second.kill()
