"""Ledgers of both kinds for tests: a scratch PostgreSQL schema, and raw SQL on either.

``scratch_schema(dsn)`` makes a schema of its own in the test PostgreSQL (fixture
``postgres_dsn``) and gives the DSN whose search_path is that schema: every test
gets empty tables of its own, whatever else runs on the server, and the schema is
dropped after. ``Raw`` runs SQL on a ledger behind the ledger's back (a separate
connection), written once with ``?`` placeholders for both engines.
"""

from __future__ import annotations

import contextlib
import secrets
import socket
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg


def with_search_path(url: str, schema: str) -> str:
    """The postgresql:// URL ``url`` with its sessions' search_path set to ``schema``."""
    if not url.startswith(("postgresql://", "postgres://")):
        raise ValueError(f"the test PostgreSQL must be given as a postgresql:// URL, got {url!r}")
    option = quote(f"-csearch_path={schema}", safe="")
    return f"{url}{'&' if '?' in url else '?'}options={option}"


def through(url: str, port: int) -> str:
    """The postgresql:// URL ``url`` pointed at 127.0.0.1:``port`` (a relay) instead."""
    parts = urlsplit(url)
    user = parts.netloc.rpartition("@")[0]
    return urlunsplit(parts._replace(netloc=f"{user}@127.0.0.1:{port}" if user
                                     else f"127.0.0.1:{port}"))


@contextmanager
def scratch_schema(dsn: str, prefix: str = "stopgate_t_") -> Iterator[str]:
    """A fresh schema in ``dsn``'s database; yields the DSN that uses it."""
    schema = f"{prefix}{secrets.token_hex(6)}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield with_search_path(dsn, schema)
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


class Raw:
    """SQL on a ledger's storage through a connection of its own (``?`` placeholders)."""

    def __init__(self, backend: str, url: str) -> None:
        self.url = url
        self.postgres = backend == "postgresql"
        #: The SQL of "the epoch" in a time column.
        self.epoch = "to_timestamp(0)" if self.postgres else "0"

    def rows(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        return self._run(sql, params, fetch=True)

    def execute(self, sql: str, *params: Any) -> None:
        self._run(sql, params, fetch=False)

    def _run(self, sql: str, params: Sequence[Any], *, fetch: bool) -> list[tuple[Any, ...]]:
        if self.postgres:
            with psycopg.connect(self.url, autocommit=True) as conn:
                cur = conn.execute(sql.replace("?", "%s"), params)  # type: ignore[arg-type]
                return [tuple(row) for row in cur.fetchall()] if fetch else []
        with closing(sqlite3.connect(Path(self.url.removeprefix("sqlite://")))) as db:
            found = [tuple(row) for row in db.execute(sql, params).fetchall()]
            db.commit()
            return found


class CuttableLink:
    """A TCP relay on loopback in front of a real server, that a test can cut (every
    connection closed, new ones refused: the server is gone, as far as clients can tell)
    and restore on the same port. No protocol is imitated: bytes pass as they are."""

    def __init__(self, host: str, port: int) -> None:
        self.upstream = (host, port)
        self.port = 0
        self._listener: socket.socket | None = None
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()

    def __enter__(self) -> CuttableLink:
        self.restore()
        return self

    def __exit__(self, *exc: object) -> None:
        self.cut()

    def restore(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        with self._lock:
            if self._listener is not None:
                with contextlib.suppress(OSError):  # wakes the accepting thread (Linux)
                    self._listener.shutdown(socket.SHUT_RDWR)
                self._listener.close()
                self._listener = None
            for sock in self._open:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self._open.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._open.update((client, server))
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                sink.shutdown(socket.SHUT_WR)


def claim_concurrently(claims: Sequence[Callable[[int], Sequence[Any]]]) -> list[int]:
    """Every id the ``claims`` (one per instance, called with that instance's index until
    it returns nothing) got, started together on threads: the leased-claim tests' race."""
    claimed: list[list[int]] = [[] for _ in claims]
    start = threading.Barrier(len(claims))

    def worker(index: int) -> None:
        start.wait(timeout=10)
        while rows := claims[index](index):
            claimed[index].extend(row.id for row in rows)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(claims))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return [row_id for ids in claimed for row_id in ids]
