"""The real `stopgate serve` as a subprocess: its TOML config and its start.

For the tests that signal the gateway process itself (SIGTERM, SIGKILL), where
an in-process stack would not do. Only the process started here is ever
signalled, by its PID.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path

SHORTCODE = "36173"


def write_config(path: Path, simulator_port: int, data_dir: Path, *,
                 redis_url: str | None = None, account: str = "", workers: int = 1,
                 server: str = "", storage: str = "", smpp: str = "", tail: str = "",
                 sessions: int | None = None) -> Path:
    """A config with one carrier simulator upstream and the account "acme".

    Without ``redis_url`` the gateway runs its own embedded redis-server under
    ``data_dir``; ``account`` is appended to the [[accounts]] table as is, ``server``
    to the [server] table, ``storage`` and ``smpp`` to theirs, ``tail`` (more tables) at the
    end. The upstream gets one session per worker, or ``sessions`` (a total over every
    instance sharing the Redis: README "Limits across instances").
    """
    if redis_url is not None:
        storage = f'redis_url = "{redis_url}"\n{storage}'
    storage = f"\n[storage]\n{storage}" if storage else ""
    path.write_text(f"""
[server]
smpp_listen = "127.0.0.1:0"
http_listen = "127.0.0.1:0"
data_dir = "{data_dir}"
workers = {workers}
{server}
{storage}
[smpp]
response_timeout = 5.0
reconnect_delay = 0.05
reconnect_delay_max = 0.2
{smpp}
[[upstreams]]
name = "sim"
host = "127.0.0.1"
port = {simulator_port}
system_id = "proxy"
password = "secret"
window = 50
sessions = {sessions or workers}

[[accounts]]
system_id = "acme"
password = "acmepass"
api_key = "acme-key"
default_region = "FR"
numbers = ["{SHORTCODE}"]
{account}
{tail}""")
    return path


async def start_serve(
    config: Path, log: Path, timeout: float
) -> tuple[asyncio.subprocess.Process, int]:
    """Start `stopgate serve -c config` (stderr appended to ``log``); the process and its SMPP port.

    Waits up to ``timeout`` for the listening line; if it does not come, the
    process is killed before the failure propagates.
    """
    process, smpp_port, _ = await start_serve_ports(config, log, timeout)
    return process, smpp_port


async def start_serve_ports(
    config: Path, log: Path, timeout: float, env: Mapping[str, str] | None = None
) -> tuple[asyncio.subprocess.Process, int, int]:
    """As ``start_serve``; the process, its SMPP port and its HTTP port."""
    process, line = await start_serve_line(config, log, timeout, env)
    found = re.search(r"SMPP on [^:]+:(\d+), HTTP on [^:]+:(\d+)", line)
    assert found, line
    return process, int(found.group(1)), int(found.group(2))


async def start_serve_line(
    config: Path, log: Path, timeout: float, env: Mapping[str, str] | None = None
) -> tuple[asyncio.subprocess.Process, str]:
    """As ``start_serve``; the process and its whole listening line (every port).
    ``env``: variables added to this process's for it (``STOPGATE_TEST_CLOCK``, say)."""
    with log.open("ab") as stderr:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "gateway.cli.main", "serve", "-c", str(config),
            stdout=asyncio.subprocess.PIPE, stderr=stderr,
            env={**os.environ, **env} if env else None,
        )
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), timeout)
        found = re.search(rb"SMPP on [^:]+:(\d+), HTTP on [^:]+:(\d+)", line)
        assert found, f"no listening line from stopgate serve: {line!r}\n{log.read_text()}"
        return process, line.decode()
    except BaseException:
        await stop_process(process, timeout)
        raise


async def stop_process(process: asyncio.subprocess.Process, timeout: float) -> None:
    """SIGKILL ``process`` (if it still runs) and reap it."""
    with contextlib.suppress(ProcessLookupError):
        process.kill()
    await asyncio.wait_for(process.wait(), timeout)
