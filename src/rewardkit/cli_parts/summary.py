"""The summary after a simulation: points, liability, tiers, badges, raffles, rules.

Figures come from :func:`rewardkit.analytics.analyse_members`, fed by one pass over the
store that also counts badges, raffle tickets and referrals, so they agree with the
manager's HTML report to the point.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal

import attrs

from ..analytics import Assumptions, Insights, analyse_members, ledgers
from ..model import Entry, MemberState
from ..program import Program
from ..storage import Store
from .simulate import Tally

__all__ = ["Summary", "render", "summarise"]


@attrs.frozen
class Summary:
    insights: Insights
    badges: Counter[str]  # badge id -> times awarded, over all members
    tickets: Counter[str]  # raffle id -> tickets held, over all members
    referred: int  # members who were referred by another


def summarise(program: Program, store: Store, at: datetime, assumptions: Assumptions) -> Summary:
    badges: Counter[str] = Counter()
    tickets: Counter[str] = Counter()
    referred = 0

    def counted() -> Iterator[tuple[MemberState, list[Entry]]]:
        nonlocal referred
        for state, entries in ledgers(store):
            for badge, record in state.badges.items():
                if record.awarded:
                    badges[badge] += record.awarded
            for raffle, count in state.tickets.items():
                tickets[raffle] += count
            referred += state.referred_by is not None
            yield state, entries

    insights = analyse_members(program, counted(), at, assumptions)
    return Summary(insights, badges, tickets, referred)


def _local(at: datetime, program: Program) -> str:
    return at.astimezone(program.tz).strftime("%Y-%m-%d %H:%M")


def _count(number: int, one: str) -> str:
    return f"{number:,} {one if number == 1 else one + 's'}"


def _percent(share: Decimal) -> str:
    return f"{share * 100:.1f}%"


def _counts(counts: Counter[str], none: str) -> str:
    if not counts:
        return none
    parts = ", ".join(f"{name} {count:,}" for name, count in counts.most_common())
    return f"{sum(counts.values()):,} ({parts})"


def _lines_block(tally: Tally) -> list[str]:
    text = [
        f"Lines: {tally.lines:,} read, {tally.applied:,} applied, {tally.replayed:,} replayed, "
        f"{tally.not_applied:,} refused"
    ]
    if tally.not_applied:
        reasons = ", ".join(f"{reason} {count:,}" for reason, count in tally.reasons.most_common())
        detail = [f"{tally.malformed:,} malformed"]
        if tally.refused:
            detail.append(f"{tally.refused:,} by the programme: {reasons}")
        text.append(f"  refused lines: {'; '.join(detail)}")
    if tally.stopped:
        text.append("  stopped at the first refused line (--strict)")
    return text


def render(
    summary: Summary, program: Program, tally: Tally, *, store: str, until: datetime | None
) -> str:
    """The summary as text, for a terminal."""
    insights = summary.insights
    totals, liability = insights.totals, insights.liability
    out = [f"{program.name} ({program.timezone}) on {store}", *_lines_block(tally)]
    if tally.first is not None and tally.last is not None:
        period = f"Actions from {_local(tally.first, program)} to {_local(tally.last, program)}"
        out.append(period + (f"; time run to {_local(until, program)}" if until else ""))
    out.append(f"Figures at {_local(insights.at, program)} ({program.timezone})")
    unit = insights.currency
    rows = [
        ("issued", f"{totals.issued:,}"),
        ("redeemed", f"{totals.redeemed:,}"),
        ("expired", f"{totals.expired:,}"),
        ("reversed", f"{totals.reversed:,}"),
        ("outstanding", f"{totals.outstanding:,}"),
    ]
    if totals.pending:
        rows.append(("held", f"{totals.pending:,}"))
    if totals.debt:
        rows.append(("owed (debt)", f"{totals.debt:,}"))
    breakage = "observed" if liability.breakage_observed else "assumed"
    rows.append(
        (
            "liability",
            f"{liability.amount:,.2f}  ({liability.outstanding:,} {unit} at "
            f"{liability.point_value} each, less {_percent(liability.breakage_rate)} "
            f"{breakage} breakage)",
        )
    )
    width = max(len(value.split()[0]) for _, value in rows)
    out.append("")
    out.append(f"Points ({unit})")
    for label, value in rows:
        head, _, rest = value.partition("  ")
        out.append(f"  {label:<12} {head:>{width}}" + (f"  {rest}" if rest else ""))
    out.append("")
    out.append(
        f"Members: {totals.members:,} ({totals.active_members:,} active in the last 30 days)"
    )
    if program.tiers is not None:
        for tier in insights.tiers.distribution:
            out.append(f"  {tier.title:<12} {tier.members:>{width},}  {_percent(tier.share)}")
        moves = insights.tiers.upgrades, insights.tiers.downgrades
        out.append(f"  tier moves: {moves[0]:,} up, {moves[1]:,} down")
    out.append(f"Badges awarded: {_counts(summary.badges, 'none')}")
    out.append(f"Raffle tickets: {_counts(summary.tickets, 'none')}")
    out.append(f"Members referred: {summary.referred:,}")
    out.append("")
    out.extend(_rules_block(insights, program))
    return "\n".join(out)


def _rules_block(insights: Insights, program: Program) -> list[str]:
    costs = sorted(insights.rules, key=lambda cost: (-cost.issued, cost.rule))
    out = [f"Rules ranked by {insights.currency} awarded"]
    if not costs:
        out.append("  (no rule awarded anything)")
    name_width = max((len(cost.rule) for cost in costs), default=0)
    for rank, cost in enumerate(costs, start=1):
        reversed_ = f", {cost.reversed:,} taken back" if cost.reversed else ""
        out.append(
            f"  {rank:>2}. {cost.rule:<{name_width}}  {cost.issued:>9,}  {_percent(cost.share):>6}"
            f"  in {_count(cost.awards, 'award')}{reversed_}"
        )
    fired = {cost.rule for cost in costs}
    silent = [rule.id for rule in program.rules if rule.id not in fired and _awards_points(rule)]
    if silent:
        out.append(f"  never awarded: {', '.join(silent)}")
    return out


def _awards_points(rule: object) -> bool:
    """Rules that award points (raffle ticket rules give tickets, not points)."""
    return not hasattr(rule, "raffle")
