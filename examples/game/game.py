"""LinguaQuest: a language-learning game's XP, badges and raffle, embedded with rewardkit.

    python examples/game/game.py [path/to/game.db]     (default: ./game.db)

The game loads its programme (program.toml, next to this script) and records March 2026
(actions.jsonl: Maya practises every day, Leo joins through her invitation and binges
one Saturday, Sam mostly just logs in) into a SQLite file.  It prints the moments a
player would be shown (badges, the referral bonus, raffle tickets bought, a streak
freeze refused or redeemed), then each player's profile at the end of the month, and on
1 April draws the March raffle with the seed committed to when it opened, and proves
the draw.  Every call carries an id: run the script twice and nothing is counted twice.
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
BERLIN = ZoneInfo("Europe/Berlin")
PLAYERS = ("maya", "leo", "sam")
RAFFLE = "march-raffle"
END_OF_MARCH = datetime(2026, 3, 31, 22, 0, tzinfo=BERLIN)
DRAW_AT = datetime(2026, 4, 1, 12, 0, tzinfo=BERLIN)
PRIZES = ("a year of Premium", "a month of Premium", "a LinguaQuest mug")
# The raffle's seed: chosen before March, kept secret, its SHA-256 published in
# program.toml (seed_commitment).  It is revealed with the draw.  A real game keeps it
# in a secrets manager until then, never in its code.
SEED = b"linguaquest-march-raffle-2026/5b1e0c77"


def load_program() -> rk.Program:
    return rk.load_program(HERE / "program.toml")


def read_story(path: Path = HERE / "actions.jsonl") -> Iterator[dict[str, Any]]:
    """The requests of an action file, skipping blank lines and # comments."""
    for raw in path.read_text(encoding="utf-8").splitlines():
        if raw.strip() and not raw.lstrip().startswith("#"):
            yield json.loads(raw)


def apply(kit: rk.Rewards, line: dict[str, Any]) -> rk.Outcome:
    """Make the call one line of the story asks for."""
    at = datetime.fromisoformat(line["at"])
    op, id = line.get("op", "record"), line["id"]
    if op == "refer":
        return kit.refer(line["referrer"], line["referred"], id=id, at=at)
    if op == "redeem":
        return kit.redeem(line["member"], line["reward"], id=id, at=at)
    if op == "enter":
        return kit.enter(line["raffle"], line["member"], id=id, tickets=line["tickets"], at=at)
    action = rk.Action(
        id=id,
        member=line["member"],
        kind=line["kind"],
        at=at,
        attributes=line.get("attributes", {}),
    )
    return kit.record(action)


def moments(kit: rk.Rewards, line: dict[str, Any], out: rk.Outcome) -> list[str]:
    """What the game shows a player after this call, if anything worth a pop-up."""
    badges = {badge.id: badge for badge in kit.program.badges}
    rewards = {reward.id: reward.name for reward in kit.program.rewards}
    said = []
    for event in out.events:
        if isinstance(event, rk.BadgeAwarded):
            bonus = f" (+{event.bonus} XP)" if event.bonus else ""
            said.append(f"badge: {badges[event.badge].title}{bonus}")
        elif isinstance(event, rk.ReferralRewarded):
            said.append(f"welcome gift for joining through {event.referrer}: +{event.points} XP")
        elif isinstance(event, rk.TicketsBought):
            said.append(f"bought {event.tickets} raffle tickets for {event.cost} XP")
    if line.get("op") == "redeem":
        said.append(f"redeemed {rewards[line['reward']]} for {-out.points} XP")
    if line.get("op") == "refer":
        said.append(f"invited {line['referred']}")
    return said


def play(kit: rk.Rewards) -> dict[str, rk.Outcome | rk.RewardkitError]:
    """Record the month, printing the moments players see; each line's outcome by id."""
    results: dict[str, rk.Outcome | rk.RewardkitError] = {}
    for line in read_story():
        when = datetime.fromisoformat(line["at"]).astimezone(BERLIN)
        member = line.get("member") or line.get("referrer")
        head = f"{when:%a %d %b %H:%M}  {member:<5}"
        try:
            out = results[line["id"]] = apply(kit, line)
        except rk.RewardkitError as error:
            results[line["id"]] = error
            print(f"{head} refused: {error}")
            continue
        replayed = "  (replayed)" if out.replayed else ""
        for said in moments(kit, line, out):
            print(f"{head} {said}{replayed}")
        for event in out.events:
            if isinstance(event, rk.ReferralRewarded) and event.role == "referred":
                thank(kit, event, when)
    return results


def thank(kit: rk.Rewards, event: rk.ReferralRewarded, when: datetime) -> None:
    """The inviter's bonus: a call of its own, made by the friend's first lesson."""
    cause = f"referral:{event.rule}:{event.referred}"
    entry = next(
        entry for entry in kit.history(event.referrer, at=END_OF_MARCH) if entry.cause == cause
    )
    said = f"{event.referred} took a first lesson: +{entry.points} XP for the invitation"
    print(f"{when:%a %d %b %H:%M}  {event.referrer:<5} {said}")


def profile(kit: rk.Rewards, player: str) -> None:
    view = kit.member(player, at=END_OF_MARCH)
    titles = {badge.id: badge.title for badge in kit.program.badges}
    lessons = view.actions.get("lesson", 0)
    print(f"\n{player.capitalize()}: {view.balance} XP, {lessons} lesson{'s' * (lessons != 1)}")
    print(f"  badges: {', '.join(titles[badge] for badge in view.badges)}")
    progress = [  # in the programme's order
        f"{title} {view.badge_progress[badge][0]} / {view.badge_progress[badge][1]}"
        for badge, title in titles.items()
        if badge in view.badge_progress
    ]
    print(f"  next: {', '.join(progress)}")
    print(f"  raffle tickets: {view.tickets.get(RAFFLE, 0)}")
    for nudge in kit.nudges(player, at=END_OF_MARCH):
        print(f"  > {nudge.message}")


def draw_raffle(kit: rk.Rewards) -> rk.Draw:
    """Draw the closed raffle with the revealed seed, and check it as a player could."""
    raffle = kit.program.raffle(RAFFLE)
    draw = kit.draw(RAFFLE, seed=SEED, at=DRAW_AT)
    entries = kit.raffle_entries(RAFFLE)
    print(f"\n{raffle.title}, drawn {DRAW_AT:%d %B %Y}:")
    print(f"  entries: {', '.join(f'{member} {tickets}' for member, tickets in entries)}")
    for prize, winner in zip(PRIZES, draw.winners, strict=True):
        print(f"  {prize}: {winner}")
    matches = rk.commitment(bytes.fromhex(draw.seed)) == raffle.seed_commitment
    print(f"  the revealed seed matches the commitment published on 1 March: {matches}")
    print(f"  verify_draw(draw, entries): {rk.verify_draw(draw, entries)}")
    return draw


def main(path: str) -> None:
    with rk.Rewards(load_program(), store=f"sqlite:///{path}") as kit:
        print(f"{kit.program.name}, stored in {path}\n")
        play(kit)
        for player in PLAYERS:
            profile(kit, player)
        draw_raffle(kit)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "game.db")
