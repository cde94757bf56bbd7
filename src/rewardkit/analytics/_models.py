"""The member models: RFM quintiles and segments, churn risk, lifetime value, the
Pareto curve.  Pure arithmetic on a member's facts; no store, no clock."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import ROUND_CEILING, ROUND_HALF_EVEN, Decimal, localcontext
from typing import NamedTuple, TypeVar

from ..model import MemberState
from ._results import (
    Assumptions,
    Pareto,
    ParetoPoint,
    RFMModel,
    RFMScore,
    Segment,
)

__all__ = [
    "SEGMENT_RULES",
    "Facts",
    "assess",
    "churn_risk_score",
    "facts_of",
    "lifetime_value",
    "pareto_curve",
    "quintile_boundaries",
    "rfm_score",
    "segment_for",
    "segment_of",
    "top_share",
]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)
_RISK = Decimal("0.0001")
_ONE = Decimal(1)

T = TypeVar("T", int, Decimal, timedelta)

SEGMENT_RULES: tuple[tuple[Segment, str, str], ...] = (
    (Segment.CHAMPIONS, "R ≥ 4 and F + M ≥ 8", "Recognise them: perks, early access, referrals."),
    (Segment.NEW, "R ≥ 4 and F = 1", "Make the second visit easy: a welcome-back bonus."),
    (Segment.LOYAL, "R ≥ 3 and F + M ≥ 6", "Keep them close: tier benefits, personal thanks."),
    (Segment.POTENTIAL, "R ≥ 3", "Build the habit: a bonus for visiting again this week."),
    (Segment.AT_RISK, "R ≤ 2 and F + M ≥ 6", "Win them back personally, before they go."),
    (Segment.HIBERNATING, "R = 2", "Remind them of their points and the next reward."),
    (Segment.LOST, "R = 1", "A low-cost win-back, or let them go."),
)
"""The segment table, first match wins: (segment, rule on the R, F, M scores, action)."""


def micros(instant: datetime) -> int:
    return (instant - EPOCH) // _US


class Facts(NamedTuple):
    """What the models need to know about a member, read from their state."""

    visits: int  # actions of the counted kinds
    first: int  # microseconds since the epoch of the first action; -1: none
    last: int  # of the latest action of the counted kinds; -1: none
    spent: Decimal


def facts_of(state: MemberState, kinds: frozenset[str] | None = None) -> Facts:
    """A member's visits, first and last visit and spend.  With ``kinds``, visits and
    the last visit count those kinds only; the first visit is the first action of any
    kind (the state does not keep a first instant per kind)."""
    if kinds is None:
        visits = sum(state.kinds.values())
        latest = list(state.activity.values()) or (
            [state.last_activity] if state.last_activity else []
        )
    else:
        visits = sum(n for kind, n in state.kinds.items() if kind in kinds)
        latest = [instant for kind, instant in state.activity.items() if kind in kinds]
    first = -1 if state.first_seen is None or not visits else micros(state.first_seen)
    last = micros(max(latest)) if latest and visits else -1
    return Facts(visits, first, last, state.spent)


# ---------------------------------------------------------------- RFM


def quintile_boundaries(ordered: Sequence[T]) -> tuple[T, ...]:
    """The values at positions ceil(k x n / 5) - 1, k = 1..4, of ``ordered`` (worst
    first): a value scores 1 + the number of boundaries it is strictly better than."""
    n = len(ordered)
    return tuple(ordered[-(-k * n // 5) - 1] for k in range(1, 5)) if n else ()


def _higher_is_better(value: T, boundaries: Sequence[T]) -> int:
    return 1 + sum(1 for b in boundaries if value > b)


def _lower_is_better(value: T, boundaries: Sequence[T]) -> int:
    return 1 + sum(1 for b in boundaries if value < b)


def segment_for(recency: int, frequency: int, monetary: int) -> Segment:
    """The named segment of R, F, M scores (``SEGMENT_RULES``, first match wins)."""
    fm = frequency + monetary
    if recency >= 4 and fm >= 8:
        return Segment.CHAMPIONS
    if recency >= 4 and frequency == 1:
        return Segment.NEW
    if recency >= 3:
        return Segment.LOYAL if fm >= 6 else Segment.POTENTIAL
    if fm >= 6:
        return Segment.AT_RISK
    return Segment.HIBERNATING if recency == 2 else Segment.LOST


def score_facts(facts: Facts, model: RFMModel, at: int) -> RFMScore | None:
    if facts.visits <= 0 or facts.last < 0 or not model.members:
        return None
    silent = timedelta(microseconds=max(at - facts.last, 0))
    r = _lower_is_better(silent, model.recency)
    f = _higher_is_better(facts.visits, model.frequency)
    m = _higher_is_better(facts.spent, model.monetary)
    return RFMScore(r, f, m, segment_for(r, f, m))


def rfm_score(state: MemberState, model: RFMModel, at: datetime) -> RFMScore | None:
    """A member's R, F, M scores and segment at ``at`` against ``model``'s boundaries
    (``Insights.rfm.model``); ``None`` for a member without a visit."""
    return score_facts(facts_of(state, model.kinds), model, micros(at))


def segment_of(state: MemberState, model: RFMModel, at: datetime) -> Segment | None:
    """The member's RFM segment at ``at``: what a ``segment`` condition tests."""
    score = rfm_score(state, model, at)
    return None if score is None else score.segment


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
