"""Plugins: a user's own rule, condition, expiry policy and badge criterion, used from TOML
like built-ins."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from datetime import datetime, timedelta, tzinfo
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import attrs
import pytest

import rewardkit as rk
from rewardkit import plugins

from .conftest import at


@attrs.frozen
class PerItem:
    """``bonus`` points per item in the action's ``items`` attribute."""

    id: str
    bonus: int = attrs.field(validator=attrs.validators.gt(0))
    on: frozenset[str] | None = None
    when: rk.Condition = rk.always
    currency: str = "points"
    caps: tuple[rk.Cap, ...] = ()

    def points(self, ctx: rk.Context) -> int:
        items = ctx.action.attributes.get("items", 0)
        return self.bonus * items if isinstance(items, int) and self.when(ctx) else 0


@attrs.frozen
class DoneBefore:
    """The member had already done ``times`` actions of ``kind``."""

    kind: str
    times: int = 1

    def __call__(self, ctx: rk.Context) -> bool:
        return ctx.member.kinds.get(self.kind, 0) >= self.times


@attrs.frozen
class AfterDays:
    """Lots expire ``days`` days after they were earned (a toy policy)."""

    days: int
    uses_activity = False

    def expires_at(self, earned_at: datetime, activity: datetime | None, tz: tzinfo) -> datetime:
        return earned_at + timedelta(days=self.days)


@pytest.fixture
def registered() -> Iterator[None]:
    rk.register_rule("per_item")(PerItem)
    rk.register_condition("done_before")(DoneBefore)
    rk.register_expiry("after_days")(AfterDays)
    yield
    plugins.unregister("rule", "per_item")
    plugins.unregister("condition", "done_before")
    plugins.unregister("expiry", "after_days")


SHOP = """
[program]
name = "Shop"
timezone = "Europe/Madrid"

[[rules]]
id = "items"
type = "per_item"
on = "purchase"
bonus = 2
when = { done_before = { kind = "purchase" }, weekday = ["sat"] }
caps = [{ per = "day", points = 10 }]

[expiry]
type = "earliest_of"
policies = [{ type = "after_days", days = 30 }, { type = "fixed_term", term = { months = 1 } }]
"""


def problems(text: str) -> list[str]:
    with pytest.raises(rk.ProgramError) as caught:
        rk.load_program(tomllib.loads(text))
    return [str(problem) for problem in caught.value.problems]


@pytest.mark.usefixtures("registered")
def test_a_plugin_rule_and_condition_work_from_toml_like_built_ins() -> None:
    program = rk.load_program(tomllib.loads(SHOP))
    assert program.rules[0] == PerItem(
        "items",
        bonus=2,
        on=frozenset({"purchase"}),
        when=rk.condition(DoneBefore("purchase")) & rk.weekday("sat"),
        caps=(rk.cap(per="day", points=10),),
    )
    assert program.expiry == rk.earliest_of(AfterDays(30), rk.fixed_term({"months": 1}))
    kit = rk.Rewards(program, store="memory://")

    def buy(n: int, items: int) -> int:
        action = rk.Action(
            id=f"o{n}",
            member="ana",
            kind="purchase",
            at=at(f"2026-03-{7 + n:02d} 10:00"),  # 7 March 2026 is a Saturday
            attributes={"items": items},
        )
        return kit.record(action).points

    assert buy(0, 3) == 0  # no purchase before
    assert buy(7, 3) == 6  # the next Saturday: done before
    assert buy(8, 3) == 0  # a Sunday


@pytest.mark.usefixtures("registered")
def test_a_plugin_round_trips_like_a_built_in() -> None:
    program = rk.load_program(tomllib.loads(SHOP))
    data = rk.dump_program(program)
    assert data["rules"][0] == {
        "id": "items",
        "type": "per_item",
        "bonus": 2,
        "on": ["purchase"],
        "when": {"all": [{"done_before": {"kind": "purchase"}}, {"weekday": ["sat"]}]},
        "caps": [{"per": "day", "points": 10}],
    }
    assert data["expiry"]["policies"][0] == {"type": "after_days", "days": 30}
    assert rk.load_program(data) == program


@pytest.mark.usefixtures("registered")
def test_a_plugin_gets_the_same_validation_messages_as_built_ins() -> None:
    text = """
[program]
name = "Shop"

[[rules]]
id = "a"
type = "per_itme"
bonus = 2

[[rules]]
id = "b"
type = "per_item"
bouns = 2

[[rules]]
id = "c"
type = "per_item"
bonus = "two"
on = 5
when = { done_befor = { kind = "purchase" } }

[[rules]]
id = "d"
type = "per_item"
bonus = -1
when = { done_before = { knd = "purchase", times = "x" } }

[expiry]
type = "after_day"
"""
    assert problems(text) == [
        "rules[0].type: unknown rule type 'per_itme' (did you mean 'per_item'?)",
        "rules[1]: unknown field 'bouns' (did you mean 'bonus'?)",
        "rules[2].bonus: must be an integer, got 'two'",
        "rules[2].on: expected a list, got 5",
        "rules[2].when: unknown condition 'done_befor' (did you mean 'done_before'?)",
        "rules[3].when.done_before: unknown field 'knd' (did you mean 'kind'?)",
        "rules[3].when.done_before.times: must be an integer, got 'x'",
        "expiry.type: unknown expiry type 'after_day' (did you mean 'after_days'?)",
    ]


@pytest.mark.usefixtures("registered")
def test_a_plugin_validator_failing_in_init_names_its_field() -> None:
    text = '[program]\nname = "x"\n[[rules]]\nid = "a"\ntype = "per_item"\nbonus = 0\n'
    assert problems(text) == ["rules[0].bonus: must be > 0: 0"]


@pytest.mark.usefixtures("registered")
def test_a_plugin_field_typed_as_a_built_in_type_takes_its_file_form() -> None:
    @attrs.frozen
    class Weighted:
        id: str
        weight: Decimal
        until: datetime | None = None
        on: frozenset[str] | None = None
        currency: str = "points"
        caps: tuple[rk.Cap, ...] = ()

        def points(self, ctx: rk.Context) -> int:
            return 1

    rk.register_rule("weighted")(Weighted)
    try:
        data: dict[str, Any] = {
            "program": {"name": "x"},
            "rules": [
                {"id": "w", "type": "weighted", "weight": "1.5", "until": "2026-12-01T00:00:00Z"}
            ],
        }
        program = rk.load_program(data)
        rule = program.rules[0]
        assert isinstance(rule, Weighted) and rule.weight == Decimal("1.5")
        assert rk.load_program(rk.dump_program(program)) == program
        data["rules"][0]["weight"] = "-1"
        with pytest.raises(rk.ProgramError, match=r"rules\[0\]\.weight: must not be negative"):
            rk.load_program(data)
    finally:
        plugins.unregister("rule", "weighted")


def test_an_unregistered_plugin_is_an_unknown_type() -> None:
    assert problems(SHOP)[0].startswith("rules[0].type: unknown rule type 'per_item'")


@pytest.mark.parametrize(
    ("kind", "name"),
    [
        ("rule", "fixed"),
        ("rule", "multiplier"),
        ("rule", "tickets"),
        ("condition", "weekday"),
        ("condition", "segment"),
        ("expiry", "never"),
        ("badge", "count"),
    ],
)
def test_a_plugin_may_not_shadow_a_built_in(kind: plugins.PluginKind, name: str) -> None:
    with pytest.raises(rk.ProgramError, match=rf"'{name}': it is a built-in {kind} type"):
        plugins.register(kind, name)


@pytest.mark.usefixtures("registered")
def test_a_name_taken_by_another_class_is_refused() -> None:
    @attrs.frozen
    class Other(PerItem):
        pass

    with pytest.raises(rk.ProgramError, match=r"already registered for .*PerItem"):
        rk.register_rule("per_item")(Other)
    rk.register_rule("per_item")(PerItem)  # the same class again is fine


@pytest.mark.usefixtures("registered")
def test_one_class_cannot_take_two_names() -> None:
    with pytest.raises(rk.ProgramError, match="already registered as 'per_item'"):
        rk.register_rule("per_item_too")(PerItem)


@pytest.mark.parametrize(
    ("register", "cls", "lacks"),
    [
        (rk.register_rule, DoneBefore, "id, on, currency, caps, points"),
        (rk.register_condition, AfterDays, "__call__"),
        (rk.register_expiry, PerItem, "expires_at, uses_activity"),
        (rk.register_badge_criterion, PerItem, "step, reached, standing, reset"),
    ],
)
def test_a_class_must_satisfy_its_kinds_contract(register: Any, cls: type, lacks: str) -> None:
    with pytest.raises(rk.ProgramError, match=f"it lacks {lacks}$"):
        register("a_name")(cls)


def test_a_plugin_must_be_an_attrs_class() -> None:
    class Plain:
        def __call__(self, ctx: rk.Context) -> bool:
            return True

    with pytest.raises(rk.ProgramError, match="must be an attrs class"):
        rk.register_condition("plain")(Plain)


def test_unregister_forgets_a_plugin() -> None:
    rk.register_condition("done_before")(DoneBefore)
    plugins.unregister("condition", "done_before")
    assert plugins.lookup("condition", "done_before") is None
    plugins.unregister("condition", "done_before")  # a second time does nothing


# ---------------------------------------------------------------- badge criteria


@attrs.frozen
class VisitDays:
    """Visits on ``days`` different local days."""

    days: int = attrs.field(validator=attrs.validators.gt(0))
    kind: str = "visit"

    def step(self, ctx: rk.Context, progress: rk.BadgeProgress, points: int) -> rk.BadgeProgress:
        day = ctx.local.date().toordinal()
        if ctx.action.kind != self.kind or progress.period == day:
            return progress
        return attrs.evolve(progress, count=progress.count + 1, period=day)

    def reached(self, progress: rk.BadgeProgress) -> bool:
        return progress.count >= self.days

    def standing(
        self, progress: rk.BadgeProgress, at: datetime, tz: tzinfo
    ) -> tuple[Decimal, Decimal]:
        return Decimal(min(progress.count, self.days)), Decimal(self.days)

    def reset(self, progress: rk.BadgeProgress) -> rk.BadgeProgress:
        return attrs.evolve(progress, count=0)


@pytest.fixture
def visit_days() -> Iterator[None]:
    rk.register_badge_criterion("visit_days")(VisitDays)
    yield
    plugins.unregister("badge", "visit_days")


REGULARS = """
[program]
name = "Café"

[[badges]]
id = "regular"
criterion = { type = "visit_days", days = 2 }
bonus = 10
"""


@pytest.mark.usefixtures("visit_days")
def test_a_badge_criterion_plugin_works_from_toml_like_a_built_in() -> None:
    program = rk.load_program(tomllib.loads(REGULARS))
    assert program.badges == (rk.badge("regular", VisitDays(2), bonus=10),)
    data = rk.dump_program(program)
    assert data["badges"][0]["criterion"] == {"type": "visit_days", "days": 2}
    assert rk.load_program(data) == program
    kit = rk.Rewards(program, store="memory://")

    def visit(n: int, when: str) -> tuple[int, bool]:
        action = rk.Action(id=f"v{n}", member="ana", kind="visit", at=at(when))
        outcome = kit.record(action)
        return outcome.points, any(isinstance(e, rk.BadgeAwarded) for e in outcome.events)

    assert visit(1, "2026-03-02 09:00") == (0, False)
    assert visit(2, "2026-03-02 18:00") == (0, False)  # the same day
    assert visit(3, "2026-03-03 09:00") == (10, True)


@pytest.mark.usefixtures("visit_days")
def test_a_badge_criterion_plugin_gets_the_same_validation_messages() -> None:
    text = REGULARS.replace("days = 2 }", "days = 0, knd = 1 }") + (
        '\n[[badges]]\nid = "b"\ncriterion = { type = "visit_day", days = 1 }\n'
        '\n[[badges]]\nid = "c"\ncriterion = { type = "visit_days", days = 0 }\n'
    )
    assert problems(text) == [
        "badges[0].criterion: unknown field 'knd' (did you mean 'kind'?)",
        "badges[1].criterion.type: unknown badge criterion type 'visit_day' "
        "(did you mean 'visit_days'?)",
        "badges[2].criterion.days: must be > 0: 0",
    ]


def test_an_unregistered_badge_criterion_cannot_be_dumped_and_says_how_to_register() -> None:
    program = rk.Program(name="x", badges=[rk.badge("regular", VisitDays(2))])
    with pytest.raises(rk.ProgramError) as caught:
        rk.dump_program(program)
    (problem,) = caught.value.problems
    assert problem.path == "badges[0].criterion"
    assert problem.message.endswith(
        "which the file format does not know (register a class of your own with "
        "rewardkit.register_badge_criterion)"
    )


# ---------------------------------------------------------------- entry points


class FakeEntryPoint:
    def __init__(self, name: str, loaded: object) -> None:
        self.name = name
        self.value = f"fake_package:{name}"
        self.loaded = loaded
        self.loads = 0

    def load(self) -> object:
        self.loads += 1
        if isinstance(self.loaded, Exception):
            raise self.loaded
        return self.loaded


@pytest.fixture
def entry_points(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[FakeEntryPoint]]:
    """Fake installed entry points, read afresh by the next load."""
    points: list[FakeEntryPoint] = []
    groups: list[str] = []

    def fake(*, group: str) -> list[FakeEntryPoint]:
        groups.append(group)
        return points

    monkeypatch.setattr(plugins, "entry_points", fake)
    monkeypatch.setattr(plugins, "_entry_points_loaded", False)
    yield points
    assert set(groups) <= {"rewardkit.plugins"}
    plugins.unregister("rule", "per_item")
    plugins.unregister("condition", "done_before")


def test_an_entry_point_function_is_called_once_on_the_first_load(
    entry_points: list[FakeEntryPoint],
) -> None:
    calls: list[str] = []

    def register() -> None:
        calls.append("register")
        rk.register_rule("per_item")(PerItem)

    entry_points.append(FakeEntryPoint("shop", register))
    entry_points.append(FakeEntryPoint("module", SimpleNamespace()))  # imported, not called
    assert calls == []  # nothing happens before a programme is loaded
    data = {"program": {"name": "x"}, "rules": [{"id": "i", "type": "per_item", "bonus": 1}]}
    assert isinstance(rk.load_program(data).rules[0], PerItem)
    rk.load_program(data)
    rk.dump_program(rk.load_program(data))
    assert calls == ["register"]
    assert [point.loads for point in entry_points] == [1, 1]


def test_an_entry_point_naming_a_class_is_imported_not_called(
    entry_points: list[FakeEntryPoint],
) -> None:
    entry_points.append(FakeEntryPoint("cls", rk.register_condition("done_before")(DoneBefore)))
    rk.load_program({"program": {"name": "x"}})
    assert plugins.lookup("condition", "done_before") is DoneBefore


def test_a_failing_entry_point_is_a_problem_naming_it(entry_points: list[FakeEntryPoint]) -> None:
    entry_points.append(FakeEntryPoint("broken", ImportError("No module named 'fake_package'")))
    with pytest.raises(rk.ProgramError, match=r"entry point 'broken' \(fake_package:broken\)"):
        rk.load_program({"program": {"name": "x"}})
