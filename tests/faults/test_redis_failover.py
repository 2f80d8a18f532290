"""A Redis master failover under load (Sentinel): SIGKILL the master while three sender
sessions keep a mixed stream going, and let the sentinel promote the replica.

The gateway runs in the test's loop on a master + replica + sentinel of this test
(tests/support/redis_servers.py); it is never restarted. What must hold:

- nothing promotional reaches an opted-out number, at any time; that includes an
  opt-out written through to the old master just before it died and never
  replicated (the replica frozen, its link cut meanwhile): the promoted replica
  lacks it, so after a Redis error the keeper compares the ledger's count with the
  cache's before calling it ready, and rebuilds it from the ledger;
- promotional submits are refused with ESME_RX_T_APPN (0x64) while the state is
  unknown (the master dead, the failover under way, the counts being compared);
- transactional submits are answered ESME_ROK and reach the carrier throughout:
  they do not wait for Redis. Their DLR id map entries are written to Redis in the
  background; while no master answers, those writes fail, and the receipts of those
  messages are routed from this process's memory (as in tests/faults/test_redis_faults.py),
  which another instance could not do;
- once the sentinel has promoted the replica the gateway recovers by itself: the
  client asks the sentinel again, the keeper checks the new master's eviction
  policy and the counts, and promotions flow (or are blocked) again.
"""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

from tests.faults.mixed_traffic import MixedTraffic, statuses
from tests.faults.test_redis_faults import delivered_tags, promotions_delivered, until
from tests.integration.policy_stack import (
    BLOCKED,
    UNKNOWN_STATE,
    digits,
    policy_stack,
    send_one,
    submit,
)
from tests.integration.senders import bind_sender
from tests.support.redis_servers import sentinel_set
from tests.support.waiting import eventually

OPTED_OUT = ("+33611000001", "+33611000002")
OTHERS = ("+33633000001", "+33633000002")
#: Opted out just before the kill, on the master only: the promoted replica never saw it.
UNREPLICATED = "+33655000001"
TARGETS = (*OPTED_OUT, *OTHERS)
OK = 0
BOUND = 30.0


def allowed(klass: str, to: str, phase: str) -> set[int]:
    if klass == "transactional":
        return {OK}
    if phase == "down":
        return {UNKNOWN_STATE}
    answer = BLOCKED if to in OPTED_OUT else OK
    return {answer} if phase in ("before", "after") else {answer, UNKNOWN_STATE}


async def test_a_master_failover_under_load_fails_promotions_closed_and_recovers(
        tmp_path: Path) -> None:
    with sentinel_set(tmp_path / "redis", down_after_ms=1000) as topology:
        storage = {"redis_url": "", "redis_sentinels": topology.addresses,
                   "redis_service": "mymaster"}
        async with policy_stack("", tmp_path / "gateway", storage=storage) as stack:
            gateway = stack.gateway
            for number in OPTED_OUT:
                await gateway.suppressions.optout("acme", number, source="api")
            await eventually(lambda: topology.replica.client().info("replication")
                             .get("master_repl_offset") == topology.master.client()
                             .info("replication").get("master_repl_offset"),
                             "the replica caught up", BOUND)
            traffic = MixedTraffic(stack.smpp_port, TARGETS)
            await traffic.start()
            try:
                await until(traffic, lambda: len(traffic.where(phase="before")) >= 20,
                            "traffic before the failover")
                # The replica is frozen and its link cut; an opt-out reaches the master
                # only; the master dies; the replica wakes to find it gone.
                replica_pid = topology.replica.process.pid  # type: ignore[union-attr]
                os.kill(replica_pid, signal.SIGSTOP)
                try:
                    await asyncio.to_thread(topology.master.client().execute_command,
                                            "CLIENT", "KILL", "TYPE", "replica")
                    await gateway.suppressions.optout("acme", UNREPLICATED, source="api")
                    traffic.phase = "dying"
                    await asyncio.to_thread(topology.master.kill)
                finally:
                    os.kill(replica_pid, signal.SIGCONT)
                killed_at = delivered_tags(stack)
                await until(traffic, lambda: not gateway.keeper.ready,
                            "the keeper to notice the dead master")
                traffic.phase = "down"
                await until(traffic, lambda: len(traffic.where(phase="down")) >= 20,
                            "traffic while no master answers")
                traffic.phase = "failing-over"
                await until(traffic, lambda: topology.master_port() == topology.replica.port,
                            "the sentinel to promote the replica", BOUND)
                await until(traffic, lambda: gateway.keeper.ready,
                            "the keeper to call the cache ready on the new master", BOUND)
                traffic.phase = "after"
                await until(traffic, lambda: len([
                    s for s in traffic.where(phase="after", klass="promotional", to=OTHERS)
                    if s.status == OK]) >= 4, "promotions flowing again")
                await traffic.halt()
            finally:
                await traffic.close()

            # The unreplicated opt-out holds: the keeper rebuilt the cache from the ledger.
            assert gateway.keeper.rebuilds >= 2
            assert await gateway.cache.lookup("acme", UNREPLICATED)
            link, _ = await bind_sender(stack.smpp_port)
            assert (await send_one(link, submit(to=UNREPLICATED))).command_status == BLOCKED
            assert (await send_one(link, submit(to=OPTED_OUT[0]))).command_status == BLOCKED
            await asyncio.wait_for(link.unbind(), 5.0)

            for sent in traffic.sent:
                assert all(status == OK for status in sent.statuses[:-1]), sent
                assert sent.status in (allowed(sent.klass, sent.to, sent.phase)
                                       | allowed(sent.klass, sent.to, sent.answered_in)), sent
            assert not promotions_delivered(stack, {*OPTED_OUT, UNREPLICATED})
            assert statuses(traffic.where(phase="down", klass="promotional")) == {UNKNOWN_STATE}
            down_trx = {s.tag for s in traffic.where(phase="down", klass="transactional")}
            assert down_trx and down_trx <= delivered_tags(stack) - killed_at
            accepted = {s.tag for s in traffic.sent if s.status == OK}
            await eventually(lambda: accepted <= delivered_tags(stack),
                             "every accepted message at the carrier", BOUND)
            counts = {phase: {k: sorted(statuses(traffic.where(phase=phase, klass=k)))
                              for k in ("promotional", "transactional")}
                      for phase in ("before", "down", "failing-over", "after")}
            print(f"\nfailover: {len(traffic.sent)} messages; final statuses by phase {counts}")
    assert not any(m.destination_addr == digits(UNREPLICATED) for m in stack.simulator.messages())
