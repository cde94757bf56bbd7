"""Every error rewardkit raises.

Each subclasses :class:`RewardkitError` and the builtin it resembles, so callers
can catch broadly (``except rewardkit.RewardkitError``) or idiomatically
(``except LookupError``).  Messages name the field, the rule and the value.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import attrs

__all__ = [
    "ConcurrencyConflict",
    "IdempotencyConflict",
    "InsufficientPoints",
    "InvalidAction",
    "Problem",
    "ProgramError",
    "RaffleError",
    "ReferralError",
    "RewardUnavailable",
    "RewardkitError",
    "StoreError",
    "UnknownAction",
    "UnknownRaffle",
    "UnknownReward",
]


class RewardkitError(Exception):
    """The base of every error raised by rewardkit."""


class InvalidAction(RewardkitError, ValueError):
    """A request (action, redemption, reversal) is malformed; nothing was changed.

    ``field`` names the offending field and ``value`` holds what was given.
    """

    def __init__(self, field: str, value: object, reason: str) -> None:
        self.field = field
        self.value = value
        self.reason = reason
        shown = f"'{value}'" if isinstance(value, Decimal) else repr(value)
        super().__init__(f"{field!r} {reason}: {shown}")


@attrs.frozen
class Problem:
    """One problem found in a programme, with the path where it was found."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class ProgramError(RewardkitError, ValueError):
    """A programme is invalid.  ``problems`` lists every problem found, not only the first."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        count = len(self.problems)
        super().__init__(f"{count} problem{'s' if count != 1 else ''} in the programme:\n{lines}")


class InsufficientPoints(RewardkitError, ValueError):
    """A redemption (or a ticket purchase) costs more than the member's usable balance.

    ``needed`` is the whole cost; ``missing`` what the member lacks (``needed - balance``).
    For raffle tickets, ``reward`` is ``"raffle:<id>"``."""

    def __init__(self, member: str, reward: str, balance: int, needed: int, currency: str) -> None:
        self.member = member
        self.reward = reward
        self.balance = balance
        self.needed = needed
        self.currency = currency
        raffle = reward.removeprefix("raffle:") if reward.startswith("raffle:") else None
        what = f"reward {reward!r}" if raffle is None else f"the tickets of raffle {raffle!r}"
        verb = "costs" if raffle is None else "cost"
        super().__init__(
            f"member {member!r} has {balance} {currency} but {what} "
            f"{verb} {needed}: {needed - balance} more needed"
        )

    @property
    def missing(self) -> int:
        """What the member lacks: ``needed - balance``."""
        return self.needed - self.balance


class IdempotencyConflict(RewardkitError, ValueError):
    """An id was already used for a request with other content."""

    def __init__(self, operation: str, request_id: str, detail: str = "") -> None:
        self.operation = operation
        self.request_id = request_id
        self.detail = detail
        extra = f" ({detail})" if detail else ""
        super().__init__(
            f"{operation} id {request_id!r} was already used for a different request{extra}; "
            "use a new id for a new request"
        )


class UnknownReward(RewardkitError, LookupError):
    """The programme's catalogue has no reward with that id."""

    def __init__(self, reward: str, known: Sequence[str] = ()) -> None:
        self.reward = reward
        hint = f"; known rewards: {', '.join(sorted(known))}" if known else ""
        super().__init__(f"no reward {reward!r} in the catalogue{hint}")


class UnknownRaffle(RewardkitError, LookupError):
    """The programme has no raffle with that id."""

    def __init__(self, raffle: str, known: Sequence[str] = ()) -> None:
        self.raffle = raffle
        hint = f"; known raffles: {', '.join(sorted(known))}" if known else ""
        super().__init__(f"no raffle {raffle!r} in the programme{hint}")


class RaffleError(RewardkitError, ValueError):
    """A raffle cannot do that now: entering outside its window, drawing before it
    closes, a seed that does not match its commitment."""

    def __init__(self, raffle: str, reason: str) -> None:
        self.raffle = raffle
        self.reason = reason
        super().__init__(f"raffle {raffle!r}: {reason}")


class ReferralError(RewardkitError, ValueError):
    """A referral is refused: self-referral, a loop, or a member already referred."""

    def __init__(self, referrer: str, referred: str, reason: str) -> None:
        self.referrer = referrer
        self.referred = referred
        self.reason = reason
        super().__init__(f"{referrer!r} cannot refer {referred!r}: {reason}")


class UnknownAction(RewardkitError, LookupError):
    """A reversal or confirmation names an action id that was never recorded."""

    def __init__(self, action_id: str) -> None:
        self.action_id = action_id
        super().__init__(f"no recorded action with id {action_id!r}")


class RewardUnavailable(RewardkitError, ValueError):
    """The reward exists but cannot be redeemed now (out of stock, tier, window)."""

    def __init__(self, reward: str, reason: str) -> None:
        self.reward = reward
        self.reason = reason
        super().__init__(f"reward {reward!r} is unavailable: {reason}")


class ConcurrencyConflict(RewardkitError, RuntimeError):
    """Other writers kept changing the member; the call gave up after bounded retries."""

    def __init__(self, member: str, attempts: int) -> None:
        self.member = member
        self.attempts = attempts
        super().__init__(
            f"member {member!r} was changed concurrently {attempts} times in a row; "
            "nothing was committed, retry the call"
        )


class StoreError(RewardkitError, RuntimeError):
    """A store could not be opened or used (bad URL, unreadable file...)."""
