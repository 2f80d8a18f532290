"""SmppLink: the asyncio side of a session, over real loopback sockets."""

from __future__ import annotations

import asyncio

import pytest

from gateway.smpp_link import (
    BindError,
    LinkClosed,
    LinkHandler,
    LinkOptions,
    ResponseTimeout,
    SmppLink,
)
from smpp.constants import CommandStatus
from smpp.pdu import Pdu, SubmitSm, SubmitSmResp
from smpp.session import BindState, Role


class Smsc(LinkHandler):
    """Accepts 'esme'/'secret', answers submit_sm with an id (or not at all when told)."""

    def __init__(self, answer: bool = True) -> None:
        self.answer = answer
        self.received: list[Pdu] = []

    def on_bind_request(self, link: SmppLink, pdu: Pdu) -> None:
        ok = getattr(pdu, "password", "") == "secret"
        if ok:
            link.accept_bind(pdu, "smsc")
        else:
            link.reject_bind(pdu, CommandStatus.ESME_RINVPASWD)

    def on_pdu(self, link: SmppLink, pdu: Pdu) -> None:
        self.received.append(pdu)
        if self.answer:
            link.respond(pdu, SubmitSmResp(message_id=f"id{len(self.received)}"))


async def pair(handler: Smsc, **options: float) -> tuple[SmppLink, asyncio.Server]:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SmppLink(Role.SMSC, handler), "127.0.0.1", 0
    )
    port = server.sockets[0].getsockname()[1]
    _, link = await loop.create_connection(
        lambda: SmppLink(Role.ESME, LinkHandler(), LinkOptions(**options)), "127.0.0.1", port  # type: ignore[arg-type]
    )
    return link, server


async def test_bind_and_submit_round_trip_over_loopback() -> None:
    smsc = Smsc()
    link, server = await pair(smsc)
    await link.bind("transceiver", "esme", "secret")
    assert link.state is BindState.BOUND_TRX
    responses = await asyncio.gather(
        *(link.request(SubmitSm(destination_addr="33612345678", short_message=b"hi %d" % i))
          for i in range(5))
    )
    assert [r.message_id for r in responses] == [f"id{i}" for i in range(1, 6)]  # type: ignore[attr-defined]
    assert [p.short_message for p in smsc.received] == [b"hi %d" % i for i in range(5)]  # type: ignore[attr-defined]
    await link.unbind()
    await link.closed
    server.close()


async def test_wrong_password_raises_bind_error_with_the_status() -> None:
    link, server = await pair(Smsc())
    with pytest.raises(BindError) as caught:
        await link.bind("transmitter", "esme", "wrong")
    assert caught.value.status == CommandStatus.ESME_RINVPASWD
    link.close()
    server.close()


async def test_unanswered_request_times_out() -> None:
    link, server = await pair(Smsc(answer=False), response_timeout=0.2)
    await link.bind("transmitter", "esme", "secret")
    with pytest.raises(ResponseTimeout):
        await link.request(SubmitSm(destination_addr="1", short_message=b"x"))
    link.close()
    server.close()


async def test_pending_requests_fail_when_the_peer_goes_away() -> None:
    smsc = Smsc(answer=False)
    link, server = await pair(smsc)
    await link.bind("transmitter", "esme", "secret")
    waiter = link.send(SubmitSm(destination_addr="1", short_message=b"x"))
    while not smsc.received:
        await asyncio.sleep(0.01)
    link.abort()
    with pytest.raises(LinkClosed):
        await waiter
    server.close()
