"""The tamper-evident ledger: any change made behind rewardkit's back is detected.

Each store is filled through its normal commits, then changed the way someone with
access to it could: raw SQL on the SQLite file and the PostgreSQL tables, the internals
of the memory store.  ``verify`` must name the member and the first broken entry.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest

import rewardkit as rk
from rewardkit.storage import MemoryStore, Store, verify
from rewardkit.storage.base import Link
from rewardkit.storage.chain import FIELDS, VerifyReport, content, genesis
from rewardkit.storage.postgres import PostgresStore
from rewardkit.storage.sqlite import SQLiteStore
from rewardkit.testing.store_contract import AT, make_commit

from ._postgres import raw, schemas

# Someone's changes: (what they change, the values they write, the entry verify blames).
FIELD_CHANGES: dict[str, tuple[object, object]] = {
    # field: (SQL literal, memory value)
    "at": ("'2026-03-07T10:30:00+02:00'", AT + timedelta(hours=1)),
    "kind": ("'redeem'", rk.EntryKind.REDEEM),
    "currency": ("'stars'", "stars"),
    "points": ("77", 77),
    "balance": ("999", 999),
    "debt": ("5", 5),
    "cause": ("'forged'", "forged"),
    "reason": ("'forged'", "forged"),
    "pending": ("3", 3),
    "seq": ("9", 9),
    "member": ("'bob'", "bob"),
}


class Tamper:
    """Changes a store's ledger of member "ana" (4 entries, seq 0 to 3) directly."""

    def set_field(self, seq: int, field: str) -> None:
        raise NotImplementedError

    def set_hash(self, seq: int, digest: str) -> None:
        raise NotImplementedError

    def delete(self, seq: int) -> None:
        raise NotImplementedError

    def swap(self, first: int, second: int) -> None:
        raise NotImplementedError

    def insert_copy(self, seq: int) -> None:
        """A new entry ``seq`` (a copy of the one before) whose hash is correctly chained
        to the one before; the entries from ``seq`` on move one place later."""
        raise NotImplementedError


class MemoryTamper(Tamper):
    def __init__(self, store: MemoryStore) -> None:
        self.ledger: list[Link] = store._ledgers["ana"]

    def set_field(self, seq: int, field: str) -> None:
        item = self.ledger[seq]
        changed = attrs.evolve(item.entry, **{field: FIELD_CHANGES[field][1]})
        self.ledger[seq] = Link(changed, item.hash)

    def set_hash(self, seq: int, digest: str) -> None:
        self.ledger[seq] = Link(self.ledger[seq].entry, digest)

    def delete(self, seq: int) -> None:
        del self.ledger[seq]

    def swap(self, first: int, second: int) -> None:
        a, b = self.ledger[first], self.ledger[second]
        self.ledger[first] = Link(attrs.evolve(b.entry, seq=first), b.hash)
        self.ledger[second] = Link(attrs.evolve(a.entry, seq=second), a.hash)

    def insert_copy(self, seq: int) -> None:
        before = self.ledger[seq - 1]
        entry = attrs.evolve(before.entry, seq=seq)
        for index in range(seq, len(self.ledger)):
            item = self.ledger[index]
            self.ledger[index] = Link(attrs.evolve(item.entry, seq=index + 1), item.hash)
        self.ledger.insert(seq, Link(entry, rk_hash(before.hash, entry)))


class SqlTamper(Tamper):
    def __init__(self, run: Callable[[str], Any], read: Callable[[str], list[Any]]) -> None:
        self.run = run
        self.read = read

    def set_field(self, seq: int, field: str) -> None:
        self.run(f"UPDATE entries SET {field} = {FIELD_CHANGES[field][0]} "
                 f"WHERE member = 'ana' AND seq = {seq}")  # fmt: skip

    def set_hash(self, seq: int, digest: str) -> None:
        self.run(f"UPDATE entries SET hash = '{digest}' WHERE member = 'ana' AND seq = {seq}")

    def delete(self, seq: int) -> None:
        self.run(f"DELETE FROM entries WHERE member = 'ana' AND seq = {seq}")

    def swap(self, first: int, second: int) -> None:
        where = "WHERE member = 'ana' AND seq ="
        self.run(f"UPDATE entries SET seq = -1 {where} {first}")
        self.run(f"UPDATE entries SET seq = {first} {where} {second}")
        self.run(f"UPDATE entries SET seq = {second} {where} -1")

    def insert_copy(self, seq: int) -> None:
        last = self.read("SELECT max(seq) FROM entries WHERE member = 'ana'")[0][0]
        for moved in range(last, seq - 1, -1):
            self.run(f"UPDATE entries SET seq = {moved + 1} WHERE member = 'ana' AND seq = {moved}")
        columns = "member, at, kind, currency, points, balance, debt, cause, reason, pending"
        self.run(
            f"INSERT INTO entries(seq, hash, {columns}) SELECT {seq}, hash, {columns} "
            f"FROM entries WHERE member = 'ana' AND seq = {seq - 1}"
        )
        previous = self.read(f"SELECT hash FROM entries WHERE member = 'ana' AND seq = {seq - 1}")[
            0
        ][0]
        self.set_hash(seq, rk_hash(previous, ledger_entry(self.read, seq)))


def ledger_entry(read: Callable[[str], list[Any]], seq: int) -> rk.Entry:
    row = read(
        "SELECT at, kind, currency, points, balance, debt, cause, reason, pending "
        f"FROM entries WHERE member = 'ana' AND seq = {seq}"
    )[0]
    at, kind, *rest = row
    return rk.Entry("ana", seq, datetime.fromisoformat(at), rk.EntryKind(kind), *rest)


def rk_hash(previous: str, entry: rk.Entry) -> str:
    """The documented formula, written out again: sha256(previous + "\\n" + content)."""
    return hashlib.sha256(f"{previous}\n".encode() + content(entry)).hexdigest()


def fill(store: Store) -> None:
    """Four entries for ana (seq 0 to 3), one for bob."""
    for number in range(4):
        at = AT + timedelta(minutes=number)
        store.commit(make_commit(store.load("ana"), f"order-{number}", 10 + number, at=at))
    store.commit(make_commit(store.load("bob"), "order-b"))


# ---------------------------------------------------------------- the stores, filled


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Store, Tamper]]:
    if request.param == "memory":
        memory = MemoryStore()
        fill(memory)
        yield memory, MemoryTamper(memory)
    elif request.param == "sqlite":
        path = tmp_path / "rewards.db"
        with SQLiteStore(path) as store:
            fill(store)
            connection = sqlite3.connect(path, isolation_level=None)
            try:
                yield (
                    store,
                    SqlTamper(connection.execute, lambda sql: connection.execute(sql).fetchall()),
                )
            finally:
                connection.close()
    else:
        with schemas() as made:
            name = made.new()
            with PostgresStore(made.url, schema=name, pool=False) as pg_store:
                fill(pg_store)
                with raw(made.url, name) as connection:
                    yield (
                        pg_store,
                        SqlTamper(
                            connection.execute, lambda sql: connection.execute(sql).fetchall()
                        ),
                    )


def only_break(report: VerifyReport) -> tuple[str, int, str]:
    assert not report.ok
    assert len(report.broken) == 1, report.broken
    found = report.broken[0]
    assert str(found).startswith(f"member {found.member!r}, entry {found.seq}: ")
    return found.member, found.seq, found.problem


def test_an_untouched_ledger_verifies(ledger: tuple[Store, Tamper]) -> None:
    store, _ = ledger
    report = verify(store)
    assert report.ok and report.broken == ()
    assert (report.members, report.entries) == (2, 5)
    assert set(report.heads) == {"ana", "bob"}
    assert str(report) == "5 ledger entries of 2 members: every chain is intact"


@pytest.mark.parametrize("field", sorted(FIELD_CHANGES))
def test_changing_any_field_of_an_entry_is_detected(
    ledger: tuple[Store, Tamper], field: str
) -> None:
    store, tamper = ledger
    tamper.set_field(1, field)
    report = verify(store)
    if field == "member":  # in SQL the row moves to bob's ledger, which breaks too
        assert ("ana", 1) in [(found.member, found.seq) for found in report.broken]
        return
    member, seq, problem = only_break(report)
    assert (member, seq) == ("ana", 1)
    if field != "seq":
        assert "hash does not match its content" in problem


def test_changing_an_entry_and_its_hash_is_detected_at_the_next_entry(
    ledger: tuple[Store, Tamper],
) -> None:
    store, tamper = ledger
    tamper.set_field(1, "points")
    forged = attrs.evolve(store.history("ana")[1], points=77)
    tamper.set_hash(1, rk_hash(store.chain("ana").links[0].hash, forged))
    assert only_break(verify(store))[:2] == ("ana", 2)


def test_changing_a_hash_is_detected(ledger: tuple[Store, Tamper]) -> None:
    store, tamper = ledger
    tamper.set_hash(2, "0" * 64)
    assert only_break(verify(store))[:2] == ("ana", 2)


def test_deleting_an_entry_is_detected(ledger: tuple[Store, Tamper]) -> None:
    store, tamper = ledger
    tamper.delete(1)
    member, seq, problem = only_break(verify(store))
    assert (member, seq) == ("ana", 1)
    assert "entry 2 is where entry 1 should be" in problem


def test_deleting_the_last_entry_is_detected(ledger: tuple[Store, Tamper]) -> None:
    store, tamper = ledger
    tamper.delete(3)
    member, seq, problem = only_break(verify(store))
    assert (member, seq) == ("ana", 3)
    assert "removed from the end" in problem


def test_reordering_entries_is_detected(ledger: tuple[Store, Tamper]) -> None:
    store, tamper = ledger
    tamper.swap(1, 2)
    assert only_break(verify(store))[:2] == ("ana", 1)


def test_inserting_a_correctly_chained_entry_is_detected(ledger: tuple[Store, Tamper]) -> None:
    store, tamper = ledger
    tamper.insert_copy(2)
    assert len(store.history("ana")) == 5
    assert only_break(verify(store))[:2] == ("ana", 3)  # the first entry it displaced


def test_appending_a_correctly_chained_entry_is_detected_by_the_head(
    ledger: tuple[Store, Tamper],
) -> None:
    store, tamper = ledger
    tamper.insert_copy(4)
    member, seq, problem = only_break(verify(store))
    assert (member, seq) == ("ana", 4)
    assert "after the member's head" in problem


def test_every_broken_member_is_reported_once(ledger: tuple[Store, Tamper]) -> None:
    store, tamper = ledger
    tamper.set_field(0, "points")
    tamper.set_field(3, "points")
    report = verify(store)
    assert [(b.member, b.seq) for b in report.broken] == [("ana", 0)]
    assert "bob" in report.heads and "ana" not in report.heads
    assert "1 broken chain:" in str(report)


# ---------------------------------------------------------------- the formula


def test_the_chain_formula_is_the_documented_one() -> None:
    store = MemoryStore()
    fill(store)
    previous = hashlib.sha256(b"rewardkit-ledger-v1\nana").hexdigest()
    assert genesis("ana") == previous
    for item in store.chain("ana").links:
        entry = item.entry
        data = {name: getattr(entry, name) for name in FIELDS}
        data["at"] = entry.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")
        data["kind"] = entry.kind.value
        text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        previous = hashlib.sha256(f"{previous}\n{text}".encode()).hexdigest()
        assert item.hash == previous
    assert store.chain("ana").head == previous


def test_every_entry_field_is_covered_by_the_hash() -> None:
    # A new Entry field must join FIELDS (and bump the chain version) to be protected.
    assert set(FIELDS) == {field.name for field in attrs.fields(rk.Entry)}


def test_the_same_instant_in_another_zone_hashes_the_same() -> None:
    entry = make_commit(MemoryStore().load("ana"), "o").entries[0]
    assert content(entry) == content(attrs.evolve(entry, at=entry.at.astimezone(UTC)))


# ---------------------------------------------------------------- the API


def test_rewards_verify_checks_the_facades_store(tmp_path: Path) -> None:
    program = rk.Program(name="c", rules=[rk.fixed("visit", on="visit", points=5)])
    url = f"sqlite:///{tmp_path / 'r.db'}"
    with rk.Rewards(program, store=url) as kit:
        for number in range(3):
            kit.record(rk.Action(id=f"v{number}", member="ana", kind="visit", at=AT))
        assert kit.verify().ok
    with sqlite3.connect(tmp_path / "r.db") as connection:
        connection.execute("UPDATE entries SET points = 50 WHERE seq = 1")
    with rk.Rewards(program, store=url) as kit:
        assert [(b.member, b.seq) for b in kit.verify().broken] == [("ana", 1)]
    report = verify(url)  # by URL: opened, checked, closed
    assert [(b.member, b.seq) for b in report.broken] == [("ana", 1)]


def test_verify_by_url_on_postgres() -> None:
    with schemas() as made:
        url = made.url_for()
        program = rk.Program(name="c", rules=[rk.fixed("visit", on="visit", points=5)])
        with rk.Rewards(program, store=url) as kit:
            kit.record(rk.Action(id="v", member="ana", kind="visit", at=AT))
        assert verify(url).ok


def test_verify_never_migrates_what_it_checks(tmp_path: Path) -> None:
    path = tmp_path / "r.db"
    with SQLiteStore(path) as store:
        fill(store)
    with sqlite3.connect(path) as connection:
        connection.execute("DELETE FROM rewardkit_schema WHERE version >= 2")
    with pytest.raises(rk.StoreError, match="rewardkit migrate"):
        verify(f"sqlite:///{path}")
