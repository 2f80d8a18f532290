"""gateway.proxy_protocol: PROXY v1/v2 headers, sans I/O."""

from __future__ import annotations

import ipaddress
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.proxy_protocol import (
    REASONS,
    V1_MAX,
    V2_SIGNATURE,
    ProxyHeader,
    ProxyProtocolError,
    header_length,
    parse,
)


def v2(command: int = 0x1, family: int = 0x11, addresses: bytes | None = None,
       tlvs: bytes = b"", version: int = 2) -> bytes:
    if addresses is None:
        if family >> 4 == 2:
            addresses = (ipaddress.IPv6Address("2001:db8::7").packed
                         + ipaddress.IPv6Address("2001:db8::1").packed
                         + struct.pack("!HH", 40000, 2775))
        else:
            addresses = bytes([198, 51, 100, 7, 10, 0, 0, 1]) + struct.pack("!HH", 40000, 2775)
    body = addresses + tlvs
    return V2_SIGNATURE + bytes([version << 4 | command, family]) + struct.pack(
        "!H", len(body)) + body


def whole(data: bytes) -> ProxyHeader:
    length = header_length(data)
    assert length is not None
    return parse(data[:length])


@pytest.mark.parametrize(("line", "source"), [
    (b"PROXY TCP4 198.51.100.7 10.0.0.1 40000 2775\r\n", ("198.51.100.7", 40000)),
    (b"PROXY TCP6 2001:db8::7 2001:db8::1 40000 443\r\n", ("2001:db8::7", 40000)),
    (b"PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:"
     b"ffff:ffff 65535 65535\r\n", ("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535)),
    (b"PROXY TCP6 ::ffff:198.51.100.7 ::1 1 2\r\n", ("198.51.100.7", 1)),
    (b"PROXY UNKNOWN\r\n", None),
    (b"PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n", None),
])
def test_v1(line: bytes, source: tuple[str, int] | None) -> None:
    assert len(line) <= V1_MAX
    # What follows the header is not part of it.
    assert header_length(line + b"\x00\x00\x00\x10") == len(line)
    assert parse(line) == ProxyHeader(source, 1)


def test_v1_incomplete_needs_more() -> None:
    line = b"PROXY TCP4 198.51.100.7 10.0.0.1 40000 2775\r\n"
    for cut in range(len(line)):
        assert header_length(line[:cut]) is None


@pytest.mark.parametrize(("line", "reason"), [
    (b"PROXY TCP4 198.51.100.7 10.0.0.1 40000\r\n", "malformed"),
    (b"PROXY TCP4 2001:db8::7 10.0.0.1 40000 2775\r\n", "malformed"),
    (b"PROXY TCP6 198.51.100.7 10.0.0.1 40000 2775\r\n", "malformed"),
    (b"PROXY TCP4 198.51.100.7 10.0.0.1 70000 2775\r\n", "malformed"),
    (b"PROXY TCP4 198.51.100.7 10.0.0.1 040 2775\r\n", "malformed"),
    (b"PROXY TCP4 198.51.100.7 10.0.0.1 -1 2775\r\n", "malformed"),
    (b"PROXY TCP4  198.51.100.7 10.0.0.1 1 2775\r\n", "malformed"),
    (b"PROXY TCP4 198.51.100.7 10.0.0.1 1 2775\n", "malformed"),
    (b"PROXY UDP4 198.51.100.7 10.0.0.1 1 2775\r\n", "unsupported"),
    (b"PROXY TCP4 198.51.100.\xff 10.0.0.1 1 2775\r\n", "malformed"),
])
def test_v1_refused(line: bytes, reason: str) -> None:
    with pytest.raises(ProxyProtocolError) as error:
        whole(line)
    assert error.value.reason == reason


def test_v1_too_long() -> None:
    with pytest.raises(ProxyProtocolError) as error:
        header_length(b"PROXY TCP6 " + b"1" * 200)
    assert error.value.reason == "malformed"


@pytest.mark.parametrize("start", [
    b"\x00\x00\x00\x10\x00\x00\x00\x09",  # an SMPP bind with no header
    b"GET / HTTP/1.1\r\n",
    b"\x16\x03\x01\x02\x00",  # a TLS ClientHello
    b"PROXX",
    b"\r\n\r\n\x00\r\nQUIX",
])
def test_no_header_is_missing(start: bytes) -> None:
    with pytest.raises(ProxyProtocolError) as error:
        header_length(start)
    assert error.value.reason == "missing"


def test_v2_tcp4_tcp6_and_tlvs() -> None:
    assert whole(v2() + b"rest") == ProxyHeader(("198.51.100.7", 40000), 2)
    assert whole(v2(family=0x21)) == ProxyHeader(("2001:db8::7", 40000), 2)
    tlvs = b"\x01\x00\x02h2" + b"\x04\x00\x00"  # ALPN, NOOP: ignored
    header = v2(tlvs=tlvs)
    assert header_length(header + b"x") == len(header)
    assert parse(header).source == ("198.51.100.7", 40000)


def test_v2_local_and_unspec_keep_the_socket_peer() -> None:
    assert whole(v2(command=0x0, family=0x00, addresses=b"")) == ProxyHeader(None, 2)
    assert whole(v2(command=0x0)) == ProxyHeader(None, 2)  # LOCAL with addresses: ignored
    assert whole(v2(family=0x00, addresses=b"")) == ProxyHeader(None, 2)
    assert whole(v2(family=0x31, addresses=b"\x00" * 216)) == ProxyHeader(None, 2)  # UNIX


def test_v2_incomplete_needs_more() -> None:
    header = v2(family=0x21)
    for cut in range(len(header)):
        length = header_length(header[:cut])
        assert length is None or length == len(header)


@pytest.mark.parametrize(("header", "reason"), [
    (v2(version=1), "unsupported"),
    (v2(command=0x2), "unsupported"),
    (v2(family=0x12), "unsupported"),  # UDP
    (v2(family=0x41), "unsupported"),
    (v2(family=0x13), "unsupported"),
    (v2(addresses=b"\x01\x02\x03"), "malformed"),
    (v2(family=0x21, addresses=b"\x00" * 12), "malformed"),
])
def test_v2_refused(header: bytes, reason: str) -> None:
    with pytest.raises(ProxyProtocolError) as error:
        whole(header)
    assert error.value.reason == reason


def test_parse_of_a_wrong_length_is_refused() -> None:
    with pytest.raises(ProxyProtocolError):
        parse(v2()[:-1])
    with pytest.raises(ProxyProtocolError):
        parse(b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2")


def _outcome(data: bytes) -> None:
    try:
        length = header_length(data)
        if length is not None:
            assert 0 < length <= len(data) or length > len(data)
            if length <= len(data):
                header = parse(data[:length])
                if header.source is not None:
                    ipaddress.ip_address(header.source[0])
                    assert 0 <= header.source[1] <= 65535
    except ProxyProtocolError as error:
        assert error.reason in REASONS


@given(st.binary(max_size=300))
def test_garbage_only_raises_the_typed_error(data: bytes) -> None:
    _outcome(data)


@given(st.sampled_from([b"PROXY ", b"PROXY TCP4 ", b"PROXY TCP6 ", b"PROXY UNKNOWN",
                        V2_SIGNATURE, V2_SIGNATURE + b"\x21\x11", V2_SIGNATURE + b"\x21\x21"]),
       st.binary(max_size=300))
def test_garbage_after_a_valid_start_only_raises_the_typed_error(start: bytes,
                                                                  rest: bytes) -> None:
    _outcome(start + rest)


@given(st.text(alphabet="PROXYTCP46UNKOW0123456789.:abcdef \r\n", max_size=120))
def test_v1_like_text_only_raises_the_typed_error(text: str) -> None:
    _outcome(text.encode())
