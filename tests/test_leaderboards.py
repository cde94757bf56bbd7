"""Leaderboards: ranking by a metric per period in the programme's zone, within groups,
ties broken by member id, adjusted by refunds, served from the store's index."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

import rewardkit as rk

from .conftest import at

BOARDS = (
    rk.leaderboard("weekly", metric="points_earned", per="week"),
    rk.leaderboard("by-store", metric="points_earned", per="month", group="store"),
    rk.leaderboard("spenders", metric="amount_spent"),
    rk.leaderboard("visits", metric="actions", when=rk.kind("visit")),
    rk.leaderboard("collectors", metric="badges"),
)


def program() -> rk.Program:
    return rk.Program(
        "Board café",
        timezone="Europe/Madrid",
        rules=[
            rk.per_amount("base", on="purchase", per="1"),
            rk.fixed("visit", on="visit", points=1),
        ],
        badges=[rk.badge("first-visit", rk.count(1, rk.kind("visit")))],
        leaderboards=BOARDS,
    )


@pytest.fixture(params=["memory", "sqlite"])
def kit(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[rk.Rewards]:
    store = "memory://" if request.param == "memory" else f"sqlite:///{tmp_path / 'b.db'}"
    with rk.Rewards(program(), store=store, clock=lambda: at("2026-03-04 12:00")) as kit:
        yield kit


def buy(
    kit: rk.Rewards, id: str, member: str, amount: str, when: str, store: str = "centro"
) -> None:
    kit.record(
        rk.Action(id=id, member=member, kind="purchase", at=at(when), amount=amount,
                  attributes={"store": store})
    )  # fmt: skip


def test_top_members_best_first_with_ties_broken_by_member_id(kit: rk.Rewards) -> None:
    buy(kit, "1", "cat", "30", "2026-03-02 10:00")
    buy(kit, "2", "ana", "50", "2026-03-03 10:00")
    buy(kit, "3", "bob", "30", "2026-03-04 10:00")
    top = kit.leaderboard("weekly", at=at("2026-03-04 12:00"))
    assert [(s.rank, s.member, s.score) for s in top] == [
        (1, "ana", 50), (2, "bob", 30), (3, "cat", 30),
    ]  # fmt: skip
    assert kit.rank("weekly", "cat", at=at("2026-03-04 12:00")) == rk.Standing(
        3, "cat", Decimal(30)
    )
    assert kit.rank("weekly", "nobody") is None


def test_a_week_is_the_programmes_week_and_ends_exactly_at_local_midnight(kit: rk.Rewards) -> None:
    buy(kit, "1", "ana", "10", "2026-03-08 23:59")  # Sunday: week 10
    buy(kit, "2", "ana", "20", "2026-03-09 00:00")  # Monday: week 11
    assert [s.score for s in kit.leaderboard("weekly", period="2026-W10")] == [10]
    assert [s.score for s in kit.leaderboard("weekly", period="2026-W11")] == [20]
    assert kit.leaderboard("weekly", at=at("2026-03-09 00:00"))[0].score == 20


def test_groups_rank_separately(kit: rk.Rewards) -> None:
    buy(kit, "1", "ana", "10", "2026-03-02 10:00", store="centro")
    buy(kit, "2", "bob", "40", "2026-03-02 10:00", store="norte")
    buy(kit, "3", "cat", "20", "2026-03-02 10:00", store="centro")
    when = at("2026-03-10 10:00")
    assert [s.member for s in kit.leaderboard("by-store", group="centro", at=when)] == [
        "cat",
        "ana",
    ]
    assert [s.member for s in kit.leaderboard("by-store", group="norte", at=when)] == ["bob"]
    assert kit.rank("by-store", "ana", group="centro", at=when) == rk.Standing(
        2, "ana", Decimal(10)
    )


def test_around_shows_the_neighbours(kit: rk.Rewards) -> None:
    for i, member in enumerate("abcdefg"):
        buy(kit, str(i), member, str(100 - i * 10), "2026-03-02 10:00")
    near = kit.around("weekly", "d", distance=1, at=at("2026-03-04 10:00"))
    assert [(s.rank, s.member) for s in near] == [(3, "c"), (4, "d"), (5, "e")]
    first = kit.around("weekly", "a", distance=2, at=at("2026-03-04 10:00"))
    assert [s.member for s in first] == ["a", "b", "c", "d", "e"]


def test_amounts_visits_and_badges_are_metrics_too(kit: rk.Rewards) -> None:
    buy(kit, "1", "ana", "12.345", "2026-03-02 10:00")
    kit.record(rk.Action(id="v1", member="bob", kind="visit", at=at("2026-03-02 11:00")))
    kit.record(rk.Action(id="v2", member="bob", kind="visit", at=at("2026-03-03 11:00")))
    assert kit.leaderboard("spenders")[0] == rk.Standing(1, "ana", Decimal("12.34"))
    assert kit.leaderboard("visits") == [rk.Standing(1, "bob", Decimal(2))]
    assert kit.leaderboard("collectors") == [rk.Standing(1, "bob", Decimal(1))]


def test_a_refund_takes_its_points_back_in_the_actions_period(kit: rk.Rewards) -> None:
    buy(kit, "1", "ana", "50", "2026-03-02 10:00")
    buy(kit, "2", "bob", "40", "2026-03-02 10:00")
    kit.reverse("1", id="r1", amount="30", at=at("2026-03-12 10:00"))  # a later week
    assert [(s.member, s.score) for s in kit.leaderboard("weekly", period="2026-W10")] == [
        ("bob", 40), ("ana", 20),
    ]  # fmt: skip
    assert kit.leaderboard("spenders")[1] == rk.Standing(2, "ana", Decimal(20))


def test_a_replayed_action_scores_once(kit: rk.Rewards) -> None:
    buy(kit, "1", "ana", "50", "2026-03-02 10:00")
    buy(kit, "1", "ana", "50", "2026-03-02 10:00")
    assert kit.leaderboard("weekly", period="2026-W10")[0].score == 50


def test_unknown_board_and_groups_on_an_ungrouped_board_are_refused(kit: rk.Rewards) -> None:
    with pytest.raises(LookupError, match="no leaderboard 'nope'"):
        kit.leaderboard("nope")
    with pytest.raises(ValueError, match="no groups"):
        kit.leaderboard("weekly", group="centro")


def test_sqlite_reads_the_top_and_a_rank_from_the_index(tmp_path: Path) -> None:
    path = tmp_path / "b.db"
    rk.SQLiteStore(path).close()
    with sqlite3.connect(path) as raw:
        for sql, args in [
            ("SELECT member, score FROM scores WHERE board = ? AND period = ? AND grp = ?"
             " ORDER BY score DESC, member LIMIT ? OFFSET ?", ("w", "all", "", 10, 0)),
            ("SELECT count(*) FROM scores WHERE board = ? AND period = ? AND grp = ?"
             " AND (score > ? OR (score = ? AND member < ?))", ("w", "all", "", 1, 1, "m")),
        ]:  # fmt: skip
            plan = " ".join(row[-1] for row in raw.execute("EXPLAIN QUERY PLAN " + sql, args))
            assert "USING COVERING INDEX scores_rank" in plan or "USING INDEX scores_rank" in plan
            assert "TEMP B-TREE" not in plan  # no sort of every row


def test_boards_are_validated() -> None:
    with pytest.raises(rk.ProgramError, match="metric"):
        rk.leaderboard("x", metric="likes")  # type: ignore[arg-type]
    with pytest.raises(rk.ProgramError, match="per"):
        rk.leaderboard("x", metric="actions", per="fortnight")  # type: ignore[arg-type]
    board = rk.leaderboard("x", metric="actions")
    with pytest.raises(rk.ProgramError, match="duplicate id 'x'"):
        rk.Program("p", leaderboards=[board, board])
