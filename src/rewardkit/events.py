"""Domain events: what happened to a member, for the host to react to (e-mails, UI)."""

from __future__ import annotations

from datetime import datetime

import attrs

__all__ = [
    "BadgeAwarded",
    "DebtSettled",
    "Event",
    "PendingCancelled",
    "PointsEarned",
    "PointsExpired",
    "PointsHeld",
    "PointsReleased",
    "PointsReversed",
    "ReferralRewarded",
    "RewardRedeemed",
    "TicketsBought",
    "TicketsEarned",
    "TicketsTakenBack",
    "TierChanged",
    "TierGraceStarted",
]


@attrs.frozen
class Event:
    """Base of every domain event.  ``cause`` is the request id, or ``"time"`` for what
    time alone did (expiry, release of held points, tier reviews)."""

    member: str
    at: datetime
    cause: str


@attrs.frozen
class PointsEarned(Event):
    """Points awarded now and spendable at once (a release emits PointsReleased)."""

    rule: str
    currency: str
    points: int


@attrs.frozen
class PointsHeld(Event):
    """Points awarded but held until ``release_at`` (``None``: until confirmed)."""

    rule: str
    currency: str
    points: int
    release_at: datetime | None


@attrs.frozen
class PointsReleased(Event):
    """Held points became spendable."""

    lot: str
    currency: str
    points: int


@attrs.frozen
class PendingCancelled(Event):
    """Held points were cancelled by a reversal before they were released."""

    action: str
    currency: str
    points: int


@attrs.frozen
class DebtSettled(Event):
    currency: str
    points: int
    remaining_debt: int


@attrs.frozen
class RewardRedeemed(Event):
    reward: str
    currency: str
    cost: int


@attrs.frozen
class PointsReversed(Event):
    action: str
    currency: str
    points: int  # taken back from the balance
    debt: int  # not recoverable now: added to the member's debt


@attrs.frozen
class PointsExpired(Event):
    lot: str
    currency: str
    points: int


@attrs.frozen
class TierChanged(Event):
    """The member's level changed: ``reason`` is "qualified", "review", "grace" or
    "inactive"."""

    previous: str | None
    level: str | None
    reason: str


@attrs.frozen
class TierGraceStarted(Event):
    """A review found the member short of their level, and the ladder's grace began: they
    keep ``level`` until ``until``, and lose it then unless they qualify again."""

    level: str
    until: datetime


@attrs.frozen
class BadgeAwarded(Event):
    """A badge was earned (``times``: how often now, for repeatable badges)."""

    badge: str
    times: int
    bonus: int


@attrs.frozen
class TicketsEarned(Event):
    """A rule gave raffle tickets."""

    raffle: str
    rule: str
    tickets: int


@attrs.frozen
class TicketsTakenBack(Event):
    """A refund took back raffle tickets its action had earned (the raffle still open)."""

    raffle: str
    action: str
    tickets: int


@attrs.frozen
class TicketsBought(Event):
    """Raffle tickets bought with points."""

    raffle: str
    tickets: int
    currency: str
    cost: int


@attrs.frozen
class ReferralRewarded(Event):
    """A referral paid out: ``referrer`` brought ``referred``; ``role`` says which of the
    two this member is."""

    rule: str
    referrer: str
    referred: str
    role: str
    points: int
