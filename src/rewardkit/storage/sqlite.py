"""SQLiteStore: the embedded default for files, on the standard library's ``sqlite3``.

Semantics are exactly :class:`~rewardkit.storage.memory.MemoryStore`'s; the contract
suite in :mod:`rewardkit.testing.store_contract` proves it.  Durability and concurrency:

* ``journal_mode=WAL`` so readers never block the writer, and ``synchronous=FULL`` so
  a power loss or crash loses nothing that ``commit`` returned from.  With
  ``synchronous="NORMAL"`` (``sqlite:///path?synchronous=normal``) a commit does not
  wait for the disk: still atomic and consistent, and nothing is lost if the process
  crashes, but a power loss or an OS crash may lose the last commits.  It is several
  times faster per commit; see ``docs/performance.md``.
* Checkpoints (copying the write-ahead log back into the database file) run, with
  ``checkpoints="commit"``, inside the commit that takes the log past 1,000 pages, as
  SQLite does by default: one call in a hundred or so then takes 10-50 ms on a file in
  use (the default).  With ``checkpoints="background"`` a thread of the store's runs
  them instead (``rewardkit.storage._checkpoints``), and calls never wait for one: with
  ``synchronous="NORMAL"`` calls are faster on average too; with ``"FULL"`` the tail is
  shorter but the average a little slower (the thread's ``fsync`` of the database file
  and the commits' of the log wait on each other).  See ``docs/performance.md``,
  "Latency".
* Every write is one ``BEGIN IMMEDIATE`` transaction: the write lock is taken before
  the version, receipt and counter checks, so two processes (or threads) can never
  both pass the checks, and ``busy_timeout`` (``timeout``) makes a writer wait for the
  lock instead of failing.  A lock still held after ``timeout`` seconds is a
  :class:`~rewardkit.errors.StoreError`.  Reads are single statements in autocommit.
* The store keeps the last ``cache_size`` member states it loaded or committed, each
  with its version: a load still reads the member's version from the file and decodes
  the stored state only when it is not the kept one (another process changed it).
* One connection per thread (``threading.local``): threads of one process read in
  parallel and wait for the write lock independently, each within its own timeout,
  which one lock-guarded connection could not give.  A connection dies with its
  thread; ``close()`` closes those still alive, at once if idle, or else its thread
  does once the statements it is running are done (never under them).  A process
  forked after using the store opens its own connections, and neither uses nor closes
  any of its parent's, whichever thread opened them (SQLite connections must not cross
  a fork).

``":memory:"`` is refused: each connection would see its own empty database.  Use
:class:`~rewardkit.storage.memory.MemoryStore`, or a file in a temporary directory.

The schema is versioned (``rewardkit_schema``): opening a file applies the migrations
it lacks, in one ``BEGIN IMMEDIATE`` transaction (``auto_migrate=False``: refuse, and
say to run ``rewardkit migrate``), and a file with a newer schema is refused.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from functools import partial
from typing import Any

from .. import _codec
from ..errors import StoreError
from ..model import Entry, MemberState, Outcome, blank_state
from ._checkpoints import BACKSTOP, MODES, Checkpointer
from ._lots import keep_as_rows, lot_writes
from ._metric import keep_as_rows as keep_metric_as_rows
from ._metric import metric_writes
from ._schema import (
    SCHEMA_VERSION,
    SQLITE_MIGRATIONS,
    MigrationReport,
    needs_migration,
    upgrade,
)
from ._sql import (
    ENTRY_COLUMNS,
    LEDGERS_CHUNK,
    SCORE_AHEAD,
    SCORE_OF,
    SCORE_TOP,
    SCORE_UPSERT,
    Encoded,
    decode_state,
    encode,
    entry_from_row,
    entry_row,
    ledgers_chunk,
    member_ledgers,
    micros,
    receipt_row,
    running_totals,
    score_rows,
)
from .base import (
    Chain,
    Commit,
    DuplicateReceipt,
    Link,
    Receipt,
    Snapshot,
    StaleVersion,
)
from .chain import link

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "SYNCHRONOUS", "SQLiteStore", "migrate"]

MIGRATIONS = SQLITE_MIGRATIONS

_UPSERT_MEMBER = (
    "INSERT INTO members(id, version, state, due, head, split, metric_rows)"
    " VALUES (?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT(id) DO UPDATE SET version = excluded.version, state = excluded.state,"
    " due = excluded.due, head = excluded.head, split = excluded.split,"
    " metric_rows = excluded.metric_rows"
)
_INSERT_ENTRY = "INSERT INTO entries(member, {}, hash) VALUES ({})".format(
    ENTRY_COLUMNS, ", ".join("?" * 12)
)
_INSERT_RECEIPT = (
    "INSERT INTO receipts(operation, id, member, request, outcome, version)"
    " VALUES (?, ?, ?, ?, ?, ?)"
)
# A receipt, unless one with its operation and id exists: no row back then.
_ADD_RECEIPT = (
    "INSERT INTO receipts(operation, id, member, request, outcome, version)"
    " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(operation, id) DO NOTHING RETURNING 1"
)
_SET_COUNTER = (
    "INSERT INTO counters(key, value) VALUES (?, ?) "
    "ON CONFLICT(key) DO UPDATE SET value = excluded.value"
)


def _sqlite(sql: str) -> str:
    """A statement shared with PostgreSQL, for SQLite (no schema prefix)."""
    return sql.replace("{s}", "")


_LOCKED = (5, 6)  # SQLITE_BUSY, SQLITE_LOCKED
_CHUNK = 500  # ids per IN (...) query
SYNCHRONOUS = ("FULL", "NORMAL")


def _synchronous(value: object) -> str:
    setting = value.upper() if isinstance(value, str) else value
    if setting not in SYNCHRONOUS:
        raise StoreError(
            f"'synchronous' must be 'FULL' (survives power loss: the default) or 'NORMAL' "
            f"(survives a crash of the process; a power loss may lose the last commits): "
            f"got {value!r}"
        )
    return str(setting)


def _checkpoints(value: object) -> str:
    setting = value.lower() if isinstance(value, str) else value
    if setting not in MODES:
        raise StoreError(
            "'checkpoints' must be 'commit' (the commit that fills the write-ahead log "
            "copies it back into the database) or 'background' (a thread of the store's "
            f"does, so that no call waits for it): got {value!r}"
        )
    return str(setting)


class _Transaction:
    """A connection in a transaction, as the shared migration code sees it."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection

    def execute(self, sql: str, parameters: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        return self.connection.execute(sql.replace("{s}", ""), parameters).fetchall()

    def executemany(self, sql: str, rows: Iterable[Sequence[object]]) -> None:
        self.connection.executemany(sql.replace("{s}", ""), rows)


class _Connection:
    """A connection and the process that opened it (weak-referenceable, unlike sqlite3's).

    Its thread holds ``lock`` while it runs statements on it (:meth:`SQLiteStore._using`),
    so that ``close()`` from another thread never closes it under a running statement:
    ``close()`` marks it ``closed``, and closes it at once only if it is idle; otherwise
    its thread closes it when its statements are done."""

    __slots__ = ("__weakref__", "closed", "connection", "depth", "lock", "pid")

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection
        self.pid = os.getpid()
        self.lock = threading.RLock()
        self.depth = 0  # how many _using() blocks of its thread are open on it
        self.closed = False


class _Held:
    """A thread's connection held for one block (:meth:`SQLiteStore._using`): a class
    rather than a generator, since every call of the store goes through it."""

    __slots__ = ("holder", "store")

    def __init__(self, store: SQLiteStore, holder: _Connection) -> None:
        self.store = store
        self.holder = holder

    def __enter__(self) -> sqlite3.Connection:
        holder = self.holder
        holder.lock.acquire()
        if holder.closed:
            holder.lock.release()
            raise StoreError(f"{self.store!r} is closed")
        holder.depth += 1
        return holder.connection

    def __exit__(self, *exception: object) -> None:
        holder = self.holder
        try:
            holder.depth -= 1
            if holder.closed and holder.depth == 0:  # close() came meanwhile
                holder.connection.close()
        finally:
            holder.lock.release()


class SQLiteStore:
    """A store in one SQLite file, safe to share between threads and processes."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        timeout: float = 30.0,
        auto_migrate: bool = True,
        synchronous: str = "FULL",
        cache_size: int = 10_000,
        checkpoints: str = "commit",
    ) -> None:
        self._path = os.fspath(path)
        self._synchronous = _synchronous(synchronous)
        self._checkpoints = _checkpoints(checkpoints)
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
        self._guard = threading.RLock()  # re-entrant: a fork may come from its holder
        self._closed = False
        with _STORES_LOCK:  # not while a fork holds the stores still
            _STORES.add(self)
        if isinstance(cache_size, bool) or not isinstance(cache_size, int) or cache_size < 0:
            raise StoreError(f"'cache_size' must be a number of members >= 0: {cache_size!r}")
        self._cache_size = cache_size
        self._checkpointer: Checkpointer | None = None
        if self._checkpoints == "background":
            self._checkpointer = Checkpointer(self._path, self._synchronous, self._timeout)
            weakref.finalize(self, self._checkpointer.stop)  # a store dropped unclosed
        self._states: dict[str, Snapshot] = {}  # member -> the last state seen, by version
        self.migrated: MigrationReport | None = None  # what opening it applied, if anything
        try:
            connection = self._connection()
            with self._errors("prepare its schema"):
                mode = self._enable_wal(connection)
                if mode != "wal":
                    raise StoreError(f"SQLite store {self._path!r} cannot use WAL mode ({mode})")
                where = f"SQLite store {self._path!r}"
                if needs_migration(self._version(connection), where, self.url, auto_migrate):
                    with self._transaction(connection):
                        report = upgrade(_Transaction(connection), MIGRATIONS, where)
                    self.migrated = report if report.applied else None  # or another did it
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

    @property
    def url(self) -> str:
        options = []
        if self._synchronous != "FULL":
            options.append(f"synchronous={self._synchronous.lower()}")
        if self._checkpoints != "commit":
            options.append(f"checkpoints={self._checkpoints}")
        query = "?" + "&".join(options) if options else ""
        return f"sqlite:///{self._path}{query}"

    @property
    def synchronous(self) -> str:
        """``"FULL"`` (the default) or ``"NORMAL"``: see the module's documentation."""
        return self._synchronous

    # ------------------------------------------------------------------ Store protocol

    def load(self, member: str) -> Snapshot:
        known = self._states.get(member)
        # The state text only when the one kept for this member is not that version.
        row = self._read_one(
            "load a member",
            "SELECT version, split, metric_rows, CASE WHEN version = ? THEN NULL ELSE state END"
            " FROM members WHERE id = ?",
            -1 if known is None else known.version,
            member,
        )
        if row is None:
            return Snapshot(blank_state(member), 0)
        if known is not None and row[3] is None:
            return known
        if not row[1] and not row[2]:
            return self._keep(Snapshot(decode_state(row[3]), row[0]))
        # Its lots or metric are rows: the state and they are read in one transaction.
        with (
            self._using() as connection,
            self._errors("load a member"),
            self._transaction(connection, "BEGIN"),
        ):
            row = connection.execute(
                "SELECT version, split, metric_rows, state FROM members WHERE id = ?", (member,)
            ).fetchone()
            lots = self._row_texts(connection, "lots", [member] if row[1] else [])
            metric = self._row_texts(connection, "metric", [member] if row[2] else [])
        snapshot = Snapshot(decode_state(row[3], lots.get(member), metric.get(member)), row[0])
        return self._keep(snapshot)

    @staticmethod
    def _row_texts(
        connection: sqlite3.Connection, table: str, members: Sequence[str]
    ) -> dict[str, list[str]]:
        """The texts in ``table`` (``lots`` or ``metric``) of ``members``, each member's
        in key order (spending order, time order)."""
        found: dict[str, list[str]] = {member: [] for member in members}
        for start in range(0, len(members), _CHUNK):
            chunk = members[start : start + _CHUNK]
            rows = connection.execute(
                f"SELECT member, data FROM {table} WHERE member IN"
                f" ({', '.join('?' * len(chunk))}) ORDER BY member, key",
                chunk,
            )
            for member, data in rows:
                found[member].append(data)
        return found

    def _keep(self, snapshot: Snapshot) -> Snapshot:
        """Remember a member's state at a version: a later load of that same version
        (checked against the database every time) need not decode it again."""
        states = self._states
        if self._cache_size:
            if len(states) >= self._cache_size:
                states.pop(next(iter(states)), None)  # the oldest kept
            states[snapshot.state.id] = snapshot
        return snapshot

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

    def load_many(self, members: Sequence[str]) -> dict[str, Snapshot]:
        """Several members at once (one query per 500): what batches read first."""
        found: dict[str, Snapshot] = {}
        for start in range(0, len(members), _CHUNK):
            chunk = members[start : start + _CHUNK]
            with (
                self._using() as connection,
                self._errors("load members"),
                self._transaction(connection, "BEGIN"),
            ):
                rows = connection.execute(
                    "SELECT id, version, split, metric_rows, state FROM members WHERE id IN "
                    f"({', '.join('?' * len(chunk))})",
                    chunk,
                ).fetchall()
                unknown: list[str] = []
                unknown_metric: list[str] = []
                for member, version, split, metric_rows, _ in rows:
                    known = self._states.get(member)
                    if known is not None and known.version == version:
                        found[member] = known
                        continue
                    if split:
                        unknown.append(member)
                    if metric_rows:
                        unknown_metric.append(member)
                lots = self._row_texts(connection, "lots", unknown)
                metric = self._row_texts(connection, "metric", unknown_metric)
            for member, version, _, _, state in rows:
                if member not in found:
                    state_now = decode_state(state, lots.get(member), metric.get(member))
                    found[member] = self._keep(Snapshot(state_now, version))
        for member in members:
            if member not in found:
                found[member] = Snapshot(blank_state(member), 0)
        return found

    def known_receipts(self, operation: str, ids: Sequence[str]) -> set[str]:
        """Which of ``ids`` have a receipt for ``operation`` (one query per 500)."""
        known: set[str] = set()
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            rows = self._read_all(
                "read receipts",
                "SELECT id FROM receipts WHERE operation = ? AND id IN "
                f"({', '.join('?' * len(chunk))})",
                operation,
                *chunk,
            )
            known.update(row[0] for row in rows)
        return known

    def commit(self, unit: Commit) -> None:
        self.commit_many((unit,))

    def commit_many(self, units: Sequence[Commit]) -> None:
        """Apply ``units`` in order in one transaction, all or none (one member may
        appear several times): what ``simulate`` and ``Rewards.record_many`` use, so a
        batch pays for one commit to disk, not one per action."""
        encoded = [encode(unit) for unit in units]  # before taking the write lock
        written: dict[str, Snapshot] = {}  # what this transaction made of each member so far
        with self._using() as connection, self._errors("commit"), self._transaction(connection):
            for unit, values in zip(units, encoded, strict=True):
                self._apply(connection, unit, values, written)
        if self._checkpointer is not None:
            self._checkpointer.committed()
        for unit in units:  # committed: each member is now at the version after its units
            self._keep(Snapshot(unit.state, unit.expected_version + 1))

    def _apply(
        self,
        connection: sqlite3.Connection,
        unit: Commit,
        encoded: Encoded,
        written: dict[str, Snapshot],
    ) -> None:
        receipt = encoded.receipt
        row = connection.execute(
            "SELECT version, head, split, metric_rows FROM members WHERE id = ?", (unit.member,)
        ).fetchone()
        version, head, split, metric_rows = (0, None, 0, 0) if row is None else row
        version = int(version)
        if version != unit.expected_version:
            raise StaleVersion(unit.member, unit.expected_version, version)
        if (
            receipt is not None
            and connection.execute(_ADD_RECEIPT, (*receipt, version + 1)).fetchone() is None
        ):
            raise DuplicateReceipt(receipt[0], receipt[1])
        hashes = link(unit.member, head, unit.entries, count=unit.state.entries)
        new_head = hashes[-1] if hashes else head
        # The state the commit started from, when known at that version: its lots and
        # its metric are the rows there now (when they are rows), and only what changed
        # is written.
        before = written.get(unit.member) or self._states.get(unit.member)
        old = before.state if before is not None and before.version == version else None
        lots, metric = unit.state.lots, unit.state.metric
        old_lots = None if old is None else old.lots
        old_metric = None if old is None else old.metric
        split = keep_as_rows(bool(split), lots) and self._write_rows(
            connection, "lots", unit.member, bool(split), lot_writes(bool(split), old_lots, lots)
        )
        metric_rows = keep_metric_as_rows(bool(metric_rows), metric) and self._write_rows(
            connection,
            "metric",
            unit.member,
            bool(metric_rows),
            metric_writes(bool(metric_rows), old_metric, metric),
        )
        state = encoded.state(split, metric_rows)
        connection.execute(
            _UPSERT_MEMBER,
            (unit.member, version + 1, state, encoded.due, new_head, split, metric_rows),
        )
        written[unit.member] = Snapshot(unit.state, version + 1)
        if hashes:
            connection.executemany(
                _INSERT_ENTRY,
                [entry_row(unit.member, e, h) for e, h in zip(unit.entries, hashes, strict=True)],
            )
        if unit.counters:
            values = running_totals(unit.counters, lambda k: self._counter(connection, k))
            connection.executemany(_SET_COUNTER, values.items())
        if unit.scores:
            connection.executemany(_sqlite(SCORE_UPSERT), score_rows(unit))

    @staticmethod
    def _write_rows(
        connection: sqlite3.Connection,
        table: str,
        member: str,
        split: bool,
        writes: tuple[bool, list[str], list[tuple[str, str]]] | None,
    ) -> bool:
        """Make ``member``'s rows in ``table`` (``lots`` or ``metric``) what ``writes``
        says (:func:`._lots.lot_writes`, :func:`._metric.metric_writes`; ``split``: they
        are rows now).  False when they cannot be rows: the member then has none there,
        and keeps them in the state's text."""
        clear = split if writes is None else writes[0]
        if clear:
            connection.execute(f"DELETE FROM {table} WHERE member = ?", (member,))
        if writes is None:
            return False
        _, removed, added = writes
        if removed:
            connection.executemany(
                f"DELETE FROM {table} WHERE member = ? AND key = ?",
                [(member, key) for key in removed],
            )
        if added:
            inserted = connection.executemany(
                f"INSERT INTO {table}(member, key, data) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                [(member, key, data) for key, data in added],
            ).rowcount
            if inserted != len(added):  # two with one key: they cannot be rows
                connection.execute(f"DELETE FROM {table} WHERE member = ?", (member,))
                return False
        return True

    def top(
        self, board: str, period: str, group: str, limit: int, offset: int = 0
    ) -> list[tuple[str, int]]:
        rows = self._read_all(
            "read a leaderboard", _sqlite(SCORE_TOP), board, period, group, limit, offset
        )
        return [(member, int(score)) for member, score in rows]

    def rank(self, board: str, period: str, group: str, member: str) -> tuple[int, int] | None:
        row = self._read_one("read a rank", _sqlite(SCORE_OF), board, period, group, member)
        if row is None:
            return None
        score = int(row[0])
        ahead = self._read_one(
            "read a rank", _sqlite(SCORE_AHEAD), board, period, group, score, score, member
        )
        return int(ahead[0]) + 1, score

    def record(self, receipt: Receipt) -> None:
        row = receipt_row(receipt)
        with (
            self._using() as connection,
            self._errors("record a receipt"),
            self._transaction(connection),
        ):
            if connection.execute(
                "SELECT 1 FROM receipts WHERE operation = ? AND id = ?", row[:2]
            ).fetchone():
                raise DuplicateReceipt(row[0], row[1])
            connection.execute(_INSERT_RECEIPT, (*row, 0))
        if self._checkpointer is not None:
            self._checkpointer.committed()

    def history(self, member: str) -> list[Entry]:
        rows = self._read_all(
            "read a ledger",
            f"SELECT {ENTRY_COLUMNS} FROM entries WHERE member = ? ORDER BY seq",
            member,
        )
        return [entry_from_row(member, row) for row in rows]

    def ledgers(self, chunk: int = LEDGERS_CHUNK) -> Iterator[tuple[MemberState, list[Entry]]]:
        """Every member's committed state with its ledger, in member id order: what
        :func:`rewardkit.analytics.ledgers` reads.  ``chunk`` members at a time, each
        chunk from one snapshot in at most three queries (the members, their lots, their
        entries) instead of two queries per member.  The states read are not kept decoded:
        a scan of every member would only push the members in use out of the cache."""
        return self._ledgers(ledgers_chunk(chunk))

    def _ledgers(self, chunk: int) -> Iterator[tuple[MemberState, list[Entry]]]:
        after: tuple[str, ...] = ()
        while True:
            # The connection of the thread that reads this chunk: a scan may go on in
            # another thread, or in a forked child.
            with (
                self._using() as connection,
                self._errors("read ledgers"),
                self._transaction(connection, "BEGIN"),
            ):
                rows = connection.execute(
                    "SELECT id, split, metric_rows, state FROM members"
                    f"{' WHERE id > ?' if after else ''} ORDER BY id LIMIT ?",
                    (*after, chunk),
                ).fetchall()
                if not rows:
                    return
                lots = self._row_texts(connection, "lots", [row[0] for row in rows if row[1]])
                metric = self._row_texts(connection, "metric", [row[0] for row in rows if row[2]])
                entries = connection.execute(
                    f"SELECT {ENTRY_COLUMNS}, member FROM entries"
                    " WHERE member BETWEEN ? AND ? ORDER BY member, seq",
                    (rows[0][0], rows[-1][0]),
                ).fetchall()
            yield from member_ledgers(
                [
                    (member, partial(decode_state, text, lots.get(member), metric.get(member)))
                    for member, _, _, text in rows
                ],
                entries,
            )
            if len(rows) < chunk:
                return
            after = (rows[-1][0],)

    def chain(self, member: str) -> Chain:
        with (
            self._using() as connection,
            self._errors("read a ledger"),
            self._transaction(connection, "BEGIN"),
        ):
            row = connection.execute("SELECT head FROM members WHERE id = ?", (member,)).fetchone()
            rows = connection.execute(
                f"SELECT {ENTRY_COLUMNS}, hash FROM entries WHERE member = ? ORDER BY seq",
                (member,),
            ).fetchall()
        links = tuple(Link(entry_from_row(member, r), r[10]) for r in rows)
        return Chain(member, links, None if row is None else row[0])

    def due(self, at: datetime) -> list[str]:
        rows = self._read_all(
            "list members due",
            "SELECT id FROM members WHERE due IS NOT NULL AND due <= ? ORDER BY due, id",
            micros(at),
        )
        return [row[0] for row in rows]

    def raffle_tickets(self, raffle: str) -> list[tuple[str, int]]:
        """Every member holding tickets of ``raffle``, with how many, by member id: read
        from the stored states by SQLite's JSON functions, without decoding a state."""
        rows = self._read_all(
            "read raffle tickets",
            "SELECT m.id, t.value FROM members AS m, json_each(m.state, '$.tickets') AS t"
            " WHERE t.key = ? AND t.value > 0 ORDER BY m.id",
            raffle,
        )
        return [(member, int(count)) for member, count in rows]

    def members(self) -> Iterator[str]:
        # SQLite's BINARY collation orders UTF-8 bytes, which is code point order: sorted().
        rows = self._read_all("list members", "SELECT id FROM members ORDER BY id")
        return iter([row[0] for row in rows])

    def close(self) -> None:
        """Close every connection this store opened in this process (idempotent).

        A connection another thread is running statements on is closed by that thread
        when they are done: ``close()`` does not wait for them (a commit under way may
        still land after it returns), and every later call is a ``StoreError``."""
        if self._checkpointer is not None:
            self._checkpointer.close()
        with self._guard:
            self._closed = True
            holders = [h for h in self._open if h.pid == os.getpid()]
            self._open.clear()
        for holder in holders:
            holder.closed = True  # seen by its thread when its statements are done
            if holder.lock.acquire(blocking=False):  # idle (or in use by this thread)
                try:
                    if holder.depth == 0:
                        holder.connection.close()
                finally:
                    holder.lock.release()

    def __enter__(self) -> SQLiteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<SQLiteStore {self._path!r}{' (closed)' if self._closed else ''}>"

    # ------------------------------------------------------------------ internals

    def _connection(self) -> sqlite3.Connection:
        """This thread's connection (opened on first use)."""
        return self._holder().connection

    def _using(self) -> _Held:
        """This thread's connection, held while the block runs statements on it: a
        ``close()`` from another thread meanwhile leaves it to this thread to close
        when the block ends."""
        return _Held(self, self._holder())

    def _holder(self) -> _Connection:
        if self._closed:
            raise StoreError(f"{self!r} is closed")
        holder: _Connection | None = getattr(self._local, "holder", None)
        if holder is not None and holder.pid == os.getpid():
            return holder
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
                connection.execute(f"PRAGMA synchronous={self._synchronous}")
                connection.execute("PRAGMA cache_size=-65536")  # KiB: 64 MiB at most
                connection.execute("PRAGMA mmap_size=1073741824")
                if self._checkpointer is not None:
                    connection.execute(f"PRAGMA wal_autocheckpoint={BACKSTOP}")
            except BaseException:
                connection.close()
                raise
        holder = _Connection(connection)
        with self._guard:
            if not self._closed:
                self._open.add(holder)
                self._local.holder = holder
                return holder
        connection.close()  # close() came while it was opening: it would never see it
        raise StoreError(f"{self!r} is closed")

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
    def _transaction(
        connection: sqlite3.Connection, begin: str = "BEGIN IMMEDIATE"
    ) -> Iterator[None]:
        """One transaction (a write one unless told otherwise): committed if the block
        returns, else rolled back.  In WAL mode a deferred ``BEGIN`` reads one snapshot."""
        connection.execute(begin)
        try:
            yield
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise

    @staticmethod
    def _version(connection: sqlite3.Connection) -> int:
        """The file's schema version (0: no schema yet)."""
        if not connection.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'rewardkit_schema'"
        ).fetchone():
            return 0
        return int(
            connection.execute("SELECT max(version) FROM rewardkit_schema").fetchone()[0] or 0
        )

    @staticmethod
    def _counter(connection: sqlite3.Connection, key: str) -> int:
        row = connection.execute("SELECT value FROM counters WHERE key = ?", (key,)).fetchone()
        return 0 if row is None else int(row[0])

    def _read_one(self, doing: str, sql: str, *parameters: object) -> Any:
        with self._using() as connection, self._errors(doing):
            return connection.execute(sql, parameters).fetchone()

    def _read_all(self, doing: str, sql: str, *parameters: object) -> list[Any]:
        with self._using() as connection, self._errors(doing):
            return connection.execute(sql, parameters).fetchall()


# ------------------------------------------------------------------ forks
#
# A child process must never use, nor close, a connection its parent opened (SQLite's
# advice: closing one may act on the parent's locks and files).  The forking thread's
# connection survives in the child in its thread-local; the other threads' would not:
# the child has one thread, and the interpreter frees the others' thread-local values,
# which closes their connections.  So every connection of every store is held, from
# just before a fork, in the child's ``_inherited`` (and each store's ``_guard`` with
# it, so that no thread holds it when the child is made).

_STORES: weakref.WeakSet[SQLiteStore] = weakref.WeakSet()
_STORES_LOCK = threading.RLock()  # one fork at a time, and no new store during one
_FORKING: list[tuple[SQLiteStore, list[_Connection]]] = []


def _before_fork() -> None:
    # Re-entrant locks: a fork may come from a thread that holds one (a signal handler).
    _STORES_LOCK.acquire()
    for store in list(_STORES):
        store._guard.acquire()
        here = os.getpid()  # those from an earlier fork are in _inherited already
        _FORKING.append((store, [h for h in store._open if h.pid == here]))


def _after_fork_in_parent() -> None:
    for store, _ in _FORKING:
        store._guard.release()
    _FORKING.clear()
    _STORES_LOCK.release()


def _after_fork_in_child() -> None:
    global _STORES_LOCK
    for store, holders in _FORKING:
        store._inherited.extend(holders)
        store._open = weakref.WeakSet()  # the parent's: none of them is this process's
        store._guard = threading.RLock()  # the parent's threads hold nothing here
    _FORKING.clear()
    _STORES_LOCK = threading.RLock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(
        before=_before_fork,
        after_in_parent=_after_fork_in_parent,
        after_in_child=_after_fork_in_child,
    )


def migrate(path: str | os.PathLike[str], *, timeout: float = 30.0) -> MigrationReport:
    """Bring the SQLite file at ``path`` (created if missing) to this rewardkit's schema."""
    with SQLiteStore(path, timeout=timeout) as store:
        where = f"SQLite store {store.path!r}"
        return store.migrated or MigrationReport(where, SCHEMA_VERSION, SCHEMA_VERSION)
