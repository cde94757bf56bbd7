"""One streaming pass over members and their ledgers, then the models over columns.

Per member the pass folds the ledger into period flows, rule costs and tier moves
(bounded by the number of periods, rules and levels) and appends a few numbers to
compact columns; the ledger is dropped before the next member is read.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, tzinfo
from decimal import Decimal
from typing import Protocol

from .._book import TIME
from ..engine import advance
from ..model import Entry, EntryKind, MemberState
from ..program import Program
from ..time import Period, period_bounds, period_key
from ._population import Population, tier_of
from ._results import (
    Assumptions,
    Insights,
    Liability,
    PeriodFlow,
    RuleCost,
    TierCount,
    TierMove,
    Tiers,
    Totals,
)

__all__ = ["LedgerSource", "analyse", "analyse_members", "ledgers"]

# Flow counters, by position.
_ISSUED, _REDEEMED, _EXPIRED, _REVERSED, _ADJUSTED, _EARNING, _UP, _DOWN = range(8)


class _Loaded(Protocol):
    @property
    def state(self) -> MemberState: ...


class LedgerSource(Protocol):
    """What the analytics read from a store: any :class:`rewardkit.Store` fits."""

    def members(self) -> Iterator[str]: ...

    def load(self, member: str) -> _Loaded: ...

    def history(self, member: str) -> list[Entry]: ...


def ledgers(store: LedgerSource) -> Iterator[tuple[MemberState, list[Entry]]]:
    """Each member's stored state with its committed ledger, in member id order: read
    by the store's own ``ledgers()`` when it has one (the SQL stores read a few hundred
    members per query), else one member at a time."""
    scan = getattr(store, "ledgers", None)
    if scan is not None:
        yield from scan()
        return
    for member in store.members():
        state = store.load(member).state
        yield state, store.history(member)[: state.entries]


def analyse(
    program: Program,
    store: LedgerSource,
    at: datetime,
    assumptions: Assumptions | None = None,
) -> Insights:
    """Every figure of the manager's report for ``program``'s members in ``store`` at
    ``at``, in one pass that holds one ledger at a time."""
    return analyse_members(program, ledgers(store), at, assumptions)


def analyse_members(
    program: Program,
    members: Iterable[tuple[MemberState, Iterable[Entry]]],
    at: datetime,
    assumptions: Assumptions | None = None,
) -> Insights:
    """:func:`analyse` over ``(stored state, committed ledger)`` pairs from any source.

    What time has done by ``at`` and no call has committed yet (expiries, releases,
    tier reviews) is applied first, as :meth:`rewardkit.Rewards.history` does; ledger
    entries after ``at`` are ignored.
    """
    if at.tzinfo is None:
        raise ValueError(f"at must be timezone-aware: {at!r}")
    pass_ = _Pass(program, at, assumptions or Assumptions())
    for state, entries in members:
        pass_.add(state, entries)
    return pass_.finish()


class _Calendar:
    """Period keys of instants, from the bounds of the periods already met: a ledger
    visits few periods, so most entries cost a bisection, not a time-zone conversion."""

    def __init__(self, tz: tzinfo, period: Period) -> None:
        self.tz = tz
        self.period = period
        self.starts: list[datetime] = []  # UTC, sorted
        self.ends: list[datetime] = []
        self.keys: list[str] = []

    def key(self, instant: datetime) -> str:
        i = bisect_right(self.starts, instant) - 1
        if i >= 0 and instant < self.ends[i]:
            return self.keys[i]
        local = instant.astimezone(self.tz)
        start, end = period_bounds(local, self.period)
        key = period_key(local, self.period)
        self.starts.insert(i + 1, start.astimezone(UTC))
        self.ends.insert(i + 1, end.astimezone(UTC))
        self.keys.insert(i + 1, key)
        return key

    def first(self) -> datetime | None:
        return self.starts[0] if self.starts else None


def _describe(rule: object) -> str:
    """A rule's repr as a phrase: ``x2 on base when weekday in sat, sun``."""
    text = repr(rule)
    if text.startswith("<") and text.endswith(">"):
        text = text[1:-1]
    _, colon, rest = text.partition(": ")
    text = rest if colon else text
    while True:
        plain = re.sub(r"<([^<>]*)>", r"\1", text)
        if plain == text:
            return plain
        text = plain


class _Pass:
    def __init__(self, program: Program, at: datetime, assumptions: Assumptions) -> None:
        self.program = program
        self.at = at
        self.assumptions = assumptions
        self.currency = assumptions.currency or program.currency
        self.tz = program.tz
        self.ladder = program.tiers
        self.flows: dict[str, list[int]] = {}
        self.calendar = _Calendar(self.tz, assumptions.period)
        self.moves: Counter[tuple[str | None, str | None]] = Counter()
        self.awards: Counter[str] = Counter()
        self.issued_by_rule: Counter[str] = Counter()
        self.reversed_by_rule: Counter[str] = Counter()
        self.tier_counts: Counter[str | None] = Counter()
        self.pending = 0
        self.debt = 0
        self.spend = Decimal(0)
        self.population = Population(program, at, assumptions)

    # ------------------------------------------------------------ the pass

    def _rank(self, level: str | None) -> int:
        if self.ladder is None or level is None:
            return -1
        try:
            return self.ladder.rank(level)
        except KeyError:  # a level the programme no longer has
            return -1

    def _row(self, key: str) -> list[int]:
        row = self.flows.get(key)
        if row is None:
            row = self.flows[key] = [0] * 8
        return row

    def add(self, stored: MemberState, entries: Iterable[Entry]) -> None:
        at = self.at
        due = stored.next_due()
        state: MemberState = stored
        due_entries: tuple[Entry, ...] = ()
        if due is not None and due <= at:  # what time did that no call has committed
            later = advance(self.program, stored, at)
            state, due_entries = later.state, later.outcome.entries
        balance = 0
        earning: set[str] = set()
        for entry in (*entries, *due_entries):
            if entry.at > at:
                continue
            if entry.kind == EntryKind.TIER:
                self._tier_move(entry)
                continue
            if entry.currency != self.currency:
                continue
            balance += entry.points
            kind = entry.kind
            key = self.calendar.key(entry.at)
            row = self._row(key)
            if kind == EntryKind.PENDING:
                if entry.cause != TIME:
                    earning.add(key)
                continue
            if kind == EntryKind.EARN:
                row[_ISSUED] += entry.points
                self.awards[entry.reason] += 1
                self.issued_by_rule[entry.reason] += entry.points
                if entry.cause != TIME:
                    earning.add(key)
            elif kind == EntryKind.REDEEM:
                row[_REDEEMED] -= entry.points
            elif kind == EntryKind.EXPIRE:
                row[_EXPIRED] -= entry.points
            elif kind in (EntryKind.REVERSE, EntryKind.SETTLE):
                row[_REVERSED] -= entry.points
            else:
                row[_ADJUSTED] += entry.points
        for key in earning:
            self.flows[key][_EARNING] += 1
        for reversal in state.reversals.values():
            for rule_currency, points in reversal.taken.items():
                rule, _, currency = rule_currency.rpartition("|")
                if currency == self.currency:
                    self.reversed_by_rule[rule] += points
        self.pending += state.pending(self.currency)
        self.debt += state.debt(self.currency)
        self.spend += state.spent
        self.tier_counts[tier_of(state)] += 1
        self.population.add(state, balance)

    def _tier_move(self, entry: Entry) -> None:
        source, _, target = entry.reason.partition(" -> ")
        move = (None if source == "-" else source, None if target == "-" else target)
        self.moves[move] += 1
        row = self._row(self.calendar.key(entry.at))
        row[_UP if self._rank(move[1]) > self._rank(move[0]) else _DOWN] += 1

    # ------------------------------------------------------------ the figures

    def finish(self) -> Insights:
        totals = self._totals()
        liability = self._liability(totals)
        rfm, churn, lifetime = self.population.figures(totals.spend)
        return Insights(
            program=self.program.name,
            timezone=self.program.timezone,
            currency=self.currency,
            at=self.at,
            assumptions=self.assumptions,
            totals=totals,
            liability=liability,
            flows=self._flows(liability),
            pareto=self.population.pareto(),
            rfm=rfm,
            churn=churn,
            lifetime=lifetime,
            tiers=self._tiers(),
            rules=self._rules(totals),
        )

    def _totals(self) -> Totals:
        sums = [sum(row[i] for row in self.flows.values()) for i in range(5)]
        issued, redeemed, expired, reversed_, adjusted = sums
        ended = redeemed + expired
        return Totals(
            members=len(self.population),
            active_members=self.population.active(),
            issued=issued,
            redeemed=redeemed,
            expired=expired,
            reversed=reversed_,
            adjusted=adjusted,
            outstanding=self.population.outstanding(),
            pending=self.pending,
            debt=self.debt,
            spend=self.spend,
            redemption_rate=Decimal(redeemed) / Decimal(issued) if issued else None,
            observed_breakage=Decimal(expired) / Decimal(ended) if ended else None,
        )

    def _liability(self, totals: Totals) -> Liability:
        assumed = self.assumptions.breakage_rate
        rate = assumed if assumed is not None else totals.observed_breakage or Decimal(0)
        gross = totals.outstanding * self.assumptions.point_value
        return Liability(
            outstanding=totals.outstanding,
            point_value=self.assumptions.point_value,
            breakage_rate=rate,
            breakage_observed=assumed is None,
            gross=gross,
            amount=gross * (1 - rate),
        )

    def _flows(self, liability: Liability) -> tuple[PeriodFlow, ...]:
        first = self.calendar.first()
        if first is None:
            return ()
        period = self.assumptions.period
        value = liability.point_value * (1 - liability.breakage_rate)
        start, end = period_bounds(first.astimezone(self.tz), period)
        last_key = period_key(self.at.astimezone(self.tz), period)
        flows: list[PeriodFlow] = []
        outstanding = 0
        while True:
            key = period_key(start, period)
            row = self.flows.get(key, [0] * 8)
            outstanding += row[_ISSUED] - row[_REDEEMED] - row[_EXPIRED] - row[_REVERSED]
            outstanding += row[_ADJUSTED]
            flows.append(
                PeriodFlow(
                    key=key,
                    start=start,
                    issued=row[_ISSUED],
                    redeemed=row[_REDEEMED],
                    expired=row[_EXPIRED],
                    reversed=row[_REVERSED],
                    adjusted=row[_ADJUSTED],
                    outstanding=outstanding,
                    liability=outstanding * value,
                    earning_members=row[_EARNING],
                    upgrades=row[_UP],
                    downgrades=row[_DOWN],
                )
            )
            if key >= last_key:
                return tuple(flows)
            start, end = period_bounds(end, period)

    def _rules(self, totals: Totals) -> tuple[RuleCost, ...]:
        described: dict[str, str] = {}
        for rule in self.program.rules:
            described[rule.id] = _describe(rule)
        if self.ladder is not None:
            for lvl in self.ladder.levels:
                if lvl.multiplier != 1:
                    described[f"tier:{lvl.id}"] = f"{lvl.title} tier bonus: x{lvl.multiplier}"
        value = self.assumptions.point_value
        costs = []
        for rule_id in sorted(set(self.issued_by_rule) | set(self.reversed_by_rule)):
            issued = self.issued_by_rule[rule_id]
            taken = self.reversed_by_rule[rule_id]
            costs.append(
                RuleCost(
                    rule=rule_id,
                    description=described.get(rule_id, ""),
                    awards=self.awards[rule_id],
                    issued=issued,
                    reversed=taken,
                    net=issued - taken,
                    share=Decimal(issued) / Decimal(totals.issued) if totals.issued else Decimal(0),
                    cost=(issued - taken) * value,
                )
            )
        costs.sort(key=lambda c: (-c.net, c.rule))
        return tuple(costs)

    def _tiers(self) -> Tiers:
        members = len(self.population)
        order: list[str | None] = [None]
        titles: dict[str | None, str] = {None: "No level"}
        if self.ladder is not None:
            for lvl in self.ladder.levels:
                order.append(lvl.id)
                titles[lvl.id] = lvl.title
        order += sorted(k for k in self.tier_counts if k is not None and k not in titles)
        distribution = tuple(
            TierCount(
                level=level,
                title=titles.get(level, level or ""),
                members=self.tier_counts[level],
                share=Decimal(self.tier_counts[level]) / members if members else Decimal(0),
            )
            for level in order
            if self.ladder is not None
        )
        moves = tuple(
            TierMove(src, dst, count, self._rank(dst) > self._rank(src))
            for (src, dst), count in sorted(
                self.moves.items(), key=lambda item: (-item[1], str(item[0]))
            )
        )
        ups = sum(m.count for m in moves if m.upgrade)
        return Tiers(distribution, moves, ups, sum(m.count for m in moves) - ups)
