"""A carrier SMSC that misbehaves on demand: one knob per fault the simulator cannot produce.

It is a real SMPP peer over a real loopback socket, built on the project's smpp
codec but without its session state machine, so it can do what a well-behaved
session never would: refuse binds with a chosen status, read submit_sm and never
answer, ignore enquire_link, reset the connection with submits unanswered, and
write garbage or PDUs an SMSC never sends.
"""

from __future__ import annotations

import asyncio
import itertools
import socket
import struct
from collections import Counter
from typing import cast

from smpp.codec import decode, encode
from smpp.constants import CommandId, CommandStatus
from smpp.errors import PduError
from smpp.pdu import (
    RESPONSE_FOR,
    BindReceiverResp,
    BindTransceiverResp,
    BindTransmitterResp,
    EnquireLinkResp,
    Pdu,
    SubmitSm,
    SubmitSmResp,
    UnbindResp,
)

__all__ = ["CarrierLink", "FakeCarrier"]

_BIND_RESP = {
    CommandId.bind_transceiver: BindTransceiverResp,
    CommandId.bind_transmitter: BindTransmitterResp,
    CommandId.bind_receiver: BindReceiverResp,
}
_LENGTH = struct.Struct(">I")


class FakeCarrier:
    """An SMSC on 127.0.0.1; set its knobs at any time, they apply to the next PDU."""

    def __init__(self, system_id: str = "proxy", password: str = "secret") -> None:
        self.system_id = system_id
        self.password = password
        #: The status every bind with the right credentials gets (ESME_ROK: bound).
        self.bind_status: int = CommandStatus.ESME_ROK
        #: False: submit_sm are read and kept, never answered (``CarrierLink.held``).
        self.answer_submits = True
        #: False: enquire_link goes unanswered, as from a hung SMSC.
        self.answer_enquire_links = True
        self.links: list[CarrierLink] = []  # every connection, in the order they came
        self.bind_attempts = 0
        self.binds = 0
        self.submits: list[SubmitSm] = []  # every submit_sm received, answered or not
        self.accepted: Counter[str] = Counter()  # text -> times answered ESME_ROK
        self._ids = itertools.count(1)
        self._server: asyncio.Server | None = None
        self.port = 0

    async def start(self, port: int = 0) -> FakeCarrier:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: CarrierLink(self), "127.0.0.1", port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for link in self.links:
                link.reset()
            await self._server.wait_closed()

    def bound(self) -> list[CarrierLink]:
        """The connections that are bound and still open."""
        return [link for link in self.links if link.is_bound and link.is_open]

    def next_id(self) -> str:
        return f"fc{next(self._ids):06d}"


class CarrierLink(asyncio.Protocol):
    """One connection from the gateway, as the fake carrier sees it."""

    def __init__(self, carrier: FakeCarrier) -> None:
        self.carrier = carrier
        self.transport: asyncio.Transport | None = None
        self.is_bound = False
        self.held: list[SubmitSm] = []  # submit_sm read and not answered
        self.replies: list[Pdu] = []  # responses the gateway sent us (to our own requests)
        self._buffer = bytearray()
        self._sequence = itertools.count(0x7000_0000)
        carrier.links.append(self)

    @property
    def is_open(self) -> bool:
        return self.transport is not None and not self.transport.is_closing()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer
        buffer += data
        while len(buffer) >= 4:
            (length,) = _LENGTH.unpack_from(buffer)
            if len(buffer) < length:
                return
            frame = bytes(buffer[:length])
            del buffer[:length]
            try:
                pdu = decode(frame)
            except PduError:  # the gateway never sends one; a test would see it in replies
                continue
            self._on_pdu(pdu)

    def _on_pdu(self, pdu: Pdu) -> None:
        carrier = self.carrier
        command_id = pdu.command_id
        if command_id in _BIND_RESP:
            carrier.bind_attempts += 1
            right = (getattr(pdu, "system_id", None), getattr(pdu, "password", None)) == (
                carrier.system_id, carrier.password)
            status = carrier.bind_status if right else CommandStatus.ESME_RINVPASWD
            self.send(_BIND_RESP[CommandId(command_id)](
                sequence=pdu.sequence, command_status=status, system_id="fake-smsc"))
            if status == CommandStatus.ESME_ROK:
                self.is_bound = True
                carrier.binds += 1
        elif command_id == CommandId.enquire_link:
            if carrier.answer_enquire_links:
                self.send(EnquireLinkResp(sequence=pdu.sequence))
        elif command_id == CommandId.unbind:
            self.send(UnbindResp(sequence=pdu.sequence))
            self.close()
        elif command_id == CommandId.submit_sm:
            assert isinstance(pdu, SubmitSm)
            carrier.submits.append(pdu)
            if carrier.answer_submits:
                self.accept(pdu)
            else:
                self.held.append(pdu)
        elif command_id & 0x8000_0000:
            self.replies.append(pdu)
        else:  # anything else asks for an answer; a plain SMSC says "not supported"
            response = RESPONSE_FOR.get(command_id)
            if response is not None:
                self.send(response(sequence=pdu.sequence,
                                   command_status=CommandStatus.ESME_RINVCMDID))

    def accept(self, pdu: SubmitSm) -> None:
        """Answer a submit_sm ESME_ROK with a fresh carrier id."""
        self.carrier.accepted[pdu.short_message.decode()] += 1
        self.send(SubmitSmResp(sequence=pdu.sequence, message_id=self.carrier.next_id()))

    def send(self, pdu: Pdu | bytes) -> None:
        if self.transport is not None:
            self.transport.write(pdu if isinstance(pdu, bytes) else encode(pdu))

    def request(self, pdu: Pdu) -> None:
        """Send a request of our own (its response lands in ``replies``)."""
        self.send(encode(pdu, next(self._sequence)))

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def reset(self) -> None:
        """Drop the connection with a TCP reset, whatever is unanswered."""
        transport = self.transport
        if transport is None:
            return
        sock = transport.get_extra_info("socket")
        if sock is not None:  # linger 0: close sends RST, not FIN
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
