"""An opt-out mention in a promotion counts as its footer only when it leads to stopgate.

Issue 12: outside France, "Reply STOP to 99999" (someone else's number),
"unsubscribe: https://other.example/u/1" (a link that never reaches stopgate) or
"Reply STOP" from an alphanumeric sender id (nobody can reply to it) counted as the
footer, so none was appended and the recipient's opt-out never reached stopgate. Now
the carrier gets the footer appended to those, and the text as sent when the mention
names a number the account receives MOs on, links to optout.base_url's host, or is a
plain "Reply STOP" from a number the account lists.

acme (policy_stack): numbers 36173 and +33757000000, no senders; globex: +447400900000
and 36200. Recipients in the UK get "Opt-out: no-s.ms/<token>".
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
from tests.integration.conftest import Stack
from tests.integration.policy_stack import digits, policy_stack, post_message, send_one, submit
from tests.integration.senders import bind_sender
from tests.support.metrics import metric
from tests.support.waiting import eventually

GB_1, GB_2, GB_3 = "+447400123401", "+447400123402", "+447400123403"
LINK_FOOTER = r"\nOpt-out: no-s\.ms/([A-Za-z0-9]{9})"
#: (source_addr, TON) of acme's own long number and of an alphanumeric sender id.
OWN_LONG = ("33757000000", 1)
ALPHANUMERIC = ("ACME", 5)


@pytest.fixture
async def stack(flushed_redis: str, tmp_path: Path) -> AsyncIterator[Stack]:
    async with policy_stack(flushed_redis, tmp_path) as running:
        yield running


def promo(text: str, to: str, source: tuple[str, int]) -> SubmitSm:
    return dataclasses.replace(submit(text, to=to), source_addr=source[0],
                               source_addr_ton=source[1])


async def carrier_message(stack: Stack, e164: str) -> ReceivedMessage:
    def arrived() -> list[ReceivedMessage]:
        return [m for m in stack.simulator.messages()
                if m.destination_addr == digits(e164) and m.complete]

    await eventually(lambda: len(arrived()) == 1, f"the message for {e164}")
    [message] = arrived()
    return message


async def assert_footer_appended(stack: Stack, e164: str, text: str, account: str) -> None:
    """The carrier got ``text`` + the link footer, whose token is this recipient's."""
    message = await carrier_message(stack, e164)
    found = re.fullmatch(re.escape(text) + LINK_FOOTER, message.text)
    assert found is not None, message.text
    assert stack.gateway.ledger is not None
    info = await stack.gateway.ledger.resolve_token(found.group(1))
    assert info is not None and (info.account, info.number) == (account, e164)


APPENDED = [
    pytest.param("Big sale this weekend! Reply STOP to 99999", ALPHANUMERIC, id="other-number"),
    pytest.param("Big sale this weekend! Reply STOP to 99999", OWN_LONG,
                 id="other-number-from-own-long-number"),
    pytest.param("Big sale this weekend! Unsubscribe: https://other.example/u/1", OWN_LONG,
                 id="other-link"),
    pytest.param("Big sale this weekend! Reply STOP", ALPHANUMERIC, id="reply-stop-from-sender-id"),
    pytest.param("Big sale this weekend! Reply STOP", ("447700900999", 1),
                 id="reply-stop-from-unlisted-number"),
]
KEPT = [
    pytest.param("Big sale this weekend! Reply STOP to 36173", ALPHANUMERIC, id="own-shortcode"),
    pytest.param("Big sale this weekend! Text STOP to +33 7 57 00 00 00", ALPHANUMERIC,
                 id="own-long-number"),
    pytest.param("Big sale this weekend! Unsubscribe: https://no-s.ms/AbCdEf123", ALPHANUMERIC,
                 id="own-base-url-link"),
    pytest.param("Big sale this weekend! Reply STOP", OWN_LONG, id="reply-stop-from-own-number"),
    pytest.param("Big sale this weekend! Reply STOP to opt out", ("36173", 0),
                 id="reply-stop-from-own-shortcode"),
]


@pytest.mark.parametrize(("text", "source"), APPENDED)
async def test_a_mention_that_does_not_lead_to_stopgate_gets_the_footer(
    stack: Stack, text: str, source: tuple[str, int],
) -> None:
    link, _ = await bind_sender(stack.smpp_port)
    assert (await send_one(link, promo(text, GB_1, source))).command_status == 0
    await assert_footer_appended(stack, GB_1, text, "acme")
    assert metric(stack, "stopgate_footers_total", {"country": "GB"}) == 1
    await link.unbind()


@pytest.mark.parametrize(("text", "source"), KEPT)
async def test_a_mention_that_leads_to_stopgate_is_forwarded_as_sent(
    stack: Stack, text: str, source: tuple[str, int],
) -> None:
    link, _ = await bind_sender(stack.smpp_port)
    pdu = promo(text, GB_1, source)
    assert (await send_one(link, pdu)).command_status == 0
    message = await carrier_message(stack, GB_1)
    assert message.text == text
    [record] = [r for r in stack.simulator.received if r.pdu.destination_addr == digits(GB_1)]
    assert record.pdu.short_message == pdu.short_message
    assert record.pdu.source_addr == source[0]
    assert metric(stack, "stopgate_footers_total", {"country": "GB"}) == 0
    await link.unbind()


async def test_one_accounts_numbers_do_not_lead_to_another_accounts_opt_outs(
    stack: Stack,
) -> None:
    """acme's shortcode in globex's text: the STOPs would reach acme, not globex."""
    globex, _ = await bind_sender(stack.smpp_port, "globex", "globex1")
    acme, _ = await bind_sender(stack.smpp_port)
    text = "Big sale this weekend! Reply STOP to 36173"
    assert (await send_one(globex, promo(text, GB_1, ("GLOBEX", 5)))).command_status == 0
    assert (await send_one(acme, promo(text, GB_2, ALPHANUMERIC))).command_status == 0
    # globex's own long number: its "Reply STOP" comes back to globex through stopgate.
    plain = "Big sale this weekend! Reply STOP"
    own = promo(plain, GB_3, ("447400900000", 1))
    assert (await send_one(globex, own)).command_status == 0
    await assert_footer_appended(stack, GB_1, text, "globex")
    assert (await carrier_message(stack, GB_2)).text == text
    assert (await carrier_message(stack, GB_3)).text == plain
    assert metric(stack, "stopgate_footers_total", {"country": "GB"}) == 1
    await globex.unbind()
    await acme.unbind()


async def test_over_http_the_answer_and_the_carrier_show_whether_a_footer_was_added(
    stack: Stack, http: aiohttp.ClientSession,
) -> None:
    plain = "Big sale this weekend! Reply STOP"
    status, own = await post_message(http, stack, {
        "to": GB_1, "from": "+33757000000", "text": plain, "class": "promotional"})
    assert (status, own["footer"]) == (202, None), own
    status, alnum = await post_message(http, stack, {
        "to": GB_2, "from": "ACME", "text": plain, "class": "promotional"})
    assert status == 202, alnum
    assert re.fullmatch(LINK_FOOTER[2:], alnum["footer"] or ""), alnum
    other = "Big sale this weekend! Unsubscribe: https://other.example/u/1"
    status, link = await post_message(http, stack, {
        "to": GB_3, "from": "+33757000000", "text": other, "class": "promotional"})
    assert status == 202 and link["footer"] is not None, link
    assert (await carrier_message(stack, GB_1)).text == plain
    assert (await carrier_message(stack, GB_2)).text == f"{plain}\n{alnum['footer']}"
    assert (await carrier_message(stack, GB_3)).text == f"{other}\n{link['footer']}"
    await assert_footer_appended(stack, GB_2, plain, "acme")
    assert metric(stack, "stopgate_footers_total", {"country": "GB"}) == 2
