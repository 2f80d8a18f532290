"""Frequency caps: parsing, which caps apply to a number, the Redis key shape."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rules.sendtime.caps import (
    FrequencyCap,
    allows,
    cap_key,
    caps_for,
    format_window,
    parse_window,
)

FL = FrequencyCap.parse({"region": "US-FL", "max": 3, "per": "24h", "action": "reject"})
OK = FrequencyCap.parse({"region": "us-ok", "max": 3, "per": "24h"})
US_WEEK = FrequencyCap.parse({"region": "US", "max": 10, "per": "7d"})


@pytest.mark.parametrize(("text", "ms"), [
    ("24h", 86_400_000), ("7d", 604_800_000), ("30m", 1_800_000), ("90s", 90_000),
    (" 24H ", 86_400_000), ("1d", 86_400_000), ("48h", 172_800_000),
])
def test_windows(text: str, ms: int) -> None:
    assert parse_window(text) == ms


@pytest.mark.parametrize("text", ["24", "0h", "1.5h", "h", "-1d", "24 hours", "1w", "", "24hh"])
def test_bad_windows(text: str) -> None:
    with pytest.raises(ValueError, match="per"):
        parse_window(text)


@given(st.integers(min_value=1, max_value=10_000), st.sampled_from("smhd"))
def test_format_window_round_trips(count: int, unit: str) -> None:
    ms = parse_window(f"{count}{unit}")
    assert parse_window(format_window(ms)) == ms


def test_windows_read_as_written() -> None:
    assert FL.per == "24h" and US_WEEK.per == "7d"
    assert format_window(1_800_000) == "30m"
    assert FL.description == "US-FL: at most 3 per 24h"


def test_parse_the_spec_example() -> None:
    assert FrequencyCap("US-FL", 3, 86_400_000, "reject") == FL
    assert OK.region == "US-OK" and OK.action == "reject"
    assert FL.source == "config" and FL.certainty == "own"


@pytest.mark.parametrize(("table", "key"), [
    ({"max": 3, "per": "24h"}, "region"),
    ({"region": "US-FL", "per": "24h"}, "max"),
    ({"region": "US-FL", "max": 3}, "per"),
    ({"region": "US-FL", "max": 0, "per": "24h"}, "max"),
    ({"region": "US-FL", "max": True, "per": "24h"}, "max"),
    ({"region": "US-FL", "max": "3", "per": "24h"}, "max"),
    ({"region": "US-FL", "max": 3, "per": 24}, "per"),
    ({"region": "US-FL", "max": 3, "per": "24h", "action": "hold"}, "action"),
    ({"region": "US-FL", "max": 3, "per": "24h", "window": "1d"}, "unknown key"),
    ({"region": "Florida", "max": 3, "per": "24h"}, "region"),
])
def test_bad_caps_name_the_key(table: dict[str, Any], key: str) -> None:
    with pytest.raises(ValueError, match=key):
        FrequencyCap.parse(table)


def test_which_caps_apply() -> None:
    caps = [FL, OK, US_WEEK]
    assert caps_for("+13055550123", caps) == (FL, US_WEEK)  # Miami
    assert caps_for("+14055550123", caps) == (OK, US_WEEK)  # Oklahoma City
    assert caps_for("+12125550123", caps) == (US_WEEK,)  # New York
    assert caps_for("+33612345678", caps) == ()


def test_cap_key_shape() -> None:
    assert cap_key("acme", "+13055550123", FL) == "fc:{acme|13055550123}:US-FL:86400000"


def test_all_caps_of_one_account_and_recipient_share_a_hash_tag() -> None:
    def tag(key: str) -> str:
        return key[key.index("{") + 1:key.index("}")]

    keys = [cap_key("acme", "+13055550123", cap) for cap in (FL, US_WEEK)]
    assert len(set(keys)) == 2
    assert tag(keys[0]) == tag(keys[1])
    assert cap_key("other", "+13055550123", FL) != keys[0]
    assert cap_key("acme", "+13055550124", FL) != keys[0]


def test_the_key_follows_the_window_not_the_maximum() -> None:
    looser = FrequencyCap("US-FL", 5, FL.window_ms)
    assert cap_key("acme", "+13055550123", looser) == cap_key("acme", "+13055550123", FL)
    shorter = FrequencyCap("US-FL", 3, parse_window("12h"))
    assert cap_key("acme", "+13055550123", shorter) != cap_key("acme", "+13055550123", FL)


def test_allows_counts_the_messages_already_sent() -> None:
    assert allows(0, FL) and allows(2, FL)
    assert not allows(3, FL) and not allows(7, FL)
