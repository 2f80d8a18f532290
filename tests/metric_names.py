"""What a scrape of stopgate can contain, worked out from gateway.observability.metrics' registry.

prometheus_client names a family without its type suffix and exposes series
under suffixed names: Counter("stopgate_mt_total") is the family "stopgate_mt"
with the series "stopgate_mt_total" (and "stopgate_mt_created"); a Histogram
"stopgate_submit_latency_seconds" has the series "..._bucket", "..._sum",
"..._count" (and "..._created"). PromQL, SPEC.md and the deploy/ files use the
series names; the tests map them back to families here.
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client.metrics import MetricWrapperBase

from gateway.observability.metrics import Metrics

#: Series each family type exposes, by suffix after the family name.
SUFFIXES: dict[str, tuple[str, ...]] = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "summary": ("", "_sum", "_count", "_created"),
    "info": ("_info",),
}


@dataclass(frozen=True)
class Family:
    name: str
    type: str
    help: str
    labels: tuple[str, ...]


def families(metrics: Metrics | None = None) -> dict[str, Family]:
    """Every metric family of a fresh ``Metrics``, by family name."""
    metrics = metrics or Metrics()
    # Label names are not part of a family's public description (a labelled metric
    # has no sample until a child is used): read them from the wrappers.
    labels = {
        m._name: tuple(m._labelnames)
        for m in vars(metrics).values()
        if isinstance(m, MetricWrapperBase)
    }
    return {
        f.name: Family(f.name, f.type, f.documentation, labels.get(f.name, ()))
        for f in metrics.registry.collect()
    }


def exposed_series(metrics: Metrics | None = None) -> dict[str, Family]:
    """Every series name a scrape can show, mapped to its family."""
    out: dict[str, Family] = {}
    for family in families(metrics).values():
        for suffix in SUFFIXES[family.type]:
            out[family.name + suffix] = family
    return out
