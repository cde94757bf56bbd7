"""Generate a realistic, reproducible stream of Café Aroma actions as JSON lines.

    python examples/cafe/make_actions.py [--members 300] [--months 3] [--seed 7]
        [--start 2026-01-05] [--out actions.jsonl]          (default: standard output)

Each member follows a habit: a weekday regular (coffee on the way to work, often a
pastry, often ordered in the app), a weekend brunch guest, an occasional visitor, or
a regular who drifts away after a few weeks.  Members join over the first two thirds of
the period, some of them referred by a friend.  On top of the purchases: check-ins,
reviews, a few refunds (full or partial) and redemptions when a member believes they
have the points (they sometimes do not: the simulation refuses those).

The same arguments always give the same lines, byte for byte.  Standard library only.
This script is also the generator behind ``rewardkit demo`` (a copy ships inside the
package; tests/test_examples.py keeps the two identical).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

MADRID = ZoneInfo("Europe/Madrid")
HABITS = ("regular", "weekend", "occasional", "drifting")
HABIT_WEIGHTS = (15, 30, 40, 15)
REWARDS = (("breakfast-for-two", 250), ("pastry", 120), ("free-coffee", 100))


def _money(low: float, high: float, rng: random.Random) -> Decimal:
    return Decimal(str(round(rng.uniform(low, high) * 10) / 10)).quantize(Decimal("0.01"))


def _instant(day: date, start: time, minutes: int, rng: random.Random) -> datetime:
    begin = datetime.combine(day, start, tzinfo=MADRID)
    return begin + timedelta(minutes=rng.randrange(minutes), seconds=rng.randrange(60))


class _Member:
    """One member's habit and what the generator believes their balance is."""

    def __init__(self, number: int, habit: str, joins: date, rng: random.Random) -> None:
        self.id = f"m{number:04d}"
        self.habit = habit
        self.joins = joins
        self.leaves = joins + timedelta(days=rng.randrange(21, 56)) if habit == "drifting" else None
        self.uses_app = rng.random() < 0.4
        self.points = 0  # an estimate: caps, expiry and refunds are not modelled
        self.orders = 0

    def visit_today(self, day: date, rng: random.Random) -> time | None:
        """When the member comes in on ``day``, if they do."""
        if day < self.joins or (self.leaves is not None and day >= self.leaves):
            return None
        weekend = day.weekday() >= 5
        if self.habit in ("regular", "drifting"):
            return time(7, 40) if not weekend and rng.random() < 0.6 else None
        if self.habit == "weekend":
            return time(10, 30) if weekend and rng.random() < 0.45 else None
        return time(16, 0) if rng.random() < 0.07 else None


def _order(member: _Member, when: datetime, rng: random.Random) -> dict[str, Any]:
    member.orders += 1
    brunch = member.habit == "weekend"
    pastry = rng.random() < (0.3 if brunch else 0.45)
    amount = _money(7.5, 24.0, rng) if brunch else _money(1.6, 3.4, rng)
    if pastry:
        amount += _money(1.5, 3.2, rng)
    channel = "app" if member.uses_app and rng.random() < 0.7 else "counter"
    points = int(amount) * (2 if when.weekday() >= 5 else 1)
    member.points += points + (3 if pastry else 0) + (2 if channel == "app" else 0)
    return {
        "id": f"order-{member.id}-{member.orders:03d}",
        "member": member.id,
        "kind": "purchase",
        "at": when.isoformat(),
        "amount": str(amount),
        "attributes": {"category": "pastry" if pastry else "coffee", "channel": channel},
    }


def _extras(member: _Member, order: dict[str, Any], rng: random.Random) -> Iterator[dict[str, Any]]:
    """What may follow an order: a check-in, a review, a refund, a redemption."""
    at = datetime.fromisoformat(order["at"])
    if member.uses_app and rng.random() < 0.25:
        yield {
            "id": f"{order['id']}-checkin",
            "member": member.id,
            "kind": "visit",
            "at": (at - timedelta(minutes=2)).isoformat(),
        }
    if rng.random() < 0.04:
        member.points += 15
        yield {
            "id": f"{order['id']}-review",
            "member": member.id,
            "kind": "review",
            "at": (at + timedelta(hours=rng.randrange(2, 30))).isoformat(),
            "attributes": {"stars": rng.choice([3, 4, 5, 5, 5])},
        }
    if rng.random() < 0.015:
        whole = rng.random() < 0.5
        refund: dict[str, Any] = {
            "op": "reverse",
            "id": f"{order['id']}-refund",
            "action": order["id"],
            "at": (at + timedelta(days=1)).isoformat(),
        }
        if not whole:
            refund["amount"] = str((Decimal(order["amount"]) / 2).quantize(Decimal("0.01")))
        yield refund
    elif member.points >= 100 and rng.random() < 0.35:
        reward, cost = next(item for item in REWARDS if item[1] <= member.points)
        member.points -= cost
        yield {
            "op": "redeem",
            "id": f"{order['id']}-redeem",
            "member": member.id,
            "reward": reward,
            "at": (at + timedelta(minutes=1)).isoformat(),
        }


def generate(
    members: int = 300, months: int = 3, seed: int = 7, start: date = date(2026, 1, 5)
) -> list[dict[str, Any]]:
    """The action lines, in time order."""
    rng = random.Random(seed)
    days = [start + timedelta(days=n) for n in range(round(months * 30.44))]
    joining = days[: max(1, len(days) * 2 // 3)]
    people = [
        _Member(n + 1, rng.choices(HABITS, HABIT_WEIGHTS)[0], rng.choice(joining), rng)
        for n in range(members)
    ]
    lines: list[dict[str, Any]] = []
    for member in people:
        earlier = [p for p in people if p.joins < member.joins]
        if earlier and rng.random() < 0.15:
            friend = rng.choice(earlier)
            lines.append(
                {
                    "op": "refer",
                    "id": f"refer-{member.id}",
                    "referrer": friend.id,
                    "referred": member.id,
                    "at": _instant(member.joins, time(0, 0), 60, rng).isoformat(),
                }
            )
    for day in days:
        for member in people:
            opens = member.visit_today(day, rng)
            if opens is None:
                continue
            order = _order(member, _instant(day, opens, 90, rng), rng)
            lines.append(order)
            lines.extend(_extras(member, order, rng))
    lines.sort(key=lambda line: (datetime.fromisoformat(line["at"]), line["id"]))
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=300, help="how many members (300)")
    parser.add_argument("--months", type=int, default=3, help="how many months (3)")
    parser.add_argument("--seed", type=int, default=7, help="the random seed (7)")
    parser.add_argument(
        "--start", type=date.fromisoformat, default=date(2026, 1, 5), help="first day"
    )
    parser.add_argument("--out", help="write here instead of standard output")
    args = parser.parse_args(argv)
    lines = generate(args.members, args.months, args.seed, args.start)
    text = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as out:
            out.write(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
