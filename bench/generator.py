"""The benchmark's load generator: an ESME that keeps windows of submit_sm in flight.

    python bench/generator.py --port P --system-id bench --password bench \\
        --start-at T --warmup 4 --seconds 20 [--rate R] [--workload full|off] ...

Without ``--rate`` every session keeps ``--window`` PDUs unanswered (throughput);
with it the process sends ``R`` messages a second in all (latency). Sending starts
at ``T`` (a ``time.monotonic()`` value, shared by every process on the machine, so
the orchestrator and several generators agree on the measured window without
talking), the window is ``[T + warmup, T + warmup + seconds]``, sending stops at
its end, and the process waits for every response (and, bound as a transceiver,
for the receipts to stop coming) before it prints one JSON line: what it sent,
what came back, what the workload predicts (see bench/workload.py), and the
latencies of the messages sent in the window.

Latency is per message: from writing the submit_sm that completes it (a single
part, or the last part) to reading its submit_sm_resp; the proxy answers earlier
parts at once, so they would only flatter the figure.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import ssl
import sys
import time
from typing import Any, cast

import uvloop
import wire
import workload
from workload import Recipients, Template

HEADER = wire.HEADER
SEQ = wire.SEQ
_QUIET = 3.0  # seconds without a receipt after the last response: the receipts are in
_DRAIN_TIMEOUT = 60.0


class Tally:
    """Counts of one generator process (all its sessions)."""

    def __init__(self, blocked_status: int) -> None:
        self.blocked_status = blocked_status
        self.window = (0.0, 0.0)
        self.sending = False
        self.sent_messages = 0
        self.sent_pdus = 0
        self.answered_in_window = 0
        self.pdus_in_window = 0
        self.accepted = 0
        self.blocked = 0
        self.blocked_unexpected = 0
        self.leaked = 0  # a message the workload says must be blocked, accepted
        self.errors: collections.Counter[int] = collections.Counter()
        self.expected: collections.Counter[str] = collections.Counter()
        self.latencies: list[float] = []
        self.receipts: collections.Counter[str] = collections.Counter()
        self.last_receipt = 0.0
        self.track_ids = False
        self.message_ids: set[bytes] = set()
        self.receipt_ids: list[bytes] = []

    def predict(self, template: Template) -> None:
        expected = self.expected
        expected["messages"] += 1
        expected["pdus"] += len(template.parts)
        if template.multipart:
            expected["multipart"] += 1
        if template.klass == workload.PROMOTIONAL:
            expected["promotional"] += 1
            if template.opted_out:
                expected["blocked"] += 1
                expected["rejected_receipts"] += len(template.parts) - 1
            elif template.plan.country == "FR":
                expected["footer_fr"] += 1
            else:
                expected["footer_url"] += 1

    def answer(self, template: Template | None, status: int, sent_at: float,
               now: float) -> None:
        start, end = self.window
        in_window = start <= now < end
        if in_window:
            self.pdus_in_window += 1
        if template is None:  # an earlier part: answered at once, no verdict on it yet
            if status:
                self.errors[status] += 1
            return
        if in_window:
            self.answered_in_window += 1
        if start <= sent_at < end:
            self.latencies.append(now - sent_at)
        if status == 0:
            self.accepted += 1
            if template.opted_out:
                self.leaked += 1
        elif status == self.blocked_status:
            self.blocked += 1
            if not template.opted_out:
                self.blocked_unexpected += 1
        else:
            self.errors[status] += 1

    def report(self, sessions: list[Session]) -> dict[str, Any]:
        latencies = sorted(self.latencies)
        return {
            "window": list(self.window),
            "sent": {"messages": self.sent_messages, "pdus": self.sent_pdus},
            "answered_in_window": self.answered_in_window,
            "pdus_in_window": self.pdus_in_window,
            "accepted": self.accepted,
            "blocked": self.blocked,
            "blocked_unexpected": self.blocked_unexpected,
            "leaked": self.leaked,
            "errors": {f"0x{k:08X}": v for k, v in sorted(self.errors.items())},
            "unanswered": sum(len(s.in_flight) for s in sessions),
            "expected": dict(self.expected),
            "receipts": dict(self.receipts),
            "latency_us": [round(x * 1e6) for x in latencies],
        }


class Session(asyncio.Protocol):
    """One bound ESME session; ``fill`` keeps its window full, ``send`` paces it."""

    def __init__(self, tally: Tally, ring: list[Template], recipients: Recipients,
                 window: int, bind_pdu: bytes, bound: asyncio.Future[None]) -> None:
        self.tally = tally
        self.ring = ring
        self.cursor = 0
        self.recipients = recipients
        self.window = window
        self.bind_pdu = bind_pdu
        self.bound = bound
        self.buffer = bytearray()
        self.seq = 1
        self.code = 0
        self.in_flight: dict[int, tuple[float, Template | None]] = {}
        self.paced = False
        self.deliver_resp = bytearray(wire.pdu(wire.DELIVER_SM_RESP, b"\0"))
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is no subclass
        self.transport.write(self.bind_pdu)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.bound.done():
            self.bound.set_exception(ConnectionError(f"connection lost before bind: {exc}"))

    def send(self, budget: int) -> int:
        """Write up to ``budget`` messages (window permitting); how many went."""
        tally = self.tally
        ring, size = self.ring, len(self.ring)
        in_flight = self.in_flight
        window = self.window
        out: list[bytearray | bytes] = []
        now = time.monotonic()
        sent = 0
        while sent < budget and len(in_flight) < window:
            template = ring[self.cursor]
            self.cursor = (self.cursor + 1) % size
            digits = self.recipients.digits(template.plan)
            width = len(digits)
            parts = template.parts
            if template.code_offset >= 0:
                self.code = (self.code + 7919) % 1_000_000
                offset = template.code_offset
                parts[0][offset:offset + 6] = b"%06d" % self.code
            last = len(parts) - 1
            for index, frame in enumerate(parts):
                offset = template.dest_offsets[index]
                frame[offset:offset + width] = digits
                seq = self.seq = self.seq + 1 if self.seq < 0x7FFFFFFF else 1
                SEQ.pack_into(frame, 12, seq)
                in_flight[seq] = (now, template if index == last else None)
                out.append(bytes(frame))
            tally.predict(template)
            tally.sent_pdus += len(parts)
            sent += 1
        if out and self.transport is not None:
            self.transport.write(b"".join(out))
        tally.sent_messages += sent
        return sent

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer
        buffer += data
        tally = self.tally
        in_flight = self.in_flight
        now = time.monotonic()
        out: list[bytes] = []
        pos, size = 0, len(buffer)
        while size - pos >= 16:
            length, command_id, status, sequence = HEADER.unpack_from(buffer, pos)
            if size - pos < length:
                break
            if command_id == wire.SUBMIT_SM_RESP:
                entry = in_flight.pop(sequence, None)
                if entry is not None:
                    tally.answer(entry[1], status, entry[0], now)
                    if tally.track_ids and status == 0:
                        tally.message_ids.add(bytes(buffer[pos + 16:pos + length - 1]))
            elif command_id == wire.DELIVER_SM:
                self._receipt(buffer, pos, pos + length, sequence, out, now)
            elif command_id in wire.BIND_RESPS:
                if status:
                    self.bound.set_exception(RuntimeError(f"bind refused: 0x{status:08X}"))
                elif not self.bound.done():
                    self.bound.set_result(None)
            elif command_id == wire.ENQUIRE_LINK or command_id == wire.UNBIND:
                out.append(wire.pdu(command_id | wire.RESP, sequence=sequence))
            elif not command_id & wire.RESP:
                out.append(wire.pdu(wire.GENERIC_NACK, status=wire.ESME_RINVCMDID,
                                    sequence=sequence))
            pos += length
        del buffer[:pos]
        if out and self.transport is not None:
            self.transport.write(b"".join(out))
        if tally.sending and not self.paced:
            self.send(self.window)

    def _receipt(self, frame: bytearray, start: int, end: int, sequence: int,
                 out: list[bytes], now: float) -> None:
        tally = self.tally
        stat = frame.find(b"stat:", start, end)
        tally.receipts[frame[stat + 5:stat + 12].decode() if stat > 0 else "none"] += 1
        tally.last_receipt = now
        if tally.track_ids:
            at = frame.find(b"id:", start, end) + 3
            tally.receipt_ids.append(bytes(frame[at:frame.find(b" ", at, end)]))
        resp = self.deliver_resp
        SEQ.pack_into(resp, 12, sequence)
        out.append(bytes(resp))


async def pace(sessions: list[Session], tally: Tally, rate: float, start: float,
               end: float) -> None:
    """Send ``rate`` messages a second over the sessions, from ``start`` to ``end``."""
    for session in sessions:
        session.paced = True
    sent = 0
    turn = 0
    while (now := time.monotonic()) < end:
        due = int((now - start) * rate) - sent
        while due > 0:
            went = sessions[turn % len(sessions)].send(1)
            turn += 1
            if not went and all(len(s.in_flight) >= s.window for s in sessions):
                break  # every window is full: the backlog waits for the next tick
            sent += went
            due -= went
        await asyncio.sleep(0.0005)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    tally = Tally(args.blocked_status)
    tally.track_ids = bool(args.ids_file)
    start = args.start_at
    tally.window = (start + args.warmup, start + args.warmup + args.seconds)
    recipients = Recipients(args.stream, args.suppressed)
    command = wire.BIND_TRANSCEIVER if args.bind == "trx" else wire.BIND_TRANSMITTER
    sessions: list[Session] = []
    tls = ssl.create_default_context(cafile=args.tls_ca) if args.tls_ca else None
    for index in range(args.sessions):
        bound: asyncio.Future[None] = loop.create_future()
        ring = workload.build_ring(args.stream * 100 + index, policy=args.workload == "full")
        bind_pdu = wire.bind(command, args.system_id, args.password)
        _, session = await loop.create_connection(
            lambda ring=ring, bound=bound, bind_pdu=bind_pdu: Session(
                tally, ring, recipients, args.window, bind_pdu, bound),
            "127.0.0.1", args.port, ssl=tls, server_hostname="127.0.0.1" if tls else None)
        await asyncio.wait_for(bound, 10)
        sessions.append(session)
    await asyncio.sleep(max(0.0, start - time.monotonic()))
    tally.sending = True
    if args.rate:
        await pace(sessions, tally, args.rate, start, tally.window[1])
    else:
        for session in sessions:
            session.send(session.window)
        await asyncio.sleep(max(0.0, tally.window[1] - time.monotonic()))
    tally.sending = False
    deadline = time.monotonic() + _DRAIN_TIMEOUT
    while any(s.in_flight for s in sessions) and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    if args.bind == "trx":
        tally.last_receipt = max(tally.last_receipt, time.monotonic())
        while time.monotonic() - tally.last_receipt < _QUIET and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
    report = tally.report(sessions) | {"tally": tally}
    for session in sessions:
        if session.transport is not None:
            session.transport.close()
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--system-id", default="bench")
    parser.add_argument("--password", default="bench")
    parser.add_argument("--bind", choices=("trx", "tx"), default="trx")
    parser.add_argument("--sessions", type=int, default=4)
    parser.add_argument("--window", type=int, default=500, help="unanswered PDUs per session")
    parser.add_argument("--workload", choices=("full", "off"), default="full")
    parser.add_argument("--stream", type=int, default=0, help="disjoint recipient slice")
    parser.add_argument("--suppressed", type=int, default=1_000_000)
    parser.add_argument("--blocked-status", type=lambda s: int(s, 0), default=0x65)
    parser.add_argument("--start-at", type=float, default=0.0, help="time.monotonic()")
    parser.add_argument("--warmup", type=float, default=4.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rate", type=float, default=0.0, help="messages/s; 0 = windows full")
    parser.add_argument("--tls-ca", help="connect over TLS, trusting this CA (PEM)")
    parser.add_argument("--report", help="write the JSON report here (default: stdout)")
    parser.add_argument("--ids-file", help="append the message ids given (PATH.given) and the "
                        "ids receipts named (PATH.receipts), one a line, for the orchestrator "
                        "to match across phases")
    args = parser.parse_args()
    if not args.start_at:
        args.start_at = time.monotonic() + 1.0
    report = uvloop.run(run(args))
    tally = report.pop("tally")
    if args.ids_file:
        for suffix, ids in (("given", tally.message_ids), ("receipts", tally.receipt_ids)):
            with open(f"{args.ids_file}.{suffix}", "ab") as out:
                out.write(b"".join(i + b"\n" for i in ids))
    if args.report:  # a file: a megabyte of latencies is no job for a pipe
        with open(args.report, "w") as out:
            json.dump(report, out)
    else:
        sys.stdout.write(json.dumps(report) + "\n")


if __name__ == "__main__":
    main()
