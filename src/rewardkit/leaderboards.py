"""Leaderboards: members ranked by a metric, over all time or per calendar period in
the programme's zone, optionally within a group (a team, a store, a city).

The engine turns each action into score changes; the store keeps the scores indexed
so that the top N and a member's rank are read without scanning every member.  Ties
are broken by member id, so ranks are deterministic.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from decimal import ROUND_FLOOR, Decimal
from typing import Literal

import attrs

from ._compose import Condition, always, as_condition
from .context import Context
from .errors import Problem, ProgramError
from .model import ScoreChange
from .time import PERIODS, Period, period_key

__all__ = ["Leaderboard", "Standing", "leaderboard"]

BoardMetric = Literal["points_earned", "amount_spent", "actions", "badges"]
METRICS: tuple[BoardMetric, ...] = ("points_earned", "amount_spent", "actions", "badges")
_CENTS = Decimal(100)


@attrs.frozen
class Standing:
    """A member's place on a board: 1-based rank and score."""

    rank: int
    member: str
    score: Decimal


@attrs.frozen(repr=False)
class Leaderboard:
    """A ranking of members by ``metric`` over ``per`` ("all" or a calendar period),
    within the action attribute ``group`` if given, counting actions matching ``when``."""

    id: str
    metric: BoardMetric
    per: Period | Literal["all"] = "all"
    group: str | None = None
    when: Condition = always
    name: str = ""

    @property
    def title(self) -> str:
        return self.name or self.id

    def period(self, at: datetime, tz: tzinfo) -> str:
        """The key of the board's period containing ``at`` ("all" for all time)."""
        return "all" if self.per == "all" else period_key(at.astimezone(tz), self.per)

    def units(self, score: int) -> Decimal:
        """A stored score in the metric's units (amounts are stored in hundredths)."""
        return Decimal(score) / _CENTS if self.metric == "amount_spent" else Decimal(score)

    def change(self, ctx: Context, points: int, badges: int, sign: int = 1) -> ScoreChange | None:
        """What ``ctx.action`` adds to this board (``None``: nothing)."""
        group = ""
        if self.group is not None:
            value = ctx.action.attributes.get(self.group)
            if value is None:
                return None
            group = str(value)
        if not self.when(ctx):
            return None
        if self.metric == "points_earned":
            delta = points
        elif self.metric == "amount_spent":
            amount = ctx.action.amount or Decimal(0)
            delta = int((amount * _CENTS).to_integral_value(rounding=ROUND_FLOOR))
        elif self.metric == "actions":
            delta = 1
        else:
            delta = badges
        if delta == 0:
            return None
        return ScoreChange(
            self.id, self.period(ctx.action.at, ctx.tz), group, ctx.member.id, sign * delta
        )

    def __repr__(self) -> str:
        scope = "all time" if self.per == "all" else f"per {self.per}"
        group = "" if self.group is None else f" within each {self.group}"
        return f"<leaderboard {self.id}: {self.metric}, {scope}{group}>"


def leaderboard(
    id: str,
    *,
    metric: BoardMetric,
    per: Period | Literal["all"] = "all",
    group: str | None = None,
    when: Condition | None = None,
    name: str = "",
) -> Leaderboard:
    """``leaderboard("weekly-points", metric="points_earned", per="week", group="store")``."""
    problems = []
    if not isinstance(id, str) or not id.strip():
        problems.append(Problem("id", f"must be a non-empty string, got {id!r}"))
    if metric not in METRICS:
        problems.append(Problem("metric", f"must be one of {', '.join(METRICS)}; got {metric!r}"))
    if per != "all" and per not in PERIODS:
        problems.append(Problem("per", f"must be all or one of {', '.join(PERIODS)}; got {per!r}"))
    if group is not None and (not isinstance(group, str) or not group.strip()):
        problems.append(Problem("group", f"must name an action attribute, got {group!r}"))
    if problems:
        raise ProgramError(problems)
    condition = always if when is None else as_condition(when)
    return Leaderboard(id, metric, per, group, condition, name or id)
