"""The kit finds real bugs: deliberately broken policies are caught by the state machine
within its default settings, and Hypothesis shrinks each to a handful of steps.

Each bug is planted for one test only (``monkeypatch``): a daily cap that lets one award
too many through, spending that takes the newest points first instead of those expiring
first, and a one-off badge that forgets it was awarded.  The same machine on the real
policies passes.  Runs are derandomized so that CI sees the same examples every time;
the budget is three times the machine's default (300 examples of up to 50 steps).
"""

from __future__ import annotations

import datetime
import re
import zoneinfo
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test

import rewardkit as rk
from rewardkit import _book, _caps, engine
from rewardkit._caps import Usage
from rewardkit.rules import Cap
from rewardkit.testing import InvariantViolation, RewardsStateMachine

pytestmark = pytest.mark.slow

RULES = re.compile(r"state\.(record|resend|redeem|reverse|wait|sweep|confirm|refer|enter|draw)\(")
MAX_STEPS = 8

CAFE = rk.Program(
    name="Café",
    timezone="Europe/Madrid",
    rules=[
        rk.per_amount("base", on="purchase", per="1.00", points=1),
        rk.fixed("visit", on="visit", points=5, caps=rk.cap(per="day", awards=1)),
    ],
    rewards=[rk.reward("coffee", cost=5)],
    expiry=rk.fixed_term({"days": 30}),
    badges=[rk.badge("first-visit", rk.count(1, rk.kind("visit")), bonus=10)],
)


class CafeMachine(RewardsStateMachine):
    program = CAFE


def steps(error: BaseException) -> list[str]:
    """The rule calls of the shrunk example Hypothesis attached to ``error``."""
    return [note for note in getattr(error, "__notes__", []) if RULES.match(note)]


def caught(machine: type[RewardsStateMachine]) -> InvariantViolation:
    """Run ``machine`` with three times its default number of examples; the violation it
    must find.  (Which examples a derandomized run tries depends on the machine's own
    choices, such as which member has points to spend; on the default budget alone the
    newest-first bug was found in some orders of the whole suite and missed in others.)"""
    with pytest.raises(InvariantViolation) as failure:
        run_state_machine_as_test(
            machine,
            settings=settings(
                machine.TestCase.settings, database=None, derandomize=True, max_examples=300
            ),
        )
    return failure.value


def test_the_machine_passes_on_the_real_policies() -> None:
    run_state_machine_as_test(
        CafeMachine, settings=settings(CafeMachine.TestCase.settings, database=None)
    )


# ---------------------------------------------------------------- the bugs


def room_off_by_one(self: Usage, rule: str, caps: Sequence[Cap]) -> int | None:
    """``Usage.room`` with ``>`` where ``>=`` belongs: one award more than the cap."""
    room: int | None = None
    for item in caps:
        _, usage = self._current(rule, item)
        if item.awards is not None and usage.awards > item.awards:
            return 0
        if item.points is not None:
            left = max(item.points - usage.points, 0)
            room = left if room is None else min(room, left)
    return room


def newest_first(lot: rk.Lot) -> tuple[bool, float, str]:
    """A spending order that takes the most recently earned points first."""
    return (lot.expires_at is None, -lot.earned_at.timestamp(), lot.id)


def forgetful(award_badges: Callable[..., Any]) -> Callable[..., Any]:
    """``award_badges`` that forgets which one-off badges were already awarded."""

    def award(program: rk.Program, book: Any, ctx: rk.Context, points: int) -> Any:
        badges = {key: attrs.evolve(state, awarded=0) for key, state in ctx.member.badges.items()}
        member = attrs.evolve(ctx.member, badges=badges)
        return award_badges(program, book, attrs.evolve(ctx, member=member), points)

    return award


BUGS: dict[str, tuple[Callable[[pytest.MonkeyPatch], None], str]] = {
    "an off-by-one daily cap": (
        lambda patch: patch.setattr(_caps.Usage, "room", room_off_by_one),
        "cap_respected",
    ),
    "spending the newest points first": (
        lambda patch: patch.setattr(_book, "spend_order", newest_first),
        "spends_earliest_expiry_first",
    ),
    "a one-off badge awarded twice": (
        lambda patch: patch.setattr(engine, "award_badges", forgetful(engine.award_badges)),
        "one_off_badge_awarded_once",
    ),
}


@pytest.mark.parametrize("bug", sorted(BUGS))
def test_the_machine_catches_a_broken_policy_and_shrinks_it_to_a_handful_of_steps(
    bug: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    plant, invariant = BUGS[bug]
    plant(monkeypatch)
    violation = caught(CafeMachine)
    shrunk = steps(violation)
    with capsys.disabled():  # shown with -s: what a user of the kit would read
        print(f"\n{bug}:\n{violation}\n" + "\n".join(shrunk))
    assert violation.invariant == invariant
    assert 1 <= len(shrunk) <= MAX_STEPS, "\n".join(shrunk)


def test_the_shrunk_steps_are_code_that_replays_the_failure(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The printed steps are Python: run against a fresh machine they fail the same way."""
    BUGS["an off-by-one daily cap"][0](monkeypatch)
    violation = caught(CafeMachine)
    machine = CafeMachine()
    namespace = {"state": machine, "datetime": datetime, "zoneinfo": zoneinfo, "Decimal": Decimal}
    with pytest.raises(InvariantViolation) as again:
        for line in steps(violation):
            exec(line, namespace)
            machine.touched_members_keep_the_invariants()
    machine.teardown()
    assert again.value.invariant == violation.invariant
