"""Secrets come from files and the environment, work, and never reach a log line.

A real `stopgate serve` subprocess at DEBUG level reads every kind of secret
from a ``*_file`` key or a STOPGATE_* variable, and each is shown to work: the
carrier bind (upstream password), a sender bind (account password), an HTTP
send (api_key), a signed webhook (webhook_secret), /metrics (admin_key). Wrong
ones are tried too. Then `stopgate check-config` runs on a config with mistakes
in its secrets. Not one secret, right or wrong, appears in anything either wrote.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from gateway.smpp_link import BindError
from gateway.suppression.webhooks import SIGNATURE_HEADER, sign
from simulator.carrier import CarrierSimulator
from smpp.pdu import SubmitSmResp
from tests.integration.senders import bind_sender, message
from tests.integration.served import start_serve_ports, stop_process
from tests.support.waiting import eventually

TIMEOUT = 20.0
UPSTREAM_PASSWORD = "up9Q2zX"  # STOPGATE_UPSTREAMS_0_PASSWORD
ACME_PASSWORD = "Pw4acme!"  # password_file
ACME_API_KEY = "ak-7f3c9e1b5d"  # STOPGATE_ACCOUNTS_0_API_KEY
WEBHOOK_SECRET = "whs-a81c77e0"  # webhook_secret_file
ADMIN_KEY = "adm-5d2b90c4"  # admin_key_file
#: Near misses a guesser would try: never logged either.
WRONG = ("Pw4acme?", "ak-7f3c9e1b5e", "adm-5d2b90c5")
#: Only in the broken config given to check-config.
BROKEN = ("ak-dup-0a1b2c", "TooLong-Pw-9")
NUMBER = "+33612345678"


def write_secret(directory: Path, name: str, value: str) -> str:
    path = directory / name
    path.write_text(value + "\n")
    return str(path)


def config_text(tmp_path: Path, simulator_port: int, redis_url: str, hook: str) -> str:
    secrets = tmp_path / "secrets"
    secrets.mkdir(exist_ok=True)
    return f"""
[server]
smpp_listen = "127.0.0.1:0"
http_listen = "127.0.0.1:0"
data_dir = "{tmp_path / 'data'}"

[storage]
redis_url = "{redis_url}"

[log]
level = "debug"

[smpp]
reconnect_delay = 0.05
reconnect_delay_max = 0.2
failed_bind_delay = 0.05
failed_bind_delay_max = 0.2

[http]
admin_key_file = "{write_secret(secrets, 'admin', ADMIN_KEY)}"

[webhook]
backoff_initial = "100ms"
backoff_max = "1s"

[[upstreams]]
name = "sim"
host = "127.0.0.1"
port = {simulator_port}
system_id = "proxy"

[[accounts]]
system_id = "acme"
password_file = "{write_secret(secrets, 'acme_password', ACME_PASSWORD)}"
default_region = "FR"
default_class = "transactional"
numbers = ["36173"]
webhook_url = "{hook}"
webhook_secret_file = "{write_secret(secrets, 'acme_webhook', WEBHOOK_SECRET)}"
"""


async def test_secrets_from_files_and_env_work_and_never_appear_in_logs_or_output(
    flushed_redis: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("STOPGATE_UPSTREAMS_0_PASSWORD", UPSTREAM_PASSWORD)
    monkeypatch.setenv("STOPGATE_ACCOUNTS_0_API_KEY", ACME_API_KEY)
    hooks: list[tuple[bytes, str]] = []

    async def hook(request: web.Request) -> web.Response:
        hooks.append((await request.read(), request.headers.get(SIGNATURE_HEADER, "")))
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    hook_port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    simulator = CarrierSimulator(credentials={"proxy": UPSTREAM_PASSWORD})
    await simulator.start("127.0.0.1", 0)
    config = tmp_path / "stopgate.toml"
    config.write_text(config_text(tmp_path, simulator.port, flushed_redis,
                                  f"http://127.0.0.1:{hook_port}/hook"))
    log = tmp_path / "serve.log"
    process, smpp_port, http_port = await start_serve_ports(config, log, TIMEOUT)
    try:
        await asyncio.wait_for(exercise(smpp_port, f"http://127.0.0.1:{http_port}",
                                        simulator, hooks), 60)
        process.terminate()
        assert await asyncio.wait_for(process.wait(), TIMEOUT) == 0
        assert process.stdout is not None
        stdout = (await asyncio.wait_for(process.stdout.read(), TIMEOUT)).decode()
    finally:
        await stop_process(process, TIMEOUT)
        await simulator.stop()
        await runner.cleanup()
    logged = log.read_text()
    # The run logged (the bind, the refusals): the check below has text to search.
    assert "sender bound" in logged
    assert logged.count("sender bind refused") == 2

    broken = tmp_path / "broken.toml"
    broken.write_text(config.read_text() + f"""
unknown_key = 1

[[accounts]]
system_id = "globex"
password = "{BROKEN[1]}"
api_key = "{BROKEN[0]}"

[[accounts]]
system_id = "initech"
api_key = "{BROKEN[0]}"
webhook_secret = "{WEBHOOK_SECRET}"
""")
    checked = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gateway.cli.main", "check-config", "-c", str(broken),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(checked.communicate(), TIMEOUT)
    assert checked.returncode == 1
    report = (out + err).decode()
    assert "accounts[1].password" in report and "api_key" in report  # the mistakes are named

    secrets = (UPSTREAM_PASSWORD, ACME_PASSWORD, ACME_API_KEY, WEBHOOK_SECRET, ADMIN_KEY,
               *WRONG, *BROKEN)
    for name, text in (("serve's log", logged), ("serve's stdout", stdout),
                       ("check-config's output", report)):
        leaked = [secret for secret in secrets if secret in text]
        assert not leaked, f"{name} shows {leaked}"


async def exercise(smpp_port: int, base: str, simulator: CarrierSimulator,
                   hooks: list[tuple[bytes, str]]) -> None:
    """Use every secret once rightly (it must work) and once wrongly (it must be refused)."""
    async with aiohttp.ClientSession() as http:  # ready = the carrier bind (env password) is up
        for _ in range(int(TIMEOUT / 0.05)):
            async with http.get(f"{base}/readyz") as response:
                if response.status == 200:
                    break
            await asyncio.sleep(0.05)
        assert response.status == 200
    link, _ = await bind_sender(smpp_port, "acme", ACME_PASSWORD)
    answer = await asyncio.wait_for(link.request(message("by smpp")), TIMEOUT)
    assert isinstance(answer, SubmitSmResp) and answer.command_status == 0
    await asyncio.wait_for(link.unbind(), TIMEOUT)
    for _ in range(2):  # two failures: the second is the slowed, logged-again kind
        with pytest.raises(BindError):
            await bind_sender(smpp_port, "acme", WRONG[0])
    async with aiohttp.ClientSession() as http:
        send = {"to": NUMBER, "text": "by http"}
        for key, expected in ((ACME_API_KEY, 202), (WRONG[1], 401)):
            async with http.post(f"{base}/v1/messages", json=send,
                                 headers={"Authorization": f"Bearer {key}"}) as response:
                assert response.status == expected
        await eventually(lambda: len(simulator.messages()) == 2, "both messages out", TIMEOUT)
        async with http.put(f"{base}/v1/suppressions/{NUMBER}",
                            headers={"Authorization": f"Bearer {ACME_API_KEY}"}) as response:
            assert response.status == 200
        for key, expected in ((ADMIN_KEY, 200), (WRONG[2], 401)):
            async with http.get(f"{base}/metrics",
                                headers={"Authorization": f"Bearer {key}"}) as response:
                assert response.status == expected
    await eventually(lambda: bool(hooks), "the opt-out webhook", TIMEOUT)
    body, signature = hooks[0]
    assert signature == sign(WEBHOOK_SECRET, body)
