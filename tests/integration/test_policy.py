"""The opt-out policy end to end: who is blocked, who is not, and how the sender hears of it.

A real gateway on loopback, the carrier simulator, Redis and the SQLite ledger;
opt-outs go in through ``gateway.suppression.store`` (ledger, then cache), the same
path as the management API. Footers: test_policy_footers.py; Redis trouble:
test_policy_outages.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import aiohttp
import pytest

from smpp.constants import Tag
from smpp.pdu import BindTransceiver, BindTransceiverResp, DeliverSm, DeliverSmResp, SubmitSmResp
from tests.integration.conftest import Stack
from tests.integration.policy_stack import (
    ACME_SHORTCODE_FOOTER,
    BLOCKED,
    GLOBEX_SHORTCODE_FOOTER,
    LONG_PROMO,
    OPTED_OUT,
    OTHER_FR,
    OTP_TEXT,
    PROMO_TEXT,
    delivered_to,
    multipart,
    opt_out,
    policy_stack,
    post_message,
    rejected_receipt_ids,
    send_one,
    send_parts,
    submit,
)
from tests.integration.senders import RawSmpp, bind_sender
from tests.support.metrics import metric
from tests.support.waiting import eventually

LONG_FORMS = ["udh8", "udh16", "sar"]


@pytest.fixture(params=["reject", "dlr"])
async def blocking_stack(
    request: pytest.FixtureRequest, flushed_redis: str, tmp_path: Path
) -> AsyncIterator[Stack]:
    """A stack in each on_blocked mode, with OPTED_OUT opted out of acme."""
    async with policy_stack(flushed_redis, tmp_path, policy={"on_blocked": request.param}) as stack:
        await opt_out(stack, "acme")
        yield stack


def on_blocked(stack: Stack) -> str:
    return stack.gateway.config.policy.on_blocked


# --- promotional to an opted-out number: blocked, whole ---------------------------------------


async def test_promotional_short_message_to_an_opted_out_number_is_blocked(
    blocking_stack: Stack,
) -> None:
    stack = blocking_stack
    link, sender = await bind_sender(stack.smpp_port)
    answer = await send_one(link, submit(PROMO_TEXT))
    if on_blocked(stack) == "reject":
        assert answer.command_status == BLOCKED
        assert answer.message_id == ""
        assert sender.receipts() == []  # nothing was accepted, so nothing to report on
    else:
        assert answer.command_status == 0 and answer.message_id
        await eventually(lambda: len(sender.receipts()) == 1, "the REJECTD receipt")
        assert rejected_receipt_ids(sender.receipts()) == [answer.message_id]
        assert b"err:065" in sender.receipts()[0].short_message
    assert stack.simulator.received == []
    assert metric(stack, "stopgate_mt_total",
                  {"account": "acme", "class": "promotional", "outcome": "blocked"}) == 1
    await link.unbind()


@pytest.mark.parametrize("kind", LONG_FORMS)
async def test_promotional_multipart_message_to_an_opted_out_number_is_blocked_whole(
    blocking_stack: Stack, kind: str,
) -> None:
    stack = blocking_stack
    link, sender = await bind_sender(stack.smpp_port)
    parts = multipart(LONG_PROMO, kind)  # type: ignore[arg-type]
    answers = await send_parts(link, parts)
    earlier, last = answers[:-1], answers[-1]
    # The parts before the last were answered as they came, before the message was whole.
    assert all(a.command_status == 0 and a.message_id for a in earlier)
    if on_blocked(stack) == "reject":
        assert last.command_status == BLOCKED
        # The sender was told the earlier parts were accepted: each gets its REJECTD receipt.
        expected = [a.message_id for a in earlier]
    else:
        assert last.command_status == 0 and last.message_id
        expected = [a.message_id for a in answers]
    await eventually(lambda: len(sender.receipts()) == len(expected), "the REJECTD receipts")
    assert sorted(rejected_receipt_ids(sender.receipts())) == sorted(expected)
    assert stack.simulator.received == []
    await link.unbind()


async def test_blocked_parts_get_no_receipt_when_the_sender_asked_for_none(
    blocking_stack: Stack,
) -> None:
    stack = blocking_stack
    link, sender = await bind_sender(stack.smpp_port)
    answers = await send_parts(link, multipart(LONG_PROMO, "udh8", receipt=False))
    expected = BLOCKED if on_blocked(stack) == "reject" else 0
    assert answers[-1].command_status == expected
    # A REJECTD receipt would be on its way by now; the OTP's receipt comes after it.
    await send_one(link, submit(OTP_TEXT, service_type="", to=OTHER_FR))
    await eventually(lambda: len(sender.receipts()) == 1, "the OTP's own receipt")
    assert "stat:REJECTD" not in sender.receipts()[0].short_message.decode()
    await link.unbind()


@pytest.mark.parametrize("text", [PROMO_TEXT, LONG_PROMO], ids=["short", "long"])
async def test_promotional_http_message_to_an_opted_out_number_is_422_blocked(
    blocking_stack: Stack, http: aiohttp.ClientSession, text: str,
) -> None:
    # HTTP answers in the same exchange, so a blocked message is a 422 in both modes:
    # accepting it (dlr mode) would tell an HTTP sender it went out.
    stack = blocking_stack
    status, body = await post_message(
        http, stack, {"to": OPTED_OUT, "text": text, "class": "promotional"})
    assert status == 422, body
    assert body["status"] == "blocked"
    assert isinstance(body["reason"], str) and body["reason"]
    assert stack.simulator.received == []
    # Unclassified wording that the detectors call marketing is blocked the same way.
    status, body = await post_message(http, stack, {"to": "06 12 34 56 78", "text": text})
    assert status == 422, body


async def test_dlr_mode_sends_the_receipt_after_the_answer_that_carries_its_id(
    flushed_redis: str, tmp_path: Path,
) -> None:
    # A sender matches receipts to the ids it was answered with: a receipt that overtook
    # its submit_sm_resp would be for an id it does not know yet.
    async with policy_stack(flushed_redis, tmp_path, policy={"on_blocked": "dlr"}) as stack:
        await opt_out(stack, "acme")
        raw = await RawSmpp.open(stack.smpp_port)
        try:
            await raw.send(BindTransceiver(sequence=1, system_id="acme", password="acmepass"))
            bound = await raw.read_pdu()
            assert isinstance(bound, BindTransceiverResp) and bound.command_status == 0
            await raw.send(replace(submit(PROMO_TEXT), sequence=2))
            first = await raw.read_pdu()
            assert isinstance(first, SubmitSmResp), first
            assert first.command_status == 0 and first.message_id
            receipt = await raw.read_pdu()
            assert isinstance(receipt, DeliverSm), receipt
            await raw.send(DeliverSmResp(sequence=receipt.sequence))
            assert rejected_receipt_ids([receipt]) == [first.message_id]
        finally:
            raw.close()
        assert stack.simulator.received == []


# --- what still passes ------------------------------------------------------------------------


async def test_transactional_to_an_opted_out_number_is_delivered_byte_exact_without_footer(
    flushed_redis: str, tmp_path: Path, http: aiohttp.ClientSession,
) -> None:
    async with policy_stack(flushed_redis, tmp_path) as stack:
        await opt_out(stack, "acme")
        await opt_out(stack, "*")  # even operator-wide: transactional always passes
        link, _ = await bind_sender(stack.smpp_port)
        by_detector = submit(OTP_TEXT, service_type="")  # nothing explicit: the OTP detector
        by_service_type = submit("Flash sale -50% today only! Your order 4711 shipped.",
                                 service_type="OTP")
        by_tlv = submit("Huge discounts this weekend, 2 for 1", service_type="PROMO",
                        tlvs=[(Tag.stopgate_class, b"\x01")])  # the TLV beats service_type
        long_parts = multipart(LONG_PROMO, "udh8", service_type="TRX")
        sent = [by_detector, by_service_type, by_tlv]
        for pdu in sent:
            answer = await send_one(link, pdu)
            assert answer.command_status == 0 and answer.message_id, pdu
        answers = await send_parts(link, long_parts)
        assert all(a.command_status == 0 for a in answers)
        status, body = await post_message(
            http, stack, {"to": OPTED_OUT, "text": PROMO_TEXT, "class": "transactional"})
        assert status == 202, body
        assert body["class"] == "transactional" and body["footer"] is None

        await eventually(lambda: len(stack.simulator.received) == 3 + len(long_parts) + 1,
                         "every transactional message at the carrier")
        at_carrier = [record.pdu for record in stack.simulator.received]
        for pdu in sent:  # the sender's own bytes and coding, untouched
            [same] = [p for p in at_carrier if p.short_message == pdu.short_message]
            assert same.data_coding == pdu.data_coding
            assert same.destination_addr == "33612345678"
            assert same.tlv(Tag.stopgate_class) is None  # vendor TLVs stay here
        texts = delivered_to(stack, OPTED_OUT)
        assert sorted(texts) == sorted(
            [OTP_TEXT, "Flash sale -50% today only! Your order 4711 shipped.",
             "Huge discounts this weekend, 2 for 1", LONG_PROMO, PROMO_TEXT])
        assert not any(ACME_SHORTCODE_FOOTER in text for text in texts)
        await link.unbind()


async def test_opted_out_of_one_account_still_receives_another_accounts_promotions(
    flushed_redis: str, tmp_path: Path,
) -> None:
    async with policy_stack(flushed_redis, tmp_path) as stack:
        await opt_out(stack, "acme")
        acme, _ = await bind_sender(stack.smpp_port)
        globex, _ = await bind_sender(stack.smpp_port, "globex", "globex1")
        assert (await send_one(acme, submit(PROMO_TEXT))).command_status == BLOCKED
        answer = await send_one(globex, submit(PROMO_TEXT))
        assert answer.command_status == 0 and answer.message_id
        await eventually(lambda: len(stack.simulator.messages()) == 1, "globex's promotion")
        # Delivered with globex's own footer (its shortcode), not acme's.
        assert delivered_to(stack, OPTED_OUT) == [f"{PROMO_TEXT}\n{GLOBEX_SHORTCODE_FOOTER}"]
        await acme.unbind()
        await globex.unbind()


async def test_operator_wide_opt_out_blocks_every_account(
    flushed_redis: str, tmp_path: Path, http: aiohttp.ClientSession,
) -> None:
    async with policy_stack(flushed_redis, tmp_path) as stack:
        await opt_out(stack, "*")
        acme, _ = await bind_sender(stack.smpp_port)
        globex, _ = await bind_sender(stack.smpp_port, "globex", "globex1")
        assert (await send_one(acme, submit(PROMO_TEXT))).command_status == BLOCKED
        assert (await send_one(globex, submit(PROMO_TEXT))).command_status == BLOCKED
        status, _ = await post_message(
            http, stack, {"to": OPTED_OUT, "text": PROMO_TEXT, "class": "promotional"},
            key="globex-key")
        assert status == 422
        # Other recipients are not caught by it.
        assert (await send_one(acme, submit(PROMO_TEXT, to=OTHER_FR))).command_status == 0
        await eventually(lambda: len(stack.simulator.messages()) == 1, "the other promotion")
        assert delivered_to(stack, OPTED_OUT) == []
        await acme.unbind()
        await globex.unbind()


async def test_opt_in_lifts_the_block(flushed_redis: str, tmp_path: Path) -> None:
    async with policy_stack(flushed_redis, tmp_path) as stack:
        suppressions = stack.gateway.suppressions
        assert suppressions is not None
        await opt_out(stack, "acme")
        link, _ = await bind_sender(stack.smpp_port)
        assert (await send_one(link, submit(PROMO_TEXT))).command_status == BLOCKED
        await suppressions.optin("acme", OPTED_OUT, source="api")
        assert (await send_one(link, submit(PROMO_TEXT))).command_status == 0
        await eventually(lambda: delivered_to(stack, OPTED_OUT) != [], "the promotion")
        assert delivered_to(stack, OPTED_OUT) == [f"{PROMO_TEXT}\n{ACME_SHORTCODE_FOOTER}"]
        await link.unbind()


# --- one suppression entry, however the number is written --------------------------------------


@pytest.mark.parametrize(
    ("destination_addr", "ton"),
    [
        ("0612345678", 0),  # national, unknown TON: the account's default_region (FR)
        ("0612345678", 2),  # national TON
        ("612345678", 2),  # national significant number
        ("33612345678", 1),  # international TON, no "+"
        ("33612345678", 0),  # international digits with TON 0, as many senders send them
        ("0033612345678", 0),  # 00 prefix
        ("+33612345678", 0),
    ],
)
async def test_every_smpp_form_of_an_opted_out_number_hits_the_same_entry(
    flushed_redis: str, tmp_path: Path, destination_addr: str, ton: int,
) -> None:
    async with policy_stack(flushed_redis, tmp_path) as stack:
        await opt_out(stack, "acme", "+33612345678")
        link, _ = await bind_sender(stack.smpp_port)
        pdu = replace(submit(PROMO_TEXT, dest_addr_ton=ton), destination_addr=destination_addr)
        answer = await send_one(link, pdu)
        assert answer.command_status == BLOCKED, destination_addr
        assert stack.simulator.received == []
        await link.unbind()


@pytest.mark.parametrize(
    "to", ["06 12 34 56 78", "06-12-34-56-78", "06.12.34.56.78", "+33 6 12 34 56 78",
           "0033612345678", "33612345678", "+33 (0)6 12 34 56 78"],
)
async def test_every_http_form_of_an_opted_out_number_hits_the_same_entry(
    flushed_redis: str, tmp_path: Path, http: aiohttp.ClientSession, to: str,
) -> None:
    async with policy_stack(flushed_redis, tmp_path) as stack:
        await opt_out(stack, "acme", "+33612345678")
        status, body = await post_message(
            http, stack, {"to": to, "text": PROMO_TEXT, "class": "promotional"})
        assert status == 422, (to, body)
        assert body["status"] == "blocked"
        assert stack.simulator.received == []


async def test_an_opt_out_written_without_the_plus_blocks_the_e164_number(
    flushed_redis: str, tmp_path: Path,
) -> None:
    # Whatever writes an opt-out stores E.164; here the entry is written as international
    # digits without "+" (an import that did not normalise), which must still match.
    async with policy_stack(flushed_redis, tmp_path) as stack:
        await opt_out(stack, "acme", "33612345678")
        link, _ = await bind_sender(stack.smpp_port)
        assert (await send_one(link, submit(PROMO_TEXT))).command_status == BLOCKED
        await link.unbind()
