"""Earning rules through the pure engine: per_amount, fixed, first_time, multipliers, caps."""

from __future__ import annotations

from decimal import Decimal

import pytest

import rewardkit as rk
from rewardkit.engine import evaluate

from .conftest import at


def buy(
    id: str, when: str, amount: str | None = None, kind: str = "purchase", **attributes: object
) -> rk.Action:
    return rk.Action(
        id=id, member="ana", kind=kind, at=at(when), amount=amount, attributes=attributes
    )


def run(program: rk.Program, *actions: rk.Action) -> tuple[rk.MemberState, list[rk.Outcome]]:
    state = rk.MemberState(id="ana")
    outcomes = []
    for action in actions:
        result = evaluate(program, state, action)
        state = result.state
        outcomes.append(result.outcome)
    return state, outcomes


def test_per_amount_rounds_down_by_default() -> None:
    program = rk.Program("p", rules=[rk.per_amount("base", on="purchase", per="1.00", points=1)])
    _, [out] = run(program, buy("a", "2026-03-04 10:00", "12.99"))
    assert out.points == 12


@pytest.mark.parametrize(("rounding", "expected"), [("down", 12), ("half_up", 13), ("up", 13)])
def test_per_amount_rounding_can_be_named(rounding: str, expected: int) -> None:
    rule = rk.per_amount("base", on="purchase", per="1.00", points=1, rounding=rounding)  # type: ignore[arg-type]
    _, [out] = run(rk.Program("p", rules=[rule]), buy("a", "2026-03-04 10:00", "12.50"))
    assert out.points == expected


def test_per_amount_counts_whole_units_times_points() -> None:
    rule = rk.per_amount("base", on="purchase", per="5", points=3)
    _, [out] = run(rk.Program("p", rules=[rule]), buy("a", "2026-03-04 10:00", "14.99"))
    assert out.points == 6


def test_per_amount_without_amount_earns_nothing() -> None:
    rule = rk.per_amount("base", on="purchase", per="1")
    _, [out] = run(rk.Program("p", rules=[rule]), buy("a", "2026-03-04 10:00"))
    assert out.points == 0 and out.entries == ()


def test_action_only_meets_rules_for_its_kind(program: rk.Program) -> None:
    assert [r.id for r in program.rules_for("purchase")] == ["base", "welcome"]
    assert [r.id for r in program.rules_for("visit")] == ["visit"]
    assert program.rules_for("review") == ()


def test_rule_without_kind_fires_for_every_kind() -> None:
    program = rk.Program(
        "p", rules=[rk.fixed("any", points=2), rk.fixed("v", on="visit", points=1)]
    )
    assert [r.id for r in program.rules_for("visit")] == ["any", "v"]
    assert [r.id for r in program.rules_for("unknown-kind")] == ["any"]


def test_first_time_awards_only_the_first_action_of_its_kind(program: rk.Program) -> None:
    _, outs = run(program, buy("a", "2026-03-04 10:00", "1"), buy("b", "2026-03-04 11:00", "1"))
    assert [a.rule for a in outs[0].awards] == ["base", "welcome"]
    assert [a.rule for a in outs[1].awards] == ["base"]


def test_weekend_multiplier_doubles_its_target_on_weekends_only(program: rk.Program) -> None:
    # 2026-03-07 is a Saturday, 2026-03-09 a Monday.
    _, outs = run(
        program, buy("sat", "2026-03-07 09:30", "12.50"), buy("mon", "2026-03-09 09:30", "12.50")
    )
    assert {a.rule: a.points for a in outs[0].awards} == {
        "base": 12,
        "welcome": 50,
        "weekend-double": 12,
    }
    assert outs[0].points == 74
    assert outs[1].points == 12


def test_multipliers_multiply_together_and_round_down_per_rule() -> None:
    program = rk.Program(
        "p",
        rules=[
            rk.fixed("a", on="buy", points=3),
            rk.fixed("b", on="buy", points=5),
            rk.multiplier("x15", factor="1.5"),
            rk.multiplier("x13", factor="1.3", targets=["a"]),
        ],
    )
    _, [out] = run(program, buy("1", "2026-03-04 10:00", kind="buy"))
    # a: floor(3 * 1.5 * 1.3) = floor(5.85) = 5 ; b: floor(5 * 1.5) = 7
    assert out.points == 5 + 7
    by_rule = {aw.rule: aw.points for aw in out.awards}
    assert by_rule == {"a": 3, "b": 5, "x15": 1 + 2, "x13": 1}


def test_daily_cap_truncates_and_never_lets_the_member_exceed_it() -> None:
    rule = rk.per_amount("base", on="purchase", per="1", caps=rk.cap(per="day", points=20))
    program = rk.Program("p", timezone="Europe/Madrid", rules=[rule])
    _, outs = run(
        program,
        buy("1", "2026-03-04 10:00", "15"),
        buy("2", "2026-03-04 18:00", "15"),
        buy("3", "2026-03-04 23:59", "15"),
        buy("4", "2026-03-05 00:00", "15"),
    )
    assert [o.points for o in outs] == [15, 5, 0, 15]
    assert outs[1].awards[0].capped


def test_cap_day_is_the_programme_days_not_utc() -> None:
    rule = rk.fixed("v", on="visit", points=1, caps=rk.cap(per="day", awards=1))
    program = rk.Program("p", timezone="Europe/Madrid", rules=[rule])
    # 23:30 UTC on the 4th is 00:30 on the 5th in Madrid: a new day there.
    first = rk.Action(id="1", member="ana", kind="visit", at=at("2026-03-04 22:00"))
    second = rk.Action(id="2", member="ana", kind="visit", at=at("2026-03-05 00:30"))
    _, outs = run(program, first, second)
    assert [o.points for o in outs] == [1, 1]


@pytest.mark.parametrize(
    ("per", "second", "expected"),
    [
        ("week", "2026-03-08 12:00", 0),
        ("week", "2026-03-09 00:00", 1),
        ("month", "2026-03-31 23:59", 0),
        ("month", "2026-04-01 00:00", 1),
        ("year", "2026-12-31 23:59", 0),
        ("lifetime", "2030-01-01 00:00", 0),
    ],
)
def test_award_caps_reset_exactly_at_period_boundaries(
    per: str, second: str, expected: int
) -> None:
    rule = rk.fixed("v", on="visit", points=1, caps=rk.cap(per=per, awards=1))  # type: ignore[arg-type]
    program = rk.Program("p", timezone="Europe/Madrid", rules=[rule])
    actions = [
        rk.Action(id=str(i), member="ana", kind="visit", at=at(w))
        for i, w in enumerate(["2026-03-02 09:00", second])
    ]
    _, outs = run(program, *actions)
    assert [o.points for o in outs] == [1, expected]


def test_multiplier_cap_limits_its_bonus() -> None:
    program = rk.Program(
        "p",
        rules=[
            rk.fixed("a", on="buy", points=10),
            rk.multiplier("double", factor=2, caps=rk.cap(per="lifetime", points=15)),
        ],
    )
    _, outs = run(program, *(buy(str(i), "2026-03-04 10:00", kind="buy") for i in range(3)))
    assert [o.points for o in outs] == [20, 15, 10]


def test_rules_award_into_their_currency() -> None:
    program = rk.Program(
        "p",
        currencies=["points", "stars"],
        rules=[
            rk.fixed("p", on="buy", points=10),
            rk.fixed("s", on="buy", points=1, currency="stars"),
        ],
    )
    state, [out] = run(program, buy("1", "2026-03-04 10:00", kind="buy"))
    assert out.points == 10 and dict(out.changes) == {"points": 10, "stars": 1}
    assert state.balance("stars") == 1
    assert {e.currency for e in out.entries} == {"points", "stars"}


def test_every_entry_names_its_cause_and_reason(program: rk.Program) -> None:
    _, [out] = run(program, buy("order-1", "2026-03-07 09:30", "12.50"))
    assert [(e.cause, e.reason, e.points) for e in out.entries] == [
        ("order-1", "base", 12),
        ("order-1", "welcome", 50),
        ("order-1", "weekend-double", 12),
    ]


def test_condition_can_be_a_plain_callable() -> None:
    big = rk.fixed(
        "big", on="buy", points=5, when=lambda ctx: (ctx.action.amount or 0) >= Decimal(20)
    )
    program = rk.Program("p", rules=[big])
    _, outs = run(
        program,
        buy("1", "2026-03-04 10:00", "19.99", kind="buy"),
        buy("2", "2026-03-04 10:00", "20", kind="buy"),
    )
    assert [o.points for o in outs] == [0, 5]


def test_program_reports_every_cross_reference_problem() -> None:
    with pytest.raises(rk.ProgramError) as caught:
        rk.Program(
            "p",
            rules=[
                rk.fixed("a", on="buy", points=1),
                rk.fixed("a", on="buy", points=1, currency="stars"),
                rk.multiplier("m", factor=2, targets=["nope"]),
            ],
            rewards=[rk.reward("r", cost=1, currency="gems")],
        )
    paths = [p.path for p in caught.value.problems]
    assert paths == ["rules[1].id", "rules[1].currency", "rules[2].targets", "rewards[0].currency"]
    assert "'nope'" in str(caught.value)


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: rk.fixed("a", points=-5), "points"),
        (lambda: rk.fixed("a", points=0), "points"),
        (lambda: rk.per_amount("a", per="0"), "per"),
        (lambda: rk.per_amount("a", per="NaN"), "per"),
        (lambda: rk.multiplier("m", factor="0.5"), "factor"),
        (lambda: rk.cap(per="fortnight", points=1), "cap.per"),
        (lambda: rk.cap(per="day"), "cap"),
        (lambda: rk.reward("r", cost=0), "cost"),
    ],
)
def test_bad_policy_arguments_name_the_field(make: object, field: str) -> None:
    with pytest.raises((rk.ProgramError, rk.InvalidAction)) as caught:
        make()  # type: ignore[operator]
    error = caught.value
    named = error.problems[0].path if isinstance(error, rk.ProgramError) else error.field
    assert named == field


def test_rule_reprs_read_like_the_rule() -> None:
    assert (
        repr(rk.per_amount("base", on="purchase", per="1.00"))
        == "<base: 1 point per 1.00 on purchase>"
    )
    assert repr(rk.fixed("visit", on="visit", points=2)) == "<visit: 2 points per visit>"
