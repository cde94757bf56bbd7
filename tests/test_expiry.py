"""Expiry of points: every policy at its exact boundary, month ends, leap days, period
ends, inactivity, DST days, FIFO spending, expiry in the ledger, and the properties
that hold for any sequence of actions (including sweeping versus reading lazily)."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rewardkit as rk
from rewardkit.tiers import Keep
from rewardkit.time import Period

from ._timekit import MADRID, NEW_YORK, TICK, ledger_explains_balance, local


def no_clock() -> datetime:
    raise AssertionError("every call in these tests names its instant")


def expiring(
    expiry: rk.ExpiryPolicy,
    tz: str = "Europe/Madrid",
    *,
    hold: rk.Hold | None = None,
    tiers: rk.Ladder | None = None,
) -> rk.Program:
    return rk.Program(
        name="Expiry",
        timezone=tz,
        rules=(
            rk.fixed("visit", on="visit", points=10),
            rk.fixed("order", on="order", points=30, pending=hold),
        ),
        rewards=(
            rk.reward("sticker", cost=5),
            rk.reward("coffee", cost=15),
            rk.reward("cake", cost=40),
        ),
        expiry=expiry,
        tiers=tiers,
    )


def kit_for(
    expiry: rk.ExpiryPolicy,
    tz: str = "Europe/Madrid",
    *,
    hold: rk.Hold | None = None,
    tiers: rk.Ladder | None = None,
) -> rk.Rewards:
    program = expiring(expiry, tz, hold=hold, tiers=tiers)
    return rk.Rewards(program, store="memory://", clock=no_clock)


def act(
    kit: rk.Rewards, id: str, when: datetime, kind: str = "visit", member: str = "ana"
) -> rk.Outcome:
    return kit.record(rk.Action(id=id, member=member, kind=kind, at=when))


def lot_ids(kit: rk.Rewards, when: datetime, member: str = "ana") -> dict[str, int]:
    return {lot.id: lot.remaining for lot in kit.member(member, at=when).lots}


class PromoNeverExpires:
    """A user's own policy: points earned in February 2026 never expire; the others
    expire 30 days after they were earned."""

    uses_activity = False

    def expires_at(
        self, earned_at: datetime, activity: datetime | None, tz: tzinfo
    ) -> datetime | None:
        if earned_at.astimezone(tz).strftime("%Y-%m") == "2026-02":
            return None
        return rk.fixed_term({"days": 30}).expires_at(earned_at, activity, tz)


# ---------------------------------------------------------------- exact boundaries


BOUNDARIES = [
    pytest.param(rk.fixed_term({"days": 30}), "2026-03-04 10:00", "2026-04-03 10:00", id="30 days"),
    pytest.param(
        rk.fixed_term({"months": 12}), "2026-03-04 10:00", "2027-03-04 10:00", id="12 months"
    ),
    pytest.param(rk.end_of_period("month"), "2026-03-04 10:00", "2026-04-01 00:00", id="month"),
    pytest.param(rk.inactivity({"days": 90}), "2026-03-04 10:00", "2026-06-02 10:00", id="idle"),
    pytest.param(
        rk.earliest_of(rk.fixed_term({"months": 12}), rk.end_of_period("quarter")),
        "2026-03-04 10:00",
        "2026-04-01 00:00",
        id="earliest",
    ),
]


@pytest.mark.parametrize(("policy", "earned", "expires"), BOUNDARIES)
def test_lot_is_usable_until_the_instant_before_its_expiry_and_not_at_it(
    policy: rk.ExpiryPolicy, earned: str, expires: str
) -> None:
    kit = kit_for(policy)
    act(kit, "v1", local(earned))
    expiry = local(expires)
    (lot,) = kit.member("ana", at=expiry - TICK).lots
    assert lot.expires_at == expiry and lot.expires_at.utcoffset() == timedelta(0)
    assert kit.balance("ana", at=expiry - TICK) == 10
    assert kit.member("ana", at=expiry - TICK).balance == 10
    assert kit.balance("ana", at=expiry) == 0
    assert kit.member("ana", at=expiry).balance == 0
    assert kit.member("ana", at=expiry).lots == ()


@pytest.mark.parametrize(("policy", "earned", "expires"), BOUNDARIES)
def test_points_can_be_spent_the_instant_before_expiry_but_not_at_it(
    policy: rk.ExpiryPolicy, earned: str, expires: str
) -> None:
    in_time, too_late = kit_for(policy), kit_for(policy)
    for kit in (in_time, too_late):
        act(kit, "v1", local(earned))
    assert in_time.redeem("ana", "sticker", id="r", at=local(expires) - TICK).balance == 5
    with pytest.raises(rk.InsufficientPoints) as refused:
        too_late.redeem("ana", "sticker", id="r", at=local(expires))
    assert (refused.value.balance, refused.value.needed) == (0, 5)


@pytest.mark.parametrize(
    ("length", "earned", "expires"),
    [
        pytest.param({"months": 1}, "2026-01-31 09:15", "2026-02-28 09:15", id="jan31+1m"),
        pytest.param({"months": 1}, "2028-01-31 09:15", "2028-02-29 09:15", id="leap jan31+1m"),
        pytest.param({"years": 1}, "2028-02-29 09:15", "2029-02-28 09:15", id="feb29+1y"),
        pytest.param({"months": 1}, "2026-03-31 09:15", "2026-04-30 09:15", id="mar31+1m dst"),
        pytest.param({"months": 12}, "2027-02-28 09:15", "2028-02-28 09:15", id="no leap push"),
    ],
)
def test_fixed_term_clamps_to_the_month_end_at_the_same_local_time(
    length: dict[str, int], earned: str, expires: str
) -> None:
    kit = kit_for(rk.fixed_term(length))
    act(kit, "v1", local(earned))
    assert kit.balance("ana", at=local(expires) - TICK) == 10
    assert kit.balance("ana", at=local(expires)) == 0


@pytest.mark.parametrize(
    ("period", "after", "tz", "earned", "expires"),
    [
        ("month", 0, MADRID, "2026-03-04 10:00", "2026-04-01 00:00"),
        ("month", 2, MADRID, "2026-03-04 10:00", "2026-06-01 00:00"),
        ("month", 0, MADRID, "2026-01-31 23:59", "2026-02-01 00:00"),
        ("month", 0, MADRID, "2026-10-31 23:59", "2026-11-01 00:00"),
        ("quarter", 0, MADRID, "2026-02-10 10:00", "2026-04-01 00:00"),
        ("quarter", 1, MADRID, "2026-02-10 10:00", "2026-07-01 00:00"),
        ("quarter", 0, MADRID, "2026-04-01 00:00", "2026-07-01 00:00"),
        ("quarter", 3, MADRID, "2026-11-15 10:00", "2027-10-01 00:00"),
        ("year", 0, MADRID, "2026-01-01 00:00", "2027-01-01 00:00"),
        ("year", 0, MADRID, "2026-12-31 23:59", "2027-01-01 00:00"),
        ("year", 1, MADRID, "2026-12-31 23:59", "2028-01-01 00:00"),
        ("year", 0, NEW_YORK, "2026-12-31 20:00", "2027-01-01 00:00"),  # already 2027 in UTC
    ],
)
def test_end_of_period_expires_at_the_local_end_of_the_nth_period_after_earning(
    period: Period, after: int, tz: ZoneInfo, earned: str, expires: str
) -> None:
    kit = kit_for(rk.end_of_period(period, after), tz=tz.key)
    act(kit, "v1", local(earned, tz))
    expiry = local(expires, tz)
    assert kit.member("ana", at=expiry - TICK).lots[0].expires_at == expiry
    assert kit.balance("ana", at=expiry - TICK) == 10
    assert kit.balance("ana", at=expiry) == 0


def test_points_earned_in_the_last_minute_of_the_year_expire_at_midnight() -> None:
    kit = kit_for(rk.end_of_period("year"))
    act(kit, "v1", local("2026-12-31 23:59"))
    assert kit.balance("ana", at=local("2026-12-31 23:59:59.999999")) == 10
    out = act(kit, "v2", local("2027-01-01 00:00"))
    assert (out.expired, out.balance) == (10, 10)
    assert kit.member("ana", at=local("2027-01-01 00:00")).lots[0].expires_at == local(
        "2028-01-01 00:00"
    )


# ---------------------------------------------------------------- inactivity


def test_inactivity_expires_every_lot_exactly_after_the_last_activity() -> None:
    kit = kit_for(rk.inactivity({"days": 30}))
    act(kit, "v1", local("2026-01-01 10:00"))
    act(kit, "v2", local("2026-01-10 10:00"))
    expiry = local("2026-02-09 10:00")
    assert {lot.expires_at for lot in kit.member("ana", at=expiry - TICK).lots} == {expiry}
    assert kit.balance("ana", at=expiry - TICK) == 20
    assert kit.balance("ana", at=expiry) == 0


def test_a_later_action_that_earns_nothing_still_pushes_every_lot() -> None:
    kit = kit_for(rk.inactivity({"days": 30}))
    act(kit, "v1", local("2026-01-01 10:00"))
    out = act(kit, "browse-1", local("2026-01-20 10:00"), kind="browse")
    assert out.points == 0
    assert kit.balance("ana", at=local("2026-02-19 10:00") - TICK) == 10
    assert kit.balance("ana", at=local("2026-02-19 10:00")) == 0


def test_a_redemption_pushes_every_remaining_lot() -> None:
    kit = kit_for(rk.inactivity({"days": 30}))
    act(kit, "v1", local("2026-01-01 10:00"))
    act(kit, "v2", local("2026-01-02 10:00"))
    kit.redeem("ana", "coffee", id="r1", at=local("2026-01-25 10:00"))
    pushed = local("2026-02-24 10:00")
    assert lot_ids(kit, pushed - TICK) == {"v2#visit": 5}
    assert kit.member("ana", at=pushed - TICK).lots[0].expires_at == pushed
    assert kit.balance("ana", at=pushed) == 0


def test_activity_at_the_expiry_instant_comes_too_late_to_save_the_points() -> None:
    kit = kit_for(rk.inactivity({"days": 30}))
    act(kit, "v1", local("2026-01-01 10:00"))
    out = act(kit, "v2", local("2026-01-31 10:00"))
    assert (out.expired, out.points, out.balance) == (10, 10, 10)
    assert lot_ids(kit, local("2026-01-31 10:00")) == {"v2#visit": 10}


def test_activity_pushes_lots_across_a_dst_change_at_the_same_local_time() -> None:
    kit = kit_for(rk.inactivity({"days": 7}))
    act(kit, "v1", local("2026-03-20 18:00"))
    act(kit, "v2", local("2026-03-25 18:00"))
    expiry = local("2026-04-01 18:00")  # CEST, while the activity was CET
    assert kit.balance("ana", at=expiry - TICK) == 20
    assert kit.balance("ana", at=expiry) == 0


# ---------------------------------------------------------------- earliest_of


def test_earliest_of_caps_inactivity_with_a_fixed_term() -> None:
    policy = rk.earliest_of(rk.fixed_term({"months": 3}), rk.inactivity({"days": 30}))
    kit = kit_for(policy)
    act(kit, "v1", local("2026-01-05 10:00"))
    for i, day in enumerate(["2026-01-25", "2026-02-14", "2026-03-06", "2026-03-26"]):
        act(kit, f"browse-{i}", local(f"{day} 10:00"), kind="browse")
    # Active all along, yet v1 expires three months after it was earned.
    assert kit.balance("ana", at=local("2026-04-05 10:00") - TICK) == 10
    assert kit.balance("ana", at=local("2026-04-05 10:00")) == 0


def test_earliest_of_lets_inactivity_expire_points_before_the_term() -> None:
    policy = rk.earliest_of(rk.fixed_term({"months": 3}), rk.inactivity({"days": 30}))
    kit = kit_for(policy)
    act(kit, "v1", local("2026-01-05 10:00"))
    assert kit.balance("ana", at=local("2026-02-04 10:00") - TICK) == 10
    assert kit.balance("ana", at=local("2026-02-04 10:00")) == 0


def test_earliest_of_ignores_policies_that_never_expire() -> None:
    year_end = rk.earliest_of(rk.never_expire, rk.end_of_period("year"))
    never = rk.earliest_of(rk.never_expire, [rk.never_expire])
    earned = local("2026-05-05 10:00")
    assert year_end.expires_at(earned, None, MADRID) == local("2027-01-01 00:00")
    assert never.expires_at(earned, None, MADRID) is None
    kit = kit_for(never)
    act(kit, "v1", earned)
    assert kit.balance("ana", at=local("2100-01-01 00:00")) == 10
    assert kit.store.due(local("2100-01-01 00:00")) == []


def test_earliest_of_needs_a_policy() -> None:
    with pytest.raises(rk.ProgramError, match="at least one policy"):
        rk.earliest_of()


# ---------------------------------------------------------------- DST


DST_DAYS = [
    pytest.param(MADRID, "2026-03-28", "2026-03-29", 23, id="madrid spring forward"),
    pytest.param(MADRID, "2026-10-24", "2026-10-25", 25, id="madrid fall back"),
    pytest.param(NEW_YORK, "2026-03-07", "2026-03-08", 23, id="new york spring forward"),
    pytest.param(NEW_YORK, "2026-10-31", "2026-11-01", 25, id="new york fall back"),
]


@pytest.mark.parametrize(("tz", "day_before", "change_day", "hours"), DST_DAYS)
def test_a_one_day_term_over_a_dst_change_expires_at_the_same_local_time(
    tz: ZoneInfo, day_before: str, change_day: str, hours: int
) -> None:
    kit = kit_for(rk.fixed_term({"days": 1}), tz=tz.key)
    earned = local(f"{day_before} 12:00", tz)
    expiry = local(f"{change_day} 12:00", tz)
    assert expiry.astimezone(UTC) - earned.astimezone(UTC) == timedelta(hours=hours)
    act(kit, "v1", earned)
    assert kit.member("ana", at=expiry - TICK).lots[0].expires_at == expiry
    assert kit.balance("ana", at=expiry - TICK) == 10
    assert kit.balance("ana", at=expiry) == 0


@pytest.mark.parametrize(("tz", "day_before", "change_day", "hours"), DST_DAYS)
def test_an_inactivity_day_over_a_dst_change_ends_at_the_same_local_time(
    tz: ZoneInfo, day_before: str, change_day: str, hours: int
) -> None:
    kit = kit_for(rk.inactivity({"days": 1}), tz=tz.key)
    act(kit, "v1", local(f"{day_before} 12:00", tz))
    assert kit.balance("ana", at=local(f"{change_day} 12:00", tz) - TICK) == 10
    assert kit.balance("ana", at=local(f"{change_day} 12:00", tz)) == 0


def test_a_term_landing_in_the_skipped_hour_ends_when_clocks_jump() -> None:
    kit = kit_for(rk.fixed_term({"days": 1}))
    act(kit, "v1", local("2026-03-28 02:30"))  # 2026-03-29 02:30 does not exist in Madrid
    jump = local("2026-03-29 03:00")  # the first instant clocks read 02:30 or later
    assert jump.astimezone(UTC) == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    assert kit.balance("ana", at=jump - TICK) == 10
    assert kit.balance("ana", at=jump) == 0


def test_a_lot_earned_in_the_repeated_hour_keeps_its_own_occurrence() -> None:
    kit = kit_for(rk.fixed_term({"days": 1}))
    first = local("2026-10-25 02:30", fold=0)
    second = local("2026-10-25 02:30", fold=1)
    assert second.astimezone(UTC) - first.astimezone(UTC) == timedelta(hours=1)
    act(kit, "v1", second)
    expiry = local("2026-10-26 02:30")
    assert kit.balance("ana", at=expiry - TICK) == 10
    assert kit.balance("ana", at=expiry) == 0


def test_end_of_month_over_a_dst_change_is_local_midnight() -> None:
    kit = kit_for(rk.end_of_period("month"), tz="America/New_York")
    act(kit, "v1", local("2026-03-08 01:30", NEW_YORK))  # just before the jump
    expiry = local("2026-04-01 00:00", NEW_YORK)
    assert expiry.astimezone(UTC) == datetime(2026, 4, 1, 4, 0, tzinfo=UTC)
    assert kit.balance("ana", at=expiry - TICK) == 10
    assert kit.balance("ana", at=expiry) == 0


def test_a_term_in_hours_is_elapsed_time_even_over_a_dst_change() -> None:
    earned = local("2026-03-29 01:30")
    expires = rk.fixed_term({"hours": 1}).expires_at(earned.astimezone(UTC), None, MADRID)
    assert expires == earned + timedelta(hours=1)


# ---------------------------------------------------------------- FIFO


def test_redeeming_spends_the_earliest_expiring_lot_first_not_the_oldest() -> None:
    kit = kit_for(rk.fixed_term({"months": 1}), hold=rk.pending_for({"days": 14}))
    act(kit, "o1", local("2026-01-01 10:00"), kind="order")  # spendable Jan 15, until Feb 15
    act(kit, "v1", local("2026-01-05 10:00"))  # spendable at once, until Feb 5
    kit.redeem("ana", "coffee", id="r1", at=local("2026-01-20 10:00"))
    assert lot_ids(kit, local("2026-01-20 10:00")) == {"o1#order": 25}
    assert kit.balance("ana", at=local("2026-02-15 10:00") - TICK) == 25


def test_points_that_never_expire_are_spent_last() -> None:
    kit = kit_for(PromoNeverExpires())
    act(kit, "feb", local("2026-02-10 10:00"))
    act(kit, "mar1", local("2026-03-01 10:00"))
    act(kit, "mar2", local("2026-03-02 10:00"))
    kit.redeem("ana", "coffee", id="r1", at=local("2026-03-05 10:00"))
    assert lot_ids(kit, local("2026-03-05 10:00")) == {"mar2#visit": 5, "feb#visit": 10}
    out = act(kit, "apr", local("2026-04-02 10:00"))
    assert out.expired == 5
    assert lot_ids(kit, local("2026-04-02 10:00")) == {"apr#visit": 10, "feb#visit": 10}


def test_lots_are_listed_in_spending_order() -> None:
    kit = kit_for(PromoNeverExpires())
    for id, day in [("feb", "2026-02-10"), ("mar1", "2026-03-01"), ("mar2", "2026-03-02")]:
        kit.record(rk.Action(id=id, member="ana", kind="visit", at=local(f"{day} 10:00")))
    assert list(lot_ids(kit, local("2026-03-03 10:00"))) == [
        "mar1#visit",
        "mar2#visit",
        "feb#visit",
    ]


# ---------------------------------------------------------------- the ledger


def test_expired_points_appear_in_history_at_their_expiry_instant() -> None:
    kit = kit_for(rk.fixed_term({"days": 30}))
    act(kit, "v1", local("2026-01-01 10:00"))
    act(kit, "v2", local("2026-01-02 10:00"))
    kit.redeem("ana", "coffee", id="r1", at=local("2026-01-03 10:00"))
    later = local("2026-03-01 00:00")
    expired = [e for e in kit.history("ana", at=later) if e.kind is rk.EntryKind.EXPIRE]
    assert [(e.at, e.points, e.cause, e.reason, e.balance) for e in expired] == [
        (local("2026-02-01 10:00"), -5, "time", "v2#visit", 0),
    ]
    assert expired[0].at.utcoffset() == timedelta(0)
    ledger_explains_balance(kit, "ana", later)
    act(kit, "v3", later)  # the expiry is committed with the next call, identically
    assert [e for e in kit.store.history("ana") if e.kind is rk.EntryKind.EXPIRE] == expired


def test_a_call_reports_what_expired_on_the_way_apart_from_its_own_points() -> None:
    kit = kit_for(rk.fixed_term({"days": 30}))
    act(kit, "v1", local("2026-01-01 10:00"))
    act(kit, "v2", local("2026-01-15 10:00"))
    out = act(kit, "v3", local("2026-02-20 10:00"))
    assert (out.points, out.expired, out.balance) == (10, 20, 10)
    gone = [(e.lot, e.points, e.at, e.cause) for e in out.events if isinstance(e, rk.PointsExpired)]
    assert gone == [
        ("v1#visit", 10, local("2026-01-31 10:00"), "time"),
        ("v2#visit", 10, local("2026-02-14 10:00"), "time"),
    ]
    redeemed = kit.redeem("ana", "sticker", id="r1", at=local("2026-03-10 10:00"))
    assert (redeemed.points, redeemed.expired) == (-5, 0)


def test_the_ledger_explains_the_balance_before_at_and_after_expiry() -> None:
    kit = kit_for(rk.end_of_period("month"))
    act(kit, "v1", local("2026-01-30 10:00"))
    kit.redeem("ana", "sticker", id="r1", at=local("2026-01-31 10:00"))
    act(kit, "v2", local("2026-01-31 23:00"))
    for when in ["2026-01-31 23:59:59.999999", "2026-02-01 00:00", "2026-02-15 00:00"]:
        ledger_explains_balance(kit, "ana", local(when))
    act(kit, "v3", local("2026-02-15 00:00"))
    ledger_explains_balance(kit, "ana", local("2026-02-15 00:00"))


def test_a_sweep_commits_expiry_and_reports_it() -> None:
    kit = kit_for(rk.fixed_term({"days": 30}))
    act(kit, "v1", local("2026-01-01 10:00"), member="ana")
    act(kit, "v2", local("2026-01-20 10:00"), member="bea")
    report = kit.expire(at=local("2026-01-31 10:00"))
    assert (report.members, dict(report.expired), report.tier_changes) == (1, {"points": 10}, ())
    assert kit.store.due(local("2026-01-31 10:00")) == []
    assert [e.kind for e in kit.store.history("ana")] == [rk.EntryKind.EARN, rk.EntryKind.EXPIRE]
    assert kit.balance("bea", at=local("2026-01-31 10:00")) == 10
    assert kit.expire(at=local("2026-01-31 10:00")).members == 0


def test_a_sweep_counts_only_the_members_it_changed() -> None:
    # Two servers read the members due at the same moment; one sweeps them first.  The
    # other finds nothing left to do: it commits nothing and counts no one.
    kit = kit_for(rk.fixed_term({"days": 30}))
    act(kit, "v1", local("2026-01-01 10:00"), member="ana")
    act(kit, "v2", local("2026-01-02 10:00"), member="bea")
    at = local("2026-03-01 10:00")
    seen_due = kit.store.due(at)
    other = rk.Rewards(kit.program, store=kit.store)
    assert other.expire(at=at).members == 2
    versions = {m: kit.store.load(m).version for m in seen_due}
    kit.store.due = lambda _at: seen_due  # type: ignore[method-assign]
    late = kit.expire(at=at)
    assert (late.members, dict(late.expired)) == (0, {})
    assert {m: kit.store.load(m).version for m in seen_due} == versions


# ---------------------------------------------------------------- properties

POLICIES: Sequence[rk.ExpiryPolicy] = (
    rk.fixed_term({"days": 10}),
    rk.end_of_period("month"),
    rk.inactivity({"days": 7}),
    rk.earliest_of(rk.fixed_term({"days": 20}), rk.inactivity({"days": 6})),
    PromoNeverExpires(),
)
START = local("2026-01-25 09:00")
gaps = st.one_of(
    st.integers(0, 12).map(lambda days: timedelta(days=days)),  # lands on exact boundaries
    st.integers(0, 20_000).map(lambda minutes: timedelta(minutes=minutes)),
)
plain_steps = st.lists(
    st.tuples(st.sampled_from(["visit", "coffee", "sticker", "idle"]), gaps),
    min_size=3,
    max_size=25,
)
held_steps = st.lists(
    st.tuples(st.sampled_from(["visit", "order", "coffee", "sticker", "cake", "idle"]), gaps),
    min_size=3,
    max_size=25,
)


def apply(kit: rk.Rewards, step: int, kind: str, when: datetime, member: str = "ana") -> None:
    if kind in ("visit", "order"):
        act(kit, f"{kind}-{step}", when, kind=kind, member=member)
    elif kind != "idle":
        with contextlib.suppress(rk.InsufficientPoints):
            kit.redeem(member, kind, id=f"{kind}-{step}", at=when)


def expiry_key(instant: datetime | None) -> datetime:
    return instant if instant is not None else datetime.max.replace(tzinfo=UTC)


def new_entries(kit: rk.Rewards, since: datetime, until: datetime) -> list[rk.Entry]:
    """Ledger entries time makes between two calls, read lazily (nothing committed)."""
    return kit.history("ana", at=until)[len(kit.history("ana", at=since)) :]


@settings(max_examples=100, deadline=None)
@given(policy=st.sampled_from(POLICIES), steps=plain_steps)
def test_no_lot_ever_expires_before_its_instant(
    policy: rk.ExpiryPolicy, steps: list[tuple[str, timedelta]]
) -> None:
    kit = kit_for(policy)
    now = START
    for i, (kind, gap) in enumerate(steps):
        step_at = now + gap
        for entry in new_entries(kit, now, step_at):
            assert entry.kind is rk.EntryKind.EXPIRE and entry.at > now
            just_before = lot_ids(kit, entry.at - TICK)
            assert just_before[entry.reason] == -entry.points
            lot = next(
                x for x in kit.member("ana", at=entry.at - TICK).lots if x.id == entry.reason
            )
            assert lot.expires_at == entry.at
            assert entry.reason not in lot_ids(kit, entry.at)
        apply(kit, i, kind, step_at)
        now = step_at
        view = kit.member("ana", at=now)
        for lot in view.lots:
            assert lot.expires_at == policy.expires_at(lot.earned_at, view.last_activity, MADRID)
            assert lot.expires_at is None or lot.expires_at > now


@settings(max_examples=100, deadline=None)
@given(policy=st.sampled_from(POLICIES), steps=held_steps)
def test_fifo_never_lets_points_expire_while_later_expiring_points_were_spent(
    policy: rk.ExpiryPolicy, steps: list[tuple[str, timedelta]]
) -> None:
    kit = kit_for(policy, hold=rk.pending_for({"days": 3}))
    # For each redemption: the expiry of every lot it spent from, and of every lot
    # that still held points after it.
    spendings: list[tuple[list[datetime], dict[str, datetime]]] = []
    now = START
    for i, (kind, gap) in enumerate(steps):
        step_at = now + gap
        for entry in new_entries(kit, now, step_at):
            if entry.kind is not rk.EntryKind.EXPIRE:
                continue
            for spent, left in spendings:
                if entry.reason in left:
                    assert all(when <= left[entry.reason] for when in spent), (entry, spent)
        before = {lot.id: lot for lot in kit.member("ana", at=step_at).lots}
        apply(kit, i, kind, step_at)
        if kind in ("coffee", "sticker", "cake"):
            after = {lot.id: lot for lot in kit.member("ana", at=step_at).lots}
            spent = [
                expiry_key(lot.expires_at)
                for id, lot in before.items()
                if lot.remaining > (after[id].remaining if id in after else 0)
            ]
            left = {id: expiry_key(before[id].expires_at) for id in after}
            assert not spent or max(spent) <= min(left.values(), default=max(spent))
            spendings.append((spent, left))
        now = step_at


@settings(max_examples=100, deadline=None)
@given(
    policy=st.sampled_from(POLICIES),
    steps=plain_steps,
    probes=st.lists(st.floats(0, 1), min_size=1, max_size=6),
)
def test_balance_never_rises_between_activities_when_only_expiry_acts(
    policy: rk.ExpiryPolicy, steps: list[tuple[str, timedelta]], probes: list[float]
) -> None:
    kit = kit_for(policy)
    now = START
    for i, (kind, gap) in enumerate([*steps, ("idle", timedelta(days=40))]):
        step_at = now + gap
        instants = [now + gap * fraction for fraction in probes]
        instants += [
            lot.expires_at
            for lot in kit.member("ana", at=now).lots
            if lot.expires_at is not None and lot.expires_at <= step_at
        ]
        instants += [instant - TICK for instant in instants if instant - TICK >= now]
        balances = [kit.balance("ana", at=instant) for instant in sorted(instants)]
        assert balances == sorted(balances, reverse=True)
        assert [kit.member("ana", at=t).balance for t in sorted(instants)] == balances
        apply(kit, i, kind, step_at)
        now = step_at


def short_ladder(keep: Keep, count_pending: bool) -> rk.Ladder:
    """Tiers that change often over a few weeks: reviews, grace and drops all happen."""
    return rk.ladder(
        metric="points_earned",
        levels=[rk.level("silver", 20), rk.level("gold", 60, multiplier="1.5")],
        window={"days": 15},
        keep=keep,
        grace={"days": 3},
        count_pending=count_pending,
    )


KEEPS = (
    rk.keep_for({"days": 10}),
    rk.keep_until_period_end("week"),
    rk.keep_while_active({"days": 8}),
)


@settings(max_examples=100, deadline=None)
@given(
    policy=st.sampled_from(POLICIES),
    keep=st.sampled_from(KEEPS),
    count_pending=st.booleans(),
    steps=st.lists(
        st.tuples(
            st.sampled_from(["visit", "order", "coffee", "sticker", "idle"]),
            gaps,
            st.sampled_from(["ana", "bea"]),
            st.lists(st.floats(0, 1), max_size=2),
        ),
        min_size=3,
        max_size=20,
    ),
)
def test_sweeping_and_reading_lazily_give_the_same_states_and_histories(
    policy: rk.ExpiryPolicy,
    keep: Keep,
    count_pending: bool,
    steps: list[tuple[str, timedelta, str, list[float]]],
) -> None:
    tiers = short_ladder(keep, count_pending)
    lazy = kit_for(policy, hold=rk.pending_for({"days": 3}), tiers=tiers)
    swept = kit_for(policy, hold=rk.pending_for({"days": 3}), tiers=tiers)
    now = START
    for i, (kind, gap, member, sweeps) in enumerate(
        [*steps, ("idle", timedelta(days=60), "ana", [1.0])]
    ):
        step_at = now + gap
        for fraction in sorted(sweeps):
            swept.expire(at=now + gap * fraction)
        for kit in (lazy, swept):
            apply(kit, i, kind, step_at, member=member)
        for who in ("ana", "bea"):
            assert lazy.history(who, at=step_at) == swept.history(who, at=step_at)
            assert lazy.member(who, at=step_at) == swept.member(who, at=step_at)
            ledger_explains_balance(swept, who, step_at)
        now = step_at
