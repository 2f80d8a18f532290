"""Issue 16, opt-outs written in words, end to end through the real gateway.

- "Stop texting me" from a US number: recorded like a STOP (ledger, cache, webhook,
  confirmation in the recipient's language), the next promotional MT blocked;
- "Stop by the store tomorrow?": passed on to the account, nothing recorded;
- an unclear reply ("not interested"): on the review list (ledger), no reply sent, seen
  through GET /v1/reviews and `stopgate reviews list`; decided optout (API and CLI), the
  number is blocked afterwards; the first decision stands;
- Spain's vosotros form "dejad de enviarme mensajes": an opt-out, confirmed in Spanish;
- ``[optout] phrases = false``: keywords only.

MOs come from the carrier simulator; effects are read from the ledger, the MT path, the
carrier (the replies it received), the HTTP API and the CLI as a subprocess.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp

from rules.deadlines import reminder, review_deadline
from rules.packs.keywords import render_reply, replies_for
from tests.integration.conftest import Stack
from tests.integration.policy_stack import (
    ACME_AUTO,
    BLOCKED,
    GLOBEX_AUTO,
    delivered_to,
    policy_stack,
    send_one,
    submit,
)
from tests.integration.senders import bind_sender
from tests.integration.test_keyword_consent import Hook, hook  # noqa: F401 (a fixture)
from tests.integration.test_keywords import events, mo_texts, mos, scopes
from tests.support.metrics import metric
from tests.support.waiting import eventually

SHORTCODE = "36173"
BRAND = "ACME Shoes"
ACME = {**ACME_AUTO, "display_name": BRAND}
STOPGATE = Path(sys.executable).parent / "stopgate"
US, US2, US3, SPAIN = "+12025550143", "+12025550177", "+12025550188", "+34612000301"


def confirmation(country: str) -> str:
    return render_reply(replies_for(country).confirm_text, brand=BRAND, contact="")


async def api(http: aiohttp.ClientSession, stack: Stack, method: str, path: str,
              key: str = "acme-key", **kwargs: Any) -> tuple[int, Any]:
    async with http.request(method, f"{stack.http_url}{path}",
                            headers={"Authorization": f"Bearer {key}"}, **kwargs) as response:
        return response.status, await response.json()


async def cli(stack: Stack, redis_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`stopgate reviews ...` on the gateway's data_dir, writing through to its Redis."""
    data_dir = stack.gateway.config.server.data_dir
    env = {"STOPGATE_SERVER_DATA_DIR": str(data_dir), "STOPGATE_STORAGE_REDIS_URL": redis_url,
           "PATH": "/usr/bin:/bin"}
    return await asyncio.to_thread(
        subprocess.run, [str(STOPGATE), "reviews", *args], env=env, cwd=data_dir,
        capture_output=True, text=True, timeout=60, check=False)


def outbox(data_dir: Path) -> list[tuple[str, str]]:
    import sqlite3

    with sqlite3.connect(f"file:{data_dir / 'ledger.sqlite3'}?mode=ro", uri=True) as db:
        return list(db.execute("SELECT account, number FROM webhook_outbox ORDER BY id"))


async def test_stop_texting_me_is_a_stop_and_stop_by_the_store_is_not(
    flushed_redis: str, tmp_path: Path, hook: tuple[Hook, str]  # noqa: F811
) -> None:
    _, url = hook
    acme = {**ACME, "webhook_url": f"{url}/acme", "webhook_secret": "acme-secret"}
    async with policy_stack(flushed_redis, tmp_path, accounts=[acme]) as stack:
        link, acme_rx = await bind_sender(stack.smpp_port)
        assert (await send_one(link, submit(to=US))).command_status == 0
        await stack.simulator.inject_mo(US, SHORTCODE, "Stop texting me")
        await stack.simulator.inject_mo(US2, SHORTCODE, "Stop by the store tomorrow?")
        await eventually(lambda: len(mos(acme_rx)) == 2, "both MOs passed on to acme")
        assert sorted(mo_texts(acme_rx)) == ["Stop by the store tomorrow?", "Stop texting me"]
        assert scopes(stack, US) == ["acme"]  # recorded before the MO was answered
        # The very next promotional MT is blocked; the other number still gets them.
        assert (await send_one(link, submit(to=US))).command_status == BLOCKED
        assert (await send_one(link, submit(to=US2))).command_status == 0
        await eventually(lambda: confirmation("US") in delivered_to(stack, US),
                         "the confirmation, in English")
        assert confirmation("US").startswith(BRAND)
        rows = events(tmp_path, US)
        assert [(r["scope"], r["event"], r["source"], r["keyword"], r["number_called"])
                for r in rows] == [("acme", "optout", "phrase", "phrase:en", SHORTCODE)]
        assert outbox(tmp_path) == [("acme", US)]  # the webhook, like a STOP's
        # Nothing for the other one: no event, no review, no reply.
        assert events(tmp_path, US2) == [] and scopes(stack, US2) == []
        assert stack.gateway.ledger is not None
        assert stack.gateway.ledger.ledger.reviews() == []
        assert confirmation("US") not in delivered_to(stack, US2)
        assert metric(stack, "stopgate_mo_total", {"kind": "optout"}) == 1
        assert metric(stack, "stopgate_mo_total", {"kind": "other"}) == 1
        assert metric(stack, "stopgate_optouts_total", {"source": "phrase"}) == 1
        await link.unbind()


async def test_an_unclear_reply_is_reviewed_then_decided_through_api_and_cli(
    flushed_redis: str, tmp_path: Path
) -> None:
    async with policy_stack(flushed_redis, tmp_path, accounts=[ACME, GLOBEX_AUTO]) as stack, \
            aiohttp.ClientSession() as http:
        link, acme_rx = await bind_sender(stack.smpp_port)
        await stack.simulator.inject_mo(US, SHORTCODE, "not interested")
        await stack.simulator.inject_mo(US3, SHORTCODE, "Who is this??")
        await eventually(lambda: len(mos(acme_rx)) == 2, "both MOs passed on to acme")
        # Nothing decided: no opt-out, no reply; promotions still go meanwhile.
        assert scopes(stack, US) == [] and scopes(stack, US3) == []
        assert (await send_one(link, submit(to=US))).command_status == 0
        status, body = await api(http, stack, "GET", "/v1/reviews")
        assert status == 200
        first, second = sorted(body["reviews"], key=lambda r: r["text"] != "not interested")
        assert {k: first[k] for k in ("account", "number", "number_called", "text", "status",
                                      "decided_by", "decided_at")} == {
            "account": "acme", "number": US, "number_called": SHORTCODE,
            "text": "not interested", "status": "pending", "decided_by": None,
            "decided_at": None}
        received = datetime.fromisoformat(first["received_at"])
        assert datetime.fromisoformat(first["deadline"]) == review_deadline(received, "US")
        assert second["text"] == "Who is this??"
        assert metric(stack, "stopgate_mo_total", {"kind": "review"}) == 2
        await eventually(lambda: metric(stack, "stopgate_optout_reviews_pending") == 2,
                         "the pending gauge")
        assert metric(stack, "stopgate_optout_reviews_due_soon") == 0
        left = metric(stack, "stopgate_optout_review_deadline_seconds")
        assert left is not None and left > 9 * 86400  # ten business days: two weeks or more
        assert reminder(review_deadline(received, "US"), "US") > received
        # Another account sees none of them, and cannot decide them.
        status, body = await api(http, stack, "GET", "/v1/reviews", key="globex-key")
        assert (status, body) == (200, {"reviews": []})
        status, body = await api(http, stack, "POST", f"/v1/reviews/{first['id']}",
                                 key="globex-key", json={"decision": "optout"})
        assert (status, body) == (404, {"error": "not_found",
                                        "detail": f"no review {first['id']} for this account"})
        # Bad requests say what is wrong.
        status, body = await api(http, stack, "POST", f"/v1/reviews/{first['id']}",
                                 json={"decision": "stop"})
        assert (status, body) == (400, {"error": "invalid_request", "detail":
                                        'expected {"decision": "optout"} or '
                                        '{"decision": "dismiss"}'})
        status, body = await api(http, stack, "POST", f"/v1/reviews/{first['id']}",
                                 data=b"{nope")
        assert status == 400 and body["error"] == "invalid_json"
        status, body = await api(http, stack, "GET", "/v1/reviews?status=open")
        assert (status, body) == (400, {"error": "invalid_request", "detail":
                                        "status must be one of pending, opted_out, dismissed "
                                        "or all, got 'open'"})
        status, body = await api(http, stack, "POST", "/v1/reviews/abc",
                                 json={"decision": "optout"})
        assert (status, body) == (404, {"error": "not_found",
                                        "detail": "no review abc for this account"})

        # The CLI sees them too.
        listed = await cli(stack, flushed_redis, "list")
        assert listed.returncode == 0, listed.stderr
        assert listed.stdout.startswith("2 reviews (pending; every scope;")
        assert "not interested" in listed.stdout and "Who is this??" in listed.stdout

        # Decided optout through the API: blocked afterwards, no confirmation.
        status, body = await api(http, stack, "POST", f"/v1/reviews/{first['id']}",
                                 json={"decision": "optout"})
        assert status == 200, body
        assert body["review"]["status"] == "opted_out"
        assert body["review"]["decided_by"] == "api:acme"
        assert scopes(stack, US) == ["acme"]
        assert (await send_one(link, submit(to=US))).command_status == BLOCKED
        [row] = events(tmp_path, US)
        assert (row["source"], row["keyword"], row["number_called"]) == (
            "review", f"review:{first['id']} by api:acme", SHORTCODE)
        # The first decision stands.
        status, body = await api(http, stack, "POST", f"/v1/reviews/{first['id']}",
                                 json={"decision": "dismiss"})
        assert status == 409 and body["error"] == "already_decided"
        assert body["detail"].startswith(f"review {first['id']} is opted_out already (by "
                                         f"api:acme at ")

        # Decided optout through the CLI: blocked afterwards too (written through to Redis).
        decided = await cli(stack, flushed_redis, "decide", str(second["id"]), "optout",
                            "--by", "ops")
        assert decided.returncode == 0, decided.stderr
        assert decided.stdout == (f"review {second['id']}: {US3} opted out of account acme "
                                  f"(source review, decided by cli:ops)\n")
        assert (await send_one(link, submit(to=US3))).command_status == BLOCKED
        again = await cli(stack, flushed_redis, "decide", str(second["id"]), "dismiss")
        assert again.returncode == 1
        assert again.stderr.startswith(f"stopgate reviews decide: review {second['id']} is "
                                       f"opted_out already (by cli:ops at ")
        missing = await cli(stack, flushed_redis, "decide", "999", "dismiss")
        assert (missing.returncode, missing.stderr) == (
            1, "stopgate reviews decide: no review 999 (stopgate reviews list shows them)\n")
        status, body = await api(http, stack, "GET", "/v1/reviews")
        assert (status, body) == (200, {"reviews": []})  # none pending
        status, body = await api(http, stack, "GET", "/v1/reviews?status=all")
        assert [r["status"] for r in body["reviews"]] == ["opted_out", "opted_out"]
        # No reply was ever sent for a review (nor for its decision).
        await asyncio.sleep(0.2)
        assert confirmation("US") not in delivered_to(stack, US) + delivered_to(stack, US3)
        await link.unbind()


async def test_spanish_vosotros_opt_out_is_confirmed_in_spanish(
    flushed_redis: str, tmp_path: Path
) -> None:
    async with policy_stack(flushed_redis, tmp_path, accounts=[ACME]) as stack:
        link, _ = await bind_sender(stack.smpp_port)
        await stack.simulator.inject_mo(SPAIN, SHORTCODE, "Dejad de enviarme mensajes")
        await eventually(lambda: scopes(stack, SPAIN) == ["acme"], "dejad de enviarme")
        assert (await send_one(link, submit(to=SPAIN))).command_status == BLOCKED
        await eventually(lambda: confirmation("ES") in delivered_to(stack, SPAIN),
                         "the Spanish confirmation")
        [row] = events(tmp_path, SPAIN)
        assert (row["source"], row["keyword"]) == ("phrase", "phrase:es")
        await link.unbind()


async def test_phrases_off_means_keywords_only(flushed_redis: str, tmp_path: Path) -> None:
    async with policy_stack(flushed_redis, tmp_path, accounts=[ACME],
                            optout={"phrases": False}) as stack:
        link, acme_rx = await bind_sender(stack.smpp_port)
        await stack.simulator.inject_mo(US, SHORTCODE, "Stop texting me")
        await stack.simulator.inject_mo(US2, SHORTCODE, "not interested")
        await stack.simulator.inject_mo(US3, SHORTCODE, "STOP")
        await eventually(lambda: len(mos(acme_rx)) == 3, "MOs passed on")
        assert scopes(stack, US) == [] and scopes(stack, US2) == []
        assert scopes(stack, US3) == ["acme"]
        assert stack.gateway.ledger is not None
        assert stack.gateway.ledger.ledger.reviews() == []
        assert (await send_one(link, submit(to=US))).command_status == 0
        await link.unbind()
