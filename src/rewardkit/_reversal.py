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

__all__ = ["owed", "take_back"]


def owed(
    awards: Sequence[Award],
    taken: dict[str, int],
    refunded: Decimal | None,
    amount: Decimal | None,
    complete: bool,
) -> dict[str, int]:
    """The points per currency that a reversal must take back now so that, for every
    award, what was taken so far reaches its share: all of it when the reversal is
    complete (or nothing measures a share), else ``floor(points * refunded / amount)``
    of the cumulative ``refunded``.  ``taken`` ("rule|currency" -> points, cumulative)
    is updated to the new shares."""
    due: dict[str, int] = {}
    for award in awards:
        key = f"{award.rule}|{award.currency}"
        if complete or amount is None or refunded is None:
            target = award.points
        else:
            target = floor(award.points * refunded / amount)
        delta = target - taken.get(key, 0)
        if delta > 0:
            due[award.currency] = due.get(award.currency, 0) + delta
            taken[key] = target
    return due


def take_back(
    book: Book,
    action: str,
    currency: str,
    points: int,
    prefer: Callable[[Lot], bool],
) -> int:
    """Take ``points`` back for ``action``: from the lots ``prefer`` picks first (held
    ones included, which cancels them), then from the others, earliest expiry first;
    what is no longer there becomes a debt.  Returns the points cancelled from held
    lots."""
    spendable, cancelled = book.take(currency, points, prefer=prefer)
    debt = points - spendable - cancelled
    book.debts[currency] = book.debts.get(currency, 0) + debt
    book.write(EntryKind.REVERSE, currency, -spendable, action)
    if spendable or debt:
        book.events.append(
            PointsReversed(book.state.id, book.at, book.cause, action, currency, spendable, debt)
        )
    if cancelled:
        book.cancelled(action, currency, cancelled)
    return cancelled
