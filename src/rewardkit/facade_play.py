"""The facade's calls for play: raffle entries and draws, referrals, badges.

A mixin of :class:`rewardkit.Rewards`, kept apart so each file stays readable; it uses
the facade's own load / run / commit loop (``_handle``) for everything it writes."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from ._play import payout_id
from ._reversal import taken_key
from ._values import identifier
from .engine import Evaluation, FollowUp, enter, refer, referral_bonus, take_back_referral
from .errors import InvalidAction, RaffleError, ReferralError
from .events import PointsEarned, ReferralRewarded
from .model import Action, Award, BadgeProgress, MemberState, Outcome
from .program import Program
from .raffles import Draw, commitment, draw_winners, entries_digest
from .storage import DuplicateReceipt, Receipt, Store

__all__ = ["PlayCalls", "not_before", "referral_awards"]


def not_before(when: datetime, given: datetime | None, state: MemberState) -> datetime:
    """The instant of a call on ``state`` at ``when``.  A call that named no instant
    (``given`` is None: "now" by this process's clock) is never before the member's latest
    activity or points: another server's clock, or the host's order time, may be a little
    ahead of this one, and what the member has just earned must be there to see and spend."""
    if given is not None:
        return when
    instants = [lot.earned_at for lot in state.lots]  # a referral bonus is dated elsewhere
    if state.last_activity is not None:
        instants.append(state.last_activity)
    latest = max(instants, default=None)
    return when if latest is None or latest <= when else latest


_MAX_CHAIN = 10_000  # referral chains longer than this are refused as a loop


def referral_awards(outcome: Outcome, role: str, unpaid: str | None = None) -> tuple[Award, ...]:
    """The referral bonuses ``outcome`` paid its member in ``role`` ("referred": with
    the qualifying action; "referrer": the follow-up), as awards of the referral rule,
    read from its events (the programme may have changed since).  ``unpaid``: a
    currency in which a referral that paid this member nothing is an award of 0 (so
    that a reversal records that it took its share of it)."""
    rules = {
        event.rule
        for event in outcome.events
        if isinstance(event, ReferralRewarded) and event.role == role
    }
    paid: dict[tuple[str, str], int] = {}
    for event in outcome.events:
        if isinstance(event, PointsEarned) and event.rule in rules:
            key = (event.rule, event.currency)
            paid[key] = paid.get(key, 0) + event.points
    if unpaid is not None:
        for rule in rules - {rule for rule, _ in paid}:
            paid[(rule, unpaid)] = 0
    return tuple(
        Award(rule, currency, points, f"{rule}: referral bonus")
        for (rule, currency), points in sorted(paid.items())
    )


class PlayCalls:
    """Raffles, referrals and badge views, for :class:`rewardkit.Rewards`."""

    program: Program
    store: Store

    def _when(self, at: datetime | None) -> datetime:
        raise NotImplementedError

    def _handle(
        self,
        operation: str,
        request_id: str,
        member: str,
        request: Mapping[str, Any],
        run: Callable[[MemberState], Evaluation],
    ) -> Outcome:
        raise NotImplementedError

    # ------------------------------------------------------------ raffles

    def enter(
        self, raffle: str, member: str, *, id: str, tickets: int = 1, at: datetime | None = None
    ) -> Outcome:
        """Buy raffle tickets with points (idempotent on ``id``)."""
        member = identifier(member, "member")
        request_id = identifier(id, "id")
        item = self.program.raffle(raffle)
        when = self._when(at)
        request: dict[str, Any] = {"raffle": item.id, "member": member, "tickets": tickets}
        if at is not None:
            request["at"] = when.isoformat()

        def run(state: MemberState) -> Evaluation:
            if self.store.receipt("draw", item.id) is not None:
                raise RaffleError(item.id, "has been drawn: its tickets are no longer sold")
            now = not_before(when, at, state)
            return enter(
                self.program, state, item.id, tickets=tickets, request_id=request_id, at=now
            )

        return self._handle("enter", request_id, member, request, run)

    def raffle_entries(self, raffle: str) -> list[tuple[str, int]]:
        """The ordered entries of a raffle, ``[(member, tickets), ...]`` by member id:
        what a draw is computed from, and what anyone needs to verify it.  Once drawn,
        the entries the draw used (tickets a late, back-dated action earns after the
        draw do not change them)."""
        item = self.program.raffle(raffle)
        drawn = self.store.receipt("draw", item.id)
        if drawn is not None:
            return [(str(m), int(t)) for m, t in drawn.request["ordered"]]
        held = getattr(self.store, "raffle_tickets", None)  # a store's quick way, if any
        if held is not None:
            return list(held(item.id))
        entries = []
        for member in self.store.members():
            count = self.store.load(member).state.tickets.get(item.id, 0)
            if count > 0:
                entries.append((member, count))
        return entries

    def draw(self, raffle: str, *, seed: bytes, at: datetime | None = None) -> Draw:
        """Draw a closed raffle's winners from ``seed``, once: a second call returns the
        same draw with ``replayed=True``."""
        item = self.program.raffle(raffle)
        if not isinstance(seed, bytes) or len(seed) < 16:
            raise InvalidAction("seed", seed, "must be at least 16 random bytes")
        when = self._when(at)
        stored = self.store.receipt("draw", item.id)
        if stored is not None:
            return _draw_from(stored, replayed=True)
        if when < item.closes_at:
            raise RaffleError(item.id, f"is still open: draw it from {item.closes_at} on")
        committed = commitment(seed)
        if item.seed_commitment is not None and committed != item.seed_commitment:
            raise RaffleError(item.id, "the seed does not match the published seed commitment")
        entries = self.raffle_entries(item.id)
        result = Draw(
            raffle=item.id,
            at=when.astimezone(UTC),
            seed=seed.hex(),
            seed_commitment=committed,
            entries_digest=entries_digest(entries),
            winners=draw_winners(item.id, seed, entries, item.prizes),
            prizes=item.prizes,
            entries=len(entries),
            tickets=sum(count for _, count in entries),
        )
        receipt = Receipt(
            "draw", item.id, "", _drawn(result, entries), Outcome(member="", points=0, balance=0)
        )
        try:
            self.store.record(receipt)
        except DuplicateReceipt:  # a concurrent draw won the race: return its result
            again = self.store.receipt("draw", item.id)
            assert again is not None
            return _draw_from(again, replayed=True)
        return result

    # ------------------------------------------------------------ referrals

    def refer(
        self, referrer: str, referred: str, *, id: str, at: datetime | None = None
    ) -> Outcome:
        """Record that ``referrer`` brought ``referred`` (a member with no activity yet).
        Both are rewarded by the programme's referral rule on the new member's first
        qualifying action.  Self-referrals and loops are refused."""
        referrer = identifier(referrer, "referrer")
        referred = identifier(referred, "referred")
        request_id = identifier(id, "id")
        when = self._when(at)
        if referrer == referred:
            raise ReferralError(referrer, referred, "a member cannot refer themselves")
        self._refuse_loop(referrer, referred)
        request: dict[str, Any] = {"referrer": referrer, "referred": referred}
        if at is not None:
            request["at"] = when.isoformat()

        def run(state: MemberState) -> Evaluation:
            return refer(self.program, state, referrer, request_id=request_id, at=when)

        return self._handle("refer", request_id, referred, request, run)

    def _refuse_loop(self, referrer: str, referred: str) -> None:
        seen = {referred}
        current: str | None = referrer
        for _ in range(_MAX_CHAIN):
            if current is None:
                return
            if current in seen:
                raise ReferralError(
                    referrer, referred, f"it would close a referral loop at {current!r}"
                )
            seen.add(current)
            current = self.store.load(current).state.referred_by
        raise ReferralError(referrer, referred, "the referral chain is too long")

    def _pay_referrers(self, outcome: Outcome) -> None:
        """Pay each referrer the bonus this outcome's first qualifying action earned.
        Idempotent, so a replayed action (a retry after a crash) pays what is missing."""
        for event in outcome.events:
            if not isinstance(event, ReferralRewarded) or event.role != "referred":
                continue
            rule = next((r for r in self.program.rules if r.id == event.rule), None)
            if rule is None:  # gone from the programme since: its bonus is not known
                continue
            points = getattr(rule, "referrer_points", 0)
            currency = getattr(rule, "currency", self.program.currency)
            follow_up = FollowUp(
                event.referrer, event.rule, event.referred, points, currency, event.at
            )
            request = {"rule": follow_up.rule, "referred": follow_up.referred}

            def run(state: MemberState, follow_up: FollowUp = follow_up) -> Evaluation:
                return referral_bonus(self.program, state, follow_up, at=follow_up.at)

            self._handle("referral", follow_up.request_id, follow_up.member, request, run)

    def _take_back_referrers(
        self,
        action: Action,
        original: Outcome,
        reversal_id: str,
        when: datetime,
        at: datetime | None,
    ) -> None:
        """Take back from each referrer the share of their bonus that the reversal
        ``reversal_id`` of ``action`` (the qualifying action) took back of the action:
        its own call on the referrer, idempotent, made after the reversal landed (or was
        replayed: a retry after a crash takes back what is missing)."""
        bonuses = referral_awards(original, "referred", unpaid=self.program.currency)
        for event in original.events:
            if not isinstance(event, ReferralRewarded) or event.role != "referred":
                continue
            reversal = self.store.load(action.member).state.reversals.get(action.id)
            keys = {taken_key(bonus) for bonus in bonuses if bonus.rule == event.rule}
            if reversal is None or not keys <= set(reversal.taken):
                # Reversals made before rewardkit took referral bonuses back left the new
                # member's: a replay of one must not take the referrer's alone.
                continue
            payout = payout_id(event.rule, event.referred)
            receipt = self.store.receipt("referral", payout)
            if receipt is None:  # the payout itself never landed (a crash): pay it first
                self._pay_referrers(original)
                receipt = self.store.receipt("referral", payout)
            paid = () if receipt is None else referral_awards(receipt.outcome, "referrer")
            if not any(award.points for award in paid):
                continue
            request = {"payout": payout, "reversal": reversal_id}
            take_back_id = f"{payout}:reversed:{reversal_id}"

            def run(
                state: MemberState,
                payout: str = payout,
                paid: tuple[Award, ...] = paid,
                take_back_id: str = take_back_id,
            ) -> Evaluation:
                # The reversals of the action so far, read afresh on every attempt: the
                # referrer's share follows what the latest of them took.
                latest = self.store.load(action.member).state.reversals[action.id]
                return take_back_referral(
                    self.program,
                    state,
                    payout,
                    paid,
                    refunded=latest.refunded,
                    amount=action.amount,
                    complete=latest.complete,
                    request_id=take_back_id,
                    at=not_before(when, at, state),
                )

            self._handle("referral-reversal", take_back_id, event.referrer, request, run)

    # ------------------------------------------------------------ badges

    def _earned_badges(self, state: MemberState) -> tuple[str, ...]:
        return tuple(
            b.id for b in self.program.badges if b.id in state.badges and state.badges[b.id].awarded
        )

    def _badge_progress(
        self, state: MemberState, at: datetime
    ) -> dict[str, tuple[Decimal, Decimal]]:
        progress = {}
        for badge in self.program.badges:
            record = state.badges.get(badge.id)
            earned = record is not None and record.awarded > 0
            if (badge.hidden and not earned) or (earned and not badge.repeatable):
                continue
            current = record.progress if record else BadgeProgress()
            progress[badge.id] = badge.criterion.standing(current, at, self.program.tz)
        return progress


def _draw_data(draw: Draw) -> dict[str, Any]:
    return {
        "raffle": draw.raffle,
        "at": draw.at.isoformat(),
        "seed": draw.seed,
        "seed_commitment": draw.seed_commitment,
        "entries_digest": draw.entries_digest,
        "winners": list(draw.winners),
        "prizes": draw.prizes,
        "entries": draw.entries,
        "tickets": draw.tickets,
    }


def _drawn(draw: Draw, entries: list[tuple[str, int]]) -> dict[str, Any]:
    """A draw's receipt: the result and the ordered entries it was computed from."""
    return {**_draw_data(draw), "ordered": [[member, count] for member, count in entries]}


def _draw_from(receipt: Receipt, *, replayed: bool) -> Draw:
    data = receipt.request
    return Draw(
        raffle=data["raffle"],
        at=datetime.fromisoformat(data["at"]),
        seed=data["seed"],
        seed_commitment=data["seed_commitment"],
        entries_digest=data["entries_digest"],
        winners=tuple(data["winners"]),
        prizes=int(data["prizes"]),
        entries=int(data["entries"]),
        tickets=int(data["tickets"]),
        replayed=replayed,
    )
