"""MemoryStore: everything in dictionaries, for tests, previews and short-lived processes."""

from __future__ import annotations

import bisect
import threading
from collections.abc import Iterator
from datetime import UTC, datetime

from ..model import Entry, MemberState
from .base import (
    Chain,
    Commit,
    CounterLimitExceeded,
    DuplicateReceipt,
    Link,
    Receipt,
    Snapshot,
    StaleVersion,
)
from .chain import link

__all__ = ["MemoryStore"]


class MemoryStore:
    """A thread-safe in-process store.  Nothing survives the process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._members: dict[str, Snapshot] = {}
        self._ledgers: dict[str, list[Link]] = {}  # entries with their chain hashes
        self._heads: dict[str, str] = {}  # each member's last hash
        self._receipts: dict[tuple[str, str], Receipt] = {}
        self._counters: dict[str, int] = {}
        self._scores: dict[tuple[str, str, str], dict[str, int]] = {}
        self._due: dict[str, datetime] = {}
        self._queue: list[tuple[datetime, str]] = []  # sorted (due, member): the due index

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
            receipt = unit.receipt
            key = None if receipt is None else (receipt.operation, receipt.id)
            if key is not None and key in self._receipts:
                raise DuplicateReceipt(*key)
            values: dict[str, int] = {}  # running totals: a key may appear twice
            for change in unit.counters:
                values[change.key] = values.get(change.key, self._counters.get(change.key, 0))
                values[change.key] += change.delta
                if change.limit is not None and values[change.key] > change.limit:
                    raise CounterLimitExceeded(change.key, change.limit)
            hashes = link(
                unit.member,
                self._heads.get(unit.member),
                unit.entries,
                count=unit.state.entries,
            )
            # Every check passed: apply all or nothing (nothing below can fail).
            self._counters.update(values)
            self._members[unit.member] = Snapshot(unit.state, version + 1)
            ledger = self._ledgers.setdefault(unit.member, [])
            ledger.extend(map(Link, unit.entries, hashes))
            for score in unit.scores:
                board = self._scores.setdefault((score.board, score.period, score.group), {})
                board[score.member] = board.get(score.member, 0) + score.delta
            if hashes:
                self._heads[unit.member] = hashes[-1]
            if key is not None and receipt is not None:
                self._receipts[key] = receipt
            self._index(unit.member, unit.state.next_due())

    def _ranked(self, board: str, period: str, group: str) -> list[tuple[str, int]]:
        scores = self._scores.get((board, period, group), {})
        return sorted(scores.items(), key=lambda item: (-item[1], item[0]))

    def top(
        self, board: str, period: str, group: str, limit: int, offset: int = 0
    ) -> list[tuple[str, int]]:
        with self._lock:
            return self._ranked(board, period, group)[offset : offset + limit]

    def rank(self, board: str, period: str, group: str, member: str) -> tuple[int, int] | None:
        with self._lock:
            scores = self._scores.get((board, period, group), {})
            if member not in scores:
                return None
            mine = scores[member]
            ahead = sum(1 for m, v in scores.items() if v > mine or (v == mine and m < member))
            return ahead + 1, mine

    def record(self, receipt: Receipt) -> None:
        with self._lock:
            key = (receipt.operation, receipt.id)
            if key in self._receipts:
                raise DuplicateReceipt(*key)
            self._receipts[key] = receipt

    def _index(self, member: str, due: datetime | None) -> None:
        old = self._due.pop(member, None)
        if old is not None:
            del self._queue[bisect.bisect_left(self._queue, (old, member))]
        if due is not None:
            due = due.astimezone(UTC)
            self._due[member] = due
            bisect.insort(self._queue, (due, member))

    def due(self, at: datetime) -> list[str]:
        with self._lock:
            end = bisect.bisect_right(self._queue, at.astimezone(UTC), key=lambda item: item[0])
            return [member for _, member in self._queue[:end]]

    def history(self, member: str) -> list[Entry]:
        with self._lock:
            return [item.entry for item in self._ledgers.get(member, ())]

    def chain(self, member: str) -> Chain:
        with self._lock:
            links = tuple(self._ledgers.get(member, ()))
            return Chain(member, links, self._heads.get(member))

    def members(self) -> Iterator[str]:
        with self._lock:
            ids = sorted(self._members)
        return iter(ids)

    def close(self) -> None:
        """Nothing to release."""

    def __repr__(self) -> str:
        return f"<MemoryStore: {len(self._members)} members>"
