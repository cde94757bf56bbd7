"""Real processes on one SQLite file: nothing lost, nothing spent twice, crash-safe."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import rewardkit as rk

from .conftest import at, cafe_program

ROOT = Path(__file__).resolve().parent.parent


def worker(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests._workers", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def assert_ledger_explains_balance(kit: rk.Rewards, member: str) -> None:
    history = kit.history(member)
    assert [e.seq for e in history] == list(range(len(history)))
    assert kit.balance(member) == sum(e.points for e in history)
    assert all(e.balance >= 0 for e in history)


def test_state_written_by_one_process_is_read_by_another(tmp_path: Path) -> None:
    db = tmp_path / "rewards.db"
    proc = worker("record", str(db), "ana", "w", "5")
    printed, err = proc.communicate(timeout=60)
    assert printed.split() == [f"w-{i}" for i in range(5)]
    assert proc.returncode == 0, err
    with rk.Rewards(cafe_program(), store=f"sqlite:///{db}") as kit:
        assert kit.balance("ana") == 5 + 50  # 1 point per purchase + the welcome bonus
        assert_ledger_explains_balance(kit, "ana")


def test_two_processes_redeeming_never_spend_a_point_twice(tmp_path: Path) -> None:
    db = tmp_path / "rewards.db"
    with rk.Rewards(cafe_program(), store=f"sqlite:///{db}") as kit:
        # 50 welcome + 500 = 550 points: exactly five coffees of 100.
        kit.record(
            rk.Action(
                id="big", member="ana", kind="purchase", at=at("2026-03-04 10:00"), amount="500"
            )
        )
    procs = [worker("redeem", str(db), "ana", f"p{n}", "6") for n in range(3)]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        results.extend(out.split())
    assert results.count("redeemed") == 5
    assert results.count("insufficient") == 13
    with rk.Rewards(cafe_program(), store=f"sqlite:///{db}") as kit:
        assert kit.balance("ana") == 50
        redeemed = [e for e in kit.history("ana") if e.kind == "redeem"]
        assert len(redeemed) == 5
        assert_ledger_explains_balance(kit, "ana")


def test_concurrent_writers_on_one_member_lose_no_update(tmp_path: Path) -> None:
    db = tmp_path / "rewards.db"
    rk.Rewards(cafe_program(), store=f"sqlite:///{db}").close()  # create the schema
    procs = [worker("record", str(db), "ana", f"w{n}", "25") for n in range(3)]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    with rk.Rewards(cafe_program(), store=f"sqlite:///{db}") as kit:
        assert kit.balance("ana") == 75 + 50
        assert_ledger_explains_balance(kit, "ana")


def test_a_crash_between_calls_loses_nothing_committed(tmp_path: Path) -> None:
    db = tmp_path / "rewards.db"
    proc = worker("record", str(db), "ana", "w", "100000")
    assert proc.stdout is not None
    committed = []
    deadline = time.monotonic() + 60
    while len(committed) < 40 and time.monotonic() < deadline:
        committed.append(proc.stdout.readline().strip())
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert len(committed) == 40
    with rk.Rewards(cafe_program(), store=f"sqlite:///{db}") as kit:
        causes = {e.cause for e in kit.history("ana")}
        assert set(committed) <= causes  # every call that returned is there
        assert_ledger_explains_balance(kit, "ana")
        # A whole call is there or none of it: one base entry per recorded action.
        base_entries = [e for e in kit.history("ana") if e.reason == "base"]
        assert len(base_entries) == len(causes)
