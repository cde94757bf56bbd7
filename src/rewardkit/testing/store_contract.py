"""The contract every rewardkit store must pass: ours, and yours.

Subclass :class:`StoreContract` in a test module under a name pytest collects, and say
how to make a fresh, empty store::

    from rewardkit.testing.store_contract import StoreContract

    class TestRedisStore(StoreContract):
        def make_store(self) -> Store:
            return RedisStore(url, namespace=uuid.uuid4().hex)  # empty, every call

        # Optional: a new store over the data of a closed one (enables the reopen test).
        def reopen_store(self, store: Store) -> Store | None:
            return RedisStore(url, namespace=store.namespace)

Every ``test_*`` method is inherited.  A store chains each member's ledger entries by
calling :func:`rewardkit.storage.chain.link` in its commit and hands them back from
``chain(member)``; the suite checks the hashes against fixed values, so every store
agrees byte for byte and :func:`rewardkit.storage.verify` works on all of them.

The suite uses plain ``assert`` and imports neither pytest nor hypothesis, so any runner
that collects ``Test*`` classes runs it; a test that cannot apply raises
:class:`unittest.SkipTest`, which pytest reports as a skip.  Commits are built by hand
from model objects, so the suite needs no programme.
"""

from __future__ import annotations

import threading
import time
import unittest
from collections.abc import Callable, Iterable
from contextlib import closing
from datetime import timedelta
from decimal import Decimal
from functools import partial
from typing import NoReturn, TypeVar

import attrs

from ..analytics import ledgers
from ..errors import StoreError
from ..model import Contribution, CounterChange, Lot, MemberState, Outcome, ScoreChange
from ..storage.base import (
    Chain,
    Commit,
    CounterLimitExceeded,
    DuplicateReceipt,
    Receipt,
    Snapshot,
    StaleVersion,
    Store,
)
from ..storage.chain import link, verify
from ._commits import AT, STOCK, TICKETS, make_commit

__all__ = ["AT", "STOCK", "TICKETS", "StoreContract", "make_commit"]

E = TypeVar("E", bound=BaseException)

# The first 16 hex digits of the hashes of the two entries the chain test commits.
GOLDEN_HASHES = ["e81ff07f3cc839ec", "9aa5f997aba5c104"]


def _raises(expected: type[E], call: Callable[[], object]) -> E:
    try:
        call()
    except expected as error:
        return error
    raise AssertionError(f"expected {expected.__name__}, but nothing was raised")


def _skip(reason: str) -> NoReturn:
    try:
        import pytest
    except ImportError:
        raise unittest.SkipTest(reason) from None
    pytest.skip(reason)


def _observe(store: Store, members: Iterable[str], receipts: Iterable[tuple[str, str]]) -> object:
    """Everything a refused commit must leave as it was."""
    members = list(members)
    return (
        [store.load(member) for member in members],
        [store.history(member) for member in members],
        [store.chain(member) for member in members],
        [store.receipt(operation, request_id) for operation, request_id in receipts],
        [store.counter(key) for key in (STOCK, TICKETS)],
        list(store.members()),
    )


class StoreContract:
    """The shared store test suite.  Subclasses implement :meth:`make_store`.

    The hook raises instead of being an ``abc.abstractmethod``: pytest silently skips
    abstract classes, so a subclass that forgot the hook would pass with no tests run.
    """

    def make_store(self) -> Store:
        """A new, empty store.  Called at least once per test."""
        raise NotImplementedError(
            f"{type(self).__name__} must define make_store(self) -> Store, "
            "returning a new, empty store"
        )

    def reopen_store(self, store: Store) -> Store | None:
        """A new store over the data of ``store``, which has just been closed; ``None``
        (the default) for stores that keep nothing once closed."""
        return None

    # ---------------------------------------------------------------- empty store

    def test_store_satisfies_the_store_protocol(self) -> None:
        with closing(self.make_store()) as store:
            assert isinstance(store, Store)

    def test_unknown_member_loads_as_an_empty_state_at_version_zero(self) -> None:
        with closing(self.make_store()) as store:
            assert store.load("ana") == Snapshot(MemberState(id="ana"), 0)
            assert store.history("ana") == []
            assert list(store.members()) == []
            assert store.receipt("record", "order-1") is None

    def test_counters_start_at_zero(self) -> None:
        with closing(self.make_store()) as store:
            assert store.counter(STOCK) == 0

    # ---------------------------------------------------------------- commits

    def test_commit_then_load_returns_the_committed_state_at_version_one(self) -> None:
        with closing(self.make_store()) as store:
            unit = make_commit(store.load("ana"), "order-1")
            store.commit(unit)
            assert store.load("ana") == Snapshot(unit.state, 1)
            assert list(store.members()) == ["ana"]

    def test_history_returns_committed_entries_oldest_first_across_commits(self) -> None:
        with closing(self.make_store()) as store:
            first = make_commit(store.load("ana"), "order-1", 10)
            store.commit(first)
            second = make_commit(store.load("ana"), "order-2", 25, at=AT + timedelta(hours=1))
            store.commit(second)
            assert store.load("ana") == Snapshot(second.state, 2)
            assert store.history("ana") == [*first.entries, *second.entries]
            assert [entry.seq for entry in store.history("ana")] == [0, 1]
            store.history("ana").clear()  # a copy: the ledger is append-only
            assert len(store.history("ana")) == 2

    def test_receipt_round_trips_request_and_outcome_with_events(self) -> None:
        with closing(self.make_store()) as store:
            unit = make_commit(store.load("ana"), "order-1")
            store.commit(unit)
            found, given = store.receipt("record", "order-1"), unit.receipt
            assert given is not None and found == given
            assert found is not None and found.outcome.events == given.outcome.events
            assert found.request["attributes"] == given.request["attributes"]
            assert store.receipt("redeem", "order-1") is None

    def test_commits_to_two_members_are_independent(self) -> None:
        with closing(self.make_store()) as store:
            ana = make_commit(store.load("ana"), "order-1", 10)
            bob = make_commit(store.load("bob"), "order-2", 20)
            store.commit(ana)
            store.commit(bob)
            again = make_commit(store.load("ana"), "order-3", 30)
            store.commit(again)
            assert store.load("ana") == Snapshot(again.state, 2)
            assert store.load("bob") == Snapshot(bob.state, 1)
            assert store.history("bob") == list(bob.entries)
            assert store.history("ana") == [*ana.entries, *again.entries]

    def test_members_are_listed_in_sorted_order(self) -> None:
        names = ["zoé", "ana", "Émile", "bob", "Bob", "10", "9", "ana-2"]
        with closing(self.make_store()) as store:
            for number, name in enumerate(names):
                store.commit(make_commit(store.load(name), f"order-{number}"))
            assert list(store.members()) == sorted(names)

    def test_ledgers_give_every_members_state_and_ledger_in_member_order(self) -> None:
        # What the analytics read: the store's own ledgers() when it has one.
        names = ["zoé", "ana", "Émile", "bob", "10", "9"]
        with closing(self.make_store()) as store:
            for number, name in enumerate(names):
                store.commit(make_commit(store.load(name), f"order-{number}", 10 + number))
            again = make_commit(store.load("ana"), "order-again", 5, at=AT + timedelta(hours=1))
            store.commit(again)
            scanned = list(ledgers(store))
            assert [state.id for state, _ in scanned] == sorted(names)
            assert scanned == [(store.load(m).state, store.history(m)) for m in sorted(names)]
            assert dict((state.id, len(ledger)) for state, ledger in scanned)["ana"] == 2

    # ---------------------------------------------------------------- refusals

    def test_stale_version_raises_and_changes_nothing(self) -> None:
        with closing(self.make_store()) as store:
            loaded = store.load("ana")
            store.commit(make_commit(loaded, "order-1", counters=[CounterChange(STOCK, 1)]))
            before = _observe(store, ["ana"], [("record", "order-2")])
            for version in (0, 2):
                stale = make_commit(
                    Snapshot(store.load("ana").state, version),
                    "order-2",
                    counters=[CounterChange(STOCK, 1), CounterChange(TICKETS, 3)],
                )
                error = _raises(StaleVersion, partial(store.commit, stale))
                assert error.member == "ana"
                assert _observe(store, ["ana"], [("record", "order-2")]) == before

    def test_duplicate_receipt_raises_and_changes_nothing(self) -> None:
        with closing(self.make_store()) as store:
            store.commit(make_commit(store.load("ana"), "order-1"))
            before = _observe(store, ["ana", "bob"], [("record", "order-1")])
            for member in ("ana", "bob"):
                duplicate = make_commit(
                    store.load(member), "order-1", 99, counters=[CounterChange(TICKETS, 1)]
                )
                error = _raises(DuplicateReceipt, partial(store.commit, duplicate))
                assert (error.operation, error.request_id) == ("record", "order-1")
                assert _observe(store, ["ana", "bob"], [("record", "order-1")]) == before

    def test_same_id_under_another_operation_is_not_a_duplicate(self) -> None:
        with closing(self.make_store()) as store:
            store.commit(make_commit(store.load("ana"), "x-1", operation="record"))
            other = make_commit(store.load("ana"), "x-1", operation="redeem")
            store.commit(other)
            assert store.receipt("redeem", "x-1") == other.receipt
            assert store.load("ana").version == 2

    def test_counter_past_its_limit_raises_and_changes_nothing(self) -> None:
        with closing(self.make_store()) as store:
            store.commit(
                make_commit(store.load("ana"), "r-1", counters=[CounterChange(STOCK, 2, 2)])
            )
            before = _observe(store, ["ana", "bob"], [("redeem", "r-2")])
            over = make_commit(
                store.load("bob"),
                "r-2",
                counters=[CounterChange(TICKETS, 5), CounterChange(STOCK, 1, limit=2)],
            )
            error = _raises(CounterLimitExceeded, lambda: store.commit(over))
            assert (error.key, error.limit) == (STOCK, 2)
            assert _observe(store, ["ana", "bob"], [("redeem", "r-2")]) == before
            assert "bob" not in list(store.members())

    def test_counter_change_within_its_limit_lands(self) -> None:
        with closing(self.make_store()) as store:
            for number, delta in enumerate([1, 2, -1, 1], start=1):  # ends exactly at the limit
                change = CounterChange(STOCK, delta, limit=3)
                store.commit(make_commit(store.load("ana"), f"r-{number}", counters=[change]))
            store.commit(
                make_commit(store.load("bob"), "t-1", counters=[CounterChange(TICKETS, 7)])
            )
            assert (store.counter(STOCK), store.counter(TICKETS)) == (3, 7)
            assert store.load("ana").version == 4

    def test_one_commit_changing_a_counter_twice_is_checked_on_the_running_total(self) -> None:
        with closing(self.make_store()) as store:
            twice = make_commit(
                store.load("ana"),
                "r-1",
                counters=[CounterChange(STOCK, 1, limit=1), CounterChange(STOCK, 1, limit=1)],
            )
            _raises(CounterLimitExceeded, lambda: store.commit(twice))
            assert store.counter(STOCK) == 0
            assert store.load("ana").version == 0

    # ---------------------------------------------------------------- the hash chain

    def test_every_entry_is_chained_to_the_one_before_it(self) -> None:
        with closing(self.make_store()) as store:
            first = make_commit(store.load("ana"), "order-1", 10)
            store.commit(first)
            second = make_commit(store.load("ana"), "order-2", 25, at=AT + timedelta(hours=1))
            store.commit(second)
            chain = store.chain("ana")
            entries = [*first.entries, *second.entries]
            assert [item.entry for item in chain.links] == entries
            assert [item.hash for item in chain.links] == link("ana", None, entries)
            # Fixed values: every store, ours or yours, hashes the same bytes.
            assert [item.hash[:16] for item in chain.links] == GOLDEN_HASHES
            assert chain.head == chain.links[-1].hash
            assert store.chain("bob") == Chain("bob", (), None)
            report = verify(store)
            assert report.ok and (report.members, report.entries) == (1, 2)
            assert report.heads == {"ana": chain.head}

    def test_entries_numbered_out_of_step_with_the_state_are_refused(self) -> None:
        with closing(self.make_store()) as store:
            store.commit(make_commit(store.load("ana"), "a"))
            before = _observe(store, ["ana"], [("record", "b")])
            unit = make_commit(store.load("ana"), "b")
            for entries in (
                (attrs.evolve(unit.entries[0], seq=2),),  # a gap
                (attrs.evolve(unit.entries[0], seq=0),),  # a repeat
                unit.entries * 2,  # more entries than the state counts
            ):
                _raises(StoreError, partial(store.commit, attrs.evolve(unit, entries=entries)))
                assert _observe(store, ["ana"], [("record", "b")]) == before
            store.commit(unit)
            assert verify(store).ok

    def test_a_commit_without_entries_keeps_the_chain(self) -> None:
        with closing(self.make_store()) as store:
            store.commit(make_commit(store.load("ana"), "a"))
            before = store.chain("ana")
            snapshot = store.load("ana")
            store.commit(Commit("ana", snapshot.version, snapshot.state, (), None))
            assert store.chain("ana") == before
            store.commit(make_commit(store.load("ana"), "b"))
            after = store.chain("ana")
            assert after.links[:1] == before.links and len(after.links) == 2
            assert verify(store).ok

    # ---------------------------------------------------------------- the due index

    def test_due_lists_members_whose_next_instant_has_come_earliest_first(self) -> None:
        with closing(self.make_store()) as store:
            # make_commit's lots expire 365 days after they are earned.
            store.commit(make_commit(store.load("late"), "a", at=AT + timedelta(days=2)))
            store.commit(make_commit(store.load("early"), "b", at=AT))
            store.commit(make_commit(store.load("never"), "c", at=AT))
            unit = make_commit(store.load("never"), "d")
            forever = attrs.evolve(
                unit.state,
                lots=tuple(attrs.evolve(lot, expires_at=None) for lot in unit.state.lots),
            )
            store.commit(attrs.evolve(unit, state=forever))
            year = AT + timedelta(days=365)
            assert store.due(year - timedelta(microseconds=1)) == []
            assert store.due(year) == ["early"]
            assert store.due(year + timedelta(days=2)) == ["early", "late"]

    def test_leaderboard_scores_land_with_their_commit_and_rank_ties_by_member(self) -> None:
        with closing(self.make_store()) as store:
            for member, score in [("cat", 30), ("ana", 50), ("bob", 30), ("dan", 10)]:
                change = ScoreChange("weekly", "2026-W10", "madrid", member, score)
                store.commit(
                    attrs.evolve(make_commit(store.load(member), f"o-{member}"), scores=(change,))
                )
            other = ScoreChange("weekly", "2026-W10", "sevilla", "eve", 99)
            store.commit(attrs.evolve(make_commit(store.load("eve"), "o-eve"), scores=(other,)))
            assert store.top("weekly", "2026-W10", "madrid", 10) == [
                ("ana", 50), ("bob", 30), ("cat", 30), ("dan", 10),
            ]  # fmt: skip
            assert store.top("weekly", "2026-W10", "madrid", 2, offset=1) == [
                ("bob", 30),
                ("cat", 30),
            ]
            assert store.rank("weekly", "2026-W10", "madrid", "cat") == (3, 30)
            assert store.rank("weekly", "2026-W10", "madrid", "eve") is None
            assert store.rank("weekly", "2026-W10", "sevilla", "eve") == (1, 99)
            assert store.top("weekly", "2026-W11", "madrid", 10) == []

    def test_scores_add_up_and_a_refused_commit_leaves_them_unchanged(self) -> None:
        with closing(self.make_store()) as store:
            first = ScoreChange("all", "all", "", "ana", 5)
            store.commit(attrs.evolve(make_commit(store.load("ana"), "o-1"), scores=(first, first)))
            stale = attrs.evolve(
                make_commit(store.load("ana"), "o-2"), expected_version=7, scores=(first,)
            )
            _raises(StaleVersion, partial(store.commit, stale))
            assert store.rank("all", "all", "", "ana") == (1, 10)
            back = ScoreChange("all", "all", "", "ana", -4)
            store.commit(attrs.evolve(make_commit(store.load("ana"), "o-3"), scores=(back,)))
            assert store.top("all", "all", "", 5) == [("ana", 6)]

    def test_a_standalone_receipt_is_kept_once_and_touches_no_member(self) -> None:
        with closing(self.make_store()) as store:
            drawn = Receipt("draw", "summer", "", {"winners": ["ana"]}, Outcome("", 0, 0))
            store.record(drawn)
            assert store.receipt("draw", "summer") == drawn
            _raises(DuplicateReceipt, partial(store.record, drawn))
            assert list(store.members()) == []
            store.commit(make_commit(store.load("ana"), "summer"))  # other operation: fine
            assert store.receipt("draw", "summer") == drawn

    def test_due_follows_each_commit_and_a_commit_needs_no_receipt(self) -> None:
        with closing(self.make_store()) as store:
            store.commit(make_commit(store.load("ana"), "a"))
            snapshot = store.load("ana")
            swept = attrs.evolve(snapshot.state, lots=())
            store.commit(Commit("ana", snapshot.version, swept, (), None))
            assert store.load("ana") == Snapshot(swept, 2)
            assert store.due(AT + timedelta(days=400)) == []
            assert store.receipt("record", "a") is not None

    # ---------------------------------------------------------------- concurrency

    def test_threads_racing_on_one_member_never_lose_an_update(self) -> None:
        threads, per_thread = 8, 12
        with closing(self.make_store()) as store:
            start = threading.Barrier(threads)
            failures: list[BaseException] = []

            def work(tag: int) -> None:
                try:
                    start.wait()
                    for number in range(per_thread):
                        while True:
                            loaded = store.load("ana")
                            time.sleep(0)  # let other threads in between load and commit
                            unit = make_commit(loaded, f"t{tag}-{number}", 1)
                            try:
                                store.commit(unit)
                                break
                            except StaleVersion:
                                continue
                except BaseException as error:  # reported below, in the test's thread
                    failures.append(error)

            workers = [threading.Thread(target=work, args=(tag,)) for tag in range(threads)]
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join(timeout=120)
            assert not any(worker.is_alive() for worker in workers), "a thread hung"
            assert failures == []
            total = threads * per_thread
            final = store.load("ana")
            assert final.version == total
            assert final.state.entries == total
            assert final.state.balance() == total
            assert [entry.seq for entry in store.history("ana")] == list(range(total))
            assert verify(store).ok

    def test_a_state_with_instants_without_a_time_zone_comes_back_as_committed(self) -> None:
        """The engine's instants are all aware; a state built by hand may hold naive ones
        in its lots and tier metric (enough of both that a SQL store would make them
        rows): it is stored and read back as it was, by this store and a new one."""
        naive = AT.replace(tzinfo=None)
        lots = tuple(
            Lot(f"p{n}#base", "points", 5, 5, naive + timedelta(hours=n), None, f"p{n}", "base")
            for n in range(20)
        )
        metric = tuple(Contribution(naive + timedelta(hours=n), Decimal(n)) for n in range(300))
        aware = Contribution(AT + timedelta(days=30), Decimal(1))  # naive and aware mixed
        state = attrs.evolve(MemberState(id="ana"), lots=lots, metric=(*metric, aware))
        store = self.make_store()
        try:
            store.commit(Commit("ana", 0, state, (), None))
            assert store.load("ana") == Snapshot(state, 1)
        finally:
            store.close()
        reopened = self.reopen_store(store)
        if reopened is not None:
            with closing(reopened):
                assert reopened.load("ana") == Snapshot(state, 1)

    # ---------------------------------------------------------------- persistence

    def test_committed_data_survives_close_and_reopen(self) -> None:
        store = self.make_store()
        try:
            store.commit(make_commit(store.load("ana"), "o-1", counters=[CounterChange(STOCK, 1)]))
            store.commit(make_commit(store.load("ana"), "o-2"))
            store.commit(
                make_commit(store.load("bob"), "o-3", counters=[CounterChange(TICKETS, 4)])
            )
            receipts = [("record", "o-1"), ("record", "o-2"), ("record", "o-3")]
            before = _observe(store, ["ana", "bob"], receipts)
        finally:
            store.close()
        reopened = self.reopen_store(store)
        if reopened is None:
            _skip(f"{type(store).__name__} keeps nothing once closed")
        with closing(reopened):
            assert _observe(reopened, ["ana", "bob"], receipts) == before
            reopened.commit(make_commit(reopened.load("ana"), "o-4"))
            assert reopened.load("ana").version == 3
