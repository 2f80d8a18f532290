"""Public holidays computed per country and year, against published dates for 2024-2027."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rules.sendtime.holidays import CALENDARS, easter, has_calendar, holidays, is_holiday


def d(text: str) -> date:
    return date.fromisoformat(text)


@pytest.mark.parametrize(("year", "expected"), [
    (2024, "2024-03-31"), (2025, "2025-04-20"), (2026, "2026-04-05"), (2027, "2027-03-28"),
    (2000, "2000-04-23"), (1818, "1818-03-22"), (2285, "2285-03-22"), (2038, "2038-04-25"),
])
def test_easter_sunday_matches_published_dates(year: int, expected: str) -> None:
    assert easter(year) == d(expected)


@given(st.integers(min_value=1583, max_value=4099))
def test_easter_is_a_sunday_between_22_march_and_25_april(year: int) -> None:
    sunday = easter(year)
    assert sunday.weekday() == 6
    assert date(year, 3, 22) <= sunday <= date(year, 4, 25)


def dates(region: str, year: int) -> list[date]:
    return [h.date for h in holidays(region, year)]


def test_france_2025_easter_based_holidays() -> None:
    assert is_holiday("FR", d("2025-04-21"))  # Easter Monday
    assert is_holiday("FR", d("2025-05-29"))  # Ascension
    assert is_holiday("FR", d("2025-06-09"))  # Whit Monday
    assert not is_holiday("FR", d("2025-04-18"))  # Good Friday: Alsace-Moselle only
    assert not is_holiday("FR", d("2025-04-20"))  # Easter Sunday is not a jour férié


@pytest.mark.parametrize(("year", "easter_monday", "ascension", "whit_monday"), [
    (2024, "04-01", "05-09", "05-20"),
    (2025, "04-21", "05-29", "06-09"),
    (2026, "04-06", "05-14", "05-25"),
    (2027, "03-29", "05-06", "05-17"),
])
def test_france_all_eleven_holidays(year: int, easter_monday: str, ascension: str,
                                    whit_monday: str) -> None:
    fixed = ["01-01", "05-01", "05-08", "07-14", "08-15", "11-01", "11-11", "12-25"]
    expected = sorted(d(f"{year}-{md}") for md in [*fixed, easter_monday, ascension, whit_monday])
    assert dates("FR", year) == expected


US_FEDERAL = {
    2024: ["01-01", "01-15", "02-19", "05-27", "06-19", "07-04", "09-02", "10-14", "11-11",
           "11-28", "12-25"],
    2025: ["01-01", "01-20", "02-17", "05-26", "06-19", "07-04", "09-01", "10-13", "11-11",
           "11-27", "12-25"],
    # 4 July on a Saturday: observed Friday 3 July.
    2026: ["01-01", "01-19", "02-16", "05-25", "06-19", "07-03", "07-04", "09-07", "10-12",
           "11-11", "11-26", "12-25"],
    # Juneteenth on a Saturday (Friday 18), 4 July on a Sunday (Monday 5), Christmas on a
    # Saturday (Friday 24), and 1 January 2028 on a Saturday: observed Friday 31 December 2027.
    2027: ["01-01", "01-18", "02-15", "05-31", "06-18", "06-19", "07-04", "07-05", "09-06",
           "10-11", "11-11", "11-25", "12-24", "12-25", "12-31"],
}


@pytest.mark.parametrize("year", sorted(US_FEDERAL))
def test_us_federal_holidays_with_observed_days(year: int) -> None:
    assert dates("US", year) == [d(f"{year}-{md}") for md in US_FEDERAL[year]]


def test_us_thanksgiving_2026_and_observed_flags() -> None:
    assert is_holiday("US", d("2026-11-26"))
    observed = {h.date: h.name for h in holidays("US", 2026) if h.observed}
    assert observed == {d("2026-07-03"): "Independence Day (observed)"}


def test_a_subdivision_uses_its_country_calendar() -> None:
    assert is_holiday("US-FL", d("2026-11-26"))
    assert is_holiday("CA-ON", d("2026-07-01"))
    assert has_calendar("US-OK")
    assert not has_calendar("JP")


#: gov.uk bank holidays in England and Wales (the weekday holidays).
UK_BANK_HOLIDAYS = {
    2024: ["01-01", "03-29", "04-01", "05-06", "05-27", "08-26", "12-25", "12-26"],
    2025: ["01-01", "04-18", "04-21", "05-05", "05-26", "08-25", "12-25", "12-26"],
    2026: ["01-01", "04-03", "04-06", "05-04", "05-25", "08-31", "12-25", "12-28"],
    2027: ["01-01", "03-26", "03-29", "05-03", "05-31", "08-30", "12-27", "12-28"],
}


@pytest.mark.parametrize("year", sorted(UK_BANK_HOLIDAYS))
def test_uk_bank_holidays_with_substitute_days(year: int) -> None:
    weekdays = [day for day in dates("GB", year) if day.weekday() < 5]
    assert weekdays == [d(f"{year}-{md}") for md in UK_BANK_HOLIDAYS[year]]
    assert dates("UK", year) == dates("GB", year)


def test_uk_christmas_on_a_weekend_keeps_the_day_and_adds_the_substitutes() -> None:
    by_date = {h.date: h for h in holidays("GB", 2027)}
    assert not by_date[d("2027-12-25")].observed  # Saturday: still Christmas Day
    assert by_date[d("2027-12-27")].name == "Christmas Day (substitute)"
    assert by_date[d("2027-12-28")].name == "Boxing Day (substitute)"
    # Christmas on a Sunday (2022): Boxing Day Monday 26, Christmas substitute Tuesday 27.
    # (and 1 January 2022, a Saturday, gave Monday 3 January.)
    assert {h.date for h in holidays("GB", 2022) if h.observed} == {d("2022-01-03"),
                                                                    d("2022-12-27")}


def test_germany_national_holidays_2025() -> None:
    assert dates("DE", 2025) == [d(f"2025-{md}") for md in [
        "01-01", "04-18", "04-21", "05-01", "05-29", "06-09", "10-03", "12-25", "12-26"]]
    assert not is_holiday("DE", d("2025-06-19"))  # Corpus Christi: some Länder only


def test_spain_national_holidays_2026() -> None:
    assert dates("ES", 2026) == [d(f"2026-{md}") for md in [
        "01-01", "01-06", "04-03", "05-01", "08-15", "10-12", "11-01", "12-06", "12-08",
        "12-25"]]


def test_italy_2024() -> None:
    assert dates("IT", 2024) == [d(f"2024-{md}") for md in [
        "01-01", "01-06", "03-31", "04-01", "04-25", "05-01", "06-02", "08-15", "11-01",
        "12-08", "12-25", "12-26"]]


def test_netherlands_kings_day_moves_to_saturday_when_on_sunday() -> None:
    assert is_holiday("NL", d("2025-04-26")) and not is_holiday("NL", d("2025-04-27"))
    assert is_holiday("NL", d("2026-04-27")) and not is_holiday("NL", d("2026-04-26"))
    assert is_holiday("NL", d("2025-05-29")) and is_holiday("NL", d("2025-06-09"))
    assert is_holiday("NL", d("2027-05-05"))  # Liberation Day


def test_belgium_2024() -> None:
    assert dates("BE", 2024) == [d(f"2024-{md}") for md in [
        "01-01", "04-01", "05-01", "05-09", "05-20", "07-21", "08-15", "11-01", "11-11",
        "12-25"]]


@pytest.mark.parametrize(("year", "good_friday", "corpus_christi"), [
    (2024, "03-29", "05-30"), (2025, "04-18", "06-19"),
    (2026, "04-03", "06-04"), (2027, "03-26", "05-27"),
])
def test_portugal_easter_based_and_corpus_christi(year: int, good_friday: str,
                                                  corpus_christi: str) -> None:
    assert is_holiday("PT", d(f"{year}-{good_friday}"))
    assert is_holiday("PT", d(f"{year}-{corpus_christi}"))
    assert len(holidays("PT", year)) == 13


@pytest.mark.parametrize(("year", "victoria", "labour", "thanksgiving"), [
    (2024, "05-20", "09-02", "10-14"), (2025, "05-19", "09-01", "10-13"),
    (2026, "05-18", "09-07", "10-12"), (2027, "05-24", "09-06", "10-11"),
])
def test_canada_federal_nth_weekday_holidays(year: int, victoria: str, labour: str,
                                             thanksgiving: str) -> None:
    for md in (victoria, labour, thanksgiving, "07-01", "09-30", "11-11", "12-26"):
        assert is_holiday("CA", d(f"{year}-{md}")), md


def test_canada_day_on_a_sunday_is_kept_on_monday_2_july() -> None:
    assert is_holiday("CA", d("2029-07-01")) and is_holiday("CA", d("2029-07-02"))
    assert not is_holiday("CA", d("2028-07-03"))  # 2028: Saturday, no substitute


def test_holidays_of_an_unknown_country_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        holidays("JP", 2025)


@given(st.sampled_from(sorted(CALENDARS)), st.integers(min_value=1990, max_value=2200))
def test_every_rule_gives_a_holiday_every_year_sorted_within_the_year(country: str,
                                                                      year: int) -> None:
    found = holidays(country, year)
    assert [h.date for h in found] == sorted(h.date for h in found)
    assert all(h.date.year == year for h in found)
    assert all(is_holiday(country, h.date) for h in found)
    names = {h.name.removesuffix(" (observed)").removesuffix(" (substitute)") for h in found}
    assert {rule.name for rule in CALENDARS[country] if getattr(rule, "since", 0) <= year} \
        <= names
