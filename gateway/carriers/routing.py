"""Which carrier links may take a message to a destination, best first.

A route is an ISO country code ("FR"), an E.164 prefix ("+336") or "*". A link
matches a destination when any of its routes does; among the links that match,
the most specific route wins: a longer E.164 prefix beats a shorter one, any
prefix beats a country, a country beats "*". Ties keep the config order. The
pool sends over the first candidate that has a bound session and fails over
down the list when it has none.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Generic, TypeVar

__all__ = ["Router"]

T = TypeVar("T")

_COUNTRY_RANK = 0  # prefixes rank by their length (>= 2), so above every country
_STAR_RANK = -1


class Router(Generic[T]):
    """Route matching over ``(target, routes)`` pairs given in config order."""

    __slots__ = ("_by_country", "_lengths", "_prefixes", "_targets")

    def __init__(self, entries: Sequence[tuple[T, Sequence[str]]]) -> None:
        # (index, target, {country: rank}, star) per entry; prefixes in their own table.
        self._targets: list[tuple[int, T, frozenset[str], bool]] = []
        self._prefixes: dict[str, list[tuple[int, T]]] = {}
        for index, (target, routes) in enumerate(entries):
            countries = frozenset(r.upper() for r in routes if r != "*" and not r.startswith("+"))
            self._targets.append((index, target, countries, "*" in routes))
            for r in routes:
                if r.startswith("+"):
                    self._prefixes.setdefault(r, []).append((index, target))
        self._lengths = sorted({len(p) for p in self._prefixes}, reverse=True)
        # Without prefix matches the answer depends on the country alone: cache it.
        self._by_country: dict[str, tuple[T, ...]] = {}

    def candidates(self, e164: str, country: str) -> tuple[T, ...]:
        """The targets that may carry a message to ``e164`` in ``country``, best first."""
        by_country = self._by_country.get(country)
        if by_country is None:
            by_country = self._by_country[country] = self._country_candidates(country)
        if not self._lengths or not e164:
            return by_country
        hits: list[tuple[int, T]] = []
        for length in self._lengths:  # longest first, so the first hit per target is its best
            found = self._prefixes.get(e164[:length])
            if found is not None:
                hits.extend(found)
        if not hits:
            return by_country
        ranked: list[T] = []
        seen: set[int] = set()
        for index, target in hits:
            if index not in seen:
                seen.add(index)
                ranked.append(target)
        # Prefix hits of equal length are already in config order (one table entry per prefix,
        # appended in config order); different prefixes of one length cannot both match.
        ranked.extend(t for i, t in self._ranked_country(country) if i not in seen)
        return tuple(ranked)

    def _ranked_country(self, country: str) -> list[tuple[int, T]]:
        ranked = []
        for index, target, countries, star in self._targets:
            if country.upper() in countries:
                ranked.append((_COUNTRY_RANK, index, target))
            elif star:
                ranked.append((_STAR_RANK, index, target))
        ranked.sort(key=lambda item: (-item[0], item[1]))
        return [(index, target) for _, index, target in ranked]

    def _country_candidates(self, country: str) -> tuple[T, ...]:
        return tuple(target for _, target in self._ranked_country(country))
