"""DlrRouter against a real Redis and real sender receiver binds over loopback SMPP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest
import pytest_asyncio
from redis.asyncio import Redis

from gateway.config.model import Account, Dlr
from gateway.inbound.pending import encode_entry, now_ms
from gateway.inbound.receipts import receipt_id, receipt_text
from gateway.inbound.router import DlrRouter
from gateway.observability.metrics import Metrics
from gateway.process.redis_embedded import EmbeddedRedis
from gateway.smpp_link import LinkHandler, SmppLink
from smpp.constants import ESM_DELIVERY_RECEIPT, ESM_UDHI, CommandStatus, Tag
from smpp.pdu import DeliverSm, DeliverSmResp, Pdu
from smpp.session import BindKind, BindState, Role
from smpp.tlv import encode_tlv_str, tlv_str
from tests.support.waiting import eventually, within

ROK = CommandStatus.ESME_ROK
UPSTREAM = "carrier-a"
ACCOUNTS = (
    Account(system_id="acme", password="pw", numbers=("36173", "+33757000000")),
    Account(system_id="brand2", password="pw", numbers=("36173",)),
    Account(system_id="other", password="pw", numbers=("+33757000001",)),
)


# --- the sender side: stopgate's server links and the senders' receiver binds ---------------


class Senders(LinkHandler):
    """Server-side (SMSC role) handler that accepts any bind; the SenderDirectory of the tests."""

    def __init__(self) -> None:
        self.links: list[SmppLink] = []

    def on_bind_request(self, link: SmppLink, pdu: Pdu) -> None:
        link.owner = getattr(pdu, "system_id", "")
        link.accept_bind(pdu, "stopgate")
        self.links.append(link)

    def on_closed(self, link: SmppLink, unanswered: tuple[Pdu, ...]) -> None:
        if link in self.links:
            self.links.remove(link)

    def receivers(self, account: str) -> list[SmppLink]:
        return [link for link in self.links if link.owner == account
                and link.state in (BindState.BOUND_RX, BindState.BOUND_TRX)]

    def subscribe(self, listener: object) -> None:
        """The tests flush by hand: nobody is told of binds."""


class Receiver(LinkHandler):
    """A sender's receiver bind: records deliver_sm and answers ``status`` (None: never)."""

    def __init__(self, status: int | None = ROK) -> None:
        self.status = status
        self.received: list[DeliverSm] = []

    def on_pdu(self, link: SmppLink, pdu: Pdu) -> None:
        assert isinstance(pdu, DeliverSm)
        self.received.append(pdu)
        if self.status is not None:
            link.respond(pdu, DeliverSmResp(command_status=self.status))


class Harness:
    def __init__(self, senders: Senders, port: int) -> None:
        self.senders = senders
        self.port = port
        self.clients: list[SmppLink] = []

    async def bind(self, account: str, status: int | None = ROK,
                   kind: BindKind = "receiver") -> tuple[SmppLink, Receiver]:
        receiver = Receiver(status)
        loop = asyncio.get_running_loop()
        _, link = await within(loop.create_connection(
            lambda: SmppLink(Role.ESME, receiver), "127.0.0.1", self.port))
        assert isinstance(link, SmppLink)
        await within(link.bind(kind, account, "pw"))
        self.clients.append(link)
        # The server side has seen the bind once our bind_resp came back.
        assert any(s.owner == account for s in self.senders.receivers(account))
        return link, receiver



@pytest_asyncio.fixture(loop_scope="function")
async def harness() -> AsyncIterator[Harness]:
    senders = Senders()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SmppLink(Role.SMSC, senders), "127.0.0.1", 0)
    h = Harness(senders, server.sockets[0].getsockname()[1])
    yield h
    for link in h.clients:
        link.close()
    server.close()
    await within(server.wait_closed())


def make_router(redis: Redis, harness: Harness, **dlr: float) -> DlrRouter:
    return DlrRouter(redis, Dlr(**dlr), ACCOUNTS, harness.senders, Metrics(),
                     delivery_timeout=2.0)


def count(router: DlrRouter, outcome: str) -> float:
    value = router.metrics.registry.get_sample_value("stopgate_dlr_total", {"outcome": outcome})
    return value or 0.0


def depth(router: DlrRouter, account: str) -> float:
    value = router.metrics.registry.get_sample_value("stopgate_dlr_queue_depth",
                                                     {"account": account})
    return value or 0.0


def carrier_receipt(carrier_id: str, text_id: str | None = None,
                    stat: str = "DELIVRD") -> DeliverSm:
    text = (f"id:{text_id or carrier_id} sub:001 dlvrd:001 submit date:2611231504 "
            f"done date:2611231505 stat:{stat} err:000 text:Hello").encode()
    return DeliverSm(source_addr="33612345678", destination_addr="36173",
                     esm_class=ESM_DELIVERY_RECEIPT, short_message=text,
                     tlvs=(encode_tlv_str(Tag.receipted_message_id, carrier_id), (0x1402, b"v")))


def mo(destination: str, text: bytes = b"hello", **fields: int) -> DeliverSm:
    return DeliverSm(source_addr="33612345678", destination_addr=destination,
                     short_message=text, **fields)  # type: ignore[arg-type]


def same_but_sequence(a: DeliverSm, b: DeliverSm) -> bool:
    return a == replace(b, sequence=a.sequence)


# --- the id map ---------------------------------------------------------------------------


async def test_remembered_ids_expire_after_id_map_ttl(redis: Redis, harness: Harness) -> None:
    router = make_router(redis, harness, id_map_ttl=3600)
    await within(router.remember(UPSTREAM, ["0A1B"], "acme", ["s1"]))
    assert await redis.get("m:carrier-a:a1b") == b"acme\0s1"
    assert 0 < await redis.pttl("m:carrier-a:a1b") <= 3_600_000


async def test_hex_decimal_and_zero_padded_ids_find_each_other(
    redis: Redis, harness: Harness
) -> None:
    router = make_router(redis, harness)
    await within(router.remember_many([
        ("hexfirst", "7B", "acme", "s-hex"),        # hex in submit_sm_resp ...
        ("decfirst", "291", "acme", "s-dec"),       # decimal in submit_sm_resp ...
        ("padded", "0000004711", "acme", "s-pad"),
    ]))
    lookup = router.id_map.lookup
    assert await within(lookup("hexfirst", ["123"])) == ("acme", ("s-hex",))  # ... decimal DLR
    assert await within(lookup("hexfirst", ["000000007b"])) == ("acme", ("s-hex",))
    assert await within(lookup("decfirst", ["123"])) == ("acme", ("s-dec",))  # ... hex DLR
    assert await within(lookup("decfirst", ["0000000291"])) == ("acme", ("s-dec",))
    assert await within(lookup("padded", ["4711"])) == ("acme", ("s-pad",))
    assert await within(lookup("padded", ["1267"])) == ("acme", ("s-pad",))  # 0x1267 = 4711


async def test_the_same_carrier_id_on_two_upstreams_stays_apart(
    redis: Redis, harness: Harness
) -> None:
    router = make_router(redis, harness)
    await within(router.remember("carrier-a", ["42"], "acme", ["sa"]))
    await within(router.remember("carrier-b", ["42"], "brand2", ["sb"]))
    assert await within(router.id_map.lookup("carrier-a", ["42"])) == ("acme", ("sa",))
    assert await within(router.id_map.lookup("carrier-b", ["42"])) == ("brand2", ("sb",))
    assert await within(router.id_map.lookup("carrier-c", ["42"])) is None


# --- receipts -----------------------------------------------------------------------------------


async def test_receipt_reaches_the_owner_with_the_sender_id_in_tlv_and_text(
    redis: Redis, harness: Harness
) -> None:
    router = make_router(redis, harness)
    _, acme = await harness.bind("acme")
    _, brand2 = await harness.bind("brand2", kind="transceiver")
    await within(router.remember(UPSTREAM, ["7B"], "acme", ["a1b2c3d4e5f60718"]))

    status = await within(router.on_carrier_deliver_sm(
        carrier_receipt("7B", text_id="0000000123"), UPSTREAM))

    assert status == ROK
    assert brand2.received == []
    [got] = acme.received
    assert tlv_str(got, Tag.receipted_message_id) == "a1b2c3d4e5f60718"
    assert receipt_text(got).id == "a1b2c3d4e5f60718"
    assert got.short_message.endswith(b"stat:DELIVRD err:000 text:Hello")
    assert got.tlv(0x1402) == b"v"
    assert count(router, "delivered") == 1


async def test_one_carrier_receipt_for_merged_parts_reaches_every_sender_part(
    redis: Redis, harness: Harness
) -> None:
    router = make_router(redis, harness)
    _, acme = await harness.bind("acme")
    await within(router.remember(UPSTREAM, ["c1"], "acme", ["s1", "s2"]))
    assert await within(router.on_carrier_deliver_sm(carrier_receipt("c1"), UPSTREAM)) == ROK
    assert sorted(receipt_id(p) or "" for p in acme.received) == ["s1", "s2"]


async def test_receipt_for_an_unknown_id_is_acknowledged_and_counted(
    redis: Redis, harness: Harness
) -> None:
    router = make_router(redis, harness)
    _, acme = await harness.bind("acme")
    assert await within(router.on_carrier_deliver_sm(carrier_receipt("999"), UPSTREAM)) == ROK
    assert acme.received == []
    assert count(router, "unknown_id") == 1
    assert await redis.keys("dq:*") == []


async def test_receipts_are_spread_round_robin_over_the_accounts_receivers(
    redis: Redis, harness: Harness
) -> None:
    router = make_router(redis, harness)
    _, first = await harness.bind("acme")
    _, second = await harness.bind("acme", kind="transceiver")
    await harness.bind("acme", kind="transmitter")  # cannot take deliver_sm: never chosen
    await within(router.remember_many([(UPSTREAM, f"c{i}", "acme", f"s{i}") for i in range(4)]))
    for i in range(4):
        assert await within(router.on_carrier_deliver_sm(carrier_receipt(f"c{i}"), UPSTREAM)) == ROK
    assert len(first.received) == len(second.received) == 2


# --- the pending queue -------------------------------------------------------------------------


async def test_receipts_without_a_receiver_are_queued_and_flushed_in_order(
    redis: Redis, harness: Harness
) -> None:
    router = make_router(redis, harness)
    ids = [f"c{i}" for i in range(25)]  # more than one window's worth
    await within(router.remember_many([(UPSTREAM, c, "acme", "s" + c) for c in ids]))
    for carrier_id in ids:
        status = await within(router.on_carrier_deliver_sm(carrier_receipt(carrier_id), UPSTREAM))
        assert status == ROK
    assert count(router, "queued") == 25
    assert depth(router, "acme") == 25

    _, acme = await harness.bind("acme")
    assert await within(router.flush("acme")) == 25

    assert [receipt_id(p) for p in acme.received] == ["s" + c for c in ids]
    assert [receipt_text(p).id for p in acme.received] == ["s" + c for c in ids]
    assert depth(router, "acme") == 0
    assert await redis.llen("dq:{acme}") == await redis.llen("dq:{acme}:p") == 0
    assert count(router, "delivered") == 25


async def test_queued_pdus_come_back_byte_exact(redis: Redis, harness: Harness) -> None:
    router = make_router(redis, harness)
    original = mo("36173", b"\x05\x00\x03\x07\x02\x01part two", esm_class=ESM_UDHI,
                  data_coding=4)
    assert await within(router.on_carrier_deliver_sm(original, UPSTREAM)) == ROK
    _, acme = await harness.bind("acme")
    assert await within(router.flush("acme")) == 1
    assert same_but_sequence(acme.received[0], original)


async def test_count_bound_drops_the_oldest_and_counts_them(
    redis: Redis, harness: Harness
) -> None:
    router = make_router(redis, harness, pending_max_count=3)
    for i in range(5):
        assert await within(router.on_carrier_deliver_sm(mo("36173", b"m%d" % i), UPSTREAM)) == ROK
    assert count(router, "dropped_count") == 2 * 2  # acme and brand2 share the shortcode
    assert depth(router, "acme") == 3
    _, acme = await harness.bind("acme")
    assert await within(router.flush("acme")) == 3
    assert [p.short_message for p in acme.received] == [b"m2", b"m3", b"m4"]


async def test_age_bound_drops_old_entries_at_flush_and_counts_them(
    redis: Redis, harness: Harness
) -> None:
    router = make_router(redis, harness, pending_max_age=3600)
    stale = encode_entry(mo("36173", b"old"), now_ms() - 3601 * 1000)
    await redis.rpush("dq:{acme}", stale)
    assert await within(router.on_carrier_deliver_sm(mo("+33757000000", b"new"), UPSTREAM)) == ROK
    _, acme = await harness.bind("acme")
    assert await within(router.flush("acme")) == 1
    assert [p.short_message for p in acme.received] == [b"new"]
    assert count(router, "dropped_age") == 1
    assert await redis.llen("dq:{acme}") == await redis.llen("dq:{acme}:p") == 0


async def test_receiver_error_status_queues_the_receipt_and_a_flush_retries_it(
    redis: Redis, harness: Harness
) -> None:
    router = make_router(redis, harness)
    link, refusing = await harness.bind("acme", status=CommandStatus.ESME_RX_T_APPN)
    await within(router.remember(UPSTREAM, ["c1"], "acme", ["s1"]))

    assert await within(router.on_carrier_deliver_sm(carrier_receipt("c1"), UPSTREAM)) == ROK
    assert len(refusing.received) == 1
    assert count(router, "queued") == 1 and count(router, "delivered") == 0

    assert await within(router.flush("acme")) == 0  # refused again: still queued
    assert len(refusing.received) == 2
    assert depth(router, "acme") == 1

    await within(link.unbind())
    _, accepting = await harness.bind("acme")
    assert await within(router.flush("acme")) == 1
    assert [receipt_id(p) for p in accepting.received] == ["s1"]
    assert depth(router, "acme") == 0


async def test_a_receiver_that_never_answers_leaves_the_receipt_queued(
    redis: Redis, harness: Harness
) -> None:
    router = DlrRouter(redis, Dlr(), ACCOUNTS, harness.senders, Metrics(), delivery_timeout=0.2)
    link, silent = await harness.bind("acme", status=None)
    await within(router.remember(UPSTREAM, ["c1"], "acme", ["s1"]))
    assert await within(router.on_carrier_deliver_sm(carrier_receipt("c1"), UPSTREAM)) == ROK
    assert len(silent.received) == 1
    assert count(router, "queued") == 1
    assert await within(router.flush("acme")) == 0  # no answer: stays first in line
    assert await redis.llen("dq:{acme}:p") == 1
    link.close()
    await within(link.closed)
    _, acme = await harness.bind("acme")
    assert await within(router.flush("acme")) == 1
    assert [receipt_id(p) for p in acme.received] == ["s1"]


async def test_entries_claimed_by_an_interrupted_flush_go_first(
    redis: Redis, harness: Harness
) -> None:
    router = make_router(redis, harness)
    for text in (b"one", b"two", b"three"):
        await within(router.on_carrier_deliver_sm(mo("+33757000000", text), UPSTREAM))
    await within(router.queue.claim("acme", 2))  # a flush that died after claiming two
    _, acme = await harness.bind("acme")
    assert await within(router.flush("acme")) == 3
    assert [p.short_message for p in acme.received] == [b"one", b"two", b"three"]


async def test_a_flush_already_running_elsewhere_is_not_doubled(
    redis: Redis, harness: Harness
) -> None:
    router = make_router(redis, harness)
    await within(router.on_carrier_deliver_sm(mo("+33757000000"), UPSTREAM))
    _, acme = await harness.bind("acme")
    await redis.set("dq:{acme}:lock", "another-gateway", px=10_000)
    assert await within(router.flush("acme")) == 0
    assert acme.received == []
    await redis.delete("dq:{acme}:lock")
    assert await within(router.flush_all()) == 1


async def test_a_lock_left_by_a_gateway_killed_mid_flush_is_looked_at_again_when_it_expires(
    redis: Redis, harness: Harness
) -> None:
    """The flush a bind starts finds the lock of a gateway that died mid-flush: the queue
    goes out once that lock expires, with no new receipt, bind or periodic flush to wake it."""
    router = make_router(redis, harness)
    await within(router.on_carrier_deliver_sm(mo("+33757000000"), UPSTREAM))
    _, acme = await harness.bind("acme")
    await redis.set("dq:{acme}:lock", "killed-gateway", px=300)  # never released
    assert await within(router.flush("acme")) == 0
    await eventually(lambda: len(acme.received) == 1, "the queue once the lock expired", 5.0)
    assert await redis.llen("dq:{acme}") == 0


class DiesOnDelivery(LinkHandler):
    """A sender's receiver that drops its link when a deliver_sm arrives, unanswered."""

    def on_pdu(self, link: SmppLink, pdu: Pdu) -> None:
        link.abort()


async def test_a_receipt_lost_with_its_receiver_goes_to_another_bound_one_at_once(
    redis: Redis, harness: Harness
) -> None:
    router = make_router(redis, harness)
    dying, _ = await harness.bind("acme")
    dying.handler = DiesOnDelivery()
    _, healthy = await harness.bind("acme")
    await within(router.remember_many([(UPSTREAM, c, "acme", "s" + c) for c in ("c1", "c2")]))
    for carrier_id in ("c1", "c2"):  # round robin: the first goes to the dying receiver
        assert await within(router.on_carrier_deliver_sm(carrier_receipt(carrier_id),
                                                         UPSTREAM)) == ROK
    assert count(router, "queued") == 1
    for _ in range(200):  # not left for the next bind or the periodic flusher
        if len(healthy.received) == 2:
            break
        await asyncio.sleep(0.01)
    assert sorted(receipt_id(p) or "" for p in healthy.received) == ["sc1", "sc2"]


async def test_flushes_asked_for_together_run_as_one(
    redis: Redis, harness: Harness
) -> None:
    """A storm of receiver binds is one flush at a time, not one Redis connection per bind."""
    router = make_router(redis, harness)
    for i in range(3):
        await within(router.on_carrier_deliver_sm(mo("+33757000000", b"m%d" % i), UPSTREAM))
    _, acme = await harness.bind("acme")
    connections = len(redis.connection_pool._available_connections)
    delivered = await within(asyncio.gather(*(router.flush("acme") for _ in range(50))))
    assert sorted(delivered, reverse=True)[:2] == [3, 0]  # one flush did the work
    assert [p.short_message for p in acme.received] == [b"m0", b"m1", b"m2"]
    assert len(redis.connection_pool._available_connections) <= connections + 1
    await within(router.on_carrier_deliver_sm(mo("+33757000000", b"late"), UPSTREAM))
    assert [p.short_message for p in acme.received][-1] == b"late"  # bound: delivered live


# --- MOs ---------------------------------------------------------------------------------------


async def test_mo_to_a_shared_shortcode_reaches_every_brand_on_it(
    redis: Redis, harness: Harness
) -> None:
    router = make_router(redis, harness)
    _, acme = await harness.bind("acme")
    _, brand2 = await harness.bind("brand2")
    _, other = await harness.bind("other")
    message = mo("36173", b"Bonjour")
    assert await within(router.on_carrier_deliver_sm(message, UPSTREAM)) == ROK
    assert same_but_sequence(acme.received[0], message)
    assert same_but_sequence(brand2.received[0], message)
    assert other.received == []
    assert count(router, "delivered") == 2
    mo_other = router.metrics.registry.get_sample_value("stopgate_mo_total", {"kind": "other"})
    assert mo_other == 1


@pytest.mark.parametrize("destination", ["+33757000000", "33757000000", "0033757000000"])
async def test_mo_to_a_long_number_matches_in_any_international_form(
    redis: Redis, harness: Harness, destination: str
) -> None:
    router = make_router(redis, harness)
    _, acme = await harness.bind("acme")
    _, other = await harness.bind("other")
    assert await within(router.on_carrier_deliver_sm(mo(destination), UPSTREAM)) == ROK
    assert len(acme.received) == 1 and other.received == []


async def test_multipart_mo_parts_pass_one_by_one_as_they_came(
    redis: Redis, harness: Harness
) -> None:
    router = make_router(redis, harness)
    _, other = await harness.bind("other")
    parts = [mo("+33757000001", b"\x05\x00\x03\x2a\x02" + bytes([n]) + b"part", esm_class=ESM_UDHI)
             for n in (1, 2)]
    for part in parts:
        assert await within(router.on_carrier_deliver_sm(part, UPSTREAM)) == ROK
    assert [p.short_message for p in other.received] == [p.short_message for p in parts]


async def test_mo_to_a_number_nobody_owns_is_acknowledged_and_counted(
    redis: Redis, harness: Harness
) -> None:
    router = make_router(redis, harness)
    _, acme = await harness.bind("acme")
    assert await within(router.on_carrier_deliver_sm(mo("38000"), UPSTREAM)) == ROK
    assert acme.received == []
    assert count(router, "no_owner") == 1


async def test_mo_hook_sees_the_owners_and_may_answer_for_the_mo(
    redis: Redis, harness: Harness
) -> None:
    router = make_router(redis, harness)
    _, acme = await harness.bind("acme")
    seen: list[tuple[bytes, list[str]]] = []

    async def hook(pdu: DeliverSm, owners: list[str]) -> int | None:
        seen.append((pdu.short_message, owners))
        if pdu.short_message == b"FAIL":
            raise RuntimeError("ledger down")
        return ROK if pdu.short_message == b"SWALLOW" else None

    router.mo_hook = hook
    assert await within(router.on_carrier_deliver_sm(mo("36173", b"STOP"), UPSTREAM)) == ROK
    assert await within(router.on_carrier_deliver_sm(mo("36173", b"SWALLOW"), UPSTREAM)) == ROK
    status = await within(router.on_carrier_deliver_sm(mo("36173", b"FAIL"), UPSTREAM))
    assert status == CommandStatus.ESME_RX_T_APPN
    assert seen[0] == (b"STOP", ["acme", "brand2"])
    assert [p.short_message for p in acme.received] == [b"STOP"]


# --- Redis down --------------------------------------------------------------------------------


async def test_redis_unreachable_answers_a_temporary_error(
    tmp_path: Path, harness: Harness
) -> None:
    server = EmbeddedRedis(tmp_path / "redis", appendonly=False)
    server.start()
    client = Redis.from_url(server.url, socket_timeout=2, socket_connect_timeout=2)
    try:
        router = make_router(client, harness)
        await within(router.remember(UPSTREAM, ["c1"], "acme", ["s1"]))
        server.kill()
        temporary = CommandStatus.ESME_RX_T_APPN
        # A receipt cannot be looked up; an MO with no receiver bound cannot be queued.
        assert await within(router.on_carrier_deliver_sm(carrier_receipt("c1"), UPSTREAM), 30) \
            == temporary
        assert await within(router.on_carrier_deliver_sm(mo("+33757000000"), UPSTREAM), 30) \
            == temporary
        assert count(router, "queued") == 0
        assert await within(router.flush("acme"), 30) == 0  # no receiver: nothing to do
        await harness.bind("acme")
        assert await within(router.flush("acme"), 30) == 0  # logged, never raised
    finally:
        server.stop()
        await client.aclose()
