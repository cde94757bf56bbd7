"""Raffle entries and referrals: the calls that involve more than one member's
earning (the facade checks referral loops and pays referrers' follow-ups)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from . import _reversal
from ._book import Book
from ._play import FollowUp, credit, tickets_key
from ._timeline import Evaluation, advance_book, refresh_expiry, utc
from .errors import (
    InsufficientPoints,
    InvalidAction,
    RaffleError,
    ReferralError,
)
from .events import ReferralRewarded, TicketsBought
from .model import (
    Award,
    CounterChange,
    EntryKind,
    MemberState,
    Reversal,
)
from .program import Program

__all__ = ["enter", "refer", "referral_bonus", "take_back_referral"]


def enter(
    program: Program,
    state: MemberState,
    raffle_id: str,
    *,
    tickets: int,
    request_id: str,
    at: datetime,
) -> Evaluation:
    """Buy ``tickets`` raffle tickets with points while the raffle is open."""
    raffle = program.raffle(raffle_id)
    if isinstance(tickets, bool) or not isinstance(tickets, int) or tickets <= 0:
        raise InvalidAction("tickets", tickets, "must be a positive integer")
    at = utc(at)
    if raffle.ticket_cost is None:
        raise RaffleError(raffle.id, "its tickets are earned, not sold")
    if not raffle.is_open(at):
        when = "not open yet" if at < raffle.opens_at else "closed"
        raise RaffleError(
            raffle.id, f"is {when} (open from {raffle.opens_at} until {raffle.closes_at})"
        )
    held = state.tickets.get(raffle.id, 0)
    room = raffle.room(held)
    if room is not None and tickets > room:
        raise RaffleError(
            raffle.id, f"at most {raffle.max_tickets} tickets per member; {state.id!r} holds {held}"
        )
    book = Book(state, at, request_id)
    advance_book(program, book, at)
    cost = tickets * raffle.ticket_cost
    balance = book.spendable(raffle.currency)
    if balance < cost:
        raise InsufficientPoints(state.id, f"raffle:{raffle.id}", balance, cost, raffle.currency)
    book.take(raffle.currency, cost)
    book.write(EntryKind.REDEEM, raffle.currency, -cost, f"raffle:{raffle.id}")
    book.events.append(
        TicketsBought(state.id, at, request_id, raffle.id, tickets, raffle.currency, cost)
    )
    last = at if state.last_activity is None else max(state.last_activity, at)
    refresh_expiry(program, book, last)
    next_state = book.next_state(
        tickets={**state.tickets, raffle.id: held + tickets}, last_activity=last
    )
    counters = (CounterChange(tickets_key(raffle.id), tickets),)
    return Evaluation(next_state, book.outcome(program.currency), counters)


def refer(
    program: Program, state: MemberState, referrer: str, *, request_id: str, at: datetime
) -> Evaluation:
    """Record that ``referrer`` brought ``state``'s member.  Only a member with no
    activity yet can be referred, once; loops are checked by the caller, who can see
    the referrer's own chain."""
    if referrer == state.id:
        raise ReferralError(referrer, state.id, "a member cannot refer themselves")
    if state.referred_by is not None:
        raise ReferralError(
            referrer, state.id, f"{state.id!r} was already referred by {state.referred_by!r}"
        )
    if state.kinds:
        raise ReferralError(
            referrer, state.id, f"{state.id!r} is already an active member (refer new members)"
        )
    book = Book(state, utc(at), request_id)
    return Evaluation(book.next_state(referred_by=referrer), book.outcome(program.currency))


def referral_bonus(
    program: Program, state: MemberState, follow_up: FollowUp, *, at: datetime
) -> Evaluation:
    """Pay a referrer the bonus a referred member's first qualifying action earned."""
    at = utc(at)
    book = Book(state, at, follow_up.request_id)
    advance_book(program, book, at)
    if follow_up.points:
        credit(
            program,
            book,
            follow_up.request_id,
            follow_up.rule,
            follow_up.currency,
            follow_up.points,
        )
    book.events.append(
        ReferralRewarded(
            member=state.id,
            at=at,
            cause=follow_up.request_id,
            rule=follow_up.rule,
            referrer=state.id,
            referred=follow_up.referred,
            role="referrer",
            points=follow_up.points,
        )
    )
    return Evaluation(book.next_state(), book.outcome(program.currency))


def take_back_referral(
    program: Program,
    state: MemberState,
    payout: str,
    paid: Sequence[Award],
    *,
    refunded: Decimal | None,
    amount: Decimal | None,
    complete: bool,
    request_id: str,
    at: datetime,
) -> Evaluation:
    """Take back from a referrer the bonus a referral ``payout`` paid them (``paid``),
    when the qualifying action is reversed: the same share as of the action's own
    points (all of it once the action is fully reversed, else ``floor(bonus *
    refunded / amount)`` of the cumulative ``refunded``), kept in
    ``state.reversals[payout]`` so that each reversal takes only what the last one
    left.  Points no longer in the balance become a debt."""
    at = utc(at)
    previous = state.reversals.get(payout)
    taken = dict(previous.taken) if previous else {}
    owed = _reversal.shares(paid, taken, refunded, amount, complete)
    book = Book(state, at, request_id)
    advance_book(program, book, at)
    _reversal.take_back_shares(book, payout, owed)
    reversals = {**state.reversals, payout: Reversal(refunded, taken, complete)}
    return Evaluation(book.next_state(reversals=reversals), book.outcome(program.currency))
