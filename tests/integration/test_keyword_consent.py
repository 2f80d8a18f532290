"""Issue 12, keywords found wanting in hostile testing, end to end through the real gateway.

- A bare YES (OUI, SI, JA) answers appointment and delivery questions: it is no default
  opt-in keyword, so after a STOP it re-consents nothing and reaches the account as an
  ordinary MO; an account that lists it in ``optin_keywords`` gets it.
- START gets one confirmation, like STOP, and only when it changed something.
- STOPALL binds the accounts on the number it was sent to; only
  ``optout.operator_number`` opts out operator-wide ("*"); a START to the same number
  undoes what the keyword did there, and nothing else.
- A reason given on the opt-out page after an earlier STOP is counted in the reports and
  rides on the STOP's webhook if that is not delivered yet.

MOs come from the carrier simulator; effects are read back from the ledger, the MT path
(the next promotional message), the carrier (replies it received), the accounts'
receivers, the HTTP report, the CLI and a webhook endpoint on loopback.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from rules.packs.keywords import render_reply, replies_for
from tests.integration.conftest import Stack
from tests.integration.policy_stack import (
    ACME_AUTO,
    BLOCKED,
    delivered_to,
    opt_out,
    policy_stack,
    send_one,
    submit,
)
from tests.integration.senders import Sender, bind_sender
from tests.integration.test_keywords import events, mo_texts, mos, scopes
from tests.integration.test_optout_page import CSRF, EVENT, link_for, post_form, report
from tests.support.metrics import metric
from tests.support.waiting import eventually

SHORTCODE = "36173"
ACME_LONG = "+33757000000"  # acme's alone
ACME_CONFIRM = "ACME: you will get no more offers from us. Reply START to resubscribe."
ACME_OPTIN = "ACME: welcome back, our offers are on again. Reply STOP to opt out."
ACME = {**ACME_AUTO, "confirm_text": ACME_CONFIRM, "optin_confirm_text": ACME_OPTIN}
#: A brand on its own numbers (not on 36173), that takes a bare YES as re-consent.
GLOBEX = {"system_id": "globex", "password": "globex1", "api_key": "globex-key",
          "default_region": "GB", "numbers": ["+447400900000", "36200"],
          "default_class": "auto"}
#: A second brand on acme's shortcode.
INITECH = {"system_id": "initech", "password": "initech1", "api_key": "initech-key",
           "default_region": "FR", "numbers": [SHORTCODE], "default_class": "auto"}
OPERATOR_NUMBER = "36100"
#: The packs' texts no account overrides: acme's HELP to a French number (acme has no
#: help_contact), globex's opt-in to a British one, the operator number's (no brand).
ACME_HELP = render_reply(replies_for("FR").help_reply_no_contact, brand="acme")
GLOBEX_OPTIN = render_reply(replies_for("GB").optin_confirm_text, brand="globex")
OPERATOR_CONFIRM = render_reply(replies_for("FR").confirm_text)
OPERATOR_OPTIN = render_reply(replies_for("FR").optin_confirm_text)
STOPGATE = Path(sys.executable).parent / "stopgate"


async def quiet(stack: Stack, number: str, barrier: int) -> None:
    """Wait until the carrier has ``barrier`` messages for ``number``, then a little more
    so that a reply that should not exist would have had its turn too."""
    await eventually(lambda: len(delivered_to(stack, number)) >= barrier, "replies")
    await asyncio.sleep(0.3)


async def test_a_bare_yes_reconsents_nobody_unless_the_account_lists_it(
    flushed_redis: str, tmp_path: Path
) -> None:
    globex = {**GLOBEX, "optin_keywords": ["START", "YES"]}
    async with policy_stack(flushed_redis, tmp_path, accounts=[ACME, globex]) as stack:
        acme, acme_rx = await bind_sender(stack.smpp_port)
        glob, glob_rx = await bind_sender(stack.smpp_port, "globex", "globex1")
        number = "+33612000101"
        await stack.simulator.inject_mo(number, ACME_LONG, "STOP")
        await eventually(lambda: scopes(stack, number) == ["acme"], "STOP to acme")
        await eventually(lambda: delivered_to(stack, number) == [ACME_CONFIRM], "confirmed")
        for reply in ("YES", "yes!", "Oui", "Si", "JA"):  # answers to "is 3pm ok?"
            await stack.simulator.inject_mo(number, ACME_LONG, reply)
        # Forwarded to acme as ordinary replies; acme's list still holds the number.
        await eventually(lambda: len(mos(acme_rx)) == 6, "replies forwarded to acme")
        assert sorted(mo_texts(acme_rx)) == sorted(["STOP", "YES", "yes!", "Oui", "Si", "JA"])
        assert scopes(stack, number) == ["acme"]
        assert (await send_one(acme, submit(to=number))).command_status == BLOCKED
        assert [(r["scope"], r["event"]) for r in events(tmp_path, number)] == [
            ("acme", "optout")]
        await quiet(stack, number, 1)
        assert delivered_to(stack, number) == [ACME_CONFIRM]  # the STOP's, nothing more
        assert metric(stack, "stopgate_mo_total", {"kind": "other"}) == 5
        assert metric(stack, "stopgate_mo_total", {"kind": "optin"}) == 0

        # globex lists YES: to its number, a bare yes re-consents globex (and only it).
        other = "+447400000102"
        await stack.simulator.inject_mo(other, "36200", "STOP")
        await stack.simulator.inject_mo(other, ACME_LONG, "STOP")
        await eventually(lambda: scopes(stack, other) == ["acme", "globex"], "two STOPs")
        await stack.simulator.inject_mo(other, "36200", "yes")
        await eventually(lambda: scopes(stack, other) == ["acme"], "YES to globex")
        assert (await send_one(glob, submit(to=other))).command_status == 0
        assert (await send_one(acme, submit(to=other))).command_status == BLOCKED
        await eventually(lambda: GLOBEX_OPTIN in delivered_to(stack, other),
                         "globex's opt-in confirmed")
        await eventually(lambda: len(mos(glob_rx)) == 2, "MOs forwarded to globex")
        assert sorted(mo_texts(glob_rx)) == ["STOP", "yes"]
        await acme.unbind()
        await glob.unbind()


FR_OPTIN = "Vous recevrez de nouveau nos offres. Répondez STOP pour vous désabonner."


async def test_start_gets_exactly_one_confirmation_like_stop(
    flushed_redis: str, tmp_path: Path
) -> None:
    # acme has texts of its own; initech none, so a French number gets the FR texts.
    keywords = [{"country": "FR", "optin_confirm_text": FR_OPTIN}]
    async with policy_stack(flushed_redis, tmp_path, accounts=[ACME, INITECH],
                            keywords=keywords) as stack:
        acme, _ = await bind_sender(stack.smpp_port)
        number = "+33612000111"
        await stack.simulator.inject_mo(number, ACME_LONG, "STOP")
        await eventually(lambda: delivered_to(stack, number) == [ACME_CONFIRM], "STOP")
        await stack.simulator.inject_mo(number, ACME_LONG, "Start")
        await eventually(lambda: scopes(stack, number) == [], "START")
        assert (await send_one(acme, submit(to=number))).command_status == 0
        await eventually(lambda: ACME_OPTIN in delivered_to(stack, number), "START confirmed")
        # From the number the START went to, as a transactional message.
        sent = [m for m in stack.simulator.messages() if m.text == ACME_OPTIN]
        assert [m.source_addr for m in sent] == [ACME_LONG.removeprefix("+")]
        # A second START (or a redelivery) changes nothing: no second confirmation; nor
        # does a START from a number that never opted out.
        await stack.simulator.inject_mo(number, ACME_LONG, "START")
        await stack.simulator.inject_mo("+33612000112", ACME_LONG, "UNSTOP")
        await stack.simulator.inject_mo(number, ACME_LONG, "HELP")  # a barrier
        await quiet(stack, number, 4)
        assert [t for t in delivered_to(stack, number) if "Black Friday" not in t] == [
            ACME_CONFIRM, ACME_OPTIN, ACME_HELP]
        assert delivered_to(stack, "+33612000112") == []
        rows = events(tmp_path, number)
        assert [(r["event"], r["changed"], r["keyword"], r["number_called"]) for r in rows] == [
            ("optout", 1, "STOP", "33757000000"), ("optin", 1, "START", "33757000000")]

        # The shared shortcode: both brands re-consented, one confirmation, acme's text
        # (the first brand that changed); a brand without a text speaks French.
        shared = "+33612000113"
        await stack.simulator.inject_mo(shared, SHORTCODE, "STOP")
        await eventually(lambda: scopes(stack, shared) == ["acme", "initech"], "STOP")
        await stack.simulator.inject_mo(shared, SHORTCODE, "START")
        await eventually(lambda: scopes(stack, shared) == [], "START to the shortcode")
        await quiet(stack, shared, 2)
        assert delivered_to(stack, shared) == [ACME_CONFIRM, ACME_OPTIN]
        alone = "+33612000114"
        await stack.simulator.inject_mo(alone, SHORTCODE, "STOP")
        await eventually(lambda: scopes(stack, alone) == ["acme", "initech"], "STOP")
        await stack.simulator.inject_mo(alone, ACME_LONG, "START")  # acme's: acme only
        await eventually(lambda: scopes(stack, alone) == ["initech"], "START to acme")
        await stack.simulator.inject_mo(alone, SHORTCODE, "start")  # now initech's alone
        await eventually(lambda: scopes(stack, alone) == [], "START to the shortcode")
        await quiet(stack, alone, 3)
        assert delivered_to(stack, alone) == [ACME_CONFIRM, ACME_OPTIN, FR_OPTIN]
        assert metric(stack, "stopgate_mo_total", {"kind": "optin"}) == 6
        await acme.unbind()


async def test_no_confirmation_at_all_when_confirm_reply_is_off(
    flushed_redis: str, tmp_path: Path
) -> None:
    async with policy_stack(flushed_redis, tmp_path, accounts=[ACME],
                            optout={"confirm_reply": False}) as stack:
        number = "+33612000121"
        await stack.simulator.inject_mo(number, ACME_LONG, "STOP")
        await eventually(lambda: scopes(stack, number) == ["acme"], "STOP")
        await stack.simulator.inject_mo(number, ACME_LONG, "START")
        await eventually(lambda: scopes(stack, number) == [], "START")
        await stack.simulator.inject_mo(number, ACME_LONG, "HELP")  # still answered
        await quiet(stack, number, 1)
        assert delivered_to(stack, number) == [ACME_HELP]


async def test_stopall_binds_the_accounts_on_the_number_called(
    flushed_redis: str, tmp_path: Path
) -> None:
    async with policy_stack(flushed_redis, tmp_path, accounts=[ACME, GLOBEX, INITECH],
                            optout={"operator_number": OPERATOR_NUMBER}) as stack:
        links: dict[str, Sender] = {}
        for name, password in (("acme", "acmepass"), ("globex", "globex1"),
                               ("initech", "initech1")):
            links[name], _ = await bind_sender(stack.smpp_port, name, password)

        async def promotions(number: str) -> dict[str, bool]:
            """Which brands' next promotion to ``number`` goes."""
            return {name: (await send_one(link, submit(to=number))).command_status == 0
                    for name, link in links.items()}

        # To acme's shortcode: acme and initech (on 36173 too), not globex.
        number = "+33612000131"
        await stack.simulator.inject_mo(number, SHORTCODE, "STOPALL")
        await eventually(lambda: scopes(stack, number) == ["acme", "initech"], "STOPALL")
        assert await promotions(number) == {"acme": False, "globex": True, "initech": False}
        rows = events(tmp_path, number)
        assert [(r["scope"], r["keyword"], r["number_called"]) for r in rows] == [
            ("acme", "STOPALL", SHORTCODE), ("initech", "STOPALL", SHORTCODE)]
        # START to the same number undoes it.
        await stack.simulator.inject_mo(number, SHORTCODE, "START")
        await eventually(lambda: scopes(stack, number) == [], "START to the shortcode")
        assert await promotions(number) == {"acme": True, "globex": True, "initech": True}

        # To the operator's number: "*", every brand. START elsewhere leaves it; START
        # there lifts it.
        wide = "+33612000132"
        await stack.simulator.inject_mo(wide, OPERATOR_NUMBER, "Stop all")
        await eventually(lambda: scopes(stack, wide) == ["*"], "STOP ALL to the operator")
        assert await promotions(wide) == {"acme": False, "globex": False, "initech": False}
        await stack.simulator.inject_mo(wide, SHORTCODE, "START")
        await stack.simulator.inject_mo(wide, "36200", "START")
        await eventually(lambda: stack.simulator.stats.mos_acked == 5, "MOs answered")
        assert scopes(stack, wide) == ["*"]
        await stack.simulator.inject_mo(wide, OPERATOR_NUMBER, "START")
        await eventually(lambda: scopes(stack, wide) == [], "START to the operator")
        assert await promotions(wide) == {"acme": True, "globex": True, "initech": True}
        rows = events(tmp_path, wide)
        assert [(r["scope"], r["event"], r["changed"], r["number_called"]) for r in rows] == [
            ("*", "optout", 1, OPERATOR_NUMBER), ("*", "optin", 1, OPERATOR_NUMBER)]
        await quiet(stack, wide, 2)  # one confirmation each way, from the operator number
        sent = [m for m in stack.simulator.messages() if m.destination_addr == wide[1:]
                and m.source_addr == OPERATOR_NUMBER]
        assert [m.text for m in sent] == [OPERATOR_CONFIRM, OPERATOR_OPTIN]

        # A "*" the operator made (API, import, CLI) is never lifted by a reply.
        listed = "+33612000133"
        await opt_out(stack, "*", listed)
        await stack.simulator.inject_mo(listed, OPERATOR_NUMBER, "START")
        await stack.simulator.inject_mo(listed, SHORTCODE, "START")
        await eventually(lambda: stack.simulator.stats.mos_acked == 8, "MOs answered")
        assert scopes(stack, listed) == ["*"]
        assert delivered_to(stack, listed) == []

        # A "*" that a STOPALL to acme's shortcode made before this change: a START to that
        # shortcode lifts it, a START to another number does not.
        suppressions = stack.gateway.suppressions
        assert suppressions is not None
        old, older = "+33612000134", "+33612000135"
        for legacy in (old, older):
            await suppressions.optout("*", legacy, source="keyword", keyword="STOPALL",
                                      number_called=SHORTCODE)
        await stack.simulator.inject_mo(old, SHORTCODE, "START")
        await stack.simulator.inject_mo(older, "36200", "START")
        await eventually(lambda: scopes(stack, old) == [], "START lifts the legacy STOPALL")
        await eventually(lambda: stack.simulator.stats.mos_acked == 10, "MOs answered")
        assert scopes(stack, older) == ["*"]
        # Nobody else was touched along the way.
        assert scopes(stack, number) == [] and scopes(stack, "+33612000199") == []
        for link in links.values():
            await link.unbind()


@dataclass
class Hook:
    """A webhook endpoint that answers 503 until ``accept`` is set."""

    accept: bool = False
    hits: list[tuple[str, dict[str, Any], int]] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        body = json.loads(await request.read())
        status = 204 if self.accept else 503
        self.hits.append((request.match_info["account"], body, status))
        return web.Response(status=status)

    def bodies(self, account: str, delivered: bool = False) -> list[dict[str, Any]]:
        return [body for name, body, status in self.hits
                if name == account and (status == 204 or not delivered)]


@pytest.fixture
async def hook() -> AsyncIterator[tuple[Hook, str]]:
    target = Hook()
    app = web.Application()
    app.router.add_post("/hook/{account}", target.handle)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield target, f"http://127.0.0.1:{port}/hook"
    finally:
        await runner.cleanup()


async def test_a_reason_given_after_a_stop_counts_and_rides_on_the_pending_webhook(
    flushed_redis: str, tmp_path: Path, hook: tuple[Hook, str]
) -> None:
    endpoint, url = hook
    acme = {**ACME, "webhook_url": f"{url}/acme", "webhook_secret": "acme-secret"}
    initech = {**INITECH, "webhook_url": f"{url}/initech", "webhook_secret": "i-secret"}
    webhook = {"backoff_initial": 0.05, "backoff_max": 0.1}
    number = "+447400123456"  # a British number: its footer carries the opt-out link
    async with policy_stack(flushed_redis, tmp_path, accounts=[acme, initech],
                            webhook=webhook) as stack, \
            aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:
        token = await link_for(http, stack, number)
        await stack.simulator.inject_mo(number, SHORTCODE, "STOP")  # acme and initech
        await eventually(lambda: scopes(stack, number) == ["acme", "initech"], "STOP")
        await eventually(lambda: bool(endpoint.bodies("acme")), "a first, failed attempt")
        assert endpoint.bodies("acme")[0]["reason"] is None

        # Then the recipient opens the link of an earlier message, confirms (nothing new:
        # opted out already) and says why.
        async with http.get(f"{stack.http_url}/o/{token}") as response:
            page = await response.text()
        csrf = CSRF.search(page)
        assert csrf
        status, done = await post_form(http, stack, f"/o/{token}", {"csrf": csrf.group(1)})
        assert status == 200, done
        reason_csrf, event = CSRF.search(done), EVENT.search(done)
        assert reason_csrf and event
        status, _ = await post_form(http, stack, f"/o/{token}/reason", {
            "csrf": reason_csrf.group(1), "event": event.group(1), "reason": "too_many"})
        assert status == 200

        # The reports see it on the STOP, counted once.
        status, body = await report(http, stack, "group_by=reason")
        assert (status, body["rows"]) == (200, [{"key": "too_many", "optouts": 1,
                                                 "optins": 0}])
        status, body = await report(http, stack, "group_by=source")
        assert body["rows"] == [{"key": "keyword", "optouts": 1, "optins": 0}]
        status, body = await report(http, stack, "group_by=reason", key="initech-key")
        assert body["rows"] == [{"key": None, "optouts": 1, "optins": 0}]  # not initech's
        config = stack.gateway.config
        env = {"STOPGATE_SERVER_DATA_DIR": str(config.server.data_dir), "PATH": "/usr/bin:/bin"}
        result = await asyncio.to_thread(
            subprocess.run, [str(STOPGATE), "report", "optouts", "--by", "reason"],
            env=env, cwd=config.server.data_dir, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        table = [line.split() for line in result.stdout.splitlines()]
        # Every scope: acme's STOP with its reason, initech's without.
        assert ["too_many", "1", "0"] in table and ["total", "2", "0"] in table, table

        # The STOP's webhook, still undelivered, now says why; initech's does not.
        await eventually(lambda: any(b["reason"] == "too_many" for b in endpoint.bodies("acme")),
                         "the reason in the pending webhook")
        endpoint.accept = True
        await eventually(lambda: bool(endpoint.bodies("acme", delivered=True)
                                      and endpoint.bodies("initech", delivered=True)),
                         "webhooks delivered")
        [delivered] = endpoint.bodies("acme", delivered=True)
        assert {k: delivered[k] for k in ("source", "event", "keyword", "reason",
                                          "number_called")} == {
            "source": "keyword", "event": "optout", "keyword": "STOP", "reason": "too_many",
            "number_called": SHORTCODE}
        assert [b["reason"] for b in endpoint.bodies("initech", delivered=True)] == [None]
        await asyncio.sleep(0.3)  # the link's repeat announces nothing of its own
        assert len(endpoint.bodies("acme", delivered=True)) == 1
        assert [(r["scope"], r["changed"], r["source"], r["reason"])
                for r in events(tmp_path, number)] == [
            ("acme", 1, "keyword", "too_many"), ("initech", 1, "keyword", None),
            ("acme", 0, "link", "too_many")]
