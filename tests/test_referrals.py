"""Referrals: the referrer and the new member are both rewarded once per referred member,
only after the new member's first qualifying purchase; self-referrals, loops, active
members and second referrers are refused; ``refer`` is idempotent; a crash between
the new member's commit and the referrer's bonus is repaired by retrying the action; and
reversing the qualifying purchase takes back the same share of both bonuses."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

import rewardkit as rk
from rewardkit.storage import Commit, MemoryStore

from ._timekit import ledger_explains_balance, local

LATER = local("2026-04-01 00:00")


def no_clock() -> datetime:
    raise AssertionError("every call in these tests names its instant")


def referral_program() -> rk.Program:
    return rk.Program(
        name="Referrals",
        timezone="Europe/Madrid",
        rules=(
            rk.per_amount("base", on="purchase", per="1.00", points=1),
            rk.referral(
                "bring-a-friend",
                on="purchase",
                referrer_points=200,
                referred_points=100,
                when=rk.amount_at_least("20.00"),
            ),
        ),
        rewards=(rk.reward("mug", cost=150),),
    )


@pytest.fixture(params=["memory", "sqlite"])
def kit(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[rk.Rewards]:
    store = "memory://" if request.param == "memory" else f"sqlite:///{tmp_path / 'r.db'}"
    with rk.Rewards(referral_program(), store=store, clock=no_clock) as kit:
        yield kit


def buy(
    kit: rk.Rewards, id: str, amount: str, member: str = "bob", when: str = "2026-03-02 10:00"
) -> rk.Outcome:
    return kit.record(
        rk.Action(id=id, member=member, kind="purchase", at=local(when), amount=amount)
    )


def refer(kit: rk.Rewards, referrer: str, referred: str, id: str | None = None) -> rk.Outcome:
    return kit.refer(
        referrer, referred, id=id or f"{referrer}->{referred}", at=local("2026-03-01 10:00")
    )


def referral_events(outcome: rk.Outcome) -> list[tuple[str, str, str, int]]:
    return [
        (e.role, e.referrer, e.referred, e.points)
        for e in outcome.events
        if isinstance(e, rk.ReferralRewarded)
    ]


# ---------------------------------------------------------------- paying


def test_both_are_rewarded_after_the_first_qualifying_purchase(kit: rk.Rewards) -> None:
    refer(kit, "ana", "bob")
    assert kit.member("bob", at=LATER).referred_by == "ana"
    kit.record(rk.Action(id="v1", member="bob", kind="visit", at=local("2026-03-02 09:00")))
    assert referral_events(buy(kit, "small", "19.99")) == []  # not a qualifying purchase
    assert kit.balance("ana", at=LATER) == 0
    out = buy(kit, "first", "20.00", when="2026-03-03 10:00")
    assert referral_events(out) == [("referred", "ana", "bob", 100)]
    assert out.points == 20 + 100
    assert kit.balance("ana", at=LATER) == 200
    bonus = kit.history("ana", at=LATER)[-1]
    assert (bonus.kind, bonus.points, bonus.reason, bonus.cause) == (
        rk.EntryKind.EARN, 200, "bring-a-friend", "referral:bring-a-friend:bob"
    )  # fmt: skip
    ledger_explains_balance(kit, "ana", LATER)
    ledger_explains_balance(kit, "bob", LATER)


def test_a_referral_pays_once_per_referred_member(kit: rk.Rewards) -> None:
    refer(kit, "ana", "bob")
    refer(kit, "ana", "carla")
    buy(kit, "b1", "25")
    assert referral_events(buy(kit, "b2", "25", when="2026-03-04 10:00")) == []
    buy(kit, "b1", "25")  # a replay pays nobody again
    assert kit.balance("ana", at=LATER) == 200
    buy(kit, "c1", "30", member="carla")
    assert kit.balance("ana", at=LATER) == 400
    assert kit.balance("bob", at=LATER) == 25 + 25 + 100


def test_a_member_nobody_referred_earns_no_referral_points(kit: rk.Rewards) -> None:
    assert referral_events(buy(kit, "b1", "25")) == []
    assert kit.balance("bob", at=LATER) == 25


# ---------------------------------------------------------------- refusing


def test_a_member_cannot_refer_themselves(kit: rk.Rewards) -> None:
    with pytest.raises(rk.ReferralError, match="cannot refer themselves"):
        refer(kit, "ana", "ana")


def test_a_referral_loop_is_refused(kit: rk.Rewards) -> None:
    refer(kit, "ana", "bob")
    refer(kit, "bob", "carla")
    with pytest.raises(rk.ReferralError, match="referral loop") as caught:
        refer(kit, "carla", "ana")
    assert (caught.value.referrer, caught.value.referred) == ("carla", "ana")
    assert kit.member("ana", at=LATER).referred_by is None


def test_referring_an_active_member_is_refused(kit: rk.Rewards) -> None:
    buy(kit, "b1", "5")
    with pytest.raises(rk.ReferralError, match="already an active member"):
        refer(kit, "ana", "bob")
    assert kit.member("bob", at=LATER).referred_by is None


def test_a_second_referrer_for_the_same_member_is_refused(kit: rk.Rewards) -> None:
    refer(kit, "ana", "bob")
    with pytest.raises(rk.ReferralError, match="already referred by 'ana'"):
        refer(kit, "dan", "bob")
    buy(kit, "b1", "25")
    assert (kit.balance("ana", at=LATER), kit.balance("dan", at=LATER)) == (200, 0)


def test_refer_is_idempotent_on_its_id(kit: rk.Rewards) -> None:
    first = refer(kit, "ana", "bob", id="ref-1")
    again = refer(kit, "ana", "bob", id="ref-1")
    assert again.replayed and not first.replayed
    with pytest.raises(rk.IdempotencyConflict, match="'referrer'"):
        refer(kit, "dan", "bob", id="ref-1")


# ---------------------------------------------------------------- a crash in between


class CrashOnce:
    """A store whose first commit for ``member`` fails, as if the process died there."""

    def __init__(self, member: str) -> None:
        self.inner = MemoryStore()
        self.member = member
        self.crashed = False

    def commit(self, unit: Commit) -> None:
        if unit.member == self.member and not self.crashed:
            self.crashed = True
            raise OSError("the process died before the referrer's commit")
        self.inner.commit(unit)

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


def test_a_crash_before_the_referrers_bonus_is_repaired_by_retrying_the_action() -> None:
    store = CrashOnce("ana")
    kit = rk.Rewards(referral_program(), store=store, clock=no_clock)  # type: ignore[arg-type]
    refer(kit, "ana", "bob")
    with pytest.raises(OSError, match="process died"):
        buy(kit, "b1", "25")
    # Bob's purchase is committed, with his welcome; Ana's bonus is not.
    assert (kit.balance("bob", at=LATER), kit.balance("ana", at=LATER)) == (125, 0)
    retried = buy(kit, "b1", "25")  # the host retries the same action
    assert retried.replayed
    assert (kit.balance("bob", at=LATER), kit.balance("ana", at=LATER)) == (125, 200)
    buy(kit, "b1", "25")
    assert kit.balance("ana", at=LATER) == 200  # paid exactly once
    assert [e.points for e in kit.history("ana", at=LATER)] == [200]


# ---------------------------------------------------------------- reversing


def refund(
    kit: rk.Rewards, action: str, id: str, amount: str | None = None, when: str = "2026-03-05 10:00"
) -> rk.Outcome:
    return kit.reverse(action, id=id, at=local(when), amount=amount)


def test_reversing_the_qualifying_purchase_takes_back_both_bonuses(kit: rk.Rewards) -> None:
    refer(kit, "ana", "bob")
    buy(kit, "b1", "25")
    out = refund(kit, "b1", "refund-1")
    assert out.points == -(25 + 100)
    assert (kit.balance("bob", at=LATER), kit.balance("ana", at=LATER)) == (0, 0)
    taken = kit.history("ana", at=LATER)[-1]
    assert (taken.kind, taken.points, taken.reason, taken.cause) == (
        rk.EntryKind.REVERSE,
        -200,
        "referral:bring-a-friend:bob",
        "referral:bring-a-friend:bob:reversed:refund-1",
    )
    for member in ("ana", "bob"):
        ledger_explains_balance(kit, member, LATER)


def test_a_partial_refund_takes_back_the_same_share_of_both_bonuses(kit: rk.Rewards) -> None:
    refer(kit, "ana", "bob")
    buy(kit, "b1", "40.00")  # 40 + 100; Ana 200
    first = refund(kit, "b1", "refund-1", amount="10.00")  # a quarter
    assert first.points == -(10 + 25)
    assert kit.balance("ana", at=LATER) == 200 - 50
    refund(kit, "b1", "refund-2", amount="15.00", when="2026-03-06 10:00")  # 25.00 of 40.00
    assert kit.balance("bob", at=LATER) == 140 - 25 - 62  # floor(40 * 25/40), floor(100 * 25/40)
    assert kit.balance("ana", at=LATER) == 200 - 125  # floor(200 * 25/40), cumulatively
    refund(kit, "b1", "refund-3", when="2026-03-07 10:00")  # the rest
    assert (kit.balance("bob", at=LATER), kit.balance("ana", at=LATER)) == (0, 0)
    reversed_ = [e.points for e in kit.history("ana", at=LATER) if e.kind == rk.EntryKind.REVERSE]
    assert reversed_ == [-50, -75, -75]


def test_a_referrer_who_spent_the_bonus_owes_it(kit: rk.Rewards) -> None:
    refer(kit, "ana", "bob")
    buy(kit, "b1", "25")
    kit.redeem("ana", "mug", id="mug-1", at=local("2026-03-04 10:00"))  # 50 left
    refund(kit, "b1", "refund-1")
    ana = kit.member("ana", at=LATER)
    assert (ana.balance, dict(ana.debts)) == (0, {"points": 150})
    buy(kit, "a1", "160", member="ana", when="2026-03-06 10:00")  # settles the debt first
    assert kit.balance("ana", at=LATER) == 10
    ledger_explains_balance(kit, "ana", LATER)


def referrer_only_after_a_purchase() -> rk.Rewards:
    """A kit whose referral pays only the referrer, after Bob's qualifying purchase."""
    program = rk.Program(
        name="Referrals",
        timezone="Europe/Madrid",
        rules=(rk.referral("friend", on="purchase", referrer_points=200),),
    )
    kit = rk.Rewards(program, store="memory://", clock=no_clock)
    refer(kit, "ana", "bob")
    buy(kit, "b1", "25")
    return kit


def test_a_referral_that_pays_only_the_referrer_is_taken_back_too() -> None:
    kit = referrer_only_after_a_purchase()
    assert kit.balance("ana", at=LATER) == 200
    refund(kit, "b1", "refund-1")
    assert kit.balance("ana", at=LATER) == 0


def test_a_fully_reversed_referral_is_not_paid_again(kit: rk.Rewards) -> None:
    refer(kit, "ana", "bob")
    buy(kit, "b1", "25")
    refund(kit, "b1", "refund-1")
    out = buy(kit, "b2", "30", when="2026-03-06 10:00")  # the first purchase did happen
    assert referral_events(out) == [] and out.points == 30
    assert kit.balance("ana", at=LATER) == 0


def test_a_retried_reversal_takes_back_the_referrers_bonus_once(kit: rk.Rewards) -> None:
    refer(kit, "ana", "bob")
    buy(kit, "b1", "25")
    refund(kit, "b1", "refund-1", amount="5.00")
    again = refund(kit, "b1", "refund-1", amount="5.00")
    assert again.replayed
    assert kit.balance("ana", at=LATER) == 200 - 40
    assert [e.points for e in kit.history("ana", at=LATER)] == [200, -40]


class CrashOnTakingBack(CrashOnce):
    """A store whose first commit that takes back a referrer's bonus fails."""

    def commit(self, unit: Commit) -> None:
        operation = None if unit.receipt is None else unit.receipt.operation
        if operation == "referral-reversal" and not self.crashed:
            self.crashed = True
            raise OSError("the process died before the referrer's reversal")
        self.inner.commit(unit)


def test_a_crash_before_the_referrer_gives_back_is_repaired_by_retrying_the_reversal() -> None:
    store = CrashOnTakingBack("ana")
    kit = rk.Rewards(referral_program(), store=store, clock=no_clock)  # type: ignore[arg-type]
    refer(kit, "ana", "bob")
    buy(kit, "b1", "25")
    with pytest.raises(OSError, match="process died"):
        refund(kit, "b1", "refund-1")
    assert (kit.balance("bob", at=LATER), kit.balance("ana", at=LATER)) == (0, 200)
    assert refund(kit, "b1", "refund-1").replayed  # the host retries the same refund
    assert (kit.balance("bob", at=LATER), kit.balance("ana", at=LATER)) == (0, 0)
    refund(kit, "b1", "refund-1")
    assert [e.points for e in kit.history("ana", at=LATER)] == [200, -200]


def test_a_refund_pays_nothing_to_take_back_when_the_rule_is_gone_from_the_programme() -> None:
    store = CrashOnce("ana")
    kit = rk.Rewards(referral_program(), store=store, clock=no_clock)  # type: ignore[arg-type]
    refer(kit, "ana", "bob")
    with pytest.raises(OSError, match="process died"):
        buy(kit, "b1", "25")  # Bob's purchase landed, Ana was never paid
    without = rk.Program(
        name="Referrals",
        timezone="Europe/Madrid",
        rules=(rk.per_amount("base", on="purchase", per="1.00", points=1),),
    )
    kit = rk.Rewards(without, store=store, clock=no_clock)  # type: ignore[arg-type]
    refund(kit, "b1", "refund-1")  # no error: the bonus the rule would pay is not known
    assert (kit.balance("bob", at=LATER), kit.balance("ana", at=LATER)) == (0, 0)
    assert kit.history("ana", at=LATER) == []


def test_replaying_a_reversal_made_before_bonuses_were_taken_back_changes_nobody(
    kit: rk.Rewards, monkeypatch: pytest.MonkeyPatch
) -> None:
    import rewardkit.facade

    refer(kit, "ana", "bob")
    buy(kit, "b1", "25")
    with monkeypatch.context() as old_rewardkit:  # as before: no bonus taken back
        old_rewardkit.setattr(rewardkit.facade, "referral_awards", lambda *args, **kw: ())
        refund(kit, "b1", "refund-1")
    assert (kit.balance("bob", at=LATER), kit.balance("ana", at=LATER)) == (100, 200)
    assert refund(kit, "b1", "refund-1").replayed
    assert (kit.balance("bob", at=LATER), kit.balance("ana", at=LATER)) == (100, 200)


def test_replaying_an_old_reversal_of_a_referral_that_paid_only_the_referrer_changes_nobody(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import rewardkit.facade

    kit = referrer_only_after_a_purchase()
    with monkeypatch.context() as old_rewardkit:  # as before: no bonus taken back
        old_rewardkit.setattr(rewardkit.facade, "referral_awards", lambda *args, **kw: ())
        old_rewardkit.setattr(rewardkit.facade.Rewards, "_take_back_referrers", lambda *a: None)
        refund(kit, "b1", "refund-1")
    assert refund(kit, "b1", "refund-1").replayed
    assert kit.balance("ana", at=LATER) == 200


# ---------------------------------------------------------------- declaring


def test_a_referral_rule_reports_every_problem_at_once() -> None:
    with pytest.raises(rk.ProgramError) as caught:
        rk.referral("", on="", referrer_points=-1, referred_points=True)
    assert [p.path for p in caught.value.problems] == [
        "id", "on", "referrer_points", "referred_points"
    ]  # fmt: skip
    with pytest.raises(rk.ProgramError, match="one of the two awards must be positive"):
        rk.referral("nothing", referrer_points=0)
