"""TLS on every link: the contexts stopgate serves and dials with.

- **Listeners** (senders' SMPP, HTTP): ``ServerTls`` holds one ``ssl.SSLContext``
  (TLS 1.2 or later) built from ``tls_cert``/``tls_key`` and, for SMPP, an optional
  ``tls_client_ca``: a client that presents a certificate must present one that CA
  signed (``CERT_OPTIONAL``); whether an account *needs* one is the server's business
  (``[[accounts]] tls_client_cert``). ``reload()`` loads the files again into the same
  context, so handshakes from then on use the new certificate while established
  sessions keep theirs (SIGHUP).
- **Carrier links**: ``client_context(...)`` verifies the carrier's certificate
  against ``tls_ca`` (else the system's CAs) and its name against ``tls_server_name``
  (else ``host``), presents ``tls_cert``/``tls_key`` when given; ``tls_verify = false``
  turns verification off, which the carrier session logs loudly at every connect.
- **Files**: gateway/config/certificates.py checks them when the config is loaded.
- **Failures**: ``failure_reason`` names a failed handshake for logs and the
  ``stopgate_tls_handshake_failures_total{link, reason}`` metric.
"""

from __future__ import annotations

import logging
import ssl
from pathlib import Path
from typing import Any

from gateway.observability.logs import fields

log = logging.getLogger("stopgate.tls")

__all__ = [
    "REASONS",
    "ListenerTls",
    "ServerTls",
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


class ListenerTls:
    """The TLS contexts of stopgate's listeners (None: that listener is plaintext only)."""

    __slots__ = ("http", "smpp")

    def __init__(self, smpp: ServerTls | None = None, http: ServerTls | None = None) -> None:
        self.smpp, self.http = smpp, http

    def reload(self) -> None:
        """SIGHUP: every listener loads its certificate and key again; sessions already up
        keep theirs. A file that cannot be loaded is logged, and that listener keeps its
        old certificate."""
        for name, tls in (("smpp", self.smpp), ("http", self.http)):
            if tls is None:
                continue
            try:
                tls.reload()
            except (OSError, ssl.SSLError) as error:
                log.error("TLS certificate not reloaded; the listener keeps the old one",
                          extra=fields("tls_reload_failed", listener=name,
                                       cert=str(tls.cert), error=str(error)))
            else:
                log.info("TLS certificate reloaded", extra=fields(
                    "tls_reloaded", listener=name, cert=str(tls.cert)))


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
