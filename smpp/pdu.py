"""SMPP 3.4 PDUs as small immutable values.

Every PDU class carries its ``command_id`` as a class attribute and has
keyword-only fields with wire defaults, so ``SubmitSm(sequence=7,
destination_addr="33612345678", short_message=b"hi")`` is a complete PDU.

C-octet strings are ``str`` (decoded as Latin-1, which is lossless for the
octets SMPP allows); ``short_message`` and TLV values are ``bytes``.
Optional parameters are kept in wire order as ``(tag, raw value)`` pairs so
that unknown and vendor TLVs survive a decode/encode round trip byte-exact.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import ClassVar, TypeAlias

from .constants import CommandId

Tlv: TypeAlias = tuple[int, bytes]
Tlvs: TypeAlias = tuple[Tlv, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Pdu:
    """Header fields shared by every PDU."""

    command_id: ClassVar[int]
    sequence: int = 0
    command_status: int = 0

    @property
    def is_response(self) -> bool:
        return bool(self.command_id & 0x80000000)


@dataclass(frozen=True, slots=True, kw_only=True)
class TlvPdu(Pdu):
    """A PDU that may carry optional parameters."""

    tlvs: Tlvs = ()

    def tlv(self, tag: int) -> bytes | None:
        """Raw value of the first TLV with ``tag``, or None."""
        for t, value in self.tlvs:
            if t == tag:
                return value
        return None

    def with_tlv(self, tag: int, value: bytes) -> TlvPdu:
        """A copy with ``tag`` set to ``value`` (replacing any existing one)."""
        kept = tuple(item for item in self.tlvs if item[0] != tag)
        return replace(self, tlvs=(*kept, (tag, value)))

    def without_tlvs(self, *tags: int) -> TlvPdu:
        """A copy with every TLV whose tag is in ``tags`` removed."""
        return replace(self, tlvs=tuple(item for item in self.tlvs if item[0] not in tags))


# --- session management -------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class _Bind(Pdu):
    system_id: str = ""
    password: str = ""
    system_type: str = ""
    interface_version: int = 0x34
    addr_ton: int = 0
    addr_npi: int = 0
    address_range: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class BindTransmitter(_Bind):
    command_id: ClassVar[int] = CommandId.bind_transmitter


@dataclass(frozen=True, slots=True, kw_only=True)
class BindReceiver(_Bind):
    command_id: ClassVar[int] = CommandId.bind_receiver


@dataclass(frozen=True, slots=True, kw_only=True)
class BindTransceiver(_Bind):
    command_id: ClassVar[int] = CommandId.bind_transceiver


@dataclass(frozen=True, slots=True, kw_only=True)
class _BindResp(TlvPdu):
    system_id: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class BindTransmitterResp(_BindResp):
    command_id: ClassVar[int] = CommandId.bind_transmitter_resp


@dataclass(frozen=True, slots=True, kw_only=True)
class BindReceiverResp(_BindResp):
    command_id: ClassVar[int] = CommandId.bind_receiver_resp


@dataclass(frozen=True, slots=True, kw_only=True)
class BindTransceiverResp(_BindResp):
    command_id: ClassVar[int] = CommandId.bind_transceiver_resp


@dataclass(frozen=True, slots=True, kw_only=True)
class Outbind(Pdu):
    command_id: ClassVar[int] = CommandId.outbind
    system_id: str = ""
    password: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Unbind(Pdu):
    command_id: ClassVar[int] = CommandId.unbind


@dataclass(frozen=True, slots=True, kw_only=True)
class UnbindResp(Pdu):
    command_id: ClassVar[int] = CommandId.unbind_resp


@dataclass(frozen=True, slots=True, kw_only=True)
class EnquireLink(Pdu):
    command_id: ClassVar[int] = CommandId.enquire_link


@dataclass(frozen=True, slots=True, kw_only=True)
class EnquireLinkResp(Pdu):
    command_id: ClassVar[int] = CommandId.enquire_link_resp


@dataclass(frozen=True, slots=True, kw_only=True)
class GenericNack(Pdu):
    command_id: ClassVar[int] = CommandId.generic_nack


# --- messages -------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ShortMessagePdu(TlvPdu):
    """The shared body of submit_sm and deliver_sm (SMPP 3.4 4.4.1 / 4.6.1)."""

    service_type: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""
    dest_addr_ton: int = 0
    dest_addr_npi: int = 0
    destination_addr: str = ""
    esm_class: int = 0
    protocol_id: int = 0
    priority_flag: int = 0
    schedule_delivery_time: str = ""
    validity_period: str = ""
    registered_delivery: int = 0
    replace_if_present_flag: int = 0
    data_coding: int = 0
    sm_default_msg_id: int = 0
    short_message: bytes = b""


@dataclass(frozen=True, slots=True, kw_only=True)
class SubmitSm(ShortMessagePdu):
    command_id: ClassVar[int] = CommandId.submit_sm


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliverSm(ShortMessagePdu):
    command_id: ClassVar[int] = CommandId.deliver_sm


@dataclass(frozen=True, slots=True, kw_only=True)
class SubmitSmResp(TlvPdu):
    """SMPP 3.4 defines no TLVs here, but SMSCs send SMPP 5.0 ones; keep them, never refuse."""

    command_id: ClassVar[int] = CommandId.submit_sm_resp
    message_id: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliverSmResp(TlvPdu):
    command_id: ClassVar[int] = CommandId.deliver_sm_resp
    message_id: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class DataSm(TlvPdu):
    command_id: ClassVar[int] = CommandId.data_sm
    service_type: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""
    dest_addr_ton: int = 0
    dest_addr_npi: int = 0
    destination_addr: str = ""
    esm_class: int = 0
    registered_delivery: int = 0
    data_coding: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class DataSmResp(TlvPdu):
    command_id: ClassVar[int] = CommandId.data_sm_resp
    message_id: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class QuerySm(Pdu):
    command_id: ClassVar[int] = CommandId.query_sm
    message_id: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class QuerySmResp(Pdu):
    command_id: ClassVar[int] = CommandId.query_sm_resp
    message_id: str = ""
    final_date: str = ""
    message_state: int = 0
    error_code: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelSm(Pdu):
    command_id: ClassVar[int] = CommandId.cancel_sm
    service_type: str = ""
    message_id: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""
    dest_addr_ton: int = 0
    dest_addr_npi: int = 0
    destination_addr: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelSmResp(Pdu):
    command_id: ClassVar[int] = CommandId.cancel_sm_resp


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertNotification(TlvPdu):
    command_id: ClassVar[int] = CommandId.alert_notification
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""
    esme_addr_ton: int = 0
    esme_addr_npi: int = 0
    esme_addr: str = ""


#: Every PDU class by command_id.
PDU_CLASSES: dict[int, type[Pdu]] = {
    cls.command_id: cls
    for cls in (
        BindTransmitter, BindReceiver, BindTransceiver,
        BindTransmitterResp, BindReceiverResp, BindTransceiverResp,
        Outbind, Unbind, UnbindResp, EnquireLink, EnquireLinkResp, GenericNack,
        SubmitSm, SubmitSmResp, DeliverSm, DeliverSmResp, DataSm, DataSmResp,
        QuerySm, QuerySmResp, CancelSm, CancelSmResp, AlertNotification,
    )
}

#: The response class each request expects (requests without a response are absent).
RESPONSE_FOR: dict[int, type[Pdu]] = {
    CommandId.bind_transmitter: BindTransmitterResp,
    CommandId.bind_receiver: BindReceiverResp,
    CommandId.bind_transceiver: BindTransceiverResp,
    CommandId.unbind: UnbindResp,
    CommandId.enquire_link: EnquireLinkResp,
    CommandId.submit_sm: SubmitSmResp,
    CommandId.deliver_sm: DeliverSmResp,
    CommandId.data_sm: DataSmResp,
    CommandId.query_sm: QuerySmResp,
    CommandId.cancel_sm: CancelSmResp,
}
