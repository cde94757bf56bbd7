"""Rules in programme files: the built-in rule types (points, multipliers, raffle
tickets, referrals), their caps and holds."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, NewType, cast

import attrs
import cattrs

from ._compose import _Condition, always
from ._config_base import fail, relocate
from ._config_typed import Builtin, register, typed_hooks
from .errors import ProgramError
from .pending import Hold, pending_for, until_confirmed
from .raffles import TicketRule, tickets
from .referrals import ReferralRule, referral
from .rules import (
    Cap,
    CapPeriod,
    EarningRule,
    Multiplier,
    Rounding,
    _FirstTime,
    _Fixed,
    _PerAmount,
    cap,
    first_time,
    fixed,
    multiplier,
    per_amount,
)

__all__ = ["RULE_TYPES", "Kinds", "install"]

Kinds = NewType("Kinds", tuple[str, ...])
"""``on``: an action kind, or a list of them."""


def _kinds(on: frozenset[str] | None) -> Kinds | None:
    return None if on is None else Kinds(tuple(sorted(on)))


def _structure_kinds(value: object, converter: cattrs.Converter) -> Kinds:
    if isinstance(value, str):
        return Kinds((value,))
    if isinstance(value, (list, tuple)):
        return Kinds(converter.structure(value, tuple[str, ...]))
    raise fail("", f"expected an action kind or a list of kinds, got {value!r}")


def _kinds_data(kinds: Kinds, converter: cattrs.Converter) -> str | list[str]:
    return kinds[0] if len(kinds) == 1 else list(kinds)


# ---------------------------------------------------------------- caps and holds


@attrs.frozen
class _CapSpec:
    per: CapPeriod
    points: int | None = None
    awards: int | None = None


def _structure_cap(value: object, converter: cattrs.Converter) -> Cap:
    spec = converter.structure(value, _CapSpec)
    try:
        return cap(per=spec.per, points=spec.points, awards=spec.awards)
    except ProgramError as error:
        raise ProgramError(relocate(error, "", {"cap": ""})) from None


def _structure_hold(value: object, converter: cattrs.Converter) -> Hold:
    if value == "until_confirmed":
        return until_confirmed
    if isinstance(value, Mapping):
        try:
            return pending_for(value)
        except ProgramError as error:
            raise ProgramError(relocate(error, "", {"pending": ""})) from None
    raise fail(
        "", f'expected a duration such as {{ days = 14 }} or "until_confirmed", got {value!r}'
    )


def _hold_data(hold: Hold, converter: cattrs.Converter) -> Any:
    return "until_confirmed" if hold.span is None else converter.unstructure(hold.span)


# ---------------------------------------------------------------- rules


@attrs.frozen(kw_only=True)
class _FixedSpec:
    id: str
    on: Kinds | None = None
    points: int
    currency: str
    when: _Condition = always
    caps: tuple[Cap, ...] = ()
    pending: Hold | None = None
    budget: int | None = None


@attrs.frozen(kw_only=True)
class _PerAmountSpec:
    id: str
    on: Kinds | None = None
    per: Any  # checked by per_amount(), whose message shows the value as written
    points: int = 1
    rounding: Rounding = "down"
    currency: str
    when: _Condition = always
    caps: tuple[Cap, ...] = ()
    pending: Hold | None = None
    budget: int | None = None


@attrs.frozen(kw_only=True)
class _FirstTimeSpec:
    id: str
    on: Kinds
    points: int
    currency: str
    when: _Condition = always
    caps: tuple[Cap, ...] = ()
    pending: Hold | None = None
    budget: int | None = None


@attrs.frozen(kw_only=True)
class _MultiplierSpec:
    id: str
    on: Kinds | None = None
    targets: tuple[str, ...] | None = None
    factor: Any  # checked by multiplier()
    when: _Condition = always
    caps: tuple[Cap, ...] = ()
    budget: int | None = None


@attrs.frozen(kw_only=True)
class _TicketsSpec:
    id: str
    raffle: str
    on: Kinds | None = None
    tickets: int = 1
    per: Any = None  # checked by tickets()
    when: _Condition = always


@attrs.frozen(kw_only=True)
class _ReferralSpec:
    id: str
    on: str = "purchase"
    referrer_points: int
    referred_points: int = 0
    currency: str
    when: _Condition = always


def _common(spec: Any) -> dict[str, Any]:
    return {"on": spec.on, "when": spec.when, "caps": spec.caps, "budget": spec.budget}


def _fixed(s: _FixedSpec) -> EarningRule:
    return fixed(s.id, points=s.points, currency=s.currency, pending=s.pending, **_common(s))


def _per_amount(s: _PerAmountSpec) -> EarningRule:
    return per_amount(
        s.id,
        per=s.per,
        points=s.points,
        rounding=s.rounding,
        currency=s.currency,
        pending=s.pending,
        **_common(s),
    )


def _first_time(s: _FirstTimeSpec) -> EarningRule:
    on = s.on[0] if len(s.on) == 1 else s.on  # first_time names the problem with several
    return first_time(
        s.id,
        on=cast(str, on),
        points=s.points,
        when=s.when,
        currency=s.currency,
        caps=s.caps,
        pending=s.pending,
        budget=s.budget,
    )


def _multiplier(s: _MultiplierSpec) -> Multiplier:
    return multiplier(s.id, factor=s.factor, targets=s.targets, **_common(s))


def _tickets(s: _TicketsSpec) -> TicketRule:
    return tickets(s.id, raffle=s.raffle, tickets=s.tickets, per=s.per, on=s.on, when=s.when)


def _referral(s: _ReferralSpec) -> ReferralRule:
    return referral(
        s.id,
        on=s.on,
        referrer_points=s.referrer_points,
        referred_points=s.referred_points,
        when=s.when,
        currency=s.currency,
    )


RULE_TYPES: Final[Mapping[str, Builtin]] = {
    "fixed": Builtin(
        _FixedSpec,
        _fixed,
        lambda r: _FixedSpec(
            id=r.id,
            on=_kinds(r.on),
            points=r.points_per_action,
            currency=r.currency,
            when=r.when,
            caps=r.caps,
            pending=r.pending,
            budget=r.budget,
        ),
        _Fixed,
    ),
    "per_amount": Builtin(
        _PerAmountSpec,
        _per_amount,
        lambda r: _PerAmountSpec(
            id=r.id,
            on=_kinds(r.on),
            per=r.per,
            points=r.points_per_unit,
            rounding=r.rounding,
            currency=r.currency,
            when=r.when,
            caps=r.caps,
            pending=r.pending,
            budget=r.budget,
        ),
        _PerAmount,
    ),
    "first_time": Builtin(
        _FirstTimeSpec,
        _first_time,
        lambda r: _FirstTimeSpec(
            id=r.id,
            on=Kinds(tuple(sorted(r.on))),
            points=r.points_once,
            currency=r.currency,
            when=r.when,
            caps=r.caps,
            pending=r.pending,
            budget=r.budget,
        ),
        _FirstTime,
    ),
    "multiplier": Builtin(
        _MultiplierSpec,
        _multiplier,
        lambda r: _MultiplierSpec(
            id=r.id,
            on=_kinds(r.on),
            targets=None if r.targets is None else tuple(sorted(r.targets)),
            factor=r.factor,
            when=r.when,
            caps=r.caps,
            budget=r.budget,
        ),
        Multiplier,
    ),
    "tickets": Builtin(
        _TicketsSpec,
        _tickets,
        lambda r: _TicketsSpec(
            id=r.id, raffle=r.raffle, on=_kinds(r.on), tickets=r.tickets, per=r.per, when=r.when
        ),
        TicketRule,
    ),
    "referral": Builtin(
        _ReferralSpec,
        _referral,
        lambda r: _ReferralSpec(
            id=r.id,
            on=min(r.on),  # one kind: a rule of several is refused as one the format cannot carry
            referrer_points=r.referrer_points,
            referred_points=r.referred_points,
            currency=r.currency,
            when=r.when,
        ),
        ReferralRule,
    ),
}


def _is_rule(policy: object) -> bool:
    return isinstance(policy, (EarningRule, Multiplier, TicketRule, ReferralRule))


def install(converter: cattrs.Converter) -> None:
    """Register the hooks of rules, caps, holds and kinds on ``converter``."""
    converter.register_structure_hook_func(
        lambda t: t is Cap, lambda v, _: _structure_cap(v, converter)
    )
    register(converter, (Hold,), (), _structure_hold, _hold_data)
    register(converter, (Kinds,), (), _structure_kinds, _kinds_data)
    rule_types = tuple(b.policy for b in RULE_TYPES.values())
    hooks = typed_hooks("rule", "rule", RULE_TYPES, _is_rule)
    register(converter, (EarningRule, Multiplier, TicketRule, ReferralRule), rule_types, *hooks)
