"""The configuration hash: what makes two instances' configurations differ, and what not."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import orjson
import pytest

from gateway.config.fingerprint import PER_INSTANCE, config_hash, effective
from gateway.config.model import load_config, parse_config

REPO = Path(__file__).resolve().parents[3]

BASE: dict[str, Any] = {
    "server": {"smpp_listen": "10.0.0.1:2775", "http_listen": "10.0.0.1:8080",
               "data_dir": "/var/lib/stopgate-a", "workers": 2},
    "storage": {"redis_url": "redis://10.0.0.9:6379/0", "ledger": "sqlite:///srv/ledger.db"},
    "upstreams": [{"name": "sim", "host": "127.0.0.1", "port": 2776, "system_id": "proxy",
                   "password": "carr1er7", "sessions": 2}],
    "accounts": [{"system_id": "acme", "password": "acmepass", "api_key": "k-acme-123",
                  "numbers": ["36173"], "webhook_url": "https://hooks.example/h",
                  "webhook_secret": "whsec-very-secret"}],
    "rules": [{"id": "otp", "class": "transactional", "regex": "code \\d+"}],
    "log": {"level": "info"},
}


def hash_of(**changes: Any) -> str:
    data = copy.deepcopy(BASE)
    for path, value in changes.items():
        *parents, key = path.split("__")
        node = data
        for name in parents:
            node = node[int(name)] if isinstance(node, list) else node.setdefault(name, {})
        node[key] = value
    return config_hash(parse_config(data, env={}))


def test_the_hash_is_stable_short_hex_and_the_same_for_the_same_configuration() -> None:
    first = hash_of()
    assert first == hash_of()
    assert len(first) == 16 and int(first, 16) >= 0


@pytest.mark.parametrize("change", [
    {"server__smpp_listen": "10.0.0.2:2775"}, {"server__http_listen": "10.0.0.2:8080"},
    {"server__data_dir": "/var/lib/stopgate-b"}, {"server__workers": 4},
    {"storage__redis_url": "unix:///run/redis.sock"},
    {"storage__ledger": "sqlite:///mnt/shared/ledger.db"},
    {"log__level": "debug"}, {"log__format": "json"},
], ids=lambda change: next(iter(change)))
def test_keys_that_differ_per_host_leave_the_hash_alone(change: dict[str, Any]) -> None:
    assert hash_of(**change) == hash_of()


@pytest.mark.parametrize("change", [
    {"policy__fail_closed": False}, {"policy__unclassified": "transactional"},
    {"accounts__0__numbers": ["36173", "36174"]},
    {"accounts__0__password": "acmepas2"},  # a secret: its hash enters, not itself
    {"accounts__0__webhook_secret": "whsec-other"},
    {"upstreams__0__tps": 50}, {"upstreams__0__sessions": 3},
    {"rules__0__regex": "code \\d{6}"}, {"smpp__reassembly_timeout": 60},
    {"optout__confirm_text": "Unsubscribed."}, {"log__mask_numbers": False},
], ids=lambda change: next(iter(change)))
def test_keys_that_change_behaviour_change_the_hash(change: dict[str, Any]) -> None:
    assert hash_of(**change) != hash_of()


def test_an_env_override_is_part_of_the_effective_configuration() -> None:
    plain = config_hash(parse_config(BASE, env={}))
    assert config_hash(parse_config(BASE, env={"STOPGATE_POLICY_FAIL_CLOSED": "false"})) != plain


def test_the_hashed_document_holds_no_secret_and_no_per_instance_key() -> None:
    document = effective(parse_config(BASE, env={}))
    text = orjson.dumps(document).decode()
    for secret in ("carr1er7", "acmepass", "k-acme-123", "whsec-very-secret",
                   "10.0.0.9", "/srv/ledger.db", "/var/lib/stopgate-a"):
        assert secret not in text, secret
    assert document["accounts"][0]["password"].startswith("sha256:")
    assert document["rules"][0]["regex"] == "code \\d+"
    for path in PER_INSTANCE:
        section, key = path.split(".")
        assert key not in document.get(section, {}), path


def test_the_shipped_example_configuration_has_a_hash() -> None:
    assert len(config_hash(load_config(REPO / "config.toml", env={}))) == 16
