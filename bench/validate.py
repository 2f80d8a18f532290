"""Does a scenario's run add up? Generator reports merged, then checked against the sink.

Every message the generators sent must be answered; each answer must be what the
workload predicts for that message (accepted, or blocked when it went to an
opted-out number under the full policy); every accepted message must have
reached the sink whole, and exactly the predicted ones with their footer, by
kind. With send-time rules on (the compliance scenario), every promotional message that
went out must have been counted in Redis: one new frequency-cap key each (every recipient
is new and a cap covers every country of the workload). With receipts flowing, every
part the sink took must come back to the generator as a DELIVRD receipt with an id the
generator was given, and every part of a blocked multipart message answered before its
verdict as REJECTD.
"""

from __future__ import annotations

import collections
from collections.abc import Iterable
from typing import Any


def merge(reports: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """One report out of several (processes, phases): counts summed, latencies joined."""
    merged: dict[str, Any] = {}
    for report in reports:
        for key, value in report.items():
            if key == "window":
                continue
            if isinstance(value, dict):
                into = merged.setdefault(key, collections.Counter())
                into.update(value)
            elif isinstance(value, list):
                merged.setdefault(key, []).extend(value)
            elif value is None:
                merged.setdefault(key, None)
            else:
                merged[key] = (merged.get(key) or 0) + value
    for key, value in merged.items():
        if isinstance(value, collections.Counter):
            merged[key] = dict(value)
    return merged


def check(gen: dict[str, Any], sink: dict[str, Any], *, policy: bool, receipts: bool,
          proxied: bool, unknown_ids: int | None = None, capped: int | None = None
          ) -> tuple[list[str], dict[str, Any]]:
    """(problems, the figures compared) for one scenario; no problems = it adds up."""
    expected = gen.get("expected", {})
    got = gen.get("receipts", {})
    sent = gen["sent"]["messages"]
    blocked_expected = expected.get("blocked", 0) if policy else 0
    figures = {
        "sent_messages": sent,
        "sent_pdus": gen["sent"]["pdus"],
        "accepted": gen["accepted"],
        "blocked": gen["blocked"],
        "blocked_expected": blocked_expected,
        "sink_messages": sink["messages"],
        "sink_pdus": sink["submit_sm"],
        "footer_fr": sink["footer_fr"],
        "footer_fr_expected": expected.get("footer_fr", 0) if policy else 0,
        "footer_url": sink["footer_url"],
        "footer_url_expected": expected.get("footer_url", 0) if policy else 0,
        "receipts_delivered": got.get("DELIVRD", 0),
        "receipts_rejected": got.get("REJECTD", 0),
        "receipts_refused_by_proxy": sink["dlr_refused"],
        "receipt_unknown_ids": unknown_ids,
        "errors": gen["errors"],
    }
    if capped is not None:
        figures["frequency_cap_keys"] = capped
    problems: list[str] = []

    def expect(what: str, value: object, wanted: object) -> None:
        if value != wanted:
            problems.append(f"{what}: {value}, expected {wanted}")

    expect("unanswered submit_sm", gen["unanswered"], 0)
    expect("error responses", gen["errors"], {})
    expect("accepted + blocked", gen["accepted"] + gen["blocked"], sent)
    expect("blocked", gen["blocked"], blocked_expected)
    if policy:
        expect("blocked although not opted out", gen["blocked_unexpected"], 0)
        expect("promotional to opted-out numbers let through", gen["leaked"], 0)
    expect("messages at the sink", sink["messages"], gen["accepted"])
    expect("multipart messages left incomplete at the sink", sink["incomplete_multipart"], 0)
    if not proxied or not policy:  # nothing re-segmented: the sink sees the generator's PDUs
        expect("PDUs at the sink", sink["submit_sm"], gen["sent"]["pdus"])
    expect("footered (France, STOP au)", figures["footer_fr"], figures["footer_fr_expected"])
    expect("footered (opt-out link)", figures["footer_url"], figures["footer_url_expected"])
    if receipts:
        # Every part's receipt acknowledged by the proxy in the end (it may refuse one for
        # a while: the sink sends it again), and at the generator at least once; more than
        # once only for receipts the proxy refused after passing them on (at-least-once).
        expect("receipts acknowledged by the proxy", sink["dlr_acked"], sink["submit_sm"])
        delivered = figures["receipts_delivered"]
        if not sink["dlr_acked"] <= delivered <= sink["dlr_sent"]:
            problems.append(f"DELIVRD receipts at the generator: {delivered}, expected "
                            f"{sink['dlr_acked']} (up to {sink['dlr_sent']} with retries)")
        expect("receipts naming an id the generator was never given", unknown_ids, 0)
    else:
        expect("DELIVRD receipts at the generator", figures["receipts_delivered"], 0)
    if capped is not None:
        expect("promotional messages counted by the frequency caps (new fc:* keys)", capped,
               figures["footer_fr_expected"] + figures["footer_url_expected"])
    if proxied and policy:
        expect("REJECTD receipts (earlier parts of blocked multipart messages)",
               figures["receipts_rejected"], expected.get("rejected_receipts", 0))
    return problems, figures
