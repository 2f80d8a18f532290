"""Send-time rules as one MT pipeline stage, right after the opt-out policy: quiet hours,
then frequency caps, for promotional messages only.

    transactional                      -> on its way (never waits, never held or capped)
    promotional, no rule for its number -> on its way
    quiet hours (rules.sendtime.quiet.check, every rule that matches the number)
      outside a window, action "reject" -> policy.quiet_status, reason "quiet_hours",
                                           retry_after = the window's next opening
      outside a window, action "hold"   -> the ``Holder`` keeps it (it answers the sender);
                                           without one: refused as for "reject"
    frequency caps (gateway/sendtime/caps.py: Redis, one Lua call per message)
      every cap allows                  -> counted, on its way
      a cap is full                     -> policy.cap_status, reason "frequency_cap"
      Redis unknown (down, slow)        -> refused with the policy's temporary status
                                           (fail closed; policy.fail_closed = false lets
                                           it through uncounted)

A message released from hold comes through the stages again with
``message.notes["released"] = "1"``: the window is checked again at release (one that
closed again holds it again) and the caps count then, since a held message is counted
only when it passes this stage. Time is the injected ``Clock``'s
(gateway/sendtime/clock.py), never the system's.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from gateway.config.model import Config
from gateway.message import Message
from gateway.mt.pipeline import FREQUENCY_CAP, QUIET_HOURS, MtResult, Transit, Wait
from gateway.mt.policy import PROMOTIONAL, UNKNOWN_STATE_STATUS
from gateway.observability.logs import fields
from gateway.observability.metrics import Metrics
from gateway.sendtime.caps import CapCheck, CapCounter, cap_keys
from gateway.sendtime.clock import Clock
from gateway.sendtime.places import Places
from rules.sendtime.caps import FrequencyCap
from rules.sendtime.quiet import QuietRule, Verdict, check

__all__ = ["CAP_UNKNOWN", "Holder", "SendTimeStage"]

log = logging.getLogger("stopgate.sendtime")

#: ``MtResult.reason`` of a promotional message refused because its caps could not be
#: counted (Redis unknown): temporary, like "suppression_unknown".
CAP_UNKNOWN = "frequency_cap_unknown"
_UNKNOWN_LOG_EVERY = 5.0  # seconds between "caps unknown" warnings


class Holder(Protocol):
    """Keeps a promotional message until its recipient's window opens.

    ``hold`` settles the transit itself: OK at once after the durable write, or
    ESME_RMSGQFUL (the account's held backlog is full, or the write failed). ``due`` is
    when the window opens (UTC; None: not within the horizon searched), ``refused_by``
    the windows of the rules that refused it ("FR mon-sat 08:00-20:00, not on public
    holidays").
    """

    def hold(self, transit: Transit, due: datetime | None,
             refused_by: tuple[str, ...]) -> None: ...


class _Hold:
    """The deferred verdict of a message to hold: hands its transit to the holder."""

    __slots__ = ("due", "holder", "refused_by")

    def __init__(self, holder: Holder, due: datetime | None,
                 refused_by: tuple[str, ...]) -> None:
        self.holder = holder
        self.due = due
        self.refused_by = refused_by

    def __call__(self, transit: Transit) -> None:
        self.holder.hold(transit, self.due, self.refused_by)


class SendTimeStage:
    """The MT stage that applies quiet hours and frequency caps (see the module docstring)."""

    name = "sendtime"

    def __init__(self, config: Config, clock: Clock, counter: CapCounter,
                 metrics: Metrics, holder: Holder | None = None) -> None:
        rules = config.sendtime()
        self.quiet: tuple[QuietRule, ...] = rules.quiet
        self.caps: tuple[FrequencyCap, ...] = rules.caps
        self.clock = clock
        self.counter = counter
        self.metrics = metrics
        self.holder = holder
        self.quiet_status = config.policy.quiet_status
        self.cap_status = config.policy.cap_status
        self.fail_closed = config.policy.fail_closed
        #: Every region some rule names: a number in none of them is on its way at once.
        self._quiet_regions = frozenset(rule.region for rule in self.quiet)
        self.regions = self._quiet_regions | {cap.region for cap in self.caps}
        #: Where a recipient may be: per country where that decides it, else per number.
        self.places = Places(self.regions)
        #: The caps that apply, by a number's regions (a few distinct sets in practice).
        self._caps_by_regions: dict[frozenset[str], tuple[FrequencyCap, ...]] = {}
        self._no_holder_logged = False
        self._unknown_logged_at = -_UNKNOWN_LOG_EVERY
        self._unknown_count = 0
        self._wait_caps: Wait = self._count
        self._step_counted: Callable[[Transit, Any], None] = self._counted

    async def drain(self, timeout: float) -> None:
        """Wait (bounded) for cap checks under way; at shutdown."""
        await self.counter.drain(timeout)

    # --- the stage ----------------------------------------------------------------------

    def __call__(self, message: Message) -> MtResult | Wait | None:
        if message.klass != PROMOTIONAL or not self.regions:
            return None
        where = self.places(message.country, message.e164)
        if where is None:
            return None
        regions = where.regions
        if not regions & self.regions:
            return None
        if regions & self._quiet_regions:
            verdict = check(where, self.clock.now(), self.quiet)
            if not verdict.allowed:
                return self._outside(message, verdict)
        caps = self._caps_by_regions.get(regions)
        if caps is None:
            caps = self._caps_by_regions[regions] = tuple(
                cap for cap in self.caps if cap.region in regions)
        return self._wait_caps if caps else None

    def _outside(self, message: Message, verdict: Verdict) -> MtResult | Wait:
        """Outside the window: hold (with a holder), else refuse with quiet_status."""
        refused_by = tuple(rule.window for rule in verdict.refused_by)
        if verdict.action == "hold":
            if self.holder is not None:
                return _Hold(self.holder, verdict.next_open, refused_by)
            if not self._no_holder_logged:
                self._no_holder_logged = True
                log.warning("a quiet-hours rule says hold, but this gateway cannot hold "
                            "messages: they are refused with quiet_status instead (logged "
                            "once)", extra=fields("sendtime_hold_unavailable",
                                                  rules=list(refused_by)))
        return MtResult(self.quiet_status, reason=QUIET_HOURS, retry_after=verdict.next_open)

    # --- caps ---------------------------------------------------------------------------

    def _count(self, transit: Transit) -> None:
        message = transit.message
        where = self.places(message.country, message.e164)
        assert where is not None  # the stage asked it first
        caps = self._caps_by_regions[where.regions]
        keys, windows, maxima = cap_keys(message.account, message.e164, caps)
        now_ms = int(self.clock.now().timestamp() * 1000)
        transit.step = self._step_counted
        self.counter.check(CapCheck(keys, windows, maxima, message.id, now_ms), transit)

    def _counted(self, transit: Transit, outcome: int | Exception) -> None:
        if isinstance(outcome, Exception):
            transit.settle(self._unknown(transit.message, outcome))
        elif outcome:
            transit.settle(MtResult(self.cap_status, reason=FREQUENCY_CAP))
        else:
            transit.settle(None)

    def _unknown(self, message: Message, error: Exception) -> MtResult | None:
        """Caps not counted (Redis down or slow): refused, like an unknown suppression
        state; with policy.fail_closed = false let through uncounted. One warning per
        ``_UNKNOWN_LOG_EVERY`` seconds with how many it stands for."""
        self._unknown_count += 1
        now = time.monotonic()
        if now - self._unknown_logged_at >= _UNKNOWN_LOG_EVERY:
            what = ("promotional refused" if self.fail_closed
                    else "promotional let through uncounted (fail_closed = false)")
            log.warning("frequency caps unknown: %s", what, extra=fields(
                "frequency_caps_unknown", error=str(error),
                messages_since_last=self._unknown_count))
            self._unknown_logged_at = now
            self._unknown_count = 0
        if self.fail_closed:
            return MtResult(UNKNOWN_STATE_STATUS, reason=CAP_UNKNOWN)
        return None
