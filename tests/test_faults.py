"""Fault injection: a store that fails at its k-th call, for every k of a facade call.

A call (record, redeem, reverse) makes several store calls: receipt, load, counter,
commit.  For every k, the k-th fails, either before it does anything or, as when a
connection drops after the database committed, after it did its work.  The host then
retries with the same id.  Whatever failed, the store must end exactly as after one
clean call: never zero applications, never two.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import datetime
from pathlib import Path
from typing import TypeVar

import attrs
import pytest

import rewardkit as rk
from rewardkit.storage import (
    Chain,
    Commit,
    MemoryStore,
    Receipt,
    Snapshot,
    Store,
    TransactionConflict,
)
from rewardkit.storage.postgres import PostgresStore
from rewardkit.storage.sqlite import SQLiteStore

from ._postgres import schemas
from .conftest import at

WHEN = at("2026-03-04 10:00")
T = TypeVar("T")


class Crash(Exception):
    """What the injected fault raises: a dropped connection, a killed worker..."""


class FailingStore:
    """Delegates to ``inner``; its ``fail_at``-th call raises :class:`Crash`, ``before``
    doing anything or ``after`` doing its work."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.calls: list[str] = []
        self.fail_at: int | None = None
        self.after = False

    def _call(self, name: str, work: Callable[[], T]) -> T:
        self.calls.append(name)
        failing = len(self.calls) == self.fail_at
        if failing and not self.after:
            raise Crash(f"call {len(self.calls)} ({name}) failed before it ran")
        result = work()
        if failing:
            raise Crash(f"call {len(self.calls)} ({name}) ran, then the caller lost it")
        return result

    def load(self, member: str) -> Snapshot:
        return self._call("load", lambda: self.inner.load(member))

    def receipt(self, operation: str, request_id: str) -> Receipt | None:
        return self._call("receipt", lambda: self.inner.receipt(operation, request_id))

    def counter(self, key: str) -> int:
        return self._call("counter", lambda: self.inner.counter(key))

    def commit(self, unit: Commit) -> None:
        self._call("commit", lambda: self.inner.commit(unit))

    def history(self, member: str) -> list[rk.Entry]:
        return self.inner.history(member)

    def chain(self, member: str) -> Chain:
        return self.inner.chain(member)

    def due(self, at: datetime) -> list[str]:
        return self.inner.due(at)

    def members(self) -> Iterator[str]:
        return self.inner.members()

    def close(self) -> None:
        self.inner.close()


def program() -> rk.Program:
    return rk.Program(
        name="Faults",
        timezone="Europe/Madrid",
        rules=[rk.per_amount("base", on="purchase", per="1.00", points=1)],
        rewards=[rk.reward("mug", cost=30, stock=5)],
    )


def order(request_id: str, amount: str = "40.00") -> rk.Action:
    return rk.Action(id=request_id, member="ana", kind="purchase", at=WHEN, amount=amount)


# The calls under test, each after the same set-up: one order of 40 points recorded.
CALLS: dict[str, Callable[[rk.Rewards], rk.Outcome]] = {
    "record": lambda kit: kit.record(order("order-2", "25.00")),
    "redeem": lambda kit: kit.redeem("ana", "mug", id="redeem-1", at=WHEN),
    "reverse": lambda kit: kit.reverse("order-1", id="refund-1", at=WHEN, amount="10.00"),
}


def observe(store: Store) -> object:
    """Everything one application changes."""
    return (
        store.load("ana"),
        store.history("ana"),
        store.chain("ana"),
        [store.receipt(op, i) for op, i in CALLS_IDS],
        store.counter("reward-stock:mug"),
        list(store.members()),
    )


# The store calls each makes: every one of them is made to fail in turn.
STEPS = {
    # record reads no receipt before its first commit: the commit refuses a known id.
    "record": ["load", "commit"],
    "redeem": ["receipt", "load", "counter", "commit"],
    "reverse": ["receipt", "receipt", "load", "commit"],
}
CALLS_IDS = [("record", "order-1"), ("record", "order-2"), ("redeem", "redeem-1")]
CALLS_IDS += [("reverse", "refund-1")]


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def new_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], Store]]:
    """Makes fresh, empty stores of one kind."""
    if request.param == "memory":
        yield MemoryStore
    elif request.param == "sqlite":
        paths = (tmp_path / f"{number}.db" for number in range(1000))
        yield lambda: SQLiteStore(next(paths))
    else:
        with schemas() as made:
            yield lambda: PostgresStore(made.url, schema=made.new(), pool=False)


def prepared(new_store: Callable[[], Store]) -> FailingStore:
    store = FailingStore(new_store())
    rk.Rewards(program(), store=store).record(order("order-1"))
    store.calls.clear()
    return store


@pytest.mark.parametrize("call", sorted(CALLS))
def test_a_failure_at_any_store_call_then_a_retry_applies_the_call_exactly_once(
    new_store: Callable[[], Store], call: str
) -> None:
    with closing(prepared(new_store)) as clean:
        expected = CALLS[call](rk.Rewards(program(), store=clean))
        steps = list(clean.calls)
        once = observe(clean)
    assert steps == STEPS[call]
    for k in range(1, len(steps) + 1):
        for after in (False, True):
            with closing(prepared(new_store)) as store:
                kit = rk.Rewards(program(), store=store)
                store.fail_at, store.after = k, after
                with pytest.raises(Crash):
                    CALLS[call](kit)
                landed = after and steps[k - 1] == "commit"
                store.fail_at = None
                retried = CALLS[call](kit)  # the host retries with the same id
                assert retried.replayed is landed, (k, after)
                assert attrs.evolve(retried, replayed=False) == expected, (k, after)
                assert observe(store) == once, (k, steps[k - 1], after)
                assert kit.verify().ok


def test_a_failed_call_that_never_committed_leaves_no_trace(tmp_path: Path) -> None:
    store = prepared(lambda: SQLiteStore(tmp_path / "r.db"))
    before = observe(store)
    store.calls.clear()
    store.fail_at = 3  # receipt, load, then the counter a redemption reads
    with pytest.raises(Crash):
        rk.Rewards(program(), store=store).redeem("ana", "mug", id="redeem-1", at=WHEN)
    assert observe(store) == before
    store.close()


class ConflictingStore(MemoryStore):
    """A store whose first ``conflicts`` commits are aborted by the database."""

    def __init__(self, conflicts: int) -> None:
        super().__init__()
        self.conflicts = conflicts

    def commit(self, unit: Commit) -> None:
        if self.conflicts > 0:
            self.conflicts -= 1
            raise TransactionConflict(unit.member, "SQLSTATE 40001")
        super().commit(unit)


def test_the_facade_retries_transaction_conflicts() -> None:
    store = ConflictingStore(conflicts=3)
    outcome = rk.Rewards(program(), store=store).record(order("order-1"))
    assert outcome.points == 40 and store.load("ana").version == 1


def test_transaction_conflicts_that_never_end_give_a_concurrency_conflict() -> None:
    store = ConflictingStore(conflicts=1000)
    with pytest.raises(rk.ConcurrencyConflict, match="nothing was committed"):
        rk.Rewards(program(), store=store, max_attempts=3).record(order("order-1"))
    assert store.conflicts == 997
    assert store.load("ana").version == 0
