"""The directory of bound senders: the server fills it, the receipt router reads it."""

from __future__ import annotations

from typing import Any, cast

from gateway.senders.bound import BoundSenders
from gateway.smpp_link import SmppLink
from smpp.session import BindState


class Link:
    def __init__(self, state: BindState) -> None:
        self.state = state


def link(state: BindState) -> Any:
    return cast(SmppLink, Link(state))


def test_receivers_are_the_rx_and_trx_binds_and_listeners_hear_of_them() -> None:
    heard: list[str] = []
    senders = BoundSenders(["acme", "beta"])
    senders.subscribe(heard.append)
    tx, rx, trx = link(BindState.BOUND_TX), link(BindState.BOUND_RX), link(BindState.BOUND_TRX)
    senders.add("acme", tx, receives=False)
    assert heard == [] and senders.receivers("acme") == []
    senders.add("acme", rx, receives=True)
    senders.add("acme", trx, receives=True)
    assert heard == ["acme", "acme"]
    assert senders.receivers("acme") == [rx, trx] and senders.count("acme") == 3
    assert senders.receivers("beta") == [] and senders.receivers("nobody") == []


def test_remove_says_whether_the_link_was_bound() -> None:
    senders = BoundSenders(["acme"])
    rx = link(BindState.BOUND_RX)
    assert not senders.remove("acme", rx)
    senders.add("acme", rx, receives=True)
    assert senders.remove("acme", rx) and senders.count("acme") == 0
    assert not senders.remove("nobody", rx)
