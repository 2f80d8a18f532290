"""The suppression ledger: the system of record for opt-outs and opt-ins.

Every opt-out and opt-in is an appended **event** (number, scope, source,
campaign, keyword, reason, the number the MO went to, time); the **current
state** -- which (scope, number) pairs are suppressed -- is derived from them in
the same transaction, so the two never disagree. Scope is an account's
system_id, or ``"*"`` for operator-wide; the scopes are independent rows (being
suppressed under ``"*"`` does not create an ``"acme"`` row: whoever asks checks
both, see ``suppressed_scopes``). The ledger also keeps the opt-out link
tokens, and the webhook outbox: one row per (state-changing event, account to
notify), written in the same transaction as the event it announces, claimed
and closed by ``gateway.suppression.webhooks.WebhookWorker``.

``Ledger`` is the interface; ``SqliteLedger`` (gateway.ledger.sqlite) fills it
today and a PostgreSQL ledger will later (the ``storage.ledger`` key already
accepts its URL). Its methods are synchronous and may block on disk: the
gateway calls them through ``AsyncLedger``, which runs every call in order on
one worker thread so the event loop never waits for an fsync.

Numbers are stored as given (E.164 after ``rules.normalize``, or a shortcode-like
id); normalising is the caller's job.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import string
from collections.abc import (
    Callable,
    Iterable,
    Iterator,
    Sequence,
)
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, NamedTuple, Protocol, get_args

from gateway.ledger.held import FinalStatus, HeldInfo, HeldRow, NewHeld

__all__ = [
    "DEFAULT_FILE",
    "ERASED_PREFIX",
    "ERASED_TEXT",
    "IMPORT_CHUNK",
    "ErasureResult",
    "EventKind",
    "HistoryRow",
    "ImportResult",
    "Ledger",
    "LedgerError",
    "OptEvent",
    "OutboxRow",
    "Progress",
    "ReportGroup",
    "ReportRow",
    "Review",
    "ReviewDecision",
    "ReviewStatus",
    "ReviewSummary",
    "Schema",
    "Source",
    "SuppressionRow",
    "TokenInfo",
    "api_key_id",
    "counted",
    "counted_if_any",
    "webhook_payload",
]

EventKind = Literal["optout", "optin"]
#: "phrase": an opt-out written in words (rules.phrases); "review": a reply on the review
#: list that a person decided was one.
Source = Literal["keyword", "link", "api", "import", "cli", "phrase", "review"]
ReportGroup = Literal["campaign", "source", "reason", "day"]
REPORT_GROUPS: tuple[str, ...] = get_args(ReportGroup)
#: (key, opt-outs, opt-ins) of one report row.
ReportRow = tuple[str | None, int, int]
#: The reasons the landing page offers; "other" may carry free text as "other: ...".
REASONS = ("never_subscribed", "too_many", "not_relevant", "other")
_EVENT_KINDS = frozenset(get_args(EventKind))
_SOURCES = frozenset(get_args(Source))

#: How an erased number is stored: this prefix and the hex HMAC-SHA256 of the number
#: (gateway.suppression.erasure): never a phone number, so never mistaken for one.
ERASED_PREFIX = "h:"
#: What stays of a reply on the review list once its number is erased (the text column
#: is NOT NULL; the recipient's own words go, as an event's MO text does).
ERASED_TEXT = "(erased)"

#: The SQLite file under ``server.data_dir`` when ``storage.ledger`` is empty.
DEFAULT_FILE = "ledger.sqlite3"


class LedgerError(Exception):
    """The ledger cannot be opened or used (message says what and why)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class OptEvent:
    """One opt-out or opt-in, as recorded.

    Keyword-only on purpose: ten fields, several of them optional strings, are
    too easy to pass in the wrong order. ``at`` is passed in by the caller (the
    ledger uses the time of recording when it is None); ``id`` and ``changed``
    are filled by the ledger on the events ``Ledger.record`` returns.
    """

    number: str
    scope: str
    event: EventKind
    source: Source
    campaign: str | None = None
    keyword: str | None = None
    reason: str | None = None
    number_called: str | None = None
    #: Evidence (schema step 4): the MO's text as received (keyword opt-outs), the opt-out
    #: page's User-Agent (link), and for API changes the key that made them (its account
    #: and fingerprint, never the secret: ``api_key_id``) and the client's address; for a
    #: re-consent through the API, how the recipient consented again (``web_form``, ...).
    mo_text: str | None = None
    user_agent: str | None = None
    api_key: str | None = None
    client_address: str | None = None
    consent_source: str | None = None
    at: datetime | None = None
    id: int | None = None
    #: True if this event changed the suppression state (an opt-out of a number that was
    #: not suppressed in that scope, an opt-in of one that was); False for a repeat.
    changed: bool = False
    #: The accounts whose webhook announces this event, if it changes the state (a repeat
    #: announces nothing). None: the default, ``(scope,)`` for an account scope and nobody
    #: for ``"*"`` (the ledger does not know the accounts: ``Suppressions`` fills it in).
    notify: tuple[str, ...] | None = None
    #: Other stored forms of the number whose state this event changes too: its erasure
    #: hash (``h:...``), so that a re-consent also lifts an opt-out kept since an erasure.
    #: Not stored.
    aliases: tuple[str, ...] = ()

    def notify_accounts(self) -> tuple[str, ...]:
        """``notify`` with its default applied."""
        if self.notify is not None:
            return self.notify
        return () if self.scope == "*" else (self.scope,)

    def __post_init__(self) -> None:
        if not self.number:
            raise ValueError("OptEvent.number is empty")
        if not self.scope:
            raise ValueError("OptEvent.scope is empty (an account's system_id, or '*')")
        if self.event not in _EVENT_KINDS:
            raise ValueError(f"OptEvent.event must be one of {sorted(_EVENT_KINDS)}, "
                             f"got {self.event!r}")
        check_source(self.source)
        if self.at is not None and self.at.utcoffset() is None:
            raise ValueError("OptEvent.at must be timezone-aware (UTC)")



# --- the review list -----------------------------------------------------------------------

ReviewStatus = Literal["pending", "opted_out", "dismissed"]
REVIEW_STATUSES: tuple[str, ...] = get_args(ReviewStatus)
#: What a person decides about a reply on the review list.
ReviewDecision = Literal["optout", "dismiss"]
REVIEW_DECISIONS: tuple[str, ...] = get_args(ReviewDecision)


@dataclass(frozen=True, slots=True, kw_only=True)
class Review:
    """A reply that looked like a revocation without being a clear one, for a person to
    decide before ``deadline`` (10 business days after ``received_at``: the FCC's)."""

    scope: str  # the account it was sent to ("*": the operator's number)
    number: str  # who sent it (E.164)
    text: str  # the MO text as received
    received_at: datetime
    deadline: datetime
    #: When the alert starts: 2 business days before the deadline.
    remind_at: datetime
    number_called: str | None = None
    #: What sent it to review: "phrase:<lang> <pattern>".
    matched: str | None = None
    status: ReviewStatus = "pending"
    decided_by: str | None = None
    decided_at: datetime | None = None
    id: int | None = None

    def as_dict(self) -> dict[str, object]:
        def when(at: datetime | None) -> str | None:
            return None if at is None else at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

        return {"id": self.id, "account": self.scope, "number": self.number,
                "number_called": self.number_called, "text": self.text,
                "matched": self.matched, "received_at": when(self.received_at),
                "deadline": when(self.deadline), "status": self.status,
                "decided_by": self.decided_by, "decided_at": when(self.decided_at)}


class ReviewSummary(NamedTuple):
    """The pending part of the review list, for the metrics and the alert."""

    pending: int
    earliest_deadline: datetime | None
    #: Pending reviews past their ``remind_at`` (less than 2 business days left).
    due_soon: int


# --- opt-out link tokens -----------------------------------------------------------------

#: The characters of new tokens: base62, the same octets in GSM 03.38, ASCII and Latin-1,
#: so a link survives a carrier that reads data_coding 0 as any of them ("_" is 0x11 in
#: GSM 03.38 and 0x5F in ASCII; "-" is safe but "_" is not, so neither is used).
TOKEN_ALPHABET = string.digits + string.ascii_uppercase + string.ascii_lowercase
#: Characters of a new token: 62**9 is about 2**53.6 (53 random bits; >= 48 wanted).
TOKEN_LENGTH = 9
#: Every token a link may carry: new ones (9 base62 characters), and the 12 base64url
#: characters (72 bits) of the links sent before them, which keep resolving.
TOKEN_RE = re.compile(r"[A-Za-z0-9]{9}|[A-Za-z0-9_-]{12}")
_TOKEN_SPACE = len(TOKEN_ALPHABET) ** TOKEN_LENGTH


def counted(n: int, one: str, many: str) -> str:
    """``n`` (with thousands separators) and the noun as English says it: "1 event",
    "0 events", "1,200 events" -- how the ledger's summaries name what they counted."""
    return f"{n:,} {one if n == 1 else many}"


def counted_if_any(*counts: tuple[int, str, str]) -> str:
    """``counted`` for each ``(n, one, many)`` that is not zero, each after ", ": how the
    summaries name tables that only some ledgers hold rows in ("" when none does)."""
    return "".join(f", {counted(n, one, many)}" for n, one, many in counts if n)


def new_token() -> str:
    """A fresh opt-out link token: TOKEN_LENGTH base62 characters from ``secrets``."""
    value = secrets.randbelow(_TOKEN_SPACE)
    digits = []
    for _ in range(TOKEN_LENGTH):
        value, digit = divmod(value, 62)
        digits.append(TOKEN_ALPHABET[digit])
    return "".join(digits)


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What a bulk import did: ``added`` newly suppressed, ``already`` suppressed before
    (or repeated in the input); ``total`` = added + already = numbers read."""

    added: int = 0
    already: int = 0
    total: int = 0

    def __add__(self, other: ImportResult) -> ImportResult:
        return ImportResult(self.added + other.added, self.already + other.already,
                            self.total + other.total)


#: Called after each committed import chunk with the running totals (for progress bars).
Progress = Callable[[ImportResult], None]


class TokenInfo(NamedTuple):
    """What an opt-out link token stands for."""

    account: str
    number: str
    campaign: str | None


class OutboxRow(NamedTuple):
    """One claimed webhook delivery: ``payload`` is the exact JSON body to POST (and
    sign); ``attempts`` counts this one; ``created`` is when the event was recorded."""

    id: int
    event_id: int
    account: str
    payload: bytes
    created: datetime
    attempts: int


class SuppressionRow(NamedTuple):
    """One row of the current state, as exported."""

    number: str
    scope: str
    since: datetime
    source: str


def webhook_payload(event: OptEvent, account: str, at: datetime) -> bytes:
    """The SPEC webhook body for ``account`` (compact JSON, UTF-8): what is signed."""
    body = {
        "timestamp": at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "unsubscribed_number": event.number,
        "source": event.source,
        "event": event.event,
        "account": account,
        "campaign": event.campaign,
        "keyword": event.keyword,
        "reason": event.reason,
        "number_called": event.number_called,
    }
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def check_source(source: str) -> None:
    """Refuse a source outside ``Source`` (they feed metrics and reports)."""
    if source not in _SOURCES:
        raise ValueError(f"source must be one of {sorted(_SOURCES)}, got {source!r}")


class HistoryRow(NamedTuple):
    """One line of a number's history: an event, or an erasure (``event`` "erased")."""

    at: datetime
    scope: str
    event: str
    source: str
    changed: bool
    #: "clear" when the row holds the number as given, "erased" when only its hash.
    stored: str
    keyword: str | None = None
    mo_text: str | None = None
    number_called: str | None = None
    campaign: str | None = None
    reason: str | None = None
    user_agent: str | None = None
    api_key: str | None = None
    client_address: str | None = None
    consent_source: str | None = None


@dataclass(frozen=True, slots=True)
class ErasureResult:
    """What one erasure replaced by the hash, and the scopes whose suppression it keeps
    (now held under the hash: the cache must move them too)."""

    events: int = 0
    suppressions: int = 0
    tokens: int = 0
    webhooks: int = 0
    scopes: tuple[str, ...] = ()
    #: When the number was erased before (already hashed everywhere): the first erasure.
    erased_before: datetime | None = None
    #: Replies on the review list (their text goes too).
    reviews: int = 0
    #: Held messages, whatever their status (those still held are dropped by a releaser,
    #: with their failure receipts: gateway/sendtime/held.py).
    held: int = 0

    @property
    def found(self) -> bool:
        """Whether the ledger held anything of the number (clear or erased)."""
        return bool(self.events or self.suppressions or self.tokens or self.webhooks
                    or self.reviews or self.held or self.erased_before)


def api_key_id(account: str, api_key: str) -> str:
    """How an API key is named in the evidence: its account and the first 8 hex digits of
    the key's SHA-256 -- tells a rotated key from its successor, reveals nothing usable."""
    return f"{account}:{hashlib.sha256(api_key.encode()).hexdigest()[:8]}"


@dataclass(frozen=True, slots=True)
class Schema:
    """A ledger's schema as found (and migrated) at opening."""

    version: int
    #: The oldest schema version a stopgate must know to use it.
    compatible_from: int
    #: The steps this opening applied (empty: it was up to date).
    applied: tuple[int, ...]


class Ledger(Protocol):
    """The system of record. Synchronous; use from one thread at a time (or via AsyncLedger)."""

    #: The schema as found, and migrated, when this ledger was opened.
    schema: Schema

    def record(self, events: Sequence[OptEvent]) -> list[OptEvent]:
        """Append the events and apply them to the current state, in order, in one
        transaction, durable on return. Returns every event with ``id``, ``at`` and
        ``changed`` filled in; a repeat (opt-out of a suppressed pair, opt-in of one that
        is not) is kept as history with ``changed=False`` and leaves the state alone."""
        ...

    def is_suppressed(self, scope: str, number: str) -> bool:
        """Whether (scope, number) is suppressed -- that exact scope, ``"*"`` not implied."""
        ...

    def suppressed_scopes(self, number: str) -> list[str]:
        """Every scope the number is suppressed in (``"*"`` included), sorted."""
        ...

    def suppressions_of(self, number: str) -> list[SuppressionRow]:
        """The current state rows of one number (every scope, ``"*"`` included), by scope:
        since when and by which source it is suppressed there."""
        ...

    def iter_suppressed(self, batch: int = 10_000) -> Iterator[list[tuple[str, str]]]:
        """The whole current state as (scope, number) batches, from one consistent
        snapshot (writes made meanwhile are not seen): for rebuilding the cache."""
        ...

    def count_suppressed(self, scope: str | None = None) -> int:
        """Suppressed (scope, number) pairs in ``scope``, or in every scope if None."""
        ...

    def import_numbers(self, scope: str, numbers: Iterable[str], *, source: Source = "import",
                       at: datetime | None = None,
                       progress: Progress | None = None) -> ImportResult:
        """Opt numbers out in bulk, idempotently: one event per newly suppressed number,
        nothing written for one already suppressed. Commits in chunks (so other writers
        get a turn); an interrupted import leaves whole chunks done, and running it again
        completes it."""
        ...

    def export(self, scope: str | None = None) -> Iterator[SuppressionRow]:
        """The current state as (number, scope, since, source), one consistent snapshot,
        ordered by scope then number; only ``scope`` if given."""
        ...

    def token_for(self, account: str, number: str, campaign: str | None = None) -> str:
        """The opt-out link token of (account, number): created on first use (random,
        72 bits, 12 base64url characters), the same one ever after. ``campaign`` is kept
        from the call that created it."""
        ...

    def tokens_for(self, account: str, numbers: Iterable[str],
                   campaign: str | None = None) -> dict[str, str]:
        """``token_for`` for many numbers at once: one transaction (one fsync) for all the
        new ones -- for the footers of one loop tick's messages."""
        ...

    def resolve_token(self, token: str) -> TokenInfo | None:
        """What a token stands for; None for an unknown or malformed one."""
        ...

    def claim_webhooks(self, worker_id: str, limit: int, lease_seconds: float,
                       now: datetime) -> list[OutboxRow]:
        """Atomically claim up to ``limit`` due deliveries (next_attempt reached, not
        claimed or lease expired, no earlier delivery for the same (account, number)
        still open), oldest first, for ``lease_seconds``: another instance claiming
        meanwhile does not get them. Counts the attempt."""
        ...

    def webhook_done(self, outbox_id: int, status: int, now: datetime) -> None:
        """The delivery got a 2xx: closed for good."""
        ...

    def webhook_retry(self, outbox_id: int, worker_id: str, status: int | None,
                      next_attempt: datetime) -> None:
        """The attempt failed (``status`` None: no HTTP answer): unclaimed, due again at
        ``next_attempt``. Ignored unless ``worker_id`` still holds the claim."""
        ...

    def webhook_give_up(self, outbox_id: int, worker_id: str, status: int | None,
                        now: datetime) -> None:
        """Stop trying (too old, or nowhere to send it). Ignored unless ``worker_id``
        still holds the claim."""
        ...

    def webhook_release(self, worker_id: str) -> int:
        """Let go of every open claim of ``worker_id`` (a worker stopping): due at once."""
        ...

    def webhook_backlog(self) -> int:
        """Deliveries neither done nor given up."""
        ...

    # --- held messages (gateway.ledger.held) ---------------------------------------------

    def hold(self, held: NewHeld) -> int:
        """Keep one held message, durable on return; its row id."""
        ...

    def hold_many(self, rows: Sequence[NewHeld]) -> list[int]:
        """Keep several held messages in one transaction; their row ids."""
        ...

    def claim_held(self, worker_id: str, limit: int, lease_seconds: float,
                   now: datetime) -> list[HeldRow]:
        """Claim the held rows due, expired, or cancelled with a receipt to send."""
        ...

    def held_finish(self, held_id: int, worker_id: str, status: FinalStatus,
                    now: datetime, reason: str | None = None) -> bool:
        """A claimed held row ends released, dropped or expired."""
        ...

    def held_again(self, held_id: int, worker_id: str, due_at: datetime,
                   reason: str | None = None) -> bool:
        """A claimed held row stays held, due at ``due_at``."""
        ...

    def held_notified(self, held_id: int, worker_id: str, now: datetime) -> bool:
        """The receipt of a claimed cancelled row was sent."""
        ...

    def cancel_held(self, account: str, campaign: str, now: datetime,
                    reason: str = "cancelled") -> int:
        """Cancel an account's held messages of one campaign; how many."""
        ...

    def held_give_back(self, worker_id: str) -> int:
        """Let go of every open held claim of ``worker_id``."""
        ...

    def list_held(self, account: str, *, after: int = 0, limit: int = 100,
                  campaign: str | None = None) -> list[HeldInfo]:
        """An account's messages still held, by id, after ``after``."""
        ...

    def count_held(self) -> dict[str, int]:
        """Messages still held, per account."""
        ...

    def held_counts(self, account: str, since: datetime, until: datetime) -> dict[str, int]:
        """An account's messages held in [since, until), by status."""
        ...

    def optout_in_force(self, scope: str, number: str) -> OptEvent | None:
        """The opt-out that put (scope, number) in its current state: the latest
        state-changing event of the pair, if the pair is suppressed now (else None).
        Returned with ``id``, ``at`` and ``changed`` (True) filled in, ``notify`` None."""
        ...

    def set_reason(self, event_id: int, reason: str) -> bool:
        """Fill in the ``reason`` of a recorded opt-out event (the landing page asks after
        the opt-out). The one column written after the fact; True if the event exists and
        is an opt-out.

        Where the reason counts: reports count state-changing events only, so when the
        event is a repeat (the number was opted out already, by a STOP say), the reason
        also goes on the opt-out in force for its (scope, number) -- the latest
        state-changing event, if it is an opt-out recorded before this one and still in
        force -- unless that one has a reason already (the first reason given stands; the
        later one stays on the repeat, in the history). Webhook deliveries of the event
        that gets the reason that are still open (neither delivered nor given up) carry
        it from their next attempt on."""
        ...

    def report(self, scope: str | None, since: datetime, until: datetime,
               group_by: ReportGroup) -> list[ReportRow]:
        """State-changing events of ``scope`` (every scope if None) with ``since <= at <
        until``, counted by ``group_by``: (key, opt-outs, opt-ins), ordered by key (None
        first). Keys: the campaign, the source, the reason (free "other: ..." texts
        count as "other") or the UTC day as YYYY-MM-DD; None where the event has none."""
        ...

    def add_review(self, review: Review) -> tuple[Review, bool]:
        """Put a reply on the review list, durable on return; (the row, True if new). The
        same text from the same number to the same scope still pending is the one row
        (a carrier redelivering the MO): (that row, False)."""
        ...

    def reviews(self, scope: str | None = None, status: ReviewStatus | None = None,
                limit: int = 1000) -> list[Review]:
        """The review list, oldest first: of ``scope`` (every scope if None), of
        ``status`` (every status if None), at most ``limit`` rows."""
        ...

    def review(self, review_id: int) -> Review | None:
        """One row of the review list (None: no such id)."""
        ...

    def decide_review(self, review_id: int, decision: ReviewDecision, decided_by: str,
                      at: datetime, optout: Callable[[Review], OptEvent] | None = None
                      ) -> tuple[Review | None, OptEvent | None]:
        """Decide a pending review, in one transaction: its status (opted_out or
        dismissed), who and when; for "optout", the event ``optout`` makes of the row is
        recorded in the same transaction (returned recorded). (None, None) if there is no
        such review; the row as it is and no event if it was decided already (the first
        decision stands)."""
        ...

    def review_summary(self, now: datetime) -> ReviewSummary:
        """How many reviews are pending, the earliest deadline, and how many are past
        their reminder at ``now``."""
    def history(self, numbers: Sequence[str], scopes: Sequence[str] | None
                ) -> list[HistoryRow]:
        """Every event of any of ``numbers`` (a number and its erasure hash) in ``scopes``
        (None: every scope), and the erasures of those numbers, in recording order."""
        ...

    def erase(self, number: str, hashed: str, scope: str | None, *, source: Source,
              api_key: str | None = None, client_address: str | None = None,
              at: datetime | None = None) -> ErasureResult:
        """Replace ``number`` by ``hashed`` in scope ``scope`` (None: every scope) in one
        transaction: events (the recipient's free text -- MO text, user agent, a reason's
        "other: ..." words -- dropped), suppression state (kept in force under the hash),
        link tokens and webhook outbox rows (payloads rewritten), replies on the review
        list (their text replaced by ``ERASED_TEXT``) and held messages (their stored
        message without its destination; those still held are due at once, marked
        "erased", for a releaser to drop them with their failure receipts); and record
        the erasure. Nothing is recorded if the ledger holds nothing of the number there."""
        ...

    def meta_value(self, key: str, default: str) -> str:
        """The small fact stored under ``key``; ``default`` is stored first if none is (the
        first caller wins, so instances sharing a ledger agree on it)."""
        ...

    def meta_get(self, key: str) -> str | None:
        """The small fact stored under ``key``, or None; stores nothing."""
        ...

    def write_probe(self) -> None:
        """Commit one small durable write; raise what the ledger raised if it cannot."""
        ...

    def health(self) -> bool:
        """True if the ledger can commit a write right now."""
        ...

    def close(self) -> None:
        """Release the files; further calls fail (``health`` says False)."""
        ...


#: Numbers per write transaction of an import, and per call to the ledger thread in
#: ``AsyncLedger.import_numbers``: a STOP waits at most one chunk (a fraction of a second)
#: behind an import.
IMPORT_CHUNK = 50_000
