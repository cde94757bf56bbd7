"""The Store protocol: what the facade needs from any persistence, and nothing more.

A store keeps, per member, a versioned :class:`~rewardkit.model.MemberState` and an
append-only ledger; per request, a receipt (for idempotency); and shared counters
(reward stock).  ``commit`` applies one :class:`Commit` atomically: the new state, its
ledger entries, the receipt and the counter changes all land, or none does.

Stores import the domain, never the reverse.  Every store, ours or a user's, proves
itself with the contract suite in :mod:`rewardkit.testing.store_contract`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

import attrs

from ..errors import StoreError
from ..events import Event
from ..model import CounterChange, Entry, MemberState, Outcome

__all__ = [
    "Commit",
    "CounterLimitExceeded",
    "DuplicateReceipt",
    "Receipt",
    "Snapshot",
    "StaleVersion",
    "Store",
]


@attrs.frozen
class Snapshot:
    """A member's state as loaded, with the version a commit must still find."""

    state: MemberState
    version: int


@attrs.frozen
class Receipt:
    """The record of one handled request, kept so the same id replays its outcome.

    ``request`` is the request's canonical JSON-ready content; a later request with the
    same ``operation`` and ``id`` but other content is an idempotency conflict.
    """

    operation: str  # "record" | "redeem" | "reverse"
    id: str
    member: str
    request: Mapping[str, Any] = attrs.field(hash=False)
    outcome: Outcome


@attrs.frozen
class Commit:
    """One atomic unit of change for one member."""

    member: str
    expected_version: int
    state: MemberState
    entries: tuple[Entry, ...]
    receipt: Receipt | None  # None: what time alone did (an expiry sweep), no request
    counters: tuple[CounterChange, ...] = ()
    events: tuple[Event, ...] = ()  # what happened, for stores that publish (an outbox)


class StaleVersion(StoreError):
    """The member changed since it was loaded; reload and try again."""

    def __init__(self, member: str, expected: int, found: int) -> None:
        self.member = member
        super().__init__(f"member {member!r} is at version {found}, not {expected}")


class DuplicateReceipt(StoreError):
    """A receipt with this operation and id was committed meanwhile."""

    def __init__(self, operation: str, request_id: str) -> None:
        self.operation = operation
        self.request_id = request_id
        super().__init__(f"{operation} id {request_id!r} is already recorded")


class CounterLimitExceeded(StoreError):
    """A shared counter would pass its limit; nothing was committed."""

    def __init__(self, key: str, limit: int) -> None:
        self.key = key
        self.limit = limit
        super().__init__(f"counter {key!r} would exceed its limit of {limit}")


@runtime_checkable
class Store(Protocol):
    """Persistence for rewardkit.  Implementations must be safe to share between the
    threads of one process; SQL stores are also safe across processes."""

    def load(self, member: str) -> Snapshot:
        """The member's state and version; an unknown member is ``MemberState(id)`` at 0."""
        ...

    def receipt(self, operation: str, request_id: str) -> Receipt | None: ...

    def counter(self, key: str) -> int:
        """A shared counter's value (0 if never changed)."""
        ...

    def commit(self, unit: Commit) -> None:
        """Apply ``unit`` atomically or raise :class:`StaleVersion`,
        :class:`DuplicateReceipt` or :class:`CounterLimitExceeded`, changing nothing."""
        ...

    def history(self, member: str) -> list[Entry]:
        """The member's ledger entries, oldest first."""
        ...

    def due(self, at: datetime) -> list[str]:
        """Members whose state's ``next_due()`` is at or before ``at``, earliest first.

        Stores index the instant each commit's state reports, so a sweep costs what the
        members due cost, not what all members cost."""
        ...

    def members(self) -> Iterator[str]:
        """Every member id the store knows, in sorted order."""
        ...

    def close(self) -> None: ...
