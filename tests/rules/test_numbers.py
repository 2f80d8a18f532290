"""Recipient and sender normalisation to E.164."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rules.numbers import Number, _normalize_parsed, normalize, normalize_once, normalize_sender

FR = Number("+33612345678", "FR")


@pytest.mark.parametrize(
    ("address", "ton", "region"),
    [
        ("0612345678", 0, "FR"),           # national
        ("06 12 34 56 78", 0, "FR"),       # with spaces
        ("06-12-34-56-78", 2, "FR"),       # dashes, TON national
        ("+33612345678", 0, "GB"),         # international with +
        ("33612345678", 1, "GB"),          # TON international, no +
        ("33612345678", 0, "FR"),          # international digits with TON unknown
        ("0033612345678", 0, "GB"),        # 00 prefix
        ("+33 6 12 34 56 78", 0, ""),     # international, no region needed
    ],
)
def test_every_common_format_of_one_number_normalises_to_the_same_e164(
    address: str, ton: int, region: str
) -> None:
    assert normalize(address, ton, region) == FR


@pytest.mark.parametrize("address", ["", "12", "+999123", "0612", "hello"])
def test_invalid_recipients_are_none(address: str) -> None:
    assert normalize(address, 0, "FR") is None


def test_national_number_without_a_region_cannot_be_normalised() -> None:
    assert normalize("0612345678", 0, "") is None


def test_region_comes_from_the_number_not_the_account() -> None:
    assert normalize("+447400123456", 1, "FR") == Number("+447400123456", "GB")
    assert normalize("+12025550143", 1, "FR") == Number("+12025550143", "US")


def test_sender_ids_and_shortcodes_are_kept_as_they_are() -> None:
    assert normalize_sender("ACME", 5, "FR") == Number("ACME", "", "alphanumeric")
    assert normalize_sender("Shop24", 0, "FR") == Number("Shop24", "", "alphanumeric")
    assert normalize_sender("36173", 3, "FR") == Number("36173", "", "shortcode")
    assert normalize_sender("36173", 0, "FR") == Number("36173", "", "shortcode")
    assert normalize_sender("+33757000000", 1, "FR").e164 == "+33757000000"


# --- normalize_once: the uncached form for bulk imports ----------------------------------

COUNTRY_CODES = sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)


@pytest.mark.parametrize(
    ("address", "ton", "region"),
    [
        ("0612345678", 0, "FR"), ("06 12 34 56 78", 0, "FR"), ("06-12-34-56-78", 2, "FR"),
        ("+33612345678", 0, "GB"), ("33612345678", 1, "GB"), ("33612345678", 0, "FR"),
        ("0033612345678", 0, "GB"), ("+33 6 12 34 56 78", 0, ""),
    ],
)
def test_normalize_once_reads_every_common_format_like_normalize(
    address: str, ton: int, region: str
) -> None:
    assert normalize_once(address, ton, region) == FR


@pytest.mark.parametrize("address", [
    "", "12", "+999123", "0612", "hello", "+0612345678", "+3306123456789012345678",
    "+44 07400 123456",  # national prefix written after the country code: the full path
    "+390612345678",  # Italian leading zero: the full path
])
def test_normalize_once_agrees_with_normalize_on_odd_input(address: str) -> None:
    assert normalize_once(address, 0, "FR") == _normalize_parsed(address, 0, "FR")


@settings(max_examples=3000, deadline=None)
@given(
    country_code=st.sampled_from(COUNTRY_CODES),
    national=st.text(alphabet="0123456789", min_size=1, max_size=17),
)
def test_normalize_once_fast_path_equals_the_parser_for_any_plus_digits(
    country_code: int, national: str
) -> None:
    address = f"+{country_code}{national}"
    assert normalize_once(address, 0, "FR") == _normalize_parsed(address, 0, "FR")


@settings(max_examples=2000, deadline=None)
@given(st.sampled_from(COUNTRY_CODES), st.integers(0, 10**12))
def test_normalize_once_on_valid_looking_numbers(country_code: int, value: int) -> None:
    # Example numbers of every region, perturbed in their last digits: mostly valid ones.
    region = phonenumbers.region_code_for_country_code(country_code)
    example = phonenumbers.example_number(region) if region != "001" else None
    base = str(example.national_number) if example is not None else "612345678"
    digits = base[: max(1, len(base) - 4)] + str(value)[-4:].zfill(4)
    address = f"+{country_code}{digits}"
    assert normalize_once(address, 1, "") == _normalize_parsed(address, 1, "")


REGIONS = sorted(phonenumbers.SUPPORTED_REGIONS)


@settings(max_examples=3000, deadline=None)
@given(region=st.sampled_from(REGIONS), digits=st.text(alphabet="0123456789", min_size=1,
                                                        max_size=17))
def test_normalize_once_national_fast_path_equals_the_parser_for_any_digits(
    region: str, digits: str
) -> None:
    for address in (digits, "0" + digits):
        assert normalize_once(address, 0, region) == _normalize_parsed(address, 0, region)
        assert normalize_once(address, 2, region) == _normalize_parsed(address, 2, region)


@pytest.mark.parametrize("region", REGIONS)
def test_normalize_once_on_every_regions_numbers_written_nationally(region: str) -> None:
    # Each type's example number, as people write it at home, perturbed in its last
    # digits: mostly valid numbers, so the fast path answers most of them.
    for kind in phonenumbers.PhoneNumberType.values():
        example = phonenumbers.example_number_for_type(region, kind)
        if example is None:
            continue
        written = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.NATIONAL)
        for tail in ("00", "17", "58", "99"):
            address = written[:-2] + tail
            for ton in (0, 2):
                assert normalize_once(address, ton, region) == \
                    _normalize_parsed(address, ton, region), (address, ton)
