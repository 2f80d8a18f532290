"""A held message as stored: rebuilt exactly as the sender gave it, before any footer."""

from __future__ import annotations

import pytest

from gateway.message import Message
from gateway.sendtime import stored
from smpp.constants import Tag
from smpp.pdu import SubmitSm
from smpp.text import encode_text


def as_received(message: Message) -> tuple[object, ...]:
    return (message.account, message.id, message.part_ids, message.template,
            message.data_coding, message.payload, message.concat, message.extra_ies,
            message.via)


def test_a_submit_sm_comes_back_whole_and_goes_out_as_it_would_have() -> None:
    pdu = SubmitSm(source_addr="ACME", source_addr_ton=5, destination_addr="33612345678",
                   dest_addr_ton=1, registered_delivery=1, validity_period="000001000000000R",
                   short_message=b"Sale today", tlvs=((Tag.stopgate_campaign, b"bf"),))
    message = Message.from_pdu("acme", pdu, None, 1.0)
    back = stored.load(stored.dump(message))
    assert as_received(back) == as_received(message)
    assert back.outbound_parts() == message.outbound_parts()


def test_the_payload_is_stored_as_received_not_with_the_footer() -> None:
    message = Message.from_text("acme", source_addr="ACME", destination_addr="33612345678",
                                text="Sale today")
    original = (message.payload, message.data_coding)
    message.received = original
    message.payload, message.data_coding = encode_text("Sale today ✓ STOP", 8), 8
    back = stored.load(stored.dump(message))
    assert (back.payload, back.data_coding) == original and back.via == "http"


def test_a_multipart_message_keeps_its_part_ids_and_its_cut() -> None:
    parts = [SubmitSm(destination_addr="33612345678", esm_class=0x40,
                      short_message=bytes([5, 0, 3, 7, 2, i + 1]) + b"x" * 10)
             for i in range(2)]
    message = Message(account="acme", id="p2", part_ids=("p1", "p2"), template=parts[0],
                      data_coding=0, payload=b"x" * 20, concat="udh8")
    back = stored.load(stored.dump(message))
    assert as_received(back) == as_received(message)


@pytest.mark.parametrize(("rule", "http_class"), [("explicit:http", "promotional"),
                                                  ("detector:offer", None)])
def test_only_a_class_the_sender_stated_over_http_is_given_back(rule: str,
                                                                 http_class: str | None) -> None:
    message = Message.from_text("acme", source_addr="ACME", destination_addr="336",
                                text="x")
    message.klass, message.rule, message.campaign = "promotional", rule, "bf"
    back = stored.load(stored.dump(message))
    assert (back.klass, back.campaign) == (http_class, "bf")


def test_a_format_this_stopgate_does_not_know_is_refused() -> None:
    with pytest.raises(ValueError, match="format 9"):
        stored.load(b'{"v": 9}')


def test_an_erased_message_keeps_its_parts_and_loses_its_destination() -> None:
    pdu = SubmitSm(source_addr="ACME", destination_addr="33612345678", registered_delivery=1,
                   short_message=b"Sale today")
    message = Message.from_pdu("acme", pdu, None, 1.0)
    erased = stored.without_destination(stored.dump(message))
    assert b"33612345678" not in erased and b"33612345678".hex().encode() not in erased
    back = stored.load(erased)
    assert back.template.destination_addr == "" and back.part_ids == message.part_ids
    assert (back.template.source_addr, back.template.registered_delivery, back.payload) == (
        "ACME", 1, b"Sale today")


@pytest.mark.parametrize("data", [b"", b"\x01message", b'{"v": 1}', b'{"template": "zz"}'])
def test_an_unreadable_message_is_erased_whole(data: bytes) -> None:
    assert stored.without_destination(data) == b""
