"""Who may send what, when: the SMPP 3.4 bind states and the section 2.3 tables."""

from __future__ import annotations

from enum import Enum
from typing import Final, Literal

from .constants import CommandId
from .pdu import (
    BindReceiver,
    BindReceiverResp,
    BindTransceiver,
    BindTransceiverResp,
    BindTransmitter,
    BindTransmitterResp,
)

BindKind = Literal["transmitter", "receiver", "transceiver"]


class Role(Enum):
    """Which end of the link this session is."""

    SMSC = "smsc"  # stopgate towards senders: accepts binds
    ESME = "esme"  # stopgate towards the carrier: sends binds


class BindState(Enum):
    OPEN = "open"  # connected, not bound
    BINDING = "binding"  # ESME: bind sent, awaiting resp; SMSC: BindRequested, awaiting the caller
    BOUND_TX = "bound_tx"
    BOUND_RX = "bound_rx"
    BOUND_TRX = "bound_trx"
    UNBINDING = "unbinding"  # we sent unbind, awaiting resp
    CLOSED = "closed"


MAX_SEQUENCE: Final = 0x7FFFFFFF

GENERIC_NACK: Final = int(CommandId.generic_nack)
ENQUIRE_LINK: Final = int(CommandId.enquire_link)
UNBIND: Final = int(CommandId.unbind)
OUTBIND: Final = int(CommandId.outbind)

BIND_CLASSES: Final[dict[str, type[BindTransmitter | BindReceiver | BindTransceiver]]] = {
    "transmitter": BindTransmitter,
    "receiver": BindReceiver,
    "transceiver": BindTransceiver,
}
BIND_RESP: Final[dict[int, type[BindTransmitterResp | BindReceiverResp | BindTransceiverResp]]] = {
    CommandId.bind_transmitter: BindTransmitterResp,
    CommandId.bind_receiver: BindReceiverResp,
    CommandId.bind_transceiver: BindTransceiverResp,
}
BOUND_BY_BIND: Final[dict[int, BindState]] = {
    CommandId.bind_transmitter: BindState.BOUND_TX,
    CommandId.bind_receiver: BindState.BOUND_RX,
    CommandId.bind_transceiver: BindState.BOUND_TRX,
}
BOUND_STATES: Final = frozenset({BindState.BOUND_TX, BindState.BOUND_RX, BindState.BOUND_TRX})
UNBOUND_STATES: Final = frozenset({BindState.OPEN, BindState.BINDING})
# Requests the session answers itself; send_response must not answer them behind its back.
SESSION_REQUESTS: Final = frozenset({*BIND_RESP, UNBIND, ENQUIRE_LINK, OUTBIND})

# SMPP 3.4 section 2.3 / table 2-1: which side issues which request in which bind state.
ESME_TX_REQUESTS: Final = frozenset(
    int(c)
    for c in (CommandId.submit_sm, CommandId.data_sm, CommandId.query_sm, CommandId.cancel_sm)
)
SMSC_RX_REQUESTS: Final = frozenset(
    int(c) for c in (CommandId.deliver_sm, CommandId.data_sm, CommandId.alert_notification)
)
NOTHING: Final[frozenset[int]] = frozenset()
ENQUIRE_ONLY: Final = frozenset({ENQUIRE_LINK})

# Requests from the peer that become PduReceived, by (our role, state).
SURFACED: Final[dict[tuple[Role, BindState], frozenset[int]]] = {
    (Role.SMSC, BindState.BOUND_TX): ESME_TX_REQUESTS,
    (Role.SMSC, BindState.BOUND_TRX): ESME_TX_REQUESTS,
    (Role.ESME, BindState.BOUND_RX): SMSC_RX_REQUESTS,
    (Role.ESME, BindState.BOUND_TRX): SMSC_RX_REQUESTS,
}
# Requests we may send with send_request, by (our role, state).
SENDABLE: Final[dict[tuple[Role, BindState], frozenset[int]]] = {
    (Role.ESME, BindState.BOUND_TX): ESME_TX_REQUESTS | ENQUIRE_ONLY,
    (Role.ESME, BindState.BOUND_TRX): ESME_TX_REQUESTS | ENQUIRE_ONLY,
    (Role.ESME, BindState.BOUND_RX): ENQUIRE_ONLY,
    (Role.SMSC, BindState.BOUND_RX): SMSC_RX_REQUESTS | ENQUIRE_ONLY,
    (Role.SMSC, BindState.BOUND_TRX): SMSC_RX_REQUESTS | ENQUIRE_ONLY,
    (Role.SMSC, BindState.BOUND_TX): ENQUIRE_ONLY,
}
# Everything the peer may ever send us in some bound state: outside it is a wrong-direction PDU.
FROM_PEER: Final[dict[Role, frozenset[int]]] = {
    Role.SMSC: ESME_TX_REQUESTS,
    Role.ESME: SMSC_RX_REQUESTS,
}
