"""Real processes racing over one store, on SQLite and on PostgreSQL.

* 8 processes each try 100 redemptions of one member's balance: exactly
  floor(balance / cost) succeed, the balance never goes negative, and a reward's stock,
  raced for at the same time, is never oversold.
* 6 processes mix earning, redeeming and (partial) reversals on two members: the final
  state equals a serial replay of the committed calls, in the order they committed.

Every worker retries a ``ConcurrencyConflict`` with the same id, as a host should.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

import rewardkit as rk
from rewardkit import _codec
from rewardkit.storage import Receipt, Store, open_store, verify

from ._postgres import raw, schemas
from ._workers import START, mixed_program, race_program

ROOT = Path(__file__).resolve().parent.parent

Query = Callable[[str], list[tuple[Any, ...]]]

pytestmark = pytest.mark.slow


@pytest.fixture(params=["sqlite", "postgres"])
def place(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Query]]:
    """A store URL, and a way to read its tables with plain SQL."""
    if request.param == "sqlite":
        path = tmp_path / "rewards.db"

        def query_sqlite(sql: str) -> list[tuple[Any, ...]]:
            with closing(sqlite3.connect(path)) as connection:
                return connection.execute(sql).fetchall()

        yield f"sqlite:///{path}", query_sqlite
    else:
        with schemas() as made:
            name = made.new()

            def query_postgres(sql: str) -> list[tuple[Any, ...]]:
                with raw(made.url, name) as connection:
                    return list(connection.execute(sql).fetchall())

            yield made.url_for(name), query_postgres


def run_workers(command: str, url: str, tmp_path: Path, processes: int, count: int) -> list[Any]:
    """Start the workers, release them together once all are ready, and read reports."""
    go = tmp_path / "go"
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "tests._workers", command, url, str(go), str(tag), str(count)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for tag in range(processes)
    ]
    try:
        deadline = time.monotonic() + 60
        while not all(Path(f"{go}.{tag}").exists() for tag in range(processes)):
            assert time.monotonic() < deadline, "the workers did not start"
            assert all(worker.poll() is None for worker in workers), workers[0].stderr
            time.sleep(0.01)
        go.touch()
        reports = []
        for worker in workers:
            out, err = worker.communicate(timeout=120)
            assert worker.returncode == 0, err
            reports.append(json.loads(out))
        return reports
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()


def purchase(request_id: str, member: str, amount: str) -> rk.Action:
    return rk.Action(id=request_id, member=member, kind="purchase", at=START, amount=amount)


def test_eight_processes_redeeming_one_balance_spend_every_point_once(
    place: tuple[str, Query], tmp_path: Path
) -> None:
    url, _ = place
    program = race_program()
    with rk.Rewards(program, store=url) as kit:
        kit.record(purchase("seed", "ana", "1005"))  # 1005 points: 100 coffees of 10
        for tag in range(8):
            kit.record(purchase(f"seed-{tag}", f"buyer-{tag}", "100"))
    reports = run_workers("race", url, tmp_path, processes=8, count=100)

    coffees = [request_id for report in reports for request_id in report["coffee"]]
    mugs = [request_id for report in reports for request_id in report["mug"]]
    assert len(coffees) == 1005 // 10
    assert len(mugs) == 25  # 80 tries for a stock of 25
    assert sum(report["refused"] for report in reports) == 800 + 80 - 100 - 25
    with closing(open_store(url)) as store:
        ledger = store.history("ana")
        assert sorted(e.cause for e in ledger if e.kind == "redeem") == sorted(coffees)
        assert all(entry.balance >= 0 for entry in ledger)
        assert store.load("ana").state.balance() == 5
        assert store.counter(program.reward("mug").stock_key) == 25
        for tag in range(8):
            won = sum(1 for request_id in mugs if request_id.startswith(f"{tag}-"))
            assert store.load(f"buyer-{tag}").state.balance() == 100 - won
        for request_id in coffees + mugs:
            assert store.receipt("redeem", request_id) is not None
        assert verify(store).ok


def replay(kit: rk.Rewards, receipt: Receipt) -> rk.Outcome:
    """Make the call a receipt records, again, on another store."""
    request = receipt.request
    when = datetime.fromisoformat(request["at"]) if "at" in request else None
    if receipt.operation == "record":
        return kit.record(_codec.from_data(request, rk.Action))
    if receipt.operation == "redeem":
        return kit.redeem(request["member"], request["reward"], id=receipt.id, at=when)
    return kit.reverse(request["action"], id=receipt.id, at=when, amount=request["amount"])


def test_a_mixed_load_ends_as_a_serial_replay_of_the_committed_calls(
    place: tuple[str, Query], tmp_path: Path
) -> None:
    url, query = place
    rk.Rewards(mixed_program(), store=url).close()  # the schema, before the race
    reports = run_workers("mixed", url, tmp_path, processes=6, count=40)
    results = {request_id: result for report in reports for request_id, result in report.items()}
    assert len(results) == 240

    # Each receipt records the member version its commit made: the commit order.
    order = query("SELECT member, operation, id FROM receipts ORDER BY member, version")
    assert sorted(request_id for *_, request_id in order) == sorted(
        request_id for request_id, result in results.items() if result == "ok"
    )
    assert {result for result in results.values()} <= {"ok", "InsufficientPoints", "InvalidAction"}
    serial = rk.Rewards(mixed_program(), store="memory://")
    with closing(open_store(url)) as store:
        for _, operation, request_id in order:
            receipt = store.receipt(operation, request_id)
            assert receipt is not None
            assert replay(serial, receipt) == receipt.outcome
        for member in ("ana", "bob"):
            assert serial.store.load(member) == store.load(member)
            assert serial.store.chain(member) == store.chain(member)  # hashes too
            assert all(entry.balance >= 0 for entry in store.history(member))
        assert verify(store).ok
    assert_members(serial.store, ["ana", "bob"])


def assert_members(store: Store, members: list[str]) -> None:
    assert list(store.members()) == members
