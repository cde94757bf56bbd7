"""The Rewards facade: record, preview, redeem, reverse, balance, member, history —
the same semantics on every store."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import rewardkit as rk

from .conftest import at, cafe_program


@pytest.fixture(params=["memory", "sqlite"])
def kit(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[rk.Rewards]:
    store = "memory://" if request.param == "memory" else f"sqlite:///{tmp_path / 'rewards.db'}"
    with rk.Rewards(cafe_program(), store=store, clock=lambda: at("2026-03-10 12:00")) as kit:
        yield kit


def purchase(
    id: str, amount: str, when: str = "2026-03-04 10:00", member: str = "ana"
) -> rk.Action:
    return rk.Action(id=id, member=member, kind="purchase", at=at(when), amount=amount)


def identity_holds(kit: rk.Rewards, member: str = "ana") -> None:
    """balance = signed sum of the ledger, per currency, and each entry's running balance."""
    history = kit.history(member)
    running: dict[str, int] = {}
    for entry in history:
        running[entry.currency] = running.get(entry.currency, 0) + entry.points
        assert entry.balance == running[entry.currency] >= 0
    assert kit.balance(member) == running.get("points", 0)


# ---------------------------------------------------------------- record


def test_record_awards_points_and_shows_a_balance(kit: rk.Rewards) -> None:
    out = kit.record(purchase("order-1", "12.50"))
    assert (out.points, out.balance, out.replayed) == (62, 62, False)
    assert [type(e).__name__ for e in out.events] == ["PointsEarned", "PointsEarned"]
    assert kit.balance("ana") == 62
    identity_holds(kit)


def test_unknown_member_has_zero_balance_and_empty_history(kit: rk.Rewards) -> None:
    assert kit.balance("nobody") == 0
    assert kit.history("nobody") == []
    assert kit.member("nobody").balance == 0


def test_same_action_twice_is_replayed_and_changes_nothing(kit: rk.Rewards) -> None:
    first = kit.record(purchase("order-1", "12.50"))
    again = kit.record(purchase("order-1", "12.50"))
    assert again.replayed and again.points == first.points and again.events == first.events
    assert kit.balance("ana") == 62 and len(kit.history("ana")) == 2


def test_replay_accepts_the_same_instant_in_another_zone_and_equal_amounts(kit: rk.Rewards) -> None:
    kit.record(purchase("order-1", "12.50"))
    same = rk.Action(
        id="order-1",
        member="ana",
        kind="purchase",
        at=at("2026-03-04 10:00").astimezone(UTC),
        amount="12.5",
    )
    assert kit.record(same).replayed


def test_same_id_with_other_content_is_a_conflict_naming_the_field(kit: rk.Rewards) -> None:
    kit.record(purchase("order-1", "12.50"))
    with pytest.raises(rk.IdempotencyConflict, match="'amount'"):
        kit.record(purchase("order-1", "13.00"))
    assert kit.balance("ana") == 62


@pytest.mark.parametrize(
    ("field", "make"),
    [
        ("at", lambda: rk.Action(id="a", member="ana", kind="k", at=datetime(2026, 3, 4))),
        (
            "amount",
            lambda: rk.Action(
                id="a", member="ana", kind="k", at=at("2026-03-04 10:00"), amount="-1"
            ),
        ),
        (
            "amount",
            lambda: rk.Action(
                id="a", member="ana", kind="k", at=at("2026-03-04 10:00"), amount="NaN"
            ),
        ),
        (
            "amount",
            lambda: rk.Action(
                id="a", member="ana", kind="k", at=at("2026-03-04 10:00"), amount=float("inf")
            ),
        ),
        ("id", lambda: rk.Action(id="", member="ana", kind="k", at=at("2026-03-04 10:00"))),
        ("member", lambda: rk.Action(id="a", member=" ", kind="k", at=at("2026-03-04 10:00"))),
        (
            "attributes['x']",
            lambda: rk.Action(
                id="a",
                member="ana",
                kind="k",
                at=at("2026-03-04 10:00"),
                attributes={"x": object()},
            ),
        ),
        (
            "attributes['x']",
            lambda: rk.Action(
                id="a",
                member="ana",
                kind="k",
                at=at("2026-03-04 10:00"),
                attributes={"x": {"nested": 1}},
            ),
        ),
    ],
)
def test_bad_input_is_refused_naming_the_field(field: str, make: object) -> None:
    with pytest.raises(rk.InvalidAction) as caught:
        make()  # type: ignore[operator]
    assert caught.value.field == field
    assert field in str(caught.value)


def test_float_amounts_go_through_their_repr() -> None:
    action = rk.Action(id="a", member="ana", kind="k", at=at("2026-03-04 10:00"), amount=0.1)
    assert str(action.amount) == "0.1"


def test_preview_shows_the_outcome_without_committing(kit: rk.Rewards) -> None:
    preview = kit.preview(purchase("order-1", "12.50"))
    assert preview.points == 62 and [a.rule for a in preview.awards] == ["base", "welcome"]
    assert kit.balance("ana") == 0 and kit.history("ana") == []
    assert kit.record(purchase("order-1", "12.50")).points == 62


# ---------------------------------------------------------------- redeem


def test_redeem_spends_immediately(kit: rk.Rewards) -> None:
    kit.record(purchase("order-1", "60.00"))  # 60 + 50 welcome
    out = kit.redeem("ana", "free-coffee", id="redeem-1")
    assert (out.points, out.balance) == (-100, 10)
    assert [type(e).__name__ for e in out.events] == ["RewardRedeemed"]
    assert kit.balance("ana") == 10
    identity_holds(kit)


def test_redeem_without_enough_points_says_how_many_are_missing(kit: rk.Rewards) -> None:
    kit.record(purchase("order-1", "25.00"))  # 75 points
    with pytest.raises(rk.InsufficientPoints) as caught:
        kit.redeem("ana", "free-coffee", id="redeem-1")
    assert (caught.value.balance, caught.value.needed) == (75, 100)
    assert "25 more" in str(caught.value)
    assert kit.balance("ana") == 75


def test_refused_redemption_does_not_burn_its_id(kit: rk.Rewards) -> None:
    kit.record(purchase("order-1", "25.00"))
    with pytest.raises(rk.InsufficientPoints):
        kit.redeem("ana", "free-coffee", id="redeem-1")
    kit.record(purchase("order-2", "25.00"))
    assert kit.redeem("ana", "free-coffee", id="redeem-1").points == -100


def test_unknown_reward_is_a_lookup_error(kit: rk.Rewards) -> None:
    with pytest.raises(rk.UnknownReward, match="free-coffee"):
        kit.redeem("ana", "free-cofee", id="r")


def test_stock_is_never_oversold(kit: rk.Rewards) -> None:
    for member in ("ana", "bob", "eve"):
        kit.record(purchase(f"o-{member}", "400", member=member))
    kit.redeem("ana", "mug", id="r1")
    kit.redeem("bob", "mug", id="r2")
    with pytest.raises(rk.RewardUnavailable, match="out of stock"):
        kit.redeem("eve", "mug", id="r3")
    assert kit.balance("eve") == 450


def test_redemption_replays_and_conflicts_like_actions(kit: rk.Rewards) -> None:
    kit.record(purchase("order-1", "200"))
    first = kit.redeem("ana", "free-coffee", id="r1")
    assert kit.redeem("ana", "free-coffee", id="r1").replayed
    with pytest.raises(rk.IdempotencyConflict):
        kit.redeem("ana", "mug", id="r1")
    assert kit.balance("ana") == 250 + first.points


def test_reward_window_is_enforced() -> None:
    program = cafe_program(
        rewards=[
            rk.reward(
                "xmas",
                cost=1,
                available_from=at("2026-12-01 00:00"),
                available_until=at("2027-01-01 00:00"),
            )
        ]
    )
    kit = rk.Rewards(program)
    kit.record(purchase("o", "10"))
    with pytest.raises(rk.RewardUnavailable, match="not available before"):
        kit.redeem("ana", "xmas", id="r1", at=at("2026-11-30 23:59"))
    assert kit.redeem("ana", "xmas", id="r1", at=at("2026-12-01 00:00")).points == -1
    with pytest.raises(rk.RewardUnavailable, match="no longer available"):
        kit.redeem("ana", "xmas", id="r2", at=at("2027-01-01 00:00"))


# ---------------------------------------------------------------- reverse


def test_full_reversal_takes_back_what_the_action_earned(kit: rk.Rewards) -> None:
    kit.record(purchase("order-1", "12.50"))
    kit.record(purchase("order-2", "10.00"))
    out = kit.reverse("order-1", id="refund-1")
    assert out.points == -62
    assert kit.balance("ana") == 10
    identity_holds(kit)


def test_partial_reversals_take_back_in_proportion_and_add_up_to_the_whole(kit: rk.Rewards) -> None:
    kit.record(purchase("order-1", "30.00"))  # 30 base + 50 welcome = 80
    first = kit.reverse("order-1", id="refund-1", amount="10.00")
    assert first.points == -(10 + 16)  # floor(30 * 10/30), floor(50 * 10/30)
    second = kit.reverse("order-1", id="refund-2", amount="20.00")
    assert first.points + second.points == -80
    assert kit.balance("ana") == 0
    with pytest.raises(rk.InvalidAction, match="already fully reversed"):
        kit.reverse("order-1", id="refund-3", amount="1")


def test_refund_beyond_the_amount_is_refused_and_changes_nothing(kit: rk.Rewards) -> None:
    kit.record(purchase("order-1", "30.00"))
    with pytest.raises(rk.InvalidAction, match="amount"):
        kit.reverse("order-1", id="refund-1", amount="30.01")
    assert kit.balance("ana") == 80
    assert kit.reverse("order-1", id="refund-1", amount="30").points == -80


def test_spent_points_become_a_debt_absorbed_by_future_earnings(kit: rk.Rewards) -> None:
    kit.record(purchase("order-1", "60.00"))  # 110
    kit.redeem("ana", "free-coffee", id="redeem-1")  # 10 left
    out = kit.reverse("order-1", id="refund-1")
    assert out.points == -10 and kit.balance("ana") == 0
    assert kit.member("ana").debts["points"] == 100
    reversed_event = out.events[0]
    assert isinstance(reversed_event, rk.PointsReversed) and reversed_event.debt == 100
    later = kit.record(purchase("order-2", "120.00"))  # 120 earned, 100 settle the debt
    assert later.points == 20 and kit.balance("ana") == 20
    assert dict(kit.member("ana").debts) == {}
    kinds = [e.kind for e in kit.history("ana")]
    assert kinds == ["earn", "earn", "redeem", "reverse", "earn", "settle"]
    identity_holds(kit)


def test_reversing_an_unknown_action_is_a_lookup_error(kit: rk.Rewards) -> None:
    with pytest.raises(rk.UnknownAction):
        kit.reverse("order-404", id="refund-1")


def test_reversal_ids_replay(kit: rk.Rewards) -> None:
    kit.record(purchase("order-1", "30.00"))
    first = kit.reverse("order-1", id="refund-1", amount="10")
    again = kit.reverse("order-1", id="refund-1", amount="10.0")
    assert again.replayed and again.points == first.points
    with pytest.raises(rk.IdempotencyConflict, match="amount"):
        kit.reverse("order-1", id="refund-1", amount="11")


def test_reversal_prefers_the_actions_own_points(kit: rk.Rewards) -> None:
    kit.record(purchase("order-1", "10.00", when="2026-03-02 10:00"))  # 60
    kit.record(purchase("order-2", "10.00", when="2026-03-03 10:00"))  # 10
    kit.reverse("order-2", id="refund-1")
    lots = kit.member("ana").lots
    assert [(lot.action, lot.remaining) for lot in lots] == [("order-1", 10), ("order-1", 50)]


# ---------------------------------------------------------------- reading


def test_history_explains_each_point(kit: rk.Rewards) -> None:
    kit.record(purchase("order-1", "12.50"))
    history = kit.history("ana")
    assert [(e.seq, e.kind, e.points, e.cause, e.reason) for e in history] == [
        (0, "earn", 12, "order-1", "base"),
        (1, "earn", 50, "order-1", "welcome"),
    ]


def test_member_view_shows_balances_lots_and_activity(kit: rk.Rewards) -> None:
    kit.record(purchase("order-1", "12.50"))
    view = kit.member("ana")
    assert view.balance == 62 and dict(view.balances) == {"points": 62}
    assert sum(lot.remaining for lot in view.lots) == 62
    assert view.last_activity == at("2026-03-04 10:00")
    assert dict(view.actions) == {"purchase": 1}


def test_default_clock_is_used_when_no_instant_is_given(kit: rk.Rewards) -> None:
    kit.record(purchase("order-1", "200"))
    out = kit.redeem("ana", "free-coffee", id="r1")
    assert out.events[0].at == at("2026-03-10 12:00")


def test_naive_instant_in_calls_is_refused() -> None:
    kit = rk.Rewards(cafe_program())
    with pytest.raises(rk.InvalidAction, match="'at'"):
        kit.balance("ana", at=datetime(2026, 3, 4))
    with pytest.raises(rk.InvalidAction, match="'id'"):
        kit.redeem("ana", "free-coffee", id="")


def test_store_from_environment_variable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("REWARDKIT_STORE", f"sqlite:///{tmp_path / 'env.db'}")
    kit = rk.Rewards(cafe_program())
    assert type(kit.store).__name__ == "SQLiteStore"
    kit.close()


def test_bad_store_url_is_a_store_error() -> None:
    with pytest.raises(rk.StoreError, match="unknown store URL"):
        rk.Rewards(cafe_program(), store="mongodb://x")


def test_concurrency_conflict_after_bounded_retries() -> None:
    class AlwaysStale(rk.MemoryStore):
        def commit(self, unit: object) -> None:
            from rewardkit.storage import StaleVersion

            raise StaleVersion("ana", 0, 1)

    kit = rk.Rewards(cafe_program(), store=AlwaysStale(), max_attempts=3)
    with pytest.raises(rk.ConcurrencyConflict):
        kit.record(purchase("order-1", "1"))
    assert kit.balance("ana") == 0


def test_time_moves_forward_in_outcomes(kit: rk.Rewards) -> None:
    kit.record(purchase("order-1", "1", when="2026-03-04 10:00"))
    kit.record(purchase("order-0", "1", when="2026-03-01 10:00"))  # late, back-dated
    view = kit.member("ana")
    assert view.first_seen == at("2026-03-01 10:00") and view.last_activity == at(
        "2026-03-04 10:00"
    )
    assert view.first_seen + timedelta(days=3) == view.last_activity


def test_a_call_dated_before_later_actions_cannot_spend_what_they_earned() -> None:
    program = rk.Program(
        name="Back-dated",
        rules=[rk.fixed("visit", on="visit", points=100)],
        rewards=[rk.reward("big", cost=150), rk.reward("small", cost=100)],
    )
    kit = rk.Rewards(program)

    def day(n: int) -> datetime:
        return datetime(2026, 6, n, 12, tzinfo=UTC)

    for n in (1, 3):
        kit.record(rk.Action(id=f"v{n}", member="ana", kind="visit", at=day(n)))
    assert kit.balance("ana", at=day(2)) == 100  # the 3 June visit had not happened yet
    assert kit.balance("ana", at=day(3)) == 200
    with pytest.raises(rk.InsufficientPoints) as refused:
        kit.redeem("ana", "big", id="r1", at=day(2))
    assert (refused.value.balance, refused.value.needed) == (100, 150)
    assert kit.balance("ana") == 200  # refused: nothing changed
    kit.redeem("ana", "small", id="r2", at=day(2))
    # It spent the 1 June lot, the only one that existed on 2 June; the ledger never
    # goes below zero when read in date order.
    running = 0
    for entry in sorted(kit.history("ana"), key=lambda e: e.at):
        running += entry.points
        assert running >= 0
    assert [lot.earned_at for lot in kit.member("ana").lots] == [day(3)]


def test_a_call_that_names_no_instant_is_never_before_the_members_latest_activity() -> None:
    # This server's clock is five seconds behind the one that dated the purchase: the
    # points it earned are there to see and to spend at once.
    program = rk.Program(
        name="Skew",
        rules=[rk.fixed("visit", on="visit", points=100)],
        rewards=[rk.reward("coffee", cost=100)],
    )
    bought = datetime(2026, 6, 1, 12, 0, 5, tzinfo=UTC)
    kit = rk.Rewards(program, clock=lambda: bought - timedelta(seconds=5))
    kit.record(rk.Action(id="v1", member="ana", kind="visit", at=bought))
    assert kit.balance("ana") == 100
    assert kit.member("ana").balance == 100
    out = kit.redeem("ana", "coffee", id="r1")
    assert out.points == -100 and out.entries[-1].at == bought
    # An explicit instant is taken as given: then the points did not exist yet.
    kit.record(rk.Action(id="v2", member="ana", kind="visit", at=bought + timedelta(hours=1)))
    with pytest.raises(rk.InsufficientPoints):
        kit.redeem("ana", "coffee", id="r2", at=bought + timedelta(minutes=30))


def test_a_referrers_bonus_dated_ahead_of_this_clock_is_there_to_see_and_spend() -> None:
    now = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    program = rk.Program(
        name="Skewed referral",
        rules=[
            rk.per_amount("base", on="purchase", per="1.00", points=1),
            rk.referral("friend", on="purchase", referrer_points=200, referred_points=100),
        ],
        rewards=[rk.reward("coffee", cost=150)],
    )
    kit = rk.Rewards(program, clock=lambda: now)
    kit.record(
        rk.Action(id="a0", member="ana", kind="purchase", at=now - timedelta(days=1), amount="10")
    )
    kit.refer("ana", "bob", id="ref", at=now - timedelta(hours=1))
    # Bob's purchase is dated by a till two minutes ahead of this server's clock.
    ahead = now + timedelta(minutes=2)
    kit.record(rk.Action(id="b1", member="bob", kind="purchase", at=ahead, amount="50"))
    assert kit.balance("ana") == kit.member("ana").balance == 210
    assert kit.redeem("ana", "coffee", id="r1").balance == 60


def test_a_reversal_dated_before_its_action_still_takes_the_actions_own_points() -> None:
    program = rk.Program(name="Early refund", rules=[rk.fixed("base", on="visit", points=50)])
    kit = rk.Rewards(program)
    at = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    kit.record(rk.Action(id="a1", member="ana", kind="visit", at=at))
    out = kit.reverse("a1", id="r1", at=at - timedelta(minutes=1))
    assert (out.points, kit.balance("ana", at=at)) == (-50, 0)
    assert kit.member("ana", at=at).debts == {}
