"""Behind a load balancer: PROXY protocol v1/v2 on the SMPP and HTTP listeners, and
X-Forwarded-For from trusted L7 proxies, end to end on loopback.

The tests play the balancer: a raw socket sends the PROXY header, then the same socket
carries SMPP (an SmppLink ESME, plain or over TLS) or HTTP. Every refusal shows the
close, the log line and the metric, and that a sender bound meanwhile still sends.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
import ssl
import struct
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from gateway.proxy_protocol import V2_SIGNATURE
from gateway.smpp_link import BindError, LinkOptions, SmppLink
from smpp.codec import encode
from smpp.constants import CommandStatus
from smpp.pdu import BindTransceiver, SubmitSmResp
from smpp.session import Role
from tests.integration.conftest import ACME, GLOBEX, Stack
from tests.integration.senders import RawSmpp, Sender, bind_sender, message, running_stack
from tests.support.metrics import metric
from tests.support.tls import Pki
from tests.support.waiting import eventually, within

TIMEOUT = 5.0
ERRORS = "stopgate_proxy_protocol_errors_total"
BINDS = "stopgate_sender_binds_total"


def v1(source: str, port: int = 40000) -> bytes:
    family = "TCP6" if ":" in source else "TCP4"
    destination = "2001:db8::1" if family == "TCP6" else "10.0.0.1"
    return f"PROXY {family} {source} {destination} {port} 2775\r\n".encode()


def v2(source: str | None, port: int = 40000) -> bytes:
    """A v2 PROXY header for ``source`` (None: LOCAL, the balancer's own check)."""
    if source is None:
        return V2_SIGNATURE + b"\x20\x00\x00\x00"
    address = ipaddress.ip_address(source)
    destination = ipaddress.ip_address("2001:db8::1" if address.version == 6 else "10.0.0.1")
    body = address.packed + destination.packed + struct.pack("!HH", port, 2775)
    body += b"\x04\x00\x03abc"  # a NOOP TLV: ignored
    family = 0x21 if address.version == 6 else 0x11
    return V2_SIGNATURE + bytes([0x21, family]) + struct.pack("!H", len(body)) + body


async def proxied_socket(port: int, header: bytes) -> socket.socket:
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setblocking(False)
    await loop.sock_connect(sock, ("127.0.0.1", port))
    await loop.sock_sendall(sock, header)
    return sock


async def proxied_bind(port: int, header: bytes, system_id: str = "acme",
                       password: str = "acmepass", *,
                       tls: ssl.SSLContext | None = None) -> tuple[SmppLink, Sender]:
    """A sender behind the balancer: ``header``, then (TLS and) a bind on that socket."""
    sock = await proxied_socket(port, header)
    sender = Sender()
    _, link = await within(asyncio.get_running_loop().create_connection(
        lambda: SmppLink(Role.ESME, sender, LinkOptions(
            window=10, response_timeout=TIMEOUT, enquire_link_interval=None,
            idle_timeout=None)),
        sock=sock, ssl=tls, server_hostname="localhost" if tls else None), TIMEOUT)
    try:
        await within(link.bind("transceiver", system_id, password), TIMEOUT)
    except BaseException:
        link.abort()
        raise
    return link, sender


async def sends(link: SmppLink) -> None:
    answer = await within(link.send(message("through the balancer")), TIMEOUT)
    assert isinstance(answer, SubmitSmResp)
    assert answer.command_status == CommandStatus.ESME_ROK


@contextlib.asynccontextmanager
async def balanced(redis_url: str, tmp_path: Path, pki: Pki | None = None,
                   **smpp: Any) -> AsyncIterator[Stack]:
    sections: dict[str, Any] = {
        "accounts": [ACME, GLOBEX],
        "smpp": {"proxy_protocol": True, "failed_bind_delay": 0.05,
                 "failed_bind_delay_max": 0.2, **smpp},
    }
    if pki is not None:
        sections["server"] = {"smpp_tls_listen": "127.0.0.1:0",
                              "tls_cert": str(pki.server.cert), "tls_key": str(pki.server.key)}
    async with running_stack(redis_url, tmp_path / "data", **sections) as stack:
        yield stack


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return Pki(tmp_path / "pki")


@pytest.fixture(autouse=True)
def info_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)


def refusals(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if getattr(r, "event", "") == "proxy_protocol_refused"]


def bound_peers(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [str(field(r, "peer")) for r in caplog.records
            if getattr(r, "event", "") == "sender_bound"]


def field(record: logging.LogRecord, name: str) -> object:
    return getattr(record, "fields", {}).get(name)


# --- SMPP ------------------------------------------------------------------------------


@pytest.mark.parametrize(("header", "peer"), [
    (v1("198.51.100.7"), "198.51.100.7:40000"),
    (v1("2001:db8::7", 40001), "2001:db8::7:40001"),
    (v2("198.51.100.8", 40002), "198.51.100.8:40002"),
    (v2("2001:db8::8", 40003), "2001:db8::8:40003"),
])
async def test_smpp_session_is_the_proxied_client(
        flushed_redis: str, tmp_path: Path, pki: Pki, caplog: pytest.LogCaptureFixture,
        header: bytes, peer: str) -> None:
    async with balanced(flushed_redis, tmp_path, pki) as stack:
        for tls, port in ((None, stack.smpp_port),
                          (pki.client_context(), stack.gateway.smpp_tls_port)):
            assert port
            link, _ = await proxied_bind(port, header, tls=tls)
            await sends(link)
            await link.unbind()
            assert bound_peers(caplog)[-1] == peer
        assert metric(stack, ERRORS) == 0


async def test_smpp_local_keeps_the_socket_peer(
        flushed_redis: str, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    async with balanced(flushed_redis, tmp_path) as stack:
        link, _ = await proxied_bind(stack.smpp_port, v2(None))
        await sends(link)
        await link.unbind()
        assert bound_peers(caplog)[-1].startswith("127.0.0.1:")


async def test_per_address_cap_counts_the_proxied_client(
        flushed_redis: str, tmp_path: Path, pki: Pki) -> None:
    """One balancer address, two clients: each has its own allowance; one of them twice
    is over it, over plain and TLS alike."""
    async with balanced(flushed_redis, tmp_path, pki, max_sessions_per_address=1) as stack:
        tls_port = stack.gateway.smpp_tls_port
        assert tls_port
        first, _ = await proxied_bind(stack.smpp_port, v1("198.51.100.1"))
        second, _ = await proxied_bind(tls_port, v2("198.51.100.2"), "globex", "globex1",
                                       tls=pki.client_context())
        with pytest.raises(BindError) as refused:
            await proxied_bind(stack.smpp_port, v2("198.51.100.1", 40009), "globex",
                               "globex1")
        assert refused.value.status == CommandStatus.ESME_RBINDFAIL
        with pytest.raises(BindError):
            await proxied_bind(tls_port, v1("198.51.100.2", 40010), tls=pki.client_context())
        assert metric(stack, BINDS, outcome="too_many_from_address") == 2
        await sends(first)
        await sends(second)
        await first.unbind()
        await second.unbind()


async def test_bind_pacing_is_per_proxied_client(
        flushed_redis: str, tmp_path: Path) -> None:
    """A wrong password slows its own client behind the balancer, not its neighbour."""
    async with balanced(flushed_redis, tmp_path, failed_bind_delay=2.0,
                        failed_bind_delay_max=2.0) as stack:
        for _ in range(2):
            with pytest.raises(BindError):
                await proxied_bind(stack.smpp_port, v1("198.51.100.66"), "acme", "wrong")
        loop = asyncio.get_running_loop()
        started = loop.time()
        link, _ = await proxied_bind(stack.smpp_port, v1("198.51.100.67"))
        assert loop.time() - started < 1.0
        await link.unbind()
        started = loop.time()
        with pytest.raises(BindError):
            await proxied_bind(stack.smpp_port, v1("198.51.100.66"), "acme", "wrong")
        assert loop.time() - started >= 1.5


@pytest.mark.parametrize(("data", "reason"), [
    (encode(BindTransceiver(system_id="acme", password="acmepass")), "missing"),
    (b"PROXY TCP4 198.51.100.7 10.0.0.1 99999 2775\r\n", "malformed"),
    (b"PROXY UDP4 198.51.100.7 10.0.0.1 1 2775\r\n", "unsupported"),
    (V2_SIGNATURE + b"\x21\x11\x00\x0c" + b"\x01\x02", "timeout"),  # truncated, then silent
    (b"PROXY TCP4 198.51.", "timeout"),
    (b"", "timeout"),
])
async def test_smpp_connection_without_a_valid_header_is_closed(
        flushed_redis: str, tmp_path: Path, caplog: pytest.LogCaptureFixture,
        data: bytes, reason: str) -> None:
    async with balanced(flushed_redis, tmp_path, bind_timeout=0.5) as stack:
        bystander, _ = await proxied_bind(stack.smpp_port, v1("198.51.100.9"))
        raw = await RawSmpp.open(stack.smpp_port)
        await raw.send(data)
        assert await raw.closed_by_peer()
        await eventually(lambda: metric(stack, ERRORS, listener="smpp", reason=reason) == 1,
                         "the refusal counted")
        [line] = refusals(caplog)
        assert line.levelno == logging.INFO and line.exc_info is None
        assert field(line, "listener") == "smpp" and field(line, "reason") == reason
        assert str(field(line, "peer")).startswith("127.0.0.1:")
        await sends(bystander)
        await bystander.unbind()


async def test_smpp_client_leaving_midway_is_counted_closed(
        flushed_redis: str, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    async with balanced(flushed_redis, tmp_path) as stack:
        raw = await RawSmpp.open(stack.smpp_port)
        await raw.send(b"PROXY TCP4 198.51.")
        raw.writer.close()
        await eventually(lambda: metric(stack, ERRORS, listener="smpp", reason="closed") == 1,
                         "the refusal counted")
        assert [field(r, "reason") for r in refusals(caplog)] == ["closed"]


async def test_tls_listener_needs_the_header_before_the_handshake(
        flushed_redis: str, tmp_path: Path, pki: Pki, caplog: pytest.LogCaptureFixture) -> None:
    async with balanced(flushed_redis, tmp_path, pki) as stack:
        assert stack.gateway.smpp_tls_port
        with pytest.raises((BindError, OSError, ssl.SSLError, asyncio.TimeoutError)):
            await bind_sender(stack.gateway.smpp_tls_port, ssl=pki.client_context())
        await eventually(lambda: metric(stack, ERRORS, listener="smpp", reason="missing") == 1,
                         "the refusal counted")


async def test_smpp_proxy_protocol_off_a_header_is_a_protocol_error(
        stack: Stack, caplog: pytest.LogCaptureFixture) -> None:
    raw = await RawSmpp.open(stack.smpp_port)
    await raw.send(v1("198.51.100.7"))
    # "PROX" read as a command_length far over max_pdu_size: generic_nack, then closed.
    _, command_id, status, _ = await raw.read_header()
    assert (command_id, status) == (0x80000000, CommandStatus.ESME_RINVCMDLEN)
    assert await raw.closed_by_peer()
    assert metric(stack, ERRORS) == 0
    assert not refusals(caplog)
    link, _ = await bind_sender(stack.smpp_port)
    await sends(link)
    await link.unbind()


# --- HTTP -------------------------------------------------------------------------------

NUMBER = "+33612345678"


async def http_get(port: int, path: str, *, header: bytes = b"",
                   headers: dict[str, str] | None = None,
                   tls: ssl.SSLContext | None = None) -> tuple[int, bytes]:
    """One GET on a fresh connection (after ``header``, as a balancer would): status, body."""
    sock = await proxied_socket(port, header)
    reader, writer = await within(asyncio.open_connection(
        sock=sock, ssl=tls, server_hostname="localhost" if tls else None), TIMEOUT)
    lines = [f"GET {path} HTTP/1.1", "Host: stopgate", "Connection: close",
             *(f"{name}: {value}" for name, value in (headers or {}).items())]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    answer = await within(reader.read(), TIMEOUT)
    writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


async def hold(port: int, header: bytes,
               tls: ssl.SSLContext | None) -> asyncio.StreamWriter:
    """A kept-alive connection, answered once: it holds its place against the caps."""
    sock = await proxied_socket(port, header)
    reader, writer = await within(asyncio.open_connection(
        sock=sock, ssl=tls, server_hostname="localhost" if tls else None), TIMEOUT)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: stopgate\r\n\r\n")
    head = await within(reader.readuntil(b"\r\n\r\n"), TIMEOUT)
    assert head.startswith(b"HTTP/1.1 200")
    return writer


@contextlib.asynccontextmanager
async def http_stack(redis_url: str, tmp_path: Path, pki: Pki | None = None,
                     **http: Any) -> AsyncIterator[Stack]:
    if pki is not None:
        http = {"tls_cert": str(pki.server.cert), "tls_key": str(pki.server.key), **http}
    async with running_stack(redis_url, tmp_path / "data", http=http) as stack:
        yield stack


@pytest.mark.parametrize("secure", [False, True], ids=["http", "https"])
async def test_http_behind_the_balancer(flushed_redis: str, tmp_path: Path, pki: Pki,
                                        caplog: pytest.LogCaptureFixture,
                                        secure: bool) -> None:
    """Each header form is accepted; the per-address cap counts the proxied client; a
    connection without a header is closed, logged and counted while the others go on."""
    tls = pki.client_context() if secure else None
    async with http_stack(flushed_redis, tmp_path, pki if secure else None,
                          proxy_protocol=True, max_connections_per_address=1,
                          header_timeout=1.0) as stack:
        port = stack.gateway.http_port
        for header in (v1("198.51.100.7"), v1("2001:db8::7"), v2("198.51.100.8"),
                       v2("2001:db8::8"), v2(None)):
            assert (await http_get(port, "/healthz", header=header, tls=tls))[0] == 200
        # 198.51.100.1 holds its one connection (header sent, nothing else yet)...
        held = await hold(port, v2("198.51.100.1"), tls)
        # ...so its second one is refused (503 in plaintext; closed before TLS over HTTPS)...
        if secure:
            with pytest.raises((OSError, ssl.SSLError, asyncio.IncompleteReadError)):
                await http_get(port, "/healthz", header=v1("198.51.100.1"), tls=tls)
        else:
            status, body = await http_get(port, "/healthz", header=v1("198.51.100.1"))
            assert status == 503 and b"too_many_connections" in body
        closed = "stopgate_http_connections_closed_total"
        assert metric(stack, closed, reason="max_connections_per_address") == 1
        # ...while a neighbour behind the same balancer has its own allowance.
        assert (await http_get(port, "/healthz", header=v1("198.51.100.2"), tls=tls))[0] == 200
        held.close()
        # No header: closed unanswered, logged once, counted; nothing else is touched.
        raw = await RawSmpp.open(port)
        await raw.send(b"GET /healthz HTTP/1.1\r\nHost: stopgate\r\n\r\n")
        assert await raw.closed_by_peer()
        await eventually(lambda: metric(stack, ERRORS, listener="http", reason="missing") == 1,
                         "the refusal counted")
        [line] = refusals(caplog)
        assert field(line, "listener") == "http" and field(line, "reason") == "missing"
        assert (await http_get(port, "/healthz", header=v1("198.51.100.3"), tls=tls))[0] == 200


async def test_http_proxy_protocol_off_a_header_is_a_bad_request(stack: Stack) -> None:
    raw = await RawSmpp.open(stack.gateway.http_port)
    await raw.send(v1("198.51.100.7") + b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    answer = await within(raw.reader.read(), TIMEOUT)
    assert answer.split(b" ", 2)[1] == b"400" and b"bad_request" in answer
    assert metric(stack, ERRORS) == 0


PACED: dict[str, Any] = {"failed_auth_delay": 0, "failed_auth_limit": 2, "failed_auth_window": 60}


@pytest.mark.parametrize(("trusted", "honoured"), [
    (["127.0.0.0/8"], True), (["10.0.0.0/8"], False)], ids=["trusted", "untrusted"])
async def test_failed_auth_pacing_sees_the_forwarded_client_of_trusted_proxies_only(
        flushed_redis: str, tmp_path: Path, trusted: list[str], honoured: bool) -> None:
    async with http_stack(flushed_redis, tmp_path, trusted_proxies=trusted, **PACED) as stack:
        port = stack.gateway.http_port

        async def wrong_key(client: str) -> int:
            return (await http_get(port, f"/v1/suppressions/{NUMBER}", headers={
                "Authorization": "Bearer wrong-key",
                # the proxy appends its peer: the right-most untrusted one is the client
                "X-Forwarded-For": f"192.0.2.1, {client}, 127.0.0.9"}))[0]

        assert [await wrong_key("203.0.113.5") for _ in range(3)] == [401, 401, 429]
        # Another client behind the same proxy: its own count when the proxy is trusted.
        assert await wrong_key("203.0.113.6") == (401 if honoured else 429)


@pytest.mark.parametrize(("trusted", "honoured"), [
    (["127.0.0.0/8"], True), (["10.0.0.0/8"], False)], ids=["trusted", "untrusted"])
async def test_link_guessing_limit_sees_the_forwarded_client_of_trusted_proxies_only(
        flushed_redis: str, tmp_path: Path, trusted: list[str], honoured: bool) -> None:
    from gateway.http.optout import GUESS_BURST

    async with http_stack(flushed_redis, tmp_path, trusted_proxies=trusted) as stack:
        port = stack.gateway.http_port

        async def guess(client: str, n: int) -> int:
            return (await http_get(port, f"/o/{'A' * 11}{n % 10}",
                                   headers={"X-Forwarded-For": client}))[0]

        statuses = [await guess("203.0.113.5", n) for n in range(GUESS_BURST + 1)]
        assert statuses == [404] * GUESS_BURST + [429]
        assert await guess("203.0.113.6", 0) == (404 if honoured else 429)
