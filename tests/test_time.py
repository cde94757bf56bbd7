"""Programme-clock helpers: period keys and bounds, weekdays, times of day, zones."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

import pytest
from dateutil.relativedelta import relativedelta
from dateutil.rrule import rrulestr
from hypothesis import given
from hypothesis import strategies as st

from rewardkit.errors import InvalidAction, ProgramError
from rewardkit.time import (
    PERIODS,
    RECURRENCE_DTSTART,
    WEEKDAYS,
    Period,
    format_duration,
    last_occurrence,
    parse_duration,
    parse_period,
    parse_recurrence,
    parse_time_of_day,
    parse_weekday,
    period_bounds,
    period_key,
    resolve_local,
    zone,
)

MADRID = ZoneInfo("Europe/Madrid")
SANTIAGO = ZoneInfo("America/Santiago")
HAVANA = ZoneInfo("America/Havana")

# Zones with DST gaps at midnight, half-hour shifts, skipped days and 23:00 fall-backs.
# Not America/St_Johns: it once fell back at 00:01 to 23:01 of the day before, so its
# local date itself went backwards (see test_period_key_follows_the_local_date_backwards).
ZONES = [
    "UTC",
    "Europe/Madrid",
    "America/Santiago",
    "America/Havana",
    "Africa/Cairo",
    "Australia/Lord_Howe",
    "Asia/Kathmandu",
    "Pacific/Apia",
    "Pacific/Chatham",
    "America/Asuncion",
]

instants = st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2100, 1, 1)).map(
    lambda naive: naive.replace(tzinfo=UTC)
)
zones = st.sampled_from(ZONES).map(ZoneInfo)
periods = st.sampled_from(PERIODS)


def madrid(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, *, fold: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=MADRID, fold=fold)


def hours_between(start: datetime, end: datetime) -> float:
    return (end.astimezone(UTC) - start.astimezone(UTC)) / timedelta(hours=1)


def problem_text(error: pytest.ExceptionInfo[ProgramError]) -> str:
    return "\n".join(str(problem) for problem in error.value.problems)


# ---------------------------------------------------------------- period_key


@pytest.mark.parametrize(
    ("period", "key"),
    [
        ("day", "2026-03-07"),
        ("week", "2026-W10"),
        ("month", "2026-03"),
        ("quarter", "2026-Q1"),
        ("year", "2026"),
    ],
)
def test_period_key_formats(period: Period, key: str) -> None:
    assert period_key(madrid(2026, 3, 7, 9, 30), period) == key


def test_week_key_is_zero_padded_and_weeks_start_on_monday() -> None:
    assert period_key(madrid(2026, 3, 1, 23, 59), "week") == "2026-W09"  # a Sunday
    assert period_key(madrid(2026, 3, 2, 0, 0), "week") == "2026-W10"  # the Monday after


def test_week_key_uses_the_iso_year_at_year_boundaries() -> None:
    assert period_key(madrid(2026, 12, 31, 12), "week") == "2026-W53"
    assert period_key(madrid(2027, 1, 1, 12), "week") == "2026-W53"
    assert period_key(madrid(2027, 1, 4, 0), "week") == "2027-W01"
    assert period_key(madrid(2024, 12, 30, 0), "week") == "2025-W01"
    assert period_key(madrid(2027, 1, 1, 12), "year") == "2027"


@pytest.mark.parametrize(
    ("month", "quarter"), [(1, "Q1"), (3, "Q1"), (4, "Q2"), (9, "Q3"), (10, "Q4"), (12, "Q4")]
)
def test_quarter_key_groups_three_months(month: int, quarter: str) -> None:
    assert period_key(madrid(2026, month, 15), "quarter") == f"2026-{quarter}"


def test_period_key_changes_at_local_midnight_not_utc_midnight() -> None:
    before = datetime(2026, 3, 28, 22, 59, 59, 999999, tzinfo=UTC).astimezone(MADRID)
    after = datetime(2026, 3, 28, 23, 0, tzinfo=UTC).astimezone(MADRID)
    assert period_key(before, "day") == "2026-03-28"
    assert period_key(after, "day") == "2026-03-29"


@pytest.mark.parametrize(
    ("last_utc", "day_before", "day_after"),
    [
        (datetime(2026, 3, 29, 21, 59, 59, tzinfo=UTC), "2026-03-29", "2026-03-30"),  # 23h day
        (datetime(2026, 10, 25, 22, 59, 59, tzinfo=UTC), "2026-10-25", "2026-10-26"),  # 25h day
    ],
)
def test_period_key_either_side_of_midnight_after_a_dst_day(
    last_utc: datetime, day_before: str, day_after: str
) -> None:
    assert period_key(last_utc.astimezone(MADRID), "day") == day_before
    assert period_key((last_utc + timedelta(seconds=1)).astimezone(MADRID), "day") == day_after


def test_period_key_refuses_an_unknown_period() -> None:
    with pytest.raises(ProgramError) as error:
        period_key(madrid(2026, 3, 7), "wek")  # type: ignore[arg-type]
    assert problem_text(error) == (
        "period: unknown period 'wek' (expected day, week, month, quarter, year)"
    )


def test_parse_period_accepts_every_period() -> None:
    assert [parse_period(p) for p in PERIODS] == list(PERIODS)


def test_period_key_follows_the_local_date_backwards() -> None:
    # St. John's fell back at 00:01 to 23:01 the day before: the local date went
    # backwards, and so does a key that is defined by the local date.
    st_johns = ZoneInfo("America/St_Johns")
    first = datetime(1987, 10, 25, 2, 30, tzinfo=UTC).astimezone(st_johns)
    later = datetime(1987, 10, 25, 2, 32, tzinfo=UTC).astimezone(st_johns)
    assert (period_key(first, "day"), period_key(later, "day")) == ("1987-10-25", "1987-10-24")


@given(instants, instants, zones, periods)
def test_period_key_is_monotonic_in_time(
    a: datetime, b: datetime, tz: tzinfo, period: Period
) -> None:
    early, late = sorted((a, b))
    assert period_key(early.astimezone(tz), period) <= period_key(late.astimezone(tz), period)


# ---------------------------------------------------------------- period_bounds


def test_a_spring_forward_day_lasts_23_hours() -> None:
    start, end = period_bounds(madrid(2026, 3, 29, 12), "day")
    assert (start, end) == (madrid(2026, 3, 29), madrid(2026, 3, 30))
    assert hours_between(start, end) == 23


def test_a_fall_back_day_lasts_25_hours() -> None:
    start, end = period_bounds(madrid(2026, 10, 25, 12), "day")
    assert (start, end) == (madrid(2026, 10, 25), madrid(2026, 10, 26))
    assert hours_between(start, end) == 25


def test_the_repeated_hour_belongs_to_the_fall_back_day() -> None:
    second_two_thirty = madrid(2026, 10, 25, 2, 30, fold=1)
    start, end = period_bounds(second_two_thirty, "day")
    assert start.astimezone(UTC) <= second_two_thirty.astimezone(UTC) < end.astimezone(UTC)


def test_period_bounds_end_is_exclusive() -> None:
    start, end = period_bounds(madrid(2026, 3, 7, 9, 30), "month")
    assert (start, end) == (madrid(2026, 3, 1), madrid(2026, 4, 1))
    assert period_key(end, "month") == "2026-04"
    assert period_key(end - timedelta(microseconds=1), "month") == "2026-03"
    assert period_bounds(end, "month")[0] == end


@pytest.mark.parametrize(
    ("period", "start", "end"),
    [
        ("day", (2026, 3, 7), (2026, 3, 8)),
        ("week", (2026, 3, 2), (2026, 3, 9)),
        ("month", (2026, 3, 1), (2026, 4, 1)),
        ("quarter", (2026, 1, 1), (2026, 4, 1)),
        ("year", (2026, 1, 1), (2027, 1, 1)),
    ],
)
def test_period_bounds_are_local_midnights(
    period: Period, start: tuple[int, int, int], end: tuple[int, int, int]
) -> None:
    assert period_bounds(madrid(2026, 3, 7, 9, 30), period) == (madrid(*start), madrid(*end))


def test_december_quarter_and_week_cross_into_the_next_year() -> None:
    assert period_bounds(madrid(2026, 11, 5), "quarter") == (
        madrid(2026, 10, 1),
        madrid(2027, 1, 1),
    )
    assert period_bounds(madrid(2027, 1, 1, 8), "week") == (
        madrid(2026, 12, 28),
        madrid(2027, 1, 4),
    )


def test_period_bounds_keep_the_tzinfo_of_the_instant() -> None:
    start, end = period_bounds(madrid(2026, 3, 7), "week")
    assert start.tzinfo is MADRID and end.tzinfo is MADRID


@pytest.mark.parametrize(
    ("tz", "day", "first_instant_utc"),
    [
        # Santiago: 2026-09-06 00:00 does not exist, clocks jump from 23:59:59 to 01:00.
        (SANTIAGO, (2026, 9, 6), datetime(2026, 9, 6, 4, 0, tzinfo=UTC)),
        # Havana: 2026-03-08 00:00 does not exist either.
        (HAVANA, (2026, 3, 8), datetime(2026, 3, 8, 5, 0, tzinfo=UTC)),
    ],
)
def test_a_day_without_midnight_starts_at_its_first_existing_instant(
    tz: ZoneInfo, day: tuple[int, int, int], first_instant_utc: datetime
) -> None:
    start, end = period_bounds(datetime(*day, 12, tzinfo=tz), "day")
    assert start.astimezone(UTC) == first_instant_utc
    assert (start.hour, start.minute) == (1, 0)
    assert hours_between(start, end) == 23
    just_before = (first_instant_utc - timedelta(seconds=1)).astimezone(tz)
    assert period_bounds(just_before, "day")[1] == start


def test_a_skipped_day_ends_the_day_before_at_the_following_day() -> None:
    apia = ZoneInfo("Pacific/Apia")  # 2011-12-30 never happened in Samoa
    start, end = period_bounds(datetime(2011, 12, 29, 12, tzinfo=apia), "day")
    assert end.date().isoformat() == "2011-12-31"
    assert hours_between(start, end) == 24


def test_period_bounds_refuse_a_naive_datetime() -> None:
    with pytest.raises(InvalidAction):
        period_bounds(datetime(2026, 3, 7), "day")


@given(instants, zones, periods)
def test_every_instant_lies_inside_its_own_period_bounds(
    instant: datetime, tz: tzinfo, period: Period
) -> None:
    local = instant.astimezone(tz)
    start, end = period_bounds(local, period)
    assert start.astimezone(UTC) <= instant < end.astimezone(UTC)
    key = period_key(local, period)
    assert period_key(start, period) == key
    assert period_key(end, period) > key
    assert (
        period_key((end.astimezone(UTC) - timedelta(microseconds=1)).astimezone(tz), period) == key
    )


# ---------------------------------------------------------------- resolve_local


def test_resolve_local_takes_the_first_of_two_ambiguous_instants() -> None:
    resolved = resolve_local(datetime(2026, 10, 25, 2, 30), MADRID)
    assert resolved.astimezone(UTC) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)


def test_resolve_local_moves_a_skipped_time_to_the_transition() -> None:
    resolved = resolve_local(datetime(2026, 3, 29, 2, 30), MADRID)
    assert resolved.astimezone(UTC) == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    assert (resolved.hour, resolved.minute) == (3, 0)


def test_resolve_local_is_plain_for_fixed_offsets() -> None:
    plus_two = timezone(timedelta(hours=2))
    assert resolve_local(datetime(2026, 3, 29, 2, 30), plus_two) == datetime(
        2026, 3, 29, 2, 30, tzinfo=plus_two
    )


# ---------------------------------------------------------------- weekdays, times, zones


@pytest.mark.parametrize(
    ("value", "number"),
    [("mon", 0), ("Tue", 1), ("WEDNESDAY", 2), (" thu ", 3), ("friday", 4), ("sat", 5), (6, 6)],
)
def test_parse_weekday_accepts_names_and_numbers(value: str | int, number: int) -> None:
    assert parse_weekday(value) == number


def test_weekday_names_follow_python_numbering() -> None:
    assert [parse_weekday(name) for name in WEEKDAYS] == list(range(7))


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("satu", "weekday: unknown day 'satu' (expected mon, tue, wed, thu, fri, sat, sun)"),
        (7, "weekday: day 7 is out of range (expected 0-6, Monday = 0)"),
        (-1, "weekday: day -1 is out of range (expected 0-6, Monday = 0)"),
        (True, "weekday: expected a day name (mon..sun) or a number 0-6, got True"),
        (1.5, "weekday: expected a day name (mon..sun) or a number 0-6, got 1.5"),
    ],
)
def test_parse_weekday_names_the_bad_value(value: object, message: str) -> None:
    with pytest.raises(ProgramError) as error:
        parse_weekday(value)  # type: ignore[arg-type]
    assert problem_text(error) == message


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("07:00", time(7, 0)),
        ("7:30", time(7, 30)),
        ("23:59:59", time(23, 59, 59)),
        ("00:00", time(0, 0)),
        (time(9, 15), time(9, 15)),
    ],
)
def test_parse_time_of_day_accepts_clock_times(value: str | time, expected: time) -> None:
    assert parse_time_of_day(value) == expected


@pytest.mark.parametrize("value", ["24:00", "7", "07:60", "7:5", "07:00:60", "noon", "", 700])
def test_parse_time_of_day_names_the_bad_value(value: object) -> None:
    with pytest.raises(ProgramError) as error:
        parse_time_of_day(value, path="start")  # type: ignore[arg-type]
    assert problem_text(error).startswith("start: ")
    assert repr(value) in problem_text(error)


def test_parse_time_of_day_refuses_a_time_with_a_zone() -> None:
    with pytest.raises(ProgramError, match="must not carry a time zone"):
        parse_time_of_day(time(7, tzinfo=UTC))


def test_zone_returns_the_iana_zone() -> None:
    assert zone("Europe/Madrid") == MADRID
    assert zone(MADRID) is MADRID


@pytest.mark.parametrize("name", ["Europe/Madird", "", "../etc/passwd", "/etc/localtime"])
def test_zone_names_an_unknown_zone(name: str) -> None:
    with pytest.raises(ProgramError) as error:
        zone(name)
    assert problem_text(error).startswith(f"timezone: unknown time zone {name!r}")


def test_zone_refuses_a_non_string() -> None:
    with pytest.raises(ProgramError, match="got 5"):
        zone(5)  # type: ignore[arg-type]


# ---------------------------------------------------------------- durations and recurrences


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"hours": 2}, timedelta(hours=2)),
        ({"weeks": 1, "minutes": 5}, timedelta(days=7, minutes=5)),
        (timedelta(minutes=90), timedelta(minutes=90)),
        (relativedelta(hours=25), timedelta(hours=25)),
        ({"months": 1, "days": 2}, relativedelta(months=1, days=2)),
    ],
)
def test_parse_duration_normalises_to_timedelta_when_it_can(
    value: object, expected: timedelta | relativedelta
) -> None:
    assert parse_duration(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        {"hours": 0},
        {"hours": -1},
        {"hour": 2},
        {"hours": 1.5},
        {"hours": True},
        timedelta(0),
        relativedelta(months=1, hour=3),
        relativedelta(hour=0),
        relativedelta(months=1, days=-1),
        "2h",
    ],
)
def test_parse_duration_refuses_what_is_not_a_positive_relative_duration(value: object) -> None:
    with pytest.raises(ProgramError) as error:
        parse_duration(value)
    assert problem_text(error).startswith("duration: expected a positive duration")
    assert repr(value) in problem_text(error)


def test_format_duration_reads_like_a_duration() -> None:
    assert format_duration(timedelta(hours=2)) == "2:00:00"
    assert format_duration(relativedelta(months=1, days=2)) == "1 months, 2 days"


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("FREQ=WEEKLY;BYDAY=XX", "rule: invalid recurrence rule 'FREQ=WEEKLY;BYDAY=XX'"),
        ("", "rule: expected an RFC 5545 rule"),
        ("DTSTART:20260101T170000Z\nRRULE:FREQ=DAILY", "rule: use local wall-clock times"),
        ("DTSTART;TZID=Europe/Madrid:20260101T170000\nRRULE:FREQ=DAILY", "rule: use local"),
    ],
)
def test_parse_recurrence_names_the_bad_rule(rule: str, message: str) -> None:
    with pytest.raises(ProgramError) as error:
        parse_recurrence(rule)
    assert problem_text(error).startswith(message)


def test_last_occurrence_without_dtstart_starts_at_the_documented_instant() -> None:
    assert last_occurrence("FREQ=DAILY", RECURRENCE_DTSTART - timedelta(seconds=1)) is None
    assert last_occurrence("FREQ=DAILY", RECURRENCE_DTSTART) == RECURRENCE_DTSTART


def test_last_occurrence_stops_after_the_last_counted_occurrence() -> None:
    rule = "DTSTART:20260101T090000\nRRULE:FREQ=DAILY;COUNT=3"
    assert last_occurrence(rule, datetime(2030, 1, 1)) == datetime(2026, 1, 3, 9)


@given(st.datetimes(min_value=datetime(1999, 1, 1), max_value=datetime(2040, 1, 1)))
def test_last_occurrence_agrees_with_rrule_before(wall: datetime) -> None:
    text = "DTSTART:20000103T170000\nRRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,FR;BYHOUR=9,17"
    assert last_occurrence(text, wall) == rrulestr(text).before(wall, inc=True)
