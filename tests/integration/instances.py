"""Several real `stopgate serve` instances sharing one Redis and one ledger.

Each instance is its own process with its own data_dir (so its own instance id,
metrics and logs), as on two hosts; they share the test's Redis and the ledger
``ledger_url`` names. The carrier simulator gives each its own carrier login
(``proxyA``, ``proxyB``, ...), so a test can hand a receipt or an MO to one
instance: the simulator delivers to the binds of the login that submitted (a
receipt) or that ``inject_mo(system_id=...)`` names.

The ledger is named in one place, ``ledger_url``: a SQLite file in the test's
directory, or ``STOPGATE_TEST_INSTANCES_LEDGER`` when set (a PostgreSQL DSN, say;
it must be a scratch database: the tests write to it).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from gateway.smpp_link import SmppLink
from simulator.carrier import CarrierSimulator
from smpp.session import BindKind
from tests.integration.senders import Sender, bind_sender
from tests.integration.served import SHORTCODE, start_serve_ports, stop_process

BOUND = 30.0  # safety net for every wait: far above what any step takes
LEDGER_ENV = "STOPGATE_TEST_INSTANCES_LEDGER"
WEBHOOK_SECRET = "hook-secret-for-tests"


def ledger_url(directory: Path) -> str:
    """The ledger every instance of a test shares (see the module docstring)."""
    return os.environ.get(LEDGER_ENV) or f"sqlite:///{directory / 'shared-ledger.sqlite3'}"


def carrier_login(index: int) -> str:
    return f"proxy{chr(ord('A') + index)}"


@dataclass
class Instance:
    """One `stopgate serve` process and its ports."""

    name: str
    process: asyncio.subprocess.Process
    smpp_port: int
    http_port: int
    log: Path
    login: str  # its carrier system_id
    links: list[SmppLink] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    async def bind(self, kind: BindKind = "transceiver") -> tuple[SmppLink, Sender]:
        link, sender = await bind_sender(self.smpp_port, kind=kind)
        self.links.append(link)
        return link, sender

    def events(self, name: str) -> list[dict[str, Any]]:
        """The JSON log lines of event ``name`` this instance wrote so far."""
        found = []
        for line in self.log.read_bytes().splitlines():
            if line.startswith(b"{"):
                with contextlib.suppress(orjson.JSONDecodeError):
                    entry = orjson.loads(line)
                    if entry.get("event") == name:
                        found.append(entry)
        return found

    async def get(self, path: str, **headers: str) -> tuple[int, Any]:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=BOUND)) as http, \
                http.get(self.url + path, headers=headers) as response:
            if response.content_type == "application/json":
                return response.status, await response.json()
            return response.status, await response.text()

    async def terminate(self) -> int:
        """SIGTERM: the instance drains and stops; its exit status."""
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self.process.wait(), BOUND)

    async def kill(self) -> None:
        """SIGKILL, as a host that dies; its sessions close without an unbind."""
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(signal.SIGKILL)
        await asyncio.wait_for(self.process.wait(), BOUND)


def instance_config(path: Path, *, index: int, carrier_port: int, redis_url: str,
                    ledger: str, data_dir: Path, account: str = "", extra: str = "",
                    login: str | None = None, smpp: str = "", storage: str = "",
                    sessions: int = 2) -> Path:
    """An instance's TOML: its own listeners, data_dir and carrier login; shared storage.

    ``sessions`` is the upstream's total over every instance (README "Limits across
    instances"): at least the number of instances, so each has a carrier bind.

    ``account`` is appended to the [[accounts]] table of "acme"; ``extra`` (whole tables)
    goes before it; ``smpp``: more keys of [smpp]; ``storage``: more keys of [storage]
    (Sentinel's ``redis_sentinels`` and ``redis_service``, with ``redis_url`` empty, say).
    ``login``: the carrier system_id, if not the instance's own.
    """
    path.write_text(f"""
[server]
smpp_listen = "127.0.0.1:0"
http_listen = "127.0.0.1:0"
data_dir = "{data_dir}"

[storage]
redis_url = "{redis_url}"
ledger = "{ledger}"
{storage}
[log]
format = "json"

[smpp]
response_timeout = 5.0
reconnect_delay = 0.05
reconnect_delay_max = 0.2
{smpp}
[[upstreams]]
name = "sim"
host = "127.0.0.1"
port = {carrier_port}
system_id = "{login or carrier_login(index)}"
password = "secret"
window = 50
sessions = {sessions}
{extra}
[[accounts]]
system_id = "acme"
password = "acmepass"
api_key = "acme-key"
default_region = "FR"
default_class = "auto"
numbers = ["{SHORTCODE}"]
{account}""")
    return path


async def start_instance(index: int, directory: Path, *, carrier_port: int, redis_url: str,
                         ledger: str, account: str = "", extra: str = "",
                         login: str | None = None, smpp: str = "", storage: str = "",
                         sessions: int = 2, env: Mapping[str, str] | None = None) -> Instance:
    name = carrier_login(index)[-1]
    data_dir = directory / f"instance-{name}"
    config = instance_config(directory / f"instance-{name}.toml", index=index,
                             carrier_port=carrier_port, redis_url=redis_url, ledger=ledger,
                             data_dir=data_dir, account=account, extra=extra,
                             login=login, smpp=smpp, storage=storage, sessions=sessions)
    log = directory / f"instance-{name}.log"
    process, smpp_port, http_port = await start_serve_ports(config, log, BOUND, env)
    return Instance(name, process, smpp_port, http_port, log, login or carrier_login(index))


@contextlib.asynccontextmanager
async def running_instances(count: int, directory: Path, *, carrier: CarrierSimulator,
                            redis_url: str, ledger: str | None = None, account: str = "",
                            extra: str | Sequence[str] = "", smpp: str = "",
                            storage: str = "",
                            logins: Sequence[str | None] | None = None,
                            env: Mapping[str, str] | None = None,
                            ) -> AsyncIterator[list[Instance]]:
    """``count`` instances started at once; each is killed (if still running) on the way out.

    ``extra`` may differ per instance (a sequence, one per instance). ``storage``: more
    keys of [storage] (see ``instance_config``). ``logins``: each
    instance's carrier system_id (None: its own, ``carrier_login(i)``); two instances
    given one login are two binds of one system_id, as a carrier sees two hosts of one
    customer: it delivers that system_id's receipts and MOs on either. ``env``: variables
    added for every instance (``STOPGATE_TEST_CLOCK``, say).
    """
    shared = ledger if ledger is not None else ledger_url(directory)
    extras = [extra] * count if isinstance(extra, str) else list(extra)
    names = list(logins) if logins is not None else [None] * count
    started = await asyncio.gather(*(
        start_instance(i, directory, carrier_port=carrier.port, redis_url=redis_url,
                       ledger=shared, account=account, extra=extras[i], smpp=smpp,
                       storage=storage, login=names[i], sessions=max(count, 2), env=env)
        for i in range(count)), return_exceptions=True)
    instances = [s for s in started if isinstance(s, Instance)]
    try:
        for outcome in started:
            if isinstance(outcome, BaseException):
                raise outcome
        yield instances
    finally:
        for instance in instances:
            for link in instance.links:
                link.abort()
            if instance.process.returncode is None:
                await stop_process(instance.process, BOUND)


def carrier_simulator(count: int, **options: Any) -> CarrierSimulator:
    """A simulator that takes each instance's own login; ``options`` of CarrierSimulator
    replace the defaults (a more patient ``deliver_timeout``, say)."""
    settings: dict[str, Any] = {"deliver_timeout": 0.5, "retry_delay": 0.1,
                                "deliver_attempts": 200, **options}
    return CarrierSimulator(credentials={carrier_login(i): "secret" for i in range(count)},
                            **settings)
