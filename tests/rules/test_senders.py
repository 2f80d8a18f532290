"""Sender ownership: source keys and who may send from what (rules/senders.py)."""

from __future__ import annotations

import pytest

from rules.senders import AccountSenders, SenderOwnership, listed_key, source_keys

OWNERSHIP = SenderOwnership([
    AccountSenders("acme", "FR", ("36173", "+33757000000"), ("ACME", "+33757000050")),
    AccountSenders("globex", "GB", ("+447700900000", "36173", "+33757000050"), ("GLOBEX",)),
    AccountSenders("initech", "GB", ("+447400900001",), ()),
])


@pytest.mark.parametrize(("address", "ton", "region"), [
    ("+447700900000", 1, ""), ("+447700900000", 0, "FR"), ("447700900000", 1, "FR"),
    ("00447700900000", 0, "FR"), ("+44 (0)7700 900000", 1, ""), ("07700900000", 0, "GB"),
    ("07700900000", 2, "GB"), ("4407700900000", 1, ""),
])
def test_every_form_of_a_number_has_its_e164_key(address: str, ton: int, region: str) -> None:
    # +447700900000 is in a range phonenumbers calls invalid: read structurally anyway.
    assert "+447700900000" in source_keys(address, ton, region)


def test_ambiguous_digits_carry_every_reading_a_carrier_could_make() -> None:
    assert source_keys("447700900000", 0, "FR") == ("+33447700900000", "+447700900000")
    assert source_keys("447700900000", 3, "") == ("+447700900000",)
    # digits sent as "alphanumeric" show as a number on a handset
    assert "+447700900000" in source_keys("447700900000", 5, "FR")
    assert source_keys("447700900000", 2, "FR") == ("+33447700900000",)  # national, surely


def test_alphanumeric_ids_compare_case_insensitively_and_shortcodes_as_digits() -> None:
    assert source_keys("GLOBEX", 5) == source_keys("globex", 0) == source_keys(" Globex ", 5)
    assert source_keys("36173", 0) == source_keys("36173", 3) == ("36173",)
    assert source_keys("36173", 1) == ("+36173", "36173")
    assert source_keys("", 0) == ()


@pytest.mark.parametrize(("entry", "region", "key"), [
    ("+33757000000", "", "+33757000000"), ("33757000000", "FR", "+33757000000"),
    ("0757000000", "FR", "+33757000000"), ("0033757000000", "GB", "+33757000000"),
    ("447700900000", "FR", "+447700900000"), ("36173", "FR", "36173"), ("ACME", "", "acme"),
])
def test_config_entries_have_one_key(entry: str, region: str, key: str) -> None:
    assert listed_key(entry, region) == key


@pytest.mark.parametrize(("account", "address", "ton", "allowed"), [
    ("acme", "ACME", 5, True), ("acme", "acme", 5, True), ("acme", "36173", 0, True),
    ("acme", "0757000000", 0, True), ("acme", "33757000050", 1, True),
    ("acme", "GLOBEX", 5, False), ("acme", "447700900000", 1, False),
    ("acme", "447700900000", 0, False), ("acme", "INITECH", 5, False),  # restricted: unlisted
    ("acme", "", 0, False),
    ("globex", "36173", 3, True), ("globex", "07700900000", 0, True),
    ("globex", "+33757000050", 1, True), ("globex", "ACME", 5, False),
    ("initech", "INITECH", 5, True), ("initech", "", 0, True),
    ("initech", "+447400900555", 1, True),
    ("initech", "36173", 0, False), ("initech", "07700900000", 0, False),
    ("initech", "Globex", 5, False),
])
def test_who_may_send_from_what(account: str, address: str, ton: int, allowed: bool) -> None:
    assert OWNERSHIP.may_send(account, address, ton) is allowed


def test_a_number_binds_its_listers_or_else_every_account_without_senders() -> None:
    assert OWNERSHIP.bound_by("36173", 0) == ("acme", "globex")
    assert OWNERSHIP.bound_by("33757000050", 1) == ("acme", "globex")
    assert OWNERSHIP.bound_by("447700900000", 1) == ("globex",)
    assert OWNERSHIP.bound_by("447400900555", 1) == ("initech",)
    assert OWNERSHIP.destination_listers("447400900555", 1) == ()
