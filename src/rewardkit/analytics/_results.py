"""What the analytics return: frozen attrs classes holding ints, Decimals and instants.

The HTML report renders these objects and nothing else, so every figure it prints is a
field here.  Money is :class:`~decimal.Decimal` and exact; shares and rates are
Decimals between 0 and 1.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import attrs

from ..rfm import RFMModel, RFMScore, Segment
from ..time import PERIODS, Period

__all__ = [
    "RFM",
    "Assumptions",
    "Churn",
    "ChurnRisk",
    "Insights",
    "Liability",
    "Lifetime",
    "MemberValue",
    "Pareto",
    "ParetoPoint",
    "PeriodFlow",
    "RFMModel",
    "RFMScore",
    "RuleCost",
    "Segment",
    "SegmentSummary",
    "TierCount",
    "TierMove",
    "Tiers",
    "Totals",
]

_DAY = timedelta(days=1)


def _decimal(value: object) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (Decimal, int, str)):
        raise TypeError(f"expected a Decimal, int or str, got {value!r}")
    result = Decimal(value)
    if not result.is_finite():
        raise ValueError(f"expected a finite number, got {value!r}")
    return result


def _optional_decimal(value: object) -> Decimal | None:
    return None if value is None else _decimal(value)


def _kinds(value: Iterable[str] | None) -> frozenset[str] | None:
    if value is None:
        return None
    return frozenset([value] if isinstance(value, str) else value)


def _unit_interval(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if isinstance(value, Decimal) and not 0 <= value <= 1:
        raise ValueError(f"{attribute.name!r} must be between 0 and 1: {value}")


def _not_negative(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if isinstance(value, Decimal) and value < 0:
        raise ValueError(f"{attribute.name!r} must be >= 0: {value}")


def _positive_span(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, timedelta) or value <= timedelta(0):
        raise ValueError(f"{attribute.name!r} must be a positive timedelta: {value!r}")


def _period(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value not in PERIODS:
        raise ValueError(f"{attribute.name!r} must be one of {', '.join(PERIODS)}: {value!r}")


@attrs.frozen
class Assumptions:
    """Everything the figures depend on that the ledger cannot tell.

    ``point_value``: what one point costs the business when redeemed (money).
    ``breakage_rate``: the share of outstanding points expected never to be redeemed;
    ``None`` uses the observed breakage (expired / (redeemed + expired)), or 0 before
    any point has been redeemed or has expired.  ``kinds``: the action kinds that
    count as visits for recency, frequency and cadence (``None``: every kind).
    The churn and lifetime-value models are described in :mod:`rewardkit.analytics`.
    """

    point_value: Decimal = attrs.field(
        default=Decimal("0.01"), converter=_decimal, validator=_not_negative
    )
    breakage_rate: Decimal | None = attrs.field(
        default=None, converter=_optional_decimal, validator=_unit_interval
    )
    period: Period = attrs.field(default="month", validator=_period)
    currency: str | None = None  # None: the programme's default currency
    kinds: frozenset[str] | None = attrs.field(default=None, converter=_kinds)
    active_within: timedelta = attrs.field(default=30 * _DAY, validator=_positive_span)
    horizon: timedelta = attrs.field(default=365 * _DAY, validator=_positive_span)
    margin: Decimal = attrs.field(default=Decimal(1), converter=_decimal, validator=_not_negative)
    prior_active: Decimal = attrs.field(
        default=Decimal("0.9"), converter=_decimal, validator=_unit_interval
    )
    prior_intervals: int = 2  # pseudo-intervals at the typical cadence (shrinkage)
    default_cadence: timedelta = attrs.field(default=30 * _DAY, validator=_positive_span)
    min_tenure: timedelta = attrs.field(default=90 * _DAY, validator=_positive_span)
    lapsed_after: Decimal = attrs.field(
        default=Decimal(6), converter=_decimal, validator=_not_negative
    )  # silent for more usual intervals than this: lapsed, no longer "at risk"
    contact_limit: int = 15
    contact_risk: Decimal = attrs.field(
        default=Decimal("0.5"), converter=_decimal, validator=_unit_interval
    )
    money_quantum: Decimal = attrs.field(default=Decimal("0.01"), converter=_decimal)


@attrs.frozen
class Totals:
    """All-time totals in the analysed currency, up to the report instant."""

    members: int
    active_members: int  # a visit within ``Assumptions.active_within``
    issued: int  # earned and spendable (released holds included)
    redeemed: int
    expired: int
    reversed: int  # taken back by refunds, and debts later settled from earnings
    adjusted: int  # signed manual adjustments
    outstanding: int  # spendable balances now: issued - redeemed - expired - reversed + adjusted
    pending: int  # held for a returns window, not yet spendable
    debt: int  # points members owe after refunds of points already spent
    spend: Decimal  # money recorded on actions, net of refunds
    redemption_rate: Decimal | None  # redeemed / issued
    observed_breakage: Decimal | None  # expired / (redeemed + expired)


@attrs.frozen
class PeriodFlow:
    """Points moved in one period of the programme's calendar (day, week or month)."""

    key: str  # "2026-03", "2026-W10", "2026-03-02"
    start: datetime  # local, in the programme's time zone
    issued: int
    redeemed: int
    expired: int
    reversed: int
    adjusted: int
    outstanding: int  # balances at the end of the period (or at the report instant)
    liability: Decimal  # outstanding x point value x (1 - breakage)
    earning_members: int  # members who earned (or had points held) by an action
    upgrades: int
    downgrades: int

    @property
    def net(self) -> int:
        return self.issued - self.redeemed - self.expired - self.reversed + self.adjusted


@attrs.frozen
class Liability:
    """What the outstanding points would cost if redeemed, less expected breakage."""

    outstanding: int
    point_value: Decimal
    breakage_rate: Decimal
    breakage_observed: bool  # True: the rate is the observed one, not an assumption
    gross: Decimal  # outstanding x point value
    amount: Decimal  # gross x (1 - breakage rate)


@attrs.frozen
class ParetoPoint:
    """The top ``members`` (by spend) hold these shares of spend and of points."""

    members: int
    fraction: Decimal
    spend_share: Decimal
    points_share: Decimal


@attrs.frozen
class Pareto:
    """The 80/20: members sorted by spend, highest first, and what the top share holds.

    ``points_share`` is the share of outstanding points held by the same members
    (sorted by spend, not by points): how much of the liability your best customers hold.
    """

    members: int
    spend: Decimal
    points: int
    top_fraction: Decimal
    top_members: int
    top_spend_share: Decimal
    top_points_share: Decimal
    curve: tuple[ParetoPoint, ...]


@attrs.frozen
class SegmentSummary:
    segment: Segment
    members: int
    member_share: Decimal
    spend: Decimal
    spend_share: Decimal
    points: int  # outstanding points held
    lifetime_value: Decimal  # sum of the members' lifetime-value estimates


@attrs.frozen
class RFM:
    model: RFMModel | None  # None: nobody has visited yet
    segments: tuple[SegmentSummary, ...]  # every segment, in Segment order
    unscored: int  # members without a visit of the counted kinds


@attrs.frozen
class ChurnRisk:
    """How unusual a member's silence is against their own rhythm, and what is at stake."""

    member: str
    risk: Decimal  # 0..1: 1 - P(still active | silent this long)
    silent: timedelta  # since the last visit
    cadence: timedelta  # the usual interval between visits (shrunk towards typical)
    overdue: Decimal  # silent / cadence
    visits: int
    own_cadence: bool  # False: too few visits, the programme's typical cadence stands in
    spent: Decimal
    balance: int
    expected_spend: Decimal  # spend over the horizon at the member's pace
    value_at_risk: Decimal  # margin x expected_spend x risk
    lifetime_value: Decimal
    segment: Segment | None = None
    tier: str | None = None
    redeemable: str | None = None  # the dearest reward the balance pays for now
    next_reward: str | None = None  # the cheapest reward not yet affordable
    points_short: int = 0  # points missing for ``next_reward``


@attrs.frozen
class MemberValue:
    member: str
    lifetime_value: Decimal
    spent: Decimal
    visits: int
    segment: Segment | None


@attrs.frozen
class Churn:
    typical_cadence: timedelta
    typical_from: int  # members with two visits or more that gave the typical cadence
    scored: int  # members with a visit
    low: int  # risk < 0.25
    watch: int  # 0.25 <= risk < 0.5
    high: int  # risk >= 0.5, not lapsed
    lapsed: int  # silent for more than ``lapsed_after`` usual intervals
    value_at_risk: Decimal  # over the members the contact list is drawn from
    contact: tuple[ChurnRisk, ...]  # not lapsed, risk >= contact_risk, most value at risk first


@attrs.frozen
class Lifetime:
    members: int
    total: Decimal
    mean: Decimal
    median: Decimal
    top: tuple[MemberValue, ...]  # the most valuable members


@attrs.frozen
class TierCount:
    level: str | None  # None: members without a level
    title: str
    members: int
    share: Decimal


@attrs.frozen
class TierMove:
    source: str | None
    target: str | None
    count: int
    upgrade: bool


@attrs.frozen
class Tiers:
    distribution: tuple[TierCount, ...]  # lowest level first, "no level" first of all
    moves: tuple[TierMove, ...]  # most frequent first
    upgrades: int
    downgrades: int


@attrs.frozen
class RuleCost:
    """What one rule (or promotion, or tier bonus) has cost in points."""

    rule: str
    description: str
    awards: int  # earn entries
    issued: int
    reversed: int  # taken back by refunds of the actions it rewarded
    net: int
    share: Decimal  # of all points issued
    cost: Decimal  # net x point value


@attrs.frozen
class Insights:
    """Everything the manager's report shows, computed in one pass over a store."""

    program: str
    timezone: str
    currency: str
    at: datetime
    assumptions: Assumptions
    totals: Totals
    liability: Liability
    flows: tuple[PeriodFlow, ...]
    pareto: Pareto
    rfm: RFM
    churn: Churn
    lifetime: Lifetime
    tiers: Tiers
    rules: tuple[RuleCost, ...]
