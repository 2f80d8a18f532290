"""The upstream send rate: tps as a ceiling, halved on throttling, recovered additively."""

from __future__ import annotations

from gateway.carriers.rate import CarrierRate


def sent_in(rate: CarrierRate, start: float, seconds: float, step: float = 0.001) -> int:
    """How many parts a sender trying every ``step`` seconds gets out in ``seconds``."""
    count, now = 0, start
    while now < start + seconds:
        count += rate.take(now)
        now += step
    return count


def test_zero_tps_is_unlimited() -> None:
    rate = CarrierRate(0, now=0.0)
    assert all(rate.take(0.0) for _ in range(10_000))


def test_tps_bounds_parts_per_second_with_a_small_burst() -> None:
    rate = CarrierRate(100, now=0.0)
    assert 100 <= sent_in(rate, 0.0, 1.0) <= 100 + 5


def test_delay_says_when_the_next_token_comes() -> None:
    rate = CarrierRate(10, now=0.0)
    assert rate.take(0.0)
    assert not rate.take(0.0)
    assert rate.take(rate.delay() + 1e-9)


def test_throttling_halves_the_rate_and_successes_bring_it_back() -> None:
    rate = CarrierRate(100, now=0.0)
    rate.slow_down(0.0)
    assert rate.rate == 50
    elapsed = 0.0
    while elapsed < 5.0:  # five seconds of accepted parts, each at the current rate
        assert rate.rate is not None
        elapsed += 1 / rate.rate
        rate.speed_up()
    assert rate.rate is not None and 74 <= rate.rate <= 76  # half way back: +5/s


def test_an_unlimited_upstream_is_cut_from_its_measured_rate_and_freed_again() -> None:
    rate = CarrierRate(0, now=0.0)
    for i in range(400):  # 400 parts/s for a second
        rate.take(i / 400)
    rate.slow_down(1.0)
    assert rate.rate is not None and 150 <= rate.rate <= 250
    for _ in range(10_000):
        rate.speed_up()
    assert rate.rate is None
