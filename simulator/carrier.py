"""A small SMSC for the demo, the tests and the benchmark (``stopgate simulate-carrier``).

It accepts binds, answers submit_sm (after a latency, with an error rate, under
a throttle), records what it accepted, and owes each bound system_id its
delivery receipts and MO messages: they go to that system_id's receiver or
transceiver sessions round robin, wait in memory while none is bound, and are
retried until a deliver_sm_resp with status 0 (at-least-once, as real SMSCs
do), up to ``deliver_attempts`` times. ``simulator.http`` is its
control endpoint.

Carrier ids count up from a random start and are written as ``id_format`` in
submit_sm_resp and as ``dlr_id_format`` in receipts (8 lowercase hex digits,
decimal, or decimal zero-padded to 10): real carriers mix these, and the proxy
must match a receipt to its submit whichever pair it meets. With ``fast`` it
keeps counters only, for the benchmark.

Given ``tls_cert`` and ``tls_key`` (PEM files) it serves SMPP over TLS 1.2 or later
instead, as carriers that accept only TLS do; with ``tls_client_ca`` too it demands a
client certificate that CA signed (a carrier that authenticates its clients; it then
does TLS by hand, simulator.tls, to send the alert a refused client hears).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import ssl
import time
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any, Literal, TextIO, cast

from gateway.process.eventloop import run as run_loop
from gateway.smpp_link import LinkHandler, LinkOptions, SmppLink
from simulator.http import start_control
from simulator.outbox import STAT_STATES, Outbox, mo_parts, receipt
from simulator.records import ReceivedMessage, ReceivedSubmit, SimulatorStats, reassemble
from simulator.tls import HandTls
from smpp.constants import ESM_UDHI, CommandId, CommandStatus
from smpp.pdu import CancelSmResp, DataSmResp, Pdu, QuerySm, QuerySmResp, SubmitSm, SubmitSmResp
from smpp.segments import ConcatError, concat_info
from smpp.session import Role

__all__ = ["CarrierSimulator", "ReceivedMessage", "ReceivedSubmit", "SimulatorStats",
           "server_context"]

IdFormat = Literal["hex", "decimal"]
DlrIdFormat = Literal["same", "hex", "decimal", "decimal_zero_padded"]
#: How a carrier id (a counter) is written; zero padding to 10 digits as in SMPP 3.4 appendix B.
ID_PATTERNS: dict[str, str] = {"hex": "%08x", "decimal": "%d", "decimal_zero_padded": "%010d"}

_SUBMIT_SM = int(CommandId.submit_sm)
_QUERY_SM = int(CommandId.query_sm)
_DATA_SM = int(CommandId.data_sm)
_RECEIVING_BINDS = frozenset({int(CommandId.bind_receiver), int(CommandId.bind_transceiver)})
_THROTTLED = int(CommandStatus.ESME_RTHROTTLED)
_ENROUTE = STAT_STATES["ENROUTE"]


class CarrierSimulator(LinkHandler):
    """An SMSC on loopback; see the module docstring. It is the handler of its own links."""

    loop: asyncio.AbstractEventLoop  # set by start()

    def __init__(
        self,
        *,
        credentials: Mapping[str, str] | None = None,
        system_id: str = "simulator",
        latency: float = 0.0,
        error_rate: float = 0.0,
        error_status: int = CommandStatus.ESME_RSUBMITFAIL,
        throttle_tps: float = 0.0,
        id_format: IdFormat = "hex",
        dlr_id_format: DlrIdFormat = "same",
        dlr: bool = True,
        dlr_delay: float = 0.0,
        dlr_stat: str | Mapping[str, str] = "DELIVRD",
        fast: bool = False,
        first_id: int | None = None,
        deliver_window: int = 50,
        deliver_timeout: float = 10.0,
        deliver_attempts: int = 5,
        retry_delay: float = 1.0,
        enquire_link_interval: float | None = 30.0,
    ) -> None:
        if id_format not in ("hex", "decimal"):
            raise ValueError(f"id_format must be hex or decimal, not {id_format!r}")
        if dlr_id_format != "same" and dlr_id_format not in ID_PATTERNS:
            raise ValueError(f"dlr_id_format must be same, {', '.join(ID_PATTERNS)}; "
                             f"not {dlr_id_format!r}")
        self.credentials = dict(credentials) if credentials is not None else None
        self.system_id = system_id
        self.error_status = int(error_status)
        self.fast = fast
        self.id_format = id_format
        self.dlr_id_format = dlr_id_format
        self._id_pattern = ID_PATTERNS[id_format]
        self._dlr_pattern = ID_PATTERNS[id_format if dlr_id_format == "same" else dlr_id_format]
        # Random start: ids stay unique across simulator restarts sharing one proxy Redis.
        start = first_id if first_id is not None else 0x1000000 + int.from_bytes(os.urandom(3))
        self._ids = itertools.count(start)
        self._mo_refs = itertools.count(int.from_bytes(os.urandom(1)))
        self._link_options = LinkOptions(window=deliver_window, response_timeout=deliver_timeout,
                                         enquire_link_interval=enquire_link_interval)
        self.latency = self.error_rate = self.throttle_tps = self.dlr_delay = 0.0
        self.dlr = dlr
        self._stats_by_prefix: tuple[tuple[str, str], ...] = ()
        self.dlr_stat: str = "DELIVRD"
        self.configure(latency=latency, error_rate=error_rate, throttle_tps=throttle_tps,
                       dlr_delay=dlr_delay, dlr_stat=dlr_stat)
        self._error_debt = 0.0
        self._buckets: dict[str, list[float]] = {}
        self._stamp_minute = -1
        self._stamp = ""
        self.stats = SimulatorStats()
        self.received: list[ReceivedSubmit] = []
        self._states: dict[str, int] = {}  # carrier id -> message_state, for query_sm
        self.outbox = Outbox(self.stats, deliver_attempts, retry_delay)
        self._links: set[SmppLink] = set()
        self._server: asyncio.Server | None = None
        self._http: Any = None  # aiohttp AppRunner, when the control endpoint runs
        self.port = 0
        self.http_port: int | None = None
        self.tls: ssl.SSLContext | None = None  # set by start() when it serves TLS

    # --- life cycle --------------------------------------------------------------------

    async def start(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        http_port: int | None = None,
        http_host: str | None = None,
        *,
        tls_cert: str | Path | None = None,
        tls_key: str | Path | None = None,
        tls_client_ca: str | Path | None = None,
    ) -> None:
        """Listen for SMPP on host:port (0: any free port) and, if asked, HTTP on http_port.

        With ``tls_cert`` and ``tls_key``, SMPP is served over TLS (1.2 or later) only;
        ``tls_client_ca`` also requires each client to present a certificate it signed.
        """
        self.loop = asyncio.get_running_loop()
        self.tls = tls = server_context(tls_cert, tls_key, tls_client_ca)
        if tls is not None and tls_client_ca is not None:
            # TLS by hand, so a refused client certificate is told with an alert as an
            # OpenSSL carrier tells it (simulator.tls).
            self._server = await self.loop.create_server(
                lambda: HandTls(tls, self._new_link()), host, port)
        else:
            self._server = await self.loop.create_server(self._new_link, host, port, ssl=tls)
        self.port = self._server.sockets[0].getsockname()[1]
        if http_port is not None:
            self._http, self.http_port = await start_control(self, http_host or host, http_port)

    async def stop(self) -> None:
        """Close the listeners and drop every connection."""
        if self._http is not None:
            await self._http.cleanup()
            self._http = None
        if self._server is not None:
            self._server.close()
            self.disconnect()
            await self._server.wait_closed()
            self._server = None

    def disconnect(self) -> int:
        """Drop every SMPP connection at once, as a link failure would; return how many."""
        links = list(self._links)
        for link in links:
            link.abort()
        return len(links)

    def _new_link(self) -> SmppLink:
        link = SmppLink(Role.SMSC, self, self._link_options, name="simulator")
        self._links.add(link)
        return link

    def configure(self, **changes: Any) -> None:
        """Change latency, error_rate, error_status, throttle_tps, dlr, dlr_delay or dlr_stat."""
        for key, value in changes.items():
            if key in ("latency", "throttle_tps", "dlr_delay", "error_rate"):
                if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                    raise ValueError(f"{key} must be a number >= 0, not {value!r}")
                if key == "error_rate" and value > 1:
                    raise ValueError(f"error_rate must be between 0 and 1, not {value!r}")
                setattr(self, key, float(value))
            elif key == "error_status":
                if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**32:
                    raise ValueError(f"error_status must be a non-zero status, not {value!r}")
                self.error_status = value
            elif key == "dlr":
                if not isinstance(value, bool):
                    raise ValueError(f"dlr must be true or false, not {value!r}")
                self.dlr = value
            elif key == "dlr_stat":
                self._set_dlr_stat(value)
            else:
                raise ValueError(f"unknown setting {key!r}: expected latency, error_rate, "
                                 "error_status, throttle_tps, dlr, dlr_delay or dlr_stat")

    def settings(self) -> dict[str, Any]:
        """What ``configure`` can change, as it is now."""
        stat: str | dict[str, str] = self.dlr_stat
        if self._stats_by_prefix:
            stat = {"*": self.dlr_stat} | dict(self._stats_by_prefix)
        return {"latency": self.latency, "error_rate": self.error_rate,
                "error_status": self.error_status, "throttle_tps": self.throttle_tps,
                "dlr": self.dlr, "dlr_delay": self.dlr_delay, "dlr_stat": stat}

    def _set_dlr_stat(self, value: object) -> None:
        table = {"": value} if isinstance(value, str) else value
        if not isinstance(table, Mapping) or not all(
            isinstance(k, str) and v in STAT_STATES for k, v in table.items()
        ):
            raise ValueError(f"dlr_stat must be one of {', '.join(STAT_STATES)} or a mapping "
                             f"destination prefix -> stat, not {value!r}")
        prefixes = {k.lstrip("+*"): v for k, v in table.items()}
        self.dlr_stat = prefixes.pop("", "DELIVRD")
        # Longest prefix first, so the first match is the most specific.
        self._stats_by_prefix = tuple(sorted(prefixes.items(), key=lambda kv: -len(kv[0])))

    def reset(self) -> None:
        """Forget what was received and zero the counters; deliveries still owed stay owed."""
        self.stats.clear()
        self.received.clear()
        self._states.clear()

    def messages(self) -> list[ReceivedMessage]:
        """The accepted submits as whole messages (multipart reassembled); empty when fast."""
        return reassemble(self.received)

    def stats_json(self) -> dict[str, Any]:
        """Counters plus the sessions and deliveries of this moment."""
        return asdict(self.stats) | {
            "sessions": len(self._links), "receivers": self.outbox.receivers,
            "held": self.outbox.held, "in_flight": self.outbox.in_flight,
        }

    # --- LinkHandler --------------------------------------------------------------------------

    def on_bind_request(self, link: SmppLink, pdu: Pdu) -> None:
        system_id: str = getattr(pdu, "system_id", "")
        if self.credentials is not None:
            expected = self.credentials.get(system_id)
            status = 0
            if expected is None:
                status = CommandStatus.ESME_RINVSYSID
            elif getattr(pdu, "password", "") != expected:
                status = CommandStatus.ESME_RINVPASWD
            if status:
                self.stats.bind_failures += 1
                link.reject_bind(pdu, status)
                return
        link.accept_bind(pdu, self.system_id)
        link.owner = system_id
        self.stats.binds += 1
        if pdu.command_id in _RECEIVING_BINDS:
            self.outbox.add_receiver(system_id, link)

    def on_closed(self, link: SmppLink, unanswered: tuple[Pdu, ...]) -> None:
        self._links.discard(link)
        self.outbox.remove(link)

    def on_pdu(self, link: SmppLink, pdu: Pdu) -> None:
        command_id = pdu.command_id
        if command_id == _SUBMIT_SM:
            self._on_submit(link, cast(SubmitSm, pdu))
        elif command_id == _QUERY_SM:
            assert isinstance(pdu, QuerySm)
            state = self._states.get(pdu.message_id)
            if state is None:
                link.respond(pdu, QuerySmResp(sequence=pdu.sequence,
                                              command_status=CommandStatus.ESME_RINVMSGID))
            else:
                link.respond(pdu, QuerySmResp(sequence=pdu.sequence, message_id=pdu.message_id,
                                              message_state=state))
        elif command_id == _DATA_SM:  # answered, not counted or recorded: the proxy sends submit_sm
            link.respond(pdu, DataSmResp(sequence=pdu.sequence,
                                         message_id=self._id_pattern % next(self._ids)))
        else:  # cancel_sm: everything is delivered at once here, nothing left to cancel
            link.respond(pdu, CancelSmResp(sequence=pdu.sequence,
                                           command_status=CommandStatus.ESME_RCANCELFAIL))

    # --- submit_sm: the hot path ---------------------------------------------------------------

    def _on_submit(self, link: SmppLink, pdu: SubmitSm) -> None:
        stats = self.stats
        stats.submits += 1
        if pdu.esm_class & ESM_UDHI or pdu.tlvs:
            try:
                info = concat_info(pdu.esm_class, pdu.short_message, pdu.tlvs)
            except ConcatError:
                info = None
            if info is not None and info.total > 1:
                stats.parts += 1
        system_id: str = link.owner
        status = 0
        if self.throttle_tps and not self._take_token(system_id):
            status = _THROTTLED
            stats.throttled += 1
        elif self.error_rate:
            # Deterministic: exactly error_rate of the submits, evenly spread.
            self._error_debt += self.error_rate
            if self._error_debt >= 1.0:
                self._error_debt -= 1.0
                status = self.error_status
                stats.rejected += 1
        number = 0
        carrier_id = ""
        if not status:
            stats.accepted += 1
            number = next(self._ids)
            carrier_id = self._id_pattern % number
        if not self.fast:
            self.received.append(ReceivedSubmit(pdu, system_id, carrier_id, status))
            if carrier_id:
                self._states[carrier_id] = _ENROUTE
        if self.latency:
            self.loop.call_later(self.latency, self._answer, link, pdu, status, number, carrier_id)
        else:
            self._answer(link, pdu, status, number, carrier_id)

    def _take_token(self, system_id: str) -> bool:
        """Token bucket per system_id, one second of burst."""
        now = self.loop.time()
        rate = self.throttle_tps
        bucket = self._buckets.get(system_id)
        if bucket is None:
            bucket = self._buckets[system_id] = [max(1.0, rate), now]
        tokens = min(max(1.0, rate), bucket[0] + (now - bucket[1]) * rate)
        bucket[1] = now
        if tokens < 1.0:
            bucket[0] = tokens
            return False
        bucket[0] = tokens - 1.0
        return True

    def _answer(
        self, link: SmppLink, pdu: SubmitSm, status: int, number: int, carrier_id: str
    ) -> None:
        link.respond(pdu, SubmitSmResp(sequence=pdu.sequence, command_status=status,
                                       message_id=carrier_id))
        if status or not self.dlr or not pdu.registered_delivery & 1:
            if carrier_id and not self.fast:
                self._states[carrier_id] = STAT_STATES[self._stat_for(pdu.destination_addr)]
            return
        submitted = self._minute_stamp()
        if self.dlr_delay:
            self.loop.call_later(self.dlr_delay, self._receipt, link.owner, pdu, number,
                                 carrier_id, submitted)
        else:
            self._receipt(link.owner, pdu, number, carrier_id, submitted)

    def _stat_for(self, destination: str) -> str:
        if self._stats_by_prefix:
            destination = destination.lstrip("+")
            for prefix, stat in self._stats_by_prefix:
                if destination.startswith(prefix):
                    return stat
        return self.dlr_stat

    def _minute_stamp(self) -> str:
        minute = int(time.time()) // 60
        if minute != self._stamp_minute:
            self._stamp_minute = minute
            self._stamp = time.strftime("%y%m%d%H%M", time.gmtime(minute * 60))
        return self._stamp

    def _receipt(
        self, system_id: str, pdu: SubmitSm, number: int, carrier_id: str, submitted: str
    ) -> None:
        stat = self._stat_for(pdu.destination_addr)
        if not self.fast:
            self._states[carrier_id] = STAT_STATES[stat]
        self.outbox.put(receipt(system_id, pdu, self._dlr_pattern % number, stat, submitted,
                                self._minute_stamp(), snippet=not self.fast))

    # --- MO ----------------------------------------------------------------------------------

    async def inject_mo(
        self,
        source_addr: str,
        destination_addr: str,
        text: str,
        data_coding: int | None = None,
        system_id: str | None = None,
    ) -> int:
        """Queue a MO towards a receiver of ``system_id`` (None: any); return its part count.

        Long texts go as UDH 8-bit concatenated parts. Parts are delivered (and
        retried) in the background; a receiver that binds later still gets them.
        """
        parts = mo_parts(system_id, source_addr, destination_addr, text, data_coding,
                         next(self._mo_refs) & 0xFF)
        for part in parts:
            self.outbox.put(part)
        return len(parts)


def server_context(cert: str | Path | None, key: str | Path | None,
                   client_ca: str | Path | None = None) -> ssl.SSLContext | None:
    """The simulator's TLS context (TLS 1.2+), or None without a certificate: plaintext."""
    if cert is None and key is None:
        if client_ca is not None:
            raise ValueError("a client CA needs a certificate and key to serve TLS with")
        return None
    if cert is None or key is None:
        raise ValueError("serving TLS needs both a certificate and its key")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    if client_ca is not None:
        context.load_verify_locations(cafile=client_ca)
        context.verify_mode = ssl.CERT_REQUIRED
    return context


def run(
    listen: tuple[str, int], http: tuple[str, int] | None, out: TextIO,
    tls: Mapping[str, str | Path | None] | None = None, **options: Any
) -> int:
    """Run a simulator until SIGINT or SIGTERM (``stopgate simulate-carrier``); exit code 0.

    ``tls``: ``tls_cert``, ``tls_key`` and ``tls_client_ca`` as ``start()`` takes them."""
    return run_loop(_serve(listen, http, out, dict(tls or {}), options))


async def _serve(
    listen: tuple[str, int], http: tuple[str, int] | None, out: TextIO,
    tls: dict[str, str | Path | None], options: dict[str, Any]
) -> int:
    simulator = CarrierSimulator(**options)
    await simulator.start(listen[0], listen[1], None if http is None else http[1],
                          None if http is None else http[0], **tls)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopping.set)
    line = f"stopgate simulate-carrier: SMPP on {_hostport(listen[0], simulator.port)}"
    if simulator.tls is not None:
        line += " over TLS" + (" (client certificate required)"
                               if tls.get("tls_client_ca") is not None else "")
    if http is not None:
        line += f", HTTP control on http://{_hostport(http[0], simulator.http_port or 0)}/"
    print(line, file=out, flush=True)
    try:
        await stopping.wait()
    finally:
        await simulator.stop()
    return 0


def _hostport(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
