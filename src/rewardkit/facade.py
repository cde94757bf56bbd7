"""Rewards: the facade a host application talks to.

Each call loads a member from the store, runs a pure engine function, and commits the
result atomically with a receipt for its id.  A commit that loses a race is retried
from a fresh load (bounded, with jittered backoff), then :class:`ConcurrencyConflict`.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

import attrs

from . import _codec
from ._earning import budget_keys
from ._values import aware, identifier, money
from .engine import Evaluation, advance, confirm, evaluate, redeem, reverse
from .errors import (
    ConcurrencyConflict,
    IdempotencyConflict,
    InvalidAction,
    RewardkitError,
    RewardUnavailable,
    UnknownAction,
)
from .events import (
    PointsExpired,
    PointsHeld,
    PointsReleased,
    TicketsEarned,
    TierChanged,
    TierGraceStarted,
)
from .facade_boards import BoardCalls
from .facade_play import PlayCalls, not_before, referral_awards
from .model import Action, Entry, EntryKind, MemberState, MemberView, Outcome, SweepReport
from .nudges import Nudge, nudges
from .program import Program
from .storage import (
    Commit,
    CounterLimitExceeded,
    DuplicateReceipt,
    Receipt,
    Snapshot,
    StaleVersion,
    Store,
    TransactionConflict,
    VerifyReport,
    open_store,
    verify,
)

__all__ = ["Rewards"]

T = TypeVar("T")
Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """The only place rewardkit reads the system clock."""
    return datetime.now(UTC)


def _plain_decimal(value: Decimal) -> str:
    return format(value.normalize(), "f")


def _action_request(action: Action) -> dict[str, Any]:
    """An action's canonical content: the same instant in any zone, 12.5 == 12.50.

    Already what JSON gives back (strings, numbers, lists, dicts), so that a stored
    receipt's request compares equal to it without a round trip through JSON."""
    amount = action.amount
    return {
        "id": action.id,
        "member": action.member,
        "kind": action.kind,
        "at": action.at.astimezone(UTC).isoformat(),
        "amount": None if amount is None else _plain_decimal(amount),
        "attributes": _codec.attributes_data(action.attributes),
    }


def _differing_field(stored: Mapping[str, Any], given: Mapping[str, Any]) -> str:
    for key in sorted(set(stored) | set(given)):
        if stored.get(key) != given.get(key):
            return f"{key!r} differs: recorded {stored.get(key)!r}, now {given.get(key)!r}"
    return ""


class Rewards(PlayCalls, BoardCalls):
    """A loyalty programme running on a store.

    >>> kit = Rewards(program)                          # in memory
    >>> kit = Rewards(program, store="sqlite:///rewards.db")
    """

    def __init__(
        self,
        program: Program,
        store: Store | str | None = None,
        *,
        clock: Clock = system_clock,
        max_attempts: int = 8,
    ) -> None:
        if not isinstance(program, Program):
            raise TypeError(f"program must be a rewardkit Program, got {program!r}")
        self.program = program
        self.store: Store = (
            store if store is not None and not isinstance(store, str) else open_store(store)
        )
        self._clock = clock
        self._max_attempts = max_attempts

    # ------------------------------------------------------------ writing

    def record(self, action: Action) -> Outcome:
        """Record what a member did and award the points it earns."""
        if not isinstance(action, Action):
            raise InvalidAction("action", action, "must be a rewardkit.Action")
        request = _action_request(action)
        budgeted = budget_keys(self.program, action.kind)

        def run(state: MemberState) -> Evaluation:
            used = {rule: self.store.counter(key) for rule, key in budgeted.items()}
            return evaluate(self.program, state, action, budgets=used)

        outcome = self._handle(
            "record", action.id, action.member, request, run, canonical=True, look_first=False
        )
        if outcome.events and self.program.referral_rules_for(action.kind):
            self._pay_referrers(outcome)
        return outcome

    def record_many(self, actions: Iterable[Action]) -> list[Outcome | RewardkitError]:
        """Record ``actions`` in order, committed together: one transaction for the
        batch on a SQL store (much faster than one per action), all or nothing.

        The result has one item per action: its outcome, exactly as :meth:`record`
        would have returned it, or the error it was refused with (a refused action
        changes nothing and does not stop the others).  A store failure raises, and
        then nothing of the batch was recorded.  If another process changes a member of
        the batch meanwhile, its actions are recorded one by one instead."""
        from .facade_batch import record_batch

        return record_batch(self, actions)

    def redeem(self, member: str, reward: str, *, id: str, at: datetime | None = None) -> Outcome:
        """Spend a reward's cost now; raises InsufficientPoints / RewardUnavailable /
        UnknownReward and changes nothing when it cannot."""
        member = identifier(member, "member")
        request_id = identifier(id, "id")
        item = self.program.reward(reward)
        when = self._when(at)
        request = {"member": member, "reward": item.id}
        if at is not None:
            request["at"] = when.astimezone(UTC).isoformat()

        def run(state: MemberState) -> Evaluation:
            used = self.store.counter(item.stock_key) if item.stock is not None else 0
            now = not_before(when, at, state)
            return redeem(
                self.program, state, item.id, request_id=request_id, at=now, stock_used=used
            )

        return self._handle("redeem", request_id, member, request, run)

    def reverse(
        self,
        action_id: str,
        *,
        id: str,
        at: datetime | None = None,
        amount: Decimal | str | int | float | None = None,
    ) -> Outcome:
        """Take back what a recorded action earned: in full, or in proportion to a
        refunded ``amount``.  Points already spent become a debt on future earnings."""
        action_id = identifier(action_id, "action_id")
        request_id = identifier(id, "id")
        value = None if amount is None else money(amount, "amount")
        when = self._when(at)
        original = self.store.receipt("record", action_id)
        if original is None:
            raise UnknownAction(action_id)
        action = _codec.from_data(original.request, Action)
        request: dict[str, Any] = {
            "action": action_id,
            "amount": None if value is None else _plain_decimal(value),
        }
        if at is not None:
            request["at"] = when.astimezone(UTC).isoformat()

        tickets: dict[str, int] = {}  # what it earned of raffles not drawn yet
        for event in original.outcome.events:
            if isinstance(event, TicketsEarned):
                tickets[event.raffle] = tickets.get(event.raffle, 0) + event.tickets
        tickets = {r: n for r, n in tickets.items() if self.store.receipt("draw", r) is None}

        bonuses = referral_awards(original.outcome, "referred", unpaid=self.program.currency)
        holds = {
            event.rule: event.release_at
            for event in original.outcome.events
            if isinstance(event, PointsHeld)
        }
        ladder = self.program.tiers
        # held points count toward the tier from their release (see engine.reverse)
        dated = ladder is not None and ladder.metric == "points_earned" and not ladder.count_pending

        def run(state: MemberState) -> Evaluation:
            return reverse(
                self.program,
                state,
                action,
                original.outcome.awards,
                request_id=request_id,
                at=not_before(when, at, state),
                amount=value,
                tickets=tickets,
                bonuses=bonuses,
                holds=holds,
                confirmed=self._confirmations(state, action, holds) if holds and dated else None,
            )

        outcome = self._handle("reverse", request_id, action.member, request, run)
        self._take_back_referrers(action, original.outcome, request_id, when, at)
        return outcome

    def _confirmations(
        self, state: MemberState, action: Action, holds: Mapping[str, object]
    ) -> dict[str, datetime]:
        """When the host confirmed each held award of ``action`` whose lot is gone from
        ``state`` (spent since): the ledger says, since a confirmation's entries are the
        only ``EARN`` entries of a held rule caused by the action.  The ledger is read
        only when such a lot is gone."""
        gone = {
            rule
            for rule in holds
            if not any(lot.action == action.id and lot.rule == rule for lot in state.lots)
        }
        if not gone:
            return {}
        entries = self.store.history(state.id)[: state.entries]
        return {
            entry.reason: entry.at
            for entry in entries
            if entry.cause == action.id and entry.kind == EntryKind.EARN and entry.reason in gone
        }

    # ------------------------------------------------------------ reading

    def preview(self, action: Action) -> Outcome:
        """The outcome ``action`` would have, committing nothing (for a checkout page)."""
        if not isinstance(action, Action):
            raise InvalidAction("action", action, "must be a rewardkit.Action")
        replay = self._replayed("record", action.id, _action_request(action))
        if replay is not None:
            return replay
        state = self.store.load(action.member).state
        budgeted = budget_keys(self.program, action.kind)
        used = {rule: self.store.counter(key) for rule, key in budgeted.items()}
        return evaluate(self.program, state, action, budgets=used).outcome

    def balance(
        self, member: str, at: datetime | None = None, *, currency: str | None = None
    ) -> int:
        """The member's spendable balance at ``at`` (default: now); 0 for an unknown
        member.  What time has done by then counts even before a sweep commits it:
        expired points are gone, released holds are spendable, debts are settled."""
        state, when = self._view(identifier(member, "member"), at)
        return state.balance(currency or self.program.currency, when)

    def member(self, member: str, at: datetime | None = None) -> MemberView:
        """Everything a host shows a member about their standing at ``at`` (default: now)."""
        state, when = self._view(identifier(member, "member"), at)
        usable = tuple(lot for lot in state.lots if lot.usable_at(when))
        balances: dict[str, int] = dict.fromkeys(self.program.currencies, 0)
        for lot in usable:
            balances[lot.currency] = balances.get(lot.currency, 0) + lot.remaining
        ladder = self.program.tiers
        return MemberView(
            id=state.id,
            balance=balances[self.program.currency],
            balances=balances,
            debts=state.debts,
            lots=usable,
            tier=state.tier.level if state.tier else None,
            first_seen=state.first_seen,
            last_activity=state.last_activity,
            actions=state.kinds,
            spent=state.spent,
            pending=state.pending(self.program.currency),
            tier_status=state.tier,
            tier_metric=None
            if ladder is None
            else ladder.value(state.metric, when, self.program.tz, ordered=state._canonical),
            at=when,
            badges=self._earned_badges(state),
            badge_progress=self._badge_progress(state, when),
            tickets=state.tickets,
            referred_by=state.referred_by,
        )

    def nudges(
        self, member: str, at: datetime | None = None, *, since: datetime | None = None
    ) -> list[Nudge]:
        """What to tell the member now: the next reward within reach, points about to
        expire, a tier at risk or within reach, inactivity.  With ``since``, only the
        nudges whose situation began after it (so a host sends each once)."""
        state, when = self._view(identifier(member, "member"), at)
        found = nudges(self.program, state, when)
        if since is not None:
            after = aware(since, "since")
            found = tuple(n for n in found if n.since > after)
        return list(found)

    def confirm(self, action_id: str, *, at: datetime | None = None) -> Outcome:
        """End the hold on a recorded action's pending points: they become spendable now.
        Confirming twice, or an action with nothing held, changes nothing."""
        action_id = identifier(action_id, "action_id")
        when = self._when(at)
        original = self.store.receipt("record", action_id)
        if original is None:
            raise UnknownAction(action_id)
        member = original.member
        for attempt in range(self._max_attempts):
            snapshot = self.store.load(member)
            now = not_before(when, at, snapshot.state)
            result = confirm(self.program, snapshot.state, action_id, at=now)
            if not result.outcome.entries:
                return result.outcome
            unit = self._unit(member, snapshot.version, result, None)
            if self._try_commit(unit, attempt):
                return result.outcome
        raise ConcurrencyConflict(member, self._max_attempts)

    def expire(self, at: datetime | None = None) -> SweepReport:
        """Apply what time has done by ``at`` to every member it concerns: expired
        points, released holds, tier reviews.  Only the members due are touched."""
        when = self._when(at)
        expired: dict[str, int] = {}
        released: dict[str, int] = {}
        changes: list[TierChanged] = []
        graces: list[TierGraceStarted] = []
        touched = 0
        for member in self.store.due(when):
            outcome = self._sweep(member, when)
            if outcome is None:  # another sweep (or a call) got there first
                continue
            touched += 1
            for event in outcome.events:
                if isinstance(event, PointsExpired):
                    expired[event.currency] = expired.get(event.currency, 0) + event.points
                elif isinstance(event, PointsReleased):
                    released[event.currency] = released.get(event.currency, 0) + event.points
                elif isinstance(event, TierChanged):
                    changes.append(event)
                elif isinstance(event, TierGraceStarted):
                    graces.append(event)
        at = when.astimezone(UTC)
        return SweepReport(at, touched, expired, released, tuple(changes), tuple(graces))

    def history(self, member: str, at: datetime | None = None) -> list[Entry]:
        """The member's ledger, oldest first: every point with its cause and reason.

        Entries time has made due by ``at`` (default: now) but no call has committed
        yet (expiries, releases, tier reviews) are included, so the ledger always
        explains ``balance(member, at)``."""
        member = identifier(member, "member")
        when = self._when(at)
        snapshot = self.store.load(member)
        # Entries committed after the load belong to a later state: keep the view whole.
        committed = self.store.history(member)[: snapshot.state.entries]
        return [*committed, *advance(self.program, snapshot.state, when).outcome.entries]

    def verify(self) -> VerifyReport:
        """Check every member's hash-chained ledger; the report names the first broken
        entry of each member whose ledger was changed outside rewardkit."""
        return verify(self.store)

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Rewards:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Rewards {self.program.name!r} on {self.store!r}>"

    # ------------------------------------------------------------ internals

    def _view(self, member: str, at: datetime | None) -> tuple[MemberState, datetime]:
        """The member as a read at ``at`` (default: now) sees them, and that instant."""
        state = self.store.load(member).state
        when = not_before(self._when(at), at, state)
        return advance(self.program, state, when).state, when

    def _load_for_update(self, member: str) -> Snapshot:
        """The member to start a write from: the store's last-seen state when it keeps
        one (``load_for_update``, optional), else a load."""
        load = getattr(self.store, "load_for_update", None)
        return self.store.load(member) if load is None else load(member)

    def _sweep(self, member: str, at: datetime) -> Outcome | None:
        """Commit what time has done to ``member`` by ``at``; None when nothing was due."""
        for attempt in range(self._max_attempts):
            snapshot = self.store.load(member)
            result = advance(self.program, snapshot.state, at)
            if result.state is snapshot.state:
                return None
            unit = self._unit(member, snapshot.version, result, None)
            if self._try_commit(unit, attempt):
                return result.outcome
        raise ConcurrencyConflict(member, self._max_attempts)

    @staticmethod
    def _unit(member: str, version: int, result: Evaluation, receipt: Receipt | None) -> Commit:
        return Commit(
            member=member,
            expected_version=version,
            state=result.state,
            entries=result.outcome.entries,
            receipt=receipt,
            counters=result.counters,
            events=result.outcome.events,
            scores=result.scores,
        )

    def _try_commit(self, unit: Commit, attempt: int) -> bool:
        """Commit; False when the member changed meanwhile (after a jittered pause)."""
        try:
            self.store.commit(unit)
        except CounterLimitExceeded as error:
            if error.key.startswith("budget:"):
                return False  # another member used the budget meanwhile: re-evaluate
            raise RewardUnavailable(
                error.key.split(":", 1)[-1], "out of stock (redeemed concurrently)"
            ) from None
        except DuplicateReceipt:
            return False  # the request's receipt exists: the next try replays it at once
        except (StaleVersion, TransactionConflict):
            time.sleep(random.uniform(0, 0.002 * 2**attempt))
            return False
        return True

    def _when(self, at: datetime | None) -> datetime:
        return self._clock() if at is None else aware(at, "at")

    def _replayed(
        self, operation: str, request_id: str, request: Mapping[str, Any]
    ) -> Outcome | None:
        receipt = self.store.receipt(operation, request_id)
        if receipt is None:
            return None
        if dict(receipt.request) != dict(request):
            detail = _differing_field(receipt.request, request)
            raise IdempotencyConflict(operation, request_id, detail)
        return attrs.evolve(receipt.outcome, replayed=True)

    def _handle(
        self,
        operation: str,
        request_id: str,
        member: str,
        request: Mapping[str, Any],
        run: Callable[[MemberState], Evaluation],
        *,
        canonical: bool = False,
        look_first: bool = True,
    ) -> Outcome:
        # Canonicalise once so a stored receipt compares equal to a new request (unless
        # the caller built it canonical: the same values JSON gives back).
        if not canonical:
            request = _codec.from_json_text(_codec.canonical_json(request))
        for attempt in range(self._max_attempts):
            # ``look_first=False`` (recording an action): no read for a receipt before
            # the first try; the commit refuses a known id (DuplicateReceipt), and the
            # next try finds the receipt and replays it.
            looked = look_first or attempt > 0
            if looked:
                replay = self._replayed(operation, request_id, request)
                if replay is not None:
                    return replay
            # A write that no state can refuse (recording) may start from the state the
            # store last saw, without reading it: a stale one fails the commit, and the
            # next try loads afresh.
            snapshot = self._load_for_update(member) if not looked else self.store.load(member)
            try:
                result = run(snapshot.state)
            except Exception:
                # A known id replays even when the request would now be refused (the
                # programme changed since): its receipt answers, not the rules.
                replay = None if looked else self._replayed(operation, request_id, request)
                if replay is not None:
                    return replay
                raise
            receipt = Receipt(operation, request_id, member, request, result.outcome)
            unit = self._unit(member, snapshot.version, result, receipt)
            if self._try_commit(unit, attempt):
                return result.outcome
        raise ConcurrencyConflict(member, self._max_attempts)
