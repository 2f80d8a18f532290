"""Country packs: the send-time rules each country ships with, as data (``packs.toml``).

    quiet, caps = rules_for(["FR", "US"])
    [rule.window for rule in quiet]
      -> ["FR mon-sat 08:00-20:00, not on public holidays", "US mon-sun 08:00-21:00",
          "US-FL mon-sun 08:00-20:00", "US-OK mon-sun 08:00-20:00"]
    [cap.description for cap in caps]
      -> ["US-FL: at most 3 per 24h", "US-OK: at most 3 per 24h"]

Packs: FR, US (federal, with Florida and Oklahoma), DE, ES, IT, UK, NL, BE, PT,
CA; ``"GB"`` names the UK pack too. Each rule carries its ``source`` (law and
article, regulator's or industry code, or "no law" and the practice shipped) and
its ``certainty`` ("high": a statute covering texts; "medium": a code carriers
enforce on SMS; "low": no rule for SMS, a rule for calls read cautiously or
common practice). ``packs.toml`` explains each choice; the README's "Compliance
packs" chapter has the table.

The file is read and every rule parsed once, with the same parsers as
``config.toml``'s ``[[quiet_hours]]``/``[[frequency_caps]]`` (so the packs are
valid config by construction); a malformed file fails at the first use, naming
the pack.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, NamedTuple

from rules.sendtime.caps import FrequencyCap
from rules.sendtime.quiet import QuietRule

__all__ = ["Pack", "SendTimeRules", "all_packs", "pack_name", "rules_for"]

_ALIASES = {"GB": "UK"}


@dataclass(frozen=True, slots=True)
class Pack:
    """One country's shipped send-time rules."""

    name: str
    title: str
    quiet: tuple[QuietRule, ...]
    caps: tuple[FrequencyCap, ...]
    note: str = ""
    references: tuple[str, ...] = ()


class SendTimeRules(NamedTuple):
    """Quiet-hour rules and frequency caps, in pack order."""

    quiet: tuple[QuietRule, ...]
    caps: tuple[FrequencyCap, ...]


def pack_name(name: str) -> str:
    """The pack a name means: "fr" -> "FR", "GB" -> "UK"; ValueError when there is none."""
    key = name.strip().upper()
    key = _ALIASES.get(key, key)
    if key not in all_packs():
        raise ValueError(f"no compliance pack {name!r}; packs: {', '.join(all_packs())}")
    return key


def rules_for(packs: Iterable[str]) -> SendTimeRules:
    """The send-time rules of the named packs (each pack once, in the order named)."""
    chosen = dict.fromkeys(pack_name(name) for name in packs)
    table = all_packs()
    return SendTimeRules(
        quiet=tuple(rule for name in chosen for rule in table[name].quiet),
        caps=tuple(cap for name in chosen for cap in table[name].caps),
    )


@cache
def all_packs() -> Mapping[str, Pack]:
    """Every shipped pack by name, in file order."""
    raw = resources.files("rules.sendtime").joinpath("packs.toml").read_text("utf-8")
    return {name: _pack(name, body) for name, body in tomllib.loads(raw)["packs"].items()}


def _pack(name: str, body: Mapping[str, Any]) -> Pack:
    try:
        return Pack(
            name=name,
            title=body["title"],
            quiet=tuple(QuietRule.parse(t, source="", certainty="")
                        for t in body.get("quiet_hours", ())),
            caps=tuple(FrequencyCap.parse(t, source="", certainty="")
                       for t in body.get("frequency_caps", ())),
            note=" ".join(body.get("note", "").split()),
            references=tuple(body.get("references", ())),
        )
    except (KeyError, ValueError) as error:
        raise ValueError(f"packs.toml: pack {name}: {error}") from error
