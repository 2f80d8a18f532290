"""The per-country placement shortcut gives what rules.sendtime.zones.placement gives, for
every country phonenumbers knows and every kind of number it has an example of."""

from __future__ import annotations

import phonenumbers
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from gateway.sendtime.places import Places, uniform_placement
from rules.sendtime.zones import placement

TYPES = [value for name, value in vars(PhoneNumberType).items()
         if name.isupper() and isinstance(value, int)]


def valid_numbers(country: str) -> list[str]:
    """Example numbers of every type, and neighbours of each that are valid too."""
    found = []
    for kind in TYPES:
        example = phonenumbers.example_number_for_type(country, kind)
        if example is None:
            continue
        e164 = phonenumbers.format_number(example, PhoneNumberFormat.E164)
        for last in range(10):
            candidate = phonenumbers.parse(e164[:-1] + str(last), None)
            if phonenumbers.is_valid_number(candidate) and \
                    phonenumbers.region_code_for_number(candidate) == country:
                found.append(phonenumbers.format_number(candidate, PhoneNumberFormat.E164))
    return found


def test_the_shortcut_agrees_with_placement_for_every_country() -> None:
    shortcut = 0
    for country in sorted(phonenumbers.SUPPORTED_REGIONS):
        uniform = uniform_placement(country)
        if uniform is None:
            continue
        shortcut += 1
        for e164 in valid_numbers(country):
            where = placement(e164)
            assert (where.country, where.regions, where.zones) == (
                uniform.country, uniform.regions, uniform.zones), (country, e164)
    assert shortcut > 50  # most countries have one zone and a calling code of their own


def test_countries_with_several_zones_or_a_shared_code_are_placed_per_number() -> None:
    for country in ("US", "CA", "PR", "GB", "ES", "PT", "IT", "RU", "AU"):
        assert uniform_placement(country) is None, country


def test_a_country_no_rule_names_needs_no_placement() -> None:
    places = Places(["FR", "US-FL"])
    assert places("DE", "+4915112345678") is None
    assert places("FR", "+33612345678") == uniform_placement("FR")
    assert places("US", "+13055550123") == placement("+13055550123")
    assert places("PR", "+17872345678") == placement("+17872345678")  # "US" too
    assert "US" in placement("+17872345678").regions
