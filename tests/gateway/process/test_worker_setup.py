"""server.workers = N: each worker's share of the limits, and the listeners the parent holds."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest

from gateway.cli.main import main
from gateway.config.model import Config, ListenAddress, parse_config
from gateway.process.shares import (
    ListenerReservation,
    WorkerSetupError,
    problems,
    share,
    worker_config,
)


def config(workers: int, sessions: int = 4, upstream_tps: int = 10,
           account_tps: int = 7) -> Config:
    data: dict[str, Any] = {
        "server": {"workers": workers, "smpp_listen": "127.0.0.1:0",
                   "http_listen": "127.0.0.1:0"},
        "upstreams": [{"name": "sim", "host": "127.0.0.1", "port": 2776,
                       "system_id": "proxy", "sessions": sessions, "tps": upstream_tps}],
        "accounts": [{"system_id": "acme", "password": "pw", "tps": account_tps}],
    }
    return parse_config(data, env={})


@pytest.mark.parametrize("total", [0, 1, 2, 3, 7, 10, 1001])
@pytest.mark.parametrize("workers", [1, 2, 3, 4])
def test_shares_add_up_to_the_configured_total_and_differ_by_at_most_one(
    total: int, workers: int
) -> None:
    parts = [share(total, workers, slot) for slot in range(workers)]
    assert sum(parts) == total
    assert max(parts) - min(parts) <= 1


def test_each_worker_gets_its_share_of_sessions_and_tps_and_the_shared_ports() -> None:
    base = config(workers=3)
    shares = [worker_config(base, slot, 2775, 8080, "unix:///tmp/r.sock") for slot in range(3)]
    assert [c.upstreams[0].sessions for c in shares] == [2, 1, 1]
    assert [c.upstreams[0].tps for c in shares] == [4, 3, 3]
    assert [c.accounts[0].tps for c in shares] == [3, 2, 2]
    for worker in shares:
        assert worker.server.smpp_listen == ListenAddress("127.0.0.1", 2775)
        assert worker.server.http_listen == ListenAddress("127.0.0.1", 8080)
        assert worker.storage.redis_url == "unix:///tmp/r.sock"
        assert worker.upstreams[0].window == base.upstreams[0].window  # per session


def test_limits_below_the_worker_count_are_refused_with_key_and_fix() -> None:
    found = dict(problems(config(workers=4, sessions=2, upstream_tps=3, account_tps=1)))
    assert set(found) == {"upstreams[0].sessions", "upstreams[0].tps", "accounts[0].tps"}
    assert "at least 4" in found["upstreams[0].sessions"]
    assert "0 (unlimited)" in found["accounts[0].tps"]
    assert problems(config(workers=4, sessions=4, upstream_tps=0, account_tps=0)) == []
    assert problems(config(workers=1, sessions=1, upstream_tps=1, account_tps=1)) == []


def test_reservation_turns_port_0_into_one_port_that_workers_can_share() -> None:
    reservation = ListenerReservation(ListenAddress("127.0.0.1", 0), "server.smpp_listen")
    try:
        assert reservation.port > 0
        worker = socket.socket()
        worker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        worker.bind(("127.0.0.1", reservation.port))
        worker.listen()
        worker.settimeout(5)
        with socket.create_connection(("127.0.0.1", reservation.port), timeout=5):
            accepted, _ = worker.accept()  # the reservation never takes connections
            accepted.close()
        worker.close()
    finally:
        reservation.close()


def test_a_port_another_program_listens_on_is_refused_by_key() -> None:
    other = socket.socket()
    other.bind(("127.0.0.1", 0))
    other.listen()
    try:
        port = other.getsockname()[1]
        with pytest.raises(WorkerSetupError, match=r"server.http_listen: .* already in use"):
            ListenerReservation(ListenAddress("127.0.0.1", port), "server.http_listen")
    finally:
        other.close()


def test_check_config_names_a_limit_the_workers_cannot_share(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "config.toml"
    path.write_text("""
[server]
workers = 2
[[upstreams]]
host = "127.0.0.1"
port = 2776
system_id = "proxy"
[[accounts]]
system_id = "acme"
password = "pw"
""")
    assert main(["check-config", "-c", str(path)]) == 1
    assert "upstreams[0].sessions: 1 is less than server.workers (2)" in capsys.readouterr().err
