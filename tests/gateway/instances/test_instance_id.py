"""``[server] instance_id``: what check-config accepts, and the names it gives."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.cli.main import main
from gateway.components import instance_id, instance_name
from gateway.config.model import parse_config


@pytest.mark.parametrize("name", ["edge-1", "a", "paris.dc2_gw-01", "X" * 64])
def test_instance_id_accepts_names_fit_for_keys_and_logs(name: str) -> None:
    config = parse_config({"server": {"instance_id": name}}, env={})
    assert config.server.instance_id == name
    assert instance_name(config.server) == name
    assert instance_id(config.server.data_dir, 2, name) == f"{name}-2"


@pytest.mark.parametrize("name", ["-edge", "edge 1", "edge/1", "é", "X" * 65, "{tag}"])
def test_check_config_refuses_an_instance_id_with_other_characters(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "config.toml"
    path.write_text(f'[server]\ninstance_id = "{name}"\n')
    assert main(["check-config", "-c", str(path)]) == 1
    err = capsys.readouterr().err
    assert "server.instance_id: expected 1 to 64 of A-Z a-z 0-9 . _ - starting with a " \
           "letter or digit" in err, err


def test_the_default_is_derived_from_the_host_name_and_data_dir_as_before(
    tmp_path: Path,
) -> None:
    config = parse_config({"server": {"data_dir": str(tmp_path)}}, env={})
    assert config.server.instance_id == ""
    name = instance_name(config.server)
    assert name.startswith("stopgate-") and len(name) == len("stopgate-") + 12
    other = parse_config({"server": {"data_dir": str(tmp_path / "b")}}, env={})
    assert instance_name(other.server) != name  # another data_dir, another instance
    # the processes' own ids are unchanged (takeover of a killed predecessor's claims)
    assert instance_id(tmp_path, 1) == instance_id(tmp_path, 1, "")
    assert instance_id(tmp_path, 1).endswith("-1")
