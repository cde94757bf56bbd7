"""What a programme listens to: the action kinds, attributes, amounts and calendar edges
its rules, conditions, badges, tiers, raffles and rewards can tell apart.

The strategies in :mod:`rewardkit.testing.activity` draw actions near these values, so a
random stream of actions meets a rule's edges (the last microsecond of a happy hour, the
first of a weekend, an amount one cent below a threshold) far more often than chance
would.  Conditions are walked through ``&``, ``|`` and ``~``; a leaf is read by the
fields it exposes (``kinds``, ``name`` with ``value`` or ``values``, ``days``,
``start``/``end`` as times or dates, ``rule`` with ``duration``), so a user's own
condition shaped like a built-in is read too.  A plain function is opaque.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from functools import lru_cache

import attrs
from dateutil.relativedelta import relativedelta
from dateutil.rrule import rrule, rruleset, rrulestr

from .._compose import walk
from .._values import AttributeValue
from ..conditions import _HasAttribute
from ..program import Program
from ..time import RECURRENCE_DTSTART, resolve_local

__all__ = ["Probe", "probe"]

_CENT = Decimal("0.01")
_TICK = timedelta(microseconds=1)
_LOOKAHEAD_DAYS = 8  # day-level edges are looked for this far ahead of an instant
_OCCURRENCES = 3  # recurrence occurrences looked at after an instant


@attrs.frozen
class Probe:
    """What a programme's policies can tell apart (see the module docstring)."""

    tz: tzinfo
    kinds: tuple[str, ...]  # kinds some rule, condition or badge names
    any_kind: bool  # some rule fires for every kind
    amounts: tuple[Decimal, ...]  # amounts at and one cent around every threshold
    attributes: Mapping[str, tuple[AttributeValue, ...]]  # name -> values worth trying
    weekdays: frozenset[int]
    times_of_day: tuple[time, ...]
    dates: tuple[date, ...]  # days whose first instant is an edge
    instants: tuple[datetime, ...]  # raffle and reward windows (UTC)
    recurrences: tuple[tuple[str, timedelta | relativedelta], ...]

    # ------------------------------------------------------------ calendar edges

    def edges_after(self, after: datetime) -> list[datetime]:
        """The edges at or after ``after`` worth landing on, soonest first (UTC).

        Day starts of the next days that begin a week, a weekend, a month or a listed
        date or weekday; the programme's times of day on the next days; DST changes;
        recurrence starts and ends; raffle and reward windows."""
        start = after.astimezone(UTC)
        local = start.astimezone(self.tz)
        found: set[datetime] = set()
        for offset in range(_LOOKAHEAD_DAYS):
            day = local.date() + timedelta(days=offset)
            if offset <= 1 or self._day_is_an_edge(day):
                found.add(_midnight(day, self.tz))
            for clock in self.times_of_day:
                found.add(_wall(datetime.combine(day, clock), self.tz))
        month = local.date().replace(day=1)
        for _ in range(2):
            month = (month + timedelta(days=32)).replace(day=1)
            found.add(_midnight(month, self.tz))
        found.update(_midnight(day, self.tz) for day in self.dates)
        transition = _next_transition(self.tz, start)
        if transition is not None:
            found.update((transition, transition - timedelta(minutes=30)))
            found.add(transition + timedelta(minutes=30))
        for text, duration in self.recurrences:
            for occurrence in _occurrences_after(text, local.replace(tzinfo=None)):
                found.add(_wall(occurrence, self.tz))
                found.add(_wall(occurrence + duration, self.tz))
        found.update(self.instants)
        return sorted(edge for edge in found if edge >= start)

    def _day_is_an_edge(self, day: date) -> bool:
        previous = day - timedelta(days=1)
        return (
            day.day == 1
            or day.weekday() in (0, 5)
            or day.weekday() in self.weekdays
            or previous.weekday() in self.weekdays
            or day in self.dates
            or _day_length(day, self.tz) != timedelta(days=1)
        )


def _midnight(day: date, tz: tzinfo) -> datetime:
    return resolve_local(datetime.combine(day, time()), tz).astimezone(UTC)


def _wall(wall: datetime, tz: tzinfo) -> datetime:
    return resolve_local(wall, tz).astimezone(UTC)


def _day_length(day: date, tz: tzinfo) -> timedelta:
    return _midnight(day + timedelta(days=1), tz) - _midnight(day, tz)


def _offset(tz: tzinfo, instant: datetime) -> timedelta | None:
    return instant.astimezone(tz).utcoffset()


@lru_cache(maxsize=256)
def _transitions(tz: tzinfo, year: int) -> tuple[datetime, ...]:
    """The instants in ``year`` (UTC) at which ``tz``'s UTC offset changes."""
    found = []
    low = datetime(year, 1, 1, tzinfo=UTC)
    end = datetime(year + 1, 1, 1, tzinfo=UTC)
    while low < end:
        high = min(low + timedelta(hours=12), end)
        if _offset(tz, high) != _offset(tz, low):
            before = _offset(tz, low)
            a, b = low, high
            while b - a > _TICK:  # bisect to the microsecond
                middle = a + (b - a) / 2
                if _offset(tz, middle) == before:
                    a = middle
                else:
                    b = middle
            found.append(b)
        low = high
    return tuple(found)


def _next_transition(tz: tzinfo, after: datetime) -> datetime | None:
    """The first instant at or after ``after`` at which ``tz``'s UTC offset changes."""
    for year in (after.year, after.year + 1):
        for instant in _transitions(tz, year):
            if instant >= after:
                return instant
    return None


class _Occurrences:
    """A recurrence's occurrences, generated in order once and kept for bisection."""

    def __init__(self, rule: rrule | rruleset) -> None:
        self._pending = iter(rule)
        self._seen: list[datetime] = []

    def around(self, wall: datetime) -> list[datetime]:
        """The last occurrence at or before ``wall`` and the few after it."""
        while len(self._seen) < _OCCURRENCES or self._seen[-_OCCURRENCES] <= wall:
            following = next(self._pending, None)
            if following is None:
                break
            self._seen.append(following)
        index = bisect_right(self._seen, wall)
        return self._seen[max(index - 1, 0) : index + _OCCURRENCES]


@lru_cache(maxsize=64)
def _occurrences(text: str) -> _Occurrences:
    return _Occurrences(rrulestr(text, dtstart=RECURRENCE_DTSTART))


def _occurrences_after(text: str, wall: datetime) -> list[datetime]:
    return _occurrences(text).around(wall)


# ---------------------------------------------------------------- reading a programme


def _places(program: Program) -> Iterator[object]:
    """Every condition the programme holds, at the top of its tree."""
    holders: list[object] = [*program.rules, *program.leaderboards]
    holders += [getattr(item, "criterion", None) for item in program.badges]
    if program.tiers is not None:
        holders.append(program.tiers)
    for holder in holders:
        for name in ("when", "qualifying"):
            found = getattr(holder, name, None)
            if callable(found):
                yield found
    yield from program.segments.values()


def _leaves(program: Program) -> Iterator[object]:
    for place in _places(program):
        for _, part in walk(place):
            yield part


def _near(value: Decimal) -> list[Decimal]:
    return [v for v in (value - _CENT, value, value + _CENT) if v >= 0]


def _neighbours(value: object) -> list[AttributeValue]:
    """Values on either side of a compared value (numbers and strings)."""
    if isinstance(value, bool) or value is None:
        return [value]
    if isinstance(value, int):
        return [value - 1, value, value + 1]
    if isinstance(value, Decimal):
        return [value - _CENT, value, value + _CENT]
    if isinstance(value, str):
        return [value[:-1], value, value + "a"]
    if isinstance(value, tuple):
        return [value]
    return []


def _is_number(value: object) -> bool:
    return isinstance(value, (int, Decimal)) and not isinstance(value, bool)


class _Reader:
    def __init__(self) -> None:
        self.kinds: set[str] = set()
        self.amounts: set[Decimal] = {Decimal(0)}
        self.attributes: dict[str, list[AttributeValue]] = {}
        self.weekdays: set[int] = set()
        self.times: set[time] = set()
        self.dates: set[date] = set()
        self.recurrences: set[tuple[str, timedelta | relativedelta]] = set()

    def attribute(self, name: object, values: Iterable[AttributeValue]) -> None:
        if not isinstance(name, str) or not name:
            return
        known = self.attributes.setdefault(name, [])
        keys = {(type(value), value) for value in known}
        for value in values:
            if (type(value), value) not in keys:  # True, 1 and Decimal(1) all differ here
                keys.add((type(value), value))
                known.append(value)

    def read(self, leaf: object) -> None:
        kinds = getattr(leaf, "kinds", None)
        if isinstance(kinds, (tuple, frozenset, set, list)):
            self.kinds.update(k for k in kinds if isinstance(k, str))
        kind = getattr(leaf, "kind", None)
        if isinstance(kind, str):
            self.kinds.add(kind)
        self._read_values(leaf)
        days = getattr(leaf, "days", None)
        if isinstance(days, tuple) and all(isinstance(d, int) for d in days):
            self.weekdays.update(days)
        start, end = getattr(leaf, "start", None), getattr(leaf, "end", None)
        if isinstance(start, time) and isinstance(end, time):
            self.times.update((start, end))
        elif isinstance(start, date) and isinstance(end, date):
            self.dates.update((start, end + timedelta(days=1)))
        rule, duration = getattr(leaf, "rule", None), getattr(leaf, "duration", None)
        if isinstance(rule, str) and isinstance(duration, (timedelta, relativedelta)):
            self.recurrences.add((rule, duration))

    def _read_values(self, leaf: object) -> None:
        name = getattr(leaf, "name", _MISSING)
        value = getattr(leaf, "value", _MISSING)
        values = getattr(leaf, "values", _MISSING)
        if name is None and isinstance(value, Decimal):  # a comparison of the amount
            self.amounts.update(_near(value))
        elif isinstance(name, str) and value is not _MISSING:
            self.attribute(name, _neighbours(value))
        elif isinstance(name, str) and isinstance(values, tuple):
            self.attribute(name, values)
        elif isinstance(leaf, _HasAttribute):
            self.attribute(leaf.name, [None, "x"])  # any value will do
        amount = getattr(leaf, "amount", None)
        if isinstance(amount, Decimal):  # spent_at_least
            self.amounts.update(_near(amount))


_MISSING = object()


def _amount_marks(program: Program) -> Iterator[Decimal]:
    for rule in program.rules:
        per = getattr(rule, "per", None)
        if not isinstance(per, Decimal) or per <= 0:
            continue
        yield from (per, 2 * per)
        unit = getattr(rule, "points_per_unit", None)
        for item in getattr(rule, "caps", ()):
            limit = getattr(item, "points", None)
            if isinstance(unit, int) and unit > 0 and isinstance(limit, int):
                yield per * limit / unit  # the amount that just fills a points cap
    ladder = program.tiers
    if ladder is not None and ladder.metric == "amount_spent":
        yield from (lvl.threshold for lvl in ladder.levels)
    for item in program.badges:
        target = getattr(item.criterion, "target", None)
        if isinstance(target, Decimal) and getattr(item.criterion, "metric", "") == "amount_spent":
            yield target


def _windows(program: Program) -> Iterator[datetime]:
    for raffle in program.raffles:
        yield from (raffle.opens_at, raffle.closes_at)
    for item in program.rewards:
        for bound in (item.available_from, item.available_until):
            if bound is not None:
                yield bound


def probe(program: Program) -> Probe:
    """Read ``program`` once for what its policies can tell apart."""
    reader = _Reader()
    for leaf in _leaves(program):
        reader.read(leaf)
    any_kind = False
    for rule in program.rules:
        on = getattr(rule, "on", None)
        if on is None:
            any_kind = True
        else:
            reader.kinds.update(on)
    for board in program.leaderboards:
        if board.group is not None:
            reader.attribute(board.group, ["a", "b"])
    for mark in _amount_marks(program):
        reader.amounts.update(_near(mark))
    instants = {bound.astimezone(UTC) + jitter for bound in _windows(program) for jitter in
                (-_TICK, timedelta(0))}  # fmt: skip
    return Probe(
        tz=program.tz,
        kinds=tuple(sorted(reader.kinds)),
        any_kind=any_kind or not reader.kinds,
        amounts=tuple(sorted(reader.amounts)),
        attributes={name: tuple(values) for name, values in sorted(reader.attributes.items())},
        weekdays=frozenset(reader.weekdays),
        times_of_day=tuple(sorted(reader.times)),
        dates=tuple(sorted(reader.dates)),
        instants=tuple(sorted(instants)),
        recurrences=tuple(sorted(reader.recurrences, key=lambda r: r[0])),
    )
