"""Evidence and erasure through the real gateway: a number's history (MO text, number
called, the page's User-Agent, the API key and address of a re-consent) as JSON and CSV,
and an erased number that stays blocked while stopgate keeps it nowhere in clear."""

from __future__ import annotations

import asyncio
import csv
import io
import sqlite3
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import redis.asyncio as aioredis

from gateway.ledger.model import DEFAULT_FILE, ERASED_TEXT, api_key_id
from gateway.sendtime.clock import TestClock
from smpp.constants import Tag
from smpp.tlv import tlv_str
from tests.integration.conftest import Stack
from tests.integration.policy_stack import (
    ACME_AUTO,
    BLOCKED,
    OTP_TEXT,
    PROMO_TEXT,
    delivered_to,
    digits,
    policy_stack,
    post_message,
    send_one,
    submit,
)
from tests.integration.senders import bind_sender
from tests.integration.test_held import PARIS_22H
from tests.integration.test_optout_page import CSRF, get_page, link_for, post_form

ALICE = "+33612345678"
GB = "+447400123456"
KEY = "k" * 40
ACME = {"Authorization": "Bearer acme-key"}
SHORTCODE = "36173"


@pytest.fixture
async def stack(flushed_redis: str, tmp_path: Path) -> AsyncIterator[Stack]:
    async with policy_stack(flushed_redis, tmp_path, accounts=[ACME_AUTO],
                            storage={"hash_key": KEY}) as running:
        yield running


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10),
                                     cookie_jar=aiohttp.DummyCookieJar()) as session:
        yield session


async def history(http: aiohttp.ClientSession, stack: Stack, number: str,
                  query: str = "", **headers: str) -> tuple[int, str, Any]:
    async with http.get(f"{stack.http_url}/v1/suppressions/{number}/history{query}",
                        headers={**ACME, **headers}) as response:
        text = await response.text()
        return response.status, response.content_type, (
            await response.json() if response.content_type == "application/json" else text)


async def request(http: aiohttp.ClientSession, method: str, url: str,
                  **kwargs: Any) -> tuple[int, Any]:
    async with http.request(method, url, **kwargs) as response:
        return response.status, await response.json()


async def stop_by_mo(stack: Stack, number: str = ALICE, text: str = "Stop") -> None:
    """A reply from ``number`` to acme's shortcode, recorded before this returns."""
    await stack.simulator.inject_mo(number, SHORTCODE, text)
    suppressions = stack.gateway.suppressions
    assert suppressions is not None

    async def opted_out() -> bool:
        return "acme" in await suppressions.scopes(number)

    await eventually_async(opted_out, f"{text!r} from {number} recorded")


async def test_a_stop_by_mo_is_in_the_history_with_its_text_and_the_number_called(
        stack: Stack, http: aiohttp.ClientSession) -> None:
    _link, _ = await bind_sender(stack.smpp_port)  # bound: the MO is delivered, not queued
    await stop_by_mo(stack, text=" stop! ")
    status, kind, body = await history(http, stack, "0612345678")
    assert (status, kind) == (200, "application/json")
    assert body["number"] == ALICE and body["scopes"] == ["acme", "*"]
    [event] = body["events"]
    assert {k: event[k] for k in ("scope", "event", "source", "changed", "stored",
                                  "mo_text", "number_called")} == {
        "scope": "acme", "event": "optout", "source": "keyword", "changed": True,
        "stored": "clear", "mo_text": " stop! ", "number_called": SHORTCODE}
    assert event["keyword"] == "STOP"
    assert event["at"].endswith("Z")
    # CSV, by ?format= or by Accept; the same rows.
    status, kind, text = await history(http, stack, ALICE, "?format=csv")
    assert (status, kind) == (200, "text/csv")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [(r["event"], r["mo_text"], r["number_called"]) for r in rows] == [
        ("optout", " stop! ", SHORTCODE)]
    assert (await history(http, stack, ALICE, Accept="text/csv"))[2] == text
    status, _, body = await history(http, stack, ALICE, "?format=xml")
    assert (status, body["error"]) == (400, "invalid_request")
    assert body["detail"] == "format must be csv or json, got 'xml'"


async def test_an_opt_out_by_the_page_records_the_user_agent(
        stack: Stack, http: aiohttp.ClientSession) -> None:
    token = await link_for(http, stack, GB)
    _, page, _ = await get_page(http, stack, f"/o/{token}")
    csrf = CSRF.search(page)
    assert csrf
    status, _ = await post_form(http, stack, f"/o/{token}", {"csrf": csrf.group(1)},
                                Origin=stack.http_url,
                                **{"User-Agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0)"})
    assert status == 200
    _, _, body = await history(http, stack, GB)
    [event] = body["events"]
    assert (event["source"], event["user_agent"], event["campaign"]) == (
        "link", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0)", "black-friday")


async def test_a_re_consent_needs_a_source_and_records_the_key_and_address(
        stack: Stack, http: aiohttp.ClientSession) -> None:
    url = f"{stack.http_url}/v1/suppressions/{ALICE}"
    assert (await request(http, "PUT", url, headers=ACME))[0] == 200
    status, body = await request(http, "DELETE", url, headers=ACME)
    assert (status, body["error"]) == (400, "source_required")
    assert body["detail"] == (
        'a re-consent must say how the recipient consented again: send {"source": '
        '"web_form"} (or ?source=web_form; e.g. web_form, paper_form, phone_call, keyword); '
        "nothing was changed")
    for bad in ({"source": ""}, {"source": "web form!"}, {"source": 3}):
        status, body = await request(http, "DELETE", url, headers=ACME, json=bad)
        assert status == 400, bad
    status, body = await request(http, "DELETE", url + "?source=paper", headers=ACME,
                                 json={"source": "web_form"})
    assert (status, body["detail"]) == (
        400, "source is given twice (body and query) with different values")
    assert "acme" in await stack.gateway.suppressions.scopes(ALICE)  # type: ignore[union-attr]
    status, body = await request(http, "DELETE", url, headers=ACME,
                                 json={"source": "web_form"})
    assert (status, body) == (200, {"number": ALICE, "suppressed": False})
    _, _, body = await history(http, stack, ALICE)
    put, delete = body["events"]
    assert (put["event"], put["api_key"], put["client_address"]) == (
        "optout", api_key_id("acme", "acme-key"), "127.0.0.1")
    assert (delete["event"], delete["consent_source"], delete["api_key"],
            delete["client_address"]) == ("optin", "web_form", api_key_id("acme", "acme-key"),
                                          "127.0.0.1")
    assert "acme-key" not in str(body)


def ledger_text(data_dir: Path) -> str:
    """Every value of every table of the SQLite ledger file, as one text."""
    with sqlite3.connect(f"file:{data_dir / DEFAULT_FILE}?mode=ro", uri=True) as db:
        tables = [name for (name,) in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")]
        parts = []
        for table in tables:
            for row in db.execute(f"SELECT * FROM {table}"):
                parts.extend(v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
                             for v in row)
    return "\n".join(parts)


async def redis_text(url: str) -> str:
    """Every key of Redis and every member, field and value under it, as one text."""
    client = aioredis.Redis.from_url(url)
    parts: list[bytes] = []
    try:
        async for key in client.scan_iter(count=1000):
            parts.append(key)
            kind = (await client.type(key)).decode()
            if kind == "string":
                parts.append(await client.get(key) or b"")
            elif kind == "set":
                parts.extend(await client.smembers(key))
            elif kind == "hash":
                for field, value in (await client.hgetall(key)).items():
                    parts += [field, value]
            elif kind == "list":
                parts.extend(await client.lrange(key, 0, -1))
            elif kind == "zset":
                parts.extend(await client.zrange(key, 0, -1))
            elif kind == "stream":
                for _id, entry in await client.xrange(key):
                    for field, value in entry.items():
                        parts += [field, value]
    finally:
        await client.aclose()
    return b"\n".join(parts).decode("utf-8", "replace")


async def test_an_erased_number_stays_blocked_and_is_kept_nowhere_in_clear(
        stack: Stack, http: aiohttp.ClientSession, flushed_redis: str, tmp_path: Path) -> None:
    link, _ = await bind_sender(stack.smpp_port)
    # A campaign reaches Alice (its note is kept for attribution), then she replies STOP.
    status, body = await post_message(http, stack, {
        "to": ALICE, "from": "ACME", "text": "Winter sale: 40% off", "class": "promotional",
        "campaign": "winter"})
    assert status == 202, body
    await stop_by_mo(stack, text="STOP")
    assert (await send_one(link, submit(to=ALICE))).command_status == BLOCKED
    url = f"{stack.http_url}/v1/suppressions/{ALICE}/erase"
    # A wrong key changes nothing.
    status, body = await request(http, "POST", url, headers={"Authorization": "Bearer nope"})
    assert (status, body["error"]) == (401, "unauthorized")
    assert digits(ALICE) in ledger_text(tmp_path)

    status, body = await request(http, "POST", url, headers=ACME)
    assert (status, body) == (200, {"erased": True, "events": 1, "suppressions": 1,
                                    "tokens": 0, "webhooks": 0, "reviews": 0, "held": 0,
                                    "suppressed": True})
    # Still blocked for promotions, over SMPP; transactional traffic passes.
    assert (await send_one(link, submit(to=ALICE))).command_status == BLOCKED
    otp = submit(OTP_TEXT, to=ALICE, service_type="OTP")
    assert (await send_one(link, otp)).command_status == 0
    # Nowhere in clear: not in the ledger file, not in any Redis key, member or value.
    assert digits(ALICE) not in ledger_text(tmp_path)
    assert digits(ALICE) not in await redis_text(flushed_redis)
    # The history says it was erased, and when; nothing of the number.
    _, _, body = await history(http, stack, ALICE)
    kept, erased = body["events"]
    assert (kept["event"], kept["stored"], kept["keyword"], kept["mo_text"]) == (
        "optout", "erased", "STOP", None)
    assert (erased["event"], erased["stored"], erased["source"]) == ("erased", "erased", "api")
    assert digits(ALICE) not in str(body["events"])
    # Erasing again: nothing held in clear any more; it says since when.
    status, body = await request(http, "POST", url, headers=ACME)
    assert status == 200 and body["events"] == 0 and body["erased_before"] == erased["at"]

    # A cache rebuilt from the ledger keeps the erased number blocked.
    client = aioredis.Redis.from_url(flushed_redis)
    await client.delete("{sp}:ready")
    await client.aclose()
    assert stack.gateway.keeper is not None
    stack.gateway.keeper.cache.trouble.set()

    async def rebuilt_and_blocked() -> bool:
        answer = await send_one(link, submit(to=ALICE))
        return answer.command_status == BLOCKED

    await eventually_async(rebuilt_and_blocked, "blocked after the rebuild")
    assert digits(ALICE) not in await redis_text(flushed_redis)

    # A later STOP still works (stored in clear again).
    await stack.simulator.inject_mo(ALICE, SHORTCODE, "STOP")
    ledger = stack.gateway.ledger
    assert ledger is not None

    async def clear_again() -> bool:
        return await ledger.suppressed_scopes(ALICE) == ["acme"]

    await eventually_async(clear_again, "the STOP after the erasure, in clear")
    assert (await send_one(link, submit(to=ALICE))).command_status == BLOCKED


async def eventually_async(check: Any, what: str) -> None:
    for _ in range(300):
        try:
            if await check():
                return
        except AssertionError:
            pass
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out waiting for: {what}")


async def test_erasing_a_number_stopgate_does_not_hold_is_404(
        stack: Stack, http: aiohttp.ClientSession) -> None:
    status, body = await request(http, "POST",
                                 f"{stack.http_url}/v1/suppressions/{ALICE}/erase", headers=ACME)
    assert (status, body) == (404, {
        "error": "not_found",
        "detail": "stopgate holds nothing of this number for acme: nothing to erase"})


async def test_erasure_without_a_hash_key_is_refused_and_changes_nothing(
        flushed_redis: str, tmp_path: Path, http: aiohttp.ClientSession) -> None:
    async with policy_stack(flushed_redis, tmp_path, accounts=[ACME_AUTO]) as stack:
        url = f"{stack.http_url}/v1/suppressions/{ALICE}"
        assert (await request(http, "PUT", url, headers=ACME))[0] == 200
        status, body = await request(http, "POST", url + "/erase", headers=ACME)
        assert (status, body["error"]) == (501, "erasure_not_configured")
        assert body["detail"] == (
            "erasure needs a key: set storage.hash_key (or storage.hash_key_file) to a secret "
            "of at least 32 characters, and never change it afterwards; nothing was changed")
        assert digits(ALICE) in ledger_text(tmp_path)


async def test_an_erasure_reaches_the_review_list_and_drops_a_held_promotion(
        flushed_redis: str, tmp_path: Path, http: aiohttp.ClientSession) -> None:
    clock = TestClock(PARIS_22H)
    async with policy_stack(flushed_redis, tmp_path, clock=clock, accounts=[ACME_AUTO],
                            storage={"hash_key": KEY},
                            compliance={"packs": ["FR"]}) as stack:
        link, sender = await bind_sender(stack.smpp_port)
        # 22:00 in Paris: a promotion to Alice is held for the morning...
        answer = await send_one(link, submit(to=ALICE))
        assert answer.command_status == 0 and answer.message_id
        ledger = stack.gateway.ledger
        assert ledger is not None
        [held] = await ledger.list_held("acme")
        # ...she answers in words (the review list), then STOP.
        await stack.simulator.inject_mo(ALICE, SHORTCODE, "not interested")

        async def reviewed() -> bool:
            return bool(await ledger.reviews("acme"))

        await eventually_async(reviewed, "the reply on the review list")
        await stop_by_mo(stack, text="STOP")
        assert digits(ALICE) in ledger_text(tmp_path)

        status, body = await request(http, "POST",
                                     f"{stack.http_url}/v1/suppressions/{ALICE}/erase",
                                     headers=ACME)
        assert (status, body) == (200, {"erased": True, "events": 1, "suppressions": 1,
                                        "tokens": 0, "webhooks": 0, "reviews": 1, "held": 1,
                                        "suppressed": True})
        assert digits(ALICE) not in ledger_text(tmp_path)
        [review] = await ledger.reviews("acme")
        assert (review.text, review.status) == (ERASED_TEXT, "pending")
        # The held promotion can never go: dropped at once, its sender told (REJECTD, the
        # blocked status), nothing sent to the carrier.
        stack.gateway.components.releaser.wake()

        async def dropped() -> bool:
            return await ledger.held_counts("acme", PARIS_22H - timedelta(hours=1),
                                            PARIS_22H + timedelta(hours=1)) == {"dropped": 1}

        await eventually_async(dropped, "the held promotion dropped")
        [receipt] = [pdu for pdu in sender.receipts()
                     if tlv_str(pdu, Tag.receipted_message_id) == held.message_id]
        text = receipt.short_message.decode("ascii", "replace")
        assert "stat:REJECTD" in text and f"err:{BLOCKED & 0xFFF:03X}" in text
        assert digits(ALICE) not in ledger_text(tmp_path)
        assert PROMO_TEXT not in delivered_to(stack, ALICE)
        assert all(got.pdu.destination_addr for got in stack.simulator.received)
