"""The ledger book: the one place that changes lots, debts and balances for a call,
writing a ledger entry and a domain event for every change."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import attrs

from .events import (
    DebtSettled,
    Event,
    PendingCancelled,
    PointsEarned,
    PointsExpired,
    PointsHeld,
    PointsReleased,
    TierChanged,
)
from .model import Entry, EntryKind, Lot, MemberState, Outcome, TierStatus

__all__ = ["TIME", "Book", "spend_order"]

TIME = "time"  # the cause of what time alone does: expiry, releases, tier reviews


def spend_order(lot: Lot) -> tuple[bool, datetime, datetime, str]:
    """Lots are spent earliest-expiry first; lots that never expire come last."""
    expires = lot.expires_at if lot.expires_at is not None else lot.earned_at
    return (lot.expires_at is None, expires, lot.earned_at, lot.id)


class Book:
    """Accumulates one call's ledger entries with running balances, debts and pending."""

    def __init__(self, state: MemberState, at: datetime, cause: str) -> None:
        self.state = state
        self.at = at
        self.cause = cause
        self.lots = list(state.lots)
        self.debts = dict(state.debts)
        self.entries: list[Entry] = []
        self.events: list[Event] = []
        self.tier = state.tier
        self.metric = list(state.metric)
        self.tier_activity = state.tier_activity

    # ------------------------------------------------------------ reading

    def balance(self, currency: str) -> int:
        return sum(
            lot.remaining for lot in self.lots if lot.currency == currency and not lot.pending
        )

    def pending(self, currency: str) -> int:
        return sum(lot.remaining for lot in self.lots if lot.currency == currency and lot.pending)

    # ------------------------------------------------------------ writing

    def write(
        self,
        kind: EntryKind,
        currency: str,
        points: int,
        reason: str,
        *,
        at: datetime | None = None,
        cause: str | None = None,
    ) -> None:
        self.entries.append(
            Entry(
                member=self.state.id,
                seq=self.state.entries + len(self.entries),
                at=self.at if at is None else at,
                kind=kind,
                currency=currency,
                points=points,
                balance=self.balance(currency),
                debt=self.debts.get(currency, 0),
                cause=self.cause if cause is None else cause,
                reason=reason,
                pending=self.pending(currency),
            )
        )

    def _settle(self, index: int, at: datetime, cause: str) -> None:
        """Let a newly spendable lot pay off the currency's debt first."""
        lot = self.lots[index]
        debt = self.debts.get(lot.currency, 0)
        settled = min(debt, lot.remaining)
        if not settled:
            return
        self.lots[index] = attrs.evolve(lot, remaining=lot.remaining - settled)
        self.debts[lot.currency] = debt - settled
        self.write(EntryKind.SETTLE, lot.currency, -settled, "debt", at=at, cause=cause)
        self.events.append(
            DebtSettled(self.state.id, at, cause, lot.currency, settled, debt - settled)
        )

    def credit(self, lot: Lot) -> None:
        """A lot earned now becomes spendable (after paying any debt)."""
        self.lots.append(lot)
        self.write(EntryKind.EARN, lot.currency, lot.points, lot.rule)
        self.events.append(
            PointsEarned(self.state.id, self.at, self.cause, lot.rule, lot.currency, lot.points)
        )
        self._settle(len(self.lots) - 1, self.at, self.cause)

    def hold(self, lot: Lot) -> None:
        """A lot earned now is held (pending) until its release."""
        self.lots.append(lot)
        self.write(EntryKind.PENDING, lot.currency, 0, lot.rule)
        self.events.append(
            PointsHeld(
                self.state.id,
                self.at,
                self.cause,
                lot.rule,
                lot.currency,
                lot.points,
                lot.release_at,
            )
        )

    def release(self, index: int, at: datetime, cause: str, expires_at: datetime | None) -> None:
        """A held lot becomes spendable at ``at``."""
        lot = self.lots[index]
        self.lots[index] = attrs.evolve(lot, pending=False, release_at=None, expires_at=expires_at)
        self.write(EntryKind.EARN, lot.currency, lot.remaining, lot.rule, at=at, cause=cause)
        self.events.append(
            PointsReleased(self.state.id, at, cause, lot.id, lot.currency, lot.remaining)
        )
        self._settle(index, at, cause)

    def expire(self, index: int, at: datetime) -> None:
        """What is left of a lot expires at ``at``."""
        lot = self.lots[index]
        self.lots[index] = attrs.evolve(lot, remaining=0)
        self.write(EntryKind.EXPIRE, lot.currency, -lot.remaining, lot.id, at=at, cause=TIME)
        self.events.append(
            PointsExpired(self.state.id, at, TIME, lot.id, lot.currency, lot.remaining)
        )

    def take(
        self, currency: str, points: int, prefer: Callable[[Lot], bool] | None = None
    ) -> tuple[int, int]:
        """Consume up to ``points``: preferred lots first (pending ones included, which
        cancels them), then spendable lots earliest-expiry first.  Returns the points
        taken from spendable lots and from pending lots."""

        def eligible(lot: Lot) -> bool:
            if lot.currency != currency or lot.remaining <= 0:
                return False
            if lot.pending:
                return prefer is not None and prefer(lot)
            return lot.usable_at(self.at)

        order = [i for i, lot in enumerate(self.lots) if eligible(lot)]
        order.sort(
            key=lambda i: (prefer is None or not prefer(self.lots[i]), spend_order(self.lots[i]))
        )
        spendable = pending = 0
        for i in order:
            wanted = points - spendable - pending
            if wanted <= 0:
                break
            lot = self.lots[i]
            used = min(lot.remaining, wanted)
            self.lots[i] = attrs.evolve(lot, remaining=lot.remaining - used)
            if lot.pending:
                pending += used
            else:
                spendable += used
        return spendable, pending

    def change_tier(
        self, status: TierStatus | None, at: datetime, cause: str, reason: str, currency: str
    ) -> None:
        """Move the member to another level (or none); ledger-visible, moves no points."""
        previous = self.tier.level if self.tier else None
        level = status.level if status else None
        self.tier = status
        if previous != level:
            self.write(
                EntryKind.TIER,
                currency,
                0,
                f"{previous or '-'} -> {level or '-'}",
                at=at,
                cause=cause,
            )
            self.events.append(TierChanged(self.state.id, at, cause, previous, level, reason))

    def cancelled(self, action: str, currency: str, points: int) -> None:
        self.events.append(
            PendingCancelled(self.state.id, self.at, self.cause, action, currency, points)
        )

    # ------------------------------------------------------------ results

    def outcome(self, default_currency: str) -> Outcome:
        """The call's outcome: ``points`` counts only entries the request itself made."""
        changes: dict[str, int] = {}
        own = expired = pending = 0
        for entry in self.entries:
            changes[entry.currency] = changes.get(entry.currency, 0) + entry.points
            if entry.currency != default_currency:
                continue
            if entry.cause == TIME and self.cause != TIME:
                if entry.kind == EntryKind.EXPIRE:
                    expired -= entry.points
            else:
                own += entry.points
        for event in self.events:
            if isinstance(event, PointsHeld) and event.currency == default_currency:
                pending += event.points
        return Outcome(
            member=self.state.id,
            points=own,
            balance=self.balance(default_currency),
            changes={c: p for c, p in changes.items() if p},
            events=tuple(self.events),
            entries=tuple(self.entries),
            pending=pending,
            expired=expired,
        )

    def next_state(self, **changes: object) -> MemberState:
        lots = tuple(sorted((lot for lot in self.lots if lot.remaining > 0), key=spend_order))
        debts = {c: d for c, d in self.debts.items() if d}
        fields: dict[str, object] = {
            "lots": lots,
            "debts": debts,
            "entries": self.state.entries + len(self.entries),
            "tier": self.tier,
            "metric": tuple(self.metric),
            "tier_activity": self.tier_activity,
        }
        fields.update(changes)
        return attrs.evolve(self.state, **fields)  # type: ignore[arg-type]
