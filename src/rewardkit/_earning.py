"""How an action's points are computed: base rules, caps, promotion budgets and
multipliers (rule multipliers and the member's tier benefit)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import ROUND_FLOOR, Decimal

from ._caps import Usage
from .context import Context
from .model import Award, CounterChange
from .pending import Hold
from .program import Program
from .rules import Cap, EarningRule, Multiplier, budget_key, rule_budget

__all__ = ["Limits", "base_awards", "bonus_awards", "budget_keys", "explain", "floor"]


def floor(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_FLOOR))


def explain(rule: object) -> str:
    text = repr(rule)
    return text[1:-1] if text.startswith("<") and text.endswith(">") else text


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
        granted, capped = self.usage.grant(rule_id, caps, points)
        budget = rule_budget(rule)
        if budget is None or granted <= 0:
            return granted, capped
        spent, _ = self._granted.get(rule_id, (0, budget))
        left = max(budget - self._used.get(rule_id, 0) - spent, 0)
        if granted > left:
            granted, capped = left, True
        self._granted[rule_id] = (spent + granted, budget)
        return granted, capped

    def changes(self) -> tuple[CounterChange, ...]:
        return tuple(
            CounterChange(budget_key(rule), points, limit=budget)
            for rule, (points, budget) in sorted(self._granted.items())
            if points > 0
        )


def base_awards(program: Program, ctx: Context, limits: Limits) -> list[tuple[Award, EarningRule]]:
    awards = []
    for rule in program.rules_for(ctx.action.kind):
        points, capped = limits.grant(rule, rule.caps, rule.points(ctx))
        if points > 0 or capped:
            awards.append((Award(rule.id, rule.currency, points, explain(rule), capped), rule))
    return awards


def _multipliers(program: Program, ctx: Context) -> list[Multiplier]:
    active = [m for m in program.multipliers_for(ctx.action.kind) if m.applies(ctx)]
    tier = ctx.member.tier
    bonus = program.tier_bonus(tier.level if tier else None)
    return [*active, bonus] if bonus is not None else active


def bonus_awards(
    program: Program, ctx: Context, limits: Limits, base: Sequence[tuple[Award, EarningRule]]
) -> list[tuple[Award, Hold | None]]:
    """Bonuses so that each base award becomes floor(points x product of factors).

    A bonus is held like the first held base award it multiplies."""
    factors = {award.rule: Decimal(1) for award, _ in base}
    bonuses = []
    for mult in _multipliers(program, ctx):
        by_currency: dict[str, int] = {}
        holds: dict[str, Hold | None] = {}
        for award, rule in base:
            if award.points <= 0 or (mult.targets is not None and award.rule not in mult.targets):
                continue
            before = factors[award.rule]
            factors[award.rule] = before * mult.factor
            extra = floor(award.points * factors[award.rule]) - floor(award.points * before)
            by_currency[award.currency] = by_currency.get(award.currency, 0) + extra
            holds[award.currency] = holds.get(award.currency) or program.hold_for(rule)
        for currency, extra in by_currency.items():
            granted, capped = limits.grant(mult, mult.caps, extra)
            if granted > 0 or capped:
                award = Award(mult.id, currency, granted, explain(mult), capped)
                bonuses.append((award, holds.get(currency)))
    return bonuses


def budget_keys(program: Program, kind: str) -> dict[str, str]:
    """The budgeted rules an action of ``kind`` may meet: rule id -> counter key."""
    rules: list[EarningRule | Multiplier] = [
        *program.rules_for(kind),
        *program.multipliers_for(kind),
    ]
    return {r.id: budget_key(r.id) for r in rules if rule_budget(r) is not None}
