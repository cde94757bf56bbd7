"""Programme-clock helpers: period keys and bounds, weekdays, times of day, time zones.

Everything here is pure: time always comes in as an argument, the system clock is
never read.  Calendar arithmetic happens on the wall clock of the programme's zone and
is then resolved to real instants with ``zoneinfo`` semantics, so a day in
Europe/Madrid lasts 23 or 25 hours across a DST change, and a day whose midnight does
not exist (America/Santiago, America/Havana) starts at the first instant that does.
Durations (``{"hours": 2}``) and RFC 5545 recurrences are parsed and evaluated here too;
recurrences run on the local wall clock.
"""

from __future__ import annotations

import math
import re
import threading
from bisect import bisect_right
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from typing import Final, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.relativedelta import relativedelta
from dateutil.rrule import rrule, rruleset, rrulestr

from ._values import aware
from .errors import Problem, ProgramError

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND: Final = timedelta(microseconds=1)


def micros(instant: datetime) -> int:
    """An aware instant as whole microseconds since the Unix epoch: exact, and ordered
    as the instants are (what stores index and sort by)."""
    return (instant - _EPOCH) // _MICROSECOND


__all__ = [
    "PERIODS",
    "RECURRENCE_DTSTART",
    "WEEKDAYS",
    "Period",
    "format_duration",
    "last_occurrence",
    "micros",
    "parse_duration",
    "parse_period",
    "parse_recurrence",
    "parse_time_of_day",
    "parse_weekday",
    "period_bounds",
    "period_key",
    "resolve_local",
    "zone",
]

Period = Literal["day", "week", "month", "quarter", "year"]
PERIODS: Final[tuple[Period, ...]] = ("day", "week", "month", "quarter", "year")

WEEKDAYS: Final[tuple[str, ...]] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
"""Short weekday names, indexed like :meth:`datetime.weekday` (Monday = 0)."""

_FULL_WEEKDAYS: Final = (
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
)
_DAY_NUMBERS: Final[dict[str, int]] = {
    **{name: number for number, name in enumerate(WEEKDAYS)},
    **{name: number for number, name in enumerate(_FULL_WEEKDAYS)},
}
_TIME_OF_DAY = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")


def _fail(path: str, message: str) -> ProgramError:
    return ProgramError([Problem(path=path, message=message)])


# ---------------------------------------------------------------- periods


def parse_period(value: object, *, path: str = "period") -> Period:
    """``value`` as a :data:`Period`, or a :class:`ProgramError` naming it."""
    for period in PERIODS:
        if value == period:
            return period
    raise _fail(path, f"unknown period {value!r} (expected {', '.join(PERIODS)})")


def period_key(local: datetime, period: Period) -> str:
    """The key of the period containing ``local`` (already in the programme's zone).

    ``"2026-03-07"``, ``"2026-W09"`` (ISO week and ISO year), ``"2026-03"``,
    ``"2026-Q1"``, ``"2026"``.  Keys of one period type sort in time order.
    """
    period = parse_period(period)
    if period == "day":
        return f"{local.year:04d}-{local.month:02d}-{local.day:02d}"
    if period == "week":
        iso = local.isocalendar()
        return f"{iso.year:04d}-W{iso.week:02d}"
    if period == "month":
        return f"{local.year:04d}-{local.month:02d}"
    if period == "quarter":
        return f"{local.year:04d}-Q{(local.month - 1) // 3 + 1}"
    return f"{local.year:04d}"


def period_bounds(local: datetime, period: Period) -> tuple[datetime, datetime]:
    """Start (inclusive) and end (exclusive) of the period containing ``local``.

    Both are aware datetimes in ``local``'s tzinfo.  Boundaries are local midnights
    resolved with :func:`resolve_local`, so they are right across DST changes.  Compare
    them with other instants in UTC: Python compares two datetimes that share a tzinfo
    by wall clock, ignoring ``fold``.
    """
    tz = aware(local, "local").tzinfo
    assert tz is not None  # checked by aware()
    first = _first_day(local.date(), parse_period(period))
    after = _next_first_day(first, period)
    midnight = time()
    return (
        resolve_local(datetime.combine(first, midnight), tz),
        resolve_local(datetime.combine(after, midnight), tz),
    )


def _first_day(day: date, period: Period) -> date:
    if period == "day":
        return day
    if period == "week":
        return day - timedelta(days=day.weekday())
    if period == "month":
        return day.replace(day=1)
    if period == "quarter":
        return date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
    return date(day.year, 1, 1)


def _next_first_day(first: date, period: Period) -> date:
    if period == "day":
        return first + timedelta(days=1)
    if period == "week":
        return first + timedelta(days=7)
    months = {"month": 1, "quarter": 3, "year": 12}[period]
    years, month0 = divmod(first.month - 1 + months, 12)
    return date(first.year + years, month0 + 1, 1)


def resolve_local(wall: datetime, tz: tzinfo) -> datetime:
    """The first instant at which clocks in ``tz`` read ``wall`` or later.

    ``wall`` is a wall-clock time (its own tzinfo, if any, is ignored).  An ambiguous
    time (clocks turned back) resolves to its first occurrence; a time skipped by a
    DST gap resolves to the transition instant that skipped it.
    """
    naive = wall.replace(tzinfo=None, fold=0)
    candidate = naive.replace(tzinfo=tz)
    if (
        type(tz) is ZoneInfo
        and candidate.utcoffset() == naive.replace(tzinfo=tz, fold=1).utcoffset()
    ):
        return candidate  # neither skipped nor repeated: the common case, decided at once
    if _wall_clock(candidate, tz) == naive:
        return candidate
    # ``naive`` falls in a gap.  zoneinfo maps fold=1 with the offset after the gap
    # (an instant before the transition) and fold=0 with the one before it (an instant
    # after): the transition lies between them; find it to the second.
    ends = sorted(
        (naive.replace(tzinfo=tz, fold=1).timestamp(), candidate.timestamp()),
    )
    low, high = math.floor(ends[0]), math.ceil(ends[1])
    while high - low > 1:
        middle = (low + high) // 2
        if _wall_clock(datetime.fromtimestamp(middle, UTC), tz) >= naive:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, UTC).astimezone(tz)


def _wall_clock(instant: datetime, tz: tzinfo) -> datetime:
    return instant.astimezone(UTC).astimezone(tz).replace(tzinfo=None, fold=0)


# ---------------------------------------------------------------- weekdays, times, zones


def parse_weekday(value: str | int, *, path: str = "weekday") -> int:
    """A weekday number (Monday = 0) from ``"mon"``, ``"Monday"``, ``"SUN"`` or 0-6."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise _fail(path, f"expected a day name (mon..sun) or a number 0-6, got {value!r}")
    if isinstance(value, int):
        if 0 <= value <= 6:
            return value
        raise _fail(path, f"day {value} is out of range (expected 0-6, Monday = 0)")
    number = _DAY_NUMBERS.get(value.strip().lower())
    if number is None:
        raise _fail(path, f"unknown day {value!r} (expected {', '.join(WEEKDAYS)})")
    return number


def parse_time_of_day(value: str | time, *, path: str = "time") -> time:
    """A naive :class:`~datetime.time` from ``"07:00"``, ``"7:30"`` or ``"23:59:59"``."""
    if isinstance(value, time):
        if value.tzinfo is not None:
            raise _fail(
                path,
                f"a time of day must not carry a time zone (the programme's applies): {value!r}",
            )
        return value
    if not isinstance(value, str):
        raise _fail(path, f"expected a time of day such as '07:30', got {value!r}")
    match = _TIME_OF_DAY.fullmatch(value.strip())
    if match is not None:
        hour, minute, second = (int(part or 0) for part in match.groups())
        if hour <= 23 and minute <= 59 and second <= 59:
            return time(hour, minute, second)
    raise _fail(
        path,
        f"invalid time of day {value!r} (expected HH:MM or HH:MM:SS, from 00:00 to 23:59:59)",
    )


def zone(name: str | tzinfo, *, path: str = "timezone") -> tzinfo:
    """The IANA time zone ``name`` (a tzinfo is returned unchanged)."""
    if isinstance(name, tzinfo):
        return name
    if not isinstance(name, str):
        raise _fail(path, f"expected an IANA time zone name such as 'Europe/Madrid', got {name!r}")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise _fail(
            path, f"unknown time zone {name!r} (expected an IANA name such as 'Europe/Madrid')"
        ) from None


# ---------------------------------------------------------------- durations and recurrences

RECURRENCE_DTSTART: Final = datetime(2000, 1, 1)
"""The local wall-clock start of a recurrence rule that has no ``DTSTART`` line."""

_UNITS: Final = ("years", "months", "days", "hours", "minutes", "seconds", "microseconds")
_ABSOLUTE: Final = ("year", "month", "day", "weekday", "hour", "minute", "second", "microsecond")
_AWARE_LINE: Final = re.compile(r"^(DTSTART|RDATE|EXDATE)\b[^:]*(TZID=|:.*Z\s*(,|$))", re.I | re.M)


def parse_duration(value: object, *, path: str = "duration") -> timedelta | relativedelta:
    """A positive duration from a timedelta, a relativedelta or ``{"months": 1, "days": 2}``.

    Every component must be >= 0 (keys: years, months, weeks, days, hours, minutes,
    seconds; whole numbers).  A duration without years or months becomes a timedelta,
    so ``{"hours": 2}`` equals ``timedelta(hours=2)``.
    """
    given = value
    if isinstance(value, Mapping) and all(
        key in (*_UNITS[:-1], "weeks") and type(amount) is int for key, amount in value.items()
    ):
        value = relativedelta(**value)
    if isinstance(value, timedelta) and value > timedelta(0):
        return value
    if (
        isinstance(value, relativedelta)
        and all(getattr(value, field) is None for field in _ABSOLUTE)
        and not value.leapdays
    ):
        parts = [getattr(value, unit) for unit in _UNITS]
        if min(parts) >= 0 and any(parts):
            if value.years or value.months:
                return value
            return timedelta(**{unit: getattr(value, unit) for unit in _UNITS[2:]})
    raise _fail(path, f"expected a positive duration such as {{'hours': 2}}, got {given!r}")


def format_duration(value: timedelta | relativedelta) -> str:
    """``"2:00:00"`` for a timedelta, ``"1 months, 2 days"`` for a relativedelta."""
    if isinstance(value, timedelta):
        return str(value)
    return ", ".join(f"{getattr(value, unit)} {unit}" for unit in _UNITS if getattr(value, unit))


def parse_recurrence(rule: object, *, path: str = "rule") -> str:
    """An RFC 5545 recurrence (``RRULE`` text, optionally after a ``DTSTART`` line).

    Its times are local wall-clock times: a ``TZID`` or a trailing ``Z`` is refused,
    since the programme's zone applies.  Returns the text, stripped.
    """
    text = rule.strip() if isinstance(rule, str) else ""
    if not text:
        raise _fail(path, f"expected an RFC 5545 rule such as 'FREQ=WEEKLY;BYDAY=FR': {rule!r}")
    if _AWARE_LINE.search(text):
        raise _fail(
            path,
            f"use local wall-clock times, without TZID or a trailing Z: {rule!r}"
            " (the programme's time zone applies)",
        )
    try:
        _parse_rule(text)
    except (ValueError, TypeError, KeyError, IndexError, OverflowError) as error:
        raise _fail(path, f"invalid recurrence rule {rule!r}: {error}") from None
    return text


def last_occurrence(rule: str, wall: datetime) -> datetime | None:
    """The last occurrence of ``rule`` at or before the naive wall-clock time ``wall``.

    Like ``rrule.before(wall, inc=True)``, but occurrences are generated once per rule
    text and kept, so repeated calls cost a bisection.  Memory grows with the number of
    occurrences between DTSTART and the latest ``wall`` asked about.
    """
    return _occurrences(rule).latest(wall)


def _parse_rule(text: str) -> rrule | rruleset:
    return rrulestr(text, dtstart=RECURRENCE_DTSTART)


@lru_cache(maxsize=256)
def _occurrences(text: str) -> _Occurrences:
    return _Occurrences(_parse_rule(text))


class _Occurrences:
    """A rule's occurrences, generated lazily in order and kept for bisection."""

    def __init__(self, rule: rrule | rruleset) -> None:
        self._pending: Iterator[datetime] = iter(rule)
        self._seen: list[datetime] = []
        self._exhausted = False
        self._lock = threading.Lock()

    def latest(self, at: datetime) -> datetime | None:
        with self._lock:
            while not self._exhausted and (not self._seen or self._seen[-1] <= at):
                following = next(self._pending, None)
                if following is None:
                    self._exhausted = True
                else:
                    self._seen.append(following)
            index = bisect_right(self._seen, at)
            return self._seen[index - 1] if index else None
