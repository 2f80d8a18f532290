"""Bind pacing in one process, and how every instance's verdict (gateway.instances.counters
``pace``) is folded into it."""

from __future__ import annotations

from gateway.config.model import Smpp
from gateway.senders.bind_pacing import BindPacing

SMPP = Smpp(failed_bind_delay=1.0, failed_bind_delay_max=4.0, bind_timeout=10.0)
HOST = "192.0.2.1"


def test_alone_the_second_failure_waits_and_the_delay_doubles() -> None:
    pacing = BindPacing(SMPP)
    assert pacing.answer_time(HOST, "acme", 100.0, failed=True) == 100.0
    assert pacing.answer_time(HOST, "acme", 100.0, failed=True) == 102.0
    assert pacing.answer_time(HOST, "acme", 100.0, failed=True) == 106.0  # after the last
    assert pacing.answer_time(HOST, "acme", 100.0, failed=False) == 110.0  # right ones too


def test_the_shared_count_paces_a_failure_this_process_sees_first() -> None:
    pacing = BindPacing(SMPP)
    # Two failures elsewhere: this one is the third, booked 4 s after the second's answer.
    assert pacing.answer_time(HOST, "acme", 100.0, failed=True, shared=(3, 5.5)) == 105.5
    # ...and the right password from there now waits its turn after it, with no Redis call.
    assert pacing.answer_time(HOST, "acme", 100.0, failed=False) == 109.5
    # Another account from the address, and the account from another address: at once.
    assert pacing.answer_time(HOST, "globex", 100.0, failed=False) == 100.0
    assert pacing.answer_time("192.0.2.2", "acme", 100.0, failed=False) == 100.0


def test_answers_booked_past_the_bind_timeout_anywhere_are_not_sent() -> None:
    pacing = BindPacing(SMPP)
    assert pacing.answer_time(HOST, "acme", 100.0, failed=True, shared=(6, -1.0)) is None


def test_this_process_count_holds_when_redis_forgot() -> None:
    pacing = BindPacing(SMPP)
    for _ in range(2):
        pacing.answer_time(HOST, "acme", 100.0, failed=True)
    # Redis restarted (count 1, at once): this process still counts three.
    assert pacing.answer_time(HOST, "acme", 100.0, failed=True, shared=(1, 0.0)) == 106.0


def test_a_successful_bind_forgives_and_says_whether_there_was_anything_to_forgive() -> None:
    pacing = BindPacing(SMPP)
    assert pacing.forgive(HOST, "acme") is False  # nothing known: no Redis call follows
    pacing.answer_time(HOST, "acme", 100.0, failed=True, shared=(2, 2.0))
    assert pacing.forgive(HOST, "acme") is True
    assert pacing.answer_time(HOST, "acme", 103.0, failed=False) == 103.0
