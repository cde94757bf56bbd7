"""Worker processes for the multi-process tests: ``python -m tests._workers COMMAND ...``."""

from __future__ import annotations

import sys
from datetime import timedelta

import rewardkit as rk

from .conftest import at, cafe_program


def redeem(db: str, member: str, worker: str, attempts: int) -> None:
    """Try to redeem a free coffee ``attempts`` times; print one line per outcome."""
    kit = rk.Rewards(cafe_program(), store=f"sqlite:///{db}")
    for i in range(attempts):
        try:
            kit.redeem(member, "free-coffee", id=f"{worker}-{i}", at=at("2026-03-05 10:00"))
            print("redeemed", flush=True)
        except rk.InsufficientPoints:
            print("insufficient", flush=True)
    kit.close()


def record(db: str, member: str, worker: str, count: int) -> None:
    """Record ``count`` purchases, printing each id once its commit has returned."""
    kit = rk.Rewards(cafe_program(), store=f"sqlite:///{db}")
    start = at("2026-03-02 08:00")
    for i in range(count):
        action_id = f"{worker}-{i}"
        kit.record(
            rk.Action(
                id=action_id,
                member=member,
                kind="purchase",
                at=start + timedelta(minutes=i),
                amount="1.00",
            )
        )
        print(action_id, flush=True)
    kit.close()


if __name__ == "__main__":
    command, db, member, worker, count = sys.argv[1:]
    {"redeem": redeem, "record": record}[command](db, member, worker, int(count))
