"""Every script in examples/ runs in a fresh process and prints what it promises."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from types import ModuleType

import pytest

import rewardkit as rk

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SCRIPTS = sorted(EXAMPLES.glob("*.py"))
QUICKSTART = EXAMPLES / "quickstart.py"

# Lines (regular expressions) each example must print.  A new example adds its own here.
KEY_LINES: dict[str, list[str]] = {
    "quickstart.py": [
        r"^visit-2 .* \+0  balance   55  \(capped\)",
        r"only 45 points to your free coffee",
        r"^order-1002 .* \+136  balance  191",
        r"^redeem-1 .* -100  balance   91",
        r"this order earns 24 points",
        r"^refund-1 .* -38  balance   53",
        r"^\s+6\s+reverse\s+-38\s+53\s+refund-1\s+order-1002$",
        r"^Balance: 53 points$",
    ],
    "nudges.py": [
        r"^  \[reward_within_reach\] te felicitamos por ganar 75 puntos, ahora sólo son 25 "
        r"puntos lejos de alcanzar tu próxima recompensa$",
        r"^  \[tier_at_risk\] has estado inactivo durante 156 días, recuerda que sólo tienes "
        r"24 días para realizar una compra, antes de que tu nivel Gold caduque$",
    ],
}

pytestmark = pytest.mark.slow


def run(script: Path, cwd: Path, *args: str) -> str:
    env = {**os.environ, "PYTHONUTF8": "1"}
    env.pop("REWARDKIT_STORE", None)
    done = subprocess.run(
        [sys.executable, str(script), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
    )
    assert done.returncode == 0, f"{script.name} exited {done.returncode}:\n{done.stderr}"
    return done.stdout


def balance_printed(output: str) -> int:
    found = re.search(r"^Balance: (\d+) points$", output, re.MULTILINE)
    assert found, output
    return int(found.group(1))


def outcome_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if re.search(r"[+-]\d+  balance ", line)]


def load_quickstart() -> ModuleType:
    spec = importlib.util.spec_from_file_location("quickstart_example", QUICKSTART)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_there_are_examples() -> None:
    assert QUICKSTART in SCRIPTS


@pytest.mark.parametrize("script", SCRIPTS, ids=[s.name for s in SCRIPTS])
def test_example_runs_and_prints_its_key_lines(script: Path, tmp_path: Path) -> None:
    assert script.name in KEY_LINES, f"add the lines {script.name} must print to KEY_LINES"
    output = run(script, tmp_path, str(tmp_path / "example.db"))
    for pattern in KEY_LINES[script.name]:
        assert re.search(pattern, output, re.MULTILINE), f"{pattern!r} not in:\n{output}"


def test_quickstart_defaults_to_a_file_in_the_current_directory(tmp_path: Path) -> None:
    run(QUICKSTART, tmp_path)
    assert (tmp_path / "quickstart.db").is_file()


def test_quickstart_twice_replays_and_counts_nothing_twice(tmp_path: Path) -> None:
    db = str(tmp_path / "twice.db")
    first = run(QUICKSTART, tmp_path, db)
    second = run(QUICKSTART, tmp_path, db)
    assert balance_printed(second) == balance_printed(first) == 53
    assert "(replayed)" not in first and "Run me again" in first
    assert outcome_lines(second) and all(
        line.endswith("(replayed)") for line in outcome_lines(second)
    )
    assert "nothing was counted twice" in second
    # Apart from the replay marks, the second run tells the same story.
    assert second.replace("  (replayed)", "").splitlines()[:-1] == first.splitlines()[:-1]


def test_state_written_by_the_script_is_read_by_another_process(tmp_path: Path) -> None:
    db = tmp_path / "shared.db"
    printed = balance_printed(run(QUICKSTART, tmp_path, str(db)))
    program = load_quickstart().build_program()
    with rk.Rewards(program, store=f"sqlite:///{db}") as kit:
        assert kit.balance("ana") == printed
        history = kit.history("ana")
        assert sum(entry.points for entry in history) == printed
        assert [entry.cause for entry in history][-2:] == ["redeem-1", "refund-1"]


# ---------------------------------------------------------------- programme folders
#
# Each folder of examples/ with a program.toml is a programme for the `rewardkit` command:
# it validates, and it simulates over its actions.jsonl (or what its make_actions.py
# writes), printing what it promises.

FOLDERS = sorted(path.parent for path in EXAMPLES.glob("*/program.toml"))
CAFE = EXAMPLES / "cafe"
SHIPPED_CAFE = Path(rk.__file__).parent / "cli_parts" / "cafe"

# The --until of each folder's simulation, and the lines its summary must print.
SIMULATIONS: dict[str, tuple[str, list[str]]] = {
    "airline": (
        "2028-05-01",
        [
            r"^OK: SkyWays Air \(America/New_York\): 4 rules, 3 rewards, 3 tier levels",
            r"^Lines: 18 read, 17 applied, 0 replayed, 1 refused$",
            r"1 by the programme: reward unavailable 1$",
            r"^  Silver\s+1\s",  # Chen: Platinum in 2026, Silver after the 2027 review and grace
            r"^  Gold\s+1\s",  # Alice: kept at the review
            r"^  Platinum\s+0\s",
            r"^  tier moves: 4 up, 2 down$",  # Bob and Chen drop when their grace ends
            r"^\s+\d+\. premium-cabin\s",
            r"^\s+\d+\. tier:platinum\s",
        ],
    ),
    "cafe": (
        "2026-03-15",
        [
            r"^OK: Café Aroma \(Europe/Madrid\): 8 rules, 4 rewards, 2 tier levels",
            r"^Lines: 449 read, 449 applied, 0 replayed, 0 refused$",
            r"^  Silver\s+\d+\s",
            r"^Members referred: 7$",
            r"^   1\. base\s",
            r"^\s+\d+\. weekend-double\s",
            r"^\s+\d+\. breakfast-pastry\s",
            r"^\s+\d+\. app-order\s",
            r"^  never awarded: spring-week$",  # 16-22 March: after these two months
        ],
    ),
    "ecommerce": (
        "2026-05-01",
        [
            r"^OK: Trailhead Outfitters \(America/Los_Angeles\): 6 rules, 3 rewards, "
            r"0 tier levels, 0 badges, 1 raffle",
            r"^Lines: 17 read, 16 applied, 0 replayed, 1 refused$",
            r"1 by the programme: reward unavailable 1$",  # the last steel bottle was taken
            r"^  issued\s+1,924$",
            r"^  redeemed\s+950$",
            r"^  reversed\s+272$",  # a partial return (112) and a full one (160)
            r"^  outstanding\s+702$",
            r"^Raffle tickets: 23 \(spring-raffle 23\)$",  # returns took 4 back
            r"^Members referred: 1$",
            r"^\s+\d+\. spring-sale\s+300\s",  # its whole budget, then nothing
            r"^\s+\d+\. refer-a-friend\s+450\s",
            r"^\s+\d+\. welcome\s+400\s.*125 taken back$",
        ],
    ),
    "fitness": (
        "2026-03-30",
        [
            r"^OK: PulseFit \(Europe/London\): 4 rules, 3 rewards, 0 tier levels, 6 badges, "
            r"0 raffles",
            r"^Lines: 36 read, 35 applied, 0 replayed, 1 refused$",
            r"1 by the programme: not enough points 1$",  # Omar's trainer session
            r"^  issued\s+1,290$",
            r"^  outstanding\s+840$",
            r"^Badges awarded: 10 \(first-sweat 3, habit-formed 2, ten-workouts 2, "
            r"early-bird 1, on-fire 1, seven-day-streak 1\)$",
            r"^   1\. weekly-challenge\s+480\s",  # three workouts a week, 20 points each
            r"^\s+\d+\. workout\s+320\s",
            r"^\s+\d+\. badge:habit-formed\s+200\s",
        ],
    ),
    "game": (
        "2026-04-01",
        [
            r"^OK: LinguaQuest \(Europe/Berlin\): 7 rules, 2 rewards, 0 tier levels, 6 badges, "
            r"1 raffle",
            r"^Lines: 109 read, 108 applied, 0 replayed, 1 refused$",
            r"^Badges awarded: 9 \(first-steps 3, four-weeks 2, binge 1, quiz-master 1, "
            r"week-streak 1, xp-500 1\)$",
            r"^Raffle tickets: 35 \(march-raffle 35\)$",  # Maya's 20 are the maximum
            r"^Members referred: 1$",
            r"^\s+\d+\. badge:week-streak\s+70\s",
            r"^\s+\d+\. invite-a-friend\s+150\s",
        ],
    ),
}


def folder_actions(folder: Path, tmp_path: Path) -> Path:
    given = folder / "actions.jsonl"
    if given.is_file():
        return given
    target = tmp_path / "actions.jsonl"
    args = ("--members", "60", "--months", "2", "--out", str(target))
    run(folder / "make_actions.py", tmp_path, *args)
    return target


def test_there_are_programme_folders() -> None:
    assert [folder.name for folder in FOLDERS] == [
        "airline",
        "cafe",
        "ecommerce",
        "fitness",
        "game",
    ]


@pytest.mark.parametrize("folder", FOLDERS, ids=[folder.name for folder in FOLDERS])
def test_example_programme_validates_and_simulates(
    folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from rewardkit.cli import main

    assert folder.name in SIMULATIONS, f"add what {folder.name} must print to SIMULATIONS"
    until, patterns = SIMULATIONS[folder.name]
    program = str(folder / "program.toml")
    assert main(["validate", program]) == 0
    actions = str(folder_actions(folder, tmp_path))
    assert main(["simulate", program, actions, "--until", until]) == 0
    output = capsys.readouterr().out
    for pattern in patterns:
        assert re.search(pattern, output, re.MULTILINE), f"{pattern!r} not in:\n{output}"


def test_the_cafe_generator_is_seeded(tmp_path: Path) -> None:
    script = CAFE / "make_actions.py"
    first = run(script, tmp_path, "--members", "60", "--months", "2")
    again = run(script, tmp_path, "--members", "60", "--months", "2")
    other = run(script, tmp_path, "--members", "60", "--months", "2", "--seed", "8")
    assert first == again and first != other
    lines = [json.loads(line) for line in first.splitlines()]
    ops = {line.get("op", "record") for line in lines}
    kinds = {line["kind"] for line in lines if "kind" in line}
    assert ops == {"record", "redeem", "reverse", "refer"} and kinds == {
        "purchase",
        "visit",
        "review",
    }
    instants = [datetime.fromisoformat(line["at"]) for line in lines]
    assert instants == sorted(instants)
    weekdays = {instant.weekday() for instant in instants}
    assert weekdays == set(range(7))


@pytest.mark.parametrize("name", ["program.toml", "make_actions.py"])
def test_the_demo_ships_the_cafe_example_unchanged(name: str) -> None:
    example, shipped = CAFE / name, SHIPPED_CAFE / name
    assert example.read_bytes() == shipped.read_bytes(), (
        f"examples/cafe/{name} and src/rewardkit/cli_parts/cafe/{name} differ: `rewardkit demo` "
        "runs the shipped copy; copy the example over it"
    )
