"""Badges: each criterion at its edges (the 9th and 10th action, a broken streak, a DST
day inside a streak, weeks across a new year, the window's edge), thresholds, repeatable
and one-off awards, bonus points in the ledger, hidden badges, progress on the member view
and as a nudge, and a property that a one-off badge is never awarded twice."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

import rewardkit as rk
from rewardkit.engine import evaluate
from rewardkit.time import resolve_local

from ._timekit import MADRID, TICK, ledger_explains_balance, local


def no_clock() -> datetime:
    raise AssertionError("every call in these tests names its instant")


def badge_program(*badges: rk.Badge, **options: object) -> rk.Program:
    return rk.Program(
        name="Badges",
        timezone="Europe/Madrid",
        rules=(
            rk.per_amount("base", on="purchase", per="1.00", points=1),
            rk.fixed("visit", on="visit", points=1),
        ),
        badges=badges,
        **options,  # type: ignore[arg-type]
    )


def kit_for(*badges: rk.Badge, **options: object) -> rk.Rewards:
    return rk.Rewards(badge_program(*badges, **options), store="memory://", clock=no_clock)


def act(
    kit: rk.Rewards,
    id: str,
    when: datetime,
    kind: str = "visit",
    amount: str | None = None,
    member: str = "ana",
) -> rk.Outcome:
    return kit.record(rk.Action(id=id, member=member, kind=kind, at=when, amount=amount))


def awarded(outcome: rk.Outcome) -> list[tuple[str, int]]:
    return [(e.badge, e.times) for e in outcome.events if isinstance(e, rk.BadgeAwarded)]


def days(start: str, count: int) -> list[datetime]:
    """Noon on ``count`` consecutive Madrid days from ``start``."""
    first = datetime.fromisoformat(f"{start} 12:00").replace(tzinfo=MADRID)
    return [first + timedelta(days=n) for n in range(count)]


# ---------------------------------------------------------------- count


def test_a_count_badge_is_not_awarded_at_the_ninth_action_but_at_the_tenth() -> None:
    kit = kit_for(rk.badge("regular", rk.count(10, rk.kind("visit"))))
    outcomes = [act(kit, f"v{n}", when) for n, when in enumerate(days("2026-03-02", 10), 1)]
    assert [awarded(o) for o in outcomes[:9]] == [[]] * 9
    assert awarded(outcomes[9]) == [("regular", 1)]
    assert kit.member("ana", at=local("2026-03-12 00:00")).badges == ("regular",)


def test_a_count_badge_counts_only_the_actions_its_condition_matches() -> None:
    kit = kit_for(rk.badge("big-spender", rk.count(2, rk.amount_at_least("20.00"))))
    act(kit, "p1", local("2026-03-02 10:00"), "purchase", "19.99")
    act(kit, "p2", local("2026-03-02 11:00"), "purchase", "20.00")
    act(kit, "v1", local("2026-03-02 12:00"))
    assert awarded(act(kit, "p3", local("2026-03-02 13:00"), "purchase", "25.00")) == [
        ("big-spender", 1)
    ]


# ---------------------------------------------------------------- streak


def test_a_day_streak_is_awarded_on_its_last_consecutive_day() -> None:
    kit = kit_for(rk.badge("week-long", rk.streak(7, per="day")))
    outcomes = [act(kit, f"v{n}", when) for n, when in enumerate(days("2026-03-02", 7))]
    assert [awarded(o) for o in outcomes] == [[]] * 6 + [[("week-long", 1)]]


def test_a_broken_streak_starts_again_from_one() -> None:
    kit = kit_for(rk.badge("three-days", rk.streak(3, per="day")))
    act(kit, "mon", local("2026-03-02 09:00"))
    act(kit, "tue", local("2026-03-03 09:00"))
    # Wednesday is missed: Thursday starts a new streak of one.
    assert awarded(act(kit, "thu", local("2026-03-05 09:00"))) == []
    assert awarded(act(kit, "fri", local("2026-03-06 09:00"))) == []
    assert awarded(act(kit, "sat", local("2026-03-07 09:00"))) == [("three-days", 1)]


def test_several_actions_on_one_day_are_one_day_of_a_streak() -> None:
    kit = kit_for(rk.badge("three-days", rk.streak(3, per="day")))
    for n, hour in enumerate(("00:00", "09:00", "23:59")):
        act(kit, f"mon-{n}", local(f"2026-03-02 {hour}"))
    assert awarded(act(kit, "tue", local("2026-03-03 09:00"))) == []
    assert awarded(act(kit, "wed", local("2026-03-04 09:00"))) == [("three-days", 1)]


def test_a_day_streak_counts_local_days_not_24_hour_spans() -> None:
    # 23:59 and 00:00 the next night, one minute apart, are two days of the streak.
    kit = kit_for(rk.badge("two-days", rk.streak(2, per="day")))
    act(kit, "late", local("2026-03-02 23:59"))
    assert awarded(act(kit, "early", local("2026-03-03 00:00"))) == [("two-days", 1)]


def test_the_short_dst_day_inside_a_day_streak_counts_as_one_day() -> None:
    # Madrid skips 02:00-03:00 on 2026-03-29: a 23-hour day.
    kit = kit_for(rk.badge("three-days", rk.streak(3, per="day")))
    act(kit, "sat", local("2026-03-28 23:30"))
    act(kit, "sun-early", local("2026-03-29 00:30"))
    assert awarded(act(kit, "sun-late", local("2026-03-29 23:30"))) == []
    assert awarded(act(kit, "mon", local("2026-03-30 00:30"))) == [("three-days", 1)]


def test_the_long_dst_day_inside_a_day_streak_counts_as_one_day() -> None:
    # Madrid lives 02:00-03:00 twice on 2026-10-25: a 25-hour day.
    kit = kit_for(rk.badge("three-days", rk.streak(3, per="day")))
    act(kit, "sat", local("2026-10-24 12:00"))
    act(kit, "sun-first", local("2026-10-25 02:30", fold=0))
    assert awarded(act(kit, "sun-second", local("2026-10-25 02:30", fold=1))) == []
    assert awarded(act(kit, "mon", local("2026-10-26 12:00"))) == [("three-days", 1)]


def test_a_week_streak_runs_across_a_year_boundary() -> None:
    kit = kit_for(rk.badge("three-weeks", rk.streak(3, per="week")))
    act(kit, "w51", local("2026-12-21 10:00"))  # Monday of the week of 21 December
    act(kit, "w53-thu", local("2026-12-31 10:00"))
    # Friday 1 January 2027 is in the same Monday-to-Sunday week as Thursday 31 December.
    assert awarded(act(kit, "w53-fri", local("2027-01-01 10:00"))) == []
    assert awarded(act(kit, "w01", local("2027-01-10 23:59"))) == [("three-weeks", 1)]


def test_a_week_without_an_action_breaks_a_week_streak() -> None:
    kit = kit_for(rk.badge("three-weeks", rk.streak(3, per="week")))
    act(kit, "a", local("2026-12-21 10:00"))
    act(kit, "b", local("2026-12-28 10:00"))
    assert awarded(act(kit, "c", local("2027-01-11 00:00"))) == []  # skipped 4-10 January


def test_a_broken_streak_shows_no_progress_on_the_member_view() -> None:
    kit = kit_for(rk.badge("five-days", rk.streak(5, per="day")))
    for n, when in enumerate(days("2026-03-02", 3)):
        act(kit, f"v{n}", when)
    # Still alive the next day (the member may still act today)...
    assert kit.member("ana", at=local("2026-03-05 23:59")).badge_progress["five-days"] == (
        Decimal(3),
        Decimal(5),
    )
    # ...and broken once a whole day has passed without an action.
    assert kit.member("ana", at=local("2026-03-06 00:00")).badge_progress["five-days"] == (
        Decimal(0),
        Decimal(5),
    )


# ---------------------------------------------------------------- within


def test_within_counts_an_action_just_before_the_window_ends() -> None:
    kit = kit_for(rk.badge("twice-a-month", rk.within(2, {"days": 30})))
    first = local("2026-03-10 12:00")
    act(kit, "first", first)
    # 30 days on Madrid's wall clock: 9 April at noon (DST began in between).
    assert awarded(act(kit, "second", local("2026-04-09 12:00") - TICK)) == [("twice-a-month", 1)]


def test_within_does_not_count_an_action_exactly_span_after_the_first() -> None:
    kit = kit_for(rk.badge("twice-a-month", rk.within(2, {"days": 30})))
    act(kit, "first", local("2026-03-10 12:00"))
    assert awarded(act(kit, "second", local("2026-04-09 12:00"))) == []
    # The second action opens its own window: a third within it completes the badge.
    assert awarded(act(kit, "third", local("2026-05-09 12:00") - TICK)) == [("twice-a-month", 1)]


def test_within_reads_the_window_on_the_programme_clock_whatever_zone_the_host_uses() -> None:
    # 12:30 on 9 April is 29 days 23.5 hours after 12:00 on 10 March (DST in between):
    # outside a 30-day window on the programme's wall clock, in every zone it is given in.
    first, second = local("2026-03-10 12:00"), local("2026-04-09 12:30")
    for zone in (MADRID, first.tzinfo):
        kit = kit_for(rk.badge("twice-a-month", rk.within(2, {"days": 30})))
        act(kit, "first", first.astimezone(zone))
        assert awarded(act(kit, "second", second.astimezone(zone))) == [], zone


def test_within_drops_actions_that_left_the_window() -> None:
    kit = kit_for(rk.badge("three-in-a-week", rk.within(3, {"days": 7})))
    act(kit, "d0", local("2026-03-02 10:00"))
    act(kit, "d5", local("2026-03-07 10:00"))
    assert awarded(act(kit, "d8", local("2026-03-10 10:00"))) == []  # d0 is out
    assert awarded(act(kit, "d9", local("2026-03-11 10:00"))) == [("three-in-a-week", 1)]


def test_within_counts_only_actions_its_condition_matches() -> None:
    weekend = rk.kind("purchase") & rk.weekday("sat", "sun")
    kit = kit_for(rk.badge("weekender", rk.within(2, {"days": 30}, weekend)))
    act(kit, "sat", local("2026-03-07 10:00"), "purchase", "5")
    act(kit, "mon", local("2026-03-09 10:00"), "purchase", "5")
    assert awarded(act(kit, "sun", local("2026-03-15 10:00"), "purchase", "5")) == [
        ("weekender", 1)
    ]


# ---------------------------------------------------------------- threshold


def test_a_points_threshold_is_reached_by_the_point_that_completes_it() -> None:
    kit = kit_for(rk.badge("centurion", rk.threshold("points_earned", 100)))
    assert awarded(act(kit, "p1", local("2026-03-02 10:00"), "purchase", "99.99")) == []
    assert awarded(act(kit, "v1", local("2026-03-02 11:00"))) == [("centurion", 1)]


def test_an_amount_threshold_counts_money_spent_not_points() -> None:
    kit = kit_for(rk.badge("fifty", rk.threshold("amount_spent", "50.00")))
    assert awarded(act(kit, "p1", local("2026-03-02 10:00"), "purchase", "49.99")) == []
    assert awarded(act(kit, "v1", local("2026-03-02 10:30"))) == []  # no amount
    assert awarded(act(kit, "p2", local("2026-03-02 11:00"), "purchase", "0.01")) == [("fifty", 1)]


# ---------------------------------------------------------------- repeatable and one-off


def test_a_repeatable_badge_is_awarded_again_with_a_count() -> None:
    kit = kit_for(rk.badge("hat-trick", rk.count(3), repeatable=True))
    found = [awarded(act(kit, f"v{n}", when)) for n, when in enumerate(days("2026-03-02", 7))]
    assert found == [[], [], [("hat-trick", 1)], [], [], [("hat-trick", 2)], []]
    state = kit.store.load("ana").state.badges["hat-trick"]
    assert (state.awarded, state.first_at, state.last_at) == (
        2,
        days("2026-03-02", 3)[2],
        days("2026-03-02", 6)[5],
    )


def test_a_repeatable_threshold_passed_twice_at_once_is_awarded_twice_then_not_again() -> None:
    kit = kit_for(rk.badge("every-100", rk.threshold("points_earned", 100), repeatable=True))
    out = act(kit, "big", local("2026-03-02 10:00"), "purchase", "250")
    assert awarded(out) == [("every-100", 1), ("every-100", 2)]
    # 50 points carried over: an action that earns nothing does not award it again.
    assert awarded(act(kit, "other", local("2026-03-02 11:00"), "review")) == []
    assert awarded(act(kit, "more", local("2026-03-02 12:00"), "purchase", "50")) == [
        ("every-100", 3)
    ]


def test_a_one_off_badge_is_awarded_once() -> None:
    kit = kit_for(rk.badge("first-steps", rk.count(2)))
    found = [awarded(act(kit, f"v{n}", when)) for n, when in enumerate(days("2026-03-02", 6))]
    assert found == [[], [("first-steps", 1)], [], [], [], []]
    assert kit.store.load("ana").state.badges["first-steps"].awarded == 1


# ---------------------------------------------------------------- bonus, hidden, progress


def test_a_badge_bonus_is_credited_with_its_own_ledger_entries() -> None:
    kit = kit_for(rk.badge("regular", rk.count(2, rk.kind("visit")), bonus=50))
    act(kit, "v1", local("2026-03-02 10:00"))
    out = act(kit, "v2", local("2026-03-03 10:00"))
    assert out.points == 1 + 50
    event = next(e for e in out.events if isinstance(e, rk.BadgeAwarded))
    assert (event.badge, event.times, event.bonus) == ("regular", 1, 50)
    rows = [
        (e.kind, e.points, e.reason, e.cause)
        for e in kit.history("ana", at=local("2026-03-04 00:00"))
    ]
    assert rows == [
        (rk.EntryKind.EARN, 1, "visit", "v1"),
        (rk.EntryKind.EARN, 1, "visit", "v2"),
        (rk.EntryKind.BADGE, 0, "regular", "v2"),
        (rk.EntryKind.EARN, 50, "badge:regular", "v2"),
    ]
    assert kit.balance("ana", at=local("2026-03-04 00:00")) == 52
    ledger_explains_balance(kit, "ana", local("2026-03-04 00:00"))


def test_a_repeatable_badge_pays_its_bonus_each_time() -> None:
    kit = kit_for(
        rk.badge("every-100", rk.threshold("points_earned", 100), repeatable=True, bonus=5)
    )
    out = act(kit, "big", local("2026-03-02 10:00"), "purchase", "200")
    assert out.points == 200 + 2 * 5
    ledger_explains_balance(kit, "ana", local("2026-03-03 00:00"))


def test_a_hidden_badge_shows_no_progress_until_earned() -> None:
    kit = kit_for(
        rk.badge("night-owl", rk.count(2, rk.time_between("00:00", "05:00")), hidden=True),
        rk.badge("regular", rk.count(10, rk.kind("visit"))),
    )
    act(kit, "v1", local("2026-03-02 01:00"))
    view = kit.member("ana", at=local("2026-03-02 12:00"))
    assert list(view.badge_progress) == ["regular"] and view.badges == ()
    act(kit, "v2", local("2026-03-03 01:00"))
    view = kit.member("ana", at=local("2026-03-03 12:00"))
    assert view.badges == ("night-owl",) and "night-owl" not in view.badge_progress


def test_a_hidden_repeatable_badge_shows_its_progress_once_earned() -> None:
    kit = kit_for(rk.badge("secret", rk.count(2), hidden=True, repeatable=True))
    act(kit, "v1", local("2026-03-02 10:00"))
    assert kit.member("ana", at=local("2026-03-02 11:00")).badge_progress == {}
    act(kit, "v2", local("2026-03-02 12:00"))
    act(kit, "v3", local("2026-03-02 13:00"))
    view = kit.member("ana", at=local("2026-03-02 14:00"))
    assert view.badges == ("secret",) and view.badge_progress == {
        "secret": (Decimal(1), Decimal(2))
    }


def test_progress_shows_7_of_10_on_the_member_view_and_as_a_nudge() -> None:
    kit = kit_for(
        rk.badge("regular", rk.count(10, rk.kind("visit")), name="Regular"),
        nudges=rk.NudgeSettings(kinds=("badge_within_reach",)),
    )
    for n, when in enumerate(days("2026-03-02", 7)):
        act(kit, f"v{n}", when)
    now = local("2026-03-09 09:00")
    assert kit.member("ana", at=now).badge_progress == {"regular": (Decimal(7), Decimal(10))}
    (nudge,) = kit.nudges("ana", at=now)
    assert nudge.kind == "badge_within_reach"
    assert nudge.message == "Only 3 more for Regular (7 / 10)."
    assert (nudge.fields["badge"], nudge.fields["needed"]) == ("regular", 3)


def test_an_earned_one_off_badge_leaves_the_progress_and_the_nudges() -> None:
    kit = kit_for(
        rk.badge("regular", rk.count(2, rk.kind("visit")), name="Regular"),
        nudges=rk.NudgeSettings(kinds=("badge_within_reach",)),
    )
    act(kit, "v1", local("2026-03-02 10:00"))
    assert [n.kind for n in kit.nudges("ana", at=local("2026-03-02 11:00"))] == [
        "badge_within_reach"
    ]
    act(kit, "v2", local("2026-03-02 12:00"))
    assert kit.member("ana", at=local("2026-03-02 13:00")).badge_progress == {}
    assert kit.nudges("ana", at=local("2026-03-02 13:00")) == []


# ---------------------------------------------------------------- properties

START = local("2026-03-02 00:00")
steps = st.lists(
    st.tuples(
        st.sampled_from(["visit", "purchase", "review"]),
        st.integers(0, 60 * 24 * 9),  # minutes after the previous action
        st.integers(0, 4000),  # cents
    ),
    max_size=30,
)
ONE_OFF = (
    rk.badge("count", rk.count(3)),
    rk.badge("spent", rk.threshold("amount_spent", "40.00")),
    rk.badge("points", rk.threshold("points_earned", 30)),
    rk.badge("streak", rk.streak(2, per="day")),
    rk.badge("weekly", rk.streak(2, per="week")),
    rk.badge("within", rk.within(3, {"days": 5}, rk.kind("visit"))),
)
PROGRAM = badge_program(
    *ONE_OFF, rk.badge("again", rk.threshold("points_earned", 20), repeatable=True, bonus=1)
)


def fold(stream: Sequence[tuple[str, int, int]]) -> list[rk.Event]:
    """Every event of recording ``stream`` through the pure engine."""
    state = rk.MemberState(id="ana")
    when = START
    events: list[rk.Event] = []
    for n, (kind, minutes, cents) in enumerate(stream):
        when += timedelta(minutes=minutes)
        amount = Decimal(cents) / 100 if kind == "purchase" else None
        action = rk.Action(id=f"a{n}", member="ana", kind=kind, at=when, amount=amount)
        result = evaluate(PROGRAM, state, action)
        state = result.state
        events.extend(result.outcome.events)
    return events


@settings(max_examples=80, deadline=None)
@given(stream=steps)
def test_a_one_off_badge_is_never_awarded_twice(stream: list[tuple[str, int, int]]) -> None:
    events = [e for e in fold(stream) if isinstance(e, rk.BadgeAwarded)]
    for item in ONE_OFF:
        assert [e.times for e in events if e.badge == item.id] in ([], [1])
    # A repeatable badge counts its awards one by one.
    again = [e.times for e in events if e.badge == "again"]
    assert again == list(range(1, len(again) + 1))


@settings(max_examples=80, deadline=None)
@given(gaps=st.lists(st.integers(0, 60 * 24 * 4), max_size=15))
def test_within_is_awarded_at_the_first_action_with_enough_others_in_its_window(
    gaps: list[int],
) -> None:
    """Against a brute force: the first action preceded by two others less than five
    Madrid calendar days before it."""
    stream = [("visit", minutes, 0) for minutes in gaps]
    events = [e for e in fold(stream) if isinstance(e, rk.BadgeAwarded) and e.badge == "within"]
    instants = []
    when = START
    for minutes in gaps:
        when += timedelta(minutes=minutes)
        instants.append(when)
    expected = None
    for i, now in enumerate(instants):
        window = [t for t in instants[: i + 1] if now < local_plus_days(t, 5)]
        if len(window) >= 3:
            expected = now
            break
    assert [e.at for e in events] == ([] if expected is None else [expected])


def local_plus_days(instant: datetime, count: int) -> datetime:
    """``count`` days later on Madrid's wall clock (a time in the spring gap: the gap's end)."""
    wall = instant.astimezone(MADRID).replace(tzinfo=None) + timedelta(days=count)
    return resolve_local(wall, MADRID)
