"""The sender's side of the integration tests: well-behaved ESMEs, raw sockets, bounded waits.

``bind_sender`` gives an SmppLink ESME (the same sans-I/O session stopgate runs,
used here from the other end) that answers every deliver_sm with ESME_ROK and
keeps it; ``RawSmpp`` is a bare socket for senders that break the protocol.
Every wait here is bounded: a gateway that hangs fails the test, never the run.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import struct
from collections.abc import AsyncIterator
from pathlib import Path
from ssl import SSLContext
from typing import Any

from gateway.smpp_link import LinkHandler, LinkOptions, SmppLink
from simulator.carrier import CarrierSimulator
from smpp.codec import decode, encode
from smpp.constants import Tag
from smpp.pdu import DeliverSm, DeliverSmResp, Pdu, SubmitSm
from smpp.session import BindKind, Role
from smpp.tlv import tlv_str
from tests.integration.conftest import Stack, start_stack

TIMEOUT = 5.0
HEADER = struct.Struct(">IIII")
RECIPIENT = "33612345678"


class Sender(LinkHandler):
    """A sender's ESME: keeps every deliver_sm it gets (answered ESME_ROK) and notes unbinds."""

    def __init__(self) -> None:
        self.delivered: list[DeliverSm] = []
        self.unbound = False

    def on_pdu(self, link: SmppLink, pdu: Pdu) -> None:
        if isinstance(pdu, DeliverSm):
            self.delivered.append(pdu)
            link.respond(pdu, DeliverSmResp())

    def on_unbound(self, link: SmppLink) -> None:
        self.unbound = True

    def receipts(self) -> list[DeliverSm]:
        return [pdu for pdu in self.delivered if pdu.esm_class & 0x04]

    def receipt_ids(self) -> list[str]:
        """The id of every receipt, from receipted_message_id (checked against the text)."""
        ids = []
        for pdu in self.receipts():
            tlv = tlv_str(pdu, Tag.receipted_message_id) or ""
            text = re.match(rb"id:(\S+) ", pdu.short_message)
            assert text is not None and text.group(1).decode() == tlv, pdu.short_message
            ids.append(tlv)
        return ids


async def bind_sender(
    port: int,
    system_id: str = "acme",
    password: str = "acmepass",
    kind: BindKind = "transceiver",
    *,
    window: int = 50,
    response_timeout: float = 5.0,
    ssl: SSLContext | None = None,
) -> tuple[SmppLink, Sender]:
    """Connect to stopgate (over TLS with ``ssl``) and bind; raises BindError when refused."""
    loop = asyncio.get_running_loop()
    sender = Sender()
    _, link = await asyncio.wait_for(
        loop.create_connection(
            lambda: SmppLink(Role.ESME, sender, LinkOptions(
                window=window, response_timeout=response_timeout,
                enquire_link_interval=None, idle_timeout=None)),
            "127.0.0.1", port, ssl=ssl,
        ),
        TIMEOUT,
    )
    try:
        await asyncio.wait_for(link.bind(kind, system_id, password), TIMEOUT)
    except BaseException:
        link.abort()
        raise
    return link, sender


def message(text: str = "hello", *, to: str = RECIPIENT, receipt: bool = True,
            **fields: Any) -> SubmitSm:
    """A short GSM submit_sm to an international number, asking for a receipt."""
    return SubmitSm(source_addr="ACME", source_addr_ton=5, dest_addr_ton=1, dest_addr_npi=1,
                    destination_addr=to, registered_delivery=1 if receipt else 0,
                    short_message=text.encode("ascii"), **fields)


@contextlib.asynccontextmanager
async def running_stack(
    redis_url: str, data_dir: Path, simulator: CarrierSimulator | None = None, **sections: Any
) -> AsyncIterator[Stack]:
    """A stack with this test's own config sections (see ``gateway_config``), always stopped."""
    stack = await start_stack(redis_url, data_dir, simulator, **sections)
    try:
        yield stack
    finally:
        await stack.gateway.stop(timeout=2.0)
        await stack.simulator.stop()


class RawSmpp:
    """A bare TCP connection to stopgate, for senders that break the protocol."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, port: int) -> RawSmpp:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection("127.0.0.1", port), TIMEOUT)
        return cls(reader, writer)

    async def send(self, data: bytes | Pdu) -> None:
        self.writer.write(encode(data) if isinstance(data, Pdu) else data)
        await asyncio.wait_for(self.writer.drain(), TIMEOUT)

    async def read_header(self) -> tuple[int, int, int, int]:
        """(command_length, command_id, command_status, sequence) of the next PDU."""
        header = await asyncio.wait_for(self.reader.readexactly(HEADER.size), TIMEOUT)
        length, command_id, status, sequence = HEADER.unpack(header)
        if length > HEADER.size:
            await asyncio.wait_for(self.reader.readexactly(length - HEADER.size), TIMEOUT)
        return length, command_id, status, sequence

    async def read_pdu(self) -> Pdu:
        header = await asyncio.wait_for(self.reader.readexactly(HEADER.size), TIMEOUT)
        length = HEADER.unpack(header)[0]
        body = await asyncio.wait_for(self.reader.readexactly(length - HEADER.size), TIMEOUT)
        return decode(header + body)

    async def closed_by_peer(self) -> bool:
        """True once stopgate closes the connection (EOF or reset), within TIMEOUT."""
        try:
            rest = await asyncio.wait_for(self.reader.read(), TIMEOUT)
        except ConnectionResetError:
            return True
        return rest == b""

    def close(self) -> None:
        self.writer.close()
