"""The opt-out page in a real headless Chromium, driven by Playwright.

A recipient follows the link their footer carries, confirms, and gives a reason;
before that, a link scanner fetches the same link and opts nobody out; the same over
HTTPS (``[http] tls_cert``). The browser is the distribution's Chromium (`make test`
installs it when it can); Playwright never downloads one.

Over HTTPS the browser does not trust the test CA (Chromium reads its trust from an
NSS database, and adding to one needs certutil, which the test machine need not
have): its context ignores certificate errors, and the test checks separately, with
Python's ssl trusting the test CA, that the certificate served is the configured one.
"""

from __future__ import annotations

import asyncio
import shutil
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from tests.integration.conftest import Stack
from tests.integration.policy_stack import TIMEOUT, policy_stack
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
from tests.support.tls import Pki

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
async def browser() -> AsyncIterator[object]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def browser_page(browser: object) -> object:
    from playwright.async_api import Browser

    assert isinstance(browser, Browser)
    context = await browser.new_context(locale="en-GB")
    return await context.new_page()


async def opt_out_with_a_reason(stack: Stack, http: aiohttp.ClientSession, page: object) -> None:
    """The recipient's visit: a scanner first, then the browser confirms and gives a reason."""
    from playwright.async_api import Page, expect

    assert isinstance(page, Page)
    token = await link_for(http, stack, GB)

    # A link scanner (or a messaging app's preview) fetches the link first.
    for _ in range(3):
        status, body, _ = await get_page(http, stack, f"/o/{token}")
        assert status == 200 and "ACME Shoes" in body
    assert await suppressed(stack, GB) == []

    response = await page.goto(f"{stack.http_url}/o/{token}")
    assert response is not None and response.ok
    await expect(page.locator("h1")).to_be_visible()
    assert "ACME Shoes" in await page.content()
    await page.locator("button[type=submit]").click()
    await page.wait_for_load_state()
    assert await suppressed(stack, GB) == ["acme"]

    await page.locator("input[value=too_many]").check()
    await page.locator("button[type=submit]").click()
    await page.wait_for_load_state()

    status, report_body = await report(http, stack, "group_by=reason")
    assert status == 200, report_body
    reasons = {row["key"]: row["optouts"] for row in report_body["rows"]}
    assert reasons.get("too_many") == 1, report_body


async def test_a_recipient_opts_out_in_a_real_browser_and_gives_a_reason(
    stack: Stack, http: aiohttp.ClientSession, browser_page: object
) -> None:
    await opt_out_with_a_reason(stack, http, browser_page)


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return Pki(tmp_path / "pki")


@pytest.fixture
async def https_stack(flushed_redis: str, tmp_path: Path, pki: Pki) -> AsyncIterator[Stack]:
    accounts = [{"system_id": "acme", "password": "acmepass", "api_key": "acme-key",
                 "default_region": "FR", "numbers": ["36173"], "display_name": "ACME Shoes"}]
    http = {"tls_cert": str(pki.server.cert), "tls_key": str(pki.server.key)}
    async with policy_stack(flushed_redis, tmp_path / "gw", accounts=accounts,
                            http=http) as running:
        yield running


async def test_the_same_over_https(https_stack: Stack, browser: object, pki: Pki) -> None:
    from playwright.async_api import Browser

    assert isinstance(browser, Browser)
    assert https_stack.http_url.startswith("https://")
    # The certificate the browser is shown is the one configured, from the test CA.
    _, writer = await asyncio.open_connection(
        "127.0.0.1", https_stack.gateway.http_port, ssl=pki.client_context(),
        server_hostname="127.0.0.1")
    tls = writer.get_extra_info("ssl_object")
    assert isinstance(tls, ssl.SSLObject)
    assert tls.getpeercert(binary_form=True) == ssl.PEM_cert_to_DER_cert(
        pki.server.cert.read_text())
    writer.close()

    context = await browser.new_context(locale="en-GB", ignore_https_errors=True)
    page = await context.new_page()
    connector = aiohttp.TCPConnector(ssl=pki.client_context())
    async with aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar(),
                                     timeout=aiohttp.ClientTimeout(total=TIMEOUT)) as client:
        await opt_out_with_a_reason(https_stack, client, page)
    response = await page.goto(f"{https_stack.http_url}/healthz")
    assert response is not None
    details = await response.security_details()
    assert details is not None and details.get("protocol") in ("TLS 1.2", "TLS 1.3"), details
