"""The walls: the domain does no I/O and imports no store; the public surface is curated."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import rewardkit

SRC = Path(rewardkit.__file__).parent
DOMAIN = [
    "_values",
    "errors",
    "model",
    "events",
    "time",
    "context",
    "_compose",
    "conditions",
    "segments",
    "rfm",
    "rules",
    "rewards",
    "expiry",
    "pending",
    "tiers",
    "badges",
    "raffles",
    "referrals",
    "nudges",
    "program",
    "_caps",
    "_book",
    "_earning",
    "_play",
    "_tiering",
    "_timeline",
    "_social",
    "engine",
    "_codec",
]
FORBIDDEN_IMPORTS = ("sqlite3", "psycopg", "rewardkit.storage", "rewardkit.cli", "rewardkit.facade")


@pytest.mark.parametrize("module", DOMAIN)
def test_domain_module_imports_no_storage_or_io(module: str) -> None:
    code = (
        f"import sys, rewardkit.{module}\n"
        f"bad = [m for m in {FORBIDDEN_IMPORTS!r} if m in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""


@pytest.mark.parametrize("module", DOMAIN)
def test_domain_module_never_reads_the_clock(module: str) -> None:
    tree = ast.parse((SRC / f"{module}.py").read_text())
    calls = {
        f"{node.func.value.id}.{node.func.attr}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
    }
    assert not calls & {
        "datetime.now",
        "datetime.utcnow",
        "date.today",
        "time.time",
        "time.monotonic",
    }


def test_storage_imports_the_domain_never_the_reverse() -> None:
    for module in DOMAIN:
        tree = ast.parse((SRC / f"{module}.py").read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert "storage" not in node.module and "facade" not in node.module, module


def test_all_is_sorted_and_every_name_is_exported() -> None:
    def isort_style(name: str) -> tuple[int, str]:  # constants, classes, functions
        return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)

    assert list(rewardkit.__all__) == sorted(set(rewardkit.__all__), key=isort_style)
    for name in rewardkit.__all__:
        assert getattr(rewardkit, name) is not None


def test_lazy_names_resolve_to_their_modules() -> None:
    from rewardkit.facade import Rewards
    from rewardkit.storage.sqlite import SQLiteStore

    assert rewardkit.Rewards is Rewards and rewardkit.SQLiteStore is SQLiteStore
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        rewardkit.Nope  # noqa: B018
