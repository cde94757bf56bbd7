"""Hypothesis strategies for rewardkit's policies and programmes.

Every strategy returns values built through the public factories, so they are valid by
construction: ``programs()`` draws whole programmes (rules with conditions, caps and
holds, multipliers targeting base rules, expiry, tiers, rewards, nudge settings) whose
cross-references hold.  Use them to property-check your own code::

    from hypothesis import given
    from rewardkit.testing.strategies import programs

    @given(programs())
    def test_every_programme_round_trips(program):
        assert rk.load_program(rk.dump_program(program)) == program

This module needs hypothesis (the ``testing`` extra); rewardkit itself never imports it.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from functools import cache, lru_cache, reduce
from typing import Any

import attrs
from dateutil.relativedelta import relativedelta
from hypothesis import strategies as st

from .. import conditions as c
from ..expiry import ExpiryPolicy, earliest_of, end_of_period, fixed_term, inactivity, never_expire
from ..nudges import NudgeSettings
from ..pending import Hold, pending_for, until_confirmed
from ..program import Program
from ..rewards import Reward, reward
from ..rules import (
    Cap,
    EarningRule,
    Multiplier,
    Rounding,
    cap,
    first_time,
    fixed,
    multiplier,
    per_amount,
)
from ..tiers import Keep, Ladder, keep_for, keep_until_period_end, keep_while_active, ladder, level
from ..time import WEEKDAYS, Period

__all__ = [
    "ACTION_KINDS",
    "CURRENCIES",
    "caps",
    "conditions",
    "earning_rules",
    "expiry_policies",
    "holds",
    "identifiers",
    "ladders",
    "multipliers",
    "nudge_settings",
    "programs",
    "rewards",
    "terms",
]

ACTION_KINDS = ("purchase", "visit", "review", "referral", "signup")
CURRENCIES = ("points", "stars", "miles")
_RECURRENCES = (
    "FREQ=WEEKLY;BYDAY=FR;BYHOUR=17",
    "FREQ=DAILY;BYHOUR=7;BYMINUTE=30",
    "DTSTART:20260101T000000\nRRULE:FREQ=MONTHLY;BYMONTHDAY=1",
)
_ROUNDINGS: tuple[Rounding, ...] = ("down", "half_up", "up")
_CALENDAR: tuple[Period, ...] = ("month", "quarter", "year")
_OFFSETS = (UTC, timezone(timedelta(hours=1)), timezone(timedelta(hours=-5, minutes=-30)))


@cache
def _words(min_size: int = 1, max_size: int = 12) -> st.SearchStrategy[str]:
    """Printable text (no control characters, no lone surrogates): names and titles."""
    letters = st.characters(exclude_categories=("Cc", "Cs"))
    return st.text(letters, min_size=min_size, max_size=max_size).filter(str.strip)


@cache
def identifiers() -> st.SearchStrategy[str]:
    """Ids such as ``"base"`` or ``"weekend-double"``."""
    return st.from_regex(r"[a-z][a-z0-9]{0,6}(-[a-z0-9]{1,5})?", fullmatch=True)


@cache
def _kinds() -> st.SearchStrategy[list[str]]:
    return st.lists(st.sampled_from(ACTION_KINDS), min_size=1, max_size=3, unique=True)


@cache
def _money(min_value: str = "0", max_value: str = "500") -> st.SearchStrategy[Decimal]:
    return st.decimals(min_value=Decimal(min_value), max_value=Decimal(max_value), places=2)


@cache
def terms() -> st.SearchStrategy[relativedelta]:
    """Positive terms in whole minutes to years, such as ``relativedelta(months=12)``."""
    units = st.fixed_dictionaries(
        {},
        optional={
            unit: st.integers(1, bound)
            for unit, bound in (("years", 3), ("months", 30), ("days", 400), ("hours", 48))
        },
    )
    return units.filter(bool).map(
        lambda parts: relativedelta(
            years=parts.get("years", 0),
            months=parts.get("months", 0),
            days=parts.get("days", 0),
            hours=parts.get("hours", 0),
        )
    )


@cache
def _budgets() -> st.SearchStrategy[int | None]:
    return st.one_of(st.none(), st.integers(1, 100_000))


@cache
def holds() -> st.SearchStrategy[Hold]:
    """``until_confirmed`` or ``pending_for(term)``."""
    return st.one_of(st.just(until_confirmed), terms().map(pending_for))


@cache
def caps() -> st.SearchStrategy[Cap]:
    limits = st.one_of(st.none(), st.integers(1, 1000))
    return st.builds(
        lambda per, points, awards: cap(per, points=points, awards=awards or None),
        st.sampled_from(("day", "week", "month", "quarter", "year", "lifetime")),
        st.integers(1, 1000),
        limits,
    ) | st.builds(
        lambda per, awards: cap(per, awards=awards),
        st.sampled_from(("day", "week", "lifetime")),
        st.integers(1, 10),
    )


@cache
def _attribute_values() -> st.SearchStrategy[Any]:
    scalar = st.one_of(
        st.text(max_size=5),
        st.integers(-1000, 1000),
        st.booleans(),
        st.none(),
        st.decimals(min_value=-100, max_value=100, places=2),
    )
    return st.one_of(scalar, st.lists(scalar, max_size=3))


@cache
def _orderable() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.text(max_size=5), st.integers(-100, 100), st.decimals(min_value=0, max_value=9, places=1)
    )


@cache
def _durations() -> st.SearchStrategy[timedelta | relativedelta]:
    return st.one_of(
        st.builds(
            lambda h, m: timedelta(hours=h, minutes=m), st.integers(0, 5), st.integers(1, 59)
        ),
        st.integers(1, 3).map(lambda months: relativedelta(months=months, days=1)),
    )


@cache
def _time_windows() -> st.SearchStrategy[c.Condition]:
    return (
        st.tuples(st.times(), st.times())
        .filter(lambda pair: pair[0] != pair[1])
        .map(lambda pair: c.time_between(*pair))
    )


@cache
def _date_ranges() -> st.SearchStrategy[c.Condition]:
    days = st.dates(min_value=date(2024, 1, 1), max_value=date(2030, 12, 31))
    return st.tuples(days, days).map(lambda pair: c.date_between(*sorted(pair)))


def _leaves(levels: Sequence[str]) -> st.SearchStrategy[c.Condition]:
    names = st.sampled_from(("category", "qty", "channel", "vip"))
    leaves = [
        _kinds().map(lambda kinds: c.kind(*kinds)),
        st.lists(st.sampled_from(WEEKDAYS), min_size=1, max_size=3).map(lambda d: c.weekday(*d)),
        _time_windows(),
        _date_ranges(),
        st.builds(c.recurrence, st.sampled_from(_RECURRENCES), _durations()),
        st.builds(c.attribute_equals, names, _attribute_values()),
        st.builds(
            c.attribute_compare, names, st.sampled_from(("<", "<=", ">", ">=", "!=")), _orderable()
        ),
        st.builds(c.attribute_in, names, st.lists(_attribute_values(), min_size=1, max_size=3)),
        st.builds(c.has_attribute, names),
        st.builds(c.amount_compare, st.sampled_from(("<", "<=", ">", ">=", "==", "!=")), _money()),
        st.sampled_from((c.always, c.never)),
    ]
    if levels:
        leaves.append(
            st.lists(st.sampled_from(tuple(levels)), min_size=1, unique=True).map(
                lambda chosen: c.tier_in(*chosen)
            )
        )
    return st.one_of(leaves)


def conditions(levels: Sequence[str] = ()) -> st.SearchStrategy[c.Condition]:
    """Built-in conditions composed with ``&``, ``|`` and ``~`` (``tier_in`` only names
    ``levels``)."""
    return _conditions(tuple(levels))


@lru_cache(maxsize=64)
def _conditions(levels: tuple[str, ...]) -> st.SearchStrategy[c.Condition]:
    """One strategy per set of levels: building and validating a recursive strategy is
    slow, drawing from it is not."""

    def compose(children: st.SearchStrategy[c.Condition]) -> st.SearchStrategy[c.Condition]:
        several = st.lists(children, min_size=2, max_size=3)
        return st.one_of(
            several.map(lambda parts: reduce(operator.and_, parts)),
            several.map(lambda parts: reduce(operator.or_, parts)),
            children.map(lambda part: ~c.as_condition(part)),
        )

    return st.recursive(_leaves(levels), compose, max_leaves=5)


@lru_cache(maxsize=64)
def _when(levels: tuple[str, ...]) -> st.SearchStrategy[c.Condition]:
    return st.one_of(st.just(c.always), _conditions(levels))


@st.composite
def earning_rules(
    draw: st.DrawFn,
    rule_id: str | None = None,
    currencies: Sequence[str] = ("points",),
    levels: Sequence[str] = (),
) -> EarningRule:
    """A ``fixed``, ``per_amount`` or ``first_time`` rule."""
    common: dict[str, Any] = {
        "when": draw(_when(tuple(levels))),
        "currency": draw(st.sampled_from(tuple(currencies))),
        "caps": draw(st.lists(caps(), max_size=2)),
        "pending": draw(st.one_of(st.none(), holds())),
        "budget": draw(_budgets()),
    }
    name = rule_id if rule_id is not None else draw(identifiers())
    on = draw(st.one_of(st.none(), _kinds()))
    points = draw(st.integers(1, 500))
    which = draw(st.sampled_from(("fixed", "per_amount", "first_time")))
    if which == "fixed":
        return fixed(name, points=points, on=on, **common)
    if which == "per_amount":
        per = draw(_money("0.01", "100"))
        rounding = draw(st.sampled_from(_ROUNDINGS))
        return per_amount(name, per=per, points=points, on=on, rounding=rounding, **common)
    return first_time(name, on=draw(st.sampled_from(ACTION_KINDS)), points=points, **common)


@st.composite
def multipliers(
    draw: st.DrawFn,
    rule_id: str | None = None,
    targets: Sequence[str] = (),
    levels: Sequence[str] = (),
) -> Multiplier:
    """A multiplier of some of ``targets`` (or of every base rule)."""
    chosen = (
        draw(st.lists(st.sampled_from(tuple(targets)), min_size=1, unique=True))
        if targets
        else None
    )
    return multiplier(
        rule_id if rule_id is not None else draw(identifiers()),
        factor=draw(_money("1", "5")),
        targets=draw(st.one_of(st.none(), st.just(chosen))) if chosen else None,
        on=draw(st.one_of(st.none(), _kinds())),
        when=draw(_when(tuple(levels))),
        caps=draw(st.lists(caps(), max_size=1)),
        budget=draw(_budgets()),
    )


@cache
def expiry_policies() -> st.SearchStrategy[ExpiryPolicy]:
    """Every built-in expiry policy, ``earliest_of`` included."""
    simple = st.one_of(
        st.just(never_expire),
        terms().map(fixed_term),
        st.builds(end_of_period, st.sampled_from(("month", "quarter", "year")), st.integers(0, 3)),
        terms().map(inactivity),
    )
    return st.one_of(
        simple, st.lists(simple, min_size=1, max_size=3).map(lambda p: earliest_of(*p))
    )


@cache
def _keeps() -> st.SearchStrategy[Keep]:
    return st.one_of(
        terms().map(keep_for),
        st.sampled_from(_CALENDAR).map(keep_until_period_end),
        terms().map(keep_while_active),
    )


@st.composite
def ladders(draw: st.DrawFn) -> Ladder:
    """A tier ladder of one to three levels with rising thresholds."""
    ids = draw(st.lists(identifiers(), min_size=1, max_size=3, unique=True))
    steps = draw(st.lists(_money("1", "1000"), min_size=len(ids), max_size=len(ids)))
    thresholds = [sum(steps[: i + 1], Decimal(0)) for i in range(len(ids))]
    levels = [
        level(
            ident,
            threshold,
            multiplier=draw(_money("1", "3")),
            name=draw(st.one_of(st.just(""), _words(max_size=8))),
        )
        for ident, threshold in zip(ids, thresholds, strict=True)
    ]
    return ladder(
        metric=draw(st.sampled_from(("points_earned", "amount_spent", "actions"))),
        levels=levels,
        window=draw(st.one_of(st.none(), st.sampled_from(("month", "quarter", "year")), terms())),
        keep=draw(_keeps()),
        grace=draw(st.one_of(st.none(), terms())),
        qualifying=draw(st.one_of(st.none(), conditions())),
        count_pending=draw(st.booleans()),
    )


@cache
def _instants() -> st.SearchStrategy[datetime]:
    return st.datetimes(
        min_value=datetime(2024, 1, 1),
        max_value=datetime(2030, 1, 1),
        timezones=st.sampled_from(_OFFSETS),
    )


@st.composite
def rewards(
    draw: st.DrawFn,
    reward_id: str | None = None,
    currencies: Sequence[str] = ("points",),
    levels: Sequence[str] = (),
) -> Reward:
    """A catalogue entry, maybe with stock, a window and a minimum tier."""
    window = sorted(
        draw(st.lists(_instants(), min_size=2, max_size=2, unique_by=lambda d: d.timestamp()))
    )
    bounds = draw(
        st.sampled_from(((None, None), (window[0], None), (None, window[1]), tuple(window)))
    )
    return reward(
        reward_id if reward_id is not None else draw(identifiers()),
        cost=draw(st.integers(1, 5000)),
        currency=draw(st.sampled_from(tuple(currencies))),
        name=draw(st.one_of(st.just(""), _words())),
        stock=draw(st.one_of(st.none(), st.integers(0, 100))),
        available_from=bounds[0],
        available_until=bounds[1],
        min_tier=draw(st.one_of(st.none(), st.sampled_from(tuple(levels)))) if levels else None,
    )


@st.composite
def nudge_settings(draw: st.DrawFn) -> NudgeSettings:
    """Nudge settings with some fields changed from their defaults."""
    fields = attrs.fields_dict(NudgeSettings)
    candidates: dict[str, st.SearchStrategy[Any]] = {
        "reward_share": _money("0", "1"),
        "next_tier_share": _money("0", "1"),
        "expiring_within": terms(),
        "tier_risk_within": terms(),
        "inactive_after": st.one_of(st.none(), terms()),
        "templates": st.just({"next_tier": "Only {needed} more to reach {tier_name}!"}),
    }
    chosen = {
        name: draw(strategy)
        for name, strategy in candidates.items()
        if name in fields and draw(st.booleans())
    }
    return NudgeSettings(**chosen)


@st.composite
def programs(draw: st.DrawFn) -> Program:
    """A valid programme made of built-in policies, every cross-reference satisfied."""
    currencies = draw(st.lists(st.sampled_from(CURRENCIES), min_size=1, max_size=2, unique=True))
    tiers = draw(st.one_of(st.none(), ladders()))
    levels = [lvl.id for lvl in tiers.levels] if tiers else []
    rule_ids = draw(st.lists(identifiers(), max_size=5, unique=True))
    base_count = draw(st.integers(min_value=min(1, len(rule_ids)), max_value=len(rule_ids)))
    base_ids = rule_ids[:base_count]
    rules: list[EarningRule | Multiplier] = [
        draw(earning_rules(rule_id, currencies, levels)) for rule_id in base_ids
    ]
    rules += [draw(multipliers(rule_id, base_ids, levels)) for rule_id in rule_ids[base_count:]]
    reward_ids = draw(st.lists(identifiers(), max_size=3, unique=True))
    return Program(
        name=draw(_words(max_size=20)),
        timezone=draw(
            st.sampled_from(("UTC", "Europe/Madrid", "America/Santiago", "Asia/Kolkata"))
        ),
        rules=draw(st.permutations(rules)),
        rewards=[draw(rewards(reward_id, currencies, levels)) for reward_id in reward_ids],
        currencies=currencies,
        expiry=draw(expiry_policies()),
        tiers=tiers,
        pending=draw(st.one_of(st.none(), holds())),
        nudges=draw(nudge_settings()),
    )
