"""Expiry, tiers, rewards, the ``[program]`` table and nudges in programme files."""

from __future__ import annotations

import difflib
import zoneinfo
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any, Final, Literal, cast

import attrs
import cattrs
from dateutil.relativedelta import relativedelta

from ._compose import Condition, always
from ._config_base import HOOK, fail, problems_from, relocate
from ._config_hooks import attrs_hook, unstructure_attrs
from ._config_typed import Builtin, register, typed_hooks, with_currency
from .errors import ProgramError
from .expiry import (
    ExpiryPolicy,
    _EarliestOf,
    _EndOfPeriod,
    _FixedTerm,
    _Inactivity,
    _Never,
    earliest_of,
    end_of_period,
    fixed_term,
    inactivity,
    never_expire,
    term,
)
from .nudges import NudgeSettings
from .pending import Hold
from .rewards import Reward, reward
from .tiers import (
    Keep,
    Ladder,
    Level,
    Metric,
    _KeepFor,
    _KeepUntilPeriodEnd,
    _KeepWhileActive,
    keep_for,
    keep_until_period_end,
    keep_while_active,
    ladder,
    level,
)
from .time import Period, parse_period, zone

__all__ = ["EXPIRY_TYPES", "Head", "install"]


# ---------------------------------------------------------------- expiry


@attrs.frozen
class _NeverSpec:
    pass


@attrs.frozen
class _FixedTermSpec:
    term: relativedelta


@attrs.frozen
class _EndOfPeriodSpec:
    period: Literal["month", "quarter", "year"]
    after: int = 0


@attrs.frozen
class _InactivitySpec:
    after: relativedelta


@attrs.frozen
class _EarliestOfSpec:
    policies: tuple[ExpiryPolicy, ...]


EXPIRY_TYPES: Final[Mapping[str, Builtin]] = {
    "never": Builtin(_NeverSpec, lambda s: never_expire, lambda p: _NeverSpec(), _Never),
    "fixed_term": Builtin(
        _FixedTermSpec, lambda s: fixed_term(s.term), lambda p: _FixedTermSpec(p.span), _FixedTerm
    ),
    "end_of_period": Builtin(
        _EndOfPeriodSpec,
        lambda s: end_of_period(s.period, s.after),
        lambda p: _EndOfPeriodSpec(p.period, p.after),
        _EndOfPeriod,
    ),
    "inactivity": Builtin(
        _InactivitySpec,
        lambda s: inactivity(s.after),
        lambda p: _InactivitySpec(p.span),
        _Inactivity,
    ),
    "earliest_of": Builtin(
        _EarliestOfSpec,
        lambda s: earliest_of(*s.policies),
        lambda p: _EarliestOfSpec(p.policies),
        _EarliestOf,
    ),
}


# ---------------------------------------------------------------- tiers


@attrs.frozen
class _KeepTermSpec:
    term: relativedelta


@attrs.frozen
class _KeepPeriodSpec:
    period: Period


def _keep_until(spec: _KeepPeriodSpec) -> Keep:
    try:
        return keep_until_period_end(spec.period)
    except ProgramError as error:
        raise ProgramError(relocate(error, "", {"keep": ""})) from None


KEEP_TYPES: Final[Mapping[str, Builtin]] = {
    "for": Builtin(
        _KeepTermSpec, lambda s: keep_for(s.term), lambda k: _KeepTermSpec(k.span), _KeepFor
    ),
    "until_period_end": Builtin(
        _KeepPeriodSpec, _keep_until, lambda k: _KeepPeriodSpec(k.period), _KeepUntilPeriodEnd
    ),
    "while_active": Builtin(
        _KeepTermSpec,
        lambda s: keep_while_active(s.term),
        lambda k: _KeepTermSpec(k.span),
        _KeepWhileActive,
    ),
}


@attrs.frozen(kw_only=True)
class _LevelSpec:
    id: str
    threshold: Any  # checked by level()
    multiplier: Any = Decimal(1)
    name: str = ""


def _window(value: object) -> relativedelta | Period:
    if isinstance(value, str):
        return parse_period(value, path="")
    if isinstance(value, Mapping):
        return term(value, path="")
    raise fail(
        "",
        "expected a calendar period (month, quarter, year) or a rolling term such as "
        f"{{ months = 12 }}, got {value!r}",
    )


@attrs.frozen(kw_only=True)
class _TiersSpec:
    metric: Metric
    window: Any = attrs.field(default=None, metadata={HOOK: _window})
    keep: Keep | None = None
    grace: relativedelta | None = None
    qualifying: Condition = always
    count_pending: bool = False
    levels: tuple[Level, ...]


def _structure_level(value: object, converter: cattrs.Converter) -> Level:
    s = converter.structure(value, _LevelSpec)
    return level(s.id, s.threshold, multiplier=s.multiplier, name=s.name)


def _level_data(lvl: Level, converter: cattrs.Converter) -> dict[str, Any]:
    name = "" if lvl.name == lvl.id.capitalize() else lvl.name
    spec = _LevelSpec(id=lvl.id, threshold=lvl.threshold, multiplier=lvl.multiplier, name=name)
    return unstructure_attrs(spec, converter)


def _structure_tiers(value: object, converter: cattrs.Converter) -> Ladder:
    s = converter.structure(value, _TiersSpec)
    try:
        return ladder(
            metric=s.metric,
            levels=s.levels,
            window=cast(Any, s.window),
            keep=s.keep,
            grace=s.grace,
            qualifying=s.qualifying,
            count_pending=s.count_pending,
        )
    except ProgramError as error:
        raise ProgramError(relocate(error, "", {"tiers": ""})) from None


def _tiers_data(tiers: Ladder, converter: cattrs.Converter) -> dict[str, Any]:
    spec = _TiersSpec(
        metric=tiers.metric,
        window=tiers.window,
        keep=tiers.keep,
        grace=tiers.grace,
        qualifying=tiers.qualifying,
        count_pending=tiers.count_pending,
        levels=tiers.levels,
    )
    return unstructure_attrs(spec, converter)


# ---------------------------------------------------------------- rewards and the head


@attrs.frozen(kw_only=True)
class _RewardSpec:
    id: str
    cost: int
    currency: str
    name: str = ""
    stock: int | None = None
    available_from: datetime | None = None
    available_until: datetime | None = None
    min_tier: str | None = None


def _structure_reward(value: object, converter: cattrs.Converter) -> Reward:
    s = converter.structure(with_currency(value, _RewardSpec), _RewardSpec)
    return reward(
        s.id,
        cost=s.cost,
        currency=s.currency,
        name=s.name,
        stock=s.stock,
        available_from=s.available_from,
        available_until=s.available_until,
        min_tier=s.min_tier,
    )


def _reward_data(item: Reward, converter: cattrs.Converter) -> dict[str, Any]:
    spec = _RewardSpec(
        id=item.id,
        cost=item.cost,
        currency=item.currency,
        name="" if item.name == item.id else item.name,
        stock=item.stock,
        available_from=item.available_from,
        available_until=item.available_until,
        min_tier=item.min_tier,
    )
    return unstructure_attrs(spec, converter, keep=("currency",))


def _timezone(value: object) -> str:
    if not isinstance(value, str):
        raise fail("", f"expected an IANA time zone name such as 'Europe/Madrid', got {value!r}")
    try:
        zone(value, path="")
    except ProgramError as error:
        close = difflib.get_close_matches(value, zoneinfo.available_timezones(), n=1)
        if close:
            raise fail("", f"unknown time zone {value!r} (did you mean {close[0]!r}?)") from None
        raise ProgramError(relocate(error, "")) from None
    return value


@attrs.frozen(kw_only=True)
class Head:
    """The ``[program]`` table."""

    name: str
    timezone: str = attrs.field(default="UTC", metadata={HOOK: _timezone})
    currencies: tuple[str, ...] = ("points",)
    pending: Hold | None = None


# ---------------------------------------------------------------- nudges


def _structure_nudges(value: object, structure: Callable[[Any, Any], Any]) -> NudgeSettings:
    """NudgeSettings checks itself in ``__init__``, with paths that start at ``nudges``."""
    try:
        settings: NudgeSettings = structure(value, NudgeSettings)
    except Exception as error:
        problems = ProgramError(problems_from(error, ""))
        raise ProgramError(relocate(problems, "", {"nudges": ""})) from None
    return settings


def install(converter: cattrs.Converter) -> None:
    """Register the hooks of expiry, tiers, rewards and nudges on ``converter``."""
    expiry_types = tuple(b.policy for b in EXPIRY_TYPES.values())
    hooks = typed_hooks("expiry", "expiry", EXPIRY_TYPES, lambda p: isinstance(p, ExpiryPolicy))
    register(converter, (ExpiryPolicy,), expiry_types, *hooks)
    keep_types = tuple(b.policy for b in KEEP_TYPES.values())
    register(converter, (Keep,), keep_types, *typed_hooks(None, "keep", KEEP_TYPES, bool))
    register(converter, (Level,), (), _structure_level, _level_data)
    register(converter, (Ladder,), (), _structure_tiers, _tiers_data)
    register(converter, (Reward,), (), _structure_reward, _reward_data)
    nudges = attrs_hook(NudgeSettings, converter)
    converter.register_structure_hook_func(
        lambda t: t is NudgeSettings, lambda v, _: _structure_nudges(v, nudges)
    )
