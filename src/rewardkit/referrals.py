"""Referrals: members who bring members.  Both are rewarded once per referred member,
and only after the referred member's first qualifying action (a first purchase)."""

from __future__ import annotations

import attrs

from ._compose import Condition, always, as_condition
from .errors import Problem, ProgramError
from .model import DEFAULT_CURRENCY

__all__ = ["ReferralRule", "referral"]


@attrs.frozen(repr=False)
class ReferralRule:
    """On a referred member's first qualifying action: ``referred_points`` to them and
    ``referrer_points`` to whoever referred them."""

    id: str
    on: frozenset[str]
    referrer_points: int
    referred_points: int
    when: Condition
    currency: str

    def __repr__(self) -> str:
        kinds = ", ".join(sorted(self.on))
        return (
            f"<{self.id}: {self.referrer_points} to the referrer and "
            f"{self.referred_points} to the new member on their first {kinds}>"
        )


def referral(
    id: str,
    *,
    on: str = "purchase",
    referrer_points: int,
    referred_points: int = 0,
    when: Condition | None = None,
    currency: str = DEFAULT_CURRENCY,
) -> ReferralRule:
    """``referral("bring-a-friend", referrer_points=200, referred_points=100)``."""
    problems = []
    if not isinstance(id, str) or not id.strip():
        problems.append(Problem("id", f"must be a non-empty string, got {id!r}"))
    if not isinstance(on, str) or not on.strip():
        problems.append(Problem("on", f"must name an action kind, got {on!r}"))
    for field, value in (
        ("referrer_points", referrer_points),
        ("referred_points", referred_points),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            problems.append(Problem(field, f"must be a non-negative integer, got {value!r}"))
    if not problems and referrer_points == 0 and referred_points == 0:
        problems.append(Problem("referrer_points", "one of the two awards must be positive"))
    if problems:
        raise ProgramError(problems)
    condition = always if when is None else as_condition(when)
    return ReferralRule(id, frozenset([on]), referrer_points, referred_points, condition, currency)
