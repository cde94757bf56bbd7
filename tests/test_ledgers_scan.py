"""The SQL stores read every member's state and ledger for the analytics a few hundred
members per query (``ledgers()``), each chunk from one snapshot, and keep none of the
states they read: the same pairs, in the same order, as reading member by member."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

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


WRITER = """
import itertools, pathlib, sys
from datetime import UTC, datetime, timedelta
import rewardkit as rk

url, ready, stop = sys.argv[1], pathlib.Path(sys.argv[2]), pathlib.Path(sys.argv[3])
program = rk.Program(
    name="Saver",
    rules=[rk.per_amount("base", on="purchase", per="1.00", points=1)],
    rewards=[rk.reward("coffee", cost=45)],
    expiry=rk.fixed_term({"months": 12}),
)
kit = rk.Rewards(program, store=url)
start = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
for n in itertools.count():
    if stop.exists() or n > 20_000:
        break
    member, at = f"s{n % 12:02d}", start + timedelta(hours=n)
    kit.record(rk.Action(id=f"p{n}", member=member, kind="purchase", at=at, amount="4.50"))
    if n % 7 == 6:
        try:
            kit.redeem(member, "coffee", id=f"r{n}", at=at)
        except rk.RewardkitError:
            pass
    if n == 240:
        ready.touch()
kit.store.close()
print(n)
"""


def test_a_scan_while_another_process_writes_reads_each_member_whole(
    database: Database, tmp_path: Path
) -> None:
    # Each chunk is one snapshot: a member's state, its lots kept as rows and its ledger
    # agree, whatever the writer committed between two chunks or two queries.
    ready, stop = tmp_path / "ready", tmp_path / "stop"
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, database.url, str(ready), str(stop)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not ready.exists():
            assert writer.poll() is None, writer.communicate()[1]
            assert time.monotonic() < deadline, "the writer did not get going"
            time.sleep(0.01)
        store = database.open()
        seen: set[tuple[str, int]] = set()
        for _ in range(40):
            for state, ledger in store.ledgers(chunk=2):  # type: ignore[attr-defined]
                assert [entry.seq for entry in ledger] == list(range(state.entries))
                assert sum(lot.remaining for lot in state.lots) == ledger[-1].balance
                seen.add((state.id, state.entries))
        store.close()
    finally:
        stop.touch()
        out, err = writer.communicate(timeout=60)
    assert writer.returncode == 0, err
    assert int(out) > 240
    assert len(seen) > 12 * 2  # the scans saw the members at several versions
    split = database.query("SELECT count(*) FROM members WHERE split = 1")[0][0]
    assert split > 0  # and members whose lots are rows among them


def test_a_scan_goes_on_in_another_thread_while_the_first_one_writes(
    database: Database,
) -> None:
    # Each chunk is read on the connection of the thread reading it: a scan handed to a
    # worker thread does not borrow the connection its first thread goes on writing with.
    fill(database)
    kit = rk.Rewards(saver_programme(), store=database.open())
    scan = kit.store.ledgers(chunk=1)  # type: ignore[attr-defined]
    first = next(scan)
    rest: list[tuple[MemberState, list[Entry]]] = []
    worker = threading.Thread(target=lambda: rest.extend(scan))
    worker.start()
    for n in range(30):
        kit.record(purchase(5000 + n, START + timedelta(days=200, minutes=n), member="zz-new"))
    worker.join()
    scanned = [first, *rest]
    ids = [state.id for state, _ in scanned]
    assert ids == sorted(set(ids))  # in order, none twice
    assert {*MEMBERS, "saver"} <= set(ids)  # none of those there before the scan missed
    for state, ledger in scanned:
        assert [entry.seq for entry in ledger] == list(range(state.entries))
    kit.store.close()


@pytest.mark.parametrize("chunk", [0, -1, 2.5, True, "200"])
def test_a_chunk_that_is_not_a_whole_number_of_members_is_refused_at_once(
    database: Database, chunk: object
) -> None:
    store = database.open()
    with pytest.raises(rk.StoreError, match=rf"'chunk' must be a whole number .*{chunk!r}"):
        store.ledgers(chunk=chunk)  # type: ignore[attr-defined]
    store.close()
