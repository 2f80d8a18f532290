"""`stopgate held list|cancel`: the real console script on a ledger file a gateway left."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gateway.ledger.engines import open_ledger
from gateway.ledger.held import NewHeld
from tests.gateway.cli.test_cli import STOPGATE

T0 = datetime(2026, 11, 23, 21, 0, tzinfo=UTC)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "stopgate.toml"
    path.write_text(f'[server]\ndata_dir = "{tmp_path / "data"}"\n\n'
                    '[[accounts]]\nsystem_id = "acme"\npassword = "acmepass"\n')
    ledger = open_ledger("", tmp_path / "data")
    try:
        for i, campaign in enumerate(("bf", "bf", "news")):
            ledger.hold(NewHeld("acme", f"+3361234000{i}", campaign, f"id{i}",
                                T0 + timedelta(hours=10), T0, T0 + timedelta(days=3), b"m"))
    finally:
        ledger.close()
    return path


def stopgate(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(STOPGATE), *args], capture_output=True, text=True, timeout=60,
                          check=False)


def test_list_shows_the_accounts_held_messages(config: Path) -> None:
    result = stopgate("held", "list", "--account", "acme", "--campaign", "bf", "-c", str(config))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "3 message(s) held for account acme; campaign bf: 2 shown"
    assert lines[2].split() == ["id0", "+33612340000", "2026-11-23", "21:00:00Z",
                                "2026-11-24", "07:00:00Z", "2026-11-26", "21:00:00Z", "bf"]
    assert len(lines) == 4


def test_cancel_cancels_a_campaign_and_says_how_many(config: Path) -> None:
    result = stopgate("held", "cancel", "--account", "acme", "--campaign", "bf",
                      "-c", str(config))
    assert result.returncode == 0, result.stderr
    assert result.stdout == ("cancelled 2 held message(s) of account acme, campaign bf; their "
                             "DELETED receipts are sent by the running gateway\n")
    listed = stopgate("held", "list", "--account", "acme", "-c", str(config))
    assert listed.stdout.splitlines()[0] == "1 message(s) held for account acme; 1 shown"


def test_an_unknown_account_is_refused_by_name(config: Path) -> None:
    result = stopgate("held", "list", "--account", "initech", "-c", str(config))
    assert result.returncode == 1
    assert result.stderr == ("stopgate held list: no account 'initech' in the configuration "
                             "(accounts: acme)\n")


def test_cancel_needs_a_campaign(config: Path) -> None:
    result = stopgate("held", "cancel", "--account", "acme", "-c", str(config))
    assert result.returncode == 2 and "--campaign" in result.stderr
