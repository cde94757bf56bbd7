"""How an action's points are computed: base rules, caps, promotion budgets and
multipliers (rule multipliers and the member's tier benefit)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import ROUND_FLOOR, Decimal

from ._caps import Usage
from ._plan import Bonus, explain, plan_of
from .context import Context
from .model import Award, CounterChange
from .pending import Hold
from .program import Program
from .rules import Cap, EarningRule, Multiplier, budget_key, rule_budget

__all__ = ["Limits", "base_awards", "bonus_awards", "budget_keys", "explain", "floor"]


_ONE = Decimal(1)


def floor(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_FLOOR))


class Limits:
    """Per-member caps and programme-wide promotion budgets for one evaluation.

    ``budgets`` holds what each budgeted rule has awarded so far across all members
    (read from the store's counters); the counter changes returned by :meth:`changes`
    make the store refuse the commit if another member used the budget meanwhile."""

    def __init__(self, usage: Usage, budgets: Mapping[str, int]) -> None:
        self.usage = usage
        self._used = dict(budgets)
        self._granted: dict[str, tuple[int, int]] = {}  # rule -> (points, budget)

    def grant(
        self, rule: EarningRule | Multiplier, caps: Sequence[Cap], points: int
    ) -> tuple[int, bool]:
        rule_id = rule.id
        budget = rule_budget(rule)
        if budget is None or points <= 0:
            return self.usage.grant(rule_id, caps, points)
        # The budget first, so that the member's caps only count what is awarded.
        spent, _ = self._granted.get(rule_id, (0, budget))
        left = max(budget - self._used.get(rule_id, 0) - spent, 0)
        granted, capped = self.usage.grant(rule_id, caps, min(points, left))
        self._granted[rule_id] = (spent + granted, budget)
        return granted, capped or left < points

    def changes(self) -> tuple[CounterChange, ...]:
        if not self._granted:
            return ()
        return tuple(
            CounterChange(budget_key(rule), points, limit=budget)
            for rule, (points, budget) in sorted(self._granted.items())
            if points > 0
        )


def base_awards(program: Program, ctx: Context, limits: Limits) -> list[tuple[Award, Hold | None]]:
    """Each base rule's award for the action (after caps and budgets), with its hold."""
    awards = []
    for step in plan_of(program).kind(ctx.action.kind).base:
        points = step.rule.points(ctx)
        capped = False
        if step.limited:
            points, capped = limits.grant(step.rule, step.caps, points)
        if points > 0 or capped:
            award = Award(step.id, step.currency, points, step.detail, capped)
            awards.append((award, step.hold))
    return awards


def _multipliers(program: Program, ctx: Context) -> list[Bonus]:
    plan = plan_of(program)
    active = [m for m in plan.kind(ctx.action.kind).multipliers if m.rule.applies(ctx)]
    tier = ctx.member.tier
    bonus = plan.tier_bonus(tier.level) if tier else None
    return [*active, bonus] if bonus is not None else active


def bonus_awards(
    program: Program, ctx: Context, limits: Limits, base: Sequence[tuple[Award, Hold | None]]
) -> list[tuple[Award, Hold | None]]:
    """Bonuses so that each base award becomes floor(points x product of factors).

    A bonus is held like the first held base award it multiplies."""
    bonuses: list[tuple[Award, Hold | None]] = []
    multipliers = _multipliers(program, ctx)
    if not multipliers:
        return bonuses
    factors = {award.rule: _ONE for award, _ in base}
    for mult in multipliers:
        by_currency: dict[str, int] = {}
        holds: dict[str, Hold | None] = {}
        for award, hold in base:
            if award.points <= 0 or (mult.targets is not None and award.rule not in mult.targets):
                continue
            before = factors[award.rule]
            factors[award.rule] = before * mult.factor
            extra = floor(award.points * factors[award.rule]) - floor(award.points * before)
            by_currency[award.currency] = by_currency.get(award.currency, 0) + extra
            holds[award.currency] = holds.get(award.currency) or hold
        for currency, extra in by_currency.items():
            capped = False
            granted = extra
            if mult.limited:
                granted, capped = limits.grant(mult.rule, mult.caps, extra)
            if granted > 0 or capped:
                award = Award(mult.id, currency, granted, mult.detail, capped)
                bonuses.append((award, holds.get(currency)))
    return bonuses


def budget_keys(program: Program, kind: str) -> dict[str, str]:
    """The budgeted rules an action of ``kind`` may meet: rule id -> counter key."""
    return dict(plan_of(program).kind(kind).budgeted)
