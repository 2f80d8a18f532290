"""config.toml loading: SPEC defaults, every class of mistake with its key path, env overrides."""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path
from typing import Any

import pytest

from gateway.config.model import (
    Config,
    ConfigError,
    ListenAddress,
    Optout,
    load_config,
    parse_config,
)

REPO = Path(__file__).resolve().parents[3]
EXAMPLE = REPO / "config.toml"

UPSTREAM = {"host": "127.0.0.1", "port": 2776, "system_id": "proxy", "password": "secret"}
ACME = {"system_id": "acme", "password": "acmepass", "api_key": "k-acme", "numbers": ["36173"]}


def problems_of(data: dict[str, Any], env: dict[str, str] | None = None) -> dict[str, str]:
    """path -> message for a config that must be refused."""
    with pytest.raises(ConfigError) as caught:
        parse_config(data, env=env or {})
    return {problem.path: problem.message for problem in caught.value.problems}


def only_problem(data: dict[str, Any], env: dict[str, str] | None = None) -> tuple[str, str]:
    problems = problems_of(data, env)
    assert len(problems) == 1, problems
    return next(iter(problems.items()))


# --- the example and the defaults ----------------------------------------------------


def test_example_config_toml_loads() -> None:
    config = load_config(EXAMPLE, env={})
    assert [u.name for u in config.upstreams] == ["carrier-a"]
    assert [a.system_id for a in config.accounts] == ["acme", "globex"]
    assert len(config.rules) == 3
    acme, globex = config.accounts
    assert acme.shortcode == "36173" and acme.default_region == "FR"
    assert globex.shortcode == "" and globex.default_region == "GB"
    assert config.server.smpp_listen == ListenAddress("127.0.0.1", 2775)
    assert config.upstreams[0].port == 2776


def test_example_config_toml_is_loopback_only() -> None:
    config = load_config(EXAMPLE, env={})
    assert config.server.smpp_listen.host == config.server.http_listen.host == "127.0.0.1"
    assert config.server.http_listen.port == 8080
    assert config.server.data_dir == Path("./data")


def test_no_file_gives_the_builtin_defaults() -> None:
    assert load_config(None, env={}) == Config()


def test_defaults_are_the_spec_defaults() -> None:
    config = load_config(None, env={})
    assert str(config.server.smpp_listen) == "0.0.0.0:2775"
    assert str(config.server.http_listen) == "0.0.0.0:8080"
    assert config.server.data_dir == Path("./data")
    assert config.server.workers == 1
    assert config.storage.redis_url == "" and config.storage.ledger == ""
    assert config.policy.on_blocked == "reject"
    assert config.policy.blocked_status == 0x00000065
    assert config.policy.fail_closed is True
    # Issue 12: links go bare ("no-s.ms/<token>"), shorter; handsets still link them.
    assert config.optout.base_url == "no-s.ms/"
    assert config.optout.confirm_reply is True
    # Issue 16: the reply texts default to the keyword packs' (the recipient's language).
    assert (config.optout.confirm_text, config.optout.optin_confirm_text,
            config.optout.help_reply) == ("", "", "")
    # SPEC's two footers first and last; issue 12 adds links in the recipient's language
    # (several-language countries by the account's) in between.
    footers = [(f.country, f.language, f.text) for f in config.footers]
    assert footers[0] == ("FR", "", "STOP au {shortcode}")
    assert footers[-1] == ("*", "", "Opt-out: {url}")
    assert ("ES", "", "Baja: {url}") in footers
    assert ("BE", "fr", "Désinscription : {url}") in footers
    assert config.upstreams == () and config.accounts == () and config.rules == ()
    assert config.dlr.id_map_ttl == 72 * 3600


def test_upstream_and_account_defaults_are_the_spec_defaults() -> None:
    config = parse_config({"upstreams": [UPSTREAM], "accounts": [ACME]}, env={})
    upstream, account = config.upstreams[0], config.accounts[0]
    assert upstream.bind == ("transceiver",)
    assert (upstream.sessions, upstream.window, upstream.tps) == (1, 10, 0)
    assert upstream.routes == ("*",)
    assert upstream.name == "127.0.0.1:2776"
    assert account.default_region == "FR" and account.default_class == "auto"
    assert account.webhook_url == "" and account.webhook_secret == "" and account.tps == 0


def test_default_keywords_are_the_spec_lists() -> None:
    (keywords,) = Config().keywords
    assert keywords.country == "*"
    assert "STOP ALL" in keywords.optout and "ARRETT" in keywords.optout
    assert keywords.optin == ("START", "UNSTOP", "NONARRET")
    assert keywords.help == ("HELP", "INFO", "AIDE")


def test_country_keywords_still_end_with_the_default_entry() -> None:
    config = parse_config({"keywords": [{"country": "fr", "optout": ["STOP", "ARRET"]}]}, env={})
    assert [k.country for k in config.keywords] == ["FR", "*"]
    assert config.keywords[0].optin == ("START", "UNSTOP", "NONARRET")


def test_config_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        Config().server.workers = 2  # type: ignore[misc]


def test_secrets_stay_out_of_repr() -> None:
    data = {"upstreams": [UPSTREAM], "accounts": [{**ACME, "webhook_secret": "hmac-key",
                                                   "webhook_url": "https://acme.test/hook"}],
            "storage": {"redis_url": "redis://:hunter2@redis:6379/0"}}
    text = repr(parse_config(data, env={}))
    for secret in ("secret", "acmepass", "k-acme", "hmac-key", "hunter2"):
        assert secret not in text


# --- each class of mistake, with its exact path ---------------------------------------


def test_unknown_top_level_key_suggests_the_right_one() -> None:
    path, message = only_problem({"servr": {"workers": 2}})
    assert path == "servr"
    assert message == "unknown key 'servr'; did you mean 'server'?"


def test_unknown_nested_key_is_refused_with_its_path() -> None:
    path, message = only_problem({"server": {"smpp_lisen": "0.0.0.0:2775"}})
    assert path == "server.smpp_lisen"
    assert "did you mean 'smpp_listen'" in message


def test_unknown_key_in_an_array_of_tables_is_refused_with_its_index() -> None:
    path, message = only_problem({"accounts": [ACME, {**ACME, "system_id": "b", "api_key": "k2",
                                                      "pasword": "x"}]})
    assert path == "accounts[1].pasword"
    assert "did you mean 'password'" in message


def test_wrong_type_names_the_expected_type() -> None:
    assert only_problem({"server": {"workers": "2"}}) == (
        "server.workers", "expected an integer, got a string ('2')")


def test_table_instead_of_array_of_tables_is_explained() -> None:
    assert only_problem({"accounts": ACME}) == (
        "accounts", "expected an array of tables ([[accounts]]), got a table")


@pytest.mark.parametrize(("listen", "fragment"), [
    ("0.0.0.0", "expected host:port"),
    ("::1:2775", "IPv6 addresses go in brackets: '[::1]:2775'"),
    ("0.0.0.0:70000", "expected a port from 0 to 65535"),
    ("0.0.0.0:http", "expected a port from 0 to 65535"),
    (":2775", "missing host"),
    ("[nope]:2775", "expected an IPv6 address"),
    ("bad_host!:2775", "expected an IP address or a host name"),
    (2775, "got an integer (2775)"),
])
def test_bad_listen_address_is_refused(listen: object, fragment: str) -> None:
    path, message = only_problem({"server": {"http_listen": listen}})
    assert path == "server.http_listen"
    assert fragment in message


@pytest.mark.parametrize(("listen", "host", "port"), [
    ("[::]:2775", "::", 2775),
    ("localhost:0", "localhost", 0),
    ("10.0.0.1:65535", "10.0.0.1", 65535),
])
def test_good_listen_addresses_parse(listen: str, host: str, port: int) -> None:
    config = parse_config({"server": {"smpp_listen": listen}}, env={})
    assert config.server.smpp_listen == ListenAddress(host, port)
    assert str(config.server.smpp_listen) == listen


def test_duplicate_system_id_names_both_entries() -> None:
    other = {**ACME, "api_key": "k-other"}
    assert only_problem({"accounts": [ACME, other]}) == (
        "accounts[1].system_id", "duplicate system_id 'acme' (also accounts[0])")


def test_duplicate_api_key_is_refused_without_echoing_it() -> None:
    path, message = only_problem({"accounts": [ACME, {**ACME, "system_id": "other"}]})
    assert path == "accounts[1].api_key"
    assert message == "duplicate api_key (also accounts[0])"


def test_duplicate_rule_id_is_refused() -> None:
    rule = {"id": "otp", "class": "transactional", "regex": "code"}
    assert only_problem({"rules": [rule, rule]})[0] == "rules[1].id"


def test_unparsable_regex_is_refused_with_its_position() -> None:
    path, message = only_problem({"rules": [{"id": "r", "class": "promotional",
                                             "regex": "(promo"}]})
    assert path == "rules[0].regex"
    assert message.startswith("invalid regular expression: missing )")
    assert "position 0" in message


def test_bad_enum_lists_the_choices() -> None:
    assert only_problem({"accounts": [{**ACME, "default_class": "promo"}]}) == (
        "accounts[0].default_class",
        "expected one of auto, promotional, transactional, got 'promo'",
    )


def test_missing_required_upstream_keys_are_each_reported() -> None:
    problems = problems_of({"upstreams": [{"name": "carrier-a"}]})
    assert problems == {
        "upstreams[0].host": "missing required key 'host'",
        "upstreams[0].port": "missing required key 'port'",
        "upstreams[0].system_id": "missing required key 'system_id'",
    }


def test_account_needs_a_system_id() -> None:
    assert only_problem({"accounts": [{"password": "x"}]}) == (
        "accounts[0].system_id", "missing required key 'system_id'")


def test_account_needs_a_password_or_an_api_key() -> None:
    path, message = only_problem({"accounts": [{"system_id": "acme"}]})
    assert path == "accounts[0].password"
    assert "api_key" in message


def test_smpp_length_limits_are_enforced_without_echoing_passwords() -> None:
    problems = problems_of({"accounts": [{"system_id": "a" * 16, "password": "123456789"}]})
    assert problems["accounts[0].system_id"] == "is 16 characters long; SMPP 3.4 allows at most 15"
    assert problems["accounts[0].password"] == "is 9 characters long; SMPP 3.4 allows at most 8"


def test_unknown_footer_placeholder_is_refused() -> None:
    assert only_problem({"footers": [{"country": "*", "text": "Stop: {link}"}]}) == (
        "footers[0].text", "unknown placeholder {link}; footers may use {url}, {shortcode}")


def test_footer_country_must_be_iso_or_star() -> None:
    path, message = only_problem({"footers": [{"country": "France", "text": "STOP"}]})
    assert path == "footers[0].country"
    assert "or '*'" in message


def test_bad_region_is_refused() -> None:
    path, message = only_problem({"accounts": [{**ACME, "default_region": "XX"}]})
    assert path == "accounts[0].default_region"
    assert "ISO 3166" in message


def test_bad_upstream_route_is_refused_at_its_index() -> None:
    path, message = only_problem({"upstreams": [{**UPSTREAM, "routes": ["FR", "33"]}]})
    assert path == "upstreams[0].routes[1]"
    assert "E.164 prefix such as '+33'" in message


def test_webhook_url_must_be_http() -> None:
    account = {**ACME, "webhook_url": "ftp://x", "webhook_secret": "s"}
    assert only_problem({"accounts": [account]}) == (
        "accounts[0].webhook_url", "expected an http:// or https:// URL (or empty), got 'ftp://x'")


def test_webhook_url_needs_a_secret() -> None:
    assert only_problem({"accounts": [{**ACME, "webhook_url": "https://acme.test/h"}]})[0] == (
        "accounts[0].webhook_secret")


def test_held_backlog_and_age_have_defaults_and_refuse_nonsense() -> None:
    config = parse_config({}, env={})
    assert (config.policy.held_max_per_account, config.policy.held_max_age) == (100_000,
                                                                              72 * 3600)
    config = parse_config({"policy": {"held_max_per_account": 5, "held_max_age": "2h"}},
                          env={})
    assert (config.policy.held_max_per_account, config.policy.held_max_age) == (5, 7200)
    assert only_problem({"policy": {"held_max_per_account": 0}}) == (
        "policy.held_max_per_account", "expected at least 1, got 0")
    assert only_problem({"policy": {"held_max_age": "0s"}}) == (
        "policy.held_max_age", "expected a duration above zero, got 0s")


def test_blocked_status_takes_toml_hex_and_refuses_esme_rok() -> None:
    config = parse_config(tomllib.loads("[policy]\nblocked_status = 0x00000066"), env={})
    assert config.policy.blocked_status == 0x66
    path, message = only_problem({"policy": {"blocked_status": 0}})
    assert path == "policy.blocked_status" and "ESME_ROK" in message


def test_durations_take_seconds_or_units() -> None:
    config = parse_config({"dlr": {"id_map_ttl": "1h30m"}, "smpp": {"response_timeout": 2.5}},
                          env={})
    assert config.dlr.id_map_ttl == 5400
    assert config.smpp.response_timeout == 2.5
    assert only_problem({"dlr": {"id_map_ttl": "3 days"}})[0] == "dlr.id_map_ttl"


def test_webhook_timing_defaults_and_give_up_age() -> None:
    webhook = parse_config({}, env={}).webhook
    assert webhook.timeout == 5 and webhook.give_up_after == 72 * 3600
    config = parse_config({"webhook": {"give_up_after": "2h30m", "timeout": "3s"}}, env={})
    assert config.webhook.give_up_after == 9000 and config.webhook.timeout == 3
    assert only_problem({"webhook": {"give_up_after": 0}})[0] == "webhook.give_up_after"


# --- rules, binds, shortcodes ------------------------------------------------------


def test_rule_matchers_accept_a_string_or_a_list() -> None:
    config = parse_config({"accounts": [ACME], "rules": [
        {"id": "alerts", "class": "transactional", "account": "acme", "source": "ACME-ALERT",
         "country": ["fr", "BE"], "regex": "(?i)code"},
    ]}, env={})
    rule = config.rules[0]
    assert rule.class_ == "transactional"
    assert rule.account == ("acme",) and rule.source == ("ACME-ALERT",)
    assert rule.country == ("FR", "BE")
    assert rule.regex is not None and rule.regex.search("Your CODE is 1234")


def test_rule_without_a_matcher_is_refused() -> None:
    path, message = only_problem({"rules": [{"id": "all", "class": "promotional"}]})
    assert path == "rules[0].id"
    assert "matches nothing" in message and "policy.unclassified" in message


def test_rule_overrides_offers_defaults_to_false_and_only_fits_a_transactional_rule() -> None:
    config = parse_config({"rules": [
        {"id": "plain", "class": "transactional", "source": "BANK"},
        {"id": "rates", "class": "transactional", "source": "BANK-RATES",
         "overrides_offers": True},
    ]}, env={})
    assert [rule.overrides_offers for rule in config.rules] == [False, True]
    path, message = only_problem({"rules": [
        {"id": "promo", "class": "promotional", "keywords": ["x"], "overrides_offers": True},
    ]})
    assert path == "rules[0].overrides_offers" and "transactional" in message
    assert only_problem({"rules": [
        {"id": "r", "class": "transactional", "keywords": ["x"], "overrides_offers": "yes"},
    ]})[0] == "rules[0].overrides_offers"


def test_rule_naming_an_unknown_account_is_refused() -> None:
    assert only_problem({"accounts": [ACME], "rules": [
        {"id": "r", "class": "promotional", "account": ["acme", "acmee"]},
    ]}) == ("rules[0].account", "unknown account 'acmee'; configured accounts: acme")


def test_rule_needs_a_class() -> None:
    assert only_problem({"rules": [{"id": "r", "keywords": ["sale"]}]}) == (
        "rules[0].class", "missing required key 'class'")


@pytest.mark.parametrize(("bind", "expected"), [
    ("transceiver", ("transceiver",)),
    ("transmitter", ("transmitter",)),
    (["transmitter", "receiver"], ("transmitter", "receiver")),
])
def test_upstream_bind_is_transceiver_or_a_transmitter_receiver_pair(
    bind: object, expected: tuple[str, ...]
) -> None:
    config = parse_config({"upstreams": [{**UPSTREAM, "bind": bind}]}, env={})
    assert config.upstreams[0].bind == expected


@pytest.mark.parametrize("bind", [["transceiver", "receiver"], [], "trx"])
def test_bad_upstream_bind_is_refused(bind: object) -> None:
    assert only_problem({"upstreams": [{**UPSTREAM, "bind": bind}]})[0].startswith(
        "upstreams[0].bind")


def test_shortcode_defaults_to_the_first_all_digit_number() -> None:
    config = parse_config({"accounts": [{**ACME, "numbers": ["+33757000000", "36173"]}]}, env={})
    assert config.accounts[0].shortcode == "36173"
    assert config.accounts[0].display_name == "acme"


def test_explicit_shortcode_must_be_one_of_the_numbers() -> None:
    assert only_problem({"accounts": [{**ACME, "shortcode": "38200"}]})[0] == (
        "accounts[0].shortcode")


def test_senders_take_alphanumeric_ids_shortcodes_and_numbers() -> None:
    senders = ["ACME", "Acme Shop", "36173", "+33757000000", "447700900000"]
    config = parse_config({"accounts": [{**ACME, "senders": senders}]}, env={})
    assert config.accounts[0].senders == tuple(senders)
    assert parse_config({"accounts": [ACME]}, env={}).accounts[0].senders == ()


@pytest.mark.parametrize(("entry", "says"), [
    ("ACME-CORPORATION", "at most 11 characters"),
    ("AC€ME", "GSM 03.38 default alphabet"),
    ("ACME{}", "GSM 03.38 default alphabet"),
    (" ACME", "no leading or trailing spaces"),
    ("+33 7 57", "expected an alphanumeric sender id such as 'ACME'"),
    ("12", "expected an alphanumeric sender id such as 'ACME'"),
    ("", "expected an alphanumeric sender id such as 'ACME'"),
])
def test_a_bad_sender_is_refused_with_its_key_path(entry: str, says: str) -> None:
    path, message = only_problem({"accounts": [{**ACME, "senders": ["ACME", entry]}]})
    assert path == "accounts[0].senders[1]"
    assert says in message


def test_a_sender_listed_twice_in_one_account_is_refused() -> None:
    problems = problems_of({"accounts": [{**ACME, "default_region": "FR", "senders": [
        "ACME", "+33757000000", "acme", "0757000000"]}]})
    assert set(problems) == {"accounts[0].senders[2]", "accounts[0].senders[3]"}
    assert "same sender as senders[0] ('ACME')" in problems["accounts[0].senders[2]"]
    assert "same sender as senders[1] ('+33757000000')" in problems["accounts[0].senders[3]"]


def test_a_sender_shared_by_two_accounts_is_allowed() -> None:
    globex = {"system_id": "globex", "password": "globex1", "senders": ["ACME", "36173"]}
    config = parse_config({"accounts": [{**ACME, "senders": ["ACME"]}, globex]}, env={})
    assert [a.senders for a in config.accounts] == [("ACME",), ("ACME", "36173")]


def test_senders_from_the_environment() -> None:
    config = parse_config({"accounts": [ACME]},
                          env={"STOPGATE_ACCOUNTS_0_SENDERS": "ACME,+33757000000"})
    assert config.accounts[0].senders == ("ACME", "+33757000000")


# --- secrets from files -------------------------------------------------------------


def test_secret_file_is_read_minus_one_trailing_newline(tmp_path: Path) -> None:
    (tmp_path / "password").write_text("s3cret\n")
    (tmp_path / "hmac").write_text("hmac-key\n\n")
    account = {"system_id": "acme", "password_file": str(tmp_path / "password"),
               "webhook_url": "https://acme.test/hook",
               "webhook_secret_file": str(tmp_path / "hmac")}
    config = parse_config({"accounts": [account]}, env={})
    assert config.accounts[0].password == "s3cret"
    assert config.accounts[0].webhook_secret == "hmac-key\n"


def test_secret_and_its_file_together_are_refused(tmp_path: Path) -> None:
    (tmp_path / "password").write_text("s3cret\n")
    account = {**ACME, "password_file": str(tmp_path / "password")}
    assert only_problem({"accounts": [account]}) == (
        "accounts[0].password_file", "give either password or password_file, not both")


def test_unreadable_secret_file_is_refused_with_its_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    upstream = {k: v for k, v in UPSTREAM.items() if k != "password"}
    path, message = only_problem({"upstreams": [{**upstream, "password_file": str(missing)}]})
    assert path == "upstreams[0].password_file"
    assert message == f"cannot read secret file '{missing}': No such file or directory"


# --- environment overrides -----------------------------------------------------------


def test_env_overrides_a_section_key() -> None:
    config = parse_config({}, env={"STOPGATE_SERVER_SMPP_LISTEN": "127.0.0.1:2775",
                                   "STOPGATE_STORAGE_REDIS_URL": "redis://localhost:6379/1"})
    assert config.server.smpp_listen == ListenAddress("127.0.0.1", 2775)
    assert config.storage.redis_url == "redis://localhost:6379/1"


def test_env_converts_booleans_integers_durations_and_lists() -> None:
    config = parse_config({"upstreams": [UPSTREAM]}, env={
        "STOPGATE_POLICY_FAIL_CLOSED": "false",
        "STOPGATE_LOG_MASK_NUMBERS": "0",
        "STOPGATE_SERVER_WORKERS": "4",
        "STOPGATE_POLICY_BLOCKED_STATUS": "0x66",
        "STOPGATE_DLR_ID_MAP_TTL": "48h",
        "STOPGATE_UPSTREAMS_0_ROUTES": "FR, +32",
        "STOPGATE_UPSTREAMS_0_BIND": '["transmitter", "receiver"]',
    })
    assert config.policy.fail_closed is False and config.log.mask_numbers is False
    assert config.server.workers == 4
    assert config.policy.blocked_status == 0x66
    assert config.dlr.id_map_ttl == 48 * 3600
    assert config.upstreams[0].routes == ("FR", "+32")
    assert config.upstreams[0].bind == ("transmitter", "receiver")


def test_env_sets_a_key_of_an_array_entry_by_index() -> None:
    data = {"upstreams": [UPSTREAM, {**UPSTREAM, "name": "b"}], "accounts": [ACME]}
    config = parse_config(data, env={"STOPGATE_ACCOUNTS_0_PASSWORD": "fromenv",
                                     "STOPGATE_UPSTREAMS_1_HOST": "smsc.example.net"})
    assert config.accounts[0].password == "fromenv"
    assert config.upstreams[1].host == "smsc.example.net"
    assert config.upstreams[0].host == "127.0.0.1"


def test_env_index_one_past_the_end_adds_an_entry() -> None:
    config = parse_config({}, env={"STOPGATE_UPSTREAMS_0_HOST": "smsc.example.net",
                                   "STOPGATE_UPSTREAMS_0_PORT": "2775",
                                   "STOPGATE_UPSTREAMS_0_SYSTEM_ID": "proxy"})
    assert config.upstreams[0].name == "smsc.example.net:2775"


def test_env_index_leaving_a_gap_is_refused() -> None:
    assert only_problem({}, env={"STOPGATE_ACCOUNTS_1_PASSWORD": "x"}) == (
        "STOPGATE_ACCOUNTS_1_PASSWORD",
        "accounts has 0 entries; index 1 would leave a gap (use 0 to 0)",
    )


def test_env_naming_an_unknown_key_is_refused_by_name() -> None:
    path, message = only_problem({}, env={"STOPGATE_SERVER_SMPP_LISEN": "0.0.0.0:1"})
    assert path == "STOPGATE_SERVER_SMPP_LISEN"
    assert "unknown key 'smpp_lisen'; did you mean 'smpp_listen'?" in message


def test_env_array_variable_without_an_index_is_refused() -> None:
    path, message = only_problem({}, env={"STOPGATE_ACCOUNTS_PASSWORD": "x"})
    assert path == "STOPGATE_ACCOUNTS_PASSWORD"
    assert "STOPGATE_ACCOUNTS_0_PASSWORD" in message


def test_env_variables_that_are_not_config_are_ignored() -> None:
    env = {"STOPGATE_CONFIG": "/etc/stopgate.toml", "STOPGATE_TEST_REDIS_URL": "redis://x",
           "HOME": "/root"}
    assert parse_config({}, env=env) == Config()


def test_env_variable_with_a_misspelt_section_is_refused() -> None:
    path, message = only_problem({}, env={"STOPGATE_SEVER_SMPP_LISTEN": "0.0.0.0:2775"})
    assert path == "STOPGATE_SEVER_SMPP_LISTEN"
    assert message.startswith("names no config section; expected STOPGATE_<SECTION>_<KEY>")
    assert "server" in message


def test_bad_env_value_names_the_key_and_the_variable() -> None:
    assert only_problem({}, env={"STOPGATE_POLICY_FAIL_CLOSED": "maybe"}) == (
        "policy.fail_closed",
        "expected true or false (or 1/0, yes/no, on/off), got 'maybe' "
        "(from STOPGATE_POLICY_FAIL_CLOSED)",
    )
    path, message = only_problem({}, env={"STOPGATE_SERVER_HTTP_LISTEN": "8080"})
    assert path == "server.http_listen"
    assert message.endswith("(from STOPGATE_SERVER_HTTP_LISTEN)")


def test_env_secret_replaces_the_files_secret_file(tmp_path: Path) -> None:
    (tmp_path / "password").write_text("fromfile\n")
    account = {"system_id": "acme", "password_file": str(tmp_path / "password")}
    config = parse_config({"accounts": [account]}, env={"STOPGATE_ACCOUNTS_0_PASSWORD": "env"})
    assert config.accounts[0].password == "env"
    config = parse_config({"accounts": [ACME]},
                          env={"STOPGATE_ACCOUNTS_0_PASSWORD_FILE": str(tmp_path / "password")})
    assert config.accounts[0].password == "fromfile"


def test_load_config_reads_os_environ_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STOPGATE_SERVER_WORKERS", "3")
    assert load_config(None).server.workers == 3


# --- files and all-at-once -----------------------------------------------------------


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        '[server]\nsmpp_listen = "0.0.0.0"\n\n'
        '[[accounts]]\nsystem_id = "acme"\npassword = "x"\ndefault_class = "promo"\n\n'
        '[[rules]]\nid = "r"\nclass = "promotional"\nregex = "(("\n'
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={})
    assert [p.path for p in caught.value.problems] == [
        "server.smpp_listen", "accounts[0].default_class", "rules[0].regex",
    ]
    assert str(caught.value).count("\n") == 2


def test_invalid_toml_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[server]\nworkers = \n")
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={})
    (problem,) = caught.value.problems
    assert problem.path == str(path)
    assert problem.message.startswith("invalid TOML") and "line 2" in problem.message


def test_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "absent.toml", env={})
    assert caught.value.problems[0].message == "cannot read: No such file or directory"


# --- optout.operator_number -----------------------------------------------------------


def test_operator_number_defaults_to_none_and_takes_a_number_or_shortcode() -> None:
    assert Optout().operator_number == ""
    assert parse_config({}, env={}).optout.operator_number == ""
    for number in ("36100", "+33757000099"):
        config = parse_config({"optout": {"operator_number": number}}, env={})
        assert config.optout.operator_number == number


@pytest.mark.parametrize("number", ["12", "STOPGATE", "+33 7 57", "0612-345678"])
def test_operator_number_is_validated_like_account_numbers(number: str) -> None:
    assert only_problem({"optout": {"operator_number": number}})[0] == (
        "optout.operator_number")


# --- storage.ledger_busy_timeout ---------------------------------------------------------


def test_ledger_busy_timeout_defaults_to_five_seconds_and_takes_units() -> None:
    assert parse_config({}, env={}).storage.ledger_busy_timeout == 5.0
    config = parse_config({"storage": {"ledger_busy_timeout": "500ms"}}, env={})
    assert config.storage.ledger_busy_timeout == 0.5


@pytest.mark.parametrize("value", [0, -1, "soon"])
def test_ledger_busy_timeout_that_is_not_a_positive_duration_is_refused(value: object) -> None:
    path, message = only_problem({"storage": {"ledger_busy_timeout": value}})
    assert path == "storage.ledger_busy_timeout"
    assert message.startswith("expected a duration")


# --- issue 12: footers by language, link bases that survive every carrier ------------------


def test_footers_may_repeat_a_country_for_different_account_languages() -> None:
    config = parse_config({"footers": [
        {"country": "BE", "language": "nl", "text": "Afmelden: {url}"},
        {"country": "BE", "language": "FR", "text": "Désinscription : {url}"},
        {"country": "*", "text": "Opt-out: {url}"},
    ]}, env={})
    assert [f.language for f in config.footers] == ["nl", "fr", ""]


def test_the_same_country_and_language_twice_is_refused() -> None:
    with pytest.raises(ConfigError) as error:
        parse_config({"footers": [
            {"country": "BE", "language": "nl", "text": "Afmelden: {url}"},
            {"country": "be", "language": "NL", "text": "Uitschrijven: {url}"},
        ]}, env={})
    assert "footers[1].country: duplicate country 'BE' with language 'nl' (also footers[0])" \
        in str(error.value)


def test_an_accounts_language_defaults_to_its_regions_and_can_be_given() -> None:
    config = parse_config({"accounts": [
        {"system_id": "a", "password": "p", "default_region": "BE"},
        {"system_id": "b", "password": "p", "default_region": "BE", "language": "FR"},
        {"system_id": "c", "password": "p", "default_region": "PT"},
        {"system_id": "d", "password": "p", "default_region": "GB"},
    ]}, env={})
    assert [a.language for a in config.accounts] == ["nl", "fr", "pt", "en"]
    with pytest.raises(ConfigError, match=r"accounts\[0\]\.language: expected a two-letter"):
        parse_config({"accounts": [{"system_id": "a", "password": "p", "language": "fra"}]},
                     env={})


@pytest.mark.parametrize("value", ["no-s.ms", "no-s.ms/", "https://no-s.ms", "http://x.example/o/"])
def test_a_link_base_may_be_bare_or_http(value: str) -> None:
    config = parse_config({"optout": {"base_url": value}}, env={})
    assert config.optout.base_url == value.rstrip("/") + "/"


@pytest.mark.parametrize(
    ("value", "reason"),
    [("https://x.example/opt_out/", "'_' would not survive"),
     ("x.example/~o/", "'~' would not survive"),
     ("localhost/", "expected a link base"),
     ("ftp://x.example/", "expected an http:// or https:// URL")],
)
def test_a_link_base_a_carrier_could_break_is_refused(value: str, reason: str) -> None:
    with pytest.raises(ConfigError, match=reason):
        parse_config({"optout": {"base_url": value}}, env={})


# --- issue 16: keyword packs, reply placeholders, footer labels ----------------------------


def test_the_example_names_a_brand_and_a_contact_and_leaves_texts_to_the_packs() -> None:
    config = load_config(EXAMPLE, env={})
    acme = config.accounts[0]
    assert (acme.display_name, acme.help_contact) == ("ACME", "01 23 45 67 89")
    assert (acme.confirm_text, acme.optin_confirm_text, acme.help_reply) == ("", "", "")
    assert all(not (k.confirm_text or k.optin_confirm_text or k.help_reply)
               for k in config.keywords)
    es = next(f for f in config.footers if f.country == "ES")
    assert es.prefix == ""  # the PUBLI label is a commented example, not a default


def test_a_pack_opt_out_word_is_refused_as_opt_in_or_help() -> None:
    problems = problems_of({
        "accounts": [{**ACME, "optin_keywords": ["START", "end"], "help_keywords": ["Baja"]}],
        "keywords": [{"country": "NL", "optin": ["UIT"], "help": ["HULP"]}],
    })
    assert set(problems) == {"accounts[0].optin_keywords[1]", "accounts[0].help_keywords[0]",
                             "keywords[0].optin[0]"}
    assert "'end' is an opt-out keyword of the 'en' keyword pack" in \
        problems["accounts[0].optin_keywords[1]"]
    assert "'es' keyword pack" in problems["accounts[0].help_keywords[0]"]
    # An account may add any opt-out word, a pack's opt-in word included: opt-out wins.
    config = parse_config({"accounts": [{**ACME, "optout_keywords": ["ALTA", "FIN"]}]}, env={})
    assert config.accounts[0].optout_keywords == ("ALTA", "FIN")


def test_reply_texts_take_brand_and_contact_only() -> None:
    assert only_problem({"optout": {"confirm_text": "{brand}: bye, {name}"}}) == (
        "optout.confirm_text",
        "unknown placeholder {name}; reply texts may use {brand}, {contact}")
    config = parse_config({"accounts": [{**ACME, "help_contact": "+33 1 23 45 67 89",
                                         "help_reply": "{brand}: call {contact}"}]}, env={})
    assert config.accounts[0].help_contact == "+33 1 23 45 67 89"


def test_contact_in_a_text_needs_a_help_contact_for_every_account_it_serves() -> None:
    assert only_problem({"accounts": [{**ACME, "help_reply": "Call {contact}"}]}) == (
        "accounts[0].help_reply", "uses {contact}, but this account has no help_contact")
    others = [{"system_id": "b", "password": "p"},
              {"system_id": "c", "password": "p", "help_contact": "c.example/help"},
              {"system_id": "d", "password": "p", "help_reply": "Help: d.example"}]
    assert only_problem({"accounts": [ACME, *others],
                         "keywords": [{"country": "*", "help_reply": "Help: {contact}"}]}) == (
        "keywords[0].help_reply",
        "uses {contact}, but accounts without their own help_reply have no help_contact: "
        "acme, b")


def test_a_footer_may_carry_a_label_before_the_text() -> None:
    config = parse_config({"footers": [
        {"country": "ES", "prefix": "PUBLI ", "text": "Baja: {url}"},
        {"country": "*", "text": "Opt-out: {url}"},
    ]}, env={})
    assert (config.footers[0].prefix, config.footers[1].prefix) == ("PUBLI ", "")


def test_optout_phrases_is_on_by_default_and_a_boolean() -> None:
    assert Config().optout.phrases is True
    assert parse_config({"optout": {"phrases": False}}, env={}).optout.phrases is False
    assert problems_of({"optout": {"phrases": "sometimes"}}) == {
        "optout.phrases": "expected true or false, got a string ('sometimes')"}
    assert only_problem({}, env={"STOPGATE_OPTOUT_PHRASES": "maybe"}) == (
        "optout.phrases",
        "expected true or false (or 1/0, yes/no, on/off), got 'maybe' "
        "(from STOPGATE_OPTOUT_PHRASES)")
