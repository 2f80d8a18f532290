"""The real gateway on a PostgreSQL ledger (``storage.ledger = "postgresql://..."``): a
carrier's STOP is recorded there and blocks the next promotional MT, and a gateway started
later, with an empty Redis, rebuilds its cache from PostgreSQL and still blocks it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from tests.integration.policy_stack import BLOCKED, TIMEOUT, policy_stack, send_one, submit
from tests.integration.senders import bind_sender
from tests.integration.test_keywords import ACME_KEYWORDS, GLOBEX_SHARED, SHORTCODE
from tests.support.ledgers import Raw, scratch_schema
from tests.support.waiting import eventually

NUMBER = "+33612000077"


@pytest.fixture
def ledger_url(postgres_dsn: str) -> Iterator[str]:
    with scratch_schema(postgres_dsn) as url:
        yield url


async def test_a_stop_recorded_in_postgresql_blocks_the_next_promotion(
        flushed_redis: str, tmp_path: Path, ledger_url: str) -> None:
    db = Raw("postgresql", ledger_url)
    storage = {"redis_url": flushed_redis, "ledger": ledger_url}
    accounts = [ACME_KEYWORDS, GLOBEX_SHARED]
    async with policy_stack(flushed_redis, tmp_path, accounts=accounts,
                            storage=storage) as stack:
        acme, _ = await bind_sender(stack.smpp_port)
        before = await asyncio.wait_for(send_one(acme, submit(to=NUMBER)), TIMEOUT)
        assert before.command_status == 0
        await stack.simulator.inject_mo(NUMBER, SHORTCODE, "STOP")
        await eventually(lambda: db.rows("SELECT scope, source FROM suppressions WHERE "
                                         "number = ? ORDER BY scope", NUMBER) == [
            ("acme", "keyword"), ("globex", "keyword")], "STOP in PostgreSQL")
        assert db.rows("SELECT scope, keyword, changed FROM events WHERE number = ? "
                       "ORDER BY id", NUMBER) == [("acme", "STOP", True),
                                                  ("globex", "STOP", True)]
        after = await asyncio.wait_for(send_one(acme, submit(to=NUMBER)), TIMEOUT)
        assert after.command_status == BLOCKED
        await acme.unbind()
    assert not (tmp_path / "ledger.sqlite3").exists()  # nothing went to a SQLite file

    client = aioredis.Redis.from_url(flushed_redis)
    await client.flushdb()  # the cache is gone: only PostgreSQL knows
    await client.aclose()
    async with policy_stack(flushed_redis, tmp_path / "again", accounts=accounts,
                            storage=storage) as stack:
        acme, _ = await bind_sender(stack.smpp_port)
        again = await asyncio.wait_for(send_one(acme, submit(to=NUMBER)), TIMEOUT)
        assert again.command_status == BLOCKED
        other = await asyncio.wait_for(send_one(acme, submit(to="+33612000078")), TIMEOUT)
        assert other.command_status == 0
        await acme.unbind()
