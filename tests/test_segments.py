"""Segments: conditions on what a member has done before an action (total spend, actions,
inactivity), each at its boundary; named segments tested with ``in_segment``; and an
unknown segment, which never matches and which a programme refuses."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal

import pytest

import rewardkit as rk

from ._timekit import MADRID, TICK, local

NOW = local("2026-06-01 12:00")


def holds(
    condition: rk.Condition,
    member: rk.MemberState,
    at: datetime = NOW,
    segments: Mapping[str, rk.Condition] | None = None,
) -> bool:
    """``condition`` for a visit by ``member`` at ``at``."""
    action = rk.Action(id="now", member=member.id, kind="visit", at=at)
    ctx = rk.Context.of(action, member, MADRID, segments or {})
    return bool(condition(ctx))


def member(**fields: object) -> rk.MemberState:
    return rk.MemberState(id="ana", **fields)  # type: ignore[arg-type]


# ---------------------------------------------------------------- each condition


@pytest.mark.parametrize(
    ("spent", "expected"), [("199.99", False), ("200", True), ("200.00", True), ("500", True)]
)
def test_spent_at_least_includes_its_boundary(spent: str, expected: bool) -> None:
    assert holds(rk.spent_at_least("200.00"), member(spent=Decimal(spent))) is expected


def test_spent_at_least_reads_the_spend_before_the_action_with_refunds_deducted() -> None:
    program = rk.Program(
        name="p",
        timezone="Europe/Madrid",
        rules=[rk.fixed("vip", on="purchase", points=7, when=rk.spent_at_least("100"))],
    )
    kit = rk.Rewards(program, store="memory://")

    def buy(id: str, amount: str, when: str) -> int:
        action = rk.Action(id=id, member="ana", kind="purchase", at=local(when), amount=amount)
        return kit.record(action).points

    assert buy("p1", "100", "2026-03-02 10:00") == 0  # nothing spent before it
    kit.reverse("p1", id="refund", at=local("2026-03-03 10:00"), amount="0.01")
    assert buy("p2", "10", "2026-03-04 10:00") == 0  # 99.99 spent before it
    assert buy("p3", "10", "2026-03-05 10:00") == 7  # 109.99


@pytest.mark.parametrize(
    ("kinds", "expected"),
    [
        ({}, False),
        ({"visit": 2}, False),
        ({"visit": 3}, True),
        ({"visit": 2, "purchase": 9}, False),
    ],
)
def test_actions_at_least_counts_actions_of_its_kind(kinds: dict[str, int], expected: bool) -> None:
    assert holds(rk.actions_at_least(3, "visit"), member(kinds=kinds)) is expected


def test_actions_at_least_without_a_kind_counts_every_action() -> None:
    assert not holds(rk.actions_at_least(3), member(kinds={"visit": 1, "purchase": 1}))
    assert holds(rk.actions_at_least(3), member(kinds={"visit": 1, "purchase": 2}))
    assert holds(rk.actions_at_least(0), member())


def test_inactive_for_matches_from_exactly_span_after_the_last_activity() -> None:
    # 30 days on Madrid's wall clock from 10 March noon is 9 April noon (DST in between).
    last = local("2026-03-10 12:00")
    lapsed = rk.inactive_for({"days": 30})
    assert not holds(lapsed, member(last_activity=last), at=local("2026-04-09 12:00") - TICK)
    assert holds(lapsed, member(last_activity=last), at=local("2026-04-09 12:00"))


def test_inactive_for_never_matches_a_members_first_action() -> None:
    assert not holds(rk.inactive_for({"days": 1}), member())


# ---------------------------------------------------------------- named segments


def test_a_named_segment_is_tested_by_name() -> None:
    segments: dict[str, rk.Condition] = {
        "vip": rk.spent_at_least("500") & rk.actions_at_least(10, "purchase"),
        "lapsed-vip": rk.in_segment("vip") & rk.inactive_for({"days": 60}),
    }
    loyal = member(spent=Decimal(600), kinds={"purchase": 10}, last_activity=local("2026-04-01"))
    assert holds(rk.in_segment("vip"), loyal, segments=segments)
    assert holds(rk.in_segment("lapsed-vip"), loyal, segments=segments)
    assert not holds(~rk.in_segment("vip"), loyal, segments=segments)
    newcomer = member(spent=Decimal(600), kinds={"purchase": 9})
    assert not holds(rk.in_segment("vip"), newcomer, segments=segments)


def test_a_named_segment_targets_a_rule_in_a_programme() -> None:
    program = rk.Program(
        name="p",
        timezone="Europe/Madrid",
        rules=[rk.fixed("regulars", on="visit", points=5, when=rk.in_segment("regular"))],
        segments={"regular": rk.actions_at_least(2, "visit")},
    )
    kit = rk.Rewards(program, store="memory://")
    points = [
        kit.record(
            rk.Action(id=f"v{n}", member="ana", kind="visit", at=local(f"2026-03-0{n} 10:00"))
        ).points
        for n in range(1, 5)
    ]
    assert points == [0, 0, 5, 5]


def test_an_unknown_segment_never_matches() -> None:
    assert not holds(rk.in_segment("vip"), member(spent=Decimal(10**6)))
    assert not holds(rk.in_segment("vpi"), member(), segments={"vip": rk.always})


def test_a_programme_refuses_a_condition_on_an_unknown_segment() -> None:
    with pytest.raises(rk.ProgramError, match=r"no segment 'vpi' \(did you mean 'vip'\?\)"):
        rk.Program(
            name="p",
            rules=[rk.fixed("x", on="visit", points=1, when=rk.in_segment("vpi"))],
            segments={"vip": rk.spent_at_least(100)},
        )


def test_a_programme_refuses_a_segment_defined_through_itself() -> None:
    with pytest.raises(rk.ProgramError, match="defined through itself"):
        rk.Program(
            name="p",
            segments={"a": rk.in_segment("b"), "b": rk.in_segment("a") | rk.spent_at_least(1)},
        )


# ---------------------------------------------------------------- declaring


@pytest.mark.parametrize(
    "make",
    [
        lambda: rk.spent_at_least("-1"),
        lambda: rk.spent_at_least("lots"),
        lambda: rk.actions_at_least(-1),
        lambda: rk.actions_at_least(True),
        lambda: rk.actions_at_least(2, kind=""),
        lambda: rk.inactive_for({"fortnights": 2}),
        lambda: rk.in_segment(" "),
    ],
    ids=[
        "negative-spend",
        "not-a-number",
        "negative-count",
        "bool-count",
        "empty-kind",
        "unknown-unit",
        "blank-name",
    ],
)
def test_a_segment_condition_with_a_bad_argument_is_a_programme_error(make: object) -> None:
    with pytest.raises(rk.ProgramError):
        make()  # type: ignore[operator]


def test_segment_conditions_read_like_what_they_test() -> None:
    assert repr(rk.spent_at_least("200")) == "<member spent >= 200>"
    assert repr(rk.actions_at_least(3, "visit")) == "<member has >= 3 visit actions>"
    assert repr(rk.inactive_for({"days": 60})) == "<member inactive for 60 days>"
    assert repr(rk.in_segment("vip")) == "<member in segment vip>"
