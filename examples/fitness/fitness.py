"""PulseFit: a fitness app's rewards, embedded with rewardkit.

    python examples/fitness/fitness.py [path/to/fitness.db]     (default: ./fitness.db)

The app loads its programme (program.toml, next to this script), records what its
members did (actions.jsonl: Zoe, Omar and Lena over the four weeks of March 2026) into
a SQLite file, and shows each member what the app's home screen would: points, badges
earned and in progress, this week's challenge, the leaderboards, and the nudges of the
day.  Every call carries an id: run the script twice and nothing is counted twice (a
refused call leaves no trace, so the second run asks again, and is refused again).

The weekly challenge is a rule capped at three awards a week; the app reads a member's
progress from the weekly leaderboard of workouts (see README.md).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import rewardkit as rk

HERE = Path(__file__).resolve().parent
LONDON = ZoneInfo("Europe/London")
NOW = datetime(2026, 3, 29, 20, 0, tzinfo=LONDON)  # Sunday evening, the end of the story
MEMBERS = ("zoe", "omar", "lena")
WEEKS = ("2026-W10", "2026-W11", "2026-W12", "2026-W13")
CHALLENGE = "weekly-challenge"  # the rule: 20 points for each of three workouts a week
LIMITS = {  # what a capped rule means to a member
    "workout": "two workouts a day count",
    "long-session": "one long session a day counts",
    CHALLENGE: "week's challenge already done",
}


def load_program() -> rk.Program:
    return rk.load_program(HERE / "program.toml")


def read_story(path: Path = HERE / "actions.jsonl") -> Iterator[dict[str, Any]]:
    """The requests of an action file, skipping blank lines and # comments."""
    for raw in path.read_text(encoding="utf-8").splitlines():
        if raw.strip() and not raw.lstrip().startswith("#"):
            yield json.loads(raw)


def apply(kit: rk.Rewards, line: dict[str, Any]) -> rk.Outcome:
    """Make the call one line of the story asks for (a workout, or a redemption)."""
    at = datetime.fromisoformat(line["at"])
    if line.get("op") == "redeem":
        return kit.redeem(line["member"], line["reward"], id=line["id"], at=at)
    action = rk.Action(
        id=line["id"],
        member=line["member"],
        kind=line["kind"],
        at=at,
        attributes=line.get("attributes", {}),
    )
    return kit.record(action)


def challenge(program: rk.Program) -> tuple[int, int]:
    """The weekly challenge: (workouts a week, points for each), read from its rule."""
    rule = next(rule for rule in rk.dump_program(program)["rules"] if rule["id"] == CHALLENGE)
    return rule["caps"][0]["awards"], rule["points"]


def record_story(kit: rk.Rewards) -> dict[str, rk.Outcome | rk.RewardkitError]:
    """Record the story, printing the app's activity feed; each line's outcome by id."""
    badges = {badge.id: badge.title for badge in kit.program.badges}
    results: dict[str, rk.Outcome | rk.RewardkitError] = {}
    for line in read_story():
        when = datetime.fromisoformat(line["at"]).astimezone(LONDON)
        what = line.get("reward") or "{sport} {minutes} min".format(**line["attributes"])
        head = f"{when:%a %d %b %H:%M}  {line['member']:<5} {what:<24}"
        try:
            out = results[line["id"]] = apply(kit, line)
        except rk.RewardkitError as error:
            results[line["id"]] = error
            print(f"{head}  refused: {error}")
            continue
        earned = [badges[e.badge] for e in out.events if isinstance(e, rk.BadgeAwarded)]
        limits = sorted({LIMITS[award.rule] for award in out.awards if award.capped})
        capped = f"  ({', '.join(limits)})" if limits else ""
        medals = f"  badge: {', '.join(earned)}" if earned else ""
        replayed = "  (replayed)" if out.replayed else ""
        print(f"{head} {out.points:+4d}  balance {out.balance:>3}{capped}{medals}{replayed}")
    return results


def show_member(kit: rk.Rewards, member: str) -> None:
    program = kit.program
    view = kit.member(member, at=NOW)
    titles = {badge.id: badge.title for badge in program.badges}
    print(f"\n{member.capitalize()}: {view.balance} points")
    print(f"  badges: {', '.join(titles[badge] for badge in view.badges)}")
    progress = [  # the badges started, in the programme's order
        f"{title} {view.badge_progress[badge][0]} / {view.badge_progress[badge][1]}"
        for badge, title in titles.items()
        if view.badge_progress.get(badge, (0, 0))[0]
    ]
    print(f"  on the way: {', '.join(progress) or 'nothing started'}")
    target, points = challenge(program)
    standing = kit.rank("weekly-workouts", member, at=NOW)
    done = min(int(standing.score) if standing else 0, target)
    tick = "  done!" if done == target else ""
    print(f"  this week's challenge: {done} / {target} workouts, +{done * points} points{tick}")
    for nudge in kit.nudges(member, at=NOW):
        print(f"  > {nudge.message}")


def show_boards(kit: rk.Rewards) -> None:
    target, _ = challenge(kit.program)
    print(f"\nWeekly challenge, {target} workouts a week (workouts logged):")
    print(f"  {'week':<9}" + "".join(f"{member:>7}" for member in MEMBERS))
    for week in WEEKS:
        scores = {s.member: int(s.score) for s in kit.leaderboard("weekly-workouts", period=week)}
        cells = "".join(
            f"{scores.get(m, 0):>5}{'*' if scores.get(m, 0) >= target else ' ':<2}" for m in MEMBERS
        )
        print(f"  {week:<9}{cells}".rstrip())
    print("  (* challenge completed)")
    print("\nPoints this month (from workouts; badge bonuses are not counted):")
    for standing in kit.leaderboard("monthly-points", at=NOW):
        print(f"  {standing.rank}. {standing.member:<5} {standing.score:>5}")


def main(path: str) -> None:
    with rk.Rewards(load_program(), store=f"sqlite:///{path}") as kit:
        print(f"{kit.program.name}, stored in {path}\n")
        record_story(kit)
        for member in MEMBERS:
            show_member(kit, member)
        show_boards(kit)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "fitness.db")
