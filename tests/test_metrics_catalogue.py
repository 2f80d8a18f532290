"""Every metric SPEC.md fixes is exported under its name, type and labels, with help text.

SPEC.md's "Metrics" section fixes the names (labels may grow). Its list is
copied into SPEC_METRICS below, so this test runs from a bare clone; when
SPEC.md is found beside the repository (``../shared/SPEC.md``, as on the
project's machines and in CI) a further test checks the copy against it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gateway.observability.metrics import Metrics
from tests.metric_names import exposed_series, families

REPO = Path(__file__).resolve().parent.parent
SPEC = REPO.parent / "shared" / "SPEC.md"

#: SPEC.md's metrics: series name -> (type, labels SPEC names).
SPEC_METRICS: dict[str, tuple[str, tuple[str, ...]]] = {
    "stopgate_mt_total": ("counter", ("account", "class", "outcome")),
    "stopgate_mo_total": ("counter", ("kind",)),
    "stopgate_optouts_total": ("counter", ("source",)),
    "stopgate_footers_total": ("counter", ("country",)),
    "stopgate_upstream_sessions": ("gauge", ("upstream", "state")),
    "stopgate_upstream_inflight": ("gauge", ("upstream",)),
    "stopgate_submit_latency_seconds": ("histogram", ()),
    "stopgate_suppression_lookup_seconds": ("histogram", ()),
    "stopgate_webhook_deliveries_total": ("counter", ("outcome",)),
    "stopgate_suppressed_numbers": ("gauge", ()),
}

#: Metrics SPEC.md names outside its "Metrics" section (its "Second wave"), and the
#: counters that go with them: series name -> (type, labels).
SECOND_WAVE_METRICS: dict[str, tuple[str, tuple[str, ...]]] = {
    "stopgate_held_messages": ("gauge", ("account",)),
    "stopgate_held_total": ("counter", ("account", "outcome")),
}

#: SPEC metrics the code does not export yet, each with the reason. A name here is
#: skipped by the checks below and reported by test_known_missing_are_still_missing
#: once it appears, so the entry gets removed. Empty: every SPEC metric exists.
KNOWN_MISSING: dict[str, str] = {}


def _family_of(series: str, kind: str) -> str:
    """SPEC names a counter by its ``_total`` series and a histogram by its family."""
    if kind == "counter":
        assert series.endswith("_total"), series
        return series.removesuffix("_total")
    return series


@pytest.mark.parametrize("series", sorted(set(SPEC_METRICS) - set(KNOWN_MISSING)))
def test_spec_metric_is_exported_with_its_type_and_labels(series: str) -> None:
    kind, spec_labels = SPEC_METRICS[series]
    found = families()
    family = found.get(_family_of(series, kind))
    assert family is not None, f"{series} (SPEC.md) is not in gateway.observability.metrics"
    assert family.type == kind, f"{series} is a {family.type}, SPEC.md says {kind}"
    missing = set(spec_labels) - set(family.labels)
    assert not missing, f"{series} lacks the label(s) SPEC.md names: {sorted(missing)}"
    # What Prometheus scrapes is the SPEC name itself (for a histogram, its series).
    scraped = series if kind != "histogram" else series + "_bucket"
    assert scraped in exposed_series()


@pytest.mark.parametrize("series", sorted(SECOND_WAVE_METRICS))
def test_second_wave_metric_is_exported_with_its_type_and_labels(series: str) -> None:
    kind, labels = SECOND_WAVE_METRICS[series]
    family = families().get(_family_of(series, kind))
    assert family is not None, f"{series} is not in gateway.observability.metrics"
    assert (family.type, family.labels) == (kind, labels)


@pytest.mark.skipif(not SPEC.is_file(), reason="SPEC.md is not beside the repository")
def test_second_wave_gauges_are_the_ones_spec_md_names() -> None:
    text = SPEC.read_text(encoding="utf-8")
    for series, (kind, _labels) in SECOND_WAVE_METRICS.items():
        if kind == "gauge":
            assert f"`{series}`" in text, f"SPEC.md does not name {series}"


def test_every_metric_has_help_text_and_the_stopgate_prefix() -> None:
    found = families()
    assert len(found) >= len(SPEC_METRICS)
    for family in found.values():
        assert family.name.startswith("stopgate_"), family.name
        assert family.help.strip(), f"{family.name} has no help text"
        assert family.help.strip() != family.name, f"{family.name}: help only repeats the name"


def test_help_text_reaches_the_exposition() -> None:
    text = Metrics().render().decode()
    for series in set(SPEC_METRICS) - set(KNOWN_MISSING):
        assert re.search(rf"^# HELP {series} \S", text, re.M), f"no HELP line for {series}"


def test_known_missing_are_still_missing() -> None:
    present = set(exposed_series())
    for series in KNOWN_MISSING:
        kind = SPEC_METRICS[series][0]
        name = series + "_bucket" if kind == "histogram" else series
        assert name not in present, f"{series} exists now: remove it from KNOWN_MISSING"


def _spec_metrics_section(text: str) -> str:
    match = re.search(r"^## Metrics\b.*?$(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match, "SPEC.md has no '## Metrics' section"
    return match.group(1)


@pytest.mark.skipif(not SPEC.is_file(), reason="SPEC.md is not beside the repository")
def test_spec_metrics_copy_matches_spec_md() -> None:
    section = _spec_metrics_section(SPEC.read_text(encoding="utf-8"))
    named: dict[str, tuple[str, ...]] = {}
    for name, labels in re.findall(r"`(stopgate_[a-z0-9_]+)(?:\{([a-z_,\s]*)\})?`", section):
        named[name] = tuple(label.strip() for label in labels.split(",") if label.strip())
    assert named, "no metric found in SPEC.md's Metrics section"
    assert set(named) == set(SPEC_METRICS), "SPEC.md's metric list changed: update SPEC_METRICS"
    for name, labels in named.items():
        assert labels == SPEC_METRICS[name][1], f"SPEC.md's labels of {name} changed"


#: Metrics beyond SPEC.md that deploy/ alerts on, with their type (issue 16: the opt-out
#: review list, README "Compliance packs").
REVIEW_METRICS: dict[str, str] = {
    "stopgate_optout_reviews_pending": "gauge",
    "stopgate_optout_review_deadline_seconds": "gauge",
    "stopgate_optout_reviews_due_soon": "gauge",
}


@pytest.mark.parametrize("series", sorted(REVIEW_METRICS))
def test_review_list_metrics_are_exported_unlabelled(series: str) -> None:
    family = families().get(series)
    assert family is not None, f"{series} is not in gateway.observability.metrics"
    assert family.type == REVIEW_METRICS[series]
    assert family.labels == ()
    assert series in exposed_series()
    assert re.search(rf"^# HELP {series} \S", Metrics().render().decode(), re.M)


def test_mo_kinds_include_review() -> None:
    assert "review" in families()["stopgate_mo"].help
