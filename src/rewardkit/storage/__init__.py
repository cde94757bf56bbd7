"""Stores: where members, ledgers and receipts live.  Chosen by instance or URL."""

from __future__ import annotations

import os
from urllib.parse import unquote, urlsplit

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


def open_store(url: str | None = None) -> Store:
    """A store from a URL: ``memory://``, ``sqlite:///relative.db``,
    ``sqlite:////absolute/path.db``.  Without a URL, ``$REWARDKIT_STORE`` or memory."""
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
        path = unquote(url[len("sqlite:///") :]) if url.lower().startswith("sqlite:///") else ""
        if not path:
            raise StoreError(f"a SQLite URL needs a path, like sqlite:///rewards.db; got {url!r}")
        return SQLiteStore(path)
    if scheme in ("postgresql", "postgres"):
        raise StoreError(
            "PostgreSQL stores are not available in this version yet; "
            "use sqlite:///path.db or memory://"
        )
    raise StoreError(
        f"unknown store URL {url!r}: expected memory://, sqlite:///path or postgresql://..."
    )
