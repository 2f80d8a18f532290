"""A lean SMSC for the benchmark: answers every submit_sm, counts what arrives.

    python bench/sink.py [--port 0] [--dlr] [--dlr-window 100]

It accepts any bind, answers submit_sm at once with its own id (8 hex digits,
a counter), and counts *messages*, not PDUs: a UDH multipart message counts
once its last part is in, reassembled by (destination, reference, total), and
a message that carries an opt-out footer (``STOP au 36173``, or the opt-out
base URL) is counted as footered, by kind. With ``--dlr`` every submit_sm gets
a DELIVRD receipt (deliver_sm) on the same link, at most ``--dlr-window``
unanswered per link, as an SMSC's receipts would come back; a receipt answered
with an error status is sent again ``RETRY_DELAY`` later (SMSCs retry) and counted.

It prints ``READY <port>`` once listening and, on SIGTERM or SIGUSR1, one JSON
line of counts (SIGTERM then exits): that is all the orchestrator talks to it.
Written on asyncio Protocols over uvloop with pre-encoded responses, so that
it is never what limits a run.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import signal
import ssl
import sys
from typing import Any, cast

import uvloop
import wire
import workload

HEADER = wire.HEADER
SEQ = wire.SEQ
RETRY_DELAY = 1.0  # seconds before a refused receipt goes again
_FOOTERS_UCS2 = (workload.FOOTER_FR.decode().encode("utf-16-be"),
                 workload.FOOTER_URL.decode().encode("utf-16-be"))


class Counts:
    """What arrived, for the orchestrator's validation."""

    def __init__(self, first_id: int) -> None:
        self.binds = 0
        self.submit_sm = 0
        self.messages = 0
        self.footer_fr = 0
        self.footer_url = 0
        self.dlr_sent = 0
        self.dlr_acked = 0
        self.dlr_refused = 0  # answered with an error: sent again, as an SMSC retries
        self.parts: dict[tuple[bytes, int, int], dict[int, bytes]] = {}
        self.next_id = first_id

    def as_dict(self) -> dict[str, Any]:
        fields = ("binds", "submit_sm", "messages", "footer_fr", "footer_url", "dlr_sent",
                  "dlr_acked", "dlr_refused")
        return {name: getattr(self, name) for name in fields} | {
            "incomplete_multipart": len(self.parts)}

    def message(self, frame: bytearray, start: int, end: int) -> None:
        """Count one submit_sm: a whole message, or a part of one."""
        esm_class, data_coding, data = wire.short_message_of(frame, start, end)
        if esm_class & wire.ESM_UDHI:
            whole = self._part(wire.destination_of(frame, start), data)
            if whole is None:
                return
            data = whole
        self.messages += 1
        if data_coding == 8:
            if _FOOTERS_UCS2[0] in data:
                self.footer_fr += 1
            elif _FOOTERS_UCS2[1] in data:
                self.footer_url += 1
        elif workload.FOOTER_FR in data:
            self.footer_fr += 1
        elif workload.FOOTER_URL in data:
            self.footer_url += 1

    def _part(self, destination: bytes, data: bytes) -> bytes | None:
        """The whole text once the last part of its message is in, else None."""
        header_length = data[0]
        pos, end = 1, 1 + header_length
        key: tuple[bytes, int, int] | None = None
        number = 0
        while pos + 2 <= end:
            ie, size = data[pos], data[pos + 1]
            if ie == 0x00 and size == 3:
                key = (destination, data[pos + 2], data[pos + 3])
                number = data[pos + 4]
            elif ie == 0x08 and size == 4:
                key = (destination, (data[pos + 2] << 8) | data[pos + 3], data[pos + 4])
                number = data[pos + 5]
            pos += 2 + size
        if key is None:
            return data[end:]  # a UDH without concatenation: a whole message
        parts = self.parts.setdefault(key, {})
        parts[number] = data[end:]
        if len(parts) < key[2]:
            return None
        del self.parts[key]
        return b"".join(parts[n] for n in sorted(parts))


class SinkLink(asyncio.Protocol):
    """One bound ESME (the proxy's upstream session, or the generator in scenario 1)."""

    def __init__(self, counts: Counts, dlr: bool, dlr_window: int) -> None:
        self.counts = counts
        self.dlr = dlr
        self.dlr_window = dlr_window
        self.buffer = bytearray()
        self.resp = wire.submit_sm_resp_template()
        self.receipt, self.receipt_ids = wire.receipt_template()
        self.owed: collections.deque[bytes] = collections.deque()
        self.unanswered: dict[int, bytes] = {}  # receipt sequence -> carrier id
        self.refused: list[bytes] = []
        self.seq = 0
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is no subclass

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer
        buffer += data
        counts = self.counts
        resp = self.resp
        pack_seq = SEQ.pack_into
        out: list[bytes] = []
        pos, size = 0, len(buffer)
        while size - pos >= 16:
            length, command_id, status, sequence = HEADER.unpack_from(buffer, pos)
            if size - pos < length:
                break
            if command_id == wire.SUBMIT_SM:
                counts.submit_sm += 1
                counts.message(buffer, pos, pos + length)
                counts.next_id += 1
                carrier_id = b"%08x" % counts.next_id
                resp[16:24] = carrier_id
                pack_seq(resp, 12, sequence)
                out.append(bytes(resp))
                if self.dlr:
                    self.owed.append(carrier_id)
            elif command_id == wire.DELIVER_SM_RESP:
                carrier_id = self.unanswered.pop(sequence, b"")
                if status:
                    counts.dlr_refused += 1
                    if carrier_id:
                        if not self.refused:
                            asyncio.get_running_loop().call_later(RETRY_DELAY, self._retry)
                        self.refused.append(carrier_id)
                else:
                    counts.dlr_acked += 1
            elif command_id in wire.BINDS:
                counts.binds += 1
                out.append(wire.pdu(command_id | wire.RESP, wire.c_string("sink"),
                                    sequence=sequence))
            elif command_id == wire.ENQUIRE_LINK or command_id == wire.UNBIND:
                out.append(wire.pdu(command_id | wire.RESP, sequence=sequence))
            elif not command_id & wire.RESP:
                out.append(wire.pdu(wire.GENERIC_NACK, status=wire.ESME_RINVCMDID,
                                    sequence=sequence))
            pos += length
        del buffer[:pos]
        if self.owed:
            self._receipts(out)
        if out and self.transport is not None:
            self.transport.write(b"".join(out))

    def _retry(self) -> None:
        self.owed.extend(self.refused)
        self.refused.clear()
        out: list[bytes] = []
        self._receipts(out)
        if out and self.transport is not None and not self.transport.is_closing():
            self.transport.write(b"".join(out))

    def _receipts(self, out: list[bytes]) -> None:
        """Receipts for accepted submits, after their responses, within the window."""
        frame = self.receipt
        first, second = self.receipt_ids
        owed = self.owed
        unanswered = self.unanswered
        while owed and len(unanswered) < self.dlr_window:
            carrier_id = owed.popleft()
            frame[first:first + wire.ID_WIDTH] = carrier_id
            frame[second:second + wire.ID_WIDTH] = carrier_id
            self.seq += 1
            SEQ.pack_into(frame, 12, self.seq)
            out.append(bytes(frame))
            unanswered[self.seq] = carrier_id
            self.counts.dlr_sent += 1


async def serve(port: int, dlr: bool, dlr_window: int, first_id: int,
                tls: ssl.SSLContext | None = None) -> None:
    loop = asyncio.get_running_loop()
    counts = Counts(first_id)
    stop = asyncio.Event()

    def report() -> None:
        sys.stdout.write(json.dumps(counts.as_dict()) + "\n")
        sys.stdout.flush()

    def terminate() -> None:
        report()
        stop.set()

    loop.add_signal_handler(signal.SIGUSR1, report)
    loop.add_signal_handler(signal.SIGTERM, terminate)
    server = await loop.create_server(lambda: SinkLink(counts, dlr, dlr_window),
                                      "127.0.0.1", port, backlog=128, ssl=tls)
    bound = server.sockets[0].getsockname()[1]
    sys.stdout.write(f"READY {bound}\n")
    sys.stdout.flush()
    await stop.wait()
    server.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--dlr", action="store_true", help="send a receipt for every submit")
    parser.add_argument("--dlr-window", type=int, default=100)
    parser.add_argument("--tls-cert", help="serve TLS with this PEM certificate (and --tls-key)")
    parser.add_argument("--tls-key")
    parser.add_argument("--first-id", type=lambda s: int(s, 0), default=0x10000000,
                        help="carrier ids count up from here: give every sink that talks to "
                        "one proxy (one Redis id map) its own range, as carriers never reuse "
                        "an id")
    args = parser.parse_args()
    tls = None
    if args.tls_cert:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(args.tls_cert, args.tls_key)
    uvloop.run(serve(args.port, args.dlr, args.dlr_window, args.first_id, tls))


if __name__ == "__main__":
    main()
