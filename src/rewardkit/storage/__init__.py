"""Stores: where members, ledgers and receipts live.  Chosen by instance or URL."""

from __future__ import annotations

import os
from urllib.parse import parse_qs, unquote, urlsplit

from ..errors import StoreError
from .base import (
    Commit,
    CounterLimitExceeded,
    DuplicateReceipt,
    Receipt,
    Snapshot,
    StaleVersion,
    Store,
)
from .memory import MemoryStore

__all__ = [
    "Commit",
    "CounterLimitExceeded",
    "DuplicateReceipt",
    "MemoryStore",
    "Receipt",
    "Snapshot",
    "StaleVersion",
    "Store",
    "open_store",
]

ENVIRONMENT_VARIABLE = "REWARDKIT_STORE"


def _sqlite_options(url: str, query: dict[str, list[str]]) -> dict[str, float]:
    options: dict[str, float] = {}
    for name, values in query.items():
        if name != "timeout":
            raise StoreError(f"unknown SQLite URL option {name!r} in {url!r} (known: timeout)")
        try:
            options["timeout"] = float(values[-1])
        except ValueError:
            raise StoreError(f"timeout must be a number of seconds in {url!r}") from None
        if options["timeout"] < 0:
            raise StoreError(f"timeout must not be negative in {url!r}")
    return options


def open_store(url: str | None = None) -> Store:
    """A store from a URL: ``memory://``, ``sqlite:///relative.db``,
    ``sqlite:////absolute/path.db`` (``?timeout=5``: seconds to wait for a write lock).

    Without a URL: ``$REWARDKIT_STORE``, or else memory.
    """
    if url is None:
        url = os.environ.get(ENVIRONMENT_VARIABLE) or "memory://"
    if not isinstance(url, str):
        raise StoreError(f"a store URL must be a string, got {url!r}")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "memory":
        return MemoryStore()
    if scheme == "sqlite":
        from .sqlite import SQLiteStore

        # sqlite:///rel/path -> "rel/path"; sqlite:////abs/path -> "/abs/path"
        location = url.split("?", 1)[0]
        prefix = "sqlite:///"
        path = unquote(location[len(prefix) :]) if location.lower().startswith(prefix) else ""
        if not path:
            raise StoreError(f"a SQLite URL needs a path, like sqlite:///rewards.db; got {url!r}")
        return SQLiteStore(path, **_sqlite_options(url, parse_qs(parts.query)))
    if scheme in ("postgresql", "postgres"):
        raise StoreError(
            "PostgreSQL stores are not available in this version yet; "
            "use sqlite:///path.db or memory://"
        )
    raise StoreError(
        f"unknown store URL {url!r}: expected memory://, sqlite:///path or postgresql://..."
    )
