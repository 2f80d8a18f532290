"""The stopgate configuration the benchmark runs, and a check that its workload classifies
as the generator expects (so a validation failure means the proxy, not the bench)."""

from __future__ import annotations

from pathlib import Path

import workload

ACCOUNT, PASSWORD = "bench", "bench"  # full policy (policy, compliance, dlr, tls)
API_KEY = "bench-api-key"  # the two-instance scenario's opt-outs and MTs over HTTP
FORWARD_ACCOUNT, FORWARD_PASSWORD = "fwd", "fwd"  # policy off (scenario 2)
BLOCKED_STATUS = 0x65

#: The compliance scenario (issue 16): the shipped config.toml's packs, and a frequency cap
#: in every country of the workload, so every promotional message that goes out is placed,
#: judged (quiet hours for FR recipients: the FR pack) and counted in Redis. ``max`` is
#: far above what the workload sends one recipient (every recipient is new: one each), so
#: nothing is refused and the counts at the sink are those of the full-policy scenario.
COMPLIANCE_PACKS = ("FR", "US")
COMPLIANCE_CAP_REGIONS = ("FR", "GB", "DE", "ES")
COMPLIANCE_CAP_MAX = 100
#: The served processes' send-time clock (STOPGATE_TEST_CLOCK) in the compliance scenario,
#: so the result never depends on the hour the bench runs at: Tuesday 9 June 2026 (no
#: public holiday), 18:00 in Paris and Madrid, 17:00 in London: inside the FR pack's
#: window (Mon-Sat 08:00-20:00) and the UK, DE and ES packs' too, with two hours to spare
#: (the clock runs on in real time from each start). It is also inside the US federal
#: window (08:00-21:00) from New York (12:00) to Anchorage (08:00); no instant is inside
#: both France's window and Hawaii's, and the workload sends no US number.
COMPLIANCE_CLOCK = "2026-06-09T16:00:00Z"

# A rule set of the size an operator keeps: the example config's three, plus matchers
# of every kind that the bench traffic mostly does not hit (so every message is
# tested against most of them, as in production).
RULES = """
[[rules]]
id = "one-time-codes"
class = "transactional"
regex = '(?i)\\b(code|otp|pin|password|mot de passe)\\b\\D{0,40}\\b\\d{4,8}\\b'

[[rules]]
id = "bench-alerts"
class = "transactional"
account = "bench"
source = ["BENCH-ALERT", "+33757000000"]

[[rules]]
id = "fwd-everything"
class = "transactional"
account = "fwd"

[[rules]]
id = "german-newsletter"
class = "promotional"
country = ["DE"]
regex = '(?i)\\bnewsletter\\b'

[[rules]]
id = "appointments"
class = "transactional"
regex = '(?i)\\b(rendez-vous|termin|cita)\\b.{0,30}\\b\\d{1,2}[:h]\\d{2}\\b'

[[rules]]
id = "marketing-service-types"
class = "promotional"
service_type = ["NEWS", "CMT"]

[[rules]]
id = "sales-words"
class = "promotional"
keywords = ["promo", "discount", "offer", "soldes", "offre", "black friday", "rebajas"]
"""


class Pki:
    """A throwaway CA and one certificate for 127.0.0.1, for the TLS scenario: the proxy's
    TLS listener and the sink serve it, the generator and the proxy trust the CA."""

    def __init__(self, directory: Path) -> None:
        import trustme  # installed with the test extras, like everything make bench runs

        directory.mkdir(parents=True, exist_ok=True)
        ca = trustme.CA(organization_name="stopgate bench")
        leaf = ca.issue_cert("127.0.0.1", "localhost")
        self.ca, self.cert, self.key = (directory / "ca.pem", directory / "cert.pem",
                                        directory / "key.pem")
        ca.cert_pem.write_to_path(str(self.ca))
        self.cert.write_bytes(b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
        leaf.private_key_pem.write_to_path(str(self.key))


def write_config(path: Path, *, smpp_port: int, http_port: int, data_dir: Path,
                 redis_url: str, sink_port: int, workers: int, window: int,
                 upstream_sessions: int, upstream_window: int, tls: Pki | None = None,
                 tls_port: int = 0, ledger: str = "", compliance: bool = False) -> None:
    """The bench's stopgate config; ``compliance``: with the send-time rules of the
    compliance scenario (``compliance_toml``)."""
    listener = upstream = ""
    if tls is not None:
        listener = (f'smpp_tls_listen = "127.0.0.1:{tls_port}"\n'
                    f'tls_cert = "{tls.cert}"\ntls_key = "{tls.key}"\n')
        upstream = f'tls = true\ntls_ca = "{tls.ca}"\n'
    path.write_text(f"""\
[server]
smpp_listen = "127.0.0.1:{smpp_port}"
http_listen = "127.0.0.1:{http_port}"
data_dir = "{data_dir}"
workers = {workers}
{listener}
[storage]
redis_url = "{redis_url}"
ledger = "{ledger}"

[smpp]
sender_window = {window}
submit_queue_max = 200000
max_sessions_per_account = 0
idle_timeout = 0

[log]
level = "warning"

[policy]
on_blocked = "reject"
blocked_status = {BLOCKED_STATUS:#x}
fail_closed = true

[optout]
base_url = "{workload.OPTOUT_BASE_URL}"
confirm_reply = false

[[upstreams]]
name = "sink"
host = "127.0.0.1"
port = {sink_port}
system_id = "stopgate"
password = "sink"
bind = "transceiver"
sessions = {upstream_sessions}
window = {upstream_window}
{upstream}
[[accounts]]
system_id = "{ACCOUNT}"
password = "{PASSWORD}"
api_key = "{API_KEY}"
default_region = "FR"
numbers = ["{workload.SHORTCODE}"]
shortcode = "{workload.SHORTCODE}"

[[accounts]]
system_id = "{FORWARD_ACCOUNT}"
password = "{FORWARD_PASSWORD}"
default_region = "FR"
default_class = "transactional"
# The policy-off ring is sent from the same shortcode as the full-policy one: shared, so
# both accounts list it (a source only one of them listed would be refused to the other).
numbers = ["36100", "{workload.SHORTCODE}"]

# No [[footers]]: the built-in ones, as an operator who sets none gets them.
{RULES}{compliance_toml() if compliance else ""}""")


def compliance_toml() -> str:
    """``[compliance]`` and ``[[frequency_caps]]`` of the compliance scenario."""
    packs = ", ".join(f'"{pack}"' for pack in COMPLIANCE_PACKS)
    caps = "".join(f"""
[[frequency_caps]]
region = "{region}"
max = {COMPLIANCE_CAP_MAX}
per = "24h"
""" for region in COMPLIANCE_CAP_REGIONS)
    return f"""
[compliance]
packs = [{packs}]
{caps}"""


def check_classes(config_path: Path) -> list[str]:
    """Templates the proxy's classifier would class otherwise than the workload says."""
    from gateway.config.model import load_config
    from rules.classify import Classifier, MessageFacts, explicit_class

    config = load_config(config_path, env={})
    classifier = Classifier(config.rules, unclassified=config.policy.unclassified)
    wrong: set[str] = set()
    for template in workload.build_ring(0):
        text = b""
        service_type, class_tlv = "", None
        for frame in template.parts:
            fields = frame[16:].split(b"\0", 1)
            service_type = fields[0].decode()
            _, _, data = _user_data(frame)
            if template.multipart:
                data = data[1 + data[0]:]  # the UDH
            text += data
            tag = frame.find(b"\x15\x00\x00\x01")
            class_tlv = bytes(frame[tag + 4:tag + 5]) if tag > 0 else None
        explicit = explicit_class(service_type, class_tlv, None)
        facts = MessageFacts(account=ACCOUNT, source_addr=workload.SOURCE,
                             country=template.plan.country, service_type=service_type,
                             text=text.replace(workload.CODE, b"482913").decode("ascii"),
                             explicit=explicit[0] if explicit else None,
                             explicit_rule=explicit[1] if explicit else "explicit")
        decision = classifier.classify(facts)
        if decision.klass != template.klass:
            wrong.add(f"{template.klass} classed {decision.klass} by {decision.rule}: "
                         f"{text[:60]!r}")
    return sorted(wrong)


def _user_data(frame: bytearray) -> tuple[int, int, bytes]:
    import wire

    return wire.short_message_of(frame, 0, len(frame))
