"""One bind to a carrier, kept up: connect, bind, keep alive, reconnect with backoff.

A ``CarrierSession`` owns one connection at a time and tells its owner (the
upstream pool) when a link comes up, when it goes away and what the carrier
sends. Keepalive is the SMPP session's own enquire_link (``enquire_link_interval``);
a dead link closes itself and the session reconnects.

Reconnects back off exponentially from ``reconnect_delay`` to
``reconnect_delay_max`` with full jitter (a uniform draw between 0 and the
current delay), so a carrier that restarts is not hit by every bind at the
same instant; a successful bind resets the backoff.
"""

from __future__ import annotations

import asyncio
import logging
import random
from typing import TYPE_CHECKING, Literal, Protocol

from gateway.logs import fields
from gateway.smpp_link import BindError, LinkHandler, SmppLink
from smpp.session import BindKind, Role

if TYPE_CHECKING:
    from gateway.config import Smpp, Upstream
    from gateway.metrics import Metrics
    from smpp.pdu import Pdu

__all__ = ["CarrierSession", "SessionOwner", "SessionState"]

log = logging.getLogger("stopgate.upstream")

SessionState = Literal["connecting", "bound", "down"]


class SessionOwner(Protocol):
    """What a carrier session reports to (the upstream pool)."""

    @property
    def stopping(self) -> bool: ...

    def session_up(self, session: CarrierSession, link: SmppLink) -> None: ...

    def session_down(self, session: CarrierSession, link: SmppLink) -> None: ...

    def carrier_request(self, session: CarrierSession, link: SmppLink, pdu: Pdu) -> None: ...


class CarrierSession(LinkHandler):
    """One bind (transceiver, transmitter or receiver) to one upstream, reconnecting."""

    def __init__(
        self,
        owner: SessionOwner,
        upstream: Upstream,
        kind: BindKind,
        smpp: Smpp,
        metrics: Metrics,
        *,
        label: str,
    ) -> None:
        self.owner = owner
        self.upstream = upstream
        self.kind: BindKind = kind
        self.smpp = smpp
        self.label = label
        self.state: SessionState = "down"
        self.link: SmppLink | None = None
        self.task: asyncio.Task[None] | None = None
        self._gauge = metrics.upstream_sessions
        self._events = metrics.upstream_events
        self._gauge.labels(upstream.name, "down").inc()
        self._failing = False  # log the first failure of a streak as a warning, the rest debug
        self._was_bound = False

    @property
    def transmits(self) -> bool:
        return self.kind != "receiver"

    def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self._run(), name=self.label)

    def stop_reconnecting(self) -> None:
        """Stop trying to bind; a bound link stays up until the owner unbinds it."""
        if self.task is not None and self.state != "bound":
            self.task.cancel()

    def _set_state(self, state: SessionState) -> None:
        if state != self.state:
            name = self.upstream.name
            self._gauge.labels(name, self.state).dec()
            self._gauge.labels(name, state).inc()
            self.state = state

    def _event(self, event: str) -> None:
        self._events.labels(self.upstream.name, event).inc()

    async def _run(self) -> None:
        attempt = 0
        try:
            while not self.owner.stopping:
                self._set_state("connecting")
                link = await self._connect()
                if link is not None:
                    attempt = 0
                    await self._serve(link)
                self._set_state("down")
                if self.owner.stopping:
                    return
                delay = min(self.smpp.reconnect_delay_max, self.smpp.reconnect_delay * 2**attempt)
                attempt = min(attempt + 1, 32)  # 2**32 seconds is forever enough
                await asyncio.sleep(random.uniform(0.0, delay))
        finally:
            self._set_state("down")

    async def _connect(self) -> SmppLink | None:
        """Connect and bind; None (event counted, connection closed) when either fails."""
        up, smpp = self.upstream, self.smpp
        loop = asyncio.get_running_loop()
        try:
            _, link = await asyncio.wait_for(
                loop.create_connection(self._new_link, up.host, up.port), smpp.bind_timeout
            )
        except (OSError, TimeoutError) as error:
            self._event("connect_failed")
            self._complain("carrier_connect_failed", "cannot connect to the carrier",
                           address=f"{up.host}:{up.port}", error=str(error) or "timeout")
            return None
        try:
            await asyncio.wait_for(
                link.bind(self.kind, up.system_id, up.password, up.system_type), smpp.bind_timeout
            )
        except (BindError, TimeoutError, ConnectionError) as error:
            link.abort()
            self._event("bind_failed")
            self._complain("carrier_bind_failed", "bind to the carrier refused",
                           address=f"{up.host}:{up.port}", system_id=up.system_id,
                           error=str(error) or "timeout")
            return None
        except BaseException:
            link.abort()  # cancelled while binding: leave no half-bound connection behind
            raise
        self._failing = False
        # After a lost link the same session binds again: "rebound" tells the operator the
        # link came back, "bound" is the first bind of this session.
        name = "carrier_rebound" if self._was_bound else "carrier_bound"
        self._was_bound = True
        log.info("carrier link %s", name.removeprefix("carrier_"), extra=fields(
            name, upstream=up.name, session=self.label, bind=self.kind,
            system_id=up.system_id, peer=link.peer))
        return link

    def _new_link(self) -> SmppLink:
        smpp = self.smpp
        return SmppLink(
            Role.ESME,
            self,
            window=self.upstream.window,
            response_timeout=smpp.response_timeout,
            enquire_link_interval=smpp.enquire_link_interval,
            idle_timeout=None,  # the bind is bounded by bind_timeout instead
            max_pdu_size=smpp.max_pdu_size,
            name=self.label,
        )

    async def _serve(self, link: SmppLink) -> None:
        """Hand the bound link to the owner until it closes."""
        if not link.is_open:  # closed between the bind response and now
            return
        self.link = link
        self._set_state("bound")
        self.owner.session_up(self, link)
        try:
            if self.owner.stopping:  # bound while the pool was stopping: leave politely
                await link.unbind(self.smpp.response_timeout)
            await asyncio.shield(link.closed)
        finally:
            self.link = None
        if not self.owner.stopping:
            self._event("link_lost")
            log.warning("carrier link lost; reconnecting", extra=fields(
                "carrier_link_lost", upstream=self.upstream.name, session=self.label,
                bind=self.kind, peer=link.peer))
        else:
            log.info("carrier link closed (stopping)", extra=fields(
                "carrier_unbound", upstream=self.upstream.name, session=self.label,
                bind=self.kind, peer=link.peer))

    def _complain(self, event: str, message: str, **values: object) -> None:
        """The first failure of a streak is a warning, the rest (every retry) debug."""
        log.log(logging.DEBUG if self._failing else logging.WARNING, message,
                extra=fields(event, upstream=self.upstream.name, session=self.label,
                             bind=self.kind, **values))
        self._failing = True

    # --- LinkHandler ----------------------------------------------------------------

    def on_pdu(self, link: SmppLink, pdu: Pdu) -> None:
        self.owner.carrier_request(self, link, pdu)

    def on_closed(self, link: SmppLink, unanswered: tuple[Pdu, ...]) -> None:
        # Unanswered submit_sm need nothing here: their futures fail with LinkClosed.
        self.owner.session_down(self, link)

    def on_outbind(self, link: SmppLink, pdu: Pdu) -> None:
        log.info("carrier outbind ignored (stopgate binds by itself)", extra=fields(
            "carrier_outbind_ignored", upstream=self.upstream.name, session=self.label,
            peer=link.peer))
