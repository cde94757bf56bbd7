"""Schema versions and migrations of the SQL stores.

Migrations are an ordered list per dialect (SQLite and PostgreSQL differ in types, not in
shape): version N means the same tables and columns in both, side by side here.  A store
applies the ones its database lacks on first use unless opened with
``auto_migrate=False``, always in one transaction that holds the database's migration lock
(SQLite's write lock, a PostgreSQL advisory lock), so several processes starting at once
are safe; a database with a newer schema than this rewardkit knows is refused.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

import attrs

from ..errors import StoreError
from ._sql import ENTRY_COLUMNS, entry_from_row
from .chain import link

__all__ = [
    "POSTGRES_MIGRATIONS",
    "SCHEMA_VERSION",
    "SQLITE_MIGRATIONS",
    "Database",
    "Migration",
    "MigrationReport",
    "backfill_chains",
    "needs_migration",
    "upgrade",
]

SCHEMA_VERSION = 6
"""The schema version this rewardkit reads and writes."""


class Database(Protocol):
    """One open transaction, as the shared migration code sees it.  SQL is written with
    ``?`` placeholders and ``{s}`` before each table name, which the store replaces by
    its schema's prefix (PostgreSQL) or by nothing (SQLite)."""

    def execute(self, sql: str, parameters: Sequence[object] = ()) -> list[tuple[Any, ...]]: ...

    def executemany(self, sql: str, rows: Iterable[Sequence[object]]) -> None: ...


@attrs.frozen
class Migration:
    """One step from version ``version - 1`` to ``version``."""

    version: int
    description: str
    statements: tuple[str, ...] = ()
    then: Callable[[Database], None] | None = None  # data changes, after the statements


@attrs.frozen
class MigrationReport:
    """What :func:`rewardkit.storage.migrate` did: the schema version found (0: none)
    and the version left."""

    location: str
    before: int
    after: int

    @property
    def applied(self) -> tuple[int, ...]:
        return tuple(range(self.before + 1, self.after + 1))

    def __str__(self) -> str:
        if not self.applied:
            return f"{self.location}: schema already at version {self.after}"
        steps = ", ".join(map(str, self.applied))
        return f"{self.location}: schema version {self.before} -> {self.after} (applied {steps})"


def _refuse_newer(found: int, location: str) -> None:
    if found > SCHEMA_VERSION:
        raise StoreError(
            f"{location} has schema version {found}, newer than version {SCHEMA_VERSION} "
            "that this rewardkit knows: upgrade rewardkit to use it"
        )


def needs_migration(found: int, location: str, url: str, auto_migrate: bool) -> bool:
    """Whether a store opening ``location`` (at schema version ``found``, 0: none) must
    migrate it first; refuses a newer schema, or an old one when not auto-migrating."""
    _refuse_newer(found, location)
    if found == SCHEMA_VERSION:
        return False
    if not auto_migrate:
        raise StoreError(
            f"{location} has schema version {found}, and this rewardkit needs version "
            f"{SCHEMA_VERSION}: run `rewardkit migrate {url}` (or open the store with "
            "auto_migrate=True)"
        )
    return True


def upgrade(db: Database, migrations: Sequence[Migration], location: str) -> MigrationReport:
    """Apply, in order, every migration newer than the database's schema version.

    The caller holds the transaction and the migration lock: the version is read again
    here, so a process that waited for another one's migration applies nothing."""
    db.execute("CREATE TABLE IF NOT EXISTS {s}rewardkit_schema(version INTEGER NOT NULL)")
    found = db.execute("SELECT max(version) FROM {s}rewardkit_schema")[0][0] or 0
    _refuse_newer(found, location)
    for migration in migrations:
        if migration.version > found:
            for statement in migration.statements:
                db.execute(statement)
            if migration.then is not None:
                migration.then(db)
            db.execute("INSERT INTO {s}rewardkit_schema(version) VALUES (?)", (migration.version,))
    return MigrationReport(location, found, max(found, migrations[-1].version))


def backfill_chains(db: Database) -> None:
    """Chain the entries written before ledgers were hash-chained (schema version 2)."""
    for (member,) in db.execute("SELECT id FROM {s}members ORDER BY id"):
        rows = db.execute(
            f"SELECT {ENTRY_COLUMNS} FROM {{s}}entries WHERE member = ? ORDER BY seq", (member,)
        )
        entries = [entry_from_row(member, row) for row in rows]
        hashes = link(member, None, entries)
        db.executemany(
            "UPDATE {s}entries SET hash = ? WHERE member = ? AND seq = ?",
            [(digest, member, entry.seq) for digest, entry in zip(hashes, entries, strict=True)],
        )
        if hashes:
            db.execute("UPDATE {s}members SET head = ? WHERE id = ?", (hashes[-1], member))


# Members keep their lots in the state's text (split 0) until their next commit writes
# them as rows: no data is moved by the migration itself.

# Version 5 changes no table: it marks the databases whose states may hold tier-metric
# contributions in their short form, which a rewardkit before it cannot read (it then
# refuses the database rather than fail on those members).  States written before are
# read as they are, and written short on their member's next commit.
_SHORT_METRIC = (
    "tier-metric contributions stored short in member states ([microseconds, value]); "
    "no table changes"
)
_METRIC_AS_ROWS = (
    "each member's tier-metric contributions as rows of their own (metric), so a commit "
    "writes only the ones it changed; members.metric_rows says which members keep them there"
)
_LOTS_AS_ROWS = (
    "each member's lots as rows of their own (lots), so a commit writes only the lots it "
    "changed; members.split says which members keep them there"
)

SQLITE_MIGRATIONS = (
    Migration(
        1,
        "members (with the due index), entries, receipts and counters",
        (
            "CREATE TABLE IF NOT EXISTS members("
            "id TEXT PRIMARY KEY, version INTEGER NOT NULL, state TEXT NOT NULL, due INTEGER)",
            # The next instant time alone changes a member (UTC microseconds): expire()
            # sweeps read this index, so their cost grows with the members due.
            "CREATE INDEX IF NOT EXISTS members_due ON members(due) WHERE due IS NOT NULL",
            "CREATE TABLE IF NOT EXISTS entries("
            "member TEXT, seq INTEGER, at TEXT, kind TEXT, currency TEXT, points INTEGER,"
            " balance INTEGER, debt INTEGER, cause TEXT, reason TEXT, pending INTEGER,"
            " PRIMARY KEY(member, seq))",
            "CREATE TABLE IF NOT EXISTS receipts("
            "operation TEXT, id TEXT, member TEXT, request TEXT, outcome TEXT,"
            " PRIMARY KEY(operation, id))",
            "CREATE TABLE IF NOT EXISTS counters(key TEXT PRIMARY KEY, value INTEGER NOT NULL)",
        ),
    ),
    Migration(
        2,
        "hash-chained ledgers (entries.hash, members.head); the member version each "
        "receipt's commit made (receipts.version)",
        (
            "ALTER TABLE members ADD COLUMN head TEXT",
            "ALTER TABLE entries ADD COLUMN hash TEXT",
            "ALTER TABLE receipts ADD COLUMN version INTEGER",
        ),
        then=backfill_chains,
    ),
    Migration(
        3,
        "leaderboard scores, indexed for the top N and a member's rank",
        (
            "CREATE TABLE IF NOT EXISTS scores(board TEXT NOT NULL, period TEXT NOT NULL,"
            " grp TEXT NOT NULL, member TEXT NOT NULL, score INTEGER NOT NULL,"
            " PRIMARY KEY(board, period, grp, member))",
            "CREATE INDEX IF NOT EXISTS scores_rank"
            " ON scores(board, period, grp, score DESC, member)",
        ),
    ),
    Migration(
        4,
        _LOTS_AS_ROWS,
        (
            "CREATE TABLE IF NOT EXISTS lots(member TEXT NOT NULL, key TEXT NOT NULL,"
            " data TEXT NOT NULL, PRIMARY KEY(member, key)) WITHOUT ROWID",
            # The state of a member whose lots are rows has no "lots" key: an older
            # rewardkit still running reads it as an error, and its writes (which always
            # have the key) are refused, instead of losing the rows' lots.
            "ALTER TABLE members ADD COLUMN split INTEGER NOT NULL DEFAULT 0"
            " CONSTRAINT lots_are_rows CHECK (split = 0 OR instr(state, '\"lots\":') = 0)",
        ),
    ),
    Migration(5, _SHORT_METRIC),
    Migration(
        6,
        _METRIC_AS_ROWS,
        (
            "CREATE TABLE IF NOT EXISTS metric(member TEXT NOT NULL, key TEXT NOT NULL,"
            " data TEXT NOT NULL, PRIMARY KEY(member, key)) WITHOUT ROWID",
            # As for lots: a state whose metric is rows has no "metric" key, and an older
            # rewardkit's writes (which always have it) are refused for such a member.
            "ALTER TABLE members ADD COLUMN metric_rows INTEGER NOT NULL DEFAULT 0"
            " CONSTRAINT metric_is_rows"
            " CHECK (metric_rows = 0 OR instr(state, '\"metric\":') = 0)",
        ),
    ),
)

POSTGRES_MIGRATIONS = (
    Migration(
        1,
        "members (with the due index), entries, receipts and counters",
        (
            'CREATE TABLE IF NOT EXISTS {s}members(id TEXT COLLATE "C" PRIMARY KEY,'
            " version BIGINT NOT NULL, state TEXT NOT NULL, due BIGINT)",
            "CREATE INDEX IF NOT EXISTS members_due ON {s}members(due, id) WHERE due IS NOT NULL",
            'CREATE TABLE IF NOT EXISTS {s}entries(member TEXT COLLATE "C" NOT NULL,'
            " seq BIGINT NOT NULL, at TEXT NOT NULL, kind TEXT NOT NULL, currency TEXT NOT NULL,"
            " points BIGINT NOT NULL, balance BIGINT NOT NULL, debt BIGINT NOT NULL,"
            " cause TEXT NOT NULL, reason TEXT NOT NULL, pending BIGINT NOT NULL,"
            " PRIMARY KEY(member, seq))",
            "CREATE TABLE IF NOT EXISTS {s}receipts(operation TEXT NOT NULL, id TEXT NOT NULL,"
            " member TEXT NOT NULL, request TEXT NOT NULL, outcome TEXT NOT NULL,"
            " PRIMARY KEY(operation, id))",
            "CREATE TABLE IF NOT EXISTS {s}counters(key TEXT PRIMARY KEY, value BIGINT NOT NULL)",
        ),
    ),
    Migration(
        2,
        "hash-chained ledgers (entries.hash, members.head); the member version each "
        "receipt's commit made (receipts.version)",
        (
            "ALTER TABLE {s}members ADD COLUMN head TEXT",
            "ALTER TABLE {s}entries ADD COLUMN hash TEXT",
            "ALTER TABLE {s}receipts ADD COLUMN version BIGINT",
        ),
        then=backfill_chains,
    ),
    Migration(
        3,
        "leaderboard scores, indexed for the top N and a member's rank",
        (
            'CREATE TABLE IF NOT EXISTS {s}scores(board TEXT COLLATE "C" NOT NULL,'
            ' period TEXT COLLATE "C" NOT NULL, grp TEXT COLLATE "C" NOT NULL,'
            ' member TEXT COLLATE "C" NOT NULL, score BIGINT NOT NULL,'
            " PRIMARY KEY(board, period, grp, member))",
            "CREATE INDEX IF NOT EXISTS scores_rank"
            " ON {s}scores(board, period, grp, score DESC, member)",
        ),
    ),
    Migration(
        4,
        _LOTS_AS_ROWS,
        (
            'CREATE TABLE IF NOT EXISTS {s}lots(member TEXT COLLATE "C" NOT NULL,'
            ' key TEXT COLLATE "C" NOT NULL, data TEXT NOT NULL, PRIMARY KEY(member, key))',
            "ALTER TABLE {s}members ADD COLUMN split INTEGER NOT NULL DEFAULT 0"
            " CONSTRAINT lots_are_rows CHECK (split = 0 OR position('\"lots\":' in state) = 0)",
        ),
    ),
    Migration(5, _SHORT_METRIC),
    Migration(
        6,
        _METRIC_AS_ROWS,
        (
            'CREATE TABLE IF NOT EXISTS {s}metric(member TEXT COLLATE "C" NOT NULL,'
            ' key TEXT COLLATE "C" NOT NULL, data TEXT NOT NULL, PRIMARY KEY(member, key))',
            "ALTER TABLE {s}members ADD COLUMN metric_rows INTEGER NOT NULL DEFAULT 0"
            " CONSTRAINT metric_is_rows"
            " CHECK (metric_rows = 0 OR position('\"metric\":' in state) = 0)",
        ),
    ),
)
