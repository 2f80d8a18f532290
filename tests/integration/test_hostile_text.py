"""Campaign names and reasons with control characters: stored as sent, shown escaped.

A sender names its campaign over SMPP (TLV 0x1501) and over HTTP (``campaign``)
with terminal escape sequences, a line feed followed by something shaped like a
table row, a C1 control and a bidi override; an API client gives such a reason.
The recipients reply STOP through the carrier simulator. The ledger and the HTTP
report keep the exact strings; ``stopgate report optouts`` (the real command, in
its own process, on the gateway's ledger) prints them escaped, with no escape
byte and no extra row; the text log escapes them and the JSON log decodes to
them exactly with nothing a terminal acts on left raw.
"""

from __future__ import annotations

import asyncio
import io
import logging
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import orjson
import pytest
import redis.asyncio as aioredis

from gateway.inbound.keywords import campaign_key
from gateway.observability.logs import StructuredFormatter
from gateway.observability.visible import UNSAFE
from smpp.constants import Tag
from tests.integration.policy_stack import ACME_HTTP, policy_stack, post_message, send_one, submit
from tests.integration.senders import bind_sender
from tests.integration.test_keywords import ACME_KEYWORDS, GLOBEX_SHARED, SHORTCODE, events
from tests.support.waiting import eventually

#: Over SMPP the TLV is Latin-1: ESC sequences, a line feed and a row, and a C1 CSI (0x9B).
SMPP_CAMPAIGN = "spring\x1b[31m\nforged-row       99         0\x9b2J"
#: Over HTTP any Unicode: a bidi override, an OSC title sequence ending in BEL, CR.
HTTP_CAMPAIGN = "summer\u202e\x1b]0;pwned\x07\rforged-row 7 0"
API_REASON = "other\x1b[2K\nforged-row       5         0"
SMPP_NUMBER = "+33612000041"
HTTP_NUMBER = "+33612000042"
API_NUMBER = "+33612000043"
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z ")


@pytest.fixture
def log_streams() -> Iterator[tuple[io.StringIO, io.StringIO]]:
    """The gateway's log lines as text and as JSON, through stopgate's own formatter."""
    root = logging.getLogger()
    level = root.level
    streams = (io.StringIO(), io.StringIO())
    handlers = []
    for stream, json in zip(streams, (False, True), strict=True):
        handler = logging.StreamHandler(stream)
        handler.setFormatter(StructuredFormatter(json=json))
        root.addHandler(handler)
        handlers.append(handler)
    root.setLevel(logging.INFO)
    yield streams
    for handler in handlers:
        root.removeHandler(handler)
    root.setLevel(level)


def report_optouts(data_dir: Path, by: str) -> str:
    """``stopgate report optouts --account acme --by BY`` in a process of its own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("STOPGATE_")}
    result = subprocess.run(
        [sys.executable, "-m", "gateway.cli.main", "report", "optouts", "--account", "acme",
         "--by", by],
        env=env | {"STOPGATE_SERVER_DATA_DIR": str(data_dir)}, capture_output=True,
        timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout.decode("utf-8")


def unsafe_in(text: str) -> list[str]:
    return sorted({f"U+{ord(c):04X}" for c in text if ord(c) in UNSAFE and c != "\n"})


async def test_campaigns_and_reasons_are_kept_exactly_and_shown_escaped(
    flushed_redis: str, tmp_path: Path, log_streams: tuple[io.StringIO, io.StringIO],
) -> None:
    text_log, json_log = log_streams
    async with policy_stack(flushed_redis, tmp_path,
                            accounts=[ACME_KEYWORDS, GLOBEX_SHARED]) as stack, \
            aiohttp.ClientSession() as http:
        redis = aioredis.Redis.from_url(flushed_redis)
        try:
            acme, _ = await bind_sender(stack.smpp_port)
            tlv = (Tag.stopgate_campaign, SMPP_CAMPAIGN.encode("latin-1") + b"\0")
            answer = await send_one(acme, submit(to=SMPP_NUMBER, tlvs=[tlv]))
            assert answer.command_status == 0
            status, body = await post_message(http, stack, {
                "to": HTTP_NUMBER, "from": SHORTCODE, "text": "Sale: 30% off shoes today",
                "class": "promotional", "campaign": HTTP_CAMPAIGN})
            assert status == 202, body
            for number, campaign in ((SMPP_NUMBER, SMPP_CAMPAIGN), (HTTP_NUMBER, HTTP_CAMPAIGN)):
                key = campaign_key("acme", number)
                for _ in range(500):  # attribution is written in the background
                    if await redis.get(key) == campaign.encode("utf-8"):
                        break
                    await asyncio.sleep(0.01)
                assert await redis.get(key) == campaign.encode("utf-8")
                await stack.simulator.inject_mo(number, SHORTCODE, "STOP")
            async with http.put(f"{stack.http_url}/v1/suppressions/{API_NUMBER}",
                                json={"reason": API_REASON},
                                headers={"Authorization": f"Bearer {ACME_HTTP}"}) as response:
                assert response.status in (200, 201), await response.text()
            for number in (SMPP_NUMBER, HTTP_NUMBER):
                await eventually(lambda number=number: any(
                    e["scope"] == "acme" for e in events(tmp_path, number)), "the STOP")

            # Stored byte for byte as sent.
            stored = {(e["number"], e["campaign"], e["reason"])
                      for n in (SMPP_NUMBER, HTTP_NUMBER, API_NUMBER)
                      for e in events(tmp_path, n) if e["scope"] == "acme"}
            assert stored == {(SMPP_NUMBER, SMPP_CAMPAIGN, None),
                              (HTTP_NUMBER, HTTP_CAMPAIGN, None), (API_NUMBER, None, API_REASON)}
            # The HTTP report is data: the exact strings, in JSON.
            async with http.get(f"{stack.http_url}/v1/reports/optouts",
                                headers={"Authorization": f"Bearer {ACME_HTTP}"}) as response:
                assert response.status == 200
                report = orjson.loads(await response.read())
            assert {(row["key"], row["optouts"]) for row in report["rows"]} == {
                (SMPP_CAMPAIGN, 1), (HTTP_CAMPAIGN, 1), (None, 1)}

            # The operator's terminal: no escape byte, no forged row, the keys escaped.
            for by, keys in (("campaign", [SMPP_CAMPAIGN, HTTP_CAMPAIGN]),
                             ("reason", [API_REASON])):
                table = report_optouts(tmp_path, by)
                assert unsafe_in(table) == [], table
                lines = table.splitlines()
                # title, header, one row per key (+ "(none)"), the rule, the total
                assert len(lines) == 2 + len(keys) + 1 + 2, table
                assert not any(line.startswith("forged-row") for line in lines), table
                assert lines[-1].split() == ["total", "3", "0"]
                for key in keys:
                    shown = key.encode("unicode_escape").decode("ascii")
                    assert any(line.startswith(shown) for line in lines), (shown, table)
            await asyncio.wait_for(acme.unbind(), 5.0)
        finally:
            await redis.aclose()

    # The text log: every line is a log line of stopgate's, nothing raw.
    text = text_log.getvalue()
    assert unsafe_in(text) == []
    recorded = [line for line in text.splitlines() if " optout_recorded: " in line]
    assert len(recorded) >= 3
    assert all(TIMESTAMP.match(line) for line in text.splitlines() if not line.startswith("  "))
    assert not any("forged-row" in line and " optout_recorded: " not in line
                   for line in text.splitlines())
    # The JSON log: the exact values once decoded, and no raw control or bidi character.
    raw = json_log.getvalue()
    assert unsafe_in(raw) == []
    fields = [orjson.loads(line) for line in raw.splitlines()]
    logged = {(f.get("campaign"), f.get("reason")) for f in fields
              if f["event"] == "optout_recorded" and f["account"] == "acme"}
    assert {(SMPP_CAMPAIGN, None), (HTTP_CAMPAIGN, None), (None, API_REASON)} <= logged
