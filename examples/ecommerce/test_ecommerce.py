"""Trailhead Outfitters' spring, checked against numbers worked out by hand.

A point per dollar, 100 for a first order, the spring sale doubling 10-12 April's base
points within a 300-point budget, 300 + 150 for a referral on a first order of $50 or
more, 20 per review, a raffle ticket per $25 in April.
"""

from __future__ import annotations

import hashlib
import hmac
import importlib.util
import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import rewardkit as rk

HERE = Path(__file__).resolve().parent


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("ecommerce_example", HERE / "ecommerce.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


shop = load_script()
END: datetime = shop.END_OF_APRIL


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[rk.Rewards, dict[str, Any]]]:
    path = tmp_path_factory.mktemp("shop") / "shop.db"
    with rk.Rewards(shop.load_program(), store=f"sqlite:///{path}") as kit:
        yield kit, shop.record_story(kit)


@pytest.fixture(scope="module")
def kit(story: tuple[rk.Rewards, dict[str, Any]]) -> rk.Rewards:
    return story[0]


@pytest.fixture(scope="module")
def outcomes(story: tuple[rk.Rewards, dict[str, Any]]) -> dict[str, Any]:
    return story[1]


def earned(outcome: rk.Outcome) -> dict[str, int]:
    return {award.rule: award.points for award in outcome.awards}


def tickets(outcome: rk.Outcome) -> int:
    return sum(e.tickets for e in outcome.events if isinstance(e, rk.TicketsEarned))


def test_a_first_order_earns_the_welcome_bonus(outcomes: dict[str, Any]) -> None:
    first = outcomes["order-1001"]
    assert earned(first) == {"base": 80, "welcome": 100}
    assert tickets(first) == 0  # 20 March: the raffle opens on 1 April


def test_the_referral_waits_for_a_first_order_of_fifty_dollars(
    kit: rk.Rewards, outcomes: dict[str, Any]
) -> None:
    small = outcomes["order-1002"]
    assert small.points == 30 + 100 and tickets(small) == 1
    assert not any(isinstance(e, rk.ReferralRewarded) for e in small.events)
    qualifying = outcomes["order-1003"]
    assert qualifying.points == 64 + 150 and tickets(qualifying) == 2
    paid = [e for e in kit.history("ana", at=END) if e.cause == "referral:refer-a-friend:ben"]
    assert [(e.points, e.balance) for e in paid] == [(300, 180 + 300)]
    assert kit.member("ben", at=END).referred_by == "ana"


def test_the_spring_sale_stops_when_its_budget_is_spent(
    kit: rk.Rewards, outcomes: dict[str, Any]
) -> None:
    ana, cleo, dev = (outcomes[id] for id in ("order-1004", "order-1005", "order-1006"))
    assert earned(ana) == {"base": 150, "spring-sale": 150}
    assert earned(cleo) == {"base": 200, "welcome": 100, "spring-sale": 150}  # not 200
    assert earned(dev) == {"base": 60, "welcome": 100, "spring-sale": 0}
    assert [a.capped for a in cleo.awards if a.rule == "spring-sale"] == [True]
    assert [a.capped for a in dev.awards if a.rule == "spring-sale"] == [True]
    assert kit.store.counter("budget:spring-sale") == 300


def test_a_partial_return_takes_back_its_share_of_every_award(outcomes: dict[str, Any]) -> None:
    # $50 of $200: floor(200 / 4) + floor(100 / 4) + floor(150 / 4) = 50 + 25 + 37
    assert outcomes["return-1005-a"].points == -112
    assert outcomes["return-1005-a"].balance == 450 - 112


def test_the_last_bottle_goes_to_the_first_to_ask(outcomes: dict[str, Any]) -> None:
    assert outcomes["redeem-ana-1"].points == -400
    refused = outcomes["redeem-cleo-1"]
    assert isinstance(refused, rk.RewardUnavailable) and refused.reward == "steel-bottle"
    assert outcomes["redeem-cleo-2"].balance == 338 - 250


def test_a_full_return_after_spending_leaves_a_debt_the_next_order_settles(
    kit: rk.Rewards, outcomes: dict[str, Any]
) -> None:
    returned = outcomes["return-1006"]
    assert returned.points == -60  # all he had left: 160 earned, 100 spent on shipping
    [reversed_] = [e for e in returned.events if isinstance(e, rk.PointsReversed)]
    assert (reversed_.points, reversed_.debt) == (60, 100)
    assert outcomes["order-1007"].points == 130 - 100
    rows = [(e.kind, e.points, e.balance, e.debt) for e in kit.history("dev", at=END)]
    assert rows == [
        ("earn", 60, 60, 0),
        ("earn", 100, 160, 0),
        ("redeem", -100, 60, 0),
        ("reverse", -60, 0, 100),
        ("earn", 130, 130, 100),
        ("settle", -100, 30, 0),
    ]


def test_accounts_at_the_end_of_april(kit: rk.Rewards) -> None:
    balances = {member: kit.balance(member, at=END) for member in shop.CUSTOMERS}
    # Ana: 180 + 300 (referral) + 300 + 40 - 400; Ben: 130 + 214 - 200 (tickets);
    # Cleo: 450 - 112 - 250 + 20; Dev: 160 - 100 - 160 + 130.
    assert balances == {"ana": 420, "ben": 144, "cleo": 108, "dev": 30}
    assert all(not kit.member(m, at=END).debts for m in shop.CUSTOMERS)
    assert [n.message for n in kit.nudges("ben", at=END)] == [
        "You have 144 points: only 106 more to $5 off your next order."
    ]
    assert [kit.nudges(m, at=END) for m in ("ana", "cleo", "dev")] == [[], [], []]


def recompute(raffle: str, seed: bytes, entries: list[tuple[str, int]], prizes: int) -> list[str]:
    """The draw, by the algorithm rewardkit publishes (docs/how-to/raffles.md), without it."""
    pool = [(member, count) for member, count in entries if count > 0]
    winners = []
    for prize in range(min(prizes, len(pool))):
        total = sum(count for _, count in pool)
        counter = 0
        while True:
            message = f"{raffle}|{prize}|{counter}".encode()
            v = int.from_bytes(hmac.new(seed, message, hashlib.sha256).digest(), "big")
            if v < 2**256 - 2**256 % total:
                break
            counter += 1
        ticket = v % total
        for index, (member, count) in enumerate(pool):
            if ticket < count:
                winners.append(member)
                del pool[index]
                break
            ticket -= count
    return winners


def test_the_raffle_is_drawn_once_and_anyone_can_check_it(kit: rk.Rewards) -> None:
    entries = kit.raffle_entries(shop.RAFFLE)
    # Ana 6 + 1, Ben 1 + 2 + 2 bought, Cleo 8 - 2 (a quarter of her order returned:
    # floor(8 x 50 / 200)), Dev 2 + 5 - 2 (his first order returned whole).
    assert entries == [("ana", 7), ("ben", 5), ("cleo", 6), ("dev", 5)]
    with pytest.raises(rk.RaffleError, match="is still open"):
        kit.draw(shop.RAFFLE, seed=shop.SEED, at=END)
    with pytest.raises(rk.RaffleError, match="seed commitment"):
        kit.draw(shop.RAFFLE, seed=b"a lucky guess of more than 16 bytes", at=shop.DRAW_AT)

    draw = shop.draw_raffle(kit)

    published = kit.program.raffle(shop.RAFFLE).seed_commitment
    assert hashlib.sha256(bytes.fromhex(draw.seed)).hexdigest() == published
    digest = hashlib.sha256(json.dumps(entries, separators=(",", ":")).encode()).hexdigest()
    assert draw.entries_digest == digest
    assert draw.winners == ("cleo", "ana")
    assert recompute(shop.RAFFLE, shop.SEED, entries, draw.prizes) == list(draw.winners)
    assert rk.verify_draw(draw, entries)
    again = kit.draw(shop.RAFFLE, seed=b"another seed, sixteen bytes or more")
    assert again.replayed and again.winners == draw.winners


def test_the_script_tells_the_story_and_a_second_run_counts_nothing_twice(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "twice.db")
    shop.main(db)
    first = capsys.readouterr().out
    for line in (
        "Sat 11 Apr  order-1005     cleo purchase 200.00           +450  balance 450  "
        "(welcome +100, spring-sale +150, budget spent, 8 tickets)",
        "Wed 08 Apr                 ana's friend qualified         +300  balance 480  "
        "(refer-a-friend +300)",
        "Sat 18 Apr  return-1006    return all of order-1006        -60  balance   0  "
        "(100 owed, 2 tickets taken back)",
        "The spring sale gave away 300 of its 300 bonus points.",
        "  entries (23 tickets): ana 7, ben 5, cleo 6, dev 5",
        "  prize 1: cleo",
        "  anyone can recompute it: verify_draw -> True",
        "  with one ticket added for a winner: verify_draw -> False",
    ):
        assert line in first.splitlines(), f"{line!r} not in:\n{first}"
    shop.main(db)
    second = capsys.readouterr().out
    assert second.count("(replayed)") == 16  # every line but the refused redemption

    def told(output: str) -> list[str]:
        return output.replace("  (replayed)", "").splitlines()

    assert told(second) == told(first)
