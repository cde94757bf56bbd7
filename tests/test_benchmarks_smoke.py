"""The benchmarks, in their quick form: every section runs, and the contenders agree on
the reference workload's points (no timing is asserted: CI machines are shared)."""

from __future__ import annotations

import importlib.util
import sqlite3
from pathlib import Path

import pytest
from benchmarks import engines, run, workload
from benchmarks.peers import available

pytestmark = pytest.mark.slow


def test_every_benchmark_runs_in_quick_mode_and_the_contenders_agree(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = run.main(["--quick", "--dir", str(tmp_path), "--json", str(tmp_path / "r.json")])
    printed = capsys.readouterr().out
    assert report.problems == [], report.problems
    for title in (
        "Pure evaluation of the reference workload",
        "record() on SQLite, synchronous=FULL",
        "record() on SQLite, synchronous=NORMAL",
        "simulate into SQLite, synchronous=FULL",
        "Where record's time goes, SQLite, synchronous=NORMAL",
        "Where record_many's time goes, SQLite, synchronous=FULL",
        "on a warm file)",
        "Pages a commit writes to the write-ahead log",
        "evaluate's own time per action, after a pause",
        "Latency of single record() calls",
        "A member's history",
        "Members in the file",
        "expire(at) with 1% of the members due",
        "Peak memory of a simulation in memory",
    ):
        assert title in printed, title
    assert (tmp_path / "r.json").exists()
    assert list(tmp_path.iterdir()) == [tmp_path / "r.json"]  # database files cleaned up


def test_the_engines_give_the_same_total_points_on_the_reference_workload() -> None:
    program = workload.cafe_program()
    stream = workload.actions(1_500, 150)
    totals = engines.totals(program, stream)
    assert len(set(totals.values())) == 1, totals
    assert totals["hand-written if-chains"] > 0


def test_the_peer_engines_compute_the_reference_points() -> None:
    missing = [
        name for name in ("business_rules", "rule_engine") if importlib.util.find_spec(name) is None
    ]
    if missing:
        pytest.skip(f"the bench extra is not installed ({', '.join(missing)})")
    stream = workload.actions(500, 50)
    expected = sum(map(workload.handwritten_points, stream))
    for name, points in available().items():
        assert not isinstance(points, str), points
        assert sum(map(points, stream)) == expected, name


def test_the_workload_is_the_same_for_the_same_seed() -> None:
    first, second = workload.actions(300, 30), workload.actions(300, 30)
    assert first == second
    assert len({a.member for a in first}) <= 30
    assert {a.kind for a in workload.actions(2_000, 100)} == {
        "purchase",
        "visit",
        "review",
        "referral",
    }
    assert len(workload.cafe_program().rules) == 10


def test_the_parts_benchmark_replays_exactly_the_writes_of_the_run_it_captured(
    tmp_path: Path,
) -> None:
    from benchmarks.parts import Captured

    import rewardkit as rk
    from rewardkit.storage.sqlite import SQLiteStore

    program = workload.cafe_program()
    stream = workload.actions(400, 40)
    captured = Captured()
    kit = rk.Rewards(program, store=captured.store(str(tmp_path / "run.db"), "NORMAL"))
    kit.record_many(stream[:200])
    for action in stream[200:]:
        kit.record(action)
    assert len(captured.units) == len(stream)
    replayed = SQLiteStore(tmp_path / "replay.db", synchronous="NORMAL")
    assert captured.replay(replayed._connection()) == len(captured.statements)
    assert list(replayed.ledgers()) == list(kit.store.ledgers())  # type: ignore[attr-defined]
    members = list(kit.store.members())
    assert [replayed.chain(m) for m in members] == [kit.store.chain(m) for m in members]
    assert all(
        replayed.receipt("record", a.id) == kit.store.receipt("record", a.id) for a in stream
    )
    kit.close()
    replayed.close()


def test_the_pages_of_each_commit_are_counted_by_their_table_or_index(tmp_path: Path) -> None:
    from benchmarks.pages import pages_per_commit

    probe = sqlite3.connect(":memory:")
    try:
        probe.execute("SELECT * FROM dbstat").fetchall()
    except sqlite3.OperationalError:
        pytest.skip("this SQLite has no dbstat table")
    finally:
        probe.close()
    path = str(tmp_path / "t.db")

    def run() -> sqlite3.Connection:
        connection = sqlite3.connect(path, isolation_level=None)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA wal_autocheckpoint=0")
        connection.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT, w TEXT)")
        connection.execute("CREATE INDEX t_v ON t(v)")
        for n in range(5):  # one commit each: the table's page and the index's
            connection.execute("INSERT INTO t(v) VALUES (?)", (f"v{n}",))
        connection.execute("BEGIN")
        connection.executemany(
            "INSERT INTO t(v, w) VALUES (?, ?)", [(f"w{n}", "x" * 3000) for n in range(3)]
        )
        connection.execute("COMMIT")  # new pages: the file's header page is written too
        return connection

    total, owners = pages_per_commit(path, run, 6)
    assert owners["t_v"] == 1.0
    assert owners["t"] > 1.0  # the sixth commit filled new pages of the table
    assert owners["the file's header page"] == 1 / 6
    assert total == sum(owners.values())
    assert not (tmp_path / "t.db-wal").exists()  # closed: the log was checkpointed away
    with pytest.raises(ValueError, match="the log holds 0 commits, not the last 1"):
        pages_per_commit(str(tmp_path / "empty.db"), lambda: _empty(tmp_path / "empty.db"), 1)


def _empty(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    return connection


def test_frames_left_from_before_the_log_restarted_are_not_counted(tmp_path: Path) -> None:
    from benchmarks.pages import commits_in_wal

    path = tmp_path / "restarted.db"
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA wal_autocheckpoint=0")
    connection.execute("CREATE TABLE t(v TEXT)")
    for n in range(20):
        connection.execute("INSERT INTO t VALUES (?)", (str(n),))
    connection.execute("PRAGMA wal_checkpoint")
    connection.execute("INSERT INTO t VALUES ('after')")  # the log restarts: one commit
    log = (tmp_path / "restarted.db-wal").read_bytes()
    connection.close()
    assert len(commits_in_wal(log)) == 1


def test_evaluate_after_pauses_times_every_pause_on_the_same_points(tmp_path: Path) -> None:
    from benchmarks.idle import PAUSES, evaluate_after_pauses

    found = evaluate_after_pauses(
        workload.cafe_program(), workload.actions(20, 5), str(tmp_path), rounds=2
    )
    assert set(found) == set(PAUSES)
    assert all(micros > 0 for micros, _ in found.values())
    assert list(tmp_path.iterdir()) == []  # its file is removed
