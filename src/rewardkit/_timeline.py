"""Time's part of every call: expiries, releases of held points and tier reviews,
applied in chronological order up to an instant.  Pure, like the engine."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import attrs

from . import _tiering
from ._book import TIME, Book
from ._play import FollowUp
from .model import (
    CounterChange,
    MemberState,
    Outcome,
    ScoreChange,
)
from .program import Program

__all__ = ["Evaluation", "advance", "advance_book", "expiry_of", "refresh_expiry", "release", "utc"]


@attrs.frozen
class Evaluation:
    """A pure function's result: the member's next state, what happened, and the
    shared-counter changes the store must apply atomically with it."""

    state: MemberState
    outcome: Outcome
    counters: tuple[CounterChange, ...] = ()
    follow_ups: tuple[FollowUp, ...] = ()  # work left for other members (a referrer's bonus)
    scores: tuple[ScoreChange, ...] = ()  # leaderboard changes, committed with the state


def utc(at: datetime) -> datetime:
    return at.astimezone(UTC)


# ---------------------------------------------------------------- time


def expiry_of(program: Program, earned_at: datetime, activity: datetime | None) -> datetime | None:
    return program.expiry.expires_at(earned_at, activity, program.tz)


def refresh_expiry(program: Program, book: Book, activity: datetime | None) -> None:
    """Activity pushes every spendable lot's expiry under activity-based policies."""
    if not program.expiry.uses_activity:
        return
    for i, lot in enumerate(book.lots):
        if not lot.pending and lot.remaining > 0:
            expires_at = expiry_of(program, lot.earned_at, activity)
            if expires_at != lot.expires_at:
                book.put(i, attrs.evolve(lot, expires_at=expires_at))


def _changing(book: Book, until: datetime) -> list[int]:
    """The lots time changes by ``until``, in list order: held ones it releases and
    spendable ones it expires.  Only these change while time is applied (a release
    changes its own lot, a review none), so one pass over the lots finds them all."""
    found = []
    for index, lot in enumerate(book.lots):
        if lot.pending:
            if lot.release_at is not None and lot.release_at <= until:
                found.append(index)
        elif lot.remaining > 0 and lot.expires_at is not None and lot.expires_at <= until:
            found.append(index)
    return found


def _next_instant(book: Book, changing: list[int]) -> datetime | None:
    """The first instant at which one of the lots ``changing`` is released or expires,
    or the member's tier is reviewed."""
    instants = []
    for index in changing:
        lot = book.lots[index]
        if lot.pending:
            if lot.release_at is not None:
                instants.append(lot.release_at)
        elif lot.remaining > 0 and lot.expires_at is not None:
            instants.append(lot.expires_at)
    review = _tiering.due(book)
    if review is not None:
        instants.append(review)
    return min(instants) if instants else None


def release(program: Program, book: Book, index: int, at: datetime, cause: str) -> None:
    """A held lot becomes spendable; if its action qualified, it now counts for tiers."""
    lot = book.lots[index]
    book.release(index, at, cause, expiry_of(program, at, book.state.last_activity))
    if lot.tier_credit:
        _tiering.contribute(program, book, at, Decimal(lot.remaining))
        _tiering.qualify(program, book, at, cause)


def advance_book(program: Program, book: Book, until: datetime) -> None:
    """Apply, in order, everything time does to the member up to ``until`` (inclusive);
    then drop a level the programme no longer has (a review due before dropped it then)."""
    if book.untouched:
        due = book.state.next_due()  # never after the first instant the book would find
        if due is None or due > until:
            _tiering.retire_unknown(program, book, until)
            return
    changing = _changing(book, until)
    while True:
        instant = _next_instant(book, changing)
        if instant is None or instant > until:
            _tiering.retire_unknown(program, book, until)
            return
        # Lots are taken in spending order, not list order: a release earlier in this
        # call leaves the list unsorted, and a sweep that committed it would not, so
        # lots due at one instant would otherwise be written in another order.
        for i in book.in_spend_order(changing):
            lot = book.lots[i]
            if lot.pending and lot.release_at is not None and lot.release_at <= instant:
                release(program, book, i, lot.release_at, TIME)
        for i in book.in_spend_order(changing):
            lot = book.lots[i]
            due = lot.expires_at
            if not lot.pending and lot.remaining > 0 and due is not None and due <= instant:
                book.expire(i, due)
        review = _tiering.due(book)
        if review is not None and review <= instant:
            _tiering.review(program, book, review)


def advance(program: Program, state: MemberState, until: datetime) -> Evaluation:
    """What time alone does to a member up to ``until``: expiries, releases, reviews."""
    book = Book(state, utc(until), TIME)
    advance_book(program, book, book.at)
    if book.untouched:  # nothing was due: the same state, which callers can tell by identity
        return Evaluation(state, book.outcome(program.currency))
    return Evaluation(book.next_state(), book.outcome(program.currency))
