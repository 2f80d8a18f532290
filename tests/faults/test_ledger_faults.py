"""The ledger cannot record: another process holds its lock, or the disk refuses writes.

Both are real conditions, no mocks: (a) the test opens the SQLite ledger itself
and holds ``BEGIN EXCLUSIVE`` for longer than the gateway's
``storage.ledger_busy_timeout``; (b) a real ``stopgate serve`` subprocess (on the
session's Redis, so no embedded redis-server shares its limits) gets
``RLIMIT_FSIZE`` lowered to one byte with prlimit: every write the kernel sees
past the first byte of any file fails with EFBIG (CPython ignores SIGXFSZ), so
SQLite reports an I/O error on each commit, as on a failing or full disk; then
the limit is put back.

Expected, in both: a STOP is not acknowledged (deliver_sm_resp ESME_RX_T_APPN,
the carrier retries), promotional traffic is refused with ESME_RX_T_APPN (fail
closed), transactional traffic flows, /readyz is 503 with ``ledger: false`` and
its reason, ``stopgate_ledger_writable`` is 0; once the condition clears the
gateway recovers by itself, the carrier's retried STOP is recorded exactly
once, opt-outs stored before the fault still block, and /readyz is 200 again.
"""

from __future__ import annotations

import asyncio
import contextlib
import resource
import sqlite3
from pathlib import Path
from typing import Any

import aiohttp

from gateway.ledger.model import DEFAULT_FILE
from simulator.carrier import CarrierSimulator
from tests.faults.carrier_side import MoAnswers, ledger_events
from tests.integration.policy_stack import (
    ACME_AUTO,
    BLOCKED,
    GLOBEX_AUTO,
    OPTED_OUT,
    OTHER_FR,
    OTP_TEXT,
    UNKNOWN_STATE,
    delivered_to,
    opt_out,
    send_one,
    submit,
)
from tests.integration.senders import bind_sender, running_stack
from tests.integration.served import SHORTCODE, start_serve_ports, stop_process, write_config
from tests.support.metrics import metric
from tests.support.waiting import eventually

STOPPER = "+33612000111"  # sends STOP while the ledger cannot record
ROK = 0
BOUND = 20.0


def patient_carrier() -> CarrierSimulator:
    """A carrier that resends a refused or unanswered MO every 0.2 s, for a long while."""
    return CarrierSimulator(credentials={"proxy": "secret"}, deliver_timeout=3.0,
                            retry_delay=0.2, deliver_attempts=1000)


async def readyz(http: aiohttp.ClientSession, base: str) -> tuple[int, dict[str, Any]]:
    async with asyncio.timeout(BOUND):
        async with http.get(f"{base}/readyz") as response:
            return response.status, await response.json()


async def until_readyz(http: aiohttp.ClientSession, base: str, status: int) -> dict[str, Any]:
    """Poll /readyz until it answers ``status``; its body then."""
    async with asyncio.timeout(BOUND):
        while True:
            got, body = await readyz(http, base)
            if got == status:
                return body
            await asyncio.sleep(0.05)


async def test_stop_is_not_acknowledged_and_promotions_refused_while_the_ledger_is_locked(
    flushed_redis: str, tmp_path: Path,
) -> None:
    simulator = patient_carrier()
    await simulator.start("127.0.0.1", 0)
    async with running_stack(flushed_redis, tmp_path, simulator,
                             accounts=[ACME_AUTO, GLOBEX_AUTO],
                             storage={"ledger_busy_timeout": "300ms"}) as stack, \
            aiohttp.ClientSession() as http:
        answers = MoAnswers(simulator)
        await opt_out(stack, "acme", OPTED_OUT)  # stored before the fault
        link, _ = await bind_sender(stack.smpp_port)
        assert (await readyz(http, stack.http_url))[0] == 200

        locker = sqlite3.connect(tmp_path / DEFAULT_FILE, timeout=5.0, isolation_level=None,
                                 check_same_thread=False)
        try:
            await asyncio.to_thread(locker.execute, "BEGIN EXCLUSIVE")
            await simulator.inject_mo(STOPPER, SHORTCODE, "STOP")
            await eventually(lambda: UNKNOWN_STATE in answers.statuses(STOPPER),
                             "the STOP answered ESME_RX_T_APPN", BOUND)
            body = await until_readyz(http, stack.http_url, 503)
            assert body["ledger"] is False and body["reasons"] == {"ledger": "locked"}
            assert body["redis"] is True and body["suppression_cache"] is True
            assert body["upstreams"]["sim"]["ready"] is True
            assert metric(stack, "stopgate_ledger_writable", {}) == 0
            assert metric(stack, "stopgate_ledger_write_failures_total",
                          {"reason": "locked"}) >= 1

            # Fail closed for promotions, whoever they go to; transactional traffic flows.
            for number in (OTHER_FR, OPTED_OUT):
                answer = await send_one(link, submit(to=number))
                assert answer.command_status == UNKNOWN_STATE, number
            answer = await send_one(link, submit(OTP_TEXT, to=OTHER_FR, service_type="OTP"))
            assert answer.command_status == ROK and answer.message_id
            assert delivered_to(stack, OTHER_FR) == [OTP_TEXT]
            assert not answers.acknowledged(STOPPER)
            assert ledger_events(tmp_path / DEFAULT_FILE, STOPPER) == []
        finally:
            await asyncio.to_thread(locker.rollback)
            locker.close()

        # The lock is gone: the carrier's next try is recorded, and everything is back.
        await eventually(lambda: answers.acknowledged(STOPPER), "the retried STOP acknowledged",
                         BOUND)
        body = await until_readyz(http, stack.http_url, 200)
        assert body["ledger"] is True and body["reasons"] == {}
        assert metric(stack, "stopgate_ledger_writable", {}) == 1
        events = ledger_events(tmp_path / DEFAULT_FILE, STOPPER)
        assert [(e["scope"], e["event"], e["changed"]) for e in events] == [
            ("acme", "optout", 1)]
        assert (await send_one(link, submit(to=STOPPER))).command_status == BLOCKED
        assert (await send_one(link, submit(to=OPTED_OUT))).command_status == BLOCKED
        assert (await send_one(link, submit(to=OTHER_FR))).command_status == ROK
        await link.unbind()


async def test_stop_waits_out_a_disk_that_refuses_writes_and_is_recorded_once_it_accepts(
    flushed_redis: str, tmp_path: Path,
) -> None:
    simulator = patient_carrier()
    await simulator.start("127.0.0.1", 0)
    answers = MoAnswers(simulator)
    data_dir = tmp_path / "data"
    config = write_config(tmp_path / "stopgate.toml", simulator.port, data_dir,
                          redis_url=flushed_redis)
    log = tmp_path / "stopgate.log"
    process, smpp_port, http_port = await start_serve_ports(config, log, BOUND)
    base = f"http://127.0.0.1:{http_port}"
    try:
        async with aiohttp.ClientSession() as http:
            await until_readyz(http, base, 200)
            link, _ = await bind_sender(smpp_port)
            assert (await send_one(link, submit(to=OPTED_OUT))).command_status == ROK
            await simulator.inject_mo(OPTED_OUT, SHORTCODE, "STOP")  # stored before the fault
            await eventually(lambda: answers.acknowledged(OPTED_OUT), "the first STOP", BOUND)

            limit = resource.prlimit(process.pid, resource.RLIMIT_FSIZE)
            resource.prlimit(process.pid, resource.RLIMIT_FSIZE, (1, limit[1]))
            try:
                await simulator.inject_mo(STOPPER, SHORTCODE, "STOP")
                await eventually(lambda: UNKNOWN_STATE in answers.statuses(STOPPER),
                                 "the STOP answered ESME_RX_T_APPN", BOUND)
                body = await until_readyz(http, base, 503)
                # EFBIG reaches SQLite as a failed write: SQLITE_IOERR_WRITE, "io_error"
                # (a real ENOSPC is SQLITE_FULL, "disk_full").
                assert body["ledger"] is False and body["reasons"] == {"ledger": "io_error"}
                async with http.get(f"{base}/metrics") as response:
                    scrape = await response.text()
                assert "stopgate_ledger_writable 0.0" in scrape
                assert 'stopgate_ledger_write_failures_total{reason="io_error"}' in scrape
                for number in (OTHER_FR, OPTED_OUT):
                    answer = await send_one(link, submit(to=number))
                    assert answer.command_status == UNKNOWN_STATE, number
                answer = await send_one(link, submit(OTP_TEXT, to=OTHER_FR, service_type="OTP"))
                assert answer.command_status == ROK
                assert [m.text for m in simulator.messages()
                        if m.destination_addr == OTHER_FR[1:]] == [OTP_TEXT]
                assert not answers.acknowledged(STOPPER)
            finally:
                resource.prlimit(process.pid, resource.RLIMIT_FSIZE, limit)

            await eventually(lambda: answers.acknowledged(STOPPER),
                             "the retried STOP acknowledged", BOUND)
            body = await until_readyz(http, base, 200)
            assert body["reasons"] == {}
            ledger = data_dir / DEFAULT_FILE
            assert [(e["scope"], e["event"], e["changed"])
                    for e in ledger_events(ledger, STOPPER)] == [("acme", "optout", 1)]
            assert [e["changed"] for e in ledger_events(ledger, OPTED_OUT)] == [1]
            assert (await send_one(link, submit(to=STOPPER))).command_status == BLOCKED
            assert (await send_one(link, submit(to=OPTED_OUT))).command_status == BLOCKED
            assert (await send_one(link, submit(to=OTHER_FR))).command_status == ROK
            with contextlib.suppress(Exception):
                await asyncio.wait_for(link.unbind(), 5.0)
    finally:
        await stop_process(process, BOUND)
        await simulator.stop()
