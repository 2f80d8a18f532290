"""Tell the other gateway processes that an account's pending deliver_sm queue grew.

With several workers (or several gateways on one Redis), a sender's transmitter
may be bound to one process and its receiver to another. A receipt or MO that
reaches a process with no receiver of its account goes to the account's pending
queue (gateway/inbound/pending.py); that process then publishes ``"<instance> <account>"``
on the Redis channel ``dq:notify`` (in the same MULTI as the push, so no extra
round trip), and every process that has a receiver of that account bound flushes
the queue. The queue's Redis lock lets one flush at a time deliver, in order, and
its claim-then-settle keeps delivery at-least-once; a notice is only a wake-up.

Pub/sub is fire-and-forget: a notice published while a process was disconnected
is lost to it. So after every (re)subscription the process flushes every account
it has a receiver for, and the router's periodic flusher stays the safety net.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable

from redis.asyncio import Redis
from redis.exceptions import RedisError

from gateway.lifecycle import Background, backoff
from gateway.observability.logs import fields

__all__ = ["CHANNEL", "NoticeTag", "QueueNotices"]

log = logging.getLogger("stopgate.dlr")

CHANNEL = "dq:notify"
RETRY_FIRST, RETRY_MAX = 0.2, 5.0


class NoticeTag:
    """This process's name on the channel: what it publishes, and what it ignores.

    Built before the receipt router (which publishes) and the listener (which hears the
    others), so neither needs the other.
    """

    __slots__ = ("instance",)

    def __init__(self, instance: str | None = None) -> None:
        self.instance = instance or uuid.uuid4().hex[:12]

    def notice(self, account: str) -> bytes:
        """The message announcing that ``account``'s queue grew here."""
        return f"{self.instance} {account}".encode()


class QueueNotices:
    """Hands other processes' queue notices to ``on_notice`` (account name).

    ``on_notice`` and ``on_subscribed`` must not block: they start flushes as tasks.
    """

    def __init__(self, redis: Redis, on_notice: Callable[[str], object],
                 on_subscribed: Callable[[], object], *, tag: NoticeTag | None = None) -> None:
        self.redis = redis
        self.tag = tag if tag is not None else NoticeTag()
        self.instance = self.tag.instance
        self.on_notice = on_notice
        self.on_subscribed = on_subscribed
        self._listener = Background("dlr-queue-notices", self._listen)

    def notice(self, account: str) -> bytes:
        """The message announcing that ``account``'s queue grew here."""
        return self.tag.notice(account)

    def start(self) -> None:
        self._listener.start()

    async def stop(self) -> None:
        await self._listener.stop()

    async def _listen(self) -> None:
        failures = 0
        failing = False
        while True:
            pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(CHANNEL)
                if failing:
                    log.info("queue notices: subscribed again", extra=fields(
                        "queue_notices_resumed", channel=CHANNEL))
                failing, failures = False, 0
                self.on_subscribed()  # flush what was announced while we were away
                while True:
                    message = await pubsub.get_message(ignore_subscribe_messages=True,
                                                       timeout=None)
                    if message is not None and message.get("type") == "message":
                        self._dispatch(bytes(message["data"]))
            except (RedisError, OSError) as exc:
                if not failing:
                    log.warning("queue notices lost; retrying, the periodic flush covers "
                                "meanwhile", extra=fields("queue_notices_lost", channel=CHANNEL,
                                                          error=str(exc)))
                failing = True
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
            failures += 1
            await asyncio.sleep(backoff(failures, RETRY_FIRST, RETRY_MAX))

    def _dispatch(self, data: bytes) -> None:
        instance, _, account = data.decode("utf-8", "replace").partition(" ")
        if instance != self.instance and account:
            self.on_notice(account)
