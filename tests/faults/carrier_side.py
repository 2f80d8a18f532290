"""What the carrier saw: every deliver_sm_resp its MOs got, and the ledger file read directly.

``MoAnswers`` hooks the simulator's outbox (``Outbox.on_answered``): for each MO
(by the number that sent it) the status of every attempt's deliver_sm_resp, None
for an attempt that got no answer. It observes; it changes nothing the carrier
does (unanswered or refused MOs are still retried by the simulator itself).
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections import defaultdict
from pathlib import Path
from typing import Any

from simulator.carrier import CarrierSimulator
from simulator.outbox import Delivery


class MoAnswers:
    """The carrier's view of its MOs' deliver_sm_resp, by source number (digits)."""

    def __init__(self, simulator: CarrierSimulator) -> None:
        self.by_number: dict[str, list[int | None]] = defaultdict(list)
        simulator.outbox.on_answered = self._answered

    def _answered(self, delivery: Delivery, status: int | None) -> None:
        if not delivery.is_dlr:
            self.by_number[delivery.fields["source_addr"]].append(status)

    def acknowledged(self, number: str) -> bool:
        """The carrier got ESME_ROK for it (it will not send it again)."""
        return 0 in self.by_number.get(number.removeprefix("+"), ())

    def statuses(self, number: str) -> list[int | None]:
        return list(self.by_number.get(number.removeprefix("+"), ()))


def ledger_events(ledger: Path, number: str | None = None) -> list[dict[str, Any]]:
    """Events rows of the SQLite ledger (read-only), of ``number`` or all, in order."""
    # Read-write connection that only reads: after a SIGKILL the WAL index may need a
    # recovery, which a mode=ro connection cannot run.
    with contextlib.closing(sqlite3.connect(ledger, timeout=5.0)) as db:
        db.execute("PRAGMA query_only = ON")
        db.row_factory = sqlite3.Row
        if number is None:
            rows = db.execute("SELECT * FROM events ORDER BY id")
        else:
            rows = db.execute("SELECT * FROM events WHERE number = ? ORDER BY id", (number,))
        return [dict(row) for row in rows]


def open_webhooks(ledger: Path) -> int:
    """Webhook deliveries in the ledger's outbox neither delivered nor given up."""
    with contextlib.closing(sqlite3.connect(ledger, timeout=5.0)) as db:
        db.execute("PRAGMA query_only = ON")
        return int(db.execute("SELECT count(*) FROM webhook_outbox WHERE delivered_at IS NULL "
                              "AND given_up_at IS NULL").fetchone()[0])
