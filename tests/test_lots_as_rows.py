"""The SQL stores keep each member's lots as rows of their own (schema version 4): a
commit writes only the lots it changed, and a member read back from the database, by a
store that kept nothing, is exactly the member the writing store holds."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rewardkit as rk
from rewardkit._fastcodec import dumps_state, lot_text
from rewardkit.model import Entry, Lot, MemberState
from rewardkit.storage import Store, _lots
from rewardkit.storage._lots import ROWS_FROM, lot_key, lot_rows, lot_writes
from rewardkit.storage.base import Commit
from rewardkit.storage.postgres import PostgresStore
from rewardkit.storage.sqlite import SQLiteStore
from rewardkit.testing import RewardsStateMachine

from ._postgres import raw, schemas
from .test_testing_kit import everything

START = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


def saver_programme() -> rk.Program:
    return rk.Program(
        name="Saver",
        timezone="Europe/Madrid",
        rules=[rk.per_amount("base", on="purchase", per="1.00", points=1)],
        rewards=[rk.reward("coffee", cost=45)],
        expiry=rk.fixed_term({"months": 12}),
    )


@attrs.define
class Database:
    """One SQL database: stores on it, and its rows read directly."""

    open: Callable[[], Store]
    query: Callable[[str], list[tuple[Any, ...]]]
    name: str
    url: str  # what rk.open_store opens, in another process too


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        path = tmp_path / "lots.db"

        def query(sql: str) -> list[tuple[Any, ...]]:
            with sqlite3.connect(path) as connection:
                return connection.execute(sql).fetchall()

        yield Database(lambda: SQLiteStore(path), query, "sqlite", f"sqlite:///{path}")
        return
    with schemas() as made:
        name = made.new()

        def pg_query(sql: str) -> list[tuple[Any, ...]]:
            with raw(made.url, name) as connection:
                return list(connection.execute(sql).fetchall())

        yield Database(
            lambda: PostgresStore(made.url, schema=name),
            pg_query,
            "postgres",
            f"{made.url}{'&' if '?' in made.url else '?'}schema={name}",
        )


def purchase(number: int, at: datetime, member: str = "saver") -> rk.Action:
    return rk.Action(id=f"p{number}", member=member, kind="purchase", at=at, amount="4.50")


def save_up(kit: rk.Rewards, days: int) -> None:
    for day in range(days):
        kit.record(purchase(day, START + timedelta(days=day)))


def lot_keys(database: Database, member: str = "saver") -> list[str]:
    return [row[0] for row in database.query(f"SELECT key FROM lots WHERE member = '{member}'")]


def read_afresh(database: Database, member: str) -> MemberState:
    """The member as the database holds it, read by a store that has kept nothing."""
    store = database.open()
    try:
        return store.load(member).state
    finally:
        store.close()


def test_a_savers_lots_are_rows_in_spending_order_and_read_back_exactly(
    database: Database,
) -> None:
    kit = rk.Rewards(saver_programme(), store=database.open())
    save_up(kit, 60)
    state = kit.store.load("saver").state
    assert len(state.lots) == 60
    keys = lot_keys(database)
    assert sorted(keys) == [lot_key(lot) for lot in state.lots]  # keys sort as lots are spent
    assert database.query("SELECT split FROM members") == [(1,)]
    (text,) = database.query("SELECT state FROM members")[0]
    assert '"lots"' not in text  # not written again in the state's text
    assert read_afresh(database, "saver") == state
    kit.store.close()


def test_a_few_lots_stay_in_the_states_text_until_there_are_enough_to_be_rows(
    database: Database,
) -> None:
    kit = rk.Rewards(saver_programme(), store=database.open())
    save_up(kit, ROWS_FROM - 1)
    assert database.query("SELECT split FROM members") == [(0,)] and lot_keys(database) == []
    assert read_afresh(database, "saver") == kit.store.load("saver").state
    kit.record(purchase(99, START + timedelta(days=ROWS_FROM)))
    assert database.query("SELECT split FROM members") == [(1,)]
    assert len(lot_keys(database)) == ROWS_FROM
    (text,) = database.query("SELECT state FROM members")[0]
    assert '"lots"' not in text
    assert read_afresh(database, "saver") == kit.store.load("saver").state
    kit.store.close()


def test_a_commit_writes_only_the_lots_it_changed(database: Database) -> None:
    kit = rk.Rewards(saver_programme(), store=database.open())
    save_up(kit, 60)
    store = kit.store
    if database.name == "sqlite":
        assert isinstance(store, SQLiteStore)
        connection = store._connection()
        before = connection.total_changes
        kit.record(purchase(100, START + timedelta(days=61)))
        # the receipt, one ledger entry, the member, one new lot: not 61 lots again
        assert connection.total_changes - before == 4
    else:
        stamps = dict(database.query("SELECT key, xmin::text FROM lots"))
        kit.record(purchase(100, START + timedelta(days=61)))
        after = dict(database.query("SELECT key, xmin::text FROM lots"))
        assert len(after) == 61
        assert {key: after[key] for key in stamps} == stamps  # the 60 rows untouched
    assert read_afresh(database, "saver") == store.load("saver").state
    store.close()


def test_redeeming_and_expiring_remove_and_change_only_the_oldest_lots(
    database: Database,
) -> None:
    kit = rk.Rewards(saver_programme(), store=database.open())
    save_up(kit, 30)  # 30 lots of 4 points
    kit.redeem("saver", "coffee", id="r1", at=START + timedelta(days=30))  # 45 points
    state = kit.store.load("saver").state
    assert len(state.lots) == 19 and state.lots[0].remaining == 3  # 11 spent, 1 in part
    assert len(lot_keys(database)) == 19
    assert read_afresh(database, "saver") == state
    at = START + timedelta(days=365 + 20, hours=1)
    left = [lot for lot in state.lots if lot.expires_at is not None and lot.expires_at > at]
    assert 0 < len(left) < len(state.lots)
    assert kit.expire(at=at).members == 1
    swept = kit.store.load("saver").state
    assert swept.lots == tuple(left) and len(lot_keys(database)) == len(left)
    assert read_afresh(database, "saver") == swept
    kit.store.close()


def test_lots_that_cannot_be_rows_stay_in_the_states_text_and_come_back(
    database: Database,
) -> None:
    store = database.open()
    kit = rk.Rewards(saver_programme(), store=store)
    save_up(kit, ROWS_FROM + 2)
    snapshot = store.load("saver")
    lots = snapshot.state.lots
    twin = attrs.evolve(lots[0], remaining=1)  # the same key as the first
    doubled = attrs.evolve(snapshot.state, lots=(lots[0], twin, *lots[1:]))
    store.commit(Commit("saver", snapshot.version, doubled, (), None))
    assert database.query("SELECT split FROM members") == [(0,)]
    assert lot_keys(database) == []
    assert read_afresh(database, "saver") == doubled == store.load("saver").state
    # the next commit with lots that can be rows makes them rows again
    single = attrs.evolve(doubled, lots=(twin, *lots[1:]))
    store.commit(Commit("saver", snapshot.version + 1, single, (), None))
    assert database.query("SELECT split FROM members") == [(1,)]
    assert len(lot_keys(database)) == len(lots)
    assert read_afresh(database, "saver") == single
    store.close()


def test_a_store_that_did_not_see_the_last_version_writes_the_lots_in_full(
    database: Database,
) -> None:
    mine, theirs = database.open(), database.open()
    kit, other = (
        rk.Rewards(saver_programme(), store=mine),
        rk.Rewards(saver_programme(), store=theirs),
    )
    save_up(kit, 20)
    other.record(purchase(50, START + timedelta(days=20)))  # theirs read it from the database
    kit.record(purchase(51, START + timedelta(days=21)))  # mine is behind: a retry, then rows
    other.redeem("saver", "coffee", id="r1", at=START + timedelta(days=22))
    kit.record(purchase(52, START + timedelta(days=23)))
    assert mine.load("saver") == theirs.load("saver")
    assert read_afresh(database, "saver") == mine.load("saver").state
    assert len(lot_keys(database)) == len(mine.load("saver").state.lots)
    mine.close()
    theirs.close()


def test_a_batch_with_a_member_twice_writes_each_change_once(database: Database) -> None:
    kit = rk.Rewards(saver_programme(), store=database.open())
    save_up(kit, 20)
    results = kit.record_many(
        [purchase(100 + n, START + timedelta(days=20, hours=n)) for n in range(5)]
    )
    assert all(isinstance(result, rk.Outcome) for result in results)
    state = kit.store.load("saver").state
    assert len(state.lots) == 25 == len(lot_keys(database))
    assert read_afresh(database, "saver") == state
    kit.store.close()


class ReadAfreshAgrees(RewardsStateMachine):
    """Every member a step touched reads the same from the database, through a store
    that kept nothing, as through the store that wrote it."""

    program = everything()
    store_url = "sqlite://"

    def check_member(self, member: str, state: MemberState, entries: Sequence[Entry]) -> None:
        store = self.kit.store
        assert isinstance(store, SQLiteStore)
        with SQLiteStore(store.path, cache_size=0) as afresh:
            assert afresh.load(member) == store.load(member)


TestReadAfreshAgrees = ReadAfreshAgrees.TestCase
TestReadAfreshAgrees.settings = settings(
    ReadAfreshAgrees.TestCase.settings, max_examples=30, stateful_step_count=40
)


class EveryLotARow(ReadAfreshAgrees):
    """The same, with every member's lots as rows from the first lot on."""

    def __init__(self) -> None:
        super().__init__()
        self._was = _lots.ROWS_FROM
        _lots.ROWS_FROM = 1

    def teardown(self) -> None:
        _lots.ROWS_FROM = self._was
        super().teardown()


TestEveryLotARow = EveryLotARow.TestCase
TestEveryLotARow.settings = settings(
    EveryLotARow.TestCase.settings, max_examples=30, stateful_step_count=40
)


def test_an_older_rewardkit_still_running_cannot_misread_or_overwrite_lots_kept_as_rows(
    database: Database,
) -> None:
    """Schema 4 does not stop processes that opened the database before it: an older
    rewardkit expects the state's "lots" key, and writes it on every commit.  A member
    whose lots are rows has no such key (an older reader fails instead of seeing no
    lots), and the database refuses a state with the key while the lots are rows."""
    kit = rk.Rewards(saver_programme(), store=database.open())
    save_up(kit, ROWS_FROM + 4)
    state = kit.store.load("saver").state
    (text,) = database.query("SELECT state FROM members")[0]
    with pytest.raises(KeyError):
        json.loads(text)["lots"]  # what an older rewardkit's decoder does first
    whole = dumps_state(state).replace("'", "''")  # what it would write back
    with pytest.raises(Exception, match=r"lots_are_rows|CHECK constraint failed"):
        database.query(
            f"UPDATE members SET state = '{whole}', version = version + 1 WHERE id = 'saver'"
        )
    assert read_afresh(database, "saver") == state  # nothing was lost
    kit.store.close()


def test_lots_out_of_spending_order_stay_in_the_text_and_read_back_in_their_order(
    database: Database,
) -> None:
    store = database.open()
    kit = rk.Rewards(saver_programme(), store=store)
    save_up(kit, ROWS_FROM + 2)
    snapshot = store.load("saver")
    lots = snapshot.state.lots
    shuffled = attrs.evolve(snapshot.state, lots=(lots[1], lots[0], *lots[2:]))  # by hand
    store.commit(Commit("saver", snapshot.version, shuffled, (), None))
    assert database.query("SELECT split FROM members") == [(0,)] and lot_keys(database) == []
    assert read_afresh(database, "saver") == shuffled  # in the order committed
    store.close()


def test_lots_with_instants_without_a_time_zone_stay_in_the_text(database: Database) -> None:
    store = database.open()
    kit = rk.Rewards(saver_programme(), store=store)
    save_up(kit, ROWS_FROM + 2)
    snapshot = store.load("saver")
    naive = tuple(
        attrs.evolve(lot, earned_at=lot.earned_at.replace(tzinfo=None), expires_at=None)
        for lot in snapshot.state.lots
    )
    state = attrs.evolve(snapshot.state, lots=naive)
    store.commit(Commit("saver", snapshot.version, state, (), None))  # no TypeError
    assert database.query("SELECT split FROM members") == [(0,)]
    store.close()


def test_a_savers_daily_expiry_deletes_the_expired_lot_and_writes_only_the_new_one(
    tmp_path: Path,
) -> None:
    """A saver a year in: each day's purchase adds a lot at the end while the oldest
    expires at the start; neither the lots kept nor their keys are written again."""
    store = SQLiteStore(tmp_path / "saver.db")
    kit = rk.Rewards(saver_programme(), store=store)
    save_up(kit, 370)  # 12-month expiry: the first days' lots have gone
    before = store.load("saver").state.lots
    connection = store._connection()
    changes = connection.total_changes
    kit.record(purchase(999, START + timedelta(days=370, hours=1)))
    after = store.load("saver").state.lots
    assert after[-1].action == "p999"
    # receipt, two entries (the expiry, the earning), member, one lot out, one in
    assert connection.total_changes - changes == 6
    assert after == (*before[1:], after[-1])
    with SQLiteStore(tmp_path / "saver.db", cache_size=0) as afresh:
        assert afresh.load("saver") == store.load("saver")
    store.close()


# ---------------------------------------------------------------- the writes, exactly


def _lot(name: str, earned: int, term: int | None, points: int) -> Lot:
    at = START + timedelta(hours=earned)
    expires = None if term is None else at + timedelta(hours=term)
    return Lot(name, "points", points, points, at, expires, f"a-{name}", "base")


lots = st.builds(
    _lot,
    st.sampled_from("abcdefgh"),
    st.integers(0, 12),
    st.none() | st.integers(1, 12),
    st.integers(1, 9),
)


def in_key_order(found: list[Lot]) -> tuple[Lot, ...]:
    """``found`` in spending order, one lot per key: lots a store could hold as rows."""
    unique = {lot_key(lot): lot for lot in found}
    return tuple(unique[key] for key in sorted(unique))


def edit_lots(held: list[Lot], edit: tuple[object, ...]) -> None:
    match edit:
        case ("let go", int(count)):  # the oldest spent or expired
            del held[:count]
        case ("add", Lot() as new):  # earned now: added at the end when it sorts last
            if not held or lot_key(held[-1]) < lot_key(new):
                held.append(new)
        case ("slot in", Lot() as new):
            held.insert(sum(lot_key(lot) <= lot_key(new) for lot in held), new)
        case ("spend", int(index)) if held:  # a new object, the same key
            index %= len(held)
            held[index] = attrs.evolve(held[index], remaining=held[index].remaining - 1)
        case ("remove", int(index)) if held:
            del held[index % len(held)]
        case ("move", int(index), int(to)) if held:  # the same object elsewhere
            held.insert(to % len(held), held.pop(index % len(held)))
        case ("twice", int(index), int(to)) if held:  # one object twice
            held.insert(to % (len(held) + 1), held[index % len(held)])


lot_edits = st.lists(
    st.one_of(
        st.tuples(st.just("let go"), st.integers(1, 4)),
        st.tuples(st.just("add"), lots),
        st.tuples(st.just("slot in"), lots),
        st.tuples(st.just("spend"), st.integers(0, 100)),
        st.tuples(st.just("remove"), st.integers(0, 100)),
        st.tuples(st.just("move"), st.integers(0, 100), st.integers(0, 100)),
        st.tuples(st.just("twice"), st.integers(0, 100), st.integers(0, 100)),
    ),
    max_size=6,
)


@settings(max_examples=1000, deadline=None)
@given(old=st.lists(lots, max_size=30).map(in_key_order), edits=lot_edits)
def test_the_writes_turn_the_old_lots_rows_into_the_new_ones(
    old: tuple[Lot, ...], edits: list[tuple[object, ...]]
) -> None:
    """Whatever the change, the rows after the writes are the new lots', read back in
    their order; or the writes (or an insert meeting a row, which the stores check) say
    the new lots cannot be rows, and then they truly cannot."""
    changed = list(old)
    for edit in edits:
        edit_lots(changed, edit)
    new = tuple(changed)
    writes = lot_writes(True, old, new)
    if writes is None:
        assert lot_rows(new) is None
        return
    found = lot_rows(old)
    assert found is not None
    rows = written(dict(found), writes)
    if rows is None:  # the store sees an insert meet a row: not rows
        assert lot_rows(new) is None
        return
    assert [rows[key] for key in sorted(rows)] == [lot_text(lot) for lot in new]


def written(
    rows: dict[str, str], writes: tuple[bool, list[str], list[tuple[str, str]]]
) -> dict[str, str] | None:
    """``rows`` (key -> data) after ``writes``, as a store makes them; ``None``: an
    insert met a row."""
    clear, removed, added = writes
    if clear:
        rows.clear()
    for key in removed:
        del rows[key]  # each key deleted was a row
    for key, data in added:
        if key in rows:
            return None
        rows[key] = data
    return rows


@settings(max_examples=300, deadline=None)
@given(
    old=st.lists(lots, max_size=30).map(in_key_order),
    edits=st.lists(
        st.one_of(
            st.tuples(st.just("let go"), st.integers(1, 4)),
            st.tuples(st.just("add"), lots),
            st.tuples(st.just("spend"), st.just(0)),
        ),
        max_size=6,
    ),
)
def test_spending_expiring_and_earning_write_only_the_lots_that_came_and_went(
    old: tuple[Lot, ...], edits: list[tuple[object, ...]]
) -> None:
    """The engine's own changes (the oldest lots let go of, the first one partly spent,
    new ones earned at the end): the writes delete those gone and insert those new,
    however many were let go of at once; no lot kept is written again."""
    changed = list(old)
    for edit in edits:
        edit_lots(changed, edit)
    new = tuple(changed)
    assert_only_what_came_and_went(lot_writes(True, old, new), old, new)


def assert_only_what_came_and_went(
    writes: tuple[bool, list[str], list[tuple[str, str]]] | None,
    old: Sequence[object],
    new: Sequence[object],
) -> None:
    """``writes`` delete the rows of the items of ``old`` not in ``new`` and insert those
    of the items new in ``new`` (told by identity), and no other (unless nothing was
    kept: then writing everything again is as cheap)."""
    assert writes is not None
    clear, removed, added = writes
    kept = [item for item in new if any(item is held for held in old)]
    if kept:
        assert not clear
        assert len(removed) == len(old) - len(kept)
        assert len(added) == len(new) - len(kept)
