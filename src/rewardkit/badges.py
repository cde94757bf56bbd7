"""Badges: achievements a member earns by what they do.

A :class:`Badge` pairs a criterion with how it is awarded (once or repeatedly), an
optional bonus, and whether it is hidden until earned.  Criteria are small frozen
objects behind one protocol; each folds an action into a :class:`BadgeProgress` and
says how far the member is (``7 / 10``).  Built-ins: :func:`count`, :func:`threshold`,
:func:`streak`, :func:`within`.  Streak periods and windows use the programme's zone.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, tzinfo
from decimal import Decimal
from typing import Literal, Protocol, runtime_checkable

import attrs
from dateutil.relativedelta import relativedelta

from ._compose import Condition, always, as_condition
from ._values import number
from .context import Context
from .errors import Problem, ProgramError
from .expiry import after_wall_clock, term, term_text
from .model import DEFAULT_CURRENCY, BadgeProgress

__all__ = [
    "Badge",
    "BadgeCriterion",
    "BadgeProgress",
    "badge",
    "count",
    "streak",
    "threshold",
    "within",
]

StreakPeriod = Literal["day", "week"]
BadgeMetric = Literal["points_earned", "amount_spent"]


def _fail(path: str, message: str) -> ProgramError:
    return ProgramError([Problem(path, message)])


def _positive(value: object, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise _fail(path, f"must be a positive integer, got {value!r}")
    return value


@runtime_checkable
class BadgeCriterion(Protocol):
    """How an action moves a member towards a badge."""

    def step(self, ctx: Context, progress: BadgeProgress, points: int) -> BadgeProgress:
        """The progress after ``ctx.action`` (which earned ``points``)."""
        ...

    def reached(self, progress: BadgeProgress) -> bool: ...

    def standing(
        self, progress: BadgeProgress, at: datetime, tz: tzinfo
    ) -> tuple[Decimal, Decimal]:
        """``(current, target)`` at ``at`` for showing "7 / 10" (``tz``: the programme's
        zone, for criteria whose progress lapses with time, such as a broken streak)."""
        ...

    def reset(self, progress: BadgeProgress) -> BadgeProgress:
        """The progress after the badge was awarded (for repeatable badges)."""
        ...


@attrs.frozen(repr=False)
class _Count:
    target: int
    when: Condition = always

    def step(self, ctx: Context, progress: BadgeProgress, points: int) -> BadgeProgress:
        return attrs.evolve(progress, count=progress.count + 1) if self.when(ctx) else progress

    def reached(self, progress: BadgeProgress) -> bool:
        return progress.count >= self.target

    def standing(
        self, progress: BadgeProgress, at: datetime, tz: tzinfo
    ) -> tuple[Decimal, Decimal]:
        return Decimal(min(progress.count, self.target)), Decimal(self.target)

    def reset(self, progress: BadgeProgress) -> BadgeProgress:
        return attrs.evolve(progress, count=progress.count - self.target)

    def __repr__(self) -> str:
        what = "" if self.when is always else f" matching {self.when!r}"
        return f"<{self.target} actions{what}>"


def count(target: int, when: Condition | None = None) -> BadgeCriterion:
    """``target`` actions matching ``when`` (any action by default)."""
    return _Count(_positive(target, "target"), always if when is None else as_condition(when))


@attrs.frozen(repr=False)
class _Threshold:
    metric: BadgeMetric
    target: Decimal
    when: Condition = always

    def step(self, ctx: Context, progress: BadgeProgress, points: int) -> BadgeProgress:
        if not self.when(ctx):
            return progress
        if self.metric == "points_earned":
            added = Decimal(points)
        else:
            added = ctx.action.amount if ctx.action.amount is not None else Decimal(0)
        return attrs.evolve(progress, value=progress.value + added) if added else progress

    def reached(self, progress: BadgeProgress) -> bool:
        return progress.value >= self.target

    def standing(
        self, progress: BadgeProgress, at: datetime, tz: tzinfo
    ) -> tuple[Decimal, Decimal]:
        return min(progress.value, self.target), self.target

    def reset(self, progress: BadgeProgress) -> BadgeProgress:
        return attrs.evolve(progress, value=progress.value - self.target)

    def __repr__(self) -> str:
        return f"<{self.metric} reaches {self.target}>"


def threshold(
    metric: BadgeMetric, target: Decimal | int | str, when: Condition | None = None
) -> BadgeCriterion:
    """The member's ``metric`` (points_earned or amount_spent) reaches ``target``."""
    if metric not in ("points_earned", "amount_spent"):
        raise _fail("metric", f"must be points_earned or amount_spent, got {metric!r}")
    value = number(target, "target")
    if value <= 0:
        raise _fail("target", f"must be greater than 0, got {target!r}")
    return _Threshold(metric, value, always if when is None else as_condition(when))


def _period_index(local: datetime, per: StreakPeriod) -> int:
    day = local.date().toordinal()
    return day if per == "day" else (day - local.weekday()) // 7


@attrs.frozen(repr=False)
class _Streak:
    target: int
    per: StreakPeriod
    when: Condition = always

    def step(self, ctx: Context, progress: BadgeProgress, points: int) -> BadgeProgress:
        if not self.when(ctx):
            return progress
        index = _period_index(ctx.local, self.per)
        last = progress.period
        if last is not None and index <= last:
            return progress  # same period (or a late, back-dated action): no change
        length = progress.count + 1 if last is not None and index == last + 1 else 1
        return attrs.evolve(progress, count=length, period=index)

    def reached(self, progress: BadgeProgress) -> bool:
        return progress.count >= self.target

    def standing(
        self, progress: BadgeProgress, at: datetime, tz: tzinfo
    ) -> tuple[Decimal, Decimal]:
        last = progress.period
        broken = last is None or _period_index(at.astimezone(tz), self.per) > last + 1
        current = 0 if broken else min(progress.count, self.target)
        return Decimal(current), Decimal(self.target)

    def reset(self, progress: BadgeProgress) -> BadgeProgress:
        return attrs.evolve(progress, count=0)

    def __repr__(self) -> str:
        what = "" if self.when is always else f" with {self.when!r}"
        return f"<{self.target} consecutive {self.per}s{what}>"


def streak(target: int, per: StreakPeriod = "day", when: Condition | None = None) -> BadgeCriterion:
    """``target`` consecutive days (or weeks) each with a matching action."""
    if per not in ("day", "week"):
        raise _fail("per", f"must be day or week, got {per!r}")
    return _Streak(_positive(target, "target"), per, always if when is None else as_condition(when))


@attrs.frozen(repr=False)
class _Within:
    target: int
    span: relativedelta = attrs.field(eq=False)
    when: Condition = always
    key: str = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "key", term_text(self.span))

    def _live(self, times: tuple[datetime, ...], at: datetime, tz: tzinfo) -> list[datetime]:
        """The instants up to ``at`` whose window is still open at ``at``: an action
        exactly ``span`` after another no longer counts together with it.  The span is
        added on the programme's wall clock, like an expiry term."""
        return [t for t in times if t <= at and at < after_wall_clock(t, self.span, tz)]

    def step(self, ctx: Context, progress: BadgeProgress, points: int) -> BadgeProgress:
        if not self.when(ctx):
            return progress
        at = ctx.action.at.astimezone(UTC)
        times = tuple(sorted((*progress.times, at)))
        live = self._live(times, at, ctx.tz)
        # Keep what a later action may still count with: the latest ``target`` instants
        # whose window is open at the latest one (older ones can never count again).
        latest = times[-1]
        kept = [t for t in times if latest < after_wall_clock(t, self.span, ctx.tz)]
        return attrs.evolve(progress, count=len(live), times=tuple(kept[-self.target :]))

    def reached(self, progress: BadgeProgress) -> bool:
        return progress.count >= self.target

    def standing(
        self, progress: BadgeProgress, at: datetime, tz: tzinfo
    ) -> tuple[Decimal, Decimal]:
        live = len(self._live(progress.times, at.astimezone(UTC), tz))
        return Decimal(min(live, self.target)), Decimal(self.target)

    def reset(self, progress: BadgeProgress) -> BadgeProgress:
        return attrs.evolve(progress, count=0, times=())

    def __repr__(self) -> str:
        what = "" if self.when is always else f" matching {self.when!r}"
        return f"<{self.target} actions{what} within {self.key}>"


def within(
    target: int,
    span: relativedelta | timedelta | Mapping[str, int],
    when: Condition | None = None,
) -> BadgeCriterion:
    """``target`` matching actions within any window of ``span`` ("5 weekend purchases
    within 30 days").  The window is open from an action until ``span`` after it on the
    programme's wall clock (30 days stay 30 calendar days across a DST change), that
    instant excluded."""
    return _Within(
        _positive(target, "target"),
        term(span, path="within"),
        always if when is None else as_condition(when),
    )


@attrs.frozen(repr=False)
class Badge:
    """An achievement: its criterion, and how it is awarded."""

    id: str
    criterion: BadgeCriterion
    name: str = ""
    description: str = ""
    repeatable: bool = False
    bonus: int = 0
    currency: str = DEFAULT_CURRENCY
    hidden: bool = False

    @property
    def title(self) -> str:
        return self.name or self.id

    def __repr__(self) -> str:
        again = ", repeatable" if self.repeatable else ""
        bonus = f", +{self.bonus} {self.currency}" if self.bonus else ""
        return f"<badge {self.id}: {self.criterion!r}{again}{bonus}>"


def badge(
    id: str,
    criterion: BadgeCriterion,
    *,
    name: str = "",
    description: str = "",
    repeatable: bool = False,
    bonus: int = 0,
    currency: str = DEFAULT_CURRENCY,
    hidden: bool = False,
) -> Badge:
    """``badge("regular", count(10, kind("visit")), name="Regular", bonus=50)``."""
    problems = []
    if not isinstance(id, str) or not id.strip():
        problems.append(Problem("id", f"must be a non-empty string, got {id!r}"))
    if not isinstance(criterion, BadgeCriterion):
        problems.append(Problem("criterion", f"is not a badge criterion: {criterion!r}"))
    if isinstance(bonus, bool) or not isinstance(bonus, int) or bonus < 0:
        problems.append(Problem("bonus", f"must be a non-negative integer, got {bonus!r}"))
    if problems:
        raise ProgramError(problems)
    return Badge(id, criterion, name or id.replace("-", " ").capitalize(), description,
                 repeatable, bonus, currency, hidden)  # fmt: skip
