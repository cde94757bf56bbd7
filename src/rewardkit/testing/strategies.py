"""Hypothesis strategies for rewardkit's policies and programmes.

Every strategy returns values built through the public factories, so they are valid by
construction: ``programs()`` draws whole programmes (rules with conditions, caps, holds
and budgets, multipliers targeting base rules, raffle ticket and referral rules, named
segments, an RFM model whose segments conditions name, expiry, tiers, rewards, badges,
raffles, leaderboards, nudge settings) whose cross-references hold.  Use them to
property-check your own code::

    from hypothesis import given
    from rewardkit.testing.strategies import programs

    @given(programs())
    def test_every_programme_round_trips(program):
        assert rk.load_program(rk.dump_program(program)) == program

This module needs hypothesis (the ``testing`` extra); rewardkit itself never imports it.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from functools import cache
from typing import Any

import attrs
from hypothesis import strategies as st

from .. import conditions as c
from ..badges import Badge, BadgeCriterion, BadgeMetric, badge, count, streak, threshold, within
from ..expiry import ExpiryPolicy, earliest_of, end_of_period, fixed_term, inactivity, never_expire
from ..leaderboards import METRICS, Leaderboard, leaderboard
from ..nudges import KINDS, NudgeSettings
from ..program import Program
from ..raffles import Raffle, TicketRule, commitment, raffle, tickets
from ..referrals import ReferralRule, referral
from ..rewards import Reward, reward
from ..rfm import CUT_POINTS, SEGMENT_NAMES, RFMModel
from ..rules import EarningRule, Multiplier, first_time, fixed, multiplier, per_amount
from ..tiers import Keep, Ladder, keep_for, keep_until_period_end, keep_while_active, ladder, level
from ..time import PERIODS
from ._basics import (
    _CALENDAR,
    _ROUNDINGS,
    ACTION_KINDS,
    CURRENCIES,
    _budgets,
    _instants,
    _kinds,
    _money,
    _when,
    _words,
    caps,
    conditions,
    holds,
    identifiers,
    terms,
)

__all__ = [
    "ACTION_KINDS",
    "CURRENCIES",
    "badge_criteria",
    "badges",
    "caps",
    "conditions",
    "earning_rules",
    "expiry_policies",
    "holds",
    "identifiers",
    "ladders",
    "leaderboards",
    "multipliers",
    "nudge_settings",
    "programs",
    "raffles",
    "referral_rules",
    "rewards",
    "rfm_models",
    "terms",
    "ticket_rules",
]


@st.composite
def earning_rules(
    draw: st.DrawFn,
    rule_id: str | None = None,
    currencies: Sequence[str] = ("points",),
    levels: Sequence[str] = (),
    segments: Sequence[str] = (),
) -> EarningRule:
    """A ``fixed``, ``per_amount`` or ``first_time`` rule."""
    common: dict[str, Any] = {
        "when": draw(_when(levels, segments)),
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
    segments: Sequence[str] = (),
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
        when=draw(_when(levels, segments)),
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
def badge_criteria(
    draw: st.DrawFn, levels: Sequence[str] = (), segments: Sequence[str] = ()
) -> BadgeCriterion:
    """A ``count``, ``threshold``, ``streak`` or ``within`` criterion."""
    when = draw(_when(levels, segments))
    target = draw(st.integers(1, 50))
    which = draw(st.sampled_from(("count", "threshold", "streak", "within")))
    if which == "count":
        return count(target, when)
    if which == "threshold":
        metric: BadgeMetric = draw(st.sampled_from(("points_earned", "amount_spent")))
        return threshold(metric, draw(_money("0.01", "1000")), when)
    if which == "streak":
        return streak(target, draw(st.sampled_from(("day", "week"))), when)
    return within(target, draw(terms()), when)


@st.composite
def badges(
    draw: st.DrawFn,
    badge_id: str | None = None,
    currencies: Sequence[str] = ("points",),
    levels: Sequence[str] = (),
    segments: Sequence[str] = (),
) -> Badge:
    """A badge, maybe named, described, repeatable, hidden or with a bonus."""
    return badge(
        badge_id if badge_id is not None else draw(identifiers()),
        draw(badge_criteria(levels, segments)),
        name=draw(st.one_of(st.just(""), _words())),
        description=draw(st.one_of(st.just(""), _words(max_size=30))),
        repeatable=draw(st.booleans()),
        bonus=draw(st.integers(0, 500)),
        currency=draw(st.sampled_from(tuple(currencies))),
        hidden=draw(st.booleans()),
    )


@st.composite
def raffles(
    draw: st.DrawFn, raffle_id: str | None = None, currencies: Sequence[str] = ("points",)
) -> Raffle:
    """A raffle with its window, prizes, maybe a ticket price, a maximum and a seed
    commitment."""
    opens, closes = sorted(
        draw(st.lists(_instants(), min_size=2, max_size=2, unique_by=lambda d: d.timestamp()))
    )
    return raffle(
        raffle_id if raffle_id is not None else draw(identifiers()),
        opens_at=opens,
        closes_at=closes,
        prizes=draw(st.integers(1, 5)),
        ticket_cost=draw(st.one_of(st.none(), st.integers(1, 500))),
        currency=draw(st.sampled_from(tuple(currencies))),
        max_tickets=draw(st.one_of(st.none(), st.integers(1, 50))),
        seed_commitment=draw(
            st.one_of(st.none(), st.binary(min_size=1, max_size=8).map(commitment))
        ),
        name=draw(st.one_of(st.just(""), _words())),
    )


@st.composite
def ticket_rules(
    draw: st.DrawFn,
    rule_id: str | None = None,
    raffle_ids: Sequence[str] = ("summer",),
    levels: Sequence[str] = (),
    segments: Sequence[str] = (),
) -> TicketRule:
    """Tickets for one of ``raffle_ids``, per action or per amount spent."""
    return tickets(
        rule_id if rule_id is not None else draw(identifiers()),
        raffle=draw(st.sampled_from(tuple(raffle_ids))),
        tickets=draw(st.integers(1, 5)),
        per=draw(st.one_of(st.none(), _money("0.01", "100"))),
        on=draw(st.one_of(st.none(), _kinds())),
        when=draw(_when(levels, segments)),
    )


@st.composite
def referral_rules(
    draw: st.DrawFn,
    rule_id: str | None = None,
    currencies: Sequence[str] = ("points",),
    levels: Sequence[str] = (),
    segments: Sequence[str] = (),
) -> ReferralRule:
    """Points for a referrer, a referred member or both, on a first action of a kind."""
    referrer = draw(st.integers(0, 500))
    return referral(
        rule_id if rule_id is not None else draw(identifiers()),
        on=draw(st.sampled_from(ACTION_KINDS)),
        referrer_points=referrer,
        referred_points=draw(st.integers(0 if referrer else 1, 500)),
        when=draw(_when(levels, segments)),
        currency=draw(st.sampled_from(tuple(currencies))),
    )


@st.composite
def leaderboards(
    draw: st.DrawFn,
    board_id: str | None = None,
    levels: Sequence[str] = (),
    segments: Sequence[str] = (),
) -> Leaderboard:
    """A leaderboard over all time or a calendar period, maybe within groups."""
    return leaderboard(
        board_id if board_id is not None else draw(identifiers()),
        metric=draw(st.sampled_from(METRICS)),
        per=draw(st.sampled_from(("all", *PERIODS))),
        group=draw(st.one_of(st.none(), st.sampled_from(("store", "city", "team")))),
        when=draw(_when(levels, segments)),
        name=draw(st.one_of(st.just(""), _words())),
    )


@st.composite
def nudge_settings(draw: st.DrawFn) -> NudgeSettings:
    """Nudge settings with some fields changed from their defaults."""
    fields = attrs.fields_dict(NudgeSettings)
    templates = {
        "next_tier": "Only {needed} more to reach {tier_name}!",
        "badge_within_reach": "{current} / {target}: {needed} more for {badge_name}!",
    }
    candidates: dict[str, st.SearchStrategy[Any]] = {
        "reward_share": _money("0", "1"),
        "next_tier_share": _money("0", "1"),
        "badge_share": _money("0", "1"),
        "expiring_within": terms(),
        "tier_risk_within": terms(),
        "inactive_after": st.one_of(st.none(), terms()),
        "templates": st.dictionaries(st.sampled_from(tuple(templates)), st.just("")).map(
            lambda chosen: {name: templates[name] for name in chosen}
        ),
        "kinds": st.lists(st.sampled_from(KINDS), unique=True).map(tuple),
    }
    chosen = {
        name: draw(strategy)
        for name, strategy in candidates.items()
        if name in fields and draw(st.booleans())
    }
    return NudgeSettings(**chosen)


@st.composite
def rfm_models(draw: st.DrawFn) -> RFMModel:
    """An RFM model: four cut points per measure, in order (ties included), maybe
    counting some action kinds only as visits."""

    def cuts(values: st.SearchStrategy[Any]) -> st.SearchStrategy[list[Any]]:
        return st.lists(values, min_size=CUT_POINTS, max_size=CUT_POINTS).map(sorted)

    return RFMModel(
        recency_days=draw(cuts(st.integers(0, 400)))[::-1],
        frequency=draw(cuts(st.integers(0, 60))),
        monetary=draw(cuts(_money("0", "2000"))),
        kinds=draw(st.one_of(st.none(), _kinds())),
        members=draw(st.integers(0, 10**6)),
    )


@st.composite
def _segments(
    draw: st.DrawFn, levels: Sequence[str], rfm: Sequence[str] = ()
) -> dict[str, c.Condition]:
    """Named segments; each may name the RFM segments ``rfm`` and the segments drawn
    before it (never itself), and none takes an RFM segment's name."""
    free = identifiers().filter(lambda name: name not in rfm)
    names = draw(st.lists(free, max_size=3, unique=True))
    return {name: draw(conditions(levels, [*rfm, *names[:i]])) for i, name in enumerate(names)}


@st.composite
def programs(draw: st.DrawFn) -> Program:
    """A valid programme made of built-in policies, every cross-reference satisfied."""
    currencies = draw(st.lists(st.sampled_from(CURRENCIES), min_size=1, max_size=2, unique=True))
    tiers = draw(st.one_of(st.none(), ladders()))
    levels = [lvl.id for lvl in tiers.levels] if tiers else []
    rfm = draw(st.one_of(st.none(), rfm_models()))
    rfm_names = SEGMENT_NAMES if rfm is not None else ()
    segments = draw(_segments(levels, rfm_names))
    named = [*segments, *rfm_names]
    raffle_ids = draw(st.lists(identifiers(), max_size=2, unique=True))
    rule_ids = draw(st.lists(identifiers(), max_size=6, unique=True))
    base_count = draw(st.integers(min_value=min(1, len(rule_ids)), max_value=len(rule_ids)))
    base_ids = rule_ids[:base_count]
    rules: list[Any] = [
        draw(earning_rules(rule_id, currencies, levels, named)) for rule_id in base_ids
    ]
    others = ("multiplier", "referral", "tickets") if raffle_ids else ("multiplier", "referral")
    for rule_id in rule_ids[base_count:]:
        which = draw(st.sampled_from(others))
        if which == "multiplier":
            rules.append(draw(multipliers(rule_id, base_ids, levels, named)))
        elif which == "referral":
            rules.append(draw(referral_rules(rule_id, currencies, levels, named)))
        else:
            rules.append(draw(ticket_rules(rule_id, raffle_ids, levels, named)))
    reward_ids = draw(st.lists(identifiers(), max_size=3, unique=True))
    badge_ids = draw(st.lists(identifiers(), max_size=2, unique=True))
    board_ids = draw(st.lists(identifiers(), max_size=1, unique=True))
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
        badges=[draw(badges(i, currencies, levels, named)) for i in badge_ids],
        raffles=[draw(raffles(i, currencies)) for i in raffle_ids],
        leaderboards=[draw(leaderboards(i, levels, named)) for i in board_ids],
        segments=segments,
        rfm=rfm,
    )
