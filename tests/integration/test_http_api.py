"""The HTTP send API and the ops routes, against a real gateway, simulator and Redis.

Every request goes over a real socket with aiohttp.ClientSession; nothing is mocked.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import redis.asyncio as aioredis

from gateway.inbound.pending import decode_entry
from gateway.message import Message
from gateway.smpp_link import LinkHandler, SmppLink
from smpp.constants import Tag
from smpp.pdu import DeliverSm, DeliverSmResp, Pdu
from smpp.session import Role
from smpp.tlv import tlv_str
from tests.integration.conftest import ACME, GLOBEX, Stack, start_stack
from tests.support.metrics import metric
from tests.support.waiting import eventually

TIMEOUT = 10.0
ACME_AUTH = {"Authorization": "Bearer acme-key"}
LONG_GSM = (
    "Your parcel 4711 is out for delivery today between 10:00 and 12:00. Reply or call "
    "us if nobody is home; we can leave it with a neighbour {or} at the depot for 2 EUR."
)
LONG_UCS2 = "Ваш заказ №4711 будет доставлен сегодня с 10:00 до 12:00. Спасибо, что выбрали нас!"  # noqa: RUF001


async def call(
    http: aiohttp.ClientSession, method: str, url: str, **kwargs: Any
) -> tuple[int, Any, Mapping[str, str]]:
    """One request; the status, the body as JSON when it is JSON (else text), the headers."""
    async with http.request(method, url, **kwargs) as response:
        if response.content_type == "application/json":
            return response.status, await response.json(), response.headers
        return response.status, await response.text(), response.headers


async def send(
    http: aiohttp.ClientSession, stack: Stack, body: Any, key: str | None = "acme-key"
) -> tuple[int, Any, Mapping[str, str]]:
    headers = {"Authorization": f"Bearer {key}"} if key is not None else {}
    return await call(http, "POST", f"{stack.http_url}/v1/messages", json=body, headers=headers)


def assert_error(status: int, body: Any, expected_status: int, code: str) -> None:
    assert status == expected_status, body
    assert isinstance(body, dict), body
    assert set(body) == {"error", "detail"}, body
    assert body["error"] == code, body
    assert isinstance(body["detail"], str) and body["detail"], body


class Receiver(LinkHandler):
    """A receiver bind that acknowledges and records every deliver_sm."""

    def __init__(self) -> None:
        self.received: list[DeliverSm] = []

    def on_pdu(self, link: SmppLink, pdu: Pdu) -> None:
        assert isinstance(pdu, DeliverSm)
        self.received.append(pdu)
        link.respond(pdu, DeliverSmResp())


async def bind_receiver(stack: Stack, system_id: str, password: str) -> tuple[SmppLink, Receiver]:
    receiver = Receiver()
    loop = asyncio.get_running_loop()
    _, link = await loop.create_connection(
        lambda: SmppLink(Role.ESME, receiver), "127.0.0.1", stack.smpp_port
    )
    assert isinstance(link, SmppLink)
    await asyncio.wait_for(link.bind("receiver", system_id, password), TIMEOUT)
    return link, receiver


# --- accepted messages ---------------------------------------------------------------------


async def test_short_message_is_accepted_and_reaches_the_carrier(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    status, body, headers = await send(
        http, stack, {"to": "+33612345678", "text": "Hello [world] €"}
    )
    assert status == 202, body
    assert headers["Content-Type"].startswith("application/json")
    assert set(body) == {"id", "status", "class", "parts", "footer"}
    assert re.fullmatch(r"[0-9a-f]{16}", body["id"])
    assert body["status"] == "accepted"
    assert body["parts"] == 1
    # Nothing in the text decides, so the account's default_class (transactional) does.
    assert body["class"] == "transactional"
    assert body["footer"] is None
    [message] = await eventually(stack.simulator.messages)
    assert message.text == "Hello [world] €"
    assert message.destination_addr == "33612345678"
    assert message.source_addr == "36173"  # no 'from': the account's shortcode
    assert message.parts == 1 and message.complete
    [submit] = stack.simulator.received
    assert (submit.pdu.dest_addr_ton, submit.pdu.dest_addr_npi) == (1, 1)
    assert submit.pdu.registered_delivery & 1  # the DLR is asked for, so the id means something


@pytest.mark.parametrize("text", [LONG_GSM, LONG_UCS2], ids=["gsm", "ucs2"])
async def test_long_message_goes_out_in_parts_and_arrives_whole(
    stack: Stack, http: aiohttp.ClientSession, text: str
) -> None:
    status, body, _ = await send(
        http, stack, {"to": "+33612345678", "from": "ACME", "text": text, "class": "transactional"}
    )
    assert status == 202, body
    assert body["parts"] == 2
    assert body["class"] == "transactional"
    [message] = await eventually(stack.simulator.messages)
    assert message.complete and message.parts == 2
    assert message.text == text
    assert message.source_addr == "ACME"
    assert {record.pdu.source_addr_ton for record in stack.simulator.received} == {5}


async def test_recipients_in_national_format_use_the_accounts_region(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    status, body, _ = await send(http, stack, {"to": "06 12 34 56 78", "text": "fr"})
    assert status == 202, body
    status, body, _ = await send(
        http, stack, {"to": "07400 123456", "from": "+447400900000", "text": "gb"}, "globex-key"
    )
    assert status == 202, body
    messages = await eventually(lambda: len(stack.simulator.messages()) == 2
                                and stack.simulator.messages())
    by_text = {message.text: message for message in messages}
    assert by_text["fr"].destination_addr == "33612345678"
    assert by_text["gb"].destination_addr == "447400123456"
    assert by_text["gb"].source_addr == "447400900000"
    gb = next(r.pdu for r in stack.simulator.received if r.pdu.destination_addr == "447400123456")
    assert (gb.source_addr_ton, gb.source_addr_npi) == (1, 1)


async def test_receipts_carry_the_http_id_to_a_bound_receiver(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    link, receiver = await bind_receiver(stack, "acme", "acmepass")
    try:
        status, short, _ = await send(http, stack, {"to": "+33612345678", "text": "short"})
        assert status == 202, short
        status, long, _ = await send(http, stack, {"to": "+33612345679", "text": LONG_GSM})
        assert status == 202, long
        assert long["parts"] == 2
        await eventually(lambda: len(receiver.received) >= 3)
        ids = sorted(tlv_str(pdu, Tag.receipted_message_id) or "" for pdu in receiver.received)
        # Both parts of the long message report under the one id the sender was given.
        assert ids == sorted([short["id"], long["id"], long["id"]])
        for pdu in receiver.received:
            assert pdu.esm_class & 0x04  # a delivery receipt
            assert f"id:{tlv_str(pdu, Tag.receipted_message_id)} ".encode() in pdu.short_message
    finally:
        await link.unbind()


async def test_receipts_wait_in_the_accounts_queue_when_no_receiver_is_bound(
    stack: Stack, http: aiohttp.ClientSession, redis_url: str
) -> None:
    status, body, _ = await send(http, stack, {"to": "+33612345678", "text": "queued"})
    assert status == 202, body
    client = aioredis.Redis.from_url(redis_url)
    try:
        await eventually(lambda: client.llen("dq:{acme}"))
        [raw] = await client.lrange("dq:{acme}", 0, -1)
    finally:
        await client.aclose()
    assert isinstance(raw, bytes)
    entry = decode_entry(raw)
    assert entry.pdu is not None
    assert tlv_str(entry.pdu, Tag.receipted_message_id) == body["id"]


# --- refusals -------------------------------------------------------------------------------


async def test_missing_or_wrong_api_key_is_401(stack: Stack, http: aiohttp.ClientSession) -> None:
    good = {"to": "+33612345678", "text": "hi"}
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Bearer "},
                    {"Authorization": "Basic YWNtZTphY21lcGFzcw=="}, {"Authorization": "acme-key"}):
        status, body, response_headers = await call(
            http, "POST", f"{stack.http_url}/v1/messages", json=good, headers=headers
        )
        assert_error(status, body, 401, "unauthorized")
        assert response_headers["WWW-Authenticate"].startswith("Bearer")
    # The scheme is case-insensitive (RFC 7235); the key is not.
    status, body, _ = await call(http, "POST", f"{stack.http_url}/v1/messages", json=good,
                                 headers={"Authorization": "bearer acme-key"})
    assert status == 202, body
    status, body, _ = await call(http, "POST", f"{stack.http_url}/v1/messages", json=good,
                                 headers={"Authorization": "Bearer ACME-KEY"})
    assert status == 401
    assert len(stack.simulator.messages()) == 1


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"{", "invalid_json"),
        (b"", "invalid_json"),
        (b"\xff\xfe{}", "invalid_json"),
        (b"[1, 2]", "invalid_request"),
        (b'"hello"', "invalid_request"),
        (b"null", "invalid_request"),
        (b'{"text": "hi"}', "invalid_request"),
        (b'{"to": "+33612345678"}', "invalid_request"),
        (b'{"to": "", "text": "hi"}', "invalid_request"),
        (b'{"to": "+33612345678", "text": "   "}', "invalid_request"),
        (b'{"to": 33612345678, "text": "hi"}', "invalid_request"),
        (b'{"to": "+33612345678", "text": ["hi"]}', "invalid_request"),
        (b'{"to": "+33612345678", "text": "hi", "sender": "x"}', "invalid_request"),
        (b'{"to": "+33612345678", "text": "hi", "class": "marketing"}', "invalid_request"),
        (b'{"to": "+33612345678", "text": "hi", "class": 2}', "invalid_request"),
        (b'{"to": "+33612345678", "text": "hi", "class": ["promotional"]}', "invalid_request"),
        (b'{"to": "+33612345678", "text": "hi", "campaign": 7}', "invalid_request"),
        (b'{"to": "+33612345678", "text": "hi", "campaign": "' + b"c" * 65 + b'"}',
         "invalid_request"),
        (b'{"to": "+33612345678", "text": "hi", "from": 36173}', "invalid_source"),
        (b'{"to": "+33612345678", "text": "hi", "from": "ACMECORPORATE"}', "invalid_source"),
        (b'{"to": "+33612345678", "text": "hi", "from": "ACME\\u2713"}', "invalid_source"),
        (b'{"to": "+33612345678", "text": "hi", "from": "+3361234567890123"}', "invalid_source"),
        (b'{"to": "+33612345678", "text": "hi", "from": "+ACME"}', "invalid_source"),
        (b'{"to": "12", "text": "hi"}', "invalid_destination"),
        (b'{"to": "+999123", "text": "hi"}', "invalid_destination"),
        (b'{"to": "not a number", "text": "hi"}', "invalid_destination"),
        (b'{"to": "+33612345678", "text": "' + "\U0001f69a".encode() * 9000 + b'"}',
         "text_too_long"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
async def test_bad_requests_are_400_with_a_json_error(
    stack: Stack, http: aiohttp.ClientSession, raw: bytes, code: str
) -> None:
    status, body, _ = await call(
        http, "POST", f"{stack.http_url}/v1/messages", data=raw,
        headers={**ACME_AUTH, "Content-Type": "application/json"},
    )
    assert_error(status, body, 400, code)
    assert stack.simulator.received == []


async def test_null_optional_fields_count_as_absent(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    status, body, _ = await send(http, stack, {
        "to": "+33612345678", "text": "hi", "from": None, "class": None, "campaign": None,
    })
    assert status == 202, body
    [message] = await eventually(stack.simulator.messages)
    assert message.source_addr == "36173"


async def test_an_account_without_numbers_must_give_from(
    flushed_redis: str, tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    bare = {"system_id": "bare", "password": "barepw", "api_key": "bare-key"}
    stack = await start_stack(flushed_redis, tmp_path, accounts=[ACME, bare])
    try:
        status, body, _ = await send(http, stack, {"to": "+33612345678", "text": "hi"}, "bare-key")
        assert_error(status, body, 400, "invalid_source")
        assert "from" in body["detail"]
        status, body, _ = await send(
            http, stack, {"to": "+33612345678", "text": "hi", "from": "Bare"}, "bare-key"
        )
        assert status == 202, body
    finally:
        await stack.gateway.stop(timeout=2.0)
        await stack.simulator.stop()


async def test_a_body_over_the_limit_is_413(
    flushed_redis: str, tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    stack = await start_stack(flushed_redis, tmp_path, http={"max_body_size": 2048})
    try:
        url = f"{stack.http_url}/v1/messages"
        status, body, _ = await send(http, stack, {"to": "+33612345678", "text": "x" * 1900})
        assert status == 202, body
        big = {"to": "+33612345678", "text": "x" * 3000}
        status, body, _ = await send(http, stack, big)
        assert_error(status, body, 413, "body_too_large")

        async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it streams
            for _ in range(10):
                yield b" " * 1024

        status, body, _ = await call(http, "POST", url, data=chunks(), headers=ACME_AUTH)
        assert_error(status, body, 413, "body_too_large")
        assert len(stack.simulator.messages()) == 1
    finally:
        await stack.gateway.stop(timeout=2.0)
        await stack.simulator.stop()


async def test_over_the_accounts_tps_is_429(
    flushed_redis: str, tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    stack = await start_stack(flushed_redis, tmp_path, accounts=[{**ACME, "tps": 2}, GLOBEX])
    try:
        good = {"to": "+33612345678", "text": "hi"}
        results = await asyncio.gather(*(send(http, stack, good) for _ in range(6)))
        statuses = [status for status, _, _ in results]
        # 2 tokens in the bucket; a slow machine may refill a third while the six run.
        assert statuses.count(202) in (2, 3) and statuses.count(429) == 6 - statuses.count(202)
        for status, body, headers in results:
            if status == 429:
                assert_error(status, body, 429, "throttled")
                assert int(headers["Retry-After"]) >= 1
        # Another account is not affected; the same account passes again a moment later.
        status, body, _ = await send(http, stack, {**good, "to": "07400 123456"}, "globex-key")
        assert status == 202, body
        await asyncio.sleep(0.6)
        status, body, _ = await send(http, stack, good)
        assert status == 202, body
        metrics = stack.gateway.metrics.render().decode()
        throttled = metric(metrics, "stopgate_throttled_total", {"reason": "account_tps"})
        assert throttled == statuses.count(429)
    finally:
        await stack.gateway.stop(timeout=2.0)
        await stack.simulator.stop()


async def test_unknown_routes_and_methods_answer_json(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    status, body, _ = await call(http, "GET", f"{stack.http_url}/v1/nothing-here")
    assert_error(status, body, 404, "not_found")
    status, body, headers = await call(http, "GET", f"{stack.http_url}/v1/messages",
                                       headers=ACME_AUTH)
    assert_error(status, body, 405, "method_not_allowed")
    assert headers["Allow"] == "POST"
    status, body, headers = await call(http, "DELETE", f"{stack.http_url}/healthz")
    assert_error(status, body, 405, "method_not_allowed")
    assert "GET" in headers["Allow"]


async def test_a_failure_inside_the_pipeline_is_a_json_500(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    def broken(message: Message) -> None:
        raise RuntimeError("secret internals")

    assert stack.gateway.pipeline is not None
    stack.gateway.pipeline.stages.append(broken)
    status, body, _ = await send(http, stack, {"to": "+33612345678", "text": "hi"})
    assert_error(status, body, 500, "internal_error")
    assert "secret" not in body["detail"] and "Traceback" not in body["detail"]
    stack.gateway.pipeline.stages.remove(broken)
    status, body, _ = await send(http, stack, {"to": "+33612345678", "text": "hi"})
    assert status == 202, body


# --- ops routes ------------------------------------------------------------------------------


async def test_healthz_and_readyz_when_everything_is_up(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    status, body, _ = await call(http, "GET", f"{stack.http_url}/healthz")
    assert (status, body) == (200, {"status": "ok"})
    status, body, _ = await call(http, "GET", f"{stack.http_url}/readyz")
    assert status == 200, body
    assert body["ready"] is True
    assert body["redis"] is True
    assert body["upstreams"]["sim"]["bound"] == 1


async def test_readyz_is_503_and_sends_fail_fast_while_the_carrier_is_down(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    await stack.simulator.stop()

    async def not_ready() -> Any:
        status, body, _ = await call(http, "GET", f"{stack.http_url}/readyz")
        return body if status == 503 else None

    body = await eventually(not_ready)
    assert body["ready"] is False
    assert body["redis"] is True
    assert body["upstreams"]["sim"]["bound"] == 0
    assert body["upstreams"]["sim"]["transmitting"] == 0
    status, body, headers = await send(http, stack, {"to": "+33612345678", "text": "hi"})
    assert_error(status, body, 503, "upstream_unavailable")
    assert int(headers["Retry-After"]) >= 1
    status, _, _ = await call(http, "GET", f"{stack.http_url}/healthz")
    assert status == 200  # alive, only not ready


async def test_metrics_count_http_sends_by_account_class_and_outcome(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    assert (await send(http, stack, {"to": "+33612345678", "text": "a"}))[0] == 202
    assert (await send(http, stack, {"to": "+33612345678", "text": "b",
                                     "class": "transactional"}))[0] == 202
    assert (await send(http, stack, {"to": "12", "text": "c"}))[0] == 400
    status, text, headers = await call(http, "GET", f"{stack.http_url}/metrics")
    assert status == 200
    assert headers["Content-Type"].startswith("text/plain")
    mt = "stopgate_mt_total"
    # "a" has no cue and falls to acme's default_class; "b" says transactional itself.
    assert metric(text, mt, {"account": "acme", "class": "transactional",
                             "outcome": "forwarded"}) == 2
    assert metric(text, mt, {"account": "acme", "outcome": "rejected"}) == 1
    count = next(line for line in text.splitlines()
                 if line.startswith("stopgate_submit_latency_seconds_count"))
    assert float(count.rsplit(" ", 1)[1]) == 3
