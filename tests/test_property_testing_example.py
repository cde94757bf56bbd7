"""examples/property_testing/ runs: the café's promises hold, and the commented first
draft of the programme breaks one of them exactly as the how-to page shows."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

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


def test_the_first_draft_breaks_a_promise_as_the_docs_show(tmp_path: Path) -> None:
    source = EXAMPLE.read_text(encoding="utf-8")
    assert source.count(VARIANT) == 1, "the commented variant is in the example"
    draft = tmp_path / "test_cafe_promises.py"
    draft.write_text(source.replace(VARIANT, VARIANT.removeprefix("# ")), encoding="utf-8")
    done = pytest_run(draft, tmp_path, "--hypothesis-seed=0", "-k", "CafePromises")
    assert done.returncode == 1, done.stdout + done.stderr
    printed = {re.sub(r"^E\s+", "", line).strip() for line in done.stdout.splitlines()}
    printed |= {line.split("InvariantViolation: ", 1)[-1] for line in printed}
    missing = [line for line in shown_counterexample() if line not in printed]
    assert not missing, (
        "docs/how-to/property-test-your-programme.md shows lines this run did not print "
        f"(update the page from this output):\n{missing}\n\n{done.stdout}"
    )
