"""The statements both ledgers share (gateway.ledger.sql): written once in psycopg's
format style, rewritten for sqlite3 once per class."""

from __future__ import annotations

import re

import pytest

from gateway.ledger.postgres import PostgresLedger
from gateway.ledger.sql import Statements, qmark
from gateway.ledger.sqlite import SqliteLedger


def test_qmark_rewrites_psycopg_placeholders_and_escapes() -> None:
    assert qmark("SELECT 1 FROM t WHERE a = %s AND b = %s") == \
        "SELECT 1 FROM t WHERE a = ? AND b = ?"
    assert qmark("x <= %(now)s AND y <= %(now)s LIMIT %(limit)s") == \
        "x <= :now AND y <= :now LIMIT :limit"
    assert qmark("reason LIKE 'other:%%' AND a = %s") == "reason LIKE 'other:%' AND a = ?"
    assert qmark("SELECT '?', ':x', a::text") == "SELECT '?', ':x', a::text"  # left alone


@pytest.mark.parametrize("statement", ["LIKE 'other:%'", "a = %d", "a = %(x)d", "100%"])
def test_qmark_refuses_a_percent_psycopg_would_not_read_as_ours(statement: str) -> None:
    with pytest.raises(ValueError, match="lone %"):
        qmark(statement)


def statements(q: Statements) -> list[str]:
    found = [value for value in vars(q).values() if isinstance(value, str)]
    return found + list(q.report.values())


def test_each_ledger_holds_every_shared_statement_in_its_drivers_style() -> None:
    sqlite, postgres = statements(SqliteLedger._q), statements(PostgresLedger._q)
    assert len(sqlite) == len(postgres) > 30
    for text in sqlite:
        assert "%s" not in text and "%(" not in text and "%%" not in text, text
    for text in postgres:
        assert "?" not in text and not re.search(r"(?<!:):\w", text), text
    assert SqliteLedger._q.is_suppressed == \
        "SELECT 1 FROM suppressions WHERE scope = ? AND number = ?"
    assert PostgresLedger._q.is_suppressed == \
        "SELECT 1 FROM suppressions WHERE scope = %s AND number = %s"
    # The claims are each ledger's own, around the same due rows.
    assert "SKIP LOCKED" in PostgresLedger._q.claim
    assert "SKIP LOCKED" not in SqliteLedger._q.claim
    assert ":worker" in SqliteLedger._q.claim and "%(worker)s" in PostgresLedger._q.claim
