"""The same generated calls on the memory store and on a SQL store end the same.

Hypothesis generates sequences of earns, redemptions (one reward with a small stock),
full and partial reversals, expiry sweeps, resent ids and reused ids, with time moving
on.  Run on ``MemoryStore`` and on SQLite or PostgreSQL, every call must give the same
outcome or the same error, and the stores must end with identical states, ledgers
(hashes included), receipts, counters and due indexes.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rewardkit as rk
from rewardkit.storage import MemoryStore, Store
from rewardkit.storage.postgres import PostgresStore
from rewardkit.storage.sqlite import SQLiteStore

from ._postgres import postgres_url, schemas
from .conftest import at

START = at("2026-03-02 08:00")

PROGRAM = rk.Program(
    name="Differential",
    timezone="Europe/Madrid",
    rules=[
        rk.per_amount("base", on="purchase", per="1.00", points=1),
        rk.first_time("welcome", on="purchase", points=5),
        rk.fixed("visit", on="visit", points=2, caps=rk.cap(per="day", awards=1)),
    ],
    rewards=[rk.reward("coffee", cost=10), rk.reward("mug", cost=5, stock=2)],
    expiry=rk.fixed_term({"days": 3}),
)

members = st.sampled_from(["ana", "bob", "zoé"])
calls = st.one_of(
    st.tuples(
        st.just("record"),
        members,
        st.sampled_from(["purchase", "visit"]),
        st.integers(0, 4000).map(lambda cents: Decimal(cents) / 100),
    ),
    st.tuples(st.just("redeem"), members, st.sampled_from(["coffee", "mug"])),
    st.tuples(st.just("reverse"), st.integers(0, 40), st.sampled_from([None, 25, 50, 100])),
    st.tuples(st.just("expire")),
    st.tuples(st.just("resend"), st.integers(0, 40)),
    st.tuples(st.just("reuse"), st.integers(0, 40)),
)
programs = st.lists(st.tuples(calls, st.integers(0, 2 * 24 * 60)), min_size=8, max_size=30)

Call = Callable[[rk.Rewards], Any]


def plan(steps: list[tuple[tuple[Any, ...], int]]) -> list[Call]:
    """Turn generated steps into calls on a facade (the same for every store)."""
    made: list[Call] = []
    recorded: list[rk.Action] = []
    when = START
    for number, (call, minutes) in enumerate(steps):
        when += timedelta(minutes=minutes)
        kind, *args = call
        if kind == "record":
            member, action_kind, amount = args
            action = rk.Action(
                id=f"a{number}", member=member, kind=action_kind, at=when, amount=amount
            )
            recorded.append(action)
            made.append(lambda kit, a=action: kit.record(a))
        elif kind == "redeem":
            member, reward = args
            made.append(
                lambda kit, m=member, r=reward, i=f"r{number}", w=when: kit.redeem(m, r, id=i, at=w)
            )
        elif kind == "reverse" and recorded:
            action = recorded[args[0] % len(recorded)]
            share = args[1]
            refund = None if share is None or action.amount is None else action.amount * share / 100
            made.append(
                lambda kit, a=action.id, i=f"v{number}", w=when, r=refund: kit.reverse(
                    a, id=i, at=w, amount=r
                )
            )
        elif kind == "expire":
            made.append(lambda kit, w=when: kit.expire(at=w))
        elif kind in ("resend", "reuse") and made:
            earlier = made[args[0] % len(made)]
            if kind == "resend":
                made.append(earlier)  # the same id and content: a replay
            elif recorded:
                original = recorded[args[0] % len(recorded)]
                other = rk.Action(
                    id=original.id, member=original.member, kind="visit", at=when, amount=1
                )
                made.append(lambda kit, a=other: kit.record(a))
    return made


def run(store: Store, made: list[Call]) -> tuple[list[object], object]:
    """Every call's outcome or error, then everything the store holds."""
    kit = rk.Rewards(PROGRAM, store=store)
    results: list[object] = []
    for call in made:
        try:
            results.append(call(kit))
        except rk.RewardkitError as error:
            results.append((type(error).__name__, str(error)))
    known = list(store.members())
    held = (
        known,
        [store.load(member) for member in known],
        [store.chain(member) for member in known],
        [store.receipt(op, f"{p}{n}") for op, p in OPS for n in range(len(made))],
        store.counter(PROGRAM.reward("mug").stock_key),
        store.due(START + timedelta(days=400)),
        kit.verify().ok,
    )
    return results, held


OPS = [("record", "a"), ("redeem", "r"), ("reverse", "v")]


@contextmanager
def sql_store(kind: str) -> Iterator[Store]:
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as folder, SQLiteStore(Path(folder) / "r.db") as lite:
            yield lite
    else:
        with schemas() as made, PostgresStore(made.url, schema=made.new(), pool=False) as pg:
            yield pg


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_memory_and_sql_stores_agree_on_every_generated_sequence(kind: str) -> None:
    if kind == "postgres":
        postgres_url()  # skips, saying why, only when no server is configured

    @settings(
        max_examples=30 if kind == "sqlite" else 20,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(steps=programs)
    def agree(steps: list[tuple[tuple[Any, ...], int]]) -> None:
        made = plan(steps)
        with closing(MemoryStore()) as memory:
            expected = run(memory, made)
        with sql_store(kind) as store:
            assert run(store, made) == expected

    agree()
