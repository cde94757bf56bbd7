"""The reference workload: a café programme of 10 rules and a seeded stream of actions.

Every engine in the benchmarks computes the points of the same actions; the totals
must agree exactly before any time is reported.

The rules (points are the programme's only currency):

1. ``base``: 1 point per whole euro of a purchase (rounded down);
2. ``weekend-double``: the base points doubled on Saturdays and Sundays;
3. ``pastry``: +5 per pastry item of a purchase;
4. ``app-order``: +15 for an app order of 20.00 or more;
5. ``review``: +10 for a review;
6. ``visit``: +1 for a visit (a check-in);
7. ``referral``: +200 for a friend referred (an action of kind ``referral``);
8. ``beans``: +25 for coffee beans of 30.00 or more bought in store or on the web;
9. ``happy-hour``: +3 for a purchase between 07:00 and 09:00;
10. ``december``: +2 for a purchase in December.

Days, weekdays and times are the café's (Europe/Madrid).  rewardkit runs the rules
as a full programme: lots with a 12-month expiry, cap accounting on the review and
visit rules, a Silver/Gold tier ladder with reviews, ledger entries and events.  The
caps are sized so that the workload never reaches them and the tiers carry no
multiplier, so a stateless engine computes the very same points.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import attrs

import rewardkit as rk

__all__ = [
    "END",
    "SEED",
    "START",
    "TIMEZONE",
    "PerItem",
    "actions",
    "cafe_program",
    "handwritten_points",
    "in_december",
    "iter_actions",
]

SEED = 20260307
TIMEZONE = "Europe/Madrid"
START = datetime(2025, 6, 1, tzinfo=UTC)
END = datetime(2026, 6, 1, tzinfo=UTC)
_TZ = ZoneInfo(TIMEZONE)


@attrs.frozen
class PerItem:
    """``points`` per item (the ``items`` attribute) of a matching action: a user's own
    rule, plugged in like the built-ins."""

    id: str
    on: frozenset[str] | None
    points_per_item: int
    when: rk.Condition
    currency: str = rk.DEFAULT_CURRENCY
    caps: tuple[rk.Cap, ...] = ()

    def points(self, ctx: rk.Context) -> int:
        if not self.when(ctx):
            return 0
        items = ctx.action.attributes.get("items", 1)
        return self.points_per_item * int(items) if isinstance(items, int) else 0


@rk.condition
def in_december(ctx: rk.Context) -> bool:
    """The action happened in December (the café's calendar)."""
    return ctx.local.month == 12


def cafe_program() -> rk.Program:
    """The reference programme: 10 rules, expiry, caps and tiers."""
    purchase = "purchase"
    return rk.Program(
        name="Café Aroma (benchmark)",
        timezone=TIMEZONE,
        rules=[
            rk.per_amount("base", on=purchase, per="1.00", points=1),
            rk.multiplier(
                "weekend-double", targets=["base"], factor=2, when=rk.weekday("sat", "sun")
            ),
            PerItem(
                "pastry",
                on=frozenset({purchase}),
                points_per_item=5,
                when=rk.attribute_equals("category", "pastry"),
            ),
            rk.fixed(
                "app-order",
                on=purchase,
                points=15,
                when=rk.attribute_equals("channel", "app") & rk.amount_at_least("20"),
            ),
            rk.fixed("review", on="review", points=10, caps=rk.cap(per="day", awards=50)),
            rk.fixed("visit", on="visit", points=1, caps=rk.cap(per="day", points=50)),
            rk.fixed("referral", on="referral", points=200),
            rk.fixed(
                "beans",
                on=purchase,
                points=25,
                when=rk.attribute_equals("category", "beans")
                & rk.amount_at_least("30")
                & rk.attribute_in("channel", ["store", "web"]),
            ),
            rk.fixed("happy-hour", on=purchase, points=3, when=rk.time_between("07:00", "09:00")),
            rk.fixed("december", on=purchase, points=2, when=in_december),
        ],
        rewards=[rk.reward("free-coffee", cost=100)],
        expiry=rk.fixed_term({"months": 12}),
        tiers=rk.ladder(
            metric="points_earned",
            window={"months": 12},
            levels=[rk.level("silver", 500), rk.level("gold", 1500)],
        ),
    )


_KINDS = (("purchase", 85), ("visit", 8), ("review", 5), ("referral", 2))
_CATEGORIES = (("coffee", 50), ("pastry", 25), ("beans", 15), ("food", 10))
_CHANNELS = (("store", 60), ("app", 25), ("web", 15))


def _pick(rng: random.Random, table: Sequence[tuple[str, int]]) -> str:
    names = [name for name, _ in table]
    weights = [weight for _, weight in table]
    return rng.choices(names, weights)[0]


def actions(count: int = 100_000, members: int = 10_000, seed: int = SEED) -> list[rk.Action]:
    """``count`` actions of ``members`` members over a year, in time order, always the
    same for the same arguments."""
    return list(iter_actions(count, members, seed))


def iter_actions(
    count: int = 100_000, members: int = 10_000, seed: int = SEED
) -> Iterator[rk.Action]:
    """:func:`actions`, one at a time (as a simulation reads them from a file)."""
    rng = random.Random(seed)
    span = int((END - START).total_seconds())
    instants = sorted(rng.randrange(span) for _ in range(count))
    width = len(str(members - 1))
    for number, offset in enumerate(instants):
        kind = _pick(rng, _KINDS)
        attributes: dict[str, object] = {}
        amount: Decimal | None = None
        if kind == "purchase":
            category = _pick(rng, _CATEGORIES)
            cents = {"beans": rng.randint(900, 6000), "food": rng.randint(400, 3500)}.get(
                category, rng.randint(150, 2500)
            )
            amount = Decimal(cents).scaleb(-2)
            attributes = {
                "category": category,
                "channel": _pick(rng, _CHANNELS),
                "items": rng.randint(1, 4) if category == "pastry" else 1,
            }
        yield rk.Action(
            id=f"a{number:07d}",
            member=f"m{rng.randrange(members):0{width}d}",
            kind=kind,
            at=START + timedelta(seconds=offset),
            amount=amount,
            attributes=attributes,
        )


def handwritten_points(action: rk.Action) -> int:
    """The practical limit: the reference rules as one plain function of if-chains."""
    kind = action.kind
    if kind == "purchase":
        amount = action.amount
        if amount is None:
            return 0
        attributes = action.attributes
        local = action.at.astimezone(_TZ)
        base = int(amount)  # a non-negative amount: truncation is floor
        points = base * 2 if local.weekday() >= 5 else base
        category = attributes.get("category")
        channel = attributes.get("channel")
        if category == "pastry":
            items = attributes.get("items", 1)
            points += 5 * items if isinstance(items, int) else 0
        if channel == "app" and amount >= 20:
            points += 15
        if category == "beans" and amount >= 30 and channel in ("store", "web"):
            points += 25
        if 7 <= local.hour < 9:
            points += 3
        if local.month == 12:
            points += 2
        return points
    if kind == "visit":
        return 1
    if kind == "review":
        return 10
    if kind == "referral":
        return 200
    return 0
