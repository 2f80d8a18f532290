"""The carrier link pool: every configured upstream, its binds, and the way to them.

``UpstreamPool.submit_then`` takes the outbound parts of one message and calls its
``CarrierAnswer`` back with a ``Sent`` (the upstream's name and the carrier's message
id for each part, in part order) or a ``SubmitError`` whose ``status`` is what the
sender should get; a refusal it knows at once (no route, nothing bound, queue full)
it raises. ``submit`` is the same as a coroutine.

Routing (gateway/carriers/routing.py): the upstreams whose routes match the destination,
most specific route first (longest E.164 prefix, then country, then "*"), ties
in config order. The message goes to the first of them with a bound
transmitting session (fail-over down the list). None bound: ``Throttled`` at
once (ESME_RTHROTTLED; the sender retries later and never hangs while a link
reconnects). No upstream routes the destination at all: ``NoRoute``
(ESME_RINVDSTADR: a config gap that no retry fixes, and the sender's own word
for "cannot go there").

Flow control (gateway/carriers/dispatch.py): each session's SMPP window (``window``
submit_sm awaiting a response) and one token bucket per upstream for ``tps``,
shared by its sessions. Parts that have neither wait in memory;
``submit_queue_max`` bounds the waiting parts of the whole pool and a message
that would pass it fails at once with ``QueueFull`` (ESME_RMSGQFUL). All parts
of a message go over one session, in order, pipelined.

Retries happen within a deadline of 2 x ``response_timeout`` from submit; past
it the message fails with ``Throttled`` (the sender retries: delivery is
at-least-once, never a silent loss):

- ESME_RTHROTTLED or ESME_RMSGQFUL from the carrier is not a failure: the session
  pauses (50 ms, doubling while the carrier keeps refusing, at most 1 s), the
  upstream's rate halves and climbs back additively (gateway/carriers/rate.py),
  and the same part goes again on the same session.
- No response within ``response_timeout``: the carrier may have taken the part,
  but a rare duplicate beats a silent loss: it goes again. The link is probed at
  once with enquire_link; left unanswered too, it is dead: closed and re-bound.
- The link drops with parts unanswered: they go again on another bound session
  of the upstream or the re-bound one; a message none of whose parts the carrier
  took may move to the next matching upstream. Parts already accepted are not
  sent again (the handset reassembles by the UDH/SAR reference).
- Every part sent again without an answer to its first copy (the two cases
  above) counts as ``resubmitted``: the possible duplicates are never silent.
- Any other error status fails the whole message with ``CarrierRejected``
  carrying that status; its parts still in flight are forgotten.

Carrier deliver_sm (receipts, MOs) and data_sm (as the equivalent deliver_sm)
on any session go to the ``on_deliver_sm`` callback; the carrier gets its
response, with the callback's status, only once the callback returns, so what
the callback made durable is durable before the carrier forgets the message. A
callback that raises answers ESME_RX_T_APPN (temporary): the carrier redelivers.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from functools import partial
from typing import TYPE_CHECKING

from gateway.carriers.dispatch import (
    CarrierAnswer,
    CarrierQueue,
    CarrierRejected,
    Dispatcher,
    Job,
    Lane,
    NoRoute,
    QueueFull,
    Sent,
    SubmitError,
    Throttled,
)
from gateway.carriers.routing import Router
from gateway.carriers.session import UNVERIFIED, CarrierSession, carrier_tls
from gateway.lifecycle import TaskSet
from gateway.observability.logs import fields
from gateway.tls import ClientTls, reload_logged
from smpp.constants import CommandId, CommandStatus
from smpp.pdu import DataSm, DataSmResp, DeliverSm, DeliverSmResp, Pdu, SubmitSm

if TYPE_CHECKING:
    from gateway.config.model import Config, Upstream
    from gateway.observability.metrics import Metrics
    from gateway.smpp_link import SmppLink

__all__ = [
    "CarrierAnswer", "CarrierRejected", "DeliverCallback", "NoRoute", "QueueFull", "Sent",
    "SubmitError", "Throttled", "UpstreamPool",
]

log = logging.getLogger("stopgate.upstream")

#: Called with each carrier deliver_sm and the upstream's name; returns the deliver_sm_resp status.
DeliverCallback = Callable[[DeliverSm, str], Awaitable[int]]

_DELIVER_SM = CommandId.deliver_sm
_DATA_SM = CommandId.data_sm


class UpstreamPool:
    """Every carrier link; see the module docstring for routing, flow control and retries."""

    def __init__(self, config: Config, metrics: Metrics, *,
                 on_deliver_sm: DeliverCallback) -> None:
        self._loop = asyncio.get_running_loop()
        smpp = config.smpp
        self._on_deliver_sm = on_deliver_sm
        self._dispatch = Dispatcher(
            queue_max=smpp.submit_queue_max, deadline=2 * smpp.response_timeout,
            response_timeout=smpp.response_timeout,
            too_late=metrics.throttled.labels("carrier_deadline"),
        )
        self._sessions: dict[str, list[CarrierSession]] = {}
        self._upstreams: dict[str, Upstream] = {}
        self._tls: dict[str, ClientTls | None] = {}
        self._smpp = smpp
        self._metrics = metrics
        self._started = False
        self._stopping = False
        #: Sessions lowered away (gateway.instances.membership) until they have unbound.
        self._retiring: set[CarrierSession] = set()
        self._retirements = TaskSet()
        self._made = 0  # sessions made so far: each one's label is unique
        self._queues: dict[str, CarrierQueue] = {}
        now = self._loop.time()
        events = metrics.upstream_events
        for upstream in config.upstreams:
            name = upstream.name
            queue = CarrierQueue(name, upstream.tps, now, events.labels(name, "throttled"),
                                 events.labels(name, "timeout"),
                                 events.labels(name, "resubmitted"),
                                 events.labels(name, "stuck"))
            self._queues[name] = queue
            self._dispatch.carriers.append(queue)
            metrics.upstream_inflight.labels(name).set_function(partial(_inflight, queue))
            metrics.upstream_rate_limit.labels(name).set_function(partial(_rate_limit, queue))
            tls = carrier_tls(upstream)  # one context per upstream, shared by its sessions
            if tls is not None and not upstream.tls_verify:
                metrics.tls_unverified_links.labels(name).set(1)
                log.warning(UNVERIFIED, name, extra=fields(
                    "carrier_tls_unverified", upstream=name,
                    address=f"{upstream.host}:{upstream.port}"))
            self._upstreams[name] = upstream
            self._tls[name] = tls
            self._sessions[name] = []
            self.set_sessions(name, upstream.sessions)
        self._router: Router[CarrierQueue] = Router(
            [(self._queues[u.name], u.routes) for u in config.upstreams])
        self._no_upstream = metrics.throttled.labels("no_upstream")
        self._queue_full = metrics.throttled.labels("queue_full")
        self._deliveries = TaskSet()
        self._sweeper: asyncio.TimerHandle | None = None
        self._stopping = False

    # --- lifecycle and health ----------------------------------------------------------

    @property
    def stopping(self) -> bool:
        return self._stopping

    async def start(self) -> None:
        """Launch every session's connector; binds complete in the background."""
        self._started = True
        for session in self._all_sessions():
            session.start()
        self._sweep()

    # --- shares of the limits (gateway/instances/membership.py) ---------------------------

    def set_sessions(self, name: str, count: int) -> None:
        """Hold ``count`` binds of each configured kind to upstream ``name``: more are
        opened; those beyond it are retired (no new message starts on them, the parts
        under way finish, then they unbind)."""
        sessions = self._sessions.get(name)
        if sessions is None or self._stopping:
            return
        upstream = self._upstreams[name]
        kinds = len(upstream.bind)
        while len(sessions) < count * kinds:
            index = self._made // max(1, kinds)
            for kind in upstream.bind:
                session = CarrierSession(self, upstream, kind, self._smpp, self._metrics,
                                         label=f"{name}/{kind}#{index}", tls=self._tls[name])
                sessions.append(session)
                if self._started:
                    session.start()
            self._made += kinds
        while len(sessions) > count * kinds:
            session = sessions.pop()
            self._retiring.add(session)
            self._retirements.spawn(self._retire(session))

    async def _retire(self, session: CarrierSession) -> None:
        try:
            link = session.retire()
            lane = link.owner if link is not None else None
            if isinstance(lane, Lane):
                lane.draining = True
                self._dispatch.pump(lane.carrier)  # its waiting messages go to other lanes
                deadline = self._loop.time() + self._dispatch.deadline
                while ((lane.pinned or lane.link.outstanding) and lane.alive
                       and self._loop.time() < deadline):
                    await asyncio.sleep(0.02)
            if link is not None:
                await link.unbind(self._smpp.response_timeout)
            if session.task is not None:
                await asyncio.wait([session.task], timeout=self._smpp.response_timeout)
        finally:
            session.forget()
            self._retiring.discard(session)

    def set_tps(self, name: str, tps: float) -> None:
        """Upstream ``name`` sends at most ``tps`` parts a second (0: unlimited)."""
        queue = self._queues.get(name)
        if queue is not None:
            queue.bucket.retune(tps, self._loop.time())
            self._dispatch.pump(queue)

    def retired(self) -> bool:
        """No session lowered away by ``set_sessions`` is still bound."""
        return not self._retiring

    def _sweep(self) -> None:
        self._dispatch.sweep()
        self._sweeper = self._loop.call_later(self._dispatch.deadline / 4, self._sweep)

    def _all_sessions(self) -> list[CarrierSession]:
        return [session for sessions in self._sessions.values() for session in sessions]

    def reload_tls(self) -> None:
        """SIGHUP: every TLS upstream loads its CA, client certificate and key again.
        Each session uses them from its next connect; links already bound stay up with
        the context they were made with. Unusable files are logged and change nothing."""
        for name, tls in self._tls.items():
            if tls is not None:
                reload_logged({"upstream": name}, tls, tls.cert or tls.ca)

    @property
    def ready(self) -> bool:
        """At least one bound session can transmit."""
        return any(queue.lanes for queue in self._dispatch.carriers)

    def bound_sessions(self, name: str | None = None) -> int:
        """Bound sessions (any bind kind) of every upstream, or of the one called ``name``."""
        sessions = self._all_sessions() if name is None else self._sessions.get(name, [])
        return sum(1 for session in sessions if session.state == "bound")

    def status(self) -> dict[str, dict[str, int]]:
        """Per upstream: sessions bound, connecting and down, and bound transmitting ones."""
        report = {}
        for name, sessions in self._sessions.items():
            counts = {"bound": 0, "connecting": 0, "down": 0}
            for session in sessions:
                counts[session.state] += 1
            counts["transmitting"] = len(self._queues[name].lanes)
            report[name] = counts
        return report

    def failures(self) -> dict[str, str]:
        """Per upstream none of whose sessions is bound: why its last attempt failed
        (connect_failed, bind_failed, tls_<reason> as in gateway.tls.REASONS)."""
        report = {}
        for name, sessions in self._sessions.items():
            if any(session.state == "bound" for session in sessions):
                continue
            failure = next((s.failure for s in sessions if s.failure is not None), None)
            if failure is not None:
                report[name] = failure
        return report

    async def stop(self, timeout: float = 10.0) -> None:
        """Stop reconnecting, let in-flight parts finish (bounded), unbind politely, close."""
        if self._stopping:
            return
        self._stopping = True
        loop = self._loop
        deadline = loop.time() + timeout
        drain_until = deadline - min(1.0, timeout / 4)  # keep time to unbind
        sessions = [*self._all_sessions(), *self._retiring]
        for session in sessions:
            session.stop_reconnecting()
        while self._dispatch.busy() and loop.time() < drain_until:
            await asyncio.sleep(0.01)
        await self._deliveries.drain(max(0.0, drain_until - loop.time()))
        self._dispatch.fail_queued("stopgate is shutting down")
        if self._sweeper is not None:
            self._sweeper.cancel()
        links = [session.link for session in sessions if session.link is not None]
        await asyncio.gather(*(link.unbind(max(0.1, deadline - loop.time())) for link in links),
                             return_exceptions=True)
        tasks = [session.task for session in sessions if session.task is not None]
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=max(0.1, deadline - loop.time()))
            for task in late:
                task.cancel()
        # Deliveries never answered are cancelled: the carrier delivers them again.
        await asyncio.gather(*tasks, self._deliveries.cancel(), self._retirements.cancel(),
                             return_exceptions=True)

    # --- submit ------------------------------------------------------------------------

    async def submit(self, parts: list[SubmitSm], *, e164: str, country: str) -> Sent:
        """Send one message's parts over one session; the carrier's ids in part order."""
        return await self.submit_nowait(parts, e164=e164, country=country)

    def submit_nowait(self, parts: list[SubmitSm], *, e164: str,
                      country: str) -> asyncio.Future[Sent]:
        """``submit`` without a coroutine: refusals raise now, the rest resolve the future
        (cancelling it drops the parts not sent yet)."""
        future: asyncio.Future[Sent] = self._loop.create_future()
        job = self._queue(parts, e164, country, _Resolve(future))
        future.add_done_callback(partial(_abandoned, job))
        return future

    def submit_then(self, parts: list[SubmitSm], *, e164: str, country: str,
                    answer: CarrierAnswer) -> None:
        """Queue one message's parts; refusals raise now (``SubmitError``), the rest are
        told to ``answer.sent`` once, when the carrier took every part or it failed."""
        self._queue(parts, e164, country, answer)

    def _queue(self, parts: list[SubmitSm], e164: str, country: str,
               answer: CarrierAnswer) -> Job:
        if self._stopping:
            raise Throttled("stopgate is shutting down")
        if not parts:
            raise ValueError("a message has at least one part")
        candidates = self._router.candidates(e164, country)
        if not candidates:
            raise NoRoute(f"no upstream routes {country or '?'} {e164}")
        for queue in candidates:
            if queue.lanes:
                break
        else:
            self._no_upstream.inc()
            raise Throttled("no carrier session is bound for this destination")
        dispatch = self._dispatch
        if dispatch.queued and dispatch.queued + len(parts) > dispatch.queue_max:
            self._queue_full.inc()
            raise QueueFull(f"{dispatch.queued} parts already wait for a carrier window")
        return dispatch.submit(parts, queue, candidates, answer)

    # --- what the carrier sessions report ----------------------------------------------

    def session_up(self, session: CarrierSession, link: SmppLink) -> None:
        if session.transmits:
            link.owner = self._dispatch.add_lane(self._queues[session.upstream.name], link)

    def session_down(self, session: CarrierSession, link: SmppLink) -> None:
        if isinstance(link.owner, Lane):  # else never bound, or a receiver
            self._dispatch.remove_lane(link.owner)

    def carrier_request(self, session: CarrierSession, link: SmppLink, pdu: Pdu) -> None:
        command_id = pdu.command_id
        response: type[DeliverSmResp | DataSmResp]
        if command_id == _DELIVER_SM:
            assert isinstance(pdu, DeliverSm)
            deliver, response = pdu, DeliverSmResp
        elif command_id == _DATA_SM:
            assert isinstance(pdu, DataSm)
            deliver, response = _as_deliver_sm(pdu), DataSmResp
        else:
            return  # alert_notification: nothing to answer, nothing stopgate uses
        name = session.upstream.name
        self._deliveries.add(self._loop.create_task(
            self._deliver(link, pdu, deliver, response, name)))

    async def _deliver(self, link: SmppLink, request: Pdu, deliver: DeliverSm,
                       response: type[DeliverSmResp | DataSmResp], upstream: str) -> None:
        try:
            status = await self._on_deliver_sm(deliver, upstream)
        except Exception:
            log.exception("deliver_sm handler failed; answering ESME_RX_T_APPN (the carrier "
                          "retries)", extra=fields("deliver_sm_failed", upstream=upstream))
            status = CommandStatus.ESME_RX_T_APPN
        link.respond(request, response(command_status=status))


class _Resolve:
    """A ``CarrierAnswer`` that resolves a future (``submit``, ``submit_nowait``)."""

    __slots__ = ("future",)

    def __init__(self, future: asyncio.Future[Sent]) -> None:
        self.future = future

    def sent(self, outcome: Sent | BaseException) -> None:
        future = self.future
        if future.done():  # the waiter was cancelled
            return
        if isinstance(outcome, BaseException):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)


def _abandoned(job: Job, future: asyncio.Future[Sent]) -> None:
    if future.cancelled():  # nobody waits any more: the parts not sent yet are dropped
        job.finished = True


def _inflight(queue: CarrierQueue) -> float:
    return queue.inflight


def _rate_limit(queue: CarrierQueue) -> float:
    return queue.bucket.rate or 0.0


def _as_deliver_sm(pdu: DataSm) -> DeliverSm:
    """The deliver_sm a data_sm means (its text, if any, is in message_payload)."""
    return DeliverSm(
        sequence=pdu.sequence, service_type=pdu.service_type,
        source_addr_ton=pdu.source_addr_ton, source_addr_npi=pdu.source_addr_npi,
        source_addr=pdu.source_addr, dest_addr_ton=pdu.dest_addr_ton,
        dest_addr_npi=pdu.dest_addr_npi, destination_addr=pdu.destination_addr,
        esm_class=pdu.esm_class, registered_delivery=pdu.registered_delivery,
        data_coding=pdu.data_coding, tlvs=pdu.tlvs,
    )
