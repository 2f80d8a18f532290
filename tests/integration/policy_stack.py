"""What the opt-out policy tests share: accounts that let the policy judge, and the sends.

The proxy tests' accounts default to transactional (transparent proxying); here
``acme`` and ``globex`` default to "auto", so nothing is waved through unless the
sender says so (service_type "PROMO"/"OTP", TLV 0x1500, HTTP "class") or the text
does. ``globex`` has its own shortcode, so its footer differs from acme's.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import aiohttp

from gateway.sendtime.clock import Clock
from smpp.constants import CommandStatus, Tag
from smpp.pdu import DeliverSm, SubmitSm, SubmitSmResp
from smpp.segments import build_parts, split_text
from smpp.text import ConcatKind, encode_text
from smpp.tlv import tlv_str
from tests.integration.conftest import ACME, GLOBEX, Stack, start_stack

TIMEOUT = 10.0
S = CommandStatus
BLOCKED = 0x65  # policy.blocked_status's default: ESME_RX_P_APPN
UNKNOWN_STATE = S.ESME_RX_T_APPN  # 0x64: refused while the suppression state is unknown

ACME_AUTO = {**ACME, "default_class": "auto"}
GLOBEX_AUTO = {**GLOBEX, "default_class": "auto", "numbers": ["+447400900000", "36200"]}
ACME_SHORTCODE_FOOTER = "STOP au 36173"
GLOBEX_SHORTCODE_FOOTER = "STOP au 36200"

OPTED_OUT = "+33612345678"  # opted out of acme in most tests
OTHER_FR = "+33612345670"  # never opted out
GB = "+447400123456"

PROMO_TEXT = "Black Friday: 30% off everything this weekend only at acme.example"
LONG_PROMO = (
    "Winter sale at ACME: every coat, boot and scarf is 40% off until Sunday night. "
    "Show this message in store or use the code WINTER40 online; one use per customer. "
    "Free delivery on every order over 50 EUR, returns free for 60 days."
)
OTP_TEXT = "Your verification code is 482913"
ACME_HTTP = "acme-key"


def digits(e164: str) -> str:
    return e164.removeprefix("+")


@contextlib.asynccontextmanager
async def policy_stack(redis_url: str, data_dir: Path, *, clock: Clock | None = None,
                       **sections: Any) -> AsyncIterator[Stack]:
    """A running stack whose accounts default to "auto" (see the module docstring);
    send-time rules judged on ``clock`` (None: the system's)."""
    sections.setdefault("accounts", [ACME_AUTO, GLOBEX_AUTO])
    stack = await start_stack(redis_url, data_dir, clock=clock, **sections)
    try:
        yield stack
    finally:
        await stack.gateway.stop(timeout=2.0)
        await stack.simulator.stop()


async def opt_out(stack: Stack, scope: str, number: str = OPTED_OUT) -> None:
    """An opt-out by the API path: ledger, then cache, before this returns."""
    assert stack.gateway.suppressions is not None
    await asyncio.wait_for(
        stack.gateway.suppressions.optout(scope, number, source="api"), TIMEOUT)


def submit(
    text: str = PROMO_TEXT,
    *,
    to: str = OPTED_OUT,
    dest_addr_ton: int = 1,
    service_type: str = "PROMO",
    data_coding: int = 0,
    receipt: bool = True,
    tlvs: Sequence[tuple[int, bytes]] = (),
) -> SubmitSm:
    """One short submit_sm (the text encoded in ``data_coding``), promotional by default."""
    return SubmitSm(
        service_type=service_type, source_addr="ACME", source_addr_ton=5,
        dest_addr_ton=dest_addr_ton, dest_addr_npi=1, destination_addr=digits(to),
        registered_delivery=1 if receipt else 0, data_coding=data_coding,
        short_message=encode_text(text, data_coding), tlvs=tuple(tlvs),
    )


def multipart(
    text: str,
    kind: ConcatKind,
    *,
    to: str = OPTED_OUT,
    service_type: str = "PROMO",
    data_coding: int = 0,
    ref: int = 0x42,
    receipt: bool = True,
) -> list[SubmitSm]:
    """The submit_sm parts of one long message, cut as a sender would (UDH 8/16-bit or SAR).

    SAR parts are cut like UDH 8-bit ones: the carrier turns the TLVs into a UDH for the
    handset, so senders leave it the room.
    """
    segments = split_text(text, data_coding, udh="udh8" if kind == "sar" else kind)
    assert len(segments) > 1, "not long enough to need parts"
    return [
        SubmitSm(
            service_type=service_type, source_addr="ACME", source_addr_ton=5,
            dest_addr_ton=1, dest_addr_npi=1, destination_addr=digits(to),
            registered_delivery=1 if receipt else 0, data_coding=data_coding,
            esm_class=esm, short_message=short_message, tlvs=tuple(tlvs),
        )
        for esm, short_message, tlvs in build_parts(segments, ref, kind)
    ]


async def send_parts(link: Any, parts: Sequence[SubmitSm]) -> list[SubmitSmResp]:
    """Send the parts one after another, as senders do; every answer, in order."""
    answers = []
    for part in parts:
        answer = await asyncio.wait_for(link.request(part), TIMEOUT)
        assert isinstance(answer, SubmitSmResp)
        answers.append(answer)
    return answers


async def send_one(link: Any, pdu: SubmitSm) -> SubmitSmResp:
    return (await send_parts(link, [pdu]))[0]


async def post_message(
    http: aiohttp.ClientSession, stack: Stack, body: Mapping[str, Any], key: str = ACME_HTTP
) -> tuple[int, Any]:
    """POST /v1/messages; (HTTP status, JSON body)."""
    async with http.post(f"{stack.http_url}/v1/messages", json=dict(body),
                         headers={"Authorization": f"Bearer {key}"}) as response:
        return response.status, await response.json()


def rejected_receipt_ids(receipts: Sequence[DeliverSm]) -> list[str]:
    """The ids of REJECTD receipts, checking each one says so in its text and its TLV."""
    ids = []
    for pdu in receipts:
        assert pdu.esm_class & 0x04, pdu
        text = pdu.short_message.decode("ascii", "replace")
        assert "stat:REJECTD" in text, text
        tlv = tlv_str(pdu, Tag.receipted_message_id)
        found = re.match(r"id:(\S+) ", text)
        assert tlv is not None and found is not None and found.group(1) == tlv, text
        ids.append(tlv)
    return ids


def delivered_to(stack: Stack, e164: str) -> list[str]:
    """Texts the carrier accepted for ``e164`` (whole messages)."""
    return [m.text for m in stack.simulator.messages() if m.destination_addr == digits(e164)]


