"""Trailhead Outfitters: an online shop's rewards, embedded with rewardkit.

    python examples/ecommerce/ecommerce.py [path/to/shop.db]     (default: ./shop.db)

The shop loads its programme (program.toml, next to this script) and records what its
customers did in spring 2026 (actions.jsonl: orders, a referral, returns in full and in
part, redemptions, raffle tickets bought) into a SQLite file, the way its order and
refund webhooks would.  It then shows each customer's account, what the spring sale's
budget gave away, and, once the raffle has closed, draws it and proves the draw.
Every call carries an id: run the script twice and nothing is counted twice.
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
LOS_ANGELES = ZoneInfo("America/Los_Angeles")
CUSTOMERS = ("ana", "ben", "cleo", "dev")
RAFFLE = "spring-raffle"
END_OF_APRIL = datetime(2026, 4, 30, 23, 59, tzinfo=LOS_ANGELES)
DRAW_AT = datetime(2026, 5, 1, 10, 0, tzinfo=LOS_ANGELES)
# The raffle's secret seed.  The shop picked it before April and published only its
# SHA-256 (seed_commitment in program.toml); it reveals it with the draw.  A real shop
# keeps it in its secrets manager until then, never in its code.
SEED = b"trailhead-spring-raffle-2026/7f3c9a41d2e8"


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
    if op == "reverse":
        return kit.reverse(line["action"], id=id, at=at, amount=line.get("amount"))
    if op == "enter":
        return kit.enter(line["raffle"], line["member"], id=id, tickets=line["tickets"], at=at)
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
    if op == "refer":
        return f"{line['referrer']} invites {line['referred']}"
    if op == "reverse":
        return f"return {line.get('amount', 'all')} of {line['action']}"
    if op == "redeem":
        return f"{line['member']} redeems {line['reward']}"
    if op == "enter":
        return f"{line['member']} buys {line['tickets']} raffle tickets"
    return f"{line['member']} {line['kind']} {line.get('amount', '')}".rstrip()


def notes(out: rk.Outcome) -> str:
    """What else the outcome says: bonuses and promotions (cut short when their budget ran
    out), debts, raffle tickets."""
    said = []
    for award in out.awards:
        if award.rule != "base" and (award.points or award.capped):
            spent = ", budget spent" if award.capped else ""
            said.append(f"{award.rule} +{award.points}{spent}")
    for event in out.events:
        if isinstance(event, rk.ReferralRewarded):
            said.append(f"{event.rule} +{event.points}")
        elif isinstance(event, rk.PointsReversed) and event.debt:
            said.append(f"{event.debt} owed")
        elif isinstance(event, rk.DebtSettled):
            said.append(f"{event.points} settle the debt")
        elif isinstance(event, rk.TicketsEarned):
            said.append(f"{event.tickets} ticket{'s' if event.tickets > 1 else ''}")
        elif isinstance(event, rk.TicketsTakenBack):
            said.append(f"{event.tickets} ticket{'s' if event.tickets > 1 else ''} taken back")
    return f"  ({', '.join(said)})" if said else ""


def record_story(kit: rk.Rewards) -> dict[str, rk.Outcome | rk.RewardkitError]:
    """Record the story, printing one line per call; each line's outcome by id."""
    results: dict[str, rk.Outcome | rk.RewardkitError] = {}
    for line in read_story():
        when = datetime.fromisoformat(line["at"]).astimezone(LOS_ANGELES)
        head = f"{when:%a %d %b}  {line['id']:<14} {describe(line):<30}"
        try:
            out = results[line["id"]] = apply(kit, line)
        except rk.RewardkitError as error:
            results[line["id"]] = error
            print(f"{head} refused: {error}")
            continue
        replayed = "  (replayed)" if out.replayed else ""
        if line.get("op") == "refer":
            print(f"{head} {line['referred']} is new here{replayed}")
            continue
        print(f"{head}{out.points:+5d}  balance {out.balance:>3}{notes(out)}{replayed}")
        for event in out.events:
            if isinstance(event, rk.ReferralRewarded) and event.role == "referred":
                paid_to(kit, event.referrer, cause=f"referral:{event.rule}:{event.referred}")
    return results


def paid_to(kit: rk.Rewards, referrer: str, cause: str) -> None:
    """The referrer's bonus: a call of its own, made by the friend's qualifying order."""
    entry = next(entry for entry in kit.history(referrer, at=END_OF_APRIL) if entry.cause == cause)
    what = f"{referrer}'s friend qualified"
    print(f"{entry.at.astimezone(LOS_ANGELES):%a %d %b}  {'':<14} {what:<30}", end="")
    print(f"{entry.points:+5d}  balance {entry.balance:>3}  ({entry.reason} +{entry.points})")


def show_account(kit: rk.Rewards, member: str) -> None:
    view = kit.member(member, at=END_OF_APRIL)
    owed = view.debts.get(kit.program.currency, 0)
    debt = f", {owed} owed" if owed else ""
    referred = f", referred by {view.referred_by}" if view.referred_by else ""
    tickets = view.tickets.get(RAFFLE, 0)
    print(f"  {member:<5} {view.balance:>4} points{debt}, {tickets} raffle tickets{referred}")
    for nudge in kit.nudges(member, at=END_OF_APRIL):
        print(f"        > {nudge.message}")


def draw_raffle(kit: rk.Rewards) -> rk.Draw:
    """Draw the closed raffle with the revealed seed, and check it as a customer would."""
    raffle = kit.program.raffle(RAFFLE)
    draw = kit.draw(RAFFLE, seed=SEED, at=DRAW_AT)
    entries = kit.raffle_entries(RAFFLE)
    print(f"\n{raffle.title}, drawn {DRAW_AT:%d %B %Y %H:%M}:")
    print(f"  published before it opened: {raffle.seed_commitment}")
    print(f"  seed revealed with the draw: {draw.seed}")
    print(f"  the seed matches the commitment: {rk.commitment(SEED) == raffle.seed_commitment}")
    print(f"  entries ({draw.tickets} tickets): {', '.join(f'{m} {t}' for m, t in entries)}")
    print(f"  entries digest: {draw.entries_digest}")
    for prize, winner in enumerate(draw.winners, start=1):
        print(f"  prize {prize}: {winner}")
    print(f"  anyone can recompute it: verify_draw -> {rk.verify_draw(draw, entries)}")
    forged = [(m, t + 1 if m == draw.winners[0] else t) for m, t in entries]
    print(f"  with one ticket added for a winner: verify_draw -> {rk.verify_draw(draw, forged)}")
    return draw


def main(path: str) -> None:
    with rk.Rewards(load_program(), store=f"sqlite:///{path}") as kit:
        print(f"{kit.program.name}, stored in {path}\n")
        record_story(kit)
        print("\nAccounts at the end of April:")
        for member in CUSTOMERS:
            show_account(kit, member)
        sale = next(rule for rule in kit.program.rules if rule.id == "spring-sale")
        assert isinstance(sale, rk.Multiplier)
        given = kit.store.counter("budget:spring-sale")
        print(f"\nThe spring sale gave away {given} of its {sale.budget} bonus points.")
        print("\nDev's ledger (a return after spending: a debt, then settled):")
        for entry in kit.history("dev", at=END_OF_APRIL):
            print(
                f"  {entry.kind:<8}{entry.points:>+5}  balance {entry.balance:>3}"
                f"  debt {entry.debt:>3}  {entry.cause}"
            )
        draw_raffle(kit)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "shop.db")
