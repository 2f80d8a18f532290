"""HTTP limits: bodies too big or too slow, headers too slow, too many connections.

Each test starts a real gateway on loopback with the limit turned down, goes over
it with a real HTTP client or a raw socket, and checks the exact answer, the
metric that counts it, and that other clients are served as usual. Connections
from 127.0.0.2 (still to 127.0.0.1) stand for a second client machine.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import orjson
import pytest

from tests.faults.test_limits import OTHER_HOST, TIMEOUT
from tests.integration.conftest import Stack
from tests.integration.senders import running_stack
from tests.support.metrics import metric
from tests.support.waiting import eventually

# --- HTTP: bodies --------------------------------------------------------------------------


async def over_the_limit_chunked() -> AsyncIterator[bytes]:
    """3 KiB without Content-Length: the limit is counted as the body streams."""
    for _ in range(3):
        yield b"a=" + b"x" * 1022


async def test_every_route_that_reads_a_body_answers_413_json_over_max_body_size(
    flushed_redis: str, tmp_path: Path,
) -> None:
    async with running_stack(flushed_redis, tmp_path, http={"max_body_size": 2048}) as stack, \
            aiohttp.ClientSession() as http:
        assert stack.gateway.ledger is not None
        token = next(iter((await stack.gateway.ledger.tokens_for(
            "acme", ["+33612345678"])).values()))
        auth = {"Authorization": "Bearer acme-key"}
        routes = [
            ("POST", "/v1/messages", auth, "application/json"),
            ("PUT", "/v1/suppressions/+33612345678", auth, "application/json"),
            ("POST", f"/o/{token}", {}, "application/x-www-form-urlencoded"),
            ("POST", f"/o/{token}/reason", {}, "application/x-www-form-urlencoded"),
        ]
        for method, path, headers, content_type in routes:
            for body in (b"a=" + b"x" * 3000, over_the_limit_chunked()):
                async with http.request(method, stack.http_url + path, data=body, headers={
                        **headers, "Content-Type": content_type}) as response:
                    assert response.status == 413, (method, path)
                    answer = orjson.loads(await response.read())
                    assert answer["error"] == "body_too_large", answer
                    assert answer["detail"]
        # Nothing was sent or opted out, and the same routes still work within the limit.
        assert stack.simulator.messages() == []
        async with http.get(f"{stack.http_url}/v1/suppressions/+33612345678",
                            headers=auth) as response:
            assert (await response.json())["suppressed"] is False
        async with http.post(f"{stack.http_url}/v1/messages", headers=auth,
                             json={"to": "+33612345678", "text": "hi"}) as response:
            assert response.status == 202


# --- HTTP: slow clients and connection floods --------------------------------------------


async def open_http(stack: Stack, host: str = "127.0.0.1"
                    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.wait_for(asyncio.open_connection(
        "127.0.0.1", stack.gateway.http_port, local_addr=(host, 0)), TIMEOUT)


async def read_response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    """(status, headers by lower-case name, body) of one response with a Content-Length."""
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), TIMEOUT)
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in
               (line.partition(":") for line in lines if line)}
    body = await asyncio.wait_for(reader.readexactly(int(headers["content-length"])), TIMEOUT)
    return int(status_line.split()[1]), headers, body


async def closed_by_server(reader: asyncio.StreamReader) -> bool:
    try:
        return await asyncio.wait_for(reader.read(), TIMEOUT) == b""
    except ConnectionResetError:
        return True


async def healthz(http: aiohttp.ClientSession, stack: Stack) -> int:
    async with http.get(f"{stack.http_url}/healthz") as response:
        return response.status


async def test_http_headers_trickled_a_byte_at_a_time_are_cut_off_after_header_timeout(
    flushed_redis: str, tmp_path: Path,
) -> None:
    async with running_stack(flushed_redis, tmp_path, http={"header_timeout": 0.5}) as stack, \
            aiohttp.ClientSession() as http:
        loop = asyncio.get_running_loop()
        started = loop.time()
        reader, writer = await open_http(stack)
        idle_reader, idle_writer = await open_http(stack)  # connects, never sends a byte
        header = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"z" * 200

        async def trickling() -> int:
            for sent in range(len(header)):
                if reader.at_eof() or writer.is_closing():
                    return sent
                writer.write(header[sent:sent + 1])
                await asyncio.sleep(0.05)
            return len(header)

        sending = asyncio.create_task(trickling())
        assert await healthz(http, stack) == 200  # others are served meanwhile
        assert await closed_by_server(reader)
        assert await closed_by_server(idle_reader)
        assert loop.time() - started >= 0.5
        assert await asyncio.wait_for(sending, TIMEOUT) < len(header)
        # Only the connection that had begun a request counts as a slow one.
        assert metric(stack, "stopgate_http_connections_closed_total",
                      {"reason": "header_timeout"}) == 1
        assert await healthz(http, stack) == 200
        writer.close()
        idle_writer.close()


@pytest.mark.parametrize("framing", ["content_length", "chunked"])
async def test_an_http_body_sent_too_slowly_gets_408_json_and_a_close(
    flushed_redis: str, tmp_path: Path, framing: str,
) -> None:
    async with running_stack(flushed_redis, tmp_path, http={"body_timeout": 0.5}) as stack, \
            aiohttp.ClientSession() as http:
        reader, writer = await open_http(stack)
        body = orjson.dumps({"to": "+33612345678", "text": "slow " * 20})
        length = (f"Content-Length: {len(body)}" if framing == "content_length"
                  else "Transfer-Encoding: chunked")
        writer.write(f"POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     f"Authorization: Bearer acme-key\r\nContent-Type: application/json\r\n"
                     f"{length}\r\n\r\n".encode())

        async def trickling() -> None:
            for byte in body:
                if reader.at_eof() or writer.is_closing():
                    return
                one = bytes([byte])
                writer.write(one if framing == "content_length" else b"1\r\n" + one + b"\r\n")
                await asyncio.sleep(0.05)

        sending = asyncio.create_task(trickling())
        status, headers, answer = await read_response(reader)
        assert status == 408
        assert headers["content-type"].startswith("application/json")
        error = orjson.loads(answer)
        assert error["error"] == "request_timeout"
        assert "0.5s" in error["detail"]
        assert await closed_by_server(reader)
        await asyncio.wait_for(sending, TIMEOUT)
        writer.close()
        assert metric(stack, "stopgate_http_connections_closed_total",
                      {"reason": "body_timeout"}) == 1
        assert stack.simulator.messages() == []
        async with http.post(f"{stack.http_url}/v1/messages",
                             headers={"Authorization": "Bearer acme-key"},
                             json={"to": "+33612345678", "text": "on time"}) as response:
            assert response.status == 202
        await eventually(lambda: len(stack.simulator.messages()) == 1, "the prompt one out")


async def test_http_connections_over_the_caps_get_503_json_and_a_close(
    flushed_redis: str, tmp_path: Path,
) -> None:
    limits = {"max_connections": 6, "max_connections_per_address": 4, "header_timeout": 20}
    async with running_stack(flushed_redis, tmp_path, http=limits) as stack:
        held = [await open_http(stack) for _ in range(4)]

        async def refused(host: str, detail: str) -> None:
            reader, writer = await open_http(stack, host)
            status, headers, body = await read_response(reader)
            assert status == 503
            assert headers["retry-after"] == "1"
            answer = orjson.loads(body)
            assert answer["error"] == "too_many_connections"
            assert re.search(detail, answer["detail"])
            assert await closed_by_server(reader)
            writer.close()

        await refused("127.0.0.1", "from your address")
        # Another address may still connect, until the gateway's own cap.
        held += [await open_http(stack, OTHER_HOST) for _ in range(2)]
        await refused(OTHER_HOST, "this gateway has too many")
        assert metric(stack, "stopgate_http_connections_closed_total",
                      {"reason": "max_connections_per_address"}) == 1
        assert metric(stack, "stopgate_http_connections_closed_total",
                      {"reason": "max_connections"}) == 1
        # The connections held are served as usual.
        reader, writer = held[-1]
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        status, _, body = await read_response(reader)
        assert (status, orjson.loads(body)) == (200, {"status": "ok"})
        # Closing some makes room again.
        for _, writer in held[:4]:
            writer.close()
        async with aiohttp.ClientSession() as http:
            for _ in range(100):
                try:
                    if await healthz(http, stack) == 200:
                        break
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.05)
            assert await healthz(http, stack) == 200
        for _, writer in held[4:]:
            writer.close()
