"""Processes: the event loop, the supervisor of ``server.workers`` worker processes,
the shares of limits each worker holds, and the embedded Redis."""
