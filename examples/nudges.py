"""rewardkit nudges: tell members where they stand, in Spanish.

    python examples/nudges.py [path/to/rewards.db]     (default: in memory)

Café Aroma in Madrid gives 1 point per euro and a free coffee for 100 points; Gold members
(500 points within 90 days) keep their level while they buy at least every 180 days.
The programme's templates are rewardkit's Spanish set, so the two messages of the seed
article come out word for word.
"""

from __future__ import annotations

import sys
from datetime import datetime
from zoneinfo import ZoneInfo

import rewardkit as rk
from rewardkit.nudges import TEMPLATES_ES

MADRID = ZoneInfo("Europe/Madrid")


def build_program() -> rk.Program:
    return rk.Program(
        name="Café Aroma",
        timezone="Europe/Madrid",
        rules=[rk.per_amount("base", on="purchase", per="1.00", points=1)],
        rewards=[rk.reward("free-coffee", cost=100, name="un café gratis")],
        tiers=rk.ladder(
            metric="points_earned",
            levels=[rk.level("gold", 500, name="Gold")],
            window={"days": 90},
            keep=rk.keep_while_active({"days": 180}),
        ),
        nudges=rk.NudgeSettings(templates=TEMPLATES_ES, inactive_after=None),
    )


def madrid(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=MADRID)


def purchase(id: str, member: str, at: str, amount: str) -> rk.Action:
    return rk.Action(id=id, member=member, kind="purchase", at=madrid(at), amount=amount)


def show(kit: rk.Rewards, member: str, at: str) -> None:
    for nudge in kit.nudges(member, at=madrid(at)):
        print(f"  [{nudge.kind}] {nudge.message}")
        print(f"      key={nudge.key}")


def main(store: str) -> None:
    with rk.Rewards(build_program(), store=store) as kit:
        print("Ana buys a 75 euro gift hamper on 7 March 2026:")
        kit.record(purchase("order-ana-1", "ana", "2026-03-07 09:30", "75.00"))
        show(kit, "ana", "2026-03-07 09:31")

        print("\nLuis reached Gold on 10 January 2026 and has not been back since:")
        kit.record(purchase("order-luis-1", "luis", "2026-01-10 12:00", "600.00"))
        show(kit, "luis", "2026-06-15 12:00")  # 156 days later, across the DST change


if __name__ == "__main__":
    main(f"sqlite:///{sys.argv[1]}" if len(sys.argv) > 1 else "memory://")
