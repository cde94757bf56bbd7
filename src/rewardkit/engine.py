"""The pure heart of rewardkit: state + request -> new state + outcome.

No I/O, no clock, no globals: the same inputs give the same result, byte for byte,
which is what makes replay, preview and property testing possible.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal

import attrs

from ._values import money
from .context import Context
from .errors import InsufficientPoints, InvalidAction
from .model import (
    Action,
    Award,
    CapUsage,
    CounterChange,
    DebtSettled,
    Entry,
    EntryKind,
    Event,
    Lot,
    MemberState,
    Outcome,
    PointsEarned,
    PointsReversed,
    Reversal,
    RewardRedeemed,
)
from .program import Program
from .rules import Cap, Multiplier
from .time import period_key

__all__ = ["Evaluation", "evaluate", "redeem", "reverse", "spend_order"]

_KEPT_PERIODS = 3  # cap usage kept per rule and period kind (older periods are dropped)


@attrs.frozen
class Evaluation:
    """A pure function's result: the member's next state, what happened, and the
    shared-counter changes the store must apply atomically with it."""

    state: MemberState
    outcome: Outcome
    counters: tuple[CounterChange, ...] = ()


def spend_order(lot: Lot) -> tuple[bool, datetime, datetime, str]:
    """Lots are spent earliest-expiry first; lots that never expire come last."""
    expires = lot.expires_at if lot.expires_at is not None else lot.earned_at
    return (lot.expires_at is None, expires, lot.earned_at, lot.id)


# ---------------------------------------------------------------- caps


class _Usage:
    """A working copy of a member's cap usage for one evaluation."""

    def __init__(self, usage: Mapping[str, tuple[CapUsage, ...]], local: datetime) -> None:
        self._usage = dict(usage)
        self._local = local

    def _current(self, rule: str, item: Cap) -> tuple[str, CapUsage]:
        key = f"{rule}@{item.per}"
        period = "lifetime" if item.per == "lifetime" else period_key(self._local, item.per)
        for usage in self._usage.get(key, ()):
            if usage.period == period:
                return key, usage
        return key, CapUsage(period)

    def room(self, rule: str, caps: Sequence[Cap]) -> int | None:
        """Points the rule may still award now (``None``: unlimited)."""
        room: int | None = None
        for item in caps:
            _, usage = self._current(rule, item)
            if item.awards is not None and usage.awards >= item.awards:
                return 0
            if item.points is not None:
                left = max(item.points - usage.points, 0)
                room = left if room is None else min(room, left)
        return room

    def record(self, rule: str, caps: Sequence[Cap], points: int) -> None:
        for item in caps:
            key, usage = self._current(rule, item)
            updated = CapUsage(usage.period, usage.points + points, usage.awards + 1)
            others = [u for u in self._usage.get(key, ()) if u.period != usage.period]
            kept = sorted([*others, updated], key=lambda u: u.period)[-_KEPT_PERIODS:]
            self._usage[key] = tuple(kept)

    def frozen(self) -> dict[str, tuple[CapUsage, ...]]:
        return self._usage


def _capped(usage: _Usage, rule: str, caps: Sequence[Cap], points: int) -> tuple[int, bool]:
    if not caps or points <= 0:
        return points, False
    room = usage.room(rule, caps)
    granted = points if room is None else min(points, room)
    if granted > 0:
        usage.record(rule, caps, granted)
    return granted, granted < points


# ---------------------------------------------------------------- the ledger book


class _Book:
    """Accumulates ledger entries with running balances and debts for one call."""

    def __init__(self, state: MemberState, at: datetime, cause: str) -> None:
        self.state = state
        self.at = at
        self.cause = cause
        self.lots = list(state.lots)
        self.debts = dict(state.debts)
        self.entries: list[Entry] = []
        self.events: list[Event] = []

    def balance(self, currency: str) -> int:
        return sum(lot.remaining for lot in self.lots if lot.currency == currency)

    def write(self, kind: EntryKind, currency: str, points: int, reason: str) -> None:
        self.entries.append(
            Entry(
                member=self.state.id,
                seq=self.state.entries + len(self.entries),
                at=self.at,
                kind=kind,
                currency=currency,
                points=points,
                balance=self.balance(currency),
                debt=self.debts.get(currency, 0),
                cause=self.cause,
                reason=reason,
            )
        )

    def earn(self, action: Action, award: Award, expires_at: datetime | None) -> None:
        currency, points = award.currency, award.points
        debt = self.debts.get(currency, 0)
        settled = min(debt, points)
        kept = points - settled
        lot = Lot(
            id=f"{action.id}#{award.rule}",
            currency=currency,
            points=points,
            remaining=points,
            earned_at=action.at,
            expires_at=expires_at,
            action=action.id,
            rule=award.rule,
        )
        self.lots.append(lot)
        self.write(EntryKind.EARN, currency, points, award.rule)
        self.events.append(
            PointsEarned(self.state.id, self.at, self.cause, award.rule, currency, points)
        )
        if settled:
            self.lots[-1] = attrs.evolve(lot, remaining=kept)
            self.debts[currency] = debt - settled
            self.write(EntryKind.SETTLE, currency, -settled, "debt")
            self.events.append(
                DebtSettled(self.state.id, self.at, self.cause, currency, settled, debt - settled)
            )

    def take(self, currency: str, points: int, prefer: Callable[[Lot], bool] | None = None) -> int:
        """Consume up to ``points`` from usable lots, preferred lots first, then FIFO by
        expiry.  Returns how many points were taken."""
        usable = [
            i
            for i, lot in enumerate(self.lots)
            if lot.currency == currency and lot.usable_at(self.at)
        ]
        usable.sort(
            key=lambda i: (prefer is None or not prefer(self.lots[i]), spend_order(self.lots[i]))
        )
        taken = 0
        for i in usable:
            if taken == points:
                break
            lot = self.lots[i]
            used = min(lot.remaining, points - taken)
            self.lots[i] = attrs.evolve(lot, remaining=lot.remaining - used)
            taken += used
        return taken

    def outcome(self, default_currency: str) -> Outcome:
        changes: dict[str, int] = {}
        for entry in self.entries:
            changes[entry.currency] = changes.get(entry.currency, 0) + entry.points
        return Outcome(
            member=self.state.id,
            points=changes.get(default_currency, 0),
            balance=self.balance(default_currency),
            changes={c: p for c, p in changes.items() if p},
            events=tuple(self.events),
            entries=tuple(self.entries),
        )

    def next_state(self, **changes: object) -> MemberState:
        lots = tuple(sorted((lot for lot in self.lots if lot.remaining > 0), key=spend_order))
        debts = {c: d for c, d in self.debts.items() if d}
        return attrs.evolve(
            self.state,
            lots=lots,
            debts=debts,
            entries=self.state.entries + len(self.entries),
            **changes,  # type: ignore[arg-type]
        )


# ---------------------------------------------------------------- earning


def _floor(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_FLOOR))


def _explain(rule: object) -> str:
    text = repr(rule)
    return text[1:-1] if text.startswith("<") and text.endswith(">") else text


def _base_awards(program: Program, ctx: Context, usage: _Usage) -> list[Award]:
    awards = []
    for rule in program.rules_for(ctx.action.kind):
        points, capped = _capped(usage, rule.id, rule.caps, rule.points(ctx))
        if points > 0 or capped:
            awards.append(Award(rule.id, rule.currency, points, _explain(rule), capped))
    return [a for a in awards if a.points > 0 or a.capped]


def _targets(multiplier: Multiplier, award: Award) -> bool:
    return multiplier.targets is None or award.rule in multiplier.targets


def _bonus_awards(
    program: Program, ctx: Context, usage: _Usage, base: Iterable[Award]
) -> list[Award]:
    """Bonuses so that each base award becomes floor(points x product of factors)."""
    base = [a for a in base if a.points > 0]
    factors = {a.rule: Decimal(1) for a in base}
    bonuses = []
    for mult in program.multipliers_for(ctx.action.kind):
        if not mult.applies(ctx):
            continue
        by_currency: dict[str, int] = {}
        for award in base:
            if not _targets(mult, award):
                continue
            before = factors[award.rule]
            factors[award.rule] = before * mult.factor
            extra = _floor(award.points * factors[award.rule]) - _floor(award.points * before)
            by_currency[award.currency] = by_currency.get(award.currency, 0) + extra
        for currency, extra in by_currency.items():
            granted, capped = _capped(usage, mult.id, mult.caps, extra)
            if granted > 0 or capped:
                bonuses.append(Award(mult.id, currency, granted, _explain(mult), capped))
    return bonuses


def evaluate(program: Program, state: MemberState, action: Action) -> Evaluation:
    """The points ``action`` earns ``state``'s member, and the member's next state."""
    if action.member != state.id:
        raise InvalidAction("member", action.member, f"does not match the state of {state.id!r}")
    ctx = Context.of(action, state, program.tz)
    usage = _Usage(state.usage, ctx.local)
    base = _base_awards(program, ctx, usage)
    awards = base + _bonus_awards(program, ctx, usage, base)
    book = _Book(state, action.at, action.id)
    for award in awards:
        if award.points > 0:
            book.earn(action, award, expires_at=None)
    kinds = dict(state.kinds)
    kinds[action.kind] = kinds.get(action.kind, 0) + 1
    spent = state.spent + (action.amount or 0)
    first_seen = action.at if state.first_seen is None else min(state.first_seen, action.at)
    last = action.at if state.last_activity is None else max(state.last_activity, action.at)
    next_state = book.next_state(
        kinds=kinds, spent=spent, first_seen=first_seen, last_activity=last, usage=usage.frozen()
    )
    outcome = attrs.evolve(book.outcome(program.currency), awards=tuple(awards))
    return Evaluation(next_state, outcome)


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
    item.check_available(at, stock_used)
    balance = state.balance(item.currency, at)
    if balance < item.cost:
        raise InsufficientPoints(state.id, item.id, balance, item.cost, item.currency)
    book = _Book(state, at, request_id)
    book.take(item.currency, item.cost)
    book.write(EntryKind.REDEEM, item.currency, -item.cost, item.id)
    book.events.append(RewardRedeemed(state.id, at, request_id, item.id, item.currency, item.cost))
    last = at if state.last_activity is None else max(state.last_activity, at)
    counters = () if item.stock is None else (CounterChange(item.stock_key, 1, item.stock),)
    return Evaluation(book.next_state(last_activity=last), book.outcome(program.currency), counters)


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
) -> Evaluation:
    """Take back what ``action`` earned (``awards``), in full or in proportion to
    ``amount`` refunded.  Points no longer in the balance become a debt."""
    previous = state.reversals.get(action.id)
    if previous is not None and previous.complete:
        raise InvalidAction("action", action.id, "is already fully reversed")
    refunded, complete = _refund(action, previous, amount)
    taken_before = dict(previous.taken) if previous else {}
    owed: dict[str, int] = {}
    for award in awards:
        key = f"{award.rule}|{award.currency}"
        if complete or action.amount is None or refunded is None:
            target = award.points
        else:
            target = _floor(award.points * refunded / action.amount)
        delta = target - taken_before.get(key, 0)
        if delta > 0:
            owed[award.currency] = owed.get(award.currency, 0) + delta
            taken_before[key] = target
    book = _Book(state, at, request_id)
    for currency, points in sorted(owed.items()):
        taken = book.take(currency, points, prefer=lambda lot: lot.action == action.id)
        debt = points - taken
        book.debts[currency] = book.debts.get(currency, 0) + debt
        book.write(EntryKind.REVERSE, currency, -taken, action.id)
        book.events.append(
            PointsReversed(state.id, at, request_id, action.id, currency, taken, debt)
        )
    reversals = dict(state.reversals)
    reversals[action.id] = Reversal(refunded=refunded, taken=taken_before, complete=complete)
    newly_refunded = (refunded or 0) - (previous.refunded or 0 if previous else 0)
    spent = (
        max(state.spent - newly_refunded, Decimal(0)) if action.amount is not None else state.spent
    )
    next_state = book.next_state(reversals=reversals, spent=spent)
    return Evaluation(next_state, book.outcome(program.currency))
