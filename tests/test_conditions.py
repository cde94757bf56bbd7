"""Conditions: composable predicates over an evaluation context."""

from __future__ import annotations

import time as clock
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from dateutil.relativedelta import relativedelta
from hypothesis import given
from hypothesis import strategies as st

from rewardkit.conditions import (
    Condition,
    always,
    amount_at_least,
    amount_below,
    amount_compare,
    as_condition,
    attribute_compare,
    attribute_equals,
    attribute_in,
    condition,
    date_between,
    has_attribute,
    kind,
    never,
    recurrence,
    tier_in,
    time_between,
    weekday,
)
from rewardkit.context import Context
from rewardkit.errors import ProgramError
from rewardkit.model import Action, MemberState

MADRID = ZoneInfo("Europe/Madrid")
HAPPY_HOUR = "DTSTART:20260102T170000\nRRULE:FREQ=WEEKLY;BYDAY=FR"


def ctx(
    at: datetime | None = None,
    *,
    kind: str = "purchase",
    amount: object = None,
    attributes: Mapping[str, Any] | None = None,
) -> Context:
    """A context in Europe/Madrid; a naive ``at`` is read as Madrid wall-clock time."""
    at = at or datetime(2026, 3, 7, 9, 30, tzinfo=MADRID)
    if at.tzinfo is None:
        at = at.replace(tzinfo=MADRID)
    action = Action(
        id="a", member="m", kind=kind, at=at, amount=amount, attributes=attributes or {}
    )
    return Context.of(action, MemberState(id="m"), MADRID)


def problems(error: pytest.ExceptionInfo[ProgramError]) -> list[str]:
    return [str(problem) for problem in error.value.problems]


# ---------------------------------------------------------------- composition


def test_always_and_never_are_singletons() -> None:
    assert always(ctx()) is True
    assert never(ctx()) is False
    assert (repr(always), repr(never)) == ("<always>", "<never>")


def test_and_or_not_combine_conditions() -> None:
    purchase, visit = kind("purchase"), kind("visit")
    assert (purchase & always)(ctx()) and not (purchase & visit)(ctx())
    assert (visit | purchase)(ctx()) and not (visit | never)(ctx())
    assert (~visit)(ctx()) and not (~purchase)(ctx())


def test_nested_and_or_are_flattened() -> None:
    a, b, c = kind("a"), kind("b"), kind("c")
    assert (a & b) & c == a & (b & c)
    assert len((a & b & c).conditions) == 3
    assert (a | b) | c == a | (b | c)
    assert len(((a | b) | (b | c)).conditions) == 4
    assert len(((a & b) | c).conditions) == 2


def test_composites_read_like_the_expression() -> None:
    combined = (weekday("sat", "sun") & amount_at_least(20)) | ~attribute_equals(
        "category", "pastry"
    )
    assert repr(combined) == (
        "<((weekday in sat, sun) & (amount >= 20)) | (~(attributes['category'] == 'pastry'))>"
    )


def test_a_plain_callable_is_accepted_wherever_a_condition_is() -> None:
    def big_basket(context: Context) -> bool:
        return len(context.action.attributes) > 1

    basket = {"a": 1, "b": 2}
    assert (big_basket & kind("purchase"))(ctx(attributes=basket))
    assert (kind("purchase") & big_basket)(ctx(attributes=basket))
    assert not (kind("visit") | big_basket)(ctx())
    assert (never | big_basket)(ctx(attributes=basket))
    assert repr(kind("visit") | big_basket).endswith("(condition " + big_basket.__qualname__ + ")>")


def test_condition_wraps_a_function_as_a_decorator() -> None:
    @condition
    def vip(context: Context) -> bool:
        return context.action.attributes.get("vip") is True

    assert vip(ctx(attributes={"vip": True}))
    assert (~vip)(ctx())
    assert condition(vip) is vip
    assert as_condition(vip) is vip


def test_a_callable_result_is_made_a_bool() -> None:
    truthy = as_condition(lambda context: context.action.attributes)
    assert truthy(ctx(attributes={"x": 1})) is True
    assert truthy(ctx()) is False


def test_as_condition_refuses_what_is_not_callable() -> None:
    with pytest.raises(TypeError, match="got 'weekend'"):
        as_condition("weekend")


def test_equally_built_conditions_are_equal_and_hash_alike() -> None:
    pairs = [
        (kind("visit", "purchase"), kind("purchase", "visit", "visit")),
        (weekday("sat", "sun"), weekday(6, "Saturday")),
        (attribute_equals("n", 2.5), attribute_compare("n", "==", Decimal("2.5"))),
        (attribute_in("c", ["a", "b", "a"]), attribute_in("c", ("a", "b"))),
        (amount_at_least("20"), amount_compare(">=", 20)),
        (time_between("7:00", "9:00"), time_between(time(7), "09:00:00")),
        (
            date_between("2026-03-01", date(2026, 3, 31)),
            date_between(date(2026, 3, 1), "2026-03-31"),
        ),
        (recurrence(HAPPY_HOUR, {"hours": 2}), recurrence(HAPPY_HOUR, timedelta(hours=2))),
        (~kind("a") & has_attribute("x"), ~kind("a") & has_attribute("x")),
    ]
    for left, right in pairs:
        assert left == right
        assert hash(left) == hash(right)
    assert kind("a") != kind("b")
    assert attribute_equals("n", 1) != attribute_equals("n", True)
    assert attribute_in("n", [1, "a"]) != attribute_in("n", [True, "a"])
    assert attribute_equals("n", (1, 2)) != attribute_equals("n", (True, 2))
    assert hash(attribute_equals("n", 1)) == hash(attribute_equals("n", Decimal("1.0")))


# ---------------------------------------------------------------- kind and attributes


def test_kind_matches_any_of_the_kinds() -> None:
    assert kind("visit", "purchase")(ctx(kind="purchase"))
    assert not kind("visit")(ctx(kind="purchase"))
    assert repr(kind("visit", "purchase")) == "<kind in purchase, visit>"


def test_kind_names_a_bad_kind() -> None:
    with pytest.raises(ProgramError) as error:
        kind("purchase", "", 3)  # type: ignore[arg-type]
    assert problems(error) == [
        "kinds[1]: an action kind must be a non-empty string: ''",
        "kinds[2]: an action kind must be a non-empty string: 3",
    ]
    with pytest.raises(ProgramError, match="at least one action kind"):
        kind()


def test_attribute_equals_reads_like_the_comparison() -> None:
    pastry = attribute_equals("category", "pastry")
    assert repr(pastry) == "<attributes['category'] == 'pastry'>"
    assert pastry(ctx(attributes={"category": "pastry"}))
    assert not pastry(ctx(attributes={"category": "bread"}))


def test_a_missing_attribute_makes_every_comparison_false_even_not_equal() -> None:
    for op in ("<", "<=", ">", ">=", "==", "!="):
        assert not attribute_compare("size", op, 3)(ctx())
    assert not attribute_in("size", [3])(ctx())
    assert not has_attribute("size")(ctx())


def test_has_attribute_holds_for_a_none_value() -> None:
    assert has_attribute("coupon")(ctx(attributes={"coupon": None}))
    assert attribute_equals("coupon", None)(ctx(attributes={"coupon": None}))
    assert repr(has_attribute("coupon")) == "<'coupon' in attributes>"


@pytest.mark.parametrize(
    ("actual", "op", "value", "expected"),
    [
        (5, ">", 4, True),
        (5, ">", Decimal("4.99"), True),
        (Decimal("2.5"), "==", 2.5, True),
        (2.5, "<=", Decimal("2.50"), True),
        (0.1, "==", "0.1", False),  # a string is not a number
        (3, "<", 3, False),
        (3, "<=", 3, True),
        (3, "!=", 3.0, False),
        ("b", ">", "a", True),
        ("5", ">", 4, False),
        (5, "<", "9", False),
        (True, "==", 1, False),
        (1, "!=", True, True),
        (True, ">", 0, False),
        (None, "<", 1, False),
        ("pastry", "!=", 3, True),
        ([1, 2], "==", [1, 2], True),
        ([1, 2], "==", [1, True], False),
    ],
)
def test_attribute_compare_is_numeric_across_number_types_and_never_raises(
    actual: object, op: str, value: object, expected: bool
) -> None:
    assert attribute_compare("x", op, value)(ctx(attributes={"x": actual})) is expected


def test_attribute_in_matches_any_value() -> None:
    sizes = attribute_in("size", ["S", 2, 3.5])
    assert sizes(ctx(attributes={"size": "S"}))
    assert sizes(ctx(attributes={"size": Decimal("3.5")}))
    assert not sizes(ctx(attributes={"size": "M"}))
    assert repr(sizes) == "<attributes['size'] in 'S', 2, 3.5>"


def test_attribute_factories_name_bad_arguments() -> None:
    with pytest.raises(ProgramError) as error:
        attribute_compare("x", "=>", 1)
    assert problems(error) == ["op: unknown operator '=>' (expected <, <=, >, >=, ==, !=)"]
    with pytest.raises(ProgramError) as error:
        attribute_compare("", "=", {})
    assert [p.path for p in error.value.problems] == ["name", "op", "value"]
    with pytest.raises(ProgramError, match="value: < needs a number or a string: True"):
        attribute_compare("x", "<", True)
    with pytest.raises(ProgramError, match=r"values\[1\]: .*: \{'a': 1\}"):
        attribute_in("x", [1, {"a": 1}])
    with pytest.raises(ProgramError, match="values: expected a list of values, got 'abc'"):
        attribute_in("x", "abc")
    with pytest.raises(ProgramError, match="values: at least one value"):
        attribute_in("x", [])
    with pytest.raises(ProgramError, match="name: an attribute name must be a non-empty string"):
        has_attribute("")
    with pytest.raises(ProgramError, match=r"value: .*: nan"):
        attribute_equals("x", float("nan"))


# ---------------------------------------------------------------- amount


def test_amount_at_least_includes_the_threshold_and_amount_below_excludes_it() -> None:
    assert amount_at_least(20)(ctx(amount="20.00"))
    assert not amount_at_least(20)(ctx(amount="19.99"))
    assert not amount_below("20")(ctx(amount=20))
    assert amount_below(20.5)(ctx(amount="20.49"))
    assert repr(amount_at_least(20)) == "<amount >= 20>"
    assert repr(amount_below(2.5)) == "<amount < 2.5>"


def test_an_action_without_an_amount_fails_every_amount_comparison() -> None:
    for op in ("<", "<=", ">", ">=", "==", "!="):
        assert not amount_compare(op, 0)(ctx())


def test_amount_factories_name_bad_values() -> None:
    with pytest.raises(ProgramError) as error:
        amount_at_least(-1)
    assert problems(error) == ["value: must not be negative: -1"]
    with pytest.raises(ProgramError, match="value: must be a decimal number: 'lots'"):
        amount_below("lots")
    with pytest.raises(ProgramError) as error:
        amount_compare("≥", "-1")
    assert problems(error) == [
        "op: unknown operator '≥' (expected <, <=, >, >=, ==, !=)",
        "value: must not be negative: '-1'",
    ]


# ---------------------------------------------------------------- weekday, time, date


def test_weekday_is_read_in_the_programme_zone() -> None:
    late_sunday_utc = datetime(2026, 3, 8, 23, 30, tzinfo=UTC)  # Monday 00:30 in Madrid
    assert weekday("mon")(ctx(late_sunday_utc))
    assert not weekday("sun")(ctx(late_sunday_utc))
    assert repr(weekday("sun", "sat", 5)) == "<weekday in sat, sun>"


def test_weekday_names_every_bad_day() -> None:
    with pytest.raises(ProgramError) as error:
        weekday("sat", "satu", 9)
    assert problems(error) == [
        "days[1]: unknown day 'satu' (expected mon, tue, wed, thu, fri, sat, sun)",
        "days[2]: day 9 is out of range (expected 0-6, Monday = 0)",
    ]


def test_time_window_includes_its_start_and_excludes_its_end() -> None:
    breakfast = time_between("07:00", "09:00")
    assert breakfast(ctx(datetime(2026, 3, 7, 7, 0)))
    assert breakfast(ctx(datetime(2026, 3, 7, 8, 59, 59, 999999)))
    assert not breakfast(ctx(datetime(2026, 3, 7, 9, 0)))
    assert not breakfast(ctx(datetime(2026, 3, 7, 6, 59, 59)))
    assert repr(breakfast) == "<time of day in [07:00, 09:00)>"


def test_time_window_wraps_past_midnight() -> None:
    night = time_between("22:00", "02:00")
    assert night(ctx(datetime(2026, 3, 7, 22, 0)))
    assert night(ctx(datetime(2026, 3, 7, 23, 59)))
    assert night(ctx(datetime(2026, 3, 8, 0, 0)))
    assert night(ctx(datetime(2026, 3, 8, 1, 59, 59)))
    assert not night(ctx(datetime(2026, 3, 8, 2, 0)))
    assert not night(ctx(datetime(2026, 3, 7, 21, 59, 59)))


def test_time_window_is_read_on_the_programme_clock() -> None:
    seven_madrid_in_summer = datetime(2026, 7, 1, 5, 0, tzinfo=UTC)
    assert time_between("07:00", "07:01")(ctx(seven_madrid_in_summer))


def test_an_empty_time_window_is_refused() -> None:
    with pytest.raises(ProgramError) as error:
        time_between("07:00", "7:00")
    assert problems(error) == ["end: must differ from start '07:00': '7:00' (an empty window)"]


def test_time_between_names_both_bad_ends() -> None:
    with pytest.raises(ProgramError) as error:
        time_between("25:00", "7")
    assert [p.path for p in error.value.problems] == ["start", "end"]
    assert "'25:00'" in problems(error)[0] and "'7'" in problems(error)[1]


def test_date_range_includes_both_ends_in_the_programme_zone() -> None:
    march = date_between("2026-03-01", "2026-03-31")
    assert march(ctx(datetime(2026, 3, 1, 0, 0)))
    assert march(ctx(datetime(2026, 3, 31, 23, 59, 59)))
    assert not march(ctx(datetime(2026, 4, 1, 0, 0)))
    assert not march(ctx(datetime(2026, 2, 28, 23, 59, 59)))
    assert march(ctx(datetime(2026, 2, 28, 23, 30, tzinfo=UTC)))  # 00:30 on March 1 locally
    assert repr(march) == "<date in [2026-03-01, 2026-03-31]>"
    assert date_between("2026-03-07", "2026-03-07")(ctx(datetime(2026, 3, 7, 12)))


def test_date_between_refuses_a_reversed_or_malformed_range() -> None:
    with pytest.raises(ProgramError) as error:
        date_between("2026-03-02", "2026-03-01")
    assert problems(error) == ["end: must not be before start '2026-03-02': '2026-03-01'"]
    with pytest.raises(ProgramError) as error:
        date_between("2026-02-30", datetime(2026, 3, 1))
    assert [p.path for p in error.value.problems] == ["start", "end"]


# ---------------------------------------------------------------- recurrence


def test_a_happy_hour_includes_its_start_and_excludes_its_end() -> None:
    happy = recurrence(HAPPY_HOUR, {"hours": 2})
    assert happy(ctx(datetime(2026, 3, 6, 17, 0)))
    assert happy(ctx(datetime(2026, 3, 6, 18, 59, 59)))
    assert not happy(ctx(datetime(2026, 3, 6, 19, 0)))
    assert not happy(ctx(datetime(2026, 3, 6, 16, 59, 59)))
    assert not happy(ctx(datetime(2026, 3, 7, 17, 30)))  # a Saturday


@pytest.mark.parametrize(
    "friday", [date(2026, 3, 27), date(2026, 4, 3), date(2026, 10, 23), date(2026, 10, 30)]
)
def test_a_17_00_recurrence_stays_at_local_17_00_across_dst_changes(friday: date) -> None:
    happy = recurrence(HAPPY_HOUR, timedelta(hours=2))
    five_pm = datetime.combine(friday, time(17), tzinfo=MADRID)
    assert happy(ctx(five_pm))
    assert happy(ctx(five_pm + timedelta(minutes=119)))
    assert not happy(ctx(five_pm - timedelta(seconds=1)))


def test_a_daily_recurrence_matches_at_17_00_on_both_dst_days() -> None:
    daily = recurrence("FREQ=DAILY;BYHOUR=17;BYMINUTE=0;BYSECOND=0", {"minutes": 30})
    assert daily(ctx(datetime(2026, 3, 29, 15, 0, tzinfo=UTC)))  # 17:00 CEST
    assert daily(ctx(datetime(2026, 10, 25, 16, 0, tzinfo=UTC)))  # 17:00 CET
    assert not daily(ctx(datetime(2026, 3, 29, 16, 0, tzinfo=UTC)))  # 18:00 CEST


def test_a_recurrence_without_dtstart_is_deterministic() -> None:
    fridays = recurrence("RRULE:FREQ=WEEKLY;BYDAY=FR", {"days": 1})
    assert fridays(ctx(datetime(2026, 3, 6, 0, 0)))
    assert fridays(ctx(datetime(2026, 3, 6, 23, 59)))
    assert not fridays(ctx(datetime(2026, 3, 7, 0, 0)))


def test_a_recurrence_holds_nothing_before_its_dtstart_and_after_its_count() -> None:
    launch = recurrence("DTSTART:20260301T100000\nRRULE:FREQ=DAILY;COUNT=2", {"hours": 1})
    assert not launch(ctx(datetime(2026, 2, 28, 10, 30)))
    assert launch(ctx(datetime(2026, 3, 2, 10, 30)))
    assert not launch(ctx(datetime(2026, 3, 3, 10, 30)))


def test_a_recurrence_accepts_calendar_durations() -> None:
    first_week = recurrence("FREQ=MONTHLY;BYMONTHDAY=1", relativedelta(days=7))
    whole_month = recurrence("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=1", {"months": 1})
    assert first_week(ctx(datetime(2026, 3, 7, 23)))
    assert not first_week(ctx(datetime(2026, 3, 8, 0)))
    assert whole_month(ctx(datetime(2028, 2, 29, 23)))
    assert not whole_month(ctx(datetime(2028, 3, 1, 0)))
    assert repr(whole_month) == "<recurrence 'FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=1' for 1 months>"


def test_recurrence_names_a_bad_rule_and_a_bad_duration() -> None:
    with pytest.raises(ProgramError) as error:
        recurrence("FREQ=WEEKLY;BYDAY=XX", {"hours": -1})
    assert [p.path for p in error.value.problems] == ["rule", "duration"]
    assert "'FREQ=WEEKLY;BYDAY=XX'" in problems(error)[0]
    assert "{'hours': -1}" in problems(error)[1]


def test_recurrence_evaluation_stays_fast() -> None:
    every_quarter_hour = recurrence(
        "DTSTART:20250101T000000\nRRULE:FREQ=MINUTELY;INTERVAL=15", {"minutes": 5}
    )
    contexts = [ctx(datetime(2026, 3, 7, 9, 0) + timedelta(minutes=7 * i)) for i in range(3000)]
    started = clock.perf_counter()
    matches = sum(every_quarter_hour(c) for c in contexts)
    assert clock.perf_counter() - started < 2.0
    assert matches == sum(c.local.minute % 15 < 5 for c in contexts)


# ---------------------------------------------------------------- properties


wall_times = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2028, 12, 31))
contexts = st.builds(
    lambda at, kind, amount, attributes: ctx(
        at.replace(tzinfo=UTC), kind=kind, amount=amount, attributes=attributes
    ),
    wall_times,
    st.sampled_from(["purchase", "visit", "review"]),
    st.none() | st.decimals(min_value=0, max_value=100, places=2),
    st.dictionaries(
        st.sampled_from(["category", "size"]),
        st.sampled_from(["pastry", "bread", 1, 2.5, True, None]),
    ),
)
clock_times = st.times().map(lambda t: t.replace(microsecond=0))
atoms: st.SearchStrategy[Condition] = st.one_of(
    st.sampled_from([always, never]),
    st.sampled_from(["purchase", "visit"]).map(kind),
    st.sets(st.integers(0, 6), min_size=1).map(lambda days: weekday(*days)),
    st.builds(
        attribute_compare,
        st.sampled_from(["category", "size"]),
        st.sampled_from(["<", "<=", ">", ">=", "==", "!="]),
        st.sampled_from(["pastry", 1, Decimal("2.5")]),
    ),
    st.builds(amount_compare, st.sampled_from(["<", ">=", "!="]), st.integers(0, 100)),
    st.sampled_from(["category", "size"]).map(has_attribute),
    st.tuples(clock_times, clock_times)
    .filter(lambda ends: ends[0] != ends[1])
    .map(lambda ends: time_between(*ends)),
    st.just(lambda context: context.local.day % 2 == 0),
)
conditions = st.recursive(
    atoms,
    lambda inner: st.one_of(
        st.tuples(inner, inner).map(lambda pair: as_condition(pair[0]) & pair[1]),
        st.tuples(inner, inner).map(lambda pair: pair[1] | as_condition(pair[0])),
        inner.map(lambda c: ~as_condition(c)),
    ),
    max_leaves=8,
)


@given(conditions, conditions, contexts)
def test_de_morgan_holds_for_any_conditions(a: Condition, b: Condition, context: Context) -> None:
    left, right = as_condition(a), as_condition(b)
    assert (~(left & right))(context) == (~left | ~right)(context)
    assert (~(left | right))(context) == (~left & ~right)(context)


@given(conditions, contexts)
def test_double_negation_is_the_condition_itself(a: Condition, context: Context) -> None:
    assert (~~as_condition(a))(context) == bool(a(context))


@given(clock_times, clock_times, contexts)
def test_a_time_window_is_the_complement_of_its_reverse(
    start: time, end: time, context: Context
) -> None:
    if start == end:
        return
    assert time_between(start, end)(context) is not time_between(end, start)(context)


def test_tier_in_reads_the_members_level_before_the_action() -> None:
    from rewardkit.model import TierStatus

    gold = MemberState(id="m", tier=TierStatus("gold", datetime(2026, 1, 1, tzinfo=UTC)))
    action = Action(id="a", member="m", kind="purchase", at=datetime(2026, 3, 1, tzinfo=UTC))
    condition = tier_in("gold", "platinum")
    assert condition(Context.of(action, gold, UTC))
    assert not condition(Context.of(action, MemberState(id="m"), UTC))
    assert repr(condition) == "<tier in gold, platinum>"
    with pytest.raises(ProgramError, match="levels"):
        tier_in()
