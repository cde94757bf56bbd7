"""The pure heart of rewardkit: state + request + instant -> next state + outcome.

No I/O, no clock, no globals: the same inputs give the same result, byte for byte,
which is what makes replay, preview and property testing possible.  Every function
first lets time act on the member (:func:`advance`: expiries, releases of held points,
tier reviews, in chronological order) and then applies the request at its instant.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from types import MappingProxyType
from typing import TypeVar

import attrs

from . import _reversal, _tiering
from ._book import Book, spend_order
from ._caps import Usage
from ._earning import Limits, base_awards, bonus_awards, floor
from ._plan import plan_of
from ._play import FollowUp, award_badges, award_tickets, pay_referral, tickets_key
from ._values import money
from .context import Context
from .errors import (
    InsufficientPoints,
    InvalidAction,
    RewardUnavailable,
    UnknownAction,
)
from .events import BadgeAwarded, TicketsTakenBack
from .model import (
    Action,
    Award,
    CounterChange,
    EntryKind,
    Lot,
    MemberState,
    Reversal,
    RewardRedeemed,
    ScoreChange,
)
from .program import Program

__all__ = [
    "Evaluation",
    "FollowUp",
    "advance",
    "confirm",
    "enter",
    "evaluate",
    "redeem",
    "refer",
    "referral_bonus",
    "reverse",
    "spend_order",
    "take_back_referral",
]


from ._social import enter, refer, referral_bonus, take_back_referral
from ._timeline import (
    Evaluation,
    advance,
    advance_book,
    expiry_of,
    refresh_expiry,
    release,
    utc,
)

T = TypeVar("T")

# ---------------------------------------------------------------- earning


def _with(mapping: Mapping[str, T], key: str, value: T) -> Mapping[str, T]:
    """A frozen ``mapping`` (sorted by key) with ``key`` set to ``value``, sorted too."""
    items = dict(mapping)
    known = key in items
    items[key] = value
    if not known and len(items) > 1:
        items = dict(sorted(items.items()))
    return MappingProxyType(items)


def evaluate(
    program: Program,
    state: MemberState,
    action: Action,
    *,
    budgets: Mapping[str, int] | None = None,
) -> Evaluation:
    """The points ``action`` earns ``state``'s member, and the member's next state.

    ``budgets``: what each budgeted promotion rule has awarded so far across all members
    (rule id -> points), read by the facade from the store's counters."""
    if action.member != state.id:
        raise InvalidAction("member", action.member, f"does not match the state of {state.id!r}")
    at = utc(action.at)
    kind = action.kind
    plan = plan_of(program)
    book = Book(state, at, action.id)
    advance_book(program, book, at)
    now = state if book.untouched else book.next_state()
    ctx = Context.of(action, now, program.tz, program.all_segments)
    limits = Limits(Usage(now.usage, ctx.local), budgets or {})
    base = base_awards(program, ctx, limits)
    awards = base + bonus_awards(program, ctx, limits, base)
    ladder = program.tiers
    qualifies = ladder is not None and ladder.qualifying(ctx)
    currency = program.currency
    counted = earned = 0
    expires_at: datetime | None = None
    for award, hold in awards:
        points = award.points
        if award.currency == currency:
            earned += points
        if points <= 0:
            continue
        in_metric = qualifies and award.currency == currency
        lot_id = f"{action.id}#{award.rule}"
        if hold is None:
            if expires_at is None:
                expires_at = expiry_of(program, at, at)
            if in_metric:
                counted += points
            lot = Lot(lot_id, award.currency, points, points, at, expires_at, action.id, award.rule)
            book.credit(lot)
            continue
        counts_now = ladder is not None and ladder.count_pending
        if in_metric and counts_now:
            counted += points
        # Only a points metric counts held points at their release; an amount or a
        # count is the action's, counted once below.
        points_metric = ladder is not None and ladder.metric == "points_earned"
        credit = in_metric and not counts_now and points_metric
        release_at = hold.release_at(at, program.tz)
        lot = Lot(
            lot_id,
            award.currency,
            points,
            points,
            at,
            None,
            action.id,
            award.rule,
            pending=True,
            release_at=release_at,
            tier_credit=credit,
        )
        book.hold(lot)
    follow_up = pay_referral(program, book, ctx) if now.referred_by is not None else None
    badges = award_badges(program, book, ctx, earned) if program.badges else now.badges
    tickets: Mapping[str, int] = now.tickets
    ticket_counters: Sequence[CounterChange] = ()
    if plan.kind(kind).tickets:
        tickets, ticket_counters = award_tickets(program, book, ctx)
    last = at if now.last_activity is None else max(now.last_activity, at)
    refresh_expiry(program, book, last)
    if ladder is not None and qualifies:
        contribution = ladder.contribution(ctx, counted)
        _tiering.touch(program, book, at)
        _tiering.contribute(program, book, at, contribution)
        _tiering.qualify(program, book, at, action.id)
    seen = now.activity.get(kind)
    next_state = book.next_state(
        kinds=_with(now.kinds, kind, now.kinds.get(kind, 0) + 1),
        spent=now.spent if action.amount is None else now.spent + action.amount,
        first_seen=at if now.first_seen is None else min(now.first_seen, at),
        last_activity=last,
        activity=now.activity if seen is not None and seen >= at else _with(now.activity, kind, at),
        usage=limits.usage.frozen(),
        last_earned=earned if earned > 0 else now.last_earned,
        badges=badges,
        tickets=tickets,
        referral_rewarded=now.referral_rewarded or follow_up is not None,
    )
    outcome = book.outcome(currency, tuple(a for a, _ in awards))
    counters = (*limits.changes(), *ticket_counters)
    follow_ups = () if follow_up is None else (follow_up,)
    scores: tuple[ScoreChange, ...] = ()
    if program.leaderboards:
        awarded = sum(1 for event in book.events if isinstance(event, BadgeAwarded))
        scores = _scores(program, ctx, earned, awarded)
    return Evaluation(next_state, outcome, counters, follow_ups=follow_ups, scores=scores)


def _scores(
    program: Program, ctx: Context, points: int, badges: int, sign: int = 1
) -> tuple[ScoreChange, ...]:
    changes = (board.change(ctx, points, badges) for board in program.leaderboards)
    return tuple(change for change in changes if change is not None)


# ---------------------------------------------------------------- redeeming


def redeem(
    program: Program,
    state: MemberState,
    reward_id: str,
    *,
    request_id: str,
    at: datetime,
    stock_used: int = 0,
) -> Evaluation:
    """Spend a reward's cost from ``state``, earliest-expiring points first."""
    item = program.reward(reward_id)
    at = utc(at)
    book = Book(state, at, request_id)
    advance_book(program, book, at)
    item.check_available(at, stock_used)
    ladder = program.tiers
    if item.min_tier is not None and ladder is not None:
        held = book.tier.level if book.tier else None
        if ladder.rank(held) < ladder.rank(item.min_tier):
            title = ladder.get(item.min_tier).title
            raise RewardUnavailable(item.id, f"only for members at {title} level or above")
    balance = book.spendable(item.currency)
    if balance < item.cost:
        raise InsufficientPoints(state.id, item.id, balance, item.cost, item.currency)
    book.take(item.currency, item.cost)
    book.write(EntryKind.REDEEM, item.currency, -item.cost, item.id)
    book.events.append(RewardRedeemed(state.id, at, request_id, item.id, item.currency, item.cost))
    last = at if state.last_activity is None else max(state.last_activity, at)
    refresh_expiry(program, book, last)
    counters = () if item.stock is None else (CounterChange(item.stock_key, 1, item.stock),)
    return Evaluation(book.next_state(last_activity=last), book.outcome(program.currency), counters)


# ---------------------------------------------------------------- confirming


def confirm(program: Program, state: MemberState, action_id: str, *, at: datetime) -> Evaluation:
    """Release now every held lot of a recorded action (the returns window is over)."""
    at = utc(at)
    book = Book(state, at, action_id)
    advance_book(program, book, at)
    for i, lot in enumerate(book.lots):
        if lot.pending and lot.action == action_id:
            if at < lot.earned_at:  # released before it was earned: the ledger would lie
                raise InvalidAction(
                    "at", at, f"is before action {action_id!r} was recorded ({lot.earned_at})"
                )
            release(program, book, i, at, action_id)
    return Evaluation(book.next_state(), book.outcome(program.currency))


# ---------------------------------------------------------------- reversing


def _refund(
    action: Action, previous: Reversal | None, amount: object
) -> tuple[Decimal | None, bool]:
    """The cumulative refunded amount after this reversal, and whether it is complete."""
    if amount is None:
        return action.amount, True
    if action.amount is None:
        raise InvalidAction(
            "amount",
            amount,
            f"cannot be refunded: action {action.id!r} has no amount; "
            "reverse it in full (amount=None)",
        )
    value = money(amount, "amount")
    already = previous.refunded if previous and previous.refunded is not None else Decimal(0)
    left = action.amount - already
    if value <= 0:
        raise InvalidAction("amount", amount, "must be greater than 0")
    if value > left:
        raise InvalidAction("amount", amount, f"exceeds the {left} left to refund of {action.id!r}")
    return already + value, already + value == action.amount


def reverse(
    program: Program,
    state: MemberState,
    action: Action,
    awards: Sequence[Award],
    *,
    request_id: str,
    at: datetime,
    amount: object = None,
    tickets: Mapping[str, int] | None = None,
    bonuses: Sequence[Award] = (),
    holds: Mapping[str, datetime | None] | None = None,
    confirmed: Mapping[str, datetime] | None = None,
) -> Evaluation:
    """Take back what ``action`` earned (``awards``, the referral ``bonuses`` it paid
    this member, and ``tickets`` per raffle), in full or in proportion to ``amount``
    refunded.  Each award's share comes from its own lot first: held points are
    cancelled; points no longer in the balance become a debt.  Tickets are taken back
    while their raffle is open.  Bonuses count toward neither tier metrics nor
    leaderboards, so taking them back changes neither.

    ``holds``: the rules whose awards the action held, each with the instant its hold
    was to end (``None``: until confirmed), as the action's outcome said; held points
    count toward a tier from their release, so what a refund takes back of them leaves
    the metric's window then too.  ``confirmed``: when the host confirmed the award of
    a held rule whose lot is gone (spent since), as the ledger says (the caller reads
    it)."""
    if action.member != state.id:
        raise UnknownAction(action.id)
    previous = state.reversals.get(action.id)
    if previous is not None and previous.complete:
        raise InvalidAction("action", action.id, "is already fully reversed")
    refunded, complete = _refund(action, previous, amount)
    taken_before = dict(previous.taken) if previous else {}
    award_shares = _reversal.shares(awards, taken_before, refunded, action.amount, complete)
    bonus_shares = _reversal.shares(bonuses, taken_before, refunded, action.amount, complete)
    for bonus in bonuses:  # even at 0: says this reversal took its share of the bonus
        taken_before.setdefault(_reversal.taken_key(bonus), 0)
    at = utc(at)
    book = Book(state, at, request_id)
    advance_book(program, book, at)
    # When each award counted toward a tier: read before its lot is taken from.
    counted_from = {
        award.rule: _released_at(book, action, award.rule, holds, confirmed or {})
        if holds and award.rule in holds
        else utc(action.at)
        for award, _ in award_shares
    }
    # An outcome has one award per rule and currency, which names its lot.
    cancelled = _reversal.take_back_shares(book, action.id, award_shares)
    _reversal.take_back_shares(book, action.id, bonus_shares)
    owed = sum(points for award, points in award_shares if award.currency == program.currency)
    newly_refunded = (refunded or 0) - ((previous.refunded or 0) if previous else 0)
    ladder = program.tiers
    if ladder is not None and ladder.qualifying(
        Context.of(action, book.next_state(), program.tz, program.all_segments)
    ):
        # Undo what the action added to the metric, dated like it, so that it leaves a
        # rolling window together with the contribution it cancels.
        removed: dict[datetime, Decimal] = {}
        if ladder.metric == "points_earned":
            for award, points in award_shares:
                if award.currency != program.currency:
                    continue
                if ladder.count_pending:  # counted when awarded, held or not
                    counted, dated = points, utc(action.at)
                else:  # a held lot's points counted from its release, or never
                    counted = points - cancelled[award.rule, award.currency]
                    dated = counted_from[award.rule]
                removed[dated] = removed.get(dated, Decimal(0)) + counted
        elif ladder.metric == "amount_spent":
            removed[utc(action.at)] = Decimal(newly_refunded)
        else:
            removed[utc(action.at)] = Decimal(1 if complete else 0)
        for dated, value in sorted(removed.items()):
            _tiering.contribute(program, book, at, -value, dated=dated)
    held, ticket_counters = _take_back_tickets(
        program, book, action, tickets or {}, taken_before, refunded, complete
    )
    reversals = dict(state.reversals)
    reversals[action.id] = Reversal(refunded=refunded, taken=taken_before, complete=complete)
    spent = state.spent
    if action.amount is not None:
        spent = max(state.spent - newly_refunded, Decimal(0))
    scores = _reversal_scores(
        program,
        action,
        book.next_state(),
        owed,
        Decimal(newly_refunded),
        complete,
    )
    return Evaluation(
        book.next_state(reversals=reversals, spent=spent, tickets=held),
        book.outcome(program.currency),
        ticket_counters,
        scores=scores,
    )


def _released_at(
    book: Book,
    action: Action,
    rule: str,
    holds: Mapping[str, datetime | None],
    confirmed: Mapping[str, datetime],
) -> datetime:
    """When the award ``rule`` held for ``action`` was released (and so counted toward a
    tier): its lot's ``earned_at`` once released, or else (its lot spent since) when the
    host confirmed it, or else when its hold was to end.  The action's own instant when
    none of these tells (still held: nothing of it counted yet)."""
    for lot in book.lots:
        if lot.action == action.id and lot.rule == rule and not lot.pending:
            return lot.earned_at
    if rule in confirmed:
        return utc(confirmed[rule])
    end = holds.get(rule)
    return utc(end) if end is not None and utc(end) <= book.at else utc(action.at)


def _take_back_tickets(
    program: Program,
    book: Book,
    action: Action,
    earned: Mapping[str, int],
    taken: dict[str, int],
    refunded: Decimal | None,
    complete: bool,
) -> tuple[Mapping[str, int], tuple[CounterChange, ...]]:
    """The tickets the member holds once a refund has taken back (cumulatively, like
    points: ``taken`` is updated) what the action earned of each raffle still open."""
    held = dict(book.state.tickets)
    counters = []
    for raffle_id, count in sorted(earned.items()):
        raffle = next((r for r in program.raffles if r.id == raffle_id), None)
        if raffle is None or not raffle.is_open(book.at):
            continue  # gone, or closed: the tickets were in the draw
        key = f"tickets:{raffle_id}"
        if complete or action.amount is None or refunded is None:
            target = count
        else:
            target = floor(count * refunded / action.amount)
        delta = min(target - taken.get(key, 0), held.get(raffle_id, 0))
        if delta <= 0:
            continue
        taken[key] = taken.get(key, 0) + delta
        held[raffle_id] -= delta
        counters.append(CounterChange(tickets_key(raffle_id), -delta))
        book.events.append(
            TicketsTakenBack(book.state.id, book.at, book.cause, raffle_id, action.id, delta)
        )
    return (held if counters else book.state.tickets), tuple(counters)


def _reversal_scores(
    program: Program,
    action: Action,
    state: MemberState,
    points: int,
    refunded: Decimal,
    complete: bool,
) -> tuple[ScoreChange, ...]:
    """Leaderboards lose what a refund takes back, in the original action's period."""
    changes = []
    for board in program.leaderboards:
        if board.metric == "badges" or (board.metric == "actions" and not complete):
            continue
        refund = attrs.evolve(action, amount=refunded) if action.amount is not None else action
        ctx = Context.of(refund, state, program.tz, program.all_segments)
        change = board.change(ctx, points, 0, sign=-1)
        if change is not None:
            changes.append(change)
    return tuple(changes)
