"""The TLS keys: what each needs, and certificate files that cannot serve, named by key."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gateway.config.model import parse_config
from tests.gateway.config.test_config import ACME, UPSTREAM, problems_of
from tests.support.tls import Pki

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return Pki(tmp_path_factory.mktemp("pki"))


def server(pki: Pki, **more: object) -> dict[str, object]:
    return {"smpp_tls_listen": "127.0.0.1:0", "tls_cert": str(pki.server.cert),
            "tls_key": str(pki.server.key), **more}


def test_every_tls_key_parses_and_defaults_to_plaintext(pki: Pki) -> None:
    plain = parse_config({"upstreams": [UPSTREAM], "accounts": [ACME]}, env={})
    assert plain.server.smpp_tls_listen is None and plain.http.tls_cert is None
    assert plain.upstreams[0].tls is False and plain.upstreams[0].tls_verify is True
    assert plain.accounts[0].tls_client_cert is False
    client = pki.client("proxy")
    config = parse_config({
        "server": server(pki, tls_client_ca=str(pki.ca_file)),
        "http": {"tls_cert": str(pki.server.cert), "tls_key": str(pki.server.key)},
        "upstreams": [{**UPSTREAM, "tls": True, "tls_ca": str(pki.ca_file),
                       "tls_server_name": "smsc.example", "tls_cert": str(client.cert),
                       "tls_key": str(client.key)}],
        "accounts": [{**ACME, "tls_client_cert": True}],
    }, env={})
    assert config.server.smpp_tls_listen is not None
    assert config.server.tls_client_ca == pki.ca_file
    assert config.upstreams[0].tls_server_name == "smsc.example"
    assert config.accounts[0].tls_client_cert is True


def test_a_tls_listener_needs_its_certificate_and_key(pki: Pki) -> None:
    assert problems_of({"server": {"smpp_tls_listen": "127.0.0.1:0",
                                   "tls_key": str(pki.server.key)}}) == {
        "server.tls_cert": "smpp_tls_listen needs tls_cert and tls_key (PEM files)"}
    assert problems_of({"server": {"tls_cert": str(pki.server.cert)}}) == {
        "server.tls_cert": "only used with smpp_tls_listen, which is not set"}
    assert problems_of({"http": {"tls_key": str(pki.server.key)}}) == {
        "http.tls_cert": "HTTPS needs both tls_cert and tls_key (PEM files)"}


def test_unreadable_expired_and_mismatched_files_are_named_by_key(pki: Pki) -> None:
    expired = pki.issue("expired", "127.0.0.1", expired=True)
    other = pki.issue("other", "127.0.0.1")
    missing = pki.directory / "missing.pem"
    problems = problems_of({
        "server": server(pki, tls_key=str(other.key)),
        "http": {"tls_cert": str(expired.cert), "tls_key": str(expired.key)},
        "upstreams": [{**UPSTREAM, "tls": True, "tls_ca": str(missing)}],
    })
    assert problems["server.tls_key"] == (
        f"{other.key} does not match the certificate in {pki.server.cert}")
    assert problems["http.tls_cert"].startswith("the certificate ")
    assert f"in {expired.cert} expired on " in problems["http.tls_cert"]
    assert problems["upstreams[0].tls_ca"] == (
        f"cannot read {missing}: No such file or directory")
    assert len(problems) == 3


def test_not_pem_and_half_a_client_certificate_are_refused(pki: Pki) -> None:
    junk = pki.directory / "junk.pem"
    junk.write_text("not a certificate\n")
    assert problems_of({"upstreams": [{**UPSTREAM, "tls": True, "tls_ca": str(junk)}]}) == {
        "upstreams[0].tls_ca": f"{junk} holds no PEM certificate"}
    assert problems_of({"upstreams": [{**UPSTREAM, "tls": True,
                                       "tls_cert": str(pki.server.cert)}]}) == {
        "upstreams[0].tls_key": "a client certificate needs both tls_cert and tls_key (PEM files)"}
    assert problems_of({"upstreams": [{**UPSTREAM, "tls_ca": str(pki.ca_file)}]}) == {
        "upstreams[0].tls_ca": "only used with tls = true"}


def test_an_account_that_binds_with_a_certificate_needs_a_listener_that_asks(pki: Pki) -> None:
    data = {"server": server(pki), "accounts": [{**ACME, "tls_client_cert": True}]}
    assert problems_of(data) == {
        "accounts[0].tls_client_cert": "needs server.smpp_tls_listen and server.tls_client_ca "
                                       "(the CA that signs senders' certificates)"}


def test_check_config_names_the_key_of_an_expired_certificate(pki: Pki, tmp_path: Path) -> None:
    expired = pki.issue("expired-cli", "127.0.0.1", expired=True)
    config = tmp_path / "stopgate.toml"
    config.write_text(f'[http]\ntls_cert = "{expired.cert}"\ntls_key = "{expired.key}"\n')
    done = subprocess.run([sys.executable, "-m", "gateway.cli", "check-config", "-c", str(config)],
                          capture_output=True, text=True, timeout=60, cwd=REPO)
    assert done.returncode != 0
    assert "http.tls_cert: the certificate " in done.stderr + done.stdout
    assert "expired on" in done.stderr + done.stdout
