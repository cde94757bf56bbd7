"""rewardkit quickstart: a café loyalty programme kept in a SQLite file.

    python examples/quickstart.py [path/to/rewards.db]     (default: ./quickstart.db)

Every call carries an id, so a second run replays each call and changes nothing.
"""

from __future__ import annotations

import sys
from datetime import datetime
from zoneinfo import ZoneInfo

import rewardkit as rk

MADRID = ZoneInfo("Europe/Madrid")


def build_program() -> rk.Program:
    rules = (
        rk.per_amount("base", on="purchase", per="1.00", points=1),
        rk.multiplier("weekend-double", factor=2, targets=["base"], when=rk.weekday("sat", "sun")),
        rk.first_time("welcome", on="purchase", points=50),
        rk.fixed("visit", on="visit", points=1, caps=rk.cap(per="day", awards=1)),
    )
    rewards = (rk.reward("free-coffee", cost=100), rk.reward("mug", cost=300, stock=20))
    # The ignore works around a typing bug: mypy cannot infer Program's rules/rewards types.
    return rk.Program(name="Café Aroma", timezone="Europe/Madrid", rules=rules, rewards=rewards)


def action(id: str, kind: str, at: str, amount: str | None = None) -> rk.Action:
    """One of Ana's actions, at a Madrid wall-clock time."""
    when = datetime.fromisoformat(at).replace(tzinfo=MADRID)
    return rk.Action(id=id, member="ana", kind=kind, at=when, amount=amount)


def describe(a: rk.Action) -> str:
    return f"{a.id:<11} {a.at:%a} {a.kind} {a.amount or ''}"


def main(path: str) -> None:
    program = build_program()
    coffee = program.reward("free-coffee")
    replayed: list[bool] = []

    def show(label: str, out: rk.Outcome) -> rk.Outcome:
        replayed.append(out.replayed)
        capped = any(award.capped for award in out.awards)
        note = ("  (capped)" if capped else "") + ("  (replayed)" if out.replayed else "")
        print(f"{label:<32} {out.points:+5d}  balance {out.balance:>4}{note}")
        return out

    with rk.Rewards(program, store=f"sqlite:///{path}") as kit:
        print(f"{program.name}, stored in {path}\n")
        friday = [
            action("visit-1", "visit", "2026-03-06 08:55"),
            action("order-1001", "purchase", "2026-03-06 09:00", "4.80"),  # + welcome bonus
            action("visit-2", "visit", "2026-03-06 17:30"),  # capped: one visit point a day
        ]
        for a in friday:
            out = show(describe(a), kit.record(a))
        print(f"  -> only {coffee.cost - out.balance} points to your free coffee")

        saturday = action("order-1002", "purchase", "2026-03-07 10:15", "68.40")  # weekend x2
        show(describe(saturday), kit.record(saturday))
        out = kit.redeem("ana", "free-coffee", id="redeem-1", at=saturday.at)
        show("redeem-1    free coffee, served", out)
        print(f"  -> only {coffee.cost - out.balance} points to your next free coffee")

        preview = kit.preview(action("order-1003", "purchase", "2026-03-08 11:00", "12.00"))
        print(f"\nCheckout preview, Sun 12.00: this order earns {preview.points} points")
        for award in preview.awards:
            print(f"  {award.points:+4d}  {award.detail}")
        print()
        at = datetime(2026, 3, 9, 12, 0, tzinfo=MADRID)
        refund = kit.reverse("order-1002", id="refund-1", at=at, amount="20.00")
        show("refund-1    20.00 of order-1002", refund)

        print(f"\n{'seq':>3}  {'kind':<7} {'points':>6} {'balance':>7}  {'cause':<11} reason")
        for e in kit.history("ana"):
            print(
                f"{e.seq:>3}  {e.kind:<7} {e.points:>+6d} {e.balance:>7}  {e.cause:<11} {e.reason}"
            )
        print(f"\nBalance: {kit.balance('ana')} points")
    if all(replayed):
        print("Every call above was replayed from its id: nothing was counted twice.")
    else:
        print("Run me again: every call has an id, so nothing will be counted twice.")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "quickstart.db")
