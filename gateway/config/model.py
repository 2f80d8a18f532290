"""stopgate configuration: config.toml plus STOPGATE_* variables, as typed frozen sections.

Every key has a default except secrets and upstream addresses, and every mistake is
refused at start with its key path: :class:`ConfigError` lists all of them at once.
config.toml at the repository root documents every key.

Environment overrides (for containers) replace single keys before validation:

- ``STOPGATE_<SECTION>_<KEY>``: ``STOPGATE_SERVER_SMPP_LISTEN=0.0.0.0:2775``,
  ``STOPGATE_POLICY_FAIL_CLOSED=false``, ``STOPGATE_DLR_ID_MAP_TTL=48h``;
- ``STOPGATE_<ARRAY>_<INDEX>_<KEY>`` for arrays of tables, counting from 0:
  ``STOPGATE_ACCOUNTS_0_PASSWORD``, ``STOPGATE_UPSTREAMS_1_HOST``; the index one past
  the last entry appends a new entry;
- secrets also as ``..._<KEY>_FILE`` (``STOPGATE_ACCOUNTS_0_API_KEY_FILE=/run/secrets/k``);
  a variable for one form of a secret replaces the file's other form.

Values convert by the key's type: booleans true/false/1/0/yes/no/on/off, integers in
decimal or 0x hex, arrays as ``FR,+32,*`` or a TOML array ``["FR", "+32"]``, durations
as in the file. Every other ``STOPGATE_*`` variable is an error (a typo must not
silently do nothing), except ``STOPGATE_CONFIG`` (the default config path) and
``STOPGATE_TEST_*`` (the test suite's own settings).
"""

from __future__ import annotations

import copy
import os
import re
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from gateway.config.certificates import check_files
from gateway.config.env import annotate, apply_env
from gateway.config.schema import (
    SECRET,
    Check,
    ConfigError,
    Key,
    Problem,
    Seconds,
    Unique,
    build_parts,
    each,
)
from gateway.config.values import (
    ListenAddress,
    at_least,
    base_url,
    between,
    bind_modes,
    blocked_status,
    cidr,
    compliance_pack,
    hash_key,
    host_port,
    hostname,
    http_url,
    instance_name,
    keywords,
    language,
    ledger,
    not_empty,
    operator_number,
    positive,
    redis_url,
    refusal_status,
    region,
    region_or_default,
    route,
    sender_id,
    sender_number,
    shortcode,
    smpp_string,
    template,
    token,
)
from gateway.http.optout_text import LANGUAGE_OF_REGION
from rules.packs.keywords import PLACEHOLDERS as REPLY_PLACEHOLDERS
from rules.packs.keywords import optout_pack
from rules.senders import listed_key
from rules.sendtime.caps import FrequencyCap
from rules.sendtime.packs import SendTimeRules, rules_for
from rules.sendtime.quiet import QuietRule, closed_regions

__all__ = [
    "Account", "Compliance", "Config", "ConfigError", "Dlr", "Footer", "FrequencyCaps", "Http",
    "KeywordSet", "ListenAddress", "Log", "Optout", "Policy", "Problem", "QuietHours", "Rule",
    "Server", "Smpp", "Storage", "Upstream", "Webhook", "load_config", "parse_config",
]

MessageClass = Literal["promotional", "transactional"]
BindMode = Literal["transceiver", "transmitter", "receiver"]

HOUR = 3600.0

# --- sections ------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Server:
    """Where stopgate listens and keeps its files."""

    # ListenAddress is frozen; ruff cannot see that across modules.
    smpp_listen: ListenAddress = ListenAddress("0.0.0.0", 2775)  # noqa: RUF009
    http_listen: ListenAddress = ListenAddress("0.0.0.0", 8080)  # noqa: RUF009
    data_dir: Path = Path("./data")
    workers: Annotated[int, Check(at_least(1))] = 1
    #: This instance's name among those sharing one Redis (empty: derived from the host
    #: name and data_dir); each worker process is ``<instance_id>-<slot>``.
    instance_id: Annotated[str, Check(instance_name)] = ""
    #: A second SMPP listener that speaks TLS (1.2 or later), beside smpp_listen.
    smpp_tls_listen: ListenAddress | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    #: Senders may present a certificate this CA signed; it must name their system_id.
    tls_client_ca: Path | None = None

    def validate(self) -> Iterator[tuple[str, str]]:
        if self.smpp_tls_listen is not None and (self.tls_cert is None or self.tls_key is None):
            yield "tls_cert" if self.tls_cert is None else "tls_key", (
                "smpp_tls_listen needs tls_cert and tls_key (PEM files)")
        elif self.smpp_tls_listen is None:
            for name in ("tls_cert", "tls_key", "tls_client_ca"):
                if getattr(self, name) is not None:
                    yield name, "only used with smpp_tls_listen, which is not set"
        else:
            yield from check_files(self.tls_cert, self.tls_key, self.tls_client_ca,
                                   ca_key="tls_client_ca")


@dataclass(frozen=True, slots=True, kw_only=True)
class Storage:
    """Redis (hot path) and the ledger (system of record); empty = embedded under data_dir."""

    # repr=False on every secret: a logged Config must not leak credentials (URLs hold them too).
    redis_url: Annotated[str, SECRET, Check(redis_url)] = field(default="", repr=False)
    #: Redis Sentinel: the sentinels asked where the master of ``redis_service`` is.
    #: ``redis_url`` then only gives the scheme (rediss: TLS), credentials and database.
    redis_sentinels: Annotated[tuple[str, ...], Check(each(host_port))] = ()
    redis_service: str = ""
    redis_sentinel_password: Annotated[str, SECRET] = field(default="", repr=False)
    #: ``redis_url`` names one node of a Redis Cluster.
    redis_cluster: bool = False
    #: Start even where Redis refuses CONFIG GET (managed Redis): the operator vouches for
    #: ``maxmemory-policy noeviction``. A policy Redis does report is still checked.
    redis_assume_noeviction: bool = False
    ledger: Annotated[str, SECRET, Check(ledger)] = field(default="", repr=False)
    # A STOP waits at most this long for the ledger's write lock before the carrier is
    # asked to retry: under the carriers' usual 10 s deliver_sm response timer.
    ledger_busy_timeout: Annotated[Seconds, Check(positive)] = 5.0
    #: The key of erasure hashes (HMAC-SHA256; gateway.suppression.erasure), or
    #: ``hash_key_file``. Empty: erasure is refused. Never change it once used.
    hash_key: Annotated[str, SECRET, Check(hash_key)] = field(default="", repr=False)

    def validate(self) -> Iterator[tuple[str, str]]:
        scheme = self.redis_url.partition("://")[0] if self.redis_url else ""
        if self.redis_sentinels:
            if self.redis_cluster:
                yield "redis_cluster", ("Sentinel and Cluster exclude each other: set "
                                        "redis_sentinels or redis_cluster, not both")
            if not self.redis_service:
                yield "redis_service", ("required with redis_sentinels: the name the sentinels "
                                        "monitor the master under (sentinel monitor <name> ...)")
            if scheme == "unix":
                yield "redis_url", ("with redis_sentinels, redis_url gives only the scheme "
                                    "(redis:// or rediss://), credentials and database; "
                                    "a unix:// socket cannot follow a failover")
        else:
            for name in ("redis_service", "redis_sentinel_password"):
                if getattr(self, name):
                    yield name, "only used with redis_sentinels, which is not set"
        if self.redis_cluster and not self.redis_sentinels:
            if not self.redis_url:
                yield "redis_url", ("required with redis_cluster: a redis:// or rediss:// URL "
                                    "of one node of the cluster")
            elif scheme == "unix":
                yield "redis_url", ("a Redis Cluster is reached over TCP: a redis:// or "
                                    "rediss:// URL of one of its nodes, not unix://")


Timer = Annotated[Seconds, Check(positive)]


@dataclass(frozen=True, slots=True, kw_only=True)
class Smpp:
    """SMPP limits and timers, towards senders and towards carriers."""

    max_pdu_size: Annotated[int, Check(at_least(512))] = 65536
    enquire_link_interval: Timer = 30.0
    response_timeout: Timer = 10.0
    bind_timeout: Timer = 10.0
    idle_timeout: Seconds = 300.0
    max_sessions_per_account: Annotated[int, Check(at_least(0))] = 10
    max_sessions_per_address: Annotated[int, Check(at_least(0))] = 100
    frame_timeout: Timer = 30.0
    reassembly_timeout: Timer = 120.0
    reassembly_max_pending: Annotated[int, Check(at_least(1))] = 20000
    reassembly_max_bytes: Annotated[int, Check(at_least(65536))] = 32 * 1024 * 1024
    sender_window: Annotated[int, Check(at_least(1))] = 100
    submit_queue_max: Annotated[int, Check(at_least(1))] = 10000
    failed_bind_delay: Seconds = 1.0
    failed_bind_delay_max: Seconds = 30.0
    reconnect_delay: Timer = 1.0
    reconnect_delay_max: Seconds = 60.0
    #: Behind an L4 load balancer: every sender connection starts with a PROXY v1/v2 header.
    proxy_protocol: bool = False

    def validate(self) -> Iterator[tuple[str, str]]:
        for first in ("failed_bind_delay", "reconnect_delay"):
            if getattr(self, first) > getattr(self, f"{first}_max"):
                yield f"{first}_max", f"must be at least {first} ({getattr(self, first):g}s)"


@dataclass(frozen=True, slots=True, kw_only=True)
class Http:
    """HTTP listener limits, and the key of the operator's routes."""

    max_body_size: Annotated[int, Check(at_least(1024))] = 1_048_576
    header_timeout: Timer = 30.0
    body_timeout: Timer = 120.0
    max_connections: Annotated[int, Check(at_least(1))] = 4096
    max_connections_per_address: Annotated[int, Check(at_least(1))] = 256
    admin_key: Annotated[str, SECRET, Check(token)] = field(default="", repr=False)
    failed_auth_delay: Seconds = 1.0
    failed_auth_delay_max: Seconds = 30.0
    failed_auth_limit: Annotated[int, Check(at_least(1))] = 10
    failed_auth_window: Timer = 300.0
    #: HTTPS on server.http_listen (both or neither), for when nothing terminates TLS in front.
    tls_cert: Path | None = None
    tls_key: Path | None = None
    #: Behind an L4 load balancer: every connection starts with a PROXY v1/v2 header.
    proxy_protocol: bool = False
    #: Behind an L7 proxy: X-Forwarded-For is believed from these peers (CIDRs).
    trusted_proxies: Annotated[tuple[str, ...], Check(each(cidr))] = ()

    def validate(self) -> Iterator[tuple[str, str]]:
        if (self.tls_cert is None) != (self.tls_key is None):
            yield "tls_cert" if self.tls_cert is None else "tls_key", (
                "HTTPS needs both tls_cert and tls_key (PEM files)")
        else:
            yield from check_files(self.tls_cert, self.tls_key)
        if self.max_connections_per_address > self.max_connections:
            yield "max_connections_per_address", (
                f"must be at most max_connections ({self.max_connections})")
        if self.failed_auth_delay > self.failed_auth_delay_max:
            yield "failed_auth_delay_max", (
                f"must be at least failed_auth_delay ({self.failed_auth_delay:g}s)")


@dataclass(frozen=True, slots=True, kw_only=True)
class Dlr:
    """How long delivery receipts can still be routed, and what waits for a receiver bind."""

    id_map_ttl: Timer = 72 * HOUR
    pending_max_age: Timer = 72 * HOUR
    pending_max_count: Annotated[int, Check(at_least(1))] = 10000


@dataclass(frozen=True, slots=True, kw_only=True)
class Webhook:
    """Opt-out callbacks: retried with backoff until a 2xx or ``give_up_after``."""

    timeout: Timer = 5.0
    backoff_initial: Timer = 5.0
    backoff_max: Seconds = HOUR
    give_up_after: Timer = 72 * HOUR  # since the event was recorded

    def validate(self) -> Iterator[tuple[str, str]]:
        if self.backoff_max < self.backoff_initial:
            yield "backoff_max", f"must be at least backoff_initial ({self.backoff_initial:g}s)"


@dataclass(frozen=True, slots=True, kw_only=True)
class Log:
    """Logging."""

    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["text", "json"] = "text"
    mask_numbers: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class Policy:
    """What happens to promotional traffic that must not pass."""

    on_blocked: Literal["reject", "dlr"] = "reject"
    blocked_status: Annotated[int, Check(blocked_status)] = 0x00000065
    fail_closed: bool = True
    unclassified: MessageClass = "promotional"
    #: The learned scorer (rules.scorer, ``detector:scorer``) may call promotional a text
    #: the built-in detectors call transactional or nothing (README, "The opt-out policy").
    scorer: bool = True
    #: A promotional message refused outside its recipient's sending window (a quiet-hours
    #: rule with action "reject"), and one over a frequency cap: SMSC vendor-specific range.
    quiet_status: Annotated[int, Check(refusal_status(0x450, "quiet hours"))] = 0x00000450
    cap_status: Annotated[int, Check(refusal_status(0x451, "frequency cap"))] = 0x00000451
    #: Messages an account may have held (quiet hours) at once; one more is refused with
    #: ESME_RMSGQFUL (gateway/sendtime/held.py).
    held_max_per_account: Annotated[int, Check(at_least(1))] = 100_000
    #: How long a held message without a validity_period is kept before it expires.
    held_max_age: Timer = 72 * HOUR


@dataclass(frozen=True, slots=True, kw_only=True)
class Compliance:
    """Which countries' shipped send-time rules (quiet hours, caps) apply."""

    #: Pack names (rules/sendtime/packs.toml): "FR", "US", "DE", "ES", "IT", "UK" ("GB"),
    #: "NL", "BE", "PT", "CA". Empty: no shipped send-time rule applies.
    packs: Annotated[tuple[str, ...], Check(each(compliance_pack))] = ()


def _rule_problem(error: ValueError, keys: tuple[str, ...], fallback: str) -> tuple[str, str]:
    """A rules/sendtime parser's "key: what is wrong" as (key, what is wrong)."""
    key, colon, rest = str(error).partition(": ")
    if colon and key in keys:
        return key, rest
    return fallback, str(error)


@dataclass(frozen=True, slots=True, kw_only=True)
class QuietHours:
    """An own sending window for promotional messages (rules.sendtime.quiet.QuietRule)."""

    region: str
    days: str = "mon-sun"
    start: str
    end: str
    holidays: bool = False
    action: Literal["hold", "reject"] = "hold"

    def rule(self) -> QuietRule:
        """The rule (ValueError naming the key when a value is wrong: see ``validate``)."""
        return QuietRule.parse({"region": self.region, "days": self.days, "start": self.start,
                                "end": self.end, "holidays": self.holidays,
                                "action": self.action})

    def validate(self) -> Iterator[tuple[str, str]]:
        try:
            self.rule()
        except ValueError as error:  # start >= end names no key: it is the end's fault
            yield _rule_problem(error, ("region", "days", "start", "end", "holidays"), "end")


@dataclass(frozen=True, slots=True, kw_only=True)
class FrequencyCaps:
    """At most ``max`` promotional messages per recipient per account per ``per``."""

    region: str
    max: int
    per: str
    action: str = "reject"

    def cap(self) -> FrequencyCap:
        """The cap (ValueError naming the key when a value is wrong: see ``validate``)."""
        return FrequencyCap.parse({"region": self.region, "max": self.max, "per": self.per,
                                   "action": self.action})

    def validate(self) -> Iterator[tuple[str, str]]:
        try:
            self.cap()
        except ValueError as error:
            yield _rule_problem(error, ("region", "max", "per", "action"), "per")


#: A keyword reply's text: {brand} (the account's display_name) and {contact} (its
#: help_contact) are filled in; see rules.packs.keywords.render_reply.
ReplyText = Annotated[str, Check(template(*REPLY_PLACEHOLDERS, what="reply texts"))]


@dataclass(frozen=True, slots=True, kw_only=True)
class Optout:
    """Opt-out links and the replies to keyword MOs."""

    #: Printed as given: a bare host ("no-s.ms/") keeps footers short and handsets still
    #: link it; write "https://..." to print the scheme (see README, "The opt-out policy").
    base_url: Annotated[str, Check(base_url)] = "no-s.ms/"
    #: One confirmation MT after a keyword opt-out or opt-in that changed state.
    confirm_reply: bool = True
    #: Opt-outs written in words (rules.phrases) after the keywords: a clear one is
    #: honoured like STOP, an unclear one goes to the review list. False: keywords only
    #: (README, "Where stopgate differs from SPEC.md").
    phrases: bool = True
    #: The replies' texts for every recipient (unless an account or [[keywords]] sets
    #: its own). Empty: the keyword packs' texts, in the recipient's language
    #: (rules/packs/keywords.toml).
    confirm_text: ReplyText = ""
    optin_confirm_text: ReplyText = ""
    help_reply: ReplyText = ""
    #: An opt-out keyword sent to this number opts the sender out of every account ("*");
    #: an opt-in keyword sent to it lifts that "*" again.
    operator_number: Annotated[str, Check(operator_number)] = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Upstream:
    """One carrier link (towards it stopgate is an ESME)."""

    name: str = ""  # default "host:port", see __post_init__
    host: Annotated[str, Check(hostname)]
    port: Annotated[int, Check(between(1, 65535))]
    system_id: Annotated[str, Check(smpp_string(15, required=True))]
    password: Annotated[str, SECRET, Check(smpp_string(8))] = field(default="", repr=False)
    system_type: Annotated[str, Check(smpp_string(12))] = ""
    bind: Annotated[tuple[BindMode, ...], Check(bind_modes)] = ("transceiver",)
    sessions: Annotated[int, Check(at_least(1))] = 1
    window: Annotated[int, Check(at_least(1))] = 10
    tps: Annotated[int, Check(at_least(0))] = 0
    routes: Annotated[tuple[str, ...], Check(each(route))] = ("*",)
    #: SMPP over TLS (1.2 or later) to this carrier; the carrier's certificate is verified
    #: against tls_ca (else the system's CAs) and tls_server_name (else host).
    tls: bool = False
    tls_ca: Path | None = None
    tls_server_name: Annotated[str, Check(hostname)] = ""
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_verify: bool = True

    def __post_init__(self) -> None:
        if not self.name:
            address = f"[{self.host}]" if ":" in self.host else self.host
            object.__setattr__(self, "name", f"{address}:{self.port}")

    def validate(self) -> Iterator[tuple[str, str]]:
        if not self.routes:
            yield "routes", 'expected at least one route; ["*"] takes every destination'
        if not self.tls:
            for name in ("tls_ca", "tls_cert", "tls_key"):
                if getattr(self, name) is not None:
                    yield name, "only used with tls = true"
            if self.tls_server_name:
                yield "tls_server_name", "only used with tls = true"
            return
        if (self.tls_cert is None) != (self.tls_key is None):
            yield "tls_cert" if self.tls_cert is None else "tls_key", (
                "a client certificate needs both tls_cert and tls_key (PEM files)")
            return
        yield from check_files(self.tls_cert, self.tls_key, self.tls_ca)


Keywords = Annotated[tuple[str, ...], Check(keywords)]


@dataclass(frozen=True, slots=True, kw_only=True)
class Account:
    """One sender: its SMPP and HTTP credentials, numbers and opt-out preferences."""

    system_id: Annotated[str, Check(smpp_string(15, required=True))]
    password: Annotated[str, SECRET, Check(smpp_string(8))] = field(default="", repr=False)
    api_key: Annotated[str, SECRET, Check(token)] = field(default="", repr=False)
    default_region: Annotated[str, Check(region)] = "FR"
    #: ISO 639-1; picks the footer in countries of several languages. Default: the main
    #: language of default_region (ACCOUNT_LANGUAGE), else "en".
    language: Annotated[str, Check(language)] = ""
    default_class: Literal["auto", "promotional", "transactional"] = "auto"
    numbers: Annotated[tuple[str, ...], Check(each(sender_number))] = ()
    #: Sender ids it may send from besides ``numbers`` (empty: any source no other account
    #: lists); see rules/senders.py.
    senders: Annotated[tuple[str, ...], Check(each(sender_id))] = ()
    shortcode: Annotated[str, Check(shortcode)] = ""  # default: first all-digit entry of numbers
    display_name: str = ""  # default: system_id; also {brand} in keyword replies
    #: Where a recipient gets help (a phone number, an e-mail or web address): {contact}
    #: in HELP replies, as CTIA asks. Empty: the packs' help replies without a contact.
    help_contact: str = ""
    webhook_url: Annotated[str, Check(http_url)] = ""
    webhook_secret: Annotated[str, SECRET] = field(default="", repr=False)
    tps: Annotated[int, Check(at_least(0))] = 0
    keyword_match: Literal["whole", "first_word"] = "whole"
    #: Added to the packs' opt-outs (those always apply); empty: the recipient
    #: country's [[keywords]] list is added instead.
    optout_keywords: Keywords = ()
    #: Non-empty: the whole opt-in (help) list, instead of the [[keywords]] one plus the
    #: packs' (see README, "Keywords and replies in the packs").
    optin_keywords: Keywords = ()
    help_keywords: Keywords = ()
    confirm_text: ReplyText = ""  # empty: [[keywords]], optout.confirm_text, the packs'
    optin_confirm_text: ReplyText = ""  # empty: the same for optin_confirm_text
    help_reply: ReplyText = ""  # empty: the same for help_reply
    #: Binds only over TLS (server.smpp_tls_listen) with a client certificate that
    #: server.tls_client_ca signed and that names this system_id (CN or subjectAltName).
    tls_client_cert: bool = False

    def __post_init__(self) -> None:
        if not self.shortcode:
            digits = next((n for n in self.numbers if n.isdigit()), "")
            object.__setattr__(self, "shortcode", digits)
        if not self.display_name:
            object.__setattr__(self, "display_name", self.system_id)
        if not self.language:
            object.__setattr__(self, "language",
                               ACCOUNT_LANGUAGE.get(self.default_region, "en"))

    def validate(self) -> Iterator[tuple[str, str]]:
        if not self.password and not self.api_key:
            yield "password", "give a password (SMPP bind), an api_key (HTTP), or both"
        if self.webhook_url and not self.webhook_secret:
            yield "webhook_secret", "required with webhook_url: callbacks are signed with it"
        if self.shortcode and self.shortcode not in self.numbers:
            yield "shortcode", (f"'{self.shortcode}' is not in numbers; add it there so MOs "
                                "to it reach this account")
        seen: dict[str, int] = {}
        for index, entry in enumerate(self.senders):
            key = listed_key(entry, self.default_region)
            if key in seen:
                yield f"senders[{index}]", (
                    f"{entry!r} is the same sender as senders[{seen[key]}] "
                    f"({self.senders[seen[key]]!r}); list each sender once (letters compare "
                    "case-insensitively, numbers in E.164)")
            else:
                seen[key] = index


Country = Annotated[str, Check(region_or_default)]


@dataclass(frozen=True, slots=True, kw_only=True)
class Footer:
    """The opt-out footer for one destination country ('*' = every other); with a
    language, only for accounts of that language (countries of several languages)."""

    country: Country
    text: Annotated[str, Check(template("url", "shortcode"))]
    language: Annotated[str, Check(language)] = ""
    #: A label put before the text of the message, as given (Spain's "PUBLI ").
    prefix: str = ""


#: SPEC's lists: the built-in "*" [[keywords]] entry. The keyword packs
#: (rules/packs/keywords.toml) add theirs: every pack's opt-out and help words to every
#: reply, a pack's opt-in words to numbers of its countries.
SPEC_OPTOUT = ("STOP", "STOPALL", "STOP ALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE",
               "OPTOUT", "OPT OUT", "ARRET", "ARRETE", "ARRETT")
#: No YES (nor OUI, SI, JA): a bare "yes" answers appointment and delivery questions, and
#: must not end an opt-out. An account that wants it adds it to its optin_keywords.
SPEC_OPTIN = ("START", "UNSTOP", "NONARRET")
SPEC_HELP = ("HELP", "INFO", "AIDE")


@dataclass(frozen=True, slots=True, kw_only=True)
class KeywordSet:
    """MO keywords and reply texts for numbers of one country ('*' = others), added to
    the keyword packs' (see gateway.inbound.keywords)."""

    country: Country
    optout: Keywords = SPEC_OPTOUT
    optin: Keywords = SPEC_OPTIN
    help: Keywords = SPEC_HELP
    confirm_text: ReplyText = ""  # empty: the "*" entry's, optout.confirm_text, the packs'
    optin_confirm_text: ReplyText = ""  # empty: the same for optin_confirm_text
    help_reply: ReplyText = ""  # empty: the same for help_reply


@dataclass(frozen=True, slots=True, kw_only=True)
class Rule:
    """A classification rule: every given matcher must match (AND)."""

    id: Annotated[str, Check(not_empty)]
    class_: Annotated[MessageClass, Key("class")]
    account: tuple[str, ...] = ()
    source: tuple[str, ...] = ()
    country: Annotated[tuple[str, ...], Check(each(region))] = ()
    service_type: tuple[str, ...] = ()
    regex: re.Pattern[str] | None = None
    keywords: Keywords = ()
    #: A transactional rule that decides even when the text carries an offer (rules.offers).
    overrides_offers: bool = False

    MATCHERS: ClassVar[tuple[str, ...]] = (
        "account", "source", "country", "service_type", "regex", "keywords",
    )

    def validate(self) -> Iterator[tuple[str, str]]:
        if not any(getattr(self, name) for name in self.MATCHERS):
            yield "id", (f"rule {self.id!r} matches nothing; give at least one of "
                         f"{', '.join(self.MATCHERS)} (for a catch-all set policy.unclassified)")
        if self.overrides_offers and self.class_ != "transactional":
            yield "overrides_offers", (f"rule {self.id!r}: overrides_offers only applies to a "
                                       "transactional rule (an offer already makes a message "
                                       "promotional)")


#: The main language of an account's default_region: its language when none is given.
ACCOUNT_LANGUAGE = {**LANGUAGE_OF_REGION, "PT": "pt", "BR": "pt", "AO": "pt", "MZ": "pt"}

_LINK_TEXT = {
    "de": "Abmelden: {url}",
    "es": "Baja: {url}",
    "fr": "Désinscription : {url}",
    "it": "Disiscriviti: {url}",
    "nl": "Afmelden: {url}",
    "pt": "Cancelar: {url}",
}
#: The built-in footers: France's STOP to the shortcode; an opt-out link in the language
#: of the recipient's country; in a country of several languages, in the account's
#: language (an account of another language gets the "*" one).
DEFAULT_FOOTERS = (
    Footer(country="FR", text="STOP au {shortcode}"),
    *(Footer(country=country, text=_LINK_TEXT[lang])
      for country, lang in (("ES", "es"), ("DE", "de"), ("AT", "de"), ("IT", "it"),
                            ("NL", "nl"), ("PT", "pt"))),
    *(Footer(country=country, language=lang, text=_LINK_TEXT[lang])
      for country, langs in (("BE", ("nl", "fr", "de")), ("CH", ("de", "fr", "it")),
                             ("LU", ("fr", "de")), ("CA", ("fr",)))
      for lang in langs),
    Footer(country="*", text="Opt-out: {url}"),
)
DEFAULT_KEYWORDS = (KeywordSet(country="*"),)


@dataclass(frozen=True, slots=True, kw_only=True)
class Config:
    """The whole configuration; ``Config()`` is the built-in default."""

    server: Server = Server()
    storage: Storage = Storage()
    upstreams: Annotated[tuple[Upstream, ...], Unique("name")] = ()
    accounts: Annotated[tuple[Account, ...], Unique("system_id", "api_key")] = ()
    policy: Policy = Policy()
    optout: Optout = Optout()
    footers: tuple[Footer, ...] = DEFAULT_FOOTERS  # (country, language) unique: _check_footers
    keywords: Annotated[tuple[KeywordSet, ...], Unique("country")] = DEFAULT_KEYWORDS
    rules: Annotated[tuple[Rule, ...], Unique("id")] = ()
    compliance: Compliance = Compliance()
    quiet_hours: tuple[QuietHours, ...] = ()
    frequency_caps: tuple[FrequencyCaps, ...] = ()
    smpp: Smpp = Smpp()
    http: Http = Http()
    dlr: Dlr = Dlr()
    webhook: Webhook = Webhook()
    log: Log = Log()

    def __post_init__(self) -> None:
        # Keyword lookup always ends in a '*' entry: the SPEC lists unless configured.
        if all(entry.country != "*" for entry in self.keywords):
            object.__setattr__(self, "keywords", (*self.keywords, *DEFAULT_KEYWORDS))

    def sendtime(self) -> SendTimeRules:
        """The send-time rules that apply: the packs' (``compliance.packs``), then the own
        ``[[quiet_hours]]`` and ``[[frequency_caps]]`` (every one that matches applies)."""
        shipped = rules_for(self.compliance.packs)
        quiet: dict[tuple[Any, ...], QuietRule] = {}
        for rule in (*shipped.quiet, *(entry.rule() for entry in self.quiet_hours)):
            # an own rule that repeats a pack's counts once (the pack's, with its source)
            quiet.setdefault((rule.region, rule.days, rule.start, rule.end, rule.holidays,
                              rule.action), rule)
        return SendTimeRules(
            quiet=tuple(quiet.values()),
            caps=shipped.caps + tuple(entry.cap() for entry in self.frequency_caps))


# --- loading ----------------------------------------------------------------------

#: STOPGATE_* variables that are not configuration keys.
NOT_CONFIG_ENV = ("STOPGATE_CONFIG",)


def _not_config(var: str) -> bool:
    return var in NOT_CONFIG_ENV or var.startswith("STOPGATE_TEST_")


def _check_references(raw: Mapping[str, Any], parts: Mapping[str, Any],
                      problems: list[Problem]) -> None:
    """Rules may only name configured accounts (read raw, so a broken account still counts)."""
    entries = raw.get("accounts", [])
    names = [e.get("system_id") for e in entries if isinstance(e, dict)] \
        if isinstance(entries, list) else []
    known = ", ".join(str(n) for n in names if n)
    known = f"configured accounts: {known}" if known else "no accounts are configured"
    for index, rule in enumerate(parts.get("rules", ())):
        for name in rule.account if rule is not None else ():
            if name not in names:
                problems.append(Problem(f"rules[{index}].account",
                                        f"unknown account {name!r}; {known}"))


def _check_footers(parts: Mapping[str, Any], problems: list[Problem]) -> None:
    """One footer per (country, language): a second one could never be chosen."""
    seen: dict[tuple[str, str], int] = {}
    for index, entry in enumerate(parts.get("footers", ())):
        if entry is None:
            continue
        key = (entry.country, entry.language)
        if key in seen:
            what = f"country {entry.country!r}" + (
                f" with language {entry.language!r}" if entry.language else "")
            problems.append(Problem(f"footers[{index}].country",
                                    f"duplicate {what} (also footers[{seen[key]}])"))
        else:
            seen[key] = index


_REPLY_KEYS = ("confirm_text", "optin_confirm_text", "help_reply")


def _check_keywords(parts: Mapping[str, Any], problems: list[Problem]) -> None:
    """Opt-in and help words that are a pack's opt-out could never be anything but an
    opt-out; a reply text naming {contact} needs a contact for every account it serves."""
    lists: list[tuple[str, tuple[str, ...]]] = []
    for index, account in enumerate(parts.get("accounts") or ()):
        if account is not None:
            lists += [(f"accounts[{index}].optin_keywords", account.optin_keywords),
                      (f"accounts[{index}].help_keywords", account.help_keywords)]
    for index, entry in enumerate(parts.get("keywords") or ()):
        if entry is not None:
            lists += [(f"keywords[{index}].optin", entry.optin),
                      (f"keywords[{index}].help", entry.help)]
    for path, words in lists:
        for position, word in enumerate(words):
            pack = optout_pack(word)
            if pack is not None:
                problems.append(Problem(f"{path}[{position}]", (
                    f"{word!r} is an opt-out keyword of the {pack!r} keyword pack, and the "
                    "packs' opt-outs apply to every reply: it can never opt in or ask for "
                    "help (README, \"Keywords and replies in the packs\")")))
    accounts = [a for a in parts.get("accounts") or () if a is not None]
    shared: list[tuple[str, str, str]] = [  # (path, key, text) of texts every account may get
        (f"optout.{key}", key, getattr(parts["optout"], key))
        for key in _REPLY_KEYS if parts.get("optout") is not None]
    shared += [(f"keywords[{index}].{key}", key, getattr(entry, key))
               for index, entry in enumerate(parts.get("keywords") or ()) if entry is not None
               for key in _REPLY_KEYS]
    for index, account in enumerate(parts.get("accounts") or ()):
        if account is None or account.help_contact:
            continue
        for key in _REPLY_KEYS:
            if "{contact}" in getattr(account, key):
                problems.append(Problem(f"accounts[{index}].{key}",
                                        "uses {contact}, but this account has no help_contact"))
    for path, key, text in shared:
        if "{contact}" not in text:
            continue
        lacking = [a.system_id for a in accounts if not a.help_contact and not getattr(a, key)]
        if lacking:
            problems.append(Problem(path, (
                f"uses {{contact}}, but accounts without their own {key} have no "
                f"help_contact: {', '.join(lacking)}")))


def _check_client_certs(parts: Mapping[str, Any], problems: list[Problem]) -> None:
    """An account that binds with a client certificate needs a TLS listener that asks for one."""
    server = parts.get("server")
    if server is not None and server.smpp_tls_listen is not None and server.tls_client_ca:
        return
    for index, account in enumerate(parts.get("accounts") or ()):
        if account is not None and account.tls_client_cert:
            problems.append(Problem(
                f"accounts[{index}].tls_client_cert",
                "needs server.smpp_tls_listen and server.tls_client_ca (the CA that signs "
                "senders' certificates)"))


def _check_admin_key(parts: Mapping[str, Any], problems: list[Problem]) -> None:
    """A sender's api_key must never open the operator's routes."""
    http = parts.get("http")
    admin = http.admin_key if http is not None else ""
    for index, account in enumerate(parts.get("accounts", ())):
        if admin and account is not None and account.api_key == admin:
            problems.append(Problem("http.admin_key", f"must differ from every api_key "
                                                      f"(equals accounts[{index}].api_key)"))


def _check_sendtime(raw: Mapping[str, Any], parts: Mapping[str, Any],
                    problems: list[Problem]) -> None:
    """Refuse rules that leave a region no window in the week: nothing could ever be sent
    there (e.g. two own rules for one region, "mon-fri" and "sat-sun")."""
    entries = parts.get("quiet_hours") or ()
    if any(entry is None for entry in entries) or ("compliance" in raw
                                                    and "compliance" not in parts):
        return  # reported already
    try:
        shipped = rules_for(parts.get("compliance", Compliance()).packs).quiet
        rules = shipped + tuple(entry.rule() for entry in entries)
    except ValueError:
        return  # reported already (the entry's validate)
    for closed in closed_regions(rules):
        country = closed.split("-", 1)[0]
        here = [rule for rule in rules if rule.region in (closed, country)]
        problems.append(Problem("quiet_hours", (
            f"no promotional message could ever be sent to {closed}: the rules that apply "
            f"there share no window ({'; '.join(rule.window for rule in here)})")))


def parse_config(data: Mapping[str, Any], env: Mapping[str, str] | None = None) -> Config:
    """Validate a parsed TOML document plus env overrides (None: os.environ) into a Config."""
    raw = copy.deepcopy(dict(data))
    problems: list[Problem] = []
    origins = apply_env(Config, raw, os.environ if env is None else env, _not_config, problems)
    parts = build_parts(Config, raw, "", problems) or {}
    _check_references(raw, parts, problems)
    _check_admin_key(parts, problems)
    _check_client_certs(parts, problems)
    _check_footers(parts, problems)
    _check_keywords(parts, problems)
    _check_sendtime(raw, parts, problems)
    if problems:
        raise ConfigError(annotate(problems, origins))
    return Config(**parts)


def load_config(path: str | Path | None, env: Mapping[str, str] | None = None) -> Config:
    """Load config.toml (None: built-in defaults) plus env overrides (None: os.environ)."""
    data: dict[str, Any] = {}
    if path is not None:
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as error:
            raise ConfigError([Problem(str(path), f"cannot read: {error.strerror}")]) from None
        except UnicodeDecodeError as error:
            raise ConfigError([Problem(str(path), f"not UTF-8 text ({error.reason} at byte "
                                                  f"{error.start})")]) from None
        except tomllib.TOMLDecodeError as error:
            raise ConfigError([Problem(str(path), f"invalid TOML: {error}")]) from None
    return parse_config(data, env)
