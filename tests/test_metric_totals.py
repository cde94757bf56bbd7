"""The tier metric's running totals: kept by the engine from call to call, so that a
long window is not summed on every action, and always the totals of the metric they
travel with (or absent)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rewardkit as rk
from rewardkit import _fastcodec, _metric_totals
from rewardkit._book import Book
from rewardkit._metric_totals import TOTALS_FROM, Totals, running_totals, window_total
from rewardkit._tiering import contribute
from rewardkit.model import Contribution, MemberState, blank_state
from rewardkit.storage import Snapshot

from ._timekit import local

START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
LEVELS = (rk.level("silver", 300), rk.level("gold", 900))
WINDOWS = {
    "rolling 20 days": {"days": 20},
    "calendar month": "month",
    "lifetime": None,
}


def program(window: object, *, hold: bool = False) -> rk.Program:
    return rk.Program(
        name="Totals",
        timezone="Europe/Madrid",
        rules=(
            rk.per_amount(
                "base",
                on="purchase",
                per="1.00",
                points=1,
                pending=rk.pending_for({"days": 3}) if hold else None,
            ),
        ),
        rewards=(rk.reward("coffee", cost=100),),
        tiers=rk.ladder(metric="points_earned", levels=LEVELS, window=window),  # type: ignore[arg-type]
    )


def are_totals_of(totals: Totals | None, metric: Sequence[Contribution]) -> bool:
    """``totals`` are ``metric``'s running totals, from whatever total they start at
    (pruning drops the first ones, not what they add up to)."""
    if totals is None:
        return True
    steps = [b - a for a, b in pairwise(totals)]
    return steps == [c.value for c in metric]


def kept_totals_are_the_metrics(state: MemberState) -> None:
    if state._metric_totals is not None:
        assert state._canonical
        assert are_totals_of(state._metric_totals, state.metric)


# ---------------------------------------------------------------- the book's upkeep

values = st.one_of(
    st.integers(-50, 200).map(Decimal),
    st.decimals(min_value=-50, max_value=200, places=2, allow_nan=False),
    st.just(Decimal("1234567890123456789.012345678")),  # totals of these would round
)
steps = st.lists(
    st.tuples(
        st.integers(0, 6 * 24 * 60),  # minutes the clock moves on
        # Mostly counted when made; now and then dated that long before.
        st.one_of(st.none(), st.none(), st.none(), st.integers(1, 40 * 24 * 60)),
        values,
    ),
    min_size=12,
    max_size=120,
)


@pytest.mark.parametrize("window", WINDOWS.values(), ids=WINDOWS.keys())
@settings(max_examples=60, deadline=None)
@given(steps=steps, probes=st.lists(st.integers(-40 * 24 * 60, 60), max_size=5))
def test_the_totals_a_book_keeps_are_always_its_metrics_and_give_its_sums(
    window: object, steps: list[tuple[int, int | None, Decimal]], probes: list[int]
) -> None:
    kit = program(window)
    state = blank_state("ana")
    with pytest.MonkeyPatch.context() as patch:  # totals for short metrics too
        patch.setattr(_metric_totals, "TOTALS_FROM", 2)
        run_book(kit, state, steps, probes)


def run_book(
    kit: rk.Program,
    state: MemberState,
    steps: list[tuple[int, int | None, Decimal]],
    probes: list[int],
) -> None:
    ladder = kit.tiers
    assert ladder is not None
    at = START
    for moved, back, value in steps:
        at += timedelta(minutes=moved)
        book = Book(state, at, "test")
        book.metric_totals()
        dated = None if back is None else at - timedelta(minutes=back)
        contribute(kit, book, at, value, dated=dated)
        totals = book.metric_totals()
        assert are_totals_of(totals, book.metric)
        if len(book.metric) >= 2 and all(c.value.adjusted() < 10 for c in book.metric):
            assert totals is not None
        for minutes in probes:
            when = at + timedelta(minutes=minutes)
            summed = ladder.value(book.metric, when, kit.tz)
            fast = ladder.value(book.metric, when, kit.tz, ordered=True, totals=totals)
            assert fast == summed
        state = book.next_state()
        kept_totals_are_the_metrics(state)


def test_a_window_total_that_would_round_is_summed_instead() -> None:
    big = Decimal("9" * 27)
    metric = [Contribution(START, big), Contribution(START, -big), Contribution(START, Decimal(1))]
    totals = (Decimal(0), big, Decimal(0), Decimal(1))
    assert window_total(totals, metric, 0, 3) == 1
    rounding = (Decimal(0), Decimal(1), Decimal("1E+40"), Decimal(1))
    assert window_total(rounding, metric, 1, 2) == -big  # summed: the difference rounds


def test_a_short_metric_keeps_no_totals() -> None:
    metric = [Contribution(START + timedelta(hours=i), Decimal(i)) for i in range(TOTALS_FROM)]
    assert running_totals(metric[:-1]) is None
    totals = running_totals(metric)
    assert totals is not None and totals[-1] == sum(range(TOTALS_FROM))


# ---------------------------------------------------------------- through the engine

calls = st.lists(
    st.tuples(
        st.sampled_from(["buy", "buy", "buy", "refund", "refund in part"]),
        st.integers(1, 40 * 60),  # minutes after the previous call
        st.integers(1, 90),  # amount
        st.integers(0, 200),  # which earlier purchase
    ),
    min_size=TOTALS_FROM,
    max_size=90,
)


@pytest.mark.parametrize("hold", [False, True], ids=["counted at once", "held 3 days"])
@settings(max_examples=25, deadline=None)
@given(calls=calls)
def test_the_engine_decides_tiers_alike_with_kept_totals_and_summing(
    hold: bool, calls: list[tuple[str, int, int, int]]
) -> None:
    """One kit hands its states on (totals kept from call to call); the other reads
    each state back from its JSON before every call (totals made again, from scratch).
    Outcomes and states agree, and every kept total is its metric's."""
    kept = rk.Rewards(program({"days": 20}, hold=hold), store="memory://")
    fresh = rk.Rewards(program({"days": 20}, hold=hold), store="memory://")
    at = local("2026-03-02 08:00")
    bought: list[str] = []
    for number, (what, minutes, amount, which) in enumerate(calls):
        at += timedelta(minutes=minutes)
        snapshot = fresh.store.load("ana")
        if snapshot.version:
            reread = _fastcodec.loads_state(_fastcodec.dumps_state(snapshot.state))
            fresh.store._members["ana"] = Snapshot(reread, snapshot.version)  # type: ignore[attr-defined]
        if what == "buy" or not bought:
            action = rk.Action(id=f"o{number}", member="ana", kind="purchase", at=at, amount=amount)
            outcomes = [kit.record(action) for kit in (kept, fresh)]
            bought.append(action.id)
        else:
            target = bought[which % len(bought)]
            part = None if what == "refund" else Decimal(amount) / 10
            outcomes = []
            for kit in (kept, fresh):
                try:
                    outcomes.append(kit.reverse(target, id=f"r{number}", at=at, amount=part))
                except rk.RewardkitError as error:
                    outcomes.append(type(error).__name__)  # type: ignore[arg-type]
        assert outcomes[0] == outcomes[1]
        kept_totals_are_the_metrics(kept.store.load("ana").state)
    assert kept.store.load("ana").state == fresh.store.load("ana").state
    assert kept.member("ana", at=at).tier == fresh.member("ana", at=at).tier
