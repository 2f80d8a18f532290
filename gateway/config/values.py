"""What a valid config value looks like: checks that return the value or raise Invalid."""

from __future__ import annotations

import ipaddress
import re
import string
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import phonenumbers

from gateway.config.schema import CheckFn, Invalid, describe, each
from rules.sendtime.packs import pack_name


def at_least(low: int | float) -> CheckFn:
    def check(value: int | float) -> int | float:
        if value < low:
            raise Invalid(f"expected at least {low}, got {value}")
        return value

    return check


def between(low: int, high: int) -> CheckFn:
    def check(value: int) -> int:
        if not low <= value <= high:
            raise Invalid(f"expected {low} to {high}, got {value}")
        return value

    return check


def positive(value: float) -> float:
    if value <= 0:
        raise Invalid(f"expected a duration above zero, got {value:g}s")
    return value


def not_empty(value: str) -> str:
    if not value.strip():
        raise Invalid("must not be empty")
    return value


def smpp_string(limit: int, required: bool = False) -> CheckFn:
    """An SMPP C-octet string field: printable ASCII, at most ``limit`` characters."""

    def check(value: str) -> str:
        if required and not value:
            raise Invalid("must not be empty")
        if not (value.isascii() and value.isprintable()):
            raise Invalid("must be printable ASCII (an SMPP C-octet string)")
        if len(value) > limit:  # never echo the value: passwords go through here
            raise Invalid(f"is {len(value)} characters long; SMPP 3.4 allows at most {limit}")
        return value

    return check


def cidr(value: str) -> str:
    """An IP network ("10.0.0.0/8", "2001:db8::/32") or address, normalised."""
    try:
        return str(ipaddress.ip_network(value.strip(), strict=True))
    except ValueError as error:
        raise Invalid(f"expected an IP network such as 10.0.0.0/8 (host bits zero): {error}"
                      ) from None


def token(value: str) -> str:
    """A secret sent in an HTTP header: printable ASCII without spaces."""
    if value and not (value.isascii() and value.isprintable() and " " not in value):
        raise Invalid("must be printable ASCII without spaces (it travels in an HTTP header)")
    return value


#: The shortest ``storage.hash_key`` accepted (``openssl rand -hex 32`` gives 64).
MIN_HASH_KEY_CHARS = 32


def hash_key(value: str) -> str:
    """``storage.hash_key``: empty (erasure not available), or a secret of at least
    MIN_HASH_KEY_CHARS characters."""
    if value and len(value.strip()) < MIN_HASH_KEY_CHARS:
        raise Invalid(f"must be at least {MIN_HASH_KEY_CHARS} characters (a random secret: "
                      f"openssl rand -hex 32), got {len(value.strip())}")
    return value.strip()


def instance_name(value: str) -> str:
    """``server.instance_id``: empty (derived), or 1..64 of A-Z a-z 0-9 . _ - starting with
    a letter or digit: it names this instance in Redis keys, logs and the ledger's claims."""
    if value and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", value):
        raise Invalid("expected 1 to 64 of A-Z a-z 0-9 . _ - starting with a letter or digit, "
                      f"got {value!r}")
    return value


def region(value: str) -> str:
    """An ISO 3166 alpha-2 region phonenumbers knows, upper-cased."""
    if value.upper() not in phonenumbers.SUPPORTED_REGIONS:
        raise Invalid(f"expected an ISO 3166 alpha-2 country code such as FR or GB, got {value!r}")
    return value.upper()


def region_or_default(value: str) -> str:
    return "*" if value == "*" else _hint(region, value, "or '*' for every other country")


def route(value: str) -> str:
    if value == "*" or re.fullmatch(r"\+[1-9][0-9]{0,14}", value):
        return value
    return _hint(region, value, "or an E.164 prefix such as '+33', or '*'")


def _hint(check: Callable[[str], str], value: str, alternative: str) -> str:
    try:
        return check(value)
    except Invalid as error:
        message = str(error)
        head, _, tail = message.partition(", got ")
        raise Invalid(f"{head} {alternative}, got {tail}") from None


def sender_number(value: str) -> str:
    if not re.fullmatch(r"\+?[0-9]{3,15}", value):
        raise Invalid(f"expected a shortcode such as '36173' or a number such as "
                      f"'+33757000000', got {value!r}")
    return value


#: GSM 03.40 TP-OA: an alphanumeric originator is at most 11 characters in 7-bit.
MAX_ALPHANUMERIC_SENDER = 11


def sender_id(value: str) -> str:
    """An ``accounts.senders`` entry: a number as in ``numbers``, or an alphanumeric id."""
    from smpp.gsm import gsm_septets  # a leaf module; kept out of the config's import cost

    if not any(char.isalpha() for char in value):
        try:
            return sender_number(value)
        except Invalid:
            raise Invalid(f"expected an alphanumeric sender id such as 'ACME' (at most "
                          f"{MAX_ALPHANUMERIC_SENDER} GSM characters, one letter at least), a "
                          f"shortcode such as '36173' or a number such as '+33757000000', "
                          f"got {value!r}") from None
    if value != value.strip():
        raise Invalid(f"an alphanumeric sender id has no leading or trailing spaces, "
                      f"got {value!r}")
    if len(value) > MAX_ALPHANUMERIC_SENDER:
        raise Invalid(f"an alphanumeric sender id has at most {MAX_ALPHANUMERIC_SENDER} "
                      f"characters, got {value!r} ({len(value)})")
    if gsm_septets(value) != len(value):
        raise Invalid(f"an alphanumeric sender id uses only characters of the GSM 03.38 "
                      f"default alphabet (no extension characters), got {value!r}")
    return value


def operator_number(value: str) -> str:
    """``optout.operator_number``: empty (none) or a number as in accounts' ``numbers``."""
    return sender_number(value) if value else value


def shortcode(value: str) -> str:
    if value and not re.fullmatch(r"[0-9]{3,8}", value):
        raise Invalid(f"expected 3 to 8 digits such as '36173', got {value!r}")
    return value


def http_url(value: str) -> str:
    parts = urlsplit(value)
    if value and (parts.scheme not in ("http", "https") or not parts.hostname):
        raise Invalid(f"expected an http:// or https:// URL (or empty), got {value!r}")
    return value


#: Characters a link may use in a footer: the same octet in GSM 03.38, ASCII and Latin-1,
#: so the link arrives whole whichever of them a carrier takes data_coding 0 for ("_",
#: "@", "$", "~", "[", "]" and the like differ).
LINK_SAFE = frozenset(string.ascii_letters + string.digits + "!\"#%&'()*+,-./:;<=>?")


def base_url(value: str) -> str:
    """A public base for opt-out links, ending in '/' so a token can follow: an http(s)
    URL, or a bare host and path ("no-s.ms/") printed as is, which handsets still link."""
    example = "'no-s.ms/' or 'https://no-s.ms/'"
    if not value:
        raise Invalid(f"expected a link base such as {example}, got ''")
    if "://" in value:
        http_url(value)
    else:
        host = urlsplit("https://" + value).hostname
        if not host or "." not in host:
            raise Invalid(f"expected a link base such as {example}, got {value!r}")
    unsafe = sorted({c for c in value if c not in LINK_SAFE})
    if unsafe:
        raise Invalid(f"{' '.join(map(repr, unsafe))} would not survive every carrier's reading "
                      f"of data_coding 0 (GSM 03.38, ASCII or Latin-1); use letters, digits "
                      f"and -./: only, such as {example}")
    return value.rstrip("/") + "/"


def base_url_host(value: str) -> str:
    """The host of a checked base_url, lower-cased ("no-s.ms" for "no-s.ms/" too)."""
    return urlsplit(value if "://" in value else "https://" + value).netloc.lower()


def language(value: str) -> str:
    """An ISO 639-1 language code ("fr"), lower-cased; empty = not given."""
    if value and not re.fullmatch(r"[a-z]{2}", value.lower()):
        raise Invalid(f"expected a two-letter ISO 639-1 language code such as 'fr' or 'nl', "
                      f"got {value!r}")
    return value.lower()


def redis_url(value: str) -> str:
    scheme = urlsplit(value).scheme
    if value and scheme not in ("redis", "rediss", "unix"):
        shown = f"a '{scheme}://' URL" if scheme else "something else"  # URLs may hold passwords
        raise Invalid(f"expected empty (embedded Redis under data_dir) or a redis://, rediss:// "
                      f"or unix:// URL, got {shown}")
    return value


def ledger(value: str) -> str:
    scheme = value.partition("://")[0] if "://" in value else ""
    if scheme not in ("", "sqlite", "postgres", "postgresql"):
        raise Invalid(f"expected empty (SQLite under data_dir), a SQLite file path, "
                      f"sqlite:///path or postgresql://..., got a '{scheme}://' URL")
    return value


def hostname(value: str) -> str:
    try:
        ipaddress.ip_address(value)
        return value
    except ValueError:
        pass
    label = r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)"
    if len(value) <= 253 and re.fullmatch(rf"{label}(\.{label})*\.?", value):
        return value
    raise Invalid(f"expected an IP address or a host name, got {value!r}")


def template(*placeholders: str, what: str = "footers") -> CheckFn:
    """Text whose only {placeholders} are the given ones (none: no placeholder at all);
    ``what`` names the texts in the message ("footers may use {url}, {shortcode}")."""
    allowed = ", ".join(f"{{{name}}}" for name in placeholders)

    def check(value: str) -> str:
        try:
            fields = [(name, spec, conv) for _, name, spec, conv in string.Formatter().parse(value)]
        except ValueError as error:
            raise Invalid(f"malformed placeholder ({error}); write {{{{ and }}}} for literal "
                          f"braces") from None
        for name, spec, conv in fields:
            if name is not None and (name not in placeholders or spec or conv):
                shown = name + (f"!{conv}" if conv else "") + (f":{spec}" if spec else "")
                may = f"{what} may use {allowed}" if placeholders else f"{what} take none"
                raise Invalid(f"unknown placeholder {{{shown}}}; {may}")
        return value

    return check


def keywords(values: tuple[str, ...]) -> tuple[str, ...]:
    stripped: tuple[str, ...] = each(lambda word: not_empty(word).strip())(values)
    return stripped


def bind_modes(modes: tuple[str, ...]) -> tuple[str, ...]:
    if len(modes) == 1 or (len(modes) == 2 and set(modes) == {"transmitter", "receiver"}):
        return modes
    raise Invalid('expected "transceiver", "transmitter", "receiver" or the pair '
                  f'["transmitter", "receiver"], got {list(modes)!r}')


@dataclass(frozen=True, slots=True)
class ListenAddress:
    """A 'host:port' to listen on; IPv6 hosts go in brackets; port 0 picks a free port."""

    host: str
    port: int

    @classmethod
    def from_config(cls, value: object) -> ListenAddress:
        example = "such as '0.0.0.0:2775', '127.0.0.1:8080' or '[::]:2775'"
        if not isinstance(value, str):
            raise Invalid(f"expected \"host:port\" {example}, got {describe(value)}")
        match = re.fullmatch(r"\[(?P<v6>[^\]]*)\]:(?P<port>[^:]*)|(?P<host>[^\[\]:]*):(?P<p>[^:]*)",
                             value)
        if match is None:
            if value.count(":") > 1 and not value.startswith("["):
                host, _, port = value.rpartition(":")
                raise Invalid(f"IPv6 addresses go in brackets: '[{host}]:{port}', got {value!r}")
            raise Invalid(f"expected host:port {example}, got {value!r}")
        host, port = (match["v6"], match["port"]) if match["v6"] is not None else \
            (match["host"], match["p"])
        if not host:
            raise Invalid(f"missing host in {value!r}; use 0.0.0.0 (all interfaces), "
                          "127.0.0.1 (loopback only) or [::]")
        if not (port.isascii() and port.isdigit()) or int(port) > 65535:
            raise Invalid(f"expected a port from 0 to 65535, got {port!r} in {value!r}")
        if match["v6"] is not None:
            try:
                ipaddress.IPv6Address(host)
            except ValueError:
                raise Invalid(f"expected an IPv6 address inside [], got {host!r}") from None
        else:
            hostname(host)
        return cls(host, int(port))

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def host_port(value: str) -> str:
    """A 'host:port' to connect to (a Redis Sentinel): port 1-65535, IPv6 in brackets."""
    address = ListenAddress.from_config(value)
    if address.port == 0:
        raise Invalid(f"expected a port from 1 to 65535, got 0 in {value!r}")
    return str(address)


def refusal_status(example: int, name: str) -> CheckFn:
    """A command_status that refuses: not 0 (ESME_ROK), at most 0xFFFFFFFF."""

    def check(value: int) -> int:
        if value == 0:
            raise Invalid(f"0 is ESME_ROK (success); use an error status such as "
                          f"{example:#x} ({name})")
        if not 0 < value <= 0xFFFFFFFF:
            raise Invalid(f"expected a command_status from 0x1 to 0xFFFFFFFF, got {value:#x}")
        return value

    return check


def compliance_pack(value: str) -> str:
    """A shipped send-time pack ("fr" -> "FR", "GB" -> "UK"; rules/sendtime/packs.toml)."""
    try:
        return pack_name(value)
    except ValueError as error:
        raise Invalid(str(error)) from None


def blocked_status(value: int) -> int:
    if value == 0:
        raise Invalid("0 is ESME_ROK (success); use an error status such as 0x65 (ESME_RX_P_APPN)")
    if not 0 < value <= 0xFFFFFFFF:
        raise Invalid(f"expected a command_status from 0x1 to 0xFFFFFFFF, got {value:#x}")
    return value
