"""The submit_sm path to the carriers: queues, windows, tokens and retries.

The ``Dispatcher`` knows every upstream as a ``CarrierQueue`` and every bound
transmitting link as a ``Lane``. A message (``Job``) waits on its upstream's
queue until a lane has window room and the upstream's token bucket a token;
its first part pins it to that lane and the rest follow on the same lane, in
order (carriers reassemble per bind). One synchronous ``pump`` per upstream
moves parts from the queues into free windows: it runs on submit, on every
response, when a lane comes up, and on a timer when tokens or a pause run
out. There is no task per message and no future: each part's response comes back as
a call (``SmppLink.send_then``), and a job ends by calling its ``CarrierAnswer``.

Retries (see gateway/carriers/pool.py for the policy) happen within the job's
deadline; past it the message fails with ``Throttled``.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
from collections import deque
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Protocol

from gateway.carriers.rate import CarrierRate
from gateway.observability.logs import fields
from gateway.smpp_link import ResponseTimeout, SmppLink
from smpp.constants import CommandStatus
from smpp.pdu import Pdu, SubmitSm, SubmitSmResp

if TYPE_CHECKING:
    from prometheus_client import Counter

__all__ = [
    "CarrierAnswer", "CarrierQueue", "CarrierRejected", "Dispatcher", "Lane", "NoRoute",
    "QueueFull", "Sent", "SubmitError", "Throttled",
]

log = logging.getLogger("stopgate.upstream")

#: Consecutive submit_sm timeouts on one lane, with no response of any kind between them,
#: after which the link is closed and re-bound: a carrier session that answers
#: enquire_link but has stopped answering submits is stuck, and a new bind often clears it.
STUCK_AFTER = 8
#: Carrier statuses that mean "not now" rather than "no".
RETRY_LATER = frozenset({CommandStatus.ESME_RTHROTTLED, CommandStatus.ESME_RMSGQFUL})
#: First pause of a lane the carrier throttles; doubles while it keeps throttling.
THROTTLE_PAUSE = 0.05
THROTTLE_PAUSE_MAX = 1.0
#: At most one rate cut per upstream in this many seconds: the refusals of a whole window
#: (or of several sessions) arrive together and are one signal, not many.
RATE_CUT_INTERVAL = 1.0


class SubmitError(Exception):
    """A message the pool could not hand to a carrier; ``status`` is the sender's answer."""

    status: int = CommandStatus.ESME_RSYSERR


class NoRoute(SubmitError):
    status = CommandStatus.ESME_RINVDSTADR


class Throttled(SubmitError):
    status = CommandStatus.ESME_RTHROTTLED


class QueueFull(SubmitError):
    status = CommandStatus.ESME_RMSGQFUL


class CarrierRejected(SubmitError):
    """The carrier answered a part with an error status; the sender gets the same status."""

    def __init__(self, status: int, upstream: str) -> None:
        super().__init__(f"{upstream} rejected the message with status 0x{status:08X}")
        self.status = status
        self.upstream = upstream


@dataclass(slots=True)
class Sent:
    """Where a message went and the carrier's id for each part, in part order."""

    upstream: str
    carrier_ids: list[str]


class CarrierAnswer(Protocol):
    """Who hears how a message ended: called once, with the ``Sent`` or the
    ``SubmitError`` (a bug elsewhere: another exception)."""

    def sent(self, outcome: Sent | BaseException) -> None: ...


class Lane:
    """A bound transmitting link and the messages pinned to it."""

    __slots__ = ("alive", "carrier", "draining", "link", "pause", "paused_until", "pinned",
                 "silent")

    def __init__(self, link: SmppLink, carrier: CarrierQueue) -> None:
        self.link = link
        self.carrier = carrier
        self.alive = True
        self.silent = 0  # submit_sm timeouts since the last response on this lane
        self.pinned: deque[Job] = deque()  # started here, parts left to send, in order
        self.pause = 0.0
        self.paused_until = 0.0
        #: Retired (its session is lowered away): finishes its pinned messages, starts none.
        self.draining = False


class CarrierQueue:
    """One upstream's bound lanes, rate and waiting messages."""

    def __init__(self, name: str, tps: int, now: float, throttled: Counter,
                 timeouts: Counter, resubmitted: Counter, stuck: Counter) -> None:
        self.name = name
        self.lanes: list[Lane] = []
        self.waiting: deque[Job] = deque()  # not yet started on a lane
        self.bucket = CarrierRate(tps, now)
        self.slowed_until = 0.0
        self.next_lane = 0
        self.timer: asyncio.TimerHandle | None = None
        self.wake_at = 0.0
        self.throttled = throttled  # upstream_events{event=throttled}, bound once
        self.timeouts = timeouts
        self.resubmitted = resubmitted  # parts sent again though the carrier may have them
        self.stuck = stuck  # links closed for answering nothing (see STUCK_AFTER)

    @property
    def inflight(self) -> float:
        return float(sum(lane.link.outstanding for lane in self.lanes))


class Job:
    """One message on its way: parts still to send and ids received so far."""

    __slots__ = ("answer", "candidates", "carrier", "deadline", "finished", "ids", "lane",
                 "parts", "queued", "remaining", "todo")

    def __init__(self, parts: list[SubmitSm], carrier: CarrierQueue,
                 candidates: tuple[CarrierQueue, ...], answer: CarrierAnswer,
                 deadline: float) -> None:
        self.parts = parts
        self.carrier = carrier
        self.candidates = candidates
        self.answer = answer
        #: Answered (sent, failed), or abandoned by whoever waited: its parts not yet sent
        #: are dropped.
        self.finished = False
        self.deadline = deadline
        self.ids = [""] * len(parts)
        self.todo = list(range(len(parts)))  # part indices waiting to be sent, ascending
        self.remaining = len(parts)  # parts the carrier has not accepted yet
        self.lane: Lane | None = None
        self.queued = True  # in a waiting or pinned deque


class Dispatcher:
    """Moves jobs from the queues into carrier windows; see the module docstring."""

    def __init__(self, *, queue_max: int, deadline: float, response_timeout: float,
                 too_late: Counter) -> None:
        self._loop = asyncio.get_running_loop()
        self.carriers: list[CarrierQueue] = []
        self.queue_max = queue_max
        self.queued = 0  # parts waiting for a window or a token, pool-wide
        self.deadline = deadline
        self.closing = False  # past the shutdown drain: retries fail at once
        self._pause_max = min(THROTTLE_PAUSE_MAX, response_timeout / 2)
        self._too_late = too_late

    def submit(self, parts: list[SubmitSm], carrier: CarrierQueue,
               candidates: tuple[CarrierQueue, ...], answer: CarrierAnswer) -> Job:
        """Queue a message on ``carrier`` (which has a lane) and start sending it;
        ``answer`` hears how it ended."""
        job = Job(parts, carrier, candidates, answer, self._loop.time() + self.deadline)
        self.queued += len(parts)
        waiting = carrier.waiting
        if waiting:
            # Others already wait: no lane can take more now, and each will pump when it can.
            waiting.append(job)
        else:
            waiting.append(job)
            self.pump(carrier)
        return job

    def _finish(self, job: Job, outcome: Sent | BaseException) -> None:
        """Tell the job's answer how it ended (once)."""
        job.finished = True
        try:
            job.answer.sent(outcome)
        except Exception:  # the pipeline's bug must not stop the carrier's responses
            log.exception("a carrier answer failed", extra=fields(
                "carrier_answer_failed", upstream=job.carrier.name))

    def pump(self, carrier: CarrierQueue) -> None:
        """Move parts from the queues into every lane's free window while tokens last."""
        lanes = carrier.lanes
        count = len(lanes)
        if not count:
            return
        now = self._loop.time()
        start = carrier.next_lane % count
        carrier.next_lane = start + 1  # spread new messages over the lanes
        wake = 0.0
        for k in range(count):
            lane = lanes[(start + k) % count]
            if lane.paused_until > now:
                wake = lane.paused_until if not wake else min(wake, lane.paused_until)
            elif not self._fill(lane, now):
                return  # out of tokens; the wake-up is set
        if wake:
            self._wake(carrier, wake)

    def _fill(self, lane: Lane, now: float) -> bool:
        """Send from the lane's pinned jobs, then from the waiting ones, while its window has
        room; False when the upstream ran out of tokens."""
        pinned = lane.pinned
        carrier = lane.carrier
        waiting = carrier.waiting
        if not pinned and not waiting:
            return True  # the common case on a response: nothing left to send
        link = lane.link
        bucket = carrier.bucket
        while link.can_send:
            fresh = not pinned
            if not fresh:
                job = pinned[0]
            elif waiting and not lane.draining:
                job = waiting[0]
            else:
                break
            if job.finished:  # failed, or abandoned by the sender, meanwhile
                (waiting if fresh else pinned).popleft()
                self._forget(job)
                continue
            if not bucket.take(now):
                self._wake(carrier, now + bucket.delay())
                return False
            index = job.todo.pop(0)
            if fresh:
                waiting.popleft()
                job.lane = lane
                if job.todo:
                    pinned.append(job)
            elif not job.todo:
                pinned.popleft()
            if not job.todo:
                job.queued = False
            self.queued -= 1
            link.send_then(job.parts[index], partial(self._on_response, job, index, lane))
        return True

    def _forget(self, job: Job) -> None:
        self.queued -= len(job.todo)
        job.todo.clear()
        job.queued = False

    def _wake(self, carrier: CarrierQueue, at: float) -> None:
        if carrier.timer is not None:
            if carrier.wake_at <= at:
                return
            carrier.timer.cancel()
        carrier.wake_at = at
        carrier.timer = self._loop.call_at(at, self._on_wake, carrier)

    def _on_wake(self, carrier: CarrierQueue) -> None:
        carrier.timer = None
        self.pump(carrier)

    def _on_response(self, job: Job, index: int, lane: Lane,
                     response: Pdu | BaseException) -> None:
        """One part's response (in the loop step that read it), or why none came."""
        carrier = lane.carrier
        if not isinstance(response, BaseException):
            lane.silent = 0
            status = response.command_status
            if status == 0:
                carrier.bucket.speed_up()
                lane.pause = 0.0
                if not job.finished:
                    job.ids[index] = (response.message_id if isinstance(response, SubmitSmResp)
                                      else "")
                    job.remaining -= 1
                    if not job.remaining:
                        self._finish(job, Sent(carrier.name, job.ids))
            elif status in RETRY_LATER:
                self._throttled(carrier, lane)
                self._retry(job, index)
            elif not job.finished:
                self._finish(job, CarrierRejected(status, carrier.name))
        elif isinstance(response, ResponseTimeout):
            carrier.timeouts.inc()
            lane.silent += 1
            if lane.silent >= STUCK_AFTER and lane.alive:
                # enquire_link may still be answered: the session is stuck, not dead.
                carrier.stuck.inc()
                log.warning("carrier link answered none of %d submit_sm in a row; closing it "
                            "to bind again", lane.silent, extra=fields(
                                "carrier_link_stuck", upstream=carrier.name,
                                peer=lane.link.peer, timeouts=lane.silent))
                lane.silent = 0
                lane.link.close()
            else:
                # A silent carrier may be a dead link: ask it now rather than after an idle
                # enquire_link_interval; unanswered, the link closes and the session
                # re-binds.
                lane.link.probe()
            self._retry(job, index, carrier.resubmitted)
        else:  # LinkClosed: the lane is already gone (on_closed runs before this callback)
            # and whatever else stopped the request: it may not have reached the carrier
            self._retry(job, index, carrier.resubmitted)
        now = self._loop.time()
        if lane.alive and lane.paused_until <= now:
            # Only this lane gained room: the others were full, idle, paused or out of
            # tokens, and the last two have a wake-up set.
            self._fill(lane, now)
        else:
            self.pump(carrier)
        if job.carrier is not carrier:
            self.pump(job.carrier)

    def _throttled(self, carrier: CarrierQueue, lane: Lane) -> None:
        carrier.throttled.inc()
        now = self._loop.time()
        if lane.paused_until > now:
            return  # one burst of refusals from one window counts once
        lane.pause = min(max(2 * lane.pause, THROTTLE_PAUSE), self._pause_max)
        lane.paused_until = now + lane.pause
        if now >= carrier.slowed_until:
            carrier.bucket.slow_down(now)
            carrier.slowed_until = now + RATE_CUT_INTERVAL
        self._wake(carrier, lane.paused_until)

    def _retry(self, job: Job, index: int, unsure: Counter | None = None) -> None:
        """Queue a part again, on its lane if that is still up, else where one is.

        ``unsure`` counts the retries of parts the carrier may already hold (no answer
        came): each is a possible duplicate at the carrier, never a silent one.
        """
        if job.finished:
            return
        if self.closing or self._loop.time() >= job.deadline:
            self._too_late.inc()
            self._finish(job, Throttled("the carrier did not take the message in time"))
            return
        if unsure is not None:
            unsure.inc()
        bisect.insort(job.todo, index)
        self.queued += 1
        if job.queued:
            return  # already waiting with its other parts
        job.queued = True
        lane = job.lane
        if lane is not None and lane.alive:
            lane.pinned.appendleft(job)  # older than everything else pinned there
        else:
            self._unpin(job)

    def _unpin(self, job: Job) -> None:
        """Put a job whose lane went away first in line again."""
        job.lane = None
        carrier = job.carrier
        # Another upstream only if this one has no lane and took no part yet: the ids of
        # one message must come from one upstream for its receipts to find the sender.
        if not carrier.lanes and job.remaining == len(job.parts):
            carrier = job.carrier = next((c for c in job.candidates if c.lanes), carrier)
        carrier.waiting.appendleft(job)

    # --- lanes --------------------------------------------------------------------------

    def add_lane(self, carrier: CarrierQueue, link: SmppLink) -> Lane:
        lane = Lane(link, carrier)
        carrier.lanes.append(lane)
        self.pump(carrier)
        return lane

    def remove_lane(self, lane: Lane) -> None:
        """The lane's link closed: its messages go first in line, elsewhere if need be."""
        if not lane.alive:
            return
        lane.alive = False
        carrier = lane.carrier
        carrier.lanes.remove(lane)
        for job in reversed(lane.pinned):  # started before anything still waiting
            self._unpin(job)
        lane.pinned.clear()
        if not carrier.lanes:
            stay: deque[Job] = deque()
            for job in carrier.waiting:
                target = next((c for c in job.candidates if c.lanes), None)
                if target is None or job.remaining != len(job.parts):
                    stay.append(job)  # wait for a re-bind, within the deadline
                else:
                    job.carrier = target
                    target.waiting.append(job)
            carrier.waiting = stay
        for other in self.carriers:
            if other.waiting:
                self.pump(other)

    # --- deadlines and shutdown ---------------------------------------------------------

    def sweep(self) -> None:
        """Fail messages that waited past their deadline (a sender must never hang)."""
        if not self.queued:
            return
        now = self._loop.time()
        for carrier in self.carriers:
            for queue in [carrier.waiting, *(lane.pinned for lane in carrier.lanes)]:
                if any(job.deadline <= now or job.finished for job in queue):
                    kept = [job for job in queue if not self._expire(job, now)]
                    queue.clear()
                    queue.extend(kept)

    def _expire(self, job: Job, now: float) -> bool:
        if job.finished:
            self._forget(job)
            return True
        if job.deadline > now:
            return False
        self._forget(job)
        self._too_late.inc()
        self._finish(job, Throttled("no carrier window within the deadline"))
        return True

    def busy(self) -> bool:
        """Parts are in flight, or waiting where a lane could still send them."""
        for carrier in self.carriers:
            for lane in carrier.lanes:
                if lane.link.outstanding or lane.pinned:
                    return True
            if carrier.lanes and carrier.waiting:
                return True
        return False

    def fail_queued(self, reason: str) -> None:
        """Fail every waiting message with Throttled (shutdown); in-flight ones as links close."""
        self.closing = True
        for carrier in self.carriers:
            for queue in [carrier.waiting, *(lane.pinned for lane in carrier.lanes)]:
                for job in queue:
                    self._forget(job)
                    if not job.finished:
                        self._finish(job, Throttled(reason))
                queue.clear()
            if carrier.timer is not None:
                carrier.timer.cancel()
                carrier.timer = None
