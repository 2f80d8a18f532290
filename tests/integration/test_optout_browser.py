"""The opt-out page in a real headless Chromium, driven by Playwright.

A recipient follows the link their footer carries, confirms, and gives a reason;
before that, a link scanner fetches the same link and opts nobody out. The browser
is the distribution's Chromium (`make test` installs it when it can); Playwright
never downloads one.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from tests.integration.conftest import Stack
from tests.integration.test_optout_page import (
    GB,
    get_page,
    link_for,
    report,
    suppressed,
)
from tests.integration.test_optout_page import (
    http as http,
)
from tests.integration.test_optout_page import (
    stack as stack,
)

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# What a locked-down loopback machine needs: no sandbox as root, no background fetches.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]

pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="no Chromium: run `make test` as root with apt-get, or install the "
           "distribution's chromium package",
)


@pytest.fixture
async def browser_page(tmp_path: Path) -> AsyncIterator[object]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            context = await browser.new_context(locale="en-GB")
            yield await context.new_page()
        finally:
            await browser.close()


async def test_a_recipient_opts_out_in_a_real_browser_and_gives_a_reason(
    stack: Stack, http: aiohttp.ClientSession, browser_page: object
) -> None:
    from playwright.async_api import Page, expect

    page = browser_page
    assert isinstance(page, Page)
    token = await link_for(http, stack, GB)

    # A link scanner (or a messaging app's preview) fetches the link first.
    for _ in range(3):
        status, body, _ = await get_page(http, stack, f"/o/{token}")
        assert status == 200 and "ACME Shoes" in body
    assert await suppressed(stack, GB) == []

    await page.goto(f"{stack.http_url}/o/{token}")
    await expect(page.locator("h1")).to_be_visible()
    assert "ACME Shoes" in await page.content()
    await page.locator("button[type=submit]").click()
    await page.wait_for_load_state()
    assert await suppressed(stack, GB) == ["acme"]

    await page.locator("input[value=too_many]").check()
    await page.locator("button[type=submit]").click()
    await page.wait_for_load_state()

    status, body = await report(http, stack, "group_by=reason")
    assert status == 200, body
    reasons = {row["key"]: row["optouts"] for row in body["rows"]}
    assert reasons.get("too_many") == 1, body
