"""Taking points back: what a reversal owes, and taking it from a member's book.

Shared by the reversal of a recorded action (:func:`rewardkit.engine.reverse`) and the
reversal of the bonus that action paid a referrer (:func:`rewardkit.engine.take_back_referral`).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from ._book import Book, spend_order
from ._earning import floor
from .model import Award, EntryKind, PointsReversed

__all__ = ["Part", "shares", "take_back", "take_back_shares", "taken_key"]

Part = tuple[int, str]
"""Points to take back, and the rule whose lots (of the action) they come from first."""


def taken_key(award: Award) -> str:
    """The key under which a reversal keeps what it took of ``award`` (in
    ``Reversal.taken``: stored with the member's state)."""
    return f"{award.rule}|{award.currency}"


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
        key = taken_key(award)
        if complete or amount is None or refunded is None:
            target = award.points
        else:
            target = floor(award.points * refunded / amount)
        delta = target - taken.get(key, 0)
        if delta > 0:
            due.append((award, delta))
            taken[key] = target
    return due


def take_back(book: Book, action: str, currency: str, parts: Sequence[Part]) -> list[int]:
    """Take back, for ``action``, each part's points from the lots its rule made for the
    action first (held ones included, which cancels them); what those no longer hold,
    from the member's spendable lots, earliest expiry first; the rest becomes a debt.
    One ledger entry (and event) for them all.  Returns, per part, the points cancelled
    from its held lots."""
    own: dict[str, list[int]] = {}
    for i, lot in enumerate(book.lots):
        if lot.action == action and lot.currency == currency:
            own.setdefault(lot.rule, []).append(i)
    spendable = missing = 0
    cancelled = []
    for points, rule in parts:
        indices = sorted(own.get(rule, ()), key=lambda i: spend_order(book.lots[i]))
        from_spendable, from_held = book.take_from(indices, points)
        spendable += from_spendable
        missing += points - from_spendable - from_held
        cancelled.append(from_held)
    if missing:  # one pass over the member's other lots, for every part at once
        from_others, _ = book.take(currency, missing)
        spendable += from_others
        missing -= from_others
    book.debts[currency] = book.debts.get(currency, 0) + missing
    book.write(EntryKind.REVERSE, currency, -spendable, action)
    if spendable or missing:
        book.events.append(
            PointsReversed(book.state.id, book.at, book.cause, action, currency, spendable, missing)
        )
    if sum(cancelled):
        book.cancelled(action, currency, sum(cancelled))
    return cancelled


def take_back_shares(
    book: Book, action: str, owed: Sequence[tuple[Award, int]]
) -> dict[tuple[str, str], int]:
    """:func:`take_back` of each award's share (from :func:`shares`), one currency at a
    time; the points cancelled from held lots, per award's rule and currency."""
    cancelled: dict[tuple[str, str], int] = {}
    for currency in sorted({award.currency for award, _ in owed}):
        mine = [(award, points) for award, points in owed if award.currency == currency]
        held = take_back(book, action, currency, [(points, award.rule) for award, points in mine])
        cancelled.update(
            ((award.rule, currency), n) for (award, _), n in zip(mine, held, strict=True)
        )
    return cancelled
