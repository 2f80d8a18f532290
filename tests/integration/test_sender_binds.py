"""Sender binds and bind states, seen by smpplib (an independent SMPP client) over loopback.

smpplib is synchronous: each exchange runs in a thread, bounded by wait_for. Where
a test breaks the protocol on purpose (a submit_sm before bind), the PDU is still
smpplib's own encoding, written to its socket past smpplib's local state check.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import smpplib.client
import smpplib.consts as c
import smpplib.exceptions
import smpplib.smpp

from tests.integration.conftest import ACME, GLOBEX, Stack
from tests.integration.senders import running_stack

T = TypeVar("T")
TIMEOUT = 5.0
FAILED_BIND_DELAY = 0.05  # the conftest's smpp.failed_bind_delay (max 0.2)


async def in_thread(function: Callable[..., T], *args: Any) -> T:
    return await asyncio.wait_for(asyncio.to_thread(function, *args), TIMEOUT * 2)


def connect(port: int) -> smpplib.client.Client:
    client = smpplib.client.Client("127.0.0.1", port, timeout=TIMEOUT,
                                   allow_unknown_opt_params=True)
    client.connect()
    return client


def bind_status(port: int, system_id: str, password: str, kind: str = "transmitter") -> int:
    """The command_status of one bind on a fresh connection (0: bound; then unbound)."""
    client = connect(port)
    try:
        getattr(client, f"bind_{kind}")(system_id=system_id, password=password)
    except smpplib.exceptions.PDUError as error:
        return int(error.args[1])
    finally:
        if client.state != c.SMPP_CLIENT_STATE_OPEN:
            client.unbind()
        client.disconnect()
    return 0


def send_past_state_check(client: smpplib.client.Client, command: str, **fields: Any) -> Any:
    """Write an smpplib-encoded request whatever smpplib thinks of the bind state; its response."""
    pdu = smpplib.smpp.make_pdu(command, client=client, **fields)
    client._socket.sendall(pdu.generate())
    return client.read_pdu()


def submit_fields(text: str = "hello") -> dict[str, Any]:
    return {"source_addr_ton": c.SMPP_TON_ALNUM, "source_addr": "ACME",
            "dest_addr_ton": c.SMPP_TON_INTL, "destination_addr": "33612345678",
            "short_message": text.encode()}


async def test_wrong_password_is_refused_with_esme_rinvpaswd(stack: Stack) -> None:
    assert await in_thread(bind_status, stack.smpp_port, "acme", "wrong") == c.SMPP_ESME_RINVPASWD


async def test_unknown_system_id_is_refused_with_esme_rinvsysid(stack: Stack) -> None:
    status = await in_thread(bind_status, stack.smpp_port, "nobody", "acmepass", "transceiver")
    assert status == c.SMPP_ESME_RINVSYSID


async def test_repeated_failed_binds_from_one_address_are_answered_later_and_later(
    stack: Stack,
) -> None:
    loop = asyncio.get_running_loop()
    took = []
    for _ in range(4):
        started = loop.time()
        status = await in_thread(bind_status, stack.smpp_port, "acme", "guess")
        took.append(loop.time() - started)
        assert status == c.SMPP_ESME_RINVPASWD
    # The delay doubles from failed_bind_delay with each repeat (capped); lower bounds only.
    assert took[1] >= FAILED_BIND_DELAY
    assert took[2] >= 2 * FAILED_BIND_DELAY
    assert took[3] >= 2 * FAILED_BIND_DELAY
    # The right password still binds, but no sooner than a refusal would come: an
    # early answer would tell a guesser which password was right without waiting.
    started = loop.time()
    assert await in_thread(bind_status, stack.smpp_port, "acme", "acmepass") == 0
    assert loop.time() - started >= 2 * FAILED_BIND_DELAY
    # ...and having bound, the address is forgiven: the next bind is answered at once.
    assert await in_thread(bind_status, stack.smpp_port, "acme", "acmepass") == 0


async def test_concurrent_failed_binds_from_one_address_are_answered_one_after_another(
    stack: Stack,
) -> None:
    """Guessing over many connections at once gains nothing over guessing on one."""
    loop = asyncio.get_running_loop()
    started = loop.time()

    async def guess() -> float:
        status = await in_thread(bind_status, stack.smpp_port, "acme", "guess")
        assert status == c.SMPP_ESME_RINVPASWD
        return loop.time() - started

    took = sorted(await asyncio.gather(*(guess() for _ in range(4))))
    # Delays 0, 0.1, 0.2, 0.2 (capped at failed_bind_delay_max), one after the other.
    assert took[-1] >= 2 * FAILED_BIND_DELAY + 4 * FAILED_BIND_DELAY + 4 * FAILED_BIND_DELAY


def submit_before_bind_then_bind(port: int) -> tuple[str, int, int]:
    client = connect(port)
    try:
        response = send_past_state_check(client, "submit_sm", **submit_fields())
        client.bind_transmitter(system_id="acme", password="acmepass")
        sent = client.send_message(**submit_fields())
        after = client.read_pdu()
        assert after.sequence == sent.sequence
        client.unbind()
        return response.command, int(response.status), int(after.status)
    finally:
        client.disconnect()


async def test_submit_sm_before_bind_is_answered_esme_rinvbndsts_and_a_bind_still_works(
    stack: Stack,
) -> None:
    command, status, after_bind = await in_thread(submit_before_bind_then_bind, stack.smpp_port)
    assert (command, status) == ("submit_sm_resp", c.SMPP_ESME_RINVBNDSTS)
    assert after_bind == c.SMPP_ESME_ROK
    assert len(stack.simulator.messages()) == 1


def submit_on_receiver(port: int) -> tuple[str, int]:
    client = connect(port)
    try:
        client.bind_receiver(system_id="acme", password="acmepass")
        response = send_past_state_check(client, "submit_sm", **submit_fields())
        client.unbind()
        return response.command, int(response.status)
    finally:
        client.disconnect()


async def test_submit_sm_on_a_receiver_bind_is_answered_esme_rinvbndsts(stack: Stack) -> None:
    assert await in_thread(submit_on_receiver, stack.smpp_port) == (
        "submit_sm_resp", c.SMPP_ESME_RINVBNDSTS)
    assert stack.simulator.messages() == []


def unknown_command_then_submit(port: int) -> tuple[str, int, int, int]:
    client = connect(port)
    try:
        client.bind_transceiver(system_id="acme", password="acmepass")
        # No client library encodes a command that does not exist: a bare 16-octet header.
        client._socket.sendall(struct.pack(">IIII", 16, 0x00000077, 0, 4242))
        nack = client.read_pdu()
        sent = client.send_message(**submit_fields())
        response = client.read_pdu()
        assert response.sequence == sent.sequence
        client.unbind()
        return nack.command, int(nack.status), int(nack.sequence), int(response.status)
    finally:
        client.disconnect()


async def test_unknown_command_id_gets_generic_nack_and_the_session_continues(
    stack: Stack,
) -> None:
    command, status, sequence, submit_status = await in_thread(
        unknown_command_then_submit, stack.smpp_port)
    assert (command, status, sequence) == ("generic_nack", c.SMPP_ESME_RINVCMDID, 4242)
    assert submit_status == c.SMPP_ESME_ROK


def bind_many_then_send(port: int, limit: int) -> tuple[list[int], list[int], int]:
    """Bind acme limit+1 times, send on the bound ones, bind globex once."""
    clients: list[smpplib.client.Client] = []
    statuses: list[int] = []
    try:
        for _ in range(limit + 1):
            client = connect(port)
            clients.append(client)
            try:
                client.bind_transmitter(system_id="acme", password="acmepass")
                statuses.append(0)
            except smpplib.exceptions.PDUError as error:
                statuses.append(int(error.args[1]))
        sent = []
        for client in clients:
            if client.state == c.SMPP_CLIENT_STATE_BOUND_TX:
                client.send_message(**submit_fields())
                sent.append(int(client.read_pdu().status))
        other = bind_status(port, "globex", "globex1")
        for client in clients:
            if client.state == c.SMPP_CLIENT_STATE_BOUND_TX:
                client.unbind()
        return statuses, sent, other
    finally:
        for client in clients:
            client.disconnect()


async def test_binds_beyond_max_sessions_per_account_are_refused_and_bound_ones_keep_working(
    flushed_redis: str, tmp_path: Path,
) -> None:
    async with running_stack(flushed_redis, tmp_path,
                             smpp={"max_sessions_per_account": 2}) as stack:
        statuses, sent, other_account = await in_thread(bind_many_then_send, stack.smpp_port, 2)
    assert statuses == [0, 0, c.SMPP_ESME_RBINDFAIL]
    assert sent == [c.SMPP_ESME_ROK, c.SMPP_ESME_ROK]
    assert other_account == 0  # the limit is per account


def burst(port: int, count: int) -> list[int]:
    """Send ``count`` submit_sm back to back, then read every response; their statuses."""
    client = connect(port)
    try:
        client.bind_transmitter(system_id="acme", password="acmepass")
        sequences = {client.send_message(**submit_fields(f"burst {n}")).sequence
                     for n in range(count)}
        statuses = []
        while sequences:
            response = client.read_pdu()
            assert response.command == "submit_sm_resp"
            sequences.remove(response.sequence)
            statuses.append(int(response.status))
        client.unbind()
        return statuses
    finally:
        client.disconnect()


async def test_burst_above_the_account_tps_is_partly_throttled_and_every_submit_is_answered(
    flushed_redis: str, tmp_path: Path,
) -> None:
    async with running_stack(flushed_redis, tmp_path,
                             accounts=[{**ACME, "tps": 5}, GLOBEX]) as stack:
        statuses = await in_thread(burst, stack.smpp_port, 20)
        at_carrier = len(stack.simulator.messages())
    assert len(statuses) == 20
    assert set(statuses) <= {c.SMPP_ESME_ROK, c.SMPP_ESME_RTHROTTLED}
    accepted = statuses.count(c.SMPP_ESME_ROK)
    assert 1 <= accepted < 20
    assert at_carrier == accepted  # what was accepted was forwarded; nothing else was
