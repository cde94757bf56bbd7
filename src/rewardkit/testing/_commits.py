"""Commits built by hand from model objects, for the store contract suite (no programme)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import attrs

from .. import _codec
from ..model import (
    Action,
    Award,
    CapUsage,
    CounterChange,
    Entry,
    EntryKind,
    Lot,
    Outcome,
    PointsEarned,
    Reversal,
)
from ..storage.base import Commit, Receipt, Snapshot

__all__ = ["AT", "STOCK", "TICKETS", "make_commit"]

AT = datetime(2026, 3, 7, 9, 30, tzinfo=timezone(timedelta(hours=2)))
STOCK = "reward-stock:free-coffee"
TICKETS = "raffle-tickets:summer"


def make_commit(
    snapshot: Snapshot,
    request_id: str,
    points: int = 10,
    *,
    operation: str = "record",
    at: datetime = AT,
    counters: Iterable[CounterChange] = (),
) -> Commit:
    """The commit that recording a purchase worth ``points`` makes on top of ``snapshot``."""
    state = snapshot.state
    member, seq = state.id, state.entries
    balance = state.balance() + points
    lot = Lot(
        id=f"{request_id}/base",
        currency="points",
        points=points,
        remaining=points,
        earned_at=at,
        expires_at=at + timedelta(days=365),
        action=request_id,
        rule="base",
    )
    new_state = attrs.evolve(
        state,
        lots=(*state.lots, lot),
        entries=seq + 1,
        kinds={**state.kinds, "purchase": state.kinds.get("purchase", 0) + 1},
        spent=state.spent + Decimal("12.50"),
        first_seen=state.first_seen or at,
        last_activity=at,
        usage={"base": (CapUsage("2026-03", points=points, awards=1),)},
        reversals={"old-order": Reversal(Decimal("2.5"), {"base|points": 3})},
    )
    entry = Entry(member, seq, at, EntryKind.EARN, "points", points, balance, 0, request_id, "base")
    action = Action(
        id=request_id,
        member=member,
        kind="purchase",
        at=at,
        amount=Decimal("12.50"),
        attributes={"category": "pastry", "price": Decimal("2.50"), "tags": ("new", Decimal(1))},
    )
    event = PointsEarned(member, at.astimezone(UTC), request_id, "base", "points", points)
    outcome = Outcome(
        member=member,
        points=points,
        balance=balance,
        changes={"points": points},
        events=(event,),
        entries=(entry,),
        awards=(Award("base", "points", points, "1 point per 1.00 on purchase"),),
    )
    receipt = Receipt(operation, request_id, member, _codec.to_data(action), outcome)
    return Commit(member, snapshot.version, new_state, (entry,), receipt, tuple(counters))
