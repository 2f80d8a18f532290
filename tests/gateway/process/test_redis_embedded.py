"""The embedded redis-server: starts on a unix socket, persists with AOF, dies cleanly."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import redis

from gateway.process.redis_embedded import EmbeddedRedis, EmbeddedRedisError, find_redis_server


def test_a_redis_server_binary_is_available_without_system_packages() -> None:
    assert os.access(find_redis_server(), os.X_OK)


def test_embedded_redis_answers_on_a_unix_socket_under_data_dir(tmp_path: Path) -> None:
    with EmbeddedRedis(tmp_path) as server:
        assert server.url == f"unix://{tmp_path.resolve()}/redis.sock"
        client = redis.Redis.from_url(server.url)
        assert client.ping()
        info = client.config_get("appendonly")
        assert info["appendonly"] == "yes"
        assert client.config_get("port")["port"] == "0"  # no TCP listener
        client.close()


def test_embedded_redis_keeps_data_across_a_clean_restart(tmp_path: Path) -> None:
    with EmbeddedRedis(tmp_path) as server:
        client = redis.Redis.from_url(server.url)
        client.set("dlr:abc", "acme:1")
        client.close()
    assert (tmp_path / "redis.aof").exists() or (tmp_path / "appendonlydir").exists()
    with EmbeddedRedis(tmp_path) as server:
        client = redis.Redis.from_url(server.url)
        assert client.get("dlr:abc") == b"acme:1"
        client.close()


def test_stale_socket_from_a_killed_server_is_replaced(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path)
    server.start()
    server.kill()
    assert os.path.exists(server.socket_path)
    server.start()
    try:
        assert redis.Redis.from_url(server.url).ping()
    finally:
        server.stop()


def test_second_server_on_the_same_data_dir_is_refused(tmp_path: Path) -> None:
    with EmbeddedRedis(tmp_path), pytest.raises(EmbeddedRedisError, match="already serving"):
        EmbeddedRedis(tmp_path).start()


def test_deep_data_dir_still_gets_a_socket(tmp_path: Path) -> None:
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    with EmbeddedRedis(deep) as server:
        assert len(server.socket_path) <= 100
        assert redis.Redis.from_url(server.url).ping()
        socket_dir = os.path.dirname(server.socket_path)
    assert not os.path.exists(socket_dir)


def test_missing_binary_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(EmbeddedRedisError, match="cannot run"):
        EmbeddedRedis(tmp_path, binary=str(tmp_path / "no-such-redis")).start()


def test_session_redis_fixture_is_usable(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    assert client.ping()
    client.close()

