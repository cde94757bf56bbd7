"""The SQL stores read every member's state and ledger for the analytics a few hundred
members per query (``ledgers()``), each chunk from one snapshot, and keep none of the
states they read: the same pairs, in the same order, as reading member by member."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

import rewardkit as rk
from rewardkit.analytics import analyse, analyse_members
from rewardkit.model import Entry, MemberState
from rewardkit.storage import Store
from rewardkit.storage._lots import ROWS_FROM

from .test_lots_as_rows import START, Database, database, purchase, save_up, saver_programme

__all__ = ["database"]  # the fixture, shared with the lots-as-rows tests

MEMBERS = ["zoé", "ana", "Émile", "bob", "10", "9", "ana-2"]


def fill(database: Database) -> None:
    """A saver whose lots are rows, a saver who spent, and members of one to three
    purchases with ids that sort by code point."""
    kit = rk.Rewards(saver_programme(), store=database.open())
    save_up(kit, ROWS_FROM + 14)
    kit.redeem("saver", "coffee", id="r1", at=START + timedelta(days=ROWS_FROM + 15))
    for number, member in enumerate(MEMBERS):
        for n in range(number % 3 + 1):
            at = START + timedelta(days=n, hours=number)
            kit.record(purchase(1000 + 10 * number + n, at, member=member))
    kit.store.close()


def one_by_one(store: Store) -> Iterator[tuple[MemberState, list[Entry]]]:
    for member in store.members():
        yield store.load(member).state, store.history(member)


@pytest.mark.parametrize("chunk", [1, 2, 3, 200])
def test_a_scan_reads_the_pairs_member_by_member_reading_gives_in_their_order(
    database: Database, chunk: int
) -> None:
    fill(database)
    scanning, reading = database.open(), database.open()
    scanned = list(scanning.ledgers(chunk=chunk))  # type: ignore[attr-defined]
    expected = list(one_by_one(reading))
    assert [state.id for state, _ in scanned] == sorted([*MEMBERS, "saver"])
    assert scanned == expected
    saver = dict((state.id, state) for state, _ in scanned)["saver"]
    assert len(saver.lots) >= ROWS_FROM  # a member whose lots are rows
    scanning.close()
    reading.close()


def test_a_scan_keeps_none_of_the_states_it_read(database: Database) -> None:
    fill(database)
    store = database.open()
    list(store.ledgers())  # type: ignore[attr-defined]
    kept = store._heads._known if database.name == "postgres" else store._states  # type: ignore[attr-defined]
    assert kept == {}
    store.load("ana")
    assert list(kept) == ["ana"]  # a load still keeps the member it read
    store.close()


def test_an_empty_store_scans_to_nothing(database: Database) -> None:
    store = database.open()
    assert list(store.ledgers(chunk=1)) == []  # type: ignore[attr-defined]
    store.close()


def test_analyse_finds_the_same_insights_through_the_scan(database: Database) -> None:
    fill(database)
    store = database.open()
    at = START + timedelta(days=60)
    program = saver_programme()
    assert analyse(program, store, at) == analyse_members(program, one_by_one(store), at)
    store.close()
