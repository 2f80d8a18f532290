"""Issue 12, item 2: marketing content decides -- through the real gateway (SMPP and HTTP).

A notice that carries an offer is a promotion: blocked for an opted-out recipient,
footed for the others. A sender's explicit transactional class on such a text still
wins (forwarded, byte-exact) but is counted per account, in
stopgate_mt_offer_as_transactional_total and GET /v1/reports/mislabelled. A one-time
code or a delivery notice with a link or an emoji is no offer: it stays transactional.
Round 5: the learned scorer (detector:scorer) blocks a disguised promotion the tables
read as a notice; policy.scorer = false turns it off.
"""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

import aiohttp

from smpp.constants import Tag
from tests.integration.policy_stack import (
    ACME_SHORTCODE_FOOTER,
    BLOCKED,
    OPTED_OUT,
    OTHER_FR,
    delivered_to,
    opt_out,
    policy_stack,
    post_message,
    send_one,
    submit,
)
from tests.integration.senders import bind_sender
from tests.support.metrics import metric
from tests.support.waiting import eventually

REPO = Path(__file__).resolve().parents[2]
SHIPPED = "Your order 4411 shipped. Use THANKS10 for 10% off your next order"
OFFER_METRIC = "stopgate_mt_offer_as_transactional_total"
# A bank's rate notice the offer cues read as an offer ("cashback"): without a rule, promotional.
RATES = "Your savings rate rises to 3% on 1 June. Your cashback on card purchases stays at 1%."


def mt(stack: object, klass: str, outcome: str, account: str = "acme") -> float:
    return metric(stack, "stopgate_mt_total",  # type: ignore[arg-type]
                  {"account": account, "class": klass, "outcome": outcome})


def offers_counted(stack: object, account: str = "acme") -> float:
    return metric(stack, OFFER_METRIC, {"account": account})  # type: ignore[arg-type]


async def mislabelled_report(http: aiohttp.ClientSession, stack: object) -> object:
    async with http.get(f"{stack.http_url}/v1/reports/mislabelled") as response:  # type: ignore[attr-defined]
        assert response.status == 200
        return await response.json()


async def test_an_order_notice_with_a_discount_is_blocked_for_an_opted_out_number(
    flushed_redis: str, tmp_path: Path, http: aiohttp.ClientSession,
) -> None:
    async with policy_stack(flushed_redis, tmp_path) as stack:
        await opt_out(stack, "acme")
        link, _ = await bind_sender(stack.smpp_port)
        # No class from the sender: before issue 12 "shipped" outscored "10% off".
        answer = await send_one(link, submit(SHIPPED, service_type=""))
        assert answer.command_status == BLOCKED and answer.message_id == ""
        status, body = await post_message(http, stack, {"to": OPTED_OUT, "text": SHIPPED})
        assert (status, body["status"], body["reason"]) == (422, "blocked", "opted_out")

        # The same text to a number that did not opt out: forwarded as a promotion, footed.
        answer = await send_one(link, submit(SHIPPED, to=OTHER_FR, service_type=""))
        assert answer.command_status == 0 and answer.message_id
        await eventually(lambda: len(delivered_to(stack, OTHER_FR)) == 1, "the promotion")
        assert delivered_to(stack, OTHER_FR) == [f"{SHIPPED}\n{ACME_SHORTCODE_FOOTER}"]
        assert delivered_to(stack, OPTED_OUT) == []
        assert mt(stack, "promotional", "blocked") == 2
        assert mt(stack, "promotional", "forwarded") == 1
        assert mt(stack, "transactional", "forwarded") == 0
        assert offers_counted(stack) == 0  # nobody labelled it transactional
        assert await mislabelled_report(http, stack) == {"accounts": {}, "total": 0}
        await link.unbind()


async def test_explicit_transactional_on_an_offer_is_forwarded_and_counted_per_account(
    flushed_redis: str, tmp_path: Path, http: aiohttp.ClientSession,
) -> None:
    async with policy_stack(flushed_redis, tmp_path) as stack:
        await opt_out(stack, "acme")
        await opt_out(stack, "globex")
        link, _ = await bind_sender(stack.smpp_port)
        by_service_type = submit(SHIPPED, service_type="TRX")
        by_tlv = submit("Ihr Vertrag wurde verlängert \u2013 jetzt 3 Monate gratis",
                        service_type="",
                        data_coding=8, tlvs=[(Tag.stopgate_class, b"\x01")])
        for pdu in (by_service_type, by_tlv):
            answer = await send_one(link, pdu)
            assert answer.command_status == 0 and answer.message_id, pdu
        offer_http = "Your statement is ready. Earn 2x points this month"
        status, body = await post_message(
            http, stack, {"to": OPTED_OUT, "text": offer_http, "class": "transactional"})
        assert status == 202 and body["class"] == "transactional" and body["footer"] is None
        # An explicit transactional notice without an offer is not counted.
        plain = submit("Your order 4412 has shipped.", service_type="TRX")
        assert (await send_one(link, plain)).command_status == 0

        await eventually(lambda: len(stack.simulator.received) == 4, "all four at the carrier")
        at_carrier = {record.pdu.short_message for record in stack.simulator.received}
        for pdu in (by_service_type, by_tlv, plain):  # the sender's bytes, no footer
            assert pdu.short_message in at_carrier
        assert offer_http in delivered_to(stack, OPTED_OUT)
        assert mt(stack, "transactional", "forwarded") == 4
        assert mt(stack, "promotional", "blocked") == 0
        assert offers_counted(stack) == 3
        assert offers_counted(stack, "globex") == 0

        # globex labels one offer transactional too: its own count, acme's unchanged.
        g_link, _ = await bind_sender(stack.smpp_port, "globex", "globex1")
        g_pdu = dataclasses.replace(submit("Il tuo ordine è stato spedito: 20% di sconto sul "
                                           "prossimo", service_type="OTP"), source_addr="36200")
        assert (await send_one(g_link, g_pdu)).command_status == 0
        assert offers_counted(stack, "globex") == 1
        assert offers_counted(stack) == 3
        assert await mislabelled_report(http, stack) == {
            "accounts": {"acme": 3, "globex": 1}, "total": 4}
        await g_link.unbind()
        await link.unbind()


async def test_an_otp_or_a_delivery_notice_with_a_link_or_an_emoji_stays_transactional(
    flushed_redis: str, tmp_path: Path, http: aiohttp.ClientSession,
) -> None:
    async with policy_stack(flushed_redis, tmp_path) as stack:
        await opt_out(stack, "acme")
        link, _ = await bind_sender(stack.smpp_port)
        texts = [
            "Your Velora code is 558120 🔐 Do not share it. https://velora.example/help",
            "Your parcel arrives today between 2pm and 4pm 📦 Track it: https://glm.example/t/881",
            "Your order is ready to pick up at our Oxford Street shop until Saturday.",
        ]
        for text in texts:
            answer = await send_one(link, submit(text, service_type="", data_coding=8))
            assert answer.command_status == 0 and answer.message_id, text
        status, body = await post_message(
            http, stack, {"to": OPTED_OUT, "text": "Use 7741 to verify your number on Brightly ✅"})
        assert (status, body["class"], body["footer"]) == (202, "transactional", None)
        await eventually(lambda: len(delivered_to(stack, OPTED_OUT)) == 4, "all four delivered")
        assert sorted(delivered_to(stack, OPTED_OUT)) == sorted(
            [*texts, "Use 7741 to verify your number on Brightly ✅"])
        assert mt(stack, "transactional", "forwarded") == 4
        assert mt(stack, "promotional", "blocked") == 0
        assert offers_counted(stack) == 0
        await link.unbind()


# Round 2 (README, "The opt-out policy", step 1): offers made of ordinary words, and
# notices whose only "offer" word is a false friend.
DISGUISED = [
    "Account notice: your card's limit can be increased to £6,000. Tap to accept.",
    "Votre facture est disponible. Passez à la fibre pour 5 € de plus par mois.",
    "Tu vuelo está confirmado. Asiento con más espacio por 8 € en lugar de 15 €.",
    "Ihr Kontoauszug ist da. Wunschkredit ab 4,99 % effektivem Jahreszins.",
]
ROUND_TWO_NOTICES = [
    "Your free trial ends on 3 April. After that you'll be charged £10.99 a month.",
    "Did you just spend £649.00 at CURRYS ONLINE? Reply YES or NO.",
    "Störung im Festnetz in Ihrer Region. Wir arbeiten an der Behebung.",
]


async def test_round_two_offers_in_ordinary_words_are_blocked_and_notices_pass(
    flushed_redis: str, tmp_path: Path, http: aiohttp.ClientSession,
) -> None:
    async with policy_stack(flushed_redis, tmp_path) as stack:
        await opt_out(stack, "acme")
        link, _ = await bind_sender(stack.smpp_port)
        for text in DISGUISED[:3]:
            answer = await send_one(link, submit(text, service_type="", data_coding=8))
            assert answer.command_status == BLOCKED and answer.message_id == "", text
        status, body = await post_message(http, stack, {"to": OPTED_OUT, "text": DISGUISED[3]})
        assert (status, body["status"], body["reason"]) == (422, "blocked", "opted_out")
        for text in ROUND_TWO_NOTICES[:2]:
            answer = await send_one(link, submit(text, service_type="", data_coding=8))
            assert answer.command_status == 0 and answer.message_id, text
        status, body = await post_message(
            http, stack, {"to": OPTED_OUT, "text": ROUND_TWO_NOTICES[2]})
        assert (status, body["class"], body["footer"]) == (202, "transactional", None)

        await eventually(lambda: len(delivered_to(stack, OPTED_OUT)) == 3, "the three notices")
        assert sorted(delivered_to(stack, OPTED_OUT)) == sorted(ROUND_TWO_NOTICES)
        assert mt(stack, "promotional", "blocked") == 4
        assert mt(stack, "transactional", "forwarded") == 3
        assert mt(stack, "promotional", "forwarded") == 0
        assert delivered_to(stack, OTHER_FR) == []  # nobody else was sent anything
        assert offers_counted(stack) == 0
        await link.unbind()


def shipped_rules() -> list[dict[str, object]]:
    with (REPO / "config.toml").open("rb") as toml:
        rules = tomllib.load(toml)["rules"]
    assert isinstance(rules, list)
    return rules


async def test_shipped_rules_no_longer_make_promo_codes_transactional_and_the_override_key(
    flushed_redis: str, tmp_path: Path,
) -> None:
    rules = [
        *shipped_rules(),
        # An operator's own transactional rule that outranks offers, for one sender id only.
        {"id": "acme-rates", "class": "transactional", "source": ["ACME-RATES"],
         "overrides_offers": True},
    ]
    async with policy_stack(flushed_redis, tmp_path, rules=rules) as stack:
        await opt_out(stack, "acme")
        link, _ = await bind_sender(stack.smpp_port)
        for text in ("Use promo code 1234 for 50% discount", "Code promo 2024 : -50% sur tout !",
                     "Votre code 4821. -20% avec la carte fidélité"):
            answer = await send_one(link, submit(text, service_type="", data_coding=8))
            assert answer.command_status == BLOCKED, text
        otp = submit("Votre code : 482913", service_type="")
        assert (await send_one(link, otp)).command_status == 0
        rates = dataclasses.replace(
            submit(RATES, service_type=""),
            source_addr="ACME-RATES")
        assert (await send_one(link, rates)).command_status == 0
        await eventually(lambda: len(delivered_to(stack, OPTED_OUT)) == 2, "the two notices")
        assert sorted(delivered_to(stack, OPTED_OUT)) == sorted(["Votre code : 482913", RATES])
        # Without the override, the same notice from ACME is an offer: blocked.
        assert (await send_one(link, submit(RATES, service_type=""))).command_status == BLOCKED
        assert mt(stack, "promotional", "blocked") == 4
        assert mt(stack, "transactional", "forwarded") == 2
        assert offers_counted(stack) == 0  # a configured override is the operator's, not counted
        await link.unbind()


async def test_the_mislabelled_report_is_an_operator_route(
    flushed_redis: str, tmp_path: Path, http: aiohttp.ClientSession,
) -> None:
    async with policy_stack(flushed_redis, tmp_path, http={"admin_key": "op-key"}) as stack:
        status, body = await post_message(
            http, stack, {"to": OTHER_FR, "text": SHIPPED, "class": "transactional"})
        assert status == 202 and body["class"] == "transactional"
        url = f"{stack.http_url}/v1/reports/mislabelled"
        for headers in ({}, {"Authorization": "Bearer acme-key"}):  # a sender's key is no key
            async with http.get(url, headers=headers) as response:
                assert response.status == 401
                assert (await response.json())["error"] == "unauthorized"
        async with http.get(url, headers={"Authorization": "Bearer op-key"}) as response:
            assert response.status == 200
            assert await response.json() == {"accounts": {"acme": 1}, "total": 1}
        assert metric(stack, "stopgate_http_unauthorized_total", {"route": "admin"}) == 2


# Round 4 (README, "The opt-out policy", step 1): notices in wording no table knew
# (letter codes, a ticket's own STOP footer, a time and nothing else) used to fall to
# policy.unclassified and be blocked; promotions dressed as status news used to pass.
ROUND_FOUR_NOTICES = [
    "Your Blizzard Authenticator code: R8T2W",
    "Case CAS-99120 closed by support. Reply STOP to end updates.",
    "Lift B out of service 14:00-16:30 on 21/05.",
]
ROUND_FOUR_PROMOTIONS = [
    "Agora é cliente Gold: descubra as suas vantagens exclusivas.",
    "Últimas plazas para el taller de cerámica del sábado.",
    "Passez à la fibre sans changer de box. Répondez OUI.",
]


async def test_round_four_notices_pass_and_disguised_promotions_are_blocked(
    flushed_redis: str, tmp_path: Path, http: aiohttp.ClientSession,
) -> None:
    async with policy_stack(flushed_redis, tmp_path) as stack:
        await opt_out(stack, "acme")
        link, _ = await bind_sender(stack.smpp_port)
        for text in ROUND_FOUR_PROMOTIONS[:2]:
            answer = await send_one(link, submit(text, service_type="", data_coding=8))
            assert answer.command_status == BLOCKED and answer.message_id == "", text
        status, body = await post_message(
            http, stack, {"to": OPTED_OUT, "text": ROUND_FOUR_PROMOTIONS[2]})
        assert (status, body["status"], body["reason"]) == (422, "blocked", "opted_out")
        for text in ROUND_FOUR_NOTICES[:2]:
            answer = await send_one(link, submit(text, service_type="", data_coding=8))
            assert answer.command_status == 0 and answer.message_id, text
        status, body = await post_message(
            http, stack, {"to": OPTED_OUT, "text": ROUND_FOUR_NOTICES[2]})
        assert (status, body["class"], body["footer"]) == (202, "transactional", None)

        await eventually(lambda: len(delivered_to(stack, OPTED_OUT)) == 3, "the three notices")
        assert sorted(delivered_to(stack, OPTED_OUT)) == sorted(ROUND_FOUR_NOTICES)
        assert mt(stack, "promotional", "blocked") == 3
        assert mt(stack, "transactional", "forwarded") == 3
        assert mt(stack, "promotional", "forwarded") == 0
        assert delivered_to(stack, OTHER_FR) == []  # nobody else was sent anything
        assert offers_counted(stack) == 0
        await link.unbind()


# Round 5 (README, "The opt-out policy", step 1): a promotion dressed as account news in
# words no table knows reads as a notice to the tables; the learned scorer calls it
# promotional (detector:scorer). Without the scorer (policy.scorer = false) it passes.
SCORED_PROMOTION = ("Good news Sam: your Harbor Club membership now comes with priority "
                    "boarding. Try it on your next trip, we saved you a seat upgrade.")
SCORED_NOTICE = "Your Kelpie appointment is confirmed for Tuesday 10:30."


async def test_round_five_scorer_blocks_a_disguised_promotion_and_passes_a_notice(
    flushed_redis: str, tmp_path: Path, http: aiohttp.ClientSession,
) -> None:
    async with policy_stack(flushed_redis, tmp_path) as stack:
        await opt_out(stack, "acme")
        link, _ = await bind_sender(stack.smpp_port)
        answer = await send_one(link, submit(SCORED_PROMOTION, service_type=""))
        assert answer.command_status == BLOCKED and answer.message_id == ""
        status, body = await post_message(http, stack, {"to": OPTED_OUT, "text": SCORED_PROMOTION})
        assert (status, body["status"], body["reason"]) == (422, "blocked", "opted_out")
        # The sender's explicit transactional class still wins over the scorer.
        explicit = await send_one(link, submit(SCORED_PROMOTION, service_type="TRX"))
        assert explicit.command_status == 0 and explicit.message_id
        answer = await send_one(link, submit(SCORED_NOTICE, service_type=""))
        assert answer.command_status == 0 and answer.message_id

        await eventually(lambda: len(delivered_to(stack, OPTED_OUT)) == 2, "the two messages")
        assert sorted(delivered_to(stack, OPTED_OUT)) == sorted([SCORED_PROMOTION, SCORED_NOTICE])
        assert mt(stack, "promotional", "blocked") == 2
        assert mt(stack, "transactional", "forwarded") == 2
        assert mt(stack, "promotional", "forwarded") == 0
        assert delivered_to(stack, OTHER_FR) == []  # nobody else was sent anything
        assert offers_counted(stack) == 0  # no offer cue: the explicit class is not mislabelled
        await link.unbind()


async def test_round_five_scorer_off_leaves_the_tables_alone(
    flushed_redis: str, tmp_path: Path,
) -> None:
    async with policy_stack(flushed_redis, tmp_path, policy={"scorer": False}) as stack:
        await opt_out(stack, "acme")
        link, _ = await bind_sender(stack.smpp_port)
        answer = await send_one(link, submit(SCORED_PROMOTION, service_type=""))
        assert answer.command_status == 0 and answer.message_id  # the tables read a notice
        # An offer still decides without the scorer.
        assert (await send_one(link, submit(SHIPPED, service_type=""))).command_status == BLOCKED
        await eventually(lambda: len(delivered_to(stack, OPTED_OUT)) == 1, "the message")
        assert delivered_to(stack, OPTED_OUT) == [SCORED_PROMOTION]
        assert mt(stack, "transactional", "forwarded") == 1
        assert mt(stack, "promotional", "blocked") == 1
        await link.unbind()
