"""The opt-out policy as one MT pipeline stage: classify, suppress, footer.

    classify (explicit class, [[rules]], detectors, defaults)
      transactional -> on its way, untouched; never waits for Redis
      promotional   -> suppression lookup (batched: one Redis pipeline per loop tick)
                         opted out         -> blocked (reject, or accept + REJECTD receipt)
                         state unknown     -> refused while policy.fail_closed
                       -> footer for the recipient's country, fitted into the message
                          (with its entry's label before the text: Spain's "PUBLI ")

Binary messages (a data_coding that is not text) are judged like any other
by explicit class and [[rules]]; when promotional they are suppressed, but a
footer cannot be appended to them: they go without one and are counted.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from gateway.config.model import Account, Config
from gateway.config.values import base_url_host
from gateway.lifecycle import TaskSet
from gateway.message import Message
from gateway.mt.link_tokens import TokenCache
from gateway.mt.lookups import LookupBatcher
from gateway.mt.pipeline import MtResult, Transit, Wait
from gateway.observability.logs import fields
from gateway.observability.metrics import Metrics
from gateway.suppression.cache import CacheNotReady
from rules.classify import Classifier, MessageFacts, explicit_class
from rules.footers import (
    NO_REACH,
    OptoutReach,
    already_has_optout,
    fit,
    footer_for,
    has_prefix,
    optout_reach,
)
from rules.scorer import SCORER
from smpp.constants import CommandStatus, Tag

log = logging.getLogger("stopgate.policy")

PROMOTIONAL = "promotional"
#: What a fail-closed refusal answers: temporary, so senders retry once the state is known.
UNKNOWN_STATE_STATUS = CommandStatus.ESME_RX_T_APPN
_UNKNOWN_LOG_EVERY = 5.0  # seconds between "suppression state unknown" warnings
_MISLABEL_LOG_EVERY = 60.0  # seconds between an account's "offer labelled transactional" lines

ReceiptSink = Callable[[Message, Sequence[str]], Awaitable[None]]


def account_reach(account: Account, base_url: str) -> OptoutReach:
    """Where an opt-out reaches this gateway for ``account``: the numbers it receives MOs
    on (numeric ``numbers`` and ``senders``, its shortcode) and the opt-out link host."""
    return optout_reach((*account.numbers, *account.senders, account.shortcode),
                        account.default_region, base_url_host(base_url))


class PolicyStage:
    """The MT stage that enforces opt-outs (see the module docstring).

    A promotional message's verdict is deferred: ``_lookup`` asks the suppression cache
    (``LookupBatcher``), ``_looked_up`` decides (blocked, unknown, or on to the footer),
    and a footer with a link may wait again for the recipient's token (``_fetch_token``,
    ``_token_fetched``). Each wait hands over the message's ``Transit`` and settles it.
    """

    name = "policy"

    def __init__(
        self,
        config: Config,
        metrics: Metrics,
        lookups: LookupBatcher,
        tokens: TokenCache,
        on_blocked_receipt: ReceiptSink | None = None,
        is_ready: Callable[[], bool] | None = None,
        unready_reason: Callable[[], str] | None = None,
    ) -> None:
        self.config = config
        self.metrics = metrics
        self.lookups = lookups
        self.tokens = tokens
        self.on_blocked_receipt = on_blocked_receipt
        self.is_ready = is_ready
        #: Why ``is_ready`` says no, for the log (the cache, or the ledger that cannot
        #: record opt-outs): an operator must be told the cause that holds.
        self.unready_reason = unready_reason
        self.accounts: Mapping[str, Account] = {a.system_id: a for a in config.accounts}
        #: Where an opt-out mention in a text must lead to count as the footer (account ->
        #: its MO numbers and the link host), built once: see rules.footers.
        self.reach: Mapping[str, OptoutReach] = {
            a.system_id: account_reach(a, config.optout.base_url) for a in config.accounts}
        self.classifier = Classifier(config.rules, unclassified=config.policy.unclassified,
                                     scorer=SCORER if config.policy.scorer else None)
        self._url_footer: dict[tuple[str, bool, str], bool] = {}
        self._footer_counters: dict[str, Any] = {}
        self._receipts = TaskSet()
        self._unknown_logged_at = -_UNKNOWN_LOG_EVERY
        self._unknown_count = 0
        #: account -> (counter child, last warning time, messages since that warning)
        self._mislabelled: dict[str, tuple[Any, float, int]] = {}
        # The waits and their steps, bound once (a bound method made per message costs an
        # allocation each time).
        self._wait_lookup: Wait = self._lookup
        self._wait_token: Wait = self._fetch_token
        self._step_looked_up: Callable[[Transit, Any], None] = self._looked_up
        self._step_token: Callable[[Transit, Any], None] = self._token_fetched

    async def drain(self, timeout: float) -> None:
        """Wait (bounded) for the REJECTD receipts still on their way; at shutdown."""
        await self._receipts.drain(timeout)

    # --- the stage ------------------------------------------------------------------

    def __call__(self, message: Message) -> MtResult | Wait | None:
        """None (on its way: transactional at once), or for a promotional message a
        deferred verdict (suppression lookup, then footer)."""
        account = self.accounts.get(message.account)
        self._classify(message, account)
        if message.klass != PROMOTIONAL:
            return None
        if self.is_ready is not None and not self.is_ready():
            reason = (self.unready_reason() if self.unready_reason is not None
                      else "suppression cache is being rebuilt")
            return self._unknown(message, account, CacheNotReady(reason))
        return self._wait_lookup

    def _lookup(self, transit: Transit) -> None:
        message = transit.message
        transit.step = self._step_looked_up
        self.lookups.lookup(message.account, message.e164, transit)

    def _looked_up(self, transit: Transit, suppressed: bool | Exception) -> None:
        message = transit.message
        verdict: MtResult | Wait | None
        try:
            account = self.accounts.get(message.account)
            if isinstance(suppressed, Exception):
                verdict = self._unknown(message, account, suppressed)
            elif suppressed:
                verdict = self._blocked(message)
            else:
                verdict = self._footer(message, account)
        except Exception:  # a bug here must still answer the sender
            log.exception("policy failed", extra=fields(
                "policy_failed", stage="lookup", account=message.account,
                message_id=message.id, number=message.e164))
            verdict = MtResult(CommandStatus.ESME_RSYSERR, reason="internal")
        if verdict is None or isinstance(verdict, MtResult):
            transit.settle(verdict)
        else:
            verdict(transit)

    def _unknown(self, message: Message, account: Account | None,
                 error: Exception) -> MtResult | Wait | None:
        if self.config.policy.fail_closed:
            self._log_unknown_state("promotional refused", error)
            return MtResult(UNKNOWN_STATE_STATUS, reason="suppression_unknown")
        self._log_unknown_state("promotional let through unchecked (fail_closed = false)",
                                error)
        return self._footer(message, account)

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
        if message.notes.get("released"):
            # Blocked at its release from hold: the sender was answered long ago, and the
            # releaser sends every part's failure receipt (gateway/sendtime/held.py).
            return MtResult(policy.blocked_status, reason="blocked")
        dlr_mode = policy.on_blocked == "dlr" and message.via == "smpp"
        answered = message.part_ids if dlr_mode else message.part_ids[:-1]
        if answered and self.on_blocked_receipt is not None:
            # After the answer, never before: a receipt for an id the sender has not been
            # given yet (the "dlr" answer carries it) is dropped by senders as unknown, and
            # the answer must not wait on the sender acknowledging a receipt. The answer is
            # written in this same loop step, as soon as the pipeline returns; a task's
            # first step comes after it.
            self._receipts.spawn(self.on_blocked_receipt(message, answered))
        if dlr_mode:
            return MtResult(CommandStatus.ESME_ROK, message.id, 0, reason="blocked")
        return MtResult(policy.blocked_status, reason="blocked")

    def _footer(self, message: Message, account: Account | None) -> MtResult | Wait | None:
        if not message.is_text:
            self.metrics.footers_skipped.labels("binary").inc()
            return None
        shortcode = account.shortcode if account is not None else ""
        language = account.language if account is not None else ""
        if not self._needs_url(message.country, bool(shortcode), language):
            return self._append_footer(message, shortcode, language, None)
        token = self.tokens.cached(message.account, message.e164)
        if token is not None:
            return self._append_footer(message, shortcode, language, token)
        return self._wait_token

    def _fetch_token(self, transit: Transit) -> None:
        message = transit.message
        transit.step = self._step_token
        self.tokens.fetch(message.account, message.e164, message.campaign, transit)

    def _token_fetched(self, transit: Transit, token: str | BaseException) -> None:
        message = transit.message
        if isinstance(token, BaseException):  # the ledger failed: "system error"
            log.error("no opt-out link token for a promotional message", extra=fields(
                "optout_token_failed", account=message.account, message_id=message.id,
                error=repr(token)))
            transit.settle(MtResult(CommandStatus.ESME_RSYSERR, reason="internal"))
            return
        verdict: MtResult | None
        try:
            account = self.accounts.get(message.account)
            shortcode = account.shortcode if account is not None else ""
            language = account.language if account is not None else ""
            verdict = self._append_footer(message, shortcode, language, token)
        except Exception:
            log.exception("footer failed", extra=fields(
                "policy_failed", stage="footer", account=message.account,
                message_id=message.id, country=message.country))
            verdict = MtResult(CommandStatus.ESME_RSYSERR, reason="internal")
        transit.settle(verdict)

    def _append_footer(self, message: Message, shortcode: str, language: str,
                       token: str | None) -> MtResult | None:
        url = None if token is None else self.config.optout.base_url + token
        footer = footer_for(message.country, self.config.footers, url=url, shortcode=shortcode,
                            language=language)
        if footer is None:
            return None
        text = message.text
        template = message.template
        # The footer, unless the sender's own opt-out mention leads here; the label (Spain's
        # "PUBLI "), unless the text starts with it: each on its own.
        wants_footer = bool(footer.text) and not already_has_optout(
            text, message.country, footer, self.reach.get(message.account, NO_REACH),
            source=template.source_addr, source_ton=template.source_addr_ton)
        prefix = footer.prefix if footer.prefix and not has_prefix(text, footer.prefix) else ""
        if not wants_footer and not prefix:
            return None  # nothing to add
        fitted = fit(text, footer.text if wants_footer else "", message.data_coding,
                     concat=message.concat or "udh8", prefix=prefix)
        if not fitted.added:
            self.metrics.footers_skipped.labels(fitted.reason).inc()
            if fitted.reason == "too_long":
                return MtResult(CommandStatus.ESME_RINVMSGLEN, reason="footer_too_long")
            # The sender's bytes do not decode in its own data_coding: a footer would mangle
            # them further, and a promotional message must not go out without one.
            return MtResult(CommandStatus.ESME_RSUBMITFAIL, reason="footer_impossible")
        if message.received is None:
            message.received = (message.payload, message.data_coding)
        message.payload = fitted.payload
        message.data_coding = fitted.data_coding
        message.cut = (fitted.payload, fitted.segments)
        if prefix:
            message.notes["prefix"] = prefix
        if fitted.extra_segments:
            self.metrics.footer_extra_segments.inc(fitted.extra_segments)
        if not wants_footer:
            return None
        message.notes["footer"] = footer.text
        country = message.country or "unknown"
        counter = self._footer_counters.get(country)
        if counter is None:  # labels() costs ~1 µs: once per country, not per message
            counter = self._footer_counters[country] = self.metrics.footers_total.labels(country)
        counter.inc()
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

