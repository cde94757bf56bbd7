"""Where SQLiteStore's checkpoints run: in the commit that fills the write-ahead log, or
in a thread of the store's own (see ``rewardkit.storage._checkpoints``)."""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import rewardkit as rk
from rewardkit.errors import StoreError
from rewardkit.storage import _checkpoints, open_store
from rewardkit.storage.sqlite import SQLiteStore

from ._waiting import eventually

PROGRAM = rk.Program(name="Café", rules=[rk.fixed("visit", on="visit", points=1)])
START = datetime(2026, 3, 1, 9, tzinfo=UTC)


def visits(kit: rk.Rewards, count: int, prefix: str = "v") -> None:
    for n in range(count):
        kit.record(
            rk.Action(
                id=f"{prefix}{n}",
                member=f"m{n % 37}",
                kind="visit",
                at=START + timedelta(minutes=n),
            )
        )


def checkpoint_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("rewardkit checkpoints")]


def test_checkpoints_run_in_the_commit_unless_asked_for_the_thread(tmp_path: Path) -> None:
    full = SQLiteStore(tmp_path / "full.db")
    normal = SQLiteStore(tmp_path / "normal.db", synchronous="NORMAL")
    threaded = SQLiteStore(tmp_path / "threaded.db", checkpoints="BACKGROUND")
    both = SQLiteStore(tmp_path / "both.db", synchronous="normal", checkpoints="background")
    stores = (full, normal, threaded, both)
    try:
        assert full._checkpointer is None and normal._checkpointer is None
        assert threaded._checkpointer is not None and both._checkpointer is not None
        assert full.url == f"sqlite:///{tmp_path / 'full.db'}"
        assert normal.url == f"sqlite:///{tmp_path / 'normal.db'}?synchronous=normal"
        assert threaded.url == f"sqlite:///{tmp_path / 'threaded.db'}?checkpoints=background"
        assert both.url.endswith("both.db?synchronous=normal&checkpoints=background")
        for store in stores:
            again = open_store(store.url)
            assert isinstance(again, SQLiteStore) and again.url == store.url
            again.close()
        # the commits' own checkpoints stay, later, as a backstop when the thread does them
        backstop = threaded._connection().execute("PRAGMA wal_autocheckpoint").fetchone()[0]
        assert backstop == _checkpoints.BACKSTOP
        assert full._connection().execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 1000
    finally:
        for store in stores:
            store.close()


@pytest.mark.parametrize("value", ["sometimes", "", 1, None, "never"])
def test_an_unknown_place_for_checkpoints_is_refused_before_the_file_is_made(
    tmp_path: Path, value: object
) -> None:
    path = tmp_path / "refused.db"
    with pytest.raises(StoreError, match=f"'checkpoints' must be .*got {value!r}"):
        SQLiteStore(path, checkpoints=value)  # type: ignore[arg-type]
    assert not path.exists()
    with pytest.raises(StoreError, match=r"'checkpoints' must be .*got 'never'"):
        open_store(f"sqlite:///{path}?checkpoints=never")
    assert not path.exists()


def test_the_thread_copies_the_log_back_without_any_commit_doing_it(tmp_path: Path) -> None:
    path = tmp_path / "threaded.db"
    kit = rk.Rewards(PROGRAM, store=SQLiteStore(path, checkpoints="background"))
    store = kit.store
    assert isinstance(store, SQLiteStore) and store._checkpointer is not None
    empty = os.path.getsize(path)
    assert not checkpoint_threads()  # started by the commits, not by opening the store
    visits(kit, 2 * _checkpoints.EVERY)  # far fewer log pages than the backstop's
    assert eventually(lambda: store._checkpointer is not None and store._checkpointer.runs > 0)
    assert os.path.getsize(path) > empty  # pages copied into the database file
    assert kit.balance("m1") == len(range(1, 2 * _checkpoints.EVERY, 37))
    assert len(checkpoint_threads()) == 1
    kit.close()
    assert not checkpoint_threads()
    kit.close()  # idempotent


def test_checkpoints_in_the_commit_start_no_thread(tmp_path: Path) -> None:
    path = tmp_path / "inline.db"
    kit = rk.Rewards(PROGRAM, store=SQLiteStore(path, synchronous="NORMAL"))
    visits(kit, 2 * _checkpoints.EVERY)
    assert not checkpoint_threads()
    kit.close()


def test_a_store_dropped_without_closing_stops_its_thread(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "dropped.db", synchronous="NORMAL", checkpoints="background")
    kit = rk.Rewards(PROGRAM, store=store)
    del store
    visits(kit, _checkpoints.EVERY)
    assert eventually(lambda: len(checkpoint_threads()) == 1)
    del kit
    import gc

    gc.collect()
    assert eventually(lambda: not checkpoint_threads())


def _record_in_child(store: SQLiteStore, queue: multiprocessing.Queue[object]) -> None:
    kit = rk.Rewards(PROGRAM, store=store)
    visits(kit, 2 * _checkpoints.EVERY, prefix="child")
    checkpointer = store._checkpointer
    assert checkpointer is not None
    ran = eventually(lambda: checkpointer.runs > 0)
    queue.put((ran, len(checkpoint_threads())))
    kit.close()


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="needs fork")
def test_a_forked_process_checkpoints_in_a_thread_of_its_own(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "forked.db", synchronous="NORMAL", checkpoints="background")
    kit = rk.Rewards(PROGRAM, store=store)
    visits(kit, _checkpoints.EVERY)  # the parent's thread is running when the child forks,
    assert eventually(lambda: len(checkpoint_threads()) == 1)  # perhaps inside SQLite
    context = multiprocessing.get_context("fork")
    queue: multiprocessing.Queue[object] = context.Queue()
    child = context.Process(target=_record_in_child, args=(store, queue))
    child.start()
    try:
        ran, threads = queue.get(timeout=60)
        child.join(timeout=60)
    finally:
        if child.is_alive():
            child.kill()
    assert child.exitcode == 0
    assert ran and threads == 1  # the child's own thread, not a ghost of the parent's
    parent, child_visits = range(1, _checkpoints.EVERY, 37), range(1, 2 * _checkpoints.EVERY, 37)
    assert kit.balance("m1") == len(parent) + len(child_visits)
    kit.close()


def _record_a_little(store: SQLiteStore, name: str, queue: multiprocessing.Queue[object]) -> None:
    kit = rk.Rewards(PROGRAM, store=store)
    visits(kit, 20, prefix=name)
    queue.put(name)
    kit.close()


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="needs fork")
def test_forks_while_the_thread_checkpoints_never_leave_a_child_hanging(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each fork follows a commit at once, so the thread is often checkpointing when it
    # happens.  (A child forked while the thread holds one of SQLite's mutexes would
    # hang: os.fork() waits for the checkpoint under way.  That window is too short
    # for this test to hit it reliably without the wait; it checks the forks work.)
    monkeypatch.setattr(_checkpoints, "EVERY", 1)  # a checkpoint after every commit
    store = SQLiteStore(tmp_path / "busy.db", synchronous="NORMAL", checkpoints="background")
    kit = rk.Rewards(PROGRAM, store=store)
    context = multiprocessing.get_context("fork")
    queue: multiprocessing.Queue[object] = context.Queue()
    for number in range(12):
        visits(kit, 3, prefix=f"p{number}-")
        child = context.Process(target=_record_a_little, args=(store, f"c{number}-", queue))
        child.start()
        try:
            assert queue.get(timeout=30) == f"c{number}-"
            child.join(timeout=30)
        finally:
            if child.is_alive():
                child.kill()
        assert child.exitcode == 0
    assert store._checkpointer is not None and store._checkpointer.runs > 0
    assert kit.balance("m1") == 12 + 12  # visit 1 of each parent round and of each child
    kit.close()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_two_threads_forking_at_once_leave_no_lock_held(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "twice.db", synchronous="NORMAL", checkpoints="background")
    kit = rk.Rewards(PROGRAM, store=store)
    visits(kit, _checkpoints.EVERY)
    checkpointer = store._checkpointer
    assert checkpointer is not None
    checkpointer._in_sqlite.acquire()  # as if the thread were checkpointing
    children: list[int] = []

    def fork() -> None:
        child = os.fork()
        if child == 0:
            os._exit(0)
        children.append(child)

    forkers = [threading.Thread(target=fork) for _ in range(2)]
    for forker in forkers:
        forker.start()
    time.sleep(0.3)  # both are waiting in the fork hooks for the checkpoint to end
    checkpointer._in_sqlite.release()
    for forker in forkers:
        forker.join(timeout=30)
    for child in children:
        os.waitpid(child, 0)
    assert len(children) == 2
    assert not checkpointer._in_sqlite.locked()
    closing = threading.Thread(target=kit.close)
    closing.start()
    closing.join(timeout=30)
    assert not closing.is_alive()
