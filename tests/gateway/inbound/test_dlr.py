"""Delivery receipts as values: recognising, reading, rewriting and building them; id forms."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.inbound.id_map import canonical_id, lookup_forms, pair_ids
from gateway.inbound.receipts import (
    build_receipt,
    is_receipt,
    parse_receipt_text,
    receipt_id,
    receipt_ids,
    receipt_text,
    rewrite_receipt,
)
from smpp.codec import decode, encode
from smpp.constants import ESM_DELIVERY_RECEIPT, ESM_INTERMEDIATE_NOTIFICATION, Tag
from smpp.pdu import DeliverSm
from smpp.tlv import encode_tlv_int, encode_tlv_str, tlv_int, tlv_str

APPENDIX_B = (b"id:0000012345 sub:001 dlvrd:001 submit date:2611231504 "
              b"done date:2611231505 stat:DELIVRD err:000 text:Hello id:99 stat:x")


def receipt(text: bytes = APPENDIX_B, *, esm_class: int = ESM_DELIVERY_RECEIPT,
            tlvs: tuple[tuple[int, bytes], ...] = (), data_coding: int = 0) -> DeliverSm:
    return DeliverSm(source_addr="33612345678", destination_addr="36173",
                     esm_class=esm_class, data_coding=data_coding, short_message=text, tlvs=tlvs)


# --- reading ------------------------------------------------------------------------


def test_appendix_b_text_gives_every_field() -> None:
    fields = parse_receipt_text(APPENDIX_B.decode()).fields
    assert fields == {
        "id": "0000012345", "sub": "001", "dlvrd": "001", "submit_date": "2611231504",
        "done_date": "2611231505", "stat": "DELIVRD", "err": "000", "text": "Hello id:99 stat:x",
    }


@pytest.mark.parametrize("text", [
    "id:ABC123 sub:001 dlvrd:001 submit date:2611231504 done date:2611231505 stat:DELIVRD err:0",
    "ID:ABC123 SUB:001 DLVRD:001 SUBMIT DATE:2611231504 DONE DATE:2611231505 STAT:DELIVRD",
    "id: ABC123  sub:001   stat:DELIVRD",
    "  id:ABC123\tstat:DELIVRD err:000 text:",
    "id:ABC123 submit_date:2611231504 done_date:2611231505 stat:DELIVRD",
    "stat:DELIVRD err:000 id:ABC123 text:reordered",
])
def test_receipt_text_is_read_tolerantly(text: str) -> None:
    parsed = parse_receipt_text(text)
    assert parsed.id == "ABC123"
    assert parsed.stat == "DELIVRD"
    assert parsed.id_span is not None
    assert text[parsed.id_span[0]:parsed.id_span[1]] == "ABC123"


def test_an_id_inside_the_free_text_is_not_the_receipts() -> None:
    assert parse_receipt_text("stat:DELIVRD text:id:42").id is None
    assert parse_receipt_text("stat:DELIVRD text:x id:42").id is None


def test_a_key_glued_to_another_word_is_no_key() -> None:
    assert parse_receipt_text("msgid:42 stat:DELIVRD").id is None


def test_ids_up_to_65_characters_are_read_longer_ones_ignored() -> None:
    assert parse_receipt_text("id:" + "a" * 65 + " stat:DELIVRD").id == "a" * 65
    assert parse_receipt_text("id:" + "a" * 66 + " stat:DELIVRD").id is None


def test_receipted_message_id_tlv_comes_before_the_text() -> None:
    pdu = receipt(tlvs=(encode_tlv_str(Tag.receipted_message_id, "3039"),))
    assert receipt_id(pdu) == "3039"
    assert receipt_ids(pdu) == ["3039", "0000012345"]


def test_receipted_message_id_without_nul_is_read() -> None:
    pdu = receipt(b"", tlvs=((Tag.receipted_message_id, b"abc"),))
    assert receipt_id(pdu) == "abc"


def test_text_in_message_payload_is_read() -> None:
    pdu = receipt(b"", tlvs=((Tag.message_payload, APPENDIX_B),))
    assert receipt_id(pdu) == "0000012345"
    assert receipt_text(pdu).stat == "DELIVRD"


def test_ucs2_receipt_text_is_read() -> None:
    pdu = receipt(APPENDIX_B.decode().encode("utf-16-be"), data_coding=8)
    assert receipt_id(pdu) == "0000012345"


# --- recognising ----------------------------------------------------------------------


def test_esm_class_receipt_types_are_receipts() -> None:
    assert is_receipt(receipt(esm_class=ESM_DELIVERY_RECEIPT))
    assert is_receipt(receipt(esm_class=ESM_INTERMEDIATE_NOTIFICATION))
    assert is_receipt(receipt(esm_class=ESM_DELIVERY_RECEIPT | 0x40 | 0x80))


def test_sme_acknowledgements_are_not_receipts() -> None:
    assert not is_receipt(receipt(esm_class=0x08))
    assert not is_receipt(receipt(esm_class=0x10))


def test_esm_class_zero_with_receipt_tlvs_is_a_receipt() -> None:
    tlvs = (encode_tlv_str(Tag.receipted_message_id, "1"), encode_tlv_int(Tag.message_state, 2))
    assert is_receipt(receipt(b"", esm_class=0, tlvs=tlvs))
    assert not is_receipt(receipt(b"hi", esm_class=0, tlvs=tlvs[:1]))


def test_esm_class_zero_with_receipt_text_is_a_receipt() -> None:
    assert is_receipt(receipt(esm_class=0))
    assert is_receipt(receipt(b"ID:7 STAT:UNDELIV", esm_class=0))


@pytest.mark.parametrize("text", [b"STOP", b"my id: 1234 stat: fine", b"id:1 please", b""])
def test_ordinary_mos_are_not_receipts(text: bytes) -> None:
    assert not is_receipt(receipt(text, esm_class=0))


# --- rewriting ----------------------------------------------------------------------------


def test_rewrite_replaces_the_id_in_the_tlv_and_the_text_only() -> None:
    vendor = (0x1403, b"\x01\x02")
    pdu = receipt(tlvs=(encode_tlv_str(Tag.receipted_message_id, "3039"),
                        encode_tlv_int(Tag.message_state, 2), vendor))
    out = rewrite_receipt(pdu, "a1b2c3d4e5f60718")
    assert out.short_message == APPENDIX_B.replace(b"0000012345", b"a1b2c3d4e5f60718", 1)
    assert [tag for tag, _ in out.tlvs] == [tag for tag, _ in pdu.tlvs]
    assert tlv_str(out, Tag.receipted_message_id) == "a1b2c3d4e5f60718"
    assert tlv_int(out, Tag.message_state) == 2
    assert out.tlv(0x1403) == b"\x01\x02"
    assert replace(out, short_message=pdu.short_message, tlvs=pdu.tlvs) == pdu


def test_rewrite_adds_receipted_message_id_when_the_carrier_left_it_out() -> None:
    out = rewrite_receipt(receipt(), "s1")
    assert tlv_str(out, Tag.receipted_message_id) == "s1"
    assert out.short_message.startswith(b"id:s1 sub:001")


def test_rewrite_keeps_latin1_and_gsm_octets_around_the_id() -> None:
    text = b"id:77 stat:DELIVRD text:caf\xe9 \x00\x1b\x14 \xff"
    out = rewrite_receipt(receipt(text, data_coding=3), "new")
    assert out.short_message == b"id:new stat:DELIVRD text:caf\xe9 \x00\x1b\x14 \xff"


def test_rewrite_of_a_ucs2_receipt_stays_ucs2() -> None:
    text = "id:77 stat:DELIVRD text:\u20ac\u4e2d"
    out = rewrite_receipt(receipt(text.encode("utf-16-be"), data_coding=8), "new")
    assert out.short_message.decode("utf-16-be") == "id:new stat:DELIVRD text:\u20ac\u4e2d"


def test_rewrite_of_a_message_payload_receipt_stays_in_message_payload() -> None:
    pdu = receipt(b"", tlvs=((Tag.message_payload, APPENDIX_B),))
    out = rewrite_receipt(pdu, "s")
    assert out.short_message == b""
    assert out.tlv(Tag.message_payload) == APPENDIX_B.replace(b"0000012345", b"s", 1)


def test_a_text_grown_past_254_octets_moves_to_message_payload() -> None:
    text = b"id:1 stat:DELIVRD text:" + b"x" * 230
    out = rewrite_receipt(receipt(text), "z" * 40)
    assert out.short_message == b""
    assert out.tlv(Tag.message_payload) == b"id:" + b"z" * 40 + text[4:]
    decode(encode(out))  # and it is a valid PDU


_id = st.text(alphabet="0123456789abcdefABCDEF-_", min_size=1, max_size=40)
_free = st.binary(max_size=120).filter(lambda b: b"\r" not in b)


@given(carrier_id=_id, sender_id=_id, before=st.sampled_from([b"", b"  ", b"\t"]), free=_free)
def test_rewrite_round_trip_restores_the_pdu(
    carrier_id: str, sender_id: str, before: bytes, free: bytes
) -> None:
    text = (before + b"id:" + carrier_id.encode() + b" sub:001 dlvrd:001 stat:DELIVRD err:000 "
            b"text:" + free)
    pdu = receipt(text, tlvs=(encode_tlv_str(Tag.receipted_message_id, carrier_id),
                              (0x1401, b"v")))
    out = rewrite_receipt(pdu, sender_id)
    assert receipt_id(out) == sender_id
    assert receipt_text(out).id == sender_id
    assert receipt_text(out).fields.get("text") == free.decode("latin-1")
    assert rewrite_receipt(out, carrier_id) == pdu
    assert decode(encode(out)) == out


# --- building -------------------------------------------------------------------------------


def test_built_rejectd_receipt_reads_back() -> None:
    when = datetime(2026, 11, 23, 15, 4)
    pdu = build_receipt("a1b2c3", source_addr="33612345678", destination_addr="36173",
                        stat="REJECTD", err=101, submit_date=when,
                        text="Black Friday -50% on everything €")
    assert pdu.short_message == (b"id:a1b2c3 sub:001 dlvrd:000 submit date:2611231504 "
                                 b"done date:2611231504 stat:REJECTD err:101 "
                                 b"text:Black Friday -50% on")
    assert is_receipt(pdu)
    assert receipt_id(pdu) == "a1b2c3"
    assert tlv_int(pdu, Tag.message_state) == 8
    assert decode(encode(pdu)) == pdu


def test_built_receipt_text_holds_what_gsm_cannot_as_question_marks() -> None:
    pdu = build_receipt("1", source_addr="1", destination_addr="2", stat="DELIVRD",
                        submit_date=datetime(2026, 1, 1), text="€ok 中")
    assert pdu.short_message.endswith(b"stat:DELIVRD err:000 text:\x1b\x65ok ?")
    assert b"dlvrd:001" in pdu.short_message


# --- id forms --------------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "canonical"), [
    ("0000012345", "12345"), ("7B", "7b"), ("000", "0"), ("0", "0"), (" 0a ", "a"), ("", ""),
    ("msg-01", "msg-01"),
])
def test_canonical_ids(raw: str, canonical: str) -> None:
    assert canonical_id(raw) == canonical


def test_lookup_forms_cover_hex_decimal_and_padding() -> None:
    assert lookup_forms("0000000123") == ["123", "7b", "291"]
    assert lookup_forms("7B") == ["7b", "123"]
    assert lookup_forms("00ff") == ["ff", "255"]
    assert lookup_forms("5") == ["5"]
    assert lookup_forms("msg-1") == ["msg-1"]


@given(st.integers(min_value=0, max_value=2**64))
def test_a_number_given_in_one_base_is_found_in_the_other(value: int) -> None:
    stored_hex, stored_dec = canonical_id(format(value, "X")), canonical_id(str(value))
    assert stored_hex in lookup_forms(f"{value:020d}")
    assert stored_dec in lookup_forms(format(value, "08X"))


def test_carrier_ids_pair_with_sender_ids_in_order() -> None:
    assert pair_ids(["c1", "c2"], ["s1", "s2"]) == [("c1", ("s1",)), ("c2", ("s2",))]
    # A footer needed another part: its receipt goes to the sender's last part.
    assert pair_ids(["c1", "c2", "c3"], ["s1", "s2"]) == [
        ("c1", ("s1",)), ("c2", ("s2",)), ("c3", ("s2",))]
    # Fewer carrier parts: the last carrier receipt answers for the rest.
    assert pair_ids(["c1"], ["s1", "s2", "s3"]) == [("c1", ("s1", "s2", "s3"))]
    assert pair_ids([], ["s1"]) == []
