"""Conditions as data: each built-in condition as its table (the reverse of
:mod:`rewardkit._config_conditions`)."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

import cattrs

from . import plugins
from ._compose import _All, _Any, _Callable, _Condition, _Constant, _Not
from ._config_base import clock_text, duration_data, fail, relocate, term_data
from .conditions import (
    _AttributeIn,
    _Compare,
    _DateBetween,
    _HasAttribute,
    _Kind,
    _Recurrence,
    _TierIn,
    _TimeBetween,
    _Weekday,
)
from .errors import ProgramError
from .segments import _ActionsAtLeast, _InactiveFor, _InSegment, _SpentAtLeast
from .time import WEEKDAYS

__all__ = ["condition_data"]


def _one_or_list(values: tuple[Any, ...]) -> Any:
    return values[0] if len(values) == 1 else list(values)


def _attribute_value(value: object) -> Any:
    """An attribute value as TOML/JSON data: a Decimal becomes the float that reads back
    equal to it (attribute values read from files turn floats into Decimals)."""
    if isinstance(value, tuple):
        return [_attribute_value(item) for item in value]
    if not isinstance(value, Decimal):
        return value
    as_float = float(value)
    if math.isfinite(as_float) and Decimal(repr(as_float)) == value:
        return as_float
    raise fail("", f"cannot be written as data: {value} has more digits than a float holds")


def _compare_data(cond: _Compare) -> dict[str, Any]:
    if cond.name is None:
        amount = str(cond.value)
        if cond.op == ">=":
            return {"amount": {"at_least": amount}}
        if cond.op == "<":
            return {"amount": {"below": amount}}
        return {"amount": {"op": cond.op, "value": amount}}
    try:
        value = _attribute_value(cond.value)
    except ProgramError as error:
        where = "attribute.equals" if cond.op == "==" else "attribute.value"
        raise ProgramError(relocate(error, where)) from None
    if cond.op == "==":
        return {"attribute": {"name": cond.name, "equals": value}}
    return {"attribute": {"name": cond.name, "op": cond.op, "value": value}}


def _parts_data(
    name: str, conds: tuple[_Condition, ...], converter: cattrs.Converter
) -> dict[str, Any]:
    items, problems = [], []
    for i, part in enumerate(conds):
        try:
            items.append(condition_data(part, converter))
        except ProgramError as error:
            problems.extend(relocate(error, f"{name}[{i}]"))
    if problems:
        raise ProgramError(problems)
    return {name: items}


def _callable_data(cond: _Callable, converter: cattrs.Converter) -> dict[str, Any]:
    function = cond.function
    name = plugins.name_of("condition", type(function))
    if name is not None:
        return {name: converter.unstructure(function)}
    shown = getattr(function, "__qualname__", None) or repr(function)
    raise fail(
        "",
        f"cannot be written as data: the condition is the Python function {shown}; "
        "write it as a condition class registered with rewardkit.register_condition(name)",
    )


def condition_data(cond: object, converter: cattrs.Converter) -> dict[str, Any]:
    """A condition as its table (an ``_All`` as ``{ all = [...] }``)."""
    if isinstance(cond, _Kind):
        return {"kind": _one_or_list(cond.kinds)}
    if isinstance(cond, _Weekday):
        return {"weekday": [WEEKDAYS[day] for day in cond.days]}
    if isinstance(cond, _TimeBetween):
        return {"time": {"from": clock_text(cond.start), "to": clock_text(cond.end)}}
    if isinstance(cond, _DateBetween):
        return {"dates": {"from": cond.start.isoformat(), "to": cond.end.isoformat()}}
    if isinstance(cond, _Recurrence):
        try:
            duration = duration_data(cond.duration)
        except ProgramError as error:
            raise ProgramError(relocate(error, "recurrence.duration")) from None
        return {"recurrence": {"rule": cond.rule, "duration": duration}}
    if isinstance(cond, _Compare):
        return _compare_data(cond)
    if isinstance(cond, _AttributeIn):
        try:
            values = [_attribute_value(v) for v in cond.values]
        except ProgramError as error:
            raise ProgramError(relocate(error, "attribute.in")) from None
        return {"attribute": {"name": cond.name, "in": values}}
    if isinstance(cond, _HasAttribute):
        return {"attribute": {"name": cond.name, "present": True}}
    if isinstance(cond, _TierIn):
        return {"tier": list(cond.levels)}
    if isinstance(cond, _InSegment):
        return {"segment": cond.name}
    if isinstance(cond, _SpentAtLeast):
        return {"spent_at_least": str(cond.amount)}
    if isinstance(cond, _ActionsAtLeast):
        given = {"count": cond.count, "kind": cond.kind}
        return {"actions_at_least": {k: v for k, v in given.items() if v is not None}}
    if isinstance(cond, _InactiveFor):
        try:
            return {"inactive_for": term_data(cond.span)}
        except ProgramError as error:
            raise ProgramError(relocate(error, "inactive_for")) from None
    if isinstance(cond, _All):
        return _parts_data("all", cond.conditions, converter)
    if isinstance(cond, _Any):
        return _parts_data("any", cond.conditions, converter)
    if isinstance(cond, _Not):
        try:
            return {"not": condition_data(cond.condition, converter)}
        except ProgramError as error:
            raise ProgramError(relocate(error, "not")) from None
    if isinstance(cond, _Constant):
        return {"always" if cond.value else "never": True}
    if isinstance(cond, _Callable):
        return _callable_data(cond, converter)
    name = plugins.name_of("condition", type(cond))
    if name is not None:
        return {name: converter.unstructure(cond)}
    raise fail("", f"cannot be written as data: {cond!r} is not a condition rewardkit knows")
