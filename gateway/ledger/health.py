"""Whether the ledger can record an opt-out right now: a write probe and every STOP's write.

A ledger that answers SELECTs can still be unable to commit: another process holds
its write lock past ``storage.ledger_busy_timeout``, the disk is full, the file
system went read-only or returns I/O errors. Then a STOP cannot be made durable,
so it must not be acknowledged (the MO handler raises, the carrier is answered
ESME_RX_T_APPN and sends it again), and promotional traffic is refused like
while the suppression cache is unknown: an opt-out that cannot be captured is
an opt-out the next campaign would ignore.

``LedgerHealth`` holds the verdict (``writable``, and a short ``reason``:
``locked``, ``disk_full``, ``read_only``, ``io_error``, ``unreachable`` (PostgreSQL:
no connection), ``closed``, ``error``). It
is kept by a probe every ``interval`` seconds (one small fsynced write on a
connection of its own, in a thread of its own: while the ledger is locked the
probe waits out the busy timeout without holding up the STOPs queued on the
ledger's worker), and by every opt-out and opt-in recorded (``succeeded`` /
``failed`` from ``Suppressions``). It recovers by itself: the first write that
commits again, probe or STOP, makes it writable.

Metrics: ``stopgate_ledger_writable`` (1/0) and
``stopgate_ledger_write_failures_total{reason}``.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import sqlite3
from collections.abc import Callable

from gateway.ledger.model import LedgerError
from gateway.lifecycle import Background
from gateway.observability.logs import fields
from gateway.observability.metrics import Metrics

__all__ = ["REASONS", "LedgerHealth", "fault_reason"]

log = logging.getLogger("stopgate.ledger")

#: Every reason ``fault_reason`` gives (the label values of the failure counter).
REASONS = ("locked", "disk_full", "read_only", "io_error", "unreachable", "closed", "error")
#: Errors that say something about the ledger's storage (a ValueError is a caller's bug).
_FAULTS = (sqlite3.Error, OSError, LedgerError)
_DISK_FULL = frozenset({errno.ENOSPC, errno.EFBIG, errno.EDQUOT})


def fault_reason(error: BaseException) -> str:
    """The short, machine-readable reason a ledger write failed with ``error``."""
    given = getattr(error, "reason", None)  # PostgresError names its own (SQLSTATE-based)
    if isinstance(error, LedgerError) and isinstance(given, str) and given in REASONS:
        return given
    name = getattr(error, "sqlite_errorname", "") or ""
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return "locked"
    if name == "SQLITE_FULL":
        return "disk_full"
    if name.startswith("SQLITE_READONLY"):
        return "read_only"
    if name.startswith(("SQLITE_IOERR", "SQLITE_CANTOPEN", "SQLITE_CORRUPT")):
        return "io_error"
    if isinstance(error, OSError):
        if error.errno in _DISK_FULL:
            return "disk_full"
        return "read_only" if error.errno == errno.EROFS else "io_error"
    if isinstance(error, LedgerError) and "closed" in str(error):
        return "closed"
    return "error"


class LedgerHealth:
    """The ledger's write health, probed and reported (see the module docstring)."""

    def __init__(self, probe: Callable[[], None], metrics: Metrics, *,
                 interval: float = 1.0) -> None:
        #: A blocking write that raises on failure (``Ledger.write_probe``); run in a thread.
        self._probe = probe
        self.interval = interval
        self.writable = True
        self.reason = ""
        self._gauge = metrics.ledger_writable
        self._failures = {reason: metrics.ledger_write_failures.labels(reason)
                          for reason in REASONS}
        self._gauge.set(1)
        self._prober = Background("ledger-probe", self._run)

    def succeeded(self) -> None:
        """A write committed: the ledger records again."""
        if not self.writable:
            self.writable = True
            self.reason = ""
            self._gauge.set(1)
            log.warning("ledger writable again: opt-outs are recorded, promotional traffic "
                        "flows", extra=fields("ledger_writable"))

    def failed(self, error: BaseException) -> None:
        """A write failed with ``error``; only storage faults make the ledger unwritable."""
        if not isinstance(error, _FAULTS):
            return
        reason = fault_reason(error)
        self._failures[reason].inc()
        if self.writable or reason != self.reason:
            log.error("ledger cannot record (%s: %s): STOPs are not acknowledged (the carrier "
                      "retries) and promotional traffic is refused until it can", reason, error,
                      extra=fields("ledger_unwritable", reason=reason, error=str(error)))
        self.writable = False
        self.reason = reason
        self._gauge.set(0)

    async def probe(self) -> bool:
        """One write probe now; True if it committed."""
        try:
            await asyncio.to_thread(self._probe)
        except Exception as error:
            self.failed(error)
            return False
        self.succeeded()
        return True

    def start(self) -> None:
        self._prober.start()

    async def stop(self) -> None:
        await self._prober.stop()

    async def _run(self) -> None:
        while True:
            await self.probe()
            await asyncio.sleep(self.interval)
