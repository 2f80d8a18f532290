"""Every Prometheus metric stopgate exports, in one place (names fixed by SPEC.md).

Each gateway process builds one ``Metrics`` on its own registry, so tests can
run several gateways in one interpreter without collisions.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

#: Sender PDU in -> response out; most answers take well under a millisecond.
_LATENCY_BUCKETS = (
    0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)


class Metrics:
    """The gateway's metrics on a private registry."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.mt_total = Counter(
            "stopgate_mt_total", "MT messages by account, class and outcome "
            "(forwarded, blocked, rejected, failed).",
            ["account", "class", "outcome"], registry=r,
        )
        self.mo_total = Counter(
            "stopgate_mo_total", "Messages from the carrier by kind "
            "(optout, optin, help, other, dlr).", ["kind"], registry=r,
        )
        self.optouts_total = Counter(
            "stopgate_optouts_total", "Opt-outs recorded, by source.", ["source"], registry=r,
        )
        self.footers_total = Counter(
            "stopgate_footers_total", "Opt-out footers appended, by destination country.",
            ["country"], registry=r,
        )
        self.upstream_sessions = Gauge(
            "stopgate_upstream_sessions", "Carrier SMPP sessions by upstream and state "
            "(connecting, bound, down).", ["upstream", "state"], registry=r,
        )
        self.upstream_inflight = Gauge(
            "stopgate_upstream_inflight", "submit_sm sent to the carrier and not yet answered.",
            ["upstream"], registry=r,
        )
        self.submit_latency = Histogram(
            "stopgate_submit_latency_seconds", "Sender PDU in to response out.",
            buckets=_LATENCY_BUCKETS, registry=r,
        )
        self.suppression_lookup = Histogram(
            "stopgate_suppression_lookup_seconds", "Suppression cache lookups (one per batch).",
            buckets=_LATENCY_BUCKETS, registry=r,
        )
        self.webhook_deliveries = Counter(
            "stopgate_webhook_deliveries_total", "Webhook delivery attempts by outcome.",
            ["outcome"], registry=r,
        )
        self.suppressed_numbers = Gauge(
            "stopgate_suppressed_numbers", "Numbers currently suppressed.", registry=r,
        )
        # --- beyond SPEC's list: the proxy path ---
        self.sender_sessions = Gauge(
            "stopgate_sender_sessions", "Bound sender SMPP sessions by account and bind type.",
            ["account", "bind"], registry=r,
        )
        self.sender_binds = Counter(
            "stopgate_sender_binds_total", "Sender bind attempts by outcome "
            "(ok, bad_password, unknown_system_id, too_many_sessions).", ["outcome"], registry=r,
        )
        self.sender_protocol_errors = Counter(
            "stopgate_sender_protocol_errors_total", "Malformed or out-of-state PDUs from senders "
            "by command_status answered.", ["status"], registry=r,
        )
        self.throttled = Counter(
            "stopgate_throttled_total", "MTs answered ESME_RTHROTTLED or ESME_RMSGQFUL, by reason "
            "(account_tps, no_upstream, queue_full, carrier_deadline, shutdown).", ["reason"],
            registry=r,
        )
        self.upstream_events = Counter(
            "stopgate_upstream_events_total", "Carrier link events by upstream and kind "
            "(bind_failed, connect_failed, link_lost, throttled, timeout).",
            ["upstream", "event"], registry=r,
        )
        self.dlr_total = Counter(
            "stopgate_dlr_total", "Carrier receipts and MOs on their way back, by outcome "
            "(delivered, queued, unknown_id, dropped_age, dropped_count, no_owner).",
            ["outcome"], registry=r,
        )
        self.dlr_queue_depth = Gauge(
            "stopgate_dlr_queue_depth",
            "Receipts and MOs waiting for a sender to bind, by account.",
            ["account"], registry=r,
        )
        self.reassembly_pending = Gauge(
            "stopgate_reassembly_pending", "Multipart messages waiting for their other parts.",
            registry=r,
        )
        self.reassembly_dropped = Counter(
            "stopgate_reassembly_dropped_total", "Incomplete multipart messages dropped, by reason "
            "(timeout, evicted).", ["reason"], registry=r,
        )

        self.footers_skipped = Counter(
            "stopgate_footers_skipped_total", "Promotional messages that got no footer, by reason "
            "(binary, too_long, unencodable_text...).", ["reason"], registry=r,
        )
        self.footer_extra_segments = Counter(
            "stopgate_footer_extra_segments_total",
            "Segments added to promotional messages by their opt-out footers.", registry=r,
        )
        self.suppression_cache_ready = Gauge(
            "stopgate_suppression_cache_ready",
            "1 when the Redis suppression cache is complete, 0 while unknown or rebuilding.",
            registry=r,
        )
        self.suppression_rebuild_progress = Gauge(
            "stopgate_suppression_rebuild_numbers",
            "Numbers loaded into the suppression cache by the running (or last) rebuild.",
            registry=r,
        )
        self.suppression_imports = Counter(
            "stopgate_suppression_import_numbers_total", "Numbers in suppression imports, by "
            "outcome (added, already, invalid).", ["outcome"], registry=r,
        )

    def render(self) -> bytes:
        """The Prometheus text exposition of this registry."""
        return generate_latest(self.registry)
