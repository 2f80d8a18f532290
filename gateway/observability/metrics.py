"""Every Prometheus metric stopgate exports, in one place (names fixed by SPEC.md).

Each gateway process builds one ``Metrics`` on its own registry, so tests can
run several gateways in one interpreter without collisions.

With ``server.workers > 1`` every worker writes its values to files under
``data_dir/metrics`` (prometheus_client's multiprocess mode, chosen by the
supervisor through ``PROMETHEUS_MULTIPROC_DIR``), and whichever worker answers
``/metrics`` renders all of them: counters and histograms summed over every
worker that ever ran in this start (a restarted worker's counts are kept), gauges
as each one's ``multiprocess_mode`` says (summed over live workers for sessions
and in-flight counts; one shared value for what lives in Redis). A single process
ignores the modes.
"""

from __future__ import annotations

from typing import cast

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import values as _values
from prometheus_client.multiprocess import MultiProcessCollector

#: Sender PDU in -> response out; most answers take well under a millisecond.
_LATENCY_BUCKETS = (
    0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)


class Metrics:
    """The gateway's metrics on a private registry."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        #: Values live in files shared by the workers (see the module docstring).
        self.multiprocess = bool(getattr(_values.ValueClass, "_multiprocess", False))
        r = self.registry
        self.mt_total = Counter(
            "stopgate_mt_total", "MT messages by account, class and outcome "
            "(forwarded, blocked, rejected, failed; quiet: refused outside the recipient's "
            "sending window, capped: over a frequency cap).",
            ["account", "class", "outcome"], registry=r,
        )
        self.mo_total = Counter(
            "stopgate_mo_total", "Messages from the carrier by kind "
            "(optout, optin, help, review, other, dlr).", ["kind"], registry=r,
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
            multiprocess_mode="livesum",
        )
        self.upstream_inflight = Gauge(
            "stopgate_upstream_inflight", "submit_sm sent to the carrier and not yet answered.",
            ["upstream"], registry=r, multiprocess_mode="livesum",
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
            multiprocess_mode="livemostrecent",  # one Redis count, read by every worker
        )
        # --- SPEC's second wave: held messages (quiet hours) ---
        self.held_messages = Gauge(
            "stopgate_held_messages", "Promotional messages held for their recipient's "
            "sending window, by account (read from the ledger: every instance's).",
            ["account"], registry=r, multiprocess_mode="livemostrecent",
        )
        self.held_total = Counter(
            "stopgate_held_total", "Held messages by account and what happened to them: "
            "held, released, dropped_at_release (refused when released: opted out, capped, "
            "refused), expired, cancelled, refused_backlog_full (not held: the account's "
            "backlog was full).", ["account", "outcome"], registry=r,
        )
        # --- beyond SPEC's list: the proxy path ---
        self.sender_sessions = Gauge(
            "stopgate_sender_sessions", "Bound sender SMPP sessions by account and bind type.",
            ["account", "bind"], registry=r, multiprocess_mode="livesum",
        )
        self.sender_binds = Counter(
            "stopgate_sender_binds_total", "Sender bind attempts by outcome "
            "(ok, bad_password, unknown_system_id, too_many_sessions, too_many_from_address, "
            "certificate_mismatch, certificate_required).",
            ["outcome"], registry=r,
        )
        self.sender_connections_closed = Counter(
            "stopgate_sender_connections_closed_total", "Sender SMPP connections stopgate "
            "closed for being too slow, by reason (frame_timeout, idle).", ["reason"],
            registry=r,
        )
        self.http_connections_closed = Counter(
            "stopgate_http_connections_closed_total", "HTTP connections stopgate closed or "
            "refused, by reason (header_timeout, body_timeout, max_connections, "
            "max_connections_per_address, bad_request).", ["reason"], registry=r,
        )
        self.tls_handshake_failures = Counter(
            "stopgate_tls_handshake_failures_total", "TLS handshakes that failed, by link "
            "(sender, carrier, http) and reason (unknown_ca, expired, wrong_name, "
            "no_client_cert, bad_certificate, protocol, timeout, other).",
            ["link", "reason"], registry=r,
        )
        self.proxy_protocol_errors = Counter(
            "stopgate_proxy_protocol_errors_total", "Connections closed because they did not "
            "start with a valid PROXY protocol header (smpp.proxy_protocol, "
            "http.proxy_protocol), by listener (smpp, http) and reason (missing, malformed, "
            "unsupported, timeout, closed).", ["listener", "reason"], registry=r,
        )
        self.tls_unverified_links = Gauge(
            "stopgate_tls_unverified_links", "Carrier links configured with tls_verify = false "
            "(the carrier's certificate is not checked), by upstream.", ["upstream"],
            registry=r, multiprocess_mode="livemax",
        )
        self.http_unauthorized = Counter(
            "stopgate_http_unauthorized_total", "HTTP requests refused 401, by route kind "
            "(sender, admin).", ["route"], registry=r,
        )
        self.http_auth_failures = Counter(
            "stopgate_http_auth_failures_total", "Wrong or missing HTTP API/admin keys, by "
            "answer (at_once, delayed: a 401; blocked: a 429 from a blocked address).",
            ["answer"], registry=r,
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
        self.sender_refused = Counter(
            "stopgate_sender_refused_total", "MTs refused because their source address is "
            "another account's (accounts.senders / numbers), by account that tried: "
            "ESME_RINVSRCADR over SMPP (each part of a multipart message), 422 "
            "sender_not_allowed over HTTP.", ["account"], registry=r,
        )
        self.upstream_events = Counter(
            "stopgate_upstream_events_total", "Carrier link events by upstream and kind "
            "(bind_failed, connect_failed, link_lost, link_dead, throttled, timeout, "
            "resubmitted, stuck, protocol_error, stray_response).",
            ["upstream", "event"], registry=r,
        )
        self.upstream_rate_limit = Gauge(
            "stopgate_upstream_rate_limit", "submit_sm per second the gateway allows itself "
            "towards the carrier: the configured tps, lower while the carrier throttles; "
            "0 = unlimited.", ["upstream"], registry=r, multiprocess_mode="livesum",
        )
        self.dlr_total = Counter(
            "stopgate_dlr_total", "Carrier receipts and MOs on their way back, by outcome "
            "(delivered, queued, unknown_id, dropped_age, dropped_count, no_owner; retry: the "
            "carrier was asked to send it again, Redis being unavailable).",
            ["outcome"], registry=r,
        )
        self.dlr_queue_depth = Gauge(
            "stopgate_dlr_queue_depth",
            "Receipts and MOs waiting for a sender to bind, by account.",
            ["account"], registry=r, multiprocess_mode="livemostrecent",  # one Redis queue
        )
        self.reassembly_pending = Gauge(
            "stopgate_reassembly_pending", "Multipart messages waiting for their other parts.",
            registry=r, multiprocess_mode="livesum",
        )
        self.reassembly_dropped = Counter(
            "stopgate_reassembly_dropped_total", "Incomplete multipart messages dropped, by reason "
            "(timeout, evicted) and sender account (empty for MOs from carriers).",
            ["reason", "account"], registry=r,
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
            registry=r, multiprocess_mode="livemin",  # 0 while any worker fails closed
        )
        self.redis_up = Gauge(
            "stopgate_redis_up", "1 when Redis answered the suppression keeper's last check "
            "(every second, and at once after an error), 0 when it failed.",
            registry=r, multiprocess_mode="livemin",  # 0 while any worker cannot reach it
        )
        self.suppression_rebuilds = Counter(
            "stopgate_suppression_rebuilds_total", "Suppression cache rebuilds from the ledger "
            "completed by this process (at start, after Redis lost or missed data).",
            registry=r,
        )
        self.suppression_rebuild_progress = Gauge(
            "stopgate_suppression_rebuild_numbers",
            "Numbers loaded into the suppression cache by the running (or last) rebuild.",
            registry=r, multiprocess_mode="livemax",  # one worker loads, the others wait
        )
        self.ledger_writable = Gauge(
            "stopgate_ledger_writable",
            "1 while the ledger commits writes; 0 while it cannot (locked, disk full, I/O "
            "errors): STOPs are then not acknowledged and promotional traffic is refused.",
            registry=r, multiprocess_mode="livemin",  # 0 while any worker cannot record
        )
        self.ledger_write_failures = Counter(
            "stopgate_ledger_write_failures_total", "Ledger writes (opt-outs, opt-ins, "
            "probes) that failed, by reason (locked, disk_full, read_only, io_error, closed, "
            "error).", ["reason"], registry=r,
        )
        self.webhook_backlog = Gauge(
            "stopgate_webhook_backlog", "Webhook deliveries recorded and not yet delivered or "
            "given up (due now or waiting for a retry), counted in the ledger every "
            "few seconds.",
            registry=r, multiprocess_mode="livemostrecent",  # one ledger, read by every worker
        )
        # --- the opt-out review list (gateway.inbound.reviews) ---
        self.optout_reviews_pending = Gauge(
            "stopgate_optout_reviews_pending", "Replies on the opt-out review list not yet "
            "decided (they looked like a revocation without being a clear one), counted in "
            "the ledger every few seconds.",
            registry=r, multiprocess_mode="livemostrecent",  # one ledger, read by every worker
        )
        self.optout_review_deadline = Gauge(
            "stopgate_optout_review_deadline_seconds", "Seconds until the earliest deadline "
            "of a pending review (10 business days after the reply: the FCC's); negative once "
            "passed, 0 with nothing pending.",
            registry=r, multiprocess_mode="livemostrecent",
        )
        self.optout_reviews_due_soon = Gauge(
            "stopgate_optout_reviews_due_soon", "Pending reviews with fewer than 2 business "
            "days left before their deadline (or past it).",
            registry=r, multiprocess_mode="livemostrecent",
        )
        self.mt_offer_as_transactional = Counter(
            "stopgate_mt_offer_as_transactional_total", "MT messages a sender labelled "
            "transactional (service_type OTP/TRX, TLV 0x1500 = 1, HTTP class) whose text "
            "carries an offer: forwarded as transactional (the explicit class wins), counted "
            "by account so the operator sees who labels promotions as transactional.",
            ["account"], registry=r,
        )
        self.suppression_imports = Counter(
            "stopgate_suppression_import_numbers_total", "Numbers in suppression imports, by "
            "outcome (added, already, invalid).", ["outcome"], registry=r,
        )
        # --- several instances (gateway.observability.drift) ---
        self.config_info = Gauge(
            "stopgate_config_info", "1, labelled with the hash of this instance's effective "
            "configuration (per-instance keys such as listen addresses and data_dir left out).",
            ["hash"], registry=r, multiprocess_mode="livemax",  # one config for every worker
        )
        self.instances = Gauge(
            "stopgate_instances", "Live instances in the membership this process last saw in "
            "Redis (itself included; 0 before the first heartbeat): the carrier sessions and "
            "tps and account tps are split among them.",
            registry=r, multiprocess_mode="livemax",  # every worker sees the same membership
        )
        self.config_hash_mismatch = Gauge(
            "stopgate_config_hash_mismatch", "Distinct configuration hashes among the live "
            "instances sharing this Redis, minus one: 0 when every instance agrees.",
            registry=r, multiprocess_mode="livemax",  # read from Redis by every worker
        )

    def write_functions(self) -> None:
        """Multiprocess mode: store the value of every ``set_function`` gauge in its file.

        A function is only called by an in-process collection, and /metrics reads the
        files instead, so the gateway calls this every second (stopgate_upstream_inflight,
        stopgate_upstream_rate_limit).
        """
        for gauge in (self.upstream_inflight, self.upstream_rate_limit):
            # prometheus_client keeps labelled children in _metrics and puts the function
            # in the child's own _child_samples; there is no public way to read either.
            for child in list(gauge._metrics.values()):
                if "_child_samples" in vars(child):
                    samples = list(child._child_samples())
                    cast(Gauge, child).set(samples[0].value)

    def counts(self, family: str, label: str) -> dict[str, int]:
        """A counter's ``_total`` values summed by one label (every worker's, in
        multiprocess mode): what the operator's JSON reports show."""
        registry = self.registry
        if self.multiprocess:
            registry = CollectorRegistry()
            # the ignore: prometheus_client leaves this call's signature unannotated
            MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        out: dict[str, int] = {}
        for found in registry.collect():
            if found.name != family:
                continue
            for sample in found.samples:
                if sample.name == family + "_total":
                    key = sample.labels.get(label, "")
                    out[key] = out.get(key, 0) + int(sample.value)
        return out

    def render(self) -> bytes:
        """The Prometheus text exposition of this registry (of every worker's files)."""
        if self.multiprocess:
            registry = CollectorRegistry()
            # the ignore: prometheus_client leaves this call's signature unannotated
            MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            return generate_latest(registry)
        return generate_latest(self.registry)
