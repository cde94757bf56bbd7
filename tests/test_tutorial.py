"""The café tutorial, followed literally: docs/tutorial/cafe-in-15-minutes.md.

The page is read from top to bottom and done, in one empty folder, as a reader does it.
Its fenced blocks say what to do:

- A block whose info string has ``file=NAME`` (```` ```toml file=cafe.toml ````, any
  language) is a file the reader saves as NAME.  The text just before it names the file in
  backticks (`` `cafe.toml` ``), so the reader knows it too.  A python file block is also
  marked ``no-run`` (```` ```python no-run file=app.py ````): tests/test_docs.py then shows
  it instead of running it as a snippet.  It runs here, through the commands that follow.
- A ```` ```sh ```` block holds commands, one a line, run in the folder: ``rewardkit ...``
  with the console script installed next to this Python, ``python ...`` with this Python.
  A command of any other program fails the test, so that the page never shows a command
  nobody ran.  Every command must exit 0.  The ```` ```text ```` block right after it is
  what its commands print, each command's standard error and then its standard output
  (what a terminal shows when the messages come before the output).  It is required:
  leave it empty for commands that print nothing.
- A ```` ```sh no-run ```` block is shown, not run: making the folder and installing.
- A ```` ```python ```` block is a snippet typed into a Python session started in the
  folder.  Snippets run in order in one namespace, and the ```` ```output ```` block right
  after one is what it printed.  tests/test_docs.py runs them too, in an empty folder, so
  they must not need the page's files.

Any other block fails the test: teach this module what it means first.  Printed and shown
text are compared line by line, ignoring spaces at the ends of lines and blank lines at the
start and end.  tests/test_cli.py runs the ```` ```sh ```` blocks of its own list of pages
only, so it does not run this page's commands a second time.
"""

from __future__ import annotations

import contextlib
import difflib
import io
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from .test_docs import FENCE

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "tutorial" / "cafe-in-15-minutes.md"
PROGRAMS = {
    "rewardkit": Path(sys.executable).with_name("rewardkit"),
    "python": Path(sys.executable),
}

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Block:
    """A fenced block of the page: ```LANG WORDS, its body and where it is."""

    lang: str
    words: tuple[str, ...]
    body: str
    line: int  # of the body's first line, counted from 1
    before: str  # the page's text between the previous block and this one

    @property
    def file(self) -> str | None:
        names = [word.removeprefix("file=") for word in self.words if word.startswith("file=")]
        return names[0] if names else None

    @property
    def shown_only(self) -> bool:
        return "no-run" in self.words

    def is_output_of(self, kind: str) -> bool:
        """An ```output (after python) or ```text (after sh) block right after a block."""
        return self.lang == {"python": "output", "sh": "text"}[kind] and not self.before.strip()


def blocks(text: str) -> list[Block]:
    found = []
    end = 0
    for match in FENCE.finditer(text):
        lang, *words = match.group("info").split() or [""]
        line = text.count("\n", 0, match.start("body")) + 1
        before = text[end : match.start()]
        found.append(Block(lang, tuple(words), match.group("body"), line, before))
        end = match.end()
    return found


def lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.strip("\n").splitlines()]


def same(printed: str, shown: Block, what: str, where: str) -> None:
    if lines(printed) != lines(shown.body):
        diff = "\n".join(
            difflib.unified_diff(lines(shown.body), lines(printed), "shown", "printed", lineterm="")
        )
        raise AssertionError(
            f"{where}:{shown.line}: {what} printed what the page does not show:\n{diff}"
        )


def run(command: str, folder: Path, where: str) -> str:
    """One command of a ```sh block; what a terminal shows of it."""
    program, *args = shlex.split(command)
    assert program in PROGRAMS, (
        f"{where}: `{command}`: this test runs only {' and '.join(PROGRAMS)} commands; "
        "show other commands in a ```sh no-run block"
    )
    env = {**os.environ, "PYTHONUTF8": "1"}
    env.pop("REWARDKIT_STORE", None)
    done = subprocess.run(
        [str(PROGRAMS[program]), *args],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
    )
    assert done.returncode == 0, (
        f"{where}: `{command}` exited {done.returncode}:\n{done.stderr}{done.stdout}"
    )
    return done.stderr + done.stdout


def follow(text: str, folder: Path, name: str = PAGE.name) -> None:
    """Do what the page says, in `folder`; fail at the first step that differs."""
    namespace: dict[str, Any] = {"__name__": "__main__"}
    found = blocks(text)
    i = 0
    while i < len(found):
        block = found[i]
        after = found[i + 1] if i + 1 < len(found) else None
        where = f"{name}:{block.line}"
        if block.file is not None:
            assert re.search(rf"`{re.escape(block.file)}`", block.before), (
                f"{where}: name the file `{block.file}` in the text before its block"
            )
            assert block.lang != "python" or block.shown_only, (
                f"{where}: mark a python file block no-run, or tests/test_docs.py runs it "
                "as a snippet"
            )
            (folder / block.file).write_text(block.body, encoding="utf-8")
        elif block.lang == "sh" and block.shown_only:
            pass
        elif block.lang == "sh":
            commands = [line.strip() for line in block.body.splitlines() if line.strip()]
            printed = "".join(run(command, folder, where) for command in commands)
            assert after is not None and after.is_output_of("sh"), (
                f"{where}: show what the commands print in a ```text block right after them"
            )
            same(printed, after, f"`{commands[-1]}`", name)
            i += 1
        elif block.lang == "python" and not block.shown_only:
            code = compile("\n" * (block.line - 1) + block.body, name, "exec")
            with contextlib.chdir(folder), contextlib.redirect_stdout(io.StringIO()) as out:
                exec(code, namespace)
            if after is not None and after.is_output_of("python"):
                same(out.getvalue(), after, "the python block", name)
                i += 1
        else:
            raise AssertionError(
                f"{where}: this test does not know what to do with a ```{block.lang} "
                f"{' '.join(block.words)} block"
            )
        i += 1


# ---------------------------------------------------------------- the tutorial


def test_the_tutorial_runs_as_written_and_prints_what_it_shows(tmp_path: Path) -> None:
    text = PAGE.read_text(encoding="utf-8")
    kinds = {(b.lang, b.file is not None) for b in blocks(text)}
    assert {("sh", False), ("text", False), ("python", True), ("toml", True)} <= kinds
    follow(text, tmp_path)
    written = {"spring-seed.txt", "commit.py", "cafe.toml", "actions.jsonl", "app.py", "call.py"}
    assert written <= {path.name for path in tmp_path.iterdir()}
    # `flask --app app run`, as the page says, finds the app factory by itself.
    routes = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "routes"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert routes.returncode == 0, routes.stderr
    assert "/orders" in routes.stdout and "/members/<member>" in routes.stdout


def test_the_tutorial_fails_when_what_it_shows_drifts(tmp_path: Path) -> None:
    text = PAGE.read_text(encoding="utf-8")
    drifted = text.replace("4 rules, 2 rewards, 2 tier levels", "4 rules, 3 rewards, 2 tier levels")
    assert drifted != text
    with pytest.raises(AssertionError, match=r"`rewardkit validate cafe.toml` printed what"):
        follow(drifted, tmp_path)


def test_the_tutorial_links_are_in_place() -> None:
    first = (ROOT / "docs" / "tutorial" / "first-programme.md").read_text(encoding="utf-8")
    assert "(cafe-in-15-minutes.md)" in first
    text = PAGE.read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([^)#]+)", text):
        if not target.startswith("http"):
            assert (PAGE.parent / target).resolve().exists(), f"broken link: {target}"


# ---------------------------------------------------------------- the conventions


PROGRAMME = '[program]\nname = "Tiny"\n'


def page(*parts: str) -> str:
    return "\n\n".join(parts) + "\n"


def test_a_file_block_is_written_and_a_command_s_output_compared(tmp_path: Path) -> None:
    good = page(
        "Save `tiny.toml`:",
        f"```toml file=tiny.toml\n{PROGRAMME}```",
        "```sh\nrewardkit validate tiny.toml\n```",
        "```text\nOK: Tiny (UTC): 0 rules, 0 rewards, 0 tier levels, 0 badges, 0 raffles; "
        "points never expire\n```",
    )
    follow(good, tmp_path)
    assert (tmp_path / "tiny.toml").read_text(encoding="utf-8") == PROGRAMME
    with pytest.raises(AssertionError, match="printed what the page does not show"):
        follow(good.replace("0 rules", "1 rules"), tmp_path)


def test_a_snippet_runs_in_the_folder_and_its_output_is_compared(tmp_path: Path) -> None:
    (tmp_path / "note.txt").write_text("hola", encoding="utf-8")
    snippet = "```python\nfrom pathlib import Path\nprint(Path('note.txt').read_text())\n```"
    follow(page(snippet, "```output\nhola\n```"), tmp_path)
    with pytest.raises(AssertionError, match="the python block printed"):
        follow(page(snippet, "```output\nadiós\n```"), tmp_path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("```sh\nls -l\n```", "runs only rewardkit and python commands"),
        ("```sh\nrewardkit --help\n```\n\nIt prints:", "in a ```text block right after"),
        ("```sh\nrewardkit validate missing.toml\n```", "exited 2"),
        ("```yaml\na: 1\n```", "does not know what to do with a ```yaml"),
        ("Save it:\n\n```toml file=x.toml\n```", "name the file `x.toml`"),
        ("Save `x.py`:\n\n```python file=x.py\n```", "mark a python file block no-run"),
    ],
)
def test_what_the_test_cannot_follow_fails_it(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(AssertionError, match=re.escape(message)):
        follow(page(text), tmp_path)
