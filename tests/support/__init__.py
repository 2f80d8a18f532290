"""Helpers every kind of test shares: waiting for a condition (``waiting``) and reading
a Prometheus sample (``metrics``)."""
