"""Logs (structured, numbers masked, text made safe to show) and Prometheus metrics."""
