"""A multipart message whose other parts never come: the part already answered is failed.

The reassembly timeout (120 s in production) is shortened for this test only,
by setting ``gateway.server.REASSEMBLY_TIMEOUT`` before the gateway starts; the
rest is the real gateway, Redis and simulator.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.faults.test_gateway_kill import LONG_TEXT, RECIPIENT, failure_receipt_ids
from tests.integration.policy_stack import multipart, send_parts
from tests.integration.senders import bind_sender, eventually, running_stack

BOUND = 20.0


async def test_a_part_answered_whose_message_never_completes_gets_a_failure_receipt(
    flushed_redis: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("gateway.server.REASSEMBLY_TIMEOUT", 0.5)
    async with running_stack(flushed_redis, tmp_path) as stack:
        link, sender = await bind_sender(stack.smpp_port)
        parts = multipart(LONG_TEXT, "udh16", service_type="OTP", to=RECIPIENT)
        whole = await send_parts(link, multipart(LONG_TEXT, "sar", service_type="OTP",
                                                 to=RECIPIENT, ref=0x31))
        answered = await send_parts(link, parts[:1])
        assert answered[0].command_status == 0
        part_id = answered[0].message_id
        await eventually(lambda: part_id in failure_receipt_ids([sender]),
                         "a failure receipt for the part of the message that never completed",
                         BOUND)
        assert failure_receipt_ids([sender]) == {part_id}
        assert not {a.message_id for a in whole} & failure_receipt_ids([sender])
        receipt = next(p for p in sender.receipts() if part_id.encode() in p.short_message)
        assert b"stat:UNDELIV err:008" in receipt.short_message
        assert [m.text for m in stack.simulator.messages()] == [LONG_TEXT]
        await asyncio.wait_for(link.unbind(), 5.0)
