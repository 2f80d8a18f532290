"""The dispatcher against a fake link: what it sends, in which order, on which lane, and
what it answers (once) — windows, pinning, throttling, timeouts, lost lanes, deadlines."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from gateway.carriers.dispatch import (
    STUCK_AFTER,
    CarrierQueue,
    CarrierRejected,
    Dispatcher,
    Lane,
    Sent,
    Throttled,
)
from gateway.observability.metrics import Metrics
from gateway.smpp_link import LinkClosed, ResponseTimeout
from smpp.constants import CommandStatus
from smpp.pdu import Pdu, SubmitSm, SubmitSmResp

Then = Callable[[Pdu | BaseException], None]


class FakeLink:
    """What the dispatcher uses of an SmppLink: a window, ``send_then``, ``probe``,
    ``close``. The test answers the requests in flight (``answer``, ``time_out``)."""

    def __init__(self, name: str = "link", window: int = 10) -> None:
        self.peer = name
        self.window = window
        self.inflight: list[tuple[SubmitSm, Then]] = []
        self.sent: list[bytes] = []  # short_message of every PDU sent, in order
        self.probes = 0
        self.closed = False

    @property
    def can_send(self) -> bool:
        return not self.closed and len(self.inflight) < self.window

    @property
    def outstanding(self) -> int:
        return len(self.inflight)

    def send_then(self, pdu: SubmitSm, then: Then) -> None:
        assert self.can_send, "sent past the window"
        self.inflight.append((pdu, then))
        self.sent.append(pdu.short_message)

    def answer(self, text: bytes | None = None, status: int = 0) -> None:
        """Answer the oldest request in flight (or the one carrying ``text``)."""
        index = 0 if text is None else [p.short_message for p, _ in self.inflight].index(text)
        pdu, then = self.inflight.pop(index)
        then(SubmitSmResp(command_status=status, message_id=f"id-{pdu.short_message.decode()}"))

    def time_out(self) -> None:
        _, then = self.inflight.pop(0)
        then(ResponseTimeout("no response"))

    def probe(self) -> None:
        self.probes += 1

    def close(self) -> None:
        self.closed = True

    def drop(self, dispatcher: Dispatcher, lane: Lane) -> None:
        """The connection is gone: the lane goes first, then every request fails."""
        self.closed = True
        dispatcher.remove_lane(lane)
        inflight, self.inflight = self.inflight, []
        for _, then in inflight:
            then(LinkClosed("gone"))


class Answers:
    """A CarrierAnswer that writes down what it hears."""

    def __init__(self) -> None:
        self.heard: list[Sent | BaseException] = []

    def sent(self, outcome: Sent | BaseException) -> None:
        self.heard.append(outcome)


class Setup:
    def __init__(self, *, tps: int = 0, deadline: float = 5.0, queue_max: int = 100,
                 upstreams: tuple[str, ...] = ("up",)) -> None:
        self.metrics = Metrics()
        events = self.metrics.upstream_events
        self.dispatcher = Dispatcher(queue_max=queue_max, deadline=deadline,
                                     response_timeout=1.0,
                                     too_late=self.metrics.throttled.labels("carrier_deadline"))
        now = asyncio.get_running_loop().time()
        self.queues = [CarrierQueue(name, tps, now, events.labels(name, "throttled"),
                                    events.labels(name, "timeout"),
                                    events.labels(name, "resubmitted"),
                                    events.labels(name, "stuck")) for name in upstreams]
        self.dispatcher.carriers.extend(self.queues)

    def lane(self, link: FakeLink, upstream: int = 0) -> Lane:
        return self.dispatcher.add_lane(self.queues[upstream], link)  # type: ignore[arg-type]

    def submit(self, *texts: str, upstream: int = 0) -> Answers:
        answers = Answers()
        queue = self.queues[upstream]
        self.dispatcher.submit([SubmitSm(short_message=t.encode()) for t in texts], queue,
                               tuple(self.queues[upstream:]), answers)
        return answers

    def event(self, upstream: str, event: str) -> float:
        return self.metrics.registry.get_sample_value(
            "stopgate_upstream_events_total", {"upstream": upstream, "event": event}) or 0.0


async def test_parts_go_in_order_within_the_window_and_the_answer_comes_once() -> None:
    setup = Setup()
    link = FakeLink(window=2)
    setup.lane(link)
    answers = setup.submit("a1", "a2", "a3")
    assert link.sent == [b"a1", b"a2"]  # the window is full
    assert setup.dispatcher.queued == 1
    link.answer(b"a2")  # out of order: room for the third part
    assert link.sent == [b"a1", b"a2", b"a3"] and answers.heard == []
    link.answer(b"a3")
    link.answer(b"a1")
    assert answers.heard == [Sent("up", ["id-a1", "id-a2", "id-a3"])]  # in part order
    assert setup.dispatcher.queued == 0 and not setup.dispatcher.busy()


async def test_messages_wait_their_turn_in_arrival_order() -> None:
    setup = Setup()
    link = FakeLink(window=1)
    setup.lane(link)
    first, second, third = setup.submit("m1"), setup.submit("m2"), setup.submit("m3")
    assert link.sent == [b"m1"]
    for _ in range(3):
        link.answer()
    assert link.sent == [b"m1", b"m2", b"m3"]
    assert [first.heard, second.heard, third.heard] == [
        [Sent("up", ["id-m1"])], [Sent("up", ["id-m2"])], [Sent("up", ["id-m3"])]]


async def test_a_message_stays_on_its_lane_while_new_ones_spread() -> None:
    setup = Setup()
    one, two = FakeLink("one", window=1), FakeLink("two", window=1)
    setup.lane(one)
    setup.lane(two)
    setup.submit("a1", "a2")
    setup.submit("b1")
    assert (one.sent, two.sent) == ([b"a1"], [b"b1"])
    two.answer()  # room on two, but a2 is pinned to one
    assert two.sent == [b"b1"]
    one.answer()
    assert one.sent == [b"a1", b"a2"]


async def test_a_carrier_rejection_fails_the_message_once() -> None:
    setup = Setup()
    link = FakeLink()
    setup.lane(link)
    answers = setup.submit("x1", "x2")
    link.answer(b"x1", status=CommandStatus.ESME_RINVDSTADR)
    link.answer(b"x2")  # the rest is forgotten: no second answer
    [error] = answers.heard
    assert isinstance(error, CarrierRejected)
    assert (error.status, error.upstream) == (CommandStatus.ESME_RINVDSTADR, "up")


async def test_throttled_pauses_the_lane_then_sends_the_same_part_again() -> None:
    setup = Setup()
    link = FakeLink()
    setup.lane(link)
    answers = setup.submit("t1")
    link.answer(status=CommandStatus.ESME_RTHROTTLED)
    assert link.sent == [b"t1"] and setup.event("up", "throttled") == 1
    for _ in range(100):  # the pause (THROTTLE_PAUSE) ends on a timer
        if len(link.sent) == 2:
            break
        await asyncio.sleep(0.01)
    assert link.sent == [b"t1", b"t1"]
    link.answer()
    assert answers.heard == [Sent("up", ["id-t1"])]
    assert setup.event("up", "resubmitted") == 0  # the carrier said no: not a duplicate


async def test_a_timeout_probes_the_link_and_resends_counted_as_a_possible_duplicate() -> None:
    setup = Setup()
    link = FakeLink()
    setup.lane(link)
    answers = setup.submit("s1")
    link.time_out()
    assert (link.sent, link.probes) == ([b"s1", b"s1"], 1)
    assert (setup.event("up", "timeout"), setup.event("up", "resubmitted")) == (1, 1)
    link.answer()
    assert answers.heard == [Sent("up", ["id-s1"])]


async def test_a_link_that_answers_nothing_is_closed_to_bind_again() -> None:
    setup = Setup()
    link = FakeLink()
    setup.lane(link)
    setup.submit("s1")
    for _ in range(STUCK_AFTER):
        link.time_out()
    assert link.closed and setup.event("up", "stuck") == 1


async def test_a_lost_lane_hands_its_message_to_another_upstream_if_none_was_taken() -> None:
    setup = Setup(upstreams=("primary", "backup"))
    primary, backup = FakeLink("primary"), FakeLink("backup")
    lane = setup.lane(primary, 0)
    setup.lane(backup, 1)
    answers = setup.submit("f1", "f2")
    primary.drop(setup.dispatcher, lane)
    assert backup.sent == [b"f1", b"f2"]
    backup.answer()
    backup.answer()
    assert answers.heard == [Sent("backup", ["id-f1", "id-f2"])]


async def test_a_lost_lane_keeps_a_started_message_on_its_upstream() -> None:
    setup = Setup(upstreams=("primary", "backup"))
    first, backup = FakeLink("first"), FakeLink("backup")
    lane = setup.lane(first, 0)
    setup.lane(backup, 1)
    answers = setup.submit("g1", "g2")
    first.answer(b"g1")  # the carrier has a part: the rest must come from primary too
    first.drop(setup.dispatcher, lane)
    assert backup.sent == []
    second = FakeLink("second")
    setup.lane(second, 0)  # primary re-binds
    assert second.sent == [b"g2"]
    second.answer()
    assert answers.heard == [Sent("primary", ["id-g1", "id-g2"])]


async def test_a_message_past_its_deadline_fails_throttled() -> None:
    setup = Setup(deadline=0.05)
    link = FakeLink(window=1)
    setup.lane(link)
    setup.submit("d0")
    answers = setup.submit("d1")  # waits behind d0, which never gets an answer
    await asyncio.sleep(0.08)
    setup.dispatcher.sweep()
    [error] = answers.heard
    assert isinstance(error, Throttled) and setup.dispatcher.queued == 0


async def test_shutdown_fails_what_waits_and_retries_fail_at_once() -> None:
    setup = Setup()
    link = FakeLink(window=1)
    setup.lane(link)
    inflight, waiting = setup.submit("w0"), setup.submit("w1")
    setup.dispatcher.fail_queued("stopgate is shutting down")
    assert [str(e) for e in waiting.heard] == ["stopgate is shutting down"]
    link.time_out()  # in flight: a retry now fails instead
    [error] = inflight.heard
    assert isinstance(error, Throttled) and link.sent == [b"w0"]


async def test_an_answer_that_raises_does_not_stop_the_others(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Broken:
        def sent(self, outcome: Sent | BaseException) -> None:
            raise RuntimeError("bug")

    setup = Setup()
    link = FakeLink(window=1)
    setup.lane(link)
    setup.dispatcher.submit([SubmitSm(short_message=b"b0")], setup.queues[0],
                            (setup.queues[0],), Broken())
    answers = setup.submit("b1")
    link.answer()
    assert link.sent == [b"b0", b"b1"]  # the next one went all the same
    link.answer()
    assert answers.heard == [Sent("up", ["id-b1"])]
    assert "a carrier answer failed" in caplog.text
