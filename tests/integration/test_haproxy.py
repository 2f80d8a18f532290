"""Two real `stopgate serve` instances behind Debian's HAProxy, natively, on loopback.

The topology of README "Running several instances" (and of
deploy/several-instances/), without a container engine: HAProxy in TCP mode in
front of two instances that share one Redis and one ledger, sending PROXY v2 on
the SMPP listeners and v1 on the HTTP ones, with health checks. What it shows:
connections spread over both instances and each instance sees the real client
(its port, not HAProxy's), an opt-out taken by one instance blocks the next
promotion sent through the other, and a SIGKILLed instance is taken out of the
rotation: its senders bind again through the same address and are served.

HAProxy comes from the distribution (`make test` installs it as root with
apt-get, as it does Chromium); without it the tests say how to get it and skip.
Only processes this module started are signalled, by their PID.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
import socket
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
import yaml

from simulator.carrier import CarrierSimulator
from tests.integration.policy_stack import (
    BLOCKED,
    OTHER_FR,
    OTP_TEXT,
    PROMO_TEXT,
    send_one,
    submit,
)
from tests.integration.senders import bind_sender
from tests.integration.served import SHORTCODE, start_serve_ports, stop_process, write_config
from tests.support.metrics import metric
from tests.support.waiting import eventually, within

BOUND = 20.0
NUMBER = "+33612000091"


def haproxy_binary() -> str | None:
    """Debian installs it in /usr/sbin, which is not on every user's PATH."""
    return shutil.which("haproxy") or next(
        (p for p in ("/usr/sbin/haproxy", "/usr/local/sbin/haproxy") if Path(p).exists()), None)


pytestmark = pytest.mark.skipif(
    haproxy_binary() is None,
    reason="HAProxy is not installed: `make test` installs Debian's haproxy package when run "
           "as root with apt-get; otherwise `sudo apt-get install haproxy`")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Instance:
    name: str
    process: asyncio.subprocess.Process
    smpp_port: int
    http_port: int
    log: Path

    def bound_peers(self) -> list[str]:
        """The peer of every sender_bound line in this instance's log."""
        return re.findall(r"sender_bound: .*? peer=(\S+)", self.log.read_text())

    async def get(self, path: str) -> tuple[int, str]:
        """GET ``path`` straight from this instance, as HAProxy would ask: its HTTP
        listener expects a PROXY header first. (status, body)"""
        reader, writer = await asyncio.open_connection("127.0.0.1", self.http_port)
        try:
            writer.write(b"PROXY TCP4 127.0.0.1 127.0.0.1 40000 8080\r\n"
                         + f"GET {path} HTTP/1.0\r\nHost: stopgate\r\n\r\n".encode())
            answer = (await reader.read()).decode()
        finally:
            writer.close()
        head, _, body = answer.partition("\r\n\r\n")
        return int(head.split()[1]), body

    async def scrape(self) -> str:
        status, body = await self.get("/metrics")
        assert status == 200, body
        return body

    async def ready(self) -> bool:
        """/readyz says 200: among others, a carrier session of its own can transmit."""
        return (await self.get("/readyz"))[0] == 200


@dataclass
class Topology:
    instances: list[Instance]
    smpp_port: int  # HAProxy's SMPP frontend
    http_port: int  # HAProxy's HTTP frontend
    haproxy: asyncio.subprocess.Process
    carrier: CarrierSimulator


HAPROXY_CFG = """
global
    maxconn 512

defaults
    mode tcp
    timeout connect 2s
    timeout client 60s
    timeout server 60s

frontend smpp
    bind 127.0.0.1:{smpp}
    default_backend stopgate_smpp

backend stopgate_smpp
    balance roundrobin
    # The health check connects and sends a PROXY v2 LOCAL header, which stopgate accepts.
    server a 127.0.0.1:{a_smpp} send-proxy-v2 check check-send-proxy inter 500ms fall 3 rise 1
    server b 127.0.0.1:{b_smpp} send-proxy-v2 check check-send-proxy inter 500ms fall 3 rise 1

frontend http
    bind 127.0.0.1:{http}
    default_backend stopgate_http

backend stopgate_http
    balance roundrobin
    option httpchk GET /healthz
    server a 127.0.0.1:{a_http} send-proxy check check-send-proxy inter 500ms fall 3 rise 1
    server b 127.0.0.1:{b_http} send-proxy check check-send-proxy inter 500ms fall 3 rise 1
"""


async def _haproxy_up(port: int) -> bool:
    with contextlib.suppress(OSError):
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.close()
        return True
    return False


@pytest.fixture
async def topology(redis_url: str, tmp_path: Path) -> AsyncIterator[Topology]:
    carrier = CarrierSimulator(credentials={"proxy": "secret"}, deliver_timeout=0.5,
                               retry_delay=0.1)
    await carrier.start("127.0.0.1", 0)
    instances: list[Instance] = []
    haproxy: asyncio.subprocess.Process | None = None
    ledger = tmp_path / "shared-ledger.sqlite3"
    try:
        for name in ("a", "b"):
            config = write_config(
                tmp_path / f"{name}.toml", carrier.port, tmp_path / name, redis_url=redis_url,
                storage=f'ledger = "sqlite://{ledger}"\n',
                smpp="proxy_protocol = true\n",
                account='default_class = "auto"\n',
                tail="[http]\nproxy_protocol = true\n",
                sessions=2)  # in total: one carrier bind per instance
            log = tmp_path / f"{name}.log"
            process, smpp_port, http_port = await start_serve_ports(config, log, BOUND)
            instances.append(Instance(name, process, smpp_port, http_port, log))
        a, b = instances
        smpp, http = free_port(), free_port()
        cfg = tmp_path / "haproxy.cfg"
        cfg.write_text(HAPROXY_CFG.format(smpp=smpp, http=http, a_smpp=a.smpp_port,
                                          b_smpp=b.smpp_port, a_http=a.http_port,
                                          b_http=b.http_port))
        binary = haproxy_binary()
        assert binary is not None
        check = await asyncio.create_subprocess_exec(
            binary, "-c", "-f", str(cfg), stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT)
        out, _ = await within(check.communicate(), BOUND)
        assert check.returncode == 0, out.decode()
        with (tmp_path / "haproxy.log").open("ab") as err:
            haproxy = await asyncio.create_subprocess_exec(
                binary, "-db", "-f", str(cfg), stdout=err, stderr=err)
        await eventually(lambda: _haproxy_up(smpp), "HAProxy listening", BOUND)
        for instance in instances:  # each holds its share of the carrier sessions
            await eventually(instance.ready, f"instance {instance.name} ready", BOUND)
        yield Topology(instances, smpp, http, haproxy, carrier)
    finally:
        if haproxy is not None:
            await stop_process(haproxy, BOUND)
        for instance in instances:
            await stop_process(instance.process, BOUND)
        await carrier.stop()


def _peers(topology: Topology) -> dict[str, list[str]]:
    return {i.name: i.bound_peers() for i in topology.instances}


async def test_binds_spread_over_both_instances_and_each_sees_the_real_client(
    topology: Topology,
) -> None:
    links = []
    try:
        for _ in range(4):
            link, _sender = await bind_sender(topology.smpp_port)
            links.append(link)
        await eventually(lambda: sum(map(len, _peers(topology).values())) == 4,
                         "four sender_bound lines", BOUND)
        peers = _peers(topology)
        # Round robin gives each two, unless a health check failed on this loaded machine
        # meanwhile: both must have served some.
        assert all(peers.values()), peers
        # Each instance logs the sender's own address (from PROXY v2), not HAProxy's.
        clients = {f"127.0.0.1:{link.transport.get_extra_info('sockname')[1]}"
                   for link in links}
        assert set(peers["a"]) | set(peers["b"]) == clients
        for link in links:  # and every bind is served: an OTP goes through either instance
            answer = await within(send_one(link, submit(OTP_TEXT, to=OTHER_FR,
                                                        service_type="OTP")), BOUND)
            assert answer.command_status == 0, answer
    finally:
        for link in links:
            link.abort()


async def test_an_opt_out_taken_by_one_instance_blocks_promotions_through_the_other(
    topology: Topology,
) -> None:
    await topology.carrier.inject_mo(NUMBER, SHORTCODE, "STOP")
    await eventually(lambda: topology.carrier.stats.mos_acked == 1, "STOP acknowledged", BOUND)
    first, second = (await bind_sender(topology.smpp_port))[0], \
        (await bind_sender(topology.smpp_port))[0]
    try:
        await eventually(lambda: all(_peers(topology).values()), "a bind on each", BOUND)
        for link in (first, second):  # one bind per instance (round robin)
            answer = await within(send_one(link, submit(to=NUMBER)), BOUND)
            assert answer.command_status == BLOCKED
            other = await within(send_one(link, submit(to=OTHER_FR)), BOUND)
            assert other.command_status == 0
        promotions = {m.destination_addr for m in topology.carrier.messages()
                      if m.text.startswith(PROMO_TEXT)}
        assert promotions == {OTHER_FR[1:]}
    finally:
        first.abort()
        second.abort()


async def test_http_through_haproxy_is_answered_by_both_instances(topology: Topology) -> None:
    """HAProxy prefixes each HTTP connection with a PROXY v1 line: only a listener that
    reads it (http.proxy_protocol) answers these requests at all."""
    timeout = aiohttp.ClientTimeout(total=BOUND)
    # A connection per request, so HAProxy's round robin sees every one.
    connector = aiohttp.TCPConnector(force_close=True)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        for _ in range(4):
            async with http.post(
                f"http://127.0.0.1:{topology.http_port}/v1/messages",
                json={"from": "ACME", "to": OTHER_FR, "text": OTP_TEXT,
                      "class": "transactional"},
                headers={"Authorization": "Bearer acme-key"},
            ) as response:
                assert response.status == 202, await response.text()
    for instance in topology.instances:  # both instances forwarded two each
        body = await within(instance.scrape(), BOUND)
        assert metric(body, "stopgate_mt_total", account="acme",
                      outcome="forwarded") == 2, (instance.name, body)


async def test_a_killed_instance_leaves_the_rotation_and_its_senders_bind_again(
    topology: Topology,
) -> None:
    a = topology.instances[0]
    links = [(await bind_sender(topology.smpp_port))[0] for _ in range(2)]
    try:
        await eventually(lambda: len(a.bound_peers()) == 1, "one sender on a", BOUND)
        await stop_process(a.process, BOUND)  # SIGKILL
        # Senders reconnect through the same address until they are served: HAProxy
        # takes a out after its failed checks (fall 3, every 500 ms).
        served = 0
        for _ in range(4):
            async def bound_and_sent() -> bool:
                try:
                    link, _ = await bind_sender(topology.smpp_port)
                except (TimeoutError, OSError, ConnectionError):
                    return False
                try:
                    answer = await within(send_one(link, submit(
                        OTP_TEXT, to=OTHER_FR, service_type="OTP")), BOUND)
                    return answer.command_status == 0
                except (TimeoutError, ConnectionError):
                    return False
                finally:
                    link.abort()
            await eventually(bound_and_sent, "a bind served after the kill", BOUND)
            served += 1
        assert served == 4
        assert len(topology.instances[1].bound_peers()) >= 5
    finally:
        for link in links:
            link.abort()



async def test_the_compose_stacks_health_check_passes_on_a_proxy_protocol_listener(
    topology: Topology,
) -> None:
    """deploy/several-instances' health check (a PROXY UNKNOWN header, then GET /healthz),
    run as is against a real instance whose HTTP listener expects the header."""
    compose = Path(__file__).resolve().parents[2] / "deploy/several-instances/docker-compose.yml"
    stack = yaml.safe_load(compose.read_text())
    argv = stack["services"]["stopgate-a"]["healthcheck"]["test"]
    assert argv[:3] == ["CMD", "python", "-c"]
    code = argv[3].replace("8080", str(topology.instances[0].http_port))
    check = await asyncio.create_subprocess_exec(sys.executable, "-c", code)
    assert await within(check.wait(), BOUND) == 0
    broken = await asyncio.create_subprocess_exec(  # without the header: refused
        sys.executable, "-c", code.replace("PROXY UNKNOWN\\r\\n", ""),
        stderr=asyncio.subprocess.DEVNULL)
    assert await within(broken.wait(), BOUND) != 0
