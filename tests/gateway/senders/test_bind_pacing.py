"""Bind pacing in one process, and how every instance's verdict (gateway.instances.counters
``pace`` and ``count``) is folded into it."""

from __future__ import annotations

from gateway.config.model import Smpp
from gateway.senders.bind_pacing import BindPacing

SMPP = Smpp(failed_bind_delay=1.0, failed_bind_delay_max=4.0, bind_timeout=10.0)
HOST = "192.0.2.1"


def fail(pacing: BindPacing, now: float = 100.0,
         shared: tuple[int, float] | None = None) -> float | None:
    pacing.failed(HOST, "acme", now)
    return pacing.answer_time(HOST, "acme", now, shared=shared)


def test_alone_the_second_failure_waits_and_the_delay_doubles() -> None:
    pacing = BindPacing(SMPP)
    assert [fail(pacing), fail(pacing), fail(pacing)] == [100.0, 102.0, 106.0]
    assert pacing.answer_time(HOST, "acme", 100.0) == 110.0  # the right password too
    fail(pacing)
    assert fail(pacing) is None  # due past the bind timeout: never answered


def test_the_shared_count_paces_a_failure_this_process_sees_first() -> None:
    pacing = BindPacing(SMPP)
    # Two failures elsewhere: this one is the third, booked 4 s after the second's answer.
    assert fail(pacing, shared=(3, 5.5)) == 105.5
    # ...and the right password from there now waits its turn after it.
    assert pacing.answer_time(HOST, "acme", 100.0) == 109.5
    # Another account from the address, and the account from another address: at once.
    assert pacing.answer_time(HOST, "globex", 100.0) == 100.0
    assert pacing.answer_time("192.0.2.2", "acme", 100.0) == 100.0


def test_answers_booked_past_the_bind_timeout_anywhere_are_not_sent() -> None:
    assert fail(BindPacing(SMPP), shared=(6, -1.0)) is None


def test_failures_count_here_at_once_while_redis_is_asked() -> None:
    """Parallel guesses: the second is counted before the first's shared verdict is back."""
    pacing = BindPacing(SMPP)
    pacing.failed(HOST, "acme", 100.0)
    pacing.failed(HOST, "acme", 100.0)
    assert pacing.delays(HOST, "acme", 100.0)  # a right password now waits (and asks)


def test_this_process_count_holds_when_redis_forgot() -> None:
    pacing = BindPacing(SMPP)
    fail(pacing)
    fail(pacing)
    # Redis restarted (count 1, at once): this process still counts three.
    assert fail(pacing, shared=(1, 0.0)) == 106.0


def test_a_key_forgiven_elsewhere_is_forgiven_here() -> None:
    pacing = BindPacing(SMPP)
    assert not pacing.delays(HOST, "acme", 100.0)  # clean: a right password asks nothing
    fail(pacing)
    assert not pacing.delays(HOST, "acme", 100.0)  # one typo: answered at once anyway
    fail(pacing, shared=(3, 5.5))
    assert pacing.delays(HOST, "acme", 101.0)
    assert not pacing.delays(HOST, "acme", 100.0 + 4 * 4.0 + 1)  # quiet: forgiven anyway


def test_a_shared_count_raises_or_forgives_this_process_view() -> None:
    pacing = BindPacing(SMPP)
    fail(pacing)
    fail(pacing, shared=(3, 5.5))
    pacing.shared_count(HOST, "acme", 4)  # more failures elsewhere since: paced by them
    assert pacing.answer_time(HOST, "acme", 101.0) == 105.5 + 4.0
    pacing.shared_count(HOST, "acme", 0)  # it bound on another instance
    assert pacing.answer_time(HOST, "acme", 101.0) == 101.0


def test_a_successful_bind_forgives() -> None:
    pacing = BindPacing(SMPP)
    fail(pacing)
    fail(pacing)
    pacing.forgive(HOST, "acme")
    assert pacing.answer_time(HOST, "acme", 103.0) == 103.0
