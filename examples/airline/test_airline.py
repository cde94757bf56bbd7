"""SkyWays Air's 2026-2028, checked against miles and levels worked out by hand.

5 miles a dollar flown, 1,000 for a first flight, x1.5 in business and first, 2 miles a
dollar in partner hotels; levels on dollars flown in a calendar year (Silver 2,500,
Gold 6,000, Platinum 12,000) multiply every award by 1.25, 1.5 or 2, and the factors
multiply together.
"""

from __future__ import annotations

import importlib.util
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import rewardkit as rk

HERE = Path(__file__).resolve().parent


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("airline_example", HERE / "airline.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


airline = load_script()
NEW_YORK = airline.NEW_YORK


def new_york(year: int, month: int, day: int, hour: int = 0) -> datetime:
    return datetime(year, month, day, hour, tzinfo=NEW_YORK)


def story_until(kit: rk.Rewards, instant: datetime) -> dict[str, Any]:
    """Record the lines before ``instant`` not yet recorded, then sweep to it."""
    lines = [line for line in airline.read_story() if datetime.fromisoformat(line["at"]) < instant]
    results: dict[str, Any] = airline.record(kit, lines)
    kit.expire(at=instant)
    return results


@pytest.fixture
def kit() -> rk.Rewards:
    return rk.Rewards(airline.load_program(), store="memory://")


def test_miles_for_each_flight(kit: rk.Rewards) -> None:
    out = story_until(kit, new_york(2028, 5, 1))
    assert out["pnr-a1"].points == 2400 * 5 + 1000
    assert out["pnr-a2"].points == 3900 * 5 * 3 // 2  # business; Gold from this flight on
    assert out["hotel-a1"].points == 1250 * 2 * 3 // 2  # Gold: x1.5
    assert out["pnr-c1"].points == 6800 * 5 * 3 // 2 + 1000  # first class, first flight
    assert out["pnr-c2"].points == 5600 * 5 * 3 // 2 * 3 // 2  # business x Gold: 63,000
    assert out["pnr-c3"].points == 4100 * 5 * 2  # Platinum
    assert out["pnr-b3"].points == 900 * 5 * 5 // 4  # Silver: x1.25
    # Dara is refunded half of her ticket: half of its miles and of its first-flight bonus.
    assert out["refund-d1"].points == -(3200 // 2 + 1000 // 2)


def test_a_reward_for_a_higher_level_is_refused(kit: rk.Rewards) -> None:
    refused = story_until(kit, new_york(2027, 12, 31))["redeem-d1"]
    assert isinstance(refused, rk.RewardUnavailable) and refused.reward == "seat-upgrade"
    assert kit.balance("dara", at=new_york(2027, 12, 31)) == 4200 - 2100 + 960


def test_levels_are_reached_the_moment_the_spend_meets_them(kit: rk.Rewards) -> None:
    at = new_york(2026, 12, 15)
    story_until(kit, at)
    assert {m: kit.member(m, at=at).tier for m in airline.TRAVELLERS} == {
        "alice": "gold",  # 2,400 + 3,900 = 6,300
        "bob": "silver",  # 1,800 + 1,200 = 3,000
        "chen": "platinum",  # 6,800 + 5,600 = 12,400
        "dara": None,
    }
    status = kit.member("chen", at=at).tier_status
    assert status is not None and status.review_at == new_york(2028, 1, 1)


def test_two_weeks_before_the_review_the_app_warns_who_falls_short(kit: rk.Rewards) -> None:
    at = new_york(2027, 12, 15, 12)
    story_until(kit, at)

    def said(member: str) -> list[str]:
        return [nudge.message for nudge in kit.nudges(member, at=at)]

    assert said("alice") == ["Fly $5,600 more this year to reach Platinum"]  # 12,000 - 6,400
    assert said("bob") == [
        "6,625 miles: only 1,375 more to a lounge day pass",
        "Fly $1,600 more by 01 Jan 2028 to keep Silver (17 days left)",  # 2,500 - 900
    ]
    assert said("chen") == ["Fly $7,900 more by 01 Jan 2028 to keep Platinum (17 days left)"]
    assert said("dara") == []


def test_the_review_keeps_gold_and_puts_the_others_on_grace(kit: rk.Rewards) -> None:
    at = new_york(2028, 1, 2)
    story_until(kit, at)
    alice, bob, chen = (kit.member(m, at=at).tier_status for m in ("alice", "bob", "chen"))
    assert alice is not None and (alice.level, alice.review_at) == ("gold", new_york(2029, 1, 1))
    assert bob is not None and (bob.level, bob.grace_until) == ("silver", new_york(2028, 4, 1))
    assert chen is not None and (chen.level, chen.grace_until) == ("platinum", new_york(2028, 4, 1))


def test_when_grace_ends_each_drops_to_the_level_this_year_still_meets(kit: rk.Rewards) -> None:
    story_until(kit, new_york(2028, 3, 31))
    report = kit.expire(at=new_york(2028, 5, 1))
    moves = [(c.member, c.previous, c.level, c.reason, c.at) for c in report.tier_changes]
    assert moves == [
        ("bob", "silver", None, "grace", new_york(2028, 4, 1)),  # nothing flown in 2028
        ("chen", "platinum", "silver", "grace", new_york(2028, 4, 1)),  # $2,800 in 2028
    ]
    balances = {m: kit.balance(m, at=new_york(2028, 5, 1)) for m in airline.TRAVELLERS}
    assert balances == {"alice": 54_000, "bob": 6_625, "chen": 184_000, "dara": 3_060}
    assert sum(balances.values()) == 247_685  # what `rewardkit simulate` calls outstanding


def test_the_script_tells_the_story_and_a_second_run_counts_nothing_twice(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "miles.db")
    airline.main(db)
    first = capsys.readouterr().out
    for line in (
        "  30 Aug 2026  chen flight SFO-SYD business $5,600.00       +63,000 miles  "
        "balance 115,000  (now Platinum)",
        "  bob      6,625 miles  Silver, on grace until 01 Apr 2028     $     0.00 flown in 2028",
        "  01 Apr 2028: chen platinum -> silver (grace)",
        "  chen   184,000 miles  Silver, reviewed 01 Jan 2029           $ 2,800.00 flown in 2028",
    ):
        assert line in first.splitlines(), f"{line!r} not in:\n{first}"
    airline.main(db)
    second = capsys.readouterr().out
    assert second.count("(replayed)") == 17  # every line but the refused upgrade
    # The second run finds the tier changes already written by the first run's sweeps.
    assert "01 Apr 2028: chen platinum -> silver" not in second
