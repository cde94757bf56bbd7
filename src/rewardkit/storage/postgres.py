"""PostgresStore: many app processes, on many machines, over one PostgreSQL database.

Semantics are exactly :class:`~rewardkit.storage.memory.MemoryStore`'s; the contract
suite in :mod:`rewardkit.testing.store_contract` proves it on a real server.

* Every call is one transaction.  A commit locks the member's row (``SELECT ... FOR
  UPDATE``) before checking its version, so two writers on one member are serialised
  and the loser gets :class:`~rewardkit.storage.base.StaleVersion`; a member's first
  commit inserts its row ``ON CONFLICT DO NOTHING``, so of two first commits one wins.
* A receipt is inserted ``ON CONFLICT DO NOTHING``: a second one is
  :class:`~rewardkit.storage.base.DuplicateReceipt`.  Counters are locked in key order
  (no deadlock between two commits changing the same counters) and every limit is
  checked on the running total under that lock, so stock is never oversold.
* A serialization failure or a deadlock (SQLSTATE 40001, 40P01: a PostgreSQL-compatible
  distributed engine reports conflicts so) is
  :class:`~rewardkit.storage.base.TransactionConflict`, which the facade retries with
  jittered backoff.  A lock held longer than ``timeout`` seconds, a lost connection or
  any other database error is a :class:`~rewardkit.errors.StoreError`.  A connection
  lost during a commit leaves its outcome unknown: retry the call with the same id.
* Connections: ``pool=True`` (default) keeps a ``psycopg_pool.ConnectionPool`` of up to
  ``max_connections`` per process, made on first use, so a store opened before a fork
  (gunicorn's ``--preload``) gives each worker its own pool; ``pool=False`` uses one
  connection per process, shared by its threads under a lock; or pass your own pool
  (its owner closes it).
* ``schema`` puts the tables in a PostgreSQL schema of that name (created if needed),
  so several programmes can share one database.  Migrations run under an advisory lock.

psycopg is imported when a store is made, so rewardkit imports without it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from .. import _codec
from ..errors import StoreError
from ..model import Entry, MemberState, Outcome, blank_state
from ._lots import keep_as_rows, lot_writes
from ._metric import keep_as_rows as keep_metric_as_rows
from ._metric import metric_writes
from ._pg import INSTALL_HINT, Connections, psycopg_module, quote
from ._pg import Transaction as _Transaction
from ._schema import (
    POSTGRES_MIGRATIONS,
    SCHEMA_VERSION,
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
    Heads,
    Split,
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
from .base import Chain, Commit, DuplicateReceipt, Link, Receipt, Snapshot, StaleVersion
from .chain import link

if TYPE_CHECKING:
    from psycopg import Connection
    from psycopg_pool import ConnectionPool

__all__ = ["INSTALL_HINT", "MIGRATIONS", "PostgresStore", "migrate"]

MIGRATIONS = POSTGRES_MIGRATIONS


# A member, with its lots' texts in spending order when they are rows (split), and its
# metric's in time order when they are rows (metric_rows), in one statement (so one
# snapshot).
_LOAD = (
    "SELECT m.id, m.version, m.state, m.head, m.split, CASE WHEN m.split = 1 THEN"
    " ARRAY(SELECT l.data FROM {s}lots AS l WHERE l.member = m.id ORDER BY l.key) END,"
    " m.metric_rows, CASE WHEN m.metric_rows = 1 THEN"
    " ARRAY(SELECT c.data FROM {s}metric AS c WHERE c.member = m.id ORDER BY c.key) END"
    " FROM {s}members AS m"
)


class PostgresStore:
    """A store in a PostgreSQL database, safe to share between threads, processes and
    machines.  ``conninfo`` is a ``postgresql://`` URL or a libpq ``key=value`` string."""

    def __init__(
        self,
        conninfo: str = "",
        *,
        pool: bool | ConnectionPool[Any] = True,
        schema: str | None = None,
        auto_migrate: bool = True,
        max_connections: int = 10,
        timeout: float = 30.0,
    ) -> None:
        self._pg = psycopg_module()
        if not timeout > 0:
            raise StoreError(f"'timeout' must be a number of seconds > 0: {timeout!r}")
        if max_connections < 1:
            raise StoreError(f"'max_connections' must be at least 1: {max_connections!r}")
        given = getattr(pool, "conninfo", "")  # a pool passed in knows where it connects
        self._conninfo = conninfo or (given if isinstance(given, str) else "")
        self._schema = schema
        self._prefix = quote(schema) + "." if schema is not None else ""
        self._timeout = float(timeout)
        self._db = Connections(conninfo, pool, max_connections, float(timeout), self.__repr__)
        self._heads = Heads()
        self.migrated: MigrationReport | None = None  # what opening it applied, if anything
        try:
            self._prepare(auto_migrate)
        except BaseException:
            self.close()
            raise

    @property
    def schema(self) -> str | None:
        return self._schema

    @property
    def url(self) -> str:
        """Where the store is, without any password."""
        try:
            parts = self._pg.conninfo.conninfo_to_dict(self._conninfo)
        except self._pg.Error:
            parts = {}
        user = f"{parts['user']}@" if parts.get("user") else ""
        host = str(parts.get("host", "")) + (f":{parts['port']}" if parts.get("port") else "")
        query = f"?schema={self._schema}" if self._schema is not None else ""
        return f"postgresql://{user}{host}/{parts.get('dbname', '')}{query}"

    # ------------------------------------------------------------------ Store protocol

    def load(self, member: str) -> Snapshot:
        # One statement: the state and its lots' rows are one snapshot.
        row = self._one("load a member", _LOAD + " WHERE m.id = %s", member)
        if row is None:
            return Snapshot(blank_state(member), 0)
        return self._loaded(row)

    def _loaded(self, row: Sequence[Any]) -> Snapshot:
        """A member from a row of ``_LOAD``, remembered."""
        member, version, state, head, split, lots, metric_rows, metric = row
        lots, metric = lots if split else None, metric if metric_rows else None
        snapshot = Snapshot(decode_state(state, lots, metric), int(version))
        rows = (bool(split), bool(metric_rows))
        self._heads.remember(member, snapshot.version, head, snapshot.state, rows)
        return snapshot

    def load_for_update(self, member: str) -> Snapshot:
        """The member as this store last loaded or committed it, without a round trip,
        to start a write from (else a fresh :meth:`load`).  It may be stale: the commit
        then fails with ``StaleVersion`` and the caller starts again from :meth:`load`.
        Never for a read."""
        return self._heads.snapshot(member) or self.load(member)

    def receipt(self, operation: str, request_id: str) -> Receipt | None:
        row = self._one(
            "read a receipt",
            "SELECT member, request, outcome FROM {s}receipts WHERE operation = %s AND id = %s",
            operation,
            request_id,
        )
        if row is None:
            return None
        request = _codec.from_json_text(row[1])
        return Receipt(operation, request_id, row[0], request, _codec.loads(row[2], Outcome))

    def counter(self, key: str) -> int:
        row = self._one("read a counter", "SELECT value FROM {s}counters WHERE key = %s", key)
        return 0 if row is None else int(row[0])

    def load_many(self, members: Sequence[str]) -> dict[str, Snapshot]:
        """Several members at once, in one query: what batches read first."""
        rows = self._all("load members", _LOAD + " WHERE m.id = ANY(%s)", list(members))
        found = {row[0]: self._loaded(row) for row in rows}
        for member in members:
            if member not in found:
                found[member] = Snapshot(blank_state(member), 0)
        return found

    def known_receipts(self, operation: str, ids: Sequence[str]) -> set[str]:
        """Which of ``ids`` have a receipt for ``operation``, in one query."""
        rows = self._all(
            "read receipts",
            "SELECT id FROM {s}receipts WHERE operation = %s AND id = ANY(%s)",
            operation,
            list(ids),
        )
        return {row[0] for row in rows}

    def commit(self, unit: Commit) -> None:
        self.commit_many((unit,))

    def commit_many(self, units: Sequence[Commit]) -> None:
        """Apply ``units`` in order in one transaction, all or none (one member may
        appear several times): what ``Rewards.record_many`` uses, so a batch pays for
        one round of commit, not one per action."""
        if not units:
            return
        encoded = [encode(unit) for unit in units]  # before any lock is taken
        with (
            self._connection() as connection,
            self._errors("commit", units[0].member),
            connection.transaction(),
        ):
            if not self._db.configured:  # a host's pool: its connections are not ours
                _Transaction(connection, self._prefix).execute(
                    f"SET LOCAL lock_timeout = {int(self._timeout * 1000)}"
                )
            written: dict[str, tuple[Snapshot, str | None, Split]] = {}
            for unit, values in zip(units, encoded, strict=True):
                self._apply(connection, unit, values, written)
        for member, (snapshot, head, split) in written.items():  # committed: as they are now
            self._heads.remember(member, snapshot.version, head, snapshot.state, split)

    def _apply(
        self,
        connection: Connection[Any],
        unit: Commit,
        encoded: Encoded,
        written: dict[str, tuple[Snapshot, str | None, Split]],
    ) -> None:
        """One unit of a transaction the caller holds (``written``: each member as the
        transaction left it so far, updated)."""
        member = unit.member
        run = _Transaction(connection, self._prefix).execute
        version = unit.expected_version
        # The member at the version the state was loaded at, when this store (or this
        # transaction) loaded or committed it: the update below then checks the version
        # itself (one round trip less), and only the lots that changed are written;
        # else the row is read and locked first.
        before = written.get(member)
        if before is None or before[0].version != version:
            before = None if version == 0 else self._heads.at(member, version)
        old: MemberState | None = None
        if before is not None:
            head, (split, metric_split), old = before[1], before[2], before[0].state
        elif version == 0:
            head, split, metric_split = None, False, False
        else:
            locked = run(
                "SELECT version, head, split, metric_rows FROM {s}members WHERE id = ? FOR UPDATE",
                (member,),
            )
            found, head, split, metric_split = (
                (int(locked[0][0]), locked[0][1], bool(locked[0][2]), bool(locked[0][3]))
                if locked
                else (0, None, False, False)
            )
            if found != version:
                raise StaleVersion(member, version, found)
        hashes = link(member, head, unit.entries, count=unit.state.entries)
        new_head = hashes[-1] if hashes else head
        # The member's row first (its lock orders concurrent writers), then its lots'
        # and its metric's rows, if they are to be rows ...
        as_rows = keep_as_rows(split, unit.state.lots)
        metric_rows = keep_metric_as_rows(metric_split, unit.state.metric)
        text = encoded.state(as_rows, metric_rows)
        if version == 0:
            changed = run(
                "INSERT INTO {s}members(id, version, state, due, head, split, metric_rows)"
                " VALUES (?, 1, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING RETURNING 1",
                (member, text, encoded.due, new_head, int(as_rows), int(metric_rows)),
            )
        else:
            changed = run(
                "UPDATE {s}members SET version = ?, state = ?, due = ?, head = ?, split = ?,"
                " metric_rows = ? WHERE id = ? AND version = ? RETURNING 1",
                (
                    version + 1,
                    text,
                    encoded.due,
                    new_head,
                    int(as_rows),
                    int(metric_rows),
                    member,
                    version,
                ),
            )
        if not changed:  # another commit landed meanwhile
            raise StaleVersion(member, version, self._version_of(connection, member))
        old_lots = None if old is None else old.lots
        old_metric = None if old is None else old.metric
        split_now = as_rows and self._write_rows(
            connection, "lots", member, split, lot_writes(split, old_lots, unit.state.lots)
        )
        metric_now = metric_rows and self._write_rows(
            connection,
            "metric",
            member,
            metric_split,
            metric_writes(metric_split, old_metric, unit.state.metric),
        )
        if (as_rows, metric_rows) != (split_now, metric_now):
            # ... unless they cannot be: then in the state's text
            run(
                "UPDATE {s}members SET state = ?, split = ?, metric_rows = ? WHERE id = ?",
                (encoded.state(split_now, metric_now), int(split_now), int(metric_now), member),
            )
        written[member] = (Snapshot(unit.state, version + 1), new_head, (split_now, metric_now))
        if encoded.receipt is not None and not run(
            "INSERT INTO {s}receipts(operation, id, member, request, outcome, version)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (operation, id) DO NOTHING RETURNING 1",
            (*encoded.receipt, version + 1),
        ):
            raise DuplicateReceipt(encoded.receipt[0], encoded.receipt[1])
        self._apply_counters(connection, unit)
        rows = score_rows(unit)
        if rows:
            _Transaction(connection, self._prefix).executemany(SCORE_UPSERT, rows)
        _Transaction(connection, self._prefix).executemany(
            f"INSERT INTO {{s}}entries(member, {ENTRY_COLUMNS}, hash)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [entry_row(member, e, h) for e, h in zip(unit.entries, hashes, strict=True)],
        )

    def _write_rows(
        self,
        connection: Connection[Any],
        table: str,
        member: str,
        split: bool,
        writes: tuple[bool, list[str], list[tuple[str, str]]] | None,
    ) -> bool:
        """Make ``member``'s rows in ``table`` (``lots`` or ``metric``) what ``writes``
        says (:func:`._lots.lot_writes`, :func:`._metric.metric_writes`; ``split``: they
        are rows now).  False when they cannot be rows: the member then has none there."""
        prefix = self._prefix + table

        def run(sql: str, *parameters: object) -> int:
            return int(connection.execute(sql.replace("{t}", prefix), parameters).rowcount)

        clear = split if writes is None else writes[0]
        if clear:
            run("DELETE FROM {t} WHERE member = %s", member)
        if writes is None:
            return False
        _, removed, added = writes
        if removed:
            run("DELETE FROM {t} WHERE member = %s AND key = ANY(%s)", member, removed)
        if added:
            inserted = run(
                "INSERT INTO {t}(member, key, data)"
                " SELECT %s, k, d FROM unnest(%s::text[], %s::text[]) AS t(k, d)"
                " ON CONFLICT DO NOTHING",
                member,
                [key for key, _ in added],
                [data for _, data in added],
            )
            if inserted != len(added):  # two with one key: they cannot be rows
                run("DELETE FROM {t} WHERE member = %s", member)
                return False
        return True

    def top(
        self, board: str, period: str, group: str, limit: int, offset: int = 0
    ) -> list[tuple[str, int]]:
        sql = SCORE_TOP.replace("?", "%s")
        rows = self._all("read a leaderboard", sql, board, period, group, limit, offset)
        return [(member, int(score)) for member, score in rows]

    def rank(self, board: str, period: str, group: str, member: str) -> tuple[int, int] | None:
        row = self._one("read a rank", SCORE_OF.replace("?", "%s"), board, period, group, member)
        if row is None:
            return None
        score = int(row[0])
        sql = SCORE_AHEAD.replace("?", "%s")
        ahead = self._one("read a rank", sql, board, period, group, score, score, member)
        return int(ahead[0]) + 1, score

    def record(self, receipt: Receipt) -> None:
        row = receipt_row(receipt)
        with (
            self._connection() as connection,
            self._errors("record a receipt", receipt.member),
            connection.transaction(),
        ):
            run = _Transaction(connection, self._prefix).execute
            if not run(
                "INSERT INTO {s}receipts(operation, id, member, request, outcome, version)"
                " VALUES (?, ?, ?, ?, ?, 0) ON CONFLICT (operation, id) DO NOTHING RETURNING 1",
                row,
            ):
                raise DuplicateReceipt(row[0], row[1])

    def history(self, member: str) -> list[Entry]:
        rows = self._all(
            "read a ledger",
            f"SELECT {ENTRY_COLUMNS} FROM {{s}}entries WHERE member = %s ORDER BY seq",
            member,
        )
        return [entry_from_row(member, row) for row in rows]

    def ledgers(self, chunk: int = LEDGERS_CHUNK) -> Iterator[tuple[MemberState, list[Entry]]]:
        """Every member's committed state with its ledger, in member id order: what
        :func:`rewardkit.analytics.ledgers` reads.  ``chunk`` members at a time, each
        chunk from one snapshot in two queries (the members with their lots, their
        entries) instead of two queries per member; the states read are not kept."""
        return self._ledgers(ledgers_chunk(chunk))

    def _ledgers(self, chunk: int) -> Iterator[tuple[MemberState, list[Entry]]]:
        after: tuple[str, ...] = ()
        while True:
            with (
                self._connection() as connection,
                self._errors("read ledgers"),
                connection.transaction(),
            ):
                run = _Transaction(connection, self._prefix).execute
                run("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                rows = run(
                    f"{_LOAD}{' WHERE m.id > ?' if after else ''} ORDER BY m.id LIMIT ?",
                    (*after, chunk),
                )
                if not rows:
                    return
                entries = run(
                    f"SELECT {ENTRY_COLUMNS}, member FROM {{s}}entries"
                    " WHERE member BETWEEN ? AND ? ORDER BY member, seq",
                    (rows[0][0], rows[-1][0]),
                )
            yield from member_ledgers(
                [
                    (
                        row[0],
                        partial(
                            decode_state,
                            row[2],
                            row[5] if row[4] else None,
                            row[7] if row[6] else None,
                        ),
                    )
                    for row in rows
                ],
                entries,
            )
            if len(rows) < chunk:
                return
            after = (rows[-1][0],)

    def chain(self, member: str) -> Chain:
        with (
            self._connection() as connection,
            self._errors("read a ledger"),
            connection.transaction(),
        ):
            run = _Transaction(connection, self._prefix).execute
            run("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            head = run("SELECT head FROM {s}members WHERE id = ?", (member,))
            rows = run(
                f"SELECT {ENTRY_COLUMNS}, hash FROM {{s}}entries WHERE member = ? ORDER BY seq",
                (member,),
            )
        links = tuple(Link(entry_from_row(member, row), row[10]) for row in rows)
        return Chain(member, links, head[0][0] if head else None)

    def due(self, at: datetime) -> list[str]:
        rows = self._all(
            "list members due",
            "SELECT id FROM {s}members WHERE due IS NOT NULL AND due <= %s ORDER BY due, id",
            micros(at),
        )
        return [row[0] for row in rows]

    def raffle_tickets(self, raffle: str) -> list[tuple[str, int]]:
        """Every member holding tickets of ``raffle``, with how many, by member id: read
        from the stored states by the server's JSON functions, without decoding a state."""
        rows = self._all(
            "read raffle tickets",
            "SELECT id, n FROM (SELECT id, (state::jsonb -> 'tickets' ->> %s)::bigint AS n"
            " FROM {s}members) AS held WHERE n > 0 ORDER BY id",
            raffle,
        )
        return [(member, int(count)) for member, count in rows]

    def members(self) -> Iterator[str]:
        # The column's "C" collation orders UTF-8 bytes, which is code point order: sorted().
        rows = self._all("list members", "SELECT id FROM {s}members ORDER BY id")
        return iter([row[0] for row in rows])

    def close(self) -> None:
        """Close this store's own connections in this process (idempotent); a pool that
        was passed in stays open for its owner to close."""
        self._db.close()

    def __enter__(self) -> PostgresStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        closed = " (closed)" if getattr(self, "_db", None) and self._db.closed else ""
        return f"<PostgresStore {self.url!r}{closed}>"

    # ------------------------------------------------------------------ internals

    def _prepare(self, auto_migrate: bool) -> None:
        where = f"PostgreSQL store {self.url}"
        with self._db.first() as connection, self._errors("prepare its schema"):
            found = self._schema_version(connection)
            if not needs_migration(found, where, self.url, auto_migrate):
                return
            with connection.transaction():
                key = hashlib.sha256(f"rewardkit-migrate:{self._schema}".encode()).digest()
                lock = int.from_bytes(key[:8], "big", signed=True)
                connection.execute("SELECT pg_advisory_xact_lock(%s)", (lock,))
                if self._schema is not None:
                    connection.execute(f"CREATE SCHEMA IF NOT EXISTS {self._prefix[:-1]}")
                report = upgrade(_Transaction(connection, self._prefix), MIGRATIONS, where)
                self.migrated = report if report.applied else None  # another process did it

    def _schema_version(self, connection: Connection[Any]) -> int:
        table = f"{self._prefix}rewardkit_schema"
        row = connection.execute("SELECT to_regclass(%s)", (table,)).fetchone()
        if row is None or row[0] is None:
            return 0
        found = connection.execute(f"SELECT max(version) FROM {table}").fetchone()
        return int(found[0] or 0) if found else 0

    def _version_of(self, connection: Connection[Any], member: str) -> int:
        rows = _Transaction(connection, self._prefix).execute(
            "SELECT version FROM {s}members WHERE id = ?", (member,)
        )
        return int(rows[0][0]) if rows else 0

    def _apply_counters(self, connection: Connection[Any], unit: Commit) -> None:
        if not unit.counters:
            return
        run = _Transaction(connection, self._prefix).execute
        keys = sorted({change.key for change in unit.counters})
        # Create missing rows, then lock all in key order: two commits on the same
        # counters always wait for each other in the same order, never in a cycle.
        run(
            "INSERT INTO {s}counters(key, value) SELECT k, 0 FROM unnest(?::text[]) AS k"
            " ORDER BY k ON CONFLICT (key) DO NOTHING",
            (keys,),
        )
        rows = run(
            "SELECT key, value FROM {s}counters WHERE key = ANY(?) ORDER BY key FOR UPDATE",
            (keys,),
        )
        current = {key: int(value) for key, value in rows}
        values = running_totals(unit.counters, lambda key: current[key])
        _Transaction(connection, self._prefix).executemany(
            "UPDATE {s}counters SET value = ? WHERE key = ?",
            [(value, key) for key, value in sorted(values.items())],
        )

    def _connection(self) -> AbstractContextManager[Connection[Any]]:
        return self._db.connection()

    def _errors(self, doing: str, member: str | None = None) -> AbstractContextManager[None]:
        return self._db.errors(doing, member)

    def _one(self, doing: str, sql: str, *parameters: object) -> Any:
        with self._connection() as connection, self._errors(doing):
            return connection.execute(sql.replace("{s}", self._prefix), parameters).fetchone()

    def _all(self, doing: str, sql: str, *parameters: object) -> list[Any]:
        with self._connection() as connection, self._errors(doing):
            return connection.execute(sql.replace("{s}", self._prefix), parameters).fetchall()


def migrate(conninfo: str, *, schema: str | None = None) -> MigrationReport:
    """Bring the PostgreSQL database (or its ``schema``) to this rewardkit's schema."""
    with PostgresStore(conninfo, pool=False, schema=schema) as store:
        where = f"PostgreSQL store {store.url}"
        return store.migrated or MigrationReport(where, SCHEMA_VERSION, SCHEMA_VERSION)
