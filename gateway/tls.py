"""TLS on every link: the contexts stopgate serves and dials with, and what is wrong with
an operator's certificate files.

- **Listeners** (senders' SMPP, HTTP): ``ServerTls`` holds one ``ssl.SSLContext``
  (TLS 1.2 or later) built from ``tls_cert``/``tls_key`` and, for SMPP, an optional
  ``tls_client_ca``: a client that presents a certificate must present one that CA
  signed (``CERT_OPTIONAL``); whether an account *needs* one is the server's business
  (``[[accounts]] tls_client_cert``). ``reload()`` loads the files again into the same
  context, so handshakes from then on use the new certificate while established
  sessions keep theirs (SIGHUP).
- **Carrier links**: ``client_context(upstream)`` verifies the carrier's certificate
  against ``tls_ca`` (else the system's CAs) and its name against ``tls_server_name``
  (else ``host``), presents ``tls_cert``/``tls_key`` when given; ``tls_verify = false``
  turns verification off, which the carrier session logs loudly at every connect.
- **Files**: ``check_files`` reads every certificate and key a section names and says,
  per key path, what is wrong: unreadable, not PEM, expired or not yet valid, a key
  that does not match its certificate. ``check-config`` and start-up both refuse them.
- **Failures**: ``failure_reason`` names a failed handshake for logs and the
  ``stopgate_tls_handshake_failures_total{link, reason}`` metric.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.x509.oid import NameOID

__all__ = [
    "REASONS",
    "ServerTls",
    "check_files",
    "client_context",
    "failure_reason",
    "peer_names",
]

#: What a refused handshake is counted as (the metric's ``reason`` label).
REASONS = ("unknown_ca", "expired", "wrong_name", "no_client_cert", "bad_certificate",
           "protocol", "timeout", "other")


def _modern(context: ssl.SSLContext) -> ssl.SSLContext:
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


class ServerTls:
    """A listener's TLS context, reloadable from its files."""

    def __init__(self, cert: Path, key: Path, client_ca: Path | None = None) -> None:
        self.cert, self.key, self.client_ca = cert, key, client_ca
        self.context = _modern(ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER))
        if client_ca is not None:
            self.context.verify_mode = ssl.CERT_OPTIONAL
        self.reload()

    def reload(self) -> None:
        """Load the certificate, key (and client CA) again: new handshakes use them.

        Raises ``ssl.SSLError``/``OSError`` when the files are unusable; the context
        keeps what it had, so a bad file at SIGHUP does not take the listener down.
        """
        candidate = _modern(ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER))
        candidate.load_cert_chain(self.cert, self.key)  # checks the files before we touch ours
        self.context.load_cert_chain(self.cert, self.key)
        if self.client_ca is not None:
            self.context.load_verify_locations(cafile=self.client_ca)


def client_context(*, ca: Path | None, cert: Path | None, key: Path | None,
                   verify: bool) -> ssl.SSLContext:
    """The context stopgate dials a carrier with (TLS 1.2 or later)."""
    context = _modern(ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca))
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if cert is not None:
        context.load_cert_chain(cert, key)
    return context


def peer_names(peercert: dict[str, Any] | None) -> set[str]:
    """The names a verified peer certificate gives: its subject's commonName and its
    subjectAltName DNS and URI entries."""
    if not peercert:
        return set()
    names = {value for rdn in peercert.get("subject", ()) for key, value in rdn
             if key == "commonName"}
    names.update(value for kind, value in peercert.get("subjectAltName", ())
                 if kind in ("DNS", "URI"))
    return names


def failure_reason(error: BaseException) -> str:
    """One of ``REASONS`` for a failed handshake (either side's complaint)."""
    if isinstance(error, TimeoutError):
        return "timeout"
    if isinstance(error, ssl.SSLCertVerificationError):
        code = error.verify_code
        if code in (10, 9):  # X509_V_ERR_CERT_HAS_EXPIRED, _CERT_NOT_YET_VALID
            return "expired"
        if code == 62:  # X509_V_ERR_HOSTNAME_MISMATCH
            return "wrong_name"
        if code in (2, 18, 19, 20, 21):  # issuer unknown, self-signed, chain incomplete
            return "unknown_ca"
        return "bad_certificate"
    text = f"{getattr(error, 'reason', '') or ''} {error}".upper()
    if "CERTIFICATE_REQUIRED" in text or "PEER DID NOT RETURN A CERTIFICATE" in text:
        return "no_client_cert"
    if "UNKNOWN_CA" in text:
        return "unknown_ca"
    if "CERTIFICATE_EXPIRED" in text:
        return "expired"
    if "BAD_CERTIFICATE" in text or "CERTIFICATE_UNKNOWN" in text:
        return "bad_certificate"
    if isinstance(error, ssl.SSLError):
        return "protocol"
    return "other"


# --- the files an operator names ------------------------------------------------------


def check_files(cert: Path | None, key: Path | None, ca: Path | None = None, *,
                cert_key: str = "tls_cert", key_key: str = "tls_key", ca_key: str = "tls_ca",
                now: datetime | None = None) -> Iterator[tuple[str, str]]:
    """(key, problem) for each certificate file that cannot serve: unreadable, not PEM,
    expired or not yet valid, or a key that does not match its certificate."""
    now = now or datetime.now(UTC)
    certs_ok = True
    if cert is not None:
        problem = _check_certificates(cert, now)
        if problem:
            certs_ok = False
            yield cert_key, problem
    if key is not None:
        problem = _readable(key)
        if problem:
            certs_ok = False
            yield key_key, problem
    if cert is not None and key is not None and certs_ok:
        try:
            ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(cert, key)
        except ssl.SSLError as error:
            reason = str(getattr(error, "reason", "") or error)
            if "KEY_VALUES_MISMATCH" in reason.upper():
                yield key_key, f"{key} does not match the certificate in {cert}"
            else:
                yield key_key, f"{key} is not a usable private key for {cert} ({reason})"
    if ca is not None:
        problem = _check_certificates(ca, now, bundle=True)
        if problem:
            yield ca_key, problem


def _readable(path: Path) -> str:
    try:
        with open(path, "rb") as file:
            file.read(1)
    except OSError as error:
        return f"cannot read {path}: {error.strerror or error}"
    return ""


def _check_certificates(path: Path, now: datetime, *, bundle: bool = False) -> str:
    problem = _readable(path)
    if problem:
        return problem
    try:
        certificates = x509.load_pem_x509_certificates(path.read_bytes())
    except ValueError:
        return f"{path} holds no PEM certificate"
    # A bundle of CAs may hold an expired one among good ones; a served chain may not.
    checked = certificates if not bundle else certificates[:1] if len(certificates) == 1 else []
    for certificate in checked:
        name = _subject(certificate)
        if certificate.not_valid_after_utc < now:
            return (f"the certificate {name} in {path} expired on "
                    f"{certificate.not_valid_after_utc:%Y-%m-%d %H:%M} UTC")
        if certificate.not_valid_before_utc > now:
            return (f"the certificate {name} in {path} is not valid before "
                    f"{certificate.not_valid_before_utc:%Y-%m-%d %H:%M} UTC")
    return ""


def _subject(certificate: x509.Certificate) -> str:
    names = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return repr(str(names[0].value)) if names else repr(certificate.subject.rfc4514_string())
