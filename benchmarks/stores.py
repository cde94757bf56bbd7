"""``Rewards.record`` on the SQL stores, side by side with the least a hand-written
loop must do for the same durability: insert the action id, append a ledger row and
update a balance row, one transaction per action."""

from __future__ import annotations

import os
import sqlite3
import tempfile
from collections.abc import Callable, Sequence
from typing import Any

import rewardkit as rk

from .harness import Trial
from .workload import handwritten_points

__all__ = [
    "RawPostgres",
    "RawSQLite",
    "postgres_trials",
    "record_all",
    "record_batches",
    "sqlite_trials",
]


def record_all(kit: rk.Rewards, actions: Sequence[rk.Action]) -> int:
    """Record every action; the total points they earned."""
    total = 0
    for action in actions:
        total += kit.record(action).points
    return total


def record_batches(kit: rk.Rewards, actions: Sequence[rk.Action], batch: int) -> int:
    """Record every action with ``record_many``, ``batch`` at a time; the total points."""
    total = 0
    for start in range(0, len(actions), batch):
        for result in kit.record_many(actions[start : start + batch]):
            assert isinstance(result, rk.Outcome), result
            total += result.points
    return total


class RawSQLite:
    """The minimal same-durability work in plain sqlite3 (WAL, the same synchronous)."""

    def __init__(self, path: str, synchronous: str) -> None:
        self.connection = sqlite3.connect(path, isolation_level=None)
        self.connection.execute("PRAGMA journal_mode=WAL")
        self.connection.execute(f"PRAGMA synchronous={synchronous}")
        self.connection.executescript(
            "CREATE TABLE IF NOT EXISTS actions(id TEXT PRIMARY KEY);"
            "CREATE TABLE IF NOT EXISTS ledger(member TEXT, seq INTEGER, points INTEGER,"
            " PRIMARY KEY(member, seq));"
            "CREATE TABLE IF NOT EXISTS balances(member TEXT PRIMARY KEY, balance INTEGER,"
            " entries INTEGER);"
        )

    def record_all(self, actions: Sequence[rk.Action]) -> int:
        run = self.connection.execute
        total = 0
        for action in actions:
            points = handwritten_points(action)
            run("BEGIN IMMEDIATE")
            run("INSERT INTO actions(id) VALUES (?)", (action.id,))
            row = run(
                "INSERT INTO balances(member, balance, entries) VALUES (?, ?, 1)"
                " ON CONFLICT(member) DO UPDATE SET balance = balance + excluded.balance,"
                " entries = entries + 1 RETURNING entries",
                (action.member, points),
            ).fetchone()
            run(
                "INSERT INTO ledger(member, seq, points) VALUES (?, ?, ?)",
                (action.member, row[0], points),
            )
            run("COMMIT")
            total += points
        return total

    def close(self) -> None:
        self.connection.close()


def sqlite_trials(
    actions: Sequence[rk.Action],
    program: rk.Program,
    synchronous: str,
    directory: str | None = None,
) -> tuple[list[Trial], Callable[[], None]]:
    """A rewardkit trial and a raw-loop trial at one synchronous setting; each round
    starts from new, empty files (made untimed, in ``setup``)."""
    from rewardkit.storage.sqlite import SQLiteStore

    folder = tempfile.mkdtemp(prefix="rewardkit-bench-", dir=directory)
    state: dict[str, Any] = {}
    counter = [0]

    def fresh(name: str) -> str:
        counter[0] += 1
        path = os.path.join(folder, f"{name}-{counter[0]}.db")
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(path + suffix):
                os.remove(path + suffix)
        return path

    def setup_kit() -> None:
        close_all()
        store = SQLiteStore(fresh("rewardkit"), synchronous=synchronous)
        state["kit"] = rk.Rewards(program, store=store)

    def setup_raw() -> None:
        close_all()
        state["raw"] = RawSQLite(fresh("raw"), synchronous)

    def close_all() -> None:
        for key in ("kit", "raw"):
            item = state.pop(key, None)
            if item is not None:
                item.close()

    label = synchronous.lower()
    trials = [
        Trial(
            f"rewardkit SQLiteStore ({label})",
            lambda: record_all(state["kit"], actions),
            len(actions),
            setup=setup_kit,
        ),
        Trial(
            f"raw sqlite3 loop ({label})",
            lambda: state["raw"].record_all(actions),
            len(actions),
            setup=setup_raw,
        ),
    ]

    def cleanup() -> None:
        close_all()
        for name in os.listdir(folder):
            os.remove(os.path.join(folder, name))
        os.rmdir(folder)

    return trials, cleanup


class RawPostgres:
    """The minimal same-durability work in plain psycopg, in its own schema."""

    def __init__(self, url: str, schema: str) -> None:
        import psycopg

        self.connection = psycopg.connect(url, autocommit=True)
        self.schema = schema
        run = self.connection.execute
        run(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        run(f"CREATE SCHEMA {schema}")
        run(f"CREATE TABLE {schema}.actions(id TEXT PRIMARY KEY)")
        run(
            f"CREATE TABLE {schema}.ledger(member TEXT, seq BIGINT, points BIGINT,"
            " PRIMARY KEY(member, seq))"
        )
        run(
            f"CREATE TABLE {schema}.balances(member TEXT PRIMARY KEY, balance BIGINT,"
            " entries BIGINT)"
        )

    def record_all(self, actions: Sequence[rk.Action]) -> int:
        s = self.schema
        total = 0
        connection = self.connection
        for action in actions:
            points = handwritten_points(action)
            with connection.transaction():
                connection.execute(f"INSERT INTO {s}.actions(id) VALUES (%s)", (action.id,))
                row = connection.execute(
                    f"INSERT INTO {s}.balances(member, balance, entries) VALUES (%s, %s, 1)"
                    f" ON CONFLICT(member) DO UPDATE SET balance = {s}.balances.balance"
                    f" + excluded.balance, entries = {s}.balances.entries + 1 RETURNING entries",
                    (action.member, points),
                ).fetchone()
                assert row is not None
                connection.execute(
                    f"INSERT INTO {s}.ledger(member, seq, points) VALUES (%s, %s, %s)",
                    (action.member, row[0], points),
                )
            total += points
        return total

    def close(self) -> None:
        self.connection.execute(f"DROP SCHEMA IF EXISTS {self.schema} CASCADE")
        self.connection.close()


def postgres_trials(
    actions: Sequence[rk.Action], program: rk.Program, url: str
) -> tuple[list[Trial], Callable[[], None]]:
    """A rewardkit PostgresStore trial and a raw psycopg trial, each round in new
    schemas of the database at ``url``."""
    from rewardkit.storage.postgres import PostgresStore

    state: dict[str, Any] = {}
    counter = [0]

    def drop(schema: str) -> None:
        import psycopg

        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")

    def close_all() -> None:
        kit = state.pop("kit", None)
        if kit is not None:
            schema = kit.store.schema
            kit.close()
            drop(schema)
        raw = state.pop("raw", None)
        if raw is not None:
            raw.close()

    def setup_kit() -> None:
        close_all()
        counter[0] += 1
        schema = f"rk_bench_kit_{os.getpid()}_{counter[0]}"
        drop(schema)
        store = PostgresStore(url, schema=schema, pool=False)
        state["kit"] = rk.Rewards(program, store=store)

    def setup_raw() -> None:
        close_all()
        counter[0] += 1
        state["raw"] = RawPostgres(url, f"rk_bench_raw_{os.getpid()}_{counter[0]}")

    trials = [
        Trial(
            "rewardkit PostgresStore",
            lambda: record_all(state["kit"], actions),
            len(actions),
            setup=setup_kit,
        ),
        Trial(
            "raw psycopg loop",
            lambda: state["raw"].record_all(actions),
            len(actions),
            setup=setup_raw,
        ),
    ]
    return trials, close_all


def simulate_trials(
    actions: Sequence[rk.Action],
    program: rk.Program,
    synchronous: str,
    directory: str | None = None,
    batch: int = 1000,
) -> tuple[list[Trial], Callable[[], None]]:
    """``simulate`` into SQLite (``Rewards.record_many``, ``batch`` actions per
    commit) side by side with the pure engine on the same actions."""
    from rewardkit.storage.sqlite import SQLiteStore

    from .engines import fold

    folder = tempfile.mkdtemp(prefix="rewardkit-bench-", dir=directory)
    state: dict[str, Any] = {}
    counter = [0]

    def setup() -> None:
        close()
        counter[0] += 1
        path = os.path.join(folder, f"simulate-{counter[0]}.db")
        state["kit"] = rk.Rewards(program, store=SQLiteStore(path, synchronous=synchronous))

    def close() -> None:
        kit = state.pop("kit", None)
        if kit is not None:
            kit.close()
            for name in os.listdir(folder):
                os.remove(os.path.join(folder, name))

    def simulate() -> int:
        return record_batches(state["kit"], actions, batch)

    trials = [
        Trial("rewardkit evaluate (pure)", lambda: fold(program, actions, {}), len(actions)),
        Trial(
            f"simulate into SQLite ({synchronous.lower()}, {batch} per commit)",
            simulate,
            len(actions),
            setup=setup,
        ),
    ]

    def cleanup() -> None:
        close()
        os.rmdir(folder)

    return trials, cleanup
