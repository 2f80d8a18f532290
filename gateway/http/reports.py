"""The opt-out report: ``GET /v1/reports/optouts`` (Bearer api_key).

Query parameters (all optional)::

    from=YYYY-MM-DD   first UTC day included (default: the beginning)
    to=YYYY-MM-DD     last UTC day included (default: today, UTC)
    group_by=campaign|source|reason|day   (default: campaign)
    format=json|csv   (default: json)

Counts the caller's own events (scope = its ``system_id``) that changed the
suppression state: an opt-out of a number that was not opted out, an opt-in of
one that was; a repeated STOP counts once. Operator-wide (``"*"``) events are not
in an account's report: they are the operator's (a STOP to
``optout.operator_number``, a national register) and not attributable to one
account (``stopgate report optouts`` without ``--account`` shows them).
``reason`` groups the landing page's answers (never_subscribed, too_many,
not_relevant, other -- free texts count as other), on the opt-out that counts: a
reason given after an earlier STOP is on that STOP (``Ledger.set_reason``);
a null key is an event without one (no campaign, no reason given)::

    200 {"account": "acme", "from": "2026-11-01", "to": "2026-11-30",
         "group_by": "campaign",
         "rows": [{"key": "black-friday", "optouts": 12, "optins": 1}, ...],
         "total": {"optouts": 12, "optins": 1}}

``from`` is null when not given. ``format=csv``: ``text/csv`` with the header
``<group_by>,optouts,optins`` and one line per row (a null key is an empty cell).
Errors: 401 ``unauthorized``, 400 ``invalid_request`` (unknown parameter, a date not
written YYYY-MM-DD or not before 9999-12-31, ``from`` after ``to``, unknown ``group_by``
or ``format``; the detail names the parameter),
503 ``ledger_unavailable``.
"""

from __future__ import annotations

import csv
import io
import logging
import re
import sqlite3
from datetime import UTC, date, datetime, time, timedelta
from typing import cast

from aiohttp import web

from gateway.http.auth import Authenticate
from gateway.http.responses import error, json_response
from gateway.ledger.model import REPORT_GROUPS, LedgerError, ReportGroup, ReportRow
from gateway.ledger.threaded import AsyncLedger
from gateway.observability.logs import fields

log = logging.getLogger("stopgate.http")

_PARAMS = ("from", "to", "group_by", "format")
_FORMATS = ("json", "csv")
_BEGINNING = date(1970, 1, 1)
_LAST_DAY = date.max
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")  # ASCII digits only, no ISO week dates


def day_bounds(since: date | None, until: date) -> tuple[datetime, datetime]:
    """[first instant of ``since``, first instant after ``until``), UTC."""
    start = datetime.combine(since or _BEGINNING, time(), UTC)
    return start, datetime.combine(until + timedelta(days=1), time(), UTC)


def _parse_day(name: str, text: str) -> date | str:
    try:
        if not _DAY.fullmatch(text):
            raise ValueError(text)
        day = date.fromisoformat(text)
    except ValueError:
        return f"'{name}' must be a date as YYYY-MM-DD, got {text[:40]!r}"
    if day >= _LAST_DAY:  # its end (the next day's start) is past what a date can hold
        return f"'{name}' must be before {_LAST_DAY.isoformat()}, got {text!r}"
    return day


def parse_days(query: dict[str, str]) -> tuple[date | None, date] | str:
    """(from, to) from the query's ``from`` and ``to`` (to: today, UTC, when absent), or
    what is wrong with them."""
    since: date | None = None
    if query.get("from"):
        parsed = _parse_day("from", query["from"])
        if isinstance(parsed, str):
            return parsed
        since = parsed
    until = datetime.now(UTC).date()
    if query.get("to"):
        parsed = _parse_day("to", query["to"])
        if isinstance(parsed, str):
            return parsed
        until = parsed
    if since is not None and since > until:
        return f"'from' ({since}) is after 'to' ({until})"
    return since, until


def parse_query(query: dict[str, str]) -> tuple[date | None, date, ReportGroup, str] | str:
    """(from, to, group_by, format) from the query, or what is wrong with it."""
    unknown = sorted(set(query) - set(_PARAMS))
    if unknown:
        return f"unknown parameter(s) {', '.join(unknown)}; expected {', '.join(_PARAMS)}"
    days = parse_days(query)
    if isinstance(days, str):
        return days
    since, until = days
    group_by = query.get("group_by") or "campaign"
    if group_by not in REPORT_GROUPS:
        return f"'group_by' must be one of {', '.join(REPORT_GROUPS)}, got {group_by!r}"
    fmt = query.get("format") or "json"
    if fmt not in _FORMATS:
        return f"'format' must be one of {', '.join(_FORMATS)}, got {fmt!r}"
    return since, until, cast(ReportGroup, group_by), fmt


def _cell(key: str | None) -> str:
    """A CSV cell a spreadsheet shows as text, never runs as a formula."""
    if key is None:
        return ""
    return f"'{key}" if key[:1] in ("=", "+", "-", "@", "\t", "\r") else key


def report_csv(group_by: str, rows: list[ReportRow]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([group_by, "optouts", "optins"])
    writer.writerows([_cell(key), optouts, optins] for key, optouts, optins in rows)
    return out.getvalue()


class ReportRoutes:
    """``GET /v1/reports/optouts`` (see the module docstring)."""

    def __init__(self, authenticate: Authenticate, ledger: AsyncLedger) -> None:
        self.authenticate = authenticate
        self.ledger = ledger

    def register(self, app: web.Application) -> None:
        app.router.add_get("/v1/reports/optouts", self.optouts)

    async def optouts(self, request: web.Request) -> web.Response:
        account = await self.authenticate(request)
        if isinstance(account, web.Response):
            return account
        parsed = parse_query(dict(request.query))
        if isinstance(parsed, str):
            return error(400, "invalid_request", parsed)
        since, until, group_by, fmt = parsed
        start, end = day_bounds(since, until)
        try:
            rows = await self.ledger.report(account.system_id, start, end, group_by)
        except (LedgerError, sqlite3.Error) as exc:
            log.error("opt-out report failed", extra=fields(
                "ledger_failed", account=account.system_id, route="/v1/reports/optouts",
                error=str(exc)))
            return error(503, "ledger_unavailable", "the ledger cannot be read now; retry")
        if fmt == "csv":
            return web.Response(text=report_csv(group_by, rows), content_type="text/csv",
                                charset="utf-8")
        return json_response({
            "account": account.system_id,
            "from": since.isoformat() if since else None,
            "to": until.isoformat(),
            "group_by": group_by,
            "rows": [{"key": key, "optouts": optouts, "optins": optins}
                     for key, optouts, optins in rows],
            "total": {"optouts": sum(r[1] for r in rows), "optins": sum(r[2] for r in rows)},
        })
