"""The ``rewardkit`` command: validate, simulate, explain and compare programmes, run the
demo, migrate, verify and sweep stores, and write the manager's report.

Exit codes: 0 when all is well, 1 when the command ran and found problems (an invalid
programme, malformed action lines, a broken ledger chain), 2 when it could not run as
asked (bad arguments, a file that cannot be read, a bad store URL or date).  A user's
mistake is one line on standard error, never a traceback.  The subcommands live in
:mod:`rewardkit.cli_parts`; ``docs/reference/cli.md`` describes them.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from decimal import Decimal, InvalidOperation

from .cli_parts import commands
from .cli_parts.common import CommandError, moment
from .cli_parts.diff import diff

__all__ = ["build_parser", "main"]

Command = Callable[[argparse.Namespace], int]


def _decimal(low: Decimal, high: Decimal | None) -> Callable[[str], Decimal]:
    def parse(text: str) -> Decimal:
        try:
            value = Decimal(text)
        except InvalidOperation:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if not value.is_finite() or value < low or (high is not None and value > high):
            limits = f"from {low} to {high}" if high is not None else f"{low} or more"
            raise argparse.ArgumentTypeError(f"must be a number {limits}: {text!r}")
        return value

    return parse


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be at least 1: {text!r}")
    return value


_DATE_HELP = (
    "a date (2026-07-01: 00:00 that day) or an instant (2026-07-01T09:30, with or "
    "without an offset), in the programme's time zone unless it has an offset"
)


def _money_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--point-value",
        type=_decimal(Decimal(0), None),
        default=Decimal("0.01"),
        metavar="X",
        help="what one point costs when redeemed, in money, for the liability (0.01)",
    )
    parser.add_argument(
        "--breakage",
        type=_decimal(Decimal(0), Decimal(1)),
        metavar="X",
        help="the share of outstanding points expected never to be redeemed, 0 to 1 "
        "(default: the share observed, expired / (redeemed + expired))",
    )


def _add(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    run: Command,
    summary: str,
    description: str,
) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        name,
        help=summary,
        description=description,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(run=run)
    return parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rewardkit",
        description="Validate, simulate, explain and compare loyalty programmes; run the "
        "demo; migrate, verify and sweep stores; write the manager's report.",
        epilog="Exit codes: 0 ok, 1 problems found, 2 usage.  "
        "`rewardkit COMMAND --help` describes each command.",
    )
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)

    validate = _add(
        subparsers,
        "validate",
        commands.validate,
        "check a programme file and list every problem",
        "Check a programme (.toml or .json) and print every problem, one per line, as\n"
        "`path: message`, then exit 1; or print a one-line summary and exit 0.",
    )
    validate.add_argument("program", metavar="PROGRAM", help="a .toml or .json programme")

    simulate = _add(
        subparsers,
        "simulate",
        commands.simulate,
        "run a file of actions through a programme and summarise",
        "Run every line of ACTIONS (JSON lines: actions, and redeem, reverse, enter,\n"
        "refer and confirm lines) through the programme, then print a summary: points\n"
        "issued, redeemed, expired, reversed and outstanding, the liability, members\n"
        "per tier, badges, raffle tickets and the rules ranked by points awarded.\n\n"
        "A malformed line is reported with its number and skipped, and the command\n"
        "exits 1 at the end; a line the programme refuses (not enough points...) is\n"
        "counted in the summary.  The line format is in docs/reference/cli.md.",
    )
    simulate.add_argument("program", metavar="PROGRAM", help="a .toml or .json programme")
    simulate.add_argument("actions", metavar="ACTIONS", help="a .jsonl file (-: standard input)")
    simulate.add_argument(
        "--store",
        default="memory://",
        metavar="URL",
        help="where to record: memory:// (the default), sqlite:///path.db, postgresql://...",
    )
    simulate.add_argument(
        "--until", type=moment, metavar="DATE", help="then let time run to DATE: " + _DATE_HELP
    )
    simulate.add_argument(
        "--strict", action="store_true", help="stop at the first line that does not apply (exit 1)"
    )
    simulate.add_argument(
        "--report", metavar="FILE", help="also write the manager's HTML report to FILE"
    )
    _money_options(simulate)

    explain = _add(
        subparsers,
        "explain",
        commands.explain,
        "say rule by rule why an action earns what it earns",
        "For one action: each rule that can fire for its kind, whether it fired and the\n"
        "points it gave, and for each that did not, the condition that failed; caps that\n"
        "truncated, multipliers and tier bonuses applied.  Nothing is recorded.\n\n"
        "The member starts with no history, or the state given by one option below.",
    )
    explain.add_argument("program", metavar="PROGRAM", help="a .toml or .json programme")
    explain.add_argument(
        "action", metavar="ACTION", help="a .json file with one action (-: standard input)"
    )
    before = explain.add_mutually_exclusive_group()
    before.add_argument(
        "--member-state",
        metavar="FILE",
        help="the member's state as a store keeps it (JSON: the members.state column)",
    )
    before.add_argument(
        "--history",
        metavar="FILE",
        help="a .jsonl file of earlier lines, replayed first (those before the action)",
    )
    before.add_argument("--store", metavar="URL", help="read the member's state from a store")

    demo = _add(
        subparsers,
        "demo",
        commands.demo,
        "simulate the example café programme on SQLite and summarise",
        "Build the example café programme (examples/cafe/program.toml), simulate a few\n"
        "months of a few hundred members (seeded: every run prints the same) on an\n"
        "embedded SQLite file, recreated on every run, and print the summary and one\n"
        "member's nudges.",
    )
    demo.add_argument(
        "--db",
        default="rewardkit-demo.db",
        metavar="PATH",
        help="the SQLite file (rewardkit-demo.db in the current directory)",
    )
    demo.add_argument("--members", type=_positive, default=200, metavar="N", help="(200)")
    demo.add_argument("--months", type=_positive, default=3, metavar="M", help="(3)")

    migrate = _add(
        subparsers,
        "migrate",
        commands.migrate,
        "bring a SQL store's schema to this version",
        "Apply every schema migration the store at URL lacks (sqlite:///path.db,\n"
        "postgresql://...).  Safe to run while the store is in use.",
    )
    migrate.add_argument("url", metavar="URL", help="the store")

    verify = _add(
        subparsers,
        "verify",
        commands.verify,
        "check every member's hash-chained ledger",
        "Check every member's hash-chained ledger in the store at URL and report the\n"
        "first broken entry of each member whose ledger was changed outside rewardkit.\n"
        "Exit 1 when a chain is broken.",
    )
    verify.add_argument("url", metavar="URL", help="the store")

    compare = _add(
        subparsers,
        "diff",
        diff,
        "what changes between two versions of a programme",
        "Compare two programme files and list what was added (+), removed (-) and changed (~),\n"
        "then what the changes do to members who already have points, levels, badges or\n"
        "tickets.  Exit 0 when they are the same programme, 1 when they differ.",
    )
    compare.add_argument("old", metavar="OLD", help="the programme in use")
    compare.add_argument("new", metavar="NEW", help="the programme to switch to")

    expire = _add(
        subparsers,
        "expire",
        commands.expire,
        "write down what time has done: a sweep for cron",
        "Expire points, release held points and review tier levels for every member due\n"
        "at DATE (default: now) in the store at URL, and only them.  Safe to repeat and to\n"
        "run from several servers at once: what is written is dated when it fell due.",
    )
    expire.add_argument("url", metavar="STORE_URL", help="the store")
    expire.add_argument(
        "--program", required=True, metavar="PROGRAM", help="the store's programme file"
    )
    expire.add_argument("--at", type=moment, metavar="DATE", help="(now) " + _DATE_HELP)

    report = _add(
        subparsers,
        "report",
        commands.report,
        "write the manager's HTML report for a store",
        "Write one self-contained HTML file (no script, no network, printable): points\n"
        "over time, liability, the 80/20, RFM segments, churn risk and tier flow.",
    )
    report.add_argument("url", metavar="STORE_URL", help="the store")
    report.add_argument(
        "--program", required=True, metavar="PROGRAM", help="the store's programme file"
    )
    report.add_argument("--out", default="report.html", metavar="FILE", help="(report.html)")
    report.add_argument("--at", type=moment, metavar="DATE", help="(now) " + _DATE_HELP)
    report.add_argument(
        "--currency-symbol", default="", metavar="S", help="before money figures, such as €"
    )
    _money_options(report)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args = build_parser().parse_args(argv)
    run: Command = args.run
    try:
        return run(args)
    except CommandError as error:
        print(f"rewardkit: error: {error}", file=sys.stderr)
        return error.code
    except KeyboardInterrupt:
        print("rewardkit: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `rewardkit ... | head`: the reader left, nothing is wrong
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
