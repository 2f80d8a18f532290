"""[compliance], [[quiet_hours]], [[frequency_caps]] and the two send-time statuses: what
they build, and every bad value refused with its key path and the exact reason."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.config.model import Config, ConfigError, parse_config

FR = {"region": "FR", "days": "mon-sat", "start": "08:00", "end": "20:00", "holidays": True,
      "action": "reject"}
CAP = {"region": "US-FL", "max": 3, "per": "24h"}


def problems_of(data: dict[str, Any], env: dict[str, str] | None = None) -> dict[str, str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(data, env=env or {})
    return {problem.path: problem.message for problem in caught.value.problems}


def test_by_default_no_send_time_rule_applies_and_the_statuses_are_specs() -> None:
    config = Config()
    assert config.compliance.packs == ()
    assert config.sendtime() == ((), ())
    assert (config.policy.quiet_status, config.policy.cap_status) == (0x450, 0x451)


def test_packs_and_own_rules_add_up_and_a_repeated_rule_counts_once() -> None:
    config = parse_config({
        "compliance": {"packs": ["fr", "us"]},
        "quiet_hours": [FR | {"action": "hold"}, {"region": "de", "start": "09:00",
                                                   "end": "18:00", "days": "mon-fri"}],
        "frequency_caps": [{"region": "us", "max": 10, "per": "7d"}],
        "policy": {"quiet_status": 0x460, "cap_status": 0x461}}, env={})
    assert config.compliance.packs == ("FR", "US")
    quiet, caps = config.sendtime()
    assert [rule.window for rule in quiet] == [
        "FR mon-sat 08:00-20:00, not on public holidays", "US mon-sun 08:00-21:00",
        "US-FL mon-sun 08:00-20:00", "US-OK mon-sun 08:00-20:00", "DE mon-fri 09:00-18:00"]
    assert quiet[0].source.startswith("Fédération Française des Télécoms")  # the pack's
    assert [cap.description for cap in caps] == [
        "US-FL: at most 3 per 24h", "US-OK: at most 3 per 24h", "US: at most 10 per 7d"]
    assert (config.policy.quiet_status, config.policy.cap_status) == (0x460, 0x461)


def test_uk_names_the_uk_pack_and_gb_too() -> None:
    assert parse_config({"compliance": {"packs": ["GB"]}}, env={}).compliance.packs == ("UK",)


def test_packs_from_the_environment() -> None:
    config = parse_config({}, env={"STOPGATE_COMPLIANCE_PACKS": "FR,DE"})
    assert config.compliance.packs == ("FR", "DE")


@pytest.mark.parametrize(("data", "expected"), [
    ({"compliance": {"packs": ["FR", "XX"]}},
     {"compliance.packs[1]": "no compliance pack 'XX'; packs: FR, US, DE, ES, IT, UK, NL, BE, "
                             "PT, CA"}),
    ({"compliance": {"packs": "FR", "countries": ["FR"]}},
     {"compliance.countries": "unknown key 'countries'; expected one of packs"}),
    ({"quiet_hours": [FR, FR | {"days": "mon-sam"}]},
     {"quiet_hours[1].days": "'mon-sam' is not a list of days or ranges like \"mon-sat\" or "
                             "\"mon-fri,sun\""}),
    ({"quiet_hours": [FR | {"start": "8h"}]},
     {"quiet_hours[0].start": "'8h' is not a time like \"08:00\""}),
    ({"quiet_hours": [FR | {"start": "24:00"}]},
     {"quiet_hours[0].start": "'24:00' is not a time of day (\"24:00\" is allowed as an end)"}),
    ({"quiet_hours": [FR | {"start": "21:00", "end": "08:00"}]},
     {"quiet_hours[0].end": "start 21:00 must be before end 08:00 on the same day (windows "
                            "do not cross midnight)"}),
    ({"quiet_hours": [FR | {"region": "Florida"}]},
     {"quiet_hours[0].region": "'Florida' is not a country (\"FR\") or a subdivision "
                               "(\"US-FL\")"}),
    ({"quiet_hours": [FR | {"region": "XX"}]},
     {"quiet_hours[0].region": "'XX': no country XX"}),
    ({"quiet_hours": [FR | {"region": "SE"}]},
     {"quiet_hours[0].holidays": "no public holiday calendar for SE (known: BE, CA, DE, ES, "
                                 "FR, GB, IT, NL, PT, US)"}),
    ({"quiet_hours": [FR | {"action": "drop"}]},
     {"quiet_hours[0].action": "expected one of hold, reject, got 'drop'"}),
    ({"quiet_hours": [FR | {"holidays": "yes"}]},
     {"quiet_hours[0].holidays": "expected true or false, got a string ('yes')"}),
    ({"quiet_hours": [{"region": "FR", "end": "20:00"}]},
     {"quiet_hours[0].start": "missing required key 'start'"}),
    ({"quiet_hours": [FR | {"source": "my lawyer"}]},
     {"quiet_hours[0].source": "unknown key 'source'; expected one of region, days, start, "
                               "end, holidays, action"}),
    ({"quiet_hours": {"region": "FR"}},
     {"quiet_hours": "expected an array of tables ([[quiet_hours]]), got a table"}),
    ({"frequency_caps": [CAP | {"max": 0}]},
     {"frequency_caps[0].max": "expected a whole number of messages >= 1, got 0"}),
    ({"frequency_caps": [CAP | {"max": "3"}]},
     {"frequency_caps[0].max": "expected an integer, got a string ('3')"}),
    ({"frequency_caps": [CAP | {"per": "1w"}]},
     {"frequency_caps[0].per": "'1w' is not a duration like \"30m\", \"24h\" or \"7d\""}),
    ({"frequency_caps": [CAP | {"per": "500ms"}]},
     {"frequency_caps[0].per": "'500ms' is not a duration like \"30m\", \"24h\" or \"7d\""}),
    ({"frequency_caps": [CAP | {"action": "hold"}]},
     {"frequency_caps[0].action": "'hold'; a frequency cap can only \"reject\""}),
    ({"frequency_caps": [CAP | {"region": "Z"}]},
     {"frequency_caps[0].region": "'Z' is not a country (\"FR\") or a subdivision (\"US-FL\")"}),
    ({"frequency_caps": [{"region": "US-FL", "per": "24h"}]},
     {"frequency_caps[0].max": "missing required key 'max'"}),
    ({"policy": {"quiet_status": 0}},
     {"policy.quiet_status": "0 is ESME_ROK (success); use an error status such as 0x450 "
                             "(quiet hours)"}),
    ({"policy": {"cap_status": 0x100000000}},
     {"policy.cap_status": "expected a command_status from 0x1 to 0xFFFFFFFF, got "
                           "0x100000000"}),
])
def test_a_bad_value_is_refused_naming_its_key(data: dict[str, Any],
                                               expected: dict[str, str]) -> None:
    assert problems_of(data) == expected


def test_an_environment_override_is_named_in_the_refusal() -> None:
    assert problems_of({"quiet_hours": [FR]}, {"STOPGATE_QUIET_HOURS_0_DAYS": "weekdays"}) == {
        "quiet_hours[0].days": "'weekdays' is not a list of days or ranges like \"mon-sat\" or "
                               "\"mon-fri,sun\" (from STOPGATE_QUIET_HOURS_0_DAYS)"}


def test_a_configuration_that_can_never_send_somewhere_is_refused() -> None:
    assert problems_of({"quiet_hours": [
        {"region": "CA", "days": "mon-fri", "start": "09:00", "end": "21:00"},
        {"region": "CA", "days": "sat-sun", "start": "10:00", "end": "18:00"}]}) == {
        "quiet_hours": "no promotional message could ever be sent to CA: the rules that apply "
                       "there share no window (CA mon-fri 09:00-21:00; CA sat,sun 10:00-18:00)"}


def test_an_own_rule_that_closes_a_packs_region_is_refused() -> None:
    assert problems_of({"compliance": {"packs": ["US"]}, "quiet_hours": [
        {"region": "US-FL", "start": "20:30", "end": "23:00"}]}) == {
        "quiet_hours": "no promotional message could ever be sent to US-FL: the rules that "
                       "apply there share no window (US mon-sun 08:00-21:00; US-FL mon-sun "
                       "08:00-20:00; US-FL mon-sun 20:30-23:00)"}


def test_windows_that_only_touch_are_not_refused_here() -> None:
    """One minute in common is a window: the check is about rules that share none."""
    config = parse_config({"quiet_hours": [
        {"region": "IT", "start": "08:00", "end": "12:01"},
        {"region": "IT", "start": "12:00", "end": "20:00"}]}, env={})
    assert len(config.sendtime().quiet) == 2
