"""Sender-supplied text made safe to show on a terminal or in a line-based log.

Campaign names (TLV 0x1501, the HTTP ``campaign``), opt-out reasons and the
like are stored exactly as sent; only their display is escaped. The characters
escaped are those that move the cursor, start terminal escape sequences, break
or reorder a line: C0 controls (ESC, CR, LF, ...), DEL, C1 controls (0x80-0x9F,
CSI among them), the line and paragraph separators U+2028/U+2029, and the
bidirectional marks, embeddings, overrides and isolates (U+061C, U+200E, U+200F,
U+202A-U+202E, U+2066-U+2069), which can make a line read differently from
what it holds. They are shown as Python writes them (``\\x1b``, ``\\n``,
``\\u202e``); every other character is shown as it is.
"""

from __future__ import annotations

import re

__all__ = ["UNSAFE", "UNSAFE_CLASS", "has_unsafe", "json_safe", "visible"]

#: The code points ``visible`` escapes.
UNSAFE: frozenset[int] = frozenset([
    *range(0x00, 0x20), 0x7F, *range(0x80, 0xA0),
    0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A),
    0x2028, 0x2029,
])
_NAMED = {0x09: "\\t", 0x0A: "\\n", 0x0D: "\\r"}
# As ranges: a search over a line with none of them is one quick pass.
_RAW_IN_JSON = "\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029"
#: The unsafe characters as the inside of a regular expression's character class.
UNSAFE_CLASS = f"\\x00-\\x1f{_RAW_IN_JSON}"
_UNSAFE_RE = re.compile(f"[{UNSAFE_CLASS}]")
# What a JSON encoder (orjson, the standard library's with ensure_ascii=False) leaves raw:
# every C0 control is escaped by JSON itself.
_JSON_RAW_RE = re.compile(f"[{_RAW_IN_JSON}]")


def _escaped(found: re.Match[str]) -> str:
    code = ord(found.group())
    named = _NAMED.get(code)
    if named is not None:
        return named
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def has_unsafe(text: str) -> bool:
    """Whether ``text`` holds a character ``visible`` escapes."""
    return _UNSAFE_RE.search(text) is not None


def visible(text: str, *, keep_newlines: bool = False) -> str:
    """``text`` with every unsafe character written as an escape (``\\x1b``, ``\\n``).

    ``keep_newlines``: line feeds stay (a traceback's lines).
    """
    if _UNSAFE_RE.search(text) is None:  # the usual case: one scan in C, no copy
        return text
    if keep_newlines:
        return "\n".join(_UNSAFE_RE.sub(_escaped, line) for line in text.split("\n"))
    return _UNSAFE_RE.sub(_escaped, text)


def json_safe(encoded: str) -> str:
    """JSON text with the unsafe characters JSON leaves raw (DEL, C1, bidi, U+2028/9)
    written as ``\\uXXXX``: the same JSON value, nothing a terminal acts on. They can
    only occur inside strings, so replacing them anywhere is safe."""
    if encoded.isascii() and "\x7f" not in encoded:  # the usual line: no scan at all
        return encoded
    if _JSON_RAW_RE.search(encoded) is None:
        return encoded
    return _JSON_RAW_RE.sub(lambda found: f"\\u{ord(found.group()):04x}", encoded)
