"""Sender ownership through the real gateway: whose source address is whose.

The defect (issue 12): acme could send from globex's +447700900000, so a recipient
who had texted STOP to that number still got a promotion from it. Now a source
another account lists (``numbers`` or ``senders``) is refused, however it is
written (TON/NPI, "+", "00", national, case), over SMPP (ESME_RINVSRCADR) and HTTP
(422 sender_not_allowed); a shared shortcode is every lister's; an account without
``senders`` may still send from any source nobody lists; and a STOP to a number
binds every account that may send from it.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import aiohttp

from smpp.constants import CommandStatus
from smpp.pdu import SubmitSm
from tests.integration.conftest import Stack
from tests.integration.policy_stack import (
    ACME_AUTO,
    BLOCKED,
    LONG_PROMO,
    OTP_TEXT,
    PROMO_TEXT,
    delivered_to,
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

INVSRCADR = CommandStatus.ESME_RINVSRCADR  # 0x0A
SHORTCODE = "36173"  # listed by acme and globex: theirs alike
GLOBEX_NUMBER = "+447700900000"
GLOBEX_FR = "+33757000099"  # globex's French sender: acme's national "0757000099"
SHARED_SENDER = "+33757000050"  # in globex's numbers and acme's senders
UNLISTED = "+447400900555"  # nobody lists it

ACME = {**ACME_AUTO, "numbers": [SHORTCODE, "+33757000000"],
        "senders": ["ACME", "+33757000001", SHARED_SENDER]}
GLOBEX = {
    "system_id": "globex", "password": "globex1", "api_key": "globex-key",
    "default_region": "GB", "numbers": [GLOBEX_NUMBER, SHORTCODE, SHARED_SENDER],
    "senders": ["GLOBEX", GLOBEX_FR],
}
INITECH = {  # no senders: any source nobody lists
    "system_id": "initech", "password": "initech1", "api_key": "initech-key",
    "default_region": "GB", "numbers": ["+447400900001"],
}
HOOLI = {"system_id": "hooli", "api_key": "hooli-key", "senders": ["HOOLI"]}  # senders only
ACCOUNTS = [ACME, GLOBEX, INITECH, HOOLI]

RECIPIENT = "+33612000100"


def sent(source: str, ton: int, text: str = OTP_TEXT, *, to: str = RECIPIENT,
         service_type: str = "OTP") -> SubmitSm:
    """A submit_sm from ``source`` (transactional by default: the rule is for all traffic)."""
    return replace(submit(text, to=to, service_type=service_type), source_addr=source,
                   source_addr_ton=ton, source_addr_npi=0 if ton == 5 else 1)


def carrier_sources(stack: Stack) -> list[str]:
    return [m.source_addr for m in stack.simulator.messages()]


async def test_acme_cannot_send_from_globex_senders_however_written(
    flushed_redis: str, tmp_path: Path
) -> None:
    async with policy_stack(flushed_redis, tmp_path, accounts=ACCOUNTS) as stack:
        acme, _ = await bind_sender(stack.smpp_port)
        globex, _ = await bind_sender(stack.smpp_port, "globex", "globex1")
        refused = [
            ("+447700900000", 1), ("447700900000", 1), ("447700900000", 0),
            ("00447700900000", 0), ("447700900000", 3), ("447700900000", 5),
            ("+44 7700 900000", 1), ("GLOBEX", 5), ("globex", 5), ("Globex", 5),
            ("GLOBEX ", 5), ("0757000099", 0), ("0757000099", 2), ("33757000099", 1),
            ("+33757000555", 1), ("INITECH", 5), ("", 0),  # unlisted: acme lists senders
        ]
        allowed = [
            ("ACME", 5), ("acme", 5), ("36173", 0), ("36173", 3), ("33757000000", 1),
            ("0757000000", 0), ("+33757000001", 1), ("33757000050", 1),
        ]
        for index, (source, ton) in enumerate(refused):
            service = "PROMO" if index % 2 else "OTP"  # either class: refused
            text = PROMO_TEXT if index % 2 else OTP_TEXT
            answer = await send_one(acme, sent(source, ton, text, service_type=service))
            assert answer.command_status == INVSRCADR, (source, ton)
            assert answer.message_id == ""
        # The same session goes on sending from its own sources; globex from its own.
        for source, ton in allowed:
            answer = await send_one(acme, sent(source, ton))
            assert answer.command_status == 0, (source, ton)
        for source, ton in [("GLOBEX", 5), ("447700900000", 1), ("36173", 0),
                            ("33757000099", 1), ("33757000050", 1)]:
            answer = await send_one(globex, sent(source, ton))
            assert answer.command_status == 0, (source, ton)
        # National forms read in the account's default_region: GB for globex.
        assert (await send_one(globex, sent("07700900000", 0))).command_status == 0
        assert (await send_one(globex, sent("0757000099", 0))).command_status == INVSRCADR

        await eventually(lambda: len(carrier_sources(stack)) == len(allowed) + 6,
                         "the allowed messages at the carrier")
        await asyncio.sleep(0.1)
        assert sorted(carrier_sources(stack)) == sorted(
            [s for s, _ in allowed] + ["GLOBEX", "447700900000", "36173", "33757000099",
                                       "33757000050", "07700900000"])
        assert metric(stack, "stopgate_sender_refused_total", {"account": "acme"}) == len(refused)
        assert metric(stack, "stopgate_sender_refused_total", {"account": "globex"}) == 1
        rejected = sum(metric(stack, "stopgate_mt_total", {
            "account": "acme", "class": klass, "outcome": "rejected"})
            for klass in ("promotional", "transactional", "unclassified"))
        assert rejected == len(refused)
        # The refusals harmed nothing: the sessions still send.
        assert (await send_one(acme, sent("ACME", 5))).command_status == 0
        assert (await send_one(globex, sent("GLOBEX", 5))).command_status == 0
        await acme.unbind()
        await globex.unbind()


async def test_an_account_without_senders_sends_from_any_source_nobody_lists(
    flushed_redis: str, tmp_path: Path
) -> None:
    async with policy_stack(flushed_redis, tmp_path, accounts=ACCOUNTS) as stack:
        initech, _ = await bind_sender(stack.smpp_port, "initech", "initech1")
        for source, ton in [("INITECH", 5), (UNLISTED, 1), ("447400900001", 1), ("", 0),
                            ("ACME CO", 5), ("36999", 0)]:
            answer = await send_one(initech, sent(source, ton))
            assert answer.command_status == 0, (source, ton)
        for source, ton in [("GLOBEX", 5), ("ACME", 5), ("36173", 0), ("36173", 1),
                            ("07700900000", 0), ("447700900000", 0), ("+33757000050", 1)]:
            answer = await send_one(initech, sent(source, ton))
            assert answer.command_status == INVSRCADR, (source, ton)
        assert metric(stack, "stopgate_sender_refused_total", {"account": "initech"}) == 7
        await initech.unbind()


async def test_http_from_another_accounts_sender_is_422_sender_not_allowed(
    flushed_redis: str, tmp_path: Path
) -> None:
    async with policy_stack(flushed_redis, tmp_path, accounts=ACCOUNTS) as stack, \
            aiohttp.ClientSession() as http:
        for source in [GLOBEX_NUMBER, "447700900000", "00447700900000", "GLOBEX", "globex",
                       "+33757000099", "INITECH"]:
            status, body = await post_message(http, stack, {
                "to": RECIPIENT, "from": source, "text": OTP_TEXT, "class": "transactional"})
            assert (status, body) == (422, {"status": "blocked",
                                            "reason": "sender_not_allowed"}), source
        # A malformed 'from' is still 400 invalid_source (not an ownership question).
        status, body = await post_message(http, stack, {
            "to": RECIPIENT, "from": "ACME-CORPORATION", "text": OTP_TEXT})
        assert (status, body["error"]) == (400, "invalid_source")
        # Its own, the shared shortcode, and no 'from' (the shortcode) all go.
        for source in ["ACME", "Acme", SHORTCODE, "+33757000001", SHARED_SENDER, None]:
            request = {"to": RECIPIENT, "text": OTP_TEXT, "class": "transactional"}
            if source is not None:
                request["from"] = source
            status, body = await post_message(http, stack, request)
            assert status == 202, (source, body)
        status, _ = await post_message(http, stack, {
            "to": RECIPIENT, "from": SHORTCODE, "text": OTP_TEXT, "class": "transactional"},
            key="globex-key")
        assert status == 202
        # An account with senders and no numbers: without 'from', its first sender.
        status, _ = await post_message(http, stack, {
            "to": RECIPIENT, "text": OTP_TEXT, "class": "transactional"}, key="hooli-key")
        assert status == 202
        await eventually(lambda: len(delivered_to(stack, RECIPIENT)) == 8, "accepted at carrier")
        assert sorted(carrier_sources(stack)) == sorted(
            ["ACME", "Acme", SHORTCODE, "33757000001", SHARED_SENDER[1:], SHORTCODE, SHORTCODE,
             "HOOLI"])
        assert metric(stack, "stopgate_sender_refused_total", {"account": "acme"}) == 7


async def test_no_part_of_a_multipart_message_from_another_sender_is_accepted(
    flushed_redis: str, tmp_path: Path
) -> None:
    async with policy_stack(flushed_redis, tmp_path, accounts=ACCOUNTS) as stack:
        acme, acme_rx = await bind_sender(stack.smpp_port)
        parts = multipart(LONG_PROMO, "udh8", to=RECIPIENT)
        stolen = [replace(part, source_addr="GLOBEX") for part in parts]
        answers = await send_parts(acme, stolen)
        assert [a.command_status for a in answers] == [INVSRCADR] * len(parts)
        # Its own multipart message goes whole, on the same session.
        answers = await send_parts(acme, multipart(LONG_PROMO, "udh8", to=RECIPIENT, ref=7))
        assert [a.command_status for a in answers] == [0] * len(parts)
        await eventually(lambda: len(delivered_to(stack, RECIPIENT)) == 1, "acme's message")
        await eventually(lambda: len(acme_rx.receipts()) >= len(parts), "its receipts")
        await asyncio.sleep(0.1)
        # Nothing was answered ESME_ROK for the refused parts, so no receipt speaks of them.
        assert all(b"stat:DELIVRD" in r.short_message for r in acme_rx.receipts())
        assert carrier_sources(stack) == ["ACME"]
        assert metric(stack, "stopgate_sender_refused_total", {"account": "acme"}) == len(parts)
        await acme.unbind()


async def test_a_stop_binds_every_account_that_may_send_from_the_number(
    flushed_redis: str, tmp_path: Path
) -> None:
    async with policy_stack(flushed_redis, tmp_path, accounts=ACCOUNTS) as stack:
        acme, acme_rx = await bind_sender(stack.smpp_port)
        globex, globex_rx = await bind_sender(stack.smpp_port, "globex", "globex1")
        initech, _ = await bind_sender(stack.smpp_port, "initech", "initech1")
        assert stack.gateway.ledger is not None
        ledger = stack.gateway.ledger.ledger

        # The case: STOP to globex's number. Globex's next promotion from it is
        # blocked, and acme cannot send one from it at all.
        first = "+33612000101"
        await stack.simulator.inject_mo(first, GLOBEX_NUMBER, "STOP")
        await eventually(lambda: list(ledger.suppressed_scopes(first)) == ["globex"],
                         "STOP to globex's number")
        stolen = sent("+447700900000", 1, PROMO_TEXT, to=first, service_type="PROMO")
        assert (await send_one(acme, stolen)).command_status == INVSRCADR
        assert (await send_one(globex, sent("447700900000", 1, PROMO_TEXT, to=first,
                                            service_type="PROMO"))).command_status == BLOCKED

        # A number listed by two accounts (globex's numbers, acme's senders): a STOP to it
        # binds both, and both get the MO.
        second = "+33612000102"
        await stack.simulator.inject_mo(second, SHARED_SENDER, "STOP")
        await eventually(lambda: list(ledger.suppressed_scopes(second)) == ["acme", "globex"],
                         "STOP to the shared sender")
        for link, source, ton in [(acme, "33757000050", 1), (globex, "33757000050", 1),
                                  (acme, "ACME", 5)]:
            answer = await send_one(link, sent(source, ton, PROMO_TEXT, to=second,
                                               service_type="PROMO"))
            assert answer.command_status == BLOCKED, (source, ton)
        # initech never listed it and lists no senders, but the number is listed: not bound.
        answer = await send_one(initech, sent("INITECH", 5, PROMO_TEXT, to=second,
                                              service_type="PROMO"))
        assert answer.command_status == 0

        def mo_sources(rx: object) -> list[str]:
            return [p.source_addr for p in rx.delivered  # type: ignore[attr-defined]
                    if not p.esm_class & 0x04]

        await eventually(lambda: mo_sources(acme_rx) == [second[1:]], "the MO at acme")
        await eventually(lambda: mo_sources(globex_rx) == [first[1:], second[1:]],
                         "the MOs at globex")

        # A STOP to a number nobody lists binds the accounts that may send from it: those
        # without senders (initech), not acme or globex.
        third = "+33612000103"
        await stack.simulator.inject_mo(third, UNLISTED, "STOP")
        await eventually(lambda: list(ledger.suppressed_scopes(third)) == ["initech"],
                         "STOP to an unlisted number")
        answer = await send_one(initech, sent(UNLISTED, 1, PROMO_TEXT, to=third,
                                              service_type="PROMO"))
        assert answer.command_status == BLOCKED
        answer = await send_one(acme, sent("ACME", 5, PROMO_TEXT, to=third,
                                           service_type="PROMO"))
        assert answer.command_status == 0
        # Every confirmation came from the number the STOP went to, sent by a lister.
        await eventually(lambda: len([t for t in delivered_to(stack, third) if "START" in t])
                         == 1, "the confirmation of the third STOP")
        for number, source in [(first, GLOBEX_NUMBER[1:]), (second, SHARED_SENDER[1:]),
                               (third, UNLISTED[1:])]:
            confirmations = [m.source_addr for m in stack.simulator.messages()
                             if m.destination_addr == number[1:] and "START" in m.text]
            assert confirmations == [source], number
        assert metric(stack, "stopgate_sender_refused_total", {"account": "acme"}) == 1
        for link in (acme, globex, initech):
            await link.unbind()
