"""The `rewardkit` command, run as a user runs it: a subprocess, exit codes, messages."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import pytest

import rewardkit as rk
from rewardkit.cli import main
from rewardkit.storage.sqlite import SQLiteStore

from .test_docs import FENCE, run_page

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
CAFE = EXAMPLES / "cafe" / "program.toml"
AIRLINE = EXAMPLES / "airline"
GAME = EXAMPLES / "game"
CLI_PAGES = [
    ROOT / "docs" / "reference" / "cli.md",
    ROOT / "docs" / "how-to" / "simulate-and-explain.md",
]

pytestmark = pytest.mark.slow

PROGRAM = """
[program]
name = "Café Aroma"
timezone = "Europe/Madrid"

[[rules]]
id = "base"
type = "per_amount"
on = "purchase"
per = "1.00"
points = 1
caps = [{ per = "day", points = 30 }]

[[rules]]
id = "breakfast"
type = "fixed"
on = "purchase"
points = 5

[rules.when]
time = { from = "07:00", to = "10:00" }
attribute = { name = "category", equals = "pastry" }

[[rules]]
id = "weekend-double"
type = "multiplier"
targets = ["base"]
factor = 2
when = { weekday = ["sat", "sun"] }

[[rules]]
id = "check-in"
type = "fixed"
on = "visit"
points = 1

[[rewards]]
id = "free-coffee"
cost = 100
"""


def line(**fields: Any) -> str:
    return json.dumps(fields)


def purchase(id: str, at: str, amount: str, member: str = "ana", **attributes: Any) -> str:
    fields: dict[str, Any] = {"id": id, "member": member, "kind": "purchase", "at": at}
    fields["amount"] = amount
    if attributes:
        fields["attributes"] = attributes
    return line(**fields)


ACTIONS = [
    purchase("order-1", "2026-03-04T08:30:00+01:00", "12.50", category="pastry"),  # Wednesday
    purchase("order-2", "2026-03-07T12:00:00+01:00", "40.00"),  # Saturday: capped at 30, x2
    purchase("order-3", "2026-03-08T12:00:00+01:00", "20.00"),  # Sunday: x2
    purchase("order-4", "2026-03-09T12:00:00+01:00", "9.99", member="luis"),
    line(
        op="redeem",
        id="redeem-1",
        member="ana",
        reward="free-coffee",
        at="2026-03-10T09:00:00+01:00",
    ),
    line(
        op="redeem",
        id="redeem-2",
        member="luis",
        reward="free-coffee",
        at="2026-03-10T09:00:00+01:00",
    ),
    line(op="reverse", id="refund-1", action="order-4", at="2026-03-11T09:00:00+01:00"),
]


Done = subprocess.CompletedProcess[str]


def spawn(*args: str | Path, cwd: Path, stdin: str | None = None, timeout: float = 120) -> Done:
    """Run `python -m rewardkit ARGS` as a user does; a mistake never shows a traceback."""
    env = {**os.environ, "PYTHONUTF8": "1"}
    env.pop("REWARDKIT_STORE", None)
    done = subprocess.run(
        [sys.executable, "-m", "rewardkit", *map(str, args)],
        cwd=cwd,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=timeout,
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done


class Runner(Protocol):
    def __call__(self, *args: str | Path, cwd: Path, stdin: str | None = None) -> Done: ...


@pytest.fixture
def rewardkit(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Runner:
    """The command run in this process (`main(args)`), much faster than a subprocess:
    each subcommand is also run as a subprocess by at least one test below.  An
    exception escaping `main` (a traceback for the user) fails the test."""
    monkeypatch.delenv("REWARDKIT_STORE", raising=False)

    def run(*args: str | Path, cwd: Path, stdin: str | None = None) -> Done:
        monkeypatch.chdir(cwd)
        if stdin is not None:
            stream = io.TextIOWrapper(io.BytesIO(stdin.encode()), encoding="utf-8")
            monkeypatch.setattr(sys, "stdin", stream)
        capsys.readouterr()
        try:
            code = main([str(arg) for arg in args])
        except SystemExit as exit:  # argparse: --help, usage errors
            code = exit.code if isinstance(exit.code, int) else 1
        out = capsys.readouterr()
        return subprocess.CompletedProcess(list(map(str, args)), code, out.out, out.err)

    return run


def error_line(done: subprocess.CompletedProcess[str]) -> str:
    """The one line a failed command printed on stderr."""
    lines = done.stderr.strip().splitlines()
    assert lines and lines[-1].startswith("rewardkit: error: "), done.stderr
    return lines[-1].removeprefix("rewardkit: error: ")


@pytest.fixture
def cafe(tmp_path: Path) -> Path:
    (tmp_path / "cafe.toml").write_text(PROGRAM, encoding="utf-8")
    (tmp_path / "actions.jsonl").write_text("\n".join(ACTIONS) + "\n", encoding="utf-8")
    return tmp_path


# ---------------------------------------------------------------- the command itself


def test_every_subcommand_has_help(tmp_path: Path, rewardkit: Runner) -> None:
    done = spawn("--help", cwd=tmp_path)
    assert done.returncode == 0
    commands = ["validate", "simulate", "explain", "demo", "migrate", "verify", "report"]
    for command in commands:
        assert command in done.stdout
        sub = rewardkit(command, "--help", cwd=tmp_path)
        assert sub.returncode == 0 and sub.stdout.startswith(f"usage: rewardkit {command}")


def test_usage_errors_exit_2_with_argparse_message(tmp_path: Path, rewardkit: Runner) -> None:
    assert rewardkit(cwd=tmp_path).returncode == 2
    done = rewardkit("simulate", "only-one-argument", cwd=tmp_path)
    assert done.returncode == 2 and "required: ACTIONS" in done.stderr
    done = rewardkit("frobnicate", cwd=tmp_path)
    assert done.returncode == 2 and "invalid choice: 'frobnicate'" in done.stderr


def test_the_console_script_is_installed() -> None:
    script = Path(sys.executable).with_name("rewardkit")
    assert script.is_file(), "pip install -e . creates the rewardkit script"
    done = subprocess.run([script, "--help"], capture_output=True, text=True, check=True)
    assert done.stdout.startswith("usage: rewardkit")


# ---------------------------------------------------------------- validate


def test_validate_says_ok_with_a_summary(tmp_path: Path, rewardkit: Runner) -> None:
    done = rewardkit("validate", CAFE, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(
        "OK: Café Aroma (Europe/Madrid): 8 rules, 4 rewards, 2 tier levels, 0 badges, 0 raffles"
    )


def test_validate_lists_every_problem_and_exits_1(tmp_path: Path) -> None:
    bad = PROGRAM.replace("points = 5", "pionts = 5").replace("factor = 2", "factor = 2\nbogus = 1")
    bad = bad.replace('targets = ["base"]', 'targets = ["bsae"]').replace("cost = 100", "cost = -1")
    (tmp_path / "bad.toml").write_text(bad, encoding="utf-8")
    done = spawn("validate", "bad.toml", cwd=tmp_path)
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert "rules[1]: unknown field 'pionts' (did you mean 'points'?)" in lines
    assert "rewards[0].cost: must be a positive integer, got -1" in lines
    assert any(line.startswith("rules[2]: unknown field 'bogus'") for line in lines)
    assert lines[-1] == f"{len(lines) - 1} problems in bad.toml"


def test_validate_reports_a_syntax_error_with_its_line(tmp_path: Path, rewardkit: Runner) -> None:
    (tmp_path / "broken.toml").write_text('[program]\nname = "x\n', encoding="utf-8")
    done = rewardkit("validate", "broken.toml", cwd=tmp_path)
    assert done.returncode == 1
    assert "not valid TOML" in done.stdout and "line 2" in done.stdout


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("missing.toml", "cannot read 'missing.toml': No such file or directory"),
        ("folder.toml", "cannot read 'folder.toml': it is a directory"),
        ("program.yaml", "a programme is a .toml or .json file"),
    ],
)
def test_validate_a_file_it_cannot_read_is_a_usage_error(
    tmp_path: Path, path: str, message: str, rewardkit: Runner
) -> None:
    (tmp_path / "folder.toml").mkdir()
    done = rewardkit("validate", path, cwd=tmp_path)
    assert done.returncode in (1, 2)
    assert message in done.stderr + done.stdout


def test_a_programme_of_200_rules_validates_quickly(tmp_path: Path, rewardkit: Runner) -> None:
    rules = "".join(
        f'\n[[rules]]\nid = "r{i}"\ntype = "fixed"\non = "k{i % 7}"\npoints = {i + 1}\n'
        f'when = {{ weekday = ["sat"], amount = {{ at_least = "{i}" }} }}\n'
        for i in range(200)
    )
    (tmp_path / "big.toml").write_text('[program]\nname = "Big"\n' + rules, encoding="utf-8")
    (tmp_path / "small.toml").write_text('[program]\nname = "Small"\n', encoding="utf-8")
    started = time.perf_counter()
    assert rewardkit("validate", "small.toml", cwd=tmp_path).returncode == 0
    baseline = time.perf_counter() - started
    started = time.perf_counter()
    done = rewardkit("validate", "big.toml", cwd=tmp_path)
    assert done.returncode == 0 and "200 rules" in done.stdout
    assert time.perf_counter() - started - baseline < 1.0


# ---------------------------------------------------------------- simulate


def test_simulate_prints_the_summary(cafe: Path, rewardkit: Runner) -> None:
    done = rewardkit("simulate", "cafe.toml", "actions.jsonl", "--until", "2026-04-01", cwd=cafe)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "Lines: 7 read, 6 applied, 0 replayed, 1 refused" in out
    assert "1 by the programme: not enough points 1" in out
    assert "time run to 2026-04-01 00:00" in out
    # ana: 12 + 5 on Wednesday; on Saturday 40.00 is capped at 30, doubled: 60; 40 on
    # Sunday; she redeems 100.  luis: 9, not enough to redeem, then reversed.
    for label, value in [
        ("issued", "126"),
        ("redeemed", "100"),
        ("expired", "0"),
        ("reversed", "9"),
        ("outstanding", "17"),
    ]:
        assert re.search(rf"^  {label}\s+{value}$", out, re.M), out
    assert "liability" in out and "Members: 2" in out
    ranked = re.findall(r"^\s+\d+\. (\S+)", out, re.M)
    assert ranked == ["base", "weekend-double", "breakfast"]
    assert "never awarded: check-in" in out
    assert "actions.jsonl:6: refused: member 'luis' has 9 points" in done.stderr


def test_simulate_reports_malformed_lines_with_their_number_and_goes_on(cafe: Path) -> None:
    lines = [
        ACTIONS[0],
        '{"id": "order-x", "member": "ana",',
        purchase("order-4", "2026-03-05T12:00:00", "3.00"),  # no offset: read in Madrid
        line(id="o5", member="ana", kind="purchase", at="2026-03-05T13:00:00+01:00", ammount=3),
        line(id="o6", member="ana", kind="purchase", at="yesterday"),
        purchase("o7", "2026-03-05T14:00:00+01:00", "-3"),
        line(op="refund", id="o8", action="order-1", at="2026-03-06T10:00:00+01:00"),
        "",
        "# a comment",
        "[1, 2]",
        line(op="redeem", id="r1", member="ana", at="2026-03-06T10:00:00+01:00"),
    ]
    (cafe / "mixed.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    done = spawn("simulate", "cafe.toml", "mixed.jsonl", cwd=cafe)
    assert done.returncode == 1
    errors = done.stderr.splitlines()
    assert errors[0].startswith("mixed.jsonl:2: malformed: not valid JSON")
    assert errors[1] == (
        "mixed.jsonl:4: malformed: unknown field 'ammount' (did you mean 'amount'?) in a "
        "record line"
    )
    assert errors[2].startswith("mixed.jsonl:5: malformed: 'at' is not an ISO 8601 instant")
    assert errors[3].startswith("mixed.jsonl:6: malformed: 'amount' must not be negative")
    assert errors[4].startswith("mixed.jsonl:7: malformed: unknown op 'refund'")
    assert errors[5] == "mixed.jsonl:10: malformed: a line must be a JSON object, got list"
    assert errors[6] == "mixed.jsonl:11: malformed: a redeem line needs 'reward'"
    assert "Lines: 9 read, 2 applied, 0 replayed, 7 refused" in done.stdout
    assert "7 malformed" in done.stdout
    assert done.stdout.rstrip().endswith("mixed.jsonl: 7 malformed lines skipped")


def test_simulate_messages_come_in_line_order_across_a_batch(cafe: Path) -> None:
    lines = [
        ACTIONS[0],
        purchase("order-1", "2026-03-04T08:30:00+01:00", "99.00"),  # same id, other amount
        "not json",
        ACTIONS[1],
    ]
    (cafe / "order.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    done = spawn("simulate", "cafe.toml", "order.jsonl", cwd=cafe)
    errors = done.stderr.splitlines()
    assert errors[0].startswith("order.jsonl:2: refused: "), errors
    assert errors[1].startswith("order.jsonl:3: malformed: not valid JSON"), errors
    assert "Lines: 4 read, 2 applied, 0 replayed, 2 refused" in done.stdout


def test_simulate_in_batches_ends_where_line_by_line_recording_ends(tmp_path: Path) -> None:
    import rewardkit as rk
    from rewardkit.cli_parts.lines import parse_line

    examples = ROOT / "examples" / "cafe"
    actions = tmp_path / "actions.jsonl"
    subprocess.run(
        [sys.executable, str(examples / "make_actions.py"), "--members", "80", "--months", "2",
         "--out", str(actions)],
        check=True,
    )  # fmt: skip
    program_file = str(examples / "program.toml")
    batched = f"sqlite:///{tmp_path / 'batched.db'}"
    assert main(["simulate", program_file, str(actions), "--store", batched]) == 0
    program = rk.load_program(program_file)
    with (
        rk.Rewards(program, store=f"sqlite:///{tmp_path / 'one.db'}") as one,
        rk.Rewards(program, store=batched) as many,
    ):
        for raw in actions.read_bytes().splitlines():
            request = parse_line(raw, program.tz)
            assert request is not None
            with contextlib.suppress(rk.RewardkitError):  # refused: simulate counts it too
                request.call(one)
        members = sorted(one.store.members())
        assert members == sorted(many.store.members()) and len(members) > 50
        for member in members:
            assert one.store.load(member) == many.store.load(member), member
            assert one.store.chain(member) == many.store.chain(member), member


def test_simulate_strict_stops_at_the_first_bad_line(cafe: Path, rewardkit: Runner) -> None:
    lines = [ACTIONS[0], "not json", ACTIONS[1], "also not json"]
    (cafe / "bad.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    done = rewardkit("simulate", "cafe.toml", "bad.jsonl", "--strict", cwd=cafe)
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.splitlines()[0].startswith("bad.jsonl:2: malformed: not valid JSON")
    assert ":4:" not in done.stderr
    assert error_line(done) == "bad.jsonl: stopped at the first line that does not apply (--strict)"


def test_simulate_strict_stops_at_a_refused_line_too(cafe: Path, rewardkit: Runner) -> None:
    done = rewardkit("simulate", "cafe.toml", "actions.jsonl", "--strict", cwd=cafe)
    assert done.returncode == 1
    assert "actions.jsonl:6: refused: member 'luis'" in done.stderr


def test_simulate_reads_standard_input(cafe: Path, rewardkit: Runner) -> None:
    text = "\n".join(ACTIONS[:2]) + "\n"
    done = rewardkit("simulate", "cafe.toml", "-", cwd=cafe, stdin=text)
    assert done.returncode == 0 and "Lines: 2 read, 2 applied" in done.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.toml", "actions.jsonl"], "cannot read 'missing.toml'"),
        (["cafe.toml", "missing.jsonl"], "cannot read 'missing.jsonl': No such file or directory"),
        (["cafe.toml", "actions.jsonl", "--store", "mysql://x"], "unknown store URL 'mysql://x'"),
        (["cafe.toml", "actions.jsonl", "--store", "sqlite:///no/such/dir/x.db"], "cannot open"),
    ],
)
def test_simulate_user_mistakes_are_one_line_and_exit_2(
    cafe: Path, args: list[str], message: str, rewardkit: Runner
) -> None:
    done = rewardkit("simulate", *args, cwd=cafe)
    assert done.returncode == 2
    assert message in error_line(done)
    assert len(done.stderr.strip().splitlines()) == 1


def test_simulate_a_bad_date_is_a_usage_error(cafe: Path, rewardkit: Runner) -> None:
    done = rewardkit("simulate", "cafe.toml", "actions.jsonl", "--until", "31/03/2026", cwd=cafe)
    assert done.returncode == 2
    assert "argument --until: not a date: '31/03/2026'" in done.stderr


def test_simulate_an_invalid_programme_lists_its_problems_and_exits_1(
    cafe: Path, rewardkit: Runner
) -> None:
    (cafe / "bad.toml").write_text(PROGRAM.replace("points = 5", "points = -5"), encoding="utf-8")
    done = rewardkit("simulate", "bad.toml", "actions.jsonl", cwd=cafe)
    assert done.returncode == 1
    assert "rules[1].points: must be a positive integer, got -5" in done.stderr
    assert error_line(done) == "bad.toml: 1 problem in the programme"


def test_simulate_on_sqlite_twice_replays_and_counts_nothing_twice(
    cafe: Path, rewardkit: Runner
) -> None:
    args = ("simulate", "cafe.toml", "actions.jsonl", "--store", "sqlite:///cafe.db")
    first = rewardkit(*args, cwd=cafe)
    second = rewardkit(*args, cwd=cafe)
    assert "6 applied, 0 replayed" in first.stdout
    assert "0 applied, 6 replayed" in second.stdout
    issued = [re.search(r"^  issued\s+(\d+)$", d.stdout, re.M) for d in (first, second)]
    assert issued[0] and issued[1] and issued[0].group(1) == issued[1].group(1) == "126"


def test_simulate_writes_the_report(cafe: Path, rewardkit: Runner) -> None:
    done = rewardkit(
        "simulate", "cafe.toml", "actions.jsonl", "--report", "out.html", "--point-value", "0.05",
        cwd=cafe,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Report: out.html" in done.stdout
    html = (cafe / "out.html").read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and "<svg" in html


def test_simulate_money_options_are_checked(cafe: Path, rewardkit: Runner) -> None:
    done = rewardkit("simulate", "cafe.toml", "actions.jsonl", "--breakage", "1.5", cwd=cafe)
    assert done.returncode == 2 and "must be a number from 0 to 1: '1.5'" in done.stderr


# ---------------------------------------------------------------- explain


def write_action(folder: Path, **overrides: Any) -> Path:
    action = {
        "id": "order-9",
        "member": "ana",
        "kind": "purchase",
        "at": "2026-03-11T11:42:00+01:00",  # a Wednesday
        "amount": "45.00",
        "attributes": {"category": "pastry"},
    }
    action.update(overrides)
    path = folder / "action.json"
    path.write_text(json.dumps(action), encoding="utf-8")
    return path


def test_explain_names_the_condition_that_failed(cafe: Path) -> None:
    write_action(cafe)
    done = spawn("explain", "cafe.toml", "action.json", cwd=cafe)
    assert done.returncode == 0, done.stderr
    out = done.stdout.splitlines()
    assert (
        out[0]
        == "Action 'order-9' by 'ana': purchase, amount 45.00, wed 2026-03-11 11:42 (Europe/Madrid)"
    )
    assert "  base:           yes, +30 of 45 (capped: at most 30 points per day)" in out
    assert "  breakfast:      no — time of day in [07:00, 10:00) failed (action at 11:42)" in out
    assert "  weekend-double: no — weekday in sat, sun failed (action on wed)" in out
    assert not any(line.lstrip().startswith("check-in") for line in out)
    assert out[-1] == "Total: +30 points, balance 30"


def test_explain_shows_the_multipliers_applied(cafe: Path, rewardkit: Runner) -> None:
    write_action(cafe, at="2026-03-14T08:00:00+01:00", amount="10.00")  # a Saturday morning
    out = rewardkit("explain", "cafe.toml", "action.json", cwd=cafe).stdout
    assert "  base:           yes, +10" in out
    assert "  breakfast:      yes, +5" in out
    assert "  weekend-double: yes, +10 (x2 on base)" in out
    assert "Total: +25 points, balance 25" in out


def test_explain_after_a_history(cafe: Path, rewardkit: Runner) -> None:
    write_action(cafe, at="2026-03-07T18:00:00+01:00", amount="10.00", attributes={})
    done = rewardkit("explain", "cafe.toml", "action.json", "--history", "actions.jsonl", cwd=cafe)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    # Before 18:00 on Saturday 7 March, ana earned 17 on Wednesday and 60 at noon; the
    # day's cap of 30 base points is used up.
    assert "History: 2 lines of actions.jsonl before the action replayed" in out
    assert "Member before: 77 points, 2 earlier actions (2 purchase)" in out
    assert "  base:           no — at most 30 points per day reached" in out
    assert "  weekend-double: applies (x2 on base), but they earned nothing" in out


def test_explain_from_a_store_and_from_a_member_state(cafe: Path, rewardkit: Runner) -> None:
    rewardkit("simulate", "cafe.toml", "actions.jsonl", "--store", "sqlite:///cafe.db", cwd=cafe)
    write_action(cafe, at="2026-03-12T12:00:00+01:00", amount="5.00", attributes={})
    from_store = rewardkit(
        "explain", "cafe.toml", "action.json", "--store", "sqlite:///cafe.db", cwd=cafe
    )
    assert "Member before: 17 points, 3 earlier actions (3 purchase)" in from_store.stdout
    with SQLiteStore(cafe / "cafe.db") as store:
        state = store.load("ana").state
    (cafe / "ana.json").write_text(json.dumps(rk.to_data(state)), encoding="utf-8")
    from_state = rewardkit(
        "explain", "cafe.toml", "action.json", "--member-state", "ana.json", cwd=cafe
    )
    assert from_state.returncode == 0, from_state.stderr
    assert from_state.stdout == from_store.stdout


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"id": "x",', "action.json: the action is not valid JSON"),
        ('{"id": "x", "member": "ana", "kind": "visit"}', "a record line needs 'at'"),
        (
            '{"op": "redeem", "id": "r", "member": "ana", "reward": "free-coffee", '
            '"at": "2026-03-01T10:00:00+01:00"}',
            "explain takes an action, not a redeem line",
        ),
    ],
)
def test_explain_a_bad_action_is_one_line(
    cafe: Path, content: str, message: str, rewardkit: Runner
) -> None:
    (cafe / "action.json").write_text(content, encoding="utf-8")
    done = rewardkit("explain", "cafe.toml", "action.json", cwd=cafe)
    assert done.returncode == 2
    assert message in error_line(done)


def test_explain_refuses_another_members_state(cafe: Path, rewardkit: Runner) -> None:
    write_action(cafe)
    (cafe / "state.json").write_text('{"id": "luis"}', encoding="utf-8")
    done = rewardkit(
        "explain", "cafe.toml", "action.json", "--member-state", "state.json", cwd=cafe
    )
    assert done.returncode == 2
    assert "state.json is the state of 'luis', the action is 'ana''s" in error_line(done)
    (cafe / "state.json").write_text('{"id": "ana", "lots": 3}', encoding="utf-8")
    done = rewardkit(
        "explain", "cafe.toml", "action.json", "--member-state", "state.json", cwd=cafe
    )
    assert done.returncode == 2 and "not a member state" in error_line(done)


def test_explain_reads_the_action_from_standard_input(cafe: Path, rewardkit: Runner) -> None:
    action = write_action(cafe).read_text(encoding="utf-8")
    done = rewardkit("explain", "cafe.toml", "-", cwd=cafe, stdin=action)
    assert done.returncode == 0 and "weekend-double: no" in done.stdout


# ---------------------------------------------------------------- stores: migrate, verify


def test_migrate_then_migrate_again(tmp_path: Path) -> None:
    first = spawn("migrate", "sqlite:///new.db", cwd=tmp_path)
    assert first.returncode == 0 and re.match(
        r"SQLite store 'new.db': schema version 0 -> \d", first.stdout
    )
    again = spawn("migrate", "sqlite:///new.db", cwd=tmp_path)
    assert again.returncode == 0 and "schema already at version" in again.stdout
    memory = spawn("migrate", "memory://", cwd=tmp_path)
    assert memory.returncode == 2 and "nothing to migrate" in error_line(memory)


def test_verify_finds_a_ledger_row_changed_behind_rewardkits_back(cafe: Path) -> None:
    spawn("simulate", "cafe.toml", "actions.jsonl", "--store", "sqlite:///cafe.db", cwd=cafe)
    intact = spawn("verify", "sqlite:///cafe.db", cwd=cafe)
    assert intact.returncode == 0
    assert intact.stdout.strip().endswith("every chain is intact")
    with sqlite3.connect(cafe / "cafe.db") as db:
        db.execute("UPDATE entries SET points = points + 100 WHERE member = 'ana' AND seq = 1")
    broken = spawn("verify", "sqlite:///cafe.db", cwd=cafe)
    assert broken.returncode == 1
    assert "1 broken chain" in broken.stdout
    assert "member 'ana', entry 1: its hash does not match its content" in broken.stdout


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("sqlite:///typo.db", "no SQLite database at 'typo.db'"),
        ("redis://localhost", "unknown store URL 'redis://localhost'"),
        ("sqlite://", "a SQLite URL needs a path"),
    ],
)
def test_verify_a_bad_url_is_a_usage_error(
    tmp_path: Path, url: str, message: str, rewardkit: Runner
) -> None:
    done = rewardkit("verify", url, cwd=tmp_path)
    assert done.returncode == 2 and message in error_line(done)
    assert not (tmp_path / "typo.db").exists()


# ---------------------------------------------------------------- report


def test_report_writes_an_html_file(cafe: Path) -> None:
    spawn("simulate", "cafe.toml", "actions.jsonl", "--store", "sqlite:///cafe.db", cwd=cafe)
    done = spawn(
        "report", "sqlite:///cafe.db", "--program", "cafe.toml", "--out", "monday.html",
        "--at", "2026-04-01", "--point-value", "0.02", "--breakage", "0.1",
        "--currency-symbol", "€", cwd=cafe,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "Report: monday.html",
        "2 members, 17 points outstanding, liability 0.31",  # 17 x 0.02 x (1 - 0.1)
    ]
    html = (cafe / "monday.html").read_text(encoding="utf-8")
    assert "<svg" in html and "Café Aroma" in html and "<script" not in html


def test_report_mistakes_are_one_line(cafe: Path, rewardkit: Runner) -> None:
    done = rewardkit("report", "sqlite:///cafe.db", "--program", "cafe.toml", cwd=cafe)
    assert done.returncode == 2 and "no SQLite database at 'cafe.db'" in error_line(done)
    done = rewardkit("report", "memory://", "--program", "cafe.toml", "--at", "soon", cwd=cafe)
    assert done.returncode == 2 and "argument --at: not a date: 'soon'" in done.stderr
    done = rewardkit("report", "memory://", cwd=cafe)
    assert done.returncode == 2 and "--program" in done.stderr


# ---------------------------------------------------------------- expire


def test_expire_sweeps_the_members_due_once(cafe: Path, rewardkit: Runner) -> None:
    program = cafe / "cafe.toml"
    program.write_text(
        program.read_text(encoding="utf-8")
        + '\n[expiry]\ntype = "fixed_term"\nterm = { months = 1 }\n',
        encoding="utf-8",
    )
    spawn("simulate", "cafe.toml", "actions.jsonl", "--store", "sqlite:///cafe.db", cwd=cafe)
    args = ("expire", "sqlite:///cafe.db", "--program", "cafe.toml", "--at", "2026-05-01")
    done = spawn(*args, cwd=cafe)
    assert done.returncode == 0, done.stderr
    # ana's 17 points left after her redemption expire a month after they were earned;
    # luis's 9 were reversed: he has nothing left to expire, and is not due.
    assert done.stdout.splitlines() == [
        "Swept at 2026-05-01 00:00 (Europe/Madrid): 1 member",
        "  expired: 17 points",
    ]
    again = rewardkit(*args, cwd=cafe)
    assert again.stdout.splitlines() == ["Swept at 2026-05-01 00:00 (Europe/Madrid): 0 members"]
    import rewardkit as rk

    with rk.Rewards(rk.load_program(program), store=f"sqlite:///{cafe / 'cafe.db'}") as kit:
        expired = [e for e in kit.history("ana") if e.kind is rk.EntryKind.EXPIRE]
    assert sum(e.points for e in expired) == -17 and all(e.cause == "time" for e in expired)


def test_expire_mistakes_are_one_line(cafe: Path, rewardkit: Runner) -> None:
    done = rewardkit("expire", "sqlite:///none.db", "--program", "cafe.toml", cwd=cafe)
    assert done.returncode == 2 and "no SQLite database at 'none.db'" in error_line(done)
    assert not (cafe / "none.db").exists()
    done = rewardkit("expire", "memory://", "--program", "cafe.toml", "--at", "soon", cwd=cafe)
    assert done.returncode == 2 and "argument --at: not a date: 'soon'" in done.stderr
    (cafe / "bad.toml").write_text('[program]\nname = "x"\ntimezone = "Mars/Base"\n')
    done = rewardkit("expire", "memory://", "--program", "bad.toml", cwd=cafe)
    assert done.returncode == 1 and "timezone" in done.stdout + done.stderr


# ---------------------------------------------------------------- diff

BEFORE = (
    PROGRAM
    + """
[expiry]
type = "fixed_term"
term = { months = 12 }

[[rewards]]
id = "mug"
cost = 300
"""
)


def test_diff_of_the_same_programme_written_otherwise_is_no_difference(
    tmp_path: Path, rewardkit: Runner
) -> None:
    (tmp_path / "a.toml").write_text(BEFORE, encoding="utf-8")
    respelled = BEFORE.replace('per = "1.00"', 'per = "1.0"').replace("\n\n", "\n\n\n")
    (tmp_path / "b.toml").write_text(respelled, encoding="utf-8")
    done = rewardkit("diff", "a.toml", "b.toml", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip() == "No differences between a.toml and b.toml."


def test_diff_lists_changes_and_what_they_do_to_members(tmp_path: Path) -> None:
    (tmp_path / "old.toml").write_text(BEFORE, encoding="utf-8")
    after = (
        BEFORE.replace('timezone = "Europe/Madrid"', 'timezone = "Atlantic/Canary"')
        .replace('id = "check-in"', 'id = "visit"')
        .replace("term = { months = 12 }", "term = { months = 6 }")
        .replace("cost = 300", "cost = 250")
        .replace('id = "free-coffee"\ncost = 100\n', 'id = "free-tea"\ncost = 100\n')
    )
    (tmp_path / "new.toml").write_text(after, encoding="utf-8")
    done = spawn("diff", "old.toml", "new.toml", cwd=tmp_path)
    assert done.returncode == 1 and not done.stderr, done.stderr
    assert done.stdout.splitlines() == [
        "old.toml -> new.toml",
        "  rules: + visit, - check-in",
        "  rewards: + free-tea, - free-coffee, ~ mug (cost)",
        '  program.timezone: "Europe/Madrid" -> "Atlantic/Canary"',
        '  expiry.term: {"years": 1} -> {"months": 6}',  # as dump_program writes 12 months
        "For members who already have points, levels, badges or tickets:",
        "  - rule 'check-in' removed: its caps and budget usage stay counted under "
        "'check-in'; a rule that replaces it under another id starts them again from zero",
        "  - reward 'free-coffee' removed: past redemptions keep its id; a reward that "
        "replaces it under another id starts its stock again from zero",
        "  - expiry changed: points already earned keep the expiry they were given, except "
        "that a policy on activity recomputes a member's lots at their next activity",
        "  - timezone changed: weekdays, hours, caps and calendar periods are read in the new "
        "zone from now on; points keep the expiry instants they were given",
    ]


def test_diff_mistakes_are_one_line(tmp_path: Path, rewardkit: Runner) -> None:
    (tmp_path / "a.toml").write_text(BEFORE, encoding="utf-8")
    (tmp_path / "bad.toml").write_text(BEFORE.replace("points = 5", "points = -5"))
    done = rewardkit("diff", "a.toml", "bad.toml", cwd=tmp_path)
    assert done.returncode == 1 and "bad.toml: 1 problem in the programme" in error_line(done)
    done = rewardkit("diff", "a.toml", "missing.toml", cwd=tmp_path)
    assert done.returncode == 2 and "missing.toml" in error_line(done)


# ---------------------------------------------------------------- demo


def test_demo_simulates_the_cafe_on_sqlite_and_prints_the_summary(tmp_path: Path) -> None:
    done = spawn("demo", "--members", "40", "--months", "1", "--db", "small.db", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert out.startswith("rewardkit demo: 40 members, 1 month")
    assert "Café Aroma (Europe/Madrid) on sqlite:///small.db" in out
    assert re.search(r"^  issued\s+[\d,]+$", out, re.M)
    assert "Rules ranked by points awarded" in out and re.search(r"^   1\. \S+ ", out, re.M)
    assert "rewardkit verify sqlite:///small.db" in out
    assert (tmp_path / "small.db").is_file()
    again = spawn("demo", "--members", "40", "--months", "1", "--db", "small.db", cwd=tmp_path)
    assert again.stdout == out  # recreated, and seeded: the same summary
    verified = spawn("verify", "sqlite:///small.db", cwd=tmp_path)
    assert verified.returncode == 0


def test_demo_defaults_run_the_readme_command(tmp_path: Path, rewardkit: Runner) -> None:
    started = time.perf_counter()
    done = rewardkit("demo", cwd=tmp_path)
    elapsed = time.perf_counter() - started
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "rewardkit-demo.db").is_file()
    assert "rewardkit demo: 200 members, 3 months, seed 7" in done.stdout
    assert "(the programme's Spanish templates)" in done.stdout
    assert re.search(r"\[reward_within_reach\] te felicitamos por ganar \d+ puntos", done.stdout)
    assert elapsed < 40, f"the demo took {elapsed:.0f} s"


def test_demo_never_deletes_a_file_it_did_not_make(tmp_path: Path, rewardkit: Runner) -> None:
    precious = tmp_path / "precious.db"
    precious.write_bytes(b"my data")
    done = rewardkit("demo", "--db", "precious.db", cwd=tmp_path)
    assert done.returncode == 2
    assert "'precious.db' exists and was not made by `rewardkit demo`" in error_line(done)
    assert precious.read_bytes() == b"my data"
    rewardkit("migrate", "sqlite:///store.db", cwd=tmp_path)
    done = rewardkit("demo", "--db", "store.db", cwd=tmp_path)
    assert done.returncode == 2 and (tmp_path / "store.db").stat().st_size > 0


# ---------------------------------------------------------------- the docs' commands


def _shell_examples(text: str) -> list[tuple[list[str], str | None]]:
    """Each ```sh block's `rewardkit ...` commands, with the ```text block right after it."""
    found: list[tuple[list[str], str | None]] = []
    matches = list(FENCE.finditer(text))
    for i, match in enumerate(matches):
        if match.group("info").split()[:1] != ["sh"]:
            continue
        commands = [
            line.strip()
            for line in match.group("body").splitlines()
            if line.strip().startswith("rewardkit ")
        ]
        if not commands:
            continue
        after = matches[i + 1] if i + 1 < len(matches) else None
        output = None
        if (
            after is not None
            and after.group("info").split()[:1] == ["text"]
            and not text[match.end() : after.start()].strip()
        ):
            output = after.group("body")
        found.append((commands, output))
    return found


@pytest.mark.parametrize("page", CLI_PAGES, ids=[p.name for p in CLI_PAGES])
def test_the_docs_shell_commands_run_and_print_what_the_page_shows(
    page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rewardkit: Runner
) -> None:
    """The page's python blocks run first (they write its files), in a folder that also
    holds a copy of examples/; then every `rewardkit` command of its ```sh blocks runs
    there, and prints exactly the ```text block that follows it, if any."""
    shutil.copytree(EXAMPLES, tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("REWARDKIT_STORE", raising=False)
    text = page.read_text(encoding="utf-8")
    run_page(page, text)
    examples = _shell_examples(text)
    assert examples, f"{page.name} has no ```sh block with a rewardkit command"
    for commands, expected in examples:
        printed = ""
        for command in commands:
            done = rewardkit(*command.split()[1:], cwd=tmp_path)
            assert done.returncode in (0, 1), f"{command}: {done.stderr}"
            printed += done.stderr + done.stdout
        if expected is not None:
            shown = [line.rstrip() for line in expected.strip("\n").splitlines()]
            actual = [line.rstrip() for line in printed.strip("\n").splitlines()]
            assert actual == shown, f"{page.name}: `{commands[-1]}` printed:\n{printed}"


SEGMENTED = """
[program]
name = "Segments"
timezone = "Europe/Madrid"

[segments]
regulars = { actions_at_least = { count = 3, kind = "purchase" }, spent_at_least = "20" }

[[rules]]
id = "regular-bonus"
type = "fixed"
on = "purchase"
points = 5
when = { segment = "regulars" }

[[rules]]
id = "win-back"
type = "fixed"
on = "purchase"
points = 50
when = { inactive_for = { days = 60 } }

[[rules]]
id = "evening-or-saturday"
type = "fixed"
on = "purchase"
points = 2

[rules.when]
any = [{ time = { from = "17:00", to = "19:00" } }, { weekday = ["sat"] }]

[[rules]]
id = "not-small"
type = "fixed"
on = "purchase"
points = 1
when = { not = { amount = { below = "50" } } }
"""


def test_explain_takes_composite_conditions_apart(tmp_path: Path, rewardkit: Runner) -> None:
    (tmp_path / "segments.toml").write_text(SEGMENTED, encoding="utf-8")
    write_action(tmp_path, amount="14.80", attributes={})
    out = rewardkit("explain", "segments.toml", "action.json", cwd=tmp_path).stdout
    assert "regulars failed: member has >= 3 purchase actions failed (member has 0)" in out
    assert "win-back:            no — member inactive for 60 days failed (first action)" in out
    assert (
        "evening-or-saturday: no — none of these held: time of day in [17:00, 19:00) failed "
        "(action at 11:42); weekday in sat failed (action on wed)"
    ) in out
    assert "not-small:           no — not (amount < 50) failed (amount is 14.80)" in out


def test_explain_shows_badges_and_level_changes(tmp_path: Path, rewardkit: Runner) -> None:
    action = {
        "id": "lesson-7",
        "member": "maya",
        "kind": "lesson",
        "at": "2026-03-07T07:05:00+01:00",
    }
    (tmp_path / "lesson.json").write_text(json.dumps(action), encoding="utf-8")
    game = GAME / "program.toml"
    history = GAME / "actions.jsonl"
    out = rewardkit("explain", game, "lesson.json", "--history", history, cwd=tmp_path).stdout
    assert "  badge: week-streak awarded (+70 xp)" in out  # the seventh day in a row
    assert "raffle-tickets:  yes, 1 ticket for march-raffle" in out
    flight = {
        "id": "pnr-1",
        "member": "eve",
        "kind": "flight",
        "at": "2026-05-01T10:00:00-04:00",
        "amount": "2600.00",
        "attributes": {"cabin": "business"},
    }
    (tmp_path / "flight.json").write_text(json.dumps(flight), encoding="utf-8")
    out = rewardkit("explain", AIRLINE / "program.toml", "flight.json", cwd=tmp_path).stdout
    assert "premium-cabin: yes, +6,500 (x1.5 on flight-miles)" in out
    assert "  level: no level -> Silver" in out
    assert "Total: +20,500 miles, balance 20,500" in out  # 13,000 + 1,000 + 6,500


def test_simulate_confirm_lines_release_held_points(tmp_path: Path, rewardkit: Runner) -> None:
    held = PROGRAM.replace(
        'timezone = "Europe/Madrid"', 'timezone = "Europe/Madrid"\npending = "until_confirmed"'
    )
    (tmp_path / "held.toml").write_text(held, encoding="utf-8")
    lines = [
        purchase("order-1", "2026-03-04T12:00:00+01:00", "12.00"),
        purchase("order-2", "2026-03-05T12:00:00+01:00", "20.00"),
        line(op="confirm", action="order-1", at="2026-03-20T00:00:00+01:00"),
    ]
    (tmp_path / "held.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    done = rewardkit("simulate", "held.toml", "held.jsonl", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert re.search(r"^  issued\s+12$", done.stdout, re.M)
    assert re.search(r"^  held\s+20$", done.stdout, re.M)


def test_diff_warns_about_badges_and_raffles_that_members_may_hold() -> None:
    import rewardkit as rk
    from rewardkit.cli_parts.diff import changes

    opens, closes = datetime(2026, 6, 1, tzinfo=UTC), datetime(2026, 7, 1, tzinfo=UTC)
    rules = [rk.fixed("visit", on="visit", points=1)]
    old = rk.Program(
        name="Play",
        rules=rules,
        badges=[rk.badge("regular", rk.count(10))],
        raffles=[rk.raffle("summer", opens_at=opens, closes_at=closes)],
    )
    new = rk.Program(name="Play", rules=rules)
    lines, warnings = changes(old, new)
    assert lines == ["badges: - regular", "raffles: - summer"]
    assert [w.split(":")[0] for w in warnings] == [
        "badge 'regular' removed",
        "raffle 'summer' removed",
    ]
    assert changes(old, old) == ([], [])


def test_expire_after_a_level_was_renamed_reports_the_moves(tmp_path: Path) -> None:
    tiers = (
        '\n[tiers]\nmetric = "points_earned"\nkeep = { type = "for", term = { days = 10 } }\n'
        'levels = [{ id = "gold", threshold = 20 }]\n'
    )  # kept 10 days: the member is due for a review, and a sweep visits them
    (tmp_path / "v1.toml").write_text(PROGRAM + tiers, encoding="utf-8")
    renamed = tiers.replace('"gold"', '"gold-plus"').replace("= 20 }", "= 5000 }")
    (tmp_path / "v2.toml").write_text(PROGRAM + renamed, encoding="utf-8")
    line = purchase("p1", "2026-03-04T10:00:00+01:00", "150.00")
    (tmp_path / "a.jsonl").write_text(line + "\n", encoding="utf-8")
    spawn("simulate", "v1.toml", "a.jsonl", "--store", "sqlite:///t.db", cwd=tmp_path)
    done = spawn("expire", "sqlite:///t.db", "--program", "v2.toml", "--at", "2026-04-01",
                 cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "Swept at 2026-04-01 00:00 (Europe/Madrid): 1 member",
        "  tier changes: 0 up, 1 down",  # gold is gone, and 30 points do not meet gold-plus
    ]
