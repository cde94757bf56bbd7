"""Every store rewardkit ships passes the one shared contract suite."""

from __future__ import annotations

from pathlib import Path
from uuid import uuid4

import pytest

from rewardkit.storage import MemoryStore, Store
from rewardkit.storage.sqlite import SQLiteStore
from rewardkit.testing.store_contract import StoreContract


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
