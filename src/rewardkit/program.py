"""A programme: the composition of every policy, validated and compiled once."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import tzinfo

import attrs

from ._compose import Condition, as_condition
from ._references import conditions_of, reference_problems
from ._values import freeze
from .badges import Badge
from .conditions import always
from .errors import Problem, ProgramError, UnknownRaffle, UnknownReward
from .expiry import ExpiryPolicy, never_expire
from .leaderboards import Leaderboard
from .model import DEFAULT_CURRENCY
from .nudges import NudgeSettings
from .pending import Hold
from .raffles import Raffle, TicketRule
from .referrals import ReferralRule
from .rewards import Reward
from .rfm import SEGMENT_NAMES, RFMModel, rfm_segments
from .rules import EarningRule, Multiplier, rule_hold
from .tiers import Ladder
from .time import zone

__all__ = ["Program"]

Rule = EarningRule | Multiplier | TicketRule | ReferralRule


def _index_by_kind(
    rules: Iterable[Rule],
) -> tuple[Mapping[str, tuple[Rule, ...]], tuple[Rule, ...]]:
    by_kind: dict[str, list[Rule]] = {}
    any_kind: list[Rule] = []
    ordered = list(rules)
    for rule in ordered:
        if rule.on is None:
            any_kind.append(rule)
        else:
            for kind in rule.on:
                by_kind.setdefault(kind, [])
    for rule in ordered:  # keep declaration order within each kind
        for kind, bucket in by_kind.items():
            if rule.on is None or kind in rule.on:
                bucket.append(rule)
    return {k: tuple(v) for k, v in by_kind.items()}, tuple(any_kind)


def _rules(value: Iterable[Rule]) -> tuple[Rule, ...]:
    return tuple(value)


def _rewards(value: Iterable[Reward]) -> tuple[Reward, ...]:
    return tuple(value)


def _names(value: Iterable[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def _badges(value: Iterable[Badge]) -> tuple[Badge, ...]:
    return tuple(value)


def _raffles(value: Iterable[Raffle]) -> tuple[Raffle, ...]:
    return tuple(value)


def _boards(value: Iterable[Leaderboard]) -> tuple[Leaderboard, ...]:
    return tuple(value)


def _segments(value: Mapping[str, Condition]) -> Mapping[str, Condition]:
    return freeze({name: as_condition(cond) for name, cond in value.items()})


@attrs.frozen(repr=False)
class Program:
    """Rules, rewards and currencies under one time zone.

    Built once, evaluated many times: construction checks every cross-reference and
    indexes rules by action kind, so an action only meets the rules that can fire for it.
    ``segments`` are named conditions; with ``rfm`` (an :class:`~rewardkit.rfm.RFMModel`)
    the RFM segments (``champions``, ``at-risk``...) are segments too, and
    ``all_segments`` holds them all, for ``in_segment`` conditions.
    """

    name: str
    timezone: str = "UTC"
    rules: tuple[Rule, ...] = attrs.field(default=(), converter=_rules)
    rewards: tuple[Reward, ...] = attrs.field(default=(), converter=_rewards)
    currencies: tuple[str, ...] = attrs.field(default=(DEFAULT_CURRENCY,), converter=_names)
    expiry: ExpiryPolicy = never_expire
    tiers: Ladder | None = None
    pending: Hold | None = None  # the default hold for base rules that declare none
    nudges: NudgeSettings = attrs.field(factory=NudgeSettings)
    badges: tuple[Badge, ...] = attrs.field(default=(), converter=_badges)
    raffles: tuple[Raffle, ...] = attrs.field(default=(), converter=_raffles)
    segments: Mapping[str, Condition] = attrs.field(factory=dict, converter=_segments, hash=False)
    leaderboards: tuple[Leaderboard, ...] = attrs.field(default=(), converter=_boards)
    rfm: RFMModel | None = None

    tz: tzinfo = attrs.field(init=False, eq=False)
    all_segments: Mapping[str, Condition] = attrs.field(init=False, eq=False, repr=False)
    _base_by_kind: Mapping[str, tuple[EarningRule, ...]] = attrs.field(init=False, eq=False)
    _base_any: tuple[EarningRule, ...] = attrs.field(init=False, eq=False)
    _mult_by_kind: Mapping[str, tuple[Multiplier, ...]] = attrs.field(init=False, eq=False)
    _mult_any: tuple[Multiplier, ...] = attrs.field(init=False, eq=False)
    _rewards: Mapping[str, Reward] = attrs.field(init=False, eq=False)
    _tier_bonus: Mapping[str, Multiplier] = attrs.field(init=False, eq=False)
    _tickets_by_kind: Mapping[str, tuple[TicketRule, ...]] = attrs.field(init=False, eq=False)
    _tickets_any: tuple[TicketRule, ...] = attrs.field(init=False, eq=False)
    _referrals_by_kind: Mapping[str, tuple[ReferralRule, ...]] = attrs.field(init=False, eq=False)
    _raffles: Mapping[str, Raffle] = attrs.field(init=False, eq=False)

    def __attrs_post_init__(self) -> None:
        problems = self._problems()
        if problems:
            raise ProgramError(problems)
        set_ = object.__setattr__
        set_(self, "tz", zone(self.timezone))
        set_(self, "all_segments", self._all_segments())
        special = (Multiplier, TicketRule, ReferralRule)
        base = [r for r in self.rules if not isinstance(r, special)]
        mults = [r for r in self.rules if isinstance(r, Multiplier)]
        by_kind, any_kind = _index_by_kind(r for r in self.rules if isinstance(r, TicketRule))
        set_(self, "_tickets_by_kind", by_kind)
        set_(self, "_tickets_any", any_kind)
        by_kind, _ = _index_by_kind(r for r in self.rules if isinstance(r, ReferralRule))
        set_(self, "_referrals_by_kind", by_kind)
        set_(self, "_raffles", {r.id: r for r in self.raffles})
        by_kind, any_kind = _index_by_kind(base)
        set_(self, "_base_by_kind", by_kind)
        set_(self, "_base_any", any_kind)
        by_kind, any_kind = _index_by_kind(mults)
        set_(self, "_mult_by_kind", by_kind)
        set_(self, "_mult_any", any_kind)
        set_(self, "_rewards", {r.id: r for r in self.rewards})
        bonuses = {}
        for lvl in self.tiers.levels if self.tiers else ():
            if lvl.multiplier != 1:
                bonuses[lvl.id] = Multiplier(
                    id=f"tier:{lvl.id}",
                    factor=lvl.multiplier,
                    targets=None,
                    on=None,
                    when=always,
                    caps=(),
                )
        set_(self, "_tier_bonus", bonuses)

    def _problems(self) -> list[Problem]:
        problems: list[Problem] = []
        if not isinstance(self.name, str) or not self.name.strip():
            problems.append(
                Problem("program.name", f"must be a non-empty string, got {self.name!r}")
            )
        try:
            zone(self.timezone)
        except ProgramError as error:
            problems.extend(Problem("program.timezone", p.message) for p in error.problems)
        if not self.currencies:
            problems.append(Problem("program.currencies", "must name at least one currency"))
        currencies = set(self.currencies)
        seen: set[str] = set()
        special = (Multiplier, TicketRule, ReferralRule)
        base_ids = {r.id for r in self.rules if not isinstance(r, special)}
        raffle_ids = {r.id for r in self.raffles if isinstance(r, Raffle)}
        for i, rule in enumerate(self.rules):
            if not isinstance(rule, (*special, EarningRule)):
                problems.append(Problem(f"rules[{i}]", f"is not a rule: {rule!r}"))
                continue
            if rule.id in seen:
                problems.append(Problem(f"rules[{i}].id", f"duplicate rule id {rule.id!r}"))
            seen.add(rule.id)
            if isinstance(rule, TicketRule):
                if rule.raffle not in raffle_ids:
                    problems.append(Problem(f"rules[{i}].raffle", f"no raffle {rule.raffle!r}"))
            elif isinstance(rule, Multiplier):
                for target in sorted(rule.targets or ()):
                    if target not in base_ids:
                        what = "a multiplier" if target in seen else "no rule"
                        problems.append(
                            Problem(
                                f"rules[{i}].targets",
                                f"{what} named {target!r}"
                                + (" (multipliers target base rules)" if target in seen else ""),
                            )
                        )
            elif rule.currency not in currencies:
                problems.append(
                    Problem(f"rules[{i}].currency", f"unknown currency {rule.currency!r}")
                )
        if not isinstance(self.expiry, ExpiryPolicy):
            problems.append(Problem("expiry", f"is not an expiry policy: {self.expiry!r}"))
        if self.tiers is not None and not isinstance(self.tiers, Ladder):
            problems.append(Problem("tiers", f"must be made with ladder(...), got {self.tiers!r}"))
        levels = {lvl.id for lvl in self.tiers.levels} if isinstance(self.tiers, Ladder) else set()
        reward_ids: set[str] = set()
        for i, item in enumerate(self.rewards):
            if item.id in reward_ids:
                problems.append(Problem(f"rewards[{i}].id", f"duplicate reward id {item.id!r}"))
            reward_ids.add(item.id)
            if item.currency not in currencies:
                problems.append(
                    Problem(f"rewards[{i}].currency", f"unknown currency {item.currency!r}")
                )
            if item.min_tier is not None and item.min_tier not in levels:
                known = (
                    f" (levels: {', '.join(sorted(levels))})" if levels else " (no tiers defined)"
                )
                problems.append(
                    Problem(f"rewards[{i}].min_tier", f"no tier {item.min_tier!r}{known}")
                )
        problems.extend(self._play_problems(currencies))
        problems.extend(reference_problems(self._conditions(), levels, self._all_segments()))
        return problems

    def _all_segments(self) -> Mapping[str, Condition]:
        """The named segments and, with an RFM model, the RFM segments."""
        if not isinstance(self.rfm, RFMModel):
            return self.segments
        return freeze({**self.segments, **rfm_segments(self.rfm)})

    def _play_problems(self, currencies: set[str]) -> list[Problem]:
        """Badges, raffles, leaderboards, segments and the RFM model: types, unique ids,
        currencies, segment names."""
        problems: list[Problem] = []
        sections: tuple[tuple[str, tuple[object, ...], type], ...] = (
            ("badges", self.badges, Badge),
            ("raffles", self.raffles, Raffle),
            ("leaderboards", self.leaderboards, Leaderboard),
        )
        for section, items, cls in sections:
            ids: set[str] = set()
            for i, item in enumerate(items):
                if not isinstance(item, cls):
                    problems.append(
                        Problem(f"{section}[{i}]", f"is not a {cls.__name__}: {item!r}")
                    )
                    continue
                item_id = str(getattr(item, "id", ""))
                if item_id in ids:
                    problems.append(Problem(f"{section}[{i}].id", f"duplicate id {item_id!r}"))
                ids.add(item_id)
                currency = getattr(item, "currency", None)
                if currency is not None and currency not in currencies:
                    message = f"unknown currency {currency!r}"
                    problems.append(Problem(f"{section}[{i}].currency", message))
        for name in self.segments:
            if not isinstance(name, str) or not name.strip():
                problems.append(Problem("segments", f"a segment needs a name, got {name!r}"))
        if self.rfm is not None and not isinstance(self.rfm, RFMModel):
            problems.append(Problem("rfm", f"must be an RFMModel (or None), got {self.rfm!r}"))
        elif self.rfm is not None:
            problems.extend(
                Problem(
                    f"segments.{name}",
                    f"is also the name of an RFM segment of rfm: rename it (RFM segments: "
                    f"{', '.join(SEGMENT_NAMES)})",
                )
                for name in self.segments
                if name in SEGMENT_NAMES
            )
        return problems

    def _conditions(self) -> Iterator[tuple[str, object]]:
        """Each condition that may name a tier level or a segment, with its path."""
        for i, rule in enumerate(self.rules):
            yield from conditions_of(rule, f"rules[{i}]")
        for i, item in enumerate(self.badges):
            yield from conditions_of(getattr(item, "criterion", None), f"badges[{i}].criterion")
        for i, board in enumerate(self.leaderboards):
            yield from conditions_of(board, f"leaderboards[{i}]")
        yield from ((f"segments.{name}", cond) for name, cond in self.segments.items())
        if isinstance(self.tiers, Ladder):
            yield "tiers.qualifying", self.tiers.qualifying

    @property
    def currency(self) -> str:
        """The default currency: the first one declared."""
        return self.currencies[0]

    def rules_for(self, kind: str) -> tuple[EarningRule, ...]:
        """The base rules that can fire for an action of ``kind``, in declaration order."""
        return self._base_by_kind.get(kind, self._base_any)

    def multipliers_for(self, kind: str) -> tuple[Multiplier, ...]:
        return self._mult_by_kind.get(kind, self._mult_any)

    def ticket_rules_for(self, kind: str) -> tuple[TicketRule, ...]:
        return self._tickets_by_kind.get(kind, self._tickets_any)

    def referral_rules_for(self, kind: str) -> tuple[ReferralRule, ...]:
        return self._referrals_by_kind.get(kind, ())

    def raffle(self, raffle_id: str) -> Raffle:
        try:
            return self._raffles[raffle_id]
        except KeyError:
            raise UnknownRaffle(raffle_id, tuple(self._raffles)) from None

    def leaderboard(self, board_id: str) -> Leaderboard:
        for board in self.leaderboards:
            if board.id == board_id:
                return board
        known = ", ".join(b.id for b in self.leaderboards) or "none"
        raise LookupError(f"no leaderboard {board_id!r} in the programme (leaderboards: {known})")

    def tier_bonus(self, level_id: str | None) -> Multiplier | None:
        """The multiplier a level's benefit adds to every base rule, if any."""
        return None if level_id is None else self._tier_bonus.get(level_id)

    def hold_for(self, rule: EarningRule) -> Hold | None:
        """How a rule's awards are held: its own hold, else the programme's default."""
        return rule_hold(rule) or self.pending

    def reward(self, reward_id: str) -> Reward:
        try:
            return self._rewards[reward_id]
        except KeyError:
            raise UnknownReward(reward_id, tuple(self._rewards)) from None

    def __repr__(self) -> str:
        return (
            f"<Program {self.name!r} ({self.timezone}): {len(self.rules)} rules, "
            f"{len(self.rewards)} rewards>"
        )
