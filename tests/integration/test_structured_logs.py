"""Structured logs of a real gateway: what an operator's log pipeline receives.

A gateway on loopback (simulator carrier, the session's Redis) with JSON logs on a
handler of the root logger: a sender binds, one promotional message goes out, one
to an opted-out number is blocked, a recipient replies STOP, the sender unbinds, the
gateway stops. Every line must parse as JSON and carry the events and fields the
README lists; numbers are masked unless ``log.mask_numbers = false``; per-MT
decisions appear at debug only. The last test runs ``stopgate serve`` itself with
``STOPGATE_LOG_FORMAT=json`` and reads its stderr.
"""

from __future__ import annotations

import asyncio
import io
import logging
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest

from gateway.config.model import Log
from gateway.observability import logs
from gateway.observability.logs import mask_number
from simulator.carrier import CarrierSimulator
from tests.integration.policy_stack import (
    BLOCKED,
    OPTED_OUT,
    OTHER_FR,
    PROMO_TEXT,
    opt_out,
    policy_stack,
    send_one,
    submit,
)
from tests.integration.senders import bind_sender
from tests.integration.served import start_serve_ports, stop_process, write_config
from tests.support.waiting import eventually

STOPPER = "+33698765432"  # replies STOP in the scene
SHORTCODE = "36173"
EVERY_NUMBER = (OPTED_OUT, OTHER_FR, STOPPER)
BOUND = 20.0


@pytest.fixture
def root_log() -> Iterator[list[logging.Handler]]:
    """Handlers the test installs on the root logger, removed (and its level reset) after."""
    root = logging.getLogger()
    level = root.level
    installed: list[logging.Handler] = []
    yield installed
    for handler in installed:
        root.removeHandler(handler)
    root.setLevel(level)


def parsed(stream: io.StringIO) -> list[dict[str, Any]]:
    lines = stream.getvalue().splitlines()
    assert lines, "the gateway logged nothing"
    out = [orjson.loads(line) for line in lines]  # every line is one JSON object
    for line in out:
        assert {"ts", "level", "logger", "event", "message"} <= set(line), line
    return out


def events(lines: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [line for line in lines if line["event"] == name]


async def run_scene(flushed_redis: str, tmp_path: Path) -> dict[str, str]:
    """The scene of the module docstring; the message ids the sender was given."""
    async with policy_stack(flushed_redis, tmp_path) as stack:
        await opt_out(stack, "acme", OPTED_OUT)
        link, _ = await bind_sender(stack.smpp_port)
        forwarded = await send_one(link, submit(PROMO_TEXT, to=OTHER_FR))
        assert forwarded.command_status == 0
        blocked = await send_one(link, submit(PROMO_TEXT, to=OPTED_OUT))
        assert blocked.command_status == BLOCKED
        await stack.simulator.inject_mo(STOPPER, SHORTCODE, "STOP")
        assert stack.gateway.ledger is not None
        ledger = stack.gateway.ledger.ledger
        await eventually(lambda: "acme" in ledger.suppressed_scopes(STOPPER), "the STOP")
        await eventually(lambda: any(m.destination_addr == STOPPER[1:]
                                     for m in stack.simulator.messages()), "the confirmation")
        await asyncio.wait_for(link.unbind(), BOUND)
        return {"forwarded": forwarded.message_id}


@pytest.mark.parametrize(("level", "mask"), [("info", True), ("debug", True),
                                             ("debug", False)],
                         ids=["info-masked", "debug-masked", "debug-unmasked"])
async def test_json_logs_tell_binds_opt_outs_and_decisions_with_numbers_masked(
    flushed_redis: str, tmp_path: Path, root_log: list[logging.Handler], level: str, mask: bool
) -> None:
    stream = io.StringIO()
    root_log.append(logs.configure(Log(level=level, format="json",  # type: ignore[arg-type]
                                       mask_numbers=mask), stream))
    ids = await asyncio.wait_for(run_scene(flushed_redis, tmp_path), 60)
    lines = parsed(stream)
    text = stream.getvalue()

    # Start and stop, with where it listens.
    [started] = events(lines, "gateway_started")
    assert started["smpp_listen"].startswith("127.0.0.1:") and started["workers"] == 1
    assert events(lines, "gateway_stopping") and events(lines, "gateway_stopped")
    assert events(lines, "redis_embedded_started") == []  # the session's Redis was given
    # The carrier link and the cache that makes promotional traffic possible.
    [carrier] = events(lines, "carrier_bound")
    assert carrier["upstream"] == "sim" and carrier["bind"] == "transceiver"
    assert carrier["level"] == "info" and "password" not in carrier
    assert events(lines, "suppression_rebuild_started")
    [rebuilt] = events(lines, "suppression_rebuild_done")
    assert rebuilt["entries"] == 0 and rebuilt["members"] == 0
    assert events(lines, "fail_closed_off")[0]["level"] == "info"  # start, not recovery
    # The sender's session.
    [bound] = events(lines, "sender_bound")
    assert (bound["account"], bound["bind"]) == ("acme", "transceiver")
    assert bound["peer"].startswith("127.0.0.1:")
    [unbound] = events(lines, "sender_unbound")
    assert (unbound["account"], unbound["peer"]) == ("acme", bound["peer"])
    # Opt-outs: by the API, then by the STOP reply to acme's shortcode.
    optouts = events(lines, "optout_recorded")
    shown = (lambda n: mask_number(n)) if mask else (lambda n: n)
    assert {(o["account"], o["number"], o["source"], o["keyword"], o["changed"])
            for o in optouts} == {
        ("acme", shown(OPTED_OUT), "api", None, True),
        ("acme", shown(STOPPER), "keyword", "STOP", True),
    }
    assert {o["number_called"] for o in optouts if o["source"] == "keyword"} == {SHORTCODE}

    # Per-MT decisions: debug only.
    decisions = events(lines, "mt_decision")
    if level == "info":
        assert decisions == []
        assert {line["level"] for line in lines} <= {"info", "warning"}
    else:
        assert {d["level"] for d in decisions} == {"debug"}
        # OTHER_FR and OPTED_OUT mask alike (+336123*****): told apart by their decision.
        [out] = [d for d in decisions if d["class"] == "promotional"
                 and d["decision"] == "forwarded"]
        assert (out["number"], out["message_id"]) == (shown(OTHER_FR), ids["forwarded"])
        assert (out["account"], out["class"], out["decision"], out["country"], out["parts"],
                out["status"], out["via"]) == ("acme", "promotional", "forwarded", "FR", 1,
                                               "0x00000000", "smpp")
        assert out["rule"].startswith("explicit") and out["footer"] == "STOP au 36173"
        [refused] = [d for d in decisions if d["decision"] == "blocked"]
        assert (refused["number"], refused["status"], refused["reason"], refused["class"]) == (
            shown(OPTED_OUT), "0x00000065", "blocked", "promotional")
        [confirmation] = [d for d in decisions if d["class"] == "transactional"]
        assert (confirmation["number"], confirmation["decision"]) == (
            shown(STOPPER), "forwarded")
        assert len(decisions) == 3

    # No number whole anywhere (fields, messages, tracebacks) unless the operator said so.
    for number in EVERY_NUMBER:
        assert (number[1:] in text) is (not mask), number
        if mask:
            assert mask_number(number) in text


async def ready(http_port: int) -> None:
    """Until /readyz says 200 (carrier bound, suppression cache complete)."""
    async with aiohttp.ClientSession() as http:
        for _ in range(int(BOUND / 0.05)):
            async with http.get(f"http://127.0.0.1:{http_port}/readyz") as response:
                if response.status == 200:
                    return
            await asyncio.sleep(0.05)
    raise AssertionError(f"stopgate serve not ready within {BOUND:g}s")


@pytest.mark.parametrize("workers", [1, 2])
async def test_stopgate_serve_writes_json_lines_on_stderr(
    flushed_redis: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: int
) -> None:
    monkeypatch.setenv("STOPGATE_LOG_FORMAT", "json")  # inherited by the subprocess
    simulator = CarrierSimulator(credentials={"proxy": "secret"})
    await simulator.start("127.0.0.1", 0)
    config = write_config(tmp_path / "stopgate.toml", simulator.port, tmp_path / "data",
                          redis_url=flushed_redis, workers=workers)
    stderr = tmp_path / "stderr.log"
    try:
        process, smpp_port, http_port = await start_serve_ports(config, stderr, BOUND)
        try:
            await ready(http_port)
            link, _ = await bind_sender(smpp_port)
            await asyncio.wait_for(link.unbind(), BOUND)
            process.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(process.wait(), BOUND) == 0, stderr.read_text()
        finally:
            if process.returncode is None:
                await stop_process(process, BOUND)
    finally:
        await simulator.stop()
    lines = [orjson.loads(line) for line in stderr.read_text().splitlines()]
    names = [line["event"] for line in lines]
    for name in ("gateway_started", "carrier_bound", "fail_closed_off", "sender_bound",
                 "sender_unbound", "gateway_stopping", "gateway_stopped"):
        assert name in names, (name, names)
    # One gateway_started per process that serves (and the supervising parent's, with
    # workers); every worker's lines say which worker and pid wrote them.
    started = events(lines, "gateway_started")
    assert {line["smpp_listen"] for line in started} == {f"127.0.0.1:{smpp_port}"}
    assert {line["workers"] for line in started} == {workers}
    if workers > 1:
        assert len(started) == workers + 1
        assert {line.get("worker") for line in events(lines, "worker_starting")} == {0, 1}
        assert {line["worker"] for line in events(lines, "carrier_bound")} == {0, 1}
        assert all(isinstance(line["pid"], int) for line in events(lines, "carrier_bound"))
    assert "acmepass" not in stderr.read_text() and "secret" not in stderr.read_text()
