"""Docs that cannot rot: every ```python block in README.md and docs/ runs.

Each page's blocks run in order in one fresh namespace (a block may use what an earlier
block of the same page defined), in a temporary working directory.  A block fenced as
```python no-run is shown, not run.  A block fenced as ```output must match what the
python block just before it printed.  Tracebacks point at the page and its line.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import sys
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

import rewardkit as rk

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md")])
API_PAGE = ROOT / "docs" / "reference" / "api.md"

FENCE = re.compile(
    r"^(?P<fence>`{3,})(?P<info>[^\n`]*)\n(?P<body>.*?)^(?P=fence)[ \t]*$", re.M | re.S
)


def blocks(text: str) -> list[tuple[str, int, str]]:
    """(kind, first line number, body) of each ```python block that runs and each
    ```output block, in page order."""
    found = []
    for match in FENCE.finditer(text):
        words = match.group("info").split()
        line = text.count("\n", 0, match.start("body")) + 1
        if words[:1] == ["python"] and "no-run" not in words[1:]:
            found.append(("python", line, match.group("body")))
        elif words[:1] == ["output"]:
            found.append(("output", line, match.group("body")))
    return found


def python_blocks(text: str) -> list[tuple[int, str]]:
    return [(line, body) for kind, line, body in blocks(text) if kind == "python"]


def _lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.strip("\n").splitlines()]


def run_page(path: Path, text: str | None = None) -> None:
    """Run a page's blocks in one namespace; line numbers in errors are the page's.

    An ```output block must match what the python block just before it printed.
    """
    text = path.read_text(encoding="utf-8") if text is None else text
    hidden = re.search(r"^[ \t]+```+python", text, re.M)
    assert hidden is None, f"{path}: an indented ```python block would not run; unindent it"
    module = types.ModuleType(f"docs_page_{abs(hash(str(path)))}")
    sys.modules[module.__name__] = module  # dataclasses and pickling look classes up here
    printed: str | None = None
    try:
        for kind, line, body in blocks(text):
            if kind == "output":
                assert printed is not None, f"{path}:{line}: an output block follows no code"
                assert _lines(printed) == _lines(body), f"{path}:{line}: output differs"
                printed = None
                continue
            code = compile("\n" * (line - 1) + body, str(path), "exec")
            with contextlib.redirect_stdout(io.StringIO()) as out:
                exec(code, module.__dict__)
            printed = out.getvalue()
    finally:
        del sys.modules[module.__name__]


@pytest.fixture
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A temporary working directory and an environment restored after the page runs."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("REWARDKIT_STORE", raising=False)
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.mark.usefixtures("sandbox")
@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_page_code_runs(page: Path) -> None:
    run_page(page)


def test_the_docs_have_pages_with_code() -> None:
    assert API_PAGE in PAGES and (ROOT / "docs" / "index.md") in PAGES
    assert sum(len(python_blocks(p.read_text(encoding="utf-8"))) for p in PAGES) >= 20


def test_a_raising_block_fails_its_page(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    text = (
        "# t\n\n```python\nx = 1\n```\n\n"
        "```python no-run\nnot run\n```\n\n"
        "```python\nassert x == 2\n```\n"
    )
    assert [line for line, _ in python_blocks(text)] == [4, 12]
    with pytest.raises(AssertionError) as caught:
        run_page(page, text)
    assert caught.traceback[-1].lineno + 1 == 12  # pytest counts lines from 0


def test_an_output_block_must_match_what_was_printed(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    run_page(page, "```python\nprint('75 points')\n```\n\n```output\n75 points\n```\n")
    with pytest.raises(AssertionError, match="output differs"):
        run_page(page, "```python\nprint('75 points')\n```\n\n```output\n76 points\n```\n")


def test_every_public_name_is_in_the_api_reference() -> None:
    reference = API_PAGE.read_text(encoding="utf-8")
    missing = [
        name for name in rk.__all__ if not re.search(rf"`(rk\.)?{re.escape(name)}\b", reference)
    ]
    assert not missing, f"docs/reference/api.md does not document: {', '.join(missing)}"
