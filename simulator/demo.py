"""`stopgate demo`: a zero-setup tour on embedded defaults.

Everything runs in this process on loopback, on ports the system picks: an
embedded Redis in a scratch directory, the built-in carrier simulator, and a
real stopgate in front of it. A sender binds over SMPP (as the first account
of the config), sends a small campaign, gets its delivery receipts back with
the ids stopgate gave it, sends one message over HTTP, and receives an MO a
recipient sends to its shortcode: "STOP", which opts them out before the carrier
hears back, gets them one confirmation, and blocks the next promotional message.
"""

from __future__ import annotations

import asyncio
import html
import re
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

import aiohttp

from gateway.app import Gateway
from gateway.config.model import Account, Config, Upstream
from gateway.config.values import ListenAddress
from gateway.inbound.receipts import receipt_text
from gateway.process.eventloop import run as run_loop
from gateway.sendtime.clock import ShiftedClock
from gateway.smpp_link import LinkHandler, SmppLink
from simulator.carrier import CarrierSimulator
from simulator.records import ReceivedMessage
from smpp.constants import CommandStatus
from smpp.pdu import DeliverSm, DeliverSmResp, Pdu, SubmitSm
from smpp.segments import build_parts, split_text
from smpp.session import Role
from smpp.text import choose_encoding, decode_text

_CODING_NAMES = {0: "GSM 03.38", 1: "IA5", 3: "Latin-1", 8: "UCS-2"}
#: The tour judges send-time rules (quiet hours, caps) on a clock that starts here, a
#: Tuesday 10:00 in Paris, so what it shows does not depend on the hour it runs at.
DEMO_CLOCK_START = datetime(2026, 6, 9, 8, 0, tzinfo=UTC)
_TIMEOUT = 10.0
_DEMO_ACCOUNT = Account(
    system_id="acme", password="acmepass", api_key="demo-acme-key", default_region="FR",
    numbers=("36173", "+33757000000"), shortcode="36173",
)


@dataclass(frozen=True, slots=True)
class DemoMessage:
    to: str
    text: str
    what: str


#: The small campaign the tour sends: French and British recipients, one long message.
CAMPAIGN: tuple[DemoMessage, ...] = (
    DemoMessage("+33612345678", "Black Friday : -30% sur tout le magasin ce week-end !",
                "promotional, France"),
    DemoMessage("+33612345679", "Votre code de connexion est 482913",
                "one-time code"),
    DemoMessage("+447400900123", "Black Friday: 30% off everything this weekend only, "
                "shop now before the offer ends at midnight on Sunday. Free delivery on "
                "all orders over 20 pounds, no code needed.",
                "promotional, UK, long"),
    DemoMessage("+33612345680", "Dernière chance 🎁 -50% ce soir seulement",
                "promotional, opted out"),
    DemoMessage("+33612345680", "Votre code de connexion est 771204",
                "one-time code, opted out"),
    DemoMessage("+33612345682", "Dernière chance 🎁 -50% ce soir seulement",
                "promotional, emoji (UCS-2)"),
)

#: A recipient who opted out before the campaign: the demo records it through the ledger.
OPTED_OUT = "+33612345680"

def _tail(text: str, width: int = 64) -> str:
    """The end of a text (where the footer is), shortened to ``width`` characters."""
    flat = text.replace("\n", " | ")
    return flat if len(flat) <= width else "..." + flat[-(width - 3):]


class _Sender(LinkHandler):
    """The demo's SMPP sender: records the receipts and MOs stopgate delivers to it."""

    def __init__(self) -> None:
        self.received: list[DeliverSm] = []
        self.arrived = asyncio.Event()

    def on_pdu(self, link: SmppLink, pdu: Pdu) -> None:
        if isinstance(pdu, DeliverSm):
            self.received.append(pdu)
            self.arrived.set()
            link.respond(pdu, DeliverSmResp())


def demo_config(config: Config, scratch: Path, carrier_port: int) -> Config:
    """The user's config, moved onto loopback ports, a scratch data dir and the simulator."""
    carrier = Upstream(name="demo-carrier", host="127.0.0.1", port=carrier_port,
                       system_id="stopgate", password="demo", window=50)
    return replace(
        config,
        server=replace(config.server, smpp_listen=ListenAddress("127.0.0.1", 0),
                       http_listen=ListenAddress("127.0.0.1", 0), data_dir=scratch),
        storage=replace(config.storage, redis_url=""),
        upstreams=(carrier,),
        accounts=config.accounts or (_DEMO_ACCOUNT,),
    )


def run(config: Config, out: TextIO | None = None) -> int:
    """Run the tour; return the process exit code."""
    return run_loop(_tour(config, out or sys.stdout))


async def _tour(config: Config, out: TextIO) -> int:
    def say(line: str = "") -> None:
        out.write(line + "\n")
        out.flush()

    say("stopgate demo: an opt-out gateway tour on embedded defaults\n")
    simulator = CarrierSimulator()
    await simulator.start("127.0.0.1", 0)
    say(f"[carrier] built-in SMSC simulator on 127.0.0.1:{simulator.port}")
    with tempfile.TemporaryDirectory(prefix="stopgate-demo-") as scratch:
        gateway = Gateway(demo_config(config, Path(scratch), simulator.port),
                          clock=ShiftedClock(DEMO_CLOCK_START))
        await gateway.start()
        say("[stopgate] send-time rules (quiet hours, frequency caps) judged as if it were "
            "Tue 9 June 2026, 10:00 in Paris (the demo's clock)")
        try:
            return await _campaign(gateway, simulator, say)
        finally:
            await gateway.stop(timeout=2.0)
            await simulator.stop()
            say("\n[stopgate] stopped; embedded Redis stopped; scratch data removed")


async def _campaign(
    gateway: Gateway, simulator: CarrierSimulator, say: Callable[[str], None]
) -> int:
    assert gateway.embedded_redis is not None and gateway.pool is not None
    account = gateway.config.accounts[0]
    say(f"[redis]   embedded redis-server pid {gateway.embedded_redis.pid}, "
        f"{gateway.embedded_redis.url}")
    say(f"[stopgate] SMPP on 127.0.0.1:{gateway.smpp_port}, HTTP on "
        f"127.0.0.1:{gateway.http_port}")
    assert gateway.keeper is not None and gateway.suppressions is not None
    await asyncio.wait_for(gateway.keeper.wait_ready(), _TIMEOUT)
    await _wait(lambda: gateway.pool is not None and gateway.pool.ready)
    say(f"[stopgate] carrier link bound: {gateway.pool.ready}; suppression cache ready")
    await gateway.suppressions.optout(account.system_id, OPTED_OUT, source="api")
    say(f"[ledger]  {OPTED_OUT} opted out of '{account.system_id}' earlier "
        "(ledger first, then the Redis cache)\n")

    sender = _Sender()
    loop = asyncio.get_running_loop()
    _, link = await loop.create_connection(
        lambda: SmppLink(Role.ESME, sender), "127.0.0.1", gateway.smpp_port
    )
    await link.bind("transceiver", account.system_id, account.password)
    source, source_ton = _demo_source(account)
    say(f"[sender]  bound transceiver as '{account.system_id}' and sends the campaign:")
    ids: dict[str, str] = {}
    for ref, message in enumerate(CAMPAIGN, 1):
        coding = choose_encoding(message.text)
        parts = build_parts(split_text(message.text, coding), ref & 0xFF, "udh8")
        answers = await asyncio.gather(*(
            link.request(SubmitSm(
                source_addr_ton=source_ton, source_addr=source,
                dest_addr_ton=1, dest_addr_npi=1, destination_addr=message.to.lstrip("+"),
                esm_class=esm, registered_delivery=1, data_coding=coding,
                short_message=short_message, tlvs=tlvs,
            ))
            for esm, short_message, tlvs in parts
        ))
        for answer in answers:
            ids[getattr(answer, "message_id", "")] = message.to
        last = answers[-1]
        if last.command_status == 0:
            verdict = "accepted, id " + getattr(last, "message_id", "")
        elif last.command_status == gateway.config.policy.blocked_status:
            verdict = f"BLOCKED (0x{last.command_status:08X}: opted out)"
            ids.pop(getattr(answers[0], "message_id", ""), None)
        else:
            verdict = f"refused 0x{last.command_status:08X}"
        say(f"  {message.to:<15} {message.what:<27} {_CODING_NAMES.get(coding, coding)!s:<9} "
            f"{len(parts)} part(s)  -> {verdict}")

    await _wait(lambda: len([p for p in sender.received if p.esm_class & 0x04]) >= len(ids))
    say("\n[carrier] received, reassembled (footers appended to promotional messages):")
    for received in simulator.messages():
        alphabet = _CODING_NAMES.get(received.data_coding, str(received.data_coding))
        say(f"  {received.destination_addr:<15} {received.parts} part(s) {alphabet:<9} "
            f"{_tail(received.text)!r}")
    say("\n[sender]  delivery receipts, with the ids stopgate gave the sender:")
    unknown = 0
    for pdu in sender.received:
        if pdu.esm_class & 0x04:
            receipt = receipt_text(pdu)
            receipt_id = receipt.id or ""
            unknown += receipt_id not in ids
            owner = ids.get(receipt_id, "an id the sender never got!")
            say(f"  id:{receipt_id} stat:{receipt.stat}  for {owner}")

    async with aiohttp.ClientSession() as http:
        response = await http.post(
            f"http://127.0.0.1:{gateway.http_port}/v1/messages",
            json={"to": "+33612345681", "text": "Votre colis arrive demain entre 9h et 12h."},
            headers={"Authorization": f"Bearer {account.api_key}"},
        )
        say(f"\n[http]    POST /v1/messages -> {response.status} {await response.text()}")

    await _borrowed_sender(gateway, link, account, say)

    before = len(sender.received)
    shortcode = account.shortcode or (account.numbers or ("36173",))[0]
    await simulator.inject_mo("+33612345678", shortcode, "STOP")
    await _wait(lambda: len(sender.received) > before)
    mo = sender.received[-1]
    say(f"[carrier] a recipient replies: +33612345678 -> {shortcode}: 'STOP'")
    say(f"[sender]  MO passed on to '{account.system_id}': "
        f"{decode_text(mo.short_message, mo.data_coding)!r} from {mo.source_addr}")
    stopped = CAMPAIGN[0].to
    scopes = await gateway.suppressions.scopes(stopped)
    say(f"[ledger]  {stopped} opted out of {', '.join(repr(s) for s in scopes)} "
        "(keyword STOP; committed before the carrier's deliver_sm_resp)")
    await _wait(lambda: len(_to(simulator, stopped)) > 1)
    for confirmation in _to(simulator, stopped)[1:]:
        say(f"[carrier] confirmation to {stopped} from {confirmation.source_addr}: "
            f"{confirmation.text!r}")
    again = CAMPAIGN[0]
    again_coding = choose_encoding(again.text)
    answer = await link.request(SubmitSm(
        source_addr_ton=source_ton, source_addr=source, dest_addr_ton=1,
        dest_addr_npi=1, destination_addr=again.to.lstrip("+"), registered_delivery=1,
        data_coding=again_coding, short_message=split_text(again.text, again_coding)[0],
    ))
    if answer.command_status == gateway.config.policy.blocked_status:
        verdict = f"BLOCKED (0x{answer.command_status:08X}: opted out)"
    else:
        verdict = f"status 0x{answer.command_status:08X}"
    say(f"[sender]  the next promotional message to {again.to} -> {verdict}")
    await link.unbind()
    await _follow_link(gateway, simulator, account.api_key, say)
    return 0 if unknown == 0 else 1


async def _follow_link(
    gateway: Gateway, simulator: CarrierSimulator, api_key: str, say: Callable[[str], None]
) -> None:
    """The UK recipient follows the link in their footer, confirms, and says why."""
    uk = next(m for m in CAMPAIGN if m.to.startswith("+44"))
    received = _to(simulator, uk.to)
    found = (re.search(r"(?:https?://)?[\w.-]+/(\w{9}|[\w-]{12})\b", received[0].text)
             if received else None)
    if found is None:
        say("[link]    no opt-out link found in the UK message")
        return
    base = f"http://127.0.0.1:{gateway.http_port}"
    page_url = f"{base}/o/{found.group(1)}"
    async with aiohttp.ClientSession() as http:
        page = await (await http.get(page_url)).text()
        title = re.search(r"<h1[^>]*>(.*?)</h1>", page, re.S)
        say(f"\n[link]    {uk.to} opens {found.group(0)}: "
            f"{html.unescape(title.group(1)) if title else '?'!r} (a GET alone opts nobody out)")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page)
        form = {"csrf": csrf.group(1) if csrf else ""}
        done = await (await http.post(page_url, data=form)).text()
        reason_csrf = re.search(r'name="csrf" value="([^"]+)"', done)
        event = re.search(r'name="event" value="(\d+)"', done)
        if reason_csrf and event:
            await http.post(f"{page_url}/reason", data={
                "csrf": reason_csrf.group(1), "event": event.group(1), "reason": "too_many"})
        assert gateway.suppressions is not None
        scopes = await gateway.suppressions.scopes(uk.to)
        say(f"[link]    confirmed and answered 'too many messages': {uk.to} opted out of "
            f"{', '.join(repr(s) for s in scopes) or 'nothing?!'}")
        report = await (await http.get(
            f"{base}/v1/reports/optouts?group_by=reason",
            headers={"Authorization": f"Bearer {api_key}"},
        )).json()
        rows = ", ".join(f"{row['key'] or '(none)'}: {row['optouts']}" for row in report["rows"])
        say(f"[report]  GET /v1/reports/optouts?group_by=reason -> {rows}")


async def _borrowed_sender(gateway: Gateway, link: SmppLink, account: Account,
                           say: Callable[[str], None]) -> None:
    """The sender tries another account's sender id (when the config has one): refused."""
    other = next((a for a in gateway.config.accounts[1:] if a.senders or a.numbers), None)
    if other is None:
        return
    borrowed = (other.senders or other.numbers)[0]
    if borrowed in account.senders or borrowed in account.numbers:
        return  # shared: theirs alike
    alphanumeric = any(char.isalpha() for char in borrowed)
    answer = await link.request(SubmitSm(
        source_addr_ton=5 if alphanumeric else 1, source_addr=borrowed.lstrip("+"),
        dest_addr_ton=1, dest_addr_npi=1, destination_addr=CAMPAIGN[1].to.lstrip("+"),
        data_coding=0, short_message=CAMPAIGN[1].text.encode("ascii"),
    ))
    status = answer.command_status
    verdict = "accepted?!" if status == 0 else f"refused 0x{status:08X}" + (
        " ESME_RINVSRCADR" if status == CommandStatus.ESME_RINVSRCADR else "")
    say(f"[sender]  '{account.system_id}' tries to send as {borrowed!r} ('{other.system_id}' "
        f"lists it) -> {verdict}")


def _demo_source(account: Account) -> tuple[str, int]:
    """(source_addr, TON) the tour sends from: the account's first sender id (it may
    send from nothing else when it lists some), else its name as an alphanumeric id."""
    if not account.senders:
        return account.system_id.upper()[:11], 5
    first = account.senders[0]
    if any(char.isalpha() for char in first):
        return first, 5
    return (first[1:], 1) if first.startswith("+") else (first, 0)


def _to(simulator: CarrierSimulator, e164: str) -> list[ReceivedMessage]:
    return [m for m in simulator.messages() if m.destination_addr == e164.lstrip("+")]


async def _wait(condition: Callable[[], bool], timeout: float = _TIMEOUT) -> None:
    """Poll ``condition`` until it holds (bounded; the demo must never hang)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition() and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.02)
