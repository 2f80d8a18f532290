"""The /v1/suppressions API against a real gateway, simulator and Redis.

Every request goes over a real socket; the effect of each change is checked by
sending promotional messages through the same gateway (write-through: the next
message after a PUT is already blocked).
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator

import aiohttp
import pytest

from gateway.http import suppressions as http_suppressions
from tests.integration.conftest import Stack
from tests.integration.test_http_api import assert_error, call, send

ALICE = "+33612345678"
ACME = {"Authorization": "Bearer acme-key"}
GLOBEX = {"Authorization": "Bearer globex-key"}


def url(stack: Stack, number: str = "") -> str:
    return f"{stack.http_url}/v1/suppressions" + (f"/{number}" if number else "")


async def promo(http: aiohttp.ClientSession, stack: Stack, to: str = ALICE,
                key: str = "acme-key", klass: str = "promotional") -> int:
    """Status of a promotional (or ``klass``) message through the gateway."""
    sender = {"acme-key": "36173", "globex-key": "+447400900000"}[key]
    status, body, _ = await send(http, stack, {"to": to, "from": sender, "text": "Soldes -50%",
                                               "class": klass}, key)
    if status == 422:
        assert body == {"status": "blocked", "reason": "opted_out"}, body
    else:
        assert status == 202, body
    return status


# --- one number --------------------------------------------------------------------------


@pytest.mark.parametrize("put_as", [ALICE, "06 12 34 56 78"])
async def test_every_format_of_a_number_is_the_same_entry(
    stack: Stack, http: aiohttp.ClientSession, put_as: str
) -> None:
    status, body, _ = await call(http, "PUT", url(stack, put_as), headers=ACME)
    assert (status, body) == (200, {"number": ALICE, "suppressed": True})
    for form in (ALICE, "%2B33612345678", "+33 6 12 34 56 78", "0612345678",
                 "06 12 34 56 78", "06-12-34-56-78", "06.12.34.56.78", "0033612345678",
                 "0033 6 12 34 56 78", "33612345678"):
        status, body, _ = await call(http, "GET", url(stack, form), headers=ACME)
        assert (status, body) == (200, {"number": ALICE, "suppressed": True,
                                        "scopes": ["acme"]}), form
    assert await stack.gateway.suppressions.scopes(ALICE) == ["acme"]  # one ledger entry


async def test_promotional_message_is_blocked_right_after_put_and_passes_after_delete(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    assert await promo(http, stack) == 202
    status, _, _ = await call(http, "PUT", url(stack, "06 12 34 56 78"), headers=ACME,
                              json={"reason": "asked by phone", "campaign": "black-friday"})
    assert status == 200
    assert await promo(http, stack) == 422  # the very next message: written through
    assert await promo(http, stack, "0033612345678") == 422
    assert await promo(http, stack, klass="transactional") == 202
    assert await promo(http, stack, key="globex-key") == 202  # acme's list, not globex's
    status, body, _ = await call(http, "DELETE", url(stack, "0612345678"), headers=ACME,
                                json={"source": "web_form"})
    assert (status, body) == (200, {"number": ALICE, "suppressed": False})
    assert await promo(http, stack) == 202
    status, body, _ = await call(http, "GET", url(stack, ALICE), headers=ACME)
    assert body == {"number": ALICE, "suppressed": False, "scopes": []}


async def test_put_and_delete_are_idempotent(stack: Stack, http: aiohttp.ClientSession) -> None:
    for _ in range(2):
        status, body, _ = await call(http, "PUT", url(stack, ALICE), headers=ACME)
        assert (status, body) == (200, {"number": ALICE, "suppressed": True})
    for _ in range(2):
        status, body, _ = await call(http, "DELETE", url(stack, ALICE) + "?source=web_form",
                                 headers=ACME)
        assert (status, body) == (200, {"number": ALICE, "suppressed": False})


async def test_one_accounts_suppression_does_not_show_for_another(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    await call(http, "PUT", url(stack, ALICE), headers=ACME)
    status, body, _ = await call(http, "GET", url(stack, ALICE), headers=GLOBEX)
    assert (status, body) == (200, {"number": ALICE, "suppressed": False, "scopes": []})
    status, body, _ = await call(http, "DELETE", url(stack, ALICE) + "?source=web_form",
                                 headers=GLOBEX)
    assert (status, body) == (200, {"number": ALICE, "suppressed": False})
    status, body, _ = await call(http, "GET", url(stack, ALICE), headers=ACME)
    assert body["suppressed"] is True  # globex's opt-in does not lift acme's opt-out


async def test_an_operator_wide_entry_shows_and_outlives_the_accounts_opt_in(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    assert stack.gateway.suppressions is not None
    await stack.gateway.suppressions.optout("*", ALICE, source="cli")
    await call(http, "PUT", url(stack, ALICE), headers=ACME)
    status, body, _ = await call(http, "GET", url(stack, ALICE), headers=ACME)
    assert body == {"number": ALICE, "suppressed": True, "scopes": ["*", "acme"]}
    status, body, _ = await call(http, "GET", url(stack, ALICE), headers=GLOBEX)
    assert body == {"number": ALICE, "suppressed": True, "scopes": ["*"]}
    status, body, _ = await call(http, "DELETE", url(stack, ALICE) + "?source=web_form",
                                 headers=ACME)
    assert (status, body) == (200, {"number": ALICE, "suppressed": True})
    assert await promo(http, stack) == 422


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/v1/suppressions/+33612345678"), ("PUT", "/v1/suppressions/+33612345678"),
    ("DELETE", "/v1/suppressions/+33612345678"), ("POST", "/v1/suppressions/import"),
    ("GET", "/v1/suppressions"), ("GET", "/v1/suppressions/+33612345678/history"),
    ("POST", "/v1/suppressions/+33612345678/erase"),
])
@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer nope"},
                                     {"Authorization": "Basic YWNtZTphY21l"}])
async def test_every_route_needs_an_api_key(
    stack: Stack, http: aiohttp.ClientSession, method: str, path: str, headers: dict[str, str]
) -> None:
    status, body, response_headers = await call(http, method, stack.http_url + path,
                                                headers=headers, data=b"+33612345678\n")
    assert_error(status, body, 401, "unauthorized")
    assert response_headers["WWW-Authenticate"].startswith("Bearer")
    assert await stack.gateway.suppressions.scopes(ALICE) == []


@pytest.mark.parametrize("number", ["12", "hello", "0612", "+999123", "36173",
                                    "+3361234567890123456789012345678901"])
@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
async def test_an_invalid_number_is_400(
    stack: Stack, http: aiohttp.ClientSession, method: str, number: str
) -> None:
    status, body, _ = await call(http, method, url(stack, number), headers=ACME)
    assert_error(status, body, 400, "invalid_number")
    assert "not a valid phone number" in body["detail"]


@pytest.mark.parametrize(("data", "code"), [
    (b"{", "invalid_json"),
    (b'["reason"]', "invalid_request"),
    (b'{"why": "x"}', "invalid_request"),
    (b'{"reason": 5}', "invalid_request"),
    (b'{"campaign": "' + b"x" * 65 + b'"}', "invalid_request"),
])
async def test_a_bad_put_body_is_refused_and_records_nothing(
    stack: Stack, http: aiohttp.ClientSession, data: bytes, code: str
) -> None:
    status, body, _ = await call(http, "PUT", url(stack, ALICE), headers=ACME, data=data)
    assert_error(status, body, 400, code)
    assert await stack.gateway.suppressions.scopes(ALICE) == []


# --- import ------------------------------------------------------------------------------

MALFORMED = (
    "number,name\n"                      # 1 header
    "+33612345601,alice\n"               # 2
    "0612345602,bob\r\n"                 # 3 national (acme: FR), CRLF
    "not-a-number,carol\n"               # 4 bad
    "12,dave\n"                          # 5 bad
    "\n"                                 # 6 blank
    '"+44 7400 123456","erin, ltd"\n'    # 7 quoted
    "+33612345601,alice again\n"         # 8 repeated
    "# a comment\n"                      # 9
    "0033 6 12 34 56 03"                 # 10 no final newline
)
IMPORTED = ["+33612345601", "+33612345602", "+33612345603", "+447400123456"]


async def test_import_of_a_malformed_csv_keeps_the_good_lines_and_reports_the_bad(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    status, body, _ = await call(http, "POST", url(stack, "import"), headers=ACME,
                                 data=MALFORMED.encode())
    assert status == 200, body
    assert body == {
        "lines": 10, "added": 4, "already": 1, "invalid": 2,
        "errors": [{"line": 4, "error": "not a valid phone number: 'not-a-number'"},
                   {"line": 5, "error": "not a valid phone number: '12'"}],
    }
    for number in IMPORTED:
        _, shown, _ = await call(http, "GET", url(stack, number), headers=ACME)
        assert shown["suppressed"] is True, number
        assert await promo(http, stack, number) == 422  # written through to the cache
    assert stack.gateway.ledger is not None
    assert await stack.gateway.ledger.count_suppressed("acme") == 4

    status, again, _ = await call(http, "POST", url(stack, "import"), headers=ACME,
                                  data=MALFORMED.encode())
    assert status == 200
    assert {k: again[k] for k in ("lines", "added", "already", "invalid")} == {
        "lines": 10, "added": 0, "already": 5, "invalid": 2}
    assert await stack.gateway.ledger.count_suppressed("acme") == 4


async def test_import_takes_one_number_a_line_without_header(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    status, body, _ = await call(http, "POST", url(stack, "import"), headers=GLOBEX,
                                 data="\ufeff07400 123456\n+33612345678\n".encode())
    assert status == 200, body
    assert body == {"lines": 2, "added": 2, "already": 0, "invalid": 0, "errors": []}
    _, shown, _ = await call(http, "GET", url(stack, "+447400123456"), headers=GLOBEX)
    assert shown["scopes"] == ["globex"]
    _, shown, _ = await call(http, "GET", url(stack, "+447400123456"), headers=ACME)
    assert shown["suppressed"] is False


async def test_import_reads_semicolon_and_tab_separated_files_and_reports_a_missing_number(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    data = ("Numéro;Nom\n"
            "06 12 34 56 78;Dupont\n"
            "+33612345679\tMartin\n"
            ";Durand\n").encode()
    status, body, _ = await call(http, "POST", url(stack, "import"), headers=ACME, data=data)
    assert status == 200, body
    assert body == {"lines": 4, "added": 2, "already": 0, "invalid": 1,
                    "errors": [{"line": 4, "error": "no number in the first column"}]}


async def test_import_reports_only_the_first_hundred_errors(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    data = "".join(f"bad{i}\n" for i in range(150)) + "+33612345678\n"
    status, body, _ = await call(http, "POST", url(stack, "import"), headers=ACME,
                                 data=data.encode())
    assert status == 200
    assert (body["lines"], body["added"], body["invalid"]) == (151, 1, 150)
    assert [error["line"] for error in body["errors"]] == list(range(1, 101))


def mobile(i: int) -> str:
    return f"+3361{i:07d}"


async def test_import_is_streamed_past_the_body_size_limit(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    count = 100_000  # 1.3 MB: over http.max_body_size (1 MiB), sent chunked
    assert count * 13 > stack.gateway.config.http.max_body_size

    async def body() -> AsyncIterator[bytes]:
        for start in range(0, count, 10_000):
            yield "".join(f"{mobile(i)}\n" for i in range(start, start + 10_000)).encode()

    status, report, _ = await call(http, "POST", url(stack, "import"), headers=ACME, data=body())
    assert status == 200, report
    assert report == {"lines": count, "added": count, "already": 0, "invalid": 0, "errors": []}
    assert stack.gateway.ledger is not None
    assert await stack.gateway.ledger.count_suppressed("acme") == count
    assert await promo(http, stack, mobile(count - 1)) == 422


async def test_an_import_over_its_own_limit_stops_at_a_whole_line_and_says_so(
    stack: Stack, http: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(http_suppressions, "MAX_IMPORT_BYTES", 1100)
    lines = [f"{mobile(i)}\n" for i in range(120)]  # 13 bytes each
    text = "".join(lines)
    pieces = [text[:520], text[520:1000], text[1000:]]  # the second ends inside line 77

    async def body() -> AsyncIterator[bytes]:
        for piece in pieces:
            yield piece.encode()
            await asyncio.sleep(0.2)  # separate reads on the server

    status, answer, _ = await call(http, "POST", url(stack, "import"), headers=ACME, data=body())
    assert_error(status, answer, 413, "body_too_large")
    assert "the first 76 lines were imported (76 added" in answer["detail"]
    exported = await stack.gateway.ledger.count_suppressed("acme")  # type: ignore[union-attr]
    assert exported == 76  # line 77, cut at the limit, is not imported as a shorter number


async def test_an_import_whose_length_is_over_the_limit_is_refused_before_reading(
    stack: Stack,
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", stack.gateway.http_port)
    writer.write(b"POST /v1/suppressions/import HTTP/1.1\r\nHost: x\r\n"
                 b"Authorization: Bearer acme-key\r\nContent-Type: text/csv\r\n"
                 b"Content-Length: %d\r\n\r\n" % (http_suppressions.MAX_IMPORT_BYTES + 1))
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    assert head.startswith(b"HTTP/1.1 413 ")
    writer.close()


async def test_a_form_post_is_refused_with_the_right_curl(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    status, body, _ = await call(http, "POST", url(stack, "import"), headers=ACME,
                                 data={"file": "+33612345678"})  # what curl -d sends
    assert_error(status, body, 415, "unsupported_media_type")
    assert "--data-binary" in body["detail"]
    data = aiohttp.FormData()
    data.add_field("file", b"+33612345678\n", filename="numbers.csv")
    status, body, _ = await call(http, "POST", url(stack, "import"), headers=ACME, data=data)
    assert_error(status, body, 415, "unsupported_media_type")


# --- export ------------------------------------------------------------------------------


async def test_export_is_the_accounts_own_list_as_csv_and_imports_back(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    assert stack.gateway.suppressions is not None
    await call(http, "POST", url(stack, "import"), headers=ACME, data=MALFORMED.encode())
    await call(http, "PUT", url(stack, "07400 900001"), headers=GLOBEX)
    await stack.gateway.suppressions.optout("*", "+33699999999", source="cli")
    async with http.get(url(stack), headers=ACME) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
        assert "suppressions-acme.csv" in response.headers["Content-Disposition"]
        text = await response.text()
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["number", "scope", "since", "source"]
    assert sorted(row[0] for row in rows[1:]) == IMPORTED
    assert {(row[1], row[3]) for row in rows[1:]} == {("acme", "import")}
    assert all(row[2].endswith("+00:00") for row in rows[1:])

    # The export is an import file: into globex's list, all new; into acme's, all there.
    status, report, _ = await call(http, "POST", url(stack, "import"), headers=GLOBEX,
                                   data=text.encode())
    assert (status, report["added"], report["invalid"]) == (200, 4, 0)
    status, report, _ = await call(http, "POST", url(stack, "import"), headers=ACME,
                                   data=text.encode())
    assert (report["added"], report["already"]) == (0, 4)
    async with http.get(url(stack), headers=GLOBEX) as response:
        globex = [row[0] for row in csv.reader(io.StringIO(await response.text()))][1:]
    assert sorted(globex) == sorted([*IMPORTED, "+447400900001"])


async def test_an_empty_export_is_the_header_alone(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    status, text, _ = await call(http, "GET", url(stack), headers=ACME)
    assert (status, text) == (200, "number,scope,since,source\r\n")
