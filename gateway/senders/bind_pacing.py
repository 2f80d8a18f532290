"""When to answer a sender's bind: failed binds slow down what they tried, from where.

Failures are counted per (client address, system_id): a guesser hammering one
account from an address slows that account's binds *from that address* only.
Another account binding from the same address (senders behind one NAT, one
balancer), and the same account from any other address, are answered at once.
Binds naming a system_id that is no account share one count per address
(``UNKNOWN``): spraying made-up names is paced like guessing one, and holds one
entry per address however many names it tries.

Once a key has failed more than once recently, every bind answer for it,
refusal or acceptance, waits a delay that doubles with each failure
(``smpp.failed_bind_delay`` .. ``failed_bind_delay_max``), counted from the previous
answer for that key. Delaying acceptances too is what makes the pacing hold: if
the right password were answered at once, a guesser would open many connections
in parallel and read "no answer yet" as "wrong password", guessing as fast as it
can connect. So the right password of an account being guessed *from the same
address* waits its turn like the guesses (nothing on the wire tells the two
apart); spacing answers one after another means guessing over parallel
connections gains nothing. An answer due after the connection's own
``bind_timeout`` is never sent: the session closes itself unbound by then, and
no timer is kept for it. A successful bind, or a quiet spell of four times the
maximum delay, forgives the key.

Across instances sharing a Redis (gateway.instances.counters ``pace``), a failed bind is
counted and given its answer time in Redis before it is answered: the count, the doubling
delay and the spacing of answers hold over every instance, so a guesser spreading its
binds over N instances meets the configured pace, not N times it. The shared verdict is
folded into this process's view (``shared``), which is what a bind *with the right
password* is paced by: a bind for a key this process knows no failure for waits for no
Redis round trip. An instance that has seen no failure for the key itself therefore
answers a right password at once even if other instances have counted failures for it;
a guesser probing it with wrong passwords is paced from the first one (each failure is
counted here at once, before Redis answers, so parallel guesses gain nothing). A right
password for a key this process would delay first asks Redis for the key's count
(``shared_count``): a key forgiven elsewhere (the account bound on another instance) or
gone quiet is answered at once, as it would be there. When Redis does not answer, this
process's own count decides alone (as with one instance).
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.config.model import Smpp

#: Keys remembered at most; past it the oldest tenth is forgotten.
MAX_KEYS = 100_000
#: The system_id of a key for binds that name no account (one per address).
UNKNOWN = ""

_Key = tuple[str, str]


@dataclass(slots=True)
class _Failures:
    count: int = 0
    last: float = 0.0
    answer_at: float = 0.0  # when the latest answer for this key goes out


class BindPacing:
    """Recent bind failures per (client address, system_id), and the answer times they
    lead to. ``system_id`` is ``UNKNOWN`` for a bind naming no account."""

    def __init__(self, smpp: Smpp) -> None:
        self.smpp = smpp
        self._failures: dict[_Key, _Failures] = {}

    def window(self) -> float:
        """Seconds of quiet after which a key's failures are forgiven."""
        return self.smpp.failed_bind_delay_max * 4

    def _current(self, key: _Key, now: float) -> _Failures | None:
        failures = self._failures.get(key)
        if failures is not None and now - failures.last > self.window():
            del self._failures[key]  # quiet long enough: forgiven
            return None
        return failures

    def failed(self, host: str, system_id: str, now: float) -> None:
        """Count a failed bind for ``system_id`` from ``host`` (before its answer time is
        asked: at once, even while every instance's count is being fetched)."""
        key = (host, system_id)
        failures = self._current(key, now)
        if failures is None:
            if len(self._failures) >= MAX_KEYS:  # bounded: forget the oldest
                for stale in list(self._failures)[:MAX_KEYS // 10]:
                    del self._failures[stale]
            failures = self._failures[key] = _Failures()
        failures.count += 1
        failures.last = now

    def answer_time(self, host: str, system_id: str, now: float, *,
                    shared: tuple[int, float] | None = None) -> float | None:
        """When to answer a bind for ``system_id`` from ``host`` (its failure, if it failed,
        already counted by ``failed``); None: not before the bind timeout. ``shared``: for
        a failed bind, every instance's ``(count, wait)`` (wait -1: not before the bind
        timeout), from gateway.instances.counters ``pace``; the later of its answer and
        this process's own goes."""
        smpp = self.smpp
        failures = self._current((host, system_id), now)
        if failures is not None and shared is not None:
            failures.count = max(failures.count, shared[0])
        if failures is None or failures.count < 2:
            return now  # no failure, or a single typo: answered at once
        delay: float = min(
            smpp.failed_bind_delay * 2 ** (failures.count - 1), smpp.failed_bind_delay_max
        )
        answer_at = max(now, failures.answer_at) + delay
        if shared is not None:
            if shared[1] < 0:
                return None  # every instance's answers for it are booked past the timeout
            answer_at = max(answer_at, now + shared[1])
        if answer_at - now > smpp.bind_timeout:
            return None
        failures.answer_at = answer_at
        return answer_at

    def delays(self, host: str, system_id: str, now: float) -> bool:
        """Whether a bind for ``system_id`` from ``host`` would wait (failures known here)."""
        failures = self._current((host, system_id), now)
        return failures is not None and failures.count >= 2

    def shared_count(self, host: str, system_id: str, count: int) -> None:
        """Every instance's current count for the key (gateway.instances.counters ``count``):
        0 forgives it here too (it bound elsewhere, or went quiet), more raises ours."""
        if count == 0:
            self._failures.pop((host, system_id), None)
            return
        failures = self._failures.get((host, system_id))
        if failures is not None:
            failures.count = max(failures.count, count)

    def forgive(self, host: str, system_id: str) -> None:
        """``system_id`` bound from ``host``: its next bind from there is answered at once."""
        self._failures.pop((host, system_id), None)
