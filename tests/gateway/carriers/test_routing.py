"""Route matching: the most specific route wins, ties keep the config order."""

from __future__ import annotations

from gateway.carriers.routing import Router


def router(*entries: tuple[str, tuple[str, ...]]) -> Router[str]:
    return Router(list(entries))


def test_a_country_route_takes_that_country_only() -> None:
    r = router(("fr", ("FR",)))
    assert r.candidates("+33612345678", "FR") == ("fr",)
    assert r.candidates("+4915112345678", "DE") == ()


def test_star_takes_everything_but_after_more_specific_routes() -> None:
    r = router(("any", ("*",)), ("fr", ("FR",)))
    assert r.candidates("+33612345678", "FR") == ("fr", "any")
    assert r.candidates("+4915112345678", "DE") == ("any",)


def test_a_prefix_beats_a_country_and_a_longer_prefix_beats_a_shorter_one() -> None:
    r = router(("fr", ("FR",)), ("plus33", ("+33",)), ("mobile", ("+336",)), ("any", ("*",)))
    assert r.candidates("+33612345678", "FR") == ("mobile", "plus33", "fr", "any")
    assert r.candidates("+33123456789", "FR") == ("plus33", "fr", "any")


def test_equal_routes_keep_the_config_order() -> None:
    r = router(("b", ("FR",)), ("a", ("FR",)), ("c", ("+33",)), ("d", ("+33",)))
    assert r.candidates("+33612345678", "FR") == ("c", "d", "b", "a")


def test_an_upstream_is_ranked_by_its_best_matching_route() -> None:
    r = router(("broad", ("*", "+44")), ("uk", ("GB",)))
    assert r.candidates("+447400900123", "GB") == ("broad", "uk")
    assert r.candidates("+33612345678", "FR") == ("broad",)


def test_no_e164_still_routes_by_country() -> None:
    r = router(("plus33", ("+33",)), ("fr", ("FR",)))
    assert r.candidates("", "FR") == ("fr",)
