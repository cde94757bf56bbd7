"""Segments: conditions on what a member has done before an action (total spend, actions,
inactivity), each at its boundary; named segments tested with ``in_segment``; an
unknown segment, which never matches and which a programme refuses; and RFM segments,
each score at its cut points, in rules exactly as the analytics name them."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TypeVar

import attrs
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

import rewardkit as rk
from rewardkit import analytics, rfm
from rewardkit.engine import evaluate
from rewardkit.rfm import (
    SEGMENT_NAMES,
    RFMScore,
    facts_of,
    micros,
    rfm_score,
    segment_of,
    silent_days,
)
from rewardkit.testing.strategies import ACTION_KINDS

from ._timekit import MADRID, TICK, local

NOW = local("2026-06-01 12:00")
T = TypeVar("T", int, Decimal)


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


# ---------------------------------------------------------------- RFM segments
#
# Cut points: R 5 under 3 days of silence, 4 under 7, 3 under 14, 2 under 30;
# F 5 above 8 visits, 4 above 4, 3 above 2, 2 above 1; M 5 above 200, 4 above 100...

MODEL = rk.RFMModel(
    recency_days=(30, 14, 7, 3), frequency=(1, 2, 4, 8), monetary=("10", "50", "100", "200")
)
DAY = timedelta(days=1)


def visitor(silent: timedelta, visits: int = 5, spent: str = "150") -> rk.MemberState:
    """A member with ``visits`` purchases, the last ``silent`` before NOW."""
    last = NOW - silent
    return member(
        kinds={"purchase": visits},
        spent=Decimal(spent),
        first_seen=last - 100 * DAY,
        last_activity=last,
        activity={"purchase": last},
    )


def scores(state: rk.MemberState, at: datetime = NOW) -> tuple[int, int, int] | None:
    score = rfm_score(state, MODEL, at)
    return None if score is None else (score.recency, score.frequency, score.monetary)


@pytest.mark.parametrize(
    ("silent", "expected"),
    [
        (3 * DAY - TICK, 5),  # 2 whole days
        (3 * DAY, 4),  # exactly 3 days is not under 3
        (7 * DAY - TICK, 4),
        (7 * DAY, 3),
        (14 * DAY, 2),
        (30 * DAY - TICK, 2),
        (30 * DAY, 1),
        (400 * DAY, 1),
    ],
)
def test_recency_scores_whole_days_of_silence_against_each_cut_point(
    silent: timedelta, expected: int
) -> None:
    assert scores(visitor(silent)) == (expected, 4, 4)


@pytest.mark.parametrize(
    ("visits", "expected"), [(1, 1), (2, 2), (3, 3), (4, 3), (5, 4), (8, 4), (9, 5)]
)
def test_frequency_beats_a_cut_point_with_strictly_more_visits(visits: int, expected: int) -> None:
    assert scores(visitor(DAY, visits=visits)) == (5, expected, 4)


@pytest.mark.parametrize(
    ("spent", "expected"),
    [("0", 1), ("10", 1), ("10.01", 2), ("100", 3), ("100.01", 4), ("200", 4), ("200.01", 5)],
)
def test_monetary_beats_a_cut_point_with_strictly_more_spend(spent: str, expected: int) -> None:
    assert scores(visitor(DAY, spent=spent)) == (5, 4, expected)


def test_recency_counts_24_hour_days_not_calendar_days() -> None:
    # Madrid's clocks go forward on 29 March 2026: noon to noon is 23 hours, not a day.
    saturday_noon, sunday_noon = local("2026-03-28 12:00"), local("2026-03-29 12:00")
    state = member(kinds={"visit": 1}, first_seen=saturday_noon, last_activity=saturday_noon)
    assert silent_days(micros(saturday_noon), micros(sunday_noon)) == 0
    assert rfm_score(state, MODEL, sunday_noon) == rfm_score(state, MODEL, saturday_noon)


def test_a_member_without_a_visit_is_in_no_rfm_segment() -> None:
    program = rk.Program(name="p", rfm=MODEL)
    for name in SEGMENT_NAMES:
        assert not holds(rk.in_segment(name), member(), segments=program.all_segments)
    assert segment_of(member(), MODEL, NOW) is None


def test_visits_count_the_models_kinds_only() -> None:
    purchases = attrs.evolve(MODEL, kinds="purchase")
    state = member(
        kinds={"purchase": 1, "visit": 20},
        first_seen=NOW - 60 * DAY,
        last_activity=NOW - DAY,
        activity={"purchase": NOW - 60 * DAY, "visit": NOW - DAY},
    )
    assert scores(state) == (5, 5, 1)
    only = rfm_score(state, purchases, NOW)
    assert only is not None and (only.recency, only.frequency) == (1, 1)  # 60 days, 1 visit


@pytest.mark.parametrize(
    ("state", "segment"),
    [
        (visitor(DAY, visits=9, spent="300"), "champions"),  # 5 5 5
        (visitor(DAY, visits=1, spent="5"), "new"),  # 5 1 1
        (visitor(10 * DAY, visits=5, spent="60"), "loyal"),  # 3 4 3
        (visitor(10 * DAY, visits=2, spent="20"), "potential"),  # 3 2 2
        (visitor(20 * DAY, visits=9, spent="300"), "at-risk"),  # 2 5 5
        (visitor(20 * DAY, visits=2, spent="20"), "hibernating"),  # 2 2 2
        (visitor(90 * DAY, visits=2, spent="20"), "lost"),  # 1 2 2
    ],
)
def test_in_segment_names_the_rfm_segment_of_the_programmes_model(
    state: rk.MemberState, segment: str
) -> None:
    program = rk.Program(name="p", rfm=MODEL)
    held = [
        name
        for name in SEGMENT_NAMES
        if holds(rk.in_segment(name), state, segments=program.all_segments)
    ]
    assert held == [segment] == [segment_of(state, MODEL, NOW)]


def test_rfm_segments_compose_with_named_segments() -> None:
    program = rk.Program(
        name="p",
        rfm=MODEL,
        segments={"big-at-risk": rk.in_segment("at-risk") & rk.spent_at_least(250)},
    )
    at_risk = visitor(20 * DAY, visits=9, spent="300")
    assert holds(rk.in_segment("big-at-risk"), at_risk, segments=program.all_segments)
    assert not holds(
        rk.in_segment("big-at-risk"),
        visitor(20 * DAY, visits=9, spent="210"),
        segments=program.all_segments,
    )


def test_a_win_back_bonus_goes_only_to_members_at_risk() -> None:
    """Act before they leave: 50 points on the purchase that brings an at-risk member back."""
    program = rk.Program(
        name="Café Aroma",
        timezone="Europe/Madrid",
        rules=[
            rk.per_amount("base", on="purchase", per="1.00", points=1),
            rk.fixed("win-back", on="purchase", points=50, when=rk.in_segment("at-risk")),
        ],
        rfm=MODEL,
    )
    kit = rk.Rewards(program, store="memory://")
    start = local("2026-03-02 10:00")

    def buy(who: str, when: datetime, amount: str = "30") -> list[str]:
        action = rk.Action(
            id=f"{who}-{when.isoformat()}", member=who, kind="purchase", at=when, amount=amount
        )
        return [award.rule for award in kit.record(action).awards]

    for week in range(10):  # two regulars: ten purchases of 30, a week apart
        for who in ("ana", "bruno"):
            assert buy(who, start + week * 7 * DAY) == ["base"]
    for week in (7, 8):  # and an occasional customer
        assert buy("diego", start + week * 7 * DAY, "12") == ["base"]
    last = start + 63 * DAY
    assert buy("ana", last + 6 * DAY) == ["base"]  # R 4: still loyal, no bonus
    assert buy("diego", last + 20 * DAY, "12") == ["base"]  # R 2, F 2, M 2: hibernating
    assert buy("bruno", last + 20 * DAY) == ["base", "win-back"]  # R 2, F 5, M 5: at risk
    assert buy("bruno", last + 21 * DAY) == ["base"]  # back: R 5 again
    assert buy("carmen", last + 20 * DAY) == ["base"]  # a first purchase: no segment yet
    assert buy("bruno", last + 80 * DAY) == ["base", "win-back"]  # R 1: at risk still


def test_a_programme_refuses_a_segment_named_like_an_rfm_segment() -> None:
    with pytest.raises(rk.ProgramError) as caught:
        rk.Program(name="p", rfm=MODEL, segments={"loyal": rk.spent_at_least(100)})
    assert [p.path for p in caught.value.problems] == ["segments.loyal"]
    assert "RFM segment" in caught.value.problems[0].message
    rk.Program(name="p", segments={"loyal": rk.spent_at_least(100)})  # no model: no clash


def test_an_rfm_segment_without_a_model_says_what_is_missing() -> None:
    with pytest.raises(rk.ProgramError) as caught:
        rk.Program(name="p", rules=[rk.fixed("x", points=1, when=rk.in_segment("at-risk"))])
    (problem,) = caught.value.problems
    assert problem.path == "rules[0].when.segment"
    assert "at-risk is an RFM segment" in problem.message
    assert "Program(rfm=...)" in problem.message


def test_a_close_name_of_an_rfm_segment_gets_a_suggestion() -> None:
    with pytest.raises(rk.ProgramError, match=r"no segment 'at_risk' \(did you mean 'at-risk'\?\)"):
        rk.Program(
            name="p", rfm=MODEL, rules=[rk.fixed("x", points=1, when=rk.in_segment("at_risk"))]
        )


def test_rfm_must_be_a_model() -> None:
    with pytest.raises(rk.ProgramError, match=r"rfm: must be an RFMModel"):
        rk.Program(name="p", rfm={"recency_days": [1, 1, 1, 1]})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (
            {"recency_days": (7, 14, 30, 60)},
            "rfm.recency_days[1]: 14 days is longer than the cut point before it (7 days)",
        ),
        ({"frequency": (1, 2, 4)}, "rfm.frequency: expected 4 cut points"),
        ({"frequency": (1, 2, 4, 3)}, "rfm.frequency[3]: 3 is less than the cut point before"),
        ({"monetary": ("10", "5", "100", "200")}, "rfm.monetary[1]: 5 is less than"),
        ({"monetary": ("10", "-5", "100", "200")}, "rfm.monetary[1]: must be an amount >= 0"),
        ({"recency_days": (30, 14, 7, 2.5)}, "rfm.recency_days[3]: must be a whole number"),
        ({"kinds": ()}, "rfm.kinds: must name at least one action kind"),
        ({"members": -1}, "rfm.members: must be a whole number >= 0, got -1"),
    ],
)
def test_a_bad_rfm_model_is_a_programme_error_naming_the_cut_point(
    fields: dict[str, object], expected: str
) -> None:
    with pytest.raises(rk.ProgramError) as caught:
        attrs.evolve(MODEL, **fields)
    assert str(caught.value.problems[0]).startswith(expected)


def test_equal_cut_points_are_a_valid_model() -> None:
    """Quintiles of a population with ties repeat a value: (1, 1, 1, 1) visits."""
    tied = rk.RFMModel(recency_days=(9, 9, 9, 9), frequency=(1, 1, 1, 1), monetary=(0, 0, 0, 0))
    champion = RFMScore(5, 5, 5, rfm.Segment.CHAMPIONS)
    assert rfm_score(visitor(9 * DAY - TICK, visits=2, spent="0.01"), tied, NOW) == champion
    lost = RFMScore(1, 1, 1, rfm.Segment.LOST)
    assert rfm_score(visitor(9 * DAY, visits=1, spent="0"), tied, NOW) == lost


def test_an_rfm_segment_condition_reads_like_what_it_tests() -> None:
    program = rk.Program(name="p", rfm=MODEL)
    assert repr(program.all_segments["at-risk"]) == "<member in RFM segment at-risk>"


# ---------------------------------------------------------------- rules agree with analytics


@st.composite
def histories(draw: st.DrawFn) -> list[rk.Action]:
    """A member's purchases and visits over a year, in time order."""
    start = local("2025-06-01 08:00")
    offsets = sorted(draw(st.lists(st.integers(0, 365 * 24 * 60), max_size=12)))
    actions = []
    for n, minutes in enumerate(offsets):
        kind = draw(st.sampled_from(("purchase", "visit")))
        amount = draw(st.decimals("0", "80", places=2)) if kind == "purchase" else None
        at = start + timedelta(minutes=minutes)
        actions.append(rk.Action(id=f"a{n}", member="ana", kind=kind, at=at, amount=amount))
    return actions


def _fold(actions: list[rk.Action]) -> rk.MemberState:
    program = rk.Program(name="p", timezone="Europe/Madrid")
    state = rk.MemberState(id="ana")
    for action in actions:
        state = evaluate(program, state, action).state
    return state


def _cut_points(data: st.DataObject, near: list[T], anything: st.SearchStrategy[T]) -> list[T]:
    """Four cut points in rising order, often the member's own value or next to it."""
    values = st.one_of(st.sampled_from(near), anything)
    return sorted(data.draw(st.lists(values, min_size=4, max_size=4)))


@settings(max_examples=400, deadline=None)
@given(
    histories(),
    st.one_of(st.none(), st.sampled_from([("purchase",), ("visit",), ("purchase", "visit")])),
    st.integers(0, 400 * 24 * 60),
    st.sampled_from(ACTION_KINDS),
    st.data(),
)
def test_a_rules_rfm_segment_is_the_segment_analytics_names(
    actions: list[rk.Action],
    kinds: tuple[str, ...] | None,
    minutes: int,
    kind: str,
    data: st.DataObject,
) -> None:
    """For any history, model and instant, the rule for segment S fires exactly when
    ``analytics.segment_of`` places the member before the action in S at its instant."""
    before = _fold(actions)
    at = local("2025-06-01 08:00") + timedelta(minutes=minutes)
    visits, _, last, spent = facts_of(before, None if kinds is None else frozenset(kinds))
    days = silent_days(last, micros(at)) if last >= 0 else 0
    cent = Decimal("0.01")
    recency = _cut_points(data, [days, days + 1, max(days - 1, 0)], st.integers(0, 400))
    frequency = _cut_points(data, [visits, visits + 1, max(visits - 1, 0)], st.integers(0, 20))
    monetary = _cut_points(
        data, [spent, spent + cent, max(spent - cent, Decimal(0))], st.decimals(0, 500, places=2)
    )
    model = rk.RFMModel(recency[::-1], frequency, monetary, kinds=kinds)
    program = rk.Program(
        name="p",
        timezone="Europe/Madrid",
        rfm=model,
        rules=[rk.fixed(name, points=1, when=rk.in_segment(name)) for name in SEGMENT_NAMES],
    )
    probe = rk.Action(id="probe", member="ana", kind=kind, at=at)
    fired = [award.rule for award in evaluate(program, before, probe).outcome.awards]
    named = analytics.segment_of(before, model, at)
    event(f"segment: {named}")
    assert fired == ([] if named is None else [named.value])
