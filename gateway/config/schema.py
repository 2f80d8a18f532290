"""The config machinery: frozen dataclasses are the schema; raw TOML in, typed values out.

A section is a frozen dataclass; a field's name is its key and its default is the
default (no default: required). The annotation says how the raw value is parsed
(``str``, ``int``, ``bool``, ``float``, ``Path``, ``Literal[...]``, ``tuple[X, ...]``,
``re.Pattern``, a nested section, a class with ``from_config``), and ``Annotated``
extras add the rest: ``Check(fn)`` validates and normalises the parsed value,
``Parse(fn)`` replaces the type's parser (durations), ``Key("class")`` renames the
key, ``SECRET`` also accepts ``<key>_file`` and never echoes the value, and
``Unique("system_id")`` on an array of tables refuses duplicate item keys. A section
may define ``validate(self)`` yielding ``(key, message)`` for rules across its fields.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import types
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

T = TypeVar("T")
CheckFn = Callable[[Any], Any]


@dataclasses.dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with the configuration, at a key path like ``accounts[1].system_id``."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class ConfigError(Exception):
    """The configuration is refused; ``problems`` lists every reason at once."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))


class Invalid(ValueError):
    """A value is wrong; the message says what would be right. ``subpath`` locates an item."""

    def __init__(self, message: str, subpath: str = "") -> None:
        super().__init__(message)
        self.subpath = subpath


@dataclasses.dataclass(frozen=True, slots=True)
class Check:
    """Annotated extra: validate (and normalise) the parsed value; raise Invalid if wrong."""

    fn: CheckFn


@dataclasses.dataclass(frozen=True, slots=True)
class Parse:
    """Annotated extra: parse the raw value with ``fn`` instead of by type."""

    fn: CheckFn


@dataclasses.dataclass(frozen=True, slots=True)
class Key:
    """Annotated extra: the TOML key, when it is not a Python name (``class``)."""

    name: str


@dataclasses.dataclass(frozen=True, slots=True, init=False)
class Unique:
    """Annotated extra on an array of tables: these item keys must differ between entries."""

    keys: tuple[str, ...]

    def __init__(self, *keys: str) -> None:
        object.__setattr__(self, "keys", keys)


class _Secret:
    """Annotated extra: a secret, also read from ``<key>_file``, never echoed."""

    def __repr__(self) -> str:
        return "SECRET"


SECRET = _Secret()


# --- value parsing ----------------------------------------------------------------

_KINDS: tuple[tuple[type, str], ...] = (
    (bool, "a boolean"),  # before int: bool is an int subclass
    (int, "an integer"),
    (float, "a float"),
    (str, "a string"),
    (list, "an array"),
    (dict, "a table"),
)


def describe(value: object, secret: bool = False) -> str:
    """Name a raw value's TOML type, with the value itself unless it is a secret."""
    kind = next((name for tp, name in _KINDS if isinstance(value, tp)), "a date/time")
    if secret or isinstance(value, list | dict):
        return kind
    text = repr(value)
    return f"{kind} ({text if len(text) <= 40 else text[:37] + '...'})"


_DURATION = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ms|s|m|h|d)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(value: object) -> float:
    """Seconds from a number of seconds or a string like '30s', '10m', '72h', '7d', '1h30m'."""
    hint = "expected a duration such as 30, '500ms', '30s', '10m', '72h' or '7d'"
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str) and value.strip() and _DURATION.sub("", value.strip()) == "":
        seconds = sum(float(n) * _UNIT_SECONDS[u] for n, u in _DURATION.findall(value))
    else:
        raise Invalid(f"{hint}, got {describe(value)}")
    if seconds < 0:
        raise Invalid(f"{hint}, got a negative duration ({value!r})")
    return seconds


Seconds = Annotated[float, Parse(parse_duration)]


def each(check: CheckFn) -> CheckFn:
    """Apply ``check`` to every item of a tuple, locating a failure at its index."""

    def check_items(values: tuple[Any, ...]) -> tuple[Any, ...]:
        out = []
        for index, value in enumerate(values):
            try:
                out.append(check(value))
            except Invalid as error:
                raise Invalid(str(error), f"[{index}]{error.subpath}") from None
        return tuple(out)

    return check_items


def unwrap(tp: Any) -> Any:
    """Drop ``| None`` from an annotation: None is only ever the default, never a TOML value."""
    if get_origin(tp) in (Union, types.UnionType):
        options = [arg for arg in get_args(tp) if arg is not type(None)]
        if len(options) == 1:
            return options[0]
    return tp


def _expect(value: object, tp: type, name: str, secret: bool) -> Any:
    if isinstance(value, tp) and not (tp is not bool and isinstance(value, bool)):
        return value
    raise Invalid(f"expected {name}, got {describe(value, secret)}")


def parse_value(tp: Any, value: object, secret: bool = False) -> Any:
    """Turn a raw TOML value into the annotation's type, or raise Invalid."""
    tp = unwrap(tp)
    origin = get_origin(tp)
    if tp is str:
        return _expect(value, str, "a string", secret)
    if tp is bool:
        return _expect(value, bool, "true or false", secret)
    if tp is int:
        return _expect(value, int, "an integer", secret)
    if tp is float:
        if isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        return _expect(value, float, "a number", secret)
    if tp is Path:
        return Path(_expect(value, str, "a path string", secret))
    if origin is Literal:
        choices = get_args(tp)
        if value in choices and type(value) is type(choices[0]):
            return value
        shown = repr(value) if isinstance(value, str) else describe(value)
        raise Invalid(f"expected one of {', '.join(map(str, choices))}, got {shown}")
    if tp is re.Pattern or origin is re.Pattern:
        text = _expect(value, str, "a regular expression string", secret)
        try:
            return re.compile(text)
        except re.error as error:
            message = f"invalid regular expression: {error.msg} at position {error.pos}"
            raise Invalid(message) from None
    if origin is tuple:
        item_type = get_args(tp)[0]
        if isinstance(value, str):  # a lone string is a one-item list: source = "ACME"
            value = [value]
        items = _expect(value, list, "an array", secret)
        return each(lambda item: parse_value(item_type, item, secret))(tuple(items))
    if hasattr(tp, "from_config"):
        return tp.from_config(value)
    raise TypeError(f"config schema: no parser for {tp!r}")  # a schema bug, not a user error


# --- the schema ------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class FieldSpec:
    """One config key as the loader sees it."""

    attr: str
    key: str
    type: Any
    default: Any
    parse: CheckFn | None
    checks: tuple[CheckFn, ...]
    secret: bool
    unique: tuple[str, ...]

    @property
    def section(self) -> type | None:
        """The dataclass of a nested table, if this key is one."""
        tp = unwrap(self.type)
        return tp if dataclasses.is_dataclass(tp) and not hasattr(tp, "from_config") else None

    @property
    def item(self) -> type | None:
        """The dataclass of an array of tables' entries, if this key is one."""
        tp = unwrap(self.type)
        if get_origin(tp) is tuple and dataclasses.is_dataclass(get_args(tp)[0]):
            item: type = get_args(tp)[0]
            return item
        return None

    @property
    def keys(self) -> tuple[str, ...]:
        """The TOML keys this field accepts."""
        return (self.key, f"{self.key}_file") if self.secret else (self.key,)

    def convert(self, value: object) -> Any:
        """Parse and check one raw value, or raise Invalid."""
        parsed = self.parse(value) if self.parse else parse_value(self.type, value, self.secret)
        for check in self.checks:
            parsed = check(parsed)
        return parsed


E = TypeVar("E")


def _extras(extras: tuple[Any, ...], kind: type[E]) -> list[E]:
    return [extra for extra in extras if isinstance(extra, kind)]


def _spec(f: dataclasses.Field[Any], hint: Any) -> FieldSpec:
    extras: tuple[Any, ...] = ()
    if get_origin(hint) is Annotated:
        hint, extras = get_args(hint)[0], hint.__metadata__
    keys, parsers = _extras(extras, Key), _extras(extras, Parse)
    return FieldSpec(
        attr=f.name,
        key=keys[0].name if keys else f.name,
        type=hint,
        default=f.default,
        parse=parsers[0].fn if parsers else None,
        checks=tuple(check.fn for check in _extras(extras, Check)),
        secret=SECRET in extras,
        unique=tuple(key for unique in _extras(extras, Unique) for key in unique.keys),
    )


_SPECS: dict[type, tuple[FieldSpec, ...]] = {}


def specs(cls: type) -> tuple[FieldSpec, ...]:
    """The field specs of a section dataclass, in declaration order."""
    if cls not in _SPECS:
        hints = get_type_hints(cls, include_extras=True)
        _SPECS[cls] = tuple(_spec(f, hints[f.name]) for f in dataclasses.fields(cls))
    return _SPECS[cls]


def join(path: str, key: str) -> str:
    """Extend a key path: join('accounts[0]', 'password') -> 'accounts[0].password'."""
    return f"{path}.{key}" if path else key


def unknown_key(key: str, known: list[str]) -> str:
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    hint = f"did you mean '{close[0]}'?" if close else f"expected one of {', '.join(known)}"
    return f"unknown key '{key}'; {hint}"


def read_secret_file(name: object) -> str:
    """A secret from a file (Docker/Kubernetes secrets), minus one trailing newline."""
    if not isinstance(name, str) or not name:
        raise Invalid(f"expected a file path string, got {describe(name)}")
    try:
        text = Path(name).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise Invalid(f"cannot read secret file '{name}': {reason}") from None
    return text.removesuffix("\n").removesuffix("\r")


def _raw_value(spec: FieldSpec, table: dict[str, Any]) -> Any:
    """The raw value of a key, following ``<key>_file`` for secrets; MISSING if absent."""
    file_key = f"{spec.key}_file"
    if not spec.secret or file_key not in table:
        return table.get(spec.key, dataclasses.MISSING)
    if spec.key in table:
        raise Invalid(f"give either {spec.key} or {file_key}, not both", "_file")
    try:
        return read_secret_file(table[file_key])
    except Invalid as error:
        raise Invalid(str(error), "_file") from None


def build_parts(
    cls: type, raw: object, path: str, problems: list[Problem]
) -> dict[str, Any] | None:
    """Parse a table into constructor arguments for ``cls``; None if it is not a table.

    Every problem is appended to ``problems``; a field that failed is left out, and an
    array of tables keeps None where an entry failed, so callers can still cross-check
    what did parse.
    """
    if not isinstance(raw, dict):
        problems.append(Problem(path, f"expected a table, got {describe(raw)}"))
        return None
    fields = specs(cls)
    known = [key for spec in fields for key in spec.keys]
    problems.extend(
        Problem(join(path, key), unknown_key(key, known)) for key in raw if key not in known
    )
    parts: dict[str, Any] = {}
    for spec in fields:
        where = join(path, spec.key)
        try:
            value = _raw_value(spec, raw)
        except Invalid as error:
            problems.append(Problem(where + error.subpath, str(error)))
            continue
        if value is dataclasses.MISSING:
            if spec.default is dataclasses.MISSING:
                problems.append(Problem(where, f"missing required key '{spec.key}'"))
            continue
        if spec.section is not None:
            built = build(spec.section, value, where, problems)
            if built is not None:
                parts[spec.attr] = built
        elif spec.item is not None:
            parts[spec.attr] = _build_array(spec, value, where, problems)
        else:
            try:
                parts[spec.attr] = spec.convert(value)
            except Invalid as error:
                problems.append(Problem(where + error.subpath, str(error)))
    return parts


def build(cls: type[T], raw: object, path: str, problems: list[Problem]) -> T | None:
    """Parse a table into a ``cls`` instance; None (and problems appended) if any key failed."""
    before = len(problems)
    parts = build_parts(cls, raw, path, problems)
    if parts is None or len(problems) > before:
        return None
    return _construct(cls, parts, path, problems)


def _construct(cls: type[T], parts: dict[str, Any], path: str, problems: list[Problem]) -> T:
    """Instantiate a section and append what its ``validate`` hook finds wrong."""
    obj = cls(**parts)
    validate: Callable[[], Iterator[tuple[str, str]]] | None = getattr(obj, "validate", None)
    if validate is not None:
        problems.extend(Problem(join(path, key), message) for key, message in validate())
    return obj


def _build_array(
    spec: FieldSpec, raw: object, path: str, problems: list[Problem]
) -> tuple[Any, ...]:
    assert spec.item is not None
    if isinstance(raw, dict):
        problems.append(Problem(path, f"expected an array of tables ([[{spec.key}]]), got a table"))
        return ()
    if not isinstance(raw, list):
        problems.append(Problem(path, f"expected an array of tables, got {describe(raw)}"))
        return ()
    items = tuple(build(spec.item, entry, f"{path}[{i}]", problems) for i, entry in enumerate(raw))
    item_specs = {s.key: s for s in specs(spec.item)}
    for key in spec.unique:
        seen: dict[Any, int] = {}
        for index, item in enumerate(items):
            if item is not None:
                value = getattr(item, item_specs[key].attr)
            else:  # the entry failed elsewhere; its raw key can still be a duplicate
                value = raw[index].get(key) if isinstance(raw[index], dict) else None
            if value in (None, "") or not isinstance(value, str | int):
                continue
            if value in seen:
                shown = "" if item_specs[key].secret else f" {value!r}"
                problems.append(Problem(
                    f"{path}[{index}].{key}",
                    f"duplicate {key}{shown} (also {path}[{seen[value]}])",
                ))
            else:
                seen[value] = index
    return items
