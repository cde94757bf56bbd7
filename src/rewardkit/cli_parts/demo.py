"""``rewardkit demo``: the café programme, a few months of a few hundred members, on SQLite.

The programme and the action generator are the ones in ``examples/cafe/`` (copies ship
in this package).  Everything is seeded, so two runs print the same summary.  The
database is recreated on every run, but only if the demo made it: any other file at
that path is left alone.
"""

from __future__ import annotations

import tomllib
from datetime import date, datetime, time, timedelta
from importlib import resources
from pathlib import Path
from typing import Final

from ..analytics import Assumptions
from ..config import load_program
from ..errors import StoreError
from ..facade import Rewards
from ..model import Outcome
from ..program import Program
from ..storage import Receipt, open_store
from .cafe.make_actions import generate
from .common import OK, CommandError, open_url
from .lines import parse_request
from .simulate import Progress, Simulation
from .summary import render, summarise

__all__ = ["PROGRAM_FILE", "demo"]

SEED: Final = 7
START: Final = date(2026, 1, 5)  # a Monday
AFTERWARDS: Final = 14  # days of time run after the last day of actions
MARK: Final = ("demo", "rewardkit-demo")  # a receipt that says "the demo made this store"
PROGRAM_FILE: Final = "program.toml"
EXAMPLE: Final = Path("examples") / "cafe" / PROGRAM_FILE


def program_text() -> str:
    return resources.files("rewardkit.cli_parts.cafe").joinpath(PROGRAM_FILE).read_text("utf-8")


def cafe_program() -> Program:
    return load_program(tomllib.loads(program_text()))


def _made_by_demo(url: str) -> bool:
    try:
        store = open_store(url, auto_migrate=False)
    except StoreError:
        return False
    try:
        return store.receipt(*MARK) is not None
    except StoreError:
        return False
    finally:
        store.close()


def _fresh(path: Path, url: str) -> None:
    """Remove the demo's previous database at ``path``, and only the demo's."""
    if not path.exists():
        return
    if not path.is_file() or not _made_by_demo(url):
        raise CommandError(
            f"{str(path)!r} exists and was not made by `rewardkit demo`: it is left as it "
            "is; choose another --db"
        )
    for suffix in ("", "-wal", "-shm", "-journal"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)


def _program_path() -> str:
    """Where a reader can find the programme file, for the commands suggested."""
    if EXAMPLE.is_file() and EXAMPLE.read_text(encoding="utf-8") == program_text():
        return str(EXAMPLE)
    return str(resources.files("rewardkit.cli_parts.cafe").joinpath(PROGRAM_FILE))


def _nudge_member(kit: Rewards, at: datetime) -> tuple[str, list[tuple[str, str]]] | None:
    """The member whose nudges show the most, the seed articles' two messages first."""
    best: tuple[int, str, list[tuple[str, str]]] | None = None
    for member in sorted(kit.store.members()):
        found = [(n.kind, n.message) for n in kit.nudges(member, at=at)]
        kinds = {kind for kind, _ in found}
        score = len(kinds) + 3 * ("reward_within_reach" in kinds) + 3 * ("tier_inactive" in kinds)
        if found and (best is None or score > best[0]):
            best = (score, member, found)
    return None if best is None else (best[1], best[2])


def demo(db: str, members: int, months: int) -> int:
    program = cafe_program()
    path = Path(db)
    url = f"sqlite:///{path}"
    _fresh(path, url)
    lines = generate(members, months, SEED, START)
    days = round(months * 30.44)  # as the generator counts them
    with Rewards(program, store=open_url(url)) as kit:
        request = {"members": members, "months": months, "seed": SEED}
        kit.store.record(Receipt(*MARK, "", request, Outcome(member="", points=0, balance=0)))
        simulation = Simulation(kit, "demo", progress=Progress.for_stderr(len(lines)), quiet=True)
        tally = simulation.run_requests(parse_request(line, program.tz) for line in lines)
        # Past the last action, so that time shows what it does: points expiring
        # after 60 days without a visit, levels lapsing after 45.
        end = START + timedelta(days=days + AFTERWARDS)
        until = datetime.combine(end, time(0), tzinfo=program.tz)
        kit.expire(until)
        summary = summarise(program, kit.store, until, Assumptions())
        span = f"{months} month{'s' if months != 1 else ''}"
        print(f"rewardkit demo: {members} members, {span}, seed {SEED}")
        print(render(summary, program, tally, store=url, until=until))
        chosen = _nudge_member(kit, until)
        if chosen is not None:
            member, nudges = chosen
            print()
            print(f"Nudges for {member} on {until:%Y-%m-%d} (the programme's Spanish templates):")
            for kind, message in nudges:
                print(f"  [{kind}] {message}")
    print()
    print("Next:")
    print(f"  rewardkit verify {url}")
    print(f"  rewardkit report {url} --program {_program_path()} --at {until:%Y-%m-%d}")
    return OK
