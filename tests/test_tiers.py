"""Tiers: levels reached at once, held until a review, kept, dropped or lost after
grace; windows (rolling, calendar, lifetime); the seed's Gold-while-active case;
benefits (multiplier, reward eligibility); refunds; DST; and sweeps."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pytest
from dateutil.relativedelta import relativedelta
from hypothesis import given, settings
from hypothesis import strategies as st

import rewardkit as rk
from rewardkit.expiry import after_wall_clock
from rewardkit.model import Contribution
from rewardkit.tiers import Metric

from ._timekit import MADRID, NEW_YORK, TICK, ledger_explains_balance, local

SILVER = rk.level("silver", 100)
GOLD = rk.level("gold", 500)


def no_clock() -> datetime:
    raise AssertionError("every call in these tests names its instant")


def tier_program(ladder: rk.Ladder, tz: str = "Europe/Madrid") -> rk.Program:
    rewards = [rk.reward("coffee", cost=10)]
    if "gold" in {lvl.id for lvl in ladder.levels}:
        rewards.append(rk.reward("lounge", cost=10, min_tier="gold"))
    return rk.Program(
        name="Tiers",
        timezone=tz,
        rules=(
            rk.per_amount("base", on="purchase", per="1.00", points=1),
            rk.fixed("visit", on="visit", points=5),
            rk.multiplier("weekend", factor=2, targets=["base"], when=rk.weekday("sat", "sun")),
        ),
        rewards=rewards,
        tiers=ladder,
    )


def kit_for(ladder: rk.Ladder, tz: str = "Europe/Madrid") -> rk.Rewards:
    return rk.Rewards(tier_program(ladder, tz), store="memory://", clock=no_clock)


def buy(
    kit: rk.Rewards, id: str, when: datetime, amount: str | int, member: str = "ana"
) -> rk.Outcome:
    return kit.record(rk.Action(id=id, member=member, kind="purchase", at=when, amount=str(amount)))


def tiers_of(events: Sequence[rk.Event]) -> list[tuple[str | None, str | None, str, str]]:
    return [
        (e.previous, e.level, e.reason, e.cause) for e in events if isinstance(e, rk.TierChanged)
    ]


def tier_entries(kit: rk.Rewards, when: datetime) -> list[tuple[datetime, str, str, int]]:
    return [
        (e.at, e.reason, e.cause, e.points)
        for e in kit.history("ana", at=when)
        if e.kind is rk.EntryKind.TIER
    ]


def tier_at(kit: rk.Rewards, when: datetime) -> str | None:
    return kit.member("ana", at=when).tier


# Weekdays only (the weekend rule doubles points): Tue 2026-02-10, Thu 2026-06-11, ...
REACHED = local("2026-02-10 10:00")
YEAR_LATER = local("2027-02-10 10:00")


# ---------------------------------------------------------------- upgrades


@pytest.mark.parametrize(
    ("metric", "levels", "amounts"),
    [
        ("points_earned", [SILVER, GOLD], ["60", "40"]),
        ("amount_spent", [SILVER, GOLD], ["60.50", "39.50"]),
        ("actions", [rk.level("silver", 2), rk.level("gold", 5)], ["1", "1"]),
    ],
)
def test_a_member_is_upgraded_the_instant_the_threshold_is_met(
    metric: Metric, levels: list[rk.Level], amounts: list[str]
) -> None:
    kit = kit_for(rk.ladder(metric=metric, levels=levels))
    first, second = REACHED, REACHED + timedelta(days=1)
    assert tiers_of(buy(kit, "o1", first, amounts[0]).events) == []
    assert tier_at(kit, second) is None
    out = buy(kit, "o2", second, amounts[1])
    assert tiers_of(out.events) == [(None, "silver", "qualified", "o2")]
    assert tier_at(kit, second) == "silver"
    assert tier_entries(kit, second) == [(second, "- -> silver", "o2", 0)]
    ledger_explains_balance(kit, "ana", second)


def test_an_upgrade_may_skip_levels_and_is_one_change() -> None:
    kit = kit_for(rk.ladder(metric="points_earned", levels=[SILVER, GOLD]))
    out = buy(kit, "o1", REACHED, 600)
    assert tiers_of(out.events) == [(None, "gold", "qualified", "o1")]
    assert tier_entries(kit, REACHED) == [(REACHED, "- -> gold", "o1", 0)]


def test_silver_to_gold_is_a_ledger_entry_that_moves_no_points() -> None:
    kit = kit_for(rk.ladder(metric="points_earned", levels=[SILVER, GOLD]))
    buy(kit, "o1", REACHED, 150)
    out = buy(kit, "o2", REACHED + timedelta(days=1), 400)
    assert tiers_of(out.events) == [("silver", "gold", "qualified", "o2")]
    tier = next(e for e in out.entries if e.kind is rk.EntryKind.TIER)
    assert (tier.points, tier.reason, tier.balance) == (0, "silver -> gold", 550)


def test_a_qualifying_condition_filters_the_actions_that_count() -> None:
    ladder = rk.ladder(
        metric="actions",
        levels=[rk.level("silver", 2)],
        qualifying=rk.kind("purchase") & rk.amount_at_least(10),
    )
    kit = kit_for(ladder)
    buy(kit, "small", REACHED, "9.99")
    kit.record(rk.Action(id="v1", member="ana", kind="visit", at=REACHED))
    buy(kit, "o1", REACHED + timedelta(hours=1), 10)
    assert kit.member("ana", at=REACHED + timedelta(hours=1)).tier_metric == 1
    out = buy(kit, "o2", REACHED + timedelta(hours=2), 25)
    assert tiers_of(out.events) == [(None, "silver", "qualified", "o2")]


# ---------------------------------------------------------------- windows


def test_a_rolling_window_drops_an_action_exactly_one_window_later() -> None:
    kit = kit_for(rk.ladder(metric="points_earned", levels=[SILVER], window={"months": 12}))
    buy(kit, "o1", REACHED, 60)
    assert kit.member("ana", at=YEAR_LATER - TICK).tier_metric == 60
    assert kit.member("ana", at=YEAR_LATER).tier_metric == 0
    assert tiers_of(buy(kit, "o2", YEAR_LATER, 40).events) == []


def test_a_rolling_window_still_counts_the_instant_before_it_ends() -> None:
    kit = kit_for(rk.ladder(metric="points_earned", levels=[SILVER], window={"months": 12}))
    buy(kit, "o1", REACHED, 60)
    out = buy(kit, "o2", YEAR_LATER - TICK, 40)
    assert tiers_of(out.events) == [(None, "silver", "qualified", "o2")]


def test_a_calendar_window_starts_again_at_local_new_year() -> None:
    kit = kit_for(rk.ladder(metric="points_earned", levels=[SILVER], window="year"))
    buy(kit, "o1", local("2026-12-31 23:59"), 60)  # a Thursday
    assert kit.member("ana", at=local("2027-01-01 00:00") - TICK).tier_metric == 60
    assert kit.member("ana", at=local("2027-01-01 00:00")).tier_metric == 0
    assert tiers_of(buy(kit, "o2", local("2027-01-01 00:00"), 40).events) == []


def test_a_lifetime_window_counts_everything() -> None:
    kit = kit_for(rk.ladder(metric="points_earned", levels=[SILVER]))
    buy(kit, "o1", REACHED, 60)
    out = buy(kit, "o2", local("2031-02-11 10:00"), 40)
    assert tiers_of(out.events) == [(None, "silver", "qualified", "o2")]


# ---------------------------------------------------------------- keep_for reviews


def yearly(grace: dict[str, int] | None = None) -> rk.Ladder:
    return rk.ladder(
        metric="points_earned",
        levels=[SILVER, GOLD],
        window={"months": 12},
        keep=rk.keep_for({"months": 12}),
        grace=grace,
    )


def test_a_level_is_kept_at_review_when_still_met() -> None:
    kit = kit_for(yearly())
    buy(kit, "o1", REACHED, 600)
    buy(kit, "o2", local("2026-12-01 10:00"), 500)
    status = kit.member("ana", at=YEAR_LATER).tier_status
    assert status == rk.TierStatus("gold", REACHED, local("2028-02-10 10:00"))
    assert tier_entries(kit, YEAR_LATER) == [(REACHED, "- -> gold", "o1", 0)]


def test_at_review_a_member_drops_to_the_highest_level_still_met() -> None:
    kit = kit_for(yearly())
    buy(kit, "o1", REACHED, 600)
    buy(kit, "o2", local("2026-12-01 10:00"), 150)
    assert tier_at(kit, YEAR_LATER - TICK) == "gold"
    assert kit.member("ana", at=YEAR_LATER).tier_status == rk.TierStatus(
        "silver", YEAR_LATER, local("2028-02-10 10:00")
    )
    assert tier_entries(kit, YEAR_LATER)[-1] == (YEAR_LATER, "gold -> silver", "time", 0)


def test_at_review_a_member_meeting_no_level_loses_it() -> None:
    kit = kit_for(yearly())
    buy(kit, "o1", REACHED, 600)
    out = buy(kit, "o2", YEAR_LATER + timedelta(days=1), 10)
    assert tiers_of(out.events) == [("gold", None, "review", "time")]
    assert tier_entries(kit, YEAR_LATER)[-1] == (YEAR_LATER, "gold -> -", "time", 0)


def test_grace_holds_the_level_until_it_ends_then_drops() -> None:
    kit = kit_for(yearly(grace={"months": 1}))
    buy(kit, "o1", REACHED, 600)
    buy(kit, "o2", local("2026-12-01 10:00"), 150)
    grace_end = local("2027-03-10 10:00")
    on_grace = kit.member("ana", at=YEAR_LATER).tier_status
    assert on_grace == rk.TierStatus("gold", REACHED, None, grace_end)
    swept = kit.expire(at=YEAR_LATER)  # the review begins the grace: an event says so
    assert [(e.member, e.at, e.level, e.until, e.cause) for e in swept.graces] == [
        ("ana", YEAR_LATER, "gold", grace_end, "time")
    ]
    assert swept.tier_changes == () and kit.expire(at=YEAR_LATER).graces == ()
    assert tier_at(kit, grace_end - TICK) == "gold"
    assert tier_at(kit, grace_end) == "silver"
    changes = [e for e in kit.history("ana", at=grace_end) if e.kind is rk.EntryKind.TIER]
    assert [(e.at, e.reason) for e in changes][-1] == (grace_end, "gold -> silver")
    out = buy(kit, "o3", grace_end, 1)
    assert tiers_of(out.events) == [("gold", "silver", "grace", "time")]


def test_qualifying_again_during_grace_keeps_the_level_with_a_fresh_review() -> None:
    kit = kit_for(yearly(grace={"months": 1}))
    buy(kit, "o1", REACHED, 600)
    again = local("2027-02-25 10:00")
    out = buy(kit, "o2", again, 500)
    assert tiers_of(out.events) == []
    assert kit.member("ana", at=again).tier_status == rk.TierStatus(
        "gold", REACHED, local("2028-02-25 10:00")
    )
    assert tier_at(kit, local("2028-02-25 10:00") - TICK) == "gold"


def test_qualifying_only_for_a_lower_level_during_grace_does_not_end_it() -> None:
    kit = kit_for(yearly(grace={"months": 1}))
    buy(kit, "o1", REACHED, 600)
    buy(kit, "o2", local("2027-02-25 10:00"), 150)
    assert kit.member("ana", at=local("2027-02-25 10:00")).tier_status.grace_until == local(
        "2027-03-10 10:00"
    )
    assert tier_at(kit, local("2027-03-10 10:00")) == "silver"


# ---------------------------------------------------------------- keep_until_period_end


def calendar_years() -> rk.Ladder:
    return rk.ladder(
        metric="points_earned",
        levels=[SILVER, GOLD],
        window="year",
        keep=rk.keep_until_period_end("year"),
    )


def test_a_level_reached_this_year_is_held_all_next_year_then_reviewed() -> None:
    kit = kit_for(calendar_years())
    buy(kit, "o1", local("2026-06-10 10:00"), 600)
    review = local("2028-01-01 00:00")
    assert kit.member("ana", at=review - TICK).tier_status == rk.TierStatus(
        "gold", local("2026-06-10 10:00"), review
    )
    buy(kit, "o2", local("2027-03-10 10:00"), 500)  # 2027 keeps gold
    assert kit.member("ana", at=review).tier_status == rk.TierStatus(
        "gold", local("2026-06-10 10:00"), local("2029-01-01 00:00")
    )


def test_a_calendar_review_judges_the_year_just_ended_and_holds_the_new_level_for_a_year() -> None:
    kit = kit_for(calendar_years())
    buy(kit, "o1", local("2026-06-10 10:00"), 600)
    buy(kit, "o2", local("2027-03-10 10:00"), 150)  # 2027: silver only
    review = local("2028-01-01 00:00")
    assert tier_at(kit, review - TICK) == "gold"
    # Silver was earned by 2027: held through 2028, reviewed against 2028.
    assert kit.member("ana", at=review).tier_status == rk.TierStatus(
        "silver", review, local("2029-01-01 00:00")
    )
    assert tier_at(kit, local("2029-01-01 00:00")) is None


# ---------------------------------------------------------------- keep_while_active


def gold_while_active(
    grace: dict[str, int] | None = None, window: dict[str, int] | None = None
) -> rk.Ladder:
    """The seed's Gold: reached by spending 100 within 90 days, held until 180 days
    without a purchase."""
    return rk.ladder(
        metric="amount_spent",
        levels=[rk.level("gold", 100)],
        window=window or {"days": 90},
        keep=rk.keep_while_active({"days": 180}),
        qualifying=rk.kind("purchase"),
        grace=grace,
    )


def test_gold_lapses_exactly_180_days_after_the_last_purchase() -> None:
    kit = kit_for(gold_while_active())
    buy(kit, "o1", local("2026-01-13 10:00"), 100)
    buy(kit, "o2", local("2026-02-10 10:00"), 1)  # still well within the 12-month window
    lapse = local("2026-08-09 10:00")  # 180 days after Feb 10, same local time
    assert kit.member("ana", at=local("2026-02-10 10:00")).tier_status.review_at == lapse
    assert tier_at(kit, lapse - TICK) == "gold"
    assert tier_at(kit, lapse) is None
    out = kit.record(rk.Action(id="v1", member="ana", kind="visit", at=lapse))
    assert tiers_of(out.events) == [("gold", None, "inactive", "time")]


def test_every_purchase_pushes_the_lapse_and_other_actions_do_not() -> None:
    kit = kit_for(gold_while_active())
    buy(kit, "o1", local("2026-01-13 10:00"), 100)
    for i, day in enumerate(["2026-03-03", "2026-05-05", "2026-07-07"]):
        buy(kit, f"more-{i}", local(f"{day} 10:00"), 1)
        kit.record(rk.Action(id=f"v{i}", member="ana", kind="visit", at=local(f"{day} 12:00")))
    inactive_156_days = local("2026-12-10 10:00")  # the seed: "only 24 days left"
    status = kit.member("ana", at=inactive_156_days).tier_status
    assert status.review_at == local("2027-01-03 10:00")  # 180 days after the last purchase
    assert (date(2027, 1, 3) - date(2026, 12, 10)).days == 24
    assert tier_at(kit, local("2027-01-03 10:00") - TICK) == "gold"
    assert tier_at(kit, local("2027-01-03 10:00")) is None


def test_a_purchase_during_grace_after_inactivity_keeps_gold() -> None:
    kit = kit_for(gold_while_active(grace={"days": 14}))
    buy(kit, "o1", local("2026-01-13 10:00"), 100)
    lapse = local("2026-07-12 10:00")
    assert kit.member("ana", at=lapse).tier_status.grace_until == local("2026-07-26 10:00")
    buy(kit, "o2", local("2026-07-20 10:00"), 100)
    assert kit.member("ana", at=local("2026-07-26 10:00")).tier == "gold"
    assert kit.member("ana", at=local("2026-07-20 10:00")).tier_status.review_at == local(
        "2027-01-16 10:00"
    )


def test_gold_lapses_after_180_idle_days_even_if_a_12_month_metric_still_holds() -> None:
    kit = kit_for(gold_while_active(window={"months": 12}))
    buy(kit, "o1", local("2026-01-13 10:00"), 100)
    buy(kit, "o2", local("2026-02-10 10:00"), 1)
    assert tier_at(kit, local("2026-08-09 10:00")) is None


def test_without_a_purchase_during_grace_gold_is_lost_at_its_end() -> None:
    kit = kit_for(gold_while_active(grace={"days": 14}))
    buy(kit, "o1", local("2026-01-13 10:00"), 100)
    assert tier_at(kit, local("2026-07-26 10:00") - TICK) == "gold"
    assert tier_at(kit, local("2026-07-26 10:00")) is None


# ---------------------------------------------------------------- benefits


def with_multipliers() -> rk.Ladder:
    return rk.ladder(
        metric="points_earned",
        levels=[
            rk.level("silver", 100, multiplier="1.25"),
            rk.level("gold", 500, multiplier="1.5"),
        ],
    )


def test_a_tier_multiplier_awards_the_floor_of_the_product() -> None:
    kit = kit_for(with_multipliers())
    buy(kit, "o1", REACHED, 500)
    out = buy(kit, "o2", REACHED + timedelta(days=1), 11)
    assert [(a.rule, a.points) for a in out.awards] == [("base", 11), ("tier:gold", 5)]
    assert out.points == 16


def test_tier_and_weekend_multipliers_compound_and_round_down_once() -> None:
    kit = kit_for(with_multipliers())
    buy(kit, "o1", REACHED, 100)  # silver (x1.25)
    saturday = local("2026-02-14 10:00")
    out = buy(kit, "o2", saturday, 7)  # floor(7 x 2 x 1.25) = 17
    assert out.points == 17
    assert [(a.rule, a.points) for a in out.awards] == [
        ("base", 7),
        ("weekend", 7),
        ("tier:silver", 3),
    ]


def test_a_reward_for_gold_members_is_refused_below_gold() -> None:
    kit = kit_for(with_multipliers())
    buy(kit, "o1", REACHED, 200)
    with pytest.raises(rk.RewardUnavailable, match="Gold level or above"):
        kit.redeem("ana", "lounge", id="r1", at=REACHED)
    assert kit.member("ana", at=REACHED).balance == 200
    buy(kit, "o2", REACHED + timedelta(days=1), 300)
    assert kit.redeem("ana", "lounge", id="r2", at=REACHED + timedelta(days=1)).points == -10


def test_a_gold_reward_is_refused_from_the_instant_gold_is_lost() -> None:
    kit = kit_for(yearly())
    buy(kit, "o1", REACHED, 600)
    kit.redeem("ana", "lounge", id="r1", at=YEAR_LATER - TICK)
    with pytest.raises(rk.RewardUnavailable):
        kit.redeem("ana", "lounge", id="r2", at=YEAR_LATER)


# ---------------------------------------------------------------- refunds


def test_a_refund_lowers_an_amount_metric_and_the_review_sees_it() -> None:
    ladder = rk.ladder(
        metric="amount_spent",
        levels=[SILVER],
        window={"months": 12},
        keep=rk.keep_for({"months": 6}),
    )
    kit = kit_for(ladder)
    buy(kit, "o1", REACHED, 120)
    kit.reverse("o1", id="refund-1", at=REACHED + timedelta(days=3), amount="30")
    view = kit.member("ana", at=REACHED + timedelta(days=3))
    assert (view.tier, view.tier_metric) == ("silver", 90)  # no downgrade before the review
    assert tier_at(kit, local("2026-08-10 10:00")) is None


def test_a_full_reversal_takes_its_points_out_of_a_points_metric() -> None:
    kit = kit_for(rk.ladder(metric="points_earned", levels=[SILVER]))
    buy(kit, "o1", REACHED, 120)
    kit.reverse("o1", id="refund-1", at=REACHED + timedelta(days=1))
    assert kit.member("ana", at=REACHED + timedelta(days=1)).tier_metric == 0


def test_a_fully_refunded_purchase_no_longer_counts_as_a_qualifying_action() -> None:
    kit = kit_for(rk.ladder(metric="actions", levels=[rk.level("silver", 2)]))
    buy(kit, "o1", REACHED, 20)
    kit.reverse("o1", id="refund-1", at=REACHED + timedelta(hours=1), amount="5")
    assert kit.member("ana", at=REACHED + timedelta(hours=1)).tier_metric == 1
    kit.reverse("o1", id="refund-2", at=REACHED + timedelta(hours=2), amount="15")
    assert kit.member("ana", at=REACHED + timedelta(hours=2)).tier_metric == 0


def test_reversing_an_action_that_did_not_qualify_leaves_the_metric_alone() -> None:
    ladder = rk.ladder(metric="points_earned", levels=[SILVER], qualifying=rk.kind("purchase"))
    kit = kit_for(ladder)
    buy(kit, "o1", REACHED, 60)
    kit.record(rk.Action(id="v1", member="ana", kind="visit", at=REACHED))
    kit.reverse("v1", id="undo-v1", at=REACHED + timedelta(hours=1))
    assert kit.member("ana", at=REACHED + timedelta(hours=1)).tier_metric == 60


def test_a_refund_leaves_a_rolling_window_with_the_purchase_it_refunds() -> None:
    kit = kit_for(rk.ladder(metric="points_earned", levels=[SILVER], window={"months": 12}))
    buy(kit, "o1", REACHED, 60)
    kit.reverse("o1", id="refund-1", at=local("2026-06-01 10:00"))
    assert kit.member("ana", at=local("2026-06-01 10:00")).tier_metric == 0
    # A year after the purchase both the purchase and its refund have left the window.
    out = buy(kit, "o2", local("2027-03-02 10:00"), 100)
    assert kit.member("ana", at=local("2027-03-02 10:00")).tier_metric == 100
    assert tiers_of(out.events) == [(None, "silver", "qualified", "o2")]


# ---------------------------------------------------------------- DST


@pytest.mark.parametrize(
    ("tz", "term", "reached", "review"),
    [
        pytest.param(MADRID, {"months": 1}, "2026-09-25 12:00", "2026-10-25 12:00", id="madrid"),
        pytest.param(  # 02:30 does not exist that day: the review is when clocks jump
            MADRID, {"days": 30}, "2026-02-27 02:30", "2026-03-29 03:00", id="madrid gap"
        ),
        pytest.param(NEW_YORK, {"months": 1}, "2026-02-08 12:00", "2026-03-08 12:00", id="ny"),
        pytest.param(  # 01:30 happens twice that day: the review is at the first
            NEW_YORK, {"months": 1}, "2026-10-01 01:30", "2026-11-01 01:30", id="ny repeated"
        ),
    ],
)
def test_a_review_on_a_dst_day_happens_at_the_right_local_instant(
    tz: ZoneInfo, term: dict[str, int], reached: str, review: str
) -> None:
    ladder = rk.ladder(
        metric="points_earned", levels=[SILVER], keep=rk.keep_for(term), window={"days": 7}
    )
    kit = kit_for(ladder, tz=tz.key)
    buy(kit, "o1", local(reached, tz), 100)
    assert kit.member("ana", at=local(reached, tz)).tier_status.review_at == local(review, tz)
    assert tier_at(kit, local(review, tz) - TICK) == "silver"
    assert tier_at(kit, local(review, tz)) is None


@pytest.mark.parametrize("tz", [MADRID, NEW_YORK], ids=["madrid", "ny"])
def test_hours_after_any_instant_of_a_fall_back_night_are_that_much_time_later(
    tz: ZoneInfo,
) -> None:
    """Every minute of the night clocks go back (the repeated hour's two passes
    included): an hour, and 90 minutes, after it is exactly that much elapsed time."""
    night = {MADRID: "2026-10-25 00:00", NEW_YORK: "2026-11-01 00:00"}[tz]
    start = local(night, tz)
    for minute in range(4 * 60):
        instant = start + timedelta(minutes=minute)
        for span in (relativedelta(hours=1), relativedelta(hours=1, minutes=30)):
            expected = instant + timedelta(hours=span.hours, minutes=span.minutes)
            assert after_wall_clock(instant, span, tz) == expected, instant


def test_an_hour_long_keep_reached_in_the_repeated_hour_is_reviewed_an_hour_later() -> None:
    """Qualified at 02:20 in the second pass through 02:00-03:00 (clocks went back at
    03:00 CEST): the level is reviewed at 03:20 CET, an hour on, and a call after that
    returns (it looped forever on a review that resolved to 02:20 of the first pass)."""
    ladder = rk.ladder(metric="points_earned", levels=[SILVER], keep=rk.keep_for({"hours": 1}))
    kit = kit_for(ladder)
    reached = datetime(2026, 10, 25, 1, 20, tzinfo=UTC)  # 02:20 CET, the second 02:20
    buy(kit, "o1", reached, 100)
    review = reached + timedelta(hours=1)
    assert kit.member("ana", at=reached).tier_status.review_at == review
    assert kit.member("ana", at=review - TICK).tier_status.review_at == review
    # Reviewed then, and kept (the metric still meets the level): for another hour.
    later = kit.member("ana", at=review + timedelta(minutes=30)).tier_status
    assert later.level == "silver"
    assert later.review_at == review + timedelta(hours=1)


def test_a_rolling_window_starting_in_a_skipped_hour_starts_when_clocks_jumped() -> None:
    kit = kit_for(rk.ladder(metric="amount_spent", levels=[SILVER], window={"months": 12}))
    buy(kit, "o1", local("2026-03-29 03:15"), 60)  # 45 minutes after clocks jumped to 03:00
    # A year before 2027-03-29 02:30 is 2026-03-29 02:30, which never happened: the
    # window starts at 03:00, when clocks jumped, as every other boundary does.
    assert kit.member("ana", at=local("2027-03-29 02:30")).tier_metric == 60
    assert kit.member("ana", at=local("2027-03-29 03:15") - TICK).tier_metric == 60
    assert kit.member("ana", at=local("2027-03-29 03:15")).tier_metric == 0


def test_a_period_end_review_after_a_dst_change_is_at_local_midnight() -> None:
    ladder = rk.ladder(
        metric="points_earned",
        levels=[SILVER],
        window="month",
        keep=rk.keep_until_period_end("month"),
    )
    kit = kit_for(ladder, tz="America/New_York")
    buy(kit, "o1", local("2026-02-16 12:00", NEW_YORK), 100)
    review = local("2026-04-01 00:00", NEW_YORK)
    assert tier_at(kit, review - TICK) == "silver"
    assert tier_at(kit, review) is None


# ---------------------------------------------------------------- sweeps


def test_a_sweep_performs_due_reviews_and_reports_the_tier_changes() -> None:
    kit = kit_for(yearly())
    buy(kit, "o1", REACHED, 600, member="ana")
    buy(kit, "o2", REACHED + timedelta(days=30), 600, member="bea")
    buy(kit, "o3", local("2026-12-01 10:00"), 150, member="ana")
    report = kit.expire(at=YEAR_LATER)
    assert report.members == 1
    assert tiers_of(report.tier_changes) == [("gold", "silver", "review", "time")]
    assert report.tier_changes[0].member == "ana" and report.tier_changes[0].at == YEAR_LATER
    assert [e.reason for e in kit.store.history("ana") if e.kind is rk.EntryKind.TIER] == [
        "- -> gold",
        "gold -> silver",
    ]
    assert kit.store.load("ana").state.tier == rk.TierStatus(
        "silver", YEAR_LATER, local("2028-02-10 10:00")
    )
    assert kit.expire(at=YEAR_LATER).members == 0


def test_a_sweep_that_keeps_a_level_reschedules_its_review() -> None:
    kit = kit_for(yearly())
    buy(kit, "o1", REACHED, 600)
    buy(kit, "o2", local("2026-12-01 10:00"), 500)
    report = kit.expire(at=YEAR_LATER)
    assert (report.members, report.tier_changes) == (1, ())
    assert kit.store.due(local("2028-02-10 10:00") - TICK) == []
    assert kit.store.due(local("2028-02-10 10:00")) == ["ana"]


# ---------------------------------------------------------------- a level renamed


def test_a_level_renamed_in_the_programme_is_dropped_and_the_member_placed_again() -> None:
    def program(level: str) -> rk.Program:
        return rk.load_program(
            {
                "program": {"name": "Renamed", "timezone": "UTC"},
                "rules": [{"id": "b", "type": "per_amount", "on": "purchase", "per": "1"}],
                "tiers": {
                    "metric": "points_earned",
                    "levels": [{"id": level, "threshold": 100}],
                },
            }
        )

    store = rk.MemoryStore()
    first = rk.Action(
        id="o1", member="ana", kind="purchase", at=datetime(2026, 3, 1, tzinfo=UTC), amount="120"
    )
    assert rk.Rewards(program("gold"), store=store).record(first).points == 120
    kit = rk.Rewards(program("oro"), store=store)
    assert kit.record(first).replayed  # a known id replays whatever the programme says now
    later = datetime(2026, 3, 2, tzinfo=UTC)
    assert kit.member("ana", at=later).tier == "oro"  # 120 points: the new level at once
    assert kit.nudges("ana", at=later) is not None
    kit.record(attrs.evolve(first, id="o2", at=later, amount="5"))
    moves = [(e.reason, e.cause) for e in kit.history("ana") if e.kind is rk.EntryKind.TIER]
    assert moves == [("- -> gold", "o1"), ("gold -> -", "time"), ("- -> oro", "time")]
    assert kit.expire(datetime(2027, 4, 1, tzinfo=UTC)) is not None


def test_a_programme_without_tiers_any_more_drops_the_members_level() -> None:
    def program(tiers: bool) -> rk.Program:
        ladder = rk.ladder(metric="points_earned", levels=[rk.level("gold", 100)])
        return rk.Program(
            name="No more tiers",
            rules=[rk.per_amount("b", on="purchase", per="1.00", points=1)],
            tiers=ladder if tiers else None,
        )

    store = rk.MemoryStore()
    at = datetime(2026, 3, 1, tzinfo=UTC)
    first = rk.Action(id="o1", member="ana", kind="purchase", at=at, amount="120")
    rk.Rewards(program(True), store=store).record(first)
    kit = rk.Rewards(program(False), store=store)
    assert kit.member("ana", at=at + timedelta(days=1)).tier is None
    kit.record(attrs.evolve(first, id="o2", at=at + timedelta(days=1)))
    assert store.load("ana").state.tier is None
    assert kit.expire(at=at + timedelta(days=800)).members == 0  # nothing left to review


def test_a_dropped_level_is_written_after_what_time_did_before_it() -> None:
    def program(level: str) -> rk.Program:
        return rk.Program(
            name="Ordered",
            rules=[rk.per_amount("b", on="purchase", per="1.00", points=1)],
            expiry=rk.fixed_term({"days": 30}),
            tiers=rk.ladder(metric="points_earned", levels=[rk.level(level, 100)]),
        )

    store = rk.MemoryStore()
    at = datetime(2026, 3, 1, tzinfo=UTC)
    rk.Rewards(program("gold"), store=store).record(
        rk.Action(id="o1", member="ana", kind="purchase", at=at, amount="120")
    )
    kit = rk.Rewards(program("oro"), store=store)
    kit.expire(at=at + timedelta(days=60))  # the points expired on day 30; the switch is later
    instants = [entry.at for entry in kit.history("ana")]
    assert instants == sorted(instants)
    lines = [(entry.kind.value, entry.reason) for entry in kit.history("ana")]
    assert lines == [
        ("earn", "b"),
        ("tier", "- -> gold"),
        ("expire", "o1#b"),  # on day 30, before the call that found gold gone
        ("tier", "gold -> -"),
        ("tier", "- -> oro"),  # 120 points earned in the window still meet it
    ]


# ---------------------------------------------------------------- the metric's fast path


_WINDOWS = st.sampled_from([{"months": 12}, {"days": 30}, "year", "month", "week", None])
_MOMENTS = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
)


@given(
    window=_WINDOWS,
    instants=st.lists(_MOMENTS, max_size=40),
    values=st.lists(st.decimals("0", "500", places=2), min_size=40, max_size=40),
    at=_MOMENTS,
    zone=st.sampled_from(["Europe/Madrid", "America/New_York", "UTC", "Australia/Lord_Howe"]),
)
@settings(max_examples=300, deadline=None)
def test_the_metric_read_by_bisection_equals_the_full_sum(
    window: Any, instants: list[datetime], values: list[Decimal], at: datetime, zone: str
) -> None:
    ladder = rk.ladder(metric="points_earned", levels=[SILVER], window=window)
    metric = sorted(
        (Contribution(moment, value) for moment, value in zip(instants, values, strict=False)),
        key=lambda c: c.at,
    )
    tz = ZoneInfo(zone)
    assert ladder.value(metric, at, tz, ordered=True) == ladder.value(metric, at, tz)
    assert ladder.value_at_review(metric, at, tz, ordered=True) == ladder.value_at_review(
        metric, at, tz
    )
    for contribution in metric:  # the window's exact ends: each contribution's own instant
        edge = contribution.at
        assert ladder.value(metric, edge, tz, ordered=True) == ladder.value(metric, edge, tz)
