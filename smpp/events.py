"""What an SMPP session tells its caller: small immutable events.

``Session.receive_data``, ``Session.tick`` and ``Session.connection_lost``
return lists of these. Replies the session sends on its own (enquire_link_resp,
unbind_resp, generic_nack, error responses, keepalive enquire_link) are never
inside events: they wait in ``Session.data_to_send()``.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import PduError
from .pdu import Pdu


@dataclass(frozen=True, slots=True)
class Event:
    """Base of every session event."""


@dataclass(frozen=True, slots=True)
class PduReceived(Event):
    """A request the caller must handle: submit_sm, deliver_sm, data_sm, query_sm, cancel_sm,
    alert_notification (answer with ``Session.send_response``; alert_notification has no
    response)."""

    pdu: Pdu


@dataclass(frozen=True, slots=True)
class ResponseReceived(Event):
    """The response (or generic_nack) to a request sent with ``Session.send_request``.

    ``request`` is the PDU as it was given to ``send_request``: its own ``sequence`` field is
    whatever the caller set; the sequence it went out with is ``sequence``.
    """

    request: Pdu
    response: Pdu
    sequence: int


@dataclass(frozen=True, slots=True)
class UnexpectedResponse(Event):
    """A response whose sequence matches no outstanding request (late, duplicate or bogus)."""

    response: Pdu


@dataclass(frozen=True, slots=True)
class RequestRejected(Event):
    """A request the session refused by itself (wrong bind state, wrong direction, already
    bound); the error response is already queued."""

    request: Pdu
    status: int


@dataclass(frozen=True, slots=True)
class BindRequested(Event):
    """SMSC side: a peer asks to bind; answer with ``accept_bind`` or ``reject_bind``."""

    pdu: Pdu


@dataclass(frozen=True, slots=True)
class OutbindReceived(Event):
    """ESME side: the SMSC asks us to bind (SMPP 3.4 2.2.1); call ``Session.bind``."""

    pdu: Pdu


@dataclass(frozen=True, slots=True)
class Bound(Event):
    """ESME side: our bind was accepted."""

    response: Pdu


@dataclass(frozen=True, slots=True)
class BindFailed(Event):
    """ESME side: our bind was refused (``response`` set) or timed out (``response`` None)."""

    request: Pdu
    response: Pdu | None

    @property
    def status(self) -> int | None:
        """The peer's command_status, or None when the bind timed out."""
        return None if self.response is None else self.response.command_status


@dataclass(frozen=True, slots=True)
class Unbound(Event):
    """The peer unbound; unbind_resp is queued and the session is CLOSED."""

    pdu: Pdu


@dataclass(frozen=True, slots=True)
class UnbindComplete(Event):
    """Our unbind was answered (``response`` set) or timed out (None); the session is CLOSED."""

    response: Pdu | None


@dataclass(frozen=True, slots=True)
class ProtocolError(Event):
    """The peer sent something invalid; ``reply`` (if any) is already queued.

    When ``error.fatal`` the framing is lost and the session is CLOSED.
    """

    error: PduError
    reply: Pdu | None

    @property
    def fatal(self) -> bool:
        return self.error.fatal


@dataclass(frozen=True, slots=True)
class RequestTimedOut(Event):
    """No response to ``request`` (as given to ``send_request``) within response_timeout;
    it left the window. ``sequence`` is the one it went out with."""

    request: Pdu
    sequence: int


@dataclass(frozen=True, slots=True)
class LinkDead(Event):
    """Our keepalive enquire_link got no answer; the session is CLOSED."""


@dataclass(frozen=True, slots=True)
class IdleTimeout(Event):
    """The connection did not bind within idle_timeout; the session is CLOSED."""


@dataclass(frozen=True, slots=True)
class ConnectionClosed(Event):
    """Always the last event of a session: write ``data_to_send()``, then close the socket.

    ``unanswered`` are the requests sent with ``send_request`` that never got a response
    (the caller may retry them elsewhere).
    """

    unanswered: tuple[Pdu, ...]
