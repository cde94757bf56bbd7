"""PulseFit's story, checked against numbers worked out by hand from program.toml.

A workout earns 10 (two a day), a long session 5 more (one a day), the first workout 25,
and each of the first three workouts of a week 20 (the weekly challenge).  Badge bonuses:
On fire 15, Seven-day streak 50, Ten down 30, Habit formed 100.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import rewardkit as rk

HERE = Path(__file__).resolve().parent


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fitness_example", HERE / "fitness.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


fitness = load_script()
NOW: datetime = fitness.NOW


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[rk.Rewards, dict[str, Any]]]:
    path = tmp_path_factory.mktemp("fitness") / "fitness.db"
    with rk.Rewards(fitness.load_program(), store=f"sqlite:///{path}") as kit:
        yield kit, fitness.record_story(kit)


@pytest.fixture(scope="module")
def kit(story: tuple[rk.Rewards, dict[str, Any]]) -> rk.Rewards:
    return story[0]


@pytest.fixture(scope="module")
def outcomes(story: tuple[rk.Rewards, dict[str, Any]]) -> dict[str, Any]:
    return story[1]


def earned(outcome: rk.Outcome) -> dict[str, int]:
    return {award.rule: award.points for award in outcome.awards}


def test_a_first_workout_earns_the_welcome_and_the_challenge(outcomes: dict[str, Any]) -> None:
    zoe = outcomes["zoe-02-1830"]  # 30 minutes: no long-session bonus
    assert earned(zoe) == {"workout": 10, "first-workout": 25, "weekly-challenge": 20}
    assert zoe.points == 55
    omar = outcomes["omar-02-0630"]  # 45 minutes, before seven: Early bird (no bonus)
    assert omar.points == 10 + 5 + 25 + 20
    assert [e.badge for e in omar.events if isinstance(e, rk.BadgeAwarded)] == [
        "first-sweat",
        "early-bird",
    ]


def test_the_weekly_challenge_pays_three_workouts_a_week(outcomes: dict[str, Any]) -> None:
    fourth = outcomes["zoe-05-1830"]  # Zoe's fourth workout of week 10
    assert earned(fourth) == {"workout": 10, "long-session": 5, "weekly-challenge": 0}
    assert [a.rule for a in fourth.awards if a.capped] == ["weekly-challenge"]
    monday = outcomes["zoe-09-1830"]  # a new week, a new challenge
    assert earned(monday)["weekly-challenge"] == 20


def test_two_workouts_a_day_count(outcomes: dict[str, Any]) -> None:
    assert outcomes["omar-06-0630"].points == 35
    assert outcomes["omar-06-1900"].points == 10  # challenge already done this week
    third = outcomes["omar-06-2015"]
    assert third.points == 0
    assert {a.rule for a in third.awards if a.capped} == {"workout", "weekly-challenge"}


def test_badges_pay_their_bonus_with_the_workout_that_earns_them(
    outcomes: dict[str, Any],
) -> None:
    assert outcomes["zoe-04-1830"].points == 10 + 20 + 15  # On fire: day 3 in a row
    assert outcomes["zoe-08-1830"].points == 10 + 50  # Seven-day streak: 2-8 March
    assert outcomes["zoe-14-1830"].points == 10 + 20 + 30  # Ten down: her tenth workout
    assert outcomes["omar-21-1000"].points == 10 + 5 + 20 + 30  # his tenth (a 0-point one counts)
    assert outcomes["omar-23-0730"].points == 10 + 5 + 20 + 100  # Habit formed: weeks 10-13


def test_a_redemption_without_the_points_is_refused_and_changes_nothing(
    kit: rk.Rewards, outcomes: dict[str, Any]
) -> None:
    refused = outcomes["redeem-omar-23"]
    assert isinstance(refused, rk.InsufficientPoints)
    assert (refused.balance, refused.needed) == (480, 600)
    assert outcomes["omar-25-0730"].balance == 480 + 35


def test_balances_and_badges_at_the_end_of_march(kit: rk.Rewards) -> None:
    # Zoe earned 655 (180 workouts + 220 challenge + 35 long + 25 first + 195 badges)
    # and spent 150 + 300; Omar earned 515; Lena 120.
    assert {m: kit.balance(m, at=NOW) for m in fitness.MEMBERS} == {
        "zoe": 655 - 150 - 300,
        "omar": 515,
        "lena": 120,
    }
    assert kit.member("zoe", at=NOW).badges == (
        "first-sweat",
        "on-fire",
        "seven-day-streak",
        "ten-workouts",
        "habit-formed",
    )
    assert kit.member("omar", at=NOW).badges == (
        "first-sweat",
        "ten-workouts",
        "habit-formed",
        "early-bird",
    )
    assert kit.member("lena", at=NOW).badges == ("first-sweat",)


def test_a_streak_runs_across_the_clock_change_and_breaks_after_a_missed_day(
    kit: rk.Rewards,
) -> None:
    def streak(day: int) -> tuple[int, int]:
        at = datetime(2026, 3, day, 12, 0, tzinfo=fitness.LONDON)
        current, target = kit.member("zoe", at=at).badge_progress["seven-day-streak"]
        return int(current), int(target)

    # Wednesday 25 to Sunday 29 March; clocks went forward on the Sunday.
    assert streak(29) == (5, 7)
    assert streak(30) == (5, 7)  # Monday: still time to keep it going
    assert streak(31) == (0, 7)  # Tuesday: Monday was missed


def test_the_weekly_challenge_table(kit: rk.Rewards) -> None:
    def week(key: str) -> dict[str, int]:
        return {s.member: int(s.score) for s in kit.leaderboard("weekly-workouts", period=key)}

    assert week("2026-W10") == {"zoe": 7, "omar": 5, "lena": 2}
    assert week("2026-W11") == {"zoe": 3, "omar": 2, "lena": 1}
    assert week("2026-W12") == {"omar": 3, "zoe": 2}
    assert week("2026-W13") == {"zoe": 6, "omar": 2}
    assert fitness.challenge(kit.program) == (3, 20)


def test_the_monthly_board_counts_rule_points_not_badge_bonuses(kit: rk.Rewards) -> None:
    board = [(s.rank, s.member, int(s.score)) for s in kit.leaderboard("monthly-points", at=NOW)]
    assert board == [(1, "zoe", 655 - 195), (2, "omar", 515 - 130), (3, "lena", 120)]


def test_nudges_on_sunday_evening(kit: rk.Rewards) -> None:
    def said(member: str) -> list[str]:
        return [nudge.message for nudge in kit.nudges(member, at=NOW)]

    assert said("zoe") == [
        "205 points: 95 more for a guest pass for a friend",
        "2 more to unlock Seven-day streak (5 / 7)",
    ]
    assert said("omar") == ["515 points: 85 more for a session with a personal trainer"]
    assert said("lena") == [
        "120 points: 30 more for a post-workout smoothie",
        "Your last workout was 15 days ago: a short session today starts a new streak",
    ]


def test_the_script_prints_the_app_and_a_second_run_counts_nothing_twice(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "twice.db")
    fitness.main(db)
    first = capsys.readouterr().out
    for line in (
        "Sun 08 Mar 18:30  zoe   run 40 min                +60  balance 235  "
        "(week's challenge already done)  badge: Seven-day streak",
        "Zoe: 205 points",
        "  this week's challenge: 3 / 3 workouts, +60 points  done!",
        "  this week's challenge: 2 / 3 workouts, +40 points",
        "  2026-W13     6*     2      0",
        "  1. zoe     460",
    ):
        assert line in first.splitlines(), f"{line!r} not in:\n{first}"
    fitness.main(db)
    second = capsys.readouterr().out
    assert second.count("(replayed)") == 35  # every line but the refused redemption

    def told(output: str) -> list[str]:
        # A refused call leaves no receipt: the second run asks again, and is refused again
        # (by Omar's balance of now, which the first run had not yet reached).
        return [
            line
            for line in output.replace("  (replayed)", "").splitlines()
            if "refused" not in line
        ]

    assert told(second) == told(first)
    assert sum("refused" in line for line in second.splitlines()) == 1
