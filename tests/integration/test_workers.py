"""`stopgate serve` with server.workers = 2: two gateway processes behind one port pair.

The real command runs as a subprocess with its own data_dir (so the parent's own
embedded redis-server) and the carrier simulator in the test. Which worker holds a
sender's session is read off /proc: the worker whose socket has the sender's
address as its peer. Only processes this test started (the parent, by PID) and
their children (workers, redis-server, by PID) are ever signalled. Waits are
bounded by generous timeouts and never measured.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import psutil  # type: ignore[import-untyped]
import pytest

from gateway.smpp_link import SmppLink
from simulator.carrier import CarrierSimulator
from smpp.constants import CommandStatus
from smpp.session import BindKind
from tests.integration.policy_stack import BLOCKED, OTP_TEXT, send_one, submit
from tests.integration.senders import Sender, bind_sender
from tests.integration.served import SHORTCODE, start_serve_ports, stop_process, write_config
from tests.support.metrics import metric
from tests.support.waiting import eventually

BOUND = 30.0  # safety net for every wait: far above what any step takes
WORKERS = 2
NUMBER = "+33612000099"
#: An explicit OTP whose text carries an offer: forwarded, counted per account (issue 12).
OTP_WITH_OFFER = "Your code is 482913. Use THANKS10 for 10% off your next order"


@dataclass
class Cluster:
    """The parent `stopgate serve`, its ports, and what it started."""

    process: asyncio.subprocess.Process
    smpp_port: int
    http_port: int
    log: Path
    links: list[SmppLink] = field(default_factory=list)

    def children(self) -> list[psutil.Process]:
        try:
            return psutil.Process(self.process.pid).children()
        except psutil.NoSuchProcess:
            return []

    def workers(self) -> list[psutil.Process]:
        return [c for c in self.children() if "redis-server" not in c.name()]

    def redis(self) -> psutil.Process:
        found = [c for c in self.children() if "redis-server" in c.name()]
        assert len(found) == 1, found
        return found[0]

    def worker_of(self, link: SmppLink) -> int:
        """The PID of the worker process holding the server end of ``link``."""
        transport = link.transport
        assert transport is not None
        client_port = transport.get_extra_info("sockname")[1]
        for worker in self.workers():
            with contextlib.suppress(psutil.Error):
                for conn in worker.net_connections(kind="tcp"):
                    if conn.laddr and conn.laddr.port == self.smpp_port and conn.raddr \
                            and conn.raddr.port == client_port:
                        return int(worker.pid)
        raise AssertionError(f"no worker holds the session from port {client_port}")

    async def bind(self, kind: BindKind = "transceiver") -> tuple[SmppLink, Sender]:
        link, sender = await bind_sender(self.smpp_port, kind=kind)
        self.links.append(link)
        return link, sender

    async def bind_on(self, pids: set[int], kind: BindKind,
                      ) -> tuple[SmppLink, Sender, int]:
        """Bind until a session lands on a worker in ``pids`` (SO_REUSEPORT picks by hash)."""
        for _ in range(64):  # all 64 on one worker of two: 2**-63
            link, sender = await self.bind(kind)
            pid = self.worker_of(link)
            if pid in pids:
                return link, sender, pid
            await asyncio.wait_for(link.unbind(), BOUND)
        raise AssertionError(f"no session landed on {pids}")

    async def metrics(self) -> str:
        async with aiohttp.ClientSession() as http, http.get(
                f"http://127.0.0.1:{self.http_port}/metrics",
                timeout=aiohttp.ClientTimeout(total=BOUND)) as response:
            assert response.status == 200
            return await response.text()


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
async def cluster(carrier: CarrierSimulator, tmp_path: Path) -> AsyncIterator[Cluster]:
    config = write_config(tmp_path / "stopgate.toml", carrier.port, tmp_path / "data",
                          workers=WORKERS, account='default_class = "auto"\n')
    log = tmp_path / "stopgate.log"
    process, smpp_port, http_port = await start_serve_ports(config, log, BOUND)
    served = Cluster(process, smpp_port, http_port, log)
    children = served.children()
    try:
        assert len(served.workers()) == WORKERS, log.read_text()
        # Every worker bound its own session to the carrier.
        await eventually(lambda: carrier.stats.binds >= WORKERS, "both carrier binds", BOUND)
        yield served
    finally:
        for link in served.links:
            link.abort()
        if process.returncode is None:
            await stop_process(process, BOUND)
        # The workers and redis-server follow a killed parent; SIGKILL the stragglers.
        children += served.children()
        _, alive = await asyncio.to_thread(psutil.wait_procs, children, BOUND)
        for child in alive:
            with contextlib.suppress(psutil.NoSuchProcess):
                child.kill()
        assert not alive, f"outlived the parent: {alive}\n{log.read_text()}"


async def test_both_workers_accept_binds_on_the_shared_port(cluster: Cluster) -> None:
    pids = {worker.pid for worker in cluster.workers()}
    first, _, first_pid = await cluster.bind_on(pids, "transceiver")
    second, _, second_pid = await cluster.bind_on(pids - {first_pid}, "transceiver")
    assert first_pid != second_pid
    for link in (first, second):  # each worker forwards
        for text in (OTP_TEXT, OTP_WITH_OFFER):
            answer = await asyncio.wait_for(send_one(link, submit(text, to=NUMBER,
                                                                  service_type="OTP")), BOUND)
            assert answer.command_status == 0
    # /metrics, whichever worker answers, counts what both did (multiprocess mode).
    expected = {
        ("stopgate_sender_sessions", (("account", "acme"), ("bind", "transceiver"))): 2,
        ("stopgate_upstream_sessions", (("state", "bound"), ("upstream", "sim"))): 2,
        ("stopgate_mt_total", (("account", "acme"), ("class", "transactional"),
                               ("outcome", "forwarded"))): 4,
        ("stopgate_mt_offer_as_transactional_total", (("account", "acme"),)): 2,
    }

    def seen(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        return {key: metric(text, key[0], **dict(key[1])) for key in expected}

    deadline = asyncio.get_running_loop().time() + BOUND
    while (got := seen(await cluster.metrics())) != expected:
        if asyncio.get_running_loop().time() > deadline:
            break
        await asyncio.sleep(0.05)
    assert got == expected
    # The operator's JSON view of the mislabel counter sums the workers too.
    async with aiohttp.ClientSession() as http, http.get(
            f"http://127.0.0.1:{cluster.http_port}/v1/reports/mislabelled",
            timeout=aiohttp.ClientTimeout(total=BOUND)) as response:
        assert response.status == 200
        assert await response.json() == {"accounts": {"acme": 2}, "total": 2}


async def test_receipt_reaches_a_receiver_bound_to_the_other_worker(
    cluster: Cluster, carrier: CarrierSimulator
) -> None:
    pids = {worker.pid for worker in cluster.workers()}
    transmitter, _, tx_pid = await cluster.bind_on(pids, "transmitter")
    _, receiver, rx_pid = await cluster.bind_on(pids - {tx_pid}, "receiver")
    # The carrier returns receipts round robin over both workers' links: those that
    # reach the transmitter's worker find no receiver there and cross through Redis.
    ids = []
    for n in range(4):
        answer = await asyncio.wait_for(send_one(transmitter, submit(
            f"{OTP_TEXT} {n}", to=NUMBER, service_type="OTP")), BOUND)
        assert answer.command_status == 0
        ids.append(answer.message_id)
    await eventually(lambda: sorted(receiver.receipt_ids()) == sorted(ids),
                     f"receipts on the receiver (worker {rx_pid})", BOUND)


async def test_opt_out_through_one_worker_blocks_promotion_on_every_worker(
    cluster: Cluster, carrier: CarrierSimulator
) -> None:
    pids = {worker.pid for worker in cluster.workers()}
    first, _, first_pid = await cluster.bind_on(pids, "transmitter")
    second, _, _ = await cluster.bind_on(pids - {first_pid}, "transmitter")
    for link in (first, second):  # suppression state known on both before the STOP
        for _ in range(200):
            answer = await asyncio.wait_for(send_one(link, submit(to="+33612000098")), BOUND)
            if answer.command_status == 0:
                break
            await asyncio.sleep(0.05)
        assert answer.command_status == 0
    # The STOP reaches one worker (the carrier link it arrives on); it is acknowledged
    # once recorded, and from then on it holds for every worker.
    await carrier.inject_mo(NUMBER, SHORTCODE, "STOP")
    await eventually(lambda: carrier.stats.mos_acked == 1, "the STOP acknowledged", BOUND)
    for link in (first, second):
        answer = await asyncio.wait_for(send_one(link, submit(to=NUMBER)), BOUND)
        assert answer.command_status == BLOCKED
        answer = await asyncio.wait_for(send_one(link, submit(
            OTP_TEXT, to=NUMBER, service_type="OTP")), BOUND)
        assert answer.command_status == 0  # transactional traffic still passes


async def test_a_killed_worker_is_restarted_and_service_continues(cluster: Cluster) -> None:
    pids = {worker.pid for worker in cluster.workers()}
    link, _, victim = await cluster.bind_on(pids, "transceiver")
    psutil.Process(victim).send_signal(signal.SIGKILL)
    await asyncio.wait_for(link.closed, BOUND)

    def replaced() -> bool:
        now = {worker.pid for worker in cluster.workers()}
        return len(now) == WORKERS and victim not in now

    await eventually(replaced, "a new worker in place of the killed one", BOUND)
    assert cluster.process.returncode is None
    fresh = {worker.pid for worker in cluster.workers()} - pids
    # The new worker takes sessions and forwards; the other one never stopped.
    for target in (fresh, pids - {victim}):
        again, _, _ = await cluster.bind_on(target, "transceiver")
        for _ in range(200):  # a fresh worker listens before its carrier link is bound:
            answer = await asyncio.wait_for(send_one(again, submit(  # until then, 0x58
                OTP_TEXT, to=NUMBER, service_type="OTP")), BOUND)
            if answer.command_status != CommandStatus.ESME_RTHROTTLED:
                break
            await asyncio.sleep(0.05)
        assert answer.command_status == 0
    assert "killed by SIGKILL" in cluster.log.read_text()


async def test_sigterm_stops_every_worker_and_the_embedded_redis_then_exits_0(
    cluster: Cluster,
) -> None:
    link, _ = await cluster.bind()
    processes = [*cluster.workers(), cluster.redis()]
    cluster.process.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(cluster.process.wait(), BOUND) == 0, cluster.log.read_text()
    await asyncio.wait_for(link.closed, BOUND)
    _, alive = await asyncio.to_thread(psutil.wait_procs, processes, BOUND)
    assert not alive
    with pytest.raises(OSError):  # nobody listens any more
        await asyncio.open_connection("127.0.0.1", cluster.smpp_port)


async def test_workers_do_not_outlive_a_killed_parent(cluster: Cluster) -> None:
    processes = [*cluster.workers(), cluster.redis()]
    cluster.process.send_signal(signal.SIGKILL)
    await asyncio.wait_for(cluster.process.wait(), BOUND)
    _, alive = await asyncio.to_thread(psutil.wait_procs, processes, BOUND)
    assert not alive
