"""Tiers: a ladder of levels members climb by a metric and keep while they qualify.

A :class:`Ladder` names the metric (points earned, amount spent or qualifying actions),
the window it is measured over (rolling, a calendar period, or lifetime), its levels,
how long a level is kept once reached (:func:`keep_for`, :func:`keep_until_period_end`,
:func:`keep_while_active`), and an optional grace period.  Upgrades happen at once;
downgrades only at a review.  Everything here is pure; the engine drives it.
"""

from __future__ import annotations

import bisect
import operator
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from decimal import Decimal
from typing import Literal, Protocol

import attrs
from dateutil.relativedelta import relativedelta

from ._metric_totals import Totals, window_total
from ._values import number
from .conditions import Condition, always, as_condition
from .context import Context
from .errors import Problem, ProgramError
from .expiry import after_wall_clock, before_wall_clock, term, term_text
from .model import Contribution
from .time import Period, parse_period, period_bounds

__all__ = [
    "Keep",
    "Ladder",
    "Level",
    "Metric",
    "keep_for",
    "keep_until_period_end",
    "keep_while_active",
    "ladder",
    "level",
]

Metric = Literal["points_earned", "amount_spent", "actions"]
METRICS: tuple[Metric, ...] = ("points_earned", "amount_spent", "actions")
_TICK = timedelta(microseconds=1)


def _fail(path: str, message: str) -> ProgramError:
    return ProgramError([Problem(path, message)])


@attrs.frozen(repr=False)
class Level:
    """One rung: reached when the metric is at least ``threshold``."""

    id: str
    threshold: Decimal
    multiplier: Decimal = Decimal(1)
    name: str = ""

    @property
    def title(self) -> str:
        return self.name or self.id

    def __repr__(self) -> str:
        bonus = "" if self.multiplier == 1 else f", x{self.multiplier} points"
        return f"<level {self.id}: from {self.threshold}{bonus}>"


def level(
    id: str, threshold: Decimal | int | str, *, multiplier: Decimal | int | str = 1, name: str = ""
) -> Level:
    """``level("gold", 1500, multiplier="1.5", name="Gold")``."""
    if not isinstance(id, str) or not id.strip():
        raise _fail("id", f"must be a non-empty string, got {id!r}")
    value = number(threshold, "threshold")
    factor = number(multiplier, "multiplier")
    if factor < 1:
        raise _fail("multiplier", f"must be at least 1, got {multiplier!r}")
    return Level(id=id, threshold=value, multiplier=factor, name=name or id.capitalize())


class Keep(Protocol):
    """How long a level is kept: when it is first reviewed after being reached, and when
    again after a review that kept it."""

    def first_review(self, since: datetime, activity: datetime | None, tz: tzinfo) -> datetime: ...

    def next_review(self, review: datetime, activity: datetime | None, tz: tzinfo) -> datetime: ...

    @property
    def uses_activity(self) -> bool: ...


@attrs.frozen(repr=False)
class _KeepFor:
    span: relativedelta = attrs.field(eq=False)
    text: str = attrs.field(init=False)
    uses_activity = False

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "text", term_text(self.span))

    def first_review(self, since: datetime, activity: datetime | None, tz: tzinfo) -> datetime:
        return after_wall_clock(since, self.span, tz)

    def next_review(self, review: datetime, activity: datetime | None, tz: tzinfo) -> datetime:
        return after_wall_clock(review, self.span, tz)

    def __repr__(self) -> str:
        return f"<kept for {self.text}, then reviewed>"


@attrs.frozen(repr=False)
class _KeepUntilPeriodEnd:
    period: Period
    uses_activity = False

    def _end_after(self, instant: datetime, tz: tzinfo, periods: int) -> datetime:
        _, end = period_bounds(instant.astimezone(tz), self.period)
        for _ in range(periods):
            _, end = period_bounds(end, self.period)
        return end.astimezone(UTC)

    def first_review(self, since: datetime, activity: datetime | None, tz: tzinfo) -> datetime:
        return self._end_after(since, tz, 1)  # the rest of this period and all the next

    def next_review(self, review: datetime, activity: datetime | None, tz: tzinfo) -> datetime:
        return self._end_after(review, tz, 0)  # qualified in the last period: keep this one

    def __repr__(self) -> str:
        return f"<kept until the end of the next {self.period}>"


@attrs.frozen(repr=False)
class _KeepWhileActive:
    span: relativedelta = attrs.field(eq=False)
    text: str = attrs.field(init=False)
    uses_activity = True

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "text", term_text(self.span))

    def first_review(self, since: datetime, activity: datetime | None, tz: tzinfo) -> datetime:
        latest = since if activity is None else max(since, activity)
        return after_wall_clock(latest, self.span, tz)

    def next_review(self, review: datetime, activity: datetime | None, tz: tzinfo) -> datetime:
        return self.first_review(review, activity, tz)

    def __repr__(self) -> str:
        return f"<kept until {self.text} without a qualifying action>"


def keep_for(length: relativedelta | timedelta | Mapping[str, int]) -> Keep:
    """A level is reviewed ``length`` after it was reached, then every ``length``."""
    return _KeepFor(term(length, path="keep"))


def keep_until_period_end(period: Period) -> Keep:
    """A level is kept for the rest of the period it was reached in and all the next;
    then reviewed against the period just ended."""
    return _KeepUntilPeriodEnd(parse_period(period, path="keep.period"))


def keep_while_active(length: relativedelta | timedelta | Mapping[str, int]) -> Keep:
    """A level lapses after ``length`` without a qualifying action (the seed's "24 days
    left before your Gold level expires")."""
    return _KeepWhileActive(term(length, path="keep"))


Window = relativedelta | Period | None


@attrs.frozen(repr=False)
class Ladder:
    """The tier programme: metric, window, levels (ascending), keep policy, grace."""

    metric: Metric
    levels: tuple[Level, ...]
    window: Window
    keep: Keep
    grace: relativedelta | None
    qualifying: Condition = always
    count_pending: bool = False
    _ranks: Mapping[str, int] = attrs.field(init=False, eq=False)
    # The last window start computed: an action asks for the same one twice (to prune
    # the metric, then to read it).  A one-element list, replaced whole (thread-safe).
    _last_since: list[tuple[datetime, tzinfo, datetime | None]] = attrs.field(
        init=False, eq=False, repr=False
    )

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "_ranks", {lvl.id: i for i, lvl in enumerate(self.levels)})
        object.__setattr__(self, "_last_since", [])

    # ------------------------------------------------------------ levels

    def has_level(self, level_id: str) -> bool:
        return level_id in self._ranks

    def rank(self, level_id: str | None) -> int:
        """0-based position on the ladder; -1 for no level."""
        return -1 if level_id is None else self._ranks[level_id]

    def get(self, level_id: str) -> Level:
        return self.levels[self._ranks[level_id]]

    def level_for(self, value: Decimal) -> Level | None:
        reached = [lvl for lvl in self.levels if value >= lvl.threshold]
        return reached[-1] if reached else None

    def next_level(self, level_id: str | None) -> Level | None:
        position = self.rank(level_id) + 1
        return self.levels[position] if position < len(self.levels) else None

    # ------------------------------------------------------------ the metric

    def contribution(self, ctx: Context, points: int) -> Decimal:
        """What a qualifying action adds to the metric (``points``: what it earned)."""
        if self.metric == "points_earned":
            return Decimal(points)
        if self.metric == "amount_spent":
            return ctx.action.amount if ctx.action.amount is not None else Decimal(0)
        return Decimal(1)

    def _since(self, at: datetime, tz: tzinfo) -> datetime | None:
        """The start of the window that ends at ``at`` (exclusive start for rolling)."""
        if self.window is None:
            return None
        last = self._last_since
        if last:
            when, zone, since = last[0]
            if zone is tz and when == at:
                return since
        since = self._window_start(at, tz)
        last[:] = [(at, tz, since)]
        return since

    def _window_start(self, at: datetime, tz: tzinfo) -> datetime | None:
        assert self.window is not None
        if isinstance(self.window, str):
            start, _ = period_bounds(at.astimezone(tz), self.window)
            return start.astimezone(UTC) - _TICK  # contributions at the start count
        return before_wall_clock(at, self.window, tz)  # a skipped wall time: the jump

    def value(
        self,
        metric: Sequence[Contribution],
        at: datetime,
        tz: tzinfo,
        *,
        ordered: bool = False,
        totals: Totals | None = None,
    ) -> Decimal:
        """The metric at ``at``: contributions in the window ending at ``at`` (inclusive).
        ``ordered``: ``metric`` is in time order (as the engine keeps it), so the window's
        ends are found by bisection and only the contributions inside it are read.
        ``totals``: ``metric``'s running totals (:mod:`rewardkit._metric_totals`), for a
        value to compare rather than show: then nothing is summed."""
        since = self._since(at, tz)
        if ordered:
            low = 0 if since is None else bisect.bisect_right(metric, since, key=contribution_at)
            high = bisect.bisect_right(metric, at, lo=low, key=contribution_at)
            if totals is not None:
                return window_total(totals, metric, low, high)
            return sum(map(_contribution_value, metric[low:high]), Decimal(0))
        return sum(
            (c.value for c in metric if c.at <= at and (since is None or c.at > since)),
            Decimal(0),
        )

    def value_at_review(
        self,
        metric: Sequence[Contribution],
        at: datetime,
        tz: tzinfo,
        *,
        ordered: bool = False,
        totals: Totals | None = None,
    ) -> Decimal:
        """At a review, a calendar window means the period just ended."""
        if isinstance(self.window, str):
            return self.value(metric, at - _TICK, tz, ordered=ordered, totals=totals)
        return self.value(metric, at, tz, ordered=ordered, totals=totals)

    def prune(
        self, metric: Iterable[Contribution], now: datetime, tz: tzinfo
    ) -> tuple[Contribution, ...]:
        """Drop contributions no future window can see; fold lifetime ones into one."""
        return self.prune_sorted(sorted(metric, key=contribution_at), now, tz)

    def prune_sorted(
        self, items: Sequence[Contribution], now: datetime, tz: tzinfo
    ) -> tuple[Contribution, ...]:
        """:meth:`prune` for contributions already in time order."""
        if self.window is None:
            if len(items) <= 1:
                return tuple(items)
            return (Contribution(items[0].at, sum((c.value for c in items), Decimal(0))),)
        horizon = self._since(now, tz)
        if isinstance(self.window, str) and horizon is not None:
            horizon = self._window_start(horizon, tz)  # keep the previous period too
        if horizon is None:
            return tuple(items)
        return tuple(items[bisect.bisect_right(items, horizon, key=contribution_at) :])

    def __repr__(self) -> str:
        rungs = ", ".join(f"{lvl.id} {lvl.threshold}" for lvl in self.levels)
        return f"<tiers on {self.metric}: {rungs}>"


def contribution_at(contribution: Contribution) -> datetime:
    return contribution.at


_contribution_value = operator.attrgetter("value")


def ladder(
    *,
    metric: Metric,
    levels: Iterable[Level],
    window: relativedelta | timedelta | Mapping[str, int] | Period | None = None,
    keep: Keep | None = None,
    grace: relativedelta | timedelta | Mapping[str, int] | None = None,
    qualifying: Condition | None = None,
    count_pending: bool = False,
) -> Ladder:
    """A tier ladder.  ``window``: ``{"months": 12}`` (rolling), ``"year"`` (calendar)
    or ``None`` (lifetime).  ``keep`` defaults to a review every 12 months."""
    problems: list[Problem] = []
    if metric not in METRICS:
        problems.append(
            Problem("tiers.metric", f"must be one of {', '.join(METRICS)}; got {metric!r}")
        )
    rungs = tuple(levels)
    if not rungs:
        problems.append(Problem("tiers.levels", "needs at least one level"))
    ids = [lvl.id for lvl in rungs]
    for i, lvl in enumerate(rungs):
        if ids.index(lvl.id) != i:
            problems.append(Problem(f"tiers.levels[{i}].id", f"duplicate level {lvl.id!r}"))
        if i and lvl.threshold <= rungs[i - 1].threshold:
            problems.append(
                Problem(
                    f"tiers.levels[{i}].threshold",
                    f"must be above {rungs[i - 1].id}'s {rungs[i - 1].threshold}, "
                    f"got {lvl.threshold}",
                )
            )
    if problems:
        raise ProgramError(problems)
    span: Window
    if window is None or isinstance(window, str):
        span = None if window is None else parse_period(window, path="tiers.window")
    else:
        span = term(window, path="tiers.window")
    return Ladder(
        metric=metric,
        levels=rungs,
        window=span,
        keep=keep if keep is not None else keep_for({"months": 12}),
        grace=None if grace is None else term(grace, path="tiers.grace"),
        qualifying=always if qualifying is None else as_condition(qualifying),
        count_pending=count_pending,
    )
