"""What must hold of every member, whatever happened: checked from the state and ledger.

:func:`check_invariants` takes a programme, one member's state and that member's ledger
(oldest first) and raises :class:`InvariantViolation` naming the first invariant that
does not hold, with the offending values::

    state = rk.engine.advance(program, kit.store.load("ana").state, now).state
    check_invariants(program, state, kit.history("ana", at=now), at=now)

Only what truly must hold is checked: the ledger explains every balance, lots hold
exactly the balance, nothing expired is spendable, a tier is never missed or held past
its review, a one-off badge is awarded once, caps are never exceeded, and replayed
calls and spending orders behave (given the states around them).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, tzinfo
from typing import NoReturn

import attrs

from ..model import Entry, EntryKind, Lot, MemberState
from ..program import Program
from ._ledger import Earning, describe_entry, describe_lot, earnings, entry_lines, period_of

__all__ = [
    "Earning",
    "InvariantViolation",
    "check_earning_limit",
    "check_invariants",
    "check_spending_order",
    "describe_entry",
    "earnings",
]

_FAR = datetime.max.replace(tzinfo=UTC)


class InvariantViolation(AssertionError):
    """An invariant that does not hold: ``invariant`` names it, ``member`` says whose
    state broke it, ``details`` holds the offending values."""

    def __init__(self, invariant: str, member: str, message: str, **details: object) -> None:
        self.invariant = invariant
        self.member = member
        self.details = details
        lines = [f"{invariant}: member {member!r}: {message}"]
        lines += [f"  {name}: {_show(value)}" for name, value in details.items()]
        super().__init__("\n".join(lines))


def _show(value: object) -> str:
    if isinstance(value, Entry):
        return describe_entry(value)
    if isinstance(value, Lot):
        return describe_lot(value)
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, Lot) for v in value):
        return "".join(f"\n    {describe_lot(v)}" for v in value)
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, Entry) for v in value):
        return "".join(f"\n    {describe_entry(v)}" for v in value)
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return "".join(f"\n    {line}" for line in value)
    if isinstance(value, datetime):
        return value.isoformat()
    return repr(value)


def check_earning_limit(
    program: Program,
    entries: Sequence[Entry],
    limit: int,
    *,
    per: str = "day",
    currency: str | None = None,
    name: str | None = None,
) -> None:
    """No member earns more than ``limit`` points of ``currency`` (default: the
    programme's) in one ``per`` period (day, week, month, quarter, year, lifetime) of
    the programme's zone, counting every award: rules, multipliers, tier bonuses,
    badge bonuses, referrals, held points at the instant they were held."""
    wanted = currency or program.currency
    totals: dict[str, list[Earning]] = {}
    for earning in earnings(entries):
        if earning.currency == wanted:
            totals.setdefault(period_of(earning.at, program.tz, per), []).append(earning)
    for period, found in totals.items():
        total = sum(e.points for e in found)
        if total > limit:
            member = entries[0].member if entries else "?"
            raise InvariantViolation(
                name or f"max_points_per_{per}",
                member,
                f"earned {total} {wanted} in {per} {period}, more than {limit}",
                entries=entry_lines(program.tz, (e.entry for e in found)),
            )


# ---------------------------------------------------------------- the checks


def _fail(invariant: str, state: MemberState, message: str, **details: object) -> NoReturn:
    raise InvariantViolation(invariant, state.id, message, **details)


def _ledger(state: MemberState, entries: Sequence[Entry]) -> dict[str, Entry]:
    """Check the ledger's own arithmetic; the last entry of each currency."""
    running: dict[str, int] = {}
    last: dict[str, Entry] = {}
    for index, entry in enumerate(entries):
        if entry.member != state.id:
            _fail("ledger_is_the_members", state, "an entry of another member", entry=entry)
        if entry.seq != index:
            _fail(
                "ledger_is_append_only", state, f"entry #{index} has seq {entry.seq}", entry=entry
            )
        running[entry.currency] = running.get(entry.currency, 0) + entry.points
        if entry.balance != running[entry.currency]:
            _fail(
                "balance_is_ledger_sum",
                state,
                f"the signed sum of the {entry.currency} entries is "
                f"{running[entry.currency]}, the entry says balance {entry.balance}",
                entry=entry,
            )
        if entry.balance < 0 or entry.debt < 0 or entry.pending < 0:
            _fail(
                "balance_never_negative", state, "a negative balance, debt or pending", entry=entry
            )
        last[entry.currency] = entry
    if state.entries != len(entries):
        _fail(
            "ledger_is_complete",
            state,
            f"the state counts {state.entries} entries, the ledger holds {len(entries)}",
        )
    return last


def _lots(program: Program, state: MemberState) -> None:
    seen: set[tuple[str, str]] = set()
    for lot in state.lots:
        if (lot.id, lot.currency) in seen:
            _fail(
                "lot_ids_are_unique",
                state,
                f"two {lot.currency} lots are named {lot.id!r}",
                lots=state.lots,
            )
        seen.add((lot.id, lot.currency))
        if not 0 < lot.remaining <= lot.points:
            _fail("lots_are_well_formed", state, "remaining must be in 1..points", lot=lot)
        if lot.currency not in program.currencies:
            _fail("lots_are_well_formed", state, f"unknown currency {lot.currency!r}", lot=lot)


def _totals(state: MemberState, last: Mapping[str, Entry]) -> None:
    """Each currency's lots and debt, against the ledger's last entry in it."""
    for currency in sorted(set(last) | {lot.currency for lot in state.lots} | set(state.debts)):
        entry = last.get(currency)
        balance, held, owed = (entry.balance, entry.pending, entry.debt) if entry else (0, 0, 0)
        spendable = state.balance(currency)
        if spendable != balance:
            _fail(
                "lots_hold_the_balance",
                state,
                f"spendable {currency} lots hold {spendable}, the ledger balance is {balance}",
                last_entry=entry,
                lots=[lot for lot in state.lots if lot.currency == currency],
            )
        if state.pending(currency) != held:
            _fail(
                "held_lots_match_the_ledger",
                state,
                f"held {currency} lots hold {state.pending(currency)}, the ledger says {held}",
                last_entry=entry,
            )
        debt = state.debt(currency)
        if debt != owed:
            _fail(
                "debt_matches_the_ledger",
                state,
                f"the state owes {debt} {currency}, the ledger says {owed}",
                last_entry=entry,
            )
        if debt > 0 and spendable > 0:
            _fail(
                "debt_is_paid_first",
                state,
                f"{spendable} {currency} spendable while {debt} are owed",
                lots=state.lots,
            )


def _time(state: MemberState, at: datetime) -> None:
    for lot in state.lots:
        if not lot.pending and lot.expires_at is not None and lot.expires_at <= at:
            _fail(
                "no_usable_expired_lot",
                state,
                f"lot {lot.id!r} expired at {lot.expires_at.isoformat()} but still holds "
                f"{lot.remaining} at {at.isoformat()}",
                lot=lot,
            )
        if lot.pending and lot.release_at is not None and lot.release_at <= at:
            _fail(
                "no_overdue_hold",
                state,
                f"lot {lot.id!r} was due for release at {lot.release_at.isoformat()}",
                lot=lot,
            )


def _tier_entries(entries: Sequence[Entry]) -> list[Entry]:
    return [entry for entry in entries if entry.kind == EntryKind.TIER]


def _tiers(
    program: Program, state: MemberState, entries: Sequence[Entry], at: datetime | None
) -> None:
    ladder = program.tiers
    held = state.tier.level if state.tier else None
    changes = _tier_entries(entries)
    recorded = changes[-1].reason.rsplit("-> ", 1)[-1] if changes else "-"
    if (held or "-") != recorded:
        _fail(
            "tier_matches_the_ledger",
            state,
            f"the member holds {held!r}, the ledger's last tier change says {recorded!r}",
            last_change=changes[-1] if changes else None,
        )
    if ladder is None:
        if held is not None:
            _fail("tier_is_a_level", state, f"holds {held!r} but the programme has no tiers")
        return
    if held is not None and held not in {lvl.id for lvl in ladder.levels}:
        _fail("tier_is_a_level", state, f"holds {held!r}, not a level of the ladder")
    tier = state.tier
    if tier is not None and at is not None:
        due = tier.grace_until if tier.grace_until is not None else tier.review_at
        if due is not None and due <= at:
            _fail(
                "tier_reviewed_on_time",
                state,
                f"{tier.level!r} was due for review at {due.isoformat()}, still held at "
                f"{at.isoformat()}",
                tier=tier,
            )
    if at is None or state.tier_activity is None:
        return  # no qualifying action yet: nothing was ever measured
    if ladder.keep.uses_activity and changes and changes[-1].at > state.tier_activity:
        return  # lapsed for inactivity since the last qualifying action: held below the metric
    value = ladder.value(state.metric, at, program.tz)
    earned = ladder.level_for(value)
    if earned is not None and ladder.rank(earned.id) > ladder.rank(held):
        _fail(
            "tier_upgrade_not_missed",
            state,
            f"the metric ({ladder.metric}) is {value} at {at.isoformat()}, enough for "
            f"{earned.id!r}, but the member holds {held!r}",
            tier=state.tier,
        )


def _badges(program: Program, state: MemberState, entries: Sequence[Entry]) -> None:
    awarded: dict[str, list[Entry]] = {}
    for entry in entries:
        if entry.kind == EntryKind.BADGE:
            awarded.setdefault(entry.reason, []).append(entry)
    for item in program.badges:
        found = awarded.get(item.id, [])
        if not item.repeatable and len(found) > 1:
            _fail(
                "one_off_badge_awarded_once",
                state,
                f"one-off badge {item.id!r} was awarded {len(found)} times",
                entries=entry_lines(program.tz, found),
            )
        record = state.badges.get(item.id)
        times = record.awarded if record else 0
        if times != len(found):
            _fail(
                "badges_match_the_ledger",
                state,
                f"the state counts {times} awards of {item.id!r}, the ledger {len(found)}",
                entries=entry_lines(program.tz, found),
            )


def _caps(program: Program, state: MemberState, entries: Sequence[Entry]) -> None:
    by_rule: dict[str, list[Earning]] = {}
    for earning in earnings(entries):
        by_rule.setdefault(earning.rule, []).append(earning)
    for rule in program.rules:
        for item in getattr(rule, "caps", ()):
            periods: dict[str, list[Earning]] = {}
            for earning in by_rule.get(rule.id, []):
                periods.setdefault(period_of(earning.at, program.tz, item.per), []).append(earning)
            for period, found in sorted(periods.items()):
                points = sum(e.points for e in found)
                over_points = item.points is not None and points > item.points
                over_awards = item.awards is not None and len(found) > item.awards
                if over_points or over_awards:
                    _fail(
                        "cap_respected",
                        state,
                        f"rule {rule.id!r} awarded {points} points in {len(found)} award(s) "
                        f"in {item.per} {period}, over its cap {item!r}",
                        entries=entry_lines(program.tz, (e.entry for e in found)),
                    )


def _expiry(lot: Lot) -> datetime:
    return lot.expires_at if lot.expires_at is not None else _FAR


def check_spending_order(before: MemberState, after: MemberState, tz: tzinfo | None = None) -> None:
    """A redemption or a ticket purchase (from ``before`` to ``after``, both at the
    call's instant) spent lots earliest-expiry first: no lot was touched while one
    expiring strictly earlier kept points."""
    left = {(lot.id, lot.currency): lot.remaining for lot in after.lots}
    spendable = [lot for lot in before.lots if not lot.pending]
    for lot in spendable:
        if left.get((lot.id, lot.currency), 0) >= lot.remaining:
            continue
        for other in spendable:
            kept = left.get((other.id, other.currency), 0)
            if other.currency == lot.currency and _expiry(other) < _expiry(lot) and kept > 0:
                _fail(
                    "spends_earliest_expiry_first",
                    before,
                    f"spent from lot {lot.id!r} while lot {other.id!r}, which expires "
                    f"earlier, kept {kept}",
                    before=[describe_lot(lot, tz) for lot in before.lots],
                    after=[describe_lot(lot, tz) for lot in after.lots],
                )


def check_invariants(
    program: Program,
    state: MemberState,
    entries: Sequence[Entry],
    *,
    at: datetime | None = None,
    replays: Iterable[tuple[MemberState, MemberState]] | None = None,
    spends: Iterable[tuple[MemberState, MemberState]] | None = None,
) -> None:
    """Raise :class:`InvariantViolation` unless every invariant holds for one member.

    ``state`` and ``entries`` (the member's whole ledger, oldest first) describe the
    member at ``at``: pass ``rk.engine.advance(program, state, at).state`` and
    ``kit.history(member, at=at)``.  Without ``at`` the checks that need an instant
    (expiry, reviews, the tier metric) are skipped.  ``replays``: ``(before, after)``
    states around calls answered as replays, which must have changed nothing.
    ``spends``: ``(before, after)`` states around redemptions and ticket purchases,
    which must spend earliest-expiring points first.

    Invariants, by the name a violation carries: ``ledger_is_the_members``,
    ``ledger_is_append_only``, ``balance_is_ledger_sum``, ``balance_never_negative``,
    ``ledger_is_complete``, ``lot_ids_are_unique``, ``lots_are_well_formed``,
    ``lots_hold_the_balance``, ``held_lots_match_the_ledger``,
    ``debt_matches_the_ledger``, ``debt_is_paid_first``, ``no_usable_expired_lot``,
    ``no_overdue_hold``, ``tier_matches_the_ledger``, ``tier_is_a_level``,
    ``tier_reviewed_on_time``, ``tier_upgrade_not_missed``,
    ``one_off_badge_awarded_once``, ``badges_match_the_ledger``, ``cap_respected``,
    ``replay_changed_nothing``, ``spends_earliest_expiry_first``.
    """
    moment = None if at is None else at.astimezone(UTC)
    _totals(state, _ledger(state, entries))
    _lots(program, state)
    if moment is not None:
        _time(state, moment)
    _tiers(program, state, entries, moment)
    _badges(program, state, entries)
    _caps(program, state, entries)
    for before, after in replays or ():
        if before != after:
            _fail(
                "replay_changed_nothing",
                before,
                "a replayed call changed the member's state",
                changed=_changed_fields(before, after),
            )
    for before, after in spends or ():
        check_spending_order(before, after, program.tz)


def _changed_fields(before: MemberState, after: MemberState) -> dict[str, tuple[object, object]]:
    return {
        field.name: (getattr(before, field.name), getattr(after, field.name))
        for field in attrs.fields(MemberState)
        if field.eq and getattr(before, field.name) != getattr(after, field.name)
    }
