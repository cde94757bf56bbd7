"""The rewards catalogue: what points buy, at what cost, while stock and windows last."""

from __future__ import annotations

from datetime import datetime

import attrs

from ._values import aware
from .errors import InvalidAction, Problem, ProgramError, RewardUnavailable
from .model import DEFAULT_CURRENCY

__all__ = ["Reward", "reward"]


@attrs.frozen(repr=False)
class Reward:
    """A reward members can redeem immediately for ``cost`` units of ``currency``.

    ``stock`` (``None``: unlimited) is shared by all members and enforced atomically by
    the store; ``available_from`` / ``available_until`` bound when it can be redeemed
    (from inclusive, until exclusive); ``min_tier`` restricts it to members at that
    level or above.
    """

    id: str
    cost: int
    currency: str = DEFAULT_CURRENCY
    name: str = ""
    stock: int | None = None
    available_from: datetime | None = None
    available_until: datetime | None = None
    min_tier: str | None = None

    @property
    def stock_key(self) -> str:
        return f"reward-stock:{self.id}"

    def check_available(self, at: datetime, stock_used: int) -> None:
        """Raise :class:`RewardUnavailable` unless one more can be redeemed at ``at``."""
        if self.available_from is not None and at < self.available_from:
            raise RewardUnavailable(self.id, f"not available before {self.available_from}")
        if self.available_until is not None and at >= self.available_until:
            raise RewardUnavailable(self.id, f"no longer available since {self.available_until}")
        if self.stock is not None and stock_used >= self.stock:
            raise RewardUnavailable(self.id, f"out of stock (all {self.stock} redeemed)")

    def __repr__(self) -> str:
        stock = "" if self.stock is None else f", stock {self.stock}"
        return f"<reward {self.id}: {self.cost} {self.currency}{stock}>"


def reward(
    id: str,
    *,
    cost: int,
    currency: str = DEFAULT_CURRENCY,
    name: str = "",
    stock: int | None = None,
    available_from: datetime | None = None,
    available_until: datetime | None = None,
    min_tier: str | None = None,
) -> Reward:
    """A catalogue entry: ``reward("free-coffee", cost=100)``."""
    problems = []
    if not isinstance(id, str) or not id.strip():
        problems.append(Problem("id", f"must be a non-empty string, got {id!r}"))
    if isinstance(cost, bool) or not isinstance(cost, int) or cost <= 0:
        problems.append(Problem("cost", f"must be a positive integer, got {cost!r}"))
    if stock is not None and (isinstance(stock, bool) or not isinstance(stock, int) or stock < 0):
        problems.append(Problem("stock", f"must be a non-negative integer, got {stock!r}"))
    for field, value in (("available_from", available_from), ("available_until", available_until)):
        if value is not None:
            try:
                aware(value, field)
            except InvalidAction as error:
                problems.append(Problem(field, f"{error.reason}, got {value!r}"))
    if problems:
        raise ProgramError(problems)
    if available_from and available_until and available_from >= available_until:
        raise ProgramError([Problem("available_until", "must be after available_from")])
    return Reward(
        id=id,
        cost=cost,
        currency=currency,
        name=name or id,
        stock=stock,
        available_from=available_from,
        available_until=available_until,
        min_tier=min_tier,
    )
