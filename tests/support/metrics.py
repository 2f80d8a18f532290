"""Reading one Prometheus sample in tests, from a live registry or from a /metrics body."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

__all__ = ["metric"]


def metric(source: object, name: str, labels: Mapping[str, str] | None = None,
           /, **more: str) -> float:
    """The value of the sample ``name`` that carries these labels (``labels`` and/or
    keywords; it may carry others too); 0 when there is none.

    ``source`` is a /metrics body (``str`` or ``bytes``: what a scrape sees), or what holds
    the gateway's metrics: a test stack (``.gateway``), a ``Gateway`` (``.metrics``), a
    ``Metrics`` (``.registry``) or a ``CollectorRegistry``.
    """
    wanted = {**(labels or {}), **more}
    for sample in _samples(source):
        if sample.name == name and all(sample.labels.get(k) == v for k, v in wanted.items()):
            return float(sample.value)
    return 0.0


def _samples(source: object) -> Iterable[Sample]:
    if isinstance(source, bytes):
        source = source.decode()
    if isinstance(source, str):
        families = text_string_to_metric_families(source)
    else:
        for attribute in ("gateway", "metrics", "registry"):
            source = getattr(source, attribute, source)
        assert isinstance(source, CollectorRegistry), f"no metrics registry in {source!r}"
        families = source.collect()
    for family in families:
        yield from family.samples
