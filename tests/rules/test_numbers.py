"""Recipient and sender normalisation to E.164."""

from __future__ import annotations

import pytest

from rules.numbers import Number, normalize, normalize_sender

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
