"""The connections of a PostgresStore, and psycopg's errors turned into rewardkit's.

psycopg is imported when a store is made (:func:`psycopg_module`), never at import time,
so rewardkit imports without it and a missing psycopg is a StoreError that says what to
install.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from ..errors import StoreError
from .base import TransactionConflict

if TYPE_CHECKING:
    from psycopg import Connection
    from psycopg_pool import ConnectionPool

__all__ = ["INSTALL_HINT", "Connections", "Transaction", "psycopg_module", "quote"]

INSTALL_HINT = 'PostgreSQL stores need psycopg 3: pip install "rewardkit[postgres]"'

_RETRYABLE = ("40001", "40P01")  # serialization_failure, deadlock_detected
_LOCK_TIMEOUT = "55P03"  # lock_not_available: lock_timeout passed


def psycopg_module() -> Any:
    """psycopg (with psycopg_pool checked), or a StoreError saying what to install."""
    try:
        import psycopg
        import psycopg_pool  # noqa: F401  (checked here, used when a pool is made)
    except ImportError as error:
        raise StoreError(f"{INSTALL_HINT} ({error})") from None
    return psycopg


def quote(name: str) -> str:
    """A PostgreSQL identifier, quoted."""
    if not name or "\x00" in name or len(name.encode()) > 63:
        raise StoreError(f"'schema' must be a PostgreSQL name of 1 to 63 bytes: {name!r}")
    return '"' + name.replace('"', '""') + '"'


class Transaction:
    """A connection in a transaction.  SQL is written with ``?`` placeholders and ``{s}``
    before each table name (the schema prefix), as the shared migration code writes it."""

    def __init__(self, connection: Connection[Any], prefix: str) -> None:
        self.connection = connection
        self.prefix = prefix

    def _sql(self, sql: str) -> Any:
        return sql.replace("{s}", self.prefix).replace("?", "%s")

    def execute(self, sql: str, parameters: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        cursor = self.connection.execute(self._sql(sql), parameters)
        return cursor.fetchall() if cursor.description else []

    def executemany(self, sql: str, rows: Iterable[Sequence[object]]) -> None:
        with self.connection.cursor() as cursor:
            cursor.executemany(self._sql(sql), list(rows))


class Connections:
    """Where a store's connections come from: a pool per process made on first use
    (``pool=True``), one connection per process shared under a lock (``pool=False``),
    or a ``psycopg_pool.ConnectionPool`` given by the host, who closes it.

    After a fork, the parent's connections are left alone (closing them would end the
    parent's sessions) and the child opens its own.  ``name`` names the store in errors.
    """

    def __init__(
        self,
        conninfo: str,
        pool: bool | ConnectionPool[Any],
        max_connections: int,
        timeout: float,
        name: Callable[[], str],
    ) -> None:
        self.pg = psycopg_module()
        self.conninfo = conninfo
        self.timeout = timeout
        self.max = max_connections
        self.name = name
        self.given = None if isinstance(pool, bool) else pool
        self.pooled = pool is not False
        self.pool: ConnectionPool[Any] | None = self.given
        self.single: Connection[Any] | None = None
        self.pid = os.getpid()
        self.inherited: list[object] = []  # from before a fork: never used, never closed
        self.lock = threading.Lock()
        self.closed = False

    def connect(self) -> Connection[Any]:
        connection: Connection[Any] = self.pg.connect(
            self.conninfo, autocommit=True, connect_timeout=max(2, round(self.timeout))
        )
        self.configure(connection)
        return connection

    def configure(self, connection: Connection[Any]) -> None:
        """Set up a connection of the store's own once, not in every transaction: a
        lock held longer than ``timeout`` fails the statement waiting for it."""
        connection.execute(f"SET lock_timeout = {int(self.timeout * 1000)}")

    @property
    def configured(self) -> bool:
        """Whether every connection was set up by :meth:`configure` (not a host's pool)."""
        return self.given is None

    @contextmanager
    def connection(self) -> Iterator[Connection[Any]]:
        """A connection for one call: committed or rolled back when the block ends."""
        if self.closed:
            raise StoreError(f"{self.name()} is closed")
        if self.pooled:
            with self.errors("get a connection from its pool"):
                pool = self._pool_here()
                connection = pool.getconn(timeout=self.timeout)
            try:
                with connection:  # commits or rolls back; a pool's connection stays open
                    yield connection
            finally:
                pool.putconn(connection)
            return
        with self.lock:
            self._forked_check()
            if self.single is None or self.single.closed or self.single.broken:
                if self.single is not None:
                    self.single.close()
                with self.errors("connect"):
                    self.single = self.connect()
            yield self.single

    @contextmanager
    def first(self) -> Iterator[Connection[Any]]:
        """The connection that prepares the schema: not from a pool of the store's own,
        which is made on first use (so a store opened before a fork holds no pool)."""
        if not self.pooled or self.given is not None:
            with self.connection() as connection:
                yield connection
            return
        with self.errors("connect"):
            connection = self.connect()
        with connection:
            yield connection

    def close(self) -> None:
        with self.lock:
            self.closed = True
            pool, single = self.pool, self.single
            self.pool = self.single = None
        if os.getpid() != self.pid:
            return  # inherited through a fork: the parent's to close
        if pool is not None and pool is not self.given:
            pool.close()
        if single is not None:
            single.close()

    def _forked_check(self) -> None:
        if os.getpid() != self.pid:
            self.inherited.extend(x for x in (self.pool, self.single) if x is not None)
            self.single = None
            self.pool = self.given
            self.pid = os.getpid()

    def _pool_here(self) -> ConnectionPool[Any]:
        with self.lock:
            self._forked_check()
            if self.pool is None:
                from psycopg_pool import ConnectionPool

                self.pool = ConnectionPool(
                    self.conninfo,
                    min_size=1,
                    max_size=self.max,
                    kwargs={"autocommit": True, "connect_timeout": max(2, round(self.timeout))},
                    check=ConnectionPool.check_connection,  # replaces connections that died
                    configure=self.configure,
                    timeout=self.timeout,
                    name="rewardkit",
                    open=True,
                )
            return self.pool

    @contextmanager
    def errors(self, doing: str, member: str | None = None) -> Iterator[None]:
        """Turn psycopg's errors into StoreError (the store's own errors pass through);
        in a commit (``member`` given), a serialization failure or a deadlock is a
        :class:`TransactionConflict`, which the facade retries."""
        from psycopg_pool import PoolTimeout

        try:
            yield
        except PoolTimeout as error:
            raise StoreError(
                f"{self.name()} had no free connection within {self.timeout:g} s, so it could "
                f"not {doing}: raise max_connections (now {self.max}) or the server's limit"
            ) from error
        except self.pg.Error as error:
            state = getattr(error, "sqlstate", None)
            if state in _RETRYABLE and member is not None:
                raise TransactionConflict(member, f"SQLSTATE {state}") from error
            if state == _LOCK_TIMEOUT:
                raise StoreError(
                    f"{self.name()} waited more than {self.timeout:g} s for a lock another "
                    f"transaction holds, so it could not {doing}; nothing was committed"
                ) from error
            unknown = (
                " (the commit may or may not have landed: retry the call with the same id)"
                if member is not None and isinstance(error, self.pg.OperationalError)
                else ""
            )
            raise StoreError(f"{self.name()} could not {doing}: {error}{unknown}") from error
