"""Earning policies: the rules that turn an action into points.

Two families share one module because they are always read together:

* base rules (``fixed``, ``per_amount``, ``first_time``) compute points from an action;
* ``multiplier`` rules multiply the points of the base rules they target.

Every rule may carry caps (``cap(per="day", points=100)``): a cap truncates an award so
that the member never exceeds it within the period, in the programme's time zone.
A user's own rule plugs in by implementing :class:`EarningRule`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Literal, Protocol, runtime_checkable

import attrs

from ._values import number
from .conditions import Condition, always, as_condition
from .context import Context
from .errors import Problem, ProgramError
from .model import DEFAULT_CURRENCY
from .pending import Hold
from .time import PERIODS

__all__ = [
    "Cap",
    "CapPeriod",
    "EarningRule",
    "Multiplier",
    "budget_key",
    "cap",
    "first_time",
    "fixed",
    "multiplier",
    "per_amount",
    "rule_budget",
    "rule_hold",
]

CapPeriod = Literal["day", "week", "month", "quarter", "year", "lifetime"]
Rounding = Literal["down", "half_up", "up"]
_ROUNDINGS = {"down": ROUND_FLOOR, "half_up": ROUND_HALF_UP, "up": ROUND_CEILING}


def _problem(path: str, message: str) -> ProgramError:
    return ProgramError([Problem(path, message)])


def _positive_int(value: object, path: str, *, allow_zero: bool = False) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _problem(path, f"must be an integer, got {value!r}")
    if value < 0 or (value == 0 and not allow_zero):
        raise _problem(path, f"must be a positive integer, got {value}")
    return value


def _kinds(on: str | Iterable[str] | None, path: str) -> frozenset[str] | None:
    if on is None:
        return None
    kinds = frozenset([on] if isinstance(on, str) else on)
    if not kinds or not all(isinstance(k, str) and k for k in kinds):
        raise _problem(path, f"must name one or more action kinds, got {on!r}")
    return kinds


def _rule_id(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _problem("id", f"must be a non-empty string, got {value!r}")
    return value


@attrs.frozen
class Cap:
    """At most ``points`` points and/or ``awards`` awards per ``per`` period, per member."""

    per: CapPeriod
    points: int | None = None
    awards: int | None = None

    def __attrs_post_init__(self) -> None:
        if self.per not in (*PERIODS, "lifetime"):
            expected = ", ".join((*PERIODS, "lifetime"))
            raise _problem("cap.per", f"unknown period {self.per!r} (expected {expected})")
        if self.points is None and self.awards is None:
            raise _problem("cap", "needs a maximum: points=..., awards=... or both")
        if self.points is not None:
            _positive_int(self.points, "cap.points")
        if self.awards is not None:
            _positive_int(self.awards, "cap.awards")

    def __repr__(self) -> str:
        limits = [f"{n} {w}" for n, w in ((self.points, "points"), (self.awards, "awards")) if n]
        return f"<at most {' and '.join(limits)} per {self.per}>"


def cap(per: CapPeriod, points: int | None = None, awards: int | None = None) -> Cap:
    """A cap on a rule: ``cap(per="day", points=100)``, ``cap(per="lifetime", awards=1)``."""
    return Cap(per=per, points=points, awards=awards)


@runtime_checkable
class EarningRule(Protocol):
    """A base rule: computes the points an action earns, before caps and multipliers.

    ``on`` lists the action kinds the rule can fire for (``None``: every kind); the
    programme indexes rules by it so an action only meets the rules that can fire.
    """

    @property
    def id(self) -> str: ...
    @property
    def on(self) -> frozenset[str] | None: ...
    @property
    def currency(self) -> str: ...
    @property
    def caps(self) -> tuple[Cap, ...]: ...
    def points(self, ctx: Context) -> int: ...


def _caps(caps: Cap | Iterable[Cap] | None) -> tuple[Cap, ...]:
    if caps is None:
        return ()
    result = (caps,) if isinstance(caps, Cap) else tuple(caps)
    for item in result:
        if not isinstance(item, Cap):
            raise _problem("caps", f"must be made with cap(...), got {item!r}")
    return result


def _hold(value: object) -> Hold | None:
    if value is None or isinstance(value, Hold):
        return value
    raise _problem(
        "pending", f"must be made with pending_for(...) or until_confirmed, got {value!r}"
    )


def _budget(value: object) -> int | None:
    if value is None:
        return None
    return _positive_int(value, "budget")


def rule_budget(rule: object) -> int | None:
    """A rule's promotion budget: at most this many points from it across all members."""
    budget = getattr(rule, "budget", None)
    return budget if isinstance(budget, int) and not isinstance(budget, bool) else None


def budget_key(rule_id: str) -> str:
    return f"budget:{rule_id}"


def rule_hold(rule: EarningRule) -> Hold | None:
    """A rule's own hold, if it declares one (user rules need not)."""
    hold = getattr(rule, "pending", None)
    return hold if isinstance(hold, Hold) else None


def _on_text(on: frozenset[str] | None) -> str:
    return "any action" if on is None else ", ".join(sorted(on))


def _when_text(when: Condition) -> str:
    return "" if when is always else f" when {when!r}"


@attrs.frozen(repr=False)
class _Fixed:
    id: str
    on: frozenset[str] | None
    points_per_action: int
    when: Condition
    currency: str
    caps: tuple[Cap, ...]
    pending: Hold | None = None
    budget: int | None = None

    def points(self, ctx: Context) -> int:
        return self.points_per_action if self.when(ctx) else 0

    def __repr__(self) -> str:
        unit = "point" if self.points_per_action == 1 else "points"
        head = f"{self.points_per_action} {unit} per {_on_text(self.on)}"
        return f"<{self.id}: {head}{_when_text(self.when)}>"


@attrs.frozen(repr=False)
class _PerAmount:
    id: str
    on: frozenset[str] | None
    per: Decimal
    points_per_unit: int
    rounding: Rounding
    when: Condition
    currency: str
    caps: tuple[Cap, ...]
    pending: Hold | None = None
    budget: int | None = None

    def points(self, ctx: Context) -> int:
        amount = ctx.action.amount
        if amount is None or not self.when(ctx):
            return 0
        units = (amount / self.per).to_integral_value(rounding=_ROUNDINGS[self.rounding])
        return int(units) * self.points_per_unit

    def __repr__(self) -> str:
        unit = "point" if self.points_per_unit == 1 else "points"
        head = f"{self.points_per_unit} {unit} per {self.per} on {_on_text(self.on)}"
        rounding = "" if self.rounding == "down" else f", rounded {self.rounding}"
        return f"<{self.id}: {head}{rounding}{_when_text(self.when)}>"


@attrs.frozen(repr=False)
class _FirstTime:
    id: str
    on: frozenset[str]
    points_once: int
    when: Condition
    currency: str
    caps: tuple[Cap, ...]
    pending: Hold | None = None
    budget: int | None = None

    def points(self, ctx: Context) -> int:
        first = ctx.member.kinds.get(ctx.action.kind, 0) == 0
        return self.points_once if first and self.when(ctx) else 0

    def __repr__(self) -> str:
        return (
            f"<{self.id}: {self.points_once} points for a member's first "
            f"{_on_text(self.on)}{_when_text(self.when)}>"
        )


@attrs.frozen(repr=False)
class Multiplier:
    """Multiplies the points of its target base rules (``None``: every base rule)."""

    id: str
    factor: Decimal
    targets: frozenset[str] | None
    on: frozenset[str] | None
    when: Condition
    caps: tuple[Cap, ...]
    budget: int | None = None

    def applies(self, ctx: Context) -> bool:
        return (self.on is None or ctx.action.kind in self.on) and self.when(ctx)

    def __repr__(self) -> str:
        targets = "every base rule" if self.targets is None else ", ".join(sorted(self.targets))
        return f"<{self.id}: x{self.factor} on {targets}{_when_text(self.when)}>"


Predicate = Condition | Callable[[Context], bool]


def fixed(
    id: str,
    *,
    points: int,
    on: str | Iterable[str] | None = None,
    when: Predicate = always,
    currency: str = DEFAULT_CURRENCY,
    caps: Cap | Iterable[Cap] | None = None,
    pending: Hold | None = None,
    budget: int | None = None,
) -> EarningRule:
    """``points`` for every matching action: ``fixed("visit", on="visit", points=1)``."""
    return _Fixed(
        id=_rule_id(id),
        on=_kinds(on, "on"),
        points_per_action=_positive_int(points, "points"),
        when=as_condition(when),
        currency=_rule_id(currency),
        caps=_caps(caps),
        pending=_hold(pending),
        budget=_budget(budget),
    )


def per_amount(
    id: str,
    *,
    per: Decimal | str | int,
    points: int = 1,
    on: str | Iterable[str] | None = None,
    rounding: Rounding = "down",
    when: Predicate = always,
    currency: str = DEFAULT_CURRENCY,
    caps: Cap | Iterable[Cap] | None = None,
    pending: Hold | None = None,
    budget: int | None = None,
) -> EarningRule:
    """``points`` per ``per`` units of the action's amount, rounded down by default:
    ``per_amount("base", on="purchase", per="1.00", points=1)`` gives 12 for 12.50."""
    unit = number(per, "per")
    if unit <= 0:
        raise _problem("per", f"must be greater than 0, got {per!r}")
    if rounding not in _ROUNDINGS:
        raise _problem("rounding", f"must be one of down, half_up, up; got {rounding!r}")
    return _PerAmount(
        id=_rule_id(id),
        on=_kinds(on, "on"),
        per=unit,
        points_per_unit=_positive_int(points, "points"),
        rounding=rounding,
        when=as_condition(when),
        currency=_rule_id(currency),
        caps=_caps(caps),
        pending=_hold(pending),
        budget=_budget(budget),
    )


def first_time(
    id: str,
    *,
    on: str,
    points: int,
    when: Predicate = always,
    currency: str = DEFAULT_CURRENCY,
    caps: Cap | Iterable[Cap] | None = None,
    pending: Hold | None = None,
    budget: int | None = None,
) -> EarningRule:
    """``points`` the first time a member performs an action of kind ``on``."""
    kinds = _kinds(on, "on")
    if kinds is None or len(kinds) != 1:
        raise _problem("on", f"must name exactly one action kind, got {on!r}")
    return _FirstTime(
        id=_rule_id(id),
        on=kinds,
        points_once=_positive_int(points, "points"),
        when=as_condition(when),
        currency=_rule_id(currency),
        caps=_caps(caps),
        pending=_hold(pending),
        budget=_budget(budget),
    )


def multiplier(
    id: str,
    *,
    factor: Decimal | str | int | float,
    targets: Iterable[str] | None = None,
    on: str | Iterable[str] | None = None,
    when: Predicate = always,
    caps: Cap | Iterable[Cap] | None = None,
    budget: int | None = None,
) -> Multiplier:
    """Multiply the points of ``targets`` (default: every base rule) by ``factor`` >= 1.

    Several multipliers on one rule multiply together; the product is rounded down per rule.
    """
    value = number(factor, "factor")
    if value < 1:
        raise _problem("factor", f"must be at least 1, got {factor!r}")
    target_set = None if targets is None else frozenset(targets)
    if target_set is not None and not target_set:
        raise _problem("targets", "must name at least one rule (or be omitted for all)")
    return Multiplier(
        id=_rule_id(id),
        factor=value,
        targets=target_set,
        on=_kinds(on, "on"),
        when=as_condition(when),
        caps=_caps(caps),
        budget=_budget(budget),
    )
