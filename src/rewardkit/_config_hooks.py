"""The converter's generic hooks: strict scalars, Decimals, terms, instants, containers,
and attrs classes (fields renamed with ``NAME`` metadata, unknown keys refused).

Structuring hooks raise :class:`~rewardkit.errors.ProgramError` with paths relative to
the value; :func:`unstructure_attrs` writes an attrs instance's fields, leaving out those
equal to their default, with each problem's path.
"""

from __future__ import annotations

import collections.abc
import contextlib
import difflib
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from functools import cache
from typing import Any

import attrs
import cattrs
from cattrs.cols import list_structure_factory
from cattrs.gen import make_dict_structure_fn, make_mapping_structure_fn, override
from dateutil.relativedelta import relativedelta

from ._config_base import (
    HOOK,
    NAME,
    clock_text,
    duration_data,
    fail,
    relocate,
    term_data,
    time_of_day,
)
from ._values import number
from .errors import Problem, ProgramError
from .expiry import term
from .time import parse_duration, zone

__all__ = ["attrs_hook", "declared_types", "install", "unstructure_attrs"]


# ---------------------------------------------------------------- scalar hooks


def _integer(value: object, _: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise fail("", f"must be an integer, got {value!r}")


def _string(value: object, _: object) -> str:
    if isinstance(value, str):
        return value
    raise fail("", f"must be a string, got {value!r}")


def _boolean(value: object, _: object) -> bool:
    if isinstance(value, bool):
        return value
    raise fail("", f"must be true or false, got {value!r}")


def _float(value: object, _: object) -> float:
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return float(value)
    raise fail("", f"must be a number, got {value!r}")


def _decimal(value: object, _: object) -> Decimal:
    return number(value, "")


def _term(value: object, _: object) -> relativedelta:
    return term(value, path="")  # type: ignore[arg-type]


def _timedelta(value: object, _: object) -> timedelta:
    duration = parse_duration(value, path="")
    if isinstance(duration, timedelta):
        return duration
    raise fail("", f"must not use years or months, got {value!r}")


def _datetime(value: object, _: object) -> datetime:
    instant = value
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            instant = datetime.fromisoformat(value.strip())
    if not isinstance(instant, datetime):
        raise fail("", f"expected a date and time such as 2026-12-01T00:00:00+01:00, got {value!r}")
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise fail(
            "",
            f"must carry a UTC offset, such as {instant.isoformat()}+01:00 or "
            f"{instant.isoformat()}Z, got {instant.isoformat()}",
        )
    return instant


def _date(value: object, _: object) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise fail("", f"expected a date such as 2026-12-01, got {value!r}")


def _zone(value: object, _: object) -> tzinfo:
    return zone(value, path="")  # type: ignore[arg-type]


# ---------------------------------------------------------------- type predicates


def _origin(declared: Any) -> Any:
    return typing.get_origin(declared) or declared


def _is_list(declared: Any) -> bool:
    origin = _origin(declared)
    if origin is tuple:
        args = typing.get_args(declared)
        return len(args) == 2 and args[1] is Ellipsis
    return origin in (list, collections.abc.Sequence, collections.abc.MutableSequence)


def _is_set(declared: Any) -> bool:
    return _origin(declared) in (frozenset, set, collections.abc.Set, collections.abc.MutableSet)


def _is_mapping(declared: Any) -> bool:
    return _origin(declared) in (dict, collections.abc.Mapping, collections.abc.MutableMapping)


def _is_literal(declared: Any) -> bool:
    return typing.get_origin(declared) is typing.Literal


def _literal(value: object, declared: Any) -> Any:
    choices = typing.get_args(declared)
    if value in choices and type(value) in {type(choice) for choice in choices}:
        return value
    words = [str(choice) for choice in choices]
    close = difflib.get_close_matches(value, words, n=1) if isinstance(value, str) else []
    if close:
        return _raise(f"unknown value {value!r} (did you mean {close[0]!r}?)")
    return _raise(f"must be one of {', '.join(words)}; got {value!r}")


def _raise(message: str) -> Any:
    raise fail("", message)


def _is_union(declared: Any) -> bool:
    return _origin(declared) in (typing.Union, types.UnionType)


def _is_term_union(declared: Any) -> bool:
    """``relativedelta | timedelta`` (optionally ``| None``): a term in files."""
    members = set(typing.get_args(declared)) - {type(None)}
    return _is_union(declared) and bool(members) and members <= {relativedelta, timedelta}


@cache
def declared_types(cls: Any) -> Mapping[str, Any]:
    """The resolved type of each field of an attrs class (``Any`` when unresolvable)."""
    try:
        hints = typing.get_type_hints(cls)
    except Exception:
        hints = {}
    return {a.name: hints.get(a.name, Any) for a in attrs.fields(cls)}


# ---------------------------------------------------------------- structuring containers


def _list_hook(declared: Any, converter: cattrs.Converter) -> Callable[[Any, Any], Any]:
    element = typing.get_args(declared)[0] if typing.get_args(declared) else Any
    inner = list_structure_factory(list[element], converter)  # type: ignore[valid-type]
    as_tuple = _origin(declared) is tuple

    def structure(value: object, _: object) -> Any:
        if not isinstance(value, (list, tuple)):
            raise fail("", f"expected a list, got {value!r}")
        items = inner(value, list[element])  # type: ignore[valid-type]
        return tuple(items) if as_tuple else items

    return structure


def _set_hook(declared: Any, converter: cattrs.Converter) -> Callable[[Any, Any], Any]:
    """A set from a list, or from a single string (``on = "purchase"``)."""
    element = typing.get_args(declared)[0] if typing.get_args(declared) else Any
    items = _list_hook(list[element], converter)  # type: ignore[valid-type]

    def structure(value: object, _: object) -> frozenset[Any]:
        return frozenset(items([value] if isinstance(value, str) else value, None))

    return structure


def _mapping_hook(declared: Any, converter: cattrs.Converter) -> Callable[[Any, Any], Any]:
    inner = make_mapping_structure_fn(declared, converter, dict)

    def structure(value: object, _: object) -> Any:
        if not isinstance(value, Mapping):
            raise fail("", f"expected a table, got {value!r}")
        return inner(value, declared)

    return structure


def _field_override(field: attrs.Attribute[Any]) -> Any:
    hook = field.metadata.get(HOOK)
    return override(
        rename=field.metadata.get(NAME),
        struct_hook=None if hook is None else lambda value, _: hook(value),
    )


def attrs_hook(cls: type, converter: cattrs.Converter) -> Callable[[Any, Any], Any]:
    renames = {
        a.name: _field_override(a)
        for a in attrs.fields(cls)
        if NAME in a.metadata or HOOK in a.metadata
    }
    inner: Callable[[Any, Any], Any] = make_dict_structure_fn(
        cls,
        converter,
        **renames,
    )

    def structure(value: object, _: object) -> Any:
        if not isinstance(value, Mapping):
            raise fail("", f"expected a table of fields, got {value!r}")
        if any(not isinstance(key, str) for key in value):
            raise fail("", f"field names must be strings, got {list(value)!r}")
        return inner(value, cls)

    return structure


# ---------------------------------------------------------------- unstructuring


def _default(field: attrs.Attribute[Any], obj: object) -> object:
    default: Any = field.default
    if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
        return default.factory(obj) if default.takes_self else default.factory()
    return default


def unstructure_attrs(
    obj: object, converter: cattrs.Converter, keep: Iterable[str] = ()
) -> dict[str, Any]:
    """An attrs instance's init fields under their file names; fields equal to their
    default are left out (except those in ``keep``).  Problems carry the field's path."""
    cls: Any = type(obj)
    kinds = declared_types(cls)
    kept = set(keep)
    data: dict[str, Any] = {}
    problems: list[Problem] = []
    for field in attrs.fields(cls):
        if not field.init:
            continue
        value = getattr(obj, field.name)
        if field.name not in kept and field.default is not attrs.NOTHING:
            try:
                if value == _default(field, obj):
                    continue
            except Exception:  # an exotic __eq__: write the value
                pass
        key = field.metadata.get(NAME, field.name)
        declared = kinds.get(field.name, Any)
        if _is_union(declared) and not _is_term_union(declared):
            members = [m for m in typing.get_args(declared) if m is not type(None)]
            declared = members[0] if len(members) == 1 else Any
        try:
            data[key] = _unstructure(converter, value, declared)
        except ProgramError as error:
            problems.extend(relocate(error, key))
    if problems:
        raise ProgramError(problems)
    return data


def _unstructure(converter: cattrs.Converter, value: object, declared: Any) -> Any:
    if value is None:
        return None
    if declared is Any or declared is object:
        return converter.unstructure(value)
    return converter.unstructure(value, unstructure_as=declared)


def _items_data(converter: cattrs.Converter, declared: Any) -> Callable[[Any], list[Any]]:
    args = typing.get_args(declared)
    element = args[0] if args else Any
    ordered = _is_set(declared)

    def unstructure(values: Iterable[Any]) -> list[Any]:
        items = sorted(values) if ordered else list(values)
        data, problems = [], []
        for i, item in enumerate(items):
            try:
                data.append(_unstructure(converter, item, element))
            except ProgramError as error:
                problems.extend(relocate(error, f"[{i}]"))
        if problems:
            raise ProgramError(problems)
        return data

    return unstructure


def _mapping_data(converter: cattrs.Converter, declared: Any) -> Callable[[Any], dict[Any, Any]]:
    args = typing.get_args(declared)
    element = args[1] if len(args) == 2 else Any

    def unstructure(values: Mapping[Any, Any]) -> dict[Any, Any]:
        data, problems = {}, []
        for key, item in values.items():
            try:
                data[key] = _unstructure(converter, item, element)
            except ProgramError as error:
                problems.extend(relocate(error, str(key)))
        if problems:
            raise ProgramError(problems)
        return data

    return unstructure


def _term_or_none(value: relativedelta | timedelta | None) -> dict[str, int] | None:
    return None if value is None else term_data(value)


# ---------------------------------------------------------------- install


def install(converter: cattrs.Converter) -> None:
    """Register the generic hooks: strict scalars, Decimal, terms, instants, containers,
    attrs classes (with renamed fields and unknown keys refused)."""
    structure = converter.register_structure_hook
    structure_func = converter.register_structure_hook_func
    structure_factory = converter.register_structure_hook_factory

    structure_factory(attrs.has, attrs_hook)
    structure_factory(_is_list, _list_hook)
    structure_factory(_is_mapping, _mapping_hook)
    structure_factory(_is_set, _set_hook)
    structure_func(_is_term_union, lambda v, t: None if v is None else _term(v, t))
    structure_func(_is_literal, _literal)
    for kind, hook in (
        (int, _integer),
        (str, _string),
        (bool, _boolean),
        (float, _float),
        (Decimal, _decimal),
        (relativedelta, _term),
        (timedelta, _timedelta),
        (datetime, _datetime),
        (date, _date),
        (time, lambda v, _: time_of_day(v)),
    ):
        structure(kind, hook)
    structure_func(lambda t: t is tzinfo, _zone)

    unstructure = converter.register_unstructure_hook
    unstructure_func = converter.register_unstructure_hook_func
    unstructure_factory = converter.register_unstructure_hook_factory

    unstructure_func(attrs.has, lambda obj: unstructure_attrs(obj, converter))
    unstructure_factory(lambda t: _is_list(t) or _is_set(t), lambda t: _items_data(converter, t))
    unstructure_factory(_is_mapping, lambda t: _mapping_data(converter, t))
    unstructure_func(_is_term_union, _term_or_none)
    for kind, dump in (
        (Decimal, str),
        (relativedelta, term_data),
        (timedelta, duration_data),
        (datetime, datetime.isoformat),
        (date, date.isoformat),
        (time, clock_text),
    ):
        unstructure(kind, dump)
    for runtime in (tuple, list, frozenset, set):
        unstructure(runtime, _items_data(converter, runtime))
    unstructure_func(
        lambda t: isinstance(t, type) and issubclass(t, Mapping), _mapping_data(converter, Mapping)
    )
    unstructure_func(lambda t: isinstance(t, type) and issubclass(t, tzinfo), _zone_data)


def _zone_data(value: tzinfo) -> str:
    key = getattr(value, "key", None)
    if isinstance(key, str):
        return key
    raise fail("", f"cannot be written as data: {value!r} is not an IANA time zone")
