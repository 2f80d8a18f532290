"""gateway.http.guard.forwarded_client: whom X-Forwarded-For is believed about."""

from __future__ import annotations

import ipaddress

import pytest

from gateway.http.guard import forwarded_client

PROXIES = (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("2001:db8::/32"))


@pytest.mark.parametrize(("peer", "headers", "client"), [
    # untrusted peer: its own address, whatever it says
    ("198.51.100.7", ["203.0.113.5"], "198.51.100.7"),
    # trusted peer: the right-most address that is not a trusted proxy
    ("10.0.0.1", ["203.0.113.5"], "203.0.113.5"),
    ("10.0.0.1", ["1.1.1.1, 203.0.113.5, 10.9.9.9"], "203.0.113.5"),
    ("10.0.0.1", ["1.1.1.1", "203.0.113.5,10.9.9.9"], "203.0.113.5"),
    ("2001:db8::1", ["2001:db8::2, 2001:0db8:0:0::5:6, 2001:db9::5"], "2001:db9::5"),
    ("::ffff:10.0.0.1", ["203.0.113.5"], "203.0.113.5"),
    # all trusted: the left-most
    ("10.0.0.1", ["10.1.1.1, 10.2.2.2"], "10.1.1.1"),
    # no header: the peer
    ("10.0.0.1", [], "10.0.0.1"),
    # garbage ends the walk at the hop after it
    ("10.0.0.1", ["203.0.113.5, unknown, 10.2.2.2"], "10.2.2.2"),
    ("10.0.0.1", ["<script>"], "10.0.0.1"),
])
def test_forwarded_client(peer: str, headers: list[str], client: str) -> None:
    assert forwarded_client(peer, headers, PROXIES) == client


def test_no_trusted_proxies_ignores_the_header() -> None:
    assert forwarded_client("10.0.0.1", ["203.0.113.5"], ()) == "10.0.0.1"
