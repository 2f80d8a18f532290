"""Issue 16, keywords and replies in the packs, end to end through the real gateway.

- every pack's opt-out words apply to every reply, whatever the recipient's country and
  the configuration: a Spanish BAJA, a German STOPP to a French number;
- a pack's opt-in words only for numbers of its countries (ALTA re-consents a Spanish
  number, not a French one);
- replies in the recipient's language, the HELP reply naming the brand and a contact;
- Spain's "PUBLI " label before the text of a promotion, with the footer after it, the
  message re-segmented for both.

MOs come from the carrier simulator; effects are read back from the ledger, the MT path
(the next promotional message) and the carrier (the replies and messages it received).
"""

from __future__ import annotations

import re
from pathlib import Path

from rules.packs.keywords import render_reply, replies_for
from tests.integration.policy_stack import (
    ACME_AUTO,
    BLOCKED,
    LONG_PROMO,
    delivered_to,
    digits,
    multipart,
    policy_stack,
    send_one,
    send_parts,
    submit,
)
from tests.integration.senders import bind_sender
from tests.integration.test_keywords import events, mo_texts, mos, scopes
from tests.integration.test_policy_footers import assert_every_part_stands_alone
from tests.support.metrics import metric
from tests.support.waiting import eventually

SHORTCODE = "36173"
BRAND = "ACME Shoes"
CONTACT = "acme.example/help"
#: acme with a brand and a help contact, and lists of its own: the packs' opt-outs still
#: apply beside them.
ACME = {**ACME_AUTO, "display_name": BRAND, "help_contact": CONTACT,
        "optout_keywords": ["FIN"]}
SPANISH, FRENCH, AMERICAN = "+34612000201", "+33612000202", "+12025550203"


def reply(country: str, kind: str, *, brand: str = BRAND, contact: str = "") -> str:
    """The pack's text of ``kind`` for a number of ``country``, as acme sends it."""
    replies = replies_for(country)
    text = replies.help(bool(contact)) if kind == "help_reply" else getattr(replies, kind)
    return render_reply(text, brand=brand, contact=contact)


async def test_a_spanish_baja_opts_out_and_is_confirmed_in_spanish(
    flushed_redis: str, tmp_path: Path
) -> None:
    # The [[keywords]] list for Spain has only STOP: BAJA still opts out (packs' opt-outs
    # apply whatever the configuration).
    keywords = [{"country": "ES", "optout": ["STOP"]}]
    async with policy_stack(flushed_redis, tmp_path, accounts=[ACME],
                            keywords=keywords) as stack:
        acme, _ = await bind_sender(stack.smpp_port)
        assert (await send_one(acme, submit(to=SPANISH))).command_status == 0
        await stack.simulator.inject_mo(SPANISH, SHORTCODE, "Baja")
        await eventually(lambda: scopes(stack, SPANISH) == ["acme"], "BAJA")
        assert (await send_one(acme, submit(to=SPANISH))).command_status == BLOCKED
        confirm = reply("ES", "confirm_text")
        assert confirm.startswith(f"{BRAND}: Baja confirmada") and "ALTA" in confirm
        await eventually(lambda: confirm in delivered_to(stack, SPANISH), "Spanish confirm")
        [sent] = [m for m in stack.simulator.messages() if m.text == confirm]
        assert sent.source_addr == SHORTCODE and sent.data_coding == 0  # GSM: one SMS
        # ALTA, the Spanish opt-in word the confirmation names, re-consents a Spanish number.
        await stack.simulator.inject_mo(SPANISH, SHORTCODE, "ALTA")
        await eventually(lambda: scopes(stack, SPANISH) == [], "ALTA")
        await eventually(lambda: reply("ES", "optin_confirm_text")
                         in delivered_to(stack, SPANISH), "Spanish opt-in confirmation")
        assert (await send_one(acme, submit(to=SPANISH))).command_status == 0
        rows = events(tmp_path, SPANISH)
        assert [(r["scope"], r["event"], r["keyword"], r["number_called"]) for r in rows] == [
            ("acme", "optout", "BAJA", SHORTCODE), ("acme", "optin", "ALTA", SHORTCODE)]
        await acme.unbind()


async def test_a_german_stopp_to_a_french_number_opts_out_and_alta_does_not_opt_in(
    flushed_redis: str, tmp_path: Path
) -> None:
    async with policy_stack(flushed_redis, tmp_path, accounts=[ACME]) as stack:
        acme, acme_rx = await bind_sender(stack.smpp_port)
        await stack.simulator.inject_mo(FRENCH, SHORTCODE, "Stopp!")
        await eventually(lambda: scopes(stack, FRENCH) == ["acme"], "STOPP from France")
        assert (await send_one(acme, submit(to=FRENCH))).command_status == BLOCKED
        # The reply speaks the recipient's language (French), not the keyword's.
        await eventually(lambda: delivered_to(stack, FRENCH) == [reply("FR", "confirm_text")],
                         "French confirmation")
        # ALTA is Spanish for "sign me up" but Italian and Portuguese for "high": opt-in
        # words follow the recipient's country, so a French ALTA re-consents nothing and
        # reaches acme as an ordinary reply. START does.
        await stack.simulator.inject_mo(FRENCH, SHORTCODE, "Alta")
        await eventually(lambda: len(mos(acme_rx)) == 2, "ALTA forwarded")
        assert scopes(stack, FRENCH) == ["acme"]
        assert mo_texts(acme_rx) == ["Stopp!", "Alta"]
        await stack.simulator.inject_mo(FRENCH, SHORTCODE, "START")
        await eventually(lambda: scopes(stack, FRENCH) == [], "START")
        rows = events(tmp_path, FRENCH)
        assert [(r["event"], r["keyword"]) for r in rows] == [
            ("optout", "STOPP"), ("optin", "START")]
        # Every language's opt-out, from one country: the account's own FIN as well.
        for index, word in enumerate(["UIT", "Basta", "sair", "Abmelden", "FIN", "END"]):
            number = f"+336120003{index:02d}"
            await stack.simulator.inject_mo(number, SHORTCODE, word)
            await eventually(lambda n=number: scopes(stack, n) == ["acme"],  # type: ignore[misc]
                             f"{word} from France")
        # Counted once the hook returns, just after the ledger has it.
        await eventually(lambda: metric(stack, "stopgate_mo_total", {"kind": "optout"}) == 7,
                         "seven opt-outs counted")
        await acme.unbind()


async def test_help_names_the_brand_and_the_contact_in_the_recipients_language(
    flushed_redis: str, tmp_path: Path
) -> None:
    acme = {**ACME, "numbers": [SHORTCODE, "+33757000000", "+12025550100"]}
    async with policy_stack(flushed_redis, tmp_path, accounts=[acme]) as stack:
        await stack.simulator.inject_mo(AMERICAN, "12025550100", "HELP")
        await stack.simulator.inject_mo(SPANISH, SHORTCODE, "¡Ayuda!")
        await stack.simulator.inject_mo(FRENCH, SHORTCODE, "aide")
        english = reply("US", "help_reply", contact=CONTACT)
        assert english == (f"{BRAND}: For help, contact {CONTACT}. Msg&data rates may apply. "
                           "Reply STOP to opt out of marketing messages.")
        await eventually(lambda: delivered_to(stack, AMERICAN) == [english], "HELP")
        await eventually(lambda: delivered_to(stack, SPANISH) == [
            reply("ES", "help_reply", contact=CONTACT)], "AYUDA")
        await eventually(lambda: delivered_to(stack, FRENCH) == [
            reply("FR", "help_reply", contact=CONTACT)], "AIDE")
        for number in (AMERICAN, SPANISH, FRENCH):
            [text] = delivered_to(stack, number)
            assert text.startswith(BRAND) and CONTACT in text, text
        await eventually(lambda: metric(stack, "stopgate_mo_total", {"kind": "help"}) == 3,
                         "three help replies counted")
        assert all(scopes(stack, n) == [] for n in (AMERICAN, SPANISH, FRENCH))


PUBLI_FOOTERS = [
    {"country": "FR", "text": "STOP au {shortcode}"},
    {"country": "ES", "prefix": "PUBLI ", "text": "Baja: {url}"},
    {"country": "*", "text": "Opt-out: {url}"},
]
BAJA_LINK = r"\nBaja: no-s\.ms/[A-Za-z0-9]{9}"


async def test_a_spanish_promotion_gets_publi_before_and_the_footer_after(
    flushed_redis: str, tmp_path: Path
) -> None:
    # 131 characters: with "\nBaja: no-s.ms/<9>" (24) one SMS (155); "PUBLI " makes 161.
    text = ("Rebajas de invierno: -40% en abrigos, botas y bufandas hasta el domingo. "
            "Codigo INVIERNO40 en la web, un uso por cliente. Envio gratis.")[:131]
    assert len(text) == 131
    async with policy_stack(flushed_redis, tmp_path, accounts=[ACME],
                            footers=PUBLI_FOOTERS) as stack:
        acme, _ = await bind_sender(stack.smpp_port)
        assert (await send_one(acme, submit(text, to=SPANISH))).command_status == 0
        await eventually(lambda: bool(delivered_to(stack, SPANISH)), "at the carrier")
        [message] = [m for m in stack.simulator.messages()
                     if m.destination_addr == digits(SPANISH)]
        assert re.fullmatch("PUBLI " + re.escape(text) + BAJA_LINK, message.text), message.text
        assert (message.data_coding, message.parts, message.complete) == (0, 2, True)
        assert_every_part_stands_alone(stack, SPANISH)
        [first, _] = [r.pdu for r in stack.simulator.received]
        assert first.short_message[6:].startswith(b"PUBLI Rebajas")  # after the 6-octet UDH
        assert metric(stack, "stopgate_footer_extra_segments_total", {}) == 1

        # A text that starts with the label already gets none; a French one never does.
        labelled = "Publi: rebajas -20% este finde"
        assert (await send_one(acme, submit(labelled, to="+34612000204"))).command_status == 0
        assert (await send_one(acme, submit(labelled, to=FRENCH))).command_status == 0
        await eventually(lambda: bool(delivered_to(stack, "+34612000204")
                                      and delivered_to(stack, FRENCH)), "both delivered")
        [again] = delivered_to(stack, "+34612000204")
        assert re.fullmatch(re.escape(labelled) + BAJA_LINK, again), again
        assert delivered_to(stack, FRENCH) == [f"{labelled}\nSTOP au {SHORTCODE}"]
        await acme.unbind()


async def test_a_long_spanish_promotion_in_parts_is_labelled_and_cut_again(
    flushed_redis: str, tmp_path: Path
) -> None:
    async with policy_stack(flushed_redis, tmp_path, accounts=[ACME],
                            footers=PUBLI_FOOTERS) as stack:
        acme, _ = await bind_sender(stack.smpp_port)
        parts = multipart(LONG_PROMO, "udh8", to=SPANISH)
        answers = await send_parts(acme, parts)
        assert all(a.command_status == 0 for a in answers)
        await eventually(lambda: any(m.complete for m in stack.simulator.messages()
                                     if m.destination_addr == digits(SPANISH)), "delivered")
        [message] = [m for m in stack.simulator.messages()
                     if m.destination_addr == digits(SPANISH)]
        assert re.fullmatch("PUBLI " + re.escape(LONG_PROMO) + BAJA_LINK, message.text)
        assert message.parts == 2 == len(parts)
        assert_every_part_stands_alone(stack, SPANISH)
        await acme.unbind()
