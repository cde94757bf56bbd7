"""Programmes as data: loading TOML and JSON, every kind of problem with its path, dumping."""

from __future__ import annotations

import json
import re
import time
import tomllib
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pytest
from dateutil.relativedelta import relativedelta

import rewardkit as rk
from rewardkit.config import SECTIONS, make_converter
from rewardkit.plugins import BUILTIN_NAMES

from .test_docs import FENCE

ROOT = Path(__file__).resolve().parent.parent
FORMAT_PAGE = ROOT / "docs" / "reference" / "programme-format.md"

CAFE_TOML = """
[program]
name = "Café Aroma"
timezone = "Europe/Madrid"
currencies = ["points", "stars"]
pending = { days = 14 }

[[rules]]
id = "base"
type = "per_amount"
on = "purchase"
per = "1.00"
points = 1
rounding = "down"
currency = "points"
when = { weekday = ["sat", "sun"] }
caps = [{ per = "day", points = 100 }]
pending = "until_confirmed"

[[rules]]
id = "weekend-double"
type = "multiplier"
targets = ["base"]
factor = 2
when = { weekday = ["sat", "sun"] }

[[rules]]
id = "star"
type = "fixed"
on = ["purchase", "visit"]
points = 1
currency = "stars"

[[rules]]
id = "welcome"
type = "first_time"
on = "purchase"
points = 50

[expiry]
type = "fixed_term"
term = { months = 12 }

[tiers]
metric = "points_earned"
window = { months = 12 }
keep = { type = "for", term = { months = 12 } }
grace = { days = 30 }
qualifying = { kind = "purchase" }
count_pending = false
levels = [ { id = "silver", threshold = 500, multiplier = 1.25, name = "Silver" },
           { id = "gold", threshold = 1500, multiplier = 1.5 } ]

[[rewards]]
id = "free-coffee"
cost = 100
name = "Free coffee"
stock = 50
min_tier = "gold"
available_from = 2026-12-01T00:00:00+01:00

[nudges]
expiring_within = { days = 20 }
"""

PLUS_ONE = timezone(timedelta(hours=1))


def cafe() -> rk.Program:
    """The programme CAFE_TOML describes, built in Python."""
    return rk.Program(
        name="Café Aroma",
        timezone="Europe/Madrid",
        currencies=["points", "stars"],
        pending=rk.pending_for({"days": 14}),
        rules=[
            rk.per_amount(
                "base",
                on="purchase",
                per="1.00",
                points=1,
                when=rk.weekday("sat", "sun"),
                caps=[rk.cap(per="day", points=100)],
                pending=rk.until_confirmed,
            ),
            rk.multiplier(
                "weekend-double", factor=2, targets=["base"], when=rk.weekday("sat", "sun")
            ),
            rk.fixed("star", on=["purchase", "visit"], points=1, currency="stars"),
            rk.first_time("welcome", on="purchase", points=50),
        ],
        expiry=rk.fixed_term({"months": 12}),
        tiers=rk.ladder(
            metric="points_earned",
            window={"months": 12},
            keep=rk.keep_for({"months": 12}),
            grace={"days": 30},
            qualifying=rk.kind("purchase"),
            levels=[
                rk.level("silver", 500, multiplier="1.25", name="Silver"),
                rk.level("gold", 1500, multiplier="1.5"),
            ],
        ),
        rewards=[
            rk.reward(
                "free-coffee",
                cost=100,
                name="Free coffee",
                stock=50,
                min_tier="gold",
                available_from=datetime(2026, 12, 1, tzinfo=PLUS_ONE),
            )
        ],
        nudges=rk.NudgeSettings(expiring_within=relativedelta(days=20)),
    )


def problems(data: dict[str, Any]) -> list[str]:
    """Every problem ``load_program`` reports for ``data``, as ``path: message``."""
    with pytest.raises(rk.ProgramError) as caught:
        rk.load_program(data)
    return [str(problem) for problem in caught.value.problems]


def with_rules(*rules: dict[str, Any], **sections: Any) -> dict[str, Any]:
    return {"program": {"name": "Test"}, "rules": list(rules), **sections}


BASE = {"id": "base", "type": "per_amount", "on": "purchase", "per": "1.00"}


# ---------------------------------------------------------------- files


def test_a_toml_file_loads_into_the_programme_it_describes(tmp_path: Path) -> None:
    path = tmp_path / "cafe.toml"
    path.write_text(CAFE_TOML, encoding="utf-8")
    assert rk.load_program(path) == cafe()
    assert rk.load_program(str(path)) == cafe()


def test_a_json_file_with_the_same_content_loads_the_same_programme(tmp_path: Path) -> None:
    path = tmp_path / "cafe.json"
    data = tomllib.loads(CAFE_TOML)
    path.write_text(json.dumps(data, default=str, ensure_ascii=False), encoding="utf-8")
    assert rk.load_program(path) == cafe()


def test_a_mapping_already_parsed_loads_without_a_file() -> None:
    assert rk.load_program(tomllib.loads(CAFE_TOML)) == cafe()


def test_a_broken_toml_file_is_one_problem_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text('[program]\nname = "x\n', encoding="utf-8")
    with pytest.raises(rk.ProgramError, match=r"not valid TOML: .*line 2"):
        rk.load_program(path)


def test_a_broken_json_file_is_one_problem_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"program":\n  {"name": }}', encoding="utf-8")
    with pytest.raises(rk.ProgramError, match=r"not valid JSON: .*line 2, column 12"):
        rk.load_program(path)


def test_a_file_that_is_neither_toml_nor_json_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "cafe.yaml"
    path.write_text("program: {}", encoding="utf-8")
    with pytest.raises(rk.ProgramError, match=r"a programme is a \.toml or \.json file"):
        rk.load_program(path)


def test_a_missing_file_raises_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        rk.load_program(tmp_path / "missing.toml")


def test_every_toml_example_of_the_format_reference_loads_and_round_trips() -> None:
    text = FORMAT_PAGE.read_text(encoding="utf-8")
    examples = [
        match.group("body")
        for match in FENCE.finditer(text)
        if match.group("info").split()[:1] == ["toml"]
        and match.group("body").lstrip().startswith("[program]")
    ]
    assert len(examples) >= 2
    for example in examples:
        program = rk.load_program(tomllib.loads(example))
        assert rk.load_program(rk.dump_program(program)) == program


def test_the_full_example_of_the_format_reference_shows_every_section_and_type() -> None:
    text = FORMAT_PAGE.read_text(encoding="utf-8")
    blocks = [m.group("body") for m in FENCE.finditer(text) if m.group("info").strip() == "toml"]
    full = tomllib.loads(blocks[0])
    assert list(full) == list(SECTIONS)  # in the order dumps write them
    assert {rule["type"] for rule in full["rules"]} == BUILTIN_NAMES["rule"]
    assert {item["criterion"]["type"] for item in full["badges"]} == BUILTIN_NAMES["badge"]
    shown = "\n".join(blocks)
    missing = [
        name
        for name in BUILTIN_NAMES["condition"] - {"always", "never"}
        if not re.search(rf"\b{name} = ", shown)
    ]
    assert not missing, f"no example on the page uses {missing}"


# ---------------------------------------------------------------- the problems of the issue


def test_a_negative_points_value_is_reported_with_its_path() -> None:
    found = problems(
        with_rules(BASE, BASE | {"id": "b"}, {"id": "c", "type": "fixed", "points": -5})
    )
    assert found == ["rules[2].points: must be a positive integer, got -5"]


def test_a_misspelt_field_suggests_the_field_it_resembles() -> None:
    found = problems(with_rules(BASE, {"id": "visit", "type": "fixed", "pionts": 5, "points": 5}))
    assert found == ["rules[1]: unknown field 'pionts' (did you mean 'points'?)"]


def test_a_misspelt_rule_type_suggests_the_type_it_resembles() -> None:
    found = problems(with_rules(BASE, {"id": "visit", "type": "fixd", "points": 1}))
    assert found == ["rules[1].type: unknown rule type 'fixd' (did you mean 'fixed'?)"]


def test_an_unknown_rule_type_never_reads_required_field_missing() -> None:
    found = problems(with_rules({"id": "visit", "type": "zzz", "points": 1}))
    assert found == [
        "rules[0].type: unknown rule type 'zzz' "
        "(expected first_time, fixed, multiplier, per_amount, referral, tickets)"
    ]


def test_a_rule_without_a_type_is_told_the_types() -> None:
    found = problems(with_rules({"id": "visit", "points": 1}))
    assert found == [
        "rules[0].type: is required: the rule type "
        "(first_time, fixed, multiplier, per_amount, referral, tickets)"
    ]


def test_a_multiplier_targeting_an_unknown_rule_is_reported() -> None:
    double = {"id": "double", "type": "multiplier", "targets": ["no-such-rule"], "factor": 2}
    found = problems(
        with_rules(BASE, BASE | {"id": "b2"}, BASE | {"id": "b3"}, BASE | {"id": "b4"}, double)
    )
    assert found == ["rules[4].targets: no rule named 'no-such-rule'"]


def test_a_reward_requiring_an_unknown_tier_is_reported_with_the_levels() -> None:
    tiers = {
        "metric": "actions",
        "levels": [{"id": "silver", "threshold": 5}, {"id": "gold", "threshold": 10}],
    }
    found = problems(
        with_rules(BASE, tiers=tiers, rewards=[{"id": "mug", "cost": 300, "min_tier": "platinum"}])
    )
    assert found == ["rewards[0].min_tier: no tier 'platinum' (levels: gold, silver)"]


def test_an_unknown_top_level_section_is_reported() -> None:
    data = with_rules(BASE) | {"reward": []}
    assert problems(data) == ["unknown section 'reward' (did you mean 'rewards'?)"]


def test_a_programme_without_its_program_table_is_told_to_add_one() -> None:
    assert problems({"rules": [BASE]}) == [
        "program: is required: a [program] table with the programme's name"
    ]


def test_a_mistyped_time_zone_suggests_the_zone_it_resembles() -> None:
    found = problems({"program": {"name": "x", "timezone": "Europe/Madird"}})
    assert found == [
        "program.timezone: unknown time zone 'Europe/Madird' (did you mean 'Europe/Madrid'?)"
    ]


def test_every_problem_of_a_file_is_reported_at_once() -> None:
    data = {
        "program": {"name": "Café", "timezone": "Europe/Madrid", "currencys": ["points"]},
        "rules": [
            BASE,
            {"id": "visit", "type": "fixd", "points": 1},
            {"id": "review", "type": "fixed", "points": -5},
            {"id": "signup", "type": "fixed", "points": "5"},
            {"id": "double", "type": "multiplier", "targets": ["no-such-rule"], "factor": 2},
            {
                "id": "happy",
                "type": "fixed",
                "points": 1,
                "when": {"time": {"from": "25:00", "to": "09:00"}},
            },
        ],
        "expiry": {"type": "fixed_term", "term": {"monts": 12}},
        "tiers": {"metric": "points_earned", "levels": [{"id": "gold", "threshold": -1}]},
        "rewards": [{"id": "mug", "cost": 0}, {"id": "mug", "cost": 10, "stok": 5}],
        "raffle": [],
    }
    assert problems(data) == [
        "unknown section 'raffle' (did you mean 'raffles'?)",
        "program: unknown field 'currencys' (did you mean 'currencies'?)",
        "rules[1].type: unknown rule type 'fixd' (did you mean 'fixed'?)",
        "rules[2].points: must be a positive integer, got -5",
        "rules[3].points: must be an integer, got '5'",
        "rules[4].targets: no rule named 'no-such-rule'",
        "rules[5].when.time.from: invalid time of day '25:00' "
        "(expected HH:MM or HH:MM:SS, from 00:00 to 23:59:59)",
        "expiry.term: unknown unit 'monts' (expected years, months, weeks, days, hours, minutes)",
        "tiers.levels[0].threshold: must not be negative, got -1",
        "rewards[0].cost: must be a positive integer, got 0",
        "rewards[1]: unknown field 'stok' (did you mean 'stock'?)",
        "rewards[1].id: duplicate reward id 'mug'",
    ]


def test_one_bad_item_does_not_hide_the_problems_of_the_others() -> None:
    found = problems(
        with_rules(
            {"id": "a", "type": "fixed", "points": -1},
            {"id": "b", "type": "fixed", "points": -2},
            {"id": "c", "type": "fixed", "points": -3},
        )
    )
    assert [problem.split(":")[0] for problem in found] == [
        "rules[0].points",
        "rules[1].points",
        "rules[2].points",
    ]


def test_a_reference_to_a_rule_that_failed_is_not_reported_again() -> None:
    broken = {"id": "base", "type": "per_amount", "on": "purchase", "per": "0"}
    double = {"id": "double", "type": "multiplier", "targets": ["base"], "factor": 2}
    assert problems(with_rules(broken, double)) == ["rules[0].per: must be greater than 0, got '0'"]


def test_a_reward_naming_a_level_of_broken_tiers_is_not_reported_again() -> None:
    tiers = {"metric": "points", "levels": [{"id": "gold", "threshold": 10}]}
    rewards = [{"id": "mug", "cost": 300, "min_tier": "gold"}]
    assert problems(with_rules(BASE, tiers=tiers, rewards=rewards)) == [
        "tiers.metric: unknown value 'points' (did you mean 'points_earned'?)"
    ]


def test_currencies_are_still_checked_when_the_program_table_has_a_problem() -> None:
    data = {
        "program": {"name": "x", "currencies": ["points"], "timezone": "Mars/Olympus"},
        "rules": [{"id": "a", "type": "fixed", "points": 1, "currency": "stras"}],
    }
    assert problems(data) == [
        "program.timezone: unknown time zone 'Mars/Olympus' "
        "(expected an IANA name such as 'Europe/Madrid')",
        "rules[0].currency: unknown currency 'stras'",
    ]


def test_a_broken_currency_list_is_not_blamed_on_every_rule() -> None:
    data = {
        "program": {"name": "x", "currencies": "stars"},
        "rules": [{"id": "a", "type": "fixed", "points": 1, "currency": "stars"}],
    }
    assert problems(data) == ["program.currencies: expected a list, got 'stars'"]


def test_the_targets_of_a_broken_multiplier_are_still_checked() -> None:
    double = {"id": "x2", "type": "multiplier", "targets": ["bsae"], "factor": "0.5"}
    assert problems(with_rules(BASE, double)) == [
        "rules[1].factor: must be at least 1, got '0.5'",
        "rules[1].targets: no rule named 'bsae'",
    ]


def test_a_plugin_validator_failing_in_init_is_reported_at_its_field() -> None:
    # cattrs attaches no note to an exception raised in __init__; the field is found
    # in attrs' message ("'count' must be > 0: 0").
    from rewardkit.plugins import register_condition, unregister

    @register_condition("at_least_visits")
    @attrs.frozen
    class AtLeastVisits:
        count: int = attrs.field(validator=attrs.validators.gt(0))

        def __call__(self, ctx: rk.Context) -> bool:
            return True

    try:
        found = problems(with_rules(BASE | {"when": {"at_least_visits": {"count": 0}}}))
    finally:
        unregister("condition", "at_least_visits")
    assert found == ["rules[0].when.at_least_visits.count: must be > 0: 0"]


# ---------------------------------------------------------------- unknown keys everywhere


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            {"program": {"name": "x", "nmae": "y"}},
            "program: unknown field 'nmae' (did you mean 'name'?)",
        ),
        (
            with_rules(BASE | {"rouding": "up"}),
            "rules[0]: unknown field 'rouding' (did you mean 'rounding'?)",
        ),
        (
            with_rules(BASE | {"caps": [{"per": "day", "point": 5}]}),
            "rules[0].caps[0]: unknown field 'point' (did you mean 'points'?)",
        ),
        (
            with_rules(BASE | {"when": {"wekday": ["sat"]}}),
            "rules[0].when: unknown condition 'wekday' (did you mean 'weekday'?)",
        ),
        (
            with_rules(BASE | {"when": {"time": {"form": "07:00", "to": "09:00"}}}),
            "rules[0].when.time: unknown field 'form' (did you mean 'from'?)",
        ),
        (
            with_rules(
                BASE
                | {
                    "when": {
                        "any": [{"kind": "visit"}, {"attribute": {"nam": "x", "present": True}}]
                    }
                }
            ),
            "rules[0].when.any[1].attribute: unknown field 'nam' (did you mean 'name'?)",
        ),
        (
            with_rules(BASE | {"when": {"not": {"amount": {"at_lest": "5"}}}}),
            "rules[0].when.not.amount: unknown field 'at_lest' (did you mean 'at_least'?)",
        ),
        (
            with_rules(
                BASE | {"when": {"recurrence": {"rule": "FREQ=DAILY", "duraton": {"hours": 1}}}}
            ),
            "rules[0].when.recurrence: unknown field 'duraton' (did you mean 'duration'?)",
        ),
        (
            with_rules(BASE, expiry={"type": "never", "term": {"days": 1}}),
            "expiry: unknown field 'term' (this table takes no fields)",
        ),
        (
            with_rules(
                BASE,
                expiry={
                    "type": "earliest_of",
                    "policies": [{"type": "inactivity", "afterr": {"days": 1}}],
                },
            ),
            "expiry.policies[0]: unknown field 'afterr' (did you mean 'after'?)",
        ),
        (
            with_rules(BASE, tiers={"metric": "actions", "level": []}),
            "tiers: unknown field 'level' (did you mean 'levels'?)",
        ),
        (
            with_rules(
                BASE,
                tiers={
                    "metric": "actions",
                    "levels": [{"id": "g", "threshold": 1, "multiplyer": 2}],
                },
            ),
            "tiers.levels[0]: unknown field 'multiplyer' (did you mean 'multiplier'?)",
        ),
        (
            with_rules(
                BASE,
                tiers={
                    "metric": "actions",
                    "keep": {"type": "for", "trem": {"days": 1}},
                    "levels": [{"id": "g", "threshold": 1}],
                },
            ),
            "tiers.keep: unknown field 'trem' (did you mean 'term'?)",
        ),
        (
            with_rules(BASE, rewards=[{"id": "mug", "cost": 1, "min_teir": "gold"}]),
            "rewards[0]: unknown field 'min_teir' (did you mean 'min_tier'?)",
        ),
        (
            with_rules(BASE, nudges={"expiring_witin": {"days": 3}}),
            "nudges: unknown field 'expiring_witin' (did you mean 'expiring_within'?)",
        ),
    ],
)
def test_an_unknown_key_is_reported_at_every_level(data: dict[str, Any], expected: str) -> None:
    assert problems(data) == [expected]


# ---------------------------------------------------------------- values


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"points": True}, "rules[0].points: must be an integer, got True"),
        ({"points": 1.5}, "rules[0].points: must be an integer, got 1.5"),
        ({"points": 1, "on": 5}, "rules[0].on: expected an action kind or a list of kinds, got 5"),
        ({"points": 1, "on": ["visit", 5]}, "rules[0].on[1]: must be a string, got 5"),
        (
            {"points": 1, "caps": {"per": "day"}},
            "rules[0].caps: expected a list, got {'per': 'day'}",
        ),
        (
            {"points": 1, "caps": [{"per": "dya", "points": 5}]},
            "rules[0].caps[0].per: unknown value 'dya' (did you mean 'day'?)",
        ),
        (
            {"points": 1, "caps": [{"per": "day"}]},
            "rules[0].caps[0]: needs a maximum: points=..., awards=... or both",
        ),
        (
            {"points": 1, "pending": "later"},
            "rules[0].pending: expected a duration such as { days = 14 } or "
            "\"until_confirmed\", got 'later'",
        ),
        (
            {"points": 1, "pending": {"days": -1}},
            "rules[0].pending.days: must be a non-negative integer, got -1",
        ),
        ({"points": 1, "when": {}}, None),
        (
            {"points": 1, "when": {"weekday": ["sat", "sundy"]}},
            "rules[0].when.weekday[1]: unknown day 'sundy' "
            "(expected mon, tue, wed, thu, fri, sat, sun)",
        ),
        (
            {"points": 1, "when": {"kind": []}},
            "rules[0].when.kind: at least one action kind is required",
        ),
        ({"points": 1, "when": {"all": []}}, "rules[0].when.all: needs at least one condition"),
        ({"points": 1, "when": {"any": [{"kind": "visit"}, "weekend"]}}, None),
        (
            {"points": 1, "when": {"attribute": {"name": "qty", "op": ">="}}},
            "rules[0].when.attribute.value: is required with op",
        ),
        (
            {"points": 1, "when": {"attribute": {"name": "qty", "equals": 1, "in": [1]}}},
            "rules[0].when.attribute: needs exactly one of equals, op (with value), in or "
            "present; got equals, in",
        ),
        (
            {"points": 1, "when": {"amount": {"below": "-5"}}},
            "rules[0].when.amount.below: must not be negative: '-5'",
        ),
        (
            {"points": 1, "when": {"dates": {"from": "2026-12-31", "to": "2026-12-01"}}},
            "rules[0].when.dates.to: must not be before start '2026-12-31': '2026-12-01'",
        ),
        (
            {"points": 1, "when": {"tier": ["gold"]}},
            "rules[0].when.tier[0]: no tier 'gold' (no tiers defined)",
        ),
        ({"points": 1, "when": {"always": False}}, "rules[0].when.always: must be true, got False"),
    ],
)
def test_a_bad_value_is_reported_at_its_path(rule: dict[str, Any], expected: str | None) -> None:
    found = problems(with_rules({"id": "r", "type": "fixed"} | rule))
    if expected is None:  # the message is the factory's; the path is what matters here
        assert len(found) == 1 and found[0].startswith("rules[0].when")
    else:
        assert found == [expected]


def test_an_instant_without_an_offset_is_refused() -> None:
    found = problems(
        with_rules(
            BASE, rewards=[{"id": "mug", "cost": 1, "available_from": "2026-12-01T00:00:00"}]
        )
    )
    assert found == [
        "rewards[0].available_from: must carry a UTC offset, such as "
        "2026-12-01T00:00:00+01:00 or 2026-12-01T00:00:00Z, got 2026-12-01T00:00:00"
    ]


def test_a_tier_condition_must_name_a_level_of_the_ladder() -> None:
    tiers = {
        "metric": "actions",
        "levels": [{"id": "silver", "threshold": 5}, {"id": "gold", "threshold": 10}],
    }
    found = problems(with_rules(BASE | {"when": {"tier": "platinum"}}, tiers=tiers))
    assert found == ["rules[0].when.tier: no tier 'platinum' (levels: gold, silver)"]


@pytest.mark.parametrize(
    ("table", "condition"),
    [
        ({"kind": "purchase"}, rk.kind("purchase")),
        ({"kind": ["visit", "purchase"]}, rk.kind("purchase", "visit")),
        ({"weekday": ["sat", "Sunday", 0]}, rk.weekday("mon", "sat", "sun")),
        ({"time": {"from": "22:00", "to": "02:00"}}, rk.time_between("22:00", "02:00")),
        (
            {"dates": {"from": date(2026, 12, 1), "to": "2026-12-31"}},
            rk.date_between("2026-12-01", "2026-12-31"),
        ),
        (
            {"recurrence": {"rule": "FREQ=WEEKLY;BYDAY=FR", "duration": {"hours": 2}}},
            rk.recurrence("FREQ=WEEKLY;BYDAY=FR", {"hours": 2}),
        ),
        (
            {"attribute": {"name": "category", "equals": "pastry"}},
            rk.attribute_equals("category", "pastry"),
        ),
        (
            {"attribute": {"name": "qty", "op": ">=", "value": 2}},
            rk.attribute_compare("qty", ">=", 2),
        ),
        (
            {"attribute": {"name": "ch", "in": ["app", "web"]}},
            rk.attribute_in("ch", ["app", "web"]),
        ),
        ({"attribute": {"name": "coupon", "present": True}}, rk.has_attribute("coupon")),
        ({"attribute": {"name": "coupon", "present": False}}, ~rk.has_attribute("coupon")),
        ({"amount": {"at_least": "20"}}, rk.amount_at_least("20")),
        ({"amount": {"below": 5}}, rk.amount_below(5)),
        ({"amount": {"op": "==", "value": "9.99"}}, rk.amount_compare("==", "9.99")),
        ({"all": [{"kind": "visit"}, {"weekday": ["sat"]}]}, rk.kind("visit") & rk.weekday("sat")),
        ({"kind": "visit", "weekday": ["sat"]}, rk.kind("visit") & rk.weekday("sat")),
        ({"any": [{"kind": "visit"}, {"weekday": ["sat"]}]}, rk.kind("visit") | rk.weekday("sat")),
        ({"not": {"kind": "visit"}}, ~rk.kind("visit")),
        ({"always": True}, rk.always),
        ({"never": True}, rk.never),
    ],
)
def test_each_condition_table_loads_as_its_condition(
    table: dict[str, Any], condition: rk.Condition
) -> None:
    program = rk.load_program(with_rules(BASE | {"when": table}))
    assert program.rules[0] == rk.per_amount("base", on="purchase", per="1.00", when=condition)


def test_rules_and_rewards_default_to_the_programmes_first_currency() -> None:
    program = rk.load_program(
        {
            "program": {"name": "x", "currencies": ["stars", "points"]},
            "rules": [BASE],
            "rewards": [{"id": "mug", "cost": 5}],
        }
    )
    assert program.rules[0].currency == "stars"  # type: ignore[union-attr]
    assert program.rewards[0].currency == "stars"
    assert "currency" not in rk.dump_program(program)["rules"][0]


def test_a_programme_of_200_rules_loads_in_well_under_a_second() -> None:
    rules = [
        {
            "id": f"rule-{i}",
            "type": ("fixed", "per_amount")[i % 2],
            "on": ["purchase", "visit"][i % 2],
            "points": i % 7 + 1,
            **({"per": "1.50"} if i % 2 else {}),
            "when": {"weekday": ["sat", "sun"], "time": {"from": "07:00", "to": "09:00"}},
            "caps": [{"per": "day", "points": 100}],
        }
        for i in range(200)
    ]
    data = {"program": {"name": "Big"}, "rules": rules}
    rk.load_program({"program": {"name": "warm-up"}})  # the converter is made once
    started = time.perf_counter()
    program = rk.load_program(data)
    elapsed = time.perf_counter() - started
    assert len(program.rules) == 200
    assert elapsed < 1.0


# ---------------------------------------------------------------- dumping


def test_a_dump_is_plain_json_data_with_decimals_and_instants_as_strings() -> None:
    data = rk.dump_program(cafe())
    assert json.loads(json.dumps(data)) == data
    assert data["rules"][0] == {
        "id": "base",
        "type": "per_amount",
        "on": "purchase",
        "per": "1.00",
        "when": {"weekday": ["sat", "sun"]},
        "caps": [{"per": "day", "points": 100}],
        "pending": "until_confirmed",
    }
    assert data["rewards"][0]["available_from"] == "2026-12-01T00:00:00+01:00"
    assert data["tiers"]["levels"][0] == {"id": "silver", "threshold": "500", "multiplier": "1.25"}
    assert data["expiry"] == {"type": "fixed_term", "term": {"years": 1}}
    assert data["program"]["pending"] == {"days": 14}
    assert list(data) == ["program", "rules", "expiry", "tiers", "rewards", "nudges"]
    assert set(data) <= set(SECTIONS)


def test_a_dumped_programme_loads_back_equal() -> None:
    program = cafe()
    assert rk.load_program(rk.dump_program(program)) == program


def test_a_condition_made_of_a_python_function_cannot_be_dumped_and_is_named() -> None:
    program = rk.Program(
        name="x",
        rules=[
            rk.fixed("a", points=1),
            rk.fixed("b", points=1, when=rk.kind("visit") & (lambda ctx: True)),
        ],
    )
    with pytest.raises(rk.ProgramError) as caught:
        rk.dump_program(program)
    (problem,) = caught.value.problems
    assert problem.path == "rules[1].when.all[1]"
    assert "Python function" in problem.message and "register_condition" in problem.message


def test_an_unregistered_rule_class_cannot_be_dumped() -> None:
    @attrs.frozen
    class Custom:
        id: str = "custom"
        on: frozenset[str] | None = None
        currency: str = "points"
        caps: tuple[rk.Cap, ...] = ()

        def points(self, ctx: rk.Context) -> int:
            return 1

    with pytest.raises(
        rk.ProgramError, match=r"rules\[0\]: cannot be written as data: .*register_rule"
    ):
        rk.dump_program(rk.Program(name="x", rules=[Custom()]))


def test_a_term_of_seconds_cannot_be_dumped() -> None:
    program = rk.Program(name="x", expiry=rk.fixed_term(timedelta(seconds=90)))
    with pytest.raises(rk.ProgramError, match=r"expiry\.term: cannot be written as data"):
        rk.dump_program(program)


def test_terms_are_dumped_in_normal_form() -> None:
    program = rk.Program(name="x", expiry=rk.inactivity({"months": 14, "weeks": 1}))
    assert rk.dump_program(program)["expiry"] == {
        "type": "inactivity",
        "after": {"years": 1, "months": 2, "days": 7},
    }


def test_an_attribute_decimal_is_dumped_as_a_number_that_reads_back_equal() -> None:
    program = rk.Program(
        name="x",
        rules=[rk.fixed("a", points=1, when=rk.attribute_compare("w", ">", Decimal("2.5")))],
    )
    data = rk.dump_program(program)
    assert data["rules"][0]["when"] == {"attribute": {"name": "w", "op": ">", "value": 2.5}}
    assert rk.load_program(data) == program


def test_an_instant_keeps_its_offset_when_dumped() -> None:
    instant = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
    program = rk.Program(name="x", rewards=[rk.reward("mug", cost=1, available_until=instant)])
    assert rk.dump_program(program)["rewards"][0]["available_until"] == "2026-06-01T08:00:00+00:00"


def test_a_rule_budget_round_trips() -> None:
    program = rk.Program(
        name="x",
        rules=[
            rk.fixed("launch", points=5, budget=10_000),
            rk.multiplier("double", factor=2, budget=500),
        ],
    )
    data = rk.dump_program(program)
    assert [rule["budget"] for rule in data["rules"]] == [10_000, 500]
    assert rk.load_program(data) == program


def test_a_rule_setting_the_format_cannot_carry_is_named_rather_than_dropped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from rewardkit._config_rules import RULE_TYPES

    original = RULE_TYPES["fixed"]  # as if the format forgot how many points a rule gives
    monkeypatch.setitem(
        RULE_TYPES,
        "fixed",
        attrs.evolve(original, unbuild=lambda r: attrs.evolve(original.unbuild(r), points=1)),
    )
    with pytest.raises(rk.ProgramError) as caught:
        rk.dump_program(rk.Program(name="x", rules=[rk.fixed("a", points=5)]))
    assert [str(p) for p in caught.value.problems] == [
        "rules[0]: cannot be written as data: <a: 5 points per any action> has a setting "
        "the rule type 'fixed' has no key for"
    ]


def test_a_programme_part_the_format_has_no_place_for_is_named_rather_than_dropped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from rewardkit import config

    # as if Program had grown a part the format does not know yet
    monkeypatch.setattr(config, "_MAPPED", config._MAPPED - {"segments"})
    program = rk.Program(name="x", segments={"vip": rk.attribute_equals("vip", True)})
    with pytest.raises(rk.ProgramError) as caught:
        rk.dump_program(program)
    assert [str(p) for p in caught.value.problems] == [
        "segments: cannot be written as data yet: the file format has no place for it"
    ]


def test_every_part_of_a_programme_has_a_place_in_the_format() -> None:
    from rewardkit.config import _MAPPED

    assert {f.name for f in attrs.fields(rk.Program) if f.init} == _MAPPED


# ---------------------------------------------------------------- the converter


def test_make_converter_returns_a_new_converter_each_time() -> None:
    first, second = make_converter(), make_converter()
    assert first is not second
    assert first.structure({"per": "day", "points": 5}, rk.Cap) == rk.cap(per="day", points=5)


def test_the_builtin_names_are_those_the_loader_knows() -> None:
    from rewardkit._config_play import CRITERION_TYPES
    from rewardkit._config_policies import EXPIRY_TYPES
    from rewardkit._config_rules import RULE_TYPES

    assert set(RULE_TYPES) == BUILTIN_NAMES["rule"]
    assert set(EXPIRY_TYPES) == BUILTIN_NAMES["expiry"]
    assert set(CRITERION_TYPES) == BUILTIN_NAMES["badge"]
    for name in BUILTIN_NAMES["condition"]:
        with pytest.raises(rk.ProgramError) as caught:
            rk.load_program(with_rules(BASE | {"when": {name: object()}}))
        assert not any("unknown condition" in str(p) for p in caught.value.problems)


def test_problem_paths_never_start_with_cattrs_dollar() -> None:
    found = problems(with_rules({"id": 5, "type": "fixed", "points": "x"}))
    assert found and not any(re.match(r"\$", problem) for problem in found)


# ---------------------------------------------------------------- play: segments, badges, raffles

PLAY_TOML = """
[program]
name = "Café Aroma"
timezone = "Europe/Madrid"
currencies = ["points", "stars"]

[segments]
vip = { spent_at_least = "200" }
regular = { actions_at_least = { count = 5, kind = "visit" } }
lapsed = { inactive_for = { days = 60 } }
gold-vip = { segment = "vip", tier = ["gold"] }

[[rules]]
id = "base"
type = "per_amount"
on = "purchase"
per = "1.00"
budget = 100000

[[rules]]
id = "win-back"
type = "fixed"
on = "purchase"
points = 50
when = { segment = "lapsed" }

[[rules]]
id = "summer-entry"
type = "tickets"
raffle = "summer"
on = "purchase"
per = "10.00"

[[rules]]
id = "bring-a-friend"
type = "referral"
referrer_points = 200
referred_points = 100
currency = "stars"

[tiers]
metric = "points_earned"
levels = [ { id = "silver", threshold = 500 }, { id = "gold", threshold = 1500 } ]

[[badges]]
id = "regular"
criterion = { type = "count", target = 10, when = { kind = "visit" } }
bonus = 50

[[badges]]
id = "big-spender"
name = "Big spender"
criterion = { type = "threshold", metric = "amount_spent", target = "500" }
repeatable = true

[[badges]]
id = "early-bird"
criterion = { type = "streak", target = 5, per = "week", when = { kind = "visit" } }
hidden = true

[[badges]]
id = "weekend-warrior"
description = "5 weekend purchases within 30 days"
criterion = { type = "within", target = 5, span = { days = 30 }, when = { segment = "vip" } }
bonus = 5
currency = "stars"

[[raffles]]
id = "summer"
name = "Summer raffle"
opens_at = 2026-06-01T00:00:00+02:00
closes_at = 2026-09-01T00:00:00+02:00
prizes = 3
ticket_cost = 50
max_tickets = 20
seed_commitment = "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8"

[[leaderboards]]
id = "weekly"
metric = "points_earned"
per = "week"
group = "store"
when = { segment = "regular" }

[nudges]
badge_share = "0.7"
templates = { badge_within_reach = "Only {needed} more for {badge_name}!" }
"""

PLUS_TWO = timezone(timedelta(hours=2))


def play() -> rk.Program:
    """The programme PLAY_TOML describes, built in Python."""
    return rk.Program(
        name="Café Aroma",
        timezone="Europe/Madrid",
        currencies=["points", "stars"],
        segments={
            "vip": rk.spent_at_least("200"),
            "regular": rk.actions_at_least(5, "visit"),
            "lapsed": rk.inactive_for({"days": 60}),
            "gold-vip": rk.in_segment("vip") & rk.tier_in("gold"),
        },
        rules=[
            rk.per_amount("base", on="purchase", per="1.00", budget=100_000),
            rk.fixed("win-back", on="purchase", points=50, when=rk.in_segment("lapsed")),
            rk.tickets("summer-entry", raffle="summer", on="purchase", per="10.00"),
            rk.referral(
                "bring-a-friend", referrer_points=200, referred_points=100, currency="stars"
            ),
        ],
        tiers=rk.ladder(
            metric="points_earned", levels=[rk.level("silver", 500), rk.level("gold", 1500)]
        ),
        badges=[
            rk.badge("regular", rk.count(10, rk.kind("visit")), bonus=50),
            rk.badge(
                "big-spender",
                rk.threshold("amount_spent", "500"),
                name="Big spender",
                repeatable=True,
            ),
            rk.badge(
                "early-bird",
                rk.streak(5, "week", rk.kind("visit")),
                hidden=True,
            ),
            rk.badge(
                "weekend-warrior",
                rk.within(5, {"days": 30}, rk.in_segment("vip")),
                description="5 weekend purchases within 30 days",
                bonus=5,
                currency="stars",
            ),
        ],
        raffles=[
            rk.raffle(
                "summer",
                name="Summer raffle",
                opens_at=datetime(2026, 6, 1, tzinfo=PLUS_TWO),
                closes_at=datetime(2026, 9, 1, tzinfo=PLUS_TWO),
                prizes=3,
                ticket_cost=50,
                max_tickets=20,
                seed_commitment=rk.commitment(b"password"),
            )
        ],
        leaderboards=[
            rk.leaderboard(
                "weekly",
                metric="points_earned",
                per="week",
                group="store",
                when=rk.in_segment("regular"),
            )
        ],
        nudges=rk.NudgeSettings(
            badge_share="0.7",
            templates={"badge_within_reach": "Only {needed} more for {badge_name}!"},
        ),
    )


def play_data() -> dict[str, Any]:
    return tomllib.loads(PLAY_TOML)


def test_segments_badges_raffles_and_their_rules_load_as_the_python_they_describe() -> None:
    assert rk.load_program(play_data()) == play()


def test_segments_badges_raffles_and_their_rules_dump_as_plain_data() -> None:
    data = rk.dump_program(play())
    assert json.loads(json.dumps(data)) == data
    assert list(data) == [
        "program",
        "segments",
        "rules",
        "tiers",
        "badges",
        "raffles",
        "leaderboards",
        "nudges",
    ]
    assert data["segments"] == {
        "gold-vip": {"all": [{"segment": "vip"}, {"tier": ["gold"]}]},
        "lapsed": {"inactive_for": {"days": 60}},
        "regular": {"actions_at_least": {"count": 5, "kind": "visit"}},
        "vip": {"spent_at_least": "200"},
    }
    assert data["rules"][2:] == [
        {
            "id": "summer-entry",
            "type": "tickets",
            "raffle": "summer",
            "on": "purchase",
            "per": "10.00",
        },
        {
            "id": "bring-a-friend",
            "type": "referral",
            "referrer_points": 200,
            "referred_points": 100,
            "currency": "stars",
        },
    ]
    assert data["badges"][0] == {  # the name "Regular" is the default: left out
        "id": "regular",
        "criterion": {"type": "count", "target": 10, "when": {"kind": "visit"}},
        "bonus": 50,
    }
    assert data["badges"][3]["criterion"] == {
        "type": "within",
        "target": 5,
        "span": {"days": 30},
        "when": {"segment": "vip"},
    }
    assert data["raffles"][0]["opens_at"] == "2026-06-01T00:00:00+02:00"
    assert "currency" not in data["raffles"][0]
    assert data["nudges"]["badge_share"] == "0.7"
    assert rk.load_program(data) == play()


def test_a_loaded_programme_plays_badges_raffle_tickets_and_segments() -> None:
    data = play_data()
    data["badges"][0]["criterion"]["target"] = 1
    kit = rk.Rewards(rk.load_program(data), store="memory://")
    madrid = ZoneInfo("Europe/Madrid")
    at = datetime(2026, 7, 1, 10, tzinfo=madrid)
    visit = rk.Action(id="v1", member="ana", kind="visit", at=at)
    assert any(
        isinstance(event, rk.BadgeAwarded) and event.badge == "regular"
        for event in kit.record(visit).events
    )
    purchase = rk.Action(
        id="p1",
        member="ana",
        kind="purchase",
        at=datetime(2026, 7, 2, 10, tzinfo=madrid),
        amount=Decimal("25.00"),
    )
    earned = [e for e in kit.record(purchase).events if isinstance(e, rk.TicketsEarned)]
    assert [(e.raffle, e.tickets) for e in earned] == [("summer", 2)]


def changed(path: str, value: Any) -> dict[str, Any]:
    """PLAY_TOML with the value at ``path`` (``badges.0.criterion.type``) replaced, or
    removed when ``value`` is ``...``."""
    data = play_data()
    *parents, last = path.split(".")
    node: Any = data
    for step in parents:
        node = node[int(step)] if isinstance(node, list) else node[step]
    key: Any = int(last) if isinstance(node, list) else last
    if value is ...:
        del node[key]
    else:
        node[key] = value
    return data


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        # segments and the conditions on members
        (
            changed("rules.1.when", {"segment": "lapsd"}),
            ["rules[1].when.segment: no segment 'lapsd' (did you mean 'lapsed'?)"],
        ),
        (
            changed("segments.gold-vip", {"segment": "vip", "tier": ["glod"]}),
            ["segments.gold-vip.tier[0]: no tier 'glod' (did you mean 'gold'?)"],
        ),
        (
            changed("segments.vip", {"spent_at_least": "lots"}),
            ["segments.vip.spent_at_least: must be a decimal number, got 'lots'"],
        ),
        (
            changed("segments.regular", {"actions_at_least": {"count": -1, "kind": "visit"}}),
            ["segments.regular.actions_at_least.count: must be a non-negative integer, got -1"],
        ),
        (
            changed("segments.regular", {"actions_at_least": {"cont": 5}}),
            ["segments.regular.actions_at_least: unknown field 'cont' (did you mean 'count'?)"],
        ),
        (
            changed("segments.lapsed", {"inactive_for": {"dys": 60}}),
            [
                "segments.lapsed.inactive_for: unknown unit 'dys' "
                "(expected years, months, weeks, days, hours, minutes)"
            ],
        ),
        (
            changed("segments.lapsed", {"inactive_for": 60}),
            ["segments.lapsed.inactive_for: expected a mapping like {months = 12}, got 60"],
        ),
        (
            changed("segments.vip", {"segment": "gold-vip"}),
            ["segments.gold-vip: is defined through itself (gold-vip -> vip -> gold-vip)"],
        ),
        (
            changed("segments.vip", {"sement": "x"}),
            ["segments.vip: unknown condition 'sement' (did you mean 'segment'?)"],
        ),
        (
            changed("segments", ["vip"]),
            [
                "segments: expected a table of named conditions, such as [segments] with "
                "vip = { spent_at_least = \"200\" }, got ['vip']"
            ],
        ),
        # badges
        (
            changed("badges.0.criterion.type", "cont"),
            [
                "badges[0].criterion.type: unknown badge criterion type 'cont' "
                "(did you mean 'count'?)"
            ],
        ),
        (
            changed("badges.0.criterion.type", ...),
            [
                "badges[0].criterion.type: is required: the badge criterion type "
                "(count, streak, threshold, within)"
            ],
        ),
        (
            changed("badges.0.criterion.target", 0),
            ["badges[0].criterion.target: must be a positive integer, got 0"],
        ),
        (
            changed("badges.0.criterion.when", {"knd": "visit"}),
            ["badges[0].criterion.when: unknown condition 'knd' (did you mean 'kind'?)"],
        ),
        (
            changed("badges.1.criterion.metric", "amount_spend"),
            [
                "badges[1].criterion.metric: unknown value 'amount_spend' "
                "(did you mean 'amount_spent'?)"
            ],
        ),
        (
            changed("badges.1.criterion.target", "-5"),
            ["badges[1].criterion.target: must not be negative, got '-5'"],
        ),
        (
            changed("badges.2.criterion.per", "wek"),
            ["badges[2].criterion.per: unknown value 'wek' (did you mean 'week'?)"],
        ),
        (
            changed("badges.3.criterion.span", {"days": 0}),
            ["badges[3].criterion.span: must be a positive duration, got 0 days"],
        ),
        (
            changed("badges.3.criterion.when", {"segment": "vpi"}),
            ["badges[3].criterion.when.segment: no segment 'vpi' (did you mean 'vip'?)"],
        ),
        (
            changed("badges.0.bonus", -5),
            ["badges[0].bonus: must be a non-negative integer, got -5"],
        ),
        (
            changed("badges.0.bouns", 5),
            ["badges[0]: unknown field 'bouns' (did you mean 'bonus'?)"],
        ),
        (changed("badges.1.id", "regular"), ["badges[1].id: duplicate id 'regular'"]),
        (changed("badges.3.currency", "stras"), ["badges[3].currency: unknown currency 'stras'"]),
        # raffles and ticket rules
        (
            changed("rules.2.raffle", "sumer"),
            ["rules[2].raffle: no raffle 'sumer'"],
        ),
        (
            changed("rules.2.tickets", 0),
            ["rules[2].tickets: must be a positive integer, got 0"],
        ),
        (
            changed("raffles.0.prizes", 0),
            ["raffles[0].prizes: must be a positive integer, got 0"],
        ),
        (
            changed("raffles.0.closes_at", datetime(2026, 5, 1, tzinfo=PLUS_TWO)),
            ["raffles[0].closes_at: must be after opens_at"],
        ),
        (
            changed("raffles.0.opens_at", "2026-06-01T00:00:00"),
            [
                "raffles[0].opens_at: must carry a UTC offset, such as "
                "2026-06-01T00:00:00+01:00 or 2026-06-01T00:00:00Z, got 2026-06-01T00:00:00"
            ],
        ),
        (
            changed("raffles.0.seed_commitment", "abc"),
            ["raffles[0].seed_commitment: must be a sha256 hex digest, got 'abc'"],
        ),
        (
            changed("raffles.0.ticket_cots", 5),
            ["raffles[0]: unknown field 'ticket_cots' (did you mean 'ticket_cost'?)"],
        ),
        # referrals
        (
            changed("rules.3", {"id": "friend", "type": "referral", "referrer_points": 0}),
            ["rules[3].referrer_points: one of the two awards must be positive"],
        ),
        (
            changed("rules.3.referred_points", -1),
            ["rules[3].referred_points: must be a non-negative integer, got -1"],
        ),
        (
            changed("rules.3.on", ["purchase", "visit"]),
            ["rules[3].on: must be a string, got ['purchase', 'visit']"],
        ),
        # leaderboards and nudges
        (
            changed("leaderboards.0.per", "wek"),
            ["leaderboards[0].per: unknown value 'wek' (did you mean 'week'?)"],
        ),
        (
            changed("nudges.badge_share", "1.5"),
            ["nudges.badge_share: must be a number from 0 to 1: 1.5"],
        ),
        (
            changed("nudges.templates", {"badge_within_reach": "{badge_nmae}"}),
            [
                "nudges.templates.badge_within_reach: unknown field {badge_nmae}: use one of "
                "badge, badge_name, current, target, needed"
            ],
        ),
    ],
)
def test_each_problem_of_the_play_sections_is_reported_at_its_path(
    data: dict[str, Any], expected: list[str]
) -> None:
    assert problems(data) == expected


def test_the_reference_to_a_segment_is_checked_at_its_path_in_the_file() -> None:
    segments = {"vip": {"spent_at_least": "200"}}
    rules: list[dict[str, Any]] = [BASE | {"id": f"r{i}"} for i in range(3)]
    rules.append({"id": "vip", "type": "fixed", "points": 5, "when": {"segment": "vpi"}})
    assert problems(with_rules(*rules, segments=segments)) == [
        "rules[3].when.segment: no segment 'vpi' (did you mean 'vip'?)"
    ]


def test_a_segment_named_by_a_condition_of_several_keys_keeps_the_files_path() -> None:
    rule = BASE | {"when": {"kind": "purchase", "segment": "x"}}
    assert problems(with_rules(rule)) == [
        "rules[0].when.segment: no segment 'x' (no segments defined)"
    ]


def test_a_segment_whose_definition_fails_is_still_known_by_name() -> None:
    data = changed("segments.vip", {"spent_at_least": "lots"})
    assert problems(data) == ["segments.vip.spent_at_least: must be a decimal number, got 'lots'"]


def test_the_raffle_of_a_broken_ticket_rule_is_still_checked() -> None:
    data = changed("rules.2.raffle", "winter")
    data["rules"][2]["tickets"] = 0
    assert problems(data) == [
        "rules[2].tickets: must be a positive integer, got 0",
        "rules[2].raffle: no raffle 'winter'",
    ]


def test_a_ticket_rule_naming_a_raffle_that_failed_is_not_reported_again() -> None:
    assert problems(changed("raffles.0.prizes", -1)) == [
        "raffles[0].prizes: must be a positive integer, got -1"
    ]
    assert problems(changed("raffles", {"id": "summer"})) == [
        "raffles: expected a list of tables ([[raffles]]), got {'id': 'summer'}"
    ]


def test_the_id_and_currency_of_a_broken_badge_are_still_checked() -> None:
    data = changed("badges.1.id", "regular")
    data["badges"][1]["currency"] = "stras"
    data["badges"][1]["criterion"]["type"] = "treshold"
    assert problems(data) == [
        "badges[1].criterion.type: unknown badge criterion type 'treshold' "
        "(did you mean 'threshold'?)",
        "badges[1].id: duplicate id 'regular'",
        "badges[1].currency: unknown currency 'stras'",
    ]


def test_badges_and_raffles_default_to_the_programmes_first_currency() -> None:
    data = changed("program.currencies", ["stars", "points"])
    del data["rules"][3]["currency"]
    program = rk.load_program(data)
    assert program.badges[0].currency == "stars"
    assert program.raffles[0].currency == "stars"


# ---------------------------------------------------------------- valid in code, valid in files


def test_a_programme_refuses_a_condition_naming_an_unknown_segment_with_its_path() -> None:
    with pytest.raises(rk.ProgramError) as caught:
        rk.Program(
            name="x",
            segments={"vip": rk.spent_at_least(200)},
            rules=[
                rk.fixed("a", points=1),
                rk.fixed("b", points=1, when=rk.kind("visit") & ~rk.in_segment("vpi")),
            ],
        )
    assert [str(p) for p in caught.value.problems] == [
        "rules[1].when.all[1].not.segment: no segment 'vpi' (did you mean 'vip'?)"
    ]


def test_a_programme_refuses_unknown_levels_and_segments_wherever_conditions_are() -> None:
    with pytest.raises(rk.ProgramError) as caught:
        rk.Program(
            name="x",
            tiers=rk.ladder(
                metric="actions",
                levels=[rk.level("silver", 5)],
                qualifying=rk.tier_in("bronze"),
            ),
            segments={"loyal": rk.tier_in("gold") | rk.in_segment("vip")},
            rules=[rk.fixed("a", points=1, when=rk.tier_in("silver", "silvr"))],
            badges=[rk.badge("b", rk.count(3, rk.in_segment("loyl")))],
            leaderboards=[rk.leaderboard("l", metric="actions", when=rk.in_segment("x"))],
        )
    assert [str(p) for p in caught.value.problems] == [
        "rules[0].when.tier[1]: no tier 'silvr' (did you mean 'silver'?)",
        "badges[0].criterion.when.segment: no segment 'loyl' (did you mean 'loyal'?)",
        "leaderboards[0].when.segment: no segment 'x' (segments: loyal)",
        "segments.loyal.any[0].tier[0]: no tier 'gold' (levels: silver)",
        "segments.loyal.any[1].segment: no segment 'vip' (segments: loyal)",
        "tiers.qualifying.tier[0]: no tier 'bronze' (levels: silver)",
    ]


def test_a_programme_refuses_a_tier_condition_without_tiers() -> None:
    expected = r"rules\[0\]\.when\.tier\[0\]: no tier 'gold' \(no tiers defined\)"
    with pytest.raises(rk.ProgramError, match=expected):
        rk.Program(name="x", rules=[rk.fixed("a", points=1, when=rk.tier_in("gold"))])


def test_a_programme_refuses_segments_defined_through_themselves() -> None:
    with pytest.raises(rk.ProgramError) as caught:
        rk.Program(
            name="x",
            segments={
                "a": rk.in_segment("b"),
                "b": rk.spent_at_least(1) & rk.in_segment("a"),
                "c": rk.in_segment("c"),
                "d": rk.in_segment("a"),
            },
        )
    assert [str(p) for p in caught.value.problems] == [
        "segments.a: is defined through itself (a -> b -> a)",
        "segments.c: is defined through itself (c -> c)",
    ]


def test_segments_may_build_on_other_segments() -> None:
    program = rk.Program(
        name="x",
        segments={
            "vip": rk.spent_at_least(200),
            "loyal-vip": rk.in_segment("vip") & rk.actions_at_least(10),
        },
    )
    assert rk.load_program(rk.dump_program(program)) == program


# ---------------------------------------------------------------- the RFM model

RFM_TOML = """
[program]
name = "Café Aroma"
timezone = "Europe/Madrid"

[segments]
big-at-risk = { segment = "at-risk", spent_at_least = "250" }

[rfm]
recency_days = [60, 30, 14, 7]
frequency = [2, 3, 5, 9]
monetary = ["20.00", "45.50", "90.00", "150.00"]
kinds = ["purchase"]
members = 1204

[[rules]]
id = "win-back"
type = "fixed"
on = "purchase"
points = 50
when = { segment = "at-risk" }

[[rules]]
id = "win-back-big"
type = "fixed"
on = "purchase"
points = 100
when = { any = [{ segment = "big-at-risk" }, { segment = "hibernating" }] }
"""

RFM_MODEL = rk.RFMModel(
    recency_days=(60, 30, 14, 7),
    frequency=(2, 3, 5, 9),
    monetary=("20.00", "45.50", "90.00", "150.00"),
    kinds="purchase",
    members=1204,
)


def rfm_data() -> dict[str, Any]:
    return tomllib.loads(RFM_TOML)


def test_an_rfm_table_loads_as_the_model_rules_test() -> None:
    expected = rk.Program(
        name="Café Aroma",
        timezone="Europe/Madrid",
        segments={"big-at-risk": rk.in_segment("at-risk") & rk.spent_at_least("250")},
        rfm=RFM_MODEL,
        rules=[
            rk.fixed("win-back", on="purchase", points=50, when=rk.in_segment("at-risk")),
            rk.fixed(
                "win-back-big",
                on="purchase",
                points=100,
                when=rk.in_segment("big-at-risk") | rk.in_segment("hibernating"),
            ),
        ],
    )
    assert rk.load_program(rfm_data()) == expected


def test_an_rfm_model_dumps_as_its_table() -> None:
    data = rk.dump_program(rk.load_program(rfm_data()))
    assert list(data) == ["program", "segments", "rfm", "rules"]
    assert data["rfm"] == {
        "recency_days": [60, 30, 14, 7],
        "frequency": [2, 3, 5, 9],
        "monetary": ["20.00", "45.50", "90.00", "150.00"],
        "kinds": ["purchase"],
        "members": 1204,
    }
    bare = rk.Program(name="x", rfm=attrs.evolve(RFM_MODEL, kinds=None, members=0))
    assert set(rk.dump_program(bare)["rfm"]) == {"recency_days", "frequency", "monetary"}
    assert rk.load_program(rk.dump_program(bare)) == bare


def test_an_rfm_tables_numbers_read_as_written() -> None:
    data = rfm_data()
    data["rfm"]["monetary"] = [20, 45.5, "90", "150.00"]  # integers, floats, text
    data["rfm"]["kinds"] = "purchase"  # one kind, without a list
    assert rk.load_program(data).rfm == RFM_MODEL


def rfm_changed(path: str, value: Any) -> dict[str, Any]:
    """RFM_TOML with the value at ``path`` (``rfm.frequency``) replaced, or removed when
    ``value`` is ``...``."""
    data = rfm_data()
    *parents, last = path.split(".")
    node: Any = data
    for step in parents:
        node = node[int(step)] if isinstance(node, list) else node[step]
    if value is ...:
        del node[last]
    else:
        node[last] = value
    return data


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            rfm_changed("rfm.recency_days", [7, 14, 30, 60]),
            [
                "rfm.recency_days[1]: 14 days is longer than the cut point before it (7 days): "
                "list them from the longest silence (scores 1|2) down to the shortest (4|5)"
            ],
        ),
        (
            rfm_changed("rfm.frequency", [2, 3, 3, 1]),
            [
                "rfm.frequency[3]: 1 is less than the cut point before it (3): list them from "
                "the fewest visits (scores 1|2) up to the most (4|5)"
            ],
        ),
        (
            rfm_changed("rfm.monetary", ["20", "10", "90", "150"]),
            [
                "rfm.monetary[1]: 10 is less than the cut point before it (20): list them from "
                "the least spend (scores 1|2) up to the most (4|5)"
            ],
        ),
        (
            rfm_changed("rfm.frequency", [2, 3, 5]),
            [
                "rfm.frequency: expected 4 cut points (between scores 1|2, 2|3, 3|4 and 4|5), "
                "got [2, 3, 5]"
            ],
        ),
        (
            rfm_changed("rfm.recency_days", [60, "30", 14.5, -7]),
            [
                "rfm.recency_days[1]: must be a whole number of days >= 0, got '30'",
                "rfm.recency_days[2]: must be a whole number of days >= 0, got 14.5",
                "rfm.recency_days[3]: must be a whole number of days >= 0, got -7",
            ],
        ),
        (
            rfm_changed("rfm.monetary", ["20", "lots", "-1", 150]),
            [
                "rfm.monetary[1]: must be an amount >= 0, got 'lots'",
                "rfm.monetary[2]: must be an amount >= 0, got '-1'",
            ],
        ),
        (rfm_changed("rfm.kinds", []), ["rfm.kinds: must name at least one action kind"]),
        (rfm_changed("rfm.members", -3), ["rfm.members: must be a whole number >= 0, got -3"]),
        (rfm_changed("rfm.monetary", ...), ["rfm.monetary: is required"]),
        (
            rfm_changed("rfm.frequencies", [1, 2, 3, 4]),
            ["rfm: unknown field 'frequencies' (did you mean 'frequency'?)"],
        ),
        (
            rfm_changed("rfm", {"recency": [60, 30, 14, 7], "frequency": [1, 2, 3, 4]}),
            ["rfm: unknown field 'recency' (did you mean 'recency_days'? whole days)"],
        ),
        (
            rfm_changed("rfm", [60, 30, 14, 7]),
            ["rfm: expected a table of fields, got [60, 30, 14, 7]"],
        ),
        # the segments an RFM model names
        (
            rfm_changed("rules.0.when", {"segment": "at_risk"}),
            ["rules[0].when.segment: no segment 'at_risk' (did you mean 'at-risk'?)"],
        ),
        (
            rfm_changed("segments.loyal", {"spent_at_least": "100"}),
            [
                "segments.loyal: is also the name of an RFM segment of rfm: rename it "
                "(RFM segments: champions, loyal, potential, new, at-risk, hibernating, lost)"
            ],
        ),
        (
            rfm_changed("rfm", ...),
            [
                "segments.big-at-risk.segment: no segment 'at-risk': at-risk is an RFM "
                "segment, and the programme declares no RFM model (Program(rfm=...), or an "
                "[rfm] table in a file)",
                "rules[0].when.segment: no segment 'at-risk': at-risk is an RFM segment, and "
                "the programme declares no RFM model (Program(rfm=...), or an [rfm] table in a "
                "file)",
                "rules[1].when.any[1].segment: no segment 'hibernating': hibernating is an RFM "
                "segment, and the programme declares no RFM model (Program(rfm=...), or an "
                "[rfm] table in a file)",
            ],
        ),
    ],
)
def test_every_rfm_problem_is_reported_with_its_path(
    data: dict[str, Any], expected: list[str]
) -> None:
    with pytest.raises(rk.ProgramError) as caught:
        rk.load_program(data)
    assert [str(p) for p in caught.value.problems] == expected


def test_a_broken_rfm_table_still_declares_its_segments() -> None:
    """Rules naming RFM segments are not reported again; a clashing name still is."""
    data = rfm_changed("rfm.frequency", [3, 2, 1, 0])
    data["segments"]["lost"] = {"spent_at_least": "1"}
    with pytest.raises(rk.ProgramError) as caught:
        rk.load_program(data)
    assert [p.path for p in caught.value.problems] == ["segments.lost", "rfm.frequency[1]"]
