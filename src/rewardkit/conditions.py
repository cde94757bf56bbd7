"""Composable predicates over an evaluation :class:`~rewardkit.context.Context`.

A condition is anything callable as ``condition(ctx) -> bool``.  The built-ins are small
frozen objects made by lowercase factories; they compare equal when built equally, read
like what they test (``<weekday in sat, sun>``) and compose with ``&``, ``|`` and ``~``.
A plain function is accepted wherever a condition is::

    weekend_pastry = weekday("sat", "sun") & attribute_equals("category", "pastry")

Days, weekdays and times of day are read in the programme's zone (``ctx.local``).
Factories validate their arguments and raise :class:`~rewardkit.errors.ProgramError`
naming each bad argument and its value.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import partial
from typing import Any, Final

import attrs
from dateutil.relativedelta import relativedelta

from ._compose import (
    Condition,
    _Condition,
    always,
    as_condition,
    condition,
    never,
)
from ._compose import collect as _collect
from ._compose import fail as _fail
from ._values import AttributeValue, money, normalize_attributes
from .context import Context
from .errors import InvalidAction
from .time import (
    WEEKDAYS,
    format_duration,
    last_occurrence,
    parse_duration,
    parse_recurrence,
    parse_time_of_day,
    parse_weekday,
)

__all__ = [
    "Condition",
    "always",
    "amount_at_least",
    "amount_below",
    "amount_compare",
    "as_condition",
    "attribute_compare",
    "attribute_equals",
    "attribute_in",
    "condition",
    "date_between",
    "has_attribute",
    "kind",
    "never",
    "recurrence",
    "tier_in",
    "time_between",
    "weekday",
]

_OPERATORS: Final[dict[str, Callable[[Any, Any], bool]]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}
_ORDERINGS: Final = frozenset({"<", "<=", ">", ">="})


# ---------------------------------------------------------------- action kind and attributes


@attrs.frozen(repr=False)
class _Kind(_Condition):
    kinds: tuple[str, ...]

    def __call__(self, ctx: Context, /) -> bool:
        return ctx.action.kind in self.kinds

    def _describe(self) -> str:
        return f"kind in {', '.join(self.kinds)}"


def kind(*kinds: str) -> _Condition:
    """The action's kind is one of ``kinds``."""
    if not kinds:
        raise _fail(("kinds", "at least one action kind is required"))
    problems = [
        (f"kinds[{i}]", f"an action kind must be a non-empty string: {value!r}")
        for i, value in enumerate(kinds)
        if not isinstance(value, str) or not value.strip()
    ]
    if problems:
        raise _fail(*problems)
    return _Kind(tuple(sorted(set(kinds))))


def _attribute_name(name: object) -> str:
    if not isinstance(name, str) or not name:
        raise _fail(("name", f"an attribute name must be a non-empty string: {name!r}"))
    return name


def _attribute_value(value: object, path: str = "value") -> AttributeValue:
    try:
        return normalize_attributes({"value": value})["value"]
    except InvalidAction:
        raise _fail(
            (path, f"expected a str, int, bool, Decimal, float, None or a list of those: {value!r}")
        ) from None


def _key(value: object) -> object:
    """A value as compared for equality: a bool never equals a number (True != 1)."""
    if isinstance(value, tuple):
        return tuple(map(_key, value))
    return (type(value) is bool, value)


def _orderable(left: object, right: object) -> bool:
    """Both numbers (bools excluded) or both strings."""
    if type(left) is Decimal and type(right) is Decimal:
        return True  # an amount against a threshold: the common case
    if isinstance(left, str) or isinstance(right, str):
        return isinstance(left, str) and isinstance(right, str)
    return _number(left) and _number(right)


def _number(value: object) -> bool:
    return isinstance(value, (int, Decimal)) and not isinstance(value, bool)


def _show(value: object) -> str:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, tuple):
        return f"({', '.join(map(_show, value))})"
    return repr(value)


@attrs.frozen(repr=False)
class _Compare(_Condition):
    """``subject <op> value``: the action's amount (``name`` None) or one of its attributes."""

    name: str | None
    op: str
    value: AttributeValue = attrs.field(eq=_key)
    # Worked out once: the operator's function, and whether it orders or tests equality.
    _test: Callable[[Any, Any], bool] = attrs.field(init=False, eq=False, repr=False)
    _ordering: bool = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "_test", _OPERATORS[self.op])
        object.__setattr__(self, "_ordering", self.op in _ORDERINGS)

    def __call__(self, ctx: Context, /) -> bool:
        action = ctx.action
        actual: AttributeValue
        if self.name is None:
            if action.amount is None:
                return False
            actual = action.amount
        else:
            attributes = action.attributes
            if self.name not in attributes:
                return False
            actual = attributes[self.name]
        value = self.value
        if self._ordering:
            return _orderable(actual, value) and self._test(actual, value)
        if type(value) is str:  # only a str equals a str: no bool/number subtlety
            return self._test(actual, value)
        return (_key(actual) == _key(value)) == (self.op == "==")

    def _describe(self) -> str:
        subject = "amount" if self.name is None else f"attributes[{self.name!r}]"
        return f"{subject} {self.op} {_show(self.value)}"


def _operator(op: object) -> str:
    if isinstance(op, str) and op in _OPERATORS:
        return op
    raise _fail(("op", f"unknown operator {op!r} (expected {', '.join(_OPERATORS)})"))


def attribute_compare(name: str, op: str, value: object) -> _Condition:
    """``attributes[name] <op> value``; op is one of ``< <= > >= == !=``.

    False when the attribute is missing, for ``!=`` too.  ``==`` and ``!=`` work on any
    values (a bool never equals a number); ``<``, ``<=``, ``>``, ``>=`` compare numbers
    with numbers (int, Decimal, floats as Decimal) and strings with strings, and are
    false for any other pair, never an error.
    """
    name, op, normalised = _collect(
        partial(_attribute_name, name), partial(_operator, op), partial(_attribute_value, value)
    )
    if op in _ORDERINGS and not _orderable(normalised, normalised):
        raise _fail(("value", f"{op} needs a number or a string: {value!r}"))
    return _Compare(name, op, normalised)


def attribute_equals(name: str, value: object) -> _Condition:
    """``attributes[name] == value`` (false when the attribute is missing)."""
    return attribute_compare(name, "==", value)


@attrs.frozen(repr=False)
class _AttributeIn(_Condition):
    name: str
    values: tuple[AttributeValue, ...] = attrs.field(eq=_key)

    _keys: tuple[object, ...] = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "_keys", tuple(map(_key, self.values)))

    def __call__(self, ctx: Context, /) -> bool:
        attributes = ctx.action.attributes
        if self.name not in attributes:
            return False
        return _key(attributes[self.name]) in self._keys

    def _describe(self) -> str:
        return f"attributes[{self.name!r}] in {', '.join(map(_show, self.values))}"


def attribute_in(name: str, values: Iterable[object]) -> _Condition:
    """``attributes[name]`` is one of ``values`` (false when the attribute is missing)."""
    name = _attribute_name(name)
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise _fail(("values", f"expected a list of values, got {values!r}"))
    items = list(values)
    if not items:
        raise _fail(("values", "at least one value is required"))
    normalised: list[AttributeValue] = []
    for i, value in enumerate(items):
        item = _attribute_value(value, f"values[{i}]")
        if _key(item) not in map(_key, normalised):
            normalised.append(item)
    return _AttributeIn(name, tuple(normalised))


@attrs.frozen(repr=False)
class _HasAttribute(_Condition):
    name: str

    def __call__(self, ctx: Context, /) -> bool:
        return self.name in ctx.action.attributes

    def _describe(self) -> str:
        return f"{self.name!r} in attributes"


def has_attribute(name: str) -> _Condition:
    """The action carries the attribute ``name`` (whatever its value, even None)."""
    return _HasAttribute(_attribute_name(name))


# ---------------------------------------------------------------- amount


def amount_compare(op: str, value: Decimal | str | int | float) -> _Condition:
    """``amount <op> value``; false for an action without an amount, for ``!=`` too."""
    op, threshold = _collect(partial(_operator, op), partial(_threshold, value))
    return _Compare(None, op, threshold)


def _threshold(value: object) -> Decimal:
    try:
        return money(value, "value")
    except InvalidAction as error:
        raise _fail(("value", f"{error.reason}: {value!r}")) from None


def amount_at_least(value: Decimal | str | int | float) -> _Condition:
    """The action's amount is ``value`` or more."""
    return amount_compare(">=", value)


def amount_below(value: Decimal | str | int | float) -> _Condition:
    """The action's amount is less than ``value``."""
    return amount_compare("<", value)


# ---------------------------------------------------------------- calendar


@attrs.frozen(repr=False)
class _Weekday(_Condition):
    days: tuple[int, ...]

    def __call__(self, ctx: Context, /) -> bool:
        return ctx.local.weekday() in self.days

    def _describe(self) -> str:
        return f"weekday in {', '.join(WEEKDAYS[day] for day in self.days)}"


def weekday(*days: str | int) -> _Condition:
    """The action falls on one of ``days`` ("sat", "Sunday", or 0-6 with Monday = 0)."""
    if not days:
        raise _fail(("days", "at least one weekday is required"))
    numbers = _collect(
        *(partial(parse_weekday, day, path=f"days[{i}]") for i, day in enumerate(days))
    )
    return _Weekday(tuple(sorted(set(numbers))))


def _clock(value: time) -> str:
    return value.isoformat(timespec="seconds" if value.second or value.microsecond else "minutes")


@attrs.frozen(repr=False)
class _TimeBetween(_Condition):
    start: time
    end: time

    def __call__(self, ctx: Context, /) -> bool:
        now = ctx.local.time()
        if self.start < self.end:
            return self.start <= now < self.end
        return now >= self.start or now < self.end

    def _describe(self) -> str:
        return f"time of day in [{_clock(self.start)}, {_clock(self.end)})"


def time_between(start: str | time, end: str | time) -> _Condition:
    """The local time of day is in ``[start, end)``; it wraps midnight when start > end."""
    first, last = _collect(
        partial(parse_time_of_day, start, path="start"), partial(parse_time_of_day, end, path="end")
    )
    if first == last:
        raise _fail(("end", f"must differ from start {start!r}: {end!r} (an empty window)"))
    return _TimeBetween(first, last)


@attrs.frozen(repr=False)
class _DateBetween(_Condition):
    start: date
    end: date

    def __call__(self, ctx: Context, /) -> bool:
        return self.start <= ctx.local.date() <= self.end

    def _describe(self) -> str:
        return f"date in [{self.start.isoformat()}, {self.end.isoformat()}]"


def _date(value: object, path: str) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise _fail((path, f"expected a date such as '2026-03-07', got {value!r}"))


def date_between(start: date | str, end: date | str) -> _Condition:
    """The local calendar date is within ``[start, end]``, both ends included."""
    first, last = _collect(partial(_date, start, "start"), partial(_date, end, "end"))
    if first > last:
        raise _fail(("end", f"must not be before start {start!r}: {end!r}"))
    return _DateBetween(first, last)


# ---------------------------------------------------------------- recurrence


@attrs.frozen(repr=False)
class _Recurrence(_Condition):
    rule: str
    duration: timedelta | relativedelta

    def __call__(self, ctx: Context, /) -> bool:
        wall = ctx.local.replace(tzinfo=None, fold=0)
        start = last_occurrence(self.rule, wall)
        return start is not None and wall < start + self.duration

    def _describe(self) -> str:
        return f"recurrence {self.rule!r} for {format_duration(self.duration)}"


def recurrence(rule: str, duration: timedelta | relativedelta | Mapping[str, int]) -> _Condition:
    """The local wall-clock time is within ``duration`` of an occurrence of ``rule``.

    ``rule`` is RFC 5545 text (``"FREQ=WEEKLY;BYDAY=FR;BYHOUR=17"``, or a ``DTSTART:``
    line then an ``RRULE:`` line) read in wall-clock time: a 17:00 happy hour stays at
    17:00 across DST changes.  Without DTSTART the rule starts at
    :data:`rewardkit.time.RECURRENCE_DTSTART`.  Occurrences are generated once per rule
    text and kept (see :func:`~rewardkit.time.last_occurrence`): a DTSTART near the
    programme's start keeps that memory small for frequent rules.
    """
    text, length = _collect(partial(parse_recurrence, rule), partial(parse_duration, duration))
    return _Recurrence(text, length)


# ---------------------------------------------------------------- the member


@attrs.frozen(repr=False)
class _TierIn(_Condition):
    levels: tuple[str, ...]

    def __call__(self, ctx: Context, /) -> bool:
        tier = ctx.member.tier
        return tier is not None and tier.level in self.levels

    def _describe(self) -> str:
        return f"tier in {', '.join(self.levels)}"


def tier_in(*levels: str) -> _Condition:
    """The member holds one of ``levels`` (as the action happens)."""
    if not levels:
        raise _fail(("levels", "at least one tier level is required"))
    problems = [
        (f"levels[{i}]", f"a tier level must be a non-empty string: {value!r}")
        for i, value in enumerate(levels)
        if not isinstance(value, str) or not value.strip()
    ]
    if problems:
        raise _fail(*problems)
    return _TierIn(tuple(sorted(set(levels))))
