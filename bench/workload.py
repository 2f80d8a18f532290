"""What the benchmark sends: a fixed mix of messages whose fate the generator knows.

Per 1,000 messages (a *ring*, shuffled once, then cycled):

- 700 transactional, 300 promotional, classified by their text (the bench
  config's ``[[rules]]`` and the built-in detectors) or, for some, by an
  explicit service_type or TLV 0x1500;
- 30 of the promotional ones (10 %) go to numbers in the suppression list and
  must be blocked; every other promotional one must arrive with its footer:
  ``STOP au 36173`` in France, elsewhere the built-in link footer of the
  recipient's country (``Abmelden: no-s.ms/<token>``, ``Baja: ...``,
  ``Opt-out: ...``);
- 200 are multipart (UDH, 8-bit reference), half of them 2 parts, half 3;
- recipients in France, the UK, Germany and Spain.

Every recipient is new: each message gets the next number of its country's
range (a *stream* is a disjoint slice of every range, one per generator
process and phase), and one-time codes change with every message, so no cache
in the proxy sees the same (account, number) or OTP text twice, as in a real
campaign. Opted-out recipients come from the slices ``suppressed_numbers``
loads.

The ring is pre-encoded (``wire.submit_sm``); per message the generator patches
the recipient's digits, the code and the sequence numbers, nothing else.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field

import wire

PROMOTIONAL, TRANSACTIONAL = "promotional", "transactional"
RING = 1000
SOURCE = "36173"
SHORTCODE = "36173"
FOOTER_FR = b"STOP au " + SHORTCODE.encode()
OPTOUT_BASE_URL = "no-s.ms/"  # the built-in optout.base_url
FOOTER_URL = OPTOUT_BASE_URL.encode()
#: Numbers of one country range a stream may use (disjoint slices).
STREAM_SPAN = 1_000_000


@dataclass(frozen=True, slots=True)
class Plan:
    """A range of valid mobile numbers: international digits ``prefix`` + ``width`` digits."""

    country: str
    prefix: str
    width: int
    base: int


# Fresh recipients (never suppressed). Checked valid by phonenumbers over whole ranges.
FRESH = {
    "FR": Plan("FR", "336", 8, 40_000_000),   # +33 6 4.. to 6 8..: 50 M numbers
    "GB": Plan("GB", "447", 9, 200_000_000),  # +44 7 2../3..: 200 M
    "DE": Plan("DE", "49151", 8, 0),          # +49 151 ...: 100 M
    "ES": Plan("ES", "346", 8, 0),            # +34 6 ...: 100 M
}
# The suppression list: half French numbers in the account's own list, half British in
# the operator-wide list (both scopes are looked up for every promotional message).
SUPPRESSED = {
    "FR": (Plan("FR", "3361", 7, 0), "bench"),
    "GB": (Plan("GB", "4471", 8, 0), "*"),
}
COUNTRY_MIX = (("FR", 40), ("GB", 30), ("DE", 15), ("ES", 15))  # of 100 recipients


def suppressed_numbers(total: int) -> Iterator[tuple[str, str]]:
    """(scope, E.164 number) of the ``total`` numbers the bench loads, in key order."""
    half = total // 2
    for plan, scope in SUPPRESSED.values():
        for value in range(half):
            yield scope, f"+{plan.prefix}{value:0{plan.width}d}"


# --- texts -----------------------------------------------------------------------------
# GSM 03.38 characters that are ASCII in the default alphabet only, so the sink can find
# footers as bytes. CODE marks where each message's six-digit one-time code goes.
CODE = b"######"

TRANSACTIONAL_TEXTS = (
    (b"Your verification code is ######. It expires in 10 minutes. Do not share it.", "", 0),
    (b"Votre code de connexion : ######. Il expire dans 5 minutes.", "", 0),
    (b"Your parcel 7731-AB has been dispatched and will be delivered tomorrow between "
     b"8:00 and 12:00. Track it in the app.", "", 0),
    (b"Reminder: your appointment is confirmed for Monday 14 at 9:30.", "OTP", 0),
    (b"Your October statement is available in your online banking space.", "", 1),
)
PROMOTIONAL_TEXTS = (
    (b"Black Friday: 30% off everything this weekend only, shop now on our website!", "", 0),
    (b"Soldes d'hiver : -50% sur toute la collection, en magasin et en ligne "
     b"jusqu'a dimanche.", "", 0),
    (b"Exclusive offer for you: 2 pizzas for the price of 1 tonight, order in the app.",
     "", 0),
    (b"New arrivals in store this week, come and discover the spring collection.",
     "PROMO", 0),
    (b"Our weekend brunch is back, book your table now.", "", 2),
    # Long enough that the footer needs a second segment: the proxy re-segments.
    (b"Black Friday continues: 40% off all shoes and bags, 20% off the new winter coats, "
     b"free delivery from 30 euros and gift wrapping in every store!", "", 0),
)
TRANSACTIONAL_LONG = (
    b"Your order 88231 has been shipped. It contains 3 items and will be delivered "
    b"tomorrow by our carrier between 8:00 and 18:00. If you are not at home, the parcel "
    b"will be left at the nearest pick-up point and you will receive a notification with "
    b"the address and opening hours. Your invoice is available in your account. "
    b"Thank you for your order, the delivery team will call you 30 minutes before.")
PROMOTIONAL_LONG = (
    b"Black Friday at our stores: 30% off everything this weekend only! Shoes, bags, coats "
    b"and accessories, in store and online, with free delivery from 30 euros. Members get "
    b"an extra 10% on top and early access from Thursday evening. Hundreds of new styles "
    b"added every day until Sunday midnight, while stocks last. Come and shop now, our "
    b"teams are waiting for you with a little gift for every order over 50 euros!")


def _segments(text: bytes, parts: int) -> list[bytes]:
    """``text`` cut into ``parts`` GSM segments of at most 153 septets."""
    size = -(-len(text) // parts)
    assert size <= 153, (len(text), parts)
    return [text[i * size:(i + 1) * size] for i in range(parts)]


@dataclass(slots=True)
class Template:
    """One pre-encoded message: its PDUs and what the generator must know about it."""

    parts: list[bytearray]
    dest_offsets: list[int]  # where each part's recipient digits start (after the prefix)
    code_offset: int  # in parts[0]; -1 = no code
    plan: Plan
    klass: str
    opted_out: bool
    multipart: bool = field(default=False)


def _template(klass: str, text: bytes, service_type: str, class_tlv: int, plan: Plan,
              opted_out: bool, parts: int, ref: int) -> Template:
    tlvs = wire.tlv(wire.TAG_STOPGATE_CLASS, bytes((class_tlv,))) if class_tlv else b""
    destination = plan.prefix + "0" * plan.width
    pdus: list[bytearray] = []
    offsets: list[int] = []
    segments = [text] if parts == 1 else _segments(text, parts)
    for number, segment in enumerate(segments, 1):
        udh = bytes((5, 0, 3, ref, parts, number)) if parts > 1 else b""
        frame, offset = wire.submit_sm(
            service_type=service_type, source=SOURCE, destination=destination,
            short_message=udh + segment, esm_class=wire.ESM_UDHI if udh else 0, tlvs=tlvs)
        pdus.append(frame)
        offsets.append(offset + len(plan.prefix))
    code_offset = pdus[0].find(CODE)
    return Template(pdus, offsets, code_offset, plan, klass, opted_out, parts > 1)


def build_ring(seed: int, *, policy: bool = True) -> list[Template]:
    """RING templates in the mix of the module docstring, shuffled by ``seed``.

    ``policy=False`` (the policy-off scenario): the same messages, every one marked
    transactional by service_type TRX, so the proxy only forwards them.
    """
    rng = random.Random(seed)
    countries = [c for c, share in COUNTRY_MIX for _ in range(share)]
    # (promotional, opted out) for each message, exact proportions; then, within each
    # group, every fifth message multipart (2 or 3 parts, alternately).
    groups = ((True, True, RING * 3 // 100), (True, False, RING * 27 // 100),
              (False, False, RING * 70 // 100))
    templates: list[Template] = []
    ref = 0
    for promotional, opted_out, size in groups:
        for index in range(size):
            parts = 1 if index % 5 else 2 + (index // 5) % 2
            if opted_out:
                plan = SUPPRESSED["FR" if index % 2 else "GB"][0]
            else:
                plan = FRESH[countries[rng.randrange(len(countries))]]
            if parts > 1:
                text = (PROMOTIONAL_LONG if promotional else TRANSACTIONAL_LONG)[:150 * parts]
                service_type, class_tlv = "", 0
            else:
                choices = PROMOTIONAL_TEXTS if promotional else TRANSACTIONAL_TEXTS
                text, service_type, class_tlv = choices[rng.randrange(len(choices))]
            if not policy:
                service_type, class_tlv = "TRX", 0
            ref = ref % 255 + 1
            klass = PROMOTIONAL if promotional and policy else TRANSACTIONAL
            templates.append(_template(klass, text, service_type, class_tlv, plan,
                                       opted_out and policy, parts, ref))
    rng.shuffle(templates)
    return templates


class Recipients:
    """The next fresh number of each range for one stream; opted-out ones from the list."""

    def __init__(self, stream: int, suppressed_total: int) -> None:
        self.next: dict[str, int] = {}
        self.stream = stream
        self.half = max(1, suppressed_total // 2)
        self.counts: dict[Plan, int] = {}

    def digits(self, plan: Plan) -> bytes:
        count = self.counts.get(plan, 0)
        self.counts[plan] = count + 1
        if plan.prefix in ("3361", "4471"):  # the suppression list's slices
            value = (self.stream * 100_003 + count * 7) % self.half
        else:
            value = plan.base + self.stream * STREAM_SPAN + count % STREAM_SPAN
        return b"%0*d" % (plan.width, value)
