"""SQLiteStore: the embedded default for files, on the standard library's ``sqlite3``.

Semantics are exactly :class:`~rewardkit.storage.memory.MemoryStore`'s; the contract
suite in :mod:`rewardkit.testing.store_contract` proves it.  Durability and concurrency:

* ``journal_mode=WAL`` so readers never block the writer, and ``synchronous=FULL`` so
  a power loss or crash loses nothing that ``commit`` returned from.
* Every write is one ``BEGIN IMMEDIATE`` transaction: the write lock is taken before
  the version, receipt and counter checks, so two processes (or threads) can never
  both pass the checks, and ``busy_timeout`` (``timeout``) makes a writer wait for the
  lock instead of failing.  A lock still held after ``timeout`` seconds is a
  :class:`~rewardkit.errors.StoreError`.  Reads are single statements in autocommit.
* One connection per thread (``threading.local``): threads of one process read in
  parallel and wait for the write lock independently, each within its own timeout,
  which one lock-guarded connection could not give.  A connection dies with its
  thread; ``close()`` closes those still alive.  A process forked after using the
  store opens its own connections (SQLite connections must not cross a fork).

``":memory:"`` is refused: each connection would see its own empty database.  Use
:class:`~rewardkit.storage.memory.MemoryStore`, or a file in a temporary directory.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from .. import _codec
from ..errors import StoreError
from ..model import Entry, EntryKind, MemberState, Outcome
from .base import Commit, CounterLimitExceeded, DuplicateReceipt, Receipt, Snapshot, StaleVersion

__all__ = ["SCHEMA_VERSION", "SQLiteStore"]

SCHEMA_VERSION = 1

_TABLES = (
    "CREATE TABLE IF NOT EXISTS members("
    "id TEXT PRIMARY KEY, version INTEGER NOT NULL, state TEXT NOT NULL, due INTEGER)",
    # The next instant time alone changes a member (UTC microseconds): expire() sweeps
    # read this index, so their cost grows with the members due, not with all members.
    "CREATE INDEX IF NOT EXISTS members_due ON members(due) WHERE due IS NOT NULL",
    "CREATE TABLE IF NOT EXISTS entries("
    "member TEXT, seq INTEGER, at TEXT, kind TEXT, currency TEXT, points INTEGER,"
    " balance INTEGER, debt INTEGER, cause TEXT, reason TEXT, pending INTEGER,"
    " PRIMARY KEY(member, seq))",
    "CREATE TABLE IF NOT EXISTS receipts("
    "operation TEXT, id TEXT, member TEXT, request TEXT, outcome TEXT,"
    " PRIMARY KEY(operation, id))",
    "CREATE TABLE IF NOT EXISTS counters(key TEXT PRIMARY KEY, value INTEGER NOT NULL)",
)
_UPSERT_MEMBER = (
    "INSERT INTO members(id, version, state, due) VALUES (?, ?, ?, ?) "
    "ON CONFLICT(id) DO UPDATE SET version = excluded.version, state = excluded.state,"
    " due = excluded.due"
)
_INSERT_ENTRY = "INSERT INTO entries VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
_INSERT_RECEIPT = (
    "INSERT INTO receipts(operation, id, member, request, outcome) VALUES (?, ?, ?, ?, ?)"
)
_ADD_TO_COUNTER = (
    "INSERT INTO counters(key, value) VALUES (?, ?) "
    "ON CONFLICT(key) DO UPDATE SET value = value + excluded.value"
)
_LOCKED = (5, 6)  # SQLITE_BUSY, SQLITE_LOCKED


class _Connection:
    """A connection and the process that opened it (weak-referenceable, unlike sqlite3's)."""

    __slots__ = ("__weakref__", "connection", "pid")

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection
        self.pid = os.getpid()


class SQLiteStore:
    """A store in one SQLite file, safe to share between threads and processes."""

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = 30.0) -> None:
        self._path = os.fspath(path)
        if self._path in ("", ":memory:") or self._path.startswith("file:"):
            raise StoreError(
                f"SQLiteStore needs a file path, not {self._path!r}: use MemoryStore for an "
                "in-memory store, or a file in a temporary directory"
            )
        if not timeout >= 0:
            raise StoreError(f"'timeout' must be a number of seconds >= 0: {timeout!r}")
        self._timeout = float(timeout)
        self._local = threading.local()
        self._open: weakref.WeakSet[_Connection] = weakref.WeakSet()
        self._inherited: list[_Connection] = []  # from before a fork: never used, never closed
        self._guard = threading.Lock()
        self._closed = False
        try:
            connection = self._connection()
            with self._errors("prepare its schema"):
                mode = self._enable_wal(connection)
                if mode != "wal":
                    raise StoreError(f"SQLite store {self._path!r} cannot use WAL mode ({mode})")
                with self._transaction(connection):
                    self._prepare_schema(connection)
        except BaseException:
            self.close()
            raise

    def _enable_wal(self, connection: sqlite3.Connection) -> str:
        """Switch the file to WAL (persistent, so usually a no-op).  Switching needs a lock
        SQLite does not wait for, so when several processes open a new file at once it is
        retried within the timeout."""
        deadline = time.monotonic() + self._timeout
        while True:
            mode = str(connection.execute("PRAGMA journal_mode").fetchone()[0]).lower()
            if mode == "wal":
                return mode
            try:
                return str(connection.execute("PRAGMA journal_mode=WAL").fetchone()[0]).lower()
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) or time.monotonic() >= deadline:
                    raise
                time.sleep(0.01)

    @property
    def path(self) -> str:
        return self._path

    # ------------------------------------------------------------------ Store protocol

    def load(self, member: str) -> Snapshot:
        row = self._read_one(
            "load a member", "SELECT version, state FROM members WHERE id = ?", member
        )
        if row is None:
            return Snapshot(MemberState(id=member), 0)
        return Snapshot(_codec.loads(row[1], MemberState), row[0])

    def receipt(self, operation: str, request_id: str) -> Receipt | None:
        row = self._read_one(
            "read a receipt",
            "SELECT member, request, outcome FROM receipts WHERE operation = ? AND id = ?",
            operation,
            request_id,
        )
        if row is None:
            return None
        request = _codec.from_json_text(row[1])
        return Receipt(operation, request_id, row[0], request, _codec.loads(row[2], Outcome))

    def counter(self, key: str) -> int:
        row = self._read_one("read a counter", "SELECT value FROM counters WHERE key = ?", key)
        return 0 if row is None else int(row[0])

    def commit(self, unit: Commit) -> None:
        receipt = unit.receipt
        # Encode before taking the write lock, so the lock is held only for SQL.
        state = _codec.dumps(unit.state)
        entries = [_entry_row(unit.member, entry) for entry in unit.entries]
        receipt_row = None
        if receipt is not None:
            receipt_row = (
                receipt.operation,
                receipt.id,
                receipt.member,
                _codec.dumps(receipt.request),
                _codec.dumps(receipt.outcome),
            )
        due = _micros(unit.state.next_due())
        connection = self._connection()
        with self._errors("commit"), self._transaction(connection):
            row = connection.execute(
                "SELECT version FROM members WHERE id = ?", (unit.member,)
            ).fetchone()
            version = 0 if row is None else int(row[0])
            if version != unit.expected_version:
                raise StaleVersion(unit.member, unit.expected_version, version)
            if (
                receipt is not None
                and connection.execute(
                    "SELECT 1 FROM receipts WHERE operation = ? AND id = ?",
                    (receipt.operation, receipt.id),
                ).fetchone()
            ):
                raise DuplicateReceipt(receipt.operation, receipt.id)
            values: dict[str, int] = {}  # running totals: a key may appear twice
            for change in unit.counters:
                if change.key not in values:
                    row = connection.execute(
                        "SELECT value FROM counters WHERE key = ?", (change.key,)
                    ).fetchone()
                    values[change.key] = 0 if row is None else int(row[0])
                values[change.key] += change.delta
                if change.limit is not None and values[change.key] > change.limit:
                    raise CounterLimitExceeded(change.key, change.limit)
            connection.execute(_UPSERT_MEMBER, (unit.member, version + 1, state, due))
            connection.executemany(_INSERT_ENTRY, entries)
            if receipt_row is not None:
                connection.execute(_INSERT_RECEIPT, receipt_row)
            connection.executemany(_ADD_TO_COUNTER, [(c.key, c.delta) for c in unit.counters])

    def history(self, member: str) -> list[Entry]:
        rows = self._read_all(
            "read a ledger",
            "SELECT seq, at, kind, currency, points, balance, debt, cause, reason, pending"
            " FROM entries WHERE member = ? ORDER BY seq",
            member,
        )
        return [
            Entry(member, seq, datetime.fromisoformat(at), EntryKind(kind), *rest)
            for seq, at, kind, *rest in rows
        ]

    def due(self, at: datetime) -> list[str]:
        rows = self._read_all(
            "list members due",
            "SELECT id FROM members WHERE due IS NOT NULL AND due <= ? ORDER BY due, id",
            _micros(at),
        )
        return [row[0] for row in rows]

    def members(self) -> Iterator[str]:
        # SQLite's BINARY collation orders UTF-8 bytes, which is code point order: sorted().
        rows = self._read_all("list members", "SELECT id FROM members ORDER BY id")
        return iter([row[0] for row in rows])

    def close(self) -> None:
        """Close every connection this store opened in this process (idempotent)."""
        with self._guard:
            self._closed = True
            holders = [h for h in self._open if h.pid == os.getpid()]
            self._open.clear()
        for holder in holders:
            holder.connection.close()

    def __enter__(self) -> SQLiteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<SQLiteStore {self._path!r}{' (closed)' if self._closed else ''}>"

    # ------------------------------------------------------------------ internals

    def _connection(self) -> sqlite3.Connection:
        if self._closed:
            raise StoreError(f"{self!r} is closed")
        holder: _Connection | None = getattr(self._local, "holder", None)
        if holder is not None and holder.pid == os.getpid():
            return holder.connection
        if holder is not None:
            self._inherited.append(holder)
        with self._errors("open"):
            try:
                connection = sqlite3.connect(
                    self._path,
                    timeout=self._timeout,
                    isolation_level=None,
                    check_same_thread=False,  # so close() may close it from any thread
                )
            except sqlite3.OperationalError as error:
                raise StoreError(
                    f"cannot open the SQLite store {self._path!r}: {error} "
                    "(does its directory exist, and may this process write there?)"
                ) from error
            try:
                connection.execute("PRAGMA synchronous=FULL")
            except BaseException:
                connection.close()
                raise
        holder = _Connection(connection)
        with self._guard:
            self._open.add(holder)
        self._local.holder = holder
        return connection

    @contextmanager
    def _errors(self, doing: str) -> Iterator[None]:
        """Turn sqlite3's errors into StoreError (the store's own errors pass through)."""
        try:
            yield
        except sqlite3.Error as error:
            code = getattr(error, "sqlite_errorcode", None)
            if code in _LOCKED or "locked" in str(error):
                raise StoreError(
                    f"SQLite store {self._path!r} stayed locked by another writer for more "
                    f"than {self._timeout:g} s, so it could not {doing}; retry later, or "
                    "open the store with a longer timeout"
                ) from error
            raise StoreError(f"SQLite store {self._path!r} could not {doing}: {error}") from error

    @staticmethod
    @contextmanager
    def _transaction(connection: sqlite3.Connection) -> Iterator[None]:
        """One BEGIN IMMEDIATE transaction: committed if the block returns, else rolled back."""
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise

    def _prepare_schema(self, connection: sqlite3.Connection) -> None:
        connection.execute("CREATE TABLE IF NOT EXISTS rewardkit_schema(version INTEGER)")
        found = connection.execute("SELECT max(version) FROM rewardkit_schema").fetchone()[0]
        if found is None:
            connection.execute(
                "INSERT INTO rewardkit_schema(version) VALUES (?)", (SCHEMA_VERSION,)
            )
        elif found > SCHEMA_VERSION:
            raise StoreError(
                f"SQLite store {self._path!r} has schema version {found}, newer than version "
                f"{SCHEMA_VERSION} that this rewardkit knows: upgrade rewardkit to open it"
            )
        elif found != SCHEMA_VERSION:
            raise StoreError(
                f"SQLite store {self._path!r} has schema version {found}, which this "
                f"rewardkit (schema version {SCHEMA_VERSION}) cannot read"
            )
        for statement in _TABLES:
            connection.execute(statement)

    def _read_one(self, doing: str, sql: str, *parameters: object) -> Any:
        connection = self._connection()
        with self._errors(doing):
            return connection.execute(sql, parameters).fetchone()

    def _read_all(self, doing: str, sql: str, *parameters: object) -> list[Any]:
        connection = self._connection()
        with self._errors(doing):
            return connection.execute(sql, parameters).fetchall()


def _entry_row(member: str, entry: Entry) -> tuple[object, ...]:
    return (
        member,
        entry.seq,
        entry.at.isoformat(),
        entry.kind.value,
        entry.currency,
        entry.points,
        entry.balance,
        entry.debt,
        entry.cause,
        entry.reason,
        entry.pending,
    )


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _micros(instant: datetime | None) -> int | None:
    """An aware instant as integer UTC microseconds (exact, and orders correctly)."""
    if instant is None:
        return None
    delta = instant - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
