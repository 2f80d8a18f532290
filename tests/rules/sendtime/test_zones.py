"""Where a number may be: its time zones and its regions."""

from __future__ import annotations

import re
from collections import Counter

import phonenumbers
import pytest
from phonenumbers.geodata import GEOCODE_DATA

from rules.sendtime import zones
from rules.sendtime.zones import area_code_regions, country_zones, placement

US_MAINLAND = {"America/New_York", "America/Chicago", "America/Denver", "America/Phoenix",
               "America/Los_Angeles", "America/Anchorage", "Pacific/Honolulu"}


def test_a_french_mobile_is_in_paris_and_in_france() -> None:
    where = placement("+33612345678")
    assert where.zones == ("Europe/Paris",)
    assert where.regions == {"FR"}
    assert where.country == "FR"


def test_a_florida_number_is_in_the_us_and_in_florida() -> None:
    where = placement("+13055550123")  # Miami, area code 305
    assert where.zones == ("America/New_York",)
    assert where.regions == {"US", "US-FL"}


@pytest.mark.parametrize(("number", "zone", "province"), [
    ("+14165550123", "America/Toronto", "CA-ON"),
    ("+16045550123", "America/Vancouver", "CA-BC"),
    ("+15145550123", "America/Toronto", "CA-QC"),
])
def test_a_canadian_number_has_its_province(number: str, zone: str, province: str) -> None:
    where = placement(number)
    assert where.zones == (zone,)
    assert where.regions == {"CA", province}


def test_area_codes_spanning_several_provinces_give_them_all() -> None:
    assert placement("+18675550123").regions == {"CA", "CA-YT", "CA-NT", "CA-NU"}
    assert placement("+19025550123").regions == {"CA", "CA-NS", "CA-PE"}


def test_a_us_toll_free_number_may_be_in_any_us_zone_and_in_no_state() -> None:
    where = placement("+18005550123")
    assert where.regions == {"US"}
    assert set(where.zones) >= US_MAINLAND
    # Narrowed to the US: phonenumbers' +1 list also has Guam, Halifax, Bermuda...
    assert not {"Pacific/Guam", "America/Halifax", "Atlantic/Bermuda", "America/Toronto"} \
        & set(where.zones)


def test_a_russian_mobile_may_be_in_any_zone_of_plus_7() -> None:
    where = placement("+79161234567")
    assert where.regions == {"RU"}
    assert {"Europe/Moscow", "Asia/Yekaterinburg", "Asia/Vladivostok",
            "Asia/Kamchatka"} <= set(where.zones)
    assert placement("+74951234567").zones == ("Europe/Moscow",)  # a Moscow landline


def test_multi_zone_us_area_codes() -> None:
    assert placement("+16055550123").zones == ("America/Denver", "America/North_Dakota/Center")
    assert placement("+16055550123").regions == {"US", "US-SD"}


def test_a_shared_calling_code_mobile_is_narrowed_to_its_own_country() -> None:
    # phonenumbers gives a Bahamas mobile every +1 zone; the Bahamas have one.
    assert phonenumbers.timezone.time_zones_for_number(
        phonenumbers.parse("+12423571234")) != ("America/Nassau",)
    assert placement("+12423571234").zones == ("America/Nassau",)
    assert placement("+12423571234").regions == {"BS"}


def test_unknown_zone_means_every_zone_of_the_country() -> None:
    # Numbers phonenumbers cannot type get "Etc/Unknown": the country's zones stand in.
    assert placement("+33123").zones == ("Europe/Paris",)
    assert set(placement("+70001234567").zones) == set(country_zones("RU"))
    assert placement("+12425551234").zones == ("America/Nassau",)


def test_us_territories_are_also_us() -> None:
    assert placement("+17875550123").regions == {"PR", "US", "US-PR"}
    assert placement("+16715550123").regions == {"GU", "US", "US-GU"}


def test_numbers_of_no_country_have_no_region_and_no_zone() -> None:
    assert placement("+882123456789").regions == frozenset()
    assert placement("+882123456789").zones == ()
    assert placement("not a number").regions == frozenset()


def test_country_zones_of_shared_calling_codes() -> None:
    assert country_zones("US") >= US_MAINLAND
    assert not {"America/Toronto", "America/Halifax", "Pacific/Guam"} & country_zones("US")
    assert {"America/Toronto", "America/Vancouver", "America/St_Johns"} <= country_zones("CA")
    assert country_zones("FR") == {"Europe/Paris"}
    assert country_zones("XX") == frozenset()


def test_every_country_phonenumbers_knows_has_a_zone() -> None:
    assert [r for r in sorted(phonenumbers.SUPPORTED_REGIONS) if not country_zones(r)] == []


# --- the shipped area-code table -------------------------------------------------------

def _valid_number(area: str) -> phonenumbers.PhoneNumber | None:
    for exchange in ("2345678", "5012345", "7345678", "9876543", "3456789", "4567890"):
        number = phonenumbers.parse(f"+1{area}{exchange}")
        if phonenumbers.is_valid_number(number):
            return number
    return None


def test_every_area_code_of_the_table_is_in_the_country_it_names() -> None:
    for area in sorted(zones._area_codes()):
        number = _valid_number(area)
        assert number is not None, area
        countries = {sub.split("-")[0] for sub in area_code_regions(area)}
        assert {phonenumbers.region_code_for_number(number)} == countries, area


def test_only_known_area_codes_span_several_subdivisions() -> None:
    multi = {area for area, subs in zones._area_codes().items() if len(subs) > 1}
    assert multi == {"867", "902", "782"}


def test_the_table_agrees_with_every_state_the_geocoder_names() -> None:
    """Where phonenumbers' geocoding data names a state for an area code (at area-code
    level, or as the ", XX" of most of its city-level entries), the table says the same."""
    names = {**zones._US_STATES, **zones._CA_PROVINCES}
    votes: dict[str, Counter[str]] = {}
    for prefix, description in GEOCODE_DATA.items():
        if not prefix.startswith("1") or len(prefix) < 4:
            continue
        english = description.get("en", "")
        area = prefix[1:4]
        suffix = re.search(r", ([A-Z]{2})$", english)
        if suffix:
            votes.setdefault(area, Counter())[suffix.group(1)] += 1
        elif len(prefix) == 4 and english in names:
            votes.setdefault(area, Counter())[names[english]] += 1000
    checked = 0
    for area, counter in votes.items():
        table = {sub.split("-")[1] for sub in area_code_regions(area)}
        if not table:
            continue  # not a US or Canadian area code (Caribbean NANP countries)
        assert counter.most_common(1)[0][0] in table, (area, counter, table)
        checked += 1
    assert checked > 350


def test_an_area_code_missing_from_the_table_falls_back_to_the_geocoder(
        monkeypatch: pytest.MonkeyPatch) -> None:
    table = dict(zones._area_codes())
    del table["305"], table["208"]
    monkeypatch.setattr(zones, "_area_codes", lambda: table)
    uncached = zones.placement.__wrapped__
    assert uncached("+13055550123").regions == {"US", "US-FL"}  # "Miami, FL"
    assert uncached("+12085550123").regions == {"US", "US-ID"}  # "Idaho"
    assert uncached("+18005550123").regions == {"US"}
