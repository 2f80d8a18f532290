"""The PROXY protocol (HAProxy's, v1 and v2), sans I/O: where a header ends, what it says.

An L4 load balancer in front of stopgate opens each connection with one header naming the
client it carries; with ``smpp.proxy_protocol`` / ``http.proxy_protocol`` on, every
connection on that listener must start with one (before any TLS), and the address it
names is the client's for every per-address limit (gateway.tls.TlsListener reads it).

- **v1**: one ASCII line ``PROXY TCP4|TCP6 <src> <dst> <sport> <dport>\\r\\n`` (at most
  107 bytes), or ``PROXY UNKNOWN ...\\r\\n`` (the balancer does not know: the socket's
  peer stands).
- **v2**: the 12-byte signature ``\\r\\n\\r\\n\\0\\r\\nQUIT\\n``, a version/command byte
  (0x20 LOCAL: the balancer's own connection, the socket's peer stands; 0x21 PROXY), a
  family/protocol byte (0x11 TCP over IPv4, 0x21 TCP over IPv6; UNSPEC 0x00 and the
  other families keep the socket's peer), a 16-bit length, then the addresses and TLVs
  (ignored).

``header_length(data)`` says how many bytes of ``data`` are the header (None: not all
of it is there yet); ``parse(header)`` reads them. Anything else raises
``ProxyProtocolError`` whose ``reason`` is one of ``REASONS`` (the metric's label).
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass

__all__ = ["REASONS", "V1_MAX", "V2_SIGNATURE", "ProxyHeader", "ProxyProtocolError",
           "header_length", "parse"]

V2_SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"
V1_PREFIX = b"PROXY "
#: The longest v1 line, CRLF included (HAProxy's spec).
V1_MAX = 107
#: v2's fixed part: signature, version/command, family, length.
V2_FIXED = 16

#: Why a connection's header was refused (``missing``, ``timeout`` and ``closed`` are
#: the reader's: no header at all, none in time, the client left midway).
REASONS = ("missing", "malformed", "unsupported", "timeout", "closed")


class ProxyProtocolError(ValueError):
    """The connection does not start with a valid PROXY header."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class ProxyHeader:
    """The client a header names (None: LOCAL/UNKNOWN, the socket's peer stands)."""

    source: tuple[str, int] | None
    version: int


def _fail(reason: str, detail: str) -> ProxyProtocolError:
    return ProxyProtocolError(reason, detail)


def header_length(data: bytes) -> int | None:
    """The length of the header ``data`` starts with; None while more bytes are needed."""
    if not data:
        return None
    if data[0] == V2_SIGNATURE[0]:
        known = data[:len(V2_SIGNATURE)]
        if not V2_SIGNATURE.startswith(known):
            raise _fail("missing", "not a PROXY protocol v2 signature")
        if len(data) < V2_FIXED:
            return None
        return V2_FIXED + int.from_bytes(data[14:16], "big")
    known = data[:len(V1_PREFIX)]
    if not V1_PREFIX.startswith(known):
        raise _fail("missing", "the connection does not start with a PROXY header")
    end = data.find(b"\n", 0, V1_MAX)
    if end < 0:
        if len(data) >= V1_MAX:
            raise _fail("malformed", f"PROXY v1 line longer than {V1_MAX} bytes")
        return None
    return end + 1


def parse(header: bytes) -> ProxyHeader:
    """Read a whole header (exactly ``header_length`` bytes)."""
    if header.startswith(V2_SIGNATURE):
        return _parse_v2(header)
    return _parse_v1(header)


def _parse_v1(header: bytes) -> ProxyHeader:
    if not header.endswith(b"\r\n") or len(header) > V1_MAX:
        raise _fail("malformed", "PROXY v1 line does not end with CRLF")
    try:
        text = header[:-2].decode("ascii")
    except UnicodeDecodeError:
        raise _fail("malformed", "PROXY v1 line is not ASCII") from None
    parts = text.split(" ")
    if parts[0] != "PROXY" or len(parts) < 2:
        raise _fail("missing", "the connection does not start with a PROXY header")
    if parts[1] == "UNKNOWN":
        return ProxyHeader(None, 1)
    if parts[1] not in ("TCP4", "TCP6"):
        raise _fail("unsupported", f"PROXY v1 protocol {parts[1][:10]!r}")
    if len(parts) != 6:
        raise _fail("malformed", "PROXY v1 line needs 4 fields after the protocol")
    source, _, sport, dport = parts[2:]
    version = 4 if parts[1] == "TCP4" else 6
    for address in (parts[2], parts[3]):
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            raise _fail("malformed", "PROXY v1 address is not an IP address") from None
        if ip.version != version:
            raise _fail("malformed", f"PROXY v1 address is not IPv{version}")
    for port in (sport, dport):
        if not (port.isdigit() and port.isascii() and len(port) <= 5 and int(port) <= 65535
                and (port == "0" or not port.startswith("0"))):
            raise _fail("malformed", "PROXY v1 port is not 0-65535")
    return ProxyHeader((_address(ipaddress.ip_address(source)), int(sport)), 1)


_V2_ADDRESSES = {0x11: (12, 4), 0x12: (12, 4), 0x21: (36, 16), 0x22: (36, 16)}


def _parse_v2(header: bytes) -> ProxyHeader:
    if len(header) < V2_FIXED or len(header) != V2_FIXED + int.from_bytes(header[14:16], "big"):
        raise _fail("malformed", "PROXY v2 header length does not match its length field")
    version, command = header[12] >> 4, header[12] & 0x0F
    if version != 2:
        raise _fail("unsupported", f"PROXY protocol version {version}")
    if command == 0x0:  # LOCAL: the balancer's own connection (health check)
        return ProxyHeader(None, 2)
    if command != 0x1:
        raise _fail("unsupported", f"PROXY v2 command {command}")
    family = header[13]
    if family >> 4 not in (0, 1, 2, 3) or family & 0x0F not in (0, 1, 2):
        raise _fail("unsupported", f"PROXY v2 family 0x{family:02x}")
    sizes = _V2_ADDRESSES.get(family)
    if sizes is None:  # UNSPEC, UNIX: no IP address to use
        return ProxyHeader(None, 2)
    if family & 0x0F != 0x1:
        raise _fail("unsupported", "PROXY v2 over UDP on a TCP listener")
    needed, size = sizes
    body = header[V2_FIXED:]
    if len(body) < needed:
        raise _fail("malformed", "PROXY v2 addresses shorter than their family")
    source = ipaddress.ip_address(body[:size])
    (sport,) = struct.unpack("!H", body[2 * size:2 * size + 2])
    return ProxyHeader((_address(source), sport), 2)


def _address(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    """An IPv4 client behind an IPv6 balancer socket (::ffff:a.b.c.d) is a.b.c.d, as
    it would be seen directly: one client, one address for the per-address limits."""
    mapped = getattr(ip, "ipv4_mapped", None)
    return str(mapped or ip)
