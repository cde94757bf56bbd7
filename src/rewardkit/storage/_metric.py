"""A member's tier-metric contributions as rows of their own (schema version 6), shared
by the SQL stores.

A daily customer's 12-month window holds a year of contributions: 365 and more, two
thirds of their state's text (13 KB for 487 of them).  Kept inside the text, every
commit wrote them all again, over overflow pages that made the write-ahead log fill
(and be checkpointed) about twice as often as a newcomer's.  As rows in
``metric(member, key, data)``, a commit writes only what changed: usually one new
contribution at the end, and the oldest ones the window let go of at the start.  A
member with fewer than :data:`ROWS_FROM` contributions keeps them in the state's text.

A row's key is the contribution's instant (fixed-width UTC microseconds, so keys sort
as text in time order) and its rank among earlier contributions at the same instant:
the engine keeps the metric in time order, adds a contribution after those at its
instant, and drops the window's start whole instants at a time, so a row's key never
changes while it stays.  Which rows changed is found as with lots (``_lots``): the
contributions the call kept are the very objects of the state the commit started from,
so the kept run is found by comparing tuples (in C) and only what is around it is
written.  Anything else (a metric not in time order, an instant without a time zone)
is written whole, or kept in the state's text.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

from .._fastcodec import metric_text
from ..model import Contribution
from ._lots import common_prefix, stamp

__all__ = ["ROWS_FROM", "MetricRows", "keep_as_rows", "metric_writes"]

ROWS_FROM = 256
"""A member's contributions become rows once they are this many.  Below, their text
(about 27 bytes each: under 7 KB) costs less to write again than the pages a row's
insert and delete dirty: at 64, a member with 108 contributions recorded about 25%
slower as rows than inline (measured: docs/performance.md)."""

_RANKS = 10**6  # contributions at one instant a key can tell apart

MetricRows = list[tuple[str, str]]  # (key, data) of each contribution to insert


def keep_as_rows(split: bool, metric: Sequence[Contribution]) -> bool:
    """Whether a member's contributions are to be rows: once they are (``split``), they
    stay rows (until they cannot be); before, from :data:`ROWS_FROM` on."""
    return split or len(metric) >= ROWS_FROM


def _rank(metric: Sequence[Contribution], index: int) -> int:
    """How many contributions before ``metric[index]`` share its instant."""
    at = metric[index].at
    rank = 0
    while index - rank > 0 and metric[index - rank - 1].at == at:
        rank += 1
    return rank


def _key(metric: Sequence[Contribution], index: int) -> str:
    rank = _rank(metric, index)
    if rank >= _RANKS:
        raise ValueError("too many contributions at one instant")
    return f"{stamp(metric[index].at)}{rank:06d}"


def _keys(metric: Sequence[Contribution], start: int, stop: int) -> list[str]:
    return [_key(metric, index) for index in range(start, stop)]


def _rows(metric: Sequence[Contribution], start: int, stop: int) -> MetricRows:
    keys = _keys(metric, start, stop)
    return [(key, metric_text(c)) for key, c in zip(keys, metric[start:stop], strict=True)]


def _in_time_order(metric: Sequence[Contribution]) -> bool:
    return all(a.at <= b.at for a, b in pairwise(metric))


def _changes(
    old: tuple[Contribution, ...], new: tuple[Contribution, ...]
) -> tuple[list[str], MetricRows] | None:
    """The keys of the rows to delete and the rows to insert to go from ``old``'s rows
    to ``new``'s, when ``new`` keeps a run of ``old`` (``None``: write it whole)."""
    if not new or not old:
        return None
    # Where the run kept begins: the window's start lets go of a few contributions.
    dropped = 0
    first = new[0]
    while dropped < len(old) and old[dropped] is not first:
        dropped += 1
        if dropped > 64:  # not the window's start moving on: write it whole
            return None
    if dropped == len(old):
        return None
    if dropped and old[dropped - 1].at == first.at:  # part of an instant let go of
        return None
    kept = old[dropped:]
    start = common_prefix(kept, new)
    end = 0
    if start < len(kept):  # something changed inside: skip the shared end too
        end = common_prefix(kept[start:][::-1], new[start:][::-1])
    old_stop, new_stop = len(kept) - end, len(new) - end
    # The changed stretch with a neighbour on each side must be in time order, and the
    # rows of the shared end must keep their keys (their rank at their instant).
    window = new[max(start - 1, 0) : new_stop + 1]
    if not _in_time_order(window):
        return None
    if end and _key(kept, old_stop) != _key(new, new_stop):
        return None
    removed = _keys(old, 0, dropped) + _keys(kept, start, old_stop)
    return removed, _rows(new, start, new_stop)


def metric_writes(
    split: bool, old: tuple[Contribution, ...] | None, new: tuple[Contribution, ...]
) -> tuple[bool, list[str], MetricRows] | None:
    """What a store writes to make a member's rows those of ``new``: whether to delete
    every row first, the keys of the rows to delete, and the rows to insert.  From
    ``old``'s rows (``split``: the member's contributions are rows, ``old``: those of
    the version in the database, when known) only the changes, else everything again.
    ``None``: ``new`` cannot be rows (not in time order, or an instant without a time
    zone); the store deletes any, and keeps the contributions in the state's text."""
    try:
        if split and old is not None:
            if old is new:
                return False, [], []
            change = _changes(old, new)
            if change is not None:
                return False, *change
        if not _in_time_order(new):
            return None
        return split, [], _rows(new, 0, len(new))
    except (TypeError, ValueError):  # a naive instant; too many at one instant
        return None
