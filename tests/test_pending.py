"""Pending points: awards held for a returns window, visible but not spendable, released
at their instant or on confirm, cancelled by a reversal, and counted for tiers only
when the programme says so."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

import rewardkit as rk
from rewardkit.tiers import Metric

from ._timekit import TICK, ledger_explains_balance, local

BOUGHT = local("2026-03-02 10:00")
RELEASED = local("2026-03-16 10:00")  # 14 days later, same local time
FOURTEEN_DAYS = rk.pending_for({"days": 14})
SILVER = rk.level("silver", 100)


def no_clock() -> datetime:
    raise AssertionError("every call in these tests names its instant")


def held_program(
    *,
    hold: rk.Hold | None = FOURTEEN_DAYS,
    default: rk.Hold | None = None,
    tiers: rk.Ladder | None = None,
    expiry: rk.ExpiryPolicy = rk.never_expire,
) -> rk.Program:
    return rk.Program(
        name="Returns",
        timezone="Europe/Madrid",
        rules=(
            rk.per_amount("base", on="purchase", per="1.00", points=1, pending=hold),
            rk.fixed("visit", on="visit", points=5),
            rk.multiplier("weekend", factor=2, targets=["base"], when=rk.weekday("sat", "sun")),
        ),
        rewards=(rk.reward("coffee", cost=100),),
        pending=default,
        tiers=tiers,
        expiry=expiry,
    )


def kit_for(program: rk.Program | None = None) -> rk.Rewards:
    return rk.Rewards(program or held_program(), store="memory://", clock=no_clock)


def buy(
    kit: rk.Rewards, id: str = "o1", amount: str = "120", when: datetime = BOUGHT
) -> rk.Outcome:
    return kit.record(rk.Action(id=id, member="ana", kind="purchase", at=when, amount=amount))


def visit(kit: rk.Rewards, id: str, when: datetime) -> rk.Outcome:
    return kit.record(rk.Action(id=id, member="ana", kind="visit", at=when))


# ---------------------------------------------------------------- holding


def test_a_held_award_is_visible_but_not_spendable() -> None:
    kit = kit_for()
    out = buy(kit)
    assert (out.points, out.pending, out.balance) == (0, 120, 0)
    (held,) = [e for e in out.events if isinstance(e, rk.PointsHeld)]
    assert (held.rule, held.points, held.release_at) == ("base", 120, RELEASED)
    view = kit.member("ana", at=BOUGHT)
    assert (view.balance, view.pending, view.lots) == (0, 120, ())
    (entry,) = kit.history("ana", at=BOUGHT)
    assert (entry.kind, entry.points, entry.balance, entry.pending) == (
        rk.EntryKind.PENDING,
        0,
        0,
        120,
    )
    with pytest.raises(rk.InsufficientPoints) as refused:
        kit.redeem("ana", "coffee", id="r1", at=RELEASED - TICK)
    assert (refused.value.balance, refused.value.needed) == (0, 100)


def test_held_points_are_released_exactly_at_their_instant_by_time() -> None:
    kit = kit_for()
    buy(kit)
    before, at_release = kit.member("ana", at=RELEASED - TICK), kit.member("ana", at=RELEASED)
    assert (before.balance, before.pending) == (0, 120)
    assert (at_release.balance, at_release.pending) == (120, 0)
    released = kit.history("ana", at=RELEASED)[-1]
    assert (released.kind, released.at, released.points, released.cause, released.reason) == (
        rk.EntryKind.EARN,
        RELEASED,
        120,
        "time",
        "base",
    )
    assert released.pending == 0
    ledger_explains_balance(kit, "ana", RELEASED)
    assert kit.redeem("ana", "coffee", id="r1", at=RELEASED).balance == 20


def test_balance_counts_points_released_by_time_since_the_last_call() -> None:
    kit = kit_for()
    buy(kit)
    assert kit.balance("ana", at=RELEASED) == kit.member("ana", at=RELEASED).balance == 120


def test_a_sweep_releases_held_points_and_reports_them() -> None:
    kit = kit_for()
    buy(kit)
    assert kit.store.due(RELEASED - TICK) == []
    report = kit.expire(at=RELEASED)
    assert (report.members, dict(report.released), dict(report.expired)) == (
        1,
        {"points": 120},
        {},
    )
    assert [(e.kind, e.cause) for e in kit.store.history("ana")][-1] == (rk.EntryKind.EARN, "time")
    assert kit.balance("ana", at=RELEASED) == 120


def test_a_weekend_bonus_is_held_with_the_award_it_multiplies() -> None:
    kit = kit_for()
    saturday = local("2026-03-07 10:00")
    out = buy(kit, amount="10", when=saturday)
    assert (out.pending, out.balance) == (20, 0)
    assert kit.member("ana", at=local("2026-03-21 10:00")).balance == 20


def test_a_released_lot_starts_its_expiry_term_when_it_is_released() -> None:
    kit = kit_for(held_program(expiry=rk.fixed_term({"months": 1})))
    buy(kit, when=local("2026-01-30 10:00"))  # released Feb 13; expires a month later
    assert kit.member("ana", at=local("2026-02-13 10:00")).lots[0].expires_at == local(
        "2026-03-13 10:00"
    )
    assert kit.member("ana", at=local("2026-03-13 10:00") - TICK).balance == 120
    assert kit.member("ana", at=local("2026-03-13 10:00")).balance == 0


# ---------------------------------------------------------------- confirming


def test_confirm_releases_held_points_early() -> None:
    kit = kit_for()
    buy(kit)
    early = BOUGHT + timedelta(days=2)
    out = kit.confirm("o1", at=early)
    assert (out.points, out.balance) == (120, 120)
    assert [type(e).__name__ for e in out.events] == ["PointsReleased"]
    (entry,) = out.entries
    assert (entry.kind, entry.cause, entry.at, entry.pending) == (rk.EntryKind.EARN, "o1", early, 0)
    assert kit.member("ana", at=early).balance == 120
    assert kit.history("ana", at=RELEASED) == kit.store.history("ana")  # nothing left to release


def test_confirming_twice_changes_nothing() -> None:
    kit = kit_for()
    buy(kit)
    kit.confirm("o1", at=BOUGHT + timedelta(days=1))
    version, ledger = kit.store.load("ana").version, kit.store.history("ana")
    again = kit.confirm("o1", at=BOUGHT + timedelta(days=1))
    assert (again.points, again.entries, again.events) == (0, (), ())
    assert (kit.store.load("ana").version, kit.store.history("ana")) == (version, ledger)


def test_confirming_an_action_with_nothing_held_changes_nothing() -> None:
    kit = kit_for()
    visit(kit, "v1", BOUGHT)
    out = kit.confirm("v1", at=BOUGHT + timedelta(hours=1))
    assert (out.entries, out.balance) == ((), 5)
    assert kit.store.load("ana").version == 1


def test_confirming_an_unknown_action_is_a_lookup_error() -> None:
    kit = kit_for()
    with pytest.raises(rk.UnknownAction) as error:
        kit.confirm("nope", at=BOUGHT)
    assert isinstance(error.value, LookupError) and error.value.action_id == "nope"


def test_confirming_before_the_action_happened_is_refused_and_changes_nothing() -> None:
    kit = kit_for()
    buy(kit)
    with pytest.raises(rk.InvalidAction, match="before action 'o1'"):
        kit.confirm("o1", at=BOUGHT - TICK)
    assert kit.store.load("ana").version == 1
    assert kit.confirm("o1", at=BOUGHT).balance == 120


def test_until_confirmed_holds_until_the_host_confirms() -> None:
    kit = kit_for(held_program(hold=rk.until_confirmed))
    out = buy(kit)
    assert [e.release_at for e in out.events if isinstance(e, rk.PointsHeld)] == [None]
    years_later = local("2036-03-02 10:00")
    assert (kit.member("ana", at=years_later).pending, kit.store.due(years_later)) == (120, [])
    assert kit.confirm("o1", at=years_later).balance == 120


def test_a_release_pays_off_a_debt_first() -> None:
    kit = kit_for(held_program(hold=rk.until_confirmed))
    for day in range(20):
        visit(kit, f"v{day}", BOUGHT + timedelta(days=day))
    kit.redeem("ana", "coffee", id="r1", at=local("2026-03-22 12:00"))
    kit.reverse("v0", id="undo-v0", at=local("2026-03-22 13:00"))
    assert kit.member("ana", at=local("2026-03-22 13:00")).debts == {"points": 5}
    buy(kit, when=local("2026-03-23 10:00"))
    out = kit.confirm("o1", at=local("2026-03-24 10:00"))
    assert [(e.kind, e.points) for e in out.entries] == [
        (rk.EntryKind.EARN, 120),
        (rk.EntryKind.SETTLE, -5),
    ]
    assert out.balance == 115
    ledger_explains_balance(kit, "ana", local("2026-03-24 10:00"))


# ---------------------------------------------------------------- reversing


def test_reversing_a_held_award_cancels_it_without_debt() -> None:
    kit = kit_for()
    buy(kit)
    out = kit.reverse("o1", id="refund-1", at=BOUGHT + timedelta(days=3))
    (cancelled,) = [e for e in out.events if isinstance(e, rk.PendingCancelled)]
    assert (cancelled.action, cancelled.points) == ("o1", 120)
    assert not [e for e in out.events if isinstance(e, rk.PointsReversed)]
    view = kit.member("ana", at=RELEASED)
    assert (view.balance, view.pending, dict(view.debts)) == (0, 0, {})
    history = kit.history("ana", at=RELEASED)
    assert [(e.kind, e.points, e.pending, e.debt) for e in history] == [
        (rk.EntryKind.PENDING, 0, 120, 0),
        (rk.EntryKind.REVERSE, 0, 0, 0),
    ]


def test_a_partial_refund_cancels_its_share_of_a_held_award() -> None:
    kit = kit_for()
    buy(kit)
    kit.reverse("o1", id="refund-1", at=BOUGHT + timedelta(days=3), amount="30")
    assert kit.member("ana", at=RELEASED - TICK).pending == 90
    assert kit.member("ana", at=RELEASED).balance == 90


def test_reversing_released_points_takes_them_back() -> None:
    kit = kit_for()
    buy(kit)
    out = kit.reverse("o1", id="refund-1", at=RELEASED + timedelta(days=1))
    assert [(type(e).__name__, e.cause) for e in out.events] == [
        ("PointsReleased", "time"),
        ("PointsReversed", "refund-1"),
    ]
    assert (out.points, out.balance) == (-120, 0)


# ---------------------------------------------------------------- tiers


def ladder(*, metric: Metric = "points_earned", count_pending: bool = False) -> rk.Ladder:
    return rk.ladder(metric=metric, levels=[SILVER], count_pending=count_pending)


def test_held_points_count_for_tiers_only_once_released() -> None:
    kit = kit_for(held_program(tiers=ladder()))
    buy(kit)
    before = kit.member("ana", at=RELEASED - TICK)
    assert (before.tier, before.tier_metric) == (None, 0)
    after = kit.member("ana", at=RELEASED)
    assert (after.tier, after.tier_metric) == ("silver", 120)
    tier = kit.history("ana", at=RELEASED)[-1]
    assert (tier.kind, tier.at, tier.cause, tier.reason) == (
        rk.EntryKind.TIER,
        RELEASED,
        "time",
        "- -> silver",
    )


def test_confirmed_points_count_for_tiers_when_confirmed() -> None:
    kit = kit_for(held_program(tiers=ladder()))
    buy(kit)
    out = kit.confirm("o1", at=BOUGHT + timedelta(days=1))
    (change,) = [e for e in out.events if isinstance(e, rk.TierChanged)]
    assert (change.level, change.cause, change.reason) == ("silver", "o1", "qualified")


def test_count_pending_counts_held_points_at_once_and_only_once() -> None:
    kit = kit_for(held_program(tiers=ladder(count_pending=True)))
    out = buy(kit)
    assert [e.level for e in out.events if isinstance(e, rk.TierChanged)] == ["silver"]
    assert kit.member("ana", at=RELEASED).tier_metric == 120


@pytest.mark.parametrize("count_pending", [False, True])
def test_cancelling_a_held_award_takes_back_only_what_it_counted(count_pending: bool) -> None:
    kit = kit_for(held_program(tiers=ladder(count_pending=count_pending)))
    buy(kit)
    kit.reverse("o1", id="refund-1", at=BOUGHT + timedelta(days=1))
    assert kit.member("ana", at=RELEASED).tier_metric == 0


@pytest.mark.parametrize(
    ("released", "spent"),
    [
        (RELEASED, False),
        (BOUGHT + timedelta(days=3), False),
        (RELEASED, True),
        (BOUGHT + timedelta(days=3), True),
    ],
    ids=["by-time", "by-confirm", "by-time-then-spent", "by-confirm-then-spent"],
)
def test_refunded_points_leave_the_tier_window_when_their_release_does(
    released: datetime, spent: bool
) -> None:
    # Held points count from their release: what a refund takes back of them must leave
    # a rolling window then too, not at the purchase (the metric would rise in between).
    three_months = rk.ladder(metric="points_earned", levels=[SILVER], window={"months": 3})
    kit = kit_for(held_program(tiers=three_months))
    buy(kit, amount="100")
    if released != RELEASED:
        kit.confirm("o1", at=released)
    if spent:
        kit.redeem("ana", "coffee", id="coffee-1", at=released)  # the released lot is gone
    kit.reverse("o1", id="refund-1", at=released + timedelta(days=1))
    for when in (
        BOUGHT + timedelta(days=92) - TICK,  # both still in the window
        BOUGHT + timedelta(days=92),  # the purchase has left it, the release not yet
        released + timedelta(days=92),  # both have left it
    ):
        assert kit.member("ana", at=when).tier_metric == 0, when


@pytest.mark.parametrize(("metric", "value"), [("amount_spent", 120), ("actions", 1)])
def test_a_held_purchase_counts_once_for_amount_and_action_metrics(
    metric: Metric, value: int
) -> None:
    kit = kit_for(held_program(tiers=ladder(metric=metric)))
    buy(kit)
    assert kit.member("ana", at=RELEASED + timedelta(days=1)).tier_metric == value


# ---------------------------------------------------------------- where the hold comes from


def test_the_programme_default_holds_rules_that_declare_no_hold() -> None:
    kit = kit_for(held_program(hold=None, default=rk.pending_for({"days": 30})))
    out = visit(kit, "v1", BOUGHT)
    assert (out.pending, out.balance) == (5, 0)
    assert kit.member("ana", at=local("2026-04-01 10:00") - TICK).balance == 0
    assert kit.member("ana", at=local("2026-04-01 10:00")).balance == 5


def test_a_rules_own_hold_wins_over_the_programme_default() -> None:
    kit = kit_for(held_program(default=rk.until_confirmed))
    buy(kit)
    visit(kit, "v1", BOUGHT)
    view = kit.member("ana", at=RELEASED)
    assert (view.balance, view.pending) == (120, 5)  # base: its own 14 days; visit: confirm


def test_holds_must_be_made_with_the_factories() -> None:
    with pytest.raises(rk.ProgramError, match="pending_for"):
        rk.fixed("visit", on="visit", points=5, pending={"days": 3})  # type: ignore[arg-type]
    with pytest.raises(rk.ProgramError, match="positive"):
        rk.pending_for({"days": 0})


def test_released_points_count_their_expiry_from_the_release_even_when_activity_refreshes_it() -> (
    None
):
    """Held points are earned when they are released: a later action that refreshes
    expiries under an activity-based policy counts from the release, not from the order
    (which made an expiry already past, left unexpired, and a wrong balance)."""
    program = rk.Program(
        name="Shop",
        timezone="Europe/Madrid",
        rules=[
            rk.per_amount(
                "online", on="order", per="1.00", points=1, pending=rk.pending_for({"days": 14})
            ),
            rk.fixed("visit", on="visit", points=1),
        ],
        expiry=rk.earliest_of(rk.fixed_term({"days": 20}), rk.inactivity({"days": 30})),
    )
    kit = rk.Rewards(program)
    start = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    kit.record(rk.Action(id="o1", member="ana", kind="order", at=start, amount="40"))
    released = start + timedelta(days=14)
    kit.record(rk.Action(id="v1", member="ana", kind="visit", at=released))
    (lot,) = [lot for lot in kit.store.load("ana").state.lots if lot.id == "o1#online"]
    # 20 days on Madrid's wall clock, across the change to summer time on 29 March
    expires = datetime(2026, 4, 5, 9, 0, tzinfo=UTC)
    assert not lot.pending and lot.earned_at == released and lot.expires_at == expires
    later = start + timedelta(days=25)  # past the order's own 20 days, not the release's
    out = kit.record(rk.Action(id="v2", member="ana", kind="visit", at=later))
    assert out.balance == kit.balance("ana", at=later) == 40 + 2
    (lot,) = [lot for lot in kit.store.load("ana").state.lots if lot.id == "o1#online"]
    assert lot.expires_at == expires


FOURTEEN, FORTY = rk.pending_for({"days": 14}), rk.pending_for({"days": 40})
HELD_BASE = rk.per_amount("base", on="purchase", per="1.00", points=1, pending=FOURTEEN)
AT_ONCE = rk.fixed("thanks", on="purchase", points=100)
LATE = rk.fixed("late", on="purchase", points=50, pending=FORTY)


def _immediate_and_held_half_before_release(kit: rk.Rewards) -> None:
    kit.reverse("o1", id="r1", at=BOUGHT + timedelta(days=1), amount="50")
    kit.reverse("o1", id="r2", at=RELEASED + timedelta(days=1))


def _three_parts_after_release(kit: rk.Rewards) -> None:
    for n, part in enumerate(["33", "33", "34"]):
        kit.reverse("o1", id=f"r{n}", at=RELEASED + timedelta(days=1 + n), amount=part)


def _after_both_releases(kit: rk.Rewards) -> None:
    kit.reverse("o1", id="r1", at=BOUGHT + timedelta(days=41))


def _confirmed_at_the_purchase_then_spent(kit: rk.Rewards) -> None:
    kit.confirm("o1", at=BOUGHT)
    kit.redeem("ana", "coffee", id="coffee-1", at=BOUGHT)
    kit.reverse("o1", id="r1", at=RELEASED + timedelta(days=1))


@pytest.mark.parametrize(
    ("rules", "refund"),
    [
        ((AT_ONCE, HELD_BASE), _immediate_and_held_half_before_release),
        ((AT_ONCE, HELD_BASE), _three_parts_after_release),
        ((HELD_BASE, LATE), _after_both_releases),
        ((HELD_BASE,), _confirmed_at_the_purchase_then_spent),
    ],
    ids=["at-once-and-held", "three-parts", "two-holds", "confirmed-at-once-then-spent"],
)
def test_a_refunded_purchase_adds_nothing_to_a_rolling_tier_metric_at_any_instant(
    rules: tuple[rk.EarningRule, ...], refund: Callable[[rk.Rewards], None]
) -> None:
    # Each award's share leaves the window with the contribution it cancels: the
    # purchase's own instant for points counted at once, the release for held ones.
    program = rk.Program(
        name="Returns",
        timezone="Europe/Madrid",
        rules=rules,
        rewards=(rk.reward("coffee", cost=100),),
        tiers=rk.ladder(metric="points_earned", levels=[SILVER], window={"months": 3}),
    )
    kit = kit_for(program)
    buy(kit, amount="100")
    refund(kit)
    start = BOUGHT + timedelta(days=42)
    for step in range(0, 24 * 130, 6):
        when = start + timedelta(hours=step)
        assert kit.member("ana", at=when).tier_metric == 0, when
