"""``stopgate reviews list|decide``: the opt-out review list from a shell.

Replies that looked like a revocation without being a clear one ("not interested",
"who is this?") wait here for a person (gateway.inbound.reviews). The commands work on
the ledger itself, with or without a running gateway; ``decide ID optout`` records the
opt-out like a STOP (source ``review``), in the same ledger transaction as the
decision, and writes it through to the Redis cache as ``stopgate suppressions add``
does (gateway.cli.suppressions says which Redis). The CLI sees every scope, the
operator-wide ``*`` (replies to ``optout.operator_number``) included; ``--account``
narrows the list.
"""

from __future__ import annotations

import argparse
import getpass
import sqlite3
import sys
from datetime import datetime

from gateway.cli.suppressions import EXIT_FAILED, EXIT_OK, CommandError, _note, open_store
from gateway.config.model import Config
from gateway.inbound.reviews import ReviewList
from gateway.ledger.model import REVIEW_STATUSES, LedgerError, ReviewStatus
from gateway.observability.metrics import Metrics
from gateway.observability.visible import visible

__all__ = ["run"]


def run(action: str, config: Config, args: argparse.Namespace) -> int:
    """Run one reviews action; the exit code."""
    from gateway.process.eventloop import run as run_loop

    command = {"list": _list, "decide": _decide}[action]
    try:
        return run_loop(command(config, args))
    except CommandError as problem:
        print(f"stopgate reviews {action}: {problem}", file=sys.stderr)
    except (LedgerError, sqlite3.Error) as exc:
        print(f"stopgate reviews {action}: the ledger failed: {exc}", file=sys.stderr)
    return EXIT_FAILED


def _when(at: datetime | None) -> str:
    return "-" if at is None else at.strftime("%Y-%m-%d %H:%M")


async def _list(config: Config, args: argparse.Namespace) -> int:
    accounts = {account.system_id for account in config.accounts}
    if args.account is not None and args.account not in accounts:
        raise CommandError(f"unknown account {args.account!r}: --account takes the system_id "
                           f"of a configured account ({', '.join(sorted(accounts)) or 'none'})")
    if args.status != "all" and args.status not in REVIEW_STATUSES:
        raise CommandError(f"--status must be one of {', '.join(REVIEW_STATUSES)} or all")
    status: ReviewStatus | None = None if args.status == "all" else args.status
    async with open_store(config, writes=False) as store:
        found = await store.ledger.reviews(args.account, status)
    print(f"{len(found)} review{'s' if len(found) != 1 else ''} "
          f"({args.status}; {'account ' + args.account if args.account else 'every scope'}; "
          f"times UTC; deadline: 10 business days after the reply)")
    if not found:
        return EXIT_OK
    rows = [("id", "account", "number", "received", "deadline", "status", "text")]
    rows += [(str(r.id), r.scope, r.number, _when(r.received_at), _when(r.deadline),
              r.status if r.decided_by is None else f"{r.status} by {r.decided_by}",
              visible(r.text.replace("\n", " / "))[:80]) for r in found]
    widths = [max(len(row[i]) for row in rows) for i in range(6)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False))
              + "  " + row[6])
    return EXIT_OK


async def _decide(config: Config, args: argparse.Namespace) -> int:
    who = f"cli:{args.by or getpass.getuser()}"
    async with open_store(config, writes=args.decision == "optout") as store:
        reviews = ReviewList(store.ledger, store.suppressions, Metrics())
        done = await reviews.decide(args.id, args.decision, who)
        if done is not None and done.event is not None:
            _note(f"cache: {store.cache_note}")
    if done is None:
        raise CommandError(f"no review {args.id} (stopgate reviews list shows them)")
    review = done.review
    if not done.changed:
        raise CommandError(f"review {args.id} is {review.status} already (by "
                           f"{review.decided_by} at {_when(review.decided_at)} UTC): the "
                           f"first decision stands")
    scope = "the operator-wide list (*)" if review.scope == "*" else f"account {review.scope}"
    if args.decision == "optout":
        print(f"review {review.id}: {review.number} opted out of {scope} (source review, "
              f"decided by {who})")
    else:
        print(f"review {review.id}: dismissed, nothing recorded for {review.number} "
              f"(decided by {who})")
    return EXIT_OK
