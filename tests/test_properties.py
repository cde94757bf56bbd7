"""Properties over random streams of record / redeem / reverse calls.

* the ledger identity: each member's balance equals the signed sum of their ledger
  entries, every running balance is >= 0, and the lots hold exactly the balance;
* determinism: replaying the calls on a fresh store gives the same state, byte for byte.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rewardkit as rk
from rewardkit import _codec

from .conftest import at, cafe_program

MEMBERS = ("ana", "bob")
START = at("2026-03-01 08:00")

amounts = st.decimals(min_value=0, max_value=150, places=2, allow_nan=False, allow_infinity=False)

operations = st.lists(
    st.one_of(
        st.tuples(st.just("purchase"), st.sampled_from(MEMBERS), amounts),
        st.tuples(st.just("visit"), st.sampled_from(MEMBERS), st.none()),
        st.tuples(
            st.just("redeem"), st.sampled_from(MEMBERS), st.sampled_from(["free-coffee", "mug"])
        ),
        st.tuples(st.just("reverse"), st.integers(0, 30), st.one_of(st.none(), amounts)),
    ),
    max_size=30,
)
gaps = st.lists(st.integers(min_value=0, max_value=60 * 36), min_size=30, max_size=30)


def calls(
    ops: list[tuple[str, object, object]], minutes: list[int]
) -> list[tuple[str, dict[str, object]]]:
    """The facade calls a stream of operations makes, with ids and instants fixed."""
    when = START
    result: list[tuple[str, dict[str, object]]] = []
    recorded: list[str] = []
    for i, (op, who, arg) in enumerate(ops):
        when += timedelta(minutes=minutes[i])
        if op in ("purchase", "visit"):
            action = rk.Action(id=f"a{i}", member=str(who), kind=op, at=when, amount=arg)  # type: ignore[arg-type]
            result.append(("record", {"action": action}))
            recorded.append(action.id)
        elif op == "redeem":
            result.append(("redeem", {"member": who, "reward": arg, "id": f"r{i}", "at": when}))
        elif recorded:
            target = recorded[int(who) % len(recorded)]  # type: ignore[call-overload]
            result.append(
                ("reverse", {"action_id": target, "id": f"v{i}", "at": when, "amount": arg})
            )
    return result


def call(kit: rk.Rewards, name: str, arguments: dict[str, object]) -> None:
    """Make one call, ignoring refusals (which must change nothing)."""
    with contextlib.suppress(rk.InsufficientPoints, rk.RewardUnavailable, rk.InvalidAction):
        getattr(kit, name)(**arguments)


def apply(kit: rk.Rewards, ops: list[tuple[str, object, object]], minutes: list[int]) -> None:
    for name, arguments in calls(ops, minutes):
        call(kit, name, arguments)


def assert_ledger_explains_balance(kit: rk.Rewards, member: str) -> None:
    running: dict[str, int] = {}
    for seq, entry in enumerate(kit.history(member)):
        assert entry.seq == seq
        running[entry.currency] = running.get(entry.currency, 0) + entry.points
        assert entry.balance == running[entry.currency] >= 0
        assert entry.debt >= 0
    view = kit.member(member)
    for currency in kit.program.currencies:
        assert view.balances.get(currency, 0) == running.get(currency, 0)
        assert kit.balance(member, currency=currency) == running.get(currency, 0)
    assert sum(lot.remaining for lot in view.lots) == view.balance
    assert all(lot.remaining > 0 for lot in view.lots)


@settings(max_examples=60, deadline=None)
@given(ops=operations, minutes=gaps)
def test_ledger_identity_holds_after_every_call(
    ops: list[tuple[str, object, object]], minutes: list[int]
) -> None:
    kit = rk.Rewards(cafe_program(), store="memory://")
    for name, arguments in calls(ops, minutes):
        call(kit, name, arguments)
        for member in MEMBERS:
            assert_ledger_explains_balance(kit, member)


@settings(max_examples=40, deadline=None)
@given(ops=operations, minutes=gaps)
def test_replaying_the_calls_yields_the_same_state_byte_for_byte(
    ops: list[tuple[str, object, object]], minutes: list[int]
) -> None:
    first = rk.Rewards(cafe_program(), store="memory://")
    second = rk.Rewards(cafe_program(), store="memory://")
    apply(first, ops, minutes)
    apply(second, ops, minutes)
    for member in MEMBERS:
        a, b = first.store.load(member).state, second.store.load(member).state
        assert _codec.dumps(a) == _codec.dumps(b)
        assert first.history(member) == second.history(member)


@settings(max_examples=60, deadline=None)
@given(amount=amounts, refunds=st.lists(amounts, max_size=6))
def test_partial_refunds_never_take_back_more_than_was_earned(
    amount: Decimal, refunds: list[Decimal]
) -> None:
    kit = rk.Rewards(cafe_program(), store="memory://")
    earned = kit.record(
        rk.Action(id="o", member="ana", kind="purchase", at=START, amount=amount)
    ).points
    taken = 0
    refunded = Decimal(0)
    for i, value in enumerate(refunds):
        try:
            taken -= kit.reverse("o", id=f"v{i}", at=START, amount=value).points
            refunded += value
        except rk.InvalidAction:
            assert value == 0 or refunded + value > amount or refunded == amount
    assert 0 <= taken <= earned
    if amount > 0 and refunded == amount:
        assert taken == earned
    assert_ledger_explains_balance(kit, "ana")


@pytest.mark.parametrize("factor", ["1", "1.1", "1.25", "1.5", "2", "3.33"])
@given(points=st.integers(1, 10_000))
def test_multiplied_points_are_the_floor_of_the_product(factor: str, points: int) -> None:
    program = rk.Program(
        "p", rules=[rk.fixed("a", on="buy", points=points), rk.multiplier("m", factor=factor)]
    )
    out = rk.Rewards(program).record(rk.Action(id="1", member="ana", kind="buy", at=START))
    assert out.points == int(points * Decimal(factor))


@settings(max_examples=80, deadline=None)
@given(
    amounts=st.lists(amounts, min_size=1, max_size=25),
    cap=st.integers(1, 200),
    minutes=st.lists(st.integers(0, 600), min_size=25, max_size=25),
)
def test_a_daily_cap_is_never_exceeded(
    amounts: list[Decimal], cap: int, minutes: list[int]
) -> None:
    rule = rk.per_amount("base", on="purchase", per="1", caps=rk.cap(per="day", points=cap))
    kit = rk.Rewards(rk.Program("p", timezone="Europe/Madrid", rules=[rule]))
    when = START
    per_day: dict[object, int] = {}
    for i, amount in enumerate(amounts):
        when += timedelta(minutes=minutes[i])
        out = kit.record(
            rk.Action(id=str(i), member="ana", kind="purchase", at=when, amount=amount)
        )
        day = when.date()
        per_day[day] = per_day.get(day, 0) + out.points
        assert per_day[day] <= cap
        assert out.points == min(int(amount), cap - (per_day[day] - out.points))
