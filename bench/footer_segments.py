"""Segments per 1,000 promotional messages of the bench workload, by footer defaults.

    python bench/footer_segments.py [--seed 0]

Takes the bench workload's ring (``workload.build_ring``: its promotional messages,
their texts, multipart forms and recipients' countries, 40 % FR / 30 % GB / 15 % DE /
15 % ES), and runs the gateway's own footer code on each promotional message that is
sent (not the opted-out ones): ``footer_for``, ``already_has_optout`` and ``fit``,
with the bench account (shortcode 36173, language of default_region FR, sending from
``workload.SOURCE``), the opt-out mentions judged as the policy stage judges them. It counts
the parts each message goes out in, under two sets of defaults:

- **before issue 12**: ``FR: STOP au {shortcode}``, ``*: Opt-out: {url}``, links
  ``https://no-s.ms/`` + 12 base64url characters (38 characters with the newline);
- **now**: the built-in ``[[footers]]`` (``gateway.config.model.DEFAULT_FOOTERS``) and
  ``optout.base_url`` default, links of 9 base62 characters.

No network, no gateway: the same pure functions the policy stage calls.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import workload

from gateway.config.model import Config
from gateway.config.values import base_url_host
from gateway.ledger.model import new_token
from rules.footers import FooterLike, already_has_optout, fit, footer_for, optout_reach
from smpp.codec import decode
from smpp.pdu import SubmitSm
from smpp.segments import concat_info
from smpp.text import decode_text


@dataclass(frozen=True)
class Entry:
    country: str
    text: str
    language: str = ""


OLD_FOOTERS = (Entry("FR", "STOP au {shortcode}"), Entry("*", "Opt-out: {url}"))
OLD_BASE_URL = "https://no-s.ms/"
OLD_TOKEN = "AbC123xyz_-Q"  # 12 base64url characters: every character one GSM septet
SOURCE_TON = 5  # wire.submit_sm sends every source with TON 5


@dataclass(frozen=True)
class Promotion:
    text: str
    data_coding: int
    country: str
    parts_sent: int  # the parts the sender cut it into


def promotions(seed: int) -> list[Promotion]:
    """The promotional messages of one ring that are sent (not opted out), as the
    gateway reassembles them."""
    found = []
    for template in workload.build_ring(seed):
        if template.klass != workload.PROMOTIONAL or template.opted_out:
            continue
        pdus = [decode(bytes(frame)) for frame in template.parts]
        payload = b""
        for pdu in pdus:
            assert isinstance(pdu, SubmitSm)
            info = concat_info(pdu.esm_class, pdu.short_message, pdu.tlvs)
            payload += pdu.short_message if info is None else info.payload
        first = pdus[0]
        assert isinstance(first, SubmitSm)
        found.append(Promotion(decode_text(payload, first.data_coding), first.data_coding,
                               template.plan.country, len(pdus)))
    return found


def parts_with_footers(messages: Sequence[Promotion], footers: Sequence[FooterLike],
                       base_url: str, token: str, language: str) -> tuple[int, int]:
    """(parts sent in all, footer characters in all, newline included)."""
    parts = footer_chars = 0
    # The bench account as bench_config.py writes it: numbers = shortcode, region FR.
    reach = optout_reach((workload.SHORTCODE,), "FR", base_url_host(base_url))
    for message in messages:
        footer = footer_for(message.country, footers, url=base_url + token,
                            shortcode=workload.SHORTCODE, language=language)
        if footer is None or already_has_optout(
                message.text, message.country, footer, reach, source=workload.SOURCE,
                source_ton=SOURCE_TON):
            parts += message.parts_sent
            continue
        fitted = fit(message.text, footer.text, message.data_coding)
        assert fitted.added, fitted.reason
        parts += fitted.parts_after
        footer_chars += 1 + len(footer.text)
    return parts, footer_chars


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    messages = promotions(args.seed)
    config = Config()
    language = "fr"  # the bench account's default_region is FR
    bare = sum(m.parts_sent for m in messages)
    old, old_chars = parts_with_footers(messages, OLD_FOOTERS, OLD_BASE_URL, OLD_TOKEN,
                                        language)
    new, new_chars = parts_with_footers(messages, config.footers, config.optout.base_url,
                                        new_token(), language)
    n = len(messages)
    print(f"bench workload, seed {args.seed}: {n} promotional messages sent per ring "
          f"(40 % FR, 30 % GB, 15 % DE, 15 % ES; {sum(m.parts_sent > 1 for m in messages)} "
          f"multipart)")
    print(f"{'':32}{'segments per 1,000':>20}{'mean footer chars':>20}")
    print(f"{'without a footer':32}{1000 * bare / n:>20.0f}{'':>20}")
    print(f"{'footers before issue 12':32}{1000 * old / n:>20.0f}{old_chars / n:>20.1f}")
    print(f"{'footers now (built-in defaults)':32}{1000 * new / n:>20.0f}{new_chars / n:>20.1f}")
    # The workload's texts sit where any footer costs a segment (its long promotions are
    # cut to be just short of full parts), so the same promotions at every length from 1
    # to 459 GSM characters (1 to 3 parts) show what the shorter links change.
    old = new = 0.0
    for country, share in workload.COUNTRY_MIX:  # shares of 100
        sweep = [Promotion(_SWEEP_TEXT[:length], 0, country, 0) for length in range(1, 460)]
        old += share / 100 * parts_with_footers(sweep, OLD_FOOTERS, OLD_BASE_URL, OLD_TOKEN,
                                                language)[0] / len(sweep)
        new += share / 100 * parts_with_footers(sweep, config.footers, config.optout.base_url,
                                                new_token(), language)[0] / len(sweep)
    print(f"the same promotions at every length 1-459 GSM characters, same country mix: "
          f"{1000 * old:.0f} segments per 1,000 before, {1000 * new:.0f} now")
    return 0


_SWEEP_TEXT = (workload.PROMOTIONAL_LONG.decode() * 2)[:459]


if __name__ == "__main__":
    raise SystemExit(main())
