"""`stopgate demo`: a zero-setup tour on embedded defaults.

The tour grows with the product. Today it starts the embedded Redis (or
uses ``storage.redis_url``), shows the campaign it will run and how each
message would be encoded and segmented, and says which steps of the tour
are still to come.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

import redis

from gateway.redis_embedded import EmbeddedRedis
from smpp.segments import split_text
from smpp.text import choose_encoding, encode_text

if TYPE_CHECKING:
    from gateway.config import Config

_CODING_NAMES = {0: "GSM 03.38", 1: "IA5", 3: "Latin-1", 8: "UCS-2"}


@dataclass(frozen=True, slots=True)
class DemoMessage:
    to: str
    text: str
    expect: str


#: The small campaign the tour sends: a French and a British audience, one opted out.
CAMPAIGN: tuple[DemoMessage, ...] = (
    DemoMessage("+33612345678", "Black Friday : -30% sur tout le magasin ce week-end !",
                "promotional to FR: forwarded with 'STOP au 36173'"),
    DemoMessage("+33612345679", "Votre code de connexion est 482913",
                "transactional (one-time code): forwarded untouched"),
    DemoMessage("+447400900123", "Black Friday: 30% off everything this weekend only, "
                "shop now before the offer ends at midnight on Sunday. Free delivery on "
                "all orders over 20 pounds, no code needed.",
                "promotional to GB, long: footer with a per-recipient opt-out link, re-segmented"),
    DemoMessage("+33612345680", "Dernière chance 🎁 -50% ce soir seulement",
                "promotional to a number that replied STOP: blocked"),
)

_STEPS_TO_COME = (
    "start the built-in carrier simulator and the proxy on loopback",
    "send the campaign over SMPP and show what was forwarded, blocked and footered",
    "reply STOP from a recipient and show the very next promotional message blocked",
)


def run(config: Config, out: TextIO | None = None) -> int:
    """Run the tour; return the process exit code."""
    import sys

    write = (out or sys.stdout).write
    write("stopgate demo: an opt-out gateway tour on embedded defaults\n\n")
    with tempfile.TemporaryDirectory(prefix="stopgate-demo-") as scratch:
        server: EmbeddedRedis | None = None
        url = config.storage.redis_url
        if not url:
            server = EmbeddedRedis(scratch)
            url = server.start()
            write(f"[redis]  embedded redis-server pid {server.pid} on {url} (AOF, everysec)\n")
        else:
            write(f"[redis]  using storage.redis_url {url}\n")
        try:
            client = redis.Redis.from_url(url)
            version = client.info("server")["redis_version"]
            client.close()
            write(f"[redis]  answering, version {version}\n\n")
            write("The campaign:\n")
            for message in CAMPAIGN:
                coding = choose_encoding(message.text)
                parts = split_text(message.text, coding)
                octets = len(encode_text(message.text, coding))
                write(
                    f"  {message.to:<15} {_CODING_NAMES.get(coding, coding)!s:<9} "
                    f"{octets:>3} octets, {len(parts)} part(s)  -> {message.expect}\n"
                )
            write("\nSteps still to come in this version of the demo:\n")
            for step in _STEPS_TO_COME:
                write(f"  - {step}\n")
        finally:
            if server is not None:
                server.stop()
                write("\n[redis]  embedded redis-server stopped\n")
    return 0
