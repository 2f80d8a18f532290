"""smpplib, an independent SMPP client, through stopgate to the carrier simulator."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import smpplib.client
import smpplib.consts
import smpplib.gsm

from tests.integration.conftest import Stack

TIMEOUT = 10.0
LONG_GSM = (
    "Your parcel 4711 is out for delivery today between 10:00 and 12:00. Reply or call "
    "us if nobody is home; we can leave it with a neighbour {or} at the depot €2 extra~."
)
LONG_UCS2 = "Ваш заказ №4711 будет доставлен сегодня с 10:00 до 12:00 🚚. Спасибо, что выбрали нас!"  # noqa: RUF001


def send_all(port: int, messages: list[tuple[str, str]]) -> tuple[list[str], list[Any]]:
    """Bind transceiver, send each (kind, text) message, wait for every part's receipt."""
    client = smpplib.client.Client("127.0.0.1", port, timeout=2, allow_unknown_opt_params=True)
    sent: list[str] = []
    receipts: list[Any] = []
    client.set_message_sent_handler(lambda pdu: sent.append(pdu.message_id.decode()))
    client.set_message_received_handler(lambda pdu: receipts.append(pdu))
    client.connect()
    expected = 0
    try:
        client.bind_transceiver(system_id="acme", password="acmepass")
        for ref, (kind, text) in enumerate(messages, 1):
            parts, coding, esm_class = smpplib.gsm.make_parts(text)
            expected += len(parts)
            for seqnum, part in enumerate(parts, 1):
                extra: dict[str, Any] = {}
                if kind == "sar" and len(parts) > 1:
                    part = part[6:]  # drop smpplib's UDH; SAR TLVs carry the same facts
                    esm_class = 0
                    extra = {"sar_msg_ref_num": ref, "sar_total_segments": len(parts),
                             "sar_segment_seqnum": seqnum}
                client.send_message(
                    service_type="TRX",  # transactional: the proxy must pass it untouched
                    source_addr_ton=smpplib.consts.SMPP_TON_ALNUM, source_addr="ACME",
                    dest_addr_ton=smpplib.consts.SMPP_TON_INTL, destination_addr="33612345678",
                    short_message=part, data_coding=coding, esm_class=esm_class,
                    registered_delivery=True, **extra,
                )
        deadline = time.monotonic() + TIMEOUT
        while (len(sent) < expected or len(receipts) < expected) and time.monotonic() < deadline:
            client.read_once()
        client.unbind()
    finally:
        client.disconnect()
    return sent, receipts


async def test_smpplib_messages_arrive_byte_correct_and_every_receipt_carries_its_id(
    stack: Stack,
) -> None:
    messages = [
        ("udh", "Short GSM text with escapes: [brackets] {braces} €"),
        ("udh", LONG_GSM),
        ("sar", LONG_GSM.replace("parcel", "packet")),
        ("udh", "Привет, это UCS-2"),
        ("udh", LONG_UCS2),
    ]
    sent, receipts = await asyncio.wait_for(
        asyncio.to_thread(send_all, stack.smpp_port, messages), TIMEOUT * 2
    )
    assert len(sent) == len(set(sent)) == 1 + 2 + 2 + 1 + 2
    at_carrier = stack.simulator.messages()
    assert sorted(m.text for m in at_carrier) == sorted(text for _, text in messages)
    assert all(m.complete for m in at_carrier)
    receipt_ids = [pdu.receipted_message_id.decode() for pdu in receipts]
    assert sorted(receipt_ids) == sorted(sent)
    for pdu in receipts:
        assert f"id:{pdu.receipted_message_id.decode()} ".encode() in pdu.short_message
