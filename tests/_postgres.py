"""PostgreSQL for the tests: a fresh schema per store, dropped afterwards.

``REWARDKIT_TEST_POSTGRES_URL`` names a database the tests may fill (``.ci/run`` creates
one per run).  When it is set, a PostgreSQL test never skips: a missing psycopg or a
server that does not answer fails it.  When it is not set, the tests skip, saying so.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

VARIABLE = "REWARDKIT_TEST_POSTGRES_URL"
REASON = f"{VARIABLE} is not set: no PostgreSQL server to test against"


def postgres_url() -> str:
    """The test database's URL, or a skip when none is configured."""
    url = os.environ.get(VARIABLE)
    if not url:
        pytest.skip(REASON)
    return url


class Schemas:
    """Fresh PostgreSQL schemas in the test database, dropped by :meth:`drop`."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.names: list[str] = []

    def new(self) -> str:
        name = f"rk_test_{uuid.uuid4().hex[:16]}"
        self.names.append(name)
        return name

    def url_for(self, name: str | None = None) -> str:
        """A store URL on a schema (a new one unless named)."""
        return f"{self.url}{'&' if '?' in self.url else '?'}schema={name or self.new()}"

    def drop(self) -> None:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as connection:
            for name in self.names:
                connection.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        self.names.clear()


@contextmanager
def schemas() -> Iterator[Schemas]:
    made = Schemas(postgres_url())
    try:
        yield made
    finally:
        made.drop()


def raw(url: str, schema: str | None = None) -> Any:
    """A plain autocommit psycopg connection, its search_path on ``schema``."""
    import psycopg

    connection = psycopg.connect(url, autocommit=True)
    if schema is not None:
        connection.execute(f'SET search_path TO "{schema}"')
    return connection
