"""MemoryStore: everything in dictionaries, for tests, previews and short-lived processes."""

from __future__ import annotations

import threading
from collections.abc import Iterator

from ..model import Entry, MemberState
from .base import Commit, CounterLimitExceeded, DuplicateReceipt, Receipt, Snapshot, StaleVersion

__all__ = ["MemoryStore"]


class MemoryStore:
    """A thread-safe in-process store.  Nothing survives the process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._members: dict[str, Snapshot] = {}
        self._ledgers: dict[str, list[Entry]] = {}
        self._receipts: dict[tuple[str, str], Receipt] = {}
        self._counters: dict[str, int] = {}

    def load(self, member: str) -> Snapshot:
        with self._lock:
            return self._members.get(member) or Snapshot(MemberState(id=member), 0)

    def receipt(self, operation: str, request_id: str) -> Receipt | None:
        with self._lock:
            return self._receipts.get((operation, request_id))

    def counter(self, key: str) -> int:
        with self._lock:
            return self._counters.get(key, 0)

    def commit(self, unit: Commit) -> None:
        with self._lock:
            current = self._members.get(unit.member)
            version = current.version if current else 0
            if version != unit.expected_version:
                raise StaleVersion(unit.member, unit.expected_version, version)
            key = (unit.receipt.operation, unit.receipt.id)
            if key in self._receipts:
                raise DuplicateReceipt(*key)
            values: dict[str, int] = {}  # running totals: a key may appear twice
            for change in unit.counters:
                values[change.key] = values.get(change.key, self._counters.get(change.key, 0))
                values[change.key] += change.delta
                if change.limit is not None and values[change.key] > change.limit:
                    raise CounterLimitExceeded(change.key, change.limit)
            # Every check passed: apply all or nothing (nothing below can fail).
            self._counters.update(values)
            self._members[unit.member] = Snapshot(unit.state, version + 1)
            self._ledgers.setdefault(unit.member, []).extend(unit.entries)
            self._receipts[key] = unit.receipt

    def history(self, member: str) -> list[Entry]:
        with self._lock:
            return list(self._ledgers.get(member, ()))

    def members(self) -> Iterator[str]:
        with self._lock:
            ids = sorted(self._members)
        return iter(ids)

    def close(self) -> None:
        """Nothing to release."""

    def __repr__(self) -> str:
        return f"<MemoryStore: {len(self._members)} members>"
