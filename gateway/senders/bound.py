"""Who is bound right now: the directory of sender sessions, per account.

The sender server (gateway/senders/server.py) fills it as senders bind and unbind;
the receipt router (gateway/inbound/router.py) reads it to find an account's receivers,
and registers, when it is built, to hear when a receiver binds (it then flushes that
account's pending queue). Neither holds the other: both hold this directory, which is
built first, from the accounts alone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from gateway.smpp_link import SmppLink
from smpp.session import BindState

__all__ = ["BoundSenders", "ReceiverListener"]

#: Told the account's name when one of its receiver/transceiver sessions binds; must not
#: block (a flush is started as a task).
ReceiverListener = Callable[[str], object]

_RECEIVING = (BindState.BOUND_RX, BindState.BOUND_TRX)


class BoundSenders:
    """Bound sender links per account, and who to tell when a receiver binds."""

    __slots__ = ("_listeners", "bound")

    def __init__(self, accounts: Iterable[str]) -> None:
        self.bound: dict[str, list[SmppLink]] = {name: [] for name in accounts}
        self._listeners: list[ReceiverListener] = []

    def subscribe(self, listener: ReceiverListener) -> None:
        """Call ``listener(account)`` whenever a receiver or transceiver of it binds."""
        self._listeners.append(listener)

    def add(self, account: str, link: SmppLink, *, receives: bool) -> None:
        """``link`` bound for ``account``; ``receives``: as receiver or transceiver."""
        self.bound[account].append(link)
        if receives:
            for listener in self._listeners:
                listener(account)

    def remove(self, account: str, link: SmppLink) -> bool:
        """``link`` closed; False when it was not bound (a refused or unanswered bind)."""
        links = self.bound.get(account)
        if links is None or link not in links:
            return False
        links.remove(link)
        return True

    def receivers(self, account: str) -> list[SmppLink]:
        """Bound receiver/transceiver sessions of ``account`` (where DLRs and MOs go)."""
        return [link for link in self.bound.get(account, ()) if link.state in _RECEIVING]

    def count(self, account: str) -> int:
        """Bound sessions of ``account``, of any kind."""
        return len(self.bound.get(account, ()))
