"""One worker process of ``stopgate serve`` with ``server.workers > 1`` (see process/supervisor.py).

Runs after the fork: the parent's signal handlers are gone, the death signal is
armed. SIGHUP (forwarded by the parent) reloads its TLS listeners' and carrier links' files.
The worker writes one byte on its pipe once its listeners accept, so the
parent can tell senders where to connect only when every worker takes connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal

from gateway.app import Gateway, reload_tls
from gateway.config.model import Config
from gateway.instances.membership import Totals
from gateway.observability import logs
from gateway.process.eventloop import run, settle_heap

__all__ = ["run_worker"]

log = logging.getLogger("stopgate.workers")


def _multiprocess_metrics() -> None:
    # prometheus_client picks its value class at import time, from PROMETHEUS_MULTIPROC_DIR.
    # The parent sets the variable before importing it, but a caller that imported it
    # earlier would leave this worker counting in private memory no /metrics ever sees.
    from prometheus_client import values

    if not getattr(values.ValueClass, "_multiprocess", False):
        # the ignore: prometheus_client leaves this call's signature unannotated
        values.ValueClass = values.MultiProcessValue()  # type: ignore[no-untyped-call]


def _tag_logs(slot: int) -> None:
    """Every log line of this worker says which worker (and pid) wrote it."""
    logs.set_context(worker=slot, pid=os.getpid())


async def _serve(config: Config, slot: int, ready_fd: int, totals: Totals | None) -> int:
    gateway = Gateway(config, slot, totals)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    loop.add_signal_handler(signal.SIGHUP, reload_tls, gateway)  # forwarded by the parent
    try:
        await gateway.start()
    except BaseException:
        with contextlib.suppress(Exception):
            await gateway.stop(timeout=2.0)
        raise
    settle_heap()
    os.write(ready_fd, b"L")
    os.close(ready_fd)
    await stop.wait()
    await gateway.stop()
    return 0


def run_worker(config: Config, slot: int, ready_fd: int, totals: Totals | None = None) -> int:
    """Run one worker's gateway until SIGTERM (or its parent's death); its exit code.
    ``totals``: the limits as configured before the split (gateway/instances/membership.py)."""
    _multiprocess_metrics()
    _tag_logs(slot)
    log.info("worker starting", extra=logs.fields(
        "worker_starting", smpp_port=config.server.smpp_listen.port,
        http_port=config.server.http_listen.port))
    return int(run(_serve(config, slot, ready_fd, totals)))
