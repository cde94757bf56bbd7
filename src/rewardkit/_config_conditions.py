"""Condition tables in programme files, both ways.

A condition is a table whose keys are condition names; several keys mean all of them::

    when = { kind = "purchase", weekday = ["sat", "sun"], time = { from = "07:00", to = "09:00" } }

Built-in names: ``kind``, ``weekday``, ``time``, ``dates``, ``recurrence``, ``attribute``,
``amount``, ``tier``, ``segment``, ``spent_at_least``, ``actions_at_least``,
``inactive_for``, ``all``, ``any``, ``not``, ``always``, ``never``; a registered
condition plugin is written ``its_name = { its fields }``.  ``tier`` and ``segment`` must
name a level and a segment of the programme being loaded (of ``[segments]``, or an RFM
segment when it has an ``[rfm]`` table).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from datetime import date
from functools import partial, reduce
from typing import Any, Final

import attrs
import cattrs

from . import plugins
from ._compose import Condition, _Callable, _Condition, always, never
from ._config_base import (
    NAME,
    fail,
    loading,
    problems_from,
    relocate,
    suggestion,
    time_of_day,
)
from ._config_condition_data import condition_data
from ._references import no_segment, no_tier
from .conditions import (
    amount_compare,
    attribute_compare,
    attribute_in,
    date_between,
    has_attribute,
    kind,
    recurrence,
    tier_in,
    time_between,
    weekday,
)
from .errors import Problem, ProgramError
from .segments import actions_at_least, in_segment, inactive_for, spent_at_least

__all__ = ["install", "structure_condition"]


class _Unset:
    def __repr__(self) -> str:
        return "<unset>"


_UNSET: Final = _Unset()
_RANGE: Final = {"start": "from", "end": "to"}


@attrs.frozen
class _Range:
    """``{ from = ..., to = ... }`` of ``time`` and ``dates``."""

    start: Any = attrs.field(metadata={NAME: "from"})
    end: Any = attrs.field(metadata={NAME: "to"})


@attrs.frozen
class _RecurrenceFields:
    rule: Any
    duration: Any


@attrs.frozen
class _AttributeFields:
    name: Any
    equals: Any = _UNSET
    op: Any = _UNSET
    value: Any = _UNSET
    values: Any = attrs.field(default=_UNSET, metadata={NAME: "in"})
    present: Any = _UNSET


@attrs.frozen
class _AmountFields:
    op: Any = _UNSET
    value: Any = _UNSET
    at_least: Any = _UNSET
    below: Any = _UNSET


def _names(value: object, what: str) -> tuple[Any, ...]:
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        return (value,)
    if isinstance(value, (list, tuple)):
        return tuple(value)
    raise fail("", f"expected {what} or a list of them, got {value!r}")


def _build(
    factory: Callable[..., _Condition], renames: Mapping[str, str], *args: Any
) -> _Condition:
    try:
        return factory(*args)
    except ProgramError as error:
        raise ProgramError(relocate(error, "", renames)) from None


def _kind(value: object, converter: cattrs.Converter) -> _Condition:
    return _build(kind, {"kinds": ""}, *_names(value, "an action kind"))


def _weekday(value: object, converter: cattrs.Converter) -> _Condition:
    return _build(weekday, {"days": ""}, *_names(value, "a day (mon..sun)"))


def _tier(value: object, converter: cattrs.Converter) -> _Condition:
    levels = _names(value, "a tier level")
    built = _build(tier_in, {"levels": ""}, *levels)
    known = loading.get().levels
    if known is not None:
        problems = [
            Problem("" if isinstance(value, str) else f"[{i}]", no_tier(level, known))
            for i, level in enumerate(levels)
            if level not in known
        ]
        if problems:
            raise ProgramError(problems)
    return built


def _segment(value: object, converter: cattrs.Converter) -> _Condition:
    if not isinstance(value, str):
        raise fail("", f'expected the name of a segment, such as "vip", got {value!r}')
    built = _build(in_segment, {"name": ""}, value)
    known = loading.get().segments
    if known is not None and value not in known:
        raise fail("", no_segment(value, known))
    return built


def _spent_at_least(value: object, converter: cattrs.Converter) -> _Condition:
    return _build(spent_at_least, {"amount": ""}, value)


@attrs.frozen
class _ActionsFields:
    count: Any
    kind: Any = None


def _actions_at_least(value: object, converter: cattrs.Converter) -> _Condition:
    fields = converter.structure(value, _ActionsFields)
    return _build(actions_at_least, {}, fields.count, fields.kind)


def _inactive_for(value: object, converter: cattrs.Converter) -> _Condition:
    return _build(inactive_for, {"span": ""}, value)


def _time(value: object, converter: cattrs.Converter) -> _Condition:
    fields = converter.structure(value, _Range)
    bounds = []
    for name, given in (("from", fields.start), ("to", fields.end)):
        try:
            bounds.append(time_of_day(given, path=name))
        except ProgramError:
            bounds.append(given)  # time_between reports it, with the other bound's problem
    return _build(time_between, _RANGE, *bounds)


def _dates(value: object, converter: cattrs.Converter) -> _Condition:
    fields = converter.structure(value, _Range)
    bounds = [v.isoformat() if type(v) is date else v for v in (fields.start, fields.end)]
    return _build(date_between, _RANGE, *bounds)


def _recurrence(value: object, converter: cattrs.Converter) -> _Condition:
    fields = converter.structure(value, _RecurrenceFields)
    return _build(recurrence, {}, fields.rule, fields.duration)


def _given(fields: object, *names: str) -> list[str]:
    return [name for name in names if getattr(fields, name) is not _UNSET]


def _attribute(value: object, converter: cattrs.Converter) -> _Condition:
    fields = converter.structure(value, _AttributeFields)
    forms = _given(fields, "equals", "op", "values", "present")
    if len(forms) != 1:
        shown = ", ".join("in" if form == "values" else form for form in forms)
        raise fail(
            "",
            "needs exactly one of equals, op (with value), in or present"
            + (f"; got {shown}" if forms else ""),
        )
    if fields.value is not _UNSET and forms != ["op"]:
        raise fail("value", 'goes with op (op = ">=", value = 2); use equals = ... alone')
    if forms == ["equals"]:
        return _build(attribute_compare, {}, fields.name, "==", fields.equals)
    if forms == ["op"]:
        if fields.value is _UNSET:
            raise fail("value", "is required with op")
        return _build(attribute_compare, {}, fields.name, fields.op, fields.value)
    if forms == ["values"]:
        return _build(attribute_in, {"values": "in"}, fields.name, fields.values)
    if not isinstance(fields.present, bool):
        raise fail("present", f"must be true or false, got {fields.present!r}")
    present = _build(has_attribute, {}, fields.name)
    return present if fields.present else ~present


def _amount(value: object, converter: cattrs.Converter) -> _Condition:
    fields = converter.structure(value, _AmountFields)
    forms = _given(fields, "op", "at_least", "below")
    if len(forms) != 1:
        raise fail(
            "",
            "needs exactly one of op (with value), at_least or below"
            + (f"; got {', '.join(forms)}" if forms else ""),
        )
    if fields.value is not _UNSET and forms != ["op"]:
        raise fail("value", f"goes with op, not with {forms[0]}")
    if forms == ["op"]:
        if fields.value is _UNSET:
            raise fail("value", "is required with op")
        return _build(amount_compare, {}, fields.op, fields.value)
    op, threshold = (">=", fields.at_least) if forms == ["at_least"] else ("<", fields.below)
    return _build(amount_compare, {"value": forms[0]}, op, threshold)


def _combine(
    join_with: Callable[[Any, Any], _Condition], value: object, converter: cattrs.Converter
) -> _Condition:
    if not isinstance(value, (list, tuple)):
        raise fail("", f"expected a list of conditions, got {value!r}")
    if not value:
        raise fail("", "needs at least one condition")
    parts: list[_Condition] = []
    problems: list[Problem] = []
    for i, item in enumerate(value):
        try:
            parts.append(structure_condition(item, converter))
        except ProgramError as error:
            problems.extend(relocate(error, f"[{i}]"))
    if problems:
        raise ProgramError(problems)
    return reduce(join_with, parts)


def _not(value: object, converter: cattrs.Converter) -> _Condition:
    return ~structure_condition(value, converter)


def _constant(result: _Condition, value: object, converter: cattrs.Converter) -> _Condition:
    if value is not True:
        raise fail("", f"must be true, got {value!r}")
    return result


_BUILTINS: Final[Mapping[str, Callable[[object, cattrs.Converter], _Condition]]] = {
    "kind": _kind,
    "weekday": _weekday,
    "time": _time,
    "dates": _dates,
    "recurrence": _recurrence,
    "attribute": _attribute,
    "amount": _amount,
    "tier": _tier,
    "segment": _segment,
    "spent_at_least": _spent_at_least,
    "actions_at_least": _actions_at_least,
    "inactive_for": _inactive_for,
    "all": partial(_combine, operator.and_),
    "any": partial(_combine, operator.or_),
    "not": _not,
    "always": partial(_constant, always),
    "never": partial(_constant, never),
}


def _plugin(cls: type, value: object, converter: cattrs.Converter) -> _Condition:
    instance: object = converter.structure(value, cls)
    if not callable(instance):
        raise fail("", f"{cls.__qualname__} is not callable as condition(ctx) -> bool")
    return _Callable(instance)


def _structure_hook(name: object) -> Callable[[object, cattrs.Converter], _Condition] | None:
    if not isinstance(name, str):
        return None
    builtin = _BUILTINS.get(name)
    if builtin is not None:
        return builtin
    cls = plugins.lookup("condition", name)
    return None if cls is None else partial(_plugin, cls)


def structure_condition(value: object, converter: cattrs.Converter) -> _Condition:
    """A condition from its table, or one ProgramError with every problem in it."""
    if not isinstance(value, Mapping):
        raise fail(
            "",
            f'expected a table of conditions such as {{ weekday = ["sat", "sun"] }}, got {value!r}',
        )
    if not value:
        raise fail("", f"is empty: name a condition ({', '.join(plugins.names('condition'))})")
    parts: list[_Condition] = []
    problems: list[Problem] = []
    for name, item in value.items():
        hook = _structure_hook(name)
        if hook is None:
            hint = suggestion(name, plugins.names("condition"))
            problems.append(Problem("", f"unknown condition {name!r}{hint}"))
            continue
        try:
            parts.append(hook(item, converter))
        except Exception as error:
            problems.extend(problems_from(error, name))
    if problems:
        raise ProgramError(problems)
    return reduce(operator.and_, parts)


def _is_condition(declared: Any) -> bool:
    return declared is Condition or declared is _Condition


def install(converter: cattrs.Converter) -> None:
    """Register the condition hooks on ``converter``."""
    converter.register_structure_hook_func(
        _is_condition, lambda value, _: structure_condition(value, converter)
    )
    converter.register_unstructure_hook_func(
        lambda t: _is_condition(t) or (isinstance(t, type) and issubclass(t, _Condition)),
        lambda cond: condition_data(cond, converter),
    )
