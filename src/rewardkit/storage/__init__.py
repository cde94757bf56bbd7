"""Stores: where members, ledgers and receipts live.  Chosen by instance or URL.

:func:`open_store` opens a store from a URL, :func:`migrate` brings a SQL store's schema
to this version, and :func:`verify` checks every member's hash-chained ledger.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit, urlunsplit

from ..errors import StoreError
from ._schema import SCHEMA_VERSION, MigrationReport
from .base import (
    Chain,
    Commit,
    CounterLimitExceeded,
    DuplicateReceipt,
    Link,
    Receipt,
    Snapshot,
    StaleVersion,
    Store,
    TransactionConflict,
)
from .chain import Break, VerifyReport, verify
from .memory import MemoryStore

__all__ = [
    "SCHEMA_VERSION",
    "Break",
    "Chain",
    "Commit",
    "CounterLimitExceeded",
    "DuplicateReceipt",
    "Link",
    "MemoryStore",
    "MigrationReport",
    "Receipt",
    "Snapshot",
    "StaleVersion",
    "Store",
    "TransactionConflict",
    "VerifyReport",
    "migrate",
    "open_store",
    "verify",
]

ENVIRONMENT_VARIABLE = "REWARDKIT_STORE"


def _sqlite_options(url: str, query: dict[str, list[str]]) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for name, values in query.items():
        if name in ("synchronous", "checkpoints"):
            options[name] = values[-1]
            continue
        if name != "timeout":
            raise StoreError(
                f"unknown SQLite URL option {name!r} in {url!r} "
                "(known: timeout, synchronous, checkpoints)"
            )
        try:
            options["timeout"] = float(values[-1])
        except ValueError:
            raise StoreError(f"timeout must be a number of seconds in {url!r}") from None
        if options["timeout"] < 0:
            raise StoreError(f"timeout must not be negative in {url!r}")
    return options


def _parse(url: str | None) -> tuple[str, Any, dict[str, Any]]:
    """``(kind, location, options)`` for a store URL (``$REWARDKIT_STORE`` when None)."""
    if url is None:
        url = os.environ.get(ENVIRONMENT_VARIABLE) or "memory://"
    if not isinstance(url, str):
        raise StoreError(f"a store URL must be a string, got {url!r}")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "memory":
        return "memory", None, {}
    if scheme == "sqlite":
        # sqlite:///rel/path -> "rel/path"; sqlite:////abs/path -> "/abs/path"
        location = url.split("?", 1)[0]
        prefix = "sqlite:///"
        path = unquote(location[len(prefix) :]) if location.lower().startswith(prefix) else ""
        if not path:
            raise StoreError(f"a SQLite URL needs a path, like sqlite:///rewards.db; got {url!r}")
        return "sqlite", path, _sqlite_options(url, parse_qs(parts.query))
    if scheme in ("postgresql", "postgres"):
        # ?schema=NAME is rewardkit's; every other parameter is libpq's.
        query = parse_qs(parts.query, keep_blank_values=True)
        schema = query.pop("schema", [None])[-1]
        conninfo = urlunsplit(parts._replace(query=urlencode(query, doseq=True)))
        return "postgresql", conninfo, {"schema": schema}
    raise StoreError(
        f"unknown store URL {url!r}: expected memory://, sqlite:///path or postgresql://..."
    )


def open_store(url: str | None = None, *, auto_migrate: bool = True) -> Store:
    """A store from a URL: ``memory://``, ``sqlite:///relative.db``,
    ``sqlite:////absolute/path.db`` (``?timeout=5``: seconds to wait for a write lock;
    ``?synchronous=normal``: commits that survive a crash of the process but not
    necessarily a power loss, faster than the default ``full``; ``?checkpoints=background``
    or ``commit``: where the write-ahead log is copied back into the database, see
    :class:`~rewardkit.storage.sqlite.SQLiteStore`),
    ``postgresql://user:password@host:5432/database`` (``?schema=NAME``: the tables'
    PostgreSQL schema; other parameters go to libpq).

    Without a URL: ``$REWARDKIT_STORE``, or else memory.  A SQL store's schema is
    migrated on first use unless ``auto_migrate`` is false (then an old schema is a
    :class:`~rewardkit.errors.StoreError` saying to run ``rewardkit migrate URL``).
    """
    kind, location, options = _parse(url)
    if kind == "memory":
        return MemoryStore()
    if kind == "sqlite":
        from .sqlite import SQLiteStore

        return SQLiteStore(
            location,
            timeout=options.get("timeout", 30.0),
            auto_migrate=auto_migrate,
            synchronous=options.get("synchronous", "FULL"),
            checkpoints=options.get("checkpoints", "commit"),
        )
    from .postgres import PostgresStore

    return PostgresStore(location, schema=options["schema"], auto_migrate=auto_migrate)


def migrate(url: str) -> MigrationReport:
    """Apply to the SQL store at ``url`` every schema migration it lacks, in order, and
    say what was done.  Safe to run while the store is in use, and from several places
    at once; a schema newer than this rewardkit knows is refused."""
    kind, location, options = _parse(url)
    if kind == "memory":
        raise StoreError("a memory:// store keeps no schema: there is nothing to migrate")
    if kind == "sqlite":
        from .sqlite import migrate as migrate_sqlite

        return migrate_sqlite(location, timeout=options.get("timeout", 30.0))
    from .postgres import migrate as migrate_postgres

    return migrate_postgres(location, schema=options["schema"])
