"""Café Aroma: a café's points, levels and nudges in Spanish, embedded with rewardkit.

    python examples/cafe/cafe.py [path/to/cafe.db]     (default: ./cafe.db)

The café loads its programme (program.toml, next to this script; the same file
``rewardkit demo`` runs) and records the first quarter of 2026 for two customers, into a
SQLite file.  Lucía comes in for breakfast, brunches at weekends, orders in the app, and
climbs to Gold; Javier orders once for his office, reaches Silver, and is not seen
again.  Along the way the app shows each of them what rewardkit's nudges say, in the
programme's Spanish templates: the next reward, the next level, points about to expire,
a level about to lapse, and "we miss you".  Every call carries an id: run the script
twice and nothing is counted twice.
"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import attrs

import rewardkit as rk

HERE = Path(__file__).resolve().parent
MADRID = ZoneInfo("Europe/Madrid")  # the programme's time zone
NAMES = {"lucia": "Lucía", "javier": "Javier"}


def load_program() -> rk.Program:
    return rk.load_program(HERE / "program.toml")


def madrid(text: str) -> datetime:
    """The instant Madrid's clocks read ``text`` ("2026-01-05 08:15")."""
    return datetime.fromisoformat(text).replace(tzinfo=MADRID)


@attrs.frozen
class Redeem:
    id: str
    member: str
    reward: str
    at: datetime


@attrs.frozen
class Look:
    """The customer opens the app: show their nudges."""

    member: str
    at: datetime


Step = rk.Action | Redeem | Look


def purchase(id: str, member: str, at: str, amount: str, category: str, channel: str) -> rk.Action:
    attributes = {"category": category, "channel": channel}
    return rk.Action(
        id=id, member=member, kind="purchase", at=madrid(at), amount=amount, attributes=attributes
    )


def visit(id: str, member: str, at: str) -> rk.Action:
    """A check-in with the app at the counter."""
    return rk.Action(id=id, member=member, kind="visit", at=madrid(at))


def review(id: str, member: str, at: str, stars: int) -> rk.Action:
    return rk.Action(
        id=id, member=member, kind="review", at=madrid(at), attributes={"stars": stars}
    )


def story() -> list[Step]:
    """January to March 2026, in the order it happened."""
    return [
        purchase("t-0105-1", "lucia", "2026-01-05 08:15", "3.40", "pastry", "counter"),
        Look("lucia", madrid("2026-01-05 08:16")),
        purchase("t-0110-1", "lucia", "2026-01-10 11:00", "24.60", "brunch", "app"),
        purchase("t-0112-1", "javier", "2026-01-12 07:50", "2.60", "coffee", "counter"),
        visit("v-0113-1", "lucia", "2026-01-13 08:00"),
        visit("v-0113-2", "lucia", "2026-01-13 17:30"),  # one check-in point a day
        purchase("t-0117-1", "lucia", "2026-01-17 10:45", "86.50", "cakes", "app"),
        Redeem("r-lucia-1", "lucia", "free-coffee", madrid("2026-01-19 08:05")),
        Look("lucia", madrid("2026-01-19 08:06")),
        purchase("t-0124-1", "javier", "2026-01-24 10:00", "108.00", "catering", "app"),
        purchase("t-0207-1", "lucia", "2026-02-07 11:30", "40.00", "brunch", "app"),
        purchase("t-0214-1", "lucia", "2026-02-14 12:00", "60.00", "brunch", "app"),
        review("rv-0215-1", "lucia", "2026-02-15 20:00", stars=5),
        Look("javier", madrid("2026-03-01 09:00")),
        purchase("t-0316-1", "lucia", "2026-03-16 08:20", "4.50", "pastry", "counter"),
        Redeem("r-lucia-2", "lucia", "aroma-mug", madrid("2026-03-16 08:21")),
        Look("lucia", madrid("2026-03-16 08:22")),
    ]


def level_name(kit: rk.Rewards, level: str | None) -> str:
    ladder = kit.program.tiers
    return ladder.get(level).title if ladder is not None and level else "no level"


def show_outcome(kit: rk.Rewards, step: rk.Action | Redeem, out: rk.Outcome) -> None:
    """One line of the story: who did what, the points, and where they came from."""
    if isinstance(step, Redeem):
        what = f"redeems {kit.program.reward(step.reward).name}"
    elif step.kind == "purchase":
        what = f"{step.amount} {step.attributes['category']} ({step.attributes['channel']})"
    else:
        what = step.kind
    notes = [" + ".join(f"{a.rule} {a.points}" for a in out.awards if a.points)]
    notes += [f"{a.rule} capped" for a in out.awards if a.capped]
    notes += [
        f"now {level_name(kit, e.level)}" for e in out.events if isinstance(e, rk.TierChanged)
    ]
    extra = "  (" + "; ".join(note for note in notes if note) + ")" if out.awards else ""
    replayed = "  (replayed)" if out.replayed else ""
    head = f"{step.at.astimezone(MADRID):%a %d %b %H:%M}  {NAMES[out.member]:<7} {what:<28}"
    print(f"{head}{out.points:+5d}  balance {out.balance:>3}{extra}{replayed}")


def look(kit: rk.Rewards, member: str, at: datetime) -> None:
    """What the app shows: the balance, the level, and the nudges, in Spanish."""
    view = kit.member(member, at=at)
    level = level_name(kit, view.tier)
    print(f"\n  {NAMES[member]} opens the app on {at:%d %b}: {view.balance} points, {level}")
    for nudge in kit.nudges(member, at=at):
        print(f"    [{nudge.kind}] {nudge.message}")
    print()


def tell(kit: rk.Rewards) -> dict[str, rk.Outcome]:
    """Record the story, printing it; each call's outcome by id."""
    outcomes: dict[str, rk.Outcome] = {}
    for step in story():
        if isinstance(step, Look):
            if any(out.replayed for out in outcomes.values()):
                # The database already holds the whole story: it can say where a customer
                # stands now, not what the app showed them back then.
                print(f"\n  ({NAMES[step.member]}'s app on {step.at:%d %b}: see the first run)\n")
            else:
                look(kit, step.member, step.at)
            continue
        if isinstance(step, Redeem):
            out = kit.redeem(step.member, step.reward, id=step.id, at=step.at)
        else:
            out = kit.record(step)
        outcomes[step.id] = out
        show_outcome(kit, step, out)
    return outcomes


def main(path: str) -> None:
    with rk.Rewards(load_program(), store=f"sqlite:///{path}") as kit:
        print(f"{kit.program.name}, stored in {path}\n")
        tell(kit)
        end = madrid("2026-03-31 21:00")
        report = kit.expire(at=end)  # an hourly sweep would have written these on time
        print(f"By {end:%d %B}, time has done its part:")
        for change in report.tier_changes:
            day = change.at.astimezone(MADRID)
            before, after = level_name(kit, change.previous), level_name(kit, change.level)
            print(f"  {day:%d %b}  {NAMES[change.member]}: {before} -> {after} ({change.reason})")
        for member in NAMES:
            expiries = [e for e in kit.history(member, at=end) if e.kind == rk.EntryKind.EXPIRE]
            days = sorted({f"{e.at.astimezone(MADRID):%d %b}" for e in expiries})
            if expiries:
                lost = -sum(e.points for e in expiries)
                print(f"  {', '.join(days)}  {NAMES[member]}: {lost} points expired")
        for member in NAMES:
            print(f"Balance of {NAMES[member]}: {kit.balance(member, at=end)} points")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "cafe.db")
