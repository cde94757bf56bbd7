"""Insights from a store: liability, 80/20, RFM segments, churn risk, lifetime value.

``analyse(program, store, at)`` reads every member once, one ledger at a time, and
returns :class:`Insights`: frozen attrs classes of ints and Decimals that the HTML
report (:mod:`rewardkit.report`) renders as they are.  A member costs the pass a few
machine words (id, spend, balance, visits, first and last visit, tier), about 120 bytes
at peak, so a million members take about 120 MB; ledgers are never held together.
Everything here is pure: time comes in as ``at``, the store is only read.

The models, and what they cannot know
-------------------------------------

Points.  Per period of the programme's calendar (``Assumptions.period``: day, week or
month, in the programme's time zone), from ledger entries dated up to ``at``: issued
(earn entries, held points when released), redeemed, expired, reversed (refunds, and
debts later settled out of earnings) and adjusted.  ``outstanding`` is the sum of
spendable balances; points still held for a returns window are reported apart.

Liability = outstanding x ``point_value`` x (1 - breakage rate).  The breakage rate is
an assumption, or, when not given, the observed share of points that ended their life
expiring: expired / (redeemed + expired).  Young programmes and programmes whose
points never expire observe little breakage, which overstates nothing: the liability
is then close to its gross value.

Redemption rate = redeemed / issued, all time.

Pareto.  Members sorted by spend, highest first (equal spend keeps member-id order).
The top 20% are the first ceil(0.2 x n) members; ``top_spend_share`` is their share of
spend, ``top_points_share`` their share of the outstanding points.

RFM (:mod:`rewardkit.rfm`, the definition rules test too).  Over members with at least
one visit (an action of ``Assumptions.kinds``; all kinds by default): recency = whole
days (24 hours) since the last visit, frequency = visits, monetary = spend net of
refunds.  Each is scored 1-5 by quintile: 1 + floor(5 x (members with a worse value) /
members), so equal values share a score.  The quintile cut points are kept
(:class:`RFMModel`), so :func:`rfm_score` and :func:`segment_of` score any member later,
in O(1), without another pass; :func:`rfm_model` computes them from members' states
alone, and a programme that declares them (``Program(rfm=model)``, or the ``[rfm]``
table :func:`rfm_table` writes) tests the segments in rules: ``in_segment("at-risk")``.
Segments, first match wins:

==============  ======================  ================================================
segment         rule (R, F, M scores)   suggested action
==============  ======================  ================================================
champions       R >= 4 and F + M >= 8   recognise them: perks, early access, referrals
new             R >= 4 and F = 1        make the second visit easy
loyal           R >= 3 and F + M >= 6   keep them close: tier benefits, personal thanks
potential       R >= 3                  build the habit: a bonus for coming back soon
at-risk         R <= 2 and F + M >= 6   win them back personally, before they go
hibernating     R = 2                   remind them of their points and next reward
lost            R = 1                   a low-cost win-back, or let them go
==============  ======================  ================================================

Quintiles are relative: in a programme where everyone is lapsing, the least lapsed
fifth still scores R = 5.  Read segments next to the churn risk, which is absolute.

Churn risk.  A member's visits are taken as a Poisson process at their own usual rate.
The usual interval (cadence) is (last - first visit + k x typical) / (visits - 1 + k):
the member's mean interval shrunk towards the programme's typical one (the median of
members' mean intervals) by k = ``prior_intervals`` (2) pseudo-intervals, so a member
with one visit gets the typical cadence and one with forty visits essentially their
own.  With ``overdue`` = silence / cadence and p = ``prior_active`` (0.9), the
probability the member is still active is p x e^-overdue / (p x e^-overdue + 1 - p),
and the risk is 1 minus that: 0.10 right after a visit, 0.23 at one cadence of
silence, 0.69 at three, 0.94 at five.  Limits: the state keeps the first visit, the
last visit per kind and counts, not every instant, so the cadence is a mean, blind to
a rhythm that changed (weekly for a year, then monthly); seasonality, holidays and
clock-driven behaviour (a member who comes every payday) are not modelled; p is a
prior, not fitted; it is a ranking aid, not a calibrated probability.

Lifetime value = margin x (spent + expected spend x (1 - risk)), where expected spend
= spent x horizon / max(tenure, ``min_tenure``): the member's pace since their first
visit, kept for ``horizon`` (a year) if they are still active.  No discounting, no
acquisition or reward costs, no growth; the pace of a member's first weeks is noisy
and is damped by ``min_tenure`` (90 days), which still flatters a big first order.

Members silent for more than ``lapsed_after`` (6) usual intervals are *lapsed*: their
spend has already left the programme's run rate, so they are counted apart, not "at
risk".  Value at risk = margin x expected spend x risk.  The members *slipping away* are
those not lapsed with risk >= ``contact_risk`` (0.5: about 2.2 usual intervals of
silence); ``Churn.value_at_risk`` sums their value at risk, and the contact list is
the ``contact_limit`` of them with the most, each with the reward their points
already pay for, or the next one within reach.

Tiers: the distribution of levels at ``at`` and every move recorded by tier ledger
entries (upgrades and downgrades, by the ladder's order).  Rule costs: earn entries
summed by rule (promotions and tier bonuses are rules here), less the points refunds
took back from each rule's awards.

Per-member figures (spend, visits, recency, tier) are read from the member's current
state: analyse at or after the latest activity (the default for a report is now); for
an earlier ``at`` the point flows and balances are still exact, those are not.
"""

from __future__ import annotations

from .._config_rfm import rfm_table
from ._models import (
    SEGMENT_RULES,
    churn_risk_score,
    lifetime_value,
    pareto_curve,
    quintile_boundaries,
    rfm_score,
    segment_for,
    segment_of,
    top_share,
)
from ._population import churn_risk, rfm_model
from ._results import (
    RFM,
    Assumptions,
    Churn,
    ChurnRisk,
    Insights,
    Liability,
    Lifetime,
    MemberValue,
    Pareto,
    ParetoPoint,
    PeriodFlow,
    RFMModel,
    RFMScore,
    RuleCost,
    Segment,
    SegmentSummary,
    TierCount,
    TierMove,
    Tiers,
    Totals,
)
from ._scan import LedgerSource, analyse, analyse_members, ledgers

__all__ = [
    "RFM",
    "SEGMENT_RULES",
    "Assumptions",
    "Churn",
    "ChurnRisk",
    "Insights",
    "LedgerSource",
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
    "analyse",
    "analyse_members",
    "churn_risk",
    "churn_risk_score",
    "ledgers",
    "lifetime_value",
    "pareto_curve",
    "quintile_boundaries",
    "rfm_model",
    "rfm_score",
    "rfm_table",
    "segment_for",
    "segment_of",
    "top_share",
]
