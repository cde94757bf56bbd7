"""SQLiteStore beyond the shared contract: file format, errors, locking, real processes."""

from __future__ import annotations

import gc
import json
import multiprocessing
import os
import sqlite3
import subprocess
import sys
import threading
import time
import weakref
from pathlib import Path
from typing import Any

import pytest

from rewardkit._fastcodec import dumps_state
from rewardkit.errors import StoreError
from rewardkit.model import CounterChange
from rewardkit.storage import migrate, open_store, verify
from rewardkit.storage.base import Commit, Store
from rewardkit.storage.chain import link
from rewardkit.storage.sqlite import SCHEMA_VERSION, SQLiteStore
from rewardkit.testing.store_contract import make_commit

from ._waiting import eventually

STOCK = "reward-stock:x"

# One racing process: wait for the "go" file, open the store, then commit ``count``
# times with load/commit/retry loops, and print what landed as JSON.
WORKER = """
import json, os, sys, time
from rewardkit.model import CounterChange
from rewardkit.storage.base import CounterLimitExceeded, StaleVersion
from rewardkit.storage.sqlite import SQLiteStore
from rewardkit.testing.store_contract import make_commit

path, go, tag, count, mode = sys.argv[1:]
open(go + "." + tag, "w").close()
while not os.path.exists(go):
    time.sleep(0.002)
store = SQLiteStore(path)
member = "ana" if mode == "one-member" else "buyer-" + tag
counters = [CounterChange("reward-stock:x", 1, limit=10)] if mode == "stock" else []
landed = refused = retries = 0
for number in range(int(count)):
    while True:
        unit = make_commit(store.load(member), tag + "-" + str(number), 1, counters=counters)
        try:
            store.commit(unit)
            landed += 1
        except StaleVersion:
            retries += 1
            continue
        except CounterLimitExceeded:
            refused += 1
        break
store.close()
print(json.dumps({"landed": landed, "refused": refused, "retries": retries}))
"""


def race(path: Path, processes: int, count: int, mode: str) -> list[dict[str, int]]:
    """Start ``processes`` workers, release them at once, and collect their reports."""
    go = path.parent / "go"
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(path), str(go), str(tag), str(count), mode],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for tag in range(processes)
    ]
    try:
        deadline = time.monotonic() + 30
        while not all(Path(f"{go}.{tag}").exists() for tag in range(processes)):
            assert time.monotonic() < deadline, "the workers did not start"
            assert all(worker.poll() is None for worker in workers), "a worker died early"
            time.sleep(0.01)
        go.touch()
        reports = []
        for worker in workers:
            out, err = worker.communicate(timeout=60)
            assert worker.returncode == 0, err
            reports.append(json.loads(out))
        return reports
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "rewards.db"


@pytest.fixture
def store(path: Path) -> Any:
    with SQLiteStore(path) as opened:
        yield opened


def first_commit(store: Store, request_id: str = "order-1", member: str = "ana") -> Commit:
    return make_commit(store.load(member), request_id)


# ------------------------------------------------------------------ the file


def test_database_is_in_wal_mode(store: SQLiteStore, path: Path) -> None:
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_connections_sync_fully_so_a_crash_loses_nothing_committed(store: SQLiteStore) -> None:
    full = 2
    assert store._connection().execute("PRAGMA synchronous").fetchone()[0] == full


def test_schema_version_is_recorded_in_the_file(store: SQLiteStore, path: Path) -> None:
    with sqlite3.connect(path) as raw:
        rows = raw.execute("SELECT version FROM rewardkit_schema ORDER BY version").fetchall()
    assert rows == [(1,), (2,), (3,), (4,), (5,), (6,)]  # one row per migration applied
    assert SCHEMA_VERSION == 6
    assert store.migrated is not None and store.migrated.applied == (1, 2, 3, 4, 5, 6)


def test_reopening_an_existing_file_applies_nothing_again(path: Path) -> None:
    for _ in range(3):
        SQLiteStore(path).close()
    with SQLiteStore(path) as store:
        assert store.migrated is None
    with sqlite3.connect(path) as raw:
        assert raw.execute("SELECT count(*) FROM rewardkit_schema").fetchone()[0] == 6


def test_newer_schema_version_is_refused_naming_both_versions(path: Path) -> None:
    with SQLiteStore(path) as store:
        store.commit(first_commit(store))
    with sqlite3.connect(path) as raw:
        raw.execute("UPDATE rewardkit_schema SET version = 7")
    with pytest.raises(StoreError, match=r"version 7, newer than version 6"):
        SQLiteStore(path)
    with pytest.raises(StoreError, match=r"version 7, newer than version 6"):
        migrate(f"sqlite:///{path}")
    with sqlite3.connect(path) as raw:
        assert raw.execute("SELECT version FROM members").fetchall() == [(1,)]


def make_version_3(path: Path) -> list[Commit]:
    """A file as rewardkit wrote it before lots were rows (schema version 3): each
    member's lots inside the state's text."""
    units = []
    with SQLiteStore(path) as store:
        for number, member in enumerate(["ana", "ana", "bob", "ana"]):
            units.append(make_commit(store.load(member), f"order-{number}"))
            store.commit(units[-1])
        states = {member: store.load(member).state for member in ("ana", "bob")}
    with sqlite3.connect(path) as raw:
        for member, state in states.items():
            whole = dumps_state(state)
            raw.execute("UPDATE members SET state = ? WHERE id = ?", (whole, member))
        raw.execute("DROP TABLE lots")
        raw.execute("ALTER TABLE members DROP COLUMN split")
        raw.execute("DROP TABLE metric")
        raw.execute("ALTER TABLE members DROP COLUMN metric_rows")
        raw.execute("DELETE FROM rewardkit_schema WHERE version >= 4")
    return units


def test_a_version_3_file_is_migrated_and_its_members_read_the_same(
    path: Path,
) -> None:
    units = make_version_3(path)
    with SQLiteStore(path) as store:
        assert store.migrated is not None and store.migrated.applied == (4, 5, 6)
        before = store.load("ana")
        assert before.state == units[-1].state and len(before.state.lots) == 3
        with sqlite3.connect(path) as raw:
            assert raw.execute("SELECT count(*) FROM lots").fetchone() == (0,)
        unit = make_commit(before, "order-9")
        store.commit(unit)
        with sqlite3.connect(path) as raw:
            split, text = raw.execute(
                "SELECT split, state FROM members WHERE id = 'ana'"
            ).fetchone()
            keys = [row[0] for row in raw.execute("SELECT key FROM lots WHERE member = 'ana'")]
        # a few lots stay in the text (rows from ROWS_FROM lots on: tests/test_lots_as_rows.py)
        assert split == 0 and '"lots":[{' in text and keys == [] and len(unit.state.lots) == 4
        with SQLiteStore(path) as fresh:  # nothing kept: read from the file
            assert fresh.load("ana").state == unit.state
            assert fresh.load("bob").state == units[2].state  # still in its text
        assert verify(store).ok


def make_version_1(path: Path) -> list[Commit]:
    """A file as rewardkit wrote it before ledgers were chained (schema version 1)."""
    units = make_version_3(path)
    with sqlite3.connect(path) as raw:
        raw.execute("ALTER TABLE entries DROP COLUMN hash")
        raw.execute("ALTER TABLE members DROP COLUMN head")
        raw.execute("ALTER TABLE receipts DROP COLUMN version")
        raw.execute("DROP TABLE scores")
        raw.execute("DELETE FROM rewardkit_schema WHERE version >= 2")
    return units


def test_a_version_1_file_is_migrated_on_open_and_its_ledgers_chained(path: Path) -> None:
    units = make_version_1(path)
    with SQLiteStore(path) as store:
        assert store.migrated is not None
        assert (store.migrated.before, store.migrated.after) == (1, 6)
        assert verify(store).ok
        ana = [entry for unit in units if unit.member == "ana" for entry in unit.entries]
        assert [item.hash for item in store.chain("ana").links] == link("ana", None, ana)
        store.commit(make_commit(store.load("ana"), "order-9"))  # and it goes on
        assert verify(store).ok and len(store.chain("ana").links) == 4


def test_without_auto_migrate_an_old_file_is_refused_naming_the_command(path: Path) -> None:
    make_version_1(path)
    with pytest.raises(StoreError, match=rf"version 1.*rewardkit migrate sqlite:///{path}"):
        SQLiteStore(path, auto_migrate=False)
    with pytest.raises(StoreError, match="rewardkit migrate"):
        open_store(f"sqlite:///{path}", auto_migrate=False)
    report = migrate(f"sqlite:///{path}")
    assert (report.before, report.after, report.applied) == (1, 6, (2, 3, 4, 5, 6))
    assert "schema version 1 -> 6 (applied 2, 3, 4, 5, 6)" in str(report)
    SQLiteStore(path, auto_migrate=False).close()
    assert "already at version 6" in str(migrate(f"sqlite:///{path}"))


def test_without_auto_migrate_a_new_file_is_refused_too(path: Path) -> None:
    with pytest.raises(StoreError, match="version 0, and this rewardkit needs version 6"):
        SQLiteStore(path, auto_migrate=False)
    assert migrate(f"sqlite:///{path}").applied == (1, 2, 3, 4, 5, 6)


def test_a_memory_store_has_nothing_to_migrate() -> None:
    with pytest.raises(StoreError, match="nothing to migrate"):
        migrate("memory://")


def test_due_reads_the_due_index(store: SQLiteStore) -> None:
    plan = store._connection().execute(
        "EXPLAIN QUERY PLAN SELECT id FROM members WHERE due IS NOT NULL AND due <= ?"
        " ORDER BY due, id",
        (0,),
    )
    assert "USING INDEX members_due" in " ".join(str(row) for row in plan)


# ------------------------------------------------------------------ errors


def test_missing_directory_gives_store_error_naming_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-dir" / "rewards.db"
    with pytest.raises(StoreError, match="no-such-dir") as raised:
        SQLiteStore(missing)
    assert not isinstance(raised.value, sqlite3.Error)


def test_file_that_is_not_a_database_gives_store_error_naming_the_path(tmp_path: Path) -> None:
    junk = tmp_path / "notes.txt"
    junk.write_bytes(b"these are not the tables you are looking for\n" * 100)
    with pytest.raises(StoreError, match=r"notes\.txt"):
        SQLiteStore(junk)


def test_in_memory_database_is_refused_pointing_to_memory_store() -> None:
    with pytest.raises(StoreError, match="MemoryStore"):
        SQLiteStore(":memory:")


def test_use_after_close_gives_store_error(path: Path) -> None:
    store = SQLiteStore(path)
    store.close()
    store.close()  # idempotent
    with pytest.raises(StoreError, match="closed"):
        store.load("ana")


def test_failed_write_rolls_back_the_whole_commit(store: SQLiteStore, path: Path) -> None:
    unit = make_commit(store.load("ana"), "order-1", counters=[CounterChange(STOCK, 1)])
    with sqlite3.connect(path) as raw:  # a stray row: the entry's insert, written last, fails
        raw.execute("INSERT INTO entries(member, seq) VALUES ('ana', 0)")
    with pytest.raises(StoreError, match="UNIQUE constraint failed"):
        store.commit(unit)
    assert store.load("ana").version == 0
    assert store.receipt("record", "order-1") is None
    assert store.counter(STOCK) == 0
    assert list(store.members()) == []
    with sqlite3.connect(path) as raw:
        raw.execute("DELETE FROM entries")
    store.commit(unit)
    assert store.load("ana").version == 1 and store.counter(STOCK) == 1


def test_entries_out_of_step_with_the_state_are_refused_naming_both(store: SQLiteStore) -> None:
    unit = first_commit(store)
    broken = Commit(unit.member, 0, unit.state, unit.entries * 2, unit.receipt)
    with pytest.raises(StoreError, match=r"numbered \[0, 0\].*counts 1 entries"):
        store.commit(broken)
    assert store.load("ana").version == 0


# ------------------------------------------------------------------ opening


def test_open_store_with_an_absolute_sqlite_url_returns_a_sqlite_store(path: Path) -> None:
    store = open_store(f"sqlite:///{path}")  # sqlite:////abs/path
    try:
        assert isinstance(store, SQLiteStore)
        assert store.path == str(path)
    finally:
        store.close()


def test_open_store_with_a_relative_sqlite_url_opens_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    store = open_store("sqlite:///relative.db")
    store.close()
    assert isinstance(store, SQLiteStore)
    assert (tmp_path / "relative.db").exists()


def test_repr_shows_the_path(store: SQLiteStore, path: Path) -> None:
    assert str(path) in repr(store)


def test_context_manager_closes_the_store(path: Path) -> None:
    with SQLiteStore(path) as store:
        store.commit(first_commit(store))
    with pytest.raises(StoreError, match="closed"):
        store.load("ana")


# ------------------------------------------------------------------ locking


def hold_write_lock(path: Path) -> sqlite3.Connection:
    blocker = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    blocker.execute("BEGIN IMMEDIATE")
    return blocker


def test_commit_waits_for_a_write_held_by_another_connection(
    store: SQLiteStore, path: Path
) -> None:
    unit = first_commit(store)
    blocker = hold_write_lock(path)
    release = threading.Timer(0.3, blocker.execute, args=("COMMIT",))
    started = time.monotonic()
    release.start()
    try:
        store.commit(unit)
        waited = time.monotonic() - started
    finally:
        release.join()
        blocker.close()
    assert waited >= 0.25
    assert store.load("ana").version == 1


def test_write_lock_held_past_the_timeout_gives_store_error(path: Path) -> None:
    with SQLiteStore(path, timeout=0.1) as store:
        unit = first_commit(store)
        blocker = hold_write_lock(path)
        try:
            with pytest.raises(StoreError, match="locked") as raised:
                store.commit(unit)
            assert raised.type is StoreError
            assert store.load("ana").version == 0  # reads still work meanwhile
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        store.commit(unit)
        assert store.load("ana").version == 1


def _commit_in_forked_child(store: SQLiteStore) -> None:
    store.commit(first_commit(store, "order-2", member="kid"))
    store.close()


@pytest.mark.skipif(sys.platform == "win32", reason="no fork on Windows")
def test_forked_child_opens_its_own_connection(store: SQLiteStore) -> None:
    store.commit(first_commit(store))
    child = multiprocessing.get_context("fork").Process(
        target=_commit_in_forked_child, args=(store,)
    )
    child.start()
    child.join(timeout=30)
    assert child.exitcode == 0
    assert list(store.members()) == ["ana", "kid"]  # the parent's connection still works
    store.commit(make_commit(store.load("ana"), "order-3"))


# ------------------------------------------------------------------ real processes


@pytest.mark.slow
def test_processes_opening_a_fresh_file_at_once_all_succeed(path: Path) -> None:
    reports = race(path, processes=4, count=1, mode="own-member")
    assert [report["landed"] for report in reports] == [1, 1, 1, 1]


@pytest.mark.slow
def test_processes_racing_on_one_member_never_lose_an_update(path: Path) -> None:
    processes, count = 4, 25
    reports = race(path, processes, count, mode="one-member")
    total = processes * count
    assert [report["landed"] for report in reports] == [count] * processes
    with SQLiteStore(path) as store:
        final = store.load("ana")
        assert final.version == total
        assert final.state.balance() == total
        assert [entry.seq for entry in store.history("ana")] == list(range(total))


@pytest.mark.slow
def test_processes_racing_for_limited_stock_never_oversell(path: Path) -> None:
    reports = race(path, processes=4, count=5, mode="stock")
    assert sum(report["landed"] for report in reports) == 10
    assert sum(report["refused"] for report in reports) == 10
    with SQLiteStore(path) as store:
        assert store.counter(STOCK) == 10
        assert sum(store.load(member).version for member in store.members()) == 10


def test_sqlite_url_takes_a_timeout_option(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'a.db'}?timeout=2.5")
    try:
        assert isinstance(store, SQLiteStore) and store.path == str(tmp_path / "a.db")
    finally:
        store.close()
    with pytest.raises(StoreError, match="unknown SQLite URL option 'tiemout'"):
        open_store(f"sqlite:///{tmp_path / 'a.db'}?tiemout=2")


_CLOSE_WHILE_RECORDING = """
import random, sys, threading, time
from datetime import UTC, datetime, timedelta
import rewardkit as rk
from rewardkit.errors import StoreError
from rewardkit.storage.sqlite import SQLiteStore

program = rk.Program(name="Café", rules=[rk.fixed("visit", on="visit", points=1)])
start = datetime(2026, 3, 1, 9, tzinfo=UTC)
refused = []
for round in range(25):
    kit = rk.Rewards(program, store=SQLiteStore(f"{sys.argv[1]}/{round}.db", synchronous="NORMAL"))

    def visits(k: int) -> None:
        try:
            for n in range(200):
                at = start + timedelta(minutes=n)
                kit.record(rk.Action(id=f"{k}-{n}", member=f"m{n % 37}", kind="visit", at=at))
        except StoreError as error:
            refused.append(str(error))

    threads = [threading.Thread(target=visits, args=(k,)) for k in range(4)]
    for thread in threads:
        thread.start()
    time.sleep(random.random() * 0.05)
    kit.close()
    for thread in threads:
        thread.join()
assert refused and all(error.endswith(" is closed") for error in refused), refused[:3]
print("ok")
"""


def test_closing_while_other_threads_record_refuses_them_and_never_crashes(
    tmp_path: Path,
) -> None:
    # close() used to close the other threads' connections under their running
    # statements: the interpreter died of a segmentation fault (so: a process of its own).
    ran = subprocess.run(
        [sys.executable, "-c", _CLOSE_WHILE_RECORDING, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert ran.returncode == 0, ran.stderr[-2000:]
    assert ran.stdout.strip() == "ok"


def test_a_thread_opening_its_connection_while_the_store_closes_is_refused(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = SQLiteStore(path)
    opening, may_open, done = threading.Event(), threading.Event(), threading.Event()
    real_connect = sqlite3.connect

    def slow_connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        if threading.current_thread().name == "late":
            opening.set()
            may_open.wait(10)
        return real_connect(*args, **kwargs)

    monkeypatch.setattr("rewardkit.storage.sqlite.sqlite3.connect", slow_connect)
    outcome: list[object] = []

    def late_read() -> None:
        try:
            outcome.append(store.counter("stock"))
        except StoreError as error:
            outcome.append(error)
        done.wait(10)  # alive, with whatever connection it kept, until looked at

    late = threading.Thread(target=late_read, name="late")
    late.start()
    try:
        assert opening.wait(10)
        store.close()  # while the late thread is opening its first connection
        may_open.set()
        assert eventually(lambda: len(outcome) == 1)
        assert isinstance(outcome[0], StoreError), outcome
        assert str(outcome[0]).endswith(" is closed")
        assert not store._open  # no connection left open that close() never saw
    finally:
        done.set()
        late.join(10)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_never_closes_a_connection_another_thread_opened(
    store: SQLiteStore,
) -> None:
    # The child has only the forking thread: the interpreter frees the other threads'
    # thread-local values there, and freeing a connection closes it, in the child, under
    # the parent's feet.  The store must keep every inherited connection alive instead.
    opened: list[weakref.ref[Any]] = []
    release = threading.Event()

    def other_thread() -> None:
        store.members()  # opens this thread's connection
        opened.append(weakref.ref(store._holder()))
        release.wait(30)

    thread = threading.Thread(target=other_thread)
    thread.start()
    try:
        assert eventually(lambda: bool(opened))
        child = os.fork()
        if child == 0:  # pragma: no cover - runs in the child
            gc.collect()
            os._exit(0 if opened[0]() is not None else 1)
        _, status = os.waitpid(child, 0)
        assert os.waitstatus_to_exitcode(status) == 0, "the child freed the connection"
    finally:
        release.set()
        thread.join(30)
    store.commit(first_commit(store))  # the parent's store works as before
    assert list(store.members()) == ["ana"]


FORK_HOLDING_THE_LOCK = """
import os, sys
from rewardkit.storage.sqlite import SQLiteStore
store = SQLiteStore(sys.argv[1])
store.members()
with store._guard:  # as a signal handler's fork would: the hooks take this lock too
    child = os.fork()
    if child == 0:
        os._exit(0 if list(store.members()) == [] else 1)
_, status = os.waitpid(child, 0)
sys.exit(os.waitstatus_to_exitcode(status))
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_fork_from_a_thread_holding_the_stores_lock_does_not_hang(path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", FORK_HOLDING_THE_LOCK, str(path)], timeout=60, check=False
    )
    assert done.returncode == 0


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_grandchild_inherits_each_connection_once(store: SQLiteStore) -> None:
    store.members()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child and the grandchild
        store.members()  # the child's own connection
        grandchild = os.fork()
        if grandchild == 0:
            held = store._inherited
            os._exit(0 if len(held) == len({id(h) for h in held}) == 2 else 1)
        _, status = os.waitpid(grandchild, 0)
        os._exit(os.waitstatus_to_exitcode(status))
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
