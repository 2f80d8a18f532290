"""The `stopgate` console script, run for real in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
STOPGATE = Path(sys.executable).parent / "stopgate"

BROKEN = """\
[server]
smpp_listen = "0.0.0.0"

[[accounts]]
system_id = "acme"
password = "x"
default_class = "promo"
"""


def stopgate(*args: str, cwd: Path = REPO, **env: str) -> subprocess.CompletedProcess[str]:
    """Run the installed console script with no STOPGATE_* variables but the given ones."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("STOPGATE_")}
    return subprocess.run([str(STOPGATE), *args], cwd=cwd, env=clean | env, capture_output=True,
                          text=True, timeout=60, check=False)


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    path = tmp_path / "broken.toml"
    path.write_text(BROKEN)
    return path


def test_help_lists_every_command() -> None:
    result = stopgate("--help")
    assert result.returncode == 0
    for command in ("serve", "demo", "check-config", "suppressions import",
                    "suppressions export", "add|remove|check NUMBER", "report optouts",
                    "reviews list", "reviews decide ID optout|dismiss",
                    "ledger backup FILE", "ledger migrate", "ledger copy --from",
                    "simulate-carrier"):
        assert command in result.stdout


@pytest.mark.parametrize("command", [
    "serve", "demo", "check-config", "suppressions", "suppressions import",
    "suppressions export", "suppressions add", "suppressions remove", "suppressions check",
    "report", "report optouts", "reviews", "reviews list", "reviews decide",
    "ledger", "ledger backup", "ledger migrate", "ledger copy",
    "simulate-carrier",
])
def test_every_command_has_help(command: str) -> None:
    result = stopgate(*command.split(), "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"usage: stopgate {command}")


def test_version() -> None:
    result = stopgate("--version")
    assert result.returncode == 0
    assert result.stdout.startswith("stopgate ")


def test_no_command_shows_help_and_fails() -> None:
    result = stopgate()
    assert result.returncode == 2
    assert "<command>" in result.stderr


def test_check_config_accepts_the_example() -> None:
    result = stopgate("check-config", "-c", "config.toml")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "config OK: 1 upstreams, 2 accounts, 3 rules\n"


def test_check_config_finds_config_toml_in_the_working_directory() -> None:
    assert stopgate("check-config").stdout.startswith("config OK: 1 upstreams")


def test_check_config_without_any_file_checks_the_builtin_defaults(tmp_path: Path) -> None:
    result = stopgate("check-config", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout == "config OK: 0 upstreams, 0 accounts, 0 rules\n"


def test_check_config_prints_every_problem_with_its_path(broken: Path) -> None:
    result = stopgate("check-config", "-c", str(broken))
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("server.smpp_listen: expected host:port")
    assert lines[1] == ("accounts[0].default_class: expected one of auto, promotional, "
                        "transactional, got 'promo'")


def test_check_config_names_each_bad_send_time_key(tmp_path: Path) -> None:
    path = tmp_path / "sendtime.toml"
    path.write_text("""\
[compliance]
packs = ["FR", "SE"]

[[quiet_hours]]
region = "FR"
start = "08:00"
end = "20:00"

[[quiet_hours]]
region = "FR"
days = "lun-sam"
start = "08:00"
end = "20:00"

[[frequency_caps]]
region = "US-FL"
max = 3
per = "1 day"
""")
    result = stopgate("check-config", "-c", str(path))
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "compliance.packs[1]: no compliance pack 'SE'; packs: FR, US, DE, ES, IT, UK, NL, BE, "
        "PT, CA",
        "quiet_hours[1].days: 'lun-sam' is not a list of days or ranges like \"mon-sat\" or "
        "\"mon-fri,sun\"",
        "frequency_caps[0].per: '1 day' is not a duration like \"30m\", \"24h\" or \"7d\""]


def test_check_config_uses_stopgate_config(broken: Path, tmp_path: Path) -> None:
    result = stopgate("check-config", cwd=tmp_path, STOPGATE_CONFIG=str(broken))
    assert result.returncode == 1
    assert "accounts[0].default_class" in result.stderr


def test_check_config_applies_environment_overrides() -> None:
    result = stopgate("check-config", STOPGATE_SERVER_WORKERS="lots")
    assert result.returncode == 1
    assert result.stderr == ("server.workers: expected an integer such as 10 or 0x65, got 'lots' "
                             "(from STOPGATE_SERVER_WORKERS)\n")


def test_check_config_on_a_missing_file_fails(tmp_path: Path) -> None:
    result = stopgate("check-config", "-c", str(tmp_path / "absent.toml"))
    assert result.returncode == 1
    assert "absent.toml: cannot read" in result.stderr


def test_report_optouts_on_an_empty_ledger_prints_an_empty_table(tmp_path: Path) -> None:
    result = stopgate("report", "optouts", "--by", "reason", "--from", "2026-11-01",
                      STOPGATE_SERVER_DATA_DIR=str(tmp_path))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("opt-outs of every scope (* = operator-wide), 2026-11-01 to ")
    assert lines[1].split() == ["reason", "optouts", "optins"]
    assert lines[-1].split() == ["total", "0", "0"]


def test_a_bad_config_is_reported_before_anything_else(broken: Path) -> None:
    result = stopgate("serve", "-c", str(broken))
    assert result.returncode == 1
    assert "server.smpp_listen" in result.stderr
    assert "not yet available" not in result.stderr


def test_bad_arguments_are_refused_with_the_reason() -> None:
    result = stopgate("simulate-carrier", "--listen", "::1:2776")
    assert result.returncode == 2
    assert "IPv6 addresses go in brackets: '[::1]:2776'" in result.stderr
    result = stopgate("report", "optouts", "--from", "23/11/2026")
    assert result.returncode == 2
    assert "expected a date as YYYY-MM-DD" in result.stderr


def test_reviews_decide_refuses_a_bad_id_or_decision_before_opening_anything() -> None:
    result = stopgate("reviews", "decide", "abc", "optout")
    assert result.returncode == 2
    assert ("argument ID: expected a review id (a positive whole number, as `stopgate "
            "reviews list` shows), got 'abc'") in result.stderr
    result = stopgate("reviews", "decide", "3", "stop")
    assert result.returncode == 2
    assert "argument decision: invalid choice: 'stop' (choose from" in result.stderr
