"""Send-time rules for promotional traffic: quiet hours, frequency caps, country packs.

Pure and clock-free like the rest of ``rules/``: the caller passes ``now``; no I/O
beyond reading the shipped data files once (``packs.toml``, ``nanp_area_codes.json``).

Modules:

- :mod:`~rules.sendtime.holidays` -- public holidays computed per country and year;
- :mod:`~rules.sendtime.zones` -- where a number may be: IANA zones and regions
  ("US", "US-FL", "CA-ON");
- :mod:`~rules.sendtime.quiet` -- :class:`QuietRule` and :func:`check` -> :class:`Verdict`
  (allowed?, refused by which rules, ``next_open``, hold or reject);
- :mod:`~rules.sendtime.caps` -- :class:`FrequencyCap`, the caps that apply to a
  number, and the Redis key and window to count them with;
- :mod:`~rules.sendtime.packs` -- the shipped country packs and :func:`rules_for`.

Wiring it into the gateway (not done here):

1. **At config load**, build the rules once and refuse a configuration that can
   never send somewhere::

       shipped = rules_for(config.compliance.packs)            # e.g. ["FR", "US"]
       quiet = shipped.quiet + tuple(QuietRule.parse(t) for t in config.quiet_hours)
       caps = shipped.caps + tuple(FrequencyCap.parse(t) for t in config.frequency_caps)
       if closed := closed_regions(quiet): raise ConfigError(...)

   ``QuietRule.parse`` / ``FrequencyCap.parse`` raise ``ValueError`` naming the
   bad key, ready to be prefixed with ``[[quiet_hours]] #2``.

2. **For each promotional MT** (after the suppression check), with the gateway's
   injectable clock::

       where = placement(e164)                   # cached per number
       verdict = check(where, clock.now(), quiet)
       if not verdict.allowed:
           verdict.action == "hold"   -> keep the message, due at verdict.next_open
           verdict.action == "reject" -> quiet_status; HTTP 422 reason "quiet_hours",
                                         retry_after = verdict.next_open (may be None)

   ``verdict.refused_by`` names the rules (with ``source``) for logs and reports.

3. **Caps**, when the message is actually sent (at release for a held one)::

       for cap in caps_for(where, caps): key = cap_key(account, e164, cap), cap.window_ms

   counted atomically in Redis over all those keys (one hash tag per account and
   recipient: see :mod:`~rules.sendtime.caps`); over any cap -> ``cap_status``.

4. **At release** of a held message, run steps 2 and 3 again with the release
   time: the window may have closed again (or a rule changed) and caps count then.
"""

from rules.sendtime.caps import FrequencyCap, allows, cap_key, caps_for, parse_window
from rules.sendtime.holidays import Holiday, easter, holidays, is_holiday
from rules.sendtime.packs import Pack, SendTimeRules, all_packs, rules_for
from rules.sendtime.quiet import HORIZON, QuietRule, Verdict, check, closed_regions
from rules.sendtime.zones import Placement, country_zones, placement

__all__ = [
    "HORIZON",
    "FrequencyCap",
    "Holiday",
    "Pack",
    "Placement",
    "QuietRule",
    "SendTimeRules",
    "Verdict",
    "all_packs",
    "allows",
    "cap_key",
    "caps_for",
    "check",
    "closed_regions",
    "country_zones",
    "easter",
    "holidays",
    "is_holiday",
    "parse_window",
    "placement",
    "rules_for",
]
