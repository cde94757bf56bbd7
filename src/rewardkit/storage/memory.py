"""MemoryStore: everything in dictionaries, for tests, previews and short-lived processes."""

from __future__ import annotations

import bisect
import json
import threading
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from .._codec import encode_json
from ..model import Entry, Outcome, blank_state
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


def _kept(receipt: Receipt) -> tuple[str, str | Mapping[str, Any], Outcome]:
    try:
        request: str | Mapping[str, Any] = encode_json(receipt.request)
    except TypeError:  # not JSON data (a host's own store call): kept as it was given
        request = receipt.request
    return receipt.member, request, receipt.outcome


class MemoryStore:
    """A thread-safe in-process store.  Nothing survives the process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._members: dict[str, Snapshot] = {}
        self._ledgers: dict[str, list[Link]] = {}  # entries with their chain hashes
        self._heads: dict[str, str] = {}  # each member's last hash
        # Receipts kept small: the request as its canonical JSON text, read back on demand
        # (a receipt is read only to replay a request, or to reverse an action).
        self._receipts: dict[tuple[str, str], tuple[str, str | Mapping[str, Any], Outcome]] = {}
        self._counters: dict[str, int] = {}
        self._scores: dict[tuple[str, str, str], dict[str, int]] = {}
        self._due: dict[str, datetime] = {}
        self._queue: list[tuple[datetime, str]] = []  # sorted (due, member): the due index

    def load(self, member: str) -> Snapshot:
        with self._lock:
            return self._members.get(member) or Snapshot(blank_state(member), 0)

    def receipt(self, operation: str, request_id: str) -> Receipt | None:
        with self._lock:
            kept = self._receipts.get((operation, request_id))
        if kept is None:
            return None
        member, request, outcome = kept
        data = json.loads(request) if isinstance(request, str) else request
        return Receipt(operation, request_id, member, data, outcome)

    def counter(self, key: str) -> int:
        with self._lock:
            return self._counters.get(key, 0)

    def load_many(self, members: Sequence[str]) -> dict[str, Snapshot]:
        with self._lock:
            return {
                member: self._members.get(member) or Snapshot(blank_state(member), 0)
                for member in members
            }

    def known_receipts(self, operation: str, ids: Sequence[str]) -> set[str]:
        with self._lock:
            return {i for i in ids if (operation, i) in self._receipts}

    def commit(self, unit: Commit) -> None:
        self.commit_many((unit,))

    def commit_many(self, units: Sequence[Commit]) -> None:
        """Apply ``units`` in order, all or none (one member may appear several times)."""
        with self._lock:
            # Check everything first, on running values: nothing below the checks fails.
            versions: dict[str, int] = {}
            heads: dict[str, str | None] = {}
            receipts: set[tuple[str, str]] = set()
            values: dict[str, int] = {}  # running totals: a key may appear twice
            checked = []
            for unit in units:
                member = unit.member
                if member not in versions:
                    current = self._members.get(member)
                    versions[member] = current.version if current else 0
                    heads[member] = self._heads.get(member)
                if versions[member] != unit.expected_version:
                    raise StaleVersion(member, unit.expected_version, versions[member])
                receipt = unit.receipt
                key = None if receipt is None else (receipt.operation, receipt.id)
                if key is not None and (key in self._receipts or key in receipts):
                    raise DuplicateReceipt(*key)
                for change in unit.counters:
                    values[change.key] = values.get(change.key, self._counters.get(change.key, 0))
                    values[change.key] += change.delta
                    if change.limit is not None and values[change.key] > change.limit:
                        raise CounterLimitExceeded(change.key, change.limit)
                hashes = link(member, heads[member], unit.entries, count=unit.state.entries)
                if hashes:
                    heads[member] = hashes[-1]
                if key is not None:
                    receipts.add(key)
                versions[member] += 1
                checked.append((unit, key, hashes, versions[member]))
            self._counters.update(values)
            for unit, key, hashes, version in checked:
                self._apply(unit, key, hashes, version)

    def _apply(
        self, unit: Commit, key: tuple[str, str] | None, hashes: list[str], version: int
    ) -> None:
        self._members[unit.member] = Snapshot(unit.state, version)
        ledger = self._ledgers.setdefault(unit.member, [])
        ledger.extend(map(Link, unit.entries, hashes))
        for score in unit.scores:
            board = self._scores.setdefault((score.board, score.period, score.group), {})
            board[score.member] = board.get(score.member, 0) + score.delta
        if hashes:
            self._heads[unit.member] = hashes[-1]
        if key is not None and unit.receipt is not None:
            self._receipts[key] = _kept(unit.receipt)
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
            self._receipts[key] = _kept(receipt)

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
