"""Where a number may be: its IANA time zones and its regions (country, state or province).

    placement("+33612345678")  -> zones ("Europe/Paris",), regions {"FR"}
    placement("+13055550123")  -> zones ("America/New_York",), regions {"US", "US-FL"}
    placement("+14165550123")  -> zones ("America/Toronto",), regions {"CA", "CA-ON"}
    placement("+18005550123")  -> zones: every US zone (a toll-free number is nowhere
                                  in particular), regions {"US"}
    placement("+79161234567")  -> zones: the 16 zones phonenumbers gives +7 mobiles,
                                  Europe/Moscow to Asia/Kamchatka, regions {"RU"}

**Zones** come from ``phonenumbers.timezone.time_zones_for_number``. Two refinements:

- ``Etc/Unknown`` (phonenumbers knows no zone for the number) means "anywhere in
  its country": every zone phonenumbers' data gives the country (:func:`country_zones`);
- for a calling code several countries share (+1, +7, +44), phonenumbers answers
  a mobile number it cannot place with every zone of the calling code (a Bahamas
  mobile would be in Guam and in Halifax); the zones are narrowed to those of the
  number's own country when that leaves any. A US toll-free number is placed in
  the US by phonenumbers, so it gets every US zone (Hawaii to Eastern).

:func:`country_zones` is the union of the zones of every number prefix
phonenumbers' time-zone data gives the country, the prefix's country decided as
phonenumbers decides it for a shared calling code (a region's ``leading_digits``,
else the code's main country); a country with no prefix of its own gets the
calling code's list.

**Regions** are the ISO 3166-1 country (phonenumbers' region: ``GB`` for the UK)
and, for NANP numbers, the ISO 3166-2 subdivision of the area code: ``US-FL``,
``CA-ON``; area code 867 is in three territories (``CA-YT``, ``CA-NT``,
``CA-NU``) and 902/782 in two provinces (``CA-NS``, ``CA-PE``): all are given.
The US territories with their own NANP country code in phonenumbers (PR, VI,
GU, AS, MP) are also ``US`` and ``US-PR`` etc.: federal law (the TCPA) applies
there. A number of no country (+800, +882: phonenumbers' "001") has no region,
so no send-time rule applies to it.

Area code -> subdivision is a table shipped as data (``nanp_area_codes.json``),
not ``phonenumbers.geocoder``: the geocoder answers with the most precise name
it has ("Florida" for some area codes, "Miami, FL" or "New York, NY" for others,
nothing at area-code level for 203, 310, 713, 718 or 905, and "British Colombia"
once), so reading a state out of it needs guessing; a table is exact, reviewable
and tested. It was built from the area-code-level entries of phonenumbers'
geocoding data (9.0.x), every NPA checked against the state abbreviations of its
city-level entries, and reviewed by hand; non-geographic NPAs (toll-free 8xx,
5xx personal numbers, Canada's 600/622/633, 900) have no subdivision. An area
code the table lacks (a new overlay) falls back to the geocoder's description
("Florida" or "..., FL"), so a phonenumbers upgrade that knows the new code
places it before the table is updated.

Results are cached per number (a campaign's recipients repeat).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources

import phonenumbers
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, PhoneMetadata, geocoder, timezone
from phonenumbers.tzdata import TIMEZONE_DATA

__all__ = [
    "Placement",
    "area_code_regions",
    "country_zones",
    "placement",
]

UNKNOWN_ZONE = "Etc/Unknown"
_NON_GEOGRAPHIC = "001"
#: NANP countries of phonenumbers that are US territories: their ISO 3166-2:US code.
US_TERRITORIES = {"PR": "US-PR", "VI": "US-VI", "GU": "US-GU", "AS": "US-AS", "MP": "US-MP"}


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a number may be.

    ``country`` is the ISO country ("" for none); ``regions`` are the codes rules
    match against ("US", "US-FL"); ``zones`` the IANA zones it may be in, sorted.
    """

    e164: str
    country: str
    regions: frozenset[str]
    zones: tuple[str, ...]


@lru_cache(maxsize=100_000)
def placement(e164: str) -> Placement:
    """The country, regions and time zones of an E.164 number (see the module docstring)."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return Placement(e164, "", frozenset(), ())
    country = phonenumbers.region_code_for_number(number) or \
        phonenumbers.region_code_for_country_code(number.country_code or 0)
    if country in (_NON_GEOGRAPHIC, "ZZ"):
        country = ""
    zones = set(timezone.time_zones_for_number(number))
    if country:
        own = country_zones(country)
        if UNKNOWN_ZONE in zones:
            zones = set(own)
        elif own and zones & own:
            zones &= own
    zones.discard(UNKNOWN_ZONE)
    regions: set[str] = {country} if country else set()
    if country in ("US", "CA"):
        regions |= _nanp_subdivisions(number, country)
    elif country in US_TERRITORIES:
        regions |= {"US", US_TERRITORIES[country]}
    return Placement(e164, country, frozenset(regions), tuple(sorted(zones)))


@cache
def country_zones(country: str) -> frozenset[str]:
    """Every zone phonenumbers' time-zone data gives a country (empty when it knows none)."""
    code = phonenumbers.country_code_for_region(country)
    if not code:
        return frozenset()
    prefix_code = str(code)
    sharing = COUNTRY_CODE_TO_REGION_CODE.get(code, ())
    zones: set[str] = set()
    for prefix, names in TIMEZONE_DATA.items():
        if prefix == prefix_code or not prefix.startswith(prefix_code):
            continue
        if _prefix_country(code, prefix[len(prefix_code):], sharing) == country:
            zones.update(names)
    if not zones:
        zones.update(TIMEZONE_DATA.get(prefix_code, ()))
    zones.discard(UNKNOWN_ZONE)
    return frozenset(zones)


def _prefix_country(code: int, national: str, sharing: tuple[str, ...]) -> str:
    """The country of a number prefix under a calling code.

    phonenumbers' own rule where it has one (a region's ``leading_digits``); Canada
    has none (phonenumbers tells it from the US by whole-number patterns, which a
    prefix cannot match), so a +1 prefix is placed by the area-code table first.
    """
    if code == 1:
        for subdivision in area_code_regions(national[:3]):
            return subdivision.split("-", 1)[0]
    for region in sharing[1:]:
        metadata = PhoneMetadata.metadata_for_region(region)
        if metadata is not None and metadata.leading_digits and \
                re.match(metadata.leading_digits, national):
            return region
    return sharing[0] if sharing else ""


@cache
def _area_codes() -> dict[str, frozenset[str]]:
    raw = resources.files("rules.sendtime").joinpath("nanp_area_codes.json").read_text("ascii")
    table: dict[str, set[str]] = {}
    for subdivision, codes in json.loads(raw).items():
        for code in codes:
            table.setdefault(code, set()).add(subdivision)
    return {code: frozenset(subs) for code, subs in table.items()}


def area_code_regions(area_code: str) -> frozenset[str]:
    """The subdivisions the shipped table gives a NANP area code ("305" -> {"US-FL"})."""
    return _area_codes().get(area_code, frozenset())


def _nanp_subdivisions(number: phonenumbers.PhoneNumber, country: str) -> frozenset[str]:
    area = str(number.national_number)[:3]
    known = area_code_regions(area)
    if known:
        return frozenset(s for s in known if s.startswith(country + "-"))
    if phonenumbers.number_type(number) == phonenumbers.PhoneNumberType.TOLL_FREE:
        return frozenset()
    described = _SUBDIVISION_NAMES.get(geocoder.description_for_number(number, "en"))
    if described is None:
        match = re.search(r", ([A-Z]{2})$", geocoder.description_for_number(number, "en"))
        described = match.group(1) if match else None
    if described is None:
        return frozenset()
    code = f"{country}-{described}"
    return frozenset({code}) if code in _KNOWN_SUBDIVISIONS.get(country, ()) else frozenset()


_US_STATES = {
    "Alabama": "AL", "Alaska": "AK", "Arizona": "AZ", "Arkansas": "AR", "California": "CA",
    "Colorado": "CO", "Connecticut": "CT", "Delaware": "DE", "Washington D.C.": "DC",
    "Florida": "FL", "Georgia": "GA", "Hawaii": "HI", "Idaho": "ID", "Illinois": "IL",
    "Indiana": "IN", "Iowa": "IA", "Kansas": "KS", "Kentucky": "KY", "Louisiana": "LA",
    "Maine": "ME", "Maryland": "MD", "Massachusetts": "MA", "Michigan": "MI",
    "Minnesota": "MN", "Mississippi": "MS", "Missouri": "MO", "Montana": "MT",
    "Nebraska": "NE", "Nevada": "NV", "New Hampshire": "NH", "New Jersey": "NJ",
    "New Mexico": "NM", "New York": "NY", "North Carolina": "NC", "North Dakota": "ND",
    "Ohio": "OH", "Oklahoma": "OK", "Oregon": "OR", "Pennsylvania": "PA",
    "Rhode Island": "RI", "South Carolina": "SC", "South Dakota": "SD", "Tennessee": "TN",
    "Texas": "TX", "Utah": "UT", "Vermont": "VT", "Virginia": "VA",
    "Washington State": "WA", "West Virginia": "WV", "Wisconsin": "WI", "Wyoming": "WY",
}
_CA_PROVINCES = {
    "Alberta": "AB", "British Columbia": "BC", "Manitoba": "MB", "New Brunswick": "NB",
    "Newfoundland and Labrador": "NL", "Nova Scotia": "NS", "Ontario": "ON",
    "Prince Edward Island": "PE", "Quebec": "QC", "Saskatchewan": "SK",
    "Northwest Territories": "NT", "Nunavut": "NU", "Yukon": "YT",
}
#: A geocoder description naming a whole state or province -> its ISO 3166-2 suffix.
_SUBDIVISION_NAMES = {**_US_STATES, **_CA_PROVINCES}
_KNOWN_SUBDIVISIONS = {
    "US": frozenset(f"US-{code}" for code in _US_STATES.values()),
    "CA": frozenset(f"CA-{code}" for code in _CA_PROVINCES.values()),
}
