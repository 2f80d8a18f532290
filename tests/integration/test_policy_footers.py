"""Opt-out footers end to end: what the carrier receives for a promotional message.

FR recipients get "STOP au <the account's shortcode>"; every other country a link
under optout.base_url with a token of the recipient's own, durable in the ledger.
The footer ends the whole message: re-segmented when it needs another part, the
whole message in UCS-2 when the footer has a character GSM 03.38 lacks.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from simulator.records import ReceivedMessage
from smpp.constants import Tag
from smpp.segments import concat_info
from tests.integration.conftest import Stack
from tests.integration.policy_stack import (
    ACME_SHORTCODE_FOOTER,
    GB,
    LONG_PROMO,
    OTHER_FR,
    PROMO_TEXT,
    digits,
    multipart,
    policy_stack,
    post_message,
    send_one,
    send_parts,
    submit,
)
from tests.integration.senders import bind_sender
from tests.support.metrics import metric
from tests.support.waiting import eventually

PL = "+48512345678"
LINK = re.compile(r"\nOpt-out: no-s\.ms/([A-Za-z0-9]{9})\Z")
#: Footers of the tests that need a footer GSM 03.38 cannot carry ("ę").
FOOTERS_WITH_POLISH = [
    {"country": "FR", "text": "STOP au {shortcode}"},
    {"country": "PL", "text": "Wypisz się: {url}"},
    {"country": "*", "text": "Opt-out: {url}"},
]
GSM_SINGLE, GSM_PART, UCS2_SINGLE, UCS2_PART = 160, 153, 140, 134


@pytest.fixture
async def stack(flushed_redis: str, tmp_path: Path) -> AsyncIterator[Stack]:
    async with policy_stack(flushed_redis, tmp_path) as running:
        yield running


async def carrier_message(stack: Stack, e164: str, count: int = 1) -> list[ReceivedMessage]:
    """The ``count`` whole messages the carrier got for ``e164``, each part checked valid."""
    def arrived() -> list[ReceivedMessage]:
        return [m for m in stack.simulator.messages()
                if m.destination_addr == digits(e164) and m.complete]

    await eventually(lambda: len(arrived()) >= count, f"{count} message(s) for {e164}")
    assert_every_part_stands_alone(stack, e164)
    return arrived()


def assert_every_part_stands_alone(stack: Stack, e164: str, *, sar_room: bool = False) -> None:
    """Each part fits its room and decodes on its own: no split GSM escape or surrogate pair.

    SAR parts carry no UDH, and stopgate fills them to a single message's room;
    ``sar_room`` holds them to a UDH part's room instead (see the SAR test below).
    """
    for record in stack.simulator.received:
        pdu = record.pdu
        if pdu.destination_addr != digits(e164):
            continue
        info = concat_info(pdu.esm_class, pdu.short_message, pdu.tlvs)
        data = pdu.short_message if info is None else info.payload
        single = info is None or info.total == 1 or (info.kind == "sar" and not sar_room)
        if pdu.data_coding == 8:
            assert len(data) <= (UCS2_SINGLE if single else UCS2_PART)
            assert len(data) % 2 == 0
            data.decode("utf-16-be")  # strict: a lone surrogate raises
        else:
            assert pdu.data_coding == 0
            assert len(data) <= (GSM_SINGLE if single else GSM_PART)
            assert not data.endswith(b"\x1b"), "a GSM escape split from its character"


# --- which footer ------------------------------------------------------------------------------


async def test_french_recipient_gets_stop_to_the_accounts_shortcode(stack: Stack) -> None:
    link, _ = await bind_sender(stack.smpp_port)
    assert (await send_one(link, submit(PROMO_TEXT, to=OTHER_FR))).command_status == 0
    [message] = await carrier_message(stack, OTHER_FR)
    assert message.text == f"{PROMO_TEXT}\n{ACME_SHORTCODE_FOOTER}"
    assert message.text.endswith("\nSTOP au 36173")
    assert (message.data_coding, message.parts) == (0, 1)
    await link.unbind()


async def test_other_countries_get_a_link_whose_token_resolves_to_sender_recipient_and_campaign(
    stack: Stack,
) -> None:
    ledger = stack.gateway.ledger
    assert ledger is not None
    link, _ = await bind_sender(stack.smpp_port)
    campaign = [(Tag.stopgate_campaign, b"black-friday\0")]  # vendor TLV 0x1501
    assert (await send_one(link, submit(PROMO_TEXT, to=GB, tlvs=campaign))).command_status == 0
    [first] = await carrier_message(stack, GB)
    assert first.text.startswith(PROMO_TEXT + "\n")
    found = LINK.search(first.text)
    assert found is not None, first.text
    token = found.group(1)
    assert len(token) >= 8  # at least 48 random bits
    info = await ledger.resolve_token(token)
    assert info is not None
    assert (info.account, info.number, info.campaign) == ("acme", GB, "black-friday")

    # The same recipient keeps its link; the campaign is the one it first came with.
    again = [(Tag.stopgate_campaign, b"cyber-monday\0")]
    assert (await send_one(link, submit("Cyber Monday: 2 for 1", to=GB, tlvs=again))
            ).command_status == 0
    messages = await carrier_message(stack, GB, 2)
    second = next(m for m in messages if m.text.startswith("Cyber Monday"))
    assert second.text == f"Cyber Monday: 2 for 1\nOpt-out: no-s.ms/{token}"
    info = await ledger.resolve_token(token)
    assert info is not None and info.campaign == "black-friday"

    # Another account's link to the same recipient is its own.
    globex, _ = await bind_sender(stack.smpp_port, "globex", "globex1")
    assert (await send_one(globex, submit(PROMO_TEXT, to=GB))).command_status == 0
    messages = await carrier_message(stack, GB, 3)
    tokens = {found.group(1) for m in messages if (found := LINK.search(m.text))}
    assert len(tokens) == 2
    [other] = tokens - {token}
    info = await ledger.resolve_token(other)
    assert info is not None and (info.account, info.number) == ("globex", GB)
    await link.unbind()
    await globex.unbind()


# --- how it fits -------------------------------------------------------------------------------


async def test_gsm_text_whose_footer_still_fits_stays_one_part(stack: Stack) -> None:
    footer = "\n" + ACME_SHORTCODE_FOOTER
    text = ("Spring sale: 20% off all garden furniture this week. " * 3)[:GSM_SINGLE - len(footer)]
    link, _ = await bind_sender(stack.smpp_port)
    assert (await send_one(link, submit(text, to=OTHER_FR))).command_status == 0
    [message] = await carrier_message(stack, OTHER_FR)
    assert message.text == text + footer
    assert len(message.text) == GSM_SINGLE
    assert (message.data_coding, message.parts) == (0, 1)
    await link.unbind()


async def test_gsm_text_whose_footer_does_not_fit_goes_out_in_two_parts(stack: Stack) -> None:
    footer = "\n" + ACME_SHORTCODE_FOOTER
    text = ("Spring sale: 20% off all garden furniture this week. " * 3)[:GSM_SINGLE - len(footer)
                                                                       + 1]
    link, _ = await bind_sender(stack.smpp_port)
    assert (await send_one(link, submit(text, to=OTHER_FR))).command_status == 0
    [message] = await carrier_message(stack, OTHER_FR)
    assert message.text == text + footer
    assert (message.data_coding, message.parts) == (0, 2)
    assert metric(stack, "stopgate_footer_extra_segments_total", {}) == 1
    await link.unbind()


async def test_footer_with_a_character_outside_gsm_switches_the_whole_message_to_ucs2(
    flushed_redis: str, tmp_path: Path,
) -> None:
    async with policy_stack(flushed_redis, tmp_path, footers=FOOTERS_WITH_POLISH) as stack:
        link, _ = await bind_sender(stack.smpp_port)
        text = "Wyprzedaz: -30% na wszystko do niedzieli"  # GSM 03.38 as sent
        answer = await send_one(link, submit(text, to=PL))
        assert answer.command_status == 0
        [message] = await carrier_message(stack, PL)
        assert message.data_coding == 8
        assert re.fullmatch(re.escape(text) + r"\nWypisz się: no-s\.ms/[A-Za-z0-9]{9}",
                            message.text), message.text
        assert {r.pdu.data_coding for r in stack.simulator.received} == {8}
        await link.unbind()


async def test_ucs2_text_with_emoji_gets_its_footer_without_splitting_a_character(
    stack: Stack,
) -> None:
    short = "Soldes d'hiver 🎉 jusqu'à -50% ce week-end ❄️"
    # 66 UTF-16 units then an emoji across the 67-unit boundary of a concatenated part.
    long = ("Ventes privées ✨ " + "x" * 49 + "🎁🎁 "
            "Offre réservée aux membres, ce soir seulement.")
    link, _ = await bind_sender(stack.smpp_port)
    for text, to in ((short, OTHER_FR), (long, "+33612345671")):
        assert (await send_one(link, submit(text, to=to, data_coding=8))).command_status == 0
        [message] = await carrier_message(stack, to)
        assert message.data_coding == 8
        assert message.text == f"{text}\n{ACME_SHORTCODE_FOOTER}"
    await link.unbind()


@pytest.mark.parametrize("kind", ["udh8", "udh16", "sar"])
async def test_multipart_promotion_gets_its_footer_at_the_end_of_the_last_part(
    stack: Stack, kind: str,
) -> None:
    link, _ = await bind_sender(stack.smpp_port)
    answers = await send_parts(link, multipart(LONG_PROMO, kind, to=OTHER_FR))  # type: ignore[arg-type]
    assert all(a.command_status == 0 for a in answers)
    [message] = await carrier_message(stack, OTHER_FR)
    assert message.text == f"{LONG_PROMO}\n{ACME_SHORTCODE_FOOTER}"
    # The carrier sees the sender's own concatenation form.
    first = stack.simulator.received[0].pdu
    if kind == "sar":
        assert first.tlv(Tag.sar_msg_ref_num) is not None and not first.esm_class & 0x40
    else:
        assert first.esm_class & 0x40
        assert first.short_message[1] == (0x00 if kind == "udh8" else 0x08)
    await link.unbind()


async def test_text_that_already_says_stop_au_36173_is_forwarded_unchanged(
    stack: Stack, http: aiohttp.ClientSession,
) -> None:
    text = "Promo -20% sur tout le magasin ce week-end ! STOP au 36173"
    link, _ = await bind_sender(stack.smpp_port)
    pdu = submit(text, to=OTHER_FR)
    assert (await send_one(link, pdu)).command_status == 0
    status, body = await post_message(
        http, stack, {"to": "+33612345671", "text": text, "class": "promotional"})
    assert status == 202, body
    assert body["footer"] is None  # nothing was appended
    await eventually(lambda: len(stack.simulator.received) == 2, "both at the carrier")
    for record in stack.simulator.received:
        assert record.pdu.short_message == pdu.short_message
        assert record.pdu.data_coding == 0
    assert metric(stack, "stopgate_footers_total", {"country": "FR"}) == 0
    await link.unbind()


# --- what the sender sees ------------------------------------------------------------------------


async def test_http_answer_names_the_footer_and_metrics_count_footers_by_country(
    stack: Stack, http: aiohttp.ClientSession,
) -> None:
    status, fr = await post_message(
        http, stack, {"to": OTHER_FR, "text": PROMO_TEXT, "class": "promotional"})
    assert status == 202, fr
    assert fr["class"] == "promotional"
    assert fr["footer"] == ACME_SHORTCODE_FOOTER
    assert fr["parts"] == 1
    status, gb = await post_message(
        http, stack, {"to": GB, "text": PROMO_TEXT, "class": "promotional", "campaign": "spring"})
    assert status == 202, gb
    found = re.fullmatch(r"Opt-out: no-s\.ms/([A-Za-z0-9]{9})", gb["footer"] or "")
    assert found is not None, gb
    ledger = stack.gateway.ledger
    assert ledger is not None
    info = await ledger.resolve_token(found.group(1))
    assert info is not None and (info.account, info.number, info.campaign) == ("acme", GB, "spring")
    status, again = await post_message(
        http, stack, {"to": OTHER_FR, "text": LONG_PROMO, "class": "promotional"})
    assert status == 202 and again["parts"] == 2

    [gb_message] = await carrier_message(stack, GB)
    assert gb_message.text == f"{PROMO_TEXT}\n{gb['footer']}"
    async with http.get(f"{stack.http_url}/metrics") as response:
        exposition = await response.text()
    counts = {
        country: float(value)
        for country, value in re.findall(
            r'^stopgate_footers_total\{country="(\w+)"\} (\S+)$', exposition, re.MULTILINE)
    }
    assert counts == {"FR": 2.0, "GB": 1.0}


async def test_resegmented_sar_parts_leave_room_for_the_udh_the_carrier_adds(
    stack: Stack,
) -> None:
    link, _ = await bind_sender(stack.smpp_port)
    answers = await send_parts(link, multipart(LONG_PROMO, "sar", to=OTHER_FR))
    assert all(a.command_status == 0 for a in answers)
    await carrier_message(stack, OTHER_FR)
    assert_every_part_stands_alone(stack, OTHER_FR, sar_room=True)
    await link.unbind()
