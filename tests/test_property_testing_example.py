"""examples/property_testing/ runs: the café's promises hold, and the commented first
draft of the programme breaks one of them exactly as the how-to page shows."""

from __future__ import annotations

import datetime
import importlib.util
import os
import re
import subprocess
import sys
import zoneinfo
from decimal import Decimal
from pathlib import Path
from types import ModuleType

import pytest

from rewardkit.testing.invariants import InvariantViolation

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "property_testing" / "test_cafe_promises.py"
PAGE = ROOT / "docs" / "how-to" / "property-test-your-programme.md"
VARIANT = "# PROGRAMME = cafe_programme(weekend_cap=None)"

pytestmark = pytest.mark.slow


def pytest_run(path: Path, cwd: Path, *options: str) -> subprocess.CompletedProcess[str]:
    """pytest on ``path`` in a fresh process, its Hypothesis database in ``cwd``."""
    env = {**os.environ, "PYTHONUTF8": "1"}
    env.pop("REWARDKIT_STORE", None)
    return subprocess.run(
        [sys.executable, "-m", "pytest", str(path), "-p", "no:cacheprovider", "-q", *options],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=600,
    )


def shown_counterexample() -> list[str]:
    """The lines of the page's ```text block that shows the shrunk counterexample."""
    text = PAGE.read_text(encoding="utf-8")
    blocks = re.findall(r"^```text\n(.*?)^```", text, re.M | re.S)
    shown = [block for block in blocks if "Failing test case" in block]
    assert len(shown) == 1, "the page shows the counterexample in one ```text block"
    return [line.strip() for line in shown[0].splitlines() if line.strip()]


def test_the_cafe_promises_hold(tmp_path: Path) -> None:
    done = pytest_run(EXAMPLE, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"\b2 passed\b", done.stdout), done.stdout


def load_draft(path: Path) -> ModuleType:
    """Import the draft example file written to ``path`` as a module."""
    spec = importlib.util.spec_from_file_location("cafe_promises_draft", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def replay(story: list[str], machine: type) -> str:
    """Run the page's ``state.<step>(...)`` lines on a fresh machine; the violation's text."""
    namespace: dict[str, object] = {
        "Decimal": Decimal,
        "datetime": datetime,  # the module: the lines spell datetime.datetime
        "zoneinfo": zoneinfo,
        "state": machine(),
    }
    with pytest.raises(InvariantViolation) as raised:
        for line in story:
            exec(line, namespace)  # the page's own lines, run as the page tells readers to
    return str(raised.value)


def test_the_first_draft_breaks_a_promise_as_the_docs_show(tmp_path: Path) -> None:
    source = EXAMPLE.read_text(encoding="utf-8")
    assert source.count(VARIANT) == 1, "the commented variant is in the example"
    draft = tmp_path / "test_cafe_promises.py"
    draft.write_text(source.replace(VARIANT, VARIANT.removeprefix("# ")), encoding="utf-8")

    # Hypothesis refutes promise 1. Which story it shrinks to can vary between machines
    # (the page says so), so the live run is only asked to break the same promise ...
    done = pytest_run(draft, tmp_path, "--hypothesis-seed=1", "-k", "CafePromises")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "InvariantViolation: max_points_per_day: member " in done.stdout, done.stdout

    # ... and the story the page shows is replayed exactly: its steps, run by hand on the
    # draft's machine, print the violation lines the page shows.
    shown = shown_counterexample()
    story = [line for line in shown if line.startswith("state.") and line != "state.teardown()"]
    assert any(line.startswith("state.record(") for line in story), shown
    printed = [line.strip() for line in replay(story, load_draft(draft).CafePromises).splitlines()]
    expected = shown[: shown.index("Failing test case: <state machine>")]
    assert [line for line in printed if line] == expected, (
        "docs/how-to/property-test-your-programme.md shows a violation its own story does "
        f"not print (update the page):\n{printed}"
    )
