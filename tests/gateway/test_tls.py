"""gateway/tls.py on its own: reloading a listener's files, naming failures and peers."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from gateway.tls import ServerTls, failure_reason, peer_names
from tests.support.tls import Pki


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return Pki(tmp_path / "pki")


def _serial(context: ssl.SSLContext) -> set[int]:
    return {int(ca["serialNumber"], 16) for ca in context.get_ca_certs()}


def test_reload_swaps_in_a_new_context_so_a_removed_client_ca_is_no_longer_trusted(
        pki: Pki) -> None:
    bundle = pki.directory / "clients.pem"
    bundle.write_bytes(pki.ca_file.read_bytes() + pki.other_ca_file.read_bytes())
    tls = ServerTls(pki.server.cert, pki.server.key, bundle)
    first = tls.context
    assert first.minimum_version == ssl.TLSVersion.TLSv1_2
    assert first.verify_mode == ssl.CERT_OPTIONAL and len(first.get_ca_certs()) == 2
    bundle.write_bytes(pki.ca_file.read_bytes())  # the other CA is withdrawn
    tls.reload()
    assert tls.context is not first and len(tls.context.get_ca_certs()) == 1
    assert _serial(tls.context) < _serial(first)  # the one left is one of the two before


def test_a_reload_from_broken_files_raises_and_keeps_the_context(pki: Pki) -> None:
    tls = ServerTls(pki.server.cert, pki.server.key)
    kept = tls.context
    pki.server.key.write_text("not a key\n")
    with pytest.raises(ssl.SSLError):
        tls.reload()
    assert tls.context is kept


def test_failure_reasons_name_what_went_wrong() -> None:
    assert failure_reason(TimeoutError()) == "timeout"
    assert failure_reason(ConnectionAbortedError(
        "SSL handshake is taking longer than 10.0 seconds: aborting the connection")) == "timeout"
    assert failure_reason(ConnectionResetError()) == "other"
    expired = ssl.SSLCertVerificationError(1, "certificate verify failed")
    expired.verify_code = 10
    assert failure_reason(expired) == "expired"
    wrong_name = ssl.SSLCertVerificationError(1, "certificate verify failed")
    wrong_name.verify_code = 62
    assert failure_reason(wrong_name) == "wrong_name"
    unknown = ssl.SSLCertVerificationError(1, "certificate verify failed")
    unknown.verify_code = 20
    assert failure_reason(unknown) == "unknown_ca"
    assert failure_reason(ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version")) == (
        "protocol")


def test_peer_names_are_the_common_name_and_dns_and_uri_alternative_names() -> None:
    assert peer_names(None) == set() and peer_names({}) == set()
    cert = {"subject": ((("organizationName", "ACME"),), (("commonName", "acme"),)),
            "subjectAltName": (("DNS", "acme.senders.test"), ("URI", "smpp:acme"),
                               ("IP Address", "127.0.0.1"))}
    assert peer_names(cert) == {"acme", "acme.senders.test", "smpp:acme"}
