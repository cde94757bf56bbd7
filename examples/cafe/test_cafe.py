"""Café Aroma's first quarter, checked against points worked out by hand from program.toml.

A point per euro (twice at weekends, 1.5 times in the spring week), 25 for a first
purchase, 3 for a breakfast pastry, 2 for an app order, 1 for a check-in (once a day),
15 for a review.  Silver (200 points from purchases in 6 months) multiplies every rule's
points by 1.1, Gold (450) by 1.25, kept while the member buys within 45 days.  Points
expire after 60 days without activity.
"""

from __future__ import annotations

import importlib.util
from datetime import datetime
from pathlib import Path
from types import ModuleType

import pytest

import rewardkit as rk

HERE = Path(__file__).resolve().parent


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("cafe_example", HERE / "cafe.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


cafe = load_script()
madrid = cafe.madrid


def record_until(kit: rk.Rewards, instant: datetime) -> dict[str, rk.Outcome]:
    """Record the story's calls before ``instant``; their outcomes by id."""
    outcomes: dict[str, rk.Outcome] = {}
    for step in cafe.story():
        if isinstance(step, cafe.Look) or step.at >= instant:
            continue
        if isinstance(step, cafe.Redeem):
            outcomes[step.id] = kit.redeem(step.member, step.reward, id=step.id, at=step.at)
        else:
            outcomes[step.id] = kit.record(step)
    return outcomes


@pytest.fixture
def kit() -> rk.Rewards:
    return rk.Rewards(cafe.load_program(), store="memory://")


def earned(outcome: rk.Outcome) -> dict[str, int]:
    return {award.rule: award.points for award in outcome.awards}


def test_points_rule_by_rule(kit: rk.Rewards) -> None:
    out = record_until(kit, madrid("2026-04-01 00:00"))
    assert earned(out["t-0105-1"]) == {"base": 3, "welcome": 25, "breakfast-pastry": 3}
    assert earned(out["t-0110-1"]) == {"base": 24, "weekend-double": 24, "app-order": 2}
    assert (out["v-0113-1"].points, out["v-0113-2"].points) == (1, 0)  # once a day
    # Silver: x1.1 on every rule, rounded down per rule: 80 x 0.1 = 8, 2 x 0.1 = 0.
    assert out["t-0207-1"].points == 40 + 40 + 8 + 2
    assert earned(out["rv-0215-1"]) == {"review": 15, "tier:gold": 3}  # 15 x 1.25 = 18.75
    # Gold in the spring week: 4 x 1.5 x 1.25 = 7.5 -> 7, and the pastry 3 x 1.25 -> 3.
    assert earned(out["t-0316-1"]) == {
        "base": 4,
        "spring-week": 2,
        "tier:gold": 1,
        "breakfast-pastry": 3,
    }


def test_levels_count_purchases_only_and_are_reached_at_once(kit: rk.Rewards) -> None:
    out = record_until(kit, madrid("2026-04-01 00:00"))

    def reached(id: str) -> list[str | None]:
        return [e.level for e in out[id].events if isinstance(e, rk.TierChanged)]

    assert reached("t-0117-1") == ["silver"]  # 31 + 50 + 174 = 255 (the check-in aside)
    assert reached("t-0124-1") == ["silver"]  # Javier: 27 + 218 = 245
    assert reached("t-0214-1") == ["gold"]  # 255 + 90 + 134 = 479
    assert out["r-lucia-2"].points == -400  # the Aroma mug, for Gold members only


def test_the_first_nudge_is_the_seed_articles_message(kit: rk.Rewards) -> None:
    record_until(kit, madrid("2026-01-05 08:16"))
    messages = [nudge.message for nudge in kit.nudges("lucia", at=madrid("2026-01-05 08:16"))]
    assert messages == [
        "te felicitamos por ganar 31 puntos, ahora sólo son 69 puntos lejos de alcanzar tu "
        "próxima recompensa"
    ]


def test_javier_is_told_everything_before_his_level_and_points_go(kit: rk.Rewards) -> None:
    at = madrid("2026-03-01 09:00")
    record_until(kit, at)
    said = {nudge.kind: nudge.message for nudge in kit.nudges("javier", at=at)}
    assert said == {
        "reward_within_reach": "te felicitamos por ganar 218 puntos, ahora sólo son 5 puntos "
        "lejos de alcanzar tu próxima recompensa",  # 245 of the 250 for breakfast for two
        "points_expiring": "245 de tus puntos caducan el 25/03/2026: te quedan 24 días para "
        "usarlos",  # 60 days after 24 January
        "tier_at_risk": "has estado inactivo durante 36 días, recuerda que sólo tienes 9 días "
        "para realizar una compra, antes de que tu nivel Silver caduque",  # 45 days
        "next_tier": "sólo te faltan 205 para alcanzar el nivel Gold",  # 450 - 245
        "inactive": "te echamos de menos: han pasado 36 días desde tu última visita",
    }


def test_time_takes_javiers_level_then_his_points(kit: rk.Rewards) -> None:
    record_until(kit, madrid("2026-04-01 00:00"))
    report = kit.expire(at=madrid("2026-03-31 21:00"))
    changes = [(c.member, c.previous, c.level, c.reason, c.at) for c in report.tier_changes]
    assert changes == [("javier", "silver", None, "inactive", madrid("2026-03-10 10:00"))]
    assert dict(report.expired) == {"points": 245}
    expired = [
        e
        for e in kit.history("javier", at=madrid("2026-03-31 21:00"))
        if e.kind == rk.EntryKind.EXPIRE
    ]
    assert {e.at for e in expired} == {madrid("2026-03-25 10:00")}
    end = madrid("2026-03-31 21:00")
    assert kit.balance("javier", at=end) == 0
    assert kit.balance("lucia", at=end) == 31 + 50 + 1 + 174 - 100 + 90 + 134 + 18 + 10 - 400
    assert kit.member("lucia", at=end).tier == "gold"


def test_the_script_tells_the_quarter_and_a_second_run_counts_nothing_twice(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "cafe.db")
    cafe.main(db)
    first = capsys.readouterr().out
    for line in (
        "Sat 14 Feb 12:00  Lucía   60.00 brunch (app)           +134  balance 380  "
        "(base 60 + app-order 2 + weekend-double 60 + tier:silver 12; now Gold)",
        "    [tier_at_risk] has estado inactivo durante 36 días, recuerda que sólo tienes 9 días "
        "para realizar una compra, antes de que tu nivel Silver caduque",
        "  10 Mar  Javier: Silver -> no level (inactive)",
        "  25 Mar  Javier: 245 points expired",
        "Balance of Lucía: 8 points",
    ):
        assert line in first.splitlines(), f"{line!r} not in:\n{first}"
    cafe.main(db)
    second = capsys.readouterr().out
    assert second.count("(replayed)") == 13  # every purchase, visit, review and redemption
    assert "te felicitamos" not in second  # the app's past screens are not shown again
    assert second.splitlines()[-2:] == first.splitlines()[-2:]
