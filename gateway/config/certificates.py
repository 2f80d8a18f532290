"""Certificate and key files an operator names: what is wrong with them, by key path.

Unreadable, not PEM, expired or not yet valid, a key that does not match its
certificate: ``check-config`` and start-up both refuse them (gateway/tls.py uses them).
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import NameOID

__all__ = ["check_files"]


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
