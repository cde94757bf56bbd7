"""Every script in examples/ runs in a fresh process and prints what it promises."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
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
