"""STOPGATE_* environment overrides: single config keys replaced before validation.

``STOPGATE_<SECTION>_<KEY>`` sets ``[section] key``; ``STOPGATE_<ARRAY>_<INDEX>_<KEY>``
sets a key of one entry of an array of tables (the index one past the end appends an
entry). The string converts by the key's type. Variables naming no section are left
alone; a variable naming a section but no key of it is an error.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from collections.abc import Callable, Mapping
from typing import Any, get_origin

from gateway.config.schema import FieldSpec, Invalid, Problem, join, specs, unknown_key, unwrap

ENV_PREFIX = "STOPGATE_"

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


def env_value(spec: FieldSpec, text: str) -> Any:
    """Convert an environment string to the raw TOML value the field's type expects."""
    tp = unwrap(spec.type)
    if spec.parse is not None or tp is str:
        return text  # custom parsers (durations) read strings themselves
    if tp is bool:
        if text.strip().lower() in _TRUE | _FALSE:
            return text.strip().lower() in _TRUE
        raise Invalid(f"expected true or false (or 1/0, yes/no, on/off), got {text!r}")
    if tp is int:
        for base in (0, 10):  # base 0 takes 0x65; base 10 takes a zero-padded 0101
            try:
                return int(text.strip(), base)
            except ValueError:
                pass
        raise Invalid(f"expected an integer such as 10 or 0x65, got {text!r}")
    if tp is float:
        try:
            return float(text)
        except ValueError:
            raise Invalid(f"expected a number, got {text!r}") from None
    if get_origin(tp) is tuple:
        if text.lstrip().startswith("["):
            try:
                return tomllib.loads(f"value = {text}")["value"]
            except tomllib.TOMLDecodeError as error:
                raise Invalid(f"expected a TOML array such as [\"FR\", \"+32\"]: {error}") from None
        return [item.strip() for item in text.split(",") if item.strip()]
    return text


@dataclasses.dataclass(frozen=True, slots=True)
class _Override:
    var: str
    top: FieldSpec
    index: int | None
    key: str
    spec: FieldSpec
    text: str


def _parse_env_name(
    root: type, var: str, text: str, problems: list[Problem]
) -> _Override | None:
    name = var[len(ENV_PREFIX):].lower()
    tops = sorted(specs(root), key=lambda s: len(s.key), reverse=True)
    top = next((s for s in tops if name.startswith(s.key + "_")), None)
    if top is None:
        # A typo in the section part would otherwise silently do nothing.
        sections = ", ".join(sorted(s.key for s in tops))
        problems.append(Problem(var, f"names no config section; expected "
                                     f"{ENV_PREFIX}<SECTION>_<KEY> with SECTION one of {sections}"))
        return None
    rest = name[len(top.key) + 1:]
    index: int | None = None
    if top.item is not None:
        match = re.fullmatch(r"(\d+)_(.+)", rest)
        if match is None:
            example = f"{ENV_PREFIX}{top.key.upper()}_0_{rest.upper() or 'KEY'}"
            problems.append(Problem(var, f"expected {ENV_PREFIX}{top.key.upper()}_<index>_<KEY>, "
                                         f"e.g. {example}"))
            return None
        index, rest = int(match[1]), match[2]
    cls = top.item or top.section
    assert cls is not None
    for spec in specs(cls):
        if rest in spec.keys and spec.section is None and spec.item is None:
            return _Override(var, top, index, rest, spec, text)
    known = [key for spec in specs(cls) for key in spec.keys]
    where = f"[[{top.key}]]" if index is not None else f"[{top.key}]"
    problems.append(Problem(var, f"{unknown_key(rest, known)} (in {where})"))
    return None


def apply_env(
    root: type,
    data: dict[str, Any],
    env: Mapping[str, str],
    ignore: Callable[[str], bool],
    problems: list[Problem],
) -> dict[str, str]:
    """Write ``STOPGATE_<SECTION>_<KEY>`` / ``STOPGATE_<ARRAY>_<N>_<KEY>`` into ``data``.

    Returns key path -> variable name, so problems with those values can name their source.
    """
    overrides = [
        override
        for var in sorted(env)
        if var.startswith(ENV_PREFIX) and not ignore(var)
        if (override := _parse_env_name(root, var, env[var], problems)) is not None
    ]
    # Ascending index, so _2_SYSTEM_ID and _2_PASSWORD may together append entry 2.
    overrides.sort(key=lambda o: (o.top.key, -1 if o.index is None else o.index, o.var))
    origins: dict[str, str] = {}
    set_by_env: set[tuple[int, str]] = set()
    for o in overrides:
        path = o.top.key if o.index is None else f"{o.top.key}[{o.index}]"
        table = _env_target(data, o, problems)
        if table is None:
            continue
        try:
            value = o.text if o.key != o.spec.key else env_value(o.spec, o.text)
        except Invalid as error:
            problems.append(Problem(join(path, o.key), f"{error} (from {o.var})"))
            continue
        table[o.key] = value
        set_by_env.add((id(table), o.key))
        origins[join(path, o.key)] = o.var
        if o.spec.secret:  # env wins over the file's other form of the same secret
            other = o.spec.key if o.key != o.spec.key else f"{o.spec.key}_file"
            if (id(table), other) not in set_by_env:
                table.pop(other, None)
    return origins


def _env_target(
    data: dict[str, Any], o: _Override, problems: list[Problem]
) -> dict[str, Any] | None:
    """The table an override writes into, created if absent; None if the file's shape is wrong."""
    if o.index is None:
        table = data.setdefault(o.top.key, {})
        return table if isinstance(table, dict) else None  # the type problem is reported later
    entries = data.setdefault(o.top.key, [])
    if not isinstance(entries, list):
        return None
    if o.index > len(entries):
        problems.append(Problem(o.var, f"{o.top.key} has {len(entries)} entries; index {o.index} "
                                       f"would leave a gap (use 0 to {len(entries)})"))
        return None
    if o.index == len(entries):
        entries.append({})
    entry = entries[o.index]
    return entry if isinstance(entry, dict) else None


def annotate(problems: list[Problem], origins: Mapping[str, str]) -> list[Problem]:
    """Add '(from STOPGATE_...)' to problems about values that came from the environment."""
    out = []
    for problem in problems:
        var = next(
            (v for p, v in origins.items()
             if problem.path == p or problem.path.startswith(p + "[")),
            None,
        )
        if var is not None and var not in problem.message:
            problem = Problem(problem.path, f"{problem.message} (from {var})")
        out.append(problem)
    return out
