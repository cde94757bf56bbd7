"""Every store rewardkit ships passes the one shared contract suite."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import pytest

from rewardkit.storage import MemoryStore, Store, _checkpoints
from rewardkit.storage.postgres import PostgresStore
from rewardkit.storage.sqlite import SQLiteStore
from rewardkit.testing.store_contract import StoreContract

from ._postgres import Schemas, schemas


class TestMemoryStore(StoreContract):
    def make_store(self) -> Store:
        return MemoryStore()


class TestSQLiteStore(StoreContract):
    tmp_path: Path

    @pytest.fixture(autouse=True)
    def _use_tmp_path(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path

    def make_store(self) -> Store:
        return SQLiteStore(self.tmp_path / f"{uuid4().hex}.db")

    def reopen_store(self, store: Store) -> Store | None:
        assert isinstance(store, SQLiteStore)
        return SQLiteStore(store.path)


class TestSQLiteStoreWithCheckpointsInBackground(TestSQLiteStore):
    """The same contract with a checkpoint in the store's thread after every commit."""

    @pytest.fixture(autouse=True)
    def _wake_after_every_commit(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(_checkpoints, "EVERY", 1)

    def make_store(self) -> Store:
        path = self.tmp_path / f"{uuid4().hex}.db"
        return SQLiteStore(path, synchronous="NORMAL", checkpoints="background")

    def reopen_store(self, store: Store) -> Store | None:
        assert isinstance(store, SQLiteStore)
        return SQLiteStore(store.path, synchronous="NORMAL", checkpoints="background")


class TestPostgresStore(StoreContract):
    """On a real server: a fresh PostgreSQL schema for every store, dropped after the test."""

    schemas: Schemas

    @pytest.fixture(autouse=True)
    def _fresh_schemas(self) -> Iterator[None]:
        with schemas() as made:
            self.schemas = made
            yield

    def make_store(self) -> Store:
        return PostgresStore(self.schemas.url, schema=self.schemas.new(), max_connections=4)

    def reopen_store(self, store: Store) -> Store | None:
        assert isinstance(store, PostgresStore)
        return PostgresStore(self.schemas.url, schema=store.schema, pool=False)
