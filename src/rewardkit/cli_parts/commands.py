"""One function per subcommand: ``args`` in, an exit code out (errors as CommandError)."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

import cattrs

from .. import _codec
from ..analytics import Assumptions, Insights, analyse
from ..errors import ProgramError, StoreError
from ..facade import Rewards
from ..model import MemberState
from ..program import Program
from ..report import write_report
from ..storage import migrate as migrate_store
from ..storage import verify as verify_store
from .common import (
    OK,
    PROBLEMS,
    USAGE,
    CommandError,
    load,
    one_line,
    open_url,
    read_json,
    read_program,
)
from .explain import budgets_for
from .explain import explain as explain_action
from .lines import LineError, parse_request
from .simulate import Progress, Simulation, action_lines
from .summary import render, summarise

__all__ = ["demo", "expire", "explain", "migrate", "report", "simulate", "validate", "verify"]


def _count(number: int, one: str, many: str | None = None) -> str:
    return f"{number:,} {one if number == 1 else many or one + 's'}"


def describe(program: Program) -> str:
    """A programme in one line: what it holds."""
    levels = len(program.tiers.levels) if program.tiers is not None else 0
    parts = [
        _count(len(program.rules), "rule"),
        _count(len(program.rewards), "reward"),
        _count(levels, "tier level"),
        _count(len(program.badges), "badge"),
        _count(len(program.raffles), "raffle"),
    ]
    if len(program.currencies) > 1:
        parts.append(f"currencies {', '.join(program.currencies)}")
    expiry = repr(program.expiry).strip("<>")
    return f"{program.name} ({program.timezone}): {', '.join(parts)}; {expiry}"


def validate(args: argparse.Namespace) -> int:
    try:
        program = read_program(args.program)
    except ProgramError as error:
        for problem in error.problems:
            print(one_line(problem))
        print(f"{_count(len(error.problems), 'problem')} in {args.program}")
        return PROBLEMS
    print(f"OK: {describe(program)}")
    return OK


def _assumptions(args: argparse.Namespace) -> Assumptions:
    return Assumptions(point_value=args.point_value, breakage_rate=args.breakage)


def simulate(args: argparse.Namespace) -> int:
    program = load(args.program)
    until = None if args.until is None else args.until.at(program.tz)
    with action_lines(args.actions) as (lines, size), Rewards(program, open_url(args.store)) as kit:
        progress = Progress.for_stderr(None)
        simulation = Simulation(kit, args.actions, strict=args.strict, progress=progress)
        tally = simulation.run_lines(lines, total=size)
        if tally.stopped:
            message = f"{args.actions}: stopped at the first line that does not apply (--strict)"
            raise CommandError(message, PROBLEMS)
        if until is not None:
            kit.expire(until)
        at = until or tally.last or datetime.now(UTC)
        summary = summarise(program, kit.store, at, _assumptions(args))
        print(render(summary, program, tally, store=args.store, until=until))
        if args.report:
            _write(args.report, summary.insights, "")
    if tally.malformed:
        print(f"{args.actions}: {_count(tally.malformed, 'malformed line')} skipped")
        return PROBLEMS
    return OK


def _write(path: str, insights: Insights, symbol: str) -> None:
    try:
        written = write_report(path, insights, currency_symbol=symbol)
    except OSError as error:
        raise CommandError(f"cannot write {path!r}: {error.strerror}", USAGE) from None
    print(f"Report: {written}")


def _member_state(path: str, member: str) -> MemberState:
    data = read_json(path, "the member state")
    try:
        state = _codec.from_data(data, MemberState)
    except cattrs.BaseValidationError as error:
        detail = "; ".join(cattrs.transform_error(error, path="state"))
        raise CommandError(f"{path}: not a member state as a store keeps it: {detail}") from None
    except (ValueError, TypeError, KeyError) as error:
        raise CommandError(f"{path}: not a member state as a store keeps it: {error}") from None
    if state.id != member:
        raise CommandError(f"{path} is the state of {state.id!r}, the action is {member!r}'s")
    return state


def explain(args: argparse.Namespace) -> int:
    program = load(args.program)
    try:
        request = parse_request(read_json(args.action, "the action"), program.tz)
    except LineError as error:
        raise CommandError(f"{args.action}: {error}") from None
    action = request.action
    if action is None:
        raise CommandError(f"{args.action}: explain takes an action, not a {request.op} line")
    budgets: dict[str, int] = {}
    if args.member_state:
        state = _member_state(args.member_state, action.member)
    elif args.history:
        kit = Rewards(program)
        replay = Simulation(
            kit,
            args.history,
            progress=Progress.for_stderr(None),
            quiet=True,
            keep=lambda r: r.at < action.at and r.id != action.id,
        )
        with action_lines(args.history) as (lines, size):
            tally = replay.run_lines(lines, total=size)
        state = kit.store.load(action.member).state
        budgets = budgets_for(program, action.kind, kit.store)
        print(
            f"History: {_count(tally.lines, 'line')} of {args.history} before the action "
            f"replayed, {tally.not_applied:,} of them not applied"
        )
    elif args.store:
        store = open_url(args.store, existing=True)
        try:
            state = store.load(action.member).state
            budgets = budgets_for(program, action.kind, store)
        except StoreError as error:
            raise CommandError(str(error)) from None
        finally:
            store.close()
    else:
        state = MemberState(id=action.member)
    for line in explain_action(program, state, action, budgets):
        print(line)
    return OK


def demo(args: argparse.Namespace) -> int:
    from .demo import demo as run_demo

    return run_demo(args.db, args.members, args.months)


def migrate(args: argparse.Namespace) -> int:
    try:
        print(migrate_store(args.url))
    except StoreError as error:
        raise CommandError(str(error)) from None
    except ImportError as error:
        raise CommandError(
            f"{args.url!r} needs a driver that is not installed ({error.name})"
        ) from None
    return OK


def verify(args: argparse.Namespace) -> int:
    store = open_url(args.url, existing=True)
    try:
        found = verify_store(store)
    except StoreError as error:
        raise CommandError(str(error)) from None
    finally:
        store.close()
    print(found)
    return OK if found.ok else PROBLEMS


def report(args: argparse.Namespace) -> int:
    program = load(args.program)
    at = datetime.now(UTC) if args.at is None else args.at.at(program.tz)
    store = open_url(args.url, existing=True)
    try:
        insights = analyse(program, store, at, _assumptions(args))
    except StoreError as error:
        raise CommandError(str(error)) from None
    finally:
        store.close()
    totals = insights.totals
    _write(args.out, insights, args.currency_symbol)
    print(
        f"{_count(totals.members, 'member')}, {totals.outstanding:,} {insights.currency} "
        f"outstanding, liability {insights.liability.amount:,.2f}"
    )
    return OK


def expire(args: argparse.Namespace) -> int:
    """A sweep: what time has done by ``--at`` (default: now), written down for every
    member due then, and only them.  Safe to repeat and to run from several servers."""
    program = load(args.program)
    at = datetime.now(UTC) if args.at is None else args.at.at(program.tz)
    with Rewards(program, open_url(args.url, existing=True)) as kit:
        try:
            swept = kit.expire(at)
        except StoreError as error:
            raise CommandError(str(error), PROBLEMS) from None
    local = swept.at.astimezone(program.tz)
    print(
        f"Swept at {local:%Y-%m-%d %H:%M} ({program.timezone}): {_count(swept.members, 'member')}"
    )
    for label, counts in (("expired", swept.expired), ("released", swept.released)):
        if counts:
            amounts = ", ".join(f"{points:,} {currency}" for currency, points in counts.items())
            print(f"  {label}: {amounts}")
    ladder = program.tiers
    if swept.tier_changes and ladder is not None:

        def rank(level: str | None) -> int:  # a level no longer on the ladder: below all
            return ladder.rank(level) if level is None or ladder.has_level(level) else -1

        up = sum(1 for c in swept.tier_changes if rank(c.level) > rank(c.previous))
        print(f"  tier changes: {up} up, {len(swept.tier_changes) - up} down")
    if swept.graces:
        print(f"  graces begun: {len(swept.graces)} (their level kept for now)")
    return OK
