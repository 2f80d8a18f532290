"""The opt-out policy as one MT pipeline stage: classify, suppress, footer.

    classify (explicit class, [[rules]], detectors, defaults)
      transactional -> on its way, untouched; never waits for Redis
      promotional   -> suppression lookup (batched: one Redis pipeline per loop tick)
                         opted out         -> blocked (reject, or accept + REJECTD receipt)
                         state unknown     -> refused while policy.fail_closed
                       -> footer for the recipient's country, fitted into the message

Binary messages (a data_coding that is not text) are judged like any other
by explicit class and [[rules]]; when promotional they are suppressed, but a
footer cannot be appended to them: they go without one and are counted.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from functools import partial
from typing import Any

from gateway.config.model import Account, Config
from gateway.config.values import base_url_host
from gateway.message import Message
from gateway.mt.pipeline import Deferred, MtResult
from gateway.observability.logs import fields
from gateway.observability.metrics import Metrics
from gateway.suppression.cache import CacheNotReady, SuppressionCache
from rules.classify import Classifier, MessageFacts, explicit_class
from rules.footers import NO_REACH, OptoutReach, already_has_optout, fit, footer_for, optout_reach
from rules.scorer import SCORER
from smpp.constants import CommandStatus, Tag

log = logging.getLogger("stopgate.policy")

S = CommandStatus
PROMOTIONAL = "promotional"
#: What a fail-closed refusal answers: temporary, so senders retry once the state is known.
UNKNOWN_STATE_STATUS = S.ESME_RX_T_APPN
_TOKEN_CACHE_SIZE = 100_000
_UNKNOWN_LOG_EVERY = 5.0  # seconds between "suppression state unknown" warnings
_MISLABEL_LOG_EVERY = 60.0  # seconds between an account's "offer labelled transactional" lines
#: A lookup (one EVALSHA) slower than this fails closed: a Redis that does not answer is
#: down for the MT path, whatever its socket timeout (5 s) says.
LOOKUP_TIMEOUT = 1.0

#: (account, numbers, campaign) -> {number: token}: the ledger's ``tokens_for``.
TokenSource = Callable[[str, list[str], str | None], Awaitable[dict[str, str]]]
ReceiptSink = Callable[[Message, Sequence[str]], Awaitable[None]]


LookupAnswer = Callable[[bool | Exception], None]


class LookupBatcher:
    """Collects the suppression lookups of one loop tick into one Redis pipeline."""

    def __init__(self, cache: SuppressionCache, metrics: Metrics) -> None:
        self.cache = cache
        self.metrics = metrics
        self._pending: list[tuple[tuple[str, str], LookupAnswer]] = []
        self._running: set[asyncio.Future[None]] = set()

    def lookup(self, account: str, number: str, answer: LookupAnswer) -> None:
        """Is ``number`` opted out for ``account`` (or operator-wide)? ``answer`` gets True,
        False, or the exception that left it unknown (CacheNotReady, a Redis error)."""
        pending = self._pending
        if not pending:
            asyncio.get_running_loop().call_soon(self._flush)
        pending.append(((account, number), answer))

    def _flush(self) -> None:
        batch, self._pending = self._pending, []
        if batch:
            task = asyncio.ensure_future(self._run(batch))
            self._running.add(task)
            task.add_done_callback(self._running.discard)

    async def _run(self, batch: list[tuple[tuple[str, str], LookupAnswer]]) -> None:
        started = time.perf_counter()
        found: Sequence[bool | Exception]
        try:
            async with asyncio.timeout(LOOKUP_TIMEOUT):
                found = await self.cache.lookup_many([item for item, _ in batch])
        except Exception as error:  # CacheNotReady, Redis down: every caller fails closed
            if isinstance(error, TimeoutError):
                error = TimeoutError(f"no answer from Redis within {LOOKUP_TIMEOUT:g} s")
            elif isinstance(error, CacheNotReady):
                # The marker is gone (Redis flushed or restarted empty) and the keeper may not
                # look for up to its interval: wake it now, as Redis errors already do, so
                # promotional traffic is refused for the rebuild, not the rebuild + a wait.
                self.cache.trouble.set()
            found = [error] * len(batch)
        finally:
            self.metrics.suppression_lookup.observe(time.perf_counter() - started)
        for (_, answer), suppressed in zip(batch, found, strict=True):
            try:
                answer(suppressed)
            except Exception:  # one caller's bug must not leave the others unanswered
                log.exception("suppression lookup answer failed",
                              extra=fields("policy_failed", stage="lookup_answer"))


TokenAnswer = Callable[[str | BaseException], None]


class TokenCache:
    """Opt-out link tokens by (account, number): the ledger's, remembered in process.

    A campaign goes to many recipients once each, so most promotional messages meet a
    number with no token yet: the ledger writes it (one transaction, one fsync) before
    the link goes out. Misses are written in groups: while one write runs, the next
    misses gather and go together when it ends, so the rate of new recipients is not
    bound by the disk's fsync rate.
    """

    def __init__(self, source: TokenSource, size: int = _TOKEN_CACHE_SIZE) -> None:
        self.source = source
        self.size = size
        self._tokens: OrderedDict[tuple[str, str], str] = OrderedDict()
        #: (account, number) -> the answers waiting for its token
        self._waiting: dict[tuple[str, str], list[TokenAnswer]] = {}
        #: (account, campaign) -> numbers to ask the ledger for, in the next group
        self._queued: dict[tuple[str, str | None], list[str]] = {}
        self._writer: asyncio.Future[None] | None = None

    def cached(self, account: str, number: str) -> str | None:
        """The token if this process already has it (no ledger call)."""
        return self._tokens.get((account, number))

    def fetch(self, account: str, number: str, campaign: str | None,
              answer: TokenAnswer) -> None:
        """``answer`` gets the token (from the next group write), or the ledger's error."""
        key = (account, number)
        waiting = self._waiting.get(key)
        if waiting is not None:
            waiting.append(answer)  # already on its way: one row, one answer each
            return
        self._waiting[key] = [answer]
        self._queued.setdefault((account, campaign), []).append(number)
        if self._writer is None:
            self._writer = asyncio.ensure_future(self._write_groups())

    async def _write_groups(self) -> None:
        try:
            await asyncio.sleep(0)  # let this loop tick's misses join the first group
            while self._queued:
                groups, self._queued = self._queued, {}
                for (account, campaign), numbers in groups.items():
                    try:
                        tokens = await self.source(account, numbers, campaign)
                    except Exception as error:
                        for number in numbers:
                            self._answer((account, number), error)
                        continue
                    for number in numbers:
                        token = tokens.get(number)
                        if token is not None:
                            self._remember((account, number), token)
                        self._answer((account, number), token if token is not None else
                                     LookupError(f"the ledger made no token for {number}"))
        finally:
            self._writer = None
            self._queued = {}
            for key in list(self._waiting):  # cancelled (shutdown): nobody is left hanging
                self._answer(key, asyncio.CancelledError())

    def _remember(self, key: tuple[str, str], token: str) -> None:
        self._tokens[key] = token
        if len(self._tokens) > self.size:
            self._tokens.popitem(last=False)

    def _answer(self, key: tuple[str, str], result: str | BaseException) -> None:
        for answer in self._waiting.pop(key, ()):
            try:
                answer(result)
            except Exception:
                log.exception("token answer failed",
                              extra=fields("policy_failed", stage="token_answer"))


def account_reach(account: Account, base_url: str) -> OptoutReach:
    """Where an opt-out reaches this gateway for ``account``: the numbers it receives MOs
    on (numeric ``numbers`` and ``senders``, its shortcode) and the opt-out link host."""
    return optout_reach((*account.numbers, *account.senders, account.shortcode),
                        account.default_region, base_url_host(base_url))


class PolicyStage:
    """The MT stage that enforces opt-outs (see the module docstring)."""

    name = "policy"

    def __init__(
        self,
        config: Config,
        metrics: Metrics,
        lookups: LookupBatcher,
        tokens: TokenCache,
        on_blocked_receipt: ReceiptSink | None = None,
        is_ready: Callable[[], bool] | None = None,
    ) -> None:
        self.config = config
        self.metrics = metrics
        self.lookups = lookups
        self.tokens = tokens
        self.on_blocked_receipt = on_blocked_receipt
        self.is_ready = is_ready
        self.accounts: Mapping[str, Account] = {a.system_id: a for a in config.accounts}
        #: Where an opt-out mention in a text must lead to count as the footer (account ->
        #: its MO numbers and the link host), built once: see rules.footers.
        self.reach: Mapping[str, OptoutReach] = {
            a.system_id: account_reach(a, config.optout.base_url) for a in config.accounts}
        self.classifier = Classifier(config.rules, unclassified=config.policy.unclassified,
                                     scorer=SCORER if config.policy.scorer else None)
        self._url_footer: dict[tuple[str, bool, str], bool] = {}
        self._footer_counters: dict[str, Any] = {}
        self._receipts: set[asyncio.Future[None]] = set()
        self._unknown_logged_at = -_UNKNOWN_LOG_EVERY
        self._unknown_count = 0
        #: account -> (counter child, last warning time, messages since that warning)
        self._mislabelled: dict[str, tuple[Any, float, int]] = {}

    async def drain(self, timeout: float) -> None:
        """Wait (bounded) for the REJECTD receipts still on their way; at shutdown."""
        if self._receipts:
            await asyncio.wait(set(self._receipts), timeout=timeout)

    # --- the stage ------------------------------------------------------------------

    def __call__(self, message: Message) -> MtResult | Deferred | None:
        """None (on its way: transactional at once), or for a promotional message a
        Deferred verdict (suppression lookup, then footer)."""
        account = self.accounts.get(message.account)
        self._classify(message, account)
        if message.klass != PROMOTIONAL:
            return None
        verdict = Deferred()
        if self.is_ready is not None and not self.is_ready():
            self._unknown(message, account, CacheNotReady("suppression cache is being rebuilt"),
                          verdict)
            return verdict
        self.lookups.lookup(message.account, message.e164,
                            partial(self._looked_up, message, account, verdict))
        return verdict

    def _looked_up(self, message: Message, account: Account | None, verdict: Deferred,
                   suppressed: bool | Exception) -> None:
        try:
            if isinstance(suppressed, Exception):
                self._unknown(message, account, suppressed, verdict)
            elif suppressed:
                verdict.settle(self._blocked(message))
            else:
                self._footer(message, account, verdict)
        except Exception:  # a bug here must still answer the sender
            log.exception("policy failed", extra=fields(
                "policy_failed", stage="lookup", account=message.account,
                message_id=message.id, number=message.e164))
            verdict.settle(MtResult(S.ESME_RSYSERR, reason="internal"))

    def _unknown(self, message: Message, account: Account | None, error: Exception,
                 verdict: Deferred) -> None:
        if self.config.policy.fail_closed:
            self._log_unknown_state("promotional refused", error)
            verdict.settle(MtResult(UNKNOWN_STATE_STATUS, reason="suppression_unknown"))
            return
        self._log_unknown_state("promotional let through unchecked (fail_closed = false)",
                                error)
        self._footer(message, account, verdict)

    def _log_unknown_state(self, what: str, error: Exception) -> None:
        """One warning per ``_UNKNOWN_LOG_EVERY`` seconds, with how many it stands for: an
        outage refuses every promotional message, and a line each would flood the log."""
        self._unknown_count += 1
        now = time.monotonic()
        if now - self._unknown_logged_at >= _UNKNOWN_LOG_EVERY:
            log.warning("suppression state unknown: %s", what, extra=fields(
                "promotional_unchecked" if not self.config.policy.fail_closed
                else "promotional_refused", error=str(error),
                messages_since_last=self._unknown_count))
            self._unknown_logged_at = now
            self._unknown_count = 0

    def _classify(self, message: Message, account: Account | None) -> None:
        template = message.template
        explicit = explicit_class(
            template.service_type, template.tlv(Tag.stopgate_class), message.klass
        )
        campaign = template.tlv(Tag.stopgate_campaign)
        if campaign and not message.campaign:
            message.campaign = campaign.rstrip(b"\0").decode("latin-1")
        facts = MessageFacts(
            account=message.account,
            source_addr=template.source_addr,
            country=message.country,
            service_type=template.service_type,
            text=message.text if message.is_text else "",
            explicit=explicit[0] if explicit else None,
            explicit_rule=explicit[1] if explicit else "explicit",
            default_class=account.default_class if account is not None else "auto",
        )
        decision = self.classifier.classify(facts)
        message.klass = decision.klass
        message.rule = decision.rule
        if decision.offer:
            message.notes["offer"] = decision.offer
        if decision.mislabelled and not message.notes.get("reply"):
            self._count_mislabelled(message, decision.offer)

    def _count_mislabelled(self, message: Message, offer: str) -> None:
        """An explicit transactional class on a text that carries an offer: forwarded (the
        sender's class wins) but counted per account, and a warning per account at most
        once a minute with how many it stands for (a campaign would flood the log)."""
        account = message.account
        entry = self._mislabelled.get(account)
        if entry is None:
            counter = self.metrics.mt_offer_as_transactional.labels(account)
            entry = (counter, -_MISLABEL_LOG_EVERY, 0)
        counter, logged_at, since = entry
        counter.inc()
        since += 1
        now = time.monotonic()
        if now - logged_at >= _MISLABEL_LOG_EVERY:
            log.warning("a message labelled transactional carries an offer", extra=fields(
                "offer_labelled_transactional", account=account, rule=message.rule,
                offer=offer, message_id=message.id, messages_since_last=since))
            logged_at, since = now, 0
        self._mislabelled[account] = (counter, logged_at, since)

    def _blocked(self, message: Message) -> MtResult:
        """Blocked whole: "reject" answers blocked_status (the parts answered before it get
        REJECTD receipts, since the sender was told they were accepted); "dlr" accepts the
        message and every id gets a REJECTD receipt.

        "dlr" is for SMPP senders only. An HTTP sender hears in the same exchange, so it
        gets the refusal (422) in both modes: a 202 would tell it the message went out.
        """
        policy = self.config.policy
        dlr_mode = policy.on_blocked == "dlr" and message.via == "smpp"
        answered = message.part_ids if dlr_mode else message.part_ids[:-1]
        if answered and self.on_blocked_receipt is not None:
            # After the answer, never before: a receipt for an id the sender has not been
            # given yet (the "dlr" answer carries it) is dropped by senders as unknown, and
            # the answer must not wait on the sender acknowledging a receipt. The answer is
            # written in this same loop step, as soon as the pipeline returns; a task's
            # first step comes after it.
            task = asyncio.ensure_future(self.on_blocked_receipt(message, answered))
            self._receipts.add(task)
            task.add_done_callback(self._receipts.discard)
        if dlr_mode:
            return MtResult(S.ESME_ROK, message.id, 0, reason="blocked")
        return MtResult(policy.blocked_status, reason="blocked")

    def _footer(self, message: Message, account: Account | None, verdict: Deferred) -> None:
        if not message.is_text:
            self.metrics.footers_skipped.labels("binary").inc()
            verdict.settle(None)
            return
        shortcode = account.shortcode if account is not None else ""
        language = account.language if account is not None else ""
        if not self._needs_url(message.country, bool(shortcode), language):
            verdict.settle(self._append_footer(message, shortcode, language, None))
            return
        token = self.tokens.cached(message.account, message.e164)
        if token is not None:
            verdict.settle(self._append_footer(message, shortcode, language, token))
            return
        self.tokens.fetch(message.account, message.e164, message.campaign,
                          partial(self._token_fetched, message, shortcode, language, verdict))

    def _token_fetched(self, message: Message, shortcode: str, language: str,
                       verdict: Deferred, token: str | BaseException) -> None:
        if isinstance(token, BaseException):  # the ledger failed: "system error"
            log.error("no opt-out link token for a promotional message", extra=fields(
                "optout_token_failed", account=message.account, message_id=message.id,
                error=repr(token)))
            verdict.settle(MtResult(S.ESME_RSYSERR, reason="internal"))
            return
        try:
            verdict.settle(self._append_footer(message, shortcode, language, token))
        except Exception:
            log.exception("footer failed", extra=fields(
                "policy_failed", stage="footer", account=message.account,
                message_id=message.id, country=message.country))
            verdict.settle(MtResult(S.ESME_RSYSERR, reason="internal"))

    def _append_footer(self, message: Message, shortcode: str, language: str,
                       token: str | None) -> MtResult | None:
        url = None if token is None else self.config.optout.base_url + token
        footer = footer_for(message.country, self.config.footers, url=url, shortcode=shortcode,
                            language=language)
        if footer is None:
            return None
        text = message.text
        template = message.template
        if already_has_optout(text, message.country, footer,
                              self.reach.get(message.account, NO_REACH),
                              source=template.source_addr, source_ton=template.source_addr_ton):
            return None  # the sender's own opt-out mention leads here: nothing is appended
        fitted = fit(text, footer.text, message.data_coding, concat=message.concat or "udh8")
        if not fitted.added:
            self.metrics.footers_skipped.labels(fitted.reason).inc()
            if fitted.reason == "too_long":
                return MtResult(S.ESME_RINVMSGLEN, reason="footer_too_long")
            # The sender's bytes do not decode in its own data_coding: a footer would mangle
            # them further, and a promotional message must not go out without one.
            return MtResult(S.ESME_RSUBMITFAIL, reason="footer_impossible")
        message.payload = fitted.payload
        message.data_coding = fitted.data_coding
        message.cut = (fitted.payload, fitted.segments)
        message.notes["footer"] = footer.text
        country = message.country or "unknown"
        counter = self._footer_counters.get(country)
        if counter is None:  # labels() costs ~1 µs: once per country, not per message
            counter = self._footer_counters[country] = self.metrics.footers_total.labels(country)
        counter.inc()
        if fitted.extra_segments:
            self.metrics.footer_extra_segments.inc(fitted.extra_segments)
        return None

    def _needs_url(self, country: str, has_shortcode: bool, language: str) -> bool:
        """Whether the footer this country gets uses {url} (so a token is needed)."""
        key = (country, has_shortcode, language)
        needs = self._url_footer.get(key)
        if needs is None:
            probe = footer_for(
                country, self.config.footers, url="\0", shortcode="1" if has_shortcode else None,
                language=language,
            )
            needs = self._url_footer[key] = probe is not None and "\0" in probe.text
        return needs

