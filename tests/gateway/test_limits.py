"""gateway.limits: the per-address connection counts and the token bucket."""

from __future__ import annotations

from gateway.limits import AddressCounts, TokenBucket


def test_address_counts_count_per_address_and_in_all() -> None:
    counts = AddressCounts()
    assert counts["10.0.0.1"] == 0 and counts.total == 0 and len(counts) == 0
    counts.add("10.0.0.1")
    counts.add("10.0.0.1")
    counts.add("10.0.0.2")
    assert (counts["10.0.0.1"], counts["10.0.0.2"], counts.total, len(counts)) == (2, 1, 3, 2)
    counts.remove("10.0.0.1")
    assert (counts["10.0.0.1"], counts.total) == (1, 2)


def test_an_address_is_forgotten_when_its_last_one_goes() -> None:
    counts = AddressCounts()
    counts.add("::1")
    counts.remove("::1")
    assert counts["::1"] == 0 and counts.total == 0 and len(counts) == 0
    counts.remove("::1")  # one never added (or already gone) changes nothing
    assert counts["::1"] == 0 and counts.total == 0


def test_token_bucket_allows_a_second_of_burst_then_the_rate() -> None:
    bucket = TokenBucket(10, now=0.0)
    assert sum(bucket.take(0.0) for _ in range(20)) == 10
    assert not bucket.take(0.05)
    assert bucket.take(0.1)  # one token back after 1/rate seconds
    assert not bucket.take(0.1)
    assert sum(bucket.take(100.0) for _ in range(20)) == 10  # never more than one second's worth


def test_token_bucket_rate_zero_is_unlimited() -> None:
    bucket = TokenBucket(0, now=0.0)
    assert all(bucket.take(0.0) for _ in range(10_000))


def test_token_bucket_burst_is_seconds_of_rate_and_at_least_one_token() -> None:
    bucket = TokenBucket(100, now=0.0, burst=0.05)
    assert sum(bucket.take(0.0) for _ in range(20)) == 5
    assert bucket.delay() == 1 / 100
    small = TokenBucket(2, now=0.0, burst=0.05)
    assert small.take(0.0) and not small.take(0.0)  # one token even where 5% of 2 is less
    assert small.delay() == 0.5


def test_token_bucket_emptied_and_rate_changed_refills_at_the_new_rate() -> None:
    bucket = TokenBucket(0, now=0.0)
    assert bucket.delay() == 0.0
    bucket.rate = 4
    bucket.empty(1.0)
    assert not bucket.take(1.0)
    assert bucket.delay() == 0.25
    assert bucket.take(1.25) and not bucket.take(1.25)
