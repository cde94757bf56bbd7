"""The domain's values: actions, member state, lots, ledger entries, events, outcomes.

Everything here is a frozen attrs class: no I/O, no clock.  Mappings are read-only
and sorted by key, so two equal states serialise to the same bytes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType
from typing import Any, TypeVar

import attrs

from ._values import AttributeValue, aware, freeze, identifier, money, normalize_attributes
from .events import (
    DebtSettled,
    Event,
    PendingCancelled,
    PointsEarned,
    PointsExpired,
    PointsHeld,
    PointsReleased,
    PointsReversed,
    RewardRedeemed,
    TierChanged,
    TierGraceStarted,
)

__all__ = [
    "DEFAULT_CURRENCY",
    "Action",
    "Award",
    "BadgeProgress",
    "BadgeState",
    "CapUsage",
    "Contribution",
    "CounterChange",
    "DebtSettled",
    "Entry",
    "EntryKind",
    "Event",
    "Lot",
    "MemberState",
    "MemberView",
    "Outcome",
    "PendingCancelled",
    "PointsEarned",
    "PointsExpired",
    "PointsHeld",
    "PointsReleased",
    "PointsReversed",
    "Reversal",
    "RewardRedeemed",
    "ScoreChange",
    "SweepReport",
    "TierChanged",
    "TierStatus",
]

DEFAULT_CURRENCY = "points"

K = TypeVar("K")
V = TypeVar("V")


def _optional_money(value: object) -> Decimal | None:
    return None if value is None else money(value, "amount")


def _action_id(value: object) -> str:
    return identifier(value, "id")


def _member_id(value: object) -> str:
    return identifier(value, "member")


def _kind(value: object) -> str:
    return identifier(value, "kind")


def _instant(value: object) -> datetime:
    return aware(value, "at")


def frozen(value: Mapping[K, V]) -> Mapping[K, V]:
    """``value`` as a read-only mapping sorted by key; one that already is (what the
    engine hands on from state to state) is kept as it is, not copied."""
    if type(value) is MappingProxyType and (len(value) < 2 or _sorted_keys(value)):
        return value
    return freeze(value)


def _sorted_keys(value: Mapping[K, V]) -> bool:
    keys = list(value)
    return keys == sorted(keys)  # type: ignore[type-var]


def _counts(value: Mapping[str, int]) -> Mapping[str, int]:
    return frozen(value)


def _usages(value: Mapping[str, tuple[CapUsage, ...]]) -> Mapping[str, tuple[CapUsage, ...]]:
    return frozen(value)


def _reversals(value: Mapping[str, Reversal]) -> Mapping[str, Reversal]:
    return frozen(value)


def _instants(value: Mapping[str, datetime]) -> Mapping[str, datetime]:
    return frozen(value)


def _progress(
    value: Mapping[str, tuple[Decimal, Decimal]],
) -> Mapping[str, tuple[Decimal, Decimal]]:
    return frozen(value)


def _badges(value: Mapping[str, BadgeState]) -> Mapping[str, BadgeState]:
    return frozen(value)


@attrs.frozen
class Action:
    """Something a member did: a purchase, a visit, a review, a game event.

    ``id`` is the host's idempotency key: recording the same id twice changes nothing.
    """

    id: str = attrs.field(converter=_action_id)
    member: str = attrs.field(converter=_member_id)
    kind: str = attrs.field(converter=_kind)
    at: datetime = attrs.field(converter=_instant)
    amount: Decimal | None = attrs.field(default=None, converter=_optional_money)
    attributes: Mapping[str, AttributeValue] = attrs.field(
        factory=dict, converter=normalize_attributes, hash=False
    )


class EntryKind(StrEnum):
    """Why a ledger entry changed a balance."""

    EARN = "earn"
    REDEEM = "redeem"
    REVERSE = "reverse"
    SETTLE = "settle"  # an earning absorbed by a debt left by an earlier reversal
    EXPIRE = "expire"
    ADJUST = "adjust"
    PENDING = "pending"  # points awarded but held (returns window): ``pending`` grows
    TIER = "tier"  # a tier change; moves no points (``reason`` says "silver -> gold")
    BADGE = "badge"  # a badge awarded; moves no points (a bonus is its own EARN entry)


@attrs.frozen
class Entry:
    """One append-only ledger line.  The signed ``points`` of a member's entries sum to
    their balance in that currency; ``balance``, ``debt`` and ``pending`` (points held,
    not yet spendable) are the values after it."""

    member: str
    seq: int
    at: datetime
    kind: EntryKind
    currency: str
    points: int
    balance: int
    debt: int
    cause: str  # the action, redemption or reversal id that made this entry ("time": expiry)
    reason: str  # the rule id, reward id, reversed action id, or expired lot id
    pending: int = 0


@attrs.frozen
class Lot:
    """Points earned together, spendable until ``expires_at`` (exclusive).

    A pending lot (held for a returns window) is not spendable until it is released,
    at ``release_at`` or, when that is ``None``, when the host confirms it.
    """

    id: str
    currency: str
    points: int
    remaining: int
    earned_at: datetime
    expires_at: datetime | None
    action: str
    rule: str
    pending: bool = False
    release_at: datetime | None = None
    tier_credit: bool = False  # held points that count for tiers once released
    # Derived: the lot as stored data, made on its first commit (never compared).
    _data: Any = attrs.field(init=False, default=None, eq=False, repr=False, hash=False)

    def usable_at(self, at: datetime) -> bool:
        """Spendable at ``at``: released, not used up, earned by then and not expired."""
        return (
            not self.pending
            and self.remaining > 0
            and self.earned_at <= at
            and (self.expires_at is None or at < self.expires_at)
        )


@attrs.frozen
class Contribution:
    """One action's contribution to the member's tier metric."""

    at: datetime
    value: Decimal
    # Derived: the contribution as stored data, made on its first commit.
    _data: Any = attrs.field(init=False, default=None, eq=False, repr=False, hash=False)


@attrs.frozen
class BadgeProgress:
    """Where a member stands on one badge's criterion (the fields each criterion uses)."""

    count: int = 0  # matching actions (count; within: in the latest one's window), or streak length
    value: Decimal = Decimal(0)  # the metric so far (threshold)
    period: int | None = None  # index of the last streak period with a matching action
    times: tuple[datetime, ...] = ()  # matching instants still inside the window (within)


@attrs.frozen
class BadgeState:
    """A member's record on one badge: how often awarded, when, and the progress."""

    awarded: int = 0
    first_at: datetime | None = None
    last_at: datetime | None = None
    progress: BadgeProgress = BadgeProgress()


@attrs.frozen
class TierStatus:
    """The level a member holds, since when, and when it is next reviewed."""

    level: str
    since: datetime
    review_at: datetime | None = None
    grace_until: datetime | None = None  # set while held on grace after a failed review


@attrs.frozen
class CapUsage:
    """How much a rule has awarded a member within one cap period."""

    period: str
    points: int = 0
    awards: int = 0


@attrs.frozen
class Reversal:
    """What has been taken back so far from one recorded action."""

    refunded: Decimal | None  # cumulative refunded amount (None: a full reversal)
    taken: Mapping[str, int] = attrs.field(
        converter=_counts, hash=False
    )  # "rule|currency" -> points
    complete: bool = False


@attrs.frozen
class MemberState:
    """Everything the engine needs to know about one member; the store persists it whole."""

    id: str
    lots: tuple[Lot, ...] = ()
    debts: Mapping[str, int] = attrs.field(factory=dict, converter=_counts, hash=False)
    entries: int = 0  # number of ledger entries written so far (the next entry's seq)
    kinds: Mapping[str, int] = attrs.field(factory=dict, converter=_counts, hash=False)
    spent: Decimal = Decimal(0)
    first_seen: datetime | None = None
    last_activity: datetime | None = None
    usage: Mapping[str, tuple[CapUsage, ...]] = attrs.field(
        factory=dict, converter=_usages, hash=False
    )
    reversals: Mapping[str, Reversal] = attrs.field(factory=dict, converter=_reversals, hash=False)
    tier: TierStatus | None = None
    metric: tuple[Contribution, ...] = ()  # tier metric contributions still inside the window
    activity: Mapping[str, datetime] = attrs.field(factory=dict, converter=_instants, hash=False)
    last_earned: int = 0  # points the member's latest earning action gave (for nudges)
    tier_activity: datetime | None = None  # the latest action that qualifies for tiers
    badges: Mapping[str, BadgeState] = attrs.field(factory=dict, converter=_badges, hash=False)
    tickets: Mapping[str, int] = attrs.field(factory=dict, converter=_counts, hash=False)
    referred_by: str | None = None  # the member who referred this one
    referral_rewarded: bool = False  # the referral bonus was paid (once per referred member)
    # Derived, never compared nor stored: next_due() once computed (``...``: not yet), and
    # whether ``lots`` are known to be in spending order with none empty and ``metric``
    # in time order (as the engine leaves them), so the next call need not sort them.
    _due: Any = attrs.field(init=False, default=..., eq=False, repr=False, hash=False)
    _canonical: bool = attrs.field(init=False, default=False, eq=False, repr=False, hash=False)
    # The lots' remaining points by (currency, pending), as the engine's book left them
    # (None: not known; summed again when needed), so a call costs the same whatever the
    # number of open lots.  Never changed once set.
    _sums: Any = attrs.field(init=False, default=None, eq=False, repr=False, hash=False)
    # No lot was earned after this instant (None: no lots; ``...``: not known yet).
    _newest: Any = attrs.field(init=False, default=..., eq=False, repr=False, hash=False)
    # The metric's running totals (rewardkit._metric_totals), as the engine left them
    # with a canonical metric (None: not known, or not kept).  Never changed once set.
    _metric_totals: Any = attrs.field(init=False, default=None, eq=False, repr=False, hash=False)

    def balance(self, currency: str = DEFAULT_CURRENCY, at: datetime | None = None) -> int:
        """Spendable points in ``currency`` (not pending; not expired at ``at``)."""
        sums = self._sums
        if sums is None and len(self.lots) >= _SUMS_FROM:  # decoded: total them once
            sums = lot_sums(self.lots)
            object.__setattr__(self, "_sums", sums)
        if sums is not None and (at is None or self._all_usable_at(at)):
            return int(sums.get((currency, False), 0))
        return sum(
            lot.remaining
            for lot in self.lots
            if lot.currency == currency and not lot.pending and (at is None or lot.usable_at(at))
        )

    def _all_usable_at(self, at: datetime) -> bool:
        """Every lot not pending is usable at ``at``: none earned after it, and nothing
        expires or is released by then (so the kept totals are the balance)."""
        newest = self._newest
        if newest is ...:
            newest = max((lot.earned_at for lot in self.lots), default=None)
            object.__setattr__(self, "_newest", newest)
        due = self.next_due()
        return (newest is None or newest <= at) and (due is None or at < due)

    def pending(self, currency: str = DEFAULT_CURRENCY) -> int:
        """Points held in ``currency``, visible but not yet spendable."""
        return sum(lot.remaining for lot in self.lots if lot.currency == currency and lot.pending)

    def balances(self) -> Mapping[str, int]:
        totals: dict[str, int] = {}
        for lot in self.lots:
            if not lot.pending:
                totals[lot.currency] = totals.get(lot.currency, 0) + lot.remaining
        return freeze(totals)

    def next_due(self) -> datetime | None:
        """The next instant at which time alone changes this member (an expiry, a
        release, a tier review): what stores index so sweeps touch only members due."""
        known = self._due
        if known is not ...:
            return known  # type: ignore[no-any-return]
        instants = [lot.expires_at for lot in self.lots if lot.expires_at is not None]
        instants += [lot.release_at for lot in self.lots if lot.release_at is not None]
        if self.tier is not None:
            for instant in (self.tier.review_at, self.tier.grace_until):
                if instant is not None:
                    instants.append(instant)
        due = min(instants) if instants else None
        object.__setattr__(self, "_due", due)
        return due

    def debt(self, currency: str = DEFAULT_CURRENCY) -> int:
        return self.debts.get(currency, 0)


# ---------------------------------------------------------------- outcomes


@attrs.frozen
class CounterChange:
    """A change to a counter shared by all members (a reward's stock, a raffle's tickets).

    The store applies it atomically with the member's commit and refuses it, committing
    nothing, if the counter would pass ``limit``.
    """

    key: str
    delta: int
    limit: int | None = None


@attrs.frozen
class ScoreChange:
    """A change to one member's score on a leaderboard, in one period and group; the
    store applies it atomically with the member's commit."""

    board: str
    period: str  # "all", or the period key ("2026-W10", "2026-03"...)
    group: str  # "" when the board has no groups
    member: str
    delta: int


@attrs.frozen
class Award:
    """What one rule contributed to an action, and why: the explanation a checkout shows."""

    rule: str
    currency: str
    points: int
    detail: str
    capped: bool = False


@attrs.frozen
class Outcome:
    """What a call did (or, for a preview, would do)."""

    member: str
    points: int  # net change of the default-currency balance made by this call's request
    balance: int  # default-currency balance after the call
    changes: Mapping[str, int] = attrs.field(factory=dict, converter=_counts, hash=False)
    events: tuple[Event, ...] = ()
    entries: tuple[Entry, ...] = ()
    awards: tuple[Award, ...] = ()
    replayed: bool = False
    pending: int = 0  # default-currency points this call awarded but holds (returns window)
    expired: int = 0  # default-currency points that expired on the way to this call's instant


@attrs.frozen
class MemberView:
    """What a host shows a member: balances, lots, debt and activity, at an instant."""

    id: str
    balance: int  # in the programme's default currency
    balances: Mapping[str, int] = attrs.field(converter=_counts, hash=False)
    debts: Mapping[str, int] = attrs.field(converter=_counts, hash=False)
    lots: tuple[Lot, ...] = ()
    tier: str | None = None
    badges: tuple[str, ...] = ()  # badges earned (ids, in programme order)
    first_seen: datetime | None = None
    last_activity: datetime | None = None
    actions: Mapping[str, int] = attrs.field(factory=dict, converter=_counts, hash=False)
    spent: Decimal = Decimal(0)
    pending: int = 0  # default-currency points held, visible but not yet spendable
    tier_status: TierStatus | None = None  # the level, since when, and its next review
    tier_metric: Decimal | None = None  # the tier metric now (None without tiers)
    at: datetime | None = None  # the instant this view describes
    badge_progress: Mapping[str, tuple[Decimal, Decimal]] = attrs.field(
        factory=dict, converter=_progress, hash=False
    )  # (current, target) for each visible badge still to earn
    tickets: Mapping[str, int] = attrs.field(factory=dict, converter=_counts, hash=False)
    referred_by: str | None = None


@attrs.frozen
class SweepReport:
    """What ``Rewards.expire(at)`` did: members touched, points expired and released
    per currency, the tier changes that reviews made, and the graces they began."""

    at: datetime
    members: int
    expired: Mapping[str, int] = attrs.field(factory=dict, converter=_counts, hash=False)
    released: Mapping[str, int] = attrs.field(factory=dict, converter=_counts, hash=False)
    tier_changes: tuple[TierChanged, ...] = ()
    graces: tuple[TierGraceStarted, ...] = ()


# ---------------------------------------------------------------- the engine's constructor


def _replacer(cls: type[Any]) -> Any:
    """A function building a copy of a ``cls`` instance with some fields replaced, that
    skips the converters: for values already in their canonical form (frozen, sorted
    mappings), which the engine hands on from one state to the next.  Derived fields
    (``init=False``) start at their defaults unless given."""
    fields = attrs.fields(cls)
    names = [field.name.lstrip("_") for field in fields]
    head = ", ".join(f"{name}=_KEEP" for name in names)
    lines = [f"def replace(old, *, {head}):", "    new = _new(_cls)"]
    for field, name in zip(fields, names, strict=True):
        fallback = f"_default_{name}" if not field.init else f"old.{field.name}"
        lines.append(f"    _set(new, {field.name!r}, {fallback} if {name} is _KEEP else {name})")
    lines.append("    return new")
    scope: dict[str, Any] = {
        "_new": object.__new__,
        "_set": object.__setattr__,
        "_cls": cls,
        "_KEEP": _KEEP,
    }
    for field, name in zip(fields, names, strict=True):
        if not field.init:
            scope[f"_default_{name}"] = field.default
    exec("\n".join(lines), scope)  # the way attrs itself builds __init__
    return scope["replace"]


def lot_sums(lots: Iterable[Lot]) -> dict[tuple[str, bool], int]:
    """The lots' remaining points by (currency, pending)."""
    sums: dict[tuple[str, bool], int] = {}
    for lot in lots:
        key = (lot.currency, lot.pending)
        sums[key] = sums.get(key, 0) + lot.remaining
    return sums


_KEEP = object()
_SUMS_FROM = 16  # lots a decoded state totals once for its balances, not on every read
_replace_state = _replacer(MemberState)


def replace_state(state: MemberState, **changes: Any) -> MemberState:
    """``state`` with ``changes``, which must already be canonical: mappings frozen and
    sorted by key (:func:`frozen`), tuples where the class has tuples.  Only the engine's
    book calls this; everything else constructs states normally.  Derived fields are
    named without their underscore (``canonical=True``)."""
    return _replace_state(state, **changes)  # type: ignore[no-any-return]


_BLANK = MemberState(id="-")


def blank_state(member: str) -> MemberState:
    """``MemberState(id=member)``: a member the store does not know yet (built from a
    template, without running the converters again)."""
    return _replace_state(  # type: ignore[no-any-return]
        _BLANK, id=member, canonical=True, due=None, sums={}, newest=None
    )
