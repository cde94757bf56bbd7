"""Promotions: rules limited to a date range or a recurrence (a happy hour), targeted by
tier or by segment, and budgets (at most N points from a rule across all members) that
are never exceeded, not even by processes awarding at once on one SQLite file."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rewardkit as rk

from ._timekit import TICK, local
from ._workers import budget_program
from .test_concurrency import run_workers


def no_clock() -> datetime:
    raise AssertionError("every call in these tests names its instant")


BASE = rk.per_amount("base", on="purchase", per="1.00", points=1)


def kit_for(*rules: object, **options: object) -> rk.Rewards:
    program = rk.Program(
        name="Promotions",
        timezone="Europe/Madrid",
        rules=(BASE, *rules),  # type: ignore[arg-type]
        **options,  # type: ignore[arg-type]
    )
    return rk.Rewards(program, store="memory://", clock=no_clock)


def buy(
    kit: rk.Rewards, id: str, when: datetime, amount: str = "10", member: str = "ana"
) -> rk.Outcome:
    return kit.record(rk.Action(id=id, member=member, kind="purchase", at=when, amount=amount))


def by_rule(outcome: rk.Outcome) -> dict[str, int]:
    return {award.rule: award.points for award in outcome.awards}


# ---------------------------------------------------------------- when


@pytest.mark.parametrize(
    ("when", "bonus"),
    [
        (local("2026-12-01 00:00") - TICK, 0),
        (local("2026-12-01 00:00"), 10),
        (local("2026-12-31 23:59:59.999999"), 10),
        (local("2027-01-01 00:00"), 0),
    ],
    ids=["day-before", "first-day", "last-instant", "day-after"],
)
def test_a_december_campaign_runs_from_its_first_to_its_last_local_day(
    when: datetime, bonus: int
) -> None:
    december = rk.date_between("2026-12-01", "2026-12-31")
    kit = kit_for(rk.fixed("december", on="purchase", points=10, when=december))
    assert by_rule(buy(kit, "p", when)).get("december", 0) == bonus


HAPPY_HOUR = rk.recurrence("DTSTART:20260102T170000\nRRULE:FREQ=WEEKLY;BYDAY=FR", {"hours": 2})


@pytest.mark.parametrize(
    ("when", "doubled"),
    [
        (local("2026-03-27 17:00") - TICK, False),  # Friday, just before
        (local("2026-03-27 17:00"), True),
        (local("2026-03-27 19:00") - TICK, True),
        (local("2026-03-27 19:00"), False),
        (local("2026-03-26 17:30"), False),  # a Thursday
        (local("2026-04-03 17:00"), True),  # the first Friday after DST began: still 17:00
    ],
    ids=["before", "start", "last-instant", "end", "thursday", "after-dst"],
)
def test_a_happy_hour_doubles_points_only_inside_its_recurrence(
    when: datetime, doubled: bool
) -> None:
    kit = kit_for(rk.multiplier("happy-hour", factor=2, targets=["base"], when=HAPPY_HOUR))
    assert buy(kit, "p", when).points == (20 if doubled else 10)


def test_a_tier_promotion_applies_from_the_action_after_the_member_reaches_the_tier() -> None:
    ladder = rk.ladder(metric="points_earned", levels=[rk.level("gold", 100)])
    kit = kit_for(
        rk.fixed("gold-treat", on="purchase", points=5, when=rk.tier_in("gold")), tiers=ladder
    )
    # Conditions see the member as the action finds them: not gold yet.
    assert "gold-treat" not in by_rule(buy(kit, "p1", local("2026-03-02 10:00"), "100"))
    assert by_rule(buy(kit, "p2", local("2026-03-02 11:00")))["gold-treat"] == 5
    assert "gold-treat" not in by_rule(buy(kit, "p3", local("2026-03-02 11:00"), member="bob"))


def test_a_segment_promotion_applies_to_the_members_of_the_segment() -> None:
    kit = kit_for(
        rk.fixed("vip-bonus", on="purchase", points=20, when=rk.in_segment("big-spenders")),
        segments={"big-spenders": rk.spent_at_least("200")},
    )
    assert "vip-bonus" not in by_rule(buy(kit, "p1", local("2026-03-02 10:00"), "150"))
    assert "vip-bonus" not in by_rule(buy(kit, "p2", local("2026-03-03 10:00"), "49.99"))
    # 199.99 spent so far: not yet; then 200.09 spent.
    assert "vip-bonus" not in by_rule(buy(kit, "p3", local("2026-03-04 10:00"), "0.10"))
    assert by_rule(buy(kit, "p4", local("2026-03-05 10:00"), "1"))["vip-bonus"] == 20


def test_a_win_back_promotion_targets_members_inactive_for_60_days() -> None:
    kit = kit_for(
        rk.fixed("welcome-back", on="purchase", points=50, when=rk.in_segment("lapsed")),
        segments={"lapsed": rk.inactive_for({"days": 60})},
    )
    buy(kit, "p1", local("2026-01-10 10:00"))
    assert "welcome-back" not in by_rule(buy(kit, "p2", local("2026-03-11 10:00") - TICK))
    assert "welcome-back" not in by_rule(buy(kit, "p3", local("2026-05-10 09:59")))
    assert by_rule(buy(kit, "p4", local("2026-07-09 10:00")))["welcome-back"] == 50


# ---------------------------------------------------------------- budgets


def test_a_budget_is_never_exceeded_across_members() -> None:
    kit = kit_for(rk.fixed("launch", on="purchase", points=30, budget=100))
    outcomes = [
        buy(kit, f"p{n}", local("2026-03-02 10:00") + timedelta(minutes=n), member=member)
        for n, member in enumerate(["ana", "bob", "carla", "dan", "eve", "ana"])
    ]
    launch = [next(a for a in out.awards if a.rule == "launch") for out in outcomes]
    assert [(a.points, a.capped) for a in launch] == [
        (30, False), (30, False), (30, False), (10, True), (0, True), (0, True)
    ]  # fmt: skip
    # The base rule is not budgeted: every purchase still earns its 10 points.
    assert [out.points for out in outcomes] == [40, 40, 40, 20, 10, 10]
    assert kit.store.counter("budget:launch") == 100


def test_a_multiplier_budget_limits_only_the_bonus_it_adds() -> None:
    kit = kit_for(rk.multiplier("double", factor=2, targets=["base"], budget=25))
    points = [buy(kit, f"p{n}", local("2026-03-02 10:00"), member=f"m{n}").points for n in range(4)]
    assert points == [20, 20, 15, 10]
    assert kit.store.counter("budget:double") == 25


def test_a_first_time_and_a_per_amount_budget_truncate_the_last_award() -> None:
    kit = kit_for(
        rk.first_time("welcome", on="purchase", points=50, budget=120),
        rk.per_amount("spring", on="purchase", per="1.00", points=2, budget=45),
    )
    found = [
        by_rule(buy(kit, f"p{n}", local("2026-03-02 10:00"), "10", member=f"m{n}"))
        for n in range(4)
    ]
    assert [f["welcome"] for f in found] == [50, 50, 20, 0]
    assert [f["spring"] for f in found] == [20, 20, 5, 0]


def test_a_preview_shows_what_is_left_of_a_budget() -> None:
    kit = kit_for(rk.fixed("launch", on="purchase", points=30, budget=40))
    buy(kit, "p1", local("2026-03-02 10:00"))
    action = rk.Action(
        id="p2", member="bob", kind="purchase", at=local("2026-03-02 11:00"), amount="10"
    )
    assert by_rule(kit.preview(action))["launch"] == 10


def test_a_budget_truncated_award_counts_towards_caps_only_what_it_awarded() -> None:
    kit = kit_for(
        rk.fixed("launch", on="purchase", points=50, budget=60, caps=rk.cap(per="day", points=80))
    )
    buy(kit, "p1", local("2026-03-02 10:00"))
    assert by_rule(buy(kit, "p2", local("2026-03-02 11:00")))["launch"] == 10
    (usage,) = kit.store.load("ana").state.usage["launch@day"]
    assert (usage.points, usage.awards) == (60, 2)


def test_a_replayed_action_does_not_spend_the_budget_again() -> None:
    kit = kit_for(rk.fixed("launch", on="purchase", points=30, budget=100))
    for _ in range(3):
        buy(kit, "p1", local("2026-03-02 10:00"))
    assert kit.store.counter("budget:launch") == 30


demands = st.lists(
    st.tuples(st.sampled_from(["ana", "bob", "carla"]), st.integers(0, 80)), max_size=25
)


@settings(max_examples=60, deadline=None)
@given(demands=demands, budget=st.integers(1, 300))
def test_a_budget_awards_exactly_what_is_asked_until_it_is_spent(
    demands: list[tuple[str, int]], budget: int
) -> None:
    kit = kit_for(rk.per_amount("promo", on="purchase", per="1.00", points=1, budget=budget))
    left = budget
    for n, (member, amount) in enumerate(demands):
        out = buy(kit, f"p{n}", local("2026-03-02 10:00"), str(amount), member)
        assert by_rule(out).get("promo", 0) == min(amount, left)
        left -= min(amount, left)
    assert kit.store.counter("budget:promo") == budget - left


# ---------------------------------------------------------------- real processes


@pytest.mark.slow
def test_processes_awarding_at_once_never_exceed_a_budget_on_one_sqlite_file(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'rewards.db'}"
    rk.Rewards(budget_program(), store=url).close()  # the schema, before the race
    # Each worker visits with members of its own: only the budget's counter is shared.
    reports = run_workers("budget", url, tmp_path, processes=4, count=30)
    points = [p for report in reports for p in report["points"].values()]
    assert len(points) == 120  # every visit recorded: 360 points asked of a budget of 100
    assert sum(points) == 100
    assert sorted(p for p in points if p) == [1] + [3] * 33  # only the last award truncated
    with rk.Rewards(budget_program(), store=url) as kit:
        assert kit.store.counter("budget:launch") == 100
        earned = sum(
            e.points for m in kit.store.members() for e in kit.history(m) if e.reason == "launch"
        )
        assert earned == 100
