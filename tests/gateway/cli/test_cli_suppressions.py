"""`stopgate suppressions ...`: the real console script on a temporary ledger (and Redis)."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from gateway.ledger.engines import open_ledger
from gateway.ledger.model import DEFAULT_FILE
from gateway.ledger.threaded import AsyncLedger
from gateway.process.redis_embedded import EmbeddedRedis
from gateway.suppression.cache import SuppressionCache
from gateway.suppression.erasure import NumberHasher
from tests.gateway.cli.test_cli import STOPGATE
from tests.integration.policy_stack import digits

ALICE = "+33612345678"
CONFIG = """\
[server]
data_dir = "{data_dir}"

[storage]
redis_url = "{redis_url}"

[[accounts]]
system_id = "acme"
password = "acmepass"
default_region = "FR"

[[accounts]]
system_id = "globex"
password = "globex1"
default_region = "GB"
"""


@pytest.fixture
def data_dir() -> Iterator[Path]:
    # Short: the embedded Redis socket lives here, and a unix socket path has ~100 bytes.
    path = Path(tempfile.mkdtemp(prefix="sg-cli-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def write_config(tmp_path: Path, data_dir: Path, redis_url: str = "") -> Path:
    path = tmp_path / "stopgate.toml"
    path.write_text(CONFIG.format(data_dir=data_dir, redis_url=redis_url))
    return path


@pytest.fixture
def config(tmp_path: Path, data_dir: Path) -> Path:
    return write_config(tmp_path, data_dir)


def run(config: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """``stopgate suppressions ARGS -c CONFIG``, with no STOPGATE_* variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("STOPGATE_")}
    done = subprocess.run([str(STOPGATE), "suppressions", *args, "-c", str(config)],
                          input=None if stdin is None else stdin.encode(), cwd=config.parent,
                          env=env, capture_output=True, timeout=60, check=False)
    # Decoded by hand: text=True would turn the progress bar's "\r" into newlines.
    return subprocess.CompletedProcess(done.args, done.returncode, done.stdout.decode(),
                                       done.stderr.decode())


def ok(result: subprocess.CompletedProcess[str]) -> list[str]:
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


# --- single numbers ------------------------------------------------------------------------


def test_add_check_remove_check(config: Path) -> None:
    assert ok(run(config, "check", ALICE)) == [f"{ALICE}: not suppressed"]
    assert ok(run(config, "add", "06 12 34 56 78", "--account", "acme")) == [
        f"{ALICE}: opted out of account acme"]
    assert ok(run(config, "add", "0033612345678", "--account", "acme")) == [
        f"{ALICE}: already opted out of account acme"]
    lines = ok(run(config, "check", "0612345678", "--account", "acme"))
    assert lines[0] == f"{ALICE}: suppressed for account acme"
    assert lines[1].startswith("  acme  since 20") and lines[1].endswith("  source cli")
    assert ok(run(config, "check", ALICE, "--account", "globex")) == [
        f"{ALICE}: not suppressed for account globex"]
    assert ok(run(config, "remove", ALICE, "--account", "acme")) == [
        f"{ALICE}: opted back in to account acme"]
    assert ok(run(config, "check", ALICE)) == [f"{ALICE}: not suppressed"]


def test_without_an_account_the_entry_is_operator_wide(config: Path) -> None:
    assert ok(run(config, "add", "0612345678")) == [
        f"{ALICE}: added to the operator-wide list (*)"]
    ok(run(config, "add", ALICE, "--account", "acme"))
    lines = ok(run(config, "check", ALICE, "--account", "globex"))
    assert lines[0] == f"{ALICE}: suppressed for account globex"
    assert [line.split()[0] for line in lines[1:]] == ["*"]  # what blocks globex
    lines = ok(run(config, "check", ALICE))
    assert [line.split()[0] for line in lines[1:]] == ["*", "acme"]
    assert ok(run(config, "remove", ALICE, "--account", "acme")) == [
        f"{ALICE}: opted back in to account acme",
        f"{ALICE}: still suppressed for * (every account)"]


def test_national_numbers_use_the_accounts_region_or_region(config: Path) -> None:
    assert ok(run(config, "add", "07400 123456", "--account", "globex"))[0].startswith(
        "+447400123456: ")
    assert ok(run(config, "add", "07400 123457", "--region", "gb"))[0].startswith(
        "+447400123457: ")
    # No account, no --region: the first account's region (acme: FR).
    assert ok(run(config, "add", "0612345679"))[0].startswith("+33612345679: ")


def test_unknown_account_exits_1_and_says_which_exist(config: Path, data_dir: Path) -> None:
    result = run(config, "add", ALICE, "--account", "initech")
    assert result.returncode == 1
    assert result.stderr == ("stopgate suppressions add: unknown account 'initech': --account "
                             "takes the system_id of a configured account (acme, globex)\n")
    assert not (data_dir / "ledger.sqlite3").exists()  # nothing opened, nothing written


@pytest.mark.parametrize("action", ["add", "remove", "check"])
def test_an_invalid_number_exits_1(config: Path, action: str) -> None:
    result = run(config, action, "12345")
    assert result.returncode == 1
    assert "'12345' is not a valid phone number" in result.stderr
    assert result.stdout == ""


def test_a_bad_region_exits_1(config: Path) -> None:
    result = run(config, "add", "0612345678", "--region", "France")
    assert result.returncode == 1
    assert "--region 'France': expected an ISO country code" in result.stderr


# --- import and export ---------------------------------------------------------------------

CSV = (
    "number,name\n"
    "+33612345601,alice\n"
    "0612345602,bob\n"
    "not-a-number,carol\n"
    "+33612345601,alice again\n"
    '"+44 7400 123456",erin\n'
)


def test_import_reports_bad_lines_exits_0_and_is_idempotent(config: Path,
                                                             tmp_path: Path) -> None:
    numbers = tmp_path / "numbers.csv"
    numbers.write_text(CSV)
    result = run(config, "import", str(numbers), "--account", "acme")
    assert ok(result) == [
        f"imported {numbers} into account acme: 6 lines, 3 added, 1 already suppressed, "
        "1 invalid",
        "  line 4: not a valid phone number: 'not-a-number'",
    ]
    assert ok(run(config, "import", str(numbers), "--account", "acme"))[0] == (
        f"imported {numbers} into account acme: 6 lines, 0 added, 4 already suppressed, "
        "1 invalid")
    assert ok(run(config, "check", "+44 7400 123456", "--account", "acme"))[0] == (
        "+447400123456: suppressed for account acme")


def test_import_shows_progress_on_stderr(config: Path, tmp_path: Path) -> None:
    numbers = tmp_path / "numbers.txt"
    numbers.write_text("".join(f"+3361{i:07d}\n" for i in range(5000)))
    result = run(config, "import", str(numbers))
    assert ok(result)[0] == (f"imported {numbers} into the operator-wide list (*): 5000 lines, "
                             "5000 added, 0 already suppressed, 0 invalid")
    progress = result.stderr.split("\n")[0]
    assert progress.startswith("\r")
    updates = progress.split("\r")[1:]
    assert updates[-1].startswith("5000/5000 numbers  ") and updates[-1].endswith("/s")
    assert all(re.fullmatch(r"\d+/5000 numbers  \d+/s", update) for update in updates)
    done = [int(update.split("/")[0]) for update in updates]
    assert done == sorted(done)


def test_import_reads_stdin(config: Path) -> None:
    result = run(config, "import", "-", "--account", "globex",
                 stdin="07400 123456\n07400 123457\n")
    assert ok(result)[0] == ("imported stdin into account globex: 2 lines, 2 added, "
                             "0 already suppressed, 0 invalid")
    assert "\r2 numbers  " in result.stderr  # no total for a stream


def test_an_import_with_no_valid_line_exits_1(config: Path, tmp_path: Path) -> None:
    numbers = tmp_path / "numbers.txt"
    numbers.write_text("12\nhello 5\n" + "".join(f"{i}\n" for i in range(30)))
    result = run(config, "import", str(numbers))
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0].endswith(": 32 lines, 0 added, 0 already suppressed, 32 invalid")
    assert lines[1:3] == ["  line 1: not a valid phone number: '12'",
                          "  line 2: not a valid phone number: 'hello 5'"]
    assert len(lines) == 1 + 20 + 1 and lines[-1] == "  ... and 12 more invalid lines"


def test_import_of_a_missing_file_exits_1(config: Path, tmp_path: Path) -> None:
    result = run(config, "import", str(tmp_path / "absent.csv"))
    assert result.returncode == 1
    assert "cannot read" in result.stderr and "absent.csv" in result.stderr


def test_export_round_trip(config: Path, tmp_path: Path) -> None:
    numbers = tmp_path / "numbers.csv"
    numbers.write_text(CSV)
    ok(run(config, "import", str(numbers), "--account", "acme"))
    ok(run(config, "add", "+33699999999"))
    exported = run(config, "export", "--account", "acme")
    rows = list(csv.reader(io.StringIO(ok(exported) and exported.stdout)))
    assert rows[0] == ["number", "scope", "since", "source"]
    assert sorted(row[0] for row in rows[1:]) == ["+33612345601", "+33612345602",
                                                  "+447400123456"]
    assert {row[1] for row in rows[1:]} == {"acme"}
    assert exported.stderr == ""

    again = tmp_path / "acme.csv"
    again.write_text(exported.stdout)
    assert ok(run(config, "import", str(again), "--account", "globex"))[0].endswith(
        ": 4 lines, 3 added, 0 already suppressed, 0 invalid")
    everything = list(csv.reader(io.StringIO(run(config, "export").stdout)))
    assert sorted((row[1], row[0]) for row in everything[1:]) == [
        ("*", "+33699999999"),
        ("acme", "+33612345601"), ("acme", "+33612345602"), ("acme", "+447400123456"),
        ("globex", "+33612345601"), ("globex", "+33612345602"), ("globex", "+447400123456"),
    ]


# --- the Redis cache -----------------------------------------------------------------------


async def ready_cache(redis_url: str, data_dir: Path) -> SuppressionCache:
    """A complete cache generation built from the ledger, as a gateway's keeper builds it."""
    cache = SuppressionCache(aioredis.Redis.from_url(redis_url))
    ledger = AsyncLedger(open_ledger("", data_dir))
    try:
        await cache.rebuild(ledger)
    finally:
        await ledger.aclose()
    return cache


async def in_thread(config: Path, *args: str) -> list[str]:
    return ok(await asyncio.to_thread(run, config, *args))


@pytest.fixture
async def gateway_redis(data_dir: Path) -> AsyncIterator[EmbeddedRedis]:
    """The embedded Redis a gateway running on ``data_dir`` would have."""
    server = EmbeddedRedis(data_dir)
    await asyncio.to_thread(server.start)
    assert server.socket_path == str(data_dir / "redis.sock")
    yield server
    await asyncio.to_thread(server.stop)


async def test_changes_reach_a_running_gateways_embedded_redis_at_once(
    config: Path, data_dir: Path, tmp_path: Path, gateway_redis: EmbeddedRedis
) -> None:
    cache = await ready_cache(gateway_redis.url, data_dir)
    try:
        result = await asyncio.to_thread(run, config, "add", ALICE, "--account", "acme")
        assert result.returncode == 0
        assert "written through to the running gateway's Redis" in result.stderr
        assert await cache.lookup("acme", ALICE)
        assert not await cache.lookup("globex", ALICE)
        await in_thread(config, "remove", ALICE, "--account", "acme")
        assert not await cache.lookup("acme", ALICE)
        numbers = tmp_path / "numbers.csv"
        numbers.write_text(CSV)
        await in_thread(config, "import", str(numbers))
        assert await cache.lookup_many([("globex", "+33612345602"),
                                        ("acme", "+447400123456")]) == [True, True]
        assert await cache.count() == 3  # the members match the ledger: no rebuild needed
    finally:
        await cache.redis.aclose()


async def test_changes_reach_the_configured_redis_url(
    tmp_path: Path, data_dir: Path, redis_url: str
) -> None:
    client = aioredis.Redis.from_url(redis_url)
    await client.flushdb()
    await client.aclose()
    config = write_config(tmp_path, data_dir, redis_url)
    cache = await ready_cache(redis_url, data_dir)
    try:
        result = await asyncio.to_thread(run, config, "add", ALICE)
        assert result.returncode == 0
        assert "written through to Redis at " in result.stderr
        assert await cache.lookup("globex", ALICE)  # operator-wide
    finally:
        await cache.redis.aclose()


def test_an_unreachable_redis_url_leaves_the_change_in_the_ledger_and_says_so(
    tmp_path: Path, data_dir: Path
) -> None:
    config = write_config(tmp_path, data_dir, "redis://:hunter2@127.0.0.1:1/0")
    result = run(config, "add", ALICE)
    assert result.returncode == 0
    assert "Redis at redis://127.0.0.1:1/0 does not answer" in result.stderr
    assert "ledger only" in result.stderr and "redis-cli DEL {sp}:ready" in result.stderr
    assert "hunter2" not in result.stderr
    assert ok(run(config, "check", ALICE))[0] == f"{ALICE}: suppressed"


async def test_with_no_gateway_running_the_cache_it_will_load_is_updated(
    config: Path, data_dir: Path
) -> None:
    # A gateway ran once: its cache is complete in the AOF it left, and the next one
    # loads it as complete. The CLI must not leave it behind the ledger.
    server = EmbeddedRedis(data_dir)
    await asyncio.to_thread(server.start)
    cache = await ready_cache(server.url, data_dir)
    await cache.redis.aclose()
    await asyncio.to_thread(server.stop)

    result = await asyncio.to_thread(run, config, "add", ALICE, "--account", "acme")
    assert result.returncode == 0
    assert "no gateway runs on" in result.stderr and "updated the cache" in result.stderr
    assert not (data_dir / "redis.sock").exists()  # its private Redis is gone again

    await asyncio.to_thread(server.start)
    try:
        cache = SuppressionCache(aioredis.Redis.from_url(server.url))
        assert await cache.lookup("acme", ALICE)
        await cache.redis.aclose()
    finally:
        await asyncio.to_thread(server.stop)


def test_with_no_cache_anywhere_the_ledger_alone_is_written(config: Path, data_dir: Path) -> None:
    result = run(config, "add", ALICE)
    assert result.returncode == 0
    assert "no gateway has run on" in result.stderr
    assert "the first gateway builds it from the ledger" in result.stderr
    assert not (data_dir / "redis.aof").exists()


# --- history and erasure -------------------------------------------------------------------

KEY = "k" * 40
HISTORY_HEADER = ("at,scope,event,source,changed,stored,keyword,mo_text,number_called,"
                  "campaign,reason,user_agent,api_key,client_address,consent_source")
NO_KEY = ("stopgate suppressions erase: erasure needs a key: set storage.hash_key (or "
          "storage.hash_key_file) to a secret of at least 32 characters, and never change it "
          "afterwards; nothing was changed\n")


def with_key(config: Path, key: str = KEY) -> Path:
    """The same configuration with ``storage.hash_key`` (in a file of its own)."""
    keyed = config.with_name(f"keyed-{key[:4]}.toml")
    keyed.write_text(config.read_text().replace("[storage]\n",
                                                f'[storage]\nhash_key = "{key}"\n'))
    return keyed


@pytest.fixture
def keyed(config: Path) -> Path:
    return with_key(config)


def history(config: Path, *args: str) -> dict[str, Any]:
    result = run(config, "history", ALICE, *args)
    assert result.returncode == 0, result.stderr
    assert result.stdout.endswith("}\n") and result.stdout.count("\n") == 1  # one JSON line
    value: dict[str, Any] = json.loads(result.stdout)
    return value


def ledger_text(data_dir: Path) -> str:
    """Every value of every table of the ledger file but ``ledger_meta`` (its facts, which
    hold no number, change at each opening), as one text."""
    with sqlite3.connect(f"file:{data_dir / DEFAULT_FILE}?mode=ro", uri=True) as db:
        tables = [name for (name,) in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name != 'ledger_meta'")]
        return "\n".join(str(value) for table in tables
                         for row in db.execute(f"SELECT * FROM {table}") for value in row)


def recorded_key(data_dir: Path) -> list[str]:
    with sqlite3.connect(f"file:{data_dir / DEFAULT_FILE}?mode=ro", uri=True) as db:
        return [value for (value,) in db.execute(
            "SELECT value FROM ledger_meta WHERE key = 'erasure_key'")]


def test_history_json_lists_every_event_with_every_field(keyed: Path) -> None:
    assert history(keyed) == {"number": ALICE, "scopes": None, "events": []}
    ok(run(keyed, "add", ALICE, "--account", "acme"))
    ok(run(keyed, "add", ALICE, "--account", "acme"))  # a repeat: changed false
    ok(run(keyed, "add", ALICE))
    ok(run(keyed, "add", ALICE, "--account", "globex"))
    ok(run(keyed, "remove", ALICE, "--account", "acme"))
    everything = history(keyed, "--region", "FR")
    assert everything["number"] == ALICE and everything["scopes"] is None
    events = everything["events"]
    assert [(e["scope"], e["event"], e["changed"]) for e in events] == [
        ("acme", "optout", True), ("acme", "optout", False), ("*", "optout", True),
        ("globex", "optout", True), ("acme", "optin", True)]
    assert all(list(e) == HISTORY_HEADER.split(",") for e in events)
    assert all(re.fullmatch(r"20\d\d-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", e["at"])
               for e in events)
    assert [e["at"] for e in events] == sorted(e["at"] for e in events)
    assert {(e["source"], e["stored"]) for e in events} == {("cli", "clear")}
    assert {e["mo_text"] for e in events} == {None}
    # --account: that account's events and the operator-wide ones, nobody else's.
    acme = history(keyed, "--account", "acme")
    assert acme["scopes"] == ["acme", "*"]
    assert [e["scope"] for e in acme["events"]] == ["acme", "acme", "*", "acme"]
    # National format, the account's region.
    assert run(keyed, "history", "06 12 34 56 78", "--account", "acme").stdout == (
        run(keyed, "history", ALICE, "--account", "acme").stdout)


def test_history_csv_has_a_header_and_one_row_per_event(keyed: Path) -> None:
    empty = run(keyed, "history", ALICE, "--format", "csv")
    assert (empty.returncode, empty.stdout) == (0, HISTORY_HEADER + "\r\n")
    ok(run(keyed, "add", ALICE, "--account", "acme"))
    ok(run(keyed, "add", ALICE, "--account", "globex"))
    result = run(keyed, "history", ALICE, "--format", "csv", "--account", "acme")
    lines = ok(result)
    assert lines[0] == HISTORY_HEADER and len(lines) == 2
    assert re.fullmatch(r"20[-0-9T:.]+Z,acme,optout,cli,true,clear" + "," * 9, lines[1])
    assert result.stdout.endswith("\r\n")


def test_history_refuses_an_unknown_format_and_a_bad_number(keyed: Path) -> None:
    result = run(keyed, "history", ALICE, "--format", "xml")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.splitlines()[-1] == (
        "stopgate suppressions history: error: argument --format: invalid choice: 'xml' "
        "(choose from 'json', 'csv')")
    result = run(keyed, "history", "12345")
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        "stopgate suppressions history: '12345' is not a valid phone number: give it in "
        "E.164 (+33612345678) or in national format for FR (--region to change)\n")


def test_erase_in_one_account_keeps_the_optout_under_the_hash(keyed: Path,
                                                              data_dir: Path) -> None:
    ok(run(keyed, "add", ALICE, "--account", "acme"))
    ok(run(keyed, "add", ALICE))
    result = run(keyed, "erase", ALICE, "--account", "acme")
    assert ok(result) == [
        f"{ALICE}: erased in account acme: 1 event, 1 suppression (kept in force under "
        "the hash), 0 link tokens, 1 webhook delivery now hold only its keyed hash"]
    assert result.stderr.startswith("cache: ")
    lines = ok(run(keyed, "check", ALICE))
    assert lines[0] == f"{ALICE}: suppressed"
    assert lines[1].startswith("  * (every account)  since ")
    assert lines[1].endswith("  source cli")
    assert lines[2].startswith("  acme               since ") and lines[2].endswith(
        "  source cli  (erased: kept under its hash)")
    events = history(keyed)["events"]
    assert [(e["scope"], e["event"], e["stored"]) for e in events] == [
        ("acme", "optout", "erased"), ("*", "optout", "clear"), ("acme", "erased", "erased")]
    assert recorded_key(data_dir) == [NumberHasher(KEY.encode()).fingerprint]

    again = run(keyed, "erase", ALICE, "--account", "acme")
    assert again.returncode == 0
    assert re.fullmatch(re.escape(f"{ALICE}: erased already in account acme (first at ")
                        + r"20[-0-9T:.]+\+00:00" + re.escape("); nothing held in clear\n"),
                        again.stdout)
    # The operator-wide entry stays in clear until the operator erases every scope.
    assert digits(ALICE) in ledger_text(data_dir)
    assert ok(run(keyed, "erase", "0612345678")) == [
        f"{ALICE}: erased in every scope: 1 event, 1 suppression (kept in force under the "
        "hash), 0 link tokens, 0 webhook deliveries now hold only its keyed hash"]
    assert digits(ALICE) not in ledger_text(data_dir)
    assert [line.split()[0] for line in ok(run(keyed, "check", ALICE))[1:]] == ["*", "acme"]


def test_erasing_a_number_stopgate_does_not_hold_exits_1_and_fixes_no_key(
        config: Path, keyed: Path, data_dir: Path) -> None:
    ok(run(keyed, "add", "+33612345679", "--account", "acme"))
    for args, where in (((), "every scope"), (("--account", "globex"), "account globex")):
        result = run(keyed, "erase", ALICE, *args)
        assert (result.returncode, result.stdout) == (1, "")
        assert result.stderr.splitlines()[-1] == (
            f"{ALICE}: stopgate holds nothing of it in {where}: nothing to erase")
    # Nothing was erased: the key is not fixed yet (a key mistyped there would have
    # locked out the right one), and another key may still make the first erasure.
    assert recorded_key(data_dir) == []
    other = with_key(config, "o" * 32)
    assert ok(run(other, "erase", "+33612345679"))[0].startswith("+33612345679: erased in ")
    assert recorded_key(data_dir) == [NumberHasher(b"o" * 32).fingerprint]


def test_erasure_without_a_key_exits_1_and_changes_nothing(config: Path,
                                                            data_dir: Path) -> None:
    ok(run(config, "add", ALICE, "--account", "acme"))
    before = ledger_text(data_dir)
    result = run(config, "erase", ALICE, "--account", "acme")
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == NO_KEY
    assert ledger_text(data_dir) == before
    assert recorded_key(data_dir) == []


def test_erasure_under_another_key_than_the_first_erasures_exits_1(
        config: Path, keyed: Path, data_dir: Path) -> None:
    ok(run(keyed, "add", ALICE, "--account", "acme"))
    ok(run(keyed, "add", "+33612345679", "--account", "acme"))
    ok(run(keyed, "erase", ALICE))
    before = ledger_text(data_dir)
    other = with_key(config, "o" * 32)
    result = run(other, "erase", "+33612345679")
    assert (result.returncode, result.stdout) == (1, "")
    first, second = NumberHasher(KEY.encode()).fingerprint, NumberHasher(b"o" * 32).fingerprint
    assert result.stderr == (
        f"stopgate suppressions erase: storage.hash_key is not the key of the erasures "
        f"already made (its fingerprint {second} differs from the ledger's {first}): the "
        "numbers erased before would no longer be recognised, and people who opted out "
        "would get promotional messages again; restore the original key; nothing was "
        "changed\n")
    assert ledger_text(data_dir) == before


def test_check_without_the_key_says_erased_numbers_cannot_be_seen(
        config: Path, keyed: Path) -> None:
    ok(run(keyed, "add", ALICE, "--account", "acme"))
    ok(run(keyed, "erase", ALICE))
    result = run(config, "check", ALICE)
    assert ok(result) == [f"{ALICE}: not suppressed"]
    assert result.stderr == (
        "numbers were erased in this ledger and storage.hash_key is not set: an erased "
        "number's opt-outs cannot be seen without it\n")


async def test_erase_moves_the_running_gateways_cache_entry_to_the_hash(
        keyed: Path, data_dir: Path, gateway_redis: EmbeddedRedis) -> None:
    await in_thread(keyed, "add", ALICE, "--account", "acme")
    cache = await ready_cache(gateway_redis.url, data_dir)
    hashed = SuppressionCache(cache.redis, hasher=NumberHasher(KEY.encode()))
    try:
        result = await asyncio.to_thread(run, keyed, "erase", ALICE)
        assert result.returncode == 0, result.stderr
        assert "written through to the running gateway's Redis" in result.stderr
        assert await hashed.lookup("acme", ALICE)  # still blocked
        assert not await hashed.lookup("globex", ALICE)
        assert not await cache.redis.sismember("{sp}:G:h", f"acme\0{ALICE}")
        dump = b"".join([key + repr(await cache.redis.dump(key)).encode()
                         for key in await cache.redis.keys("*")])
        assert digits(ALICE).encode() not in dump
    finally:
        await cache.redis.aclose()
