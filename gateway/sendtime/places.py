"""Where a recipient may be, as the send-time stage asks it: per country when the country
decides it, per number otherwise (rules.sendtime.zones.placement, cached per number).

``placement`` parses the number again and asks phonenumbers for its time zones (~40-70 µs
for a number not seen before: every recipient of a campaign is new). For many countries
the answer is the same for every number, and provably so from phonenumbers' data: a
calling code no other country shares, outside the NANP, whose time-zone data names one
zone for the whole country (France, Germany, the Netherlands, Belgium...). There the
placement is built once per country. And a country no rule names needs none at all.

A number reaches the stage valid and with its country (``message.country``, from
phonenumbers' ``region_code_for_number`` in the normalise stage): the same country
``placement`` would find.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

import phonenumbers
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE
from phonenumbers.tzdata import TIMEZONE_DATA

from rules.sendtime.zones import US_TERRITORIES, Placement, country_zones, placement

__all__ = ["Places", "uniform_placement"]

#: A country whose placement differs per number.
_PER_NUMBER: Final = Placement("", "", frozenset(), ())


def uniform_placement(country: str) -> Placement | None:
    """The placement every valid number of ``country`` has, when phonenumbers' data makes
    it the same for all of them (see the module docstring); None otherwise."""
    if country in ("US", "CA") or country in US_TERRITORIES:
        return None  # regions by area code; territories are also "US"
    code = phonenumbers.country_code_for_region(country)
    if not code or COUNTRY_CODE_TO_REGION_CODE.get(code, ()) != (country,):
        return None
    own = country_zones(country)
    if len(own) != 1:
        return None
    [zone] = own
    # A number phonenumbers places only at the calling-code level gets that list, narrowed
    # to the country's zones if they meet: it must hold the zone too.
    level = TIMEZONE_DATA.get(str(code))
    if level is not None and zone not in level:
        return None
    return Placement("", country, frozenset({country}), (zone,))


class Places:
    """The placement of a message's recipient for rules naming ``regions``; None when no
    rule can apply to its country."""

    __slots__ = ("_by_country", "_countries")

    def __init__(self, regions: Iterable[str]) -> None:
        countries = {region.split("-", 1)[0] for region in regions}
        if "US" in countries:
            countries |= set(US_TERRITORIES)  # their numbers are "US" too
        self._countries = frozenset(countries)
        self._by_country: dict[str, Placement | None] = {}

    def __call__(self, country: str, e164: str) -> Placement | None:
        known = self._by_country.get(country, _PER_NUMBER)
        if known is _PER_NUMBER:
            if country in self._by_country:
                return placement(e164)
            known = self._by_country[country] = self._of(country)
            if known is _PER_NUMBER:
                return placement(e164)
        return known

    def _of(self, country: str) -> Placement | None:
        if country not in self._countries:
            return None
        return uniform_placement(country) or _PER_NUMBER
