"""The programme format reference cannot drift from the loader.

``docs/reference/programme-format.md`` documents every key of every table of a programme
file in tables of ``key | type | default | meaning`` (or, for a table with a ``type``,
``type = | key | type | default | meaning``).  This module derives the keys from the attrs
classes the config converter structures (``rewardkit._config_*``, ``NudgeSettings``) and
from its registries of types and conditions, and checks the page both ways: every key is
there with the type and the default the code gives it, and the page documents no key, type
or condition that does not exist.  A default written as a TOML value is loaded, with and
without it, to prove it is the default; a default written in words (``none``, ``the id``)
is only allowed where the code's default is an absence (``None``, ``""``, nothing).
"""

from __future__ import annotations

import contextlib
import copy
import importlib
import pkgutil
import re
import tomllib
import typing
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from unittest import mock

import attrs
import cattrs
import pytest
from dateutil.relativedelta import relativedelta

import rewardkit as rk
from rewardkit import (
    _config_base,
    _config_conditions,
    _config_load,
    _config_play,
    _config_policies,
    _config_rfm,
    _config_rules,
    _config_typed,
    plugins,
)
from rewardkit._compose import Condition, _Condition
from rewardkit._config_hooks import declared_types
from rewardkit.config import SECTIONS, make_converter
from rewardkit.nudges import NudgeSettings
from rewardkit.tiers import Keep, Level

from .test_docs import FENCE

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "reference" / "programme-format.md"

# ---------------------------------------------------------------- what the code defines

Where = tuple[str, str | None]  # (the h2 heading's code, the h3 heading's code or None)

TABLES: dict[Where, type] = {
    ("[program]", None): _config_policies.Head,
    ("[rfm]", None): _config_rfm._RFMFields,
    ("[[rules]]", "caps"): _config_rules._CapSpec,
    ("[tiers]", None): _config_policies._TiersSpec,
    ("[tiers]", "levels"): _config_policies._LevelSpec,
    ("[[rewards]]", None): _config_policies._RewardSpec,
    ("[[badges]]", None): _config_play._BadgeSpec,
    ("[[raffles]]", None): _config_play._RaffleSpec,
    ("[[leaderboards]]", None): _config_play._LeaderboardSpec,
    ("[nudges]", None): NudgeSettings,
}
"""Tables of keys: where the page documents each, and the class the converter fills."""

TYPED: dict[Where, Mapping[str, _config_typed.Builtin]] = {
    ("[expiry]", None): _config_policies.EXPIRY_TYPES,
    ("[tiers]", "keep"): _config_policies.KEEP_TYPES,
    ("[[badges]]", "criterion"): _config_play.CRITERION_TYPES,
}
"""Tables with a ``type``, documented in one table per family (a row per type and key)."""

RULES = "[[rules]]"
"""Each rule type has a table of its own, under ``### `its type` ``."""

INTERNAL = {_config_base.Loading, _config_typed.Builtin}
"""attrs classes of the config modules that are not tables of a file."""

ANY_TYPES: dict[tuple[Where, str | None, str], str] = {
    ((RULES, "per_amount"), None, "per"): "decimal",
    ((RULES, "multiplier"), None, "factor"): "decimal",
    ((RULES, "tickets"), None, "per"): "decimal",
    (("[tiers]", None), None, "window"): "term or period",
    (("[rfm]", None), None, "recency_days"): "list of integers",
    (("[rfm]", None), None, "frequency"): "list of integers",
    (("[rfm]", None), None, "monetary"): "list of decimals",
    (("[rfm]", None), None, "kinds"): "kind or list of kinds",
    (("[rfm]", None), None, "members"): "integer",
    (("[tiers]", "levels"), None, "threshold"): "decimal",
    (("[tiers]", "levels"), None, "multiplier"): "decimal",
    (("[[badges]]", "criterion"), "threshold", "target"): "decimal",
}
"""The type of the keys a spec declares as ``Any`` (checked by the factory it calls)."""

NAMED: dict[Any, str] = {
    int: "integer",
    str: "string",
    bool: "boolean",
    Decimal: "decimal",
    relativedelta: "term",
    datetime: "instant",
    Condition: "condition",
    _Condition: "condition",
    _config_rules.Kinds: "kind or list of kinds",
    rk.Hold: 'term or `"until_confirmed"`',
    rk.Cap: "cap",
    Level: "level",
    Keep: "keep table",
    rk.ExpiryPolicy: "expiry table",
    rk.BadgeCriterion: "criterion table",
}
"""How the page names each type a key can have."""

LOADER_FILLED = {"currency"}
"""Keys required by their spec that the loader fills in (``with_currency``)."""


def type_text(declared: Any) -> str:
    """The page's name for ``declared``: ``integer``, ``list of caps``, ``day` or `week``."""
    origin, args = typing.get_origin(declared), typing.get_args(declared)
    if origin is typing.Literal:
        shown = [f"`{choice}`" for choice in args]
        return shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} or {shown[-1]}"
    if origin in (typing.Union, type(int | None)):
        members = [arg for arg in args if arg is not type(None)]
        assert len(members) == 1, f"no name for the union {declared}"
        return type_text(members[0])
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        return f"list of {type_text(args[0])}s"
    if origin in (Mapping, dict):
        return f"table of {type_text(args[1])}s"
    assert declared in NAMED, f"no name for the type {declared!r}: add it to NAMED"
    return NAMED[declared]


def is_absent(default: object) -> bool:
    """Whether a default means "not given" (so the page may describe it in words)."""
    if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
        default = default.factory()
    if default is rk.always:
        return True
    return default is None or (isinstance(default, (str, tuple, list, dict)) and not default)


@attrs.frozen
class Key:
    """A key of a table, as the code defines it."""

    name: str  # its name in files
    type: str  # the page's name for its type
    required: bool
    default: object  # the spec's default (attrs.NOTHING when it has none)


def keys_of(cls: type, where: Where, typename: str | None = None) -> dict[str, Key]:
    """The keys of a table filled by ``cls``, by file name, in order."""
    found = {}
    declared = declared_types(cls)
    for field in attrs.fields(cls):
        if not field.init:
            continue
        name = field.metadata.get(_config_base.NAME, field.name)
        kind = declared[field.name]
        if kind is Any:
            kind_text = ANY_TYPES.get((where, typename, name))
            assert kind_text, f"{cls.__qualname__}.{name} is typed Any: add it to ANY_TYPES"
        else:
            kind_text = type_text(kind)
        required = field.default is attrs.NOTHING and name not in LOADER_FILLED
        found[name] = Key(name, kind_text, required, field.default)
    return found


def expected_tables() -> dict[Where, dict[str, Key]]:
    tables = {where: keys_of(cls, where) for where, cls in TABLES.items()}
    for name, builtin in _config_rules.RULE_TYPES.items():
        tables[(RULES, name)] = {"type": Key("type", f"`{name}`", True, attrs.NOTHING)}
        tables[(RULES, name)].update(keys_of(builtin.spec, (RULES, name)))
    return tables


def expected_typed() -> dict[Where, dict[str, dict[str, Key]]]:
    return {
        where: {name: keys_of(b.spec, where, name) for name, b in family.items()}
        for where, family in TYPED.items()
    }


def condition_names() -> set[str]:
    """Every condition a ``when`` table can name: the converter's dispatch table."""
    return set(_config_conditions._BUILTINS) | set(plugins.BUILTIN_NAMES["condition"])


class Recording(cattrs.Converter):
    """A converter that records each attrs class it structures."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.seen: list[type] = []

    def structure(self, obj: Any, cl: Any) -> Any:
        if attrs.has(cl):
            self.seen.append(cl)
        return super().structure(obj, cl)


def recording() -> Recording:
    """The config's converter (``make_converter``), recording what it structures."""
    with mock.patch.object(cattrs, "Converter", Recording):
        converter = make_converter()
    assert isinstance(converter, Recording)
    return converter


def classes_of_condition(name: str) -> list[type]:
    """The attrs classes the converter fills to read ``name = { ... }``."""
    converter = recording()
    with contextlib.suppress(rk.ProgramError):
        _config_conditions.structure_condition({name: {}}, converter)
    return converter.seen


def condition_keys() -> dict[str, list[str]]:
    """The keys of each condition written as a table (``time = { from, to }``), found
    by asking the converter to read it and recording the class it fills."""
    found = {}
    for name in sorted(condition_names()):
        for cls in classes_of_condition(name):
            found.setdefault(name, []).extend(_config_base.file_names(cls).values())
    return found


# ---------------------------------------------------------------- what the page says


@attrs.frozen
class Row:
    """A key as the page documents it."""

    type: str
    default: str
    line: int


@attrs.frozen
class Page:
    tables: dict[Where, dict[str, Row]]  # key tables
    typed: dict[Where, dict[str, dict[str, Row]]]  # type -> key -> row ("" key: no keys)
    conditions: dict[str, list[str]]  # condition -> its rows' value cells
    sections: list[str]  # the overview of top-level tables
    toml: list[tuple[int, str]]  # (line, body) of every ```toml block


def code(text: str) -> list[str]:
    return re.findall(r"`([^`]+)`", text)


def cells(line: str) -> list[str]:
    parts = re.split(r"(?<!\\)\|", line.strip().strip("|"))
    return [" ".join(part.replace("\\|", "|").split()) for part in parts]


def read_page(text: str) -> Page:
    fenced = [(m.start(), m.end()) for m in FENCE.finditer(text)]
    toml = [
        (text.count("\n", 0, m.start("body")) + 1, m.group("body"))
        for m in FENCE.finditer(text)
        if m.group("info").split()[:1] == ["toml"]
    ]
    page = Page({}, {}, {}, [], toml)
    h2: str | None = None
    h3: str | None = None
    table: list[tuple[int, list[str]]] = []
    offset = 0
    lines = text.splitlines(keepends=True)
    for number, line in enumerate([*lines, "\n"], start=1):
        inside = any(start <= offset < end for start, end in fenced)
        offset += len(line)
        if not inside and line.startswith("|"):
            table.append((number, cells(line)))
            continue
        if table:
            take_table(page, (h2 or "", h3), table)
            table = []
        if inside:
            continue
        if line.startswith("## "):
            h2, h3 = (code(line) or [line[3:].strip()])[0], None
        elif line.startswith("### "):
            found = code(line)
            h3 = found[0] if found else None
    return page


def take_table(page: Page, where: Where, table: list[tuple[int, list[str]]]) -> None:
    header = [cell.lower() for cell in table[0][1]]
    rows = table[2:]  # after the |---| line
    if header == ["key", "type", "default", "meaning"]:
        assert where not in page.tables, f"{PAGE}:{table[0][0]}: a second key table for {where}"
        keys = page.tables[where] = {}
        for line, row in rows:
            for name in code(row[0]):
                assert name not in keys, f"{PAGE}:{line}: {name!r} twice"
                keys[name] = Row(row[1], row[2], line)
    elif header == ["`type =`", "key", "type", "default", "meaning"]:
        assert where not in page.typed, f"{PAGE}:{table[0][0]}: a second type table for {where}"
        family: dict[str, dict[str, Row]] = {}
        page.typed[where] = family
        for line, row in rows:
            names = code(row[0])
            assert len(names) == 1, f"{PAGE}:{line}: name one type in the first column"
            keys = family.setdefault(names[0], {})
            for name in code(row[1]) or [""]:
                keys[name] = Row(row[2], row[3], line)
    elif header == ["condition", "value", "meaning"]:
        current: list[str] = []
        for line, row in rows:
            current = code(row[0]) or current  # an empty first cell: more of the row above
            assert current, f"{PAGE}:{line}: the first row names no condition"
            for name in current:
                page.conditions.setdefault(name, []).append(row[1])
    elif header[:2] == ["table", "required"]:
        page.sections.extend(name.strip("[]") for _, row in rows for name in code(row[0]))


@pytest.fixture(scope="module")
def page() -> Page:
    return read_page(PAGE.read_text(encoding="utf-8"))


# ---------------------------------------------------------------- minimal programmes

PROGRAM = {"program": {"name": "Minimal"}}
LEVELS = [{"id": "silver", "threshold": 100}]
OPEN = {"opens_at": "2026-06-01T00:00:00+02:00", "closes_at": "2026-09-01T00:00:00+02:00"}

Path_ = tuple[str | int, ...]


def minimal(where: Where, typename: str | None = None) -> tuple[dict[str, Any], Path_]:
    """A programme holding the table at ``where`` with only its required keys (and a cap
    its ``per`` and ``points``), and the path of that table in it."""
    if where[0] == RULES and where[1] != "caps":
        rule = {
            "fixed": {"points": 1},
            "per_amount": {"per": "1.00"},
            "first_time": {"on": "purchase", "points": 1},
            "multiplier": {"factor": 2},
            "tickets": {"raffle": "summer"},
            "referral": {"referrer_points": 10},
        }[str(where[1])]
        raffles = [{"id": "summer", **OPEN}] if where[1] == "tickets" else []
        data = {"rules": [{"id": "r", "type": where[1], **rule}], "raffles": raffles}
        return {**PROGRAM, **data}, ("rules", 0)
    criterion = {
        "count": {"target": 3},
        "threshold": {"metric": "points_earned", "target": "100"},
        "streak": {"target": 3},
        "within": {"target": 3, "span": {"days": 30}},
    }
    expiry = {
        "never": {},
        "fixed_term": {"term": {"months": 12}},
        "end_of_period": {"period": "year"},
        "inactivity": {"after": {"days": 180}},
        "earliest_of": {"policies": [{"type": "never"}]},
    }
    keep = {
        "for": {"term": {"months": 12}},
        "until_period_end": {"period": "year"},
        "while_active": {"term": {"days": 180}},
    }
    tiers = {"metric": "points_earned", "levels": LEVELS}
    typed = {"type": typename} if typename else {}
    found: dict[Where, tuple[dict[str, Any], Path_]] = {
        ("[program]", None): (PROGRAM, ("program",)),
        ("[rfm]", None): (
            {
                **PROGRAM,
                "rfm": {
                    "recency_days": [60, 30, 14, 7],
                    "frequency": [2, 3, 5, 9],
                    "monetary": ["20.00", "45.00", "90.00", "150.00"],
                },
            },
            ("rfm",),
        ),
        (RULES, "caps"): (
            {
                **PROGRAM,
                "rules": [
                    {
                        "id": "r",
                        "type": "fixed",
                        "points": 1,
                        "caps": [{"per": "day", "points": 10}],
                    }
                ],
            },
            ("rules", 0, "caps", 0),
        ),
        ("[expiry]", None): (
            {**PROGRAM, "expiry": {**typed, **expiry.get(typename or "", {})}},
            ("expiry",),
        ),
        ("[tiers]", None): ({**PROGRAM, "tiers": tiers}, ("tiers",)),
        ("[tiers]", "levels"): ({**PROGRAM, "tiers": tiers}, ("tiers", "levels", 0)),
        ("[tiers]", "keep"): (
            {**PROGRAM, "tiers": {**tiers, "keep": {**typed, **keep.get(typename or "", {})}}},
            ("tiers", "keep"),
        ),
        ("[[rewards]]", None): (
            {**PROGRAM, "rewards": [{"id": "mug", "cost": 10}]},
            ("rewards", 0),
        ),
        ("[[badges]]", None): (
            {**PROGRAM, "badges": [{"id": "b", "criterion": {"type": "count", "target": 3}}]},
            ("badges", 0),
        ),
        ("[[badges]]", "criterion"): (
            {
                **PROGRAM,
                "badges": [
                    {"id": "b", "criterion": {**typed, **criterion.get(typename or "", {})}}
                ],
            },
            ("badges", 0, "criterion"),
        ),
        ("[[raffles]]", None): ({**PROGRAM, "raffles": [{"id": "summer", **OPEN}]}, ("raffles", 0)),
        ("[[leaderboards]]", None): (
            {**PROGRAM, "leaderboards": [{"id": "top", "metric": "actions"}]},
            ("leaderboards", 0),
        ),
        ("[nudges]", None): ({**PROGRAM, "nudges": {}}, ("nudges",)),
    }
    assert where in found, f"no minimal programme for {where}: add one to minimal()"
    return copy.deepcopy(found[where][0]), found[where][1]


def at(data: Any, path: Path_) -> Any:
    for step in path:
        data = data[step]
    return data


def changed(data: dict[str, Any], path: Path_, key: str, value: object) -> dict[str, Any]:
    """``data`` with ``key`` of the table at ``path`` set to ``value`` (or removed when
    ``value`` is ``attrs.NOTHING``)."""
    data = copy.deepcopy(data)
    table = at(data, path)
    if value is attrs.NOTHING:
        table.pop(key, None)
    else:
        table[key] = value
    return data


def toml_value(cell: str) -> tuple[bool, object]:
    """``(True, value)`` when a default cell starts with a TOML value in backticks."""
    match = re.match(r"`([^`]+)`", cell)
    if match is None:
        return False, None
    try:
        return True, tomllib.loads(f"value = {match.group(1)}")["value"]
    except tomllib.TOMLDecodeError:
        return False, None


def check_key(where: Where, typename: str | None, key: Key, row: Row | None) -> list[str]:
    """What is wrong with the page's row for ``key`` (empty: nothing)."""
    name = f"{where[0]}{' ' + where[1] if where[1] else ''}{' ' + typename if typename else ''}"
    if row is None:
        return [f"{name}: the key `{key.name}` is not documented"]
    at_line = f"{PAGE.name}:{row.line}: {name} `{key.name}`"
    problems = []
    if row.type != key.type:
        problems.append(f"{at_line}: type {row.type!r}, the code says {key.type!r}")
    if key.name == "type":
        return problems
    if key.required:
        if row.default != "required":
            problems.append(f"{at_line}: default {row.default!r}, the key is required")
        return problems
    if row.default == "required":
        return [*problems, f"{at_line}: documented as required, the code has a default"]
    written, value = toml_value(row.default)
    if not written:
        if not is_absent(key.default) and key.name not in LOADER_FILLED:
            problems.append(
                f"{at_line}: default {row.default!r} in words, but the code's default is "
                f"{key.default!r}: write it as a TOML value in backticks"
            )
        return problems
    data, path = minimal(where, typename)
    without = rk.load_program(changed(data, path, key.name, attrs.NOTHING))
    try:
        given = rk.load_program(changed(data, path, key.name, value))
    except rk.ProgramError as error:
        return [*problems, f"{at_line}: the default `{value!r}` does not load: {error}"]
    if given != without:
        problems.append(f"{at_line}: the default is not {row.default!r} (code: {key.default!r})")
    return problems


# ---------------------------------------------------------------- the checks


def test_every_table_of_a_file_is_in_the_overview(page: Page) -> None:
    assert page.sections == list(SECTIONS)


def test_every_key_of_every_table_is_documented_with_its_type_and_default(page: Page) -> None:
    problems = []
    for where, keys in expected_tables().items():
        rows = page.tables.get(where, {})
        for key in keys.values():
            problems.extend(check_key(where, None, key, rows.get(key.name)))
        for name, row in rows.items():
            if name not in keys:
                problems.append(f"{PAGE.name}:{row.line}: {where}: no key `{name}` in the code")
    assert not problems, "\n".join(problems)


def test_every_type_of_every_typed_table_is_documented(page: Page) -> None:
    problems = []
    for where, family in expected_typed().items():
        documented = page.typed.get(where, {})
        for typename, keys in family.items():
            if typename not in documented:
                problems.append(f"{where}: the type `{typename}` is not documented")
                continue
            rows = documented[typename]
            for key in keys.values():
                problems.extend(check_key(where, typename, key, rows.get(key.name)))
            for name, row in rows.items():
                if name and name not in keys:
                    problems.append(f"{PAGE.name}:{row.line}: {typename}: no key `{name}`")
        for typename in set(documented) - set(family):
            problems.append(f"{where}: the page documents a type `{typename}` the code lacks")
    assert not problems, "\n".join(problems)


def test_the_page_documents_no_table_the_code_lacks(page: Page) -> None:
    known = set(expected_tables())
    assert set(page.tables) <= known, set(page.tables) - known
    assert set(page.typed) <= set(TYPED), set(page.typed) - set(TYPED)


def test_every_condition_is_documented_with_its_keys(page: Page) -> None:
    names = condition_names()
    assert set(page.conditions) == names, (
        f"undocumented: {sorted(names - set(page.conditions))}; "
        f"not in the code: {sorted(set(page.conditions) - names)}"
    )
    problems = []
    for name, keys in condition_keys().items():
        shown = " ".join(page.conditions[name])
        for key in keys:
            if not re.search(rf"\b{re.escape(key)} =", shown):
                problems.append(f"the condition `{name}`: no example shows its key `{key}`")
    assert not problems, "\n".join(problems)


def test_every_attrs_class_of_the_config_is_a_documented_table() -> None:
    """A table the converter gains (a new spec class) must find its place on the page."""
    mapped = {*TABLES.values(), *INTERNAL}
    mapped |= {b.spec for family in TYPED.values() for b in family.values()}
    mapped |= {b.spec for b in _config_rules.RULE_TYPES.values()}
    condition_classes = {cls for name in condition_names() for cls in classes_of_condition(name)}
    modules = [
        importlib.import_module(f"rewardkit.{info.name}")
        for info in pkgutil.iter_modules(rk.__path__)
        if info.name.startswith("_config")
    ]
    unplaced = [
        f"{module.__name__}.{name}"
        for module in modules
        for name, value in vars(module).items()
        if isinstance(value, type)
        and attrs.has(value)
        and value.__module__ == module.__name__
        and value not in mapped | condition_classes
    ]
    assert not unplaced, f"attrs classes the reference does not place: {unplaced}"


@pytest.mark.parametrize(
    ("where", "typename"),
    [(where, None) for where in TABLES]
    + [((RULES, name), None) for name in _config_rules.RULE_TYPES]
    + [(where, name) for where, family in TYPED.items() for name in family],
    ids=str,
)
def test_the_minimal_programmes_hold_the_required_keys_and_fill_the_class(
    where: Where, typename: str | None
) -> None:
    """The programmes the defaults are checked against are right: they load through the
    converter, fill the class the page is checked against, and hold every required key."""
    data, path = minimal(where, typename)
    converter = recording()
    _config_load.Loader(data, converter).program()
    cls = (
        TYPED[where][typename].spec
        if typename
        else TABLES.get(where) or _config_rules.RULE_TYPES[str(where[1])].spec
    )
    assert cls in converter.seen
    table = at(data, path)
    keys = (expected_typed()[where][typename] if typename else expected_tables()[where]).values()
    assert {k.name for k in keys if k.required} <= set(table)


def test_every_toml_example_is_a_whole_programme_that_loads(page: Page) -> None:
    assert page.toml
    for line, body in page.toml:
        assert body.lstrip().startswith("[program]"), f"{PAGE.name}:{line}: start with [program]"
        try:
            program = rk.load_program(tomllib.loads(body))
        except (rk.ProgramError, tomllib.TOMLDecodeError) as error:
            pytest.fail(f"{PAGE.name}:{line}: {error}")
        assert rk.load_program(rk.dump_program(program)) == program
