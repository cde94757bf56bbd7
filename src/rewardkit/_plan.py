"""A programme compiled for the engine's hot path: for each action kind, the rules it
meets with what never changes between actions (caps, budget, hold, explanation text)
worked out once, so evaluating an action does only what depends on the action."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING

from .pending import Hold
from .rules import Cap, EarningRule, Multiplier, budget_key, rule_budget

if TYPE_CHECKING:
    from .program import Program

__all__ = ["Bonus", "KindPlan", "Plan", "Step", "explain", "plan_of"]


def explain(rule: object) -> str:
    """A rule's explanation in an award: its repr without the angle brackets."""
    text = repr(rule)
    return text[1:-1] if text.startswith("<") and text.endswith(">") else text


class Step:
    """A base rule as the engine meets it."""

    __slots__ = ("budget", "caps", "currency", "detail", "hold", "id", "limited", "rule")

    def __init__(self, program: Program, rule: EarningRule) -> None:
        self.rule = rule
        self.id = rule.id
        self.currency = rule.currency
        self.caps: tuple[Cap, ...] = tuple(rule.caps)
        self.budget = rule_budget(rule)
        self.limited = bool(self.caps) or self.budget is not None
        self.detail = explain(rule)
        self.hold: Hold | None = program.hold_for(rule)


class Bonus:
    """A multiplier (a rule, or a tier level's benefit) as the engine meets it."""

    __slots__ = ("budget", "caps", "detail", "factor", "id", "limited", "rule", "targets")

    def __init__(self, rule: Multiplier) -> None:
        self.rule = rule
        self.id = rule.id
        self.factor = rule.factor
        self.targets = rule.targets
        self.caps: tuple[Cap, ...] = tuple(rule.caps)
        self.budget = rule_budget(rule)
        self.limited = bool(self.caps) or self.budget is not None
        self.detail = explain(rule)


class KindPlan:
    """What an action of one kind meets."""

    __slots__ = ("base", "budgeted", "multipliers", "referrals", "tickets")

    def __init__(self, program: Program, kind: str) -> None:
        self.base = tuple(Step(program, rule) for rule in program.rules_for(kind))
        self.multipliers = tuple(Bonus(rule) for rule in program.multipliers_for(kind))
        rules: list[Step | Bonus] = [*self.base, *self.multipliers]
        self.budgeted = {s.id: budget_key(s.id) for s in rules if s.budget is not None}
        self.tickets = bool(program.ticket_rules_for(kind))
        self.referrals = bool(program.referral_rules_for(kind))


class Plan:
    """A programme's compiled form; kinds are compiled on first use."""

    def __init__(self, program: Program) -> None:
        self._program = weakref.ref(program)
        self._kinds: dict[str, KindPlan] = {}
        self._tier_bonus: dict[str | None, Bonus | None] = {}

    def _owner(self) -> Program:
        program = self._program()
        if program is None:  # pragma: no cover (a plan lives no longer than its programme)
            raise RuntimeError("the programme of this plan is gone")
        return program

    def kind(self, kind: str) -> KindPlan:
        found = self._kinds.get(kind)
        if found is None:
            found = self._kinds[kind] = KindPlan(self._owner(), kind)
        return found

    def tier_bonus(self, level: str | None) -> Bonus | None:
        if level is None:
            return None
        try:
            return self._tier_bonus[level]
        except KeyError:
            rule = self._owner().tier_bonus(level)
            bonus = self._tier_bonus[level] = None if rule is None else Bonus(rule)
            return bonus


_PLANS: dict[int, tuple[weakref.ref[Program], Plan]] = {}
_LOCK = threading.Lock()


def plan_of(program: Program) -> Plan:
    """``program``'s plan, made on first use and kept while the programme lives."""
    found = _PLANS.get(id(program))
    if found is not None and found[0]() is program:
        return found[1]
    with _LOCK:
        plan = Plan(program)
        key = id(program)
        _PLANS[key] = (weakref.ref(program, _forget(key)), plan)
        return plan


def _forget(key: int) -> Callable[[weakref.ref[Program]], None]:
    def forget(ref: weakref.ref[Program]) -> None:
        found = _PLANS.get(key)
        if found is not None and found[0] is ref:
            del _PLANS[key]

    return forget
