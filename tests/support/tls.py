"""A throwaway certificate authority for the TLS tests (trustme), and files made from it.

``Pki`` writes PEM files under a directory: the CA, a server certificate for
127.0.0.1/localhost, client certificates naming a system_id, an expired certificate,
one for the wrong name, and a second CA nobody trusts.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import trustme

__all__ = ["CertFiles", "Pki"]


@dataclass(frozen=True)
class CertFiles:
    cert: Path
    key: Path


class Pki:
    """Certificates for one test, written as PEM files under ``directory``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.ca = trustme.CA(organization_name="stopgate tests")
        self.ca_file = directory / "ca.pem"
        self.ca.cert_pem.write_to_path(str(self.ca_file))
        self.other_ca = trustme.CA(organization_name="nobody trusts this")
        self.other_ca_file = directory / "other-ca.pem"
        self.other_ca.cert_pem.write_to_path(str(self.other_ca_file))
        self.server = self.issue("server", "127.0.0.1", "localhost")

    def issue(self, name: str, *identities: str, ca: trustme.CA | None = None,
              common_name: str | None = None, expired: bool = False) -> CertFiles:
        """A certificate (and its key) for ``identities``, signed by the CA (or ``ca``)."""
        now = datetime.now(UTC)
        window = {"not_before": now - timedelta(days=30),
                  "not_after": now - timedelta(days=1)} if expired else {}
        leaf = (ca or self.ca).issue_cert(*identities, common_name=common_name, **window)
        cert, key = self.directory / f"{name}.pem", self.directory / f"{name}.key"
        cert.write_bytes(b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
        leaf.private_key_pem.write_to_path(str(key))
        return CertFiles(cert, key)

    def client(self, system_id: str, **options: object) -> CertFiles:
        """A sender's certificate naming ``system_id`` (its commonName)."""
        return self.issue(f"client-{system_id}", f"{system_id}.senders.test",
                          common_name=system_id, **options)  # type: ignore[arg-type]

    def client_context(self, cert: CertFiles | None = None, *, trust: Path | None = None,
                       server_name_check: bool = True) -> ssl.SSLContext:
        """What a sender or a webhook client dials stopgate with: trusting our CA."""
        context = ssl.create_default_context(cafile=trust or self.ca_file)
        context.check_hostname = server_name_check
        if cert is not None:
            context.load_cert_chain(cert.cert, cert.key)
        return context

    def server_context(self, cert: CertFiles | None = None,
                       client_ca: Path | None = None) -> ssl.SSLContext:
        """What a test server (a carrier, a webhook endpoint) serves with."""
        files = cert or self.server
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(files.cert, files.key)
        if client_ca is not None:
            context.load_verify_locations(cafile=client_ca)
            context.verify_mode = ssl.CERT_REQUIRED
        return context
