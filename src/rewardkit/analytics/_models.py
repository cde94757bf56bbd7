"""The member models: churn risk, lifetime value, the Pareto curve, and the RFM scores
of :mod:`rewardkit.rfm` (one definition for the analytics and for rules).  Pure
arithmetic on a member's facts; no store, no clock."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import ROUND_CEILING, ROUND_HALF_EVEN, Decimal, localcontext
from typing import NamedTuple

from ..model import MemberState
from ..rfm import (
    SEGMENT_RULES,
    Facts,
    facts_of,
    micros,
    quintile_boundaries,
    rfm_score,
    score_facts,
    segment_for,
    segment_of,
)
from ._results import Assumptions, Pareto, ParetoPoint

__all__ = [
    "SEGMENT_RULES",
    "Facts",
    "assess",
    "churn_risk_score",
    "facts_of",
    "lifetime_value",
    "micros",
    "pareto_curve",
    "quintile_boundaries",
    "rfm_score",
    "score_facts",
    "segment_for",
    "segment_of",
    "top_share",
]

_US = timedelta(microseconds=1)
_RISK = Decimal("0.0001")
_ONE = Decimal(1)


# ---------------------------------------------------------------- churn and value


def churn_risk_score(overdue: Decimal, prior_active: Decimal) -> Decimal:
    """1 - P(active | silent for ``overdue`` usual intervals), visits being a Poisson
    process at the member's usual rate and ``prior_active`` the prior belief."""
    with localcontext() as ctx:
        ctx.prec = 28
        if prior_active == 1:
            return Decimal(0)
        decay = (-overdue).exp()
        kept = prior_active * decay
        alive = kept / (kept + (_ONE - prior_active)) if kept else Decimal(0)
        return (_ONE - alive).quantize(_RISK, rounding=ROUND_HALF_EVEN)


class Assessment(NamedTuple):
    cadence: int  # microseconds
    own_cadence: bool
    silent: int
    overdue: Decimal
    risk: Decimal
    expected_spend: Decimal
    lifetime_value: Decimal
    value_at_risk: Decimal


def assess(facts: Facts, at: int, typical: int, assumptions: Assumptions) -> Assessment:
    """Churn risk and value of one member, ``typical`` being the programme's typical
    interval between visits (microseconds)."""
    quantum = assumptions.money_quantum
    intervals = max(facts.visits - 1, 0)
    span = max(facts.last - facts.first, 0) if facts.visits else 0
    weight = assumptions.prior_intervals
    cadence = (
        (span + weight * typical) // (intervals + weight) if intervals + weight > 0 else typical
    )
    cadence = max(cadence, 1)
    silent = max(at - facts.last, 0) if facts.last >= 0 else 0
    overdue = Decimal(silent) / Decimal(cadence)
    risk = churn_risk_score(overdue, assumptions.prior_active)
    tenure = max(at - facts.first, 0) if facts.first >= 0 else 0
    pace_over = max(tenure, assumptions.min_tenure // _US)
    expected = facts.spent * Decimal(assumptions.horizon // _US) / Decimal(pace_over)
    margin = assumptions.margin
    value = margin * (facts.spent + expected * (_ONE - risk))
    at_risk = margin * expected * risk
    return Assessment(
        cadence=cadence,
        own_cadence=facts.visits >= 2 and span > 0,
        silent=silent,
        overdue=overdue.quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN),
        risk=risk,
        expected_spend=expected.quantize(quantum, rounding=ROUND_HALF_EVEN),
        lifetime_value=value.quantize(quantum, rounding=ROUND_HALF_EVEN),
        value_at_risk=at_risk.quantize(quantum, rounding=ROUND_HALF_EVEN),
    )


def lifetime_value(
    state: MemberState,
    at: datetime,
    *,
    typical_cadence: timedelta,
    assumptions: Assumptions | None = None,
) -> Decimal:
    """margin x (spent + expected spend over the horizon x P(active)): see the module
    documentation of :mod:`rewardkit.analytics` for the model and its limits."""
    settings = assumptions or Assumptions()
    facts = facts_of(state, settings.kinds)
    return assess(facts, micros(at), typical_cadence // _US, settings).lifetime_value


# ---------------------------------------------------------------- Pareto


def _ceil(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_CEILING))


def _share(part: int | Decimal, whole: int | Decimal) -> Decimal:
    return Decimal(part) / Decimal(whole) if whole else Decimal(0)


def top_share(values: Sequence[Decimal | int], fraction: Decimal | int | str) -> Decimal:
    """The share of the total held by the top ``fraction`` of ``values``: the largest
    ceil(fraction x n) values over the sum (0 when the sum is 0)."""
    share = Decimal(fraction)
    if not 0 <= share <= 1:
        raise ValueError(f"fraction must be between 0 and 1: {fraction}")
    ordered = sorted(values, reverse=True)
    count = _ceil(share * len(ordered))
    return _share(sum(ordered[:count], Decimal(0)), sum(ordered, Decimal(0)))


def pareto_curve(
    spend: Sequence[int],
    points: Sequence[int],
    *,
    scale: int = 0,
    top: Decimal = Decimal("0.2"),
    steps: int = 100,
) -> Pareto:
    """The Pareto curve of members sorted by spend (highest first; ties keep their
    order), ``spend`` in units of 10**-scale, ``points`` aligned with it."""
    n = len(spend)
    order = sorted(range(n), key=spend.__getitem__, reverse=True)
    total_spend = sum(spend)
    total_points = sum(points)
    top_members = _ceil(top * n)
    marks = sorted({-(-j * n // steps) for j in range(steps + 1)} | {top_members})
    cumulative: dict[int, tuple[int, int]] = {0: (0, 0)}
    running_spend = running_points = 0
    wanted = iter(marks[1:] if marks and marks[0] == 0 else marks)
    mark = next(wanted, None)
    for count, index in enumerate(order, start=1):
        running_spend += spend[index]
        running_points += points[index]
        while mark is not None and mark == count:
            cumulative[count] = (running_spend, running_points)
            mark = next(wanted, None)
    curve = tuple(
        ParetoPoint(
            members=count,
            fraction=_share(count, n),
            spend_share=_share(cumulative[count][0], total_spend),
            points_share=_share(cumulative[count][1], total_points),
        )
        for count in marks
        if count in cumulative
    )
    top_spend, top_points = cumulative.get(top_members, (0, 0))
    return Pareto(
        members=n,
        spend=Decimal(total_spend).scaleb(-scale),
        points=total_points,
        top_fraction=top,
        top_members=top_members,
        top_spend_share=_share(top_spend, total_spend),
        top_points_share=_share(top_points, total_points),
        curve=curve,
    )
