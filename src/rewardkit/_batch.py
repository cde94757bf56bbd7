"""Recording many actions in one commit: what ``simulate`` into a SQL store needs.

Each action is evaluated against its member's state as the earlier actions of the batch
left it, exactly as :meth:`Rewards.record` would one after the other; the commits are
then applied by the store in one transaction (``commit_many``), so a batch of 1,000
actions pays for one write to disk instead of 1,000.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import attrs

from ._earning import budget_keys
from .engine import evaluate
from .errors import ConcurrencyConflict, IdempotencyConflict, InvalidAction, RewardkitError
from .errors import StoreError as _StoreError
from .model import Action, Outcome
from .storage import (
    Commit,
    CounterLimitExceeded,
    DuplicateReceipt,
    Receipt,
    Snapshot,
    StaleVersion,
    TransactionConflict,
)

if TYPE_CHECKING:
    from .facade import Rewards

__all__ = ["Result", "record_batch"]

Result = Outcome | RewardkitError


def _one(kit: Rewards, action: Action) -> Result:
    try:
        return kit.record(action)
    except (_StoreError, ConcurrencyConflict):
        raise
    except RewardkitError as error:
        return error


def record_batch(kit: Rewards, actions: Iterable[Action]) -> list[Result]:
    """See :meth:`Rewards.record_many`."""
    from .facade import _action_request, _differing_field

    batch = list(actions)
    commit_many = getattr(kit.store, "commit_many", None)
    if commit_many is None:  # a store without batches: one commit per action
        return [_one(kit, action) for action in batch]
    store, program = kit.store, kit.program
    ids = [a.id for a in batch if isinstance(a, Action)]
    members = list(dict.fromkeys(a.member for a in batch if isinstance(a, Action)))
    # Read what the batch needs in a few queries, when the store can, not one per action.
    known_receipts = getattr(store, "known_receipts", None)
    known = None if known_receipts is None else known_receipts("record", ids)
    load_many = getattr(store, "load_many", None)
    snapshots: dict[str, Snapshot] = {} if load_many is None else load_many(members)
    receipts: dict[str, Receipt] = {}  # the batch's own, by action id
    counters: dict[str, int] = {}  # what the batch adds to shared counters
    units: list[Commit] = []
    results: list[Result] = []
    for action in batch:
        try:
            if not isinstance(action, Action):
                raise InvalidAction("action", action, "must be a rewardkit.Action")
            request = _action_request(action)
            earlier = receipts.get(action.id)
            if earlier is not None:
                if dict(earlier.request) != request:
                    detail = _differing_field(earlier.request, request)
                    raise IdempotencyConflict("record", action.id, detail)
                results.append(attrs.evolve(earlier.outcome, replayed=True))
                continue
            if known is None or action.id in known:
                replay = kit._replayed("record", action.id, request)
                if replay is not None:
                    results.append(replay)
                    continue
            member = action.member
            snapshot = snapshots.get(member) or store.load(member)
            used = {
                rule: store.counter(key) + counters.get(key, 0)
                for rule, key in budget_keys(program, action.kind).items()
            }
            result = evaluate(program, snapshot.state, action, budgets=used)
        except (_StoreError, ConcurrencyConflict):
            raise
        except RewardkitError as error:
            results.append(error)  # refused: changes nothing, the others go on
            continue
        receipt = Receipt("record", action.id, member, request, result.outcome)
        units.append(kit._unit(member, snapshot.version, result, receipt))
        snapshots[member] = Snapshot(result.state, snapshot.version + 1)
        receipts[action.id] = receipt
        for change in result.counters:
            counters[change.key] = counters.get(change.key, 0) + change.delta
        results.append(result.outcome)
    try:
        commit_many(units)
    except (StaleVersion, DuplicateReceipt, TransactionConflict, CounterLimitExceeded):
        # Another writer changed a member, a receipt or a counter meanwhile: nothing of
        # the batch landed.  Record its actions one by one, with the usual retries.
        return [_one(kit, action) for action in batch]
    for outcome in results:
        if isinstance(outcome, Outcome) and outcome.events:
            kit._pay_referrers(outcome)
    return results
