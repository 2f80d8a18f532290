"""The limit and admin-key settings: their defaults, and each mistake refused with its key path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gateway.config.model import Config, ConfigError, parse_config

ACME = {"system_id": "acme", "password": "acmepass", "api_key": "k-acme", "numbers": ["36173"]}


def problems_of(data: dict[str, Any], env: dict[str, str] | None = None) -> dict[str, str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(data, env=env or {})
    return {problem.path: problem.message for problem in caught.value.problems}


def test_limits_default_to_the_documented_values() -> None:
    smpp, http = Config().smpp, Config().http
    assert (smpp.max_sessions_per_address, smpp.frame_timeout) == (100, 30.0)
    assert (smpp.reassembly_timeout, smpp.reassembly_max_pending,
            smpp.reassembly_max_bytes) == (120.0, 20000, 32 * 1024 * 1024)
    assert (http.header_timeout, http.body_timeout) == (30.0, 120.0)
    assert (http.max_connections, http.max_connections_per_address) == (4096, 256)
    assert http.admin_key == ""
    assert (http.failed_auth_delay, http.failed_auth_delay_max, http.failed_auth_limit,
            http.failed_auth_window) == (1.0, 30.0, 10, 300.0)


@pytest.mark.parametrize(
    ("section", "key", "value", "fragment"),
    [
        ("smpp", "max_sessions_per_address", -1, "at least 0"),
        ("smpp", "frame_timeout", 0, "above zero"),
        ("smpp", "reassembly_timeout", "0s", "above zero"),
        ("smpp", "reassembly_max_pending", 0, "at least 1"),
        ("smpp", "reassembly_max_bytes", 100, "at least 65536"),
        ("http", "header_timeout", -2, "negative"),
        ("http", "body_timeout", 0, "above zero"),
        ("http", "max_connections", 0, "at least 1"),
        ("http", "max_connections_per_address", 0, "at least 1"),
        ("http", "admin_key", "two words", "printable ASCII without spaces"),
        ("http", "failed_auth_delay", -1, "negative"),
        ("http", "failed_auth_limit", 0, "at least 1"),
        ("http", "failed_auth_window", 0, "above zero"),
    ],
)
def test_a_bad_limit_is_refused_with_its_key_path(
    section: str, key: str, value: object, fragment: str
) -> None:
    problems = problems_of({section: {key: value}})
    assert list(problems) == [f"{section}.{key}"]
    assert fragment in problems[f"{section}.{key}"]


def test_more_connections_per_address_than_in_all_is_refused() -> None:
    problems = problems_of({"http": {"max_connections": 10, "max_connections_per_address": 20}})
    assert problems == {"http.max_connections_per_address": "must be at most max_connections (10)"}


def test_a_failed_auth_delay_over_its_maximum_is_refused() -> None:
    problems = problems_of({"http": {"failed_auth_delay": "10s", "failed_auth_delay_max": "5s"}})
    assert problems == {"http.failed_auth_delay_max": "must be at least failed_auth_delay (10s)"}


def test_an_admin_key_equal_to_an_api_key_is_refused_without_echoing_it() -> None:
    problems = problems_of({"accounts": [ACME], "http": {"admin_key": "k-acme"}})
    assert list(problems) == ["http.admin_key"]
    assert "accounts[0].api_key" in problems["http.admin_key"]
    assert "k-acme" not in problems["http.admin_key"]


def test_the_admin_key_comes_from_a_file_or_the_environment(tmp_path: Path) -> None:
    (tmp_path / "admin").write_text("adm-from-file\n")
    config = parse_config({"http": {"admin_key_file": str(tmp_path / "admin")}}, env={})
    assert config.http.admin_key == "adm-from-file"
    config = parse_config({}, env={"STOPGATE_HTTP_ADMIN_KEY": "adm-from-env"})
    assert config.http.admin_key == "adm-from-env"
    assert "adm-from" not in repr(config)


def test_load_balancer_keys_default_off_and_read_cidrs() -> None:
    config = Config()
    assert (config.smpp.proxy_protocol, config.http.proxy_protocol) == (False, False)
    assert config.http.trusted_proxies == ()
    config = parse_config({"smpp": {"proxy_protocol": True},
                           "http": {"proxy_protocol": True,
                                    "trusted_proxies": ["10.0.0.0/8", "2001:db8::/32",
                                                        "192.0.2.7"]}}, env={})
    assert config.smpp.proxy_protocol and config.http.proxy_protocol
    assert config.http.trusted_proxies == ("10.0.0.0/8", "2001:db8::/32", "192.0.2.7/32")
    config = parse_config({}, env={"STOPGATE_HTTP_TRUSTED_PROXIES": "10.0.0.0/8,::1"})
    assert config.http.trusted_proxies == ("10.0.0.0/8", "::1/128")


@pytest.mark.parametrize("value", ["10.0.0.1/8", "proxy.example", "10.0.0.0/33", ""])
def test_a_trusted_proxy_that_is_not_a_cidr_is_refused(value: str) -> None:
    problems = problems_of({"http": {"trusted_proxies": ["10.0.0.0/8", value]}})
    [(path, message)] = problems.items()
    assert path.startswith("http.trusted_proxies")
    assert "IP network" in message
