"""The building blocks of :mod:`rewardkit.testing.strategies`: ids, amounts, terms, caps,
holds, instants, and conditions (composed with ``&``, ``|`` and ``~``)."""

from __future__ import annotations

import operator
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from functools import cache, reduce
from typing import Any

from dateutil.relativedelta import relativedelta
from hypothesis import strategies as st

from .. import conditions as c
from .._compose import _All, _Any, _Not
from ..pending import Hold, pending_for, until_confirmed
from ..rules import Cap, Rounding, cap
from ..segments import _InSegment, actions_at_least, in_segment, inactive_for, spent_at_least
from ..time import WEEKDAYS, Period

__all__ = [
    "ACTION_KINDS",
    "CURRENCIES",
    "caps",
    "conditions",
    "holds",
    "identifiers",
    "terms",
]

ACTION_KINDS = ("purchase", "visit", "review", "referral", "signup")
CURRENCIES = ("points", "stars", "miles")
_RECURRENCES = (
    "FREQ=WEEKLY;BYDAY=FR;BYHOUR=17",
    "FREQ=DAILY;BYHOUR=7;BYMINUTE=30",
    "DTSTART:20260101T000000\nRRULE:FREQ=MONTHLY;BYMONTHDAY=1",
)
_ROUNDINGS: tuple[Rounding, ...] = ("down", "half_up", "up")
_CALENDAR: tuple[Period, ...] = ("month", "quarter", "year")
_OFFSETS = (UTC, timezone(timedelta(hours=1)), timezone(timedelta(hours=-5, minutes=-30)))


@cache
def _words(min_size: int = 1, max_size: int = 12) -> st.SearchStrategy[str]:
    """Printable text (no control characters, no lone surrogates): names and titles."""
    letters = st.characters(exclude_categories=("Cc", "Cs"))
    return st.text(letters, min_size=min_size, max_size=max_size).filter(str.strip)


@cache
def identifiers() -> st.SearchStrategy[str]:
    """Ids such as ``"base"`` or ``"weekend-double"``."""
    return st.from_regex(r"[a-z][a-z0-9]{0,6}(-[a-z0-9]{1,5})?", fullmatch=True)


@cache
def _kinds() -> st.SearchStrategy[list[str]]:
    return st.lists(st.sampled_from(ACTION_KINDS), min_size=1, max_size=3, unique=True)


@cache
def _money(min_value: str = "0", max_value: str = "500") -> st.SearchStrategy[Decimal]:
    return st.decimals(min_value=Decimal(min_value), max_value=Decimal(max_value), places=2)


@cache
def terms() -> st.SearchStrategy[relativedelta]:
    """Positive terms in whole minutes to years, such as ``relativedelta(months=12)``."""
    units = st.fixed_dictionaries(
        {},
        optional={
            unit: st.integers(1, bound)
            for unit, bound in (("years", 3), ("months", 30), ("days", 400), ("hours", 48))
        },
    )
    return units.filter(bool).map(
        lambda parts: relativedelta(
            years=parts.get("years", 0),
            months=parts.get("months", 0),
            days=parts.get("days", 0),
            hours=parts.get("hours", 0),
        )
    )


@cache
def _budgets() -> st.SearchStrategy[int | None]:
    return st.one_of(st.none(), st.integers(1, 100_000))


@cache
def holds() -> st.SearchStrategy[Hold]:
    """``until_confirmed`` or ``pending_for(term)``."""
    return st.one_of(st.just(until_confirmed), terms().map(pending_for))


@cache
def caps() -> st.SearchStrategy[Cap]:
    limits = st.one_of(st.none(), st.integers(1, 1000))
    return st.builds(
        lambda per, points, awards: cap(per, points=points, awards=awards or None),
        st.sampled_from(("day", "week", "month", "quarter", "year", "lifetime")),
        st.integers(1, 1000),
        limits,
    ) | st.builds(
        lambda per, awards: cap(per, awards=awards),
        st.sampled_from(("day", "week", "lifetime")),
        st.integers(1, 10),
    )


@cache
def _attribute_values() -> st.SearchStrategy[Any]:
    scalar = st.one_of(
        st.text(max_size=5),
        st.integers(-1000, 1000),
        st.booleans(),
        st.none(),
        st.decimals(min_value=-100, max_value=100, places=2),
    )
    return st.one_of(scalar, st.lists(scalar, max_size=3))


@cache
def _orderable() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.text(max_size=5), st.integers(-100, 100), st.decimals(min_value=0, max_value=9, places=1)
    )


@cache
def _durations() -> st.SearchStrategy[timedelta | relativedelta]:
    return st.one_of(
        st.builds(
            lambda h, m: timedelta(hours=h, minutes=m), st.integers(0, 5), st.integers(1, 59)
        ),
        st.integers(1, 3).map(lambda months: relativedelta(months=months, days=1)),
    )


@cache
def _time_windows() -> st.SearchStrategy[c.Condition]:
    return (
        st.tuples(st.times(), st.times())
        .filter(lambda pair: pair[0] != pair[1])
        .map(lambda pair: c.time_between(*pair))
    )


@cache
def _date_ranges() -> st.SearchStrategy[c.Condition]:
    days = st.dates(min_value=date(2024, 1, 1), max_value=date(2030, 12, 31))
    return st.tuples(days, days).map(lambda pair: c.date_between(*sorted(pair)))


_PLACEHOLDER = "#"  # a tier level or a segment named by its index, bound after drawing


def _leaves(with_levels: bool, with_segments: bool) -> st.SearchStrategy[c.Condition]:
    names = st.sampled_from(("category", "qty", "channel", "vip"))
    leaves = [
        _kinds().map(lambda kinds: c.kind(*kinds)),
        st.lists(st.sampled_from(WEEKDAYS), min_size=1, max_size=3).map(lambda d: c.weekday(*d)),
        _time_windows(),
        _date_ranges(),
        st.builds(c.recurrence, st.sampled_from(_RECURRENCES), _durations()),
        st.builds(c.attribute_equals, names, _attribute_values()),
        st.builds(
            c.attribute_compare, names, st.sampled_from(("<", "<=", ">", ">=", "!=")), _orderable()
        ),
        st.builds(c.attribute_in, names, st.lists(_attribute_values(), min_size=1, max_size=3)),
        st.builds(c.has_attribute, names),
        st.builds(c.amount_compare, st.sampled_from(("<", "<=", ">", ">=", "==", "!=")), _money()),
        st.sampled_from((c.always, c.never)),
        _money().map(spent_at_least),
        st.builds(
            actions_at_least,
            st.integers(0, 50),
            st.one_of(st.none(), st.sampled_from(ACTION_KINDS)),
        ),
        terms().map(inactive_for),
    ]
    index = st.integers(0, 9).map(lambda i: f"{_PLACEHOLDER}{i}")
    if with_levels:
        leaves.append(st.lists(index, min_size=1, max_size=3).map(lambda ids: c.tier_in(*ids)))
    if with_segments:
        leaves.append(index.map(in_segment))
    return st.one_of(leaves)


def _bind(cond: Any, levels: Sequence[str], segments: Sequence[str]) -> Any:
    """``cond`` with its placeholder levels and segments replaced by real names."""

    def name(placeholder: str, names: Sequence[str]) -> str:
        return names[int(placeholder.removeprefix(_PLACEHOLDER)) % len(names)]

    if isinstance(cond, (_All, _Any)):
        return type(cond)(tuple(_bind(part, levels, segments) for part in cond.conditions))
    if isinstance(cond, _Not):
        return _Not(_bind(cond.condition, levels, segments))
    if isinstance(cond, c._TierIn):
        return c.tier_in(*(name(level, levels) for level in cond.levels))
    if isinstance(cond, _InSegment):
        return in_segment(name(cond.name, segments))
    return cond


def conditions(
    levels: Sequence[str] = (), segments: Sequence[str] = ()
) -> st.SearchStrategy[c.Condition]:
    """Built-in conditions composed with ``&``, ``|`` and ``~`` (``tier_in`` only names
    ``levels``, ``in_segment`` only ``segments``)."""
    known, named = tuple(levels), tuple(segments)
    drawn = _conditions(bool(known), bool(named))
    return drawn.map(lambda cond: _bind(cond, known, named)) if known or named else drawn


@cache
def _conditions(with_levels: bool, with_segments: bool) -> st.SearchStrategy[c.Condition]:
    """One strategy per kind of names: building and validating a recursive strategy is
    slow, drawing from it is not."""

    def compose(children: st.SearchStrategy[c.Condition]) -> st.SearchStrategy[c.Condition]:
        several = st.lists(children, min_size=2, max_size=3)
        return st.one_of(
            several.map(lambda parts: reduce(operator.and_, parts)),
            several.map(lambda parts: reduce(operator.or_, parts)),
            children.map(lambda part: ~c.as_condition(part)),
        )

    return st.recursive(_leaves(with_levels, with_segments), compose, max_leaves=5)


def _when(levels: Sequence[str] = (), segments: Sequence[str] = ()) -> st.SearchStrategy[Any]:
    return st.one_of(st.just(c.always), conditions(levels, segments))


@cache
def _instants() -> st.SearchStrategy[datetime]:
    return st.datetimes(
        min_value=datetime(2024, 1, 1),
        max_value=datetime(2030, 1, 1),
        timezones=st.sampled_from(_OFFSETS),
    )
