"""What the SQL stores share: rows <-> domain objects, and the checks a commit makes on
counters.  Schema versions and migrations are in :mod:`._schema`."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

import attrs

from .. import _codec
from .._fastcodec import dumps_outcome, dumps_state, isoformat, loads_state
from ..errors import StoreError
from ..model import CounterChange, Entry, EntryKind, MemberState
from ..time import micros as utc_micros
from ._lots import ROWS_FROM
from ._metric import ROWS_FROM as METRIC_ROWS_FROM
from .base import Commit, CounterLimitExceeded, Receipt, Snapshot

__all__ = [
    "ENTRY_COLUMNS",
    "LEDGERS_CHUNK",
    "Encoded",
    "Split",
    "decode_state",
    "encode",
    "entry_from_row",
    "entry_row",
    "ledgers_chunk",
    "member_ledgers",
    "micros",
    "receipt_row",
    "running_totals",
    "score_rows",
]

ENTRY_COLUMNS = "seq, at, kind, currency, points, balance, debt, cause, reason, pending"


def entry_row(member: str, entry: Entry, digest: str) -> tuple[object, ...]:
    """An entries row: member, seq, at, kind, currency, points, balance, debt, cause,
    reason, pending, hash."""
    return (
        member,
        entry.seq,
        isoformat(entry.at),
        entry.kind.value,
        entry.currency,
        entry.points,
        entry.balance,
        entry.debt,
        entry.cause,
        entry.reason,
        entry.pending,
        digest,
    )


def entry_from_row(member: str, row: Sequence[Any]) -> Entry:
    """An entry from the ``ENTRY_COLUMNS`` of a row."""
    seq, at, kind, currency, points, balance, debt, cause, reason, pending = row[:10]
    return Entry(
        member,
        int(seq),
        datetime.fromisoformat(at),
        EntryKind(kind),
        currency,
        int(points),
        int(balance),
        int(debt),
        cause,
        reason,
        int(pending),
    )


LEDGERS_CHUNK = 200  # members per read of ``ledgers()``: their ledgers are in memory at once


def ledgers_chunk(chunk: object) -> int:
    """``chunk`` checked: how many members a ``ledgers()`` read takes at a time."""
    if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1:
        raise StoreError(f"'chunk' must be a whole number of members >= 1: {chunk!r}")
    return chunk


def member_ledgers(
    members: Sequence[tuple[str, Callable[[], MemberState]]],
    entry_rows: Iterable[Sequence[Any]],
) -> Iterator[tuple[MemberState, list[Entry]]]:
    """Each member's state (decoded when its turn comes) with its ledger, from rows of
    ``ENTRY_COLUMNS`` then the member id, ordered by member and seq.  A ledger is cut to
    the entries its state counts, as :func:`rewardkit.analytics.ledgers` does."""
    grouped: dict[str, list[Sequence[Any]]] = {member: [] for member, _ in members}
    for row in entry_rows:
        rows = grouped.get(row[10])
        if rows is not None:
            rows.append(row)
    for member, state_of in members:
        state = state_of()
        yield state, [entry_from_row(member, row) for row in grouped[member][: state.entries]]


def micros(instant: datetime | None) -> int | None:
    """An aware instant as integer UTC microseconds (``None`` stays ``None``)."""
    return None if instant is None else utc_micros(instant)


@attrs.frozen
class Encoded:
    """A commit's values as the SQL stores write them, encoded before any lock is taken.
    The state's text is made in the form the member will most likely be written in
    (``as_rows``: without its lots, which are rows of their own, when it has many of
    them; ``metric_rows``: without its tier-metric contributions, likewise); :meth:`state`
    makes another form when it is the one needed after all."""

    due: int | None
    receipt: tuple[str, str, str, str, str] | None  # operation, id, member, request, outcome
    of: MemberState
    as_rows: bool
    metric_rows: bool
    text: str

    def state(self, rows: bool, metric_rows: bool = False) -> str:
        """The state's text: without its lots (``rows``) or with them, without its
        metric (``metric_rows``) or with it."""
        if rows == self.as_rows and metric_rows == self.metric_rows:
            return self.text
        return dumps_state(self.of, lots=not rows, metric=not metric_rows)


def receipt_row(receipt: Receipt) -> tuple[str, str, str, str, str]:
    """operation, id, member, request, outcome: a receipt as the SQL stores keep it."""
    try:  # a request is JSON data already (the facade makes it so)
        request = _codec.canonical_json(receipt.request)
    except TypeError:
        request = _codec.dumps(receipt.request)
    return (
        receipt.operation,
        receipt.id,
        receipt.member,
        request,
        dumps_outcome(receipt.outcome),
    )


def encode(unit: Commit) -> Encoded:
    row = None if unit.receipt is None else receipt_row(unit.receipt)
    state = unit.state
    rows = len(state.lots) >= ROWS_FROM
    metric = len(state.metric) >= METRIC_ROWS_FROM
    text = dumps_state(state, lots=not rows, metric=not metric)
    return Encoded(micros(state.next_due()), row, state, rows, metric, text)


def decode_state(
    text: str | bytes, lots: Sequence[str] | None = None, metric: Sequence[str] | None = None
) -> MemberState:
    """A member's state from its stored text (and its lots' rows, in key order, when the
    lots are kept as rows; its contributions' rows likewise)."""
    return loads_state(text, lots, metric)


def running_totals(
    changes: Iterable[CounterChange], current: Callable[[str], int]
) -> dict[str, int]:
    """Each counter's value after ``changes``, checking every limit on the running total
    (a key may change twice in one commit); raises :class:`CounterLimitExceeded`."""
    values: dict[str, int] = {}
    for change in changes:
        if change.key not in values:
            values[change.key] = current(change.key)
        values[change.key] += change.delta
        if change.limit is not None and values[change.key] > change.limit:
            raise CounterLimitExceeded(change.key, change.limit)
    return values


# Leaderboards: the same SQL on both dialects (``?`` placeholders, ``{s}`` table prefix).
SCORE_UPSERT = (
    "INSERT INTO {s}scores AS t(board, period, grp, member, score) VALUES (?, ?, ?, ?, ?)"
    " ON CONFLICT (board, period, grp, member) DO UPDATE SET score = t.score + excluded.score"
)
SCORE_TOP = (
    "SELECT member, score FROM {s}scores WHERE board = ? AND period = ? AND grp = ?"
    " ORDER BY score DESC, member LIMIT ? OFFSET ?"
)
SCORE_OF = "SELECT score FROM {s}scores WHERE board = ? AND period = ? AND grp = ? AND member = ?"
SCORE_AHEAD = (
    "SELECT count(*) FROM {s}scores WHERE board = ? AND period = ? AND grp = ?"
    " AND (score > ? OR (score = ? AND member < ?))"
)


def score_rows(unit: Commit) -> list[tuple[str, str, str, str, int]]:
    """A commit's score changes merged per row and in key order (so two commits
    touching the same rows lock them in the same order)."""
    merged: dict[tuple[str, str, str, str], int] = {}
    for change in unit.scores:
        key = (change.board, change.period, change.group, change.member)
        merged[key] = merged.get(key, 0) + change.delta
    return [(*key, delta) for key, delta in sorted(merged.items())]


Split = tuple[bool, bool]  # a member's lots are rows, its metric is rows


class Heads:
    """What this store last saw of each member (loaded or committed): the version, the
    ledger head, the state, and whether its lots and its metric are rows (``split``).  A
    commit at that version need not read the head again (the commit's ``... WHERE version
    = ?`` proves it is still the one kept), writes only the lots and contributions that
    changed from that state's, and
    a write may start from the state kept (``load_for_update``): if another writer moved
    the member on meanwhile, the commit is refused and the write starts again from a
    fresh load."""

    def __init__(self, size: int = 10_000) -> None:
        self._size = size
        self._known: dict[str, tuple[Snapshot, str | None, Split]] = {}

    def remember(
        self, member: str, version: int, head: str | None, state: MemberState, split: Split
    ) -> None:
        known = self._known
        if not self._size:
            return
        if member not in known and len(known) >= self._size:
            known.pop(next(iter(known)), None)  # the oldest kept
        known[member] = (Snapshot(state, version), head, split)

    def at(self, member: str, version: int) -> tuple[Snapshot, str | None, Split] | None:
        """The member as kept, if at ``version``: its snapshot, head and ``split``."""
        found = self._known.get(member)
        return found if found is not None and found[0].version == version else None

    def snapshot(self, member: str) -> Snapshot | None:
        """The member as last seen here, perhaps no longer the latest."""
        found = self._known.get(member)
        return None if found is None else found[0]
