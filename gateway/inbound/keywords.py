"""Keyword replies from recipients (STOP / START / HELP) and campaign attribution.

::

    carrier deliver_sm (MO) -> DlrRouter -> KeywordHandler (its mo_hook)
        long MO: parts held until whole (the parts themselves pass on as they come)
        text -> rules.match_keyword, per owning account (its lists and match mode)
          STOP   -> Suppressions.optout for each account that may send from the
                    number whose lists match: its owners (numbers, numeric senders),
                    or for a number nobody lists every account without senders
                    (STOPALL / STOP ALL alike); any opt-out keyword to
                    optout.operator_number, owned or not: "*" alone
                    ledger commit -> Redis, all before the hook returns, so before
                    the carrier's deliver_sm_resp
                 -> one confirmation MT, only if the opt-out changed something
          START  -> Suppressions.optin for the owners the number had opted out of,
                    and "*" if the opt-out in force there was a keyword sent to this
                    same number (the operator's; or an account's, where a STOPALL
                    made "*" before STOPALL was bound to the number called)
                 -> one confirmation MT (optin_confirm_text), only if it changed something
          HELP   -> help_reply
        no keyword, ``[optout] phrases`` on -> rules.phrases.match_phrase (every pack's
                    language; the owners' display names read like "please": "STOP Acme")
          optout -> exactly as STOP (same scopes, ledger before the answer, webhook,
                    confirmation), source "phrase", keyword "phrase:<lang>"
          review -> the review list (gateway.inbound.reviews), one row per scope a STOP
                    would bind, in the ledger before the answer; no reply (nothing
                    was decided)
        -> None: the router forwards the MO to the owners as usual

The router answers the carrier only after the hook returns: a crash before the
ledger commit leaves the MO unanswered and the carrier sends it again; a
redelivered STOP (or START) records nothing new (``OptEvent.changed`` is False), so
it gets no second confirmation. Confirmations and help replies go through the MT
pipeline as transactional messages (never blocked by the opt-out they confirm),
from the number the MO was sent to, in a task started when the hook returns:
they run alongside the MO's forwarding and the carrier's answer, and never hold
either up. The hook raises (the router then asks the carrier to retry) only when
the ledger could not record an opt-out, an opt-in or a reply sent to review.

Which lists (rules.packs.keywords ships the packs), for the sender's country (its
number's region) and each owner of the number called, each judging with its own
lists and ``keyword_match``:

- opt-out: every pack's opt-out words, always, plus the account's
  ``optout_keywords`` (else the ``[[keywords]]`` entry of the country, else ``"*"``);
- opt-in: the account's ``optin_keywords`` alone where set, else the
  ``[[keywords]]`` entry's words plus the opt-in words of the country's pack(s);
- help: the account's ``help_keywords`` alone where set, else the ``[[keywords]]``
  entry's words plus every pack's help words.

Which text: the account's own, else the ``[[keywords]]`` entry of the recipient's
country, else the ``"*"`` entry's, else ``optout.*``, else the pack's text in the
language of the recipient's country (the account's language in a country of several;
English where no pack speaks). ``{brand}`` is the account's ``display_name``,
``{contact}`` its ``help_contact``; HELP gets the pack's text without a contact when
the account has none.

Long MOs: a keyword in a long MO is rare but possible (first_word mode, a
phone that splits a signature). The parts are kept (``Reassembler``, keyed by
source and destination, bounded by ``smpp.reassembly_*``: past them the oldest is
dropped and counted, its parts already passed on) and the reply is judged when the last
one arrives; every part still passes on to the owners as it comes, since the
senders reassemble themselves. Only the last part's answer waits for the
ledger: a crash after the earlier parts were answered loses the keyword (the
carrier resends the last part alone). ``mo_total`` counts whole messages.

Campaign attribution: ``CampaignMemory.note`` is the pipeline's
``on_forwarded`` callback; for every forwarded promotional MT it remembers
(account, recipient) -> campaign in Redis for 30 days (``cp:{account}:{digits}``;
an empty value = a promotional message without a campaign). The notes of
20 ms go in one Redis command (``SetMany``), in the background, a bounded
number at a time; a failed write only costs attribution. A STOP records the campaign of the last
promotional message that owner sent to the number (the ``"*"`` scope: the first
owner's that has one).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

from redis.asyncio import Redis

from gateway.config.model import Account, Config, KeywordSet
from gateway.inbound.reviews import ReviewList
from gateway.inbound.set_many import SetMany
from gateway.ledger.model import OptEvent, Source
from gateway.lifecycle import TaskSet
from gateway.message import Message
from gateway.observability.logs import fields
from gateway.observability.metrics import Metrics
from gateway.storage.redis_client import mget
from gateway.suppression.store import OPERATOR_SCOPE, Suppressions
from rules.keywords import KeywordLists, KeywordMatch, match_keyword
from rules.numbers import normalize, number_key
from rules.packs.keywords import (
    helps,
    merge_words,
    optins_for,
    optouts,
    render_reply,
    replies_for,
)
from rules.phrases import match_phrase
from smpp.constants import ESM_UDHI
from smpp.pdu import DeliverSm
from smpp.reassembly import Reassembler, ReassemblyError
from smpp.segments import ConcatError, concat_info, parse_udh
from smpp.text import decode_text, is_text

if TYPE_CHECKING:
    from gateway.mt.pipeline import MtPipeline

__all__ = ["CAMPAIGN_TTL", "CampaignMemory", "KeywordHandler", "campaign_key"]

log = logging.getLogger("stopgate.mo")

CAMPAIGN_TTL = 30 * 24 * 3600  # seconds
#: Attribution writes in flight at once; beyond that a tick's batch is dropped (counted).
_MAX_WRITES = 8
_PENDING_MAX = 50_000
_WRITE_TIMEOUT = 1.0
#: Notes gather this long per Redis write: a STOP follows its campaign by seconds at the
#: very least, and each write costs ~50 µs of redis-py whatever it carries.
_WRITE_WINDOW = 0.02
_READ_TIMEOUT = 0.5
MoKind = Literal["optout", "optin", "help", "review", "other"]


def campaign_key(account: str, e164: str) -> bytes:
    return f"cp:{account}:{e164.removeprefix('+')}".encode()


#: The most of an MO's text kept as evidence (a long MO is reassembled: 10 parts of 153).
MAX_EVIDENCE_TEXT = 1600


def _evidence_text(text: str) -> str:
    """The MO's text as received, for the history: whole, up to MAX_EVIDENCE_TEXT."""
    return text[:MAX_EVIDENCE_TEXT]


class CampaignMemory:
    """The campaign of the last promotional MT per (account, recipient), in Redis."""

    def __init__(self, redis: Redis, ttl: int = CAMPAIGN_TTL) -> None:
        self.redis = redis
        self.ttl = ttl
        self._set_many = SetMany(redis)
        self.dropped = 0
        self._pending: dict[bytes, bytes] = {}
        self._scheduled = False
        self._running = TaskSet()

    def note(self, message: Message) -> None:
        """A message went to the carrier: remember its campaign if it was promotional."""
        if message.klass != "promotional" or not message.e164:
            return
        if len(self._pending) >= _PENDING_MAX:
            self.dropped += 1
            return
        key = campaign_key(message.account, message.e164)
        self._pending[key] = (message.campaign or "").encode()
        if not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_later(_WRITE_WINDOW, self._flush)

    def _flush(self) -> None:
        self._scheduled = False
        batch, self._pending = self._pending, {}
        if not batch:
            return
        if len(self._running) >= _MAX_WRITES:
            self.dropped += len(batch)
            return
        self._running.spawn(self._write(batch))

    async def _write(self, batch: dict[bytes, bytes]) -> None:
        try:
            async with asyncio.timeout(_WRITE_TIMEOUT):
                await self._set_many(list(batch.items()), self.ttl * 1000)
        except Exception as error:  # attribution only: never the MT path's problem
            self.dropped += len(batch)
            log.debug("campaign attribution not written", extra=fields(
                "campaign_memory_failed", messages=len(batch), error=str(error)))

    async def last(self, accounts: Sequence[str], e164: str) -> list[str | None]:
        """The remembered campaign for each account (None: none, unknown or Redis down)."""
        if not accounts:
            return []
        try:
            async with asyncio.timeout(_READ_TIMEOUT):
                values = await mget(self.redis, [campaign_key(a, e164) for a in accounts])
        except Exception as error:
            log.warning("campaign attribution unavailable", extra=fields(
                "campaign_lookup_failed", number=e164, error=str(error)))
            return [None] * len(accounts)
        found: list[str | None] = []
        for value in values:
            text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
            found.append(text or None)
        return found

    async def forget(self, accounts: Sequence[str], e164: str) -> None:
        """Drop the notes of ``e164`` for ``accounts`` (an erasure): pending and in Redis."""
        keys = [campaign_key(account, e164) for account in accounts]
        for key in keys:
            self._pending.pop(key, None)
        for key in keys:  # one at a time: on a Cluster they live in different slots
            await self.redis.delete(key)

    async def drain(self, timeout: float) -> None:
        self._flush()
        await self._running.drain(timeout)


class KeywordHandler:
    """The DLR router's ``mo_hook``: see the module docstring."""

    def __init__(
        self,
        config: Config,
        suppressions: Suppressions,
        pipeline: MtPipeline,
        campaigns: CampaignMemory | None,
        metrics: Metrics,
        *,
        reassembly_timeout: float | None = None,
        reviews: ReviewList | None = None,
    ) -> None:
        self.config = config
        #: Where unclear replies go (None: nowhere, they pass on like any other).
        self.reviews = reviews
        self.phrases = config.optout.phrases
        self.suppressions = suppressions
        self.pipeline = pipeline
        self.campaigns = campaigns
        self.metrics = metrics
        self.accounts = {account.system_id: account for account in config.accounts}
        self._countries: dict[str, KeywordSet] = {}
        for entry in config.keywords:
            self._countries.setdefault(entry.country, entry)
        #: (account or "", country) -> its lists: built once, then reused for every MO.
        self._lists: dict[tuple[str, str], KeywordLists] = {}
        smpp = config.smpp
        # Only to judge the whole text: every part is forwarded to the account anyway.
        self._reassembler: Reassembler[None] = Reassembler(
            max_pending=smpp.reassembly_max_pending, max_bytes=smpp.reassembly_max_bytes,
            timeout=reassembly_timeout or smpp.reassembly_timeout)
        self._replies = TaskSet()
        operator = config.optout.operator_number
        self._operator_key = number_key(operator) if operator else ""
        self._unrestricted = tuple(a.system_id for a in config.accounts if not a.senders)

    # --- the hook ---------------------------------------------------------------------------

    async def __call__(self, pdu: DeliverSm, owners: list[str]) -> int | None:
        text = self._text(pdu)
        if text is None:
            return None  # a part of a long MO: judged when the last part is here
        kind = await self._handle(pdu, text, owners)
        self.metrics.mo_total.labels(kind).inc()
        return None

    def _text(self, pdu: DeliverSm) -> str | None:
        """The MO's whole text ("" for binary), or None while a long MO is incomplete."""
        if not is_text(pdu.data_coding):
            return ""
        try:
            info = concat_info(pdu.esm_class, pdu.short_message, pdu.tlvs)
            if info is None:
                body = pdu.short_message
                if pdu.esm_class & ESM_UDHI:
                    body = parse_udh(body)[1]
                return decode_text(body, pdu.data_coding)
            if info.total == 1:
                return decode_text(info.payload, pdu.data_coding)
            now = time.monotonic()
            for expired in self._reassembler.expire(now):
                self.metrics.reassembly_dropped.labels(expired.reason, "").inc()
            key = (pdu.source_addr, pdu.destination_addr)
            done = self._reassembler.add(key, info, now)
            for evicted in self._reassembler.expire(now):  # the oldest, past the caps
                self.metrics.reassembly_dropped.labels(evicted.reason, "").inc()
        except (ConcatError, ReassemblyError, ValueError):
            return ""  # malformed, or a part seen before: nothing to judge
        return None if done is None else decode_text(done.payload, pdu.data_coding)

    def _country(self, country: str) -> KeywordSet:
        """The [[keywords]] entry for numbers of ``country`` (else the "*" one)."""
        return self._countries.get(country) or self._countries["*"]

    def lists_for(self, account: Account | None, country: str) -> KeywordLists:
        """The keywords in force for a reply from a number of ``country`` to ``account``
        (None: the operator's number), packs included (see the module docstring)."""
        key = (account.system_id if account is not None else "", country)
        found = self._lists.get(key)
        if found is None:
            found = self._lists[key] = self._build_lists(account, country)
        return found

    def _build_lists(self, account: Account | None, country: str) -> KeywordLists:
        entry = self._country(country)
        own_optout = account.optout_keywords if account is not None else ()
        own_optin = account.optin_keywords if account is not None else ()
        own_help = account.help_keywords if account is not None else ()
        # The configured words first: an event records the keyword as configured.
        return KeywordLists(
            merge_words(own_optout or entry.optout, optouts()),
            own_optin or merge_words(entry.optin, optins_for(country)),
            own_help or merge_words(entry.help, helps()),
        )

    def reply_text(self, kind: Literal["confirm_text", "optin_confirm_text", "help_reply"],
                   account: Account | None, country: str) -> str:
        """The text of a reply of ``kind`` from ``account`` (None: the operator's number) to
        a number of ``country``, filled in (see the module docstring)."""
        contact = account.help_contact if account is not None else ""
        brand = account.display_name if account is not None else ""
        for source in (account, self._countries.get(country), self._countries["*"],
                       self.config.optout):
            text: str = getattr(source, kind) if source is not None else ""
            if text:
                return render_reply(text, brand=brand, contact=contact)
        replies = replies_for(country, account.language if account is not None else "")
        text = replies.help(bool(contact)) if kind == "help_reply" else getattr(replies, kind)
        return render_reply(text, brand=brand, contact=contact)

    async def _handle(self, pdu: DeliverSm, text: str, owners: list[str]) -> MoKind:
        operator = bool(self._operator_key) \
            and number_key(pdu.destination_addr) == self._operator_key
        # Who an opt-out (or opt-in) to this number binds: every account that may send
        # from it. Its owners when any account lists it, else every account without
        # ``senders`` (they may send from a number nobody lists). HELP is answered by an
        # owner only, and only owners get the MO itself.
        bound = owners or ([] if operator else list(self._unrestricted))
        if not text or not (bound or operator):
            return "other"
        first = self.accounts.get(bound[0]) if bound else None
        number = normalize(pdu.source_addr, pdu.source_addr_ton,
                           first.default_region if first is not None else "")
        if number is None:
            return "other"
        at_operator: KeywordMatch | None = None
        if operator:  # the operator's own lists (the country's), whole replies only
            at_operator = match_keyword(text, self.lists_for(None, number.region), "whole")
            if at_operator is not None and at_operator.kind == "optout":
                await self._optout(pdu, text, number.e164, owners,
                                   {OPERATOR_SCOPE: at_operator.keyword})
                return "optout"
        matches: dict[str, KeywordMatch] = {}
        for owner in bound:
            account = self.accounts.get(owner)
            mode = account.keyword_match if account is not None else "whole"
            found = match_keyword(text, self.lists_for(account, number.region), mode)
            if found is not None:
                matches[owner] = found
        optouts = {o: m for o, m in matches.items() if m.kind == "optout"}
        if optouts:  # STOPALL too: the accounts that may send from the number, not "*"
            await self._optout(pdu, text, number.e164, bound,
                               {o: m.keyword for o, m in optouts.items()})
            return "optout"
        optins = {o: m for o, m in matches.items() if m.kind == "optin"}
        wide = at_operator if at_operator is not None and at_operator.kind == "optin" \
            else next(iter(optins.values()), None)
        if wide is not None:
            await self._optin(pdu, text, number.e164, bound, optins, wide)
            return "optin"
        asking = [o for o, m in matches.items() if m.kind == "help" and o in owners]
        if asking:
            reply = self.reply_text("help_reply", self.accounts.get(asking[0]), number.region)
            self._reply(asking[0], pdu, number.e164, reply)
            return "help"
        if self.phrases and not matches and at_operator is None:
            return await self._phrase(pdu, text, number.e164, number.region, bound, operator)
        return "other"

    async def _phrase(self, pdu: DeliverSm, text: str, e164: str, region: str,
                      bound: list[str], operator: bool) -> MoKind:
        """An opt-out written in words: honoured like STOP where clear, else reviewed."""
        names = [a.display_name for a in (self.accounts.get(o) for o in bound)
                 if a is not None and a.display_name]
        found = match_phrase(text, names=names)
        if found is None:
            return "other"
        # The scopes a STOP to this number binds: "*" at the operator's number.
        scopes = [OPERATOR_SCOPE] if operator else bound
        if found.kind == "optout":
            await self._optout(pdu, text, e164, bound,
                               dict.fromkeys(scopes, f"phrase:{found.lang}"), source="phrase")
            return "optout"
        if self.reviews is None:
            return "other"
        for scope in scopes:
            await self.reviews.add(scope, e164, region, text, number_called=pdu.destination_addr,
                                   matched=f"phrase:{found.lang} {found.pattern}")
        return "review"

    async def _optout(self, pdu: DeliverSm, text: str, e164: str, owners: list[str],
                      matches: dict[str, str], source: Source = "keyword") -> None:
        """Opt out of each scope in ``matches`` (accounts, or "*" alone at the operator's
        number; scope -> the keyword to record), then confirm once if that changed
        anything."""
        remembered = await self.campaigns.last(owners, e164) if self.campaigns else []
        by_owner = dict(zip(owners, remembered, strict=True)) if remembered else {}
        events: list[OptEvent] = []
        for scope, keyword in matches.items():
            campaign = next((c for c in remembered if c), None) if scope == OPERATOR_SCOPE \
                else by_owner.get(scope)
            events.append(await self.suppressions.optout(
                scope, e164, source=source, keyword=keyword, campaign=campaign,
                number_called=pdu.destination_addr, mo_text=_evidence_text(text),
            ))
        self._confirm(pdu, e164, owners, events, "optout")

    async def _optin(self, pdu: DeliverSm, text: str, e164: str, owners: list[str],
                     matches: dict[str, KeywordMatch], wide: KeywordMatch) -> None:
        """Re-consent the owners in ``matches`` the number had opted out of, and "*" if a
        keyword to this same number put it there; then confirm once if anything changed."""
        suppressed = set(await self.suppressions.scopes(e164))
        events: list[OptEvent] = []
        for scope, found in matches.items():
            if scope in suppressed:  # only where the number had opted out
                events.append(await self.suppressions.optin(
                    scope, e164, source="keyword", keyword=found.keyword,
                    number_called=pdu.destination_addr, mo_text=_evidence_text(text)))
        if OPERATOR_SCOPE in suppressed and await self._lifts_operator_scope(pdu, e164):
            events.append(await self.suppressions.optin(
                OPERATOR_SCOPE, e164, source="keyword", keyword=wide.keyword,
                number_called=pdu.destination_addr, mo_text=_evidence_text(text)))
        self._confirm(pdu, e164, owners, events, "optin")

    async def _lifts_operator_scope(self, pdu: DeliverSm, e164: str) -> bool:
        """Whether the "*" opt-out in force was a keyword sent to the number this START
        went to (the operator's number; or, before STOPALL bound only the accounts on a
        number, an account's). An import, the API or the CLI made it: never by a reply."""
        found = await self.suppressions.optout_in_force(OPERATOR_SCOPE, e164)
        return (found is not None and found.source == "keyword"
                and found.number_called is not None
                and number_key(found.number_called) == number_key(pdu.destination_addr))

    def _confirm(self, pdu: DeliverSm, e164: str, owners: list[str], events: list[OptEvent],
                 kind: Literal["optout", "optin"]) -> None:
        """One confirmation MT, only if an event changed the state: a redelivered or
        repeated keyword gets none."""
        if not self.config.optout.confirm_reply or not any(e.changed for e in events):
            return
        sender = next((e.scope for e in events if e.changed and e.scope in self.accounts),
                      owners[0] if owners else OPERATOR_SCOPE)
        # The account's own text, else the [[keywords]] or operator text, else the pack's
        # in the recipient's language.
        text = self.reply_text("confirm_text" if kind == "optout" else "optin_confirm_text",
                               self.accounts.get(sender), _region(e164))
        self._reply(sender, pdu, e164, text)

    # --- replies ----------------------------------------------------------------------------

    def _reply(self, account: str, mo: DeliverSm, e164: str, text: str) -> None:
        """Send ``text`` back to the MO's sender from the number it wrote to, in a task."""
        if not text.strip():
            return
        message = Message.from_text(
            account, source_addr=mo.destination_addr, destination_addr=e164.removeprefix("+"),
            text=text, source_addr_ton=mo.dest_addr_ton, source_addr_npi=mo.dest_addr_npi,
            dest_addr_ton=1, dest_addr_npi=1, registered_delivery=0,
            received_at=time.monotonic(), via="smpp",
        )
        message.klass = "transactional"
        # stopgate's own reply: its class is ours, not the account's label (an opt-out
        # confirmation may well say "offers" and must not count as mislabelled).
        message.notes["reply"] = "keyword"
        self._replies.spawn(self._send(message))

    async def _send(self, message: Message) -> None:
        try:
            result = await self.pipeline.submit(message)
        except Exception:
            log.exception("keyword reply failed", extra=fields(
                "keyword_reply_failed", account=message.account, number=message.e164 or
                message.destination_addr, message_id=message.id))
            return
        if not result.ok:
            log.warning("keyword reply not sent", extra=fields(
                "keyword_reply_failed", account=message.account, number=message.e164 or
                message.destination_addr, status=f"0x{result.status:08X}",
                reason=result.reason))

    async def drain(self, timeout: float) -> None:
        """Wait (bounded) for the replies under way."""
        await self._replies.drain(timeout)


def _region(e164: str) -> str:
    number = normalize(e164, 1, "")
    return number.region if number is not None else ""
