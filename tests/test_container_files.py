"""Dockerfile and docker-compose.yml, checked without a Docker engine.

Both files name things that live elsewhere: stopgate subcommands (gateway.cli.main), config
keys through STOPGATE_* variables (gateway.config.model), the SMPP and HTTP ports (config.toml
plus those variables), files in the repository (Prometheus' config and alert rules).
A rename on either side breaks the container only when someone runs it; these tests
break at once. They also hold the image to what README promises: two stages, no
compiler in the final one, a non-root user, a health check on /healthz.
"""

from __future__ import annotations

import ipaddress
import json
import re
import shlex
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml  # the test extra: docker-compose.yml and Prometheus' config are YAML

from gateway.cli.main import build_parser
from gateway.config.model import Config, ConfigError, load_config

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = ROOT / "docker-compose.yml"

COMPILERS = re.compile(r"\b(gcc|g\+\+|cc|c\+\+|clang|build-essential|make|cmake|"
                       r"python3?-dev|libc6?-dev|rustc|cargo)\b")


# --- a small Dockerfile reader ---------------------------------------------------------


@dataclass
class Instruction:
    keyword: str  # upper case
    args: str  # continuation lines joined

    def exec_form(self) -> list[str] | None:
        """The JSON array of an exec-form instruction, else None (shell form)."""
        if not self.args.startswith("["):
            return None
        value = json.loads(self.args)
        assert isinstance(value, list) and all(isinstance(v, str) for v in value), self.args
        return value


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]

    def last(self, keyword: str) -> Instruction | None:
        found = self.all(keyword)
        return found[-1] if found else None

    def env(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for instruction in self.all("ENV"):
            words = shlex.split(instruction.args)
            if len(words) >= 2 and "=" not in words[0]:  # legacy `ENV KEY value`
                out[words[0]] = " ".join(words[1:])
                continue
            for word in words:
                key, sep, value = word.partition("=")
                assert sep, f"ENV {instruction.args!r}: expected KEY=value"
                out[key] = value
        return out


def read_dockerfile(text: str) -> list[Stage]:
    instructions: list[Instruction] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("#") or (not line and not pending):
            continue  # comments, also inside a continued instruction, are dropped
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        if not line.strip():
            continue
        keyword, _, args = line.strip().partition(" ")
        instructions.append(Instruction(keyword.upper(), " ".join(args.split())))
    assert not pending, "Dockerfile ends inside a continued line"
    stages: list[Stage] = []
    for instruction in instructions:
        if instruction.keyword == "FROM":
            words = [w for w in instruction.args.split() if not w.startswith("--")]
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            stages.append(Stage(words[0], name))
        else:
            assert stages, f"{instruction.keyword} before the first FROM"
            stages[-1].instructions.append(instruction)
    return stages


# --- shared facts ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def stages() -> list[Stage]:
    return read_dockerfile(DOCKERFILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def final(stages: list[Stage]) -> Stage:
    return stages[-1]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(data, dict) and isinstance(data.get("services"), dict)
    return data


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


def stopgate_env(env: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if k.startswith("STOPGATE_")}


def check_command(argv: list[str], where: str) -> Any:
    """argparse's reading of a stopgate command line; fails the test if it is not one."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit:
        pytest.fail(f"{where}: `stopgate {shlex.join(argv)}` is not a stopgate command "
                    f"(argparse's complaint is above)")
    if getattr(args, "handler", None) is None:
        pytest.fail(f"{where}: `stopgate {shlex.join(argv)}` names no runnable command")
    return args


def image_config_path(final: Stage) -> str:
    """Where the image's serve reads its config: CMD's -c, else STOPGATE_CONFIG."""
    cmd = final.last("CMD")
    argv = (cmd.exec_form() or []) if cmd else []
    args = check_command(argv, "Dockerfile CMD")
    path = getattr(args, "config", None) or final.env().get("STOPGATE_CONFIG")
    assert path, "the image's serve would fall back to ./config.toml in its WORKDIR"
    return path


def image_config(final: Stage, extra_env: Mapping[str, str] = {},
                 where: str = "the image's ENV") -> Config:
    """config.toml as the image sees it: the COPYed file plus ENV plus ``extra_env``."""
    copied: dict[PurePosixPath, str] = {}
    for instruction in final.all("COPY"):
        words = instruction.args.split()
        if any(w.startswith("--from=") for w in words):
            continue
        paths = [w for w in words if not w.startswith("--")]
        copied[PurePosixPath(paths[-1])] = paths[0]
    target = PurePosixPath(image_config_path(final))
    assert target in copied, f"the image reads {target} but no COPY puts a file there"
    env = {**stopgate_env(final.env()), **extra_env}
    try:
        return load_config(ROOT / copied[target], env=env)
    except ConfigError as error:
        pytest.fail(f"config.toml with the STOPGATE_* variables of {where}: "
                    + "; ".join(f"{p.path}: {p.message}" for p in error.problems))


def service_env(service: Mapping[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.partition("=")[::2] for item in env)
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def published(service: Mapping[str, Any]) -> set[int]:
    """Container ports a service publishes."""
    ports: set[int] = set()
    for entry in service.get("ports") or []:
        if isinstance(entry, dict):
            ports.add(int(entry["target"]))
        else:
            ports.add(int(str(entry).split("/")[0].rsplit(":", 1)[-1]))
    return ports


def bind_mounts(service: Mapping[str, Any]) -> dict[str, str]:
    """Container path -> host path (relative to the repository) of a service's bind mounts."""
    mounts: dict[str, str] = {}
    for entry in service.get("volumes") or []:
        if isinstance(entry, dict):
            if entry.get("type") == "bind":
                mounts[entry["target"]] = entry["source"]
            continue
        source, _, rest = str(entry).partition(":")
        if source.startswith((".", "/")):
            mounts[rest.split(":")[0]] = source
    return mounts


def runs_stopgate_image(service: Mapping[str, Any]) -> bool:
    build = service.get("build")
    context = build.get("context") if isinstance(build, dict) else build
    return context in (".", "./")


def service_argv(service: Mapping[str, Any], final: Stage) -> list[str]:
    """What follows `stopgate` in a service built from the Dockerfile."""
    entrypoint = service.get("entrypoint")
    if entrypoint is not None:
        entrypoint = shlex.split(entrypoint) if isinstance(entrypoint, str) else entrypoint
        assert entrypoint == ["stopgate"], f"entrypoint {entrypoint} is not stopgate"
    command = service.get("command")
    if command is None:
        cmd = final.last("CMD")
        return (cmd.exec_form() or []) if cmd else []
    return shlex.split(command) if isinstance(command, str) else [str(c) for c in command]


def stopgate_services(services: Mapping[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {name: s for name, s in services.items() if runs_stopgate_image(s)}


def serve_config(services: Mapping[str, dict[str, Any]], final: Stage) -> Config:
    """The config the compose `stopgate` service runs with (its own mount or the image's)."""
    service = services["stopgate"]
    target = image_config_path(final)
    mounted = bind_mounts(service).get(target)
    if mounted is None:
        return image_config(final, service_env(service))
    env = {**stopgate_env(final.env()), **service_env(service)}
    try:
        return load_config(ROOT / mounted, env=env)
    except ConfigError as error:
        pytest.fail(f"{mounted} with the STOPGATE_* variables of the image and of the "
                    "stopgate service: "
                    + "; ".join(f"{p.path}: {p.message}" for p in error.problems))


def registry_host(image: str) -> str | None:
    first, sep, _ = image.partition("/")
    return first if sep and ("." in first or ":" in first or first == "localhost") else None


# --- Dockerfile ------------------------------------------------------------------------


def test_dockerfile_builds_in_stages_from_plain_image_names(stages: list[Stage]) -> None:
    assert len(stages) >= 2, "the compiler belongs in a build stage of its own"
    names = {s.name for s in stages if s.name}
    for stage in stages:
        assert registry_host(stage.base) is None, f"FROM {stage.base}: name no registry"
    final = stages[-1]
    sources = [i.args for i in final.all("COPY") if i.args.startswith("--from=")]
    assert sources, "the final stage copies nothing built in an earlier stage"
    for args in sources:
        assert args.split()[0].removeprefix("--from=") in names, f"COPY {args}: no such stage"


def test_final_stage_has_no_compiler(final: Stage) -> None:
    for instruction in final.all("RUN"):
        found = COMPILERS.search(instruction.args)
        assert found is None, f"final stage RUN installs or uses {found[0]!r}: {instruction.args}"
    assert final.base == "python:3.11-slim" or "slim" in final.base, final.base


def test_final_stage_runs_as_a_non_root_user(final: Stage) -> None:
    user = final.last("USER")
    assert user is not None, "no USER: the image would run as root"
    name = user.args.split(":")[0]
    assert name not in ("root", "0"), f"USER {user.args}"


def test_entrypoint_and_cmd_are_a_real_stopgate_command(final: Stage) -> None:
    entrypoint = final.last("ENTRYPOINT")
    assert entrypoint is not None and entrypoint.exec_form() == ["stopgate"], \
        "ENTRYPOINT must be the exec form [\"stopgate\"] (so stopgate gets SIGTERM)"
    cmd = final.last("CMD")
    assert cmd is not None and cmd.exec_form(), "CMD must name the default command"
    argv = cmd.exec_form() or []
    check_command(argv, "Dockerfile CMD")
    assert argv[0] == "serve", f"the image's default command is {argv}, not serve"


def test_image_config_is_valid_and_listens_on_every_interface(final: Stage) -> None:
    config = image_config(final)
    for name, listen in (("smpp_listen", config.server.smpp_listen),
                         ("http_listen", config.server.http_listen)):
        assert ipaddress.ip_address(listen.host).is_unspecified, \
            f"server.{name} = {listen.host}:{listen.port}: unreachable from outside the container"


def test_expose_matches_the_configured_ports(final: Stage) -> None:
    config = image_config(final)
    exposed = {int(p.split("/")[0]) for i in final.all("EXPOSE") for p in i.args.split()}
    assert exposed == {config.server.smpp_listen.port, config.server.http_listen.port}


def test_data_dir_is_a_volume_owned_by_the_user(final: Stage) -> None:
    config = image_config(final)
    volumes: set[str] = set()
    for instruction in final.all("VOLUME"):
        form = instruction.exec_form()
        volumes.update(form if form is not None else instruction.args.split())
    data_dir = str(config.server.data_dir)
    assert data_dir in volumes, f"server.data_dir {data_dir} is not a VOLUME ({volumes})"
    user = final.last("USER")
    assert user is not None
    created = [i.args for i in final.all("RUN") if "useradd" in i.args]
    assert any(f"--home-dir {data_dir}" in args and "--create-home" in args
               for args in created), "data_dir should be created by (so owned by) the user"


def test_healthcheck_asks_healthz_on_the_http_port(
    final: Stage, monkeypatch: pytest.MonkeyPatch
) -> None:
    check = final.last("HEALTHCHECK")
    assert check is not None
    cmd = check.args[check.args.index("CMD ") + 4:]
    argv = json.loads(cmd)
    assert argv[:2] == ["python", "-c"], f"health check {argv}: curl/wget are not in the image"
    # Run its Python with the image's environment and a stand-in for urlopen.
    asked: list[str] = []

    def urlopen(url: str, timeout: float) -> None:
        asked.append(url)

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    for key, value in final.env().items():
        monkeypatch.setenv(key, value)
    exec(argv[2], {})
    port = image_config(final).server.http_listen.port
    assert asked == [f"http://127.0.0.1:{port}/healthz"]


# --- docker-compose.yml --------------------------------------------------------------------


def test_compose_has_the_stack(services: dict[str, dict[str, Any]]) -> None:
    assert {"stopgate", "redis", "prometheus"} <= set(services)
    depends = services["stopgate"].get("depends_on") or []
    assert "redis" in depends
    for name, service in services.items():
        image = service.get("image")
        if image:
            assert registry_host(image) is None, f"{name}: image {image}: name no registry"


def test_compose_commands_are_real_stopgate_commands(
    services: dict[str, dict[str, Any]], final: Stage
) -> None:
    ours = stopgate_services(services)
    assert "stopgate" in ours
    for name, service in ours.items():
        check_command(service_argv(service, final), f"compose service {name}")
    assert service_argv(ours["stopgate"], final)[0] == "serve"


def test_compose_stopgate_variables_are_config_keys(
    services: dict[str, dict[str, Any]], final: Stage
) -> None:
    # Every service's STOPGATE_* variables, so a stray one on another service counts too.
    for name, service in services.items():
        env = stopgate_env(service_env(service))
        if env:
            image_config(final, env, f"compose service {name}")  # fails with the problems
    config = serve_config(services, final)
    assert config.storage.redis_url == "redis://redis:6379/0"


def test_compose_upstreams_point_at_services(
    services: dict[str, dict[str, Any]], final: Stage
) -> None:
    config = serve_config(services, final)
    assert config.upstreams, "the stack's stopgate has no carrier link"
    for upstream in config.upstreams:
        try:
            address = ipaddress.ip_address(upstream.host)
        except ValueError:
            address = None
        assert address is None or not address.is_loopback, \
            f"upstream {upstream.name} at {upstream.host}: the container's own loopback"
        target = services.get(upstream.host)
        if target is None or not runs_stopgate_image(target):
            continue
        args = check_command(service_argv(target, final), f"compose service {upstream.host}")
        assert args.handler.__name__ == "_simulate_carrier", upstream.host
        assert args.listen.port == upstream.port, \
            f"upstream {upstream.name} dials port {upstream.port}, " \
            f"{upstream.host} listens on {args.listen.port}"


def test_compose_ports_match_the_config(
    services: dict[str, dict[str, Any]], final: Stage
) -> None:
    config = serve_config(services, final)
    assert published(services["stopgate"]) == {config.server.smpp_listen.port,
                                                config.server.http_listen.port}


def test_compose_redis_never_evicts_and_persists(services: dict[str, dict[str, Any]]) -> None:
    redis = services["redis"]
    assert str(redis["image"]).startswith("redis:7")
    command = redis.get("command")
    argv = shlex.split(command) if isinstance(command, str) else list(command or [])
    text = " ".join(str(a) for a in argv)
    assert "--appendonly yes" in text
    assert "--maxmemory-policy noeviction" in text


def test_compose_prometheus_mounts_files_of_the_repository(
    services: dict[str, dict[str, Any]], final: Stage
) -> None:
    prometheus = services["prometheus"]
    mounts = bind_mounts(prometheus)
    assert mounts, "prometheus mounts no config"
    missing = [source for source in mounts.values() if not (ROOT / source).is_file()]
    assert not missing, f"prometheus mounts files that do not exist: {missing}"

    config_target = "/etc/prometheus/prometheus.yml"
    assert config_target in mounts, "prometheus.yml must be mounted where the image reads it"
    prom = yaml.safe_load((ROOT / mounts[config_target]).read_text(encoding="utf-8"))
    base = PurePosixPath(config_target).parent
    for rule_file in prom.get("rule_files") or []:
        path = str(base / rule_file) if not rule_file.startswith("/") else rule_file
        assert path in mounts, f"rule_files names {rule_file}, which is not mounted"
    http_port = serve_config(services, final).server.http_listen.port
    targets = [target
               for job in prom.get("scrape_configs") or []
               for static in job.get("static_configs") or []
               for target in static.get("targets") or []]
    assert f"stopgate:{http_port}" in targets, \
        f"prometheus scrapes {targets}, not stopgate's HTTP port {http_port}"
