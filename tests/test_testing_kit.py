"""rewardkit.testing, used on rewardkit itself: the strategies reach a programme's
edges, check_invariants names what breaks, and the state machine plays programmes made
of every built-in policy on the memory and SQLite stores (PostgreSQL when configured).

How the kit catches deliberately broken policies is in test_testing_kit_finds_bugs.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import run_state_machine_as_test

import rewardkit as rk
from rewardkit.engine import advance
from rewardkit.model import Entry, MemberState
from rewardkit.storage import Store
from rewardkit.storage.postgres import PostgresStore
from rewardkit.testing import (
    InvariantViolation,
    RewardsStateMachine,
    actions,
    check_earning_limit,
    check_invariants,
    earnings,
    instants,
    invalid_actions,
    members,
)
from rewardkit.testing import action as one_action
from rewardkit.testing.activity import DEFAULT_MEMBERS, probe

from ._postgres import schemas

MADRID = ZoneInfo("Europe/Madrid")
TICK = timedelta(microseconds=1)
PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))


def madrid(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=MADRID)


def everything(**overrides: Any) -> rk.Program:
    """A programme with a policy of every family: caps, multipliers, holds, a second
    currency, tiers with grace, badges of every criterion, a raffle, a referral."""
    settings: dict[str, Any] = {
        "name": "Everything",
        "timezone": "Europe/Madrid",
        "currencies": ("points", "stars"),
        "rules": [
            rk.per_amount(
                "base", on="purchase", per="1.00", points=1, caps=rk.cap(per="day", points=300)
            ),
            rk.fixed(
                "visit",
                on="visit",
                points=5,
                caps=[rk.cap(per="day", awards=1), rk.cap(per="week", points=20)],
            ),
            rk.first_time("welcome", on="purchase", points=50),
            rk.fixed(
                "pastry",
                on="purchase",
                points=3,
                currency="stars",
                when=rk.attribute_in("category", ["pastry", "cake"])
                & rk.time_between("17:00", "19:00"),
            ),
            rk.per_amount(
                "online", on="order", per="2.00", points=1, pending=rk.pending_for({"days": 14})
            ),
            rk.fixed("booking", on="booking", points=20, pending=rk.until_confirmed),
            rk.multiplier(
                "weekend",
                factor=2,
                targets=["base"],
                when=rk.weekday("sat", "sun"),
                caps=rk.cap(per="day", points=100),
            ),
            rk.multiplier(
                "happy",
                factor="1.5",
                when=rk.time_between("17:00", "19:00")
                | rk.date_between("2026-03-10", "2026-03-12"),
            ),
            rk.tickets("entry", raffle="spring", on="purchase", per="10.00"),
            rk.referral("friend", on="purchase", referrer_points=30, referred_points=10),
        ],
        "rewards": [
            rk.reward("coffee", cost=20),
            rk.reward("mug", cost=60, stock=2),
            rk.reward("cake", cost=5, currency="stars"),
            rk.reward("lounge", cost=30, min_tier="gold"),
        ],
        "expiry": rk.fixed_term({"days": 45}),
        "tiers": rk.ladder(
            metric="points_earned",
            levels=[rk.level("silver", 60), rk.level("gold", 200, multiplier="1.25")],
            window={"months": 3},
            keep=rk.keep_for({"months": 1}),
            grace={"days": 10},
        ),
        "badges": [
            rk.badge("first-visit", rk.count(1, rk.kind("visit")), bonus=5),
            rk.badge("regular", rk.count(3, rk.kind("visit")), repeatable=True, bonus=2),
            rk.badge("big-spender", rk.threshold("amount_spent", 100)),
            rk.badge("two-days", rk.streak(2, "day")),
            rk.badge("burst", rk.within(2, {"hours": 3}), repeatable=True),
        ],
        "raffles": [
            rk.raffle(
                "spring",
                opens_at=madrid("2026-03-01"),
                closes_at=madrid("2026-03-20"),
                prizes=2,
                ticket_cost=15,
                max_tickets=5,
            )
        ],
    }
    settings.update(overrides)
    return rk.Program(**settings)


def play(program: rk.Program, stream: Sequence[rk.Action]) -> rk.Rewards:
    """Record ``stream`` and check every member's invariants after each action."""
    kit = rk.Rewards(program, store="memory://")
    for action in stream:
        kit.record(action)
        assert_invariants(kit, action.at)
    return kit


def assert_invariants(kit: rk.Rewards, at: datetime, who: Sequence[str] = DEFAULT_MEMBERS) -> None:
    for member in who:
        state = advance(kit.program, kit.store.load(member).state, at).state
        check_invariants(kit.program, state, kit.history(member, at=at), at=at)


# ---------------------------------------------------------------- strategies


@PROPERTY
@given(actions(everything()))
def test_actions_are_valid_time_ordered_and_speak_the_programmes_language(
    stream: list[rk.Action],
) -> None:
    found = probe(everything())
    assert len({a.id for a in stream}) == len(stream)
    instants_ = [a.at.astimezone(UTC) for a in stream]
    assert instants_ == sorted(instants_)
    for action in stream:
        assert action.at.tzinfo is not None and action.member in DEFAULT_MEMBERS
        assert action.kind in found.kinds
        assert set(action.attributes) <= {*found.attributes, "note", "channel"}


def test_the_probe_reads_kinds_attributes_amounts_and_calendar_of_a_programme() -> None:
    found = probe(everything())
    assert found.kinds == ("booking", "order", "purchase", "visit")
    assert {"pastry", "cake"} <= set(found.attributes["category"])
    assert {Decimal("0.99"), Decimal("1.00"), Decimal("300.00"), Decimal("99.99")} <= set(
        found.amounts
    )
    assert found.weekdays == {5, 6}
    assert [t.isoformat() for t in found.times_of_day] == ["17:00:00", "19:00:00"]
    assert [d.isoformat() for d in found.dates] == ["2026-03-10", "2026-03-13"]
    assert madrid("2026-03-20").astimezone(UTC) - TICK in found.instants


EDGES: dict[str, tuple[str, Any]] = {  # an edge: where to look from, and how to know it
    "the first microsecond of a happy hour": (
        "2026-03-02",
        lambda a: a.at == madrid("2026-03-03 17:00"),
    ),
    "the last microsecond before a happy hour": (
        "2026-03-02",
        lambda a: a.at == madrid("2026-03-03 17:00") - TICK,
    ),
    "the last microsecond of a happy hour": (
        "2026-03-02",
        lambda a: a.at == madrid("2026-03-03 19:00") - TICK,
    ),
    "the first microsecond of a weekend": (
        "2026-03-05",
        lambda a: a.at == madrid("2026-03-07 00:00"),
    ),
    "the last microsecond of a month": (
        "2026-03-29",
        lambda a: a.at == madrid("2026-04-01 00:00") - TICK,
    ),
    "the DST change": ("2026-03-27", lambda a: a.at == datetime(2026, 3, 29, 1, tzinfo=UTC)),
    "the first day after a date range": (
        "2026-03-11",
        lambda a: a.at == madrid("2026-03-13 00:00"),
    ),
    "the last microsecond of a raffle": (
        "2026-03-18",
        lambda a: a.at == madrid("2026-03-20 00:00") - TICK,
    ),
    "an attribute value a rule tests": (
        "2026-03-02",
        lambda a: a.attributes.get("category") == "cake",
    ),
    "one cent below a threshold": ("2026-03-02", lambda a: a.amount == Decimal("99.99")),
}


@pytest.mark.parametrize("edge", sorted(EDGES))
def test_actions_reach_the_edges_of_the_programme(edge: str) -> None:
    start, reached = EDGES[edge]
    find(
        one_action(
            everything(), at=instants(everything(), start=datetime.fromisoformat(start), days=3)
        ),
        reached,
        settings=settings(
            max_examples=5000,
            database=None,
            deadline=None,
            derandomize=True,
            phases=[Phase.generate],
        ),
    )


@PROPERTY
@given(instants(everything(), start=datetime(2026, 10, 20), days=14))
def test_instants_stay_in_their_window_in_the_programmes_zone(moment: datetime) -> None:
    assert moment.tzinfo == MADRID
    assert madrid("2026-10-20") <= moment < madrid("2026-11-03")


@PROPERTY
@given(invalid_actions())
def test_invalid_actions_are_refused(kwargs: dict[str, Any]) -> None:
    with pytest.raises(rk.InvalidAction):
        rk.Action(**kwargs)


@PROPERTY
@given(members())
def test_members_are_valid_member_ids(member: str) -> None:
    assert rk.Action(id="a", member=member, kind="visit", at=madrid("2026-03-01")).member == member


def run_fresh(code: str) -> str:
    env = {k: v for k, v in os.environ.items() if k != "HYPOTHESIS_NO_PLUGINS"}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_st_from_type_draws_valid_actions_through_the_hypothesis_plugin() -> None:
    """The ``hypothesis`` entry point registers rewardkit's types as soon as Hypothesis
    is imported, in a fresh interpreter that never imported rewardkit.testing."""
    out = run_fresh(
        "import sys\n"
        "from hypothesis import given, settings, strategies as st\n"
        "assert 'rewardkit.testing.activity' not in sys.modules\n"
        "import rewardkit as rk\n"
        "seen = []\n"
        "@settings(max_examples=50, database=None)\n"
        "@given(st.from_type(rk.Action), st.from_type(rk.Program))\n"
        "def check(action, program):\n"
        "    assert isinstance(action, rk.Action) and action.at.tzinfo is not None\n"
        "    assert isinstance(program, rk.Program)\n"
        "    seen.append(rk.Action(**{f: getattr(action, f) for f in\n"
        "        ('id', 'member', 'kind', 'at', 'amount', 'attributes')}) == action)\n"
        "check()\n"
        "print(len(seen), all(seen))\n"
    )
    assert out.split() == ["50", "True"]


def test_importing_rewardkit_testing_needs_neither_hypothesis_nor_pytest() -> None:
    out = run_fresh(
        "import sys, rewardkit.testing as t\n"
        "print(sorted(m for m in ('hypothesis', 'pytest') if m in sys.modules))\n"
        "print(t.check_invariants.__module__, t.RewardsStateMachine.__name__)\n"
    )
    assert out.splitlines() == [
        "[]",
        "rewardkit.testing.invariants RewardsStateMachine",
    ]


# ---------------------------------------------------------------- invariants


@pytest.fixture
def played() -> tuple[rk.Program, MemberState, list[Entry], datetime]:
    program = everything()
    kit = rk.Rewards(program)
    at = madrid("2026-03-02 10:00")
    kit.record(rk.Action(id="a", member="ana", kind="purchase", at=at, amount="40"))
    kit.record(rk.Action(id="b", member="ana", kind="visit", at=at + timedelta(days=1)))
    now = at + timedelta(days=2)
    state = advance(program, kit.store.load("ana").state, now).state
    return program, state, kit.history("ana", at=now), now


def test_a_consistent_member_keeps_every_invariant(
    played: tuple[rk.Program, MemberState, list[Entry], datetime],
) -> None:
    program, state, entries, now = played
    check_invariants(program, state, entries, at=now)


def appended(entries: list[Entry], entry: Entry) -> list[Entry]:
    """``entries`` and a copy of ``entry`` at their end, its running totals made right."""
    last = [e for e in entries if e.currency == entry.currency][-1]
    balance = last.balance + entry.points
    copy = attrs.evolve(entry, seq=len(entries), balance=balance, debt=last.debt)
    return [*entries, attrs.evolve(copy, pending=last.pending)]


def first_lot_with(state: MemberState, **changes: Any) -> MemberState:
    return attrs.evolve(state, lots=(attrs.evolve(state.lots[0], **changes), *state.lots[1:]))


BREAKS: dict[str, Any] = {
    "lots_hold_the_balance": lambda s, e, at: (
        first_lot_with(s, remaining=s.lots[0].remaining - 1),
        e,
    ),
    "balance_is_ledger_sum": lambda s, e, at: (s, [*e[:-1], attrs.evolve(e[-1], points=99)]),
    "ledger_is_complete": lambda s, e, at: (s, e[:-1]),
    "no_usable_expired_lot": lambda s, e, at: (first_lot_with(s, expires_at=at), e),
    "debt_is_paid_first": lambda s, e, at: (
        attrs.evolve(s, debts={"points": 5}),
        [*e[:-1], attrs.evolve(e[-1], debt=5)],
    ),
    "tier_matches_the_ledger": lambda s, e, at: (
        attrs.evolve(s, tier=rk.TierStatus("gold", at, at + timedelta(days=30))),
        e,
    ),
    "badges_match_the_ledger": lambda s, e, at: (attrs.evolve(s, badges={}), e),
    "one_off_badge_awarded_once": lambda s, e, at: (
        attrs.evolve(
            s,
            entries=len(e) + 1,
            badges={**s.badges, "first-visit": attrs.evolve(s.badges["first-visit"], awarded=2)},
        ),
        appended(e, next(x for x in e if x.kind == rk.EntryKind.BADGE)),
    ),
}


@pytest.mark.parametrize("invariant", sorted(BREAKS))
def test_a_broken_member_is_reported_by_the_invariant_it_breaks(
    played: tuple[rk.Program, MemberState, list[Entry], datetime], invariant: str
) -> None:
    program, state, entries, now = played
    broken_state, broken_entries = BREAKS[invariant](state, list(entries), now)
    with pytest.raises(InvariantViolation) as caught:
        check_invariants(program, broken_state, broken_entries, at=now)
    assert caught.value.invariant == invariant
    assert isinstance(caught.value, AssertionError)
    assert str(caught.value).startswith(f"{invariant}: member 'ana': ")


def test_caps_are_checked_from_the_ledger_in_the_programmes_zone() -> None:
    """Two visits awarded on one Madrid day (23:30 and 00:30 UTC): over a cap of one a
    day in Madrid, though not in UTC."""
    uncapped = rk.Program("p", timezone="Europe/Madrid", rules=[rk.fixed("visit", points=5)])
    capped = rk.Program(
        "p",
        timezone="Europe/Madrid",
        rules=[rk.fixed("visit", points=5, caps=rk.cap(per="day", awards=1))],
    )
    kit = rk.Rewards(uncapped)
    for i, hour in enumerate((23, 24)):
        at = datetime(2026, 3, 1, tzinfo=UTC) + timedelta(hours=hour, minutes=30)
        kit.record(rk.Action(id=f"v{i}", member="ana", kind="visit", at=at))
    state, entries = kit.store.load("ana").state, kit.history("ana")
    check_invariants(uncapped, state, entries)
    with pytest.raises(InvariantViolation) as caught:
        check_invariants(capped, state, entries)
    assert caught.value.invariant == "cap_respected"
    assert "rule 'visit' awarded 10 points in 2 award(s) in day 2026-03-02" in str(caught.value)


def test_earnings_count_held_points_when_held_and_not_again_when_released() -> None:
    program = everything()
    kit = rk.Rewards(program)
    at = madrid("2026-03-02 10:00")
    kit.record(rk.Action(id="o", member="ana", kind="order", at=at, amount="20"))
    later = at + timedelta(days=15)
    found = earnings(kit.history("ana", at=later))
    assert [(e.rule, e.points, e.held, e.at) for e in found] == [("online", 10, True, at)]
    check_earning_limit(program, kit.history("ana", at=later), 10)
    with pytest.raises(InvariantViolation, match="earned 10 points in day 2026-03-02, more than 9"):
        check_earning_limit(program, kit.history("ana", at=later), 9)


def test_a_replay_that_changed_the_state_is_reported(
    played: tuple[rk.Program, MemberState, list[Entry], datetime],
) -> None:
    program, state, entries, _ = played
    changed = attrs.evolve(state, last_earned=state.last_earned + 1)
    with pytest.raises(InvariantViolation, match="replay_changed_nothing") as caught:
        check_invariants(program, state, entries, replays=[(state, changed)])
    assert caught.value.details["changed"] == {
        "last_earned": (state.last_earned, state.last_earned + 1)
    }


# ---------------------------------------------------------------- the state machine


class EverythingMachine(RewardsStateMachine):
    program = everything()


class NudgesTellTheTruth(EverythingMachine):
    """A user's own promise, as a check_member override: every nudge is true."""

    def check_member(self, member: str, state: MemberState, entries: Sequence[Entry]) -> None:
        balance = state.balance(self.program.currency, self.now)
        for nudge in self.kit.nudges(member, at=self.now):
            fields = nudge.fields
            if nudge.kind == "reward_within_reach":
                assert fields["balance"] == balance < fields["cost"], nudge
                assert fields["needed"] == fields["cost"] - balance + state.debt(), nudge
            elif nudge.kind == "points_expiring":
                assert 0 < fields["points"] <= balance and fields["expires_at"] > self.now, nudge


TestEverythingOnMemory = EverythingMachine.TestCase
TestEverythingOnMemory.settings = settings(
    EverythingMachine.TestCase.settings, max_examples=100, stateful_step_count=50
)
TestNudgesTellTheTruth = NudgesTellTheTruth.TestCase
TestNudgesTellTheTruth.settings = settings(
    NudgesTellTheTruth.TestCase.settings, max_examples=25, stateful_step_count=30
)


class EverythingOnSQLite(EverythingMachine):
    store_url = "sqlite://"


TestEverythingOnSQLite = EverythingOnSQLite.TestCase
TestEverythingOnSQLite.settings = settings(
    EverythingOnSQLite.TestCase.settings, max_examples=50, stateful_step_count=40
)


@pytest.fixture
def postgres_schema_url() -> Iterator[Any]:
    with schemas() as made:
        yield made


def test_the_machine_plays_everything_on_postgresql(postgres_schema_url: Any) -> None:
    made = postgres_schema_url

    class OnPostgres(EverythingMachine):
        def make_store(self) -> Store | str:
            return PostgresStore(made.url, schema=made.new(), max_connections=2)

    run_state_machine_as_test(
        OnPostgres,
        settings=settings(OnPostgres.TestCase.settings, max_examples=8, stateful_step_count=15),
    )


def machine_for(program: rk.Program, **attributes: Any) -> type[RewardsStateMachine]:
    return type("Machine", (RewardsStateMachine,), {"program": program, **attributes})


def run_machine(
    program: rk.Program, examples: int = 20, steps: int = 30, **attributes: Any
) -> None:
    machine = machine_for(program, **attributes)
    run_state_machine_as_test(
        machine,
        settings=settings(
            machine.TestCase.settings,
            max_examples=examples,
            stateful_step_count=steps,
            database=None,
        ),
    )


EXPIRY = {
    "never_expire": rk.never_expire,
    "fixed_term": rk.fixed_term({"days": 20}),
    "end_of_period": rk.end_of_period("month", 1),
    "inactivity": rk.inactivity({"days": 15}),
    "earliest_of": rk.earliest_of(rk.fixed_term({"days": 40}), rk.inactivity({"days": 10})),
}


@pytest.mark.parametrize("policy", sorted(EXPIRY))
def test_every_expiry_policy_keeps_the_invariants_under_the_machine(policy: str) -> None:
    run_machine(everything(expiry=EXPIRY[policy]))


KEEPS = {
    "keep_for": {"keep": rk.keep_for({"days": 20})},
    "keep_until_period_end": {"keep": rk.keep_until_period_end("month"), "window": "month"},
    "keep_while_active": {"keep": rk.keep_while_active({"days": 20})},
    "no grace": {"keep": rk.keep_for({"days": 20}), "grace": None},
}
METRICS = {
    "points_earned": {"window": {"months": 1}},
    "amount_spent": {"window": "month"},
    "actions": {"window": None},
}


@pytest.mark.parametrize("keep", sorted(KEEPS))
@pytest.mark.parametrize("metric", sorted(METRICS))
def test_every_tier_policy_keeps_the_invariants_under_the_machine(keep: str, metric: str) -> None:
    options: dict[str, Any] = {"grace": {"days": 5}, **METRICS[metric], **KEEPS[keep]}
    thresholds = {"points_earned": (40, 120), "amount_spent": (50, 150), "actions": (3, 8)}
    low, high = thresholds[metric]
    tiers = rk.ladder(
        metric=metric,  # type: ignore[arg-type]
        levels=[rk.level("silver", low), rk.level("gold", high, multiplier="1.25")],
        **options,
    )
    run_machine(everything(tiers=tiers), examples=12)


def test_the_machine_checks_a_daily_promise_and_a_user_invariant() -> None:
    class Generous(RewardsStateMachine):
        program = everything()
        max_points_per_day = 10

    quick = settings(Generous.TestCase.settings, database=None, phases=[Phase.generate])
    with pytest.raises(InvariantViolation, match="max_points_per_day: member") as caught:
        run_state_machine_as_test(Generous, settings=quick)
    assert caught.value.invariant == "max_points_per_day"


# ---------------------------------------------------------------- policy families


@PROPERTY
@given(actions(everything(), max_size=20))
def test_earning_rules_award_what_they_say(stream: list[rk.Action]) -> None:
    """fixed, per_amount and first_time: per_amount gives floor(amount / per) before
    its cap, first_time once per member, and every award is in the ledger."""
    kit = play(everything(), stream)
    for member in DEFAULT_MEMBERS:
        found = earnings(kit.history(member))
        assert sum(e.rule == "welcome" for e in found) == (
            1 if any(a.member == member and a.kind == "purchase" for a in stream) else 0
        )
    for action in stream:
        receipt = kit.store.receipt("record", action.id)
        assert receipt is not None
        base = [a for a in receipt.outcome.awards if a.rule == "base"]
        if action.kind == "purchase" and action.amount is not None and base:
            assert base[0].points <= int(action.amount) and (
                base[0].capped or base[0].points == int(action.amount)
            )


@PROPERTY
@given(actions(everything(), max_size=15))
def test_multipliers_add_the_floor_of_the_product_in_the_programmes_zone(
    stream: list[rk.Action],
) -> None:
    """The weekend double applies on Saturdays and Sundays in Madrid, not in UTC."""
    kit = play(everything(), stream)
    for action in stream:
        receipt = kit.store.receipt("record", action.id)
        assert receipt is not None
        awards = {a.rule: a for a in receipt.outcome.awards}
        weekend = action.at.astimezone(MADRID).weekday() >= 5
        if "base" in awards and awards["base"].points > 0:
            assert ("weekend" in awards) == weekend, (action, awards)
        if "weekend" in awards and not awards["weekend"].capped:
            assert awards["weekend"].points == awards["base"].points


@PROPERTY
@given(actions(everything(), kinds=["visit"], max_size=25, days=10))
def test_caps_are_never_exceeded(stream: list[rk.Action]) -> None:
    """cap(per=day, awards=1) and cap(per=week, points=20) on visits: checked from the
    ledger by check_invariants after every action (see play)."""
    kit = play(everything(), stream)
    for member in DEFAULT_MEMBERS:
        visits = [e for e in earnings(kit.history(member)) if e.rule == "visit"]
        days = [e.at.astimezone(MADRID).date() for e in visits]
        assert len(days) == len(set(days))


@PROPERTY
@given(actions(everything(), max_size=15), st.integers(0, 120))
def test_conditions_decide_with_the_programmes_clock(stream: list[rk.Action], _: int) -> None:
    """The pastry rule fires exactly for pastry or cake bought in [17:00, 19:00) Madrid."""
    kit = play(everything(), stream)
    for action in stream:
        receipt = kit.store.receipt("record", action.id)
        assert receipt is not None
        local = action.at.astimezone(MADRID).time()
        expected = (
            action.kind == "purchase"
            and action.attributes.get("category") in ("pastry", "cake")
            and local.hour in (17, 18)
        )
        assert any(a.rule == "pastry" for a in receipt.outcome.awards) == expected, action


@PROPERTY
@given(actions(everything(), max_size=20, days=30))
def test_badges_one_off_once_repeatable_by_count(stream: list[rk.Action]) -> None:
    kit = play(everything(), stream)
    for member in DEFAULT_MEMBERS:
        visits = sum(1 for a in stream if a.member == member and a.kind == "visit")
        view = kit.member(member, at=madrid("2026-05-01"))
        assert ("first-visit" in view.badges) == (visits >= 1)
        state = kit.store.load(member).state
        regular = state.badges.get("regular")
        assert (regular.awarded if regular else 0) == visits // 3


@PROPERTY
@given(actions(everything(), max_size=20, days=25))
def test_raffle_tickets_respect_the_window_and_the_maximum_and_the_draw_verifies(
    stream: list[rk.Action],
) -> None:
    program = everything()
    kit = play(program, stream)
    raffle = program.raffle("spring")
    for member in DEFAULT_MEMBERS:
        spent = sum(
            a.amount // Decimal(10)
            for a in stream
            if a.member == member and a.kind == "purchase" and a.amount is not None
            and raffle.opens_at <= a.at < raffle.closes_at
        )  # fmt: skip
        assert kit.store.load(member).state.tickets.get("spring", 0) == min(spent, 5)
    draw = kit.draw("spring", seed=b"0123456789abcdef", at=madrid("2026-03-21"))
    assert rk.verify_draw(draw, kit.raffle_entries("spring"))


@PROPERTY
@given(actions(everything(), kinds=["order", "booking"], max_size=10), st.data())
def test_pending_points_are_released_on_time_or_when_confirmed(
    stream: list[rk.Action], data: st.DataObject
) -> None:
    """pending_for(14 days) on orders, until_confirmed on bookings: at any later
    instant, only orders still in their window and bookings not confirmed are held."""
    program = everything()
    kit = play(program, stream)
    later = data.draw(instants(program, start=datetime(2026, 3, 1), days=90))
    later = max([later, *(a.at for a in stream)], key=lambda moment: moment.astimezone(UTC))
    confirmed = {a.id for a in stream if a.kind == "booking" and data.draw(st.booleans())}
    for action_id in sorted(confirmed):
        kit.confirm(action_id, at=later)
    assert_invariants(kit, later)  # no_overdue_hold among them
    kinds = {a.id: a for a in stream}
    for member in DEFAULT_MEMBERS:
        state = advance(program, kit.store.load(member).state, later).state
        for lot in (lot for lot in state.lots if lot.pending):
            action = kinds[lot.action]
            if action.kind == "booking":
                assert action.id not in confirmed
            else:
                assert lot.release_at is not None and later < lot.release_at


@PROPERTY
@given(actions(everything(), kinds=["purchase"], max_size=8), st.sampled_from(DEFAULT_MEMBERS))
def test_a_referral_pays_both_members_once(stream: list[rk.Action], referrer: str) -> None:
    program = everything()
    kit = rk.Rewards(program)
    referred = "newcomer"
    kit.refer(referrer, referred, id="f", at=madrid("2026-02-28"))
    for action in stream:
        kit.record(attrs.evolve(action, member=referred))
        kit.record(attrs.evolve(action, id=f"{action.id}-again", member=referred))
    paid = [e for e in earnings(kit.history(referrer)) if e.rule == "friend"]
    assert len(paid) == (1 if stream else 0)
    assert_invariants(kit, madrid("2026-06-01"), (referrer, referred))


@PROPERTY
@given(
    actions(everything(), kinds=["purchase"], min_size=1, max_size=6),
    st.sampled_from(DEFAULT_MEMBERS),
    st.data(),
)
def test_reversing_a_referred_members_purchases_takes_back_both_referral_bonuses(
    stream: list[rk.Action], referrer: str, data: st.DataObject
) -> None:
    program = everything()
    kit = rk.Rewards(program)
    referred = "newcomer"
    kit.refer(referrer, referred, id="f", at=madrid("2026-02-28"))
    bought = [attrs.evolve(action, member=referred) for action in stream]
    for action in bought:
        kit.record(action)
    end = max(action.at for action in bought)
    for n, action in enumerate(data.draw(st.permutations(bought))):
        if action.amount is not None and action.amount > 1 and data.draw(st.booleans()):
            kit.reverse(action.id, id=f"part-{n}", at=end, amount=action.amount / 2)
        kit.reverse(action.id, id=f"rest-{n}", at=end)
    for member in (referrer, referred):
        assert kit.balance(member, at=end) == 0
        view = kit.member(member, at=end)
        # every point earned (the bonus included) was taken back, or is owed (as for
        # points already spent, or expired, when a reversal comes)
        points = [e for e in kit.history(member, at=end) if e.currency == "points"]
        earned = sum(e.points for e in points if e.kind == "earn")
        taken = -sum(e.points for e in points if e.kind == "reverse")
        assert taken + view.debts.get("points", 0) == earned
    # the bonus never counted toward the tier metric, so taking it back does not either
    assert kit.member(referred, at=end).tier_metric == 0
    assert_invariants(kit, end, (referrer, referred))


@PROPERTY
@given(actions(everything(), kinds=["purchase", "visit"], max_size=12), st.data())
def test_rewards_spend_earliest_expiring_points_first_and_never_oversell(
    stream: list[rk.Action], data: st.DataObject
) -> None:
    from rewardkit.testing import check_spending_order

    program = everything()
    kit = play(program, stream)
    now = stream[-1].at if stream else madrid("2026-03-01")
    sold = 0
    for i in range(data.draw(st.integers(0, 6))):
        member = data.draw(st.sampled_from(DEFAULT_MEMBERS))
        before = advance(program, kit.store.load(member).state, now).state
        try:
            kit.redeem(member, data.draw(st.sampled_from(["coffee", "mug"])), id=f"r{i}", at=now)
        except (rk.InsufficientPoints, rk.RewardUnavailable):
            continue
        check_spending_order(before, kit.store.load(member).state)
        sold += 1
    assert kit.store.counter(program.reward("mug").stock_key) <= 2
    assert_invariants(kit, now)


@PROPERTY
@given(actions(everything(), max_size=15, days=40))
def test_leaderboards_and_segments_follow_the_ledger(stream: list[rk.Action]) -> None:
    board = rk.leaderboard("monthly", metric="points_earned", per="month")
    vip = rk.fixed("vip", on="visit", points=7, when=rk.in_segment("loyal"))
    program = everything(
        leaderboards=[board],
        segments={"loyal": rk.actions_at_least(2, "visit")},
        rules=[*everything().rules, vip],
    )
    kit = play(program, stream)
    for member in DEFAULT_MEMBERS:
        visits = [a for a in stream if a.member == member and a.kind == "visit"]
        vip_awards = [e for e in earnings(kit.history(member)) if e.rule == "vip"]
        assert len(vip_awards) == max(len(visits) - 2, 0)


class DerivedValuesAgree(EverythingMachine):
    """What the engine carries from state to state so a call costs the same whatever a
    member's history (the lots' totals; the metric kept in time order) agrees with what
    recomputing it from the lots and the metric gives."""

    def check_member(self, member: str, state: MemberState, entries: Sequence[Entry]) -> None:
        for kept in (self.kit.store.load(member).state, state):
            sums = kept._sums
            if sums is not None:
                totals: dict[tuple[str, bool], int] = {}
                for lot in kept.lots:
                    key = (lot.currency, lot.pending)
                    totals[key] = totals.get(key, 0) + lot.remaining
                assert {k: v for k, v in sums.items() if v} == totals, (sums, totals)
            newest = kept._newest
            if newest is not ... and kept.lots:
                assert newest is not None and all(lot.earned_at <= newest for lot in kept.lots)
            moments = [self.now, self.now - timedelta(days=200)]
            moments += [lot.earned_at for lot in kept.lots] + [
                lot.expires_at for lot in kept.lots if lot.expires_at is not None
            ]
            for currency in self.program.currencies:
                for at in moments:
                    usable = [lot for lot in kept.lots if lot.currency == currency]
                    expected = sum(lot.remaining for lot in usable if lot.usable_at(at))
                    assert kept.balance(currency, at) == expected, (currency, at)
            ladder = self.program.tiers
            if kept._canonical and ladder is not None:
                times = [c.at for c in kept.metric]
                assert times == sorted(times), times
                tz = self.program.tz
                for at in (self.now, self.now - timedelta(days=200)):
                    assert ladder.value(kept.metric, at, tz, ordered=True) == ladder.value(
                        kept.metric, at, tz
                    )


TestDerivedValuesAgree = DerivedValuesAgree.TestCase
TestDerivedValuesAgree.settings = settings(
    DerivedValuesAgree.TestCase.settings, max_examples=40, stateful_step_count=40
)
