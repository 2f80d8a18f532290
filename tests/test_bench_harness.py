"""The benchmark's own bookkeeping (bench/): no timing, only what its validation relies on.

`make bench` fails a run whose counts do not add up; these tests make sure a
failure there means the proxy, not the harness: the workload's mix is what it
claims, the proxy's classifier classes every bench message as the generator
expects, and the sink counts a multipart message once and sees its footer.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"
sys.path.insert(0, str(BENCH))

import bench_config  # noqa: E402
import sink  # noqa: E402
import validate  # noqa: E402
import wire  # noqa: E402
import workload  # noqa: E402


def test_ring_has_the_mix_the_issue_asks_for() -> None:
    ring = workload.build_ring(7)
    assert len(ring) == workload.RING
    classes = Counter(t.klass for t in ring)
    assert classes == {"transactional": 700, "promotional": 300}
    assert sum(t.opted_out for t in ring) == 30  # 10 % of the promotional ones
    assert sum(t.multipart for t in ring) == 200
    assert {len(t.parts) for t in ring if t.multipart} == {2, 3}
    assert {t.plan.country for t in ring} == {"FR", "GB", "DE", "ES"}


def test_policy_off_ring_is_all_explicitly_transactional() -> None:
    ring = workload.build_ring(7, policy=False)
    assert all(t.klass == "transactional" and not t.opted_out for t in ring)
    assert all(frame[16:20] == b"TRX\0" for t in ring for frame in t.parts)


def test_every_bench_message_classifies_as_the_generator_expects(tmp_path: Path) -> None:
    config = tmp_path / "bench.toml"
    bench_config.write_config(config, smpp_port=1, http_port=2, data_dir=tmp_path / "data",
                              redis_url="unix:///tmp/none.sock", sink_port=3, workers=2,
                              window=64, upstream_sessions=1, upstream_window=10)
    assert bench_config.check_classes(config) == []


@pytest.mark.parametrize(("account", "policy"), [(bench_config.ACCOUNT, True),
                                                (bench_config.FORWARD_ACCOUNT, False)])
def test_every_bench_account_may_send_from_its_rings_sources(
        tmp_path: Path, account: str, policy: bool) -> None:
    from gateway.config.model import load_config
    from gateway.mt.pipeline import sender_ownership
    from smpp.codec import decode

    config = tmp_path / "bench.toml"
    bench_config.write_config(config, smpp_port=1, http_port=2, data_dir=tmp_path / "data",
                              redis_url="unix:///tmp/none.sock", sink_port=3, workers=2,
                              window=64, upstream_sessions=1, upstream_window=10)
    ownership = sender_ownership(load_config(config, env={}).accounts)
    sources = {(pdu.source_addr, pdu.source_addr_ton)
               for t in workload.build_ring(7, policy=policy) for frame in t.parts
               for pdu in [decode(frame)]}
    assert sources
    assert [s for s in sources if not ownership.may_send(account, *s)] == []


def test_recipients_are_fresh_per_message_and_opted_out_ones_are_in_the_list() -> None:
    recipients = workload.Recipients(stream=3, suppressed_total=1000)
    fresh = workload.FRESH["FR"]
    assert len({recipients.digits(fresh) for _ in range(1000)}) == 1000
    plan, scope = workload.SUPPRESSED["GB"]
    listed = {number for s, number in workload.suppressed_numbers(1000) if s == scope}
    for _ in range(50):
        assert f"+{plan.prefix}{recipients.digits(plan).decode()}" in listed


def _udh_part(text: bytes, ref: int, total: int, number: int) -> bytearray:
    frame, _ = wire.submit_sm(service_type="", source="36173", destination="33640000001",
                              short_message=bytes((5, 0, 3, ref, total, number)) + text,
                              esm_class=wire.ESM_UDHI)
    return frame


def test_sink_counts_a_multipart_message_once_with_its_footer() -> None:
    counts = sink.Counts(first_id=1)
    parts = [_udh_part(b"Black Friday: 30% off ", 9, 2, 2),  # out of order, as allowed
             _udh_part(b"everything. STOP au 36173", 9, 2, 1)]
    for frame in parts:
        counts.message(frame, 0, len(frame))
    assert (counts.messages, counts.footer_fr, counts.footer_url) == (1, 1, 0)
    assert counts.parts == {}


@pytest.mark.parametrize(("text", "fr", "url"), [
    (b"Sale now on\nOpt-out: no-s.ms/AbC123xyz", 0, 1),
    (b"Rebajas\nBaja: no-s.ms/AbC123xyz", 0, 1),
    (b"Your code is 123456", 0, 0),
])
def test_sink_tells_footers_apart(text: bytes, fr: int, url: int) -> None:
    counts = sink.Counts(first_id=1)
    frame, _ = wire.submit_sm(service_type="", source="36173", destination="447200000001",
                              short_message=text)
    counts.message(frame, 0, len(frame))
    assert (counts.messages, counts.footer_fr, counts.footer_url) == (1, fr, url)


def test_a_run_that_does_not_add_up_fails() -> None:
    gen = {"sent": {"messages": 10, "pdus": 12}, "accepted": 9, "blocked": 1,
           "blocked_unexpected": 0, "leaked": 0, "errors": {}, "unanswered": 0,
           "expected": {"blocked": 1, "footer_fr": 2, "footer_url": 1}, "receipts": {}}
    good_sink = {"messages": 9, "submit_sm": 11, "footer_fr": 2, "footer_url": 1,
                 "incomplete_multipart": 0, "dlr_sent": 0, "dlr_acked": 0, "dlr_refused": 0}
    problems, _ = validate.check(gen, good_sink, policy=True, receipts=False, proxied=True)
    assert problems == []
    lost = good_sink | {"messages": 8}
    problems, _ = validate.check(gen, lost, policy=True, receipts=False, proxied=True)
    assert problems == ["messages at the sink: 8, expected 9"]
    # With send-time rules on, every promotion that went out (the footered ones) counted.
    problems, _ = validate.check(gen, good_sink, policy=True, receipts=False, proxied=True,
                                 capped=3)
    assert problems == []
    problems, _ = validate.check(gen, good_sink, policy=True, receipts=False, proxied=True,
                                 capped=2)
    assert problems == ["promotional messages counted by the frequency caps (new fc:* keys): "
                        "2, expected 3"]


def test_the_tls_scenario_config_loads_with_both_sides_over_tls(tmp_path: Path) -> None:
    from gateway.config.model import load_config

    config = tmp_path / "bench.toml"
    pki = bench_config.Pki(tmp_path / "tls")
    bench_config.write_config(config, smpp_port=1, http_port=2, data_dir=tmp_path / "data",
                              redis_url="unix:///tmp/none.sock", sink_port=3, workers=2,
                              window=64, upstream_sessions=1, upstream_window=10,
                              tls=pki, tls_port=4)
    loaded = load_config(config, env={})
    assert loaded.server.smpp_tls_listen is not None and loaded.server.smpp_tls_listen.port == 4
    assert loaded.server.tls_cert == pki.cert and loaded.upstreams[0].tls
    assert loaded.upstreams[0].tls_ca == pki.ca and loaded.upstreams[0].tls_verify


def test_the_two_instance_scenario_config_shares_the_ledger_file(tmp_path: Path) -> None:
    from scenarios import SCENARIOS

    from gateway.config.model import load_config

    assert SCENARIOS["two-instance"].instances == 2 and SCENARIOS["two-instance"].policy
    config = tmp_path / "bench.toml"
    shared = tmp_path / "data" / "ledger.sqlite3"
    bench_config.write_config(config, smpp_port=1, http_port=2, data_dir=tmp_path / "data-1",
                              redis_url="unix:///tmp/none.sock", sink_port=3, workers=1,
                              window=64, upstream_sessions=1, upstream_window=10,
                              ledger=f"sqlite:///{shared}")
    loaded = load_config(config, env={})
    assert loaded.storage.ledger == f"sqlite:///{shared}"
    assert [a.api_key for a in loaded.accounts if a.system_id == bench_config.ACCOUNT] == [
        bench_config.API_KEY]


def test_the_compliance_scenario_config_checks_and_counts_every_promotion(
        tmp_path: Path) -> None:
    """Every promotional recipient of the workload has a cap and is inside its windows
    at the scenario's clock (and an hour later: the clock runs on from each start), so
    the run's counts are the full-policy ones and every promotion is counted."""
    from datetime import timedelta

    from scenarios import SCENARIOS

    from gateway.config.model import load_config
    from gateway.sendtime.clock import parse_instant
    from rules.sendtime.caps import caps_for
    from rules.sendtime.quiet import applicable, check
    from rules.sendtime.zones import placement

    scenario = SCENARIOS["compliance"]
    assert scenario.compliance and scenario.policy and scenario.fixed_rates == (300.0,)
    assert not SCENARIOS["policy"].compliance
    config = tmp_path / "bench.toml"
    bench_config.write_config(config, smpp_port=1, http_port=2, data_dir=tmp_path / "data",
                              redis_url="unix:///tmp/none.sock", sink_port=3, workers=2,
                              window=64, upstream_sessions=1, upstream_window=10,
                              compliance=True)
    loaded = load_config(config, env={})
    assert loaded.compliance.packs == bench_config.COMPLIANCE_PACKS
    rules = loaded.sendtime()
    assert bench_config.check_classes(config) == []
    start = parse_instant(bench_config.COMPLIANCE_CLOCK)
    recipients = workload.Recipients(stream=1, suppressed_total=1000)
    for plan in workload.FRESH.values():
        number = f"+{plan.prefix}{recipients.digits(plan).decode()}"
        where = placement(number)
        assert caps_for(where, rules.caps), number
        assert all(cap.max >= 2 for cap in caps_for(where, rules.caps))
        for now in (start, start + timedelta(hours=1)):
            assert check(where, now, rules.quiet).allowed, (number, now)
        assert bool(applicable(where, rules.quiet)) == (plan.country == "FR")
    plain = tmp_path / "plain.toml"
    bench_config.write_config(plain, smpp_port=1, http_port=2, data_dir=tmp_path / "data",
                              redis_url="unix:///tmp/none.sock", sink_port=3, workers=2,
                              window=64, upstream_sessions=1, upstream_window=10)
    assert load_config(plain, env={}).sendtime().caps == ()
