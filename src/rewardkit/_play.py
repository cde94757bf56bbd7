"""What an action does beyond points: badges, raffle tickets, referral payouts."""

from __future__ import annotations

from datetime import datetime

import attrs

from ._book import Book
from .context import Context
from .events import BadgeAwarded, ReferralRewarded, TicketsEarned
from .model import BadgeState, CounterChange, EntryKind, Lot
from .program import Program

__all__ = [
    "FollowUp",
    "award_badges",
    "award_tickets",
    "credit",
    "pay_referral",
    "payout_id",
    "tickets_key",
]


@attrs.frozen
class FollowUp:
    """Work a commit leaves for another member: a referrer's bonus, paid by the facade
    as its own idempotent call (id ``referral:<rule>:<referred>``)."""

    member: str
    rule: str
    referred: str
    points: int
    currency: str
    at: datetime

    @property
    def request_id(self) -> str:
        return payout_id(self.rule, self.referred)


def payout_id(rule: str, referred: str) -> str:
    """The id of the call that pays a referrer for ``referred`` under ``rule``."""
    return f"referral:{rule}:{referred}"


def tickets_key(raffle_id: str) -> str:
    return f"raffle-tickets:{raffle_id}"


def credit(program: Program, book: Book, cause: str, rule: str, currency: str, points: int) -> None:
    """Spendable points that no earning rule computed (a badge bonus, a referral)."""
    at = book.at
    last = book.state.last_activity
    expires = program.expiry.expires_at(at, at if last is None else max(last, at), program.tz)
    lot = Lot(f"{cause}#{rule}", currency, points, points, at, expires, cause, rule)
    book.credit(lot)


def award_tickets(
    program: Program, book: Book, ctx: Context
) -> tuple[dict[str, int], list[CounterChange]]:
    """Tickets the action earns from ticket rules, within each raffle's window and
    per-member maximum."""
    held = dict(ctx.member.tickets)
    counters = []
    for rule in program.ticket_rules_for(ctx.action.kind):
        raffle = program.raffle(rule.raffle)
        if not raffle.is_open(book.at):
            continue
        count = rule.count(ctx)
        room = raffle.room(held.get(raffle.id, 0))
        if room is not None:
            count = min(count, room)
        if count > 0:
            held[raffle.id] = held.get(raffle.id, 0) + count
            book.events.append(
                TicketsEarned(book.state.id, book.at, book.cause, raffle.id, rule.id, count)
            )
            counters.append(CounterChange(tickets_key(raffle.id), count))
    return held, counters


_MAX_AWARDS = 1000  # a repeatable badge's awards for one action, at most


def award_badges(program: Program, book: Book, ctx: Context, points: int) -> dict[str, BadgeState]:
    """Fold the action into every badge's progress; award those now reached.

    A repeatable badge is awarded as many times as the action completes its criterion
    (250 points against "every 100 points" awards it twice), then its progress starts
    over from what is left; it is never awarded by an action that does not move it."""
    badges = dict(ctx.member.badges)
    for badge in program.badges:
        state = badges.get(badge.id, BadgeState())
        if state.awarded and not badge.repeatable:
            continue  # a one-off badge is awarded once, ever
        progress = badge.criterion.step(ctx, state.progress, points)
        awards = 0
        while badge.criterion.reached(progress) and awards < _MAX_AWARDS:
            awards += 1
            if not badge.repeatable:
                break
            progress, before = badge.criterion.reset(progress), progress
            if progress == before:
                break  # a reset that changes nothing would award the badge forever
        if not awards:
            if progress != state.progress:
                badges[badge.id] = attrs.evolve(state, progress=progress)
            continue
        times = state.awarded + awards
        badges[badge.id] = BadgeState(times, state.first_at or book.at, book.at, progress)
        for count in range(state.awarded + 1, times + 1):
            book.write(EntryKind.BADGE, badge.currency, 0, badge.id)
            book.events.append(
                BadgeAwarded(book.state.id, book.at, book.cause, badge.id, count, badge.bonus)
            )
        if badge.bonus:
            bonus = badge.bonus * awards
            credit(program, book, book.cause, f"badge:{badge.id}", badge.currency, bonus)
    return badges


def pay_referral(program: Program, book: Book, ctx: Context) -> FollowUp | None:
    """A referred member's first qualifying action pays them, and leaves the
    referrer's bonus as a follow-up."""
    member = ctx.member
    if member.referred_by is None or member.referral_rewarded:
        return None
    for rule in program.referral_rules_for(ctx.action.kind):
        if not rule.when(ctx):
            continue
        if rule.referred_points:
            credit(program, book, book.cause, rule.id, rule.currency, rule.referred_points)
        event = ReferralRewarded(
            member=book.state.id,
            at=book.at,
            cause=book.cause,
            rule=rule.id,
            referrer=member.referred_by,
            referred=member.id,
            role="referred",
            points=rule.referred_points,
        )
        book.events.append(event)
        return FollowUp(
            member=member.referred_by,
            rule=rule.id,
            referred=member.id,
            points=rule.referrer_points,
            currency=rule.currency,
            at=book.at,
        )
    return None
