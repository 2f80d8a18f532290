"""The carrier simulator serving SMPP over TLS (``start(tls_cert=, tls_key=, tls_client_ca=)``,
``stopgate simulate-carrier --tls-cert --tls-key [--tls-client-ca]``), over real loopback
sockets: gateway.smpp_link in the ESME role dials it with contexts from tests/support/tls.py.
"""

from __future__ import annotations

import asyncio
import re
import signal
import ssl
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from gateway.smpp_link import SmppLink
from simulator.carrier import CarrierSimulator, server_context
from smpp.pdu import SubmitSm, SubmitSmResp
from smpp.session import Role
from tests.simulator.test_simulator import STOPGATE, Esme, receipt_id
from tests.support.tls import CertFiles, Pki

TIMEOUT = 10.0


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return Pki(tmp_path / "pki")


@asynccontextmanager
async def serving(cert: CertFiles, **tls: Any) -> AsyncIterator[CarrierSimulator]:
    simulator = CarrierSimulator(credentials={"proxy": "secret"})
    await simulator.start("127.0.0.1", 0, tls_cert=cert.cert, tls_key=cert.key, **tls)
    try:
        yield simulator
    finally:
        await simulator.stop()


class Link(SmppLink):
    """An ESME link that remembers why its connection was lost."""

    lost_with: Exception | None = None

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost_with = exc
        super().connection_lost(exc)


async def dial(port: int, context: ssl.SSLContext | None, esme: Esme | None = None,
               ) -> tuple[Link, Esme]:
    handler = esme or Esme()
    loop = asyncio.get_running_loop()
    tls: dict[str, Any] = {} if context is None else {"ssl": context,
                                                      "server_hostname": "127.0.0.1"}
    _, link = await asyncio.wait_for(loop.create_connection(
        lambda: Link(Role.ESME, handler), "127.0.0.1", port, **tls), TIMEOUT)
    return link, handler


async def submit(link: SmppLink) -> SubmitSmResp:
    response = await asyncio.wait_for(link.request(SubmitSm(
        source_addr="36173", destination_addr="33612345678", registered_delivery=1,
        short_message=b"over TLS")), TIMEOUT)
    assert isinstance(response, SubmitSmResp)
    return response


async def test_it_serves_smpp_over_tls_binds_answers_and_sends_receipts(pki: Pki) -> None:
    async with serving(pki.server) as simulator:
        assert simulator.tls is not None
        assert simulator.tls.minimum_version == ssl.TLSVersion.TLSv1_2
        link, esme = await dial(simulator.port, pki.client_context())
        await asyncio.wait_for(link.bind("transceiver", "proxy", "secret"), TIMEOUT)
        ssl_object = link.transport.get_extra_info("ssl_object") if link.transport else None
        assert ssl_object is not None and ssl_object.version() in ("TLSv1.2", "TLSv1.3")
        response = await submit(link)
        assert response.command_status == 0
        assert receipt_id(await esme.next()) == response.message_id
        assert [m.text for m in simulator.messages()] == ["over TLS"]
        await link.unbind()


async def test_a_plaintext_client_gets_no_bind_from_a_tls_simulator(pki: Pki) -> None:
    async with serving(pki.server) as simulator:
        link, _ = await dial(simulator.port, None)
        with pytest.raises((ConnectionError, TimeoutError)):  # never bound
            await asyncio.wait_for(link.bind("transceiver", "proxy", "secret"), 2.0)
        link.abort()
        assert simulator.stats.binds == 0


async def test_with_a_client_ca_it_refuses_a_client_without_a_certificate_with_an_alert(
    pki: Pki,
) -> None:
    async with serving(pki.server, tls_client_ca=pki.ca_file) as simulator:
        link, _ = await dial(simulator.port, pki.client_context())
        with pytest.raises(ConnectionError):
            await asyncio.wait_for(link.bind("transceiver", "proxy", "secret"), TIMEOUT)
        await asyncio.wait_for(asyncio.shield(link.closed), TIMEOUT)
        # As an OpenSSL carrier does under TLS 1.3: the alert arrives on the first read.
        assert isinstance(link.lost_with, ssl.SSLError)
        assert "CERTIFICATE_REQUIRED" in str(link.lost_with)
        assert simulator.stats.binds == 0


async def test_with_a_client_ca_it_binds_a_client_whose_certificate_that_ca_signed(
    pki: Pki,
) -> None:
    async with serving(pki.server, tls_client_ca=pki.ca_file) as simulator:
        link, esme = await dial(simulator.port, pki.client_context(pki.client("proxy")))
        await asyncio.wait_for(link.bind("transceiver", "proxy", "secret"), TIMEOUT)
        response = await submit(link)
        assert receipt_id(await esme.next()) == response.message_id
        await link.unbind()
        await asyncio.wait_for(asyncio.shield(link.closed), TIMEOUT)
        assert simulator.stats.binds == 1


async def test_with_a_client_ca_it_refuses_a_certificate_another_ca_signed(pki: Pki) -> None:
    stranger = pki.issue("stranger", "proxy.senders.test", ca=pki.other_ca)
    async with serving(pki.server, tls_client_ca=pki.ca_file) as simulator:
        try:
            link, _ = await dial(simulator.port, pki.client_context(stranger))
        except (ssl.SSLError, ConnectionError):
            pass  # TLS 1.2: refused within the handshake
        else:
            with pytest.raises(ConnectionError):
                await asyncio.wait_for(link.bind("transceiver", "proxy", "secret"), TIMEOUT)
            await asyncio.wait_for(asyncio.shield(link.closed), TIMEOUT)
            assert isinstance(link.lost_with, ssl.SSLError)
        assert simulator.stats.binds == 0


def test_server_context_wants_a_certificate_and_its_key(pki: Pki) -> None:
    assert server_context(None, None) is None
    with pytest.raises(ValueError, match="both a certificate and its key"):
        server_context(pki.server.cert, None)
    with pytest.raises(ValueError, match="a client CA needs a certificate"):
        server_context(None, None, pki.ca_file)
    context = server_context(pki.server.cert, pki.server.key, pki.ca_file)
    assert context is not None
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2
    assert context.verify_mode == ssl.CERT_REQUIRED


def test_the_command_refuses_half_a_tls_configuration(pki: Pki) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(STOPGATE), "simulate-carrier", "--listen", "127.0.0.1:0",
                               *args], capture_output=True, text=True, timeout=60, check=False)

    result = run("--tls-cert", str(pki.server.cert))
    assert result.returncode == 2
    assert "TLS needs both --tls-cert and --tls-key" in result.stderr
    result = run("--tls-client-ca", str(pki.ca_file))
    assert result.returncode == 2
    result = run("--tls-cert", str(pki.server.cert), "--tls-key", str(pki.directory / "none"))
    assert result.returncode == 2
    assert "cannot serve TLS" in result.stderr


async def test_simulate_carrier_command_serves_tls_until_sigterm(pki: Pki) -> None:
    process = await asyncio.create_subprocess_exec(
        str(STOPGATE), "simulate-carrier", "--listen", "127.0.0.1:0",
        "--tls-cert", str(pki.server.cert), "--tls-key", str(pki.server.key),
        "--tls-client-ca", str(pki.ca_file), stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), TIMEOUT)).decode()
        match = re.fullmatch(r"stopgate simulate-carrier: SMPP on 127\.0\.0\.1:(\d+) over TLS "
                             r"\(client certificate required\)\n", line)
        assert match, line
        link, esme = await dial(int(match[1]), pki.client_context(pki.client("proxy")))
        await asyncio.wait_for(link.bind("transceiver", "proxy", "anything"), TIMEOUT)
        response = await submit(link)
        assert receipt_id(await esme.next()) == response.message_id
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), TIMEOUT) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
