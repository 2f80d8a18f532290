"""Waiting in tests: poll a condition until it holds, bound an awaitable in time."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")

__all__ = ["eventually", "within"]


async def eventually(check: Callable[[], object], what: str = "the condition",
                     timeout: float = 20.0, interval: float = 0.01) -> Any:
    """Poll ``check`` (plain, or returning an awaitable) until its result is truthy, and
    return that result; fail naming ``what`` after ``timeout`` seconds (a broken component
    fails the test instead of hanging it)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = check()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        await asyncio.sleep(interval)


async def within(awaitable: Awaitable[T], seconds: float = 20.0) -> T:
    """``awaitable``'s result, or TimeoutError after ``seconds``."""
    return await asyncio.wait_for(awaitable, seconds)
