"""The opt-out link end to end, over real HTTP (aiohttp's client, no browser): a footer
link from a delivered message, the landing page, confirm, reason, and the reports.

The headless-browser test of issue 5 (Playwright) is not here yet: these tests drive
the same HTML forms by parsing them, as a browser without JavaScript would.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import re
import secrets
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from gateway.http.optout import GUESS_BURST
from tests.integration.conftest import Stack
from tests.integration.policy_stack import TIMEOUT, digits, policy_stack, post_message
from tests.support.waiting import eventually

GB = "+447400123456"
DE = "+4915123456789"
LINK = re.compile(r"no-s\.ms/([A-Za-z0-9]{9})\b")
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
EVENT = re.compile(r'name="event" value="(\d+)"')
STOPGATE = Path(sys.executable).parent / "stopgate"


@pytest.fixture
async def stack(flushed_redis: str, tmp_path: Path) -> AsyncIterator[Stack]:
    accounts = [{"system_id": "acme", "password": "acmepass", "api_key": "acme-key",
                 "default_region": "FR", "numbers": ["36173"], "display_name": "ACME Shoes"}]
    async with policy_stack(flushed_redis, tmp_path, accounts=accounts) as running:
        yield running


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    timeout = aiohttp.ClientTimeout(total=TIMEOUT)
    async with aiohttp.ClientSession(timeout=timeout, cookie_jar=aiohttp.DummyCookieJar()
                                     ) as session:
        yield session


async def link_for(http: aiohttp.ClientSession, stack: Stack, to: str,
                   campaign: str = "black-friday") -> str:
    """Send a promotional message to ``to``; the token of the link its footer carries."""
    status, body = await post_message(http, stack, {
        "to": to, "from": "ACME", "text": "Winter sale: 40% off", "class": "promotional",
        "campaign": campaign})
    assert status == 202, body

    def text() -> str | None:
        for message in stack.simulator.messages():
            if message.destination_addr == digits(to) and message.complete:
                return message.text
        return None

    await eventually(lambda: text() is not None, f"a message to {to}")
    found = LINK.search(text() or "")
    assert found, text()
    return found.group(1)


async def get_page(http: aiohttp.ClientSession, stack: Stack, path: str,
                   **headers: str) -> tuple[int, str, Any]:
    async with http.get(stack.http_url + path, headers=headers) as response:
        return response.status, await response.text(), response.headers


async def post_form(http: aiohttp.ClientSession, stack: Stack, path: str,
                    form: dict[str, str], **headers: str) -> tuple[int, str]:
    async with http.post(stack.http_url + path, data=form, headers=headers) as response:
        assert response.content_type == "text/html"
        return response.status, await response.text()


async def suppressed(stack: Stack, number: str) -> list[str]:
    assert stack.gateway.ledger is not None
    return await stack.gateway.ledger.suppressed_scopes(number)


async def report(http: aiohttp.ClientSession, stack: Stack, query: str,
                 key: str = "acme-key") -> tuple[int, Any]:
    async with http.get(f"{stack.http_url}/v1/reports/optouts?{query}",
                        headers={"Authorization": f"Bearer {key}"}) as response:
        if response.content_type == "text/csv":
            return response.status, await response.text()
        return response.status, await response.json()


async def test_the_link_page_confirm_reason_and_report(
        stack: Stack, http: aiohttp.ClientSession) -> None:
    token = await link_for(http, stack, GB)
    # A link scanner or a preview fetches the page, several times: nobody is opted out.
    for _ in range(3):
        status, page, headers = await get_page(http, stack, f"/o/{token}")
        assert status == 200
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert '<html lang="en">' in page
    assert page.count("<h1>") == 1
    assert "marketing messages from ACME Shoes" in page
    assert '<form method="post">' in page and '<button type="submit">' in page
    assert "<script" not in page and "http" not in page.split("</style>")[1]
    assert digits(GB)[-6:] not in page  # the page never shows the number
    assert await suppressed(stack, GB) == []

    csrf = CSRF.search(page)
    assert csrf
    # Without the form's field, with a forged one, from another site: 403, nothing done.
    assert (await post_form(http, stack, f"/o/{token}", {}))[0] == 403
    assert (await post_form(http, stack, f"/o/{token}", {"csrf": "1.forged"}))[0] == 403
    issued = csrf.group(1).split(".")[0]
    assert (await post_form(http, stack, f"/o/{token}",
                            {"csrf": f"{issued}.{'A' * 43}"}))[0] == 403
    status, _ = await post_form(http, stack, f"/o/{token}", {"csrf": csrf.group(1)},
                                Origin="https://evil.example")
    assert status == 403
    assert await suppressed(stack, GB) == []

    status, done = await post_form(http, stack, f"/o/{token}", {"csrf": csrf.group(1)},
                                   Origin=stack.http_url)
    assert status == 200, done
    assert "You are unsubscribed" in done
    assert await suppressed(stack, GB) == ["acme"]
    status, body = await post_message(http, stack, {
        "to": GB, "from": "ACME", "text": "Last chance: 40% off", "class": "promotional"})
    assert (status, body) == (422, {"status": "blocked", "reason": "opted_out"})

    # The reason form: its field is bound to this opt-out event.
    reason_csrf, event = CSRF.search(done), EVENT.search(done)
    assert reason_csrf and event
    assert f'action="{token}/reason"' in done
    status, _ = await post_form(http, stack, f"/o/{token}/reason",
                                {"csrf": reason_csrf.group(1), "event": "1",
                                 "reason": "too_many"})
    assert status == 403 or event.group(1) == "1"
    status, thanks = await post_form(http, stack, f"/o/{token}/reason", {
        "csrf": reason_csrf.group(1), "event": event.group(1), "reason": "too_many"})
    assert status == 200 and "Thank you" in thanks

    status, body = await report(http, stack, "group_by=reason")
    assert status == 200
    assert body["rows"] == [{"key": "too_many", "optouts": 1, "optins": 0}]
    assert body["total"] == {"optouts": 1, "optins": 0}
    status, body = await report(http, stack, "group_by=campaign")
    assert body["rows"] == [{"key": "black-friday", "optouts": 1, "optins": 0}]
    status, body = await report(http, stack, "group_by=source&format=csv")
    assert status == 200
    assert body == "source,optouts,optins\r\nlink,1,0\r\n"


async def test_languages_from_the_country_and_accept_language(
        stack: Stack, http: aiohttp.ClientSession) -> None:
    token = await link_for(http, stack, DE)
    status, page, _ = await get_page(http, stack, f"/o/{token}")
    assert status == 200 and '<html lang="de">' in page
    assert "Keine Werbenachrichten mehr von ACME Shoes" in page
    _, page, _ = await get_page(http, stack, f"/o/{token}",
                                **{"Accept-Language": "pt-BR, fr-FR;q=0.9, en;q=0.8"})
    assert '<html lang="fr">' in page and "Me désinscrire" in page
    _, page, _ = await get_page(http, stack, f"/o/{token}", **{"Accept-Language": "ja"})
    assert '<html lang="de">' in page  # nothing supported: the country decides
    # The short form of the link (a base_url domain pointed straight at stopgate).
    status, page, _ = await get_page(http, stack, f"/{token}")
    assert status == 200 and "ACME Shoes" in page


async def test_unknown_tokens_are_an_html_404_and_guessing_is_slowed(
        stack: Stack, http: aiohttp.ClientSession) -> None:
    token = await link_for(http, stack, GB)
    for path in ("/o/AAAAAAAAAAAA", "/o/short", "/o/" + "x" * 40, "/o/%2B447400123456",
                 f"/o/{token}/more"):
        status, page, headers = await get_page(http, stack, path)
        assert status == 404, path
        assert headers["Content-Type"] == "text/html; charset=utf-8"
        assert "Link not found" in page and "4474" not in page
    assert (await post_form(http, stack, "/o/AAAAAAAAAAAA", {"csrf": "x"}))[0] == 404

    # 10,000 random tokens: every answer is 404 or 429, and 429s come (with Retry-After).
    statuses: dict[int, int] = {}
    retry_after: set[str] = set()
    queue = [secrets.token_urlsafe(9) for _ in range(10_000)]

    async def guesser() -> None:
        while queue:
            guess = queue.pop()
            async with http.get(f"{stack.http_url}/o/{guess}") as response:
                statuses[response.status] = statuses.get(response.status, 0) + 1
                if response.status == 429:
                    retry_after.add(response.headers["Retry-After"])
                await response.read()

    started = time.monotonic()
    await asyncio.wait_for(asyncio.gather(*(guesser() for _ in range(32))), 120)
    # The allowance, plus what the bucket refilled (GUESS_BURST a minute) while the
    # flood lasted: a slow machine takes longer and is owed more, never unbounded.
    refilled = math.ceil((time.monotonic() - started) * GUESS_BURST / 60) + 1
    assert set(statuses) <= {404, 429}, statuses
    assert sum(statuses.values()) == 10_000
    assert statuses.get(404, 0) <= GUESS_BURST + refilled, (statuses, refilled)
    assert statuses[429] >= 10_000 - GUESS_BURST - refilled
    assert all(value.isdigit() and int(value) >= 1 for value in retry_after)
    # Now even a real token answers 429 to this address: it learns nothing more. The
    # bucket refills one guess every 60 / GUESS_BURST seconds, so a real token asked
    # for just then would pass; guess until a refilled guess has just been spent (a
    # 404), and the real token asked for right after it finds the bucket empty.
    for _ in range(1000):
        status, _, _ = await get_page(http, stack, f"/o/{secrets.token_urlsafe(9)}")
        assert status in (404, 429)
        if status == 404:
            break
    assert status == 404
    status, _, _ = await get_page(http, stack, f"/o/{token}")
    assert status == 429


async def test_report_errors(stack: Stack, http: aiohttp.ClientSession) -> None:
    assert (await report(http, stack, "group_by=day", key="nope"))[0] == 401
    for query, words in (("group_by=colour", "'group_by' must be one of"),
                         ("from=2026-13-01", "'from' must be a date"),
                         ("from=2026-11-02&to=2026-11-01", "is after"),
                         ("format=xml", "'format'"), ("since=2026-11-01", "unknown parameter")):
        status, body = await report(http, stack, query)
        assert status == 400, query
        assert body["error"] == "invalid_request" and words in body["detail"], body


async def test_reports_by_day_and_source_and_the_cli(
        stack: Stack, http: aiohttp.ClientSession) -> None:
    suppressions = stack.gateway.suppressions
    assert suppressions is not None
    await suppressions.optout("acme", GB, source="api", campaign="spring")
    await suppressions.optout("acme", GB, source="api", campaign="spring")  # a repeat
    await suppressions.optout("acme", DE, source="keyword", campaign="spring")
    await suppressions.optin("acme", DE, source="keyword")
    await suppressions.optout("*", "+33612345678", source="cli")  # not acme's own
    status, body = await report(http, stack, "group_by=day")
    assert status == 200
    assert body["account"] == "acme" and body["from"] is None and body["group_by"] == "day"
    assert len(body["rows"]) == 1 and body["rows"][0]["key"] == body["to"]
    assert body["total"] == {"optouts": 2, "optins": 1}
    status, body = await report(http, stack, "group_by=source")
    assert body["rows"] == [{"key": "api", "optouts": 1, "optins": 0},
                            {"key": "keyword", "optouts": 1, "optins": 1}]
    status, body = await report(http, stack, "from=2000-01-01&to=2000-12-31")
    assert body["rows"] == [] and body["total"] == {"optouts": 0, "optins": 0}

    config = stack.gateway.config
    env = {"STOPGATE_SERVER_DATA_DIR": str(config.server.data_dir), "PATH": "/usr/bin:/bin"}
    result = await asyncio.to_thread(
        subprocess.run, [str(STOPGATE), "report", "optouts", "--by", "source"],
        env=env, cwd=config.server.data_dir, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    table = [line.split() for line in result.stdout.splitlines()[1:]]
    assert table == [["source", "optouts", "optins"], ["api", "1", "0"], ["cli", "1", "0"],
                     ["keyword", "1", "1"], [table[4][0]], ["total", "3", "1"]]


async def test_links_sent_before_base62_tokens_keep_working_beside_new_ones(
        stack: Stack, http: aiohttp.ClientSession) -> None:
    """Issue 12: new links are 9 base62 characters; the 12-character base64url tokens of
    links already sent (with '_' and '-') still open their page and opt out, by both routes."""
    from gateway.ledger.engines import sqlite_file

    new = await link_for(http, stack, GB)
    assert re.fullmatch(r"[A-Za-z0-9]{9}", new)
    path = sqlite_file(stack.gateway.config.storage.ledger, stack.gateway.config.server.data_dir)
    assert path is not None
    old, number = "Ab_9-xY_z0-Q", "+447400123499"  # a token as the ledger wrote it before
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.execute("INSERT INTO tokens VALUES (?, ?, ?, ?, ?)",
                   (old, "acme", number, "spring", 0))
    for route in (f"/o/{old}", f"/{old}", f"/o/{new}", f"/{new}"):
        status, page, _ = await get_page(http, stack, route)
        assert status == 200 and "ACME Shoes" in page, route
    for near in ("/o/Ab_9-xY_z", f"/o/{new}0", f"/o/{new[:-1]}_"):  # neither shape: 404
        assert (await get_page(http, stack, near))[0] == 404, near

    _, page, _ = await get_page(http, stack, f"/{old}")
    csrf = CSRF.search(page)
    assert csrf
    status, done = await post_form(http, stack, f"/{old}", {"csrf": csrf.group(1)},
                                   Origin=stack.http_url)
    assert status == 200 and "You are unsubscribed" in done
    assert await suppressed(stack, number) == ["acme"]
    assert await suppressed(stack, GB) == []  # the new link's recipient is untouched
