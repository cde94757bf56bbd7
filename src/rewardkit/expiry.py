"""Expiry policies: when a lot of points stops being spendable.

A policy answers one question, ``expires_at(earned_at, activity, tz)``: the instant a
lot earned at ``earned_at`` expires, given the member's last qualifying activity.  A lot
is unusable from that instant on (the bound is exclusive).  Wall-clock arithmetic
happens in the programme's zone (Jan 31 + 1 month = Feb 28; a 12:00 expiry stays at
12:00 across DST); every returned instant is in UTC.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Literal, Protocol, runtime_checkable

import attrs
from dateutil.relativedelta import relativedelta

from .errors import Problem, ProgramError
from .time import Period, period_bounds, resolve_local

__all__ = [
    "ExpiryPolicy",
    "Term",
    "earliest_of",
    "end_of_period",
    "fixed_term",
    "inactivity",
    "never_expire",
    "term",
    "term_text",
]

Term = relativedelta
_TERM_FIELDS = ("years", "months", "weeks", "days", "hours", "minutes")


def term(
    value: relativedelta | timedelta | Mapping[str, int], *, path: str = "term"
) -> relativedelta:
    """A positive relativedelta from ``{"months": 12}``, a timedelta or a relativedelta."""
    if isinstance(value, relativedelta):
        result = value
    elif isinstance(value, timedelta):
        result = relativedelta(seconds=int(value.total_seconds()))
    elif isinstance(value, Mapping):
        unknown = sorted(set(value) - set(_TERM_FIELDS))
        if unknown:
            raise ProgramError(
                [Problem(path, f"unknown unit {unknown[0]!r} (expected {', '.join(_TERM_FIELDS)})")]
            )
        for unit, amount in value.items():
            if isinstance(amount, bool) or not isinstance(amount, int) or amount < 0:
                raise ProgramError(
                    [Problem(f"{path}.{unit}", f"must be a non-negative integer, got {amount!r}")]
                )
        amounts = {unit: int(value.get(unit, 0)) for unit in _TERM_FIELDS}
        result = relativedelta(
            years=amounts["years"],
            months=amounts["months"],
            weeks=amounts["weeks"],
            days=amounts["days"],
            hours=amounts["hours"],
            minutes=amounts["minutes"],
        )
    else:
        raise ProgramError(
            [Problem(path, f"expected a mapping like {{months = 12}}, got {value!r}")]
        )
    start = datetime(2000, 1, 1)
    if start + result <= start:
        raise ProgramError([Problem(path, f"must be a positive duration, got {term_text(result)}")])
    return result


def term_text(value: relativedelta) -> str:
    parts = []
    for unit in ("years", "months", "days", "hours", "minutes", "seconds"):
        amount = getattr(value, unit)
        if amount:
            parts.append(f"{amount} {unit[:-1] if amount == 1 else unit}")
    return " ".join(parts) or "0 days"


def after_wall_clock(instant: datetime, span: relativedelta, tz: tzinfo) -> datetime:
    """``instant`` + ``span`` as a UTC instant: years, months and days move the
    programme's calendar (Jan 31 + 1 month = Feb 28; noon stays noon across DST),
    hours, minutes and seconds are elapsed time (1 hour is 3,600 s, DST or not)."""
    calendar = relativedelta(years=span.years, months=span.months, days=span.days)
    elapsed = timedelta(hours=span.hours, minutes=span.minutes, seconds=span.seconds)
    wall = instant.astimezone(tz).replace(tzinfo=None) + calendar
    return resolve_local(wall, tz).astimezone(UTC) + elapsed


@runtime_checkable
class ExpiryPolicy(Protocol):
    """When lots expire.  ``activity`` is the member's last qualifying activity (or
    ``None``), for policies that depend on it; the others ignore it."""

    def expires_at(
        self, earned_at: datetime, activity: datetime | None, tz: tzinfo
    ) -> datetime | None: ...

    @property
    def uses_activity(self) -> bool: ...


@attrs.frozen(repr=False)
class _Never:
    uses_activity = False

    def expires_at(self, earned_at: datetime, activity: datetime | None, tz: tzinfo) -> None:
        return None

    def __repr__(self) -> str:
        return "<points never expire>"


never_expire: ExpiryPolicy = _Never()
"""Points never expire (the default)."""


@attrs.frozen(repr=False)
class _FixedTerm:
    span: relativedelta = attrs.field(eq=False)
    key: tuple[int, ...] = attrs.field(init=False)
    uses_activity = False

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "key", _term_key(self.span))

    def expires_at(self, earned_at: datetime, activity: datetime | None, tz: tzinfo) -> datetime:
        return after_wall_clock(earned_at, self.span, tz)

    def __repr__(self) -> str:
        return f"<points expire {term_text(self.span)} after they are earned>"


def _term_key(span: relativedelta) -> tuple[int, ...]:
    return tuple(
        getattr(span, unit) for unit in ("years", "months", "days", "hours", "minutes", "seconds")
    )


def fixed_term(length: relativedelta | timedelta | Mapping[str, int]) -> ExpiryPolicy:
    """Each lot expires ``length`` after it was earned: ``fixed_term({"months": 12})``."""
    return _FixedTerm(term(length))


@attrs.frozen(repr=False)
class _EndOfPeriod:
    period: Literal["month", "quarter", "year"]
    after: int
    uses_activity = False

    def expires_at(self, earned_at: datetime, activity: datetime | None, tz: tzinfo) -> datetime:
        local = earned_at.astimezone(tz)
        _, end = period_bounds(local, self.period)
        for _ in range(self.after):
            _, end = period_bounds(end, self.period)
        return end.astimezone(UTC)

    def __repr__(self) -> str:
        if self.after == 0:
            return f"<points expire at the end of the {self.period} they are earned in>"
        return (
            f"<points expire at the end of the {_ordinal(self.after)} {self.period} after earning>"
        )


def _ordinal(number: int) -> str:
    suffix = (
        "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    )
    return f"{number}{suffix}"


def end_of_period(period: Period, after: int = 0) -> ExpiryPolicy:
    """Lots expire at the end of the ``after``-th ``period`` after the one they were
    earned in (``after=0``: the end of that same period)."""
    if period not in ("month", "quarter", "year"):
        raise ProgramError([Problem("period", f"must be month, quarter or year, got {period!r}")])
    if isinstance(after, bool) or not isinstance(after, int) or after < 0:
        raise ProgramError([Problem("after", f"must be a non-negative integer, got {after!r}")])
    return _EndOfPeriod(period, after)


@attrs.frozen(repr=False)
class _Inactivity:
    span: relativedelta = attrs.field(eq=False)
    key: tuple[int, ...] = attrs.field(init=False)
    uses_activity = True

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "key", _term_key(self.span))

    def expires_at(self, earned_at: datetime, activity: datetime | None, tz: tzinfo) -> datetime:
        latest = earned_at if activity is None else max(earned_at, activity)
        return after_wall_clock(latest, self.span, tz)

    def __repr__(self) -> str:
        return f"<points expire after {term_text(self.span)} without activity>"


def inactivity(after: relativedelta | timedelta | Mapping[str, int]) -> ExpiryPolicy:
    """Every lot expires ``after`` the member's last qualifying activity; each new
    activity pushes all lots' expiry."""
    return _Inactivity(term(after, path="after"))


@attrs.frozen(repr=False)
class _EarliestOf:
    policies: tuple[ExpiryPolicy, ...]

    @property
    def uses_activity(self) -> bool:
        return any(policy.uses_activity for policy in self.policies)

    def expires_at(
        self, earned_at: datetime, activity: datetime | None, tz: tzinfo
    ) -> datetime | None:
        instants = [p.expires_at(earned_at, activity, tz) for p in self.policies]
        present = [instant for instant in instants if instant is not None]
        return min(present) if present else None

    def __repr__(self) -> str:
        return f"<the earliest of {', '.join(repr(p).strip('<>') for p in self.policies)}>"


def earliest_of(*policies: ExpiryPolicy | Iterable[ExpiryPolicy]) -> ExpiryPolicy:
    """A lot expires when the first of ``policies`` says so."""
    flat: list[ExpiryPolicy] = []
    for item in policies:
        flat.extend([item] if isinstance(item, ExpiryPolicy) else item)
    if not flat:
        raise ProgramError([Problem("policies", "earliest_of needs at least one policy")])
    return _EarliestOf(tuple(flat))
