"""When to answer a sender's bind: failed binds from one address slow that address down.

Once an address has failed more than once recently, every bind answer to it,
refusal or acceptance, waits a delay that doubles with each failure
(``smpp.failed_bind_delay`` .. ``failed_bind_delay_max``), counted from the previous
answer to that address. Delaying acceptances too means a guesser cannot read "no
answer yet" as "wrong password", and spacing answers one after another means
guessing over many parallel connections gains nothing. An answer due after the
connection's own ``bind_timeout`` is never sent: the session closes itself unbound
by then, and no timer is kept for it. A successful bind, or a quiet spell of four
times the maximum delay, forgives the address.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.config import Smpp

#: Addresses remembered at most; past it the oldest tenth is forgotten.
MAX_ADDRESSES = 100_000


@dataclass(slots=True)
class _Failures:
    count: int = 0
    last: float = 0.0
    answer_at: float = 0.0  # when the latest answer to this address goes out


class BindPacing:
    """Recent bind failures per client address, and the answer times they lead to."""

    def __init__(self, smpp: Smpp) -> None:
        self.smpp = smpp
        self._failures: dict[str, _Failures] = {}

    def answer_time(self, host: str, now: float, *, failed: bool) -> float | None:
        """When to answer a bind from ``host``; None: not before the bind timeout."""
        smpp = self.smpp
        failures = self._failures.get(host)
        if failures is not None and now - failures.last > smpp.failed_bind_delay_max * 4:
            del self._failures[host]  # quiet long enough: forgiven
            failures = None
        if failed:
            if failures is None:
                if len(self._failures) >= MAX_ADDRESSES:  # bounded: forget the oldest
                    for stale in list(self._failures)[:MAX_ADDRESSES // 10]:
                        del self._failures[stale]
                failures = self._failures[host] = _Failures()
            failures.count += 1
            failures.last = now
        if failures is None or failures.count < 2:
            return now  # no failure, or a single typo: answered at once
        delay: float = min(
            smpp.failed_bind_delay * 2 ** (failures.count - 1), smpp.failed_bind_delay_max
        )
        answer_at = max(now, failures.answer_at) + delay
        if answer_at - now > smpp.bind_timeout:
            return None
        failures.answer_at = answer_at
        return answer_at

    def forgive(self, host: str) -> None:
        """``host`` bound successfully: its next bind is answered at once."""
        self._failures.pop(host, None)
