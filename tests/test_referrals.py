"""Referrals: the referrer and the new member are both rewarded once per referred member,
only after the new member's first qualifying purchase; self-referrals, loops, active
members and second referrers are refused; ``refer`` is idempotent; and a crash between
the new member's commit and the referrer's bonus is repaired by retrying the action."""

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


# ---------------------------------------------------------------- declaring


def test_a_referral_rule_reports_every_problem_at_once() -> None:
    with pytest.raises(rk.ProgramError) as caught:
        rk.referral("", on="", referrer_points=-1, referred_points=True)
    assert [p.path for p in caught.value.problems] == [
        "id", "on", "referrer_points", "referred_points"
    ]  # fmt: skip
    with pytest.raises(rk.ProgramError, match="one of the two awards must be positive"):
        rk.referral("nothing", referrer_points=0)
