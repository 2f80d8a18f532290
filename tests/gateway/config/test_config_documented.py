"""The shipped config.toml documents the schema: every key the schema (gateway/config/model.py's
dataclasses, read through gateway/config/schema.py) accepts appears in it with a comment, and
every key it sets or shows is one the schema accepts.

config.toml documents a key on the line that sets it (``key = value  # what it is``), or,
for an optional key it leaves at its default, on a commented-out line
(``# key = ...  # what it is``); the keys of an array of tables may instead be named in the
comment block just above its first ``[[table]]`` (as the classification rules' matchers are).
A secret's ``<key>_file`` form is documented once, at the top of the file.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from pathlib import Path
from typing import Any

from gateway.config.model import Config
from gateway.config.schema import specs

EXAMPLE = Path(__file__).resolve().parents[3] / "config.toml"

_HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z_][A-Za-z0-9_]*)\s*\]\]?\s*(#.*)?$")
_SET = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=")
_SHOWN = re.compile(r"^\s*#\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*[^#]*#\s*(\S.*)$")


@dataclasses.dataclass
class Table:
    """What config.toml says about one table (every entry of an array of tables together)."""

    preface: str = ""  # the comment block right above its first header
    keys: dict[str, list[str]] = dataclasses.field(default_factory=dict)  # key -> its comments


def _trailing_comment(line: str) -> str:
    """The comment after a ``key = value`` line's value ('' if none); a '#' inside a string
    value is not one: the comment starts at the first '#' before which the line parses."""
    whole = tomllib.loads(line)
    for index, char in enumerate(line):
        if char != "#":
            continue
        try:
            head = tomllib.loads(line[:index])
        except tomllib.TOMLDecodeError:
            continue
        if head == whole:
            return line[index + 1:].strip()
    return ""


def read_example() -> dict[str, Table]:
    """config.toml's tables by name, with each key's comments (set and commented-out keys)."""
    tables: dict[str, Table] = {}
    current: Table | None = None
    block: list[str] = []  # the comment lines read since the last non-comment line
    for line in EXAMPLE.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        header = _HEADER.match(line)
        if header:
            name = header.group(2)
            if name not in tables:
                tables[name] = Table(preface=" ".join(block))
            current = tables[name]
        elif current is not None and (setting := _SET.match(line)):
            current.keys.setdefault(setting.group(1), []).append(_trailing_comment(line))
        elif current is not None and (shown := _SHOWN.match(line)):
            current.keys.setdefault(shown.group(1), []).append(shown.group(2).strip())
        if stripped.startswith("#"):
            block.append(stripped.lstrip("#").strip())
        elif not stripped or header or _SET.match(line):
            block = []
    return tables


def schema_tables() -> dict[str, dict[str, Any]]:
    """The schema's tables by name: their leaf keys and the dataclass of each."""
    tables: dict[str, dict[str, Any]] = {}
    for spec in specs(Config):
        section = spec.section or spec.item
        assert section is not None, f"top-level key {spec.key} is not a table"
        assert all(s.section is None and s.item is None for s in specs(section)), spec.key
        tables[spec.key] = {s.key: s for s in specs(section)}
    return tables


def test_every_table_of_the_schema_is_in_config_toml_and_no_other() -> None:
    assert sorted(read_example()) == sorted(schema_tables())
    assert sorted(tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))) == sorted(schema_tables())


def test_every_key_of_the_schema_is_in_config_toml_with_its_comment() -> None:
    example = read_example()
    missing, undocumented = [], []
    for table, keys in schema_tables().items():
        documented = example[table]
        preface_words = set(re.findall(r"[A-Za-z_]+", documented.preface))
        for key in keys:
            if key not in documented.keys:
                missing.append(f"{table}.{key}")
            elif not any(documented.keys[key]) and key not in preface_words:
                undocumented.append(f"{table}.{key}")
    assert missing == [], "schema keys config.toml does not show"
    assert undocumented == [], "keys config.toml shows without a comment saying what they are"


def test_every_key_in_config_toml_is_in_the_schema() -> None:
    schema = schema_tables()
    unknown = [f"{table}.{key}" for table, documented in read_example().items()
               for key in documented.keys if key not in schema.get(table, {})]
    assert unknown == []
    # and what TOML itself reads (the line reader above must not miss a key)
    raw = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    for table, value in raw.items():
        for entry in value if isinstance(value, list) else [value]:
            assert set(entry) <= set(schema[table]), (table, set(entry) - set(schema[table]))
            assert set(entry) <= set(read_example()[table].keys), table


def test_the_reader_sees_comments_and_commented_out_keys() -> None:
    """The reader itself, on lines config.toml has: a '#' inside a value is no comment."""
    assert _trailing_comment('a = "x # y"  # the z') == "the z"
    assert _trailing_comment('a = "x # y"') == ""
    example = read_example()
    assert example["keywords"].keys["optout"][0].startswith("opt-out keywords")
    assert example["rules"].keys["overrides_offers"] == [
        "this rule does not outrank an offer: \"code 4821 ... 20% off\" is promotional"]
    assert example["rules"].keys["id"] == ["", "", ""]  # named in the block above [[rules]]
    assert "matcher" in example["rules"].preface
