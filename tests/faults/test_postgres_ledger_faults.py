"""The gateway when its PostgreSQL ledger goes away and comes back (a server restart or a
failover, as the gateway sees it): the real gateway, the real test PostgreSQL, and a TCP
relay between them that the test cuts (every connection closed, new ones refused) and
restores.

Expected, as for a SQLite ledger that cannot record: a STOP is not acknowledged
(deliver_sm_resp ESME_RX_T_APPN, the carrier retries), promotional traffic is refused,
transactional flows, /readyz is 503 with ``ledger: unreachable``; once the server is
reachable again the gateway recovers by itself (no restart), the carrier's retried STOP
is recorded exactly once, and it blocks the next promotion.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
from psycopg.conninfo import conninfo_to_dict

from tests.faults.carrier_side import MoAnswers
from tests.faults.test_ledger_faults import (
    BOUND,
    ROK,
    STOPPER,
    patient_carrier,
    readyz,
    until_readyz,
)
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
from tests.integration.served import SHORTCODE
from tests.support.ledgers import CuttableLink, Raw, scratch_schema, through
from tests.support.metrics import metric
from tests.support.waiting import eventually


@pytest.fixture
def ledger_url(postgres_dsn: str) -> Iterator[str]:
    with scratch_schema(postgres_dsn) as url:
        yield url


async def test_stops_wait_out_a_lost_postgresql_and_are_recorded_once_it_is_back(
        flushed_redis: str, tmp_path: Path, ledger_url: str) -> None:
    params = conninfo_to_dict(ledger_url)
    db = Raw("postgresql", ledger_url)
    simulator = patient_carrier()
    await simulator.start("127.0.0.1", 0)
    with CuttableLink(params.get("host") or "127.0.0.1", int(params.get("port") or 5432)) as link:
        storage = {"ledger": through(ledger_url, link.port), "ledger_busy_timeout": "1s"}
        async with running_stack(flushed_redis, tmp_path, simulator,
                                 accounts=[ACME_AUTO, GLOBEX_AUTO], storage=storage) as stack, \
                aiohttp.ClientSession() as http:
            answers = MoAnswers(simulator)
            await opt_out(stack, "acme", OPTED_OUT)  # stored before the fault
            sender, _ = await bind_sender(stack.smpp_port)
            assert (await readyz(http, stack.http_url))[0] == 200

            link.cut()
            await simulator.inject_mo(STOPPER, SHORTCODE, "STOP")
            await eventually(lambda: UNKNOWN_STATE in answers.statuses(STOPPER),
                             "the STOP answered ESME_RX_T_APPN", BOUND)
            body = await until_readyz(http, stack.http_url, 503)
            assert body["ledger"] is False and body["reasons"] == {"ledger": "unreachable"}
            assert metric(stack, "stopgate_ledger_write_failures_total",
                          {"reason": "unreachable"}) >= 1
            for number in (OTHER_FR, OPTED_OUT):
                answer = await send_one(sender, submit(to=number))
                assert answer.command_status == UNKNOWN_STATE, number
            answer = await send_one(sender, submit(OTP_TEXT, to=OTHER_FR, service_type="OTP"))
            assert answer.command_status == ROK and answer.message_id
            assert delivered_to(stack, OTHER_FR) == [OTP_TEXT]
            assert not answers.acknowledged(STOPPER)
            assert db.rows("SELECT count(*) FROM events WHERE number = ?", STOPPER) == [(0,)]

            link.restore()
            await eventually(lambda: answers.acknowledged(STOPPER),
                             "the retried STOP acknowledged", BOUND)
            body = await until_readyz(http, stack.http_url, 200)
            assert body["ledger"] is True and body["reasons"] == {}
            assert db.rows("SELECT scope, event, changed FROM events WHERE number = ? "
                           "ORDER BY id", STOPPER) == [("acme", "optout", True)]
            assert (await send_one(sender, submit(to=STOPPER))).command_status == BLOCKED
            assert (await send_one(sender, submit(to=OPTED_OUT))).command_status == BLOCKED
            assert (await send_one(sender, submit(to=OTHER_FR))).command_status == ROK
            await sender.unbind()
