"""The SQL stores keep a member's tier-metric contributions as rows of their own
(schema version 6): a commit writes only the contributions it changed, and a member
read back by a store that kept nothing is exactly the member the writing store holds."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import pairwise

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rewardkit as rk
from rewardkit._fastcodec import dumps_state, metric_text
from rewardkit.model import Contribution
from rewardkit.storage import _metric
from rewardkit.storage._metric import ROWS_FROM, metric_writes
from rewardkit.storage.base import Commit
from rewardkit.storage.sqlite import SQLiteStore

from .test_lots_as_rows import (
    Database,
    ReadAfreshAgrees,
    assert_only_what_came_and_went,
    database,
    read_afresh,
    written,
)

__all__ = ["database"]  # the fixture, shared with the lots' tests

START = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
WINDOW_DAYS = ROWS_FROM + 10  # a daily customer's window holds more than ROWS_FROM


def regulars_programme(kind: str = "purchase") -> rk.Program:
    return rk.Program(
        name="Regulars",
        timezone="Europe/Madrid",
        rules=[rk.per_amount("base", on=kind, per="1.00", points=1)],
        rewards=[rk.reward("coffee", cost=45)],
        tiers=rk.ladder(
            metric="points_earned",
            levels=[rk.level("silver", 200), rk.level("gold", 400)],
            window={"days": WINDOW_DAYS},
        ),
        raffles=[
            rk.raffle(
                "metric",
                opens_at=START,
                closes_at=START + timedelta(days=2 * WINDOW_DAYS),
                ticket_cost=10,
            )
        ],
    )


def purchase(number: int, at: datetime, kind: str = "purchase") -> rk.Action:
    return rk.Action(id=f"p{number}", member="ana", kind=kind, at=at, amount="4.50")


def daily(kit: rk.Rewards, days: int, kind: str = "purchase") -> None:
    for day in range(days):
        kit.record(purchase(day, START + timedelta(days=day), kind))


def metric_keys(database: Database) -> list[str]:
    return [row[0] for row in database.query("SELECT key FROM metric ORDER BY key")]


def test_a_regulars_metric_becomes_rows_in_time_order_and_reads_back_exactly(
    database: Database,
) -> None:
    kit = rk.Rewards(regulars_programme(), store=database.open())
    daily(kit, ROWS_FROM - 1)
    assert database.query("SELECT metric_rows FROM members") == [(0,)]
    assert metric_keys(database) == []
    kit.record(purchase(999, START + timedelta(days=ROWS_FROM)))
    state = kit.store.load("ana").state
    assert len(state.metric) == ROWS_FROM
    assert database.query("SELECT metric_rows FROM members") == [(1,)]
    assert len(metric_keys(database)) == ROWS_FROM
    (text,) = database.query("SELECT state FROM members")[0]
    assert '"metric"' not in text  # not written again in the state's text
    rows = database.query("SELECT data FROM metric ORDER BY key")
    assert [row[0] for row in rows] == [metric_text(c) for c in state.metric]
    assert read_afresh(database, "ana") == state
    kit.store.close()


def test_a_commit_writes_the_new_contribution_and_deletes_those_the_window_let_go(
    database: Database,
) -> None:
    kit = rk.Rewards(regulars_programme(), store=database.open())
    daily(kit, WINDOW_DAYS + 10)  # each day now adds one and lets the oldest go
    store = kit.store
    before = store.load("ana").state.metric
    assert len(before) == WINDOW_DAYS
    if database.name == "sqlite":
        assert isinstance(store, SQLiteStore)
        connection = store._connection()
        changes = connection.total_changes
        kit.record(purchase(999, START + timedelta(days=WINDOW_DAYS + 10)))
        # receipt, entry, member, the new lot, one contribution in, one out
        assert connection.total_changes - changes == 6
    else:
        stamps = dict(database.query("SELECT key, xmin::text FROM metric"))
        kit.record(purchase(999, START + timedelta(days=WINDOW_DAYS + 10)))
        after = dict(database.query("SELECT key, xmin::text FROM metric"))
        assert len(after) == WINDOW_DAYS and len(set(stamps) - set(after)) == 1
        assert {key: after[key] for key in stamps if key in after} == {
            key: stamps[key] for key in stamps if key in after
        }  # the rows kept untouched
    state = store.load("ana").state
    assert state.metric[:-1] == before[1:]
    assert read_afresh(database, "ana") == state
    store.close()


def test_an_older_rewardkit_still_running_cannot_misread_or_overwrite_a_metric_kept_as_rows(
    database: Database,
) -> None:
    kit = rk.Rewards(regulars_programme(), store=database.open())
    daily(kit, ROWS_FROM + 4)
    state = kit.store.load("ana").state
    (text,) = database.query("SELECT state FROM members")[0]
    with pytest.raises(KeyError):
        json.loads(text)["metric"]  # what an older rewardkit's decoder does
    # What it would write back: its lots as rows (version 4 knows them), its metric inline.
    whole = dumps_state(state, lots=False).replace("'", "''")
    with pytest.raises(Exception, match=r"metric_is_rows|CHECK constraint failed"):
        database.query(
            f"UPDATE members SET state = '{whole}', version = version + 1 WHERE id = 'ana'"
        )
    assert read_afresh(database, "ana") == state  # nothing was lost
    kit.store.close()


def test_keys_named_like_the_rows_do_not_trip_the_checks(database: Database) -> None:
    """An action kind called "lots" and a raffle called "metric" put those names in the
    state's text as mapping keys; a state whose lots and metric are rows writes them
    escaped, and reads them back as they were."""
    kit = rk.Rewards(regulars_programme("lots"), store=database.open())
    daily(kit, ROWS_FROM + 4, kind="lots")
    kit.enter("metric", "ana", tickets=2, id="t1", at=START + timedelta(days=ROWS_FROM + 4))
    assert database.query("SELECT split, metric_rows FROM members") == [(1, 1)]
    state = kit.store.load("ana").state
    assert state.kinds == {"lots": ROWS_FROM + 4} and state.tickets == {"metric": 2}
    assert read_afresh(database, "ana") == state
    assert kit.store.raffle_tickets("metric") == [("ana", 2)]
    kit.store.close()


def test_a_metric_out_of_time_order_stays_in_the_text_and_reads_back_as_committed(
    database: Database,
) -> None:
    store = database.open()
    kit = rk.Rewards(regulars_programme(), store=store)
    daily(kit, ROWS_FROM + 2)
    snapshot = store.load("ana")
    metric = snapshot.state.metric
    shuffled = attrs.evolve(snapshot.state, metric=(metric[1], metric[0], *metric[2:]))
    store.commit(Commit("ana", snapshot.version, shuffled, (), None))
    assert database.query("SELECT metric_rows FROM members") == [(0,)]
    assert metric_keys(database) == []
    assert read_afresh(database, "ana") == shuffled
    # a metric in order again is rows again
    store.commit(Commit("ana", snapshot.version + 1, snapshot.state, (), None))
    assert database.query("SELECT metric_rows FROM members") == [(1,)]
    assert read_afresh(database, "ana") == snapshot.state
    store.close()


def test_two_stores_taking_turns_and_a_batch_leave_the_rows_the_member_holds(
    database: Database,
) -> None:
    """A store that did not see the member's last version writes the rows in full; a
    batch with the member several times writes each change once."""
    mine, theirs = database.open(), database.open()
    kit = rk.Rewards(regulars_programme(), store=mine)
    other = rk.Rewards(regulars_programme(), store=theirs)
    daily(kit, WINDOW_DAYS + 2)
    at = START + timedelta(days=WINDOW_DAYS + 2)
    other.record(purchase(1000, at))  # theirs read it from the database
    kit.record(purchase(1001, at + timedelta(days=1)))  # mine is behind: a retry
    other.record(purchase(1002, at + timedelta(days=2)))
    results = kit.record_many(
        [purchase(1003 + n, at + timedelta(days=3, hours=n)) for n in range(5)]
    )
    assert all(isinstance(result, rk.Outcome) for result in results)
    state = mine.load("ana").state
    assert state == theirs.load("ana").state == read_afresh(database, "ana")
    assert len(metric_keys(database)) == len(state.metric) > ROWS_FROM
    mine.close()
    theirs.close()


class EveryContributionARow(ReadAfreshAgrees):
    """Every member reads the same afresh, with every metric as rows from the first
    contribution on."""

    def __init__(self) -> None:
        super().__init__()
        self._was = _metric.ROWS_FROM
        _metric.ROWS_FROM = 1

    def teardown(self) -> None:
        _metric.ROWS_FROM = self._was
        super().teardown()


TestEveryContributionARow = EveryContributionARow.TestCase
TestEveryContributionARow.settings = settings(
    EveryContributionARow.TestCase.settings, max_examples=30, stateful_step_count=40
)


# ---------------------------------------------------------------- the writes, exactly

instants = st.integers(0, 12).map(lambda hours: START + timedelta(hours=hours))
contributions = st.builds(
    Contribution, instants, st.integers(-5, 50).map(Decimal) | st.just(Decimal("1.5"))
)
edits = st.lists(
    st.one_of(
        st.tuples(st.just("let go"), st.integers(1, 4)),
        st.tuples(st.just("add"), contributions),
        st.tuples(st.just("slot in"), contributions),
        st.tuples(st.just("replace"), st.integers(0, 100), contributions),
        st.tuples(st.just("remove"), st.integers(0, 100)),
    ),
    max_size=6,
)


def apply(metric: list[Contribution], edit: tuple[object, ...]) -> None:
    match edit:
        case ("let go", int(count)):  # the window's start: whole instants at a time
            if metric:
                cut = metric[min(count, len(metric)) - 1].at
                metric[:] = [c for c in metric if c.at > cut]
        case ("add", Contribution() as new):
            if not metric or metric[-1].at <= new.at:
                metric.append(new)
        case ("slot in", Contribution() as new):  # after those at its instant
            index = sum(c.at <= new.at for c in metric)
            metric.insert(index, new)
        case ("replace", int(index), Contribution() as new) if metric:
            metric[index % len(metric)] = new
        case ("remove", int(index)) if metric:
            del metric[index % len(metric)]


def rows_of(metric: tuple[Contribution, ...]) -> dict[str, str]:
    writes = metric_writes(False, None, metric)
    assert writes is not None
    return dict(writes[2])


@settings(max_examples=1000, deadline=None)
@given(
    old=st.lists(contributions, max_size=30).map(lambda m: tuple(sorted(m, key=lambda c: c.at))),
    edits=edits,
)
def test_the_writes_turn_the_old_rows_into_the_new_ones(
    old: tuple[Contribution, ...], edits: list[tuple[object, ...]]
) -> None:
    """Whatever the change, the rows after the writes are the new metric's, read back in
    its order, or the writes say the metric cannot be rows."""
    changed = list(old)
    for edit in edits:
        apply(changed, edit)
    new = tuple(changed)
    rows = rows_of(old)
    writes = metric_writes(True, old, new)
    if writes is None:
        assert any(a.at > b.at for a, b in pairwise(new))
        return
    after = written(rows, writes)
    assert after is not None  # no insert meets a row
    assert [after[key] for key in sorted(after)] == [metric_text(c) for c in new]


@settings(max_examples=200, deadline=None)
@given(
    old=st.lists(contributions, max_size=30).map(lambda m: tuple(sorted(m, key=lambda c: c.at))),
    edits=st.lists(
        st.one_of(
            st.tuples(st.just("let go"), st.integers(1, 4)),
            st.tuples(st.just("add"), contributions),
        ),
        max_size=6,
    ),
)
def test_the_engines_own_changes_write_only_what_came_and_went(
    old: tuple[Contribution, ...], edits: list[tuple[object, ...]]
) -> None:
    """The window moving on (whole instants let go of at the start, contributions
    added at the end): the writes delete those let go of and insert the new ones, no
    row kept is written again."""
    changed = list(old)
    for edit in edits:
        apply(changed, edit)
    new = tuple(changed)
    assert_only_what_came_and_went(metric_writes(True, old, new), old, new)
