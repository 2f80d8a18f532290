"""Senders' SMPP over TLS (server.smpp_tls_listen), end to end on loopback.

A real gateway with a TLS listener beside the plain one, certificates from a throwaway
CA (tests/support/tls.py), senders as SmppLink ESMEs over an ssl connection. Every
refusal shows its answer (the client's error or the bind status), the gateway's log line
and metric, and that a plaintext sender bound meanwhile still sends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import signal
import socket
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from gateway.smpp_link import BindError, LinkClosed, SmppLink
from gateway.tls import REASONS
from simulator.carrier import CarrierSimulator
from smpp.constants import CommandStatus
from smpp.pdu import BindTransceiver, SubmitSmResp
from tests.integration.conftest import ACME, GLOBEX, Stack
from tests.integration.policy_stack import OTP_TEXT
from tests.integration.senders import RawSmpp, Sender, bind_sender, message, running_stack
from tests.integration.served import start_serve_line, stop_process, write_config
from tests.support.metrics import metric
from tests.support.tls import Pki
from tests.support.waiting import eventually, within

TIMEOUT = 5.0
#: An account that may bind only over TLS with a certificate naming it.
SECURE = {"system_id": "secure", "password": "securepw", "default_region": "FR",
          "numbers": ["36173"], "default_class": "transactional", "tls_client_cert": True}
HANDSHAKES = "stopgate_tls_handshake_failures_total"
BINDS = "stopgate_sender_binds_total"


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return Pki(tmp_path / "pki")


def tls_sections(pki: Pki, **smpp: Any) -> dict[str, Any]:
    return {
        "server": {"smpp_tls_listen": "127.0.0.1:0", "tls_cert": str(pki.server.cert),
                   "tls_key": str(pki.server.key), "tls_client_ca": str(pki.ca_file)},
        "accounts": [ACME, GLOBEX, SECURE],
        "smpp": {"reconnect_delay": 0.05, "reconnect_delay_max": 0.2,
                 "response_timeout": 2.0, "failed_bind_delay": 0.05,
                 "failed_bind_delay_max": 0.2, **smpp},
    }


@contextlib.asynccontextmanager
async def tls_stack(redis_url: str, tmp_path: Path, pki: Pki,
                    **smpp: Any) -> AsyncIterator[Stack]:
    async with running_stack(redis_url, tmp_path / "data", **tls_sections(pki, **smpp)) as stack:
        assert stack.gateway.smpp_tls_port
        yield stack


@contextlib.asynccontextmanager
async def bystander(stack: Stack) -> AsyncIterator[tuple[SmppLink, Sender]]:
    """A plaintext sender bound before the trouble: it must keep sending through it."""
    link, sender = await bind_sender(stack.smpp_port, "globex", "globex1")
    try:
        yield link, sender
        answer = await within(link.send(message("still here")), TIMEOUT)
        assert isinstance(answer, SubmitSmResp)
        assert answer.command_status == CommandStatus.ESME_ROK
    finally:
        await link.unbind()


def failures(stack: Stack, reason: str) -> float:
    return metric(stack, HANDSHAKES, link="sender", reason=reason)


def all_failures(stack: Stack) -> float:
    return sum(failures(stack, reason) for reason in REASONS)


@pytest.fixture(autouse=True)
def tls_log(caplog: pytest.LogCaptureFixture) -> None:
    """Failed handshakes are logged at INFO (scanners knock all day)."""
    caplog.set_level(logging.INFO, logger="stopgate.tls")


def handshake_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if getattr(r, "event", "") == "tls_handshake_failed"]


async def refused_handshake(stack: Stack, caplog: pytest.LogCaptureFixture, reason: str,
                            context: ssl.SSLContext, system_id: str = "acme",
                            password: str = "acmepass", count: int = 1) -> logging.LogRecord:
    """Connect with ``context``: the gateway must count one failed handshake for ``reason``
    and log it once (event, peer and reason, no stack trace); the sender never binds."""
    with pytest.raises((ssl.SSLError, BindError, LinkClosed, ConnectionError)):
        link, _ = await bind_sender(stack.gateway.smpp_tls_port or 0, system_id, password,
                                    ssl=context)
        link.abort()
    await eventually(lambda: all_failures(stack) == count and failures(stack, reason),
                     f"a {reason} handshake failure")
    line = handshake_lines(caplog)[-1]
    assert len(handshake_lines(caplog)) == count
    assert line.fields["reason"] == reason  # type: ignore[attr-defined]
    assert line.fields["peer"].startswith("127.0.0.1:")  # type: ignore[attr-defined]
    assert line.exc_info is None and "Traceback" not in caplog.text
    assert line.getMessage().startswith(f"sender TLS handshake failed ({reason}) from 127.0.0.1:")
    assert line.fields["link"] == "sender"  # type: ignore[attr-defined]
    assert metric(stack, BINDS, outcome="ok") == 1  # the bystander's only
    return line


async def test_bind_submit_and_receipt_over_tls_beside_a_plaintext_sender(
    flushed_redis: str, tmp_path: Path, pki: Pki,
) -> None:
    async with tls_stack(flushed_redis, tmp_path, pki) as stack, bystander(stack):
        link, sender = await bind_sender(stack.gateway.smpp_tls_port or 0,
                                         ssl=pki.client_context())
        assert link.transport is not None
        tls = link.transport.get_extra_info("ssl_object")
        assert tls is not None and tls.version() in ("TLSv1.2", "TLSv1.3")
        answer = await within(link.send(message()), TIMEOUT)
        assert isinstance(answer, SubmitSmResp)
        assert answer.command_status == CommandStatus.ESME_ROK
        await eventually(lambda: sender.receipt_ids() == [answer.message_id], "the receipt")
        assert stack.gateway.server.session_count("acme") == 1
        await link.unbind()
        assert all_failures(stack) == 0


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1_1 is deprecated")
async def test_tls_1_1_is_refused(
    flushed_redis: str, tmp_path: Path, pki: Pki, caplog: pytest.LogCaptureFixture,
) -> None:
    old = pki.client_context()
    old.minimum_version = old.maximum_version = ssl.TLSVersion.TLSv1_1
    old.set_ciphers("DEFAULT:@SECLEVEL=0")  # let this client offer TLS 1.1 at all
    async with tls_stack(flushed_redis, tmp_path, pki) as stack, bystander(stack):
        await refused_handshake(stack, caplog, "protocol", old)


def blocking_handshake(port: int, context: ssl.SSLContext) -> None:
    """A handshake by the ssl module's own blocking socket, which tells the server why it
    gives up (an alert), where an asyncio client may only hang up."""
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as raw, \
            context.wrap_socket(raw, server_hostname="127.0.0.1"):
        pass


async def test_a_sender_that_does_not_trust_our_certificate_is_counted(
    flushed_redis: str, tmp_path: Path, pki: Pki, caplog: pytest.LogCaptureFixture,
) -> None:
    distrustful = pki.client_context(trust=pki.other_ca_file)
    async with tls_stack(flushed_redis, tmp_path, pki) as stack, bystander(stack):
        with pytest.raises(ssl.SSLCertVerificationError):
            await within(asyncio.to_thread(blocking_handshake, stack.gateway.smpp_tls_port or 0,
                                           distrustful), TIMEOUT)
        await eventually(lambda: failures(stack, "unknown_ca") == 1, "the failed handshake")
        [line] = handshake_lines(caplog)
        assert line.getMessage().startswith(
            "sender TLS handshake failed (unknown_ca) from 127.0.0.1:")
        # An asyncio client may just hang up: that is counted too (as "other").
        await refused_handshake(stack, caplog, "other", distrustful, count=2)


async def test_a_client_certificate_from_another_ca_is_refused_unknown_ca(
    flushed_redis: str, tmp_path: Path, pki: Pki, caplog: pytest.LogCaptureFixture,
) -> None:
    stranger = pki.client("acme", ca=pki.other_ca)
    async with tls_stack(flushed_redis, tmp_path, pki) as stack, bystander(stack):
        await refused_handshake(stack, caplog, "unknown_ca", pki.client_context(stranger))


async def test_an_expired_client_certificate_is_refused_expired(
    flushed_redis: str, tmp_path: Path, pki: Pki, caplog: pytest.LogCaptureFixture,
) -> None:
    expired = pki.client("acme", expired=True)
    async with tls_stack(flushed_redis, tmp_path, pki) as stack, bystander(stack):
        await refused_handshake(stack, caplog, "expired", pki.client_context(expired))


async def test_a_handshake_that_never_comes_times_out_at_bind_timeout(
    flushed_redis: str, tmp_path: Path, pki: Pki, caplog: pytest.LogCaptureFixture,
) -> None:
    async with tls_stack(flushed_redis, tmp_path, pki, bind_timeout=0.5) as stack, \
            bystander(stack):
        reader, writer = await asyncio.open_connection("127.0.0.1", stack.gateway.smpp_tls_port)
        assert await within(reader.read(), TIMEOUT) == b""  # closed without a word
        writer.close()
        await eventually(lambda: failures(stack, "timeout") == 1, "a timed out handshake")
        [line] = handshake_lines(caplog)
        assert line.fields["reason"] == "timeout"  # type: ignore[attr-defined]


async def test_a_certificate_naming_another_system_id_is_refused_at_bind(
    flushed_redis: str, tmp_path: Path, pki: Pki, caplog: pytest.LogCaptureFixture,
) -> None:
    globex = pki.client_context(pki.client("globex"))
    async with tls_stack(flushed_redis, tmp_path, pki) as stack, bystander(stack):
        with pytest.raises(BindError) as refused:
            await bind_sender(stack.gateway.smpp_tls_port or 0, "acme", "acmepass", ssl=globex)
        assert refused.value.status == CommandStatus.ESME_RBINDFAIL
        assert metric(stack, BINDS, outcome="certificate_mismatch") == 1
        [line] = [r for r in caplog.records if getattr(r, "event", "") == "sender_bind_failed"]
        assert line.getMessage() == (
            "sender bind refused (certificate_mismatch): system_id 'acme' from 127.0.0.1")
        assert line.fields["certificate_names"] == [  # type: ignore[attr-defined]
            "globex", "globex.senders.test"]
        # The certificate's own system_id binds with it (CN), and sends.
        link, _ = await bind_sender(stack.gateway.smpp_tls_port or 0, "globex", "globex1",
                                    ssl=globex)
        answer = await within(link.send(message()), TIMEOUT)
        assert isinstance(answer, SubmitSmResp) and answer.command_status == 0
        await link.unbind()
        assert all_failures(stack) == 0


async def test_an_account_that_needs_a_certificate_binds_only_with_one(
    flushed_redis: str, tmp_path: Path, pki: Pki, caplog: pytest.LogCaptureFixture,
) -> None:
    secure = pki.client_context(pki.client("secure"))
    async with tls_stack(flushed_redis, tmp_path, pki) as stack, bystander(stack):
        tls_port = stack.gateway.smpp_tls_port or 0
        for port, context in ((stack.smpp_port, None), (tls_port, pki.client_context())):
            with pytest.raises(BindError) as refused:
                await bind_sender(port, "secure", "securepw", ssl=context)
            assert refused.value.status == CommandStatus.ESME_RBINDFAIL
        assert metric(stack, BINDS, outcome="certificate_required") == 2
        lines = [r for r in caplog.records if getattr(r, "event", "") == "sender_bind_failed"]
        assert [r.fields["tls"] for r in lines] == [False, True]  # type: ignore[attr-defined]
        assert all(r.fields["reason"] == "certificate_required"  # type: ignore[attr-defined]
                   for r in lines)
        # No certificate is a bind refusal, not a failed handshake.
        assert all_failures(stack) == 0
        # The password is still checked with the right certificate.
        with pytest.raises(BindError) as refused:
            await bind_sender(tls_port, "secure", "wrong", ssl=secure)
        assert refused.value.status == CommandStatus.ESME_RINVPASWD
        link, sender = await bind_sender(tls_port, "secure", "securepw", ssl=secure)
        answer = await within(link.send(message()), TIMEOUT)
        assert isinstance(answer, SubmitSmResp) and answer.command_status == 0
        await eventually(lambda: sender.receipt_ids() == [answer.message_id], "the receipt")
        await link.unbind()



async def test_plaintext_smpp_on_the_tls_port_is_a_protocol_failure(
    flushed_redis: str, tmp_path: Path, pki: Pki, caplog: pytest.LogCaptureFixture,
) -> None:
    async with tls_stack(flushed_redis, tmp_path, pki) as stack, bystander(stack):
        raw = await RawSmpp.open(stack.gateway.smpp_tls_port or 0)
        await raw.send(BindTransceiver(system_id="acme", password="acmepass"))
        assert await raw.closed_by_peer()
        raw.close()
        await eventually(lambda: failures(stack, "protocol") == 1, "a protocol failure")
        [line] = handshake_lines(caplog)
        assert line.fields["reason"] == "protocol"  # type: ignore[attr-defined]
        assert metric(stack, BINDS, outcome="ok") == 1  # the bystander's only


async def test_the_per_address_limit_counts_tls_and_plaintext_sessions_together(
    flushed_redis: str, tmp_path: Path, pki: Pki,
) -> None:
    async with tls_stack(flushed_redis, tmp_path, pki, max_sessions_per_address=2) as stack, \
            bystander(stack):
        link, _ = await bind_sender(stack.gateway.smpp_tls_port or 0, ssl=pki.client_context())
        with pytest.raises(BindError) as refused:
            await bind_sender(stack.gateway.smpp_tls_port or 0, ssl=pki.client_context())
        assert refused.value.status == CommandStatus.ESME_RBINDFAIL
        assert metric(stack, BINDS, outcome="too_many_from_address") == 1
        await link.unbind()


# --- SIGHUP: `stopgate serve` (one process, then two workers) reloads its certificates ---


def served_certificate(port: int, context: ssl.SSLContext) -> bytes:
    """The DER certificate a new connection to ``port`` is served."""
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as raw, \
            context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return der


@contextlib.asynccontextmanager
async def served_tls(tmp_path: Path, pki: Pki, workers: int = 1,
                     ) -> AsyncIterator[tuple[asyncio.subprocess.Process, int, Path]]:
    """`stopgate serve` with a TLS listener (its own embedded Redis); process, TLS port, log."""
    simulator = CarrierSimulator(credentials={"proxy": "secret"})
    await simulator.start("127.0.0.1", 0, http_port=0)
    # The files the gateway reads: replaced in place by the tests.
    cert, key = tmp_path / "served.pem", tmp_path / "served.key"
    cert.write_bytes(pki.server.cert.read_bytes())
    key.write_bytes(pki.server.key.read_bytes())
    config = write_config(tmp_path / "stopgate.toml", simulator.port, tmp_path / "data",
                          workers=workers, server=(
                              f'smpp_tls_listen = "127.0.0.1:0"\n'
                              f'tls_cert = "{cert}"\ntls_key = "{key}"\n'))
    log = tmp_path / "serve.log"
    process, line = await start_serve_line(config, log, 60.0)
    try:
        found = re.search(r"SMPP over TLS on 127\.0\.0\.1:(\d+)", line)
        assert found, line
        yield process, int(found.group(1)), log
    finally:
        await stop_process(process, 10.0)
        await simulator.stop()


async def reload_and_check(process: asyncio.subprocess.Process, port: int, log: Path,
                           pki: Pki, tmp_path: Path, reloads: int) -> None:
    """Bind over TLS, replace the files, SIGHUP: new connections get the new certificate
    while the session bound before keeps sending."""
    trusting = pki.client_context()
    before = await asyncio.to_thread(served_certificate, port, trusting)
    link, sender = await bind_sender(port, ssl=trusting)
    renewed = pki.issue("renewed", "127.0.0.1", "localhost")
    (tmp_path / "served.pem").write_bytes(renewed.cert.read_bytes())
    (tmp_path / "served.key").write_bytes(renewed.key.read_bytes())
    process.send_signal(signal.SIGHUP)
    await eventually(lambda: log.read_text().count("TLS certificate reloaded") == reloads,
                     "the reload in the log", timeout=30.0)
    after = await asyncio.to_thread(served_certificate, port, trusting)
    assert after != before
    assert after == ssl.PEM_cert_to_DER_cert(renewed.cert.read_text())
    answer = await within(link.send(message(OTP_TEXT)), TIMEOUT)
    assert isinstance(answer, SubmitSmResp) and answer.command_status == 0
    await eventually(lambda: sender.receipt_ids() == [answer.message_id], "the receipt")
    # And a new session over the new certificate binds and sends as well.
    fresh, _ = await bind_sender(port, ssl=trusting)
    answer = await within(fresh.send(message(OTP_TEXT)), TIMEOUT)
    assert isinstance(answer, SubmitSmResp) and answer.command_status == 0
    await fresh.unbind()
    await link.unbind()
    assert process.returncode is None  # SIGHUP did not end it


async def test_sighup_reloads_the_certificate_and_keeps_bound_sessions(
    tmp_path: Path, pki: Pki,
) -> None:
    async with served_tls(tmp_path, pki) as (process, port, log):
        await reload_and_check(process, port, log, pki, tmp_path, reloads=1)


async def test_sighup_reaches_every_worker(tmp_path: Path, pki: Pki) -> None:
    async with served_tls(tmp_path, pki, workers=2) as (process, port, log):
        await reload_and_check(process, port, log, pki, tmp_path, reloads=2)
