"""STOP / START / HELP replies from recipients, end to end: simulator MO -> stopgate.

The simulator injects MOs as a carrier would; they reach stopgate's keyword
handler before they are forwarded to the accounts, and its effects are read
back from the ledger, the MT path (the next promotional message), the carrier
(confirmations the simulator received) and the accounts' receivers.
"""

from __future__ import annotations

import asyncio
import sqlite3
import statistics
import time
from pathlib import Path
from typing import Any

from gateway.config.model import Optout
from gateway.ledger.model import DEFAULT_FILE
from rules.packs.keywords import keyword_packs, render_reply, replies_for
from smpp.pdu import DeliverSm
from smpp.text import decode_text
from tests.integration.conftest import GLOBEX, Stack
from tests.integration.policy_stack import (
    ACME_AUTO,
    BLOCKED,
    OTP_TEXT,
    PROMO_TEXT,
    TIMEOUT,
    delivered_to,
    opt_out,
    policy_stack,
    post_message,
    send_one,
    submit,
)
from tests.integration.senders import Sender, bind_sender
from tests.support.metrics import metric
from tests.support.waiting import eventually

ACME_CONFIRM = "ACME: you will get no more offers from us. Reply START to resubscribe."
ACME_HELP = "ACME customer care: 01 23 45 67 89. Reply STOP to opt out."
ACME_KEYWORDS = {**ACME_AUTO, "confirm_text": ACME_CONFIRM, "help_reply": ACME_HELP}
#: globex shares acme's shortcode 36173 (conftest's GLOBEX), and lets the policy judge.
GLOBEX_SHARED = {**GLOBEX, "default_class": "auto"}
SHORTCODE = "36173"


def scopes(stack: Stack, number: str) -> list[str]:
    assert stack.gateway.ledger is not None
    return list(stack.gateway.ledger.ledger.suppressed_scopes(number))


def events(data_dir: Path, number: str) -> list[dict[str, Any]]:
    with sqlite3.connect(f"file:{data_dir / DEFAULT_FILE}?mode=ro", uri=True) as db:
        db.row_factory = sqlite3.Row
        rows = db.execute("SELECT * FROM events WHERE number = ? ORDER BY id", (number,))
        return [dict(row) for row in rows]


def mos(sender: Sender) -> list[DeliverSm]:
    return [pdu for pdu in sender.delivered if not pdu.esm_class & 0x04]


def mo_texts(sender: Sender) -> list[str]:
    return [decode_text(pdu.short_message, pdu.data_coding) for pdu in mos(sender)]


async def test_stop_replies_opt_out_every_brand_on_the_shortcode(
    flushed_redis: str, tmp_path: Path
) -> None:
    cases = {  # sender number -> (reply, the scopes it opts out of)
        "+33612000001": ("Stop", ["acme", "globex"]),
        "+33612000002": (" stop! ", ["acme", "globex"]),
        "+33612000003": ("ARRÊT", ["acme", "globex"]),
        "+33612000004": ("Stop all", ["acme", "globex"]),  # the brands on 36173, not "*"
        "+33612000005": ("stop please", []),  # whole-message mode: not a keyword
    }
    # The keyword layer alone ("stop please" is an opt-out written in words, which the
    # phrase layer catches: tests/integration/test_phrase_optouts.py).
    async with policy_stack(flushed_redis, tmp_path, optout={"phrases": False},
                            accounts=[ACME_KEYWORDS, GLOBEX_SHARED]) as stack:
        acme, acme_rx = await bind_sender(stack.smpp_port)
        globex, globex_rx = await bind_sender(stack.smpp_port, "globex", "globex1")
        for number, (reply, _) in cases.items():
            await stack.simulator.inject_mo(number, SHORTCODE, reply)
        # Every MO still reaches every brand on the shortcode, keyword or not.
        await eventually(lambda: len(mos(acme_rx)) == len(cases), "MOs forwarded to acme")
        await eventually(lambda: len(mos(globex_rx)) == len(cases), "MOs forwarded to globex")
        assert "stop please" in mo_texts(acme_rx)
        for number, (reply, expected) in cases.items():
            assert scopes(stack, number) == expected, reply

        # The very next promotional MT is blocked; a transactional one still goes.
        for number, (reply, expected) in cases.items():
            for link in (acme, globex):
                answer = await send_one(link, submit(to=number))
                assert answer.command_status == (BLOCKED if expected else 0), (reply, link)
            answer = await send_one(acme, submit(OTP_TEXT, to=number, service_type="OTP"))
            assert answer.command_status == 0, reply

        # One confirmation per opt-out, from the shortcode, with acme's own text (the first
        # brand on the number); none for a reply that is not an opt-out.
        def confirmations(number: str) -> list[str]:
            return [text for text in delivered_to(stack, number) if "START" in text]

        for number, (reply, expected) in cases.items():
            if expected:
                await eventually(lambda n=number: bool(confirmations(n)),  # type: ignore[misc]
                                 f"confirmation of {reply!r}")
        sent = [m for m in stack.simulator.messages() if m.text == ACME_CONFIRM]
        assert {m.source_addr for m in sent} == {SHORTCODE}
        assert len(sent) == 4
        assert confirmations("+33612000001") == [ACME_CONFIRM]

        # The same STOP again (a carrier redelivery, or a second STOP): recorded, not
        # confirmed twice.
        await stack.simulator.inject_mo("+33612000001", SHORTCODE, "Stop")
        await stack.simulator.inject_mo("+33612000004", SHORTCODE, "STOPALL")
        await eventually(lambda: len(mos(acme_rx)) == len(cases) + 2, "repeated STOPs")
        await asyncio.sleep(0.3)
        for number, (reply, expected) in cases.items():
            assert len(confirmations(number)) == (1 if expected else 0), reply
        rows = events(tmp_path, "+33612000001")
        assert [(r["scope"], r["changed"], r["keyword"], r["source"]) for r in rows] == [
            ("acme", 1, "STOP", "keyword"), ("globex", 1, "STOP", "keyword"),
            ("acme", 0, "STOP", "keyword"), ("globex", 0, "STOP", "keyword"),
        ]
        assert {r["number_called"] for r in rows} == {SHORTCODE}
        assert metric(stack, "stopgate_mo_total", {"kind": "optout"}) == 6
        assert metric(stack, "stopgate_mo_total", {"kind": "other"}) == 1
        assert metric(stack, "stopgate_optouts_total", {"source": "keyword"}) == 8
        # The confirmations say "offers" and go as transactional, but they are stopgate's
        # own replies, not an account labelling a promotion transactional.
        assert metric(stack, "stopgate_mt_offer_as_transactional_total",
                      {"account": "acme"}) == 0
        await acme.unbind()
        await globex.unbind()


async def test_help_gets_help_reply_and_start_reconsents_only_where_opted_out(
    flushed_redis: str, tmp_path: Path
) -> None:
    async with policy_stack(flushed_redis, tmp_path,
                            accounts=[ACME_KEYWORDS, GLOBEX_SHARED]) as stack:
        acme, acme_rx = await bind_sender(stack.smpp_port)
        await stack.simulator.inject_mo("+33612000010", SHORTCODE, "Help?")
        await eventually(lambda: delivered_to(stack, "+33612000010") == [ACME_HELP],
                         "help reply")
        # Opted out of acme by STOP, of "*" by the API; START lifts acme's only.
        number = "+33612000011"
        await stack.simulator.inject_mo(number, "+33757000000", "STOP")  # acme's alone
        await eventually(lambda: scopes(stack, number) == ["acme"], "STOP to acme")
        await opt_out(stack, "*", number)
        await stack.simulator.inject_mo(number, SHORTCODE, "start")
        await eventually(lambda: scopes(stack, number) == ["*"], "START")
        rows = events(tmp_path, number)
        assert [(r["scope"], r["event"]) for r in rows] == [
            ("acme", "optout"), ("*", "optout"), ("acme", "optin")]
        # START from a number never opted out records nothing.
        await stack.simulator.inject_mo("+33612000012", SHORTCODE, "START")
        await eventually(lambda: len(mos(acme_rx)) == 4, "MOs forwarded")
        assert events(tmp_path, "+33612000012") == []
        # After START to a brand's own number, its promotions go again.
        other = "+33612000013"
        await stack.simulator.inject_mo(other, "+33757000000", "stop")
        await eventually(lambda: scopes(stack, other) == ["acme"], "STOP")
        assert (await send_one(acme, submit(to=other))).command_status == BLOCKED
        await stack.simulator.inject_mo(other, "+33757000000", "Start")
        await eventually(lambda: scopes(stack, other) == [], "START")
        assert (await send_one(acme, submit(to=other))).command_status == 0
        assert metric(stack, "stopgate_mo_total", {"kind": "help"}) == 1
        assert metric(stack, "stopgate_mo_total", {"kind": "optin"}) == 3
        await acme.unbind()


async def test_first_word_mode_and_country_lists(flushed_redis: str, tmp_path: Path) -> None:
    acme = {**ACME_KEYWORDS, "keyword_match": "first_word"}
    keywords = [{"country": "FR", "optout": ["ARRET", "OUSTE"]}]
    async with policy_stack(flushed_redis, tmp_path, accounts=[acme, GLOBEX_SHARED],
                            keywords=keywords) as stack:
        await stack.simulator.inject_mo("+33612000020", SHORTCODE, "stop please")
        await stack.simulator.inject_mo("+33612000021", SHORTCODE, "Ouste")
        await stack.simulator.inject_mo("+447400000022", SHORTCODE, "Stop")  # GB: "*" lists
        await stack.simulator.inject_mo("+447400000023", SHORTCODE, "Ouste")  # FR's word
        await eventually(lambda: scopes(stack, "+33612000021") == ["acme", "globex"],
                         "FR keyword")
        await eventually(lambda: scopes(stack, "+447400000022") == ["acme", "globex"],
                         "the '*' lists for GB")
        # acme reads first words, globex whole messages. The FR list has no STOP, but the
        # packs' opt-outs apply whatever a list says (issue 16).
        await eventually(lambda: scopes(stack, "+33612000020") == ["acme"], "first word")
        await eventually(lambda: stack.simulator.stats.mos_acked == 4, "MOs answered")
        assert scopes(stack, "+447400000023") == []  # a country's own word stays its own


async def test_opt_out_records_the_campaign_of_the_last_promotion(
    flushed_redis: str, tmp_path: Path
) -> None:
    import aiohttp

    number = "+33612000030"
    async with policy_stack(flushed_redis, tmp_path,
                            accounts=[ACME_KEYWORDS, GLOBEX_SHARED]) as stack, \
            aiohttp.ClientSession() as http:
        for campaign in ("black-friday", "cyber-monday"):
            status, body = await post_message(http, stack, {
                "to": number, "from": SHORTCODE, "text": PROMO_TEXT,
                "class": "promotional", "campaign": campaign})
            assert status == 202, body
        status, body = await post_message(http, stack, {  # transactional: not a campaign
            "to": number, "from": SHORTCODE, "text": OTP_TEXT, "class": "transactional",
            "campaign": "otp"})
        assert status == 202, body
        await asyncio.sleep(0.05)  # attribution is written in the background
        await stack.simulator.inject_mo(number, SHORTCODE, "STOP")
        await eventually(lambda: len(events(tmp_path, number)) == 2, "opt-out events")
        campaigns = {r["scope"]: r["campaign"] for r in events(tmp_path, number)}
        assert campaigns == {"acme": "cyber-monday", "globex": None}  # globex sent nothing


async def test_stop_to_blocked_latency(flushed_redis: str, tmp_path: Path) -> None:
    """Time from the carrier's STOP to the first promotional MT refused (p50/p99 printed)."""
    trials = 50
    async with policy_stack(flushed_redis, tmp_path,
                            accounts=[ACME_KEYWORDS, GLOBEX_SHARED]) as stack:
        acme, _ = await bind_sender(stack.smpp_port)
        took: list[float] = []
        for trial in range(trials):
            number = f"+336130{trial:05d}"
            started = time.perf_counter()
            await stack.simulator.inject_mo(number, SHORTCODE, "STOP")
            while True:
                answer = await asyncio.wait_for(send_one(acme, submit(to=number)), TIMEOUT)
                if answer.command_status == BLOCKED:
                    took.append(time.perf_counter() - started)
                    break
                assert answer.command_status == 0
                assert time.perf_counter() - started < TIMEOUT
        took.sort()
        p50 = statistics.median(took) * 1000
        p99 = took[min(len(took) - 1, int(len(took) * 0.99))] * 1000
        print(f"\nSTOP -> next promotional MT blocked over {trials} trials: "
              f"p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {took[-1] * 1000:.1f} ms")
        await acme.unbind()


def test_confirmation_default_texts_are_the_packs_and_carry_no_marketing() -> None:
    assert Optout().confirm_text == ""  # the packs' text, in the recipient's language
    for pack in keyword_packs().values():
        text = pack.replies.confirm_text
        assert "START" in text or "ALTA" in text, text
        assert "%" not in text and "http" not in text, text


OPERATOR_NUMBER = "36100"  # an operator-wide shortcode no account sends from


async def test_stop_to_the_operator_number_opts_out_of_every_account(
    flushed_redis: str, tmp_path: Path
) -> None:
    acme = {**ACME_KEYWORDS, "numbers": [SHORTCODE, "+33757000000", "+33757000099"]}
    async with policy_stack(flushed_redis, tmp_path, accounts=[acme, GLOBEX_SHARED],
                            optout={"operator_number": "+" + "33757000099"}) as stack:
        # Owned by acme, but it is the operator number: "*", not acme alone.
        await stack.simulator.inject_mo("+33612000040", "33757000099", "Stop")
        await eventually(lambda: scopes(stack, "+33612000040") == ["*"], "owned operator no.")
    async with policy_stack(flushed_redis, tmp_path / "2", accounts=[ACME_KEYWORDS, GLOBEX_SHARED],
                            optout={"operator_number": OPERATOR_NUMBER}) as stack:
        acme_link, _ = await bind_sender(stack.smpp_port)
        number = "+33612000041"
        await stack.simulator.inject_mo(number, OPERATOR_NUMBER, "arrêt")  # nobody owns it
        # Not a keyword in whole-message mode, but an opt-out written in words (the phrase
        # layer): it binds what a STOP to that number binds, "*".
        await stack.simulator.inject_mo("+33612000042", OPERATOR_NUMBER, "stop please")
        await stack.simulator.inject_mo("+33612000043", OPERATOR_NUMBER, "hello")
        await eventually(lambda: scopes(stack, number) == ["*"], "STOP to the operator number")
        await eventually(lambda: stack.simulator.stats.mos_acked == 3, "MOs acknowledged")
        assert scopes(stack, "+33612000042") == ["*"] and scopes(stack, "+33612000043") == []
        assert [(r["scope"], r["source"], r["keyword"])
                for r in events(tmp_path / "2", "+33612000042")] == [("*", "phrase", "phrase:en")]
        rows = events(tmp_path / "2", number)
        assert [(r["scope"], r["changed"], r["keyword"], r["number_called"]) for r in rows] == [
            ("*", 1, "ARRET", OPERATOR_NUMBER)]
        # Every brand's next promotion is blocked; the one confirmation came from that number.
        assert (await send_one(acme_link, submit(to=number))).command_status == BLOCKED
        await eventually(lambda: bool(delivered_to(stack, number)), "confirmation")
        await asyncio.sleep(0.2)
        sent = [m for m in stack.simulator.messages() if m.destination_addr == number[1:]]
        # Nobody owns the operator's number: the French pack's text, without a brand.
        assert [(m.source_addr, m.text) for m in sent] == [
            (OPERATOR_NUMBER, render_reply(replies_for("FR").confirm_text))]
        # A redelivery records no change and sends no second confirmation.
        await stack.simulator.inject_mo(number, OPERATOR_NUMBER, "STOP")
        await eventually(lambda: len(events(tmp_path / "2", number)) == 2, "redelivered STOP")
        await asyncio.sleep(0.2)
        assert len(delivered_to(stack, number)) == 1
        await acme_link.unbind()


FR_CONFIRM = "Vous ne recevrez plus nos offres. Répondez START pour vous réabonner."
FR_HELP = "Service client : 01 23 45 67 89. STOP pour ne plus recevoir nos offres."


async def test_replies_speak_the_recipients_language_when_the_account_sets_no_text(
    flushed_redis: str, tmp_path: Path
) -> None:
    # acme sets no texts of its own: a French number gets the FR [[keywords]] texts, a
    # British one the English pack's (optout.confirm_text is empty: the packs').
    keywords = [{"country": "FR", "confirm_text": FR_CONFIRM, "help_reply": FR_HELP}]
    acme = {**ACME_AUTO, "numbers": [SHORTCODE, "+447400900000"]}
    async with policy_stack(flushed_redis, tmp_path, accounts=[acme],
                            keywords=keywords) as stack:
        french, british = "+33612000050", "+447400123450"
        await stack.simulator.inject_mo(french, SHORTCODE, "STOP")
        await stack.simulator.inject_mo(british, "447400900000", "STOP")
        await stack.simulator.inject_mo("+33612000051", SHORTCODE, "AIDE")
        await eventually(lambda: all(delivered_to(stack, n) for n in
                                     (french, british, "+33612000051")), "three replies")

        def texts(number: str) -> list[str]:
            return [m.text for m in stack.simulator.messages()
                    if m.destination_addr == number[1:]]

        assert texts(french) == [FR_CONFIRM]
        assert texts(british) == [render_reply(replies_for("GB").confirm_text, brand="acme")]
        assert texts("+33612000051") == [FR_HELP]
