"""Footers against hostile and unusual senders (issue 12), end to end through the gateway.

- In France only the footer's own "STOP au <this account's shortcode>" counts as the
  footer: "STOP au 36180" or "STOP au 06 12 34 56 78" in the text gets the footer added.
- The SMPP 3.4 national codings (JIS, Cyrillic, Hebrew, ISO-2022-JP, JIS X 0212,
  KS C 5601) are text: the footer goes on in the message's own coding, or the message
  is refused when that coding cannot carry it. Binary data still goes without one.
- Links are short and survive every carrier: "no-s.ms/" + 9 base62 characters, in the
  recipient's language, the account's in a country of several languages.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from simulator.records import ReceivedMessage
from smpp.pdu import SubmitSm
from smpp.segments import build_parts, concat_info, split_text
from tests.integration.conftest import Stack
from tests.integration.policy_stack import (
    ACME_SHORTCODE_FOOTER,
    GB,
    GLOBEX_SHORTCODE_FOOTER,
    OTHER_FR,
    S,
    digits,
    policy_stack,
    post_message,
    send_one,
    send_parts,
    submit,
)
from tests.integration.senders import bind_sender
from tests.support.metrics import metric
from tests.support.waiting import eventually

FR_2, FR_3, FR_4 = "+33612345672", "+33612345673", "+33612345674"
PL = "+48512345678"
BE = "+32470123456"
DE = "+4915123456789"
LINK_TOKEN = r"no-s\.ms/([A-Za-z0-9]{9})"
#: The national codings, the codec of each as SMSCs of its country use it, and a text.
NATIONAL = [
    (0x05, "shift_jis", "今週末だけのセール、全品三割引き。"),
    (0x06, "iso8859_5", "Распродажа только в эти выходные: скидка 30% на всё."),
    (0x07, "iso8859_8", "מבצע רק בסוף השבוע הזה: 30% הנחה על הכול."),
    (0x0A, "iso2022_jp", "今週末だけのセール、全品三割引き。"),
    (0x0D, "euc_jp", "今週末だけのセール、全品三割引き。"),
    (0x0E, "euc_kr", "이번 주말 한정 세일! 전 품목 30% 할인."),
]


@pytest.fixture
async def stack(flushed_redis: str, tmp_path: Path) -> AsyncIterator[Stack]:
    async with policy_stack(flushed_redis, tmp_path) as running:
        yield running


def arrived(stack: Stack, e164: str) -> list[ReceivedMessage]:
    return [m for m in stack.simulator.messages()
            if m.destination_addr == digits(e164) and m.complete]


async def carrier_message(stack: Stack, e164: str) -> ReceivedMessage:
    await eventually(lambda: len(arrived(stack, e164)) == 1, f"the message for {e164}")
    [message] = arrived(stack, e164)
    return message


def carrier_parts(stack: Stack, e164: str) -> list[SubmitSm]:
    return [r.pdu for r in stack.simulator.received if r.pdu.destination_addr == digits(e164)]


# --- item 5: in France, only the footer's own shortcode ----------------------------------


@pytest.mark.parametrize(
    ("text", "to"),
    [
        ("Soldes -30% ce week-end ! STOP au 36180", OTHER_FR),
        ("Soldes -30% ce week-end ! STOP au 06 12 34 56 78", FR_2),
        ("Soldes -30% ce week-end ! STOP au 361730", FR_3),
    ],
)
async def test_french_text_with_stop_to_another_number_gets_the_footer(
    stack: Stack, text: str, to: str,
) -> None:
    link, _ = await bind_sender(stack.smpp_port)
    assert (await send_one(link, submit(text, to=to))).command_status == 0
    message = await carrier_message(stack, to)
    assert message.text == f"{text}\n{ACME_SHORTCODE_FOOTER}"
    assert metric(stack, "stopgate_footers_total", {"country": "FR"}) == 1
    await link.unbind()


async def test_french_text_with_its_own_stop_au_shortcode_is_left_as_is_whatever_the_spacing(
    stack: Stack, http: aiohttp.ClientSession,
) -> None:
    link, _ = await bind_sender(stack.smpp_port)
    own = [("Soldes -30% ce week-end ! STOP au 36173", OTHER_FR),
           ("Soldes -30% ce week-end ! stop SMS au 36 173", FR_2)]
    for text, to in own:
        pdu = submit(text, to=to)
        assert (await send_one(link, pdu)).command_status == 0
        message = await carrier_message(stack, to)
        assert message.text == text
        assert carrier_parts(stack, to)[0].short_message == pdu.short_message
    # Over HTTP too: nothing appended, and the answer says so.
    status, body = await post_message(http, stack, {
        "to": FR_3, "text": own[0][0], "class": "promotional"})
    assert (status, body["footer"]) == (202, None)
    status, body = await post_message(http, stack, {
        "to": FR_4, "text": "Soldes ! STOP au 36180", "class": "promotional"})
    assert (status, body["footer"]) == (202, ACME_SHORTCODE_FOOTER)
    assert metric(stack, "stopgate_footers_total", {"country": "FR"}) == 1
    await link.unbind()


async def test_another_accounts_shortcode_is_not_this_accounts_footer(stack: Stack) -> None:
    """acme's "STOP au 36173" sent by globex (shortcode 36200): the STOPs would reach acme."""
    globex, _ = await bind_sender(stack.smpp_port, "globex", "globex1")
    acme, _ = await bind_sender(stack.smpp_port)
    text = "Soldes -30% ce week-end ! STOP au 36173"
    assert (await send_one(globex, submit(text, to=OTHER_FR))).command_status == 0
    assert (await send_one(acme, submit(text, to=FR_2))).command_status == 0
    assert (await carrier_message(stack, OTHER_FR)).text == f"{text}\n{GLOBEX_SHORTCODE_FOOTER}"
    assert (await carrier_message(stack, FR_2)).text == text
    await globex.unbind()
    await acme.unbind()


# --- item 6: national codings carry the footer in their own coding -----------------------


@pytest.mark.parametrize(("data_coding", "codec", "text"), NATIONAL)
async def test_national_coding_gets_the_footer_in_its_own_coding(
    stack: Stack, data_coding: int, codec: str, text: str,
) -> None:
    link, _ = await bind_sender(stack.smpp_port)
    pdu = SubmitSm(service_type="PROMO", source_addr="ACME", source_addr_ton=5,
                   dest_addr_ton=1, dest_addr_npi=1, destination_addr=digits(OTHER_FR),
                   registered_delivery=1, data_coding=data_coding,
                   short_message=text.encode(codec))
    assert (await send_one(link, pdu)).command_status == 0
    message = await carrier_message(stack, OTHER_FR)
    assert message.data_coding == data_coding
    assert message.payload.decode(codec) == f"{text}\n{ACME_SHORTCODE_FOOTER}"
    assert metric(stack, "stopgate_footers_total", {"country": "FR"}) == 1
    await link.unbind()


@pytest.mark.parametrize(("data_coding", "codec", "text"), NATIONAL)
async def test_long_national_promotion_is_resegmented_so_every_part_decodes_alone(
    stack: Stack, data_coding: int, codec: str, text: str,
) -> None:
    long = (text + " ") * 6
    link, _ = await bind_sender(stack.smpp_port)
    parts = [
        SubmitSm(service_type="PROMO", source_addr="ACME", source_addr_ton=5, dest_addr_ton=1,
                 dest_addr_npi=1, destination_addr=digits(GB), registered_delivery=1,
                 data_coding=data_coding, esm_class=esm, short_message=short_message)
        for esm, short_message, _ in build_parts(split_text(long, data_coding), 0x42, "udh8")
    ]
    assert len(parts) > 1
    answers = await send_parts(link, parts)
    assert all(a.command_status == 0 for a in answers)
    message = await carrier_message(stack, GB)
    assert message.data_coding == data_coding
    text_sent = message.payload.decode(codec)
    assert re.fullmatch(re.escape(long) + r"\nOpt-out: " + LINK_TOKEN, text_sent), text_sent
    for pdu in carrier_parts(stack, GB):
        info = concat_info(pdu.esm_class, pdu.short_message, pdu.tlvs)
        assert info is not None and len(info.payload) <= 134
        info.payload.decode(codec)  # strict: no split character, no open escape sequence
    await link.unbind()


@pytest.mark.parametrize(("data_coding", "codec"), [(0x0A, "iso2022_jp"), (0x05, "shift_jis")])
async def test_long_national_transactional_message_passes_whole_without_a_footer(
    stack: Stack, data_coding: int, codec: str,
) -> None:
    long = "ご注文の商品を発送しました。明日お届けします。" * 8
    link, _ = await bind_sender(stack.smpp_port)
    parts = [
        SubmitSm(service_type="OTP", source_addr="ACME", source_addr_ton=5, dest_addr_ton=1,
                 dest_addr_npi=1, destination_addr=digits(OTHER_FR), registered_delivery=1,
                 data_coding=data_coding, esm_class=esm, short_message=short_message)
        for esm, short_message, _ in build_parts(split_text(long, data_coding), 0x42, "udh8")
    ]
    answers = await send_parts(link, parts)
    assert all(a.command_status == 0 for a in answers)
    message = await carrier_message(stack, OTHER_FR)
    assert (message.data_coding, message.payload.decode(codec)) == (data_coding, long)
    for pdu in carrier_parts(stack, OTHER_FR):
        info = concat_info(pdu.esm_class, pdu.short_message, pdu.tlvs)
        assert info is not None and len(info.payload) <= 134
        info.payload.decode(codec)
    assert metric(stack, "stopgate_footers_total", {"country": "FR"}) == 0
    await link.unbind()


@pytest.mark.parametrize("data_coding", [0x06, 0x0E])
async def test_footer_a_national_coding_cannot_carry_is_refused_and_nothing_is_sent(
    flushed_redis: str, tmp_path: Path, data_coding: int,
) -> None:
    footers = [{"country": "PL", "text": "Wypisz się: {url}"},  # "ę": in neither coding
               {"country": "*", "text": "Opt-out: {url}"}]
    async with policy_stack(flushed_redis, tmp_path, footers=footers) as stack:
        link, _ = await bind_sender(stack.smpp_port)
        codec = "iso8859_5" if data_coding == 0x06 else "euc_kr"
        text = "Скидка 30%" if data_coding == 0x06 else "세일 30%"
        refused = SubmitSm(service_type="PROMO", source_addr="ACME", source_addr_ton=5,
                           dest_addr_ton=1, dest_addr_npi=1, destination_addr=digits(PL),
                           data_coding=data_coding, short_message=text.encode(codec))
        answer = await send_one(link, refused)
        assert answer.command_status == S.ESME_RSUBMITFAIL
        assert metric(stack, "stopgate_footers_skipped_total",
                      {"reason": "unencodable_footer"}) == 1
        # The same text to a country whose footer it can carry goes, footered.
        carried = dataclasses.replace(refused, destination_addr=digits(GB))
        assert (await send_one(link, carried)).command_status == 0
        message = await carrier_message(stack, GB)
        assert re.fullmatch(re.escape(text) + r"\nOpt-out: " + LINK_TOKEN,
                            message.payload.decode(codec))
        assert arrived(stack, PL) == []
        await link.unbind()


async def test_binary_promotion_still_goes_without_a_footer(stack: Stack) -> None:
    link, _ = await bind_sender(stack.smpp_port)
    data = bytes(range(0x80, 0x80 + 100))
    pdu = SubmitSm(service_type="PROMO", source_addr="ACME", source_addr_ton=5,
                   dest_addr_ton=1, dest_addr_npi=1, destination_addr=digits(OTHER_FR),
                   data_coding=0x04, short_message=data)
    assert (await send_one(link, pdu)).command_status == 0
    message = await carrier_message(stack, OTHER_FR)
    assert (message.data_coding, message.payload) == (0x04, data)
    assert metric(stack, "stopgate_footers_skipped_total", {"reason": "binary"}) == 1
    assert metric(stack, "stopgate_footers_total", {"country": "FR"}) == 0
    await link.unbind()


# --- item 8: short links, in the recipient's language ------------------------------------


async def test_a_123_character_gsm_promotion_stays_one_part_with_the_default_link(
    stack: Stack,
) -> None:
    text = ("Spring sale: 20% off all garden furniture this week, in store and online. "
            "Members get free delivery on every order over 50 EUR!")[:123]
    assert len(text) == 123
    link, _ = await bind_sender(stack.smpp_port)
    assert (await send_one(link, submit(text, to=GB))).command_status == 0
    message = await carrier_message(stack, GB)
    found = re.fullmatch(re.escape(text) + r"\nOpt-out: " + LINK_TOKEN, message.text)
    assert found, message.text
    assert (message.data_coding, message.parts) == (0, 1)
    ledger = stack.gateway.ledger
    assert ledger is not None
    info = await ledger.resolve_token(found.group(1))
    assert info is not None and (info.account, info.number) == ("acme", GB)
    await link.unbind()


async def test_link_footers_speak_the_recipients_language_or_the_accounts_in_belgium(
    stack: Stack, http: aiohttp.ClientSession,
) -> None:
    # acme's default_region is FR (language fr), globex's GB (en).
    answers = {}
    for key, to in (("acme-key", DE), ("acme-key", BE), ("globex-key", BE)):
        status, body = await post_message(
            http, stack, {"to": to, "text": "Sale: 30% off", "class": "promotional"}, key=key)
        assert status == 202, body
        answers[key, to] = body["footer"]
    assert re.fullmatch(r"Abmelden: " + LINK_TOKEN, answers["acme-key", DE])
    assert re.fullmatch(r"Désinscription : " + LINK_TOKEN, answers["acme-key", BE])
    assert re.fullmatch(r"Opt-out: " + LINK_TOKEN, answers["globex-key", BE])
    # Each account keeps its own link for the same recipient, in its own words.
    assert answers["acme-key", BE].split("/")[-1] != answers["globex-key", BE].split("/")[-1]
    await eventually(lambda: len(stack.simulator.messages()) == 3, "three messages")
    texts = sorted(m.text for m in stack.simulator.messages())
    assert sorted(f"Sale: 30% off\n{footer}" for footer in answers.values()) == texts
    assert all(m.data_coding == 0 and m.parts == 1 for m in stack.simulator.messages())


async def test_stop_mo_in_a_national_coding_is_read_as_text_and_opts_out(stack: Stack) -> None:
    """The national codings are text on the way back too: "STOP" in ISO-8859-5 opts out."""
    link, _ = await bind_sender(stack.smpp_port)
    await stack.simulator.inject_mo(FR_4, "36173", "STOP", data_coding=0x06)
    await eventually(lambda: metric(stack, "stopgate_mo_total", {"kind": "optout"}) == 1,
                     "the STOP taken")
    assert (await send_one(link, submit(to=FR_4))).command_status == 0x65  # blocked
    assert (await send_one(link, submit(to=FR_3))).command_status == 0  # others unaffected
    await link.unbind()
