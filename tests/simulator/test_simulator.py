"""The carrier simulator, over real loopback sockets and real SMPP.

smpplib (an independent client) checks the basics; gateway.smpp_link in the
ESME role (what the proxy's carrier links use) checks the rest.
"""

from __future__ import annotations

import asyncio
import re
import signal
import sys
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import smpplib.client
import smpplib.consts
import smpplib.gsm

from gateway.smpp_link import BindError, LinkHandler, SmppLink
from simulator.carrier import CarrierSimulator
from smpp.constants import ESM_DELIVERY_RECEIPT, ESM_UDHI, CommandStatus, DataCoding, Tag
from smpp.pdu import DeliverSm, DeliverSmResp, Pdu, QuerySm, QuerySmResp, SubmitSm, SubmitSmResp
from smpp.reassembly import Reassembler
from smpp.segments import build_parts, concat_info, split_text
from smpp.session import BindKind, Role
from smpp.text import decode_text, encode_text
from smpp.tlv import tlv_int, tlv_str
from tests.support.waiting import eventually

TIMEOUT = 10.0
LONG_TEXT = ("Black Friday: 30% off everything this weekend only, shop now before the offer "
             "ends at midnight on Sunday. Free delivery on all orders over 20 pounds, no code "
             "needed. Reply STOP to opt out of these messages.")
STOPGATE = Path(sys.executable).parent / "stopgate"


# --- the ESME side ----------------------------------------------------------------------


class Esme(LinkHandler):
    """What the proxy will be: collects deliver_sm, answering each with the next status."""

    def __init__(self, statuses: Iterable[int] = (), answer: bool = True) -> None:
        self.statuses = deque(statuses)
        self.answer = answer
        self.delivered: asyncio.Queue[DeliverSm] = asyncio.Queue()
        self.unanswered: list[DeliverSm] = []

    def on_pdu(self, link: SmppLink, pdu: Pdu) -> None:
        assert isinstance(pdu, DeliverSm)
        if not self.answer:
            self.unanswered.append(pdu)
            return
        status = self.statuses.popleft() if self.statuses else 0
        link.respond(pdu, DeliverSmResp(sequence=pdu.sequence, command_status=status))
        if status == 0:
            self.delivered.put_nowait(pdu)

    async def next(self) -> DeliverSm:
        return await asyncio.wait_for(self.delivered.get(), TIMEOUT)


@asynccontextmanager
async def running(**options: Any) -> AsyncIterator[CarrierSimulator]:
    simulator = CarrierSimulator(**options)
    await simulator.start(http_port=0)
    try:
        yield simulator
    finally:
        await simulator.stop()


async def connect(
    simulator: CarrierSimulator,
    kind: BindKind = "transceiver",
    system_id: str = "proxy",
    password: str = "secret",
    esme: Esme | None = None,
) -> tuple[SmppLink, Esme]:
    handler = esme or Esme()
    loop = asyncio.get_running_loop()
    _, link = await loop.create_connection(
        lambda: SmppLink(Role.ESME, handler), "127.0.0.1", simulator.port
    )
    await asyncio.wait_for(link.bind(kind, system_id, password), TIMEOUT)
    return link, handler


async def submit(link: SmppLink, text: str = "hello", to: str = "33612345678",
                 registered_delivery: int = 1, **fields: Any) -> SubmitSmResp:
    pdu = SubmitSm(source_addr="36173", destination_addr=to,
                   registered_delivery=registered_delivery,
                   short_message=fields.pop("short_message", None) or encode_text(text, 0),
                   **fields)
    response = await asyncio.wait_for(link.request(pdu), TIMEOUT)
    assert isinstance(response, SubmitSmResp)
    return response


def control(simulator: CarrierSimulator, path: str) -> str:
    return f"http://127.0.0.1:{simulator.http_port}{path}"


def receipt_id(pdu: DeliverSm) -> str:
    match = re.match(rb"id:(\S+) ", pdu.short_message)
    assert match, pdu.short_message
    return match[1].decode()


# --- smpplib, an independent client ---------------------------------------------------------


def smpplib_session(port: int) -> tuple[list[str], list[Any]]:
    """Bind transceiver, send a long UDH message and a UCS-2 one, collect every receipt."""
    client = smpplib.client.Client("127.0.0.1", port, timeout=2, allow_unknown_opt_params=True)
    sent: list[str] = []
    receipts: list[Any] = []
    client.set_message_sent_handler(lambda pdu: sent.append(pdu.message_id.decode()))
    client.set_message_received_handler(lambda pdu: receipts.append(pdu))
    client.connect()
    try:
        client.bind_transceiver(system_id="proxy", password="secret")
        for text in (LONG_TEXT, "Привет! Ваш заказ готов"):
            parts, coding, esm_class = smpplib.gsm.make_parts(text)
            for part in parts:
                client.send_message(
                    source_addr_ton=smpplib.consts.SMPP_TON_ALNUM, source_addr="SHOP",
                    dest_addr_ton=smpplib.consts.SMPP_TON_INTL, destination_addr="33612345678",
                    short_message=part, data_coding=coding, esm_class=esm_class,
                    registered_delivery=True,
                )
        deadline = time.monotonic() + TIMEOUT
        while (len(sent) < 3 or len(receipts) < len(sent)) and time.monotonic() < deadline:
            client.read_once()
        client.unbind()
    finally:
        client.disconnect()
    return sent, receipts


async def test_smpplib_client_gets_a_receipt_for_every_part_with_the_id_it_was_given() -> None:
    async with running() as simulator:
        sent, receipts = await asyncio.wait_for(
            asyncio.to_thread(smpplib_session, simulator.port), TIMEOUT * 2
        )
        assert len(sent) == 3  # two parts of the long message, one UCS-2 message
        assert sorted(pdu.receipted_message_id.decode() for pdu in receipts) == sorted(sent)
        for pdu in receipts:
            text = pdu.short_message.decode("ascii")
            assert text.startswith(f"id:{pdu.receipted_message_id.decode()} sub:001 dlvrd:001 ")
            assert " stat:DELIVRD err:000 text:" in text
            assert pdu.source_addr == b"33612345678" and pdu.destination_addr == b"SHOP"
        messages = simulator.messages()
        assert [(m.text, m.data_coding, m.parts) for m in messages] == [
            (LONG_TEXT, 0, 2), ("Привет! Ваш заказ готов", DataCoding.ucs2, 1)
        ]
        assert [id for m in messages for id in m.carrier_ids] == sent


# --- binds ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("system_id", "password", "status"), [
    ("proxy", "wrong", CommandStatus.ESME_RINVPASWD),
    ("stranger", "secret", CommandStatus.ESME_RINVSYSID),
])
async def test_bad_credentials_are_refused_with_the_status_that_says_why(
    system_id: str, password: str, status: int
) -> None:
    async with running(credentials={"proxy": "secret"}) as simulator:
        with pytest.raises(BindError) as refused:
            await connect(simulator, "transmitter", system_id, password)
        assert refused.value.status == status
        await connect(simulator, "transmitter", "proxy", "secret")
        assert simulator.stats.bind_failures == 1 and simulator.stats.binds == 1


# --- answering submit_sm ----------------------------------------------------------------------


async def test_submit_sm_is_answered_only_after_the_latency() -> None:
    async with running(latency=0.5) as simulator:
        link, _ = await connect(simulator)
        pending = link.send(SubmitSm(destination_addr="33612345678", short_message=b"hi"))
        await asyncio.sleep(0.05)
        assert not pending.done()
        response = await asyncio.wait_for(pending, TIMEOUT)
        assert response.command_status == 0 and response.message_id  # type: ignore[attr-defined]


async def test_error_rate_one_refuses_every_submit_with_the_configured_status() -> None:
    async with running(error_rate=1.0, error_status=CommandStatus.ESME_RSYSERR) as simulator:
        link, _ = await connect(simulator)
        responses = [await submit(link, f"message {i}") for i in range(5)]
        assert [r.command_status for r in responses] == [CommandStatus.ESME_RSYSERR] * 5
        assert simulator.stats.rejected == 5 and simulator.stats.accepted == 0
        assert simulator.stats.dlrs_sent == 0 and simulator.outbox.held == 0


async def test_error_rate_refuses_exactly_that_fraction() -> None:
    async with running(error_rate=0.25) as simulator:
        link, _ = await connect(simulator)
        statuses = [(await submit(link, registered_delivery=0)).command_status for _ in range(8)]
        assert statuses.count(CommandStatus.ESME_RSUBMITFAIL) == 2


async def test_submits_above_throttle_tps_are_answered_throttled() -> None:
    async with running(throttle_tps=1) as simulator:
        link, _ = await connect(simulator)
        responses = await asyncio.gather(*(submit(link, registered_delivery=0) for _ in range(10)))
        statuses = [r.command_status for r in responses]
        assert statuses[0] == 0
        assert CommandStatus.ESME_RTHROTTLED in statuses
        assert set(statuses) == {0, CommandStatus.ESME_RTHROTTLED}
        assert simulator.stats.throttled == statuses.count(CommandStatus.ESME_RTHROTTLED)


async def test_config_endpoint_changes_behaviour_at_runtime() -> None:
    async with running() as simulator, aiohttp.ClientSession() as http:
        link, _ = await connect(simulator)
        assert (await submit(link, registered_delivery=0)).command_status == 0
        async with http.post(control(simulator, "/config"), json={"error_rate": 1}) as response:
            assert response.status == 200
            assert (await response.json())["error_rate"] == 1.0
        assert (await submit(link)).command_status == CommandStatus.ESME_RSUBMITFAIL
        async with http.post(control(simulator, "/config"), json={"latency": -1}) as response:
            assert response.status == 400
            assert "latency" in (await response.json())["detail"]
        async with http.post(control(simulator, "/config"), json={"colour": "red"}) as response:
            assert response.status == 400


async def test_query_sm_reports_the_state_of_a_known_id_and_refuses_an_unknown_one() -> None:
    async with running(dlr_stat={"44": "UNDELIV"}) as simulator:
        link, esme = await connect(simulator)
        delivered = await submit(link, to="33612345678")
        failed = await submit(link, to="447700900123")
        receipts = {tlv_str(pdu, Tag.receipted_message_id): pdu
                    for pdu in (await esme.next(), await esme.next())}
        assert b" stat:UNDELIV err:001 " in receipts[failed.message_id].short_message
        assert tlv_int(receipts[failed.message_id], Tag.message_state) == 5
        for message_id, state in ((delivered.message_id, 2), (failed.message_id, 5)):
            response = await link.request(QuerySm(message_id=message_id))
            assert isinstance(response, QuerySmResp)
            assert (response.command_status, response.message_state) == (0, state)
        unknown = await link.request(QuerySm(message_id="nope"))
        assert unknown.command_status == CommandStatus.ESME_RINVMSGID


# --- delivery receipts -----------------------------------------------------------------------


@pytest.mark.parametrize(("id_format", "dlr_id_format", "convert"), [
    ("hex", "same", lambda i: i),
    ("hex", "decimal", lambda i: str(int(i, 16))),
    ("hex", "decimal_zero_padded", lambda i: f"{int(i, 16):010d}"),
    ("decimal", "hex", lambda i: f"{int(i):08x}"),
    ("decimal", "same", lambda i: i),
])
async def test_receipt_writes_the_id_in_its_own_format_in_text_and_tlv(
    id_format: str, dlr_id_format: str, convert: Callable[[str], str]
) -> None:
    async with running(id_format=id_format, dlr_id_format=dlr_id_format,
                       first_id=0x2A0000) as simulator:
        link, esme = await connect(simulator)
        message_id = (await submit(link, "Your code is 482913")).message_id
        assert re.fullmatch("[0-9a-f]{8}" if id_format == "hex" else "[0-9]+", message_id)
        dlr = await esme.next()
        assert dlr.esm_class == ESM_DELIVERY_RECEIPT
        assert (dlr.source_addr, dlr.destination_addr) == ("33612345678", "36173")
        assert receipt_id(dlr) == tlv_str(dlr, Tag.receipted_message_id) == convert(message_id)
        assert tlv_int(dlr, Tag.message_state) == 2
        assert dlr.short_message.endswith(b" stat:DELIVRD err:000 text:Your code is 482913")


async def test_dlr_waits_for_a_receiver_bind() -> None:
    async with running() as simulator:
        transmitter, _ = await connect(simulator, "transmitter")
        _, stranger = await connect(simulator, "receiver", system_id="someone-else")
        message_id = (await submit(transmitter)).message_id
        assert simulator.outbox.held == 1  # not for someone-else's receiver
        _, receiver = await connect(simulator, "receiver")
        assert tlv_str(await receiver.next(), Tag.receipted_message_id) == message_id
        assert stranger.delivered.empty()
        await eventually(lambda: simulator.stats.dlrs_acked == 1)


async def test_receipts_alternate_between_the_receivers_of_a_system_id() -> None:
    async with running() as simulator:
        link, _ = await connect(simulator, "transmitter")
        _, one = await connect(simulator, "receiver")
        _, two = await connect(simulator, "receiver")
        for _ in range(4):
            await submit(link)
        await eventually(lambda: simulator.stats.dlrs_acked == 4)
        assert (one.delivered.qsize(), two.delivered.qsize()) == (2, 2)


async def test_refused_receipt_is_sent_again_until_acknowledged() -> None:
    async with running(retry_delay=0.01) as simulator:
        esme = Esme(statuses=[CommandStatus.ESME_RX_T_APPN, CommandStatus.ESME_RSYSERR])
        link, _ = await connect(simulator, esme=esme)
        message_id = (await submit(link)).message_id
        assert tlv_str(await esme.next(), Tag.receipted_message_id) == message_id
        await eventually(lambda: simulator.stats.dlrs_acked == 1)
        assert simulator.stats.dlrs_sent == 3


async def test_receipt_is_given_up_after_the_last_attempt() -> None:
    async with running(retry_delay=0.01, deliver_attempts=2) as simulator:
        esme = Esme(statuses=[CommandStatus.ESME_RSYSERR] * 5)
        link, _ = await connect(simulator, esme=esme)
        await submit(link)
        await eventually(lambda: simulator.stats.dlrs_failed == 1)
        assert simulator.stats.dlrs_sent == 2 and simulator.outbox.held == 0


async def test_unanswered_receipt_goes_again_to_the_next_bind_after_a_link_drop() -> None:
    async with running() as simulator, aiohttp.ClientSession() as http:
        silent = Esme(answer=False)
        link, _ = await connect(simulator, esme=silent)
        message_id = (await submit(link)).message_id
        await eventually(lambda: bool(silent.unanswered))
        async with http.post(control(simulator, "/disconnect")) as response:
            assert await response.json() == {"dropped": 1}
        await asyncio.wait_for(link.closed, TIMEOUT)
        _, receiver = await connect(simulator, "receiver")
        assert tlv_str(await receiver.next(), Tag.receipted_message_id) == message_id


async def test_fast_mode_keeps_counters_but_no_records() -> None:
    async with running(fast=True) as simulator:
        link, esme = await connect(simulator)
        message_id = (await submit(link, "not kept")).message_id
        dlr = await esme.next()
        assert receipt_id(dlr) == message_id
        assert dlr.short_message.endswith(b" stat:DELIVRD err:000 text:")
        assert simulator.received == [] and simulator.messages() == []
        assert (simulator.stats.submits, simulator.stats.accepted) == (1, 1)


async def test_no_receipt_when_none_was_asked_for_or_dlrs_are_off() -> None:
    async with running() as simulator:
        link, _ = await connect(simulator)
        await submit(link, registered_delivery=0)
        simulator.configure(dlr=False)
        await submit(link, registered_delivery=1)
        assert simulator.stats.accepted == 2
        assert simulator.stats.dlrs_sent == 0 and simulator.outbox.held == 0


# --- MO injection ------------------------------------------------------------------------------


async def test_mo_posted_to_the_control_endpoint_reaches_a_receiver() -> None:
    async with running() as simulator, aiohttp.ClientSession() as http:
        _, esme = await connect(simulator, "receiver")
        body = {"from": "+33612345678", "to": "36173", "text": "STOP"}
        async with http.post(control(simulator, "/mo"), json=body) as response:
            assert response.status == 202
            assert await response.json() == {"parts": 1}
        mo = await esme.next()
        assert (mo.esm_class, mo.source_addr_ton, mo.source_addr) == (0, 1, "33612345678")
        assert (mo.destination_addr, mo.data_coding, mo.short_message) == ("36173", 0, b"STOP")
        await eventually(lambda: simulator.stats.mos_acked == 1)


async def test_long_mo_arrives_in_udh_parts_that_reassemble_to_the_same_text() -> None:
    text = "Arrêtez de m'envoyer ces messages, merci 🙏 " * 6
    async with running() as simulator, aiohttp.ClientSession() as http:
        _, esme = await connect(simulator, "receiver")
        body = {"from": "+33612345678", "to": "36173", "text": text}
        async with http.post(control(simulator, "/mo"), json=body) as response:
            parts = (await response.json())["parts"]
        assert parts > 1
        reassembler: Reassembler[None] = Reassembler(max_pending=4, max_bytes=1 << 16, timeout=60)
        whole = None
        for _ in range(parts):
            pdu = await esme.next()
            assert pdu.esm_class & ESM_UDHI and pdu.data_coding == DataCoding.ucs2
            info = concat_info(pdu.esm_class, pdu.short_message, pdu.tlvs)
            assert info is not None and info.kind == "udh8"
            whole = reassembler.add(pdu.source_addr, info, 0.0) or whole
        assert whole is not None and decode_text(whole.payload, DataCoding.ucs2) == text


async def test_mo_waits_for_a_receiver_of_the_named_system_id() -> None:
    async with running() as simulator:
        _, other = await connect(simulator, "receiver", system_id="other")
        assert await simulator.inject_mo("+447700900123", "36173", "STOP", system_id="proxy") == 1
        assert simulator.outbox.held == 1
        _, esme = await connect(simulator, "transceiver")
        assert (await esme.next()).short_message == b"STOP"
        assert other.delivered.empty()


# --- control endpoint ----------------------------------------------------------------------------


async def test_disconnect_drops_every_connection() -> None:
    async with running() as simulator, aiohttp.ClientSession() as http:
        links = [(await connect(simulator, kind))[0] for kind in ("transmitter", "receiver")]
        async with http.post(control(simulator, "/disconnect")) as response:
            assert await response.json() == {"dropped": 2}
        await asyncio.wait_for(asyncio.gather(*(link.closed for link in links)), TIMEOUT)
        async with http.get(control(simulator, "/stats")) as response:
            assert (await response.json())["sessions"] == 0


async def test_messages_endpoint_reassembles_a_multipart_submit() -> None:
    async with running() as simulator, aiohttp.ClientSession() as http:
        link, _ = await connect(simulator, "transmitter")
        ids = []
        parts = build_parts(split_text(LONG_TEXT, 0), 0x42, "udh8")
        for esm_class, short_message, _ in parts:
            answer = await submit(link, esm_class=esm_class, short_message=short_message)
            ids.append(answer.message_id)
        await submit(link, "single")
        async with http.get(control(simulator, "/messages")) as response:
            messages = await response.json()
        assert messages == [
            {"system_id": "proxy", "from": "36173", "to": "33612345678", "text": LONG_TEXT,
             "data_coding": 0, "parts": 2, "carrier_ids": ids, "complete": True},
            {"system_id": "proxy", "from": "36173", "to": "33612345678", "text": "single",
             "data_coding": 0, "parts": 1, "carrier_ids": [messages[1]["carrier_ids"][0]],
             "complete": True},
        ]
        async with http.get(control(simulator, "/stats")) as response:
            stats = await response.json()
        assert (stats["submits"], stats["parts"], stats["accepted"]) == (3, 2, 3)
        async with http.post(control(simulator, "/reset")) as response:
            assert response.status == 200
        assert simulator.messages() == [] and simulator.stats.submits == 0


# --- the command ---------------------------------------------------------------------------


async def test_simulate_carrier_command_serves_until_sigterm() -> None:
    process = await asyncio.create_subprocess_exec(
        str(STOPGATE), "simulate-carrier", "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0",
        "--id-format", "decimal", stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), TIMEOUT)).decode()
        match = re.fullmatch(r"stopgate simulate-carrier: SMPP on 127\.0\.0\.1:(\d+), "
                             r"HTTP control on http://127\.0\.0\.1:(\d+)/\n", line)
        assert match, line
        simulator = CarrierSimulator()  # only to hold the port for connect()
        simulator.port = int(match[1])
        link, esme = await connect(simulator)
        message_id = (await submit(link)).message_id
        assert message_id.isdigit()
        assert receipt_id(await esme.next()) == message_id
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), TIMEOUT) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
