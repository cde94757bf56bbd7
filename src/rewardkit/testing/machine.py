"""A Hypothesis state machine that plays a programme and checks it after every step.

Subclass :class:`RewardsStateMachine` with your programme and let pytest collect its
``TestCase``::

    from rewardkit.testing.machine import RewardsStateMachine

    class CafeMachine(RewardsStateMachine):
        program = cafe                  # your rk.Program
        max_points_per_day = 1000       # a promise, checked from every member's ledger

    TestCafe = CafeMachine.TestCase

Hypothesis then records random actions of your programme's kinds, attributes, amounts
and calendar edges, redeems, reverses (in full and in part), resends ids (which must
replay and change nothing) or reuses them with other content (which must conflict and
change nothing), lets time pass (to expiries, reviews, raffle closes, weekend and
happy-hour edges), sweeps expiry, confirms held points, refers members, buys raffle
tickets and draws raffles, and checks
:func:`~rewardkit.testing.invariants.check_invariants` for every member a step touched.
A failure is shrunk to a short list of steps, printed as code.

Your own properties are ``@invariant()`` methods on the subclass (use ``self.kit``,
``self.now``, :meth:`~RewardsStateMachine.state` and
:meth:`~RewardsStateMachine.ledger`), or an override of
:meth:`~RewardsStateMachine.check_member`, called with each touched member's state and
ledger.  Time only moves forward and never comes from the system clock.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from typing import Any, ClassVar

import attrs
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from .._values import AttributeValue
from ..engine import advance
from ..errors import (
    IdempotencyConflict,
    InsufficientPoints,
    InvalidAction,
    RaffleError,
    ReferralError,
    RewardUnavailable,
)
from ..facade import Rewards
from ..model import Action, Entry, MemberState, Outcome
from ..program import Program
from ..storage import Store
from ._machine_steps import (
    ACTING,
    PICK,
    WAITING,
    Request,
    check_draw,
    has_holds,
    has_referrals,
    later,
    machine_strategy,
    resolved,
    sold_raffles,
    strategies_for,
)
from .activity import DEFAULT_MEMBERS, _first
from .invariants import InvariantViolation, check_earning_limit, check_invariants

__all__ = ["RewardsStateMachine"]

_TICK = timedelta(microseconds=1)
_SHARES = (None, 100, 50, 25, 1)  # a full reversal, or this percentage of the amount
_MAX_TICKETS = 3


class RewardsStateMachine(RuleBasedStateMachine):
    """Subclass with ``program = ...``; see the module docstring.

    Class attributes a subclass may set:

    ``program``: the programme under test (required).
    ``store_url``: ``"memory://"`` (default), ``"sqlite://"`` (a fresh database file
    per example), or override :meth:`make_store` for any other store.
    ``members``: the member ids that act (default ``("ana", "bob", "zoé")``).
    ``start``: the first instant (default :data:`~rewardkit.testing.activity.DEFAULT_START`
    on the programme's wall clock).
    ``max_points_per_day``: a promise checked from every touched member's ledger.
    ``raffle_seeds``: seeds for raffles that published a seed commitment.

    Settings are Hypothesis' defaults for state machines (100 examples of up to 50
    steps, no deadline) without the explain phase; change them with
    ``@settings(...)`` on the subclass.
    """

    program: ClassVar[Program]
    store_url: ClassVar[str] = "memory://"
    members: ClassVar[Sequence[str]] = DEFAULT_MEMBERS
    start: ClassVar[datetime | None] = None
    max_points_per_day: ClassVar[int | None] = None
    raffle_seeds: ClassVar[Mapping[str, bytes]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # The explain phase replays a failure hundreds of times to report which lines
        # of rewardkit ran: slow, and of little use for a programme's designer.
        cls.TestCase.settings = settings(
            deadline=None,
            suppress_health_check=list(HealthCheck),
            phases=[phase for phase in Phase if phase is not Phase.explain],
        )

    def __init__(self) -> None:
        super().__init__()
        program = getattr(type(self), "program", None)
        if not isinstance(program, Program):
            raise TypeError(
                f"{type(self).__name__} needs a programme: set `program = rk.Program(...)` "
                f"on the class, got {program!r}"
            )
        self._directory: str | None = None
        self.now: datetime = _first(program, type(self).start)
        self.kit = Rewards(program, store=self.make_store(), clock=self._clock)
        self.recorded: list[tuple[Action, Outcome]] = []
        self.reversals: dict[str, list[Outcome]] = {}
        self._requests: list[Request] = []
        self._counters: dict[str, int] = {}
        self._touched: set[str] = set()

    # ------------------------------------------------------------ set-up

    def make_store(self) -> Store | str:
        """The store of one example (a fresh one each time)."""
        if self.store_url in ("sqlite://", "sqlite:///"):
            self._directory = tempfile.mkdtemp(prefix="rewardkit-machine-")
            return f"sqlite:///{self._directory}/rewards.db"
        return self.store_url

    def teardown(self) -> None:
        self.kit.close()
        if self._directory is not None:
            shutil.rmtree(self._directory, ignore_errors=True)

    def _clock(self) -> datetime:
        return self.now

    def _new_id(self, prefix: str) -> str:
        number = self._counters.get(prefix, 0)
        self._counters[prefix] = number + 1
        return f"{prefix}{number}"

    def _strategy(self, name: str) -> st.SearchStrategy[Any]:
        return strategies_for(type(self), self.program, self.members)[name]

    # ------------------------------------------------------------ reading

    def state(self, member: str) -> MemberState:
        """The member as time leaves them now (computed, not committed)."""
        return advance(self.program, self.kit.store.load(member).state, self.now).state

    def ledger(self, member: str) -> list[Entry]:
        """The member's ledger now, oldest first (what time did by now included)."""
        return self.kit.history(member, at=self.now)

    def check_member(self, member: str, state: MemberState, entries: Sequence[Entry]) -> None:
        """Override to check your own promises for each touched member (raise an
        AssertionError, or an :class:`InvariantViolation`)."""

    # ------------------------------------------------------------ time

    def _move_to(self, at: datetime) -> None:
        instant = at.astimezone(UTC)
        assert instant >= self.now, f"time must not go back: {instant} < {self.now}"
        if instant > self.now:
            self._touched.update(self.members)
        self.now = instant

    def _spender(self, pick: int) -> str:
        """A member with points to spend now, if any (else any member)."""
        currency = self.program.currency
        rich = [m for m in self.members if self.state(m).balance(currency, self.now) > 0]
        candidates = rich or list(self.members)
        return candidates[pick % len(candidates)]

    def _later(self, choice: tuple[str, int, int]) -> datetime:
        return later(self.kit, self.members, self.now, choice)

    # ------------------------------------------------------------ checks

    def _committed(self, member: str) -> tuple[MemberState, int]:
        return self.kit.store.load(member).state, len(self.kit.store.history(member))

    def _unchanged(self, member: str, before: tuple[MemberState, int], what: str) -> None:
        after = self._committed(member)
        if after != before:
            raise InvariantViolation(
                "refusal_changed_nothing",
                member,
                f"{what} was refused but the member changed",
                entries_before=before[1],
                entries_after=after[1],
            )

    @invariant()
    def touched_members_keep_the_invariants(self) -> None:
        """After every step: every invariant, for every member the step touched."""
        for member in sorted(self._touched):
            state, entries = self.state(member), self.ledger(member)
            check_invariants(self.program, state, entries, at=self.now)
            if self.max_points_per_day is not None:
                check_earning_limit(
                    self.program, entries, self.max_points_per_day, name="max_points_per_day"
                )
            self.check_member(member, state, entries)
        self._touched.clear()

    # ------------------------------------------------------------ actions

    @rule(
        member=machine_strategy("member"),
        kind=machine_strategy("kind"),
        amount=machine_strategy("amount"),
        attributes=machine_strategy("attributes"),
        at=resolved(ACTING, lambda machine, choice: machine._later(choice)),
    )
    def record(
        self,
        member: str,
        kind: str,
        amount: Decimal | None,
        attributes: dict[str, AttributeValue],
        at: datetime,
    ) -> None:
        """A member acts (a new id)."""
        self._move_to(at)
        action = Action(self._new_id("a"), member, kind, at, amount, attributes)
        out = self.kit.record(action)
        balance = self.state(member).balance(self.program.currency, self.now)
        if out.replayed or out.balance != balance:
            raise InvariantViolation(
                "outcome_tells_the_truth",
                member,
                f"recording {action.id} answered replayed={out.replayed}, balance "
                f"{out.balance}; the member's balance is {balance}",
            )
        self.recorded.append((action, out))
        altered = attrs.evolve(action, kind=f"{kind}-again")
        self._requests.append(
            Request(member, lambda kit: kit.record(action), lambda kit: kit.record(altered), out)
        )
        self._touched.add(member)
        if has_referrals(self.program):
            self._touched.update(self.members)  # a referrer may have been paid

    @rule(pick=PICK, altered=st.booleans())
    def resend(self, pick: int, altered: bool) -> None:
        """A request already made is sent again with its id: with the same content it is
        a replay, with other content a conflict; either way nothing changes."""
        if not self._requests:
            return
        request = self._requests[pick % len(self._requests)]
        before = self._committed(request.member)
        if altered:
            try:
                request.alter(self.kit)
            except IdempotencyConflict:
                self._unchanged(request.member, before, "a reused id")
                return
            raise InvariantViolation(
                "reused_id_conflicts", request.member, "a reused id was accepted"
            )
        again = request.send(self.kit)
        after = self._committed(request.member)
        check_invariants(self.program, after[0], self.kit.store.history(request.member),
                         replays=[(before[0], after[0])])  # fmt: skip
        if again != attrs.evolve(request.outcome, replayed=True) or after != before:
            raise InvariantViolation(
                "resent_id_is_replayed",
                request.member,
                "a resent request did not answer its original outcome as a replay",
                original=request.outcome,
                answered=again,
            )

    # ------------------------------------------------------------ spending

    @precondition(lambda self: bool(self.program.rewards))
    @rule(
        member=resolved(PICK, lambda machine, pick: machine._spender(pick)),
        reward=machine_strategy("reward"),
    )
    def redeem(self, member: str, reward: str) -> None:
        """A member redeems a reward now (refused without the points, stock or tier)."""
        before = self._committed(member)
        spendable = self.state(member)
        request_id, at = self._new_id("r"), self.now
        try:
            out = self.kit.redeem(member, reward, id=request_id, at=at)
        except InsufficientPoints as refused:
            self._unchanged(member, before, f"redeeming {reward}")
            if refused.balance >= refused.needed:
                raise InvariantViolation(
                    "refused_only_when_short",
                    member,
                    f"{reward} refused with {refused.balance} for a cost of {refused.needed}",
                ) from refused
            return
        except RewardUnavailable:
            self._unchanged(member, before, f"redeeming {reward}")
            return
        after = self.kit.store.load(member).state
        check_invariants(self.program, after, self.kit.store.history(member),
                         spends=[(spendable, after)])  # fmt: skip
        self._requests.append(
            Request(
                member,
                lambda kit: kit.redeem(member, reward, id=request_id, at=at),
                lambda kit: kit.redeem(member, reward, id=request_id, at=at + _TICK),
                out,
            )
        )
        self._touched.add(member)

    @rule(pick=PICK, share=st.sampled_from(_SHARES))
    def reverse(self, pick: int, share: int | None) -> None:
        """A recorded action is refunded now: in full, or a share of its amount."""
        if not self.recorded:
            return
        action, _ = self.recorded[pick % len(self.recorded)]
        amount = None
        if share is not None and action.amount is not None:
            amount = (action.amount * share / 100).quantize(Decimal("0.01"), ROUND_DOWN)
        before = self._committed(action.member)
        request_id, at = self._new_id("v"), self.now
        try:
            out = self.kit.reverse(action.id, id=request_id, at=at, amount=amount)
        except InvalidAction:  # already fully reversed, or more than is left, or 0
            self._unchanged(action.member, before, f"reversing {action.id}")
            return
        self.reversals.setdefault(action.id, []).append(out)
        self._requests.append(
            Request(
                action.member,
                lambda kit: kit.reverse(action.id, id=request_id, at=at, amount=amount),
                lambda kit: kit.reverse(action.id, id=request_id, at=at + _TICK, amount=amount),
                out,
            )
        )
        self._touched.add(action.member)
        if has_referrals(self.program):
            self._touched.update(self.members)  # a referrer may have given back a bonus

    # ------------------------------------------------------------ time

    @rule(at=resolved(WAITING, lambda machine, choice: machine._later(choice)))
    def wait(self, at: datetime) -> None:
        """Time passes (often to an instant when it changes something)."""
        self._move_to(at)

    @rule()
    def sweep(self) -> None:
        """``expire(now)``: afterwards no member is left due."""
        self.kit.expire(at=self.now)
        for member in self.members:
            due = self.kit.store.load(member).state.next_due()
            if due is not None and due <= self.now:
                raise InvariantViolation(
                    "sweep_leaves_nobody_due",
                    member,
                    f"still due at {due.isoformat()} after expire({self.now.isoformat()})",
                )
        self._touched.update(self.members)

    @precondition(lambda self: has_holds(self.program))
    @rule(pick=PICK)
    def confirm(self, pick: int) -> None:
        """The host confirms an action's held points (its returns window is over)."""
        if not self.recorded:
            return
        action, _ = self.recorded[pick % len(self.recorded)]
        self.kit.confirm(action.id, at=self.now)
        self._touched.add(action.member)

    # ------------------------------------------------------------ play

    @precondition(lambda self: has_referrals(self.program))
    @rule(referrer=machine_strategy("member"), referred=machine_strategy("member"))
    def refer(self, referrer: str, referred: str) -> None:
        """A member says another brought them (refused once the new one is active)."""
        before = self._committed(referred)
        try:
            self.kit.refer(referrer, referred, id=self._new_id("f"), at=self.now)
        except ReferralError:
            self._unchanged(referred, before, f"{referrer} referring {referred}")
            return
        self._touched.update((referrer, referred))

    @precondition(lambda self: bool(sold_raffles(self.program)))
    @rule(
        member=resolved(PICK, lambda machine, pick: machine._spender(pick)),
        raffle=machine_strategy("sold"),
        tickets=st.integers(1, _MAX_TICKETS),
    )
    def enter(self, member: str, raffle: str, tickets: int) -> None:
        """A member buys raffle tickets with points (refused when closed, drawn or short)."""
        before = self._committed(member)
        spendable = self.state(member)
        request_id, at = self._new_id("e"), self.now
        try:
            out = self.kit.enter(raffle, member, id=request_id, tickets=tickets, at=at)
        except (RaffleError, InsufficientPoints):
            self._unchanged(member, before, f"buying tickets for {raffle}")
            return
        after = self.kit.store.load(member).state
        check_invariants(self.program, after, self.kit.store.history(member),
                         spends=[(spendable, after)])  # fmt: skip
        self._requests.append(
            Request(
                member,
                lambda kit: kit.enter(raffle, member, id=request_id, tickets=tickets, at=at),
                lambda kit: kit.enter(raffle, member, id=request_id, tickets=tickets + 1, at=at),
                out,
            )
        )
        self._touched.add(member)

    @precondition(lambda self: bool(self.program.raffles))
    @rule(raffle=machine_strategy("raffle"))
    def draw(self, raffle: str) -> None:
        """A raffle is drawn once it has closed; anyone can verify the draw."""
        check_draw(self.kit, raffle, self.raffle_seeds, self.now)
