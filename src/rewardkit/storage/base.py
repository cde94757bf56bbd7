"""The Store protocol: what the facade needs from any persistence, and nothing more.

A store keeps, per member, a versioned :class:`~rewardkit.model.MemberState` and an
append-only, hash-chained ledger; per request, a receipt (for idempotency); and shared
counters (reward stock).  ``commit`` applies one :class:`Commit` atomically: the new
state, its ledger entries (with their hashes, from :func:`rewardkit.storage.chain.link`),
the receipt and the counter changes all land, or none does.

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
from ..model import CounterChange, Entry, MemberState, Outcome, ScoreChange

__all__ = [
    "Chain",
    "Commit",
    "CounterLimitExceeded",
    "DuplicateReceipt",
    "Link",
    "Receipt",
    "Snapshot",
    "StaleVersion",
    "Store",
    "TransactionConflict",
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

    operation: str  # the call: "record", "redeem", "reverse", "refer", "referral", ...
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
    scores: tuple[ScoreChange, ...] = ()  # leaderboard score changes


@attrs.frozen
class Link:
    """A ledger entry and its hash: sha256 over the previous entry's hash and this
    entry's canonical content (see :mod:`rewardkit.storage.chain`)."""

    entry: Entry
    hash: str


@attrs.frozen
class Chain:
    """A member's hash-chained ledger, read in one consistent snapshot.

    ``head`` is the hash the member's own record says the ledger ends with (``None``
    before the first entry): it catches entries removed from the end of the chain.
    """

    member: str
    links: tuple[Link, ...]
    head: str | None


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


class TransactionConflict(StoreError):
    """The database aborted the commit to resolve a conflict with another transaction
    (a serialization failure or a deadlock).  Nothing was committed; the facade retries
    from a fresh load, as after :class:`StaleVersion`."""

    def __init__(self, member: str, detail: str) -> None:
        self.member = member
        super().__init__(
            f"the commit for member {member!r} was aborted by the database to resolve a "
            f"conflict with another transaction ({detail}); nothing was committed, retry it"
        )


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
        :class:`DuplicateReceipt`, :class:`CounterLimitExceeded` or
        :class:`TransactionConflict`, changing nothing.

        The entries are chained to the member's ledger with
        :func:`rewardkit.storage.chain.link` in the same transaction."""
        ...

    def history(self, member: str) -> list[Entry]:
        """The member's ledger entries, oldest first."""
        ...

    def chain(self, member: str) -> Chain:
        """The member's entries with their hashes, oldest first, and the head hash, all
        from one snapshot (what :func:`rewardkit.storage.verify` checks)."""
        ...

    def top(
        self, board: str, period: str, group: str, limit: int, offset: int = 0
    ) -> list[tuple[str, int]]:
        """``(member, score)`` on a leaderboard, best first (ties by member id), from
        the ``offset``-th; read from an index, not a scan of every member."""
        ...

    def rank(self, board: str, period: str, group: str, member: str) -> tuple[int, int] | None:
        """A member's 1-based rank and score on a leaderboard, or ``None``."""
        ...

    def record(self, receipt: Receipt) -> None:
        """Keep a receipt that belongs to no member's commit (a raffle draw), or raise
        :class:`DuplicateReceipt` if one with its operation and id exists."""
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
