"""A hash of the effective configuration, to tell whether instances agree.

Instances sharing one Redis and one ledger are one gateway, so they must enforce
the same policy with the same accounts, carriers and limits. Each computes
``config_hash(config)`` over the parsed ``Config`` (file, ``*_file`` secrets and
``STOPGATE_*`` overrides applied, defaults filled in) and publishes it (``/readyz``,
``stopgate_config_info``, and Redis: gateway.observability.drift).

What it covers: every key, written as its canonical value (durations in seconds,
numbers and lists as parsed), except the keys that legitimately differ from one
host to the next (``PER_INSTANCE``): where the instance listens and keeps its
files, how many worker processes it runs, its own server certificates (each host
may present its own name), how it reaches the shared Redis and ledger (a local
socket, a different host first in a multi-host DSN: the same data by another
address), and its log level and format. Secrets (passwords, API keys, webhook
secrets) enter as their SHA-256, never as themselves; the hash is one-way anyway,
and ``effective`` (the document hashed) can be printed without leaking them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from pathlib import Path
from typing import Any

import orjson

from gateway.config.model import Config
from gateway.config.schema import specs
from gateway.config.values import ListenAddress

__all__ = ["PER_INSTANCE", "config_hash", "effective"]

#: Key paths left out of the hash: they may differ between instances of one gateway.
PER_INSTANCE = frozenset({
    "server.instance_id",
    "server.smpp_listen", "server.http_listen", "server.smpp_tls_listen",
    "server.data_dir", "server.workers",
    "server.tls_cert", "server.tls_key", "http.tls_cert", "http.tls_key",
    "storage.redis_url", "storage.ledger",
    "storage.redis_sentinels", "storage.redis_sentinel_password",
    "log.level", "log.format",
})
#: Hex digits of the published hash: 64 bits, ample to tell a handful of configs apart.
HASH_LENGTH = 16


def effective(config: Config) -> dict[str, Any]:
    """The configuration as hashed: canonical values, secrets as their SHA-256, without
    the ``PER_INSTANCE`` keys."""
    out = _section(config, "")
    assert isinstance(out, dict)
    return out


def config_hash(config: Config) -> str:
    """The hash instances compare (``HASH_LENGTH`` hex digits)."""
    document = orjson.dumps(effective(config), option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(document).hexdigest()[:HASH_LENGTH]


def _section(value: Any, path: str) -> Any:
    if not dataclasses.is_dataclass(value) or isinstance(value, type):
        return _plain(value)
    out: dict[str, Any] = {}
    for spec in specs(type(value)):
        key = f"{path}.{spec.key}" if path else spec.key
        if key in PER_INSTANCE:
            continue
        field = getattr(value, spec.attr)
        if spec.secret:
            out[spec.key] = "sha256:" + hashlib.sha256(str(field).encode()).hexdigest() \
                if field else ""
        elif isinstance(field, tuple):
            out[spec.key] = [_section(item, key) for item in field]
        else:
            out[spec.key] = _section(field, key)
    return out


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, ListenAddress | Path):
        return str(value)
    if isinstance(value, re.Pattern):
        return value.pattern
    if isinstance(value, tuple | list | frozenset | set):
        items = [_plain(item) for item in value]
        return items if not isinstance(value, frozenset | set) else sorted(items, key=str)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return str(value)
