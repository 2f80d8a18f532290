"""Tools beside the gateway, not part of it: the carrier simulator (an SMSC for tests,
the demo and the benchmark, with an HTTP control endpoint) and ``stopgate demo``."""
