"""The ledger book: the one place that changes lots, debts and balances for a call,
writing a ledger entry and a domain event for every change."""

from __future__ import annotations

import bisect
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from types import MappingProxyType
from typing import Any

import attrs

from ._metric_totals import Totals, running_totals
from ._values import freeze
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
from .model import (
    Award,
    Entry,
    EntryKind,
    Lot,
    MemberState,
    Outcome,
    TierStatus,
    lot_sums,
    replace_state,
)

__all__ = ["TIME", "Book", "spend_order"]

TIME = "time"  # the cause of what time alone does: expiry, releases, tier reviews


def spend_order(lot: Lot) -> tuple[bool, datetime, datetime, str]:
    """Lots are spent earliest-expiry first; lots that never expire come last."""
    expires = lot.expires_at if lot.expires_at is not None else lot.earned_at
    return (lot.expires_at is None, expires, lot.earned_at, lot.id)


# The member-state fields that are mappings: frozen (and sorted) before a state is built.
_MAPPINGS = frozenset({"debts", "kinds", "usage", "reversals", "activity", "badges", "tickets"})


# Outcomes' ``changes`` of one currency, shared: a store keeps an outcome per request,
# and most carry a mapping like {"points": 12} that many others carry too.
_CHANGES: dict[tuple[tuple[str, int], ...], Mapping[str, int]] = {}


def _shared(changes: dict[str, int]) -> Mapping[str, int]:
    key = tuple(changes.items())
    found = _CHANGES.get(key)
    if found is None:
        if len(_CHANGES) >= 4096:
            _CHANGES.clear()
        found = _CHANGES[key] = MappingProxyType(changes)
    return found


class Book:
    """Accumulates one call's ledger entries with running balances, debts and pending.

    ``lots`` changes only through the book's methods (:meth:`put`, :meth:`credit`...),
    which keep the running totals and know whether the state's lots, already in
    spending order, can be kept as they are (only new lots to slot in)."""

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
        self.metric_sorted = state._canonical  # contributions in time order (as pruned)
        # The metric's running totals (None: not known yet; see metric_totals()).
        self.totals: Totals | None = state._metric_totals if self.metric_sorted else None
        self.tier_activity = state.tier_activity
        self._fresh = len(self.lots)  # lots from this index on were added by this call
        self._moved = False  # an existing lot changed
        self._reordered = False  # ... and its place in spending order with it
        self._emptied = 0  # the state's lots a change left with no points (less refilled)
        # (currency, pending) -> points: the state's own when it carries them (a state the
        # engine made does), else summed over the lots when first asked.
        known = state._sums
        self._sums: dict[tuple[str, bool], int] | None = None if known is None else dict(known)
        self._latest: datetime | None = None  # the latest earned_at a put() brought in

    # ------------------------------------------------------------ reading

    def metric_totals(self) -> Totals | None:
        """The metric's running totals, made now if not known (``None``: the metric is
        not in time order, or too short to keep them, or a total would be rounded)."""
        if self.totals is None and self.metric_sorted:
            self.totals = running_totals(self.metric)
        return self.totals

    @property
    def untouched(self) -> bool:
        """Nothing has changed the state's lots, debts or tier yet."""
        return (
            not self.entries
            and not self._moved
            and len(self.lots) == self._fresh
            and self.tier is self.state.tier
        )

    def _totals(self) -> dict[tuple[str, bool], int]:
        sums = self._sums
        if sums is None:
            sums = self._sums = lot_sums(self.lots)
        return sums

    def balance(self, currency: str) -> int:
        return self._totals().get((currency, False), 0)

    def spendable(self, currency: str) -> int:
        """What can be spent at the book's instant: the balance less any lots earned
        after it (a call dated before later actions cannot spend what they earned)."""
        at = self.at
        return sum(
            lot.remaining for lot in self.lots if lot.currency == currency and lot.usable_at(at)
        )

    def pending(self, currency: str) -> int:
        return self._totals().get((currency, True), 0)

    # ------------------------------------------------------------ lots

    def _count(self, lot: Lot, sign: int) -> None:
        if self._sums is not None and lot.remaining:
            key = (lot.currency, lot.pending)
            self._sums[key] = self._sums.get(key, 0) + sign * lot.remaining

    def put(self, index: int, lot: Lot) -> None:
        """Replace the lot at ``index`` (its remaining points, status or expiry)."""
        if self._latest is None or lot.earned_at > self._latest:
            self._latest = lot.earned_at  # a release moves earned_at to its own instant
        before = self.lots[index]
        self._count(before, -1)
        self.lots[index] = lot
        self._count(lot, 1)
        if index < self._fresh:
            self._moved = True
            self._emptied += (before.remaining > 0) - (lot.remaining > 0)
            if not self._reordered and (
                lot.expires_at != before.expires_at or lot.earned_at != before.earned_at
            ):
                self._reordered = True  # (spend_order's other parts never change)

    def in_spend_order(self, among: Sequence[int] | None = None) -> Sequence[int]:
        """The indices of the lots (of those ``among``, given in ascending order) in
        spending order: as they are while the list is known to be in that order (the
        state's lots were, and no change moved one or added one)."""
        indices = range(len(self.lots)) if among is None else among
        if self.state._canonical and not self._reordered and len(self.lots) == self._fresh:
            return indices
        lots = self.lots
        return sorted(indices, key=lambda i: spend_order(lots[i]))

    def add(self, lot: Lot) -> None:
        self.lots.append(lot)
        self._count(lot, 1)

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
        sums = self._totals()
        self.entries.append(
            Entry(
                self.state.id,
                self.state.entries + len(self.entries),
                self.at if at is None else at,
                kind,
                currency,
                points,
                sums.get((currency, False), 0),
                self.debts.get(currency, 0),
                self.cause if cause is None else cause,
                reason,
                sums.get((currency, True), 0),
            )
        )

    def _settle(self, index: int, at: datetime, cause: str) -> None:
        """Let a newly spendable lot pay off the currency's debt first."""
        lot = self.lots[index]
        debt = self.debts.get(lot.currency, 0)
        if not debt:
            return
        settled = min(debt, lot.remaining)
        if not settled:
            return
        self.put(index, attrs.evolve(lot, remaining=lot.remaining - settled))
        self.debts[lot.currency] = debt - settled
        self.write(EntryKind.SETTLE, lot.currency, -settled, "debt", at=at, cause=cause)
        self.events.append(
            DebtSettled(self.state.id, at, cause, lot.currency, settled, debt - settled)
        )

    def credit(self, lot: Lot) -> None:
        """A lot earned now becomes spendable (after paying any debt)."""
        # The hot path of every earning call: add() and write() done inline.
        sums = self._totals()  # before the lot joins: the totals then count it below
        self.lots.append(lot)
        currency, points = lot.currency, lot.points
        key = (currency, lot.pending)
        sums[key] = sums.get(key, 0) + lot.remaining
        state = self.state
        self.entries.append(
            Entry(
                state.id,
                state.entries + len(self.entries),
                self.at,
                EntryKind.EARN,
                currency,
                points,
                sums.get((currency, False), 0),
                self.debts.get(currency, 0),
                self.cause,
                lot.rule,
                sums.get((currency, True), 0),
            )
        )
        self.events.append(PointsEarned(state.id, self.at, self.cause, lot.rule, currency, points))
        if self.debts:
            self._settle(len(self.lots) - 1, self.at, self.cause)

    def hold(self, lot: Lot) -> None:
        """A lot earned now is held (pending) until its release."""
        self.add(lot)
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
        # Released points are earned now: their expiry counts from now (``expires_at``),
        # and so must any later refresh of it by activity, which counts from earned_at.
        released = attrs.evolve(
            lot, pending=False, release_at=None, expires_at=expires_at, earned_at=at
        )
        self.put(index, released)
        self.write(EntryKind.EARN, lot.currency, lot.remaining, lot.rule, at=at, cause=cause)
        self.events.append(
            PointsReleased(self.state.id, at, cause, lot.id, lot.currency, lot.remaining)
        )
        self._settle(index, at, cause)

    def expire(self, index: int, at: datetime) -> None:
        """What is left of a lot expires at ``at``."""
        lot = self.lots[index]
        self.put(index, attrs.evolve(lot, remaining=0))
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
            if prefer is not None and prefer(lot):  # its own: even when dated after the call
                return lot.usable_at(max(self.at, lot.earned_at))
            return lot.usable_at(self.at)

        order = [i for i, lot in enumerate(self.lots) if eligible(lot)]
        order.sort(
            key=lambda i: (prefer is None or not prefer(self.lots[i]), spend_order(self.lots[i]))
        )
        return self._consume(order, points)

    def take_from(self, indices: Sequence[int], points: int) -> tuple[int, int]:
        """Consume up to ``points`` from the lots at ``indices`` only, in that order (held
        ones included, which cancels them; spendable ones even when dated after the
        call).  Returns the points taken from spendable lots and from pending lots."""
        usable = [
            i
            for i in indices
            if self.lots[i].remaining > 0
            and (
                self.lots[i].pending or self.lots[i].usable_at(max(self.at, self.lots[i].earned_at))
            )
        ]
        return self._consume(usable, points)

    def _consume(self, order: Sequence[int], points: int) -> tuple[int, int]:
        spendable = pending = 0
        for i in order:
            wanted = points - spendable - pending
            if wanted <= 0:
                break
            lot = self.lots[i]
            used = min(lot.remaining, wanted)
            self.put(i, attrs.evolve(lot, remaining=lot.remaining - used))
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

    def outcome(self, default_currency: str, awards: tuple[Award, ...] = ()) -> Outcome:
        """The call's outcome: ``points`` counts only entries the request itself made."""
        changes: dict[str, int] = {}
        own = expired = pending = 0
        timed = self.cause != TIME
        for entry in self.entries:
            changes[entry.currency] = changes.get(entry.currency, 0) + entry.points
            if entry.currency != default_currency:
                continue
            if timed and entry.cause == TIME:
                if entry.kind == EntryKind.EXPIRE:
                    expired -= entry.points
            else:
                own += entry.points
        for event in self.events:
            if type(event) is PointsHeld and event.currency == default_currency:
                pending += event.points
        moved = {c: p for c, p in changes.items() if p}
        return Outcome(
            member=self.state.id,
            points=own,
            balance=self.balance(default_currency),
            changes=_shared(moved) if len(moved) < 2 else freeze(moved),
            events=tuple(self.events),
            entries=tuple(self.entries),
            awards=awards,
            pending=pending,
            expired=expired,
        )

    def _ordered_lots(self) -> tuple[tuple[Lot, ...], list[Lot] | None]:
        """The lots to keep, in spending order, and the new ones among them when the
        state's lots were kept as they are.  When the state's lots are known to be in
        order and no change moved one (spending and expiring do not), the new ones are
        slotted in; else all are sorted again."""
        state = self.state
        if self._reordered or not state._canonical:
            kept = (lot for lot in self.lots if lot.remaining > 0)
            return tuple(sorted(kept, key=spend_order)), None
        fresh = [lot for lot in self.lots[self._fresh :] if lot.remaining > 0]
        # Changed in place only (spent, expired): still in order.
        lots = self._kept() if self._moved else state.lots
        known = None if self._moved else fresh  # the state's lots kept as they are
        if not fresh:
            return lots, known
        if len(fresh) > 1:
            fresh.sort(key=spend_order)
        if not lots or spend_order(lots[-1]) <= spend_order(fresh[0]):
            return lots + tuple(fresh), known  # the usual case: new points expire last
        merged = list(lots)
        for lot in fresh:  # after equal keys, in order: what a stable sort gives
            bisect.insort_right(merged, lot, key=spend_order)
        return tuple(merged), known

    def _kept(self) -> tuple[Lot, ...]:
        """The state's lots with points left, in their order (all had points).  Those
        emptied are mostly the first ones (spending and expiry take the earliest-expiring
        lots): then the rest is one slice."""
        lots, emptied, first = self.lots, self._emptied, 0
        while first < emptied and lots[first].remaining <= 0:
            first += 1
        if first == emptied:
            return tuple(lots[first : self._fresh])
        return tuple(lot for lot in lots[: self._fresh] if lot.remaining > 0)

    def _next_due(self, fresh: list[Lot] | None) -> Any:
        """The new state's next_due(), when it follows from the old one's (``...``:
        left for the new state to work out)."""
        state = self.state
        due = state._due
        if fresh is None or due is ... or self.tier is not state.tier:
            return ...
        for lot in fresh:
            for instant in (lot.expires_at, lot.release_at):
                if instant is not None and (due is None or instant < due):
                    due = instant
        return due

    def _newest(self) -> Any:
        """No lot of the next state was earned after this (an upper bound: spending
        only lowers the true value), when the state's own bound is known."""
        newest = self.state._newest
        if newest is ...:
            return ...
        if self._latest is not None and (newest is None or self._latest > newest):
            newest = self._latest
        for lot in self.lots[self._fresh :]:
            if newest is None or lot.earned_at > newest:
                newest = lot.earned_at
        return newest

    def next_state(self, **changes: object) -> MemberState:
        lots, fresh = self._ordered_lots()
        fields: dict[str, Any] = {
            "lots": lots,
            "debts": self.state.debts
            if not self.debts and not self.state.debts
            else freeze({c: d for c, d in self.debts.items() if d}),
            "entries": self.state.entries + len(self.entries),
            "tier": self.tier,
            "metric": tuple(self.metric),
            "tier_activity": self.tier_activity,
            "canonical": self.metric_sorted,
            "metric_totals": self.totals if self.metric_sorted else None,
            "due": self._next_due(fresh),
            "sums": None if self._sums is None else dict(self._sums),
            "newest": self._newest(),
        }
        for name, value in changes.items():
            if name in _MAPPINGS and type(value) is not MappingProxyType:
                # A read-only mapping is the engine's own, already sorted (frozen()).
                value = freeze(value)  # type: ignore[arg-type]
            elif name == "metric" or name == "lots":
                value = tuple(value)  # type: ignore[arg-type]
            fields[name] = value
        if "lots" in changes or "metric" in changes:
            fields["canonical"] = False
            fields["metric_totals"] = None
        if "lots" in changes or "tier" in changes:
            fields["due"] = ...
        if "lots" in changes:
            fields["sums"] = None
            fields["newest"] = ...
        return replace_state(self.state, **fields)
