"""The sender-facing SMPP server: stopgate as an SMSC towards its senders.

Binds are checked against ``[[accounts]]``; each bound session's submit_sm
become ``Message`` objects for the MT pipeline (multipart ones reassembled
first); bound receiver sessions are where DLRs and MOs go back to.

Multipart submits: every part but the one that completes the message is
answered at once with an id of its own, so a sender with a window of 1 can
send the next part. The completing part is answered when the whole message
has been judged and handed to the carrier; its id is the message's id. A
DLR for outbound part k carries the id the sender got for inbound part k
(see ``gateway.mt.pipeline.sender_ids_for_parts``). Parts of a message that never
completes are dropped after ``smpp.reassembly_timeout`` (or evicted, oldest first,
past ``smpp.reassembly_max_pending`` messages / ``reassembly_max_bytes``: an account
over its equal share of them evicts its own, one within it those of the accounts
over theirs) and counted in ``stopgate_reassembly_dropped_total{reason, account}``; parts
that asked for a receipt get an UNDELIV one (``gateway.senders.answered_parts``), so the sender
knows the message went nowhere.

Limits on senders: binds past ``smpp.max_sessions_per_account`` or
``smpp.max_sessions_per_address`` (bound sessions from one IP address) are refused
ESME_RBINDFAIL; a connection that has not bound within ``bind_timeout`` is closed
(by its SmppLink); a frame that stays incomplete for ``frame_timeout`` (a sender
that trickles or stops mid-frame) and a bound session silent for ``idle_timeout``
are closed by the sweeper.

Over TLS (``server.smpp_tls_listen``, gateway.tls.TlsListener) a session is the
same session; a bind there also answers to the client certificate. A verified certificate
(``server.tls_client_ca`` signed it) must name the bind's system_id (its commonName or a
subjectAltName DNS/URI entry, ``gateway.tls.peer_names``), else ESME_RBINDFAIL
(``certificate_mismatch``); an account with ``tls_client_cert = true`` binds only over
TLS with such a certificate, else ESME_RBINDFAIL (``certificate_required``). Both come
after the password check, which still applies.

Behind a load balancer (``smpp.proxy_protocol``), both listeners read each connection's
PROXY header first (gateway.tls.TlsListener) and the link's ``peer`` is the client it
names: bind pacing and ``max_sessions_per_address`` count that address.

Bind pacing holds over every instance sharing the Redis (``counters``): a failed bind is
counted there, and given its answer time, before it is answered (gateway.senders.bind_pacing).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from functools import partial
from typing import Any

from gateway.config.model import Account, Config
from gateway.instances.counters import SharedCounters
from gateway.lifecycle import Background, TaskSet
from gateway.limits import AddressCounts, TokenBucket
from gateway.message import Message, new_message_id
from gateway.mt.latency import LatencyBatch
from gateway.mt.pipeline import MtPipeline, MtResult, SenderStage
from gateway.observability.logs import fields
from gateway.observability.metrics import Metrics
from gateway.senders.answered_parts import AnsweredParts
from gateway.senders.bind_pacing import UNKNOWN, BindPacing
from gateway.senders.bound import BoundSenders
from gateway.smpp_link import LinkHandler, LinkOptions, SmppLink
from gateway.tls import ServerTls, TlsListener, peer_names
from smpp.constants import CommandId, CommandStatus
from smpp.events import ProtocolError, RequestRejected
from smpp.pdu import CancelSmResp, DataSmResp, Pdu, QuerySmResp, SubmitSm, SubmitSmResp
from smpp.reassembly import Reassembler, ReassemblyError
from smpp.segments import ConcatError, concat_info
from smpp.session import Role

log = logging.getLogger("stopgate.server")

SMPP_BACKLOG = 4096
#: Failed binds' kind in the shared counters (gateway.instances.counters).
BINDS = "bind"
_BIND_NAMES: dict[int, str] = {
    CommandId.bind_transmitter: "transmitter",
    CommandId.bind_receiver: "receiver",
    CommandId.bind_transceiver: "transceiver",
}


@dataclass(slots=True)
class _Conversation:
    """Per bound sender session: what the server needs beyond the SMPP session."""

    account: Account
    bind: str
    host: str
    inflight: int = 0
    #: Set by stop(): the event it waits on until nothing of this session is in flight.
    drained: asyncio.Event | None = None


class SenderServer:
    """Accepts sender binds and feeds their submit_sm to the MT pipeline."""

    def __init__(
        self,
        config: Config,
        metrics: Metrics,
        pipeline: MtPipeline,
        *,
        senders: BoundSenders | None = None,
        source_check: SenderStage | None = None,
        answered_parts: AnsweredParts | None = None,
        counters: SharedCounters | None = None,
    ) -> None:
        self.config = config
        self.pipeline = pipeline
        self.metrics = metrics
        self.accounts = {account.system_id: account for account in config.accounts}
        self.loop = asyncio.get_running_loop()
        now = self.loop.time()
        self.buckets = {
            name: TokenBucket(account.tps, now) for name, account in self.accounts.items()
        }
        #: Who is bound (the receipt router reads it, and hears of receiver binds there).
        self.senders = senders if senders is not None else BoundSenders(self.accounts)
        self.bound = self.senders.bound
        smpp = config.smpp
        # Each account has an equal share of the bounds: one flooding them with parts of
        # messages it never finishes evicts only its own (smpp.reassembly).
        self.reassembler: Reassembler[tuple[SmppLink, SubmitSm, str]] = Reassembler(
            smpp.reassembly_max_pending, smpp.reassembly_max_bytes, smpp.reassembly_timeout,
            owners=max(1, len(self.accounts)),
        )
        #: Bound sessions per client IP address (smpp.max_sessions_per_address).
        self._per_address = AddressCounts()
        self.pacing = BindPacing(config.smpp)
        #: Failed binds counted over every instance (None: this process alone).
        self.counters = counters
        self.stopping = False
        self._server: asyncio.Server | None = None
        self._tls_listener: TlsListener[SmppLink] | None = None
        self._plain_listener: TlsListener[SmppLink] | None = None
        self._sweeper = Background("sender-sweeper", self._sweep)
        self._links: set[SmppLink] = set()
        self._background = TaskSet()
        self._latencies = LatencyBatch(metrics.submit_latency)
        #: Notes in Redis of the parts answered before their message completed: a kill or
        #: a message that never completes then ends in failure receipts.
        self.answered_parts = answered_parts
        #: Sender ownership: each part of a multipart submit is checked before reassembly;
        #: whole messages are checked by the pipeline's own stage.
        self.source_check = source_check

    # --- lifecycle -----------------------------------------------------------------

    def _link(self, peer: str = "") -> SmppLink:
        smpp = self.config.smpp
        options = LinkOptions.from_config(smpp, window=smpp.sender_window,
                                          idle_timeout=smpp.bind_timeout)
        return SmppLink(Role.SMSC, _SenderHandler(self), options, peer=peer)

    def _listener(self, tls: ServerTls | None) -> TlsListener[SmppLink]:
        """Sockets accepted by stopgate itself: for TLS, and behind a load balancer
        (``smpp.proxy_protocol``: the PROXY header is read first, within bind_timeout)."""
        return TlsListener(
            tls, link="sender", protocol=lambda host, peer: self._link(peer),
            failures=self.metrics.tls_handshake_failures,
            handshake_timeout=self.config.smpp.bind_timeout,
            proxy_errors=(self.metrics.proxy_protocol_errors
                          if self.config.smpp.proxy_protocol else None),
            listener="smpp")

    async def start(self, host: str, port: int) -> int:
        """Listen; returns the port (useful with port 0)."""
        if self.config.smpp.proxy_protocol:
            self._plain_listener = self._listener(None)
            port = self._plain_listener.listen(host, port, backlog=SMPP_BACKLOG,
                                               reuse_port=self.config.server.workers > 1)
        else:
            self._server = await self._listen(self._link, host, port)
            port = int(self._server.sockets[0].getsockname()[1])
        self._sweeper.start()
        return port

    async def start_tls(self, host: str, port: int, tls: ServerTls) -> int:
        """Listen for SMPP over TLS beside ``start``'s listener; returns the port.

        Each connection's handshake must finish within ``smpp.bind_timeout``; then it is
        an ``SmppLink`` like any other (gateway.tls.TlsListener).
        """
        self._tls_listener = self._listener(tls)
        return self._tls_listener.listen(host, port, backlog=SMPP_BACKLOG,
                                         reuse_port=self.config.server.workers > 1)

    async def _listen(self, factory: Callable[[], asyncio.Protocol], host: str,
                      port: int) -> asyncio.Server:
        return await self.loop.create_server(
            factory,
            host,
            port,
            reuse_address=True,
            reuse_port=self.config.server.workers > 1,  # the workers share the port
            # asyncio's default of 100 overflows when senders reconnect all at once (after
            # a restart or a network blip): the kernel then drops SYNs and each dropped
            # sender waits a whole second for its retransmit. The kernel caps it at somaxconn.
            backlog=SMPP_BACKLOG,
        )

    async def stop(self, timeout: float = 10.0) -> None:
        """Stop accepting, let in-flight submits finish (bounded), unbind everyone politely.

        From the first moment of stopping, new submit_sm are answered ESME_RTHROTTLED at
        once: one forwarded now could still be at the carrier when its session unbinds,
        and its answer would be lost (the sender would resend a message the carrier has).
        """
        self.stopping = True
        if self._server is not None:
            self._server.close()
        for listener in (self._plain_listener, self._tls_listener):
            if listener is not None:
                await listener.stop()
        await self._sweeper.stop()
        # Only bound links have a conversation: a link whose bind was refused (or is still
        # being answered) has nothing in flight, and gets closed by the unbind below.
        waits = []
        for link in self._links:
            conversation = link.owner
            if isinstance(conversation, _Conversation) and conversation.inflight:
                conversation.drained = asyncio.Event()
                waits.append(asyncio.ensure_future(conversation.drained.wait()))
        if waits:
            _, late = await asyncio.wait(waits, timeout=timeout)
            for wait in late:
                wait.cancel()
        self._latencies.flush()
        await asyncio.gather(
            *(link.unbind(timeout=min(timeout, 5.0)) for link in list(self._links)),
            return_exceptions=True,
        )

    def _spawn(self, coroutine: Coroutine[Any, Any, object]) -> None:
        self._background.spawn(coroutine)

    def receivers(self, account: str) -> list[SmppLink]:
        """Bound receiver/transceiver sessions of ``account`` (where DLRs and MOs go)."""
        return self.senders.receivers(account)

    def session_count(self, account: str) -> int:
        return self.senders.count(account)

    async def _sweep(self) -> None:
        """Close silent or stuck sessions and drop multipart messages that never completed."""
        smpp = self.config.smpp
        idle, frame_timeout = smpp.idle_timeout, smpp.frame_timeout
        closed = self.metrics.sender_connections_closed
        while True:
            await asyncio.sleep(min(5.0, smpp.reassembly_timeout / 4, frame_timeout / 4))
            now = self.loop.time()
            self.drop_incomplete(now)
            for link in list(self._links):
                session = link.session
                if session is None or not link.is_open:
                    continue
                partial = session.partial_since
                if partial is not None and now - partial > frame_timeout:
                    # Mid-frame there is no PDU boundary to answer at: close, as for a
                    # corrupt frame. Only this connection goes.
                    closed.labels("frame_timeout").inc()
                    log.warning("sender connection closed: a frame incomplete for %gs",
                                frame_timeout, extra=fields(
                                    "sender_frame_timeout", peer=link.peer,
                                    timeout=frame_timeout))
                    link.close()
                elif idle > 0 and now - session.last_received > idle:
                    closed.labels("idle").inc()
                    self._spawn(link.unbind(timeout=5.0))

    def drop_incomplete(self, now: float) -> None:
        """Count the multipart messages dropped incomplete; their parts' receipts go out
        (``AnsweredParts.dropped``: UNDELIV for the parts that asked for one)."""
        for expired in self.reassembler.expire(now):
            self.metrics.reassembly_dropped.labels(expired.reason, str(expired.owner)).inc()
            if self.answered_parts is not None:
                self.answered_parts.dropped(c[2] for c in expired.contexts if c)
        self.metrics.reassembly_pending.set(self.reassembler.pending)

    # --- binds ------------------------------------------------------------------------
    #
    # Repeated failures for one system_id from one address slow that system_id down from
    # that address; unknown system_ids share one pace per address (gateway.senders.bind_pacing).

    def bind(self, link: SmppLink, pdu: Pdu) -> None:
        system_id = getattr(pdu, "system_id", "")
        password = getattr(pdu, "password", "")
        account = self.accounts.get(system_id)
        refusal: tuple[int, str] | None = None
        if account is None:
            refusal = (CommandStatus.ESME_RINVSYSID, "unknown_system_id")
        # Constant time: the comparison must not tell how much of a password was right.
        elif not account.password or not hmac.compare_digest(
            password.encode("latin-1", "replace"), account.password.encode("latin-1", "replace")
        ):
            refusal = (CommandStatus.ESME_RINVPASWD, "bad_password")
        else:
            refusal = _certificate_refusal(link, account)
        host, paced = _host(link.peer), system_id if account is not None else UNKNOWN
        if refusal is not None:
            self.pacing.failed(host, paced, self.loop.time())
        if refusal is not None and self.counters is not None:
            # Counted (and its answer booked) over every instance before it is answered.
            self._spawn(self._failed_bind(self.counters, link, pdu, refusal, host, paced))
            return
        if refusal is None and self.counters is not None and self.pacing.delays(
                host, paced, self.loop.time()):
            # Failures known here: forgiven elsewhere since? (a clean key asks nothing)
            self._spawn(self._known_key(self.counters, link, pdu, host, paced))
            return
        self._pace(link, pdu, refusal, host, paced, None)

    async def _known_key(self, counters: SharedCounters, link: SmppLink, pdu: Pdu, host: str,
                         paced: str) -> None:
        count = await counters.count(BINDS, _pace_address(host, paced), self.pacing.window())
        if count is not None:  # None: Redis did not answer, this process's count decides
            self.pacing.shared_count(host, paced, count)
        self._pace(link, pdu, None, host, paced, None)

    async def _failed_bind(self, counters: SharedCounters, link: SmppLink, pdu: Pdu,
                           refusal: tuple[int, str], host: str, paced: str) -> None:
        smpp, pacing = self.config.smpp, self.pacing
        # None when Redis does not answer: this process's own count decides alone.
        shared = await counters.pace(BINDS, _pace_address(host, paced), pacing.window(),
                                     smpp.failed_bind_delay, smpp.failed_bind_delay_max,
                                     smpp.bind_timeout)
        self._pace(link, pdu, refusal, host, paced, shared)

    def _pace(self, link: SmppLink, pdu: Pdu, refusal: tuple[int, str] | None, host: str,
              paced: str, shared: tuple[int, float] | None) -> None:
        answer_at = self.pacing.answer_time(host, paced, self.loop.time(), shared=shared)
        if answer_at is None:
            return  # after the bind timeout: the session closes itself unanswered
        if answer_at <= self.loop.time():
            self._answer_bind(link, pdu, refusal)
        else:
            self.loop.call_at(answer_at, self._answer_bind, link, pdu, refusal)

    def _answer_bind(self, link: SmppLink, pdu: Pdu, refusal: tuple[int, str] | None) -> None:
        if not link.is_open:
            return  # the sender gave up waiting
        system_id = getattr(pdu, "system_id", "")
        host = _host(link.peer)
        smpp = self.config.smpp
        limit = smpp.max_sessions_per_account
        if refusal is None and limit and self.session_count(system_id) >= limit:
            refusal = (CommandStatus.ESME_RBINDFAIL, "too_many_sessions")
        limit = smpp.max_sessions_per_address
        if refusal is None and limit and self._per_address[host] >= limit:
            refusal = (CommandStatus.ESME_RBINDFAIL, "too_many_from_address")
        if refusal is not None:
            status, outcome = refusal
            self.metrics.sender_binds.labels(outcome).inc()
            # Never the password; the system_id as repr, since it is the sender's raw input.
            details: dict[str, Any] = {"tls": _peercert(link) is not None}
            if outcome in _CERTIFICATE_OUTCOMES:
                details["certificate_names"] = sorted(peer_names(_peercert(link)))
            log.warning("sender bind refused (%s): system_id %r from %s", outcome, system_id,
                        host, extra=fields(
                            "sender_bind_failed", account=system_id, peer=link.peer,
                            bind=_BIND_NAMES.get(pdu.command_id, "unknown"), reason=outcome,
                            status=f"0x{status:08X}", **details))
            link.reject_bind(pdu, status)
            return
        self.pacing.forgive(host, system_id)
        if self.counters is not None:
            # On every instance (failures may have been counted elsewhere only); after the
            # answer, which waits for nothing.
            self._spawn(self.counters.forget(BINDS, _pace_address(host, system_id)))
        account = self.accounts[system_id]
        bind = _BIND_NAMES[CommandId(pdu.command_id)]
        link.owner = _Conversation(account, bind, host)
        link.accept_bind(pdu, "stopgate")
        self._per_address.add(host)
        self.metrics.sender_binds.labels("ok").inc()
        self.metrics.sender_sessions.labels(system_id, bind).inc()
        log.info("sender bound", extra=fields("sender_bound", account=system_id, bind=bind,
                                              peer=link.peer))
        # Last: a receiver's listeners (the receipt router's queue flush) find it bound.
        self.senders.add(system_id, link, receives=bind != "transmitter")

    def closed(self, link: SmppLink) -> None:
        self._links.discard(link)
        conversation = link.owner
        if isinstance(conversation, _Conversation):
            name = conversation.account.system_id
            if self.senders.remove(name, link):
                self.metrics.sender_sessions.labels(name, conversation.bind).dec()
                log.info("sender unbound", extra=fields("sender_unbound", account=name,
                                                        bind=conversation.bind, peer=link.peer))
                self._per_address.remove(conversation.host)

    # --- submit_sm -----------------------------------------------------------------------

    def submit_sm(self, link: SmppLink, pdu: SubmitSm) -> None:
        conversation = _conversation(link)
        account = conversation.account
        now = self.loop.time()
        if self.stopping:
            self.metrics.throttled.labels("shutdown").inc()
            link.respond(pdu, SubmitSmResp(command_status=CommandStatus.ESME_RTHROTTLED))
            return
        if not self.buckets[account.system_id].take(now):
            self.metrics.throttled.labels("account_tps").inc()
            link.respond(pdu, SubmitSmResp(command_status=CommandStatus.ESME_RTHROTTLED))
            return
        try:
            info = concat_info(pdu.esm_class, pdu.short_message, pdu.tlvs)
        except ConcatError:
            link.respond(pdu, SubmitSmResp(command_status=CommandStatus.ESME_RINVOPTPARAMVAL))
            return
        started = time.perf_counter()
        if info is None or info.kind == "payload" or info.total == 1:
            message = Message.from_pdu(account.system_id, pdu, info, now)
            self._run(link, pdu, message, started)
            return
        if self.source_check is not None:
            # Before reassembly: an earlier part answered ESME_ROK would tell the sender the
            # message went, from a source that is not its own.
            refused = self.source_check.refusal(account.system_id, pdu.source_addr,
                                                pdu.source_addr_ton)
            if refused is not None:
                link.respond(pdu, SubmitSmResp(command_status=refused.status))
                return
        part_id = new_message_id()
        key = (account.system_id, pdu.source_addr, pdu.destination_addr)
        try:
            completed = self.reassembler.add(key, info, now, context=(link, pdu, part_id),
                                             owner=account.system_id)
        except ReassemblyError as error:
            link.respond(pdu, SubmitSmResp(command_status=CommandStatus.ESME_RINVOPTPARAMVAL))
            # Debug: the sender hears it on the wire, and it could send one per PDU.
            log.debug("multipart part refused", extra=fields(
                "multipart_part_refused", account=account.system_id, error=str(error)))
            return
        self.drop_incomplete(now)  # a part over the caps evicts the oldest: its receipts go now
        if completed is None:
            if self.answered_parts is None:
                link.respond(pdu, SubmitSmResp(message_id=part_id))
            else:
                self.answered_parts.answer(link, pdu, account.system_id, part_id)
            return
        # The notes of the parts answered before stay until the message's fate is known
        # (``_answer``): a gateway killed while the message is judged or waits for the
        # carrier leaves them behind, failed by its successor or the orphan sweep.
        self._run(link, pdu, Message.from_parts(account.system_id, completed, part_id, now),
                  started, tuple(c[2] for c in completed.contexts if c))

    def _run(self, link: SmppLink, pdu: SubmitSm, message: Message, started: float,
             noted: tuple[str, ...] = ()) -> None:
        conversation = _conversation(link)
        conversation.inflight += 1
        self.pipeline.start(message, partial(self._answer, link, conversation, pdu, started,
                                             noted))

    def _answer(self, link: SmppLink, conversation: _Conversation, pdu: SubmitSm,
                started: float, noted: tuple[str, ...], result: MtResult) -> None:
        conversation.inflight -= 1
        link.respond_submit(pdu, result.status, result.message_id)
        if noted and self.answered_parts is not None:
            # With the carrier, or refused (the pipeline fails the earlier parts by receipt).
            self.answered_parts.completed(noted)
        self._latencies.add(time.perf_counter() - started)
        if conversation.inflight == 0 and conversation.drained is not None:
            conversation.drained.set()


def _peercert(link: SmppLink) -> dict[str, Any] | None:
    """None on a plaintext link; over TLS, the verified client certificate ({}: none)."""
    transport = link.transport
    if transport is None or transport.get_extra_info("ssl_object") is None:
        return None
    return transport.get_extra_info("peercert") or {}


_CERTIFICATE_OUTCOMES = ("certificate_mismatch", "certificate_required")


def _certificate_refusal(link: SmppLink, account: Account) -> tuple[int, str] | None:
    """ESME_RBINDFAIL when the client certificate (or its absence) does not allow the bind.

    A verified certificate must name the system_id, whether or not the account asks for
    one; an account with ``tls_client_cert`` needs a TLS session with such a certificate.
    """
    peercert = _peercert(link)
    if peercert:
        if account.system_id not in peer_names(peercert):
            return (CommandStatus.ESME_RBINDFAIL, "certificate_mismatch")
    elif account.tls_client_cert:
        return (CommandStatus.ESME_RBINDFAIL, "certificate_required")
    return None


class _SenderHandler(LinkHandler):
    """Routes one sender connection's events to the server."""

    __slots__ = ("server",)

    def __init__(self, server: SenderServer) -> None:
        self.server = server

    def on_bind_request(self, link: SmppLink, pdu: Pdu) -> None:
        self.server._links.add(link)
        self.server.bind(link, pdu)

    def on_pdu(self, link: SmppLink, pdu: Pdu) -> None:
        if isinstance(pdu, SubmitSm):
            self.server.submit_sm(link, pdu)
            return
        # data_sm, query_sm, cancel_sm: stopgate forwards submit_sm only (see README).
        response = _UNSUPPORTED.get(pdu.command_id)
        if response is not None:
            link.respond(pdu, response[0](command_status=response[1]))

    def on_protocol_error(self, link: SmppLink, event: ProtocolError) -> None:
        self.server.metrics.sender_protocol_errors.labels(
            _status_name(event.error.command_status)
        ).inc()
        log.info("malformed PDU from sender", extra=fields(
            "sender_malformed_pdu", peer=link.peer, error=str(event.error),
            status=_status_name(event.error.command_status)))

    def on_rejected(self, link: SmppLink, event: RequestRejected) -> None:
        self.server.metrics.sender_protocol_errors.labels(_status_name(event.status)).inc()

    def on_closed(self, link: SmppLink, unanswered: tuple[Pdu, ...]) -> None:
        self.server.closed(link)


_UNSUPPORTED: dict[int, tuple[type[Pdu], int]] = {
    CommandId.data_sm: (DataSmResp, CommandStatus.ESME_RINVCMDID),
    CommandId.query_sm: (QuerySmResp, CommandStatus.ESME_RQUERYFAIL),
    CommandId.cancel_sm: (CancelSmResp, CommandStatus.ESME_RCANCELFAIL),
}


def _status_name(status: int) -> str:
    try:
        return CommandStatus(status).name
    except ValueError:
        return f"0x{status:08X}"


def _host(peer: str) -> str:
    return peer.rsplit(":", 1)[0]


def _pace_address(host: str, system_id: str) -> str:
    """The shared counters' address of a pacing key: a host has no space in it."""
    return f"{host} {system_id}"


def _conversation(link: SmppLink) -> _Conversation:
    conversation = link.owner
    assert isinstance(conversation, _Conversation)
    return conversation
