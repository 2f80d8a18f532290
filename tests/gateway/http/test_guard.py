"""gateway.http.guard.forwarded_client: whom X-Forwarded-For is believed about."""

from __future__ import annotations

import ipaddress

import pytest

from gateway.config.model import Http
from gateway.http.guard import AuthPacing, forwarded_client

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


def test_a_failure_is_counted_at_once_and_raised_to_every_instance_count() -> None:
    pacing = AuthPacing(Http(failed_auth_limit=5, failed_auth_delay=1.0,
                             failed_auth_delay_max=8.0))
    assert pacing.failed("192.0.2.1", 100.0) == 0.0  # counted before Redis answers
    # Redis says three in total (two on other instances): this one's 401 waits by that...
    assert pacing.shared("192.0.2.1", 3) == 2.0
    # ...and this process now counts three too: two more and the address is blocked.
    pacing.failed("192.0.2.1", 100.0)
    pacing.failed("192.0.2.1", 100.0)
    assert pacing.blocked_for("192.0.2.1", None, 100.0) > 0
    assert pacing.shared("192.0.2.2", 1) == 0.0  # unknown here, or a single typo
