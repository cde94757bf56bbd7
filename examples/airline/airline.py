"""SkyWays Air: an airline's miles and elite levels, embedded with rewardkit.

    python examples/airline/airline.py [path/to/miles.db]     (default: ./miles.db)

The airline loads its programme (program.toml, next to this script) and records its
travellers' flights, hotel stays, refunds and redemptions of 2026-2028 (actions.jsonl)
into a SQLite file, in the order they happened.  At a few moments it stops and shows
each traveller's status as the app would: miles, level, the spend that counts towards
the next review, and the nudges about levels and rewards.  Levels are reviewed on
1 January 2028 against 2027's spend; a traveller who falls short keeps the level three
more months (grace), then drops.  An hourly ``kit.expire()`` sweep would write those
changes as they fall due; here the script sweeps at each stop.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import rewardkit as rk

HERE = Path(__file__).resolve().parent
NEW_YORK = ZoneInfo("America/New_York")
TRAVELLERS = ("alice", "bob", "chen", "dara")
STOPS = (
    datetime(2026, 12, 15, 12, 0, tzinfo=NEW_YORK),  # 2026 levels are held through 2027
    datetime(2027, 12, 15, 12, 0, tzinfo=NEW_YORK),  # two weeks before the review
    datetime(2028, 1, 2, 12, 0, tzinfo=NEW_YORK),  # after the review: kept, or on grace
    datetime(2028, 3, 15, 12, 0, tzinfo=NEW_YORK),  # grace ends in 17 days
    datetime(2028, 5, 1, 12, 0, tzinfo=NEW_YORK),  # after the grace
)


def load_program() -> rk.Program:
    return rk.load_program(HERE / "program.toml")


def read_story(path: Path = HERE / "actions.jsonl") -> list[dict[str, Any]]:
    """The requests of an action file, skipping # comments, in the order they happened."""
    lines = [
        json.loads(raw)
        for raw in path.read_text(encoding="utf-8").splitlines()
        if raw.strip() and not raw.lstrip().startswith("#")
    ]
    return sorted(lines, key=lambda line: datetime.fromisoformat(line["at"]))


def apply(kit: rk.Rewards, line: dict[str, Any]) -> rk.Outcome:
    """Make the call one line of the story asks for."""
    at = datetime.fromisoformat(line["at"])
    op, id = line.get("op", "record"), line["id"]
    if op == "redeem":
        return kit.redeem(line["member"], line["reward"], id=id, at=at)
    if op == "reverse":
        return kit.reverse(line["action"], id=id, at=at, amount=line.get("amount"))
    action = rk.Action(
        id=id,
        member=line["member"],
        kind=line["kind"],
        at=at,
        amount=line.get("amount"),
        attributes=line.get("attributes", {}),
    )
    return kit.record(action)


def describe(line: dict[str, Any]) -> str:
    op = line.get("op", "record")
    if op == "redeem":
        return f"{line['member']} redeems {line['reward']}"
    if op == "reverse":
        return f"refund ${Decimal(line['amount']):,} of {line['action']}"
    attributes = line.get("attributes", {})
    words = [line["member"], line["kind"], attributes.get("route"), attributes.get("cabin")]
    return " ".join(word for word in words if word) + f" ${Decimal(line['amount']):,}"


def record(kit: rk.Rewards, lines: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Record lines, printing each; the outcome (or the refusal) of each line by id."""
    ladder = kit.program.tiers
    assert ladder is not None
    results: dict[str, Any] = {}
    for line in lines:
        when = datetime.fromisoformat(line["at"]).astimezone(NEW_YORK)
        head = f"  {when:%d %b %Y}  {describe(line):<44}"
        try:
            out = results[line["id"]] = apply(kit, line)
        except rk.RewardkitError as error:
            results[line["id"]] = error
            print(f"{head} refused: {error}")
            continue
        moves = [
            f"now {ladder.get(e.level).title}"
            for e in out.events
            if isinstance(e, rk.TierChanged) and e.level
        ]
        extra = f"  ({', '.join(moves)})" if moves else ""
        replayed = "  (replayed)" if out.replayed else ""
        print(f"{head}{out.points:>+8,d} miles  balance {out.balance:>7,d}{extra}{replayed}")
    return results


def status(kit: rk.Rewards, member: str, at: datetime) -> str:
    """One line: miles, level and when it is next looked at, and this year's spend."""
    view = kit.member(member, at=at)
    ladder = kit.program.tiers
    assert ladder is not None
    tier = view.tier_status
    if tier is None:
        level = "no level"
    elif tier.grace_until is not None:
        level = f"{ladder.get(tier.level).title}, on grace until {_day(tier.grace_until)}"
    else:
        assert tier.review_at is not None
        level = f"{ladder.get(tier.level).title}, reviewed {_day(tier.review_at)}"
    spent = view.tier_metric or 0
    return f"{member:<6}{view.balance:>8,d} miles  {level:<38} ${spent:>9,.2f} flown in {at.year}"


def _day(instant: datetime) -> str:
    return f"{instant.astimezone(NEW_YORK):%d %b %Y}"


def show(kit: rk.Rewards, at: datetime) -> None:
    report = kit.expire(at=at)  # reviews and grace ends due by now
    print(f"\n{at:%d %B %Y}:")
    for change in report.tier_changes:
        before, after = change.previous or "no level", change.level or "no level"
        print(f"  {_day(change.at)}: {change.member} {before} -> {after} ({change.reason})")
    for member in TRAVELLERS:
        print(f"  {status(kit, member, at)}")
        for nudge in kit.nudges(member, at=at):
            print(f"  {'':<6}> {nudge.message}")


def tell(kit: rk.Rewards) -> dict[str, Any]:
    """The whole story, stopping at each of STOPS; the outcome of every line by id."""
    lines = read_story()
    results: dict[str, Any] = {}
    for stop in STOPS:
        due = [line for line in lines if datetime.fromisoformat(line["at"]) < stop]
        lines = lines[len(due) :]
        if due:
            print()
            results |= record(kit, due)
        replaying = any(getattr(out, "replayed", False) for out in results.values())
        if stop == STOPS[-1] or not replaying:
            show(kit, stop)
        else:
            # The database already holds the whole story: it can say where a traveller
            # stands now, not what they were shown back then.
            print(f"\n{stop:%d %B %Y}: see the first run")
    return results


def main(path: str) -> None:
    with rk.Rewards(load_program(), store=f"sqlite:///{path}") as kit:
        print(f"{kit.program.name}, stored in {path}")
        tell(kit)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "miles.db")
