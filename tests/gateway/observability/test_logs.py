"""Structured logs (observability/logs.py): the number mask, both formats, and every call site.

The formatter is exercised through a real logger and handler (``logs.configure`` on
a StringIO), as ``stopgate serve`` uses it; the call-site checks read gateway/'s
source, so a new log call without an event name fails here.
"""

from __future__ import annotations

import ast
import io
import logging
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.config.model import ConfigError, Log, parse_config
from gateway.observability import logs
from gateway.observability.logs import fields, mask_number, scrub
from gateway.observability.visible import UNSAFE, visible

GATEWAY = Path(__file__).resolve().parents[3] / "gateway"
E164 = st.from_regex(r"\+[1-9][0-9]{6,14}", fullmatch=True)
SNAKE = re.compile(r"[a-z][a-z0-9]*(_[a-z0-9]+)*")


@pytest.fixture
def capture() -> Iterator[Any]:
    """``capture(format, mask_numbers, level)`` -> the StringIO the root logger writes to."""
    root = logging.getLogger()
    level = root.level
    handlers: list[logging.Handler] = []

    def configure(fmt: str = "json", mask: bool = True, level: str = "debug") -> io.StringIO:
        stream = io.StringIO()
        handlers.append(logs.configure(Log(level=level, format=fmt,  # type: ignore[arg-type]
                                           mask_numbers=mask), stream))
        return stream

    yield configure
    for handler in handlers:
        root.removeHandler(handler)
    root.setLevel(level)


def json_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in stream.getvalue().splitlines() if line]


# --- the mask ---------------------------------------------------------------------------


@pytest.mark.parametrize(("number", "masked"), [
    ("+33612345678", "+336123*****"),
    ("+447400123456", "+447400******"),
    ("+12125551234", "+12125******"),
    ("+3524621", "+352****"),  # a short number: its last 4 digits always go
    ("0612345678", "0612******"),  # national: no country code to keep
    ("36173", "3****"),
    ("ACME", "ACME"),  # an alphanumeric sender id is no phone number
    ("", ""),
])
def test_mask_keeps_the_country_code_and_four_digits(number: str, masked: str) -> None:
    assert mask_number(number) == masked


@given(E164)
def test_any_e164_number_is_masked_to_its_country_code_and_a_few_digits(number: str) -> None:
    masked = mask_number(number)
    assert len(masked) == len(number) and masked[0] == "+"
    shown = masked.rstrip("*")
    hidden = len(masked) - len(shown)
    assert "*" not in shown and number.startswith(shown)
    assert hidden >= 4  # the subscriber part is never whole
    assert len(shown) - 1 <= 3 + 4  # at most a country code and four digits
    # What is hidden is hidden: every number with that prefix masks the same way.
    assert mask_number(shown + "0" * hidden) == masked
    digits = number[1:]
    country = next((digits[:n] for n in (1, 2, 3)
                    if int(digits[:n]) in logs.COUNTRY_CODE_TO_REGION_CODE), "")
    if country and len(digits) >= len(country) + 4:
        assert shown[1:].startswith(country)


@given(st.text(max_size=40))
def test_any_text_masks_without_error_and_keeps_its_length(text: str) -> None:
    masked = mask_number(text)
    assert len(masked) == len(text)
    def digits(s: str) -> int:
        return sum(c in "0123456789" for c in s)
    assert digits(masked) <= max(0, digits(text) - 4)


@given(E164, st.text(alphabet="abc :=,()", max_size=10), st.text(alphabet="xyz :=", max_size=10))
def test_a_number_in_free_text_is_masked(number: str, before: str, after: str) -> None:
    text = scrub(f"{before}{number}{after}")
    assert number not in text and number[1:] not in text
    assert mask_number(number) in text


def test_free_text_keeps_counts_ports_and_message_ids() -> None:
    text = "rebuilt 1000000 entries, port 2775, pid 4242, id 0123456789abcdef, 36173"
    assert scrub(text) == text


# --- the formats ------------------------------------------------------------------------


def test_json_line_has_ts_level_logger_event_message_and_its_fields(capture: Any) -> None:
    stream = capture("json")
    logging.getLogger("stopgate.test").info(
        "opt-out recorded", extra=fields("optout_recorded", account="acme",
                                         number="+33612345678", source="keyword",
                                         keyword="STOP", campaign=None, changed=True))
    [line] = json_lines(stream)
    assert line == {
        "ts": line["ts"], "level": "info", "logger": "stopgate.test",
        "event": "optout_recorded", "message": "opt-out recorded", "account": "acme",
        "number": "+336123*****", "source": "keyword", "keyword": "STOP", "campaign": None,
        "changed": True,
    }
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", line["ts"])
    assert datetime.fromisoformat(line["ts"]).utcoffset().total_seconds() == 0  # type: ignore[union-attr]


def test_numbers_are_shown_whole_only_when_mask_numbers_is_false(capture: Any) -> None:
    stream = capture("json", mask=False)
    logging.getLogger("stopgate.test").warning(
        "for +33612345678", extra=fields("x_y", number="+33612345678"))
    [line] = json_lines(stream)
    assert line["number"] == "+33612345678" and line["message"] == "for +33612345678"


def test_secrets_are_never_written_whatever_a_call_passes(capture: Any) -> None:
    for fmt in ("json", "text"):
        stream = capture(fmt, mask=False)
        logging.getLogger("stopgate.test").error("bind", extra=fields(
            "x", password="hunter2", api_key="k-123", webhook_secret="whsec", secret="s",
            token="AbCdEfGhIjKl", account="acme"))
        out = stream.getvalue()
        assert "acme" in out
        for secret in ("hunter2", "k-123", "whsec", "AbCdEfGhIjKl"):
            assert secret not in out, (fmt, secret)


def test_text_line_carries_the_same_fields_as_key_value_pairs(capture: Any) -> None:
    stream = capture("text")
    logging.getLogger("stopgate.server").info("sender bound", extra=fields(
        "sender_bound", account="acme", bind="transceiver", peer="127.0.0.1:4000",
        reason="two words\nand a forged line", number="+33612345678"))
    [line] = stream.getvalue().splitlines()
    assert re.fullmatch(
        r"\S+Z INFO stopgate\.server sender_bound: sender bound account=acme bind=transceiver "
        r'peer=127\.0\.0\.1:4000 reason="two words\\nand a forged line" number=\+336123\*{5}',
        line), line


def test_tracebacks_are_kept_and_masked(capture: Any) -> None:
    stream = capture("json")
    try:
        raise LookupError("the ledger made no token for +33612345678")
    except LookupError:
        logging.getLogger("stopgate.test").exception("failed", extra=fields("token_failed"))
    [line] = json_lines(stream)
    assert "LookupError" in line["traceback"] and "+336123*****" in line["traceback"]
    assert "+33612345678" not in stream.getvalue()


HOSTILE = "sale\x1b[31m\x7f\x9b2J\u202eevil\u2028x"


def test_text_lines_show_control_and_bidi_characters_escaped(capture: Any) -> None:
    stream = capture("text")
    log = logging.getLogger("stopgate.test")
    log.info("campaign %s seen", HOSTILE, extra=fields(
        "hostile", campaign=HOSTILE, bare="a\x1bb", word="plain"))
    try:
        raise ValueError("bad\n2026-12-02T04:14:22.999Z INFO stopgate.server forged: line")
    except ValueError:
        log.exception("failed", extra=fields("hostile_failed"))
    text = stream.getvalue()
    assert not any(ord(c) in UNSAFE for c in text.replace("\n", "")), repr(text)
    lines = text.splitlines()
    # The message escaped as Python writes it; a field JSON-quoted (its escapes are JSON's).
    assert lines[0].endswith(
        r"hostile: campaign sale\x1b[31m\x7f\x9b2J\u202eevil\u2028x seen "
        r'campaign="sale\u001b[31m\u007f\u009b2J\u202eevil\u2028x" bare="a\u001bb" '
        "word=plain"), lines[0]
    # Every traceback line is indented: no line a value puts in column 0 looks like a log line.
    assert lines[1].startswith("20") and "hostile_failed" in lines[1]
    assert all(line.startswith("  ") for line in lines[2:]), lines
    assert any("forged: line" in line for line in lines[2:])


def test_json_lines_escape_what_json_leaves_raw_and_decode_to_the_exact_value(
    capture: Any,
) -> None:
    stream = capture("json")
    logging.getLogger("stopgate.test").info("campaign %s seen", HOSTILE, extra=fields(
        "hostile", campaign=HOSTILE))
    raw = stream.getvalue()
    assert not any(ord(c) in UNSAFE for c in raw.rstrip("\n")), repr(raw)
    [line] = json_lines(stream)
    assert line["campaign"] == HOSTILE and line["message"] == f"campaign {HOSTILE} seen"


@pytest.mark.parametrize(("text", "shown"), [
    ("plain café", "plain café"),
    ("a\tb\r\nc", r"a\tb\r\nc"),
    ("\x00\x1b\x7f\x80\x9f\xa0", r"\x00\x1b\x7f\x80\x9f" + "\xa0"),
    ("\u061c\u200e\u200f\u202a\u202e\u2066\u2069\u2028\u2029",
     r"\u061c\u200e\u200f\u202a\u202e\u2066\u2069\u2028\u2029"),
])
def test_visible_escapes_controls_and_bidi_and_nothing_else(text: str, shown: str) -> None:
    assert visible(text) == shown


def test_other_libraries_lines_get_the_event_other(capture: Any) -> None:
    stream = capture("json")
    logging.getLogger("asyncio").warning("Task was destroyed but it is pending!")
    assert json_lines(stream)[0]["event"] == "other"


def test_worker_context_is_on_every_line(capture: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(logs, "_context", {})
    logs.set_context(worker=1, pid=4242)
    json_stream = capture("json")
    logging.getLogger("stopgate.test").info("hello", extra=fields("hello"))
    assert json_lines(json_stream)[0] | {"ts": ""} == {
        "ts": "", "level": "info", "logger": "stopgate.test", "event": "hello",
        "message": "hello", "worker": 1, "pid": 4242}
    text_stream = capture("text")
    logging.getLogger("stopgate.test").info("hello", extra=fields("hello"))
    assert "hello: [worker 1 pid 4242] hello" in text_stream.getvalue()


def test_configure_replaces_its_own_handler_and_sets_the_level(capture: Any) -> None:
    first = capture("json", level="warning")
    second = capture("json", level="info")
    logging.getLogger("stopgate.test").info("once", extra=fields("once"))
    logging.getLogger("stopgate.test").debug("never", extra=fields("never"))
    assert first.getvalue() == ""
    assert [line["event"] for line in json_lines(second)] == ["once"]


def test_bad_log_settings_are_refused_with_their_key() -> None:
    with pytest.raises(ConfigError) as refused:
        parse_config({"log": {"format": "xml", "level": "loud", "mask_numbers": "yes"}},
                     env={})
    assert [(p.path, p.message) for p in refused.value.problems] == [
        ("log.level", "expected one of debug, info, warning, error, got 'loud'"),
        ("log.format", "expected one of text, json, got 'xml'"),
        ("log.mask_numbers", "expected true or false, got a string ('yes')"),
    ]


# --- every call site --------------------------------------------------------------------


def _log_calls() -> Iterator[tuple[str, ast.Call]]:
    for path in sorted([*GATEWAY.rglob("*.py"), *(GATEWAY.parent / "simulator").rglob("*.py")]):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == "log"
                    and node.func.attr in {"debug", "info", "warning", "error", "exception",
                                           "critical", "log"}):
                yield f"{path.relative_to(GATEWAY.parent)}:{node.lineno}", node


def _event_names(call: ast.Call) -> list[str]:
    """The event names a call's ``extra=fields(...)`` can carry (both arms of an if)."""
    extra = next((k.value for k in call.keywords if k.arg == "extra"), None)
    if not (isinstance(extra, ast.Call) and "fields" in (getattr(extra.func, "id", ""),
                                                          getattr(extra.func, "attr", ""))):
        return []
    name = extra.args[0] if extra.args else None
    options = [name.body, name.orelse] if isinstance(name, ast.IfExp) else [name]
    return [o.value if isinstance(o, ast.Constant) else "<computed>" for o in options]


def test_every_log_call_in_the_gateway_names_its_event() -> None:
    calls = list(_log_calls())
    assert len(calls) > 50
    for where, call in calls:
        names = _event_names(call)
        assert names, f"{where}: log call without extra=fields(<event>, ...)"
        for name in names:
            if name != "<computed>":
                assert SNAKE.fullmatch(name), f"{where}: event {name!r} is not snake_case"


def test_no_log_call_puts_a_number_or_secret_into_its_message_arguments() -> None:
    """Numbers go in fields (masked there), never as %-arguments of the message."""
    suspicious = re.compile(r"e164|destination_addr|source_addr|password|secret|api_key")
    for where, call in _log_calls():
        for arg in call.args[1:]:
            assert not suspicious.search(ast.unparse(arg)), f"{where}: {ast.unparse(arg)}"
