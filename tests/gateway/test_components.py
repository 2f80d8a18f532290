"""The composition root: every component present, and stopped in the reverse order of start."""

from __future__ import annotations

import contextlib
import dataclasses
import types
import typing

from gateway.components import Components, Shutdown, step


def test_components_have_no_empty_fields() -> None:
    hints = typing.get_type_hints(Components)
    for field in dataclasses.fields(Components):
        hint = hints[field.name]
        assert type(None) not in typing.get_args(hint), field.name
        assert not isinstance(hint, types.UnionType), field.name


async def test_steps_drain_then_stop_in_the_reverse_order_of_start() -> None:
    events: list[tuple[str, str]] = []
    shutdown = Shutdown()

    def component(name: str) -> dict[str, typing.Any]:
        async def drain(timeout: float) -> None:
            events.append(("drain", f"{name} {timeout}"))

        async def stop() -> None:
            events.append(("stop", name))

        return {"start": lambda: events.append(("start", name)), "drain": drain, "stop": stop}

    async with contextlib.AsyncExitStack() as stack:
        for name in ("redis", "pool", "server"):
            await step(stack, shutdown, **component(name))
        shutdown.timeout = 3.0
    assert events == [
        ("start", "redis"), ("start", "pool"), ("start", "server"),
        ("drain", "server 3.0"), ("stop", "server"),
        ("drain", "pool 3.0"), ("stop", "pool"),
        ("drain", "redis 3.0"), ("stop", "redis"),
    ]


async def test_a_failing_stop_does_not_keep_the_earlier_components_running() -> None:
    stopped: list[str] = []

    async def fail() -> None:
        raise RuntimeError("boom")

    with contextlib.suppress(RuntimeError):
        async with contextlib.AsyncExitStack() as stack:
            await step(stack, Shutdown(), stop=lambda: stopped.append("first"))
            await step(stack, Shutdown(), stop=fail)
    assert stopped == ["first"]
