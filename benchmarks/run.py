"""Run the benchmarks: ``python -m benchmarks [--quick] [--only SECTION ...]``.

Every comparison is measured side by side in one run: the contenders take turns in
each round (the order rotating), and ratios are taken between the medians of the
same run, because absolute times on a shared machine are noise.  Totals must agree
before a time is reported.  See ``docs/performance.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import attrs

import rewardkit as rk

from . import engines, idle, latency, memory, pages, parts, scaling, stores
from .harness import Result, Trial, interleave
from .workload import actions, cafe_program

ROOT = Path(__file__).resolve().parent.parent
SECTIONS = (
    "engine",
    "stores",
    "simulate",
    "parts",
    "latency",
    "history",
    "members",
    "sweep",
    "memory",
)


@attrs.frozen
class Sizes:
    actions: int  # the reference workload
    members: int
    timed: int  # actions timed per round in the engine section
    rounds: int
    full_sync: int  # actions per round, SQLite synchronous=FULL
    normal_sync: int  # actions per round, SQLite synchronous=NORMAL and PostgreSQL
    simulate: int
    history: int  # prior ledger entries of the long-standing member
    small_db: int
    big_db: int
    sweep_small: int
    memory: int
    warm: int  # actions recorded, untimed, before the timed ones on a warm file
    latency: int  # calls timed one by one after the whole workload's history


FULL = Sizes(
    100_000,
    10_000,
    10_000,
    5,
    500,
    1_500,
    10_000,
    10_000,
    1_000,
    1_000_000,
    100_000,
    100_000,
    1_500,
    4_000,
)
QUICK = Sizes(2_000, 200, 500, 2, 30, 60, 500, 300, 200, 2_000, 1_000, 2_000, 40, 100)


class Report:
    """What the run found, printed as it goes and kept for ``--json``."""

    def __init__(self) -> None:
        self.sections: dict[str, Any] = {}
        self.problems: list[str] = []
        self._headed: set[str] = set()

    def head(self, title: str) -> None:
        if title not in self._headed:
            self._headed.add(title)
            print(f"\n### {title}\n")

    def table(self, title: str, results: dict[str, Result], against: str) -> None:
        base = results[against].rate
        self.head(title)
        print(f"| contender | per second (median) | ratio to {against} | rounds spread |")
        print("| --- | ---: | ---: | ---: |")
        rows = []
        for name, result in results.items():
            ratio = result.rate / base
            print(f"| {name} | {result.rate:,.0f} | {ratio:.3g} | {result.spread:.0%} |")
            rows.append(
                {
                    "name": name,
                    "rate": result.rate,
                    "ratio": ratio,
                    "seconds": list(result.seconds),
                    "count": result.count,
                    "check": result.check if isinstance(result.check, int) else None,
                }
            )
        self.sections.setdefault(title, {})["results"] = rows
        sys.stdout.flush()

    def note(self, title: str, key: str, value: object) -> None:
        self.head(title)
        self.sections.setdefault(title, {})[key] = value
        print(f"- {key}: {value}")
        sys.stdout.flush()

    def check(self, ok: bool, problem: str) -> None:
        if not ok:
            self.problems.append(problem)
            print(f"**PROBLEM**: {problem}")


def _same(checks: dict[str, object]) -> bool:
    return len({json.dumps(v, sort_keys=True, default=str) for v in checks.values()}) == 1


def _run(
    report: Report,
    title: str,
    trials: Sequence[Trial],
    rounds: int,
    against: str,
    agree: bool = True,
) -> dict[str, Result]:
    results = interleave(trials, rounds)
    if agree:
        checks = {name: result.check for name, result in results.items()}
        report.check(_same(checks), f"{title}: the contenders disagree: {checks}")
    report.table(title, results, against)
    return results


# ---------------------------------------------------------------- sections


def engine_section(report: Report, sizes: Sizes) -> None:
    title = "Pure evaluation of the reference workload"
    program = cafe_program()
    stream = actions(sizes.actions, sizes.members)
    warm, timed = stream[: -sizes.timed], stream[-sizes.timed :]
    trials, missing = engines.engine_trials(program, warm, timed)
    for name, why in missing.items():
        report.note(title, f"{name} not measured", why)
    # Totals over the whole workload: the warm-up part once, plus the timed part.
    from benchmarks.peers import available
    from benchmarks.workload import handwritten_points

    warm_totals = {"hand-written if-chains": sum(map(handwritten_points, warm))}
    warm_totals["rewardkit evaluate"] = engines.fold(program, warm, {})
    warm_totals["rewardkit record (memory)"] = warm_totals["rewardkit evaluate"]
    warm_totals[engines.FLOOR] = warm_totals["rewardkit evaluate"]
    for name, points in available().items():
        if not isinstance(points, str):
            warm_totals[name] = sum(map(points, warm))
    results = _run(report, title, trials, sizes.rounds, "hand-written if-chains")
    totals = {name: warm_totals[name] + int(r.check) for name, r in results.items()}  # type: ignore[call-overload]
    report.note(title, f"total points over all {len(stream):,} actions", totals)
    report.check(_same(totals), f"engine totals disagree: {totals}")
    report.note(
        title,
        "timed",
        f"the last {len(timed):,} of {len(stream):,} actions "
        f"({sizes.members:,} members), after the first {len(warm):,} (untimed)",
    )


def stores_section(
    report: Report, sizes: Sizes, directory: str | None, postgres: str | None
) -> None:
    program = cafe_program()
    stream = actions(sizes.actions, sizes.members)
    for synchronous, count in (("FULL", sizes.full_sync), ("NORMAL", sizes.normal_sync)):
        trials, cleanup = stores.sqlite_trials(stream[:count], program, synchronous, directory)
        try:
            _run(
                report,
                f"record() on SQLite, synchronous={synchronous} ({count:,} actions a round)",
                trials,
                sizes.rounds,
                f"raw sqlite3 loop ({synchronous.lower()})",
            )
        finally:
            cleanup()
    if postgres is None:
        report.note(
            "record() on PostgreSQL",
            "not measured",
            "no server: set REWARDKIT_BENCH_POSTGRES_URL (or REWARDKIT_TEST_POSTGRES_URL)",
        )
        return
    count = sizes.normal_sync
    trials, cleanup = stores.postgres_trials(stream[:count], program, postgres)
    try:
        _run(
            report,
            f"record() on PostgreSQL ({count:,} actions a round)",
            trials,
            sizes.rounds,
            "raw psycopg loop",
        )
    finally:
        cleanup()


def simulate_section(report: Report, sizes: Sizes, directory: str | None) -> None:
    program = cafe_program()
    stream = actions(sizes.actions, sizes.members)[: sizes.simulate]
    for synchronous in ("FULL", "NORMAL"):
        trials, cleanup = stores.simulate_trials(stream, program, synchronous, directory)
        try:
            _run(
                report,
                f"simulate into SQLite, synchronous={synchronous} ({len(stream):,} actions)",
                trials,
                sizes.rounds,
                "rewardkit evaluate (pure)",
            )
        finally:
            cleanup()


def parts_section(report: Report, sizes: Sizes, directory: str | None) -> None:
    """Each part of a call timed alone over the commits a real run made, and the best
    ratio the store targets could reach if nothing else cost anything."""
    program = cafe_program()
    stream = actions(sizes.actions, sizes.members)
    for synchronous, count, batch, warm in (
        ("NORMAL", sizes.normal_sync, None, 0),
        ("FULL", sizes.full_sync, None, 0),
        ("FULL", sizes.full_sync, None, sizes.warm),
        ("NORMAL", sizes.simulate, 1000, 0),
        ("FULL", sizes.simulate, 1000, 0),
    ):
        call = "record" if batch is None else "record_many"
        title = f"Where {call}'s time goes, SQLite, synchronous={synchronous} ({count:,} actions"
        title += f" after {warm:,} on a warm file)" if warm else ")"
        trials, cleanup = parts.parts_trials(
            stream[: warm + count], program, synchronous, batch, directory, warm
        )
        try:
            results = _run(report, title, trials, sizes.rounds, trials[0].name, agree=False)
        finally:
            cleanup()
        whole, evaluate = results[trials[0].name], results["evaluate"]
        together = results[parts.TOGETHER]
        for name in (whole.name, together.name):
            checks = results[name].check, evaluate.check
            report.check(checks[0] == checks[1], f"{title}: {name} gave {checks[0]}")
        summed = sum(results[name].median for name in parts.LEAST)
        base = results["raw sqlite3 loop"] if batch is None else evaluate
        against = "the raw loop" if batch is None else "evaluate"
        report.note(
            title,
            f"best ratio to {against}, the four parts alone, summed",
            f"{base.median / summed:.2f}",
        )
        report.note(
            title,
            f"best ratio to {against}, the four together",
            f"{base.median / together.median:.2f}",
        )
        report.note(title, "measured ratio", f"{base.median / whole.median:.2f}")
    pages_report(report, stream[: sizes.full_sync], directory)
    idle_report(report, stream[: sizes.normal_sync], directory, sizes.rounds)


def idle_report(
    report: Report, stream: Sequence[rk.Action], directory: str | None, rounds: int
) -> None:
    """``evaluate``'s own time per action back to back, and after each kind of pause
    (``benchmarks/idle.py``): why a call's work costs more between commits at FULL."""
    title = f"evaluate's own time per action, after a pause ({len(stream):,} actions)"
    found = idle.evaluate_after_pauses(
        cafe_program(), stream, directory or tempfile.gettempdir(), rounds
    )
    alone = found["none"][0]
    for name, (micros, spread) in found.items():
        report.note(
            title,
            idle.DESCRIBED[name],
            f"{micros:.1f} µs ({micros / alone:.2f}× back to back; rounds spread {spread:.0%})",
        )


def pages_report(report: Report, stream: Sequence[rk.Action], directory: str | None) -> None:
    """The pages a commit writes to the log, per table and index: rewardkit's ``record``
    and the raw loop, over the same actions."""
    from rewardkit.storage.sqlite import SQLiteStore

    title = f"Pages a commit writes to the write-ahead log ({len(stream):,} actions)"
    folder = tempfile.mkdtemp(prefix="rewardkit-bench-", dir=directory)
    try:
        kit_path, raw_path = os.path.join(folder, "kit.db"), os.path.join(folder, "raw.db")

        def kit() -> pages.Closes:
            store = SQLiteStore(kit_path, synchronous="NORMAL")
            store._connection().execute("PRAGMA wal_autocheckpoint=0")
            rewards = rk.Rewards(cafe_program(), store=store)
            stores.record_all(rewards, stream)
            return rewards

        def raw() -> pages.Closes:
            loop = stores.RawSQLite(raw_path, "NORMAL")
            loop.connection.execute("PRAGMA wal_autocheckpoint=0")
            loop.record_all(stream)
            return loop

        for name, path, run in (
            ("rewardkit record", kit_path, kit),
            ("raw sqlite3 loop", raw_path, raw),
        ):
            total, owners = pages.pages_per_commit(path, run, len(stream))
            split = ", ".join(f"{owner} {count:.2f}" for owner, count in owners.items())
            report.note(title, name, f"{total:.2f} pages per commit ({split})")
    finally:
        shutil.rmtree(folder)


def latency_section(report: Report, sizes: Sizes, directory: str | None) -> None:
    """Single calls on a store in use, by percentile, against the raw loop's."""
    program = cafe_program()
    stream = actions(sizes.actions + sizes.latency, sizes.members)
    history, timed = stream[: sizes.actions], stream[sizes.actions :]
    members = sorted({action.member for action in history})
    background = "background"
    contenders = [
        latency.rewardkit_contender(program, members, "NORMAL"),
        latency.rewardkit_contender(program, members, "NORMAL", checkpoints=background),
        latency.rewardkit_contender(program, members, "NORMAL", cache_size=sizes.members // 10),
        latency.raw_contender("NORMAL"),
        latency.rewardkit_contender(program, members, "FULL"),
        latency.rewardkit_contender(program, members, "FULL", checkpoints=background),
        latency.raw_contender("FULL"),
    ]
    title = (
        f"Latency of single record() calls (SQLite: {len(history):,} actions of "
        f"{len(members):,} members before, {len(timed):,} timed)"
    )
    found = latency.latencies(program, history, timed, contenders, directory)
    report.head(title)
    print("| contender | mean µs | p50 µs | p90 µs | p99 µs | p99.9 µs | max µs | over 10 ms |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    rows = {}
    for one in found:
        row = [sum(one.calls) / len(one.calls) * 1e6]
        row += [one.at(f) * 1e6 for f in (0.5, 0.9, 0.99, 0.999, 1.0)]
        row += [one.over(0.010)]
        rows[one.name] = row
        cells = " | ".join(f"{value:,.0f}" for value in row)
        print(f"| {one.name} | {cells} |")
    report.sections.setdefault(title, {})["rows"] = rows
    # A collection walks every object of the process (here every contender's kept
    # states), so it is reported for the run, not put down to the call it fell in.
    for generation in (1, 2):
        pauses = [p for one in found for g, p in one.pauses if g == generation]
        report.note(
            title,
            f"garbage collections of generation {generation} during the timed calls",
            f"{len(pauses)}, the longest {max(pauses, default=0) * 1e3:,.1f} ms",
        )
    report.check(
        len({one.points for one in found}) == 1,
        f"{title}: the contenders earned {[one.points for one in found]}",
    )


def history_section(report: Report, sizes: Sizes, directory: str | None) -> None:
    title = "A member's history (SQLite, synchronous=NORMAL)"
    started = time.perf_counter()
    trials, cleanup, info = scaling.history_trials(cafe_program(), sizes.history, directory)
    try:
        report.note(title, "built in", f"{time.perf_counter() - started:.1f} s; {info}")
        _run(report, title, trials, sizes.rounds, trials[1].name, agree=False)
    finally:
        cleanup()


class Files:
    """Database files the scaling sections share (one big file is built once), in a
    temporary folder removed at the end of the run."""

    def __init__(self, directory: str | None) -> None:
        self.directory = directory
        self.folder: str | None = None
        self.built: dict[int, str] = {}

    def members(self, report: Report, title: str, count: int) -> str:
        if count not in self.built:
            if self.folder is None:
                self.folder = tempfile.mkdtemp(prefix="rewardkit-bench-", dir=self.directory)
            path = os.path.join(self.folder, f"members-{count}.db")
            seconds = scaling.big_database(cafe_program(), path, count, 0.01)
            size = os.path.getsize(path) / 2**20
            report.note(title, f"{count:,} members built in", f"{seconds:.1f} s ({size:,.0f} MiB)")
            self.built[count] = path
        return self.built[count]

    def remove(self) -> None:
        if self.folder is not None:
            for name in os.listdir(self.folder):
                os.remove(os.path.join(self.folder, name))
            os.rmdir(self.folder)


def members_section(report: Report, sizes: Sizes, files: Files) -> None:
    title = "Members in the file (SQLite, synchronous=NORMAL)"
    small = files.members(report, title, sizes.small_db)
    big = files.members(report, title, sizes.big_db)
    trials, cleanup = scaling.members_trials(
        cafe_program(), small, big, (sizes.small_db, sizes.big_db)
    )
    try:
        _run(report, title, trials, sizes.rounds, trials[0].name, agree=False)
    finally:
        cleanup()


def sweep_section(report: Report, sizes: Sizes, files: Files) -> None:
    title = "expire(at) with 1% of the members due (SQLite, synchronous=NORMAL)"
    rows = []
    for count in (sizes.sweep_small, sizes.big_db):
        path = files.members(report, title, count)
        touched, seconds = scaling.sweep(cafe_program(), path)
        per = seconds / touched * 1e6 if touched else float("nan")
        rows.append((count, touched, seconds, per))
    report.head(title)
    print("| members | due (touched) | seconds | µs per member due |")
    print("| ---: | ---: | ---: | ---: |")
    for count, touched, seconds, per in rows:
        print(f"| {count:,} | {touched:,} | {seconds:.2f} | {per:,.0f} |")
    report.sections[title]["rows"] = rows
    ratio = rows[1][3] / rows[0][3]
    report.note(title, "cost per member due, big file / small file", f"{ratio:.2f}")
    report.check(rows[1][1] == sizes.big_db // 100, f"the sweep touched {rows[1][1]} members")


def memory_section(report: Report, sizes: Sizes) -> None:
    title = "Peak memory of a simulation in memory"
    found = memory.peak_rss(sizes.memory, str(ROOT))
    report.note(
        title,
        f"{found['actions']:,} actions on MemoryStore, peak RSS",
        f"{found['peak_kib'] / 1024:,.0f} MiB (the interpreter with rewardkit imported: "
        f"{found['start_kib'] / 1024:,.0f} MiB)",
    )
    report.check(found["total"] > 0, "the memory run earned no points")
    report.sections[title]["raw"] = found


# ---------------------------------------------------------------- main


def main(argv: Sequence[str] | None = None) -> Report:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, help="run these sections")
    parser.add_argument("--dir", help="where to put the temporary database files")
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("REWARDKIT_BENCH_POSTGRES_URL")
        or os.environ.get("REWARDKIT_TEST_POSTGRES_URL"),
        help="a PostgreSQL URL for the PostgresStore comparison (default: "
        "$REWARDKIT_BENCH_POSTGRES_URL or $REWARDKIT_TEST_POSTGRES_URL)",
    )
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    chosen = args.only or SECTIONS
    report = Report()
    started = time.perf_counter()
    print(f"# rewardkit benchmarks ({'quick' if args.quick else 'full'})\n")
    print(
        f"python {platform.python_version()} on {platform.machine()}, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}"
    )
    files = Files(args.dir)
    runs: dict[str, Callable[[], None]] = {
        "engine": lambda: engine_section(report, sizes),
        "stores": lambda: stores_section(report, sizes, args.dir, args.postgres),
        "simulate": lambda: simulate_section(report, sizes, args.dir),
        "parts": lambda: parts_section(report, sizes, args.dir),
        "latency": lambda: latency_section(report, sizes, args.dir),
        "history": lambda: history_section(report, sizes, args.dir),
        "members": lambda: members_section(report, sizes, files),
        "sweep": lambda: sweep_section(report, sizes, files),
        "memory": lambda: memory_section(report, sizes),
    }
    try:
        for name in SECTIONS:
            if name in chosen:
                runs[name]()
    finally:
        files.remove()
    print(
        f"\n(run took {time.perf_counter() - started:.0f} s; load average now "
        f"{os.getloadavg()[0]:.1f})"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(report.sections, indent=2, default=str))
    return report


if __name__ == "__main__":
    sys.exit(1 if main().problems else 0)
