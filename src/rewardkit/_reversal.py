"""Taking points back: what a reversal owes, and taking it from a member's book.

Shared by the reversal of a recorded action (:func:`rewardkit.engine.reverse`) and the
reversal of the bonus that action paid a referrer (:func:`rewardkit.engine.take_back_referral`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal

from ._book import Book
from ._earning import floor
from .model import Award, EntryKind, Lot, PointsReversed

__all__ = ["Part", "own_lots", "shares", "take_back"]

Part = tuple[int, Callable[[Lot], bool]]
"""Points to take back, and which lots to take them from first."""


def shares(
    awards: Sequence[Award],
    taken: dict[str, int],
    refunded: Decimal | None,
    amount: Decimal | None,
    complete: bool,
) -> list[tuple[Award, int]]:
    """Each award with what a reversal must take back of it now (when more than 0), so
    that what was taken of it so far reaches its share: all of it when the reversal is
    complete (or nothing measures a share), else ``floor(points * refunded / amount)``
    of the cumulative ``refunded``.  ``taken`` ("rule|currency" -> points, cumulative)
    is updated to the new shares."""
    due = []
    for award in awards:
        key = f"{award.rule}|{award.currency}"
        if complete or amount is None or refunded is None:
            target = award.points
        else:
            target = floor(award.points * refunded / amount)
        delta = target - taken.get(key, 0)
        if delta > 0:
            due.append((award, delta))
            taken[key] = target
    return due


def take_back(
    book: Book, action: str, currency: str, parts: Sequence[Part]
) -> list[tuple[int, int]]:
    """Take back, for ``action``, each part's points: from the lots its test picks first
    (held ones included, which cancels them), then from the member's other spendable
    lots, earliest expiry first; what is no longer there becomes a debt.  One ledger
    entry (and event) for them all.  Returns, per part, the points taken from spendable
    lots and those cancelled from held ones."""
    taken = [book.take(currency, points, prefer=prefer) for points, prefer in parts]
    spendable = sum(part[0] for part in taken)
    cancelled = sum(part[1] for part in taken)
    debt = sum(points for points, _ in parts) - spendable - cancelled
    book.debts[currency] = book.debts.get(currency, 0) + debt
    book.write(EntryKind.REVERSE, currency, -spendable, action)
    if spendable or debt:
        book.events.append(
            PointsReversed(book.state.id, book.at, book.cause, action, currency, spendable, debt)
        )
    if cancelled:
        book.cancelled(action, currency, cancelled)
    return taken


def own_lots(action: str, rule: str) -> Callable[[Lot], bool]:
    """The lots ``rule`` awarded for ``action``."""
    return lambda lot: lot.action == action and lot.rule == rule
