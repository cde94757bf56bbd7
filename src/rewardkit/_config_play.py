"""Play in programme files: badges and their criteria, raffles, leaderboards."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final, Literal

import attrs
import cattrs
from dateutil.relativedelta import relativedelta

from ._compose import Condition, always
from ._config_hooks import unstructure_attrs
from ._config_typed import Builtin, register, typed_hooks, with_currency
from .badges import (
    Badge,
    BadgeCriterion,
    BadgeMetric,
    StreakPeriod,
    _Count,
    _Streak,
    _Threshold,
    _Within,
    badge,
    count,
    streak,
    threshold,
    within,
)
from .errors import ProgramError
from .leaderboards import BoardMetric, Leaderboard, leaderboard
from .raffles import Raffle, raffle

__all__ = ["CRITERION_TYPES", "install"]


# ---------------------------------------------------------------- badge criteria


@attrs.frozen(kw_only=True)
class _CountSpec:
    target: int
    when: Condition = always


@attrs.frozen(kw_only=True)
class _ThresholdSpec:
    metric: BadgeMetric
    target: Any  # checked by threshold(), whose message shows the value as written
    when: Condition = always


@attrs.frozen(kw_only=True)
class _StreakSpec:
    target: int
    per: StreakPeriod = "day"
    when: Condition = always


@attrs.frozen(kw_only=True)
class _WithinSpec:
    target: int
    span: relativedelta
    when: Condition = always


CRITERION_TYPES: Final[Mapping[str, Builtin]] = {
    "count": Builtin(
        _CountSpec,
        lambda s: count(s.target, s.when),
        lambda c: _CountSpec(target=c.target, when=c.when),
        _Count,
    ),
    "threshold": Builtin(
        _ThresholdSpec,
        lambda s: threshold(s.metric, s.target, s.when),
        lambda c: _ThresholdSpec(metric=c.metric, target=c.target, when=c.when),
        _Threshold,
    ),
    "streak": Builtin(
        _StreakSpec,
        lambda s: streak(s.target, s.per, s.when),
        lambda c: _StreakSpec(target=c.target, per=c.per, when=c.when),
        _Streak,
    ),
    "within": Builtin(
        _WithinSpec,
        lambda s: within(s.target, s.span, s.when),
        lambda c: _WithinSpec(target=c.target, span=c.span, when=c.when),
        _Within,
    ),
}


# ---------------------------------------------------------------- badges


@attrs.frozen(kw_only=True)
class _BadgeSpec:
    id: str
    name: str = ""
    description: str = ""
    criterion: BadgeCriterion
    repeatable: bool = False
    bonus: int = 0
    currency: str
    hidden: bool = False


def _structure_badge(value: object, converter: cattrs.Converter) -> Badge:
    s = converter.structure(with_currency(value, _BadgeSpec), _BadgeSpec)
    return badge(
        s.id,
        s.criterion,
        name=s.name,
        description=s.description,
        repeatable=s.repeatable,
        bonus=s.bonus,
        currency=s.currency,
        hidden=s.hidden,
    )


def _default_badge_name(item: Badge) -> str | None:
    """The name ``badge()`` gives a badge of this id when none is given."""
    try:
        return badge(item.id, item.criterion).name
    except ProgramError:
        return None


def _badge_data(item: Badge, converter: cattrs.Converter) -> dict[str, Any]:
    spec = _BadgeSpec(
        id=item.id,
        name="" if item.name == _default_badge_name(item) else item.name,
        description=item.description,
        criterion=item.criterion,
        repeatable=item.repeatable,
        bonus=item.bonus,
        currency=item.currency,
        hidden=item.hidden,
    )
    return unstructure_attrs(spec, converter, keep=("currency",))


# ---------------------------------------------------------------- raffles


@attrs.frozen(kw_only=True)
class _RaffleSpec:
    id: str
    name: str = ""
    opens_at: datetime
    closes_at: datetime
    prizes: int = 1
    ticket_cost: int | None = None
    currency: str
    max_tickets: int | None = None
    seed_commitment: str | None = None


def _structure_raffle(value: object, converter: cattrs.Converter) -> Raffle:
    s = converter.structure(with_currency(value, _RaffleSpec), _RaffleSpec)
    return raffle(
        s.id,
        opens_at=s.opens_at,
        closes_at=s.closes_at,
        prizes=s.prizes,
        ticket_cost=s.ticket_cost,
        currency=s.currency,
        max_tickets=s.max_tickets,
        seed_commitment=s.seed_commitment,
        name=s.name,
    )


def _raffle_data(item: Raffle, converter: cattrs.Converter) -> dict[str, Any]:
    spec = _RaffleSpec(
        id=item.id,
        name="" if item.name == item.id else item.name,
        opens_at=item.opens_at,
        closes_at=item.closes_at,
        prizes=item.prizes,
        ticket_cost=item.ticket_cost,
        currency=item.currency,
        max_tickets=item.max_tickets,
        seed_commitment=item.seed_commitment,
    )
    return unstructure_attrs(spec, converter, keep=("currency",))


# ---------------------------------------------------------------- leaderboards


@attrs.frozen(kw_only=True)
class _LeaderboardSpec:
    id: str
    name: str = ""
    metric: BoardMetric
    per: Literal["all", "day", "week", "month", "quarter", "year"] = "all"
    group: str | None = None
    when: Condition = always


def _structure_leaderboard(value: object, converter: cattrs.Converter) -> Leaderboard:
    s = converter.structure(value, _LeaderboardSpec)
    return leaderboard(s.id, metric=s.metric, per=s.per, group=s.group, when=s.when, name=s.name)


def _leaderboard_data(board: Leaderboard, converter: cattrs.Converter) -> dict[str, Any]:
    spec = _LeaderboardSpec(
        id=board.id,
        name="" if board.name == board.id else board.name,
        metric=board.metric,
        per=board.per,
        group=board.group,
        when=board.when,
    )
    return unstructure_attrs(spec, converter)


def install(converter: cattrs.Converter) -> None:
    """Register the hooks of badges, badge criteria, raffles and leaderboards."""
    criteria = tuple(b.policy for b in CRITERION_TYPES.values())
    hooks = typed_hooks(
        "badge", "badge criterion", CRITERION_TYPES, lambda c: isinstance(c, BadgeCriterion)
    )
    register(converter, (BadgeCriterion,), criteria, *hooks)
    register(converter, (Badge,), (), _structure_badge, _badge_data)
    register(converter, (Raffle,), (), _structure_raffle, _raffle_data)
    register(converter, (Leaderboard,), (), _structure_leaderboard, _leaderboard_data)
