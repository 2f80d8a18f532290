"""A number's history as evidence: the rows of ``Suppressions.history`` as JSON or CSV.

Both list every field of every row, oldest first. The JSON is exact (the MO text and
the User-Agent as received). The CSV is for a person with a spreadsheet: a text cell
that a spreadsheet would run as a formula (it starts with ``=``, ``+``, ``-`` or ``@``:
an MO may say anything) gets a leading ``'``, and only those cells.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

import orjson

from gateway.ledger.model import HistoryRow

__all__ = ["COLUMNS", "history_csv", "history_json", "row_dict"]

#: The fields of a history row, in order (the CSV header).
COLUMNS = ("at", "scope", "event", "source", "changed", "stored", "keyword", "mo_text",
           "number_called", "campaign", "reason", "user_agent", "api_key", "client_address",
           "consent_source")
#: Free text from recipients or senders: the cells a formula could hide in.
_FREE_TEXT = frozenset({"keyword", "mo_text", "campaign", "reason", "user_agent",
                        "consent_source"})


def row_dict(row: HistoryRow) -> dict[str, Any]:
    """One row as a JSON object (``at`` in ISO 8601 UTC)."""
    values = row._asdict()
    values["at"] = row.at.isoformat().replace("+00:00", "Z")
    return {column: values[column] for column in COLUMNS}


def history_json(number: str, scopes: Sequence[str] | None, rows: Sequence[HistoryRow]
                 ) -> bytes:
    """``{"number", "scopes", "events": [...]}`` (scopes None: every scope)."""
    return orjson.dumps({"number": number, "scopes": None if scopes is None else list(scopes),
                         "events": [row_dict(row) for row in rows]})


def _cell(column: str, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    if column in _FREE_TEXT and text[:1] in ("=", "+", "-", "@"):
        return "'" + text
    return text


def history_csv(rows: Sequence[HistoryRow]) -> str:
    """The rows as CSV with a header (``COLUMNS``), CRLF line ends."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for row in rows:
        values = row_dict(row)
        writer.writerow([_cell(column, values[column]) for column in COLUMNS])
    return out.getvalue()
