"""Recording many actions in one commit: what ``simulate`` into a SQL store needs.

Each action is evaluated against its member's state as the earlier actions of the batch
left it, exactly as :meth:`Rewards.record` would one after the other; the commits are
then applied by the store in one transaction (``commit_many``), so a batch of 1,000
actions pays for one write to disk instead of 1,000.

An action that pays a referrer ends a stretch of the batch: what came before it is
committed, the referrer is paid, and the rest goes on from there, so the referrer's own
later actions see the bonus exactly as they would one by one.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import attrs

from ._earning import budget_keys
from .engine import evaluate
from .errors import ConcurrencyConflict, IdempotencyConflict, InvalidAction, RewardkitError
from .errors import StoreError as _StoreError
from .events import ReferralRewarded
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

_LOST_RACE = (StaleVersion, DuplicateReceipt, TransactionConflict, CounterLimitExceeded)


def _one(kit: Rewards, action: Action) -> Result:
    try:
        return kit.record(action)
    except (_StoreError, ConcurrencyConflict):
        raise
    except RewardkitError as error:
        return error


def _referrers(outcome: Outcome) -> list[str]:
    """The members this outcome's referral events owe a bonus to."""
    return [
        e.referrer
        for e in outcome.events
        if isinstance(e, ReferralRewarded) and e.role == "referred"
    ]


class _Batch:
    """The state of one batch: what is read once, and the stretch not yet committed."""

    def __init__(self, kit: Rewards, batch: list[Action]) -> None:
        self.kit = kit
        store = kit.store
        ids = [a.id for a in batch if isinstance(a, Action)]
        members = list(dict.fromkeys(a.member for a in batch if isinstance(a, Action)))
        # What the batch needs, read in a few queries when the store can, not one per action.
        known_receipts = getattr(store, "known_receipts", None)
        self.known = None if known_receipts is None else known_receipts("record", ids)
        load_many = getattr(store, "load_many", None)
        self.snapshots: dict[str, Snapshot] = {} if load_many is None else load_many(members)
        self.receipts: dict[str, Receipt] = {}  # the batch's own, by action id
        self.counters: dict[str, int] = {}  # what the stretch adds to shared counters
        self.units: list[Commit] = []  # the stretch's commits
        self.stretch: list[Action] = []  # its actions
        self.results: list[Result] = []  # every action's so far, stretches committed or not
        self.start = 0  # where the stretch's results begin

    def add(self, action: Action) -> Outcome | None:
        """Evaluate one action into the stretch; the outcome when it is a new one."""
        kit = self.kit
        from .facade import _action_request, _differing_field

        self.stretch.append(action)
        if not isinstance(action, Action):
            raise InvalidAction("action", action, "must be a rewardkit.Action")
        request = _action_request(action)
        earlier = self.receipts.get(action.id)
        if earlier is not None:
            if dict(earlier.request) != request:
                detail = _differing_field(earlier.request, request)
                raise IdempotencyConflict("record", action.id, detail)
            self.results.append(attrs.evolve(earlier.outcome, replayed=True))
            return None
        if self.known is None or action.id in self.known:
            replay = kit._replayed("record", action.id, request)
            if replay is not None:
                self.results.append(replay)
                return None
        member, store = action.member, kit.store
        snapshot = self.snapshots.get(member) or store.load(member)
        used = {
            rule: store.counter(key) + self.counters.get(key, 0)
            for rule, key in budget_keys(kit.program, action.kind).items()
        }
        result = evaluate(kit.program, snapshot.state, action, budgets=used)
        receipt = Receipt("record", action.id, member, request, result.outcome)
        self.units.append(kit._unit(member, snapshot.version, result, receipt))
        self.snapshots[member] = Snapshot(result.state, snapshot.version + 1)
        self.receipts[action.id] = receipt
        for change in result.counters:
            self.counters[change.key] = self.counters.get(change.key, 0) + change.delta
        self.results.append(result.outcome)
        return result.outcome

    def commit(self) -> None:
        """Commit the stretch in one transaction, then pay the referrers it owes."""
        kit = self.kit
        try:
            kit.store.commit_many(self.units)  # type: ignore[attr-defined]
        except _LOST_RACE:
            # Another writer changed a member, a receipt or a counter meanwhile: nothing
            # of the stretch landed.  Record its actions one by one, with the usual retries.
            self.results[self.start :] = [_one(kit, action) for action in self.stretch]
            self.snapshots.clear()  # the other writer's changes are unknown here
            for action in self.stretch:  # not committed as evaluated: the store answers
                if isinstance(action, Action):
                    self.receipts.pop(action.id, None)
            self.known = None
        for outcome in self.results[self.start :]:
            if isinstance(outcome, Outcome) and _referrers(outcome):
                for referrer in _referrers(outcome):
                    self.snapshots.pop(referrer, None)  # about to change in the store
                kit._pay_referrers(outcome)
        self.units, self.stretch, self.counters = [], [], {}
        self.start = len(self.results)


def record_batch(kit: Rewards, actions: Iterable[Action]) -> list[Result]:
    """See :meth:`Rewards.record_many`."""
    batch = list(actions)
    if getattr(kit.store, "commit_many", None) is None:  # no batches: one commit per action
        return [_one(kit, action) for action in batch]
    state = _Batch(kit, batch)
    for action in batch:
        try:
            outcome = state.add(action)
        except (_StoreError, ConcurrencyConflict):
            raise
        except RewardkitError as error:
            state.results.append(error)  # refused: changes nothing, the others go on
            continue
        if outcome is not None and _referrers(outcome):
            state.commit()
    state.commit()
    return state.results
