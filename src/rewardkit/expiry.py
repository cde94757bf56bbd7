"""Expiry policies: when a lot of points stops being spendable.

A policy answers one question, ``expires_at(earned_at, activity, tz)``: the instant a
lot earned at ``earned_at`` expires, given the member's last qualifying activity.  A lot
is unusable from that instant on (the bound is exclusive).  Wall-clock arithmetic
happens in the programme's zone (Jan 31 + 1 month = Feb 28; a 12:00 expiry stays at
12:00 across DST); every returned instant is in UTC.
"""

from __future__ import annotations

from calendar import monthrange
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta, tzinfo
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


def _relative_only(span: relativedelta) -> bool:
    """``span`` moves by amounts only (no absolute year, month, day, time, weekday or
    leap days): what :func:`term` makes."""
    return (
        span.year is None
        and span.month is None
        and span.day is None
        and span.hour is None
        and span.minute is None
        and span.second is None
        and span.microsecond is None
        and span.weekday is None
        and not span.leapdays
    )


def shift_calendar(wall: datetime, years: int, months: int, days: int) -> datetime:
    """``wall`` + ``relativedelta(years=years, months=months, days=days)``, computed the
    same way (the day is clamped to the target month's length) without building one."""
    if years or months:
        index = wall.year * 12 + wall.month - 1 + years * 12 + months
        year, month = divmod(index, 12)
        month += 1
        day = wall.day
        if day > 28:
            day = min(day, monthrange(year, month)[1])
        wall = wall.replace(year=year, month=month, day=day)
    return wall + timedelta(days=days) if days else wall


def wall_shift(wall: datetime, span: relativedelta, sign: int = 1) -> datetime:
    """``wall + span`` (``sign`` -1: ``wall - span``), all of it on the wall clock."""
    if not _relative_only(span):
        return wall + span if sign > 0 else wall - span
    moved = shift_calendar(wall, sign * span.years, sign * span.months, sign * span.days)
    elapsed = timedelta(
        hours=span.hours,
        minutes=span.minutes,
        seconds=span.seconds,
        microseconds=span.microseconds,
    )
    return moved + elapsed if sign > 0 else moved - elapsed


def after_wall_clock(instant: datetime, span: relativedelta, tz: tzinfo) -> datetime:
    """``instant`` + ``span`` as a UTC instant: years, months and days move the
    programme's calendar (Jan 31 + 1 month = Feb 28; noon stays noon across DST),
    hours, minutes and seconds are elapsed time (1 hour is 3,600 s, DST or not)."""
    if not (span.years or span.months or span.days):
        # Elapsed time only.  Read as a wall time and back, an instant of the second
        # pass through a repeated hour would resolve to the first one, an hour earlier:
        # a review an hour on would never come (a call looped on it forever).
        return instant.astimezone(UTC) + _elapsed(span)
    local = instant.astimezone(tz)
    key = (tz, local.toordinal(), 1, span.years, span.months, span.days)
    shift = _SHIFTS.get(key)
    if shift is None:
        wall = shift_calendar(local.replace(tzinfo=None), span.years, span.months, span.days)
        moved = resolve_local(wall, tz).astimezone(UTC)
        shift = _remember(key, tz, local, wall, moved - instant)
        if shift is None:
            return moved + _elapsed(span)
    return (instant + shift).astimezone(UTC) + _elapsed(span)


def before_wall_clock(instant: datetime, span: relativedelta, tz: tzinfo) -> datetime:
    """``instant`` - ``span`` on the wall clock in ``tz``, as a UTC instant (a wall time
    a clock change skipped resolves to the change)."""
    local = instant.astimezone(tz)
    calendar = _calendar_only(span)
    key = (tz, local.toordinal(), -1, span.years, span.months, span.days)
    shift = _SHIFTS.get(key) if calendar else None
    if shift is not None:
        return (instant + shift).astimezone(UTC)
    wall = wall_shift(local.replace(tzinfo=None), span, -1)
    moved = resolve_local(wall, tz).astimezone(UTC)
    if calendar:
        _remember(key, tz, local, wall, moved - instant)
    return moved


def _calendar_only(span: relativedelta) -> bool:
    """``span`` moves by years, months and days only (the answer kept per span)."""
    known = _CALENDAR_ONLY.get(id(span))
    if known is not None and known[0] is span:
        return known[1]
    answer = _relative_only(span) and not (
        span.hours or span.minutes or span.seconds or span.microseconds
    )
    if len(_CALENDAR_ONLY) >= _KEPT:
        _CALENDAR_ONLY.clear()
    _CALENDAR_ONLY[id(span)] = (span, answer)  # the span is kept: its id stays its own
    return answer


def _elapsed(span: relativedelta) -> timedelta:
    if span.hours or span.minutes or span.seconds:
        return timedelta(hours=span.hours, minutes=span.minutes, seconds=span.seconds)
    return _NOTHING


def _remember(
    key: tuple[object, ...], tz: tzinfo, local: datetime, wall: datetime, shift: timedelta
) -> timedelta | None:
    """Keep how far a calendar move took an instant of ``local``'s day to ``wall``'s
    day, when neither day has a clock change: every instant of the day then moves
    alike, so the next ones skip the calendar arithmetic and DST resolution."""
    if not (_steady(tz, local.date()) and _steady(tz, wall.date())):
        return None
    if len(_SHIFTS) >= _KEPT:
        _SHIFTS.clear()
    _SHIFTS[key] = shift
    return shift


# (zone, local day, direction, years, months, days) -> how far every instant of that
# day moves.  Most calls of a day share one; working it out is the cost of a call.
_SHIFTS: dict[tuple[object, ...], timedelta] = {}
_STEADY: dict[tuple[tzinfo, date], bool] = {}
_CALENDAR_ONLY: dict[int, tuple[relativedelta, bool]] = {}
_KEPT = 8192
_HALF_HOUR = timedelta(minutes=30)
_NOTHING = timedelta(0)


def _steady(tz: tzinfo, day: date) -> bool:
    """The clocks in ``tz`` keep one UTC offset all through ``day`` (read every half
    hour: a change, or a gap or a repeated hour, shows as another offset at the next
    reading; no zone changes its offset and back within 30 minutes)."""
    found = _STEADY.get((tz, day))
    if found is None:
        start = datetime.combine(day, time(), tz)
        first = start.utcoffset()
        found = all((start + step * _HALF_HOUR).utcoffset() == first for step in range(1, 49))
        if len(_STEADY) >= _KEPT:
            _STEADY.clear()
        _STEADY[(tz, day)] = found
    return found


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
