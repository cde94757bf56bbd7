"""The benchmarks, in their quick form: every section runs, and the contenders agree on
the reference workload's points (no timing is asserted: CI machines are shared)."""

from __future__ import annotations

import importlib.util
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
