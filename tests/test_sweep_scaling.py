"""``Rewards.expire(at)`` costs what the members due cost, not what all members cost:
proved by counting store reads (not by timing) over 100,000 members in memory, and over
a smaller SQLite store whose due query must use its ``members_due`` index."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import rewardkit as rk
from rewardkit.storage import Commit, MemoryStore, Snapshot
from rewardkit.storage.sqlite import SQLiteStore

SWEEP = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
PROGRAM = rk.Program(
    name="Sweep",
    rules=(rk.fixed("visit", on="visit", points=10),),
    expiry=rk.fixed_term({"days": 365}),
)


class Counting:
    """Counts the reads and writes a store receives."""

    def __init__(self) -> None:
        self.loads: list[str] = []
        self.commits: list[str] = []
        self.due_calls: list[list[str]] = []


class CountingMemoryStore(MemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self.seen = Counting()

    def load(self, member: str) -> Snapshot:
        self.seen.loads.append(member)
        return super().load(member)

    def commit(self, unit: Commit) -> None:
        self.seen.commits.append(unit.member)
        super().commit(unit)

    def due(self, at: datetime) -> list[str]:
        found = super().due(at)
        self.seen.due_calls.append(found)
        return found


class CountingSQLiteStore(SQLiteStore):
    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.seen = Counting()

    def load(self, member: str) -> Snapshot:
        self.seen.loads.append(member)
        return super().load(member)

    def commit(self, unit: Commit) -> None:
        self.seen.commits.append(unit.member)
        super().commit(unit)

    def due(self, at: datetime) -> list[str]:
        found = super().due(at)
        self.seen.due_calls.append(found)
        return found


def one_lot_state(member: str, expires_at: datetime) -> rk.MemberState:
    lot = rk.Lot(
        id=f"{member}-1#visit",
        currency="points",
        points=10,
        remaining=10,
        earned_at=expires_at - timedelta(days=365),
        expires_at=expires_at,
        action=f"{member}-1",
        rule="visit",
    )
    return rk.MemberState(id=member, lots=(lot,))


def populate(store: rk.Store, members: int, every: int) -> set[str]:
    """``members`` members with one lot each; every ``every``-th one expired before the
    sweep instant, the others expiring after it.  Committed directly, not via the
    facade, so that building 100,000 members takes seconds.  Returns the ids due."""
    due: set[str] = set()
    for n in range(members):
        member = f"m{n:06d}"
        if n % every == 0:
            due.add(member)
            expires = SWEEP - timedelta(minutes=1 + n % 997)
        else:
            expires = SWEEP + timedelta(seconds=1 + n)
        store.commit(Commit(member, 0, one_lot_state(member, expires), (), None))
    return due


def test_a_sweep_over_100000_members_reads_only_the_1000_due() -> None:
    store = CountingMemoryStore()
    due = populate(store, 100_000, every=100)
    store.seen = Counting()
    kit = rk.Rewards(PROGRAM, store=store)

    report = kit.expire(at=SWEEP)

    assert [set(found) for found in store.seen.due_calls] == [due]
    assert len(due) == 1_000
    assert sorted(store.seen.loads) == sorted(due)  # each due member read once, no other
    assert sorted(store.seen.commits) == sorted(due)
    assert (report.members, dict(report.expired)) == (1_000, {"points": 10_000})
    assert store.due(SWEEP) == []
    assert store.due(SWEEP + timedelta(seconds=10)) == ["m000001", "m000002", "m000003"] + [
        f"m{n:06d}" for n in range(4, 10)
    ]


def test_a_sweep_with_nothing_due_reads_no_member() -> None:
    store = CountingMemoryStore()
    populate(store, 1_000, every=100)
    kit = rk.Rewards(PROGRAM, store=store)
    kit.expire(at=SWEEP)
    store.seen = Counting()
    report = kit.expire(at=SWEEP)
    assert (report.members, store.seen.loads, store.seen.commits) == (0, [], [])


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[CountingSQLiteStore]:
    store = CountingSQLiteStore(tmp_path / "sweep.db")
    yield store
    store.close()


def test_a_sqlite_sweep_reads_only_the_members_due(sqlite_store: CountingSQLiteStore) -> None:
    due = populate(sqlite_store, 5_000, every=100)
    sqlite_store.seen = Counting()
    kit = rk.Rewards(PROGRAM, store=sqlite_store)

    report = kit.expire(at=SWEEP)

    assert [set(found) for found in sqlite_store.seen.due_calls] == [due]
    assert len(due) == 50
    assert sorted(sqlite_store.seen.loads) == sorted(due)
    assert sorted(sqlite_store.seen.commits) == sorted(due)
    assert (report.members, dict(report.expired)) == (50, {"points": 500})
    assert sqlite_store.due(SWEEP) == []


def test_the_sqlite_due_query_uses_the_members_due_index(sqlite_store: CountingSQLiteStore) -> None:
    populate(sqlite_store, 200, every=10)
    statements: list[str] = []
    connection = sqlite_store._connection()  # the store's own connection, to trace it
    connection.set_trace_callback(statements.append)
    try:
        assert len(sqlite_store.due(SWEEP)) == 20
    finally:
        connection.set_trace_callback(None)
    (query,) = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    plan = " | ".join(row[-1] for row in connection.execute(f"EXPLAIN QUERY PLAN {query}"))
    assert "SEARCH members USING INDEX members_due" in plan, plan


def test_sqlite_and_memory_list_the_same_members_due_in_the_same_order(
    sqlite_store: CountingSQLiteStore,
) -> None:
    memory = MemoryStore()
    for store in (memory, sqlite_store):
        populate(store, 300, every=7)
    for instant in (SWEEP - timedelta(days=1), SWEEP, SWEEP + timedelta(seconds=30)):
        assert memory.due(instant) == sqlite_store.due(instant)
