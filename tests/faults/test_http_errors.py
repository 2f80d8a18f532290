"""Hostile and broken HTTP requests: each gets its exact answer, and none a traceback.

A real gateway on loopback; raw sockets for what no HTTP client library sends (an
unparsable request, a client leaving mid-body, a Content-Length of 10 GB). Every
test also reads the gateway's log records: a client's mistake is logged at INFO at
most, never at ERROR and never with a traceback, and the next request is served.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Iterator

import aiohttp
import orjson
import pytest

from tests.faults.test_http_limits import closed_by_server, open_http, read_response
from tests.integration.conftest import Stack
from tests.support.metrics import metric
from tests.support.waiting import eventually

NUMBER = "+33612345678"
AUTH = {"Authorization": "Bearer acme-key"}
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
EVENT = re.compile(r'name="event" value="(\d+)"')


@pytest.fixture
def logged(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Every record of the test; after it, none at ERROR and no traceback above DEBUG."""
    caplog.set_level(logging.DEBUG)
    yield caplog
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]
    traced = [r for r in caplog.records if r.levelno > logging.DEBUG and r.exc_info]
    assert not traced, [r.getMessage() for r in traced]


def logged_events(caplog: pytest.LogCaptureFixture, event: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if getattr(r, "event", None) == event]


async def token_for(stack: Stack, number: str = NUMBER) -> str:
    assert stack.gateway.ledger is not None
    return next(iter((await stack.gateway.ledger.tokens_for("acme", [number])).values()))


def requests_seen(stack: Stack) -> int:
    runner = stack.gateway._http
    assert runner is not None and runner.server is not None
    return int(runner.server.requests_count)


async def raw_exchange(stack: Stack, data: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send ``data`` on a fresh connection; the one answer, checking the server closes."""
    reader, writer = await open_http(stack)
    writer.write(data)
    answer = await read_response(reader)
    assert await closed_by_server(reader)
    writer.close()
    return answer


async def served(http: aiohttp.ClientSession, stack: Stack) -> None:
    """The gateway still answers a good request as usual."""
    async with http.get(f"{stack.http_url}/v1/suppressions/{NUMBER}", headers=AUTH) as response:
        assert response.status == 200
        assert (await response.json())["suppressed"] is False


# --- reports: dates ---------------------------------------------------------------------------


async def test_report_dates_out_of_range_or_malformed_are_a_400_naming_the_field(
    stack: Stack, logged: pytest.LogCaptureFixture,
) -> None:
    queries = [
        ("to=9999-12-31", "'to'"),  # was a 500: the day after overflows
        ("from=9999-12-31", "'from'"),
        ("from=2026-11-01&to=9999-12-31", "'to'"),
        ("to=99999-01-01", "'to'"),
        ("from=2026-W01-1", "'from'"),  # an ISO week date: 10 characters, not YYYY-MM-DD
        ("to=%EF%BC%92%EF%BC%90%EF%BC%92%EF%BC%96-01-01", "'to'"),  # full-width digits
        ("from=%FF", "'from'"),
        ("from=2026-02-30", "'from'"),
    ]
    async with aiohttp.ClientSession() as http:
        for query, field in queries:
            url = f"{stack.http_url}/v1/reports/optouts?{query}"
            async with http.get(url, headers=AUTH) as response:
                assert response.status == 400, query
                assert response.content_type == "application/json", query
                body = await response.json()
            assert body["error"] == "invalid_request", (query, body)
            assert body["detail"].startswith(field), (query, body)
        # The last possible day still works, and the report is unharmed.
        async with http.get(f"{stack.http_url}/v1/reports/optouts?to=9999-12-30",
                            headers=AUTH) as response:
            assert response.status == 200
            assert (await response.json())["to"] == "9999-12-30"


# --- the opt-out page: malformed forms -------------------------------------------------------


async def test_malformed_optout_forms_get_the_localised_400_page_and_change_nothing(
    stack: Stack, logged: pytest.LogCaptureFixture,
) -> None:
    token = await token_for(stack)
    page_url = f"{stack.http_url}/o/{token}"
    form = {"Content-Type": "application/x-www-form-urlencoded", "Accept-Language": "en"}
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:
        async with http.get(page_url) as response:
            csrf = CSRF.search(await response.text())
        assert csrf
        issued = csrf.group(1).split(".")[0]
        bodies = [
            f"csrf={issued}.%C3%A9".encode(),  # was a 503 with a traceback
            f"csrf={issued}.%00abc".encode(),
            b"csrf=\xff\xfe",  # not UTF-8 at all
        ]
        for body in bodies:
            async with http.post(page_url, data=body, headers=form) as response:
                assert response.status == 400, body
                assert response.content_type == "text/html", body
                page = await response.text()
            assert "This form could not be read" in page, body
            assert f'href="/o/{token}"' in page
        # In the recipient's language (the number is French).
        async with http.post(page_url, data=bodies[0], headers={
                "Content-Type": form["Content-Type"]}) as response:
            assert response.status == 400
            assert "Ce formulaire est illisible" in await response.text()
        # A multipart body whose framing is broken.
        async with http.post(page_url, data=b"--x\r\nnonsense", headers={
                "Content-Type": "multipart/form-data; boundary=x",
                "Accept-Language": "en"}) as response:
            assert response.status == 400
            assert response.content_type == "text/html"
        # A missing or forged field is still the 403 "expired" page.
        async with http.post(page_url, data=b"csrf=1.forged", headers=form) as response:
            assert response.status == 403
        assert stack.gateway.ledger is not None
        assert await stack.gateway.ledger.suppressed_scopes(NUMBER) == []

        # The reason form: an event id of non-ASCII digits ("²" passed isdigit()).
        async with http.post(page_url, data={"csrf": csrf.group(1)}) as response:
            assert response.status == 200
            done = await response.text()
        reason_csrf, event = CSRF.search(done), EVENT.search(done)
        assert reason_csrf and event
        for bad in ("event=%C2%B2", "event=1%C2%B2", f"event={event.group(1)}&csrf=%C3%A9"):
            body = f"csrf={reason_csrf.group(1)}&reason=too_many&{bad}".encode()
            if "csrf=%C3" in bad:
                body = f"reason=too_many&{bad}".encode()
            async with http.post(f"{page_url}/reason", data=body, headers=form) as response:
                assert response.status == 400, bad
                assert "This form could not be read" in await response.text()
        async with http.post(f"{page_url}/reason", data={
                "csrf": reason_csrf.group(1), "event": event.group(1),
                "reason": "too_many"}) as response:
            assert response.status == 200  # the real one still goes through
    assert await stack.gateway.ledger.suppressed_scopes(NUMBER) == ["acme"]
    assert len(logged_events(logged, "optout_form_malformed")) == 8
    assert all(r.levelno == logging.INFO for r in logged_events(logged, "optout_form_malformed"))


# --- requests that are not HTTP --------------------------------------------------------------


@pytest.mark.parametrize("request_bytes", [
    b"GET /healthz HTTP/1.1 extra\r\nHost: x\r\n\r\n",  # bad request line
    b"GET /v1/messages HTTP/9.Z\r\nHost: x\r\n\r\n",  # bad version
    b"GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n",  # space in a name
    b"GET /healthz HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n",
    b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
    b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",  # a request line too long
], ids=["request_line", "version", "header_name", "header_colon", "content_length", "too_long"])
async def test_a_request_that_is_not_http_gets_a_json_400_and_a_close(
    stack: Stack, logged: pytest.LogCaptureFixture, request_bytes: bytes,
) -> None:
    status, headers, body = await raw_exchange(stack, request_bytes)
    assert status == 400
    assert headers["content-type"].startswith("application/json")
    assert headers["server"] == "stopgate"
    answer = orjson.loads(body)
    assert answer["error"] == "bad_request"
    assert answer["detail"].startswith("the request is not valid HTTP/1.1")
    refused = logged_events(logged, "http_bad_request")
    assert [r.levelno for r in refused] == [logging.INFO]
    assert metric(stack, "stopgate_http_connections_closed_total",
                  {"reason": "bad_request"}) == 1
    async with aiohttp.ClientSession() as http:
        await served(http, stack)


# --- clients leaving mid-body -------------------------------------------------------------


async def test_a_client_leaving_mid_body_is_logged_at_info_and_nothing_is_done(
    stack: Stack, logged: pytest.LogCaptureFixture,
) -> None:
    token = await token_for(stack)
    requests = [
        ("POST", "/v1/messages", "Authorization: Bearer acme-key\r\n"
                                 "Content-Type: application/json\r\n"),
        ("PUT", f"/v1/suppressions/{NUMBER}", "Authorization: Bearer acme-key\r\n"
                                              "Content-Type: application/json\r\n"),
        ("POST", f"/o/{token}", "Content-Type: application/x-www-form-urlencoded\r\n"),
        ("POST", "/v1/suppressions/import", "Authorization: Bearer acme-key\r\n"
                                            "Content-Type: text/csv\r\n"),
    ]
    for number, (method, path, headers) in enumerate(requests, start=1):
        _, writer = await open_http(stack)
        writer.write(f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{headers}"
                     f"Content-Length: 200\r\n\r\n".encode() + b'{"to": "+3361')
        await writer.drain()
        # Leave once the gateway has taken the request up (its handler reads the body).
        await eventually(lambda n=number: requests_seen(stack) >= n, "the request taken up")
        await asyncio.sleep(0.05)
        writer.transport.abort()
        await eventually(lambda n=number: len(logged_events(logged, "http_client_left")) >= n,
                         f"the gateway to see client {number} leave")
    left = logged_events(logged, "http_client_left")
    assert [r.levelno for r in left] == [logging.INFO] * len(requests)
    assert stack.simulator.messages() == []
    async with aiohttp.ClientSession() as http:
        await served(http, stack)  # and nothing was opted out by either route
    assert stack.gateway.ledger is not None
    assert await stack.gateway.ledger.suppressed_scopes(NUMBER) == []


# --- a body too big to read ------------------------------------------------------------------


@pytest.mark.parametrize("route", ["/v1/messages", "/v1/suppressions/+33612345678", "/o/"])
async def test_a_content_length_over_the_limit_is_refused_413_before_the_body(
    stack: Stack, logged: pytest.LogCaptureFixture, route: str,
) -> None:
    method = "PUT" if route.startswith("/v1/suppressions") else "POST"
    path = route + await token_for(stack) if route == "/o/" else route
    reader, writer = await open_http(stack)
    # Headers only: not a byte of the 10 GB body is sent, and the answer still comes.
    writer.write(f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                 "Authorization: Bearer acme-key\r\nContent-Type: application/json\r\n"
                 "Content-Length: 10000000000\r\n\r\n".encode())
    status, headers, body = await read_response(reader)
    assert status == 413
    assert headers["content-type"].startswith("application/json")
    answer = orjson.loads(body)
    assert answer["error"] == "body_too_large"
    assert "10000000000" in answer["detail"] and "1048576" in answer["detail"]
    assert await closed_by_server(reader)  # the rest is not read: the connection closes
    writer.close()
    assert stack.simulator.messages() == []
    async with aiohttp.ClientSession() as http:
        await served(http, stack)


# --- the Server header -----------------------------------------------------------------------


async def test_every_answer_says_server_stopgate_and_no_version(
    stack: Stack, logged: pytest.LogCaptureFixture,
) -> None:
    token = await token_for(stack)
    async with aiohttp.ClientSession() as http:
        for method, path, headers in [
            ("GET", "/healthz", {}),
            ("GET", "/metrics", {}),
            ("GET", "/nowhere", {}),  # 404
            ("DELETE", "/healthz", {}),  # 405
            ("GET", f"/v1/suppressions/{NUMBER}", {}),  # 401
            ("GET", f"/v1/suppressions/{NUMBER}", AUTH),
            ("POST", "/v1/messages", {**AUTH, "Content-Type": "application/json"}),  # 400
            ("GET", f"/o/{token}", {}),
            ("HEAD", f"/o/{token}", {}),
            ("GET", "/o/AAAAAAAAAAAA", {}),  # 404 page
        ]:
            async with http.request(method, stack.http_url + path, headers=headers,
                                    data=b"{" if method == "POST" else None) as response:
                await response.read()
                assert response.headers["Server"] == "stopgate", (method, path)
                assert "aiohttp" not in str(response.headers).lower(), (method, path)
    _, headers, _ = await raw_exchange(stack, b"NOT HTTP AT ALL\r\n\r\n")
    assert headers["server"] == "stopgate"
