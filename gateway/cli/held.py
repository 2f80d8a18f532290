"""``stopgate held list|cancel``: the messages held for quiet hours, from the ledger.

Works on the ledger (SQLite file or PostgreSQL) with or without a running gateway.
``cancel`` marks a campaign's held messages cancelled; their DELETED receipts are sent by
a running gateway's releaser (at once if one runs, else when one starts): the CLI
reaches no sender.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from itertools import islice

from gateway.config.model import Config
from gateway.ledger.engines import open_ledger
from gateway.ledger.held import iter_pages
from gateway.ledger.model import LedgerError
from gateway.observability.visible import visible

__all__ = ["run"]

EXIT_OK, EXIT_ERROR = 0, 1


def _utc(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def run(action: str, config: Config, args: argparse.Namespace) -> int:
    """One ``stopgate held`` action; the exit code."""
    accounts = [account.system_id for account in config.accounts]
    if args.account not in accounts:
        print(f"stopgate held {action}: no account {args.account!r} in the configuration "
              f"(accounts: {', '.join(accounts) or 'none'})", file=sys.stderr)
        return EXIT_ERROR
    try:
        ledger = open_ledger(config.storage.ledger, config.server.data_dir,
                             config.storage.ledger_busy_timeout)
        try:
            if action == "cancel":
                count = ledger.cancel_held(args.account, args.campaign, datetime.now(UTC))
                print(f"cancelled {count} held message(s) of account {args.account}, campaign "
                      f"{visible(args.campaign)}; their DELETED receipts are sent by the "
                      f"running gateway")
                return EXIT_OK
            rows = list(islice(iter_pages(lambda after: ledger.list_held(
                args.account, after=after, limit=500, campaign=args.campaign)), args.limit))
            counts = ledger.count_held()
        finally:
            ledger.close()
    except LedgerError as error:
        print(f"stopgate held {action}: {error}", file=sys.stderr)
        return EXIT_ERROR
    total = counts.get(args.account, 0)
    print(f"{total} message(s) held for account {args.account}"
          + (f"; campaign {visible(args.campaign)}: {len(rows)} shown" if args.campaign
             else f"; {len(rows)} shown"))
    if rows:
        print(f"{'id':<16}  {'number':<16}  {'held at':<20}  {'due':<20}  {'expires':<20}  "
              f"campaign")
    for row in rows:
        print(f"{row.message_id:<16}  {row.number:<16}  {_utc(row.held_at):<20}  "
              f"{_utc(row.due_at):<20}  {_utc(row.expires_at):<20}  "
              f"{visible(row.campaign) if row.campaign else '(none)'}")
    return EXIT_OK
