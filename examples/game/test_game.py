"""LinguaQuest's March, checked against XP, badges and tickets worked out by hand.

A lesson earns 10 XP (20 at weekends), the first lesson 50 more, a perfect quiz 20, the
first login of a day 2, an invitation 100 to the inviter and 50 to the friend.  Badge
bonuses: Seven-day streak 70, Four weeks in a row 100, Quiz master 50 (every ten perfect
quizzes).  A ticket per lesson for the March raffle, 20 at most; bought ones cost 100 XP.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import rewardkit as rk

HERE = Path(__file__).resolve().parent


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("game_example", HERE / "game.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


game = load_script()
END: datetime = game.END_OF_MARCH


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[rk.Rewards, dict[str, Any]]]:
    path = tmp_path_factory.mktemp("game") / "game.db"
    with rk.Rewards(game.load_program(), store=f"sqlite:///{path}") as kit:
        yield kit, game.play(kit)


@pytest.fixture(scope="module")
def kit(story: tuple[rk.Rewards, dict[str, Any]]) -> rk.Rewards:
    return story[0]


@pytest.fixture(scope="module")
def outcomes(story: tuple[rk.Rewards, dict[str, Any]]) -> dict[str, Any]:
    return story[1]


def badges(outcome: rk.Outcome) -> list[str]:
    return [e.badge for e in outcome.events if isinstance(e, rk.BadgeAwarded)]


def test_xp_at_the_end_of_march(kit: rk.Rewards) -> None:
    # Maya: 31 logins x 2, 31 lessons x 10 + 9 weekend days x 10, first lesson 50,
    # 10 perfect quizzes x 20, the invitation 100, badges 70 + 100 + 50; a freeze -200.
    maya = 62 + 310 + 90 + 50 + 200 + 100 + 220 - 200
    # Leo: 12 lessons x 10 + 6 of them at weekends x 10, 50 + 50, four weeks 100; tickets.
    leo = 120 + 60 + 50 + 50 + 100 - 200
    sam = 15 * 2 + 10 + 50  # logins, and one Monday lesson
    assert {p: kit.balance(p, at=END) for p in game.PLAYERS} == {
        "maya": maya,
        "leo": leo,
        "sam": sam,
    }
    assert (maya, leo, sam) == (832, 180, 90)


def test_the_invitation_pays_both_players_on_the_friends_first_lesson(
    kit: rk.Rewards, outcomes: dict[str, Any]
) -> None:
    first = outcomes["lesson-leo-078"]  # a Wednesday
    assert first.points == 10 + 50 + 50
    paid = [e for e in kit.history("maya", at=END) if e.cause == "referral:invite-a-friend:leo"]
    assert [e.points for e in paid] == [100]
    assert kit.member("leo", at=END).referred_by == "maya"


def test_badges_are_earned_by_the_action_that_completes_them(outcomes: dict[str, Any]) -> None:
    assert badges(outcomes["lesson-maya-002"]) == ["first-steps"]
    assert badges(outcomes["lesson-maya-017"]) == ["week-streak"]  # Sunday 1 to Saturday 7
    # Sunday 1 March is in the ISO week of 23 February: weeks 9, 10, 11 and 12.
    assert badges(outcomes["lesson-maya-039"]) == ["four-weeks"]  # Monday 16
    assert badges(outcomes["lesson-leo-084"]) == ["four-weeks"]  # weeks 10 to 13
    assert badges(outcomes["lesson-leo-089"]) == ["binge"]  # the fifth lesson on the 14th
    assert badges(outcomes["quiz-maya-075"]) == ["quiz-master"]  # the tenth perfect quiz
    # 500 XP counts what rules award, not badge bonuses nor the invitation: 22 logins,
    # 22 lessons + 7 weekend days, the first lesson and 6 perfect quizzes make 504.
    assert badges(outcomes["quiz-maya-055"]) == ["xp-500"]
    assert outcomes["quiz-maya-055"].points == 20


def test_a_repeatable_badge_starts_over_and_a_hidden_one_shows_only_once_earned(
    kit: rk.Rewards,
) -> None:
    maya, leo = (kit.member(p, at=END) for p in ("maya", "leo"))
    assert maya.badges == ("first-steps", "week-streak", "four-weeks", "xp-500", "quiz-master")
    assert dict(maya.badge_progress) == {"quiz-master": (Decimal(0), Decimal(10))}
    assert leo.badges == ("first-steps", "four-weeks", "binge")
    assert "binge" not in kit.member("sam", at=END).badge_progress


def test_streak_freezes_are_redeemed_with_the_xp_for_them(outcomes: dict[str, Any]) -> None:
    refused = outcomes["redeem-sam-1"]
    assert isinstance(refused, rk.InsufficientPoints)
    assert (refused.balance, refused.needed) == (70, 200)  # 68, then Tuesday's login
    assert outcomes["redeem-maya-1"].points == -200


def test_tickets_stop_at_twenty(kit: rk.Rewards, outcomes: dict[str, Any]) -> None:
    assert outcomes["enter-leo-1"].points == -200
    assert {p: kit.member(p, at=END).tickets.get(game.RAFFLE, 0) for p in game.PLAYERS} == {
        "maya": 20,  # 31 lessons, 20 tickets at most
        "leo": 12 + 2,
        "sam": 1,
    }


def test_nudges_speak_of_xp(kit: rk.Rewards) -> None:
    said = {p: [n.message for n in kit.nudges(p, at=END)] for p in game.PLAYERS}
    assert said == {
        "maya": ["832 XP: only 668 more for the golden owl avatar"],
        "leo": ["180 XP: only 20 more for a streak freeze"],
        "sam": ["90 XP: only 110 more for a streak freeze"],
    }


def test_the_raffle_draw_matches_the_published_commitment(kit: rk.Rewards) -> None:
    with pytest.raises(rk.RaffleError, match="is still open"):
        kit.draw(game.RAFFLE, seed=game.SEED, at=END)
    with pytest.raises(rk.RaffleError, match="seed commitment"):
        kit.draw(game.RAFFLE, seed=b"a luckier seed, for Sam perhaps", at=game.DRAW_AT)
    draw = game.draw_raffle(kit)
    entries = kit.raffle_entries(game.RAFFLE)
    assert entries == [("leo", 14), ("maya", 20), ("sam", 1)]
    assert draw.winners == ("maya", "leo", "sam")  # three prizes: the draw orders them
    assert rk.commitment(game.SEED) == kit.program.raffle(game.RAFFLE).seed_commitment
    assert rk.verify_draw(draw, entries)
    assert not rk.verify_draw(draw, [("leo", 14), ("maya", 20), ("sam", 2)])


def test_the_script_tells_the_month_and_a_second_run_counts_nothing_twice(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "game.db")
    game.main(db)
    first = capsys.readouterr().out
    for line in (
        "Wed 04 Mar 21:30  maya  leo took a first lesson: +100 XP for the invitation",
        "Sat 14 Mar 14:15  leo   badge: Five in a day",
        "Mon 30 Mar 07:20  maya  badge: Quiz master (+50 XP)",
        "Maya: 832 XP, 31 lessons",
        "  a year of Premium: maya",
        "  verify_draw(draw, entries): True",
    ):
        assert line in first.splitlines(), f"{line!r} not in:\n{first}"
    game.main(db)
    second = capsys.readouterr().out

    def told(output: str) -> list[str]:
        # The refused freeze is asked again (a refusal leaves no receipt).
        lines = output.replace("  (replayed)", "").splitlines()
        return [line for line in lines if "refused" not in line]

    assert told(second) == told(first)
