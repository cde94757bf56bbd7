"""Raffles: tickets from rules or bought with points, and a draw anyone can verify.

Winners are a pure function of the seed and the ordered entries: for each prize, an
HMAC-SHA256 of the raffle, the prize number and a counter, keyed by the seed, picks a
ticket uniformly (rejection sampling removes modulo bias); the winner's tickets then
leave the pool, so a member wins at most once and chance is proportional to tickets.
Publishing ``sha256(seed)`` before the raffle opens lets members check the seed was not
chosen after the entries were known.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal

import attrs

from ._compose import Condition, always, as_condition
from ._values import aware, number
from .context import Context
from .errors import InvalidAction, Problem, ProgramError
from .model import DEFAULT_CURRENCY

__all__ = [
    "Draw",
    "Raffle",
    "TicketRule",
    "commitment",
    "draw_winners",
    "entries_digest",
    "raffle",
    "tickets",
    "verify_draw",
]

Entries = Sequence[tuple[str, int]]


def commitment(seed: bytes) -> str:
    """The seed commitment a raffle publishes before it opens: sha256(seed), hex."""
    return hashlib.sha256(seed).hexdigest()


@attrs.frozen(repr=False)
class Raffle:
    """A raffle open from ``opens_at`` (inclusive) to ``closes_at`` (exclusive)."""

    id: str
    opens_at: datetime
    closes_at: datetime
    prizes: int = 1
    ticket_cost: int | None = None  # points per bought ticket (None: tickets are not sold)
    currency: str = DEFAULT_CURRENCY
    max_tickets: int | None = None  # per member, earned and bought together
    seed_commitment: str | None = None
    name: str = ""

    @property
    def title(self) -> str:
        return self.name or self.id

    def is_open(self, at: datetime) -> bool:
        return self.opens_at <= at < self.closes_at

    def room(self, held: int) -> int | None:
        """Tickets a member holding ``held`` may still get (``None``: no maximum)."""
        return None if self.max_tickets is None else max(self.max_tickets - held, 0)

    def __repr__(self) -> str:
        return f"<raffle {self.id}: {self.prizes} prize(s), closes {self.closes_at.isoformat()}>"


def raffle(
    id: str,
    *,
    opens_at: datetime,
    closes_at: datetime,
    prizes: int = 1,
    ticket_cost: int | None = None,
    currency: str = DEFAULT_CURRENCY,
    max_tickets: int | None = None,
    seed_commitment: str | None = None,
    name: str = "",
) -> Raffle:
    """``raffle("summer", opens_at=..., closes_at=..., prizes=3, ticket_cost=50)``."""
    problems: list[Problem] = []
    if not isinstance(id, str) or not id.strip():
        problems.append(Problem("id", f"must be a non-empty string, got {id!r}"))
    for field, value in (("opens_at", opens_at), ("closes_at", closes_at)):
        try:
            aware(value, field)
        except InvalidAction as error:
            problems.append(Problem(field, f"{error.reason}, got {value!r}"))
    for field, count, minimum in (("prizes", prizes, 1), ("ticket_cost", ticket_cost, 1),
                                  ("max_tickets", max_tickets, 1)):  # fmt: skip
        if count is None and field != "prizes":
            continue
        if isinstance(count, bool) or not isinstance(count, int) or count < minimum:
            problems.append(Problem(field, f"must be a positive integer, got {count!r}"))
    if seed_commitment is not None and not (
        isinstance(seed_commitment, str)
        and len(seed_commitment) == 64
        and all(c in "0123456789abcdef" for c in seed_commitment)
    ):
        problems.append(
            Problem("seed_commitment", f"must be a sha256 hex digest, got {seed_commitment!r}")
        )
    if not problems and opens_at >= closes_at:
        problems.append(Problem("closes_at", "must be after opens_at"))
    if problems:
        raise ProgramError(problems)
    return Raffle(id, opens_at, closes_at, prizes, ticket_cost, currency, max_tickets,
                  seed_commitment, name or id)  # fmt: skip


@attrs.frozen(repr=False)
class TicketRule:
    """A rule that gives raffle tickets: ``tickets`` per action, or per ``per`` of the
    amount spent."""

    id: str
    raffle: str
    on: frozenset[str] | None
    tickets: int
    per: Decimal | None
    when: Condition

    def count(self, ctx: Context) -> int:
        if not self.when(ctx):
            return 0
        if self.per is None:
            return self.tickets
        amount = ctx.action.amount
        if amount is None:
            return 0
        return int((amount / self.per).to_integral_value(rounding=ROUND_FLOOR)) * self.tickets

    def __repr__(self) -> str:
        unit = "action" if self.per is None else f"{self.per} spent"
        return f"<{self.id}: {self.tickets} ticket(s) for {self.raffle} per {unit}>"


def tickets(
    id: str,
    *,
    raffle: str,
    tickets: int = 1,
    per: Decimal | str | int | None = None,
    on: str | Iterable[str] | None = None,
    when: Condition | None = None,
) -> TicketRule:
    """Raffle tickets from actions: ``tickets("summer-entry", raffle="summer", on="purchase",
    per="10.00")`` gives one ticket per 10.00 spent while the raffle is open."""
    problems: list[Problem] = []
    if not isinstance(id, str) or not id.strip():
        problems.append(Problem("id", f"must be a non-empty string, got {id!r}"))
    if isinstance(tickets, bool) or not isinstance(tickets, int) or tickets <= 0:
        problems.append(Problem("tickets", f"must be a positive integer, got {tickets!r}"))
    unit = None
    if per is not None:
        try:
            unit = number(per, "per")
            if unit <= 0:
                problems.append(Problem("per", f"must be greater than 0, got {per!r}"))
        except ProgramError as error:
            problems.extend(error.problems)
    kinds = None if on is None else frozenset([on] if isinstance(on, str) else on)
    if kinds is not None and (not kinds or not all(isinstance(k, str) and k for k in kinds)):
        problems.append(Problem("on", f"must name one or more action kinds, got {on!r}"))
    if problems:
        raise ProgramError(problems)
    condition = always if when is None else as_condition(when)
    return TicketRule(id, raffle, kinds, tickets, unit, condition)


# ---------------------------------------------------------------- the draw


@attrs.frozen
class Draw:
    """A raffle's result: the revealed seed, what it committed to, the digest of the
    ordered entries, and the winners in prize order."""

    raffle: str
    at: datetime
    seed: str  # hex of the seed bytes, revealed with the result
    seed_commitment: str
    entries_digest: str
    winners: tuple[str, ...]
    prizes: int
    entries: int  # members with tickets
    tickets: int  # tickets in the draw
    replayed: bool = False


def entries_digest(entries: Entries) -> str:
    """sha256 of the canonical JSON of the ordered entries ``[[member, tickets], ...]``."""
    text = json.dumps([[m, t] for m, t in entries], separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _uniform(seed: bytes, label: str, total: int) -> int:
    """A uniform integer in [0, total) derived from the seed (no modulo bias)."""
    space = 1 << 256
    limit = space - space % total
    counter = 0
    while True:
        digest = hmac.new(seed, f"{label}|{counter}".encode(), hashlib.sha256).digest()
        value = int.from_bytes(digest, "big")
        if value < limit:
            return value % total
        counter += 1


def draw_winners(raffle_id: str, seed: bytes, entries: Entries, prizes: int) -> tuple[str, ...]:
    """Weighted sampling without replacement, a pure function of its arguments."""
    pool = [(member, count) for member, count in entries if count > 0]
    winners: list[str] = []
    for prize in range(min(prizes, len(pool))):
        total = sum(count for _, count in pool)
        ticket = _uniform(seed, f"{raffle_id}|{prize}", total)
        for index, (member, count) in enumerate(pool):
            if ticket < count:
                winners.append(member)
                del pool[index]
                break
            ticket -= count
    return tuple(winners)


def verify_draw(draw: Draw, entries: Entries) -> bool:
    """Recompute a draw from its revealed seed and the ordered entries."""
    try:
        seed = bytes.fromhex(draw.seed)
    except ValueError:
        return False
    ordered = list(entries)
    return (
        commitment(seed) == draw.seed_commitment
        and entries_digest(ordered) == draw.entries_digest
        and draw_winners(draw.raffle, seed, ordered, draw.prizes) == draw.winners
    )
