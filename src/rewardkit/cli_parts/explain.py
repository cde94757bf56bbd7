"""Why an action earned what it earned: rule by rule, down to the condition that failed.

The outcome is the engine's own (:func:`rewardkit.engine.evaluate` on the member's state),
so the explanation cannot disagree with what recording the action would do.  For each
rule that can fire for the action's kind, a rule that gave nothing is explained by
evaluating its condition's parts (``all``, ``any``, ``not``, segments) down to the leaf
that failed, next to what the action or the member actually was.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping
from decimal import Decimal

from .._compose import _All, _Any, _Condition, _Constant, _Not, as_condition
from .._earning import budget_keys
from ..conditions import Condition
from ..context import Context
from ..engine import advance, evaluate
from ..events import (
    BadgeAwarded,
    DebtSettled,
    ReferralRewarded,
    TicketsEarned,
    TierChanged,
)
from ..model import Action, Award, MemberState, Outcome
from ..program import Program
from ..raffles import TicketRule
from ..referrals import ReferralRule
from ..rfm import _RFMSegment, rfm_score
from ..rules import Multiplier, rule_budget
from ..storage import Store
from ..time import WEEKDAYS

__all__ = ["budgets_for", "explain", "why_not"]

DASH = "\u2014"


def _attribute(ctx: Context, name: str) -> str:
    attributes = ctx.action.attributes
    return f"{name} is {attributes[name]!r}" if name in attributes else f"no attribute {name!r}"


def _observed(leaf: _Condition, ctx: Context) -> str:
    """What the action or member was, for the leaf condition that failed."""
    kind = type(leaf).__name__
    action, local, member = ctx.action, ctx.local, ctx.member
    name = getattr(leaf, "name", None)
    if kind == "_Weekday":
        return f"action on {WEEKDAYS[local.weekday()]}"
    if kind == "_TimeBetween":
        return f"action at {local:%H:%M}"
    if kind == "_DateBetween":
        return f"action on {local.date().isoformat()}"
    if kind == "_Recurrence":
        return f"action at {WEEKDAYS[local.weekday()]} {local:%Y-%m-%d %H:%M}"
    if kind == "_Kind":
        return f"kind is {action.kind}"
    if kind == "_Compare" and name is None:
        return "no amount" if action.amount is None else f"amount is {action.amount}"
    if kind in ("_Compare", "_AttributeIn", "_HasAttribute") and isinstance(name, str):
        return _attribute(ctx, name)
    if kind == "_TierIn":
        return f"member holds {member.tier.level if member.tier else 'no level'}"
    if kind == "_SpentAtLeast":
        return f"member spent {member.spent}"
    if kind == "_ActionsAtLeast":
        kinds = member.kinds
        what = getattr(leaf, "kind", None)
        done = sum(kinds.values()) if what is None else kinds.get(what, 0)
        return f"member has {done}"
    if kind == "_InactiveFor":
        last = member.last_activity
        return "first action" if last is None else f"last active {last.astimezone(ctx.tz):%Y-%m-%d}"
    if isinstance(leaf, _RFMSegment):
        score = rfm_score(member, leaf.model, action.at)
        if score is None:
            return "member has no visit yet"
        r, f, m = score.recency, score.frequency, score.monetary
        return f"member is {score.segment} (R {r}, F {f}, M {m})"
    return ""


def _describe(cond: _Condition) -> str:
    return cond._describe()


def why_not(condition: Condition, ctx: Context) -> str | None:
    """Why ``condition`` does not hold for ``ctx`` (``None``: it holds), naming the
    leaf that failed: ``weekday in sat, sun failed (action on wed)``."""
    cond = as_condition(condition)
    if cond(ctx):
        return None
    if isinstance(cond, _All):
        for part in cond.conditions:
            reason = why_not(part, ctx)
            if reason is not None:
                return reason
    if isinstance(cond, _Any):
        reasons = [why_not(part, ctx) or _describe(part) for part in cond.conditions]
        return f"none of these held: {'; '.join(reasons)}"
    if isinstance(cond, _Not):
        inner = cond.condition
        seen = "" if isinstance(inner, (_All, _Any, _Not)) else _observed(inner, ctx)
        return f"not ({_describe(inner)}) failed ({seen or _describe(inner) + ' holds'})"
    if type(cond).__name__ == "_InSegment":
        segment = ctx.segments.get(str(getattr(cond, "name", "")))
        because = None if segment is None else why_not(as_condition(segment), ctx)
        head = f"{_describe(cond)} failed"
        return f"{head}: {because}" if because else head
    if isinstance(cond, _Constant):
        return "never holds"
    seen = _observed(cond, ctx)
    return f"{_describe(cond)} failed" + (f" ({seen})" if seen else "")


def _cap_text(rule: object) -> str:
    caps = getattr(rule, "caps", ())
    limits = [repr(cap)[1:-1] for cap in caps]
    budget = rule_budget(rule)
    if budget is not None:
        limits.append(f"a promotion budget of {budget:,} across all members")
    return " or ".join(limits) if limits else "a limit"


def _raw_points(rule: object, ctx: Context) -> int | None:
    """What a base rule would give before caps and budgets."""
    points = getattr(rule, "points", None)
    value = points(ctx) if callable(points) else None
    return value if isinstance(value, int) else None


def _base_reason(rule: object, ctx: Context, award: Award | None) -> str:
    if award is not None and award.points > 0:
        if award.capped:
            whole = _raw_points(rule, ctx)
            of = f" of {whole:,}" if whole is not None and whole > award.points else ""
            return f"yes, +{award.points:,}{of} (capped: {_cap_text(rule)})"
        return f"yes, +{award.points:,}"
    if award is not None and award.capped:
        return f"no {DASH} {_cap_text(rule)} reached"
    when = getattr(rule, "when", None)
    reason = None if when is None else why_not(when, ctx)
    if reason is not None:
        return f"no {DASH} {reason}"
    kind = type(rule).__name__
    if kind == "_PerAmount":
        if ctx.action.amount is None:
            return f"no {DASH} the action has no amount"
        return f"no {DASH} amount {ctx.action.amount} is less than {getattr(rule, 'per', '?')}"
    if kind == "_FirstTime":
        done = ctx.member.kinds.get(ctx.action.kind, 0)
        return f"no {DASH} not the member's first {ctx.action.kind} ({done} before)"
    return f"no {DASH} it gave no points"


def _ticket_reason(program: Program, rule: TicketRule, ctx: Context, given: int) -> str:
    if given:
        return f"yes, {given} ticket{'s' if given != 1 else ''} for {rule.raffle}"
    reason = why_not(rule.when, ctx)
    if reason is not None:
        return f"no {DASH} {reason}"
    raffle = program.raffle(rule.raffle)
    at = ctx.action.at
    if not raffle.is_open(at):
        opens, closes = (
            f"{t.astimezone(ctx.tz):%Y-%m-%d %H:%M}" for t in (raffle.opens_at, raffle.closes_at)
        )
        return f"no {DASH} raffle {raffle.id} is not open (from {opens} until {closes})"
    held = ctx.member.tickets.get(raffle.id, 0)
    if raffle.room(held) == 0:
        return f"no {DASH} at most {raffle.max_tickets} tickets per member, and they hold {held}"
    return f"no {DASH} the amount earns no ticket"


def _multiplier_reason(rule: Multiplier, ctx: Context, award: Award | None) -> str:
    if not rule.applies(ctx):
        reason = why_not(rule.when, ctx)
        return f"no {DASH} {reason or 'it does not apply'}"
    targets = "every base rule" if rule.targets is None else ", ".join(sorted(rule.targets))
    if award is None:
        return f"applies (x{rule.factor} on {targets}), but they earned nothing"
    if award.capped:
        return f"yes, +{award.points:,} (x{rule.factor} on {targets}; capped: {_cap_text(rule)})"
    return f"yes, +{award.points:,} (x{rule.factor} on {targets})"


def _title(program: Program, level: str) -> str:
    ladder = program.tiers
    return ladder.get(level).title if ladder is not None else level


def _no_rules(program: Program, kind: str) -> str:
    kinds = sorted({k for rule in program.rules if rule.on is not None for k in rule.on})
    close = difflib.get_close_matches(kind, kinds, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"  (no rule fires for {kind!r}: the rules are for {', '.join(kinds)}{hint})"


def _local(ctx: Context) -> str:
    local = ctx.local
    return f"{WEEKDAYS[local.weekday()]} {local:%Y-%m-%d %H:%M} ({ctx.tz})"


def _header(program: Program, ctx: Context) -> Iterator[str]:
    action = ctx.action
    parts = [action.kind]
    if action.amount is not None:
        parts.append(f"amount {action.amount}")
    parts.append(_local(ctx))
    yield f"Action {action.id!r} by {action.member!r}: {', '.join(parts)}"
    if action.attributes:
        shown = ", ".join(f"{key}={value!r}" for key, value in action.attributes.items())
        yield f"  attributes: {shown}"
    member = ctx.member
    balance = member.balance(program.currency, action.at)
    tier = _title(program, member.tier.level) if member.tier else "no level"
    level = "" if program.tiers is None else f"{tier}, "
    done = sum(member.kinds.values())
    yield (
        f"Member before: {balance:,} {program.currency}, {level}{done:,} earlier "
        f"action{'s' if done != 1 else ''} ({member.kinds.get(action.kind, 0):,} {action.kind})"
    )


def _rule_lines(program: Program, ctx: Context, outcome: Outcome) -> Iterator[str]:
    """One line per rule that can fire for the action's kind, in the programme's order."""
    kind = ctx.action.kind
    relevant = [rule for rule in program.rules if rule.on is None or kind in rule.on]
    others = len(program.rules) - len(relevant)
    yield f"Rules for {kind!r} ({len(relevant)}; {others} more are for other kinds):"
    if not relevant:
        yield _no_rules(program, kind)
    awards = {award.rule: award for award in outcome.awards}
    tickets = {e.rule: e.tickets for e in outcome.events if isinstance(e, TicketsEarned)}
    referrals = {e.rule: e.points for e in outcome.events if isinstance(e, ReferralRewarded)}
    width = max((len(rule.id) for rule in relevant), default=0) + 1
    for rule in relevant:
        award = awards.get(rule.id)
        if isinstance(rule, Multiplier):
            text = _multiplier_reason(rule, ctx, award)
        elif isinstance(rule, TicketRule):
            text = _ticket_reason(program, rule, ctx, tickets.get(rule.id, 0))
        elif isinstance(rule, ReferralRule):
            paid = referrals.get(rule.id)
            why = why_not(rule.when, ctx) or "not a referred member's first qualifying action"
            text = f"yes, +{paid:,}" if paid is not None else f"no {DASH} {why}"
        else:
            text = _base_reason(rule, ctx, award)
        yield f"  {rule.id + ':':<{width}} {text}"
    for award in outcome.awards:
        if award.rule.startswith("tier:"):
            level = award.rule.removeprefix("tier:")
            bonus = program.tier_bonus(level)
            factor = bonus.factor if bonus is not None else Decimal(1)
            title = _title(program, level)
            yield f"  {award.rule}: yes, +{award.points:,} ({title} level: x{factor})"


def _event_lines(program: Program, outcome: Outcome) -> Iterator[str]:
    """What else the action brings: tier changes, badges, settled debts."""
    for event in outcome.events:
        if isinstance(event, TierChanged):
            before, after = (
                "no level" if level is None else _title(program, level)
                for level in (event.previous, event.level)
            )
            yield f"  level: {before} -> {after}"
        elif isinstance(event, BadgeAwarded):
            bonus = f" (+{event.bonus} {program.currency})" if event.bonus else ""
            yield f"  badge: {event.badge} awarded{bonus}"
        elif isinstance(event, DebtSettled):
            yield f"  {event.points} went to settle a debt ({event.remaining_debt} still owed)"


def explain(
    program: Program,
    state: MemberState,
    action: Action,
    budgets: Mapping[str, int] | None = None,
) -> list[str]:
    """The explanation of recording ``action`` for the member in ``state``, as lines."""
    now = advance(program, state, action.at).state
    ctx = Context.of(action, now, program.tz, program.all_segments)
    outcome = evaluate(program, state, action, budgets=budgets).outcome
    total = _total(program, outcome.points, outcome.balance, outcome.pending, outcome.expired)
    return [
        *_header(program, ctx),
        *_rule_lines(program, ctx, outcome),
        total,
        *_event_lines(program, outcome),
    ]


def _total(program: Program, points: int, balance: int, pending: int, expired: int) -> str:
    text = f"Total: {points:+,} {program.currency}, balance {balance:,}"
    if pending:
        text += f", {pending:,} held until the hold ends"
    if expired:
        text += f" ({expired:,} expired before the action)"
    return text


def budgets_for(program: Program, kind: str, store: Store) -> dict[str, int]:
    """What each budgeted rule for ``kind`` has awarded so far, from a store's counters."""
    return {rule: store.counter(key) for rule, key in budget_keys(program, kind).items()}
