"""The shipped country packs: their rules, sources and certainty, and rules_for."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from rules.sendtime.packs import all_packs, pack_name, rules_for
from rules.sendtime.quiet import check, closed_regions
from rules.sendtime.zones import placement

NAMED_IN_THE_ISSUE = ["FR", "US", "DE", "ES", "IT", "UK", "NL", "BE", "PT", "CA"]


def test_every_pack_the_issue_names_is_shipped() -> None:
    assert list(all_packs()) == NAMED_IN_THE_ISSUE


def test_rules_for_france_and_the_us() -> None:
    quiet, caps = rules_for(["FR", "US"])
    assert [rule.window for rule in quiet] == [
        "FR mon-sat 08:00-20:00, not on public holidays",
        "US mon-sun 08:00-21:00",
        "US-FL mon-sun 08:00-20:00",
        "US-OK mon-sun 08:00-20:00",
    ]
    assert [rule.action for rule in quiet] == ["hold"] * 4
    assert [(cap.region, cap.max, cap.per, cap.action) for cap in caps] == [
        ("US-FL", 3, "24h", "reject"), ("US-OK", 3, "24h", "reject")]


def test_sources_name_the_law_or_say_there_is_none() -> None:
    sources = {rule.region: rule.source for pack in all_packs().values() for rule in pack.quiet}
    assert "64.1200(c)(1)" in sources["US"]
    assert "501.616(6)(a)" in sources["US-FL"]
    assert "Telephone Solicitation Act of 2022" in sources["US-OK"]
    assert "Fédération Française des Télécoms" in sources["FR"]
    assert "art. 96.2" in sources["ES"]
    assert "Garante" in sources["IT"]
    assert "CRTC" in sources["CA"]
    for region in ("DE", "GB", "NL", "BE", "PT"):
        assert sources[region].startswith("No law"), region
    caps = {cap.region: cap.source for cap in rules_for(["US"]).caps}
    assert "501.616(6)(b)" in caps["US-FL"]


def test_certainty_is_high_only_for_statutes_covering_texts() -> None:
    certainty = {rule.region: rule.certainty
                 for pack in all_packs().values() for rule in pack.quiet}
    assert certainty == {"FR": "medium", "US": "high", "US-FL": "high", "US-OK": "high",
                         "DE": "low", "ES": "low", "IT": "low", "GB": "low", "NL": "low",
                         "BE": "low", "PT": "low", "CA": "low"}
    assert {cap.certainty for cap in rules_for(["US"]).caps} == {"high"}


def test_each_pack_rules_only_its_own_country() -> None:
    country = {"UK": "GB"}
    for name, pack in all_packs().items():
        for rule in (*pack.quiet, *pack.caps):
            assert rule.region.split("-")[0] == country.get(name, name), (name, rule.region)
        assert pack.title


def test_no_pack_closes_a_region_even_all_together() -> None:
    everything = rules_for(all_packs())
    assert closed_regions(everything.quiet) == ()


def test_pack_names() -> None:
    assert pack_name("gb") == "UK" and pack_name(" fr ") == "FR"
    assert rules_for(["GB"]) == rules_for(["UK"])
    assert rules_for(["FR", "fr", "FR"]) == rules_for(["FR"])
    assert rules_for([]) == ((), ())
    with pytest.raises(ValueError, match="no compliance pack 'JP'"):
        rules_for(["JP"])


@pytest.mark.parametrize(("number", "instant", "allowed"), [
    ("+33612345678", "2026-07-14 10:00", False),    # Bastille Day
    ("+33612345678", "2026-07-15 10:00", True),
    ("+4915112345678", "2025-10-03 10:00", False),  # German Unity Day
    ("+34612345678", "2025-06-14 10:00", False),    # Saturday
    ("+34612345678", "2025-06-13 19:30", False),    # Friday 21:30 CEST
    ("+447700900123", "2026-12-28 10:00", False),   # Boxing Day substitute
    ("+393123456789", "2025-06-02 10:00", False),   # Festa della Repubblica
    ("+351912345678", "2026-06-04 10:00", False),   # Corpus Christi
    ("+14165550123", "2025-06-10 21:00", True),     # 17:00 in Toronto
    ("+14165550123", "2025-06-10 22:30", False),    # 18:30 in Toronto
    ("+14055550123", "2025-06-11 01:30", False),    # 20:30 in Oklahoma City
    ("+12125550123", "2025-06-11 00:30", True),     # 20:30 in New York
])
def test_all_packs_at_chosen_instants(number: str, instant: str, allowed: bool) -> None:
    now = datetime.fromisoformat(instant).replace(tzinfo=UTC)
    quiet = rules_for(all_packs()).quiet
    assert check(placement(number), now, quiet).allowed is allowed
