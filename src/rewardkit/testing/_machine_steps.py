"""The parts of :class:`~rewardkit.testing.machine.RewardsStateMachine`'s steps that
do not need the machine: how rule arguments are drawn, requests kept for resending,
and what a fair draw is."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import attrs
from hypothesis import strategies as st

from ..errors import RaffleError
from ..facade import Rewards
from ..model import Outcome
from ..program import Program
from ..raffles import verify_draw
from ..referrals import ReferralRule
from .activity import _amounts, _attributes, _kinds, _probe_of
from .invariants import InvariantViolation

__all__ = [
    "ACTING",
    "PICK",
    "WAITING",
    "Request",
    "check_draw",
    "has_holds",
    "has_referrals",
    "later",
    "machine_strategy",
    "resolved",
    "sold_raffles",
    "strategies_for",
]

T = TypeVar("T")

PICK = st.integers(0, 1000)
"""An index into something the machine holds, taken modulo its size."""

_TICK = timedelta(microseconds=1)
_JITTER = st.sampled_from((0, -1, 1))  # microseconds either side of an instant
_EDGE = st.tuples(st.just("edge"), PICK, _JITTER)  # a calendar edge of the programme


def _later(move: str, low: int, high: int) -> st.SearchStrategy[tuple[str, int, int]]:
    return st.tuples(st.just(move), st.integers(low, high), st.just(0))


ACTING: st.SearchStrategy[tuple[str, int, int]] = st.one_of(
    st.just(("now", 0, 0)), _later("soon", 0, 3 * 60), _EDGE
)
"""When the next action happens: now, within three hours, or on a calendar edge."""

WAITING: st.SearchStrategy[tuple[str, int, int]] = st.one_of(
    _later("soon", 0, 3 * 60),
    _later("soon", 3 * 60, 72 * 60),
    _later("days", 1, 7),
    _later("days", 8, 400),
    _EDGE,
    st.tuples(st.just("due"), PICK, _JITTER),
)
"""How long time passes: minutes, hours, days, months, to a calendar edge, or to an
instant when time changes a member (an expiry, a release, a review, a raffle close)."""


def _dues(kit: Rewards, members: Sequence[str], now: datetime) -> list[datetime]:
    """The instants from ``now`` on when time alone changes a member or a raffle."""
    found: list[datetime] = []
    for member in members:
        state = kit.store.load(member).state
        found += [lot.expires_at for lot in state.lots if lot.expires_at is not None]
        found += [lot.release_at for lot in state.lots if lot.release_at is not None]
        if state.tier is not None:
            found += [t for t in (state.tier.review_at, state.tier.grace_until) if t]
    found += [item.closes_at for item in kit.program.raffles]
    return sorted({instant.astimezone(UTC) for instant in found if instant >= now})


def later(
    kit: Rewards, members: Sequence[str], now: datetime, choice: tuple[str, int, int]
) -> datetime:
    """An instant at or after ``now``, in the programme's zone: now itself, ``number``
    minutes or days later, or on the ``number``-th calendar edge or instant when time
    changes a member (modulo how many there are), ``ticks`` microseconds either side."""
    move, number, ticks = choice
    moment = now
    if move == "soon":
        moment = now + timedelta(minutes=number)
    elif move == "days":
        moment = now + timedelta(days=number)
    elif move in ("edge", "due"):
        edges = _probe_of(kit.program).edges_after(now)
        found = edges if move == "edge" else _dues(kit, members, now)
        if found:
            moment = found[number % len(found)] + ticks * _TICK
    return max(moment, now).astimezone(kit.program.tz)


def machine_strategy(name: str) -> st.SearchStrategy[Any]:
    """A rule argument drawn from the strategy ``name`` the running machine's class
    built once from its programme (so drawing it costs no new strategy)."""
    return st.runner().flatmap(lambda machine: machine._strategy(name))


def resolved(
    choices: st.SearchStrategy[T], resolve: Callable[[Any, T], object]
) -> st.SearchStrategy[Any]:
    """A rule argument the running machine computes from fixed ``choices``: cheap to
    draw and to shrink, and printed as the value it resolves to."""
    pairs = st.tuples(st.runner(), choices)
    return pairs.flatmap(lambda pair: st.just(resolve(pair[0], pair[1])))


_STRATEGIES: dict[type, dict[str, st.SearchStrategy[Any]]] = {}


def strategies_for(
    owner: type, program: Program, members: Sequence[str]
) -> dict[str, st.SearchStrategy[Any]]:
    """The strategies of a machine class's rule arguments, built once per class."""
    found = _STRATEGIES.get(owner)
    if found is None:
        probe = _probe_of(program)
        found = {
            "member": st.sampled_from(tuple(members)),
            "kind": _kinds(probe, None),
            "amount": _amounts(probe),
            "attributes": _attributes(probe),
            "reward": st.sampled_from([r.id for r in program.rewards] or ["-"]),
            "raffle": st.sampled_from([r.id for r in program.raffles] or ["-"]),
            "sold": st.sampled_from(sold_raffles(program) or ["-"]),
        }
        _STRATEGIES[owner] = found
    return found


def has_holds(program: Program) -> bool:
    return program.pending is not None or any(
        getattr(rule, "pending", None) is not None for rule in program.rules
    )


def has_referrals(program: Program) -> bool:
    return any(isinstance(rule, ReferralRule) for rule in program.rules)


def sold_raffles(program: Program) -> list[str]:
    return [item.id for item in program.raffles if item.ticket_cost is not None]


@attrs.frozen
class Request:
    """A call the machine made, to send again with its id: the same (a replay) or
    altered (a conflict)."""

    member: str
    send: Callable[[Rewards], Outcome] = attrs.field(eq=False)
    alter: Callable[[Rewards], Outcome] = attrs.field(eq=False)
    outcome: Outcome


def check_draw(kit: Rewards, raffle: str, seeds: Mapping[str, bytes], now: datetime) -> None:
    """Draw ``raffle`` if it has closed, and check the draw is fair and final."""
    item = kit.program.raffle(raffle)
    if item.seed_commitment is not None and raffle not in seeds:
        return  # the seed is the host's secret: give it in raffle_seeds to draw
    seed = seeds.get(raffle) or hashlib.sha256(raffle.encode()).digest()
    try:
        result = kit.draw(raffle, seed=seed, at=now)
    except RaffleError:
        if now >= item.closes_at:
            raise
        return
    entries = kit.raffle_entries(raffle)
    holders = {member for member, tickets in entries if tickets > 0}
    problems = []
    if not verify_draw(result, entries):
        problems.append("the draw does not verify against its entries")
    if len(set(result.winners)) != len(result.winners):
        problems.append("a member won twice")
    if not set(result.winners) <= holders:
        problems.append("a winner holds no ticket")
    if len(result.winners) != min(item.prizes, len(holders)):
        problems.append("a prize was not given")
    again = kit.draw(raffle, seed=seed, at=now)
    if not again.replayed or again.winners != result.winners:
        problems.append("drawing again gave another result")
    if problems:
        raise InvariantViolation(
            "draws_are_fair_and_final",
            ",".join(result.winners) or "-",
            "; ".join(problems),
            draw=result,
            entries=entries,
        )
