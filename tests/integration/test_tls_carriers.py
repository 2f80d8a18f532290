"""Carrier links over TLS: a real gateway dials the real carrier simulator serving TLS.

Senders bind in plaintext; the upstream side is TLS on loopback with certificates from a
throwaway CA (tests/support/tls.py). A handshake the gateway refuses (unknown CA,
expired, wrong name) or the carrier refuses (no client certificate) is a failed connect:
no bind, ``tls_failed`` in ``stopgate_upstream_events_total``,
``stopgate_tls_handshake_failures_total{link="carrier", reason}``, a WARNING naming the
reason, retried with backoff, /readyz naming it; other upstreams carry on.
``tls_verify = false`` binds to anyone, and says so (a WARNING per connect, a gauge).
README.md "Carrier links over TLS" is the operator's version of this file.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from gateway.app import Gateway
from simulator.carrier import CarrierSimulator
from smpp.constants import CommandStatus
from smpp.pdu import SubmitSmResp
from tests.integration.conftest import gateway_config
from tests.integration.senders import bind_sender, message
from tests.support.metrics import metric
from tests.support.tls import CertFiles, Pki
from tests.support.waiting import eventually, within

CREDENTIALS = {"proxy": "secret"}


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return Pki(tmp_path / "pki")


@asynccontextmanager
async def carrier(cert: CertFiles | None, *, client_ca: Path | None = None,
                  ) -> AsyncIterator[CarrierSimulator]:
    """The simulator on loopback: over TLS with ``cert``, plaintext without."""
    simulator = CarrierSimulator(credentials=CREDENTIALS)
    if cert is None:
        await simulator.start("127.0.0.1", 0)
    else:
        await simulator.start("127.0.0.1", 0, tls_cert=cert.cert, tls_key=cert.key,
                              tls_client_ca=client_ca)
    try:
        yield simulator
    finally:
        await simulator.stop()


def upstream(name: str, port: int, **options: Any) -> dict[str, Any]:
    return {"name": name, "host": "127.0.0.1", "port": port, "system_id": "proxy",
            "password": "secret", "window": 50} | options


def tls_upstream(pki: Pki, port: int, name: str = "secure", **options: Any) -> dict[str, Any]:
    return upstream(name, port, tls=True, tls_ca=str(pki.ca_file)) | options


@asynccontextmanager
async def gateway_with(redis_url: str, data_dir: Path, *upstreams: dict[str, Any],
                       smpp: dict[str, Any] | None = None) -> AsyncIterator[Gateway]:
    config = gateway_config(upstreams[0]["port"], redis_url, data_dir,
                            upstreams=list(upstreams), smpp=smpp or {})
    gateway = Gateway(config)
    await gateway.start()
    try:
        await eventually(lambda: gateway.keeper is not None and gateway.keeper.ready,
                         "the suppression cache")
        yield gateway
    finally:
        await gateway.stop(timeout=2.0)


def bound(gateway: Gateway, name: str) -> int:
    assert gateway.pool is not None
    return gateway.pool.bound_sessions(name)


def scraped(gateway: Gateway) -> bytes:
    return gateway.metrics.render()


def tls_failures(gateway: Gateway, reason: str | None = None) -> float:
    """Failed carrier handshakes (of ``reason``, else of every reason)."""
    if reason is not None:
        return metric(scraped(gateway), "stopgate_tls_handshake_failures_total",
                      link="carrier", reason=reason)
    return sum(metric(scraped(gateway), "stopgate_tls_handshake_failures_total",
                      link="carrier", reason=r)
               for r in ("unknown_ca", "expired", "wrong_name", "no_client_cert",
                         "bad_certificate", "protocol", "timeout", "other"))


def upstream_event(gateway: Gateway, name: str, event: str) -> float:
    return metric(scraped(gateway), "stopgate_upstream_events_total", upstream=name,
                  event=event)


async def readyz(gateway: Gateway) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as http, http.get(
        f"http://127.0.0.1:{gateway.http_port}/readyz", timeout=aiohttp.ClientTimeout(5)
    ) as response:
        return response.status, await response.json()


def tls_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if getattr(r, "event", "") == "carrier_tls_failed"]


async def send_and_receive(gateway: Gateway, simulator: CarrierSimulator) -> None:
    """One message through the gateway to ``simulator``, and its receipt back."""
    link, sender = await bind_sender(gateway.smpp_port)
    try:
        response = await within(link.request(message("over TLS")), 10)
        assert isinstance(response, SubmitSmResp)
        assert response.command_status == CommandStatus.ESME_ROK
        await eventually(lambda: sender.receipt_ids() == [response.message_id], "the receipt")
        assert [m.text for m in simulator.messages()] == ["over TLS"]
    finally:
        await link.unbind()


async def test_a_message_reaches_a_tls_carrier_and_its_receipt_comes_back(
    pki: Pki, flushed_redis: str, tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="stopgate.upstream")
    async with carrier(pki.server) as simulator, gateway_with(
            flushed_redis, tmp_path, tls_upstream(pki, simulator.port)) as gateway:
        await eventually(lambda: bound(gateway, "secure") == 1, "the TLS bind")
        await send_and_receive(gateway, simulator)
        binds = [r for r in caplog.records if getattr(r, "event", "") == "carrier_bound"]
        assert binds and binds[0].fields["tls"] is True
        assert "over TLS" in binds[0].getMessage()
        assert tls_failures(gateway) == 0
        assert metric(scraped(gateway), "stopgate_tls_unverified_links", upstream="secure") == 0
        status, body = await readyz(gateway)
        assert status == 200 and "failure" not in body["upstreams"]["secure"]


async def test_a_certificate_from_an_unknown_ca_is_refused_and_retried_while_others_carry_on(
    pki: Pki, flushed_redis: str, tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="stopgate.upstream")
    rogue = pki.issue("rogue", "127.0.0.1", "localhost", ca=pki.other_ca)
    async with carrier(rogue) as impostor, carrier(None) as plain, gateway_with(
            flushed_redis, tmp_path, tls_upstream(pki, impostor.port),
            upstream("plain", plain.port)) as gateway:
        await eventually(lambda: tls_failures(gateway, "unknown_ca") >= 3,
                         "handshakes retried and refused")
        assert upstream_event(gateway, "secure", "tls_failed") >= 3
        assert bound(gateway, "secure") == 0 and impostor.stats.binds == 0
        # The plaintext upstream is bound and carries the traffic (fail-over down the routes).
        assert bound(gateway, "plain") == 1
        await send_and_receive(gateway, plain)
        lines = tls_lines(caplog)
        warnings = [r for r in lines if r.levelno == logging.WARNING]
        assert len(warnings) == 1, "one warning while the same failure repeats"
        assert len(lines) >= 3, "every refused handshake is logged (the repeats at DEBUG)"
        record = warnings[0]
        assert record.fields["upstream"] == "secure"
        assert record.fields["reason"] == "unknown_ca"
        assert "certificate verify failed" in record.fields["detail"]
        assert record.fields["error"] == "unable to get local issuer certificate"
        assert "unknown_ca" in record.getMessage()
        status, body = await readyz(gateway)
        assert status == 200  # another upstream can transmit
        assert body["upstreams"]["secure"]["failure"] == "tls_unknown_ca"
        assert "failure" not in body["upstreams"]["plain"]


async def test_an_expired_carrier_certificate_is_refused_and_readyz_says_so(
    pki: Pki, flushed_redis: str, tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="stopgate.upstream")
    expired = pki.issue("expired", "127.0.0.1", expired=True)
    async with carrier(expired) as simulator, gateway_with(
            flushed_redis, tmp_path, tls_upstream(pki, simulator.port)) as gateway:
        await eventually(lambda: tls_failures(gateway, "expired") >= 2, "refused handshakes")
        assert bound(gateway, "secure") == 0 and simulator.stats.binds == 0
        assert tls_lines(caplog)[0].fields["reason"] == "expired"
        assert tls_lines(caplog)[0].fields["error"] == "certificate has expired"
        status, body = await readyz(gateway)
        assert status == 503
        assert body["reasons"]["upstreams"] == "tls_failed"
        assert body["upstreams"]["secure"]["failure"] == "tls_expired"


async def test_a_carrier_certificate_for_another_name_is_refused(
    pki: Pki, flushed_redis: str, tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="stopgate.upstream")
    async with carrier(pki.server) as simulator, gateway_with(
            flushed_redis, tmp_path,
            tls_upstream(pki, simulator.port, tls_server_name="smsc.carrier.example"),
    ) as gateway:
        await eventually(lambda: tls_failures(gateway, "wrong_name") >= 2, "refused handshakes")
        assert bound(gateway, "secure") == 0 and simulator.stats.binds == 0
        record = tls_lines(caplog)[0]
        assert record.fields["reason"] == "wrong_name"
        assert record.fields["server_name"] == "smsc.carrier.example"
        assert "smsc.carrier.example" in record.fields["error"]


async def test_tls_server_name_names_the_certificate_when_host_is_an_address(
    pki: Pki, flushed_redis: str, tmp_path: Path,
) -> None:
    named = pki.issue("named", "smsc.carrier.example")  # no 127.0.0.1 in it
    async with carrier(named) as simulator, gateway_with(
            flushed_redis, tmp_path,
            tls_upstream(pki, simulator.port, tls_server_name="smsc.carrier.example"),
    ) as gateway:
        await eventually(lambda: bound(gateway, "secure") == 1, "the TLS bind")
        assert tls_failures(gateway) == 0


async def test_a_carrier_that_wants_a_client_certificate_refuses_a_link_without_one(
    pki: Pki, flushed_redis: str, tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="stopgate.upstream")
    async with carrier(pki.server, client_ca=pki.ca_file) as simulator, gateway_with(
            flushed_redis, tmp_path, tls_upstream(pki, simulator.port)) as gateway:
        await eventually(lambda: tls_failures(gateway) >= 2, "refused handshakes")
        # TLS 1.3: the handshake completes on our side, the alert comes on the first read.
        assert tls_failures(gateway, "no_client_cert") >= 2
        assert upstream_event(gateway, "secure", "tls_failed") >= 2
        assert upstream_event(gateway, "secure", "bind_failed") == 0
        assert bound(gateway, "secure") == 0 and simulator.stats.binds == 0
        record = tls_lines(caplog)[0]
        assert record.levelno == logging.WARNING and record.fields["upstream"] == "secure"
        assert record.fields["reason"] == "no_client_cert"
        assert "CERTIFICATE_REQUIRED" in record.fields["detail"]


async def test_with_its_client_certificate_the_link_to_that_carrier_binds(
    pki: Pki, flushed_redis: str, tmp_path: Path,
) -> None:
    ours = pki.client("proxy")
    async with carrier(pki.server, client_ca=pki.ca_file) as simulator, gateway_with(
            flushed_redis, tmp_path, tls_upstream(
                pki, simulator.port, tls_cert=str(ours.cert), tls_key=str(ours.key)),
    ) as gateway:
        await eventually(lambda: bound(gateway, "secure") == 1, "the TLS bind")
        await send_and_receive(gateway, simulator)
        assert tls_failures(gateway) == 0


async def test_sighup_reloads_a_carriers_ca_for_the_next_connect_and_keeps_bound_links(
    pki: Pki, flushed_redis: str, tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    """The carrier moved to a certificate from another CA: refused until the operator
    puts the new CA in ``tls_ca`` and sends SIGHUP (Gateway.reload_tls, what the signal
    handler calls); a file that cannot be loaded changes nothing; a reload never drops
    a bound link."""
    caplog.set_level(logging.INFO, logger="stopgate.tls")
    trusted = tmp_path / "carrier-ca.pem"
    trusted.write_bytes(pki.ca_file.read_bytes())
    renewed = pki.issue("renewed", "127.0.0.1", "localhost", ca=pki.other_ca)
    async with carrier(renewed) as simulator, gateway_with(
            flushed_redis, tmp_path, tls_upstream(pki, simulator.port, tls_ca=str(trusted)),
            smpp={"reconnect_delay": 0.05, "reconnect_delay_max": 0.2}) as gateway:
        await eventually(lambda: tls_failures(gateway, "unknown_ca") >= 2, "refused")
        # A half-written file: logged, the old context stays, still refused.
        trusted.write_text("-----BEGIN CERTIFICATE-----\nnot a certificate\n")
        gateway.reload_tls()
        failed = [r for r in caplog.records if getattr(r, "event", "") == "tls_reload_failed"]
        assert len(failed) == 1 and failed[0].fields["upstream"] == "secure"
        assert failed[0].levelno == logging.ERROR
        before = tls_failures(gateway, "unknown_ca")
        await eventually(lambda: tls_failures(gateway, "unknown_ca") > before, "still refused")
        assert bound(gateway, "secure") == 0 and simulator.stats.binds == 0
        # The new CA in place, SIGHUP: the next connect binds, and traffic flows.
        trusted.write_bytes(pki.other_ca_file.read_bytes())
        gateway.reload_tls()
        reloaded = [r for r in caplog.records if getattr(r, "event", "") == "tls_reloaded"
                    and r.fields.get("upstream") == "secure"]
        assert len(reloaded) == 1
        await eventually(lambda: bound(gateway, "secure") == 1, "the bind after the reload")
        await send_and_receive(gateway, simulator)
        # Another reload while bound: the link stays up, no second bind.
        gateway.reload_tls()
        await asyncio.sleep(0.3)
        assert bound(gateway, "secure") == 1 and simulator.stats.binds == 1


async def test_tls_verify_false_binds_to_an_untrusted_certificate_and_says_so_loudly(
    pki: Pki, flushed_redis: str, tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="stopgate.upstream")
    rogue = pki.issue("rogue", "127.0.0.1", ca=pki.other_ca)
    async with carrier(rogue) as simulator, gateway_with(
            flushed_redis, tmp_path,
            tls_upstream(pki, simulator.port, tls_verify=False)) as gateway:
        await eventually(lambda: bound(gateway, "secure") == 1, "the unverified bind")
        assert metric(scraped(gateway), "stopgate_tls_unverified_links", upstream="secure") == 1
        unverified = [r for r in caplog.records
                      if getattr(r, "event", "") == "carrier_tls_unverified"]
        # One at start, one at the connect.
        assert len(unverified) >= 2
        assert all(r.levelno == logging.WARNING for r in unverified)
        assert all("certificate is NOT verified" in r.getMessage() for r in unverified)
        assert tls_failures(gateway) == 0
        # The link drops and comes back: the connect says it again.
        simulator.disconnect()
        await eventually(lambda: len([r for r in caplog.records
                                      if getattr(r, "event", "") == "carrier_tls_unverified"])
                         > len(unverified), "the warning at the reconnect")


async def test_tls_to_a_plaintext_port_is_a_protocol_failure(
    pki: Pki, flushed_redis: str, tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="stopgate.upstream")
    async with carrier(None) as simulator, gateway_with(
            flushed_redis, tmp_path, tls_upstream(pki, simulator.port)) as gateway:
        await eventually(lambda: tls_failures(gateway, "protocol") >= 2, "refused handshakes")
        assert bound(gateway, "secure") == 0 and simulator.stats.binds == 0
        assert tls_lines(caplog)[0].fields["reason"] == "protocol"


async def test_a_carrier_that_never_answers_the_handshake_times_out_within_bind_timeout(
    pki: Pki, flushed_redis: str, tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="stopgate.upstream")
    loop = asyncio.get_running_loop()
    silent = await loop.create_server(asyncio.Protocol, "127.0.0.1", 0)  # accepts, says nothing
    try:
        port = silent.sockets[0].getsockname()[1]
        async with gateway_with(flushed_redis, tmp_path, tls_upstream(pki, port),
                                smpp={"bind_timeout": 0.3}) as gateway:
            await eventually(lambda: tls_failures(gateway, "timeout") >= 2, "timed-out handshakes")
            assert upstream_event(gateway, "secure", "connect_failed") == 0
            record = tls_lines(caplog)[0]
            assert record.fields["reason"] == "timeout"
            status, body = await readyz(gateway)
            assert status == 503 and body["upstreams"]["secure"]["failure"] == "tls_timeout"
    finally:
        silent.close()
