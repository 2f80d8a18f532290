"""deploy/several-instances: the compose stack of README "Running several instances",
checked without a container engine (there is none here), as tests/test_container_files.py
checks the one-instance stack.

Its files name each other (service names, ports, the sentinels' service name) and name
stopgate's config keys through STOPGATE_* variables; a rename on either side breaks the
stack only when someone runs it, so these tests break at once. The same topology runs
natively, HAProxy and two real instances, in tests/integration/test_haproxy.py.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from gateway.config.fingerprint import config_hash
from gateway.config.model import Config, ConfigError, load_config
from tests.integration.test_haproxy import haproxy_binary
from tests.test_container_files import (
    Stage,
    bind_mounts,
    image_config_path,
    published,
    read_dockerfile,
    registry_host,
    service_env,
    stopgate_env,
)

ROOT = Path(__file__).resolve().parent.parent
STACK = ROOT / "deploy" / "several-instances"
COMPOSE = STACK / "docker-compose.yml"
HAPROXY_CFG = STACK / "haproxy.cfg"
SENTINEL_CONF = STACK / "sentinel.conf"


@pytest.fixture(scope="module")
def services() -> dict[str, dict[str, Any]]:
    data = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(data, dict) and isinstance(data.get("services"), dict)
    return dict(data["services"])


@pytest.fixture(scope="module")
def final() -> Stage:
    return read_dockerfile((ROOT / "Dockerfile").read_text(encoding="utf-8"))[-1]


def instances(services: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The services built from the repository's Dockerfile that run `serve` (the image's CMD)."""
    found = {}
    for name, service in services.items():
        build = service.get("build")
        context = build.get("context") if isinstance(build, dict) else build
        if context is not None and (COMPOSE.parent / context).resolve() == ROOT \
                and service.get("command") is None:
            found[name] = service
    return found


def instance_config(service: dict[str, Any], final: Stage) -> Config:
    """The config an instance runs with: its mounted config.toml, the image's ENV and its own."""
    target = image_config_path(final)
    mounted = bind_mounts(service).get(target)
    assert mounted is not None, f"the instances mount no config at {target}"
    env = {**stopgate_env(final.env()), **service_env(service)}
    try:
        return load_config((COMPOSE.parent / mounted).resolve(), env=env)
    except ConfigError as error:
        pytest.fail("; ".join(f"{p.path}: {p.message}" for p in error.problems))


def sentinels(services: dict[str, dict[str, Any]]) -> set[str]:
    return {name for name, s in services.items()
            if "redis-sentinel" in " ".join(map(str, s.get("command") or []))}


def backends() -> dict[str, list[list[str]]]:
    """HAProxy backend name -> its `server` lines, split into words."""
    found: dict[str, list[list[str]]] = {}
    current = None
    for raw in HAPROXY_CFG.read_text().splitlines():
        line = raw.split("#", 1)[0].rstrip()
        if not line:
            continue
        if not line[0].isspace():
            words = line.split()
            current = words[1] if words[0] == "backend" else None
            if current:
                found[current] = []
        elif current and line.split()[0] == "server":
            found[current].append(line.split())
    return found


def frontend_ports() -> set[int]:
    return {int(m) for m in re.findall(r"^\s*bind\s+\S*:(\d+)", HAPROXY_CFG.read_text(), re.M)}


def test_the_stack_has_every_part(services: dict[str, dict[str, Any]]) -> None:
    assert len(instances(services)) >= 2
    assert {"haproxy", "postgres", "redis-master", "redis-replica", "carrier"} <= set(services)
    assert len(sentinels(services)) >= 3
    for name, service in services.items():
        image = service.get("image")
        if image:
            assert registry_host(image) is None, f"{name}: image {image}: name no registry"


def test_the_instances_are_one_gateway(services: dict[str, dict[str, Any]],
                                       final: Stage) -> None:
    configs = {name: instance_config(s, final) for name, s in instances(services).items()}
    ids = [c.server.instance_id for c in configs.values()]
    assert all(ids) and len(set(ids)) == len(ids), f"instance_id must differ: {ids}"
    # Drift (README "Configuration drift") leaves per-instance keys out: one hash.
    assert len({config_hash(c) for c in configs.values()}) == 1
    watched = set(re.findall(r"^sentinel monitor (\S+) (\S+) (\d+) (\d+)",
                             SENTINEL_CONF.read_text(), re.M))
    assert len(watched) == 1
    service_name, master, port, _quorum = watched.pop()
    for name, config in configs.items():
        storage = config.storage
        ledger = urlsplit(storage.ledger)
        assert ledger.scheme == "postgresql" and ledger.hostname == "postgres", name
        assert storage.redis_service == service_name, name
        hosts = {entry.rpartition(":")[0] for entry in storage.redis_sentinels}
        assert hosts == sentinels(services), name
        assert not storage.redis_url and not storage.redis_cluster
        assert config.smpp.proxy_protocol and config.http.proxy_protocol, name
        for upstream in config.upstreams:
            assert upstream.host in services, f"{name}: upstream at {upstream.host}"
            # sessions count binds in total over every instance: one each at least.
            assert upstream.sessions >= len(configs), (name, upstream.sessions)
    assert master in services and port == "6379"


def test_haproxy_sends_the_proxy_header_to_the_instances_ports(
    services: dict[str, dict[str, Any]], final: Stage
) -> None:
    configs = {name: instance_config(s, final) for name, s in instances(services).items()}
    found = backends()
    smpp = {words[2]: words[3:] for words in found["stopgate_smpp"]}
    http = {words[2]: words[3:] for words in found["stopgate_http"]}
    assert set(smpp) == {f"{n}:{c.server.smpp_listen.port}" for n, c in configs.items()}
    assert set(http) == {f"{n}:{c.server.http_listen.port}" for n, c in configs.items()}
    assert all("send-proxy-v2" in options and "check-send-proxy" in options
               for options in smpp.values())
    assert all("send-proxy" in options and "check-send-proxy" in options
               for options in http.values())
    # What the balancer listens on is what the stack publishes, and nothing else.
    assert frontend_ports() == published(services["haproxy"])
    mounts = bind_mounts(services["haproxy"])
    assert (COMPOSE.parent / mounts["/usr/local/etc/haproxy/haproxy.cfg"]).resolve() \
        == HAPROXY_CFG


def test_haproxy_accepts_its_config() -> None:
    binary = haproxy_binary()
    if binary is None:
        pytest.skip("HAProxy is not installed (make test installs it as root with apt-get)")
    check = subprocess.run([binary, "-c", "-f", str(HAPROXY_CFG)], capture_output=True,
                           text=True, timeout=30)
    assert check.returncode == 0, check.stdout + check.stderr


def test_every_published_port_is_on_loopback(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        for entry in service.get("ports") or []:
            assert str(entry).startswith("127.0.0.1:"), f"{name} publishes {entry}"


def test_redis_never_evicts_and_the_sentinels_can_agree(
    services: dict[str, dict[str, Any]]
) -> None:
    for name in ("redis-master", "redis-replica"):
        text = " ".join(map(str, services[name]["command"]))
        assert "--maxmemory-policy noeviction" in text and "--appendonly yes" in text, name
    assert "--replicaof redis-master 6379" in " ".join(map(str, services["redis-replica"]
                                                           ["command"]))
    quorum = int(re.findall(r"^sentinel monitor \S+ \S+ \d+ (\d+)",
                            SENTINEL_CONF.read_text(), re.M)[0])
    assert len(sentinels(services)) // 2 < quorum <= len(sentinels(services))


def test_the_instances_health_check_speaks_proxy_protocol(
    services: dict[str, dict[str, Any]]
) -> None:
    """The image's HEALTHCHECK asks /healthz bare, which a PROXY listener refuses."""
    for name, service in instances(services).items():
        test = " ".join(map(str, service["healthcheck"]["test"]))
        assert "PROXY UNKNOWN" in test and "/healthz" in test, name
