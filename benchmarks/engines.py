"""Pure evaluation of the reference workload: the hand-written if-chains, rewardkit's
engine, the peer rule engines, and ``Rewards.record`` on the memory store, all on the
same actions in the same rounds."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import rewardkit as rk
from rewardkit.context import Context
from rewardkit.engine import Evaluation, evaluate
from rewardkit.events import PointsEarned
from rewardkit.model import (
    Award,
    Entry,
    EntryKind,
    Lot,
    MemberState,
    Outcome,
    blank_state,
    replace_state,
)
from rewardkit.storage import MemoryStore

from .harness import Trial
from .peers import available
from .workload import handwritten_points

__all__ = ["FLOOR", "engine_trials", "fold", "totals"]

FLOOR = "floor: only the objects evaluate returns"


def fold(program: rk.Program, actions: Sequence[rk.Action], states: dict[str, MemberState]) -> int:
    """Evaluate ``actions`` in order, each on its member's latest state (updated in
    ``states``); the total points."""
    total = 0
    for action in actions:
        state = states.get(action.member) or blank_state(action.member)
        result = evaluate(program, state, action)
        states[action.member] = result.state
        total += result.outcome.points
    return total


def _clone(store: MemoryStore) -> MemoryStore:
    """A copy of a memory store that the copy's commits leave the original's untouched
    (states, receipts and entries are immutable: the containers are copied)."""
    copy = MemoryStore()
    copy._members = dict(store._members)
    copy._ledgers = {member: list(links) for member, links in store._ledgers.items()}
    copy._heads = dict(store._heads)
    copy._receipts = dict(store._receipts)
    copy._counters = dict(store._counters)
    copy._due = dict(store._due)
    copy._queue = list(store._queue)
    return copy


def engine_trials(
    program: rk.Program, warm: Sequence[rk.Action], timed: Sequence[rk.Action]
) -> tuple[list[Trial], dict[str, str]]:
    """The trials on ``timed``, after members have done ``warm`` (untimed, once): the
    engine and the memory store start every round from the same warmed-up members."""
    states: dict[str, MemberState] = {}
    fold(program, warm, states)
    store = MemoryStore()
    warm_kit = rk.Rewards(program, store=store)
    for start in range(0, len(warm), 1000):
        warm_kit.record_many(warm[start : start + 1000])
    kits: dict[str, rk.Rewards] = {}

    def fresh_kit() -> None:
        kits["memory"] = rk.Rewards(program, store=_clone(store))

    def record_all() -> int:
        kit = kits["memory"]
        return sum(kit.record(action).points for action in timed)

    def stateless(points: Callable[[rk.Action], int]) -> Callable[[], int]:
        return lambda: sum(map(points, timed))

    floor = _floor(program, timed, states)
    trials = [
        Trial("hand-written if-chains", stateless(handwritten_points), len(timed)),
        Trial("rewardkit evaluate", lambda: fold(program, timed, dict(states)), len(timed)),
        Trial("rewardkit record (memory)", record_all, len(timed), setup=fresh_kit),
        Trial(FLOOR, floor, len(timed)),
    ]
    missing: dict[str, str] = {}
    for name, points in available().items():
        if isinstance(points, str):
            missing[name] = points
        else:
            trials.append(Trial(name, stateless(points), len(timed)))
    return trials, missing


def _floor(
    program: rk.Program, actions: Sequence[rk.Action], states: dict[str, MemberState]
) -> Callable[[], int]:
    """Only make the objects a call of ``evaluate`` returns for each action (its
    context, awards, lots, ledger entries, events, outcome, next state), with the
    points known in advance: no rule, condition, cap, expiry or tier is worked out.
    What no design that keeps a lot, an entry and an event per award can go below."""
    plans = []
    known = dict(states)
    for action in actions:
        state = known.get(action.member) or blank_state(action.member)
        result = evaluate(program, state, action)
        known[action.member] = result.state
        plans.append((action, [(a.rule, a.points) for a in result.outcome.awards]))
    tz = program.tz

    def run() -> int:
        total = 0
        current = dict(states)
        for action, awards in plans:
            state = current.get(action.member) or blank_state(action.member)
            at = action.at
            ctx = Context(action, state, tz, at.astimezone(tz))
            lots, entries, events, made = [], [], [], []
            balance = 0
            for n, (rule, points) in enumerate(awards):
                balance += points
                made.append(Award(rule, "points", points, rule))
                lots.append(Lot(f"{action.id}#{rule}", "points", points, points, at, at,
                                action.id, rule))  # fmt: skip
                entries.append(Entry(action.member, state.entries + n, at, EntryKind.EARN,
                                     "points", points, balance, 0, action.id, rule, 0))  # fmt: skip
                events.append(PointsEarned(action.member, at, action.id, rule, "points", points))
            outcome = Outcome(
                action.member, balance, balance, {}, tuple(events), tuple(entries), tuple(made)
            )
            new = replace_state(state, lots=state.lots + tuple(lots), entries=state.entries + 1)
            current[action.member] = Evaluation(new, outcome).state
            total += outcome.points
            del ctx
        return total

    return run


def totals(program: rk.Program, actions: Sequence[rk.Action]) -> dict[str, int]:
    """Every engine's total points over all of ``actions`` (they must be equal)."""
    found = {
        "hand-written if-chains": sum(map(handwritten_points, actions)),
        "rewardkit evaluate": fold(program, actions, {}),
    }
    kit = rk.Rewards(program)
    found["rewardkit record (memory)"] = sum(kit.record(action).points for action in actions)
    for name, points in available().items():
        if not isinstance(points, str):
            found[name] = sum(map(points, actions))
    return found
