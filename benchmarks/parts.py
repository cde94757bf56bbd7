"""Where the time of ``record`` and ``record_many`` on SQLite goes: each part timed over
the very commits a real run made, side by side, and the best ratio a target could reach
if everything else cost nothing.

A real run records the actions into a new file, through a store that keeps every commit
that landed: its units, and the statements of its write transaction with their
parameters.  Then, in rounds, alongside the whole call:

- ``evaluate``: the pure engine on the same actions, from new members;
- encoding the commit units for SQL (the receipt's request and outcome, the state, the
  lots kept as rows), each lot's text made afresh as on its first commit;
- hashing their ledger entries (the chain);
- the write transactions' SQL alone, replayed on a new file with the values encoded in
  advance;
- the four together, commit after commit, as a call does them;
- the raw loop of the store comparison (one action per transaction), for ``record``.

The bound: ``record`` cannot reach more than raw / (the four together) of the raw loop,
and ``record_many`` not more than evaluate / (the four together) of the pure engine,
while a commit stores what it stores now.
"""

from __future__ import annotations

import gc
import os
import sqlite3
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import rewardkit as rk
from rewardkit.model import Contribution, Lot, MemberState
from rewardkit.storage.base import Commit
from rewardkit.storage.chain import link

from .engines import fold
from .harness import Trial
from .stores import RawSQLite, record_all, record_batches

__all__ = ["LEAST", "TOGETHER", "Captured", "parts_trials", "replay"]

# The parts no call can do without, while a commit stores what it stores now.
LEAST = ("evaluate", "encoding the commits", "hashing their entries", "their SQL alone")
TOGETHER = "the four, commit after commit"

Statement = tuple[str, str, Any]  # "one" or "many", the SQL, its parameters


class _Recording:
    """A connection that notes every statement of the write transactions run on it."""

    def __init__(self, connection: sqlite3.Connection, into: list[Statement]) -> None:
        self._connection = connection
        self._into = into
        self._writing = False

    def execute(self, sql: str, parameters: Sequence[Any] = ()) -> sqlite3.Cursor:
        if sql == "BEGIN IMMEDIATE":
            self._writing = True
        if self._writing:
            self._into.append(("one", sql, tuple(parameters)))
        if sql in ("COMMIT", "ROLLBACK"):
            self._writing = False
        return self._connection.execute(sql, parameters)

    def executemany(self, sql: str, rows: Any) -> sqlite3.Cursor:
        rows = [tuple(row) for row in rows]
        if self._writing:
            self._into.append(("many", sql, rows))
        return self._connection.executemany(sql, rows)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._connection, name)


class Captured:
    """What a real run committed: its units and its write transactions' statements,
    and each commit's units with its own transaction's statements."""

    def __init__(self) -> None:
        self.units: list[Commit] = []
        self.statements: list[Statement] = []
        self.commits: list[tuple[Sequence[Commit], list[Statement]]] = []
        self.pending: list[Statement] = []  # the statements of the commit under way
        self.pending_on = False

    def store(self, path: str, synchronous: str) -> Any:
        """A SQLiteStore at ``path`` that keeps its commits here."""
        from rewardkit.storage.sqlite import SQLiteStore

        captured = self

        class CapturingStore(SQLiteStore):
            @contextmanager
            def _using(self) -> Iterator[Any]:  # type: ignore[override]
                with super()._using() as connection:
                    yield (
                        _Recording(connection, captured.pending)
                        if captured.pending_on
                        else connection
                    )

            def commit_many(self, units: Sequence[Commit]) -> None:
                # Only what a commit that landed wrote: a refused one (a stale version)
                # is tried again, and the retry is what the run's work was.
                captured.pending_on, captured.pending = True, []
                try:
                    super().commit_many(units)
                finally:
                    captured.pending_on = False
                captured.units.extend(units)
                captured.statements.extend(captured.pending)
                captured.commits.append((units, captured.pending))

        return CapturingStore(path, synchronous=synchronous)

    def replay(self, connection: sqlite3.Connection) -> int:
        """Run the captured statements again on ``connection``; how many there were."""
        return replay(connection, self.statements)


def replay(connection: sqlite3.Connection, statements: Sequence[Statement]) -> int:
    """Run ``statements`` on ``connection``; how many there were."""
    for kind, sql, parameters in statements:
        if kind == "one":
            connection.execute(sql, parameters).fetchall()
        else:
            connection.executemany(sql, parameters)
    return len(statements)


def _forget_texts(units: Sequence[Commit], keep: frozenset[int] = frozenset()) -> None:
    """Make every lot's and contribution's JSON text again on its next encoding, as on
    its first commit (the texts are kept on them once made), except the items whose
    ``id`` is in ``keep`` (made before the timed commits, on a warm file)."""
    for unit in units:
        items: list[Lot | Contribution] = [*unit.state.lots, *unit.state.metric]
        for item in items:
            if id(item) not in keep:
                object.__setattr__(item, "_data", None)


def parts_trials(
    actions: Sequence[rk.Action],
    program: rk.Program,
    synchronous: str,
    batch: int | None,
    directory: str | None = None,
    warm: int = 0,
) -> tuple[list[Trial], Callable[[], None]]:
    """The whole call and its parts, as trials: ``record`` one action at a time
    (``batch=None``, with the raw loop) or ``record_many`` in batches of ``batch``.

    ``warm``: the first ``warm`` actions are recorded (or their statements replayed)
    before every round, untimed, so that the timed ones find a file in its steady state
    (a write-ahead log already at its working size, checkpoints under way) rather than
    a new one; only the rest are timed."""
    from rewardkit._fastcodec import lot_text
    from rewardkit.storage._lots import ROWS_FROM
    from rewardkit.storage._sql import encode
    from rewardkit.storage.sqlite import SQLiteStore

    folder = tempfile.mkdtemp(prefix="rewardkit-bench-", dir=directory)
    counter = [0]
    state: dict[str, Any] = {}
    first, timed = actions[:warm], actions[warm:]

    def fresh(name: str) -> str:
        counter[0] += 1
        return os.path.join(folder, f"{name}-{counter[0]}.db")

    def record(kit: rk.Rewards, some: Sequence[rk.Action]) -> int:
        return record_all(kit, some) if batch is None else record_batches(kit, some, batch)

    captured = Captured()
    real = rk.Rewards(program, store=captured.store(fresh("captured"), synchronous))
    record(real, first)
    warm_commits, warm_statements = len(captured.commits), len(captured.statements)
    record(real, timed)
    real.close()
    # What the run left (its units and statements, tens of thousands of objects) is kept
    # out of the garbage collector's walks, which would otherwise slow every trial of the
    # section by how much of it there is, not by what the trial does.
    gc.collect()
    gc.freeze()
    commits = captured.commits[warm_commits:]
    units = [unit for commit_units, _ in commits for unit in commit_units]
    statements = captured.statements[warm_statements:]
    before = captured.statements[:warm_statements]
    # The members as the warm-up left them, and the lots and contributions it made
    # (their texts were made then, not by a timed commit).
    warmed: dict[str, MemberState] = {}
    fold(program, first, warmed)
    made_before = frozenset(
        id(item)
        for commit_units, _ in captured.commits[:warm_commits]
        for unit in commit_units
        for item in (*unit.state.lots, *unit.state.metric)
    )

    def close() -> None:
        for key in ("kit", "store", "raw"):
            item = state.pop(key, None)
            if item is not None:
                item.close()

    def setup_whole() -> None:
        close()
        state["kit"] = rk.Rewards(
            program, store=SQLiteStore(fresh("whole"), synchronous=synchronous)
        )
        record(state["kit"], first)

    def setup_sql() -> None:
        close()
        state["store"] = SQLiteStore(fresh("sql"), synchronous=synchronous)
        replay(state["store"]._connection(), before)

    def setup_raw() -> None:
        close()
        state["raw"] = RawSQLite(fresh("raw"), synchronous)
        state["raw"].record_all(first)

    def sql_alone() -> int:
        return replay(state["store"]._connection(), statements)

    def encode_unit(unit: Commit) -> int:
        """What a commit encodes: the unit and, when its lots are rows, the text of
        each lot not encoded yet (written in the store's transaction, made once per lot
        as in the run)."""
        size = len(encode(unit).text)
        if len(unit.state.lots) >= ROWS_FROM:
            size += sum(map(len, map(lot_text, unit.state.lots)))
        return size

    def encoding() -> int:
        return sum(map(encode_unit, units))

    def hashing() -> int:
        return sum(len(link(unit.member, None, unit.entries)) for unit in units)

    recorded = {action.id: action for action in timed}

    def together() -> int:
        """The four parts as a call does them: commit after commit, each evaluating its
        actions, encoding and hashing its units, then running its transaction."""
        connection = state["store"]._connection()
        states = dict(warmed)
        total = 0
        for commit_units, commit_statements in commits:
            for unit in commit_units:
                if unit.receipt is not None and unit.receipt.operation == "record":
                    total += fold(program, [recorded[unit.receipt.id]], states)
            for unit in commit_units:
                encode_unit(unit)
                link(unit.member, None, unit.entries)
            replay(connection, commit_statements)
        return total

    def forget() -> None:
        _forget_texts(units, made_before)

    def setup_together() -> None:
        setup_sql()
        forget()

    whole = "record" if batch is None else f"record_many ({batch} per commit)"
    count = len(timed)
    trials = [
        Trial(f"{whole}, whole", lambda: record(state["kit"], timed), count, setup=setup_whole),
        Trial("evaluate", lambda: fold(program, timed, dict(warmed)), count),
        Trial("encoding the commits", encoding, count, setup=forget),
        Trial("hashing their entries", hashing, count),
        Trial("their SQL alone", sql_alone, count, setup=setup_sql),
        Trial(TOGETHER, together, count, setup=setup_together),
    ]
    if batch is None:
        trials.append(
            Trial("raw sqlite3 loop", lambda: state["raw"].record_all(timed), count, setup_raw)
        )

    def cleanup() -> None:
        gc.unfreeze()
        close()
        for name in os.listdir(folder):
            os.remove(os.path.join(folder, name))
        os.rmdir(folder)

    return trials, cleanup
