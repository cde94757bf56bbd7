"""Reading a member's ledger for the invariants: awards at the instant they were earned,
and entries and lots as lines a person can read."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, tzinfo

import attrs

from ..model import Entry, EntryKind, Lot
from ..time import Period, period_key

__all__ = ["Earning", "describe_entry", "describe_lot", "earnings", "entry_lines", "period_of"]


@attrs.frozen
class Earning:
    """Points awarded by one rule (or badge bonus, or referral) to one action, at the
    instant it happened, whether spendable at once or held."""

    at: datetime
    rule: str
    currency: str
    points: int
    cause: str
    held: bool = False
    entry: Entry | None = attrs.field(default=None, eq=False, repr=False)


def earnings(entries: Iterable[Entry]) -> list[Earning]:
    """Every award in a member's ledger, at the instant it was earned.

    An ``earn`` entry that releases held points is not a new award (the ``pending``
    entry that held them was); a ``pending`` entry's points are read from how much its
    currency's held points grew."""
    held: dict[str, int] = {}
    found: list[Earning] = []
    for entry in entries:
        before = held.get(entry.currency, 0)
        held[entry.currency] = entry.pending
        if entry.kind == EntryKind.PENDING and entry.pending > before:
            points, pending = entry.pending - before, True
        elif entry.kind == EntryKind.EARN and entry.pending == before and entry.points > 0:
            points, pending = entry.points, False
        else:
            continue
        found.append(
            Earning(entry.at, entry.reason, entry.currency, points, entry.cause, pending, entry)
        )
    return found


def period_of(at: datetime, tz: tzinfo, per: str) -> str:
    """The key of the ``per`` period (or ``"lifetime"``) holding ``at`` in zone ``tz``."""
    if per == "lifetime":
        return "lifetime"
    period: Period = per  # type: ignore[assignment]
    return period_key(at.astimezone(tz), period)


def _instant(instant: datetime | None, tz: tzinfo | None, none: str) -> str:
    if instant is None:
        return none
    return (instant if tz is None else instant.astimezone(tz)).isoformat()


def describe_lot(lot: Lot, tz: tzinfo | None = None) -> str:
    """``a0#base: 5/12 points, earned ..., expires ...`` (``tz``: the zone to show in)."""
    held = f", held until {_instant(lot.release_at, tz, 'confirmed')}" if lot.pending else ""
    return (
        f"{lot.id}: {lot.remaining}/{lot.points} {lot.currency}, earned "
        f"{_instant(lot.earned_at, tz, '-')}, expires {_instant(lot.expires_at, tz, 'never')}"
        f"{held}"
    )


def describe_entry(entry: Entry, tz: tzinfo | None = None) -> str:
    """One ledger line, readable: ``#3 2026-03-07T09:30:00+01:00 earn +12 points
    reason=base cause=a0 balance=62`` (``tz``: the zone to show the instant in)."""
    points = f"{entry.points:+d}" if entry.points else "0"
    return (
        f"#{entry.seq} {_instant(entry.at, tz, '-')} {entry.kind.value} {points} "
        f"{entry.currency} reason={entry.reason} cause={entry.cause} balance={entry.balance}"
    )


def entry_lines(tz: tzinfo | None, entries: Iterable[Entry | None]) -> list[str]:
    """Entries as readable lines, their instants in zone ``tz``."""
    return [describe_entry(entry, tz) for entry in entries if entry is not None]
