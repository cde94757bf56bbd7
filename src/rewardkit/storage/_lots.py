"""A member's lots as rows of their own (schema version 4), shared by the SQL stores.

A member who saves up holds hundreds of open lots (a coffee a day for a year, never
redeemed: 455 of them, 115 KB of JSON).  Kept inside the state's text, every commit
wrote all of them again.  As rows in ``lots(member, key, data)``, a commit writes only
the lots it changed: usually one or two new ones, or the oldest one a redemption spent.
A member with fewer than :data:`ROWS_FROM` lots keeps them in the state's text, which
costs less than rows while the text is short.

Which lots changed is found by identity: the engine hands the lots a call did not touch
on to the next state as the very same objects, so the lots of the state the commit
started from (the store keeps it, at its version) and those of the new state differ
only by the lots removed and added.  Without that state the member's rows are written
again in full, which is always right.

A row's key sorts, as text (code point order, which SQLite's BINARY and PostgreSQL's
``"C"`` collations both give), in spending order: never-expiring last, then by expiry,
by earning instant, by lot id (``_book.spend_order``).  Lots that are not in spending
order (a state built by hand: rows would read back in another order), two lots with
the same key (a custom rule giving two awards of one rule for one action), one lot
object twice, or an instant without a time zone, cannot be rows: the member's lots then
stay inside the state's text (``split`` 0), as before schema 4.  A member row says which
way its lots are kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from itertools import pairwise

from .._fastcodec import lot_text
from ..model import Lot
from ..time import micros

__all__ = [
    "ROWS_FROM",
    "LotRows",
    "changed_lots",
    "common_prefix",
    "keep_as_rows",
    "lot_key",
    "lot_rows",
    "lot_writes",
    "stamp",
]

ROWS_FROM = 16
"""A member's lots become rows once they are this many; fewer are cheaper to write
inside the state's text than as rows of their own (measured: docs/performance.md)."""

_OFFSET = 10**17  # microseconds: puts year 1 above zero, so fixed-width text sorts


def stamp(instant: datetime) -> str:
    """An instant as fixed-width text that sorts as the instants do (row keys)."""
    return f"{micros(instant) + _OFFSET:019d}"


def lot_key(lot: Lot) -> str:
    """The key of a lot's row: sorted as text, keys are in spending order."""
    expires = lot.expires_at
    if expires is None:
        return f"1{stamp(lot.earned_at)}{stamp(lot.earned_at)}{lot.id}"
    return f"0{stamp(expires)}{stamp(lot.earned_at)}{lot.id}"


LotRows = list[tuple[str, str]]  # (key, data) of each lot to insert


def keep_as_rows(split: bool, lots: Sequence[Lot]) -> bool:
    """Whether a member's lots are to be rows: once they are (``split``), they stay
    rows (until they cannot be); before, from :data:`ROWS_FROM` lots on."""
    return split or len(lots) >= ROWS_FROM


def _in_order(keys: Sequence[str]) -> bool:
    """Strictly increasing: the lots are in spending order, no two with one key."""
    return all(a < b for a, b in pairwise(keys))


def lot_rows(lots: Sequence[Lot]) -> LotRows | None:
    """Rows for every lot of a state (``None``: they cannot be rows: not in spending
    order, so they would not read back as they are, or two lots with one key, or an
    instant without a time zone)."""
    try:
        keys = [lot_key(lot) for lot in lots]
    except TypeError:  # a naive instant: no key
        return None
    if not _in_order(keys):
        return None
    return [(key, lot_text(lot)) for key, lot in zip(keys, lots, strict=True)]


def common_prefix(old: Sequence[object], new: Sequence[object]) -> int:
    """How many items (lots, contributions) ``old`` and ``new`` share at their start.
    Tuples compare in C, the same object first by identity, so this bisection costs
    microseconds even for hundreds of them."""
    low, high = 0, min(len(old), len(new))
    if old[:high] == new[:high]:  # the usual call: lots added at the end only
        return high
    while low < high:
        middle = (low + high + 1) // 2
        if old[:middle] == new[:middle]:
            low = middle
        else:
            high = middle - 1
    return low


def _let_go(old: Sequence[Lot], new: Sequence[Lot], start: int) -> int:
    """How many of ``old``'s lots right after the shared start ``new`` lets go of
    before it goes on with the next of them (0: none, or not within 64): the oldest
    lots a redemption spent or that expired, while a lot was added at the end."""
    if start >= len(new):
        return 0
    following = new[start]
    for skipped in range(1, min(65, len(old) - start)):
        if old[start + skipped] is following:
            return skipped
    return 0


def changed_lots(old: tuple[Lot, ...], new: tuple[Lot, ...]) -> tuple[list[str], LotRows] | None:
    """The keys of the rows to delete and the rows to insert to go from ``old``'s rows
    to ``new``'s (``None``: ``new``'s lots cannot be rows).  Both are in spending order,
    and a call mostly adds lots at the end or spends and expires them at the start: the
    shared start, the run kept after the lots let go of and the shared end are skipped,
    and what is left is compared by identity.  Only the lots added and removed get a
    key: the others keep theirs, and their order."""
    if old is new:
        return [], []
    start = common_prefix(old, new)
    skipped = _let_go(old, new, start)
    run = common_prefix(old[start + skipped :], new[start:]) if skipped else 0
    old_rest, new_rest = start + skipped + run, start + run  # where each goes on
    end = 0
    if old_rest < len(old):
        end = common_prefix(old[old_rest:][::-1], new[new_rest:][::-1])
    let_go = old[start : start + skipped]
    old_middle = let_go + old[old_rest : len(old) - end]
    new_middle = new[new_rest : len(new) - end]
    before = dict(zip(map(id, old_middle), old_middle, strict=True))
    after = dict(zip(map(id, new_middle), new_middle, strict=True))
    if len(after) != len(new_middle) or any(id(lot) in after for lot in let_go):
        return None  # (one lot twice; a lot let go of comes back after the kept run)
    # (A lot object also in the shared start, run or end is once in ``old``, there: here
    # it is new, and its row's insert meets the one there, which the store sees.)
    # The lots kept must be in their old order (rows read back in key order) ...
    if [i for i in map(id, old_middle) if i in after] != [
        i for i in map(id, new_middle) if i in before
    ]:
        return None
    # ... and each lot added in spending order with its neighbours (``old`` was).
    try:
        removed = [lot_key(before[i]) for i in before.keys() - after.keys()]
        added: LotRows = []
        for offset, lot in enumerate(new_middle):
            if id(lot) in before:
                continue
            index = new_rest + offset
            key = lot_key(lot)
            if (index > 0 and lot_key(new[index - 1]) >= key) or (
                index + 1 < len(new) and key >= lot_key(new[index + 1])
            ):
                return None
            added.append((key, lot_text(lot)))
    except TypeError:  # a naive instant: no key
        return None
    return removed, added


def lot_writes(
    split: bool, old: tuple[Lot, ...] | None, new: tuple[Lot, ...]
) -> tuple[bool, list[str], LotRows] | None:
    """What a store writes to make a member's rows those of ``new``: whether to delete
    every row first, the keys of the rows to delete, and the rows to insert.  From
    ``old``'s rows (``split``: the member's lots are rows, ``old``: the lots of the
    version in the database, when known) only the changes, else everything again.
    ``None``: ``new``'s lots cannot be rows (the store deletes any, and keeps the lots
    in the state's text).  An insert that meets a row already there means the same:
    two lots with one key."""
    change = changed_lots(old, new) if split and old is not None else None
    if change is not None:
        return False, *change
    rows = lot_rows(new)
    return None if rows is None else (split, [], rows)
