"""HTTPS on the HTTP listener (``[http] tls_cert``/``tls_key``): the API and the opt-out
page over TLS for a client that trusts the gateway's CA, and every way a connection is
refused there — plain HTTP on the HTTPS port, a client that does not trust the
certificate, a client that never finishes its handshake, too many connections — each
with its log line and metric, while the other clients go on being served.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import psutil
import pytest

from simulator.carrier import CarrierSimulator
from tests.gateway.suppression.test_webhooks import SECRET, Receiver, serving, verify
from tests.integration.conftest import Stack
from tests.integration.policy_stack import TIMEOUT, policy_stack, post_message
from tests.integration.served import start_serve_ports, stop_process, write_config
from tests.integration.test_optout_page import GB, get_page, link_for, suppressed
from tests.support.metrics import metric
from tests.support.tls import Pki
from tests.support.waiting import eventually

ACCOUNTS = [{"system_id": "acme", "password": "acmepass", "api_key": "acme-key",
             "default_region": "FR", "numbers": ["36173"], "display_name": "ACME Shoes"}]
HEADER_TIMEOUT = 0.5


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return Pki(tmp_path / "pki")


@pytest.fixture
async def stack(flushed_redis: str, tmp_path: Path, pki: Pki) -> AsyncIterator[Stack]:
    http = {"tls_cert": str(pki.server.cert), "tls_key": str(pki.server.key),
            "header_timeout": HEADER_TIMEOUT, "max_connections_per_address": 3,
            "failed_auth_delay": 0.01, "failed_auth_delay_max": 0.05}
    async with policy_stack(flushed_redis, tmp_path / "gw", accounts=ACCOUNTS,
                            http=http) as running:
        yield running


@pytest.fixture
async def http(pki: Pki) -> AsyncIterator[aiohttp.ClientSession]:
    """A client that trusts the test CA (as a sender's system trusting the operator's)."""
    connector = aiohttp.TCPConnector(ssl=pki.client_context())
    async with aiohttp.ClientSession(connector=connector,
                                     timeout=aiohttp.ClientTimeout(total=TIMEOUT),
                                     cookie_jar=aiohttp.DummyCookieJar()) as session:
        yield session


def failures(stack: Stack, reason: str) -> float:
    return metric(stack, "stopgate_tls_handshake_failures_total", link="http", reason=reason)


def closed(stack: Stack, reason: str) -> float:
    return metric(stack, "stopgate_http_connections_closed_total", reason=reason)


def handshake_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if getattr(r, "event", None) == "tls_handshake_failed"]


async def healthy(http: aiohttp.ClientSession, stack: Stack) -> None:
    """Other clients are unharmed: the API answers over HTTPS."""
    status, body = await post_message(http, stack, {"to": "+33612345670", "from": "ACME",
                                                    "text": "Your code is 1234",
                                                    "class": "transactional"})
    assert status == 202, body


async def test_the_api_and_the_optout_page_over_https(
        stack: Stack, http: aiohttp.ClientSession, pki: Pki) -> None:
    assert stack.http_url.startswith("https://")
    token = await link_for(http, stack, GB)  # POST /v1/messages over HTTPS
    status, page, headers = await get_page(http, stack, f"/o/{token}")
    assert status == 200 and "ACME Shoes" in page
    assert headers["Server"] == "stopgate"
    # The certificate served is the configured one, and the protocol TLS 1.2 or later.
    _, writer = await asyncio.open_connection(
        "127.0.0.1", stack.gateway.http_port, ssl=pki.client_context(),
        server_hostname="127.0.0.1")
    tls = writer.get_extra_info("ssl_object")
    assert isinstance(tls, ssl.SSLObject)
    served = tls.getpeercert(binary_form=True)
    assert served == ssl.PEM_cert_to_DER_cert(pki.server.cert.read_text())
    assert tls.version() in ("TLSv1.2", "TLSv1.3")
    writer.close()
    assert await suppressed(stack, GB) == []
    assert failures(stack, "unknown_ca") == 0 and failures(stack, "protocol") == 0


async def test_plain_http_on_the_https_port_is_refused_and_counted(
        stack: Stack, http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="stopgate.tls")
    plain = f"http://127.0.0.1:{stack.gateway.http_port}/healthz"
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT)) as client:
        with pytest.raises(aiohttp.ClientConnectionError):  # closed: no HTTP answer at all
            async with client.get(plain) as response:
                await response.read()
    # (aiohttp tries a GET twice when the server closes without an answer)
    await eventually(lambda: failures(stack, "protocol") >= 1, "the failed handshake counted")
    line = handshake_lines(caplog)[-1]
    assert line.fields["link"] == "http"  # type: ignore[attr-defined]
    assert line.fields["peer"].startswith("127.0.0.1:")  # type: ignore[attr-defined]
    assert line.fields["reason"] == "protocol"  # type: ignore[attr-defined]
    assert "HTTP_REQUEST" in line.fields["error"].upper()  # type: ignore[attr-defined]
    await healthy(http, stack)


def handshake_refusing(port: int, trust: Path) -> str:
    """A blocking TLS client (as curl or a browser: it sends its alert before closing)
    that trusts ``trust``; what its handshake raised."""
    context = ssl.create_default_context(cafile=trust)
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as raw:
        try:
            with context.wrap_socket(raw, server_hostname="127.0.0.1"):
                return "no error"
        except ssl.SSLCertVerificationError as error:
            return str(error.verify_message)


async def test_a_client_that_does_not_trust_the_certificate_fails_and_is_counted(
        stack: Stack, http: aiohttp.ClientSession, pki: Pki,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="stopgate.tls")
    # Trusting another CA (the system's, say): the client refuses our certificate, tells
    # the server why (a TLS alert), and the gateway counts it.
    refused = await asyncio.to_thread(handshake_refusing, stack.gateway.http_port,
                                      pki.other_ca_file)
    assert "unable to get local issuer certificate" in refused
    await eventually(lambda: failures(stack, "unknown_ca") == 1, "unknown_ca counted")
    line = handshake_lines(caplog)[-1]
    assert line.fields["reason"] == "unknown_ca"  # type: ignore[attr-defined]
    assert line.fields["peer"].startswith("127.0.0.1:")  # type: ignore[attr-defined]
    # asyncio's TLS (aiohttp's client) drops the connection without that alert: the
    # gateway sees a client that left mid-handshake, counted as "other".
    distrust = aiohttp.TCPConnector(ssl=pki.client_context(trust=pki.other_ca_file))
    async with aiohttp.ClientSession(connector=distrust,
                                     timeout=aiohttp.ClientTimeout(total=TIMEOUT)) as client:
        with pytest.raises(aiohttp.ClientConnectorCertificateError):
            async with client.get(f"{stack.http_url}/healthz") as response:
                await response.read()
    await eventually(lambda: failures(stack, "other") == 1, "the dropped handshake counted")
    assert handshake_lines(caplog)[-1].fields["error"] == (  # type: ignore[attr-defined]
        "the client closed the connection during the handshake")
    await healthy(http, stack)


async def test_a_handshake_that_never_comes_is_timed_out_and_the_caps_hold(
        stack: Stack, http: aiohttp.ClientSession) -> None:
    port = stack.gateway.http_port
    # Three silent TCP connections fill this address's cap (3) before any handshake...
    silent = [await asyncio.open_connection("127.0.0.1", port) for _ in range(3)]
    # ...so a fourth is closed at once, without a handshake, and counted.
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    assert await asyncio.wait_for(reader.read(), TIMEOUT) == b""
    writer.close()
    assert closed(stack, "max_connections_per_address") == 1
    # The silent ones are closed after header_timeout, each a failed handshake (timeout).
    for quiet_reader, _ in silent:
        assert await asyncio.wait_for(quiet_reader.read(), TIMEOUT) == b""
    await eventually(lambda: failures(stack, "timeout") == 3, "handshake timeouts counted")
    for _, quiet_writer in silent:
        quiet_writer.close()
    await healthy(http, stack)  # their places were given back


async def test_the_header_timeout_still_applies_after_the_handshake(
        stack: Stack, pki: Pki) -> None:
    reader, writer = await asyncio.open_connection(
        "127.0.0.1", stack.gateway.http_port, ssl=pki.client_context(),
        server_hostname="127.0.0.1")
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # headers never completed
    await writer.drain()
    started = asyncio.get_running_loop().time()
    assert await asyncio.wait_for(reader.read(), TIMEOUT) == b""
    assert asyncio.get_running_loop().time() - started < HEADER_TIMEOUT + 2
    await eventually(lambda: closed(stack, "header_timeout") == 1, "header_timeout counted")
    writer.close()


async def test_served_with_workers_https_and_a_webhook_trusted_through_ssl_cert_file(
        tmp_path: Path, pki: Pki, monkeypatch: pytest.MonkeyPatch) -> None:
    """`stopgate serve` as operators run it: two workers sharing the HTTPS port, and a
    webhook endpoint whose private CA the process trusts through SSL_CERT_FILE."""
    carrier = CarrierSimulator(credentials={"proxy": "secret"})
    await carrier.start("127.0.0.1", 0)
    monkeypatch.setenv("SSL_CERT_FILE", str(pki.ca_file))  # the gateway inherits it
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    async with contextlib.AsyncExitStack() as cleanup:
        cleanup.push_async_callback(carrier.stop)
        endpoint = await cleanup.enter_async_context(
            serving(Receiver(), pki.server_context()))
        extra = (f'webhook_url = "{endpoint.url}"\nwebhook_secret = "{SECRET}"\n\n'
                 f'[http]\ntls_cert = "{pki.server.cert}"\ntls_key = "{pki.server.key}"\n')
        config = write_config(tmp_path / "stopgate.toml", carrier.port, tmp_path / "data",
                              workers=2, account=extra)
        log = tmp_path / "stopgate.log"
        process, _, http_port = await start_serve_ports(config, log, 30.0)
        children = psutil.Process(process.pid).children(recursive=True)

        async def stop() -> None:
            await stop_process(process, 30.0)
            _, alive = await asyncio.to_thread(psutil.wait_procs, children, 30.0)
            for child in alive:
                with contextlib.suppress(psutil.NoSuchProcess):
                    child.kill()

        cleanup.push_async_callback(stop)
        base = f"https://127.0.0.1:{http_port}"
        connector = aiohttp.TCPConnector(ssl=pki.client_context(), force_close=True)
        async with aiohttp.ClientSession(connector=connector,
                                         timeout=aiohttp.ClientTimeout(total=TIMEOUT)) as http:
            async def ready() -> bool:
                async with http.get(f"{base}/readyz") as response:
                    return response.status == 200
            await eventually(ready, "the gateway ready over HTTPS", 30.0)
            for number in ("+33612345678", "+33612345679", "+33612345680"):
                async with http.put(f"{base}/v1/suppressions/{number}",
                                    headers={"Authorization": "Bearer acme-key"}) as response:
                    assert response.status in (200, 201), await response.text()
        await eventually(lambda: len(endpoint.delivered()) == 3, "three webhooks delivered",
                         30.0)
        assert {verify(hit)["unsubscribed_number"] for hit in endpoint.delivered()} == {
            "+33612345678", "+33612345679", "+33612345680"}
