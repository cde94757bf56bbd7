"""The reference rules written for the peer rule engines: ``business-rules`` (venmo)
and ``rule-engine``.  Both are optional (``pip install -e .[bench]``): a peer that
cannot be imported is reported as missing, not measured."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import rewardkit as rk

from .workload import TIMEZONE

__all__ = ["PEERS", "Peer", "available"]

_TZ = ZoneInfo(TIMEZONE)
_WEEKEND = ("Saturday", "Sunday")

PointsOf = Callable[[rk.Action], int]


class Peer:
    """A peer engine: its name, and a factory of its points function (``None``: the
    package is not installed here, with the reason)."""

    def __init__(self, name: str, build: Callable[[], PointsOf]) -> None:
        self.name = name
        self._build = build

    def build(self) -> PointsOf | str:
        try:
            return self._build()
        except ImportError as error:
            return f"not installed ({error.name or error}): pip install -e .[bench]"


# ---------------------------------------------------------------- business-rules


def _business_rules() -> PointsOf:
    from business_rules import run_all  # type: ignore[import-untyped]
    from business_rules.actions import BaseActions, rule_action  # type: ignore[import-untyped]
    from business_rules.fields import FIELD_NUMERIC  # type: ignore[import-untyped]
    from business_rules.variables import (  # type: ignore[import-untyped]
        BaseVariables,
        numeric_rule_variable,
        string_rule_variable,
    )

    class ActionVariables(BaseVariables):  # type: ignore[misc]
        def __init__(self, action: rk.Action) -> None:
            self.action = action
            self.local = action.at.astimezone(_TZ)

        @string_rule_variable  # type: ignore[untyped-decorator]
        def kind(self) -> str:
            return self.action.kind

        @numeric_rule_variable  # type: ignore[untyped-decorator]
        def amount(self) -> Decimal:
            return self.action.amount or Decimal(0)

        @string_rule_variable  # type: ignore[untyped-decorator]
        def category(self) -> str:
            return str(self.action.attributes.get("category", ""))

        @string_rule_variable  # type: ignore[untyped-decorator]
        def channel(self) -> str:
            return str(self.action.attributes.get("channel", ""))

        @numeric_rule_variable  # type: ignore[untyped-decorator]
        def items(self) -> int:
            items = self.action.attributes.get("items", 1)
            return items if isinstance(items, int) else 0

        @numeric_rule_variable  # type: ignore[untyped-decorator]
        def weekday(self) -> int:
            return self.local.weekday()

        @numeric_rule_variable  # type: ignore[untyped-decorator]
        def hour(self) -> int:
            return self.local.hour

        @numeric_rule_variable  # type: ignore[untyped-decorator]
        def month(self) -> int:
            return self.local.month

    class Points(BaseActions):  # type: ignore[misc]
        def __init__(self, action: rk.Action) -> None:
            self.action = action
            self.total = 0

        @rule_action(params={"points": FIELD_NUMERIC})  # type: ignore[untyped-decorator]
        def add(self, points: int) -> None:
            self.total += int(points)

        @rule_action(params={"points": FIELD_NUMERIC})  # type: ignore[untyped-decorator]
        def per_euro(self, points: int) -> None:
            self.total += int(self.action.amount or 0) * int(points)

        @rule_action(params={"points": FIELD_NUMERIC})  # type: ignore[untyped-decorator]
        def per_item(self, points: int) -> None:
            items = self.action.attributes.get("items", 1)
            self.total += int(points) * (items if isinstance(items, int) else 0)

    def cond(name: str, operator: str, value: object) -> dict[str, object]:
        return {"name": name, "operator": operator, "value": value}

    def rule(conditions: Sequence[dict[str, object]], action: str, points: int) -> dict[str, Any]:
        return {
            "conditions": {"all": list(conditions)},
            "actions": [{"name": action, "params": {"points": points}}],
        }

    purchase = cond("kind", "equal_to", "purchase")
    rules = [
        rule([purchase], "per_euro", 1),
        rule([purchase, cond("weekday", "greater_than_or_equal_to", 5)], "per_euro", 1),
        rule([purchase, cond("category", "equal_to", "pastry")], "per_item", 5),
        rule(
            [
                purchase,
                cond("channel", "equal_to", "app"),
                cond("amount", "greater_than_or_equal_to", 20),
            ],
            "add",
            15,
        ),
        rule([cond("kind", "equal_to", "review")], "add", 10),
        rule([cond("kind", "equal_to", "visit")], "add", 1),
        rule([cond("kind", "equal_to", "referral")], "add", 200),
        {
            "conditions": {
                "all": [
                    purchase,
                    cond("category", "equal_to", "beans"),
                    cond("amount", "greater_than_or_equal_to", 30),
                    {
                        "any": [
                            cond("channel", "equal_to", "store"),
                            cond("channel", "equal_to", "web"),
                        ]
                    },
                ]
            },
            "actions": [{"name": "add", "params": {"points": 25}}],
        },
        rule(
            [
                purchase,
                cond("hour", "greater_than_or_equal_to", 7),
                cond("hour", "less_than", 9),
            ],
            "add",
            3,
        ),
        rule([purchase, cond("month", "equal_to", 12)], "add", 2),
    ]

    def points(action: rk.Action) -> int:
        actions = Points(action)
        run_all(rules, ActionVariables(action), actions, stop_on_first_trigger=False)
        return actions.total

    return points


# ---------------------------------------------------------------- rule-engine


def _rule_engine() -> PointsOf:
    import rule_engine  # type: ignore[import-untyped]

    context = rule_engine.Context(default_value=None)
    purchase = 'kind == "purchase"'

    def fixed(points: int) -> Callable[[rk.Action], int]:
        return lambda action: points

    def per_euro(action: rk.Action) -> int:
        return int(action.amount or 0)

    def per_item(action: rk.Action) -> int:
        items = action.attributes.get("items", 1)
        return 5 * items if isinstance(items, int) else 0

    table: list[tuple[str, Callable[[rk.Action], int]]] = [
        (purchase, per_euro),
        (f"{purchase} and local.weekday in {list(_WEEKEND)!r}", per_euro),
        (f'{purchase} and category == "pastry"', per_item),
        (f'{purchase} and channel == "app" and amount >= 20', fixed(15)),
        ('kind == "review"', fixed(10)),
        ('kind == "visit"', fixed(1)),
        ('kind == "referral"', fixed(200)),
        (
            f'{purchase} and category == "beans" and amount >= 30 and channel in ["store", "web"]',
            fixed(25),
        ),
        (f"{purchase} and local.hour >= 7 and local.hour < 9", fixed(3)),
        (f"{purchase} and local.month == 12", fixed(2)),
    ]
    rules = [(rule_engine.Rule(text, context=context), award) for text, award in table]

    def points(action: rk.Action) -> int:
        local: datetime = action.at.astimezone(_TZ)
        facts = {
            "kind": action.kind,
            "amount": action.amount,
            "category": action.attributes.get("category"),
            "channel": action.attributes.get("channel"),
            "local": local,
        }
        return sum(award(action) for rule, award in rules if rule.matches(facts))

    return points


PEERS: tuple[Peer, ...] = (
    Peer("business-rules", _business_rules),
    Peer("rule-engine", _rule_engine),
)


def available() -> dict[str, PointsOf | str]:
    """Each peer's points function, or why it cannot run here."""
    return {peer.name: peer.build() for peer in PEERS}
