"""The MT pipeline against in-memory Carrier and IdMap implementations: stage order,
verdicts (now, deferred, none), the carrier's answer by callback, the id map, refusals."""

from __future__ import annotations

import asyncio

import pytest

from gateway.carriers.pool import CarrierRejected, QueueFull, Sent, Throttled
from gateway.message import Message
from gateway.mt.pipeline import (
    ID_MAP_BATCH_WINDOW,
    MtPipeline,
    MtResult,
    NormaliseStage,
    Stage,
    Transit,
)
from gateway.observability.metrics import Metrics
from smpp.constants import CommandStatus
from tests.gateway.mt.fakes import ACME, ListCarrier, ListIdMap, text_message

FR = "+33612345678"


class Run:
    """A pipeline on fakes, with every callback it makes written down in order."""

    def __init__(self, stages: list[Stage] | None = None, carrier: ListCarrier | None = None,
                 ) -> None:
        self.carrier = carrier or ListCarrier()
        self.ids = ListIdMap()
        self.metrics = Metrics()
        self.events: list[tuple[str, object]] = []
        self.pipeline = MtPipeline(
            carrier=self.carrier, ids=self.ids, metrics=self.metrics,
            stages=[NormaliseStage({"acme": ACME}), *(stages or [])],
            on_forwarded=lambda message: self.events.append(("forwarded", message.id)),
            on_parts_refused=lambda message, ids, result: self.events.append(
                ("parts_refused", (tuple(ids), result.status))))

    def start(self, message: Message) -> None:
        self.pipeline.start(message, lambda result: self.events.append(("done", result)))

    def count(self, klass: str, outcome: str) -> float:
        return self.metrics.registry.get_sample_value(
            "stopgate_mt_total", {"account": "acme", "class": klass, "outcome": outcome}) or 0.0


async def test_a_message_goes_to_the_carrier_and_its_answer_comes_back_by_callback() -> None:
    run = Run()
    message = text_message()
    run.start(message)
    assert run.events == []  # with the carrier, not answered yet
    [handed] = run.carrier.handed
    assert (handed.e164, handed.country, len(handed.parts)) == (FR, "FR", 1)
    assert handed.parts[0].short_message == b"Your code is 123456"
    assert isinstance(handed.answer, Transit) and handed.answer.message is message
    run.carrier.take()
    assert run.events == [("forwarded", message.id),
                          ("done", MtResult(CommandStatus.ESME_ROK, message.id, 1))]
    assert run.ids.noted == [("up", "c1", "acme", (message.id,))]  # at once, for early receipts
    assert run.ids.written == []  # gathered first
    await asyncio.sleep(ID_MAP_BATCH_WINDOW * 4)
    assert run.ids.written == [[("up", "c1", "acme", (message.id,))]]
    assert run.count("unclassified", "forwarded") == 1


async def test_the_id_map_entries_of_a_footer_part_map_to_the_last_sender_part() -> None:
    run = Run()
    message = text_message(parts=2)
    run.start(message)
    run.carrier.handed[0].answer.sent(Sent("up", ["c1", "c2", "c3"]))
    assert run.events[-1] == ("done", MtResult(CommandStatus.ESME_ROK, message.id, 1))
    assert run.ids.noted == [("up", "c1", "acme", ("p1",)), ("up", "c2", "acme", (message.id,)),
                             ("up", "c3", "acme", (message.id,))]
    await run.pipeline.drain(1.0)  # a shutdown writes what is gathered without waiting
    assert run.ids.written == [run.ids.noted]


async def test_no_receipt_asked_no_id_map_entry() -> None:
    run = Run()
    message = text_message(registered_delivery=0)
    run.start(message)
    run.carrier.take()
    await run.pipeline.drain(1.0)
    assert run.events[-1] == ("done", MtResult(CommandStatus.ESME_ROK, message.id, 1))
    assert (run.ids.noted, run.ids.written) == ([], [])


async def test_stages_run_in_order_and_a_verdict_stops_the_message_there() -> None:
    seen: list[str] = []
    refusal = MtResult(CommandStatus.ESME_RINVSRCADR, reason="nope")

    def first(message: Message) -> None:
        seen.append(f"first {message.e164}")  # after normalise

    def second(message: Message) -> MtResult:
        seen.append("second")
        return refusal

    def third(message: Message) -> None:
        seen.append("third")

    run = Run([first, second, third])
    message = text_message(parts=3)
    run.start(message)
    assert seen == [f"first {FR}", "second"]
    assert run.carrier.handed == []
    assert run.events == [("done", refusal),
                          ("parts_refused", (("p1", "p2"), CommandStatus.ESME_RINVSRCADR))]
    assert run.count("unclassified", "rejected") == 1


async def test_an_invalid_destination_is_refused_by_normalise() -> None:
    run = Run()
    run.start(text_message(to="12"))
    assert run.events == [("done", MtResult(CommandStatus.ESME_RINVDSTADR,
                                            reason="invalid_destination"))]
    assert run.carrier.handed == []


async def test_a_deferred_verdict_holds_the_message_until_settled_then_goes_on() -> None:
    held: list[Transit] = []
    seen: list[str] = []

    def waits(message: Message) -> object:
        message.klass = "promotional"
        return held.append  # a deferred verdict: handed the transit

    run = Run([waits, lambda message: seen.append("after")])  # type: ignore[list-item]
    message = text_message()
    run.start(message)
    [transit] = held
    assert transit.message is message and seen == [] and run.carrier.handed == []
    transit.settle(None)  # go on: the next stage, then the carrier, in this same call
    assert seen == ["after"] and len(run.carrier.handed) == 1
    run.carrier.take()
    assert run.events[-1] == ("done", MtResult(CommandStatus.ESME_ROK, message.id, 1))
    assert run.count("promotional", "forwarded") == 1


async def test_a_deferred_refusal_and_a_blocked_verdict() -> None:
    held: list[Transit] = []
    run = Run([lambda message: held.append])
    run.start(text_message(parts=2))
    run.start(text_message(parts=2))
    blocked = MtResult(0x65, reason="blocked")
    refused = MtResult(CommandStatus.ESME_RX_T_APPN, reason="suppression_unknown")
    held[0].settle(blocked)
    held[1].settle(refused)
    # The policy sends a blocked message's receipts itself: only the refusal tells of parts.
    assert run.events == [("done", blocked), ("done", refused),
                          ("parts_refused", (("p1",), CommandStatus.ESME_RX_T_APPN))]
    assert run.count("unclassified", "blocked") == 1
    assert run.count("unclassified", "rejected") == 1


async def test_a_waiting_stage_gets_its_answer_through_the_transit_step() -> None:
    answers: list[object] = []

    def step(transit: Transit, answer: object) -> None:
        answers.append(answer)
        transit.settle(None)

    def waits(message: Message) -> object:
        def wait(transit: Transit) -> None:
            transit.step = step
            asyncio.get_running_loop().call_soon(transit, "looked up")  # as a lookup answers
        return wait

    run = Run([waits])  # type: ignore[list-item]
    run.start(text_message())
    await asyncio.sleep(0)
    assert answers == ["looked up"] and len(run.carrier.handed) == 1


async def test_a_stage_that_raises_answers_system_error() -> None:
    def broken(message: Message) -> None:
        raise RuntimeError("bug")

    run = Run([broken])
    run.start(text_message(parts=2))
    assert run.events == [("done", MtResult(CommandStatus.ESME_RSYSERR, reason="internal")),
                          ("parts_refused", (("p1",), CommandStatus.ESME_RSYSERR))]


async def test_a_message_too_long_to_cut_is_refused() -> None:
    def huge(message: Message) -> None:
        message.payload = b"x" * 160 * 300

    run = Run([huge])
    run.start(text_message())
    assert run.events == [("done", MtResult(CommandStatus.ESME_RINVMSGLEN, reason="too_long"))]


@pytest.mark.parametrize("error", [QueueFull("full"), Throttled("no link")])
async def test_a_carrier_refusal_at_once_is_the_senders_answer(error: Exception) -> None:
    run = Run(carrier=ListCarrier(refuse=error))  # type: ignore[arg-type]
    run.start(text_message())
    assert run.events == [("done", MtResult(error.status,  # type: ignore[attr-defined]
                                            reason=type(error).__name__))]
    assert run.count("unclassified", "failed") == 1


async def test_a_carrier_failure_later_is_the_senders_answer_and_the_parts_hear() -> None:
    run = Run()
    run.start(text_message(parts=2))
    run.carrier.fail(CarrierRejected(CommandStatus.ESME_RINVDSTADR, "up"))
    assert run.events == [
        ("done", MtResult(CommandStatus.ESME_RINVDSTADR, reason="CarrierRejected")),
        ("parts_refused", (("p1",), CommandStatus.ESME_RINVDSTADR))]
    assert run.ids.noted == []


async def test_an_unexpected_carrier_error_is_a_system_error() -> None:
    run = Run()
    run.start(text_message())
    run.carrier.fail(asyncio.CancelledError())
    assert run.events == [("done", MtResult(CommandStatus.ESME_RSYSERR, reason="internal"))]


async def test_submit_awaits_the_answer() -> None:
    run = Run()
    message = text_message()
    answer = asyncio.ensure_future(run.pipeline.submit(message))
    await asyncio.sleep(0)
    assert not answer.done()
    run.carrier.take()
    assert await answer == MtResult(CommandStatus.ESME_ROK, message.id, 1)
