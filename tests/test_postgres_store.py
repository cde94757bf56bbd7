"""PostgresStore beyond the shared contract: URLs, schema versions, locks, connections."""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rewardkit._fastcodec import dumps_state
from rewardkit.errors import StoreError
from rewardkit.model import CounterChange
from rewardkit.storage import TransactionConflict, migrate, open_store, verify
from rewardkit.storage.postgres import SCHEMA_VERSION, PostgresStore
from rewardkit.testing.store_contract import make_commit

from ._postgres import Schemas, raw, schemas

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def made() -> Iterator[Schemas]:
    with schemas() as fresh:
        yield fresh


@pytest.fixture
def store(made: Schemas) -> Iterator[PostgresStore]:
    with PostgresStore(made.url, schema=made.new(), max_connections=4) as opened:
        yield opened


def rows(made: Schemas, schema: str | None, sql: str) -> list[tuple[Any, ...]]:
    """Run ``sql`` (statements separated by ";") on ``schema``; the last one's rows."""
    found: list[tuple[Any, ...]] = []
    with raw(made.url, schema) as connection:
        for statement in sql.split(";"):
            cursor = connection.execute(statement)
            found = list(cursor.fetchall()) if cursor.description else []
    return found


# ------------------------------------------------------------------ opening


def test_open_store_takes_postgresql_urls_with_a_schema(made: Schemas) -> None:
    name = made.new()
    for url in (made.url_for(name), made.url_for(name).replace("postgresql", "postgres", 1)):
        opened = open_store(url)
        try:
            assert isinstance(opened, PostgresStore) and opened.schema == name
            assert opened.url.endswith(f"?schema={name}")
            opened.commit(make_commit(opened.load("ana"), f"o-{url[:10]}"))
        finally:
            opened.close()
    assert rows(made, name, "SELECT id, version FROM members") == [("ana", 2)]


def test_a_password_is_never_shown(made: Schemas) -> None:
    secret_url = made.url.replace("postgres@", "postgres:s3cret-pw@", 1)
    assert "s3cret-pw" in secret_url
    with PostgresStore(secret_url, schema=made.new()) as opened:
        assert "s3cret-pw" not in repr(opened) and "s3cret-pw" not in opened.url
    with pytest.raises(StoreError) as raised:
        PostgresStore(secret_url + "_no_such_db", schema="x")
    assert "s3cret-pw" not in str(raised.value)


def test_without_psycopg_a_store_error_says_what_to_install() -> None:
    code = (
        "import sys; sys.modules['psycopg'] = None\n"
        "import rewardkit.storage\n"
        "try:\n"
        "    rewardkit.storage.open_store('postgresql://localhost/x')\n"
        "except rewardkit.StoreError as error:\n"
        "    print(error)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert 'pip install "rewardkit[postgres]"' in result.stdout


def test_importing_rewardkit_and_its_stores_never_imports_psycopg() -> None:
    code = (
        "import sys, rewardkit, rewardkit.storage, rewardkit.storage.postgres\n"
        "print('psycopg' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr


def test_an_unreachable_server_is_a_store_error() -> None:
    with pytest.raises(StoreError, match="could not connect"):
        PostgresStore("postgresql://postgres@127.0.0.1:1/none", timeout=2)


def test_use_after_close_is_a_store_error(store: PostgresStore) -> None:
    store.close()
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.load("ana")


# ------------------------------------------------------------------ schema versions


def test_schema_versions_are_recorded_one_row_per_migration(made: Schemas) -> None:
    name = made.new()
    with PostgresStore(made.url, schema=name) as opened:
        assert opened.migrated is not None and opened.migrated.applied == (1, 2, 3, 4, 5, 6)
    with PostgresStore(made.url, schema=name) as again:
        assert again.migrated is None
    found = rows(made, name, "SELECT version FROM rewardkit_schema ORDER BY version")
    assert found == [(1,), (2,), (3,), (4,), (5,), (6,)] and SCHEMA_VERSION == 6


def test_a_newer_schema_is_refused(made: Schemas) -> None:
    name = made.new()
    PostgresStore(made.url, schema=name).close()
    rows(made, name, "INSERT INTO rewardkit_schema VALUES (9)")
    with pytest.raises(StoreError, match="version 9, newer than version 6"):
        PostgresStore(made.url, schema=name)
    with pytest.raises(StoreError, match="version 9, newer than version 6"):
        migrate(made.url_for(name))


def test_a_version_1_schema_is_migrated_by_the_command_and_its_ledgers_chained(
    made: Schemas,
) -> None:
    name = made.new()
    with PostgresStore(made.url, schema=name) as opened:
        for number in range(3):
            opened.commit(make_commit(opened.load("ana"), f"o-{number}"))
        hashes = [item.hash for item in opened.chain("ana").links]
        ana = opened.load("ana")
    whole = dumps_state(ana.state).replace("'", "''")  # lots inside the text, as in version 1
    rows(
        made,
        name,
        f"UPDATE members SET state = '{whole}';"
        " ALTER TABLE entries DROP COLUMN hash; ALTER TABLE members DROP COLUMN head;"
        " ALTER TABLE receipts DROP COLUMN version;"
        " DROP TABLE scores; DROP TABLE lots; ALTER TABLE members DROP COLUMN split;"
        " DROP TABLE metric; ALTER TABLE members DROP COLUMN metric_rows;"
        " DELETE FROM rewardkit_schema WHERE version >= 2",
    )
    url = made.url_for(name)
    with pytest.raises(StoreError, match=rf"version 1.*`rewardkit migrate {made.url}"):
        open_store(url, auto_migrate=False)
    report = migrate(url)
    assert (report.before, report.after) == (1, 6)
    assert migrate(url).applied == ()
    with PostgresStore(made.url, schema=name, auto_migrate=False) as opened:
        assert [item.hash for item in opened.chain("ana").links] == hashes
        assert verify(opened).ok
        assert opened.load("ana") == ana  # lots still in the text: read the same
        unit = make_commit(ana, "o-9")
        opened.commit(unit)  # and it goes on (a few lots: still in the text)
    assert rows(made, name, "SELECT split FROM members") == [(0,)]
    with PostgresStore(made.url, schema=name) as fresh:
        assert fresh.load("ana").state == unit.state


MIGRATING_WORKER = """
import sys
from rewardkit.storage.postgres import PostgresStore
from rewardkit.testing.store_contract import make_commit
url, schema, tag = sys.argv[1:]
with PostgresStore(url, schema=schema, pool=False) as store:
    store.commit(make_commit(store.load("m-" + tag), "o-" + tag))
    print(store.migrated is not None)
"""


@pytest.mark.slow
def test_processes_opening_a_fresh_schema_at_once_migrate_it_once(made: Schemas) -> None:
    name = made.new()
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", MIGRATING_WORKER, made.url, name, str(tag)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        for tag in range(6)
    ]
    outputs = []
    for worker in workers:
        out, err = worker.communicate(timeout=60)
        assert worker.returncode == 0, err
        outputs.append(out.strip())
    assert outputs.count("True") == 1  # exactly one process migrated
    found = rows(made, name, "SELECT version FROM rewardkit_schema ORDER BY version")
    assert found == [(1,), (2,), (3,), (4,), (5,), (6,)]
    assert rows(made, name, "SELECT count(*) FROM members") == [(6,)]


def test_due_reads_the_due_index(store: PostgresStore, made: Schemas) -> None:
    plan = rows(
        made,
        store.schema,
        "SET enable_seqscan = off; EXPLAIN SELECT id FROM members"
        " WHERE due IS NOT NULL AND due <= 0 ORDER BY due, id",
    )
    assert "members_due" in " ".join(row[0] for row in plan)


# ------------------------------------------------------------------ locks and conflicts


def test_a_row_lock_held_past_the_timeout_is_a_store_error(made: Schemas) -> None:
    name = made.new()
    with PostgresStore(made.url, schema=name, timeout=0.3, pool=False) as opened:
        opened.commit(make_commit(opened.load("ana"), "o-1"))
        unit = make_commit(opened.load("ana"), "o-2")
        blocker = raw(made.url, name)
        with blocker, blocker.transaction():
            blocker.execute("SELECT 1 FROM members WHERE id = 'ana' FOR UPDATE")
            with pytest.raises(StoreError, match=r"waited more than 0\.3 s") as raised:
                opened.commit(unit)
            assert type(raised.value) is StoreError
            assert opened.load("ana").version == 1  # reads are not blocked
        opened.commit(unit)
        assert opened.load("ana").version == 2


@pytest.mark.parametrize("state", ["serialization_failure", "deadlock_detected"])
def test_serialization_failures_and_deadlocks_are_transaction_conflicts(
    store: PostgresStore, state: str
) -> None:
    with store._connection() as connection, pytest.raises(TransactionConflict) as raised:  # noqa: SIM117
        with store._errors("commit", "ana"):
            connection.execute(f"DO $$ BEGIN RAISE EXCEPTION 'x' USING ERRCODE = '{state}'; END $$")
    assert raised.value.member == "ana" and "retry" in str(raised.value)


def test_commits_changing_the_same_counters_in_any_order_never_deadlock(
    store: PostgresStore,
) -> None:
    failures: list[BaseException] = []

    def work(member: str, keys: list[str]) -> None:
        changes = [CounterChange(key, 1) for key in keys]
        try:
            for number in range(25):
                unit = make_commit(store.load(member), f"{member}-{number}", 1, counters=changes)
                store.commit(unit)
        except BaseException as error:  # a deadlock would be a TransactionConflict here
            failures.append(error)

    threads = [
        threading.Thread(target=work, args=("ana", ["a", "b", "c"])),
        threading.Thread(target=work, args=("bob", ["c", "b", "a"])),
        threading.Thread(target=work, args=("eve", ["b", "a", "c", "a"])),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    assert [store.counter(key) for key in "abc"] == [100, 75, 75]


# ------------------------------------------------------------------ connections


def test_without_a_pool_one_connection_serves_every_thread(made: Schemas) -> None:
    with PostgresStore(made.url, schema=made.new(), pool=False) as opened:
        threads = [
            threading.Thread(
                target=lambda tag=tag: opened.commit(make_commit(opened.load(tag), tag))
            )
            for tag in ("a", "b", "c", "d")
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert list(opened.members()) == ["a", "b", "c", "d"]


def test_a_pool_passed_in_is_used_and_left_open(made: Schemas) -> None:
    from psycopg_pool import ConnectionPool

    with ConnectionPool(made.url, min_size=1, max_size=2, open=True) as pool:
        opened = PostgresStore(pool=pool, schema=made.new())
        opened.commit(make_commit(opened.load("ana"), "o-1"))
        assert opened.load("ana").version == 1
        opened.close()
        assert not pool.closed
        with pool.connection() as connection:
            assert connection.execute("SELECT 1").fetchone() == (1,)


def test_a_dropped_connection_is_replaced(made: Schemas) -> None:
    for pool in (True, False):
        with PostgresStore(made.url, schema=made.new(), pool=pool) as opened:
            opened.commit(make_commit(opened.load("ana"), "o-1"))
            with opened._connection() as connection:
                pid = connection.info.backend_pid
            rows(made, None, f"SELECT pg_terminate_backend({pid})")
            if not pool:  # one connection: the call that finds it dead fails, saying so
                with pytest.raises(StoreError, match="could not"):
                    opened.load("ana")
            assert opened.load("ana").version == 1  # a pool checks before it lends


def _commit_in_child(store: PostgresStore) -> None:
    store.commit(make_commit(store.load("kid"), "o-kid"))
    store.close()


@pytest.mark.skipif(sys.platform == "win32", reason="no fork on Windows")
def test_a_store_opened_before_a_fork_works_in_the_child_and_the_parent(
    store: PostgresStore,
) -> None:
    store.commit(make_commit(store.load("ana"), "o-1"))  # the parent's pool exists
    child = multiprocessing.get_context("fork").Process(target=_commit_in_child, args=(store,))
    child.start()
    child.join(timeout=60)
    assert child.exitcode == 0
    assert list(store.members()) == ["ana", "kid"]  # the parent's connections still work
    store.commit(make_commit(store.load("ana"), "o-2"))
    assert verify(store).ok


def test_a_failed_write_rolls_back_the_whole_commit(store: PostgresStore, made: Schemas) -> None:
    unit = make_commit(store.load("ana"), "o-1", counters=[CounterChange("stock", 1)])
    columns = "member, seq, at, kind, currency, points, balance, debt, cause, reason, pending"
    stray = f"INSERT INTO entries({columns}) VALUES ('ana', 0, '', '', '', 0, 0, 0, '', '', 0)"
    rows(made, store.schema, stray)  # the entry's insert, written last, fails
    with pytest.raises(StoreError, match="could not commit"):
        store.commit(unit)
    assert store.load("ana").version == 0
    assert store.receipt("record", "o-1") is None and store.counter("stock") == 0
    assert list(store.members()) == []
    rows(made, store.schema, "DELETE FROM entries")
    store.commit(unit)
    assert store.load("ana").version == 1 and store.counter("stock") == 1


# ------------------------------------------------------------------ writes from a kept state


def test_a_write_from_a_stale_kept_state_starts_again_from_the_database(made: Schemas) -> None:
    from datetime import UTC, datetime, timedelta

    import rewardkit as rk

    program = rk.Program(name="Two servers", rules=[rk.fixed("visit", on="visit", points=1)])
    schema = made.new()
    first = PostgresStore(made.url, schema=schema, pool=False)
    second = PostgresStore(made.url, schema=schema, pool=False)
    one, two = rk.Rewards(program, store=first), rk.Rewards(program, store=second)
    start = datetime(2026, 3, 1, tzinfo=UTC)

    def visit(kit: rk.Rewards, n: int) -> rk.Outcome:
        at = start + timedelta(minutes=n)
        return kit.record(rk.Action(id=f"v{n}", member="ana", kind="visit", at=at))

    visit(one, 0)
    visit(two, 1)  # the second server keeps ana at version 2
    loads: list[str] = []
    real_load = first.load

    def counted(member: str) -> Any:
        loads.append(member)
        return real_load(member)

    first.load = counted  # type: ignore[method-assign]
    # The first server still keeps ana at version 1: its commit is refused, and the
    # write starts again from a fresh load, once.
    assert visit(one, 2).points == 1
    assert loads == ["ana"]
    assert visit(one, 3).points == 1  # now kept at the latest version: no load at all
    assert loads == ["ana"]
    assert first.load("ana").state.balance() == 4
    assert [e.cause for e in two.history("ana")] == ["v0", "v1", "v2", "v3"]
    assert two.verify().ok
    one.close()
    two.close()
