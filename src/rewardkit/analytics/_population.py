"""The member-level models over compact columns: Pareto, RFM, churn risk, lifetime value.

The pass appends each member's few numbers here; :meth:`Population.figures` then
computes the quintile boundaries and the typical cadence over everyone, and scores
each member once, keeping only what the report lists (a bounded heap).
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Protocol, TypeVar

from ..engine import advance
from ..model import MemberState
from ..program import Program
from ..rfm import silent_days
from ._columns import Ints, Money, Names
from ._models import (
    _US,
    Assessment,
    Facts,
    assess,
    facts_of,
    micros,
    pareto_curve,
    quintile_boundaries,
    score_facts,
)
from ._results import (
    RFM,
    Assumptions,
    Churn,
    ChurnRisk,
    Lifetime,
    MemberValue,
    Pareto,
    RFMModel,
    Segment,
    SegmentSummary,
)

__all__ = ["Population", "churn_risk", "model_of", "rfm_model", "tier_of"]

K = TypeVar("K", tuple[Decimal, Decimal, int, int], tuple[Decimal, int, int])

_WATCH = Decimal("0.25")
_HIGH = Decimal("0.5")
_TOP_VALUES = 5


def _reward_hints(
    program: Program, currency: str, balance: int
) -> tuple[str | None, str | None, int]:
    costs = sorted(
        ((r.cost, r.name or r.id) for r in program.rewards if r.currency == currency),
        key=lambda item: item[0],
    )
    affordable = [name for cost, name in costs if cost <= balance]
    beyond = [(cost, name) for cost, name in costs if cost > balance]
    if beyond:
        return (affordable[-1] if affordable else None), beyond[0][1], beyond[0][0] - balance
    return (affordable[-1] if affordable else None), None, 0


def churn_risk(
    program: Program,
    state: MemberState,
    at: datetime,
    *,
    typical_cadence: timedelta,
    assumptions: Assumptions | None = None,
) -> ChurnRisk:
    """One member's churn risk and value at ``at`` (``typical_cadence``: see
    ``Insights.churn.typical_cadence``).  Segment is left ``None``."""
    settings = assumptions or Assumptions()
    currency = settings.currency or program.currency
    now = advance(program, state, at).state
    facts = facts_of(now, settings.kinds)
    found = assess(facts, micros(at), typical_cadence // _US, settings)
    balance = now.balance(currency, at)
    return risk_of(program, now.id, facts, found, balance, currency, None, tier_of(now))


class _States(Protocol):
    def members(self) -> Iterator[str]: ...

    def load(self, member: str) -> _Loaded: ...


class _Loaded(Protocol):
    @property
    def state(self) -> MemberState: ...


def rfm_model(
    store: _States, at: datetime, kinds: Iterable[str] | str | None = None
) -> RFMModel | None:
    """The RFM cut points of ``store``'s members at ``at``, the model
    ``analyse(...).rfm.model`` holds, from the members' states alone (no ledger, no
    programme); ``kinds``: the action kinds that count as visits (``None``: every kind).
    ``None`` when nobody has visited.  Give it to ``Program(rfm=...)``, or write it into
    a programme file with :func:`rfm_table`, to test RFM segments in rules."""
    if at.tzinfo is None:
        raise ValueError(f"at must be timezone-aware: {at!r}")
    counted = Assumptions(kinds=kinds).kinds
    visits, last, spent = Ints(), Ints(), Money()
    for member in store.members():
        facts = facts_of(store.load(member).state, counted)
        visits.append(facts.visits)
        last.append(facts.last)
        spent.append(facts.spent)
    return model_of(micros(at), visits, last, spent, counted)


def model_of(
    at: int, visits: Ints, last: Ints, spent: Money, kinds: frozenset[str] | None
) -> RFMModel | None:
    """The quintile cut points over the members of the columns with a visit; ``at`` in
    microseconds since the epoch."""

    def scored() -> Iterator[int]:
        return (i for i in range(len(visits)) if visits[i] > 0 and last[i] >= 0)

    # One sorted column at a time: the peak is one list, not three.
    silences = sorted((silent_days(last[i], at) for i in scored()), reverse=True)
    if not silences:
        return None
    members = len(silences)
    recency = quintile_boundaries(silences)
    del silences
    frequency = quintile_boundaries(sorted(visits[i] for i in scored()))
    spends = quintile_boundaries(sorted(spent.units[i] for i in scored()))
    return RFMModel(
        recency_days=recency,
        frequency=frequency,
        monetary=tuple(spent.decimal(u) for u in spends),
        kinds=kinds,
        members=members,
    )


def tier_of(state: MemberState) -> str | None:
    return state.tier.level if state.tier else None


def risk_of(
    program: Program,
    member: str,
    facts: Facts,
    found: Assessment,
    balance: int,
    currency: str,
    segment: Segment | None,
    tier: str | None,
) -> ChurnRisk:
    redeemable, next_reward, short = _reward_hints(program, currency, balance)
    return ChurnRisk(
        member=member,
        risk=found.risk,
        silent=timedelta(microseconds=found.silent),
        cadence=timedelta(microseconds=found.cadence),
        overdue=found.overdue,
        visits=facts.visits,
        own_cadence=found.own_cadence,
        spent=facts.spent,
        balance=balance,
        expected_spend=found.expected_spend,
        value_at_risk=found.value_at_risk,
        lifetime_value=found.lifetime_value,
        segment=segment,
        tier=tier,
        redeemable=redeemable,
        next_reward=next_reward,
        points_short=short,
    )


class Population:
    """Per-member columns, in the order members were read."""

    def __init__(self, program: Program, at: datetime, assumptions: Assumptions) -> None:
        self.program = program
        self.at = at
        self.assumptions = assumptions
        self.currency = assumptions.currency or program.currency
        self.names = Names()
        self.spent = Money()
        self.balance = Ints()
        self.visits = Ints()
        self.first = Ints()
        self.last = Ints()
        self.tier = Ints()
        self.levels: dict[str | None, int] = {None: -1}
        self.level_names: list[str] = []

    def add(self, state: MemberState, balance: int) -> None:
        level = tier_of(state)
        if level not in self.levels:
            self.levels[level] = len(self.level_names)
            self.level_names.append(level or "")
        facts = facts_of(state, self.assumptions.kinds)
        self.names.append(state.id)
        self.spent.append(state.spent)
        self.balance.append(balance)
        self.visits.append(facts.visits)
        self.first.append(facts.first)
        self.last.append(facts.last)
        self.tier.append(self.levels[level])

    def __len__(self) -> int:
        return len(self.names)

    def outstanding(self) -> int:
        return sum(self.balance.data)

    def active(self) -> int:
        at = micros(self.at)
        within = self.assumptions.active_within // _US
        return sum(1 for last in self.last.data if last >= 0 and at - last <= within)

    def pareto(self) -> Pareto:
        return pareto_curve(self.spent.units.data, self.balance.data, scale=self.spent.scale)

    def _scored(self) -> Iterator[int]:
        """Members with a visit of the counted kinds."""
        return (i for i in range(len(self.names)) if self.visits[i] > 0 and self.last[i] >= 0)

    def _model(self) -> RFMModel | None:
        return model_of(micros(self.at), self.visits, self.last, self.spent, self.assumptions.kinds)

    def _typical(self) -> tuple[int, int]:
        cadences = Ints()
        for i in range(len(self.names)):
            n, first, last = self.visits[i], self.first[i], self.last[i]
            if n >= 2 and first >= 0 and last > first:
                cadences.append((last - first) // (n - 1))
        if not len(cadences):
            return self.assumptions.default_cadence // _US, 0
        ordered = sorted(cadences.data)
        middle = len(ordered) // 2
        median = (
            ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) // 2
        )
        return median, len(ordered)

    def _facts(self, i: int) -> Facts:
        return Facts(
            self.visits[i], self.first[i], self.last[i], self.spent.decimal(self.spent.units[i])
        )

    def figures(self, spend: Decimal) -> tuple[RFM, Churn, Lifetime]:
        settings = self.assumptions
        at = micros(self.at)
        model = self._model()
        members = 0
        typical, typical_from = self._typical()
        counts: Counter[Segment] = Counter()
        spend_units: Counter[Segment] = Counter()
        points: Counter[Segment] = Counter()
        value: dict[Segment, Decimal] = {s: Decimal(0) for s in Segment}
        bands = [0, 0, 0, 0]
        at_risk = Decimal(0)
        values = Ints()
        quantum = settings.money_quantum
        contact: list[tuple[Decimal, Decimal, int, int]] = []
        top: list[tuple[Decimal, int, int]] = []
        for i in self._scored():
            members += 1
            facts = self._facts(i)
            found = assess(facts, at, typical, settings)
            score = score_facts(facts, model, at) if model is not None else None
            if score is not None:
                counts[score.segment] += 1
                spend_units[score.segment] += self.spent.units[i]
                points[score.segment] += self.balance[i]
                value[score.segment] += found.lifetime_value
            slipping = found.overdue <= settings.lapsed_after
            if not slipping:
                bands[3] += 1
            else:
                bands[0 if found.risk < _WATCH else 1 if found.risk < _HIGH else 2] += 1
            if slipping and found.risk >= settings.contact_risk:
                at_risk += found.value_at_risk
            values.append(int(found.lifetime_value / quantum))
            if (
                found.risk >= settings.contact_risk
                and found.value_at_risk > 0
                and found.overdue <= settings.lapsed_after
            ):
                _keep(contact, (found.value_at_risk, found.risk, -i, i), settings.contact_limit)
            _keep(top, (found.lifetime_value, -i, i), _TOP_VALUES)
        summaries = tuple(
            SegmentSummary(
                segment=s,
                members=counts[s],
                member_share=Decimal(counts[s]) / members if members else Decimal(0),
                spend=self.spent.decimal(spend_units[s]),
                spend_share=(
                    Decimal(spend_units[s]) / self.spent.units_of(spend) if spend else Decimal(0)
                ),
                points=points[s],
                lifetime_value=value[s],
            )
            for s in Segment
        )
        rfm = RFM(model, summaries, len(self.names) - members)
        chosen = [
            self._risk(entry[3], at, typical, model) for entry in sorted(contact, reverse=True)
        ]
        churn = Churn(
            typical_cadence=timedelta(microseconds=typical),
            typical_from=typical_from,
            scored=members,
            low=bands[0],
            watch=bands[1],
            high=bands[2],
            lapsed=bands[3],
            value_at_risk=at_risk,
            contact=tuple(chosen),
        )
        ordered = sorted(values.data)
        total = sum(ordered) * quantum
        middle = len(ordered) // 2
        median = (
            Decimal(0)
            if not ordered
            else ordered[middle] * quantum
            if len(ordered) % 2
            else (Decimal(ordered[middle - 1] + ordered[middle]) * quantum / 2).quantize(
                quantum, rounding=ROUND_HALF_EVEN
            )
        )
        lifetime = Lifetime(
            members=members,
            total=total,
            mean=(total / members).quantize(quantum, rounding=ROUND_HALF_EVEN)
            if members
            else Decimal(0),
            median=median,
            top=tuple(
                MemberValue(
                    member=self.names[i],
                    lifetime_value=clv,
                    spent=self.spent.decimal(self.spent.units[i]),
                    visits=self.visits[i],
                    segment=self._segment(i, at, model),
                )
                for clv, _, i in sorted(top, reverse=True)
            ),
        )
        return rfm, churn, lifetime

    def _segment(self, i: int, at: int, model: RFMModel | None) -> Segment | None:
        score = None if model is None else score_facts(self._facts(i), model, at)
        return None if score is None else score.segment

    def _risk(self, i: int, at: int, typical: int, model: RFMModel | None) -> ChurnRisk:
        facts = self._facts(i)
        found = assess(facts, at, typical, self.assumptions)
        level = self.level_names[self.tier[i]] if self.tier[i] >= 0 else None
        return risk_of(
            self.program,
            self.names[i],
            facts,
            found,
            self.balance[i],
            self.currency,
            self._segment(i, at, model),
            level,
        )


def _keep(heap: list[K], item: K, limit: int) -> None:
    if limit <= 0:
        return
    if len(heap) < limit:
        heapq.heappush(heap, item)
    elif item > heap[0]:
        heapq.heapreplace(heap, item)
