"""A gateway refuses to start under a ``storage.hash_key`` other than the one the ledger's
erasures used: it would not find the erased numbers, and people who opted out would get
promotional messages. The real ``stopgate serve``, one process and a supervisor with two
workers, on a ledger that recorded an erasure under another key."""

from __future__ import annotations

import asyncio
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.ledger.engines import open_ledger
from gateway.suppression.erasure import KEY_META, NumberHasher
from tests.integration.served import start_serve_ports, stop_process, write_config

FIRST, OTHER = "a" * 40, "b" * 40
TIMEOUT = 60.0


@pytest.fixture
def data_dir() -> Iterator[Path]:
    # Short: the embedded Redis socket lives here (a unix socket path has ~100 bytes).
    path = Path(tempfile.mkdtemp(prefix="sg-key-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def erased_under(data_dir: Path, key: str) -> None:
    """The ledger as the first erasure under ``key`` leaves its fact."""
    ledger = open_ledger("", data_dir)
    try:
        ledger.meta_value(KEY_META, NumberHasher(key.encode()).fingerprint)
    finally:
        ledger.close()


def config(tmp_path: Path, data_dir: Path, key: str, workers: int = 1) -> Path:
    storage = f'hash_key = "{key}"\n' if key else ""
    # No carrier listens on port 1: the upstream reconnects in the background meanwhile.
    return write_config(tmp_path / "stopgate.toml", 1, data_dir, workers=workers,
                        storage=storage)


async def serve_exit(path: Path) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gateway.cli.main", "serve", "-c", str(path),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        out, err = await asyncio.wait_for(process.communicate(), TIMEOUT)
    except BaseException:
        await stop_process(process, TIMEOUT)
        raise
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


@pytest.mark.parametrize("workers", [1, 2])
async def test_a_gateway_under_another_key_refuses_to_start(
        tmp_path: Path, data_dir: Path, workers: int) -> None:
    erased_under(data_dir, FIRST)
    code, out, err = await serve_exit(config(tmp_path, data_dir, OTHER, workers))
    first = NumberHasher(FIRST.encode()).fingerprint
    other = NumberHasher(OTHER.encode()).fingerprint
    assert (code, out) == (1, "")
    assert err.splitlines()[-1] == (
        f"stopgate serve: storage.hash_key is not the key of the erasures already made (its "
        f"fingerprint {other} differs from the ledger's {first}): the numbers erased before "
        "would no longer be recognised, and people who opted out would get promotional "
        "messages again; restore the original key")
    assert "Traceback" not in err


@pytest.mark.parametrize("key", [FIRST, ""], ids=["the-same-key", "no-key"])
async def test_the_same_key_or_none_starts(tmp_path: Path, data_dir: Path, key: str) -> None:
    # Without a key the gateway starts: erasure is refused, and promotional traffic
    # fails closed while the cache holds erased numbers (gateway.suppression.cache);
    # the log says why.
    erased_under(data_dir, FIRST)
    log = tmp_path / "serve.log"
    process, _, _ = await start_serve_ports(config(tmp_path, data_dir, key), log, TIMEOUT)
    await stop_process(process, TIMEOUT)
    assert ("storage.hash_key is not set" in log.read_text()) == (not key)


async def test_a_ledger_with_no_erasure_accepts_any_key(tmp_path: Path, data_dir: Path) -> None:
    process, _, _ = await start_serve_ports(config(tmp_path, data_dir, OTHER),
                                            tmp_path / "serve.log", TIMEOUT)
    await stop_process(process, TIMEOUT)
