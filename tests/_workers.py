"""Worker processes for the multi-process tests: ``python -m tests._workers COMMAND ...``.

``redeem`` and ``record`` take a SQLite file; ``race``, ``mixed`` and ``budget`` take any
store URL and print one JSON report when they are done.  Workers wait for a "go" file so that all
of them start at once, after the slow part (starting Python) is over.
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import rewardkit as rk

from .conftest import at, cafe_program

START = at("2026-03-02 08:00")


def race_program() -> rk.Program:
    """A coffee (10 points, unlimited) and a mug (1 point, 25 in stock)."""
    return rk.Program(
        name="Race",
        timezone="Europe/Madrid",
        rules=[rk.per_amount("base", on="purchase", per="1.00", points=1)],
        rewards=[rk.reward("coffee", cost=10), rk.reward("mug", cost=1, stock=25)],
    )


def mixed_program() -> rk.Program:
    return rk.Program(
        name="Mixed",
        timezone="Europe/Madrid",
        rules=[
            rk.per_amount("base", on="purchase", per="1.00", points=1),
            rk.first_time("welcome", on="purchase", points=5),
        ],
        rewards=[rk.reward("coffee", cost=10)],
    )


def budget_program() -> rk.Program:
    """A launch promotion: 3 points a visit, 100 points in total across all members."""
    return rk.Program(
        name="Budget",
        timezone="Europe/Madrid",
        rules=[rk.fixed("launch", on="visit", points=3, budget=100)],
    )


def wait_for(go: str, tag: str) -> None:
    with open(f"{go}.{tag}", "w"):
        pass
    deadline = time.monotonic() + 60
    while not os.path.exists(go):
        if time.monotonic() > deadline:
            raise SystemExit("never told to go")
        time.sleep(0.002)


def persist(run: Callable[[], object]) -> tuple[str, int]:
    """Run ``run()`` until it is not a ConcurrencyConflict, as a host retries a request
    with the same id: ("ok" or the error's name, how many conflicts it took)."""
    conflicts = 0
    while True:
        try:
            run()
            return "ok", conflicts
        except rk.ConcurrencyConflict:
            conflicts += 1
        except (rk.InsufficientPoints, rk.RewardUnavailable, rk.InvalidAction) as error:
            return type(error).__name__, conflicts


def race(url: str, go: str, tag: str, attempts: int) -> None:
    """``attempts`` coffees from ana's balance; every tenth try also a mug for buyer-TAG."""
    kit = rk.Rewards(race_program(), store=url)
    wait_for(go, tag)
    won: dict[str, list[str]] = {"coffee": [], "mug": []}
    refused = conflicts = 0
    for number in range(attempts):
        plans = [("coffee", "ana", f"{tag}-coffee-{number}")]
        if number % 10 == 0:
            plans.append(("mug", f"buyer-{tag}", f"{tag}-mug-{number}"))
        for reward, member, request_id in plans:
            result, retried = persist(
                lambda r=reward, m=member, i=request_id: kit.redeem(m, r, id=i, at=START)
            )
            conflicts += retried
            if result == "ok":
                won[reward].append(request_id)
            else:
                refused += 1
    kit.close()
    print(json.dumps({**won, "refused": refused, "conflicts": conflicts}))


def mixed(url: str, go: str, tag: str, count: int) -> None:
    """``count`` random earns, redemptions and (partial) reversals on ana and bob."""
    kit = rk.Rewards(mixed_program(), store=url)
    chance = random.Random(int(tag))
    wait_for(go, tag)
    recorded: list[tuple[str, Decimal]] = []
    done: dict[str, str] = {}
    for number in range(count):
        member = chance.choice(["ana", "bob"])
        when = START + timedelta(minutes=number)
        request_id = f"{tag}-{number}"
        roll = chance.random()
        if roll < 0.5 or not recorded:
            amount = Decimal(chance.randint(100, 3000)) / 100
            action = rk.Action(
                id=request_id, member=member, kind="purchase", at=when, amount=amount
            )
            result, _ = persist(lambda a=action: kit.record(a))
            recorded.append((request_id, amount))
        elif roll < 0.8:
            result, _ = persist(
                lambda m=member, i=request_id, w=when: kit.redeem(m, "coffee", id=i, at=w)
            )
        else:
            original, amount = chance.choice(recorded)
            refund = None if chance.random() < 0.5 else amount / 2
            result, _ = persist(
                lambda o=original, i=request_id, w=when, r=refund: kit.reverse(
                    o, id=i, at=w, amount=r
                ),
            )
        done[request_id] = result
    kit.close()
    print(json.dumps(done))


def budget(url: str, go: str, tag: str, count: int) -> None:
    """``count`` visits on five members of this worker's own (so that only the budget is
    shared); print the points each visit was awarded by the launch promotion."""
    kit = rk.Rewards(budget_program(), store=url)
    wait_for(go, tag)
    awarded: dict[str, int] = {}
    conflicts = 0
    for number in range(count):
        action = rk.Action(
            id=f"{tag}-{number}",
            member=f"{tag}-m{number % 5}",
            kind="visit",
            at=START + timedelta(seconds=number),
        )
        _, retried = persist(lambda a=action: awarded.__setitem__(a.id, kit.record(a).points))
        conflicts += retried
    kit.close()
    print(json.dumps({"points": awarded, "conflicts": conflicts}))


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
    for i in range(count):
        action_id = f"{worker}-{i}"
        kit.record(
            rk.Action(
                id=action_id,
                member=member,
                kind="purchase",
                at=START + timedelta(minutes=i),
                amount="1.00",
            )
        )
        print(action_id, flush=True)
    kit.close()


if __name__ == "__main__":
    command, place, who, worker, count = sys.argv[1:]
    if command in ("race", "mixed", "budget"):
        {"race": race, "mixed": mixed, "budget": budget}[command](place, who, worker, int(count))
    else:
        {"redeem": redeem, "record": record}[command](place, who, worker, int(count))
