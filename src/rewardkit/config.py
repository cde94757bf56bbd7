"""Programmes as data: TOML or JSON files <-> :class:`~rewardkit.program.Program`.

``load_program`` reads a ``.toml`` or ``.json`` file (or takes a mapping already parsed),
checks it and builds the programme, reporting every problem it finds in one
:class:`~rewardkit.errors.ProgramError`, each with its path (``rules[2].points``).
``dump_program`` writes a programme back as plain data (str, int, float, bool, lists and
dicts; Decimals and instants as strings), and ``load_program(dump_program(p)) == p``.

Both go through one cattrs converter made by :func:`make_converter`; the format is
described in ``docs/reference/programme-format.md``.  This module reads files, so it is
outside the pure domain: nothing in the domain imports it.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from datetime import tzinfo
from functools import cache
from pathlib import Path
from typing import Any, Final

import attrs
import cattrs

from . import (
    _config_conditions,
    _config_hooks,
    _config_play,
    _config_policies,
    _config_rfm,
    _config_rules,
    plugins,
)
from ._compose import Condition
from ._config_base import fail, relocate
from ._config_load import SECTIONS, Loader
from .badges import Badge
from .errors import Problem, ProgramError
from .expiry import ExpiryPolicy, never_expire
from .leaderboards import Leaderboard
from .model import DEFAULT_CURRENCY
from .nudges import NudgeSettings
from .pending import Hold
from .program import Program
from .raffles import Raffle
from .rewards import Reward
from .rfm import RFMModel
from .rules import EarningRule
from .tiers import Ladder

__all__ = ["SECTIONS", "dump_program", "load_program", "make_converter", "read_program"]


def make_converter() -> cattrs.Converter:
    """A new converter that structures and unstructures every part of a programme.

    Unknown keys are refused and every problem is collected (``forbid_extra_keys`` and
    ``detailed_validation``).  ``load_program`` and ``dump_program`` share one, made
    here once; make your own to structure a single part, such as a rule table.
    """
    converter = cattrs.Converter(forbid_extra_keys=True, detailed_validation=True)
    _config_hooks.install(converter)
    _config_conditions.install(converter)
    _config_rules.install(converter)
    _config_policies.install(converter)
    _config_play.install(converter)
    _config_rfm.install(converter)
    return converter


@cache
def _converter() -> cattrs.Converter:
    return make_converter()


# ---------------------------------------------------------------- files


def read_program(path: str | os.PathLike[str]) -> Mapping[str, Any]:
    """The parsed content of a ``.toml`` or ``.json`` programme file.

    A file that cannot be parsed raises :class:`ProgramError` with the parser's line and
    column; a file that cannot be read raises the ``OSError`` (``FileNotFoundError``...).
    """
    file = Path(path)
    suffix = file.suffix.lower()
    if suffix == ".toml":
        with file.open("rb") as stream:
            try:
                return tomllib.load(stream)
            except tomllib.TOMLDecodeError as error:
                raise fail("", f"{file}: not valid TOML: {error}") from None
    if suffix == ".json":
        text = file.read_text(encoding="utf-8")
        try:
            data: Mapping[str, Any] = json.loads(text)
        except json.JSONDecodeError as error:
            raise fail(
                "",
                f"{file}: not valid JSON: {error.msg} (at line {error.lineno}, "
                f"column {error.colno})",
            ) from None
        return data
    raise fail(
        "",
        f"{str(file)[:80]!r}: a programme is a .toml or .json file (or a mapping already "
        "parsed, such as tomllib.loads(text))",
    )


# ---------------------------------------------------------------- loading


def load_program(source: str | os.PathLike[str] | Mapping[str, Any]) -> Program:
    """The programme in a ``.toml`` / ``.json`` file, or in a mapping already parsed.

    Raises :class:`ProgramError` listing every problem, each with its path.
    """
    plugins.load_entry_points()
    data = source if isinstance(source, Mapping) else read_program(source)
    return Loader(data, _converter()).program()


# ---------------------------------------------------------------- dumping


def dump_program(program: Program) -> dict[str, Any]:
    """``program`` as plain data that :func:`load_program` reads back equal.

    Decimals are written as strings (``"1.25"``), instants as ISO 8601 text with their
    offset, terms as tables (``{"months": 12}``); values equal to their default are left
    out.  A part that cannot be written as data (a condition made from a Python
    function, an unregistered policy class) raises :class:`ProgramError` naming it.
    """
    plugins.load_entry_points()
    converter = _converter()
    problems: list[Problem] = []

    def part(path: str, value: object, kind: Any) -> Any:
        try:
            return converter.unstructure(value, unstructure_as=kind)
        except ProgramError as error:
            problems.extend(relocate(error, path))
            return None

    def items(section: str, values: tuple[Any, ...], kind: Any) -> list[Any]:
        """A list of tables; an item's currency is left out when it is the default."""
        found = []
        for i, value in enumerate(values):
            data = part(f"{section}[{i}]", value, kind)
            if isinstance(data, dict) and data.get("currency") == program.currency:
                del data["currency"]
            found.append(data)
        return found

    timezone: object = program.timezone
    head: dict[str, Any] = {
        "name": program.name,
        "timezone": timezone
        if isinstance(timezone, str)
        else part("program.timezone", timezone, tzinfo),
    }
    if tuple(program.currencies) != (DEFAULT_CURRENCY,):
        head["currencies"] = list(program.currencies)
    if program.pending is not None:
        head["pending"] = part("program.pending", program.pending, Hold)
    data: dict[str, Any] = {"program": head}
    if program.segments:
        data["segments"] = {
            name: part(f"segments.{name}", cond, Condition)
            for name, cond in program.segments.items()
        }
    if program.rfm is not None:
        data["rfm"] = part("rfm", program.rfm, RFMModel)
    if program.rules:
        data["rules"] = items("rules", program.rules, EarningRule)
    if program.expiry != never_expire:
        data["expiry"] = part("expiry", program.expiry, ExpiryPolicy)
    if program.tiers is not None:
        data["tiers"] = part("tiers", program.tiers, Ladder)
    for section, kind in (
        ("rewards", Reward),
        ("badges", Badge),
        ("raffles", Raffle),
        ("leaderboards", Leaderboard),
    ):
        if getattr(program, section):
            data[section] = items(section, getattr(program, section), kind)
    nudges = part("nudges", program.nudges, NudgeSettings)
    if nudges:
        data["nudges"] = nudges
    problems.extend(_unmapped(program))
    if problems:
        raise ProgramError(problems)
    return data


_MAPPED: Final = frozenset({"name", "timezone", "currencies", "pending", *SECTIONS} - {"program"})


def _unmapped(program: Program) -> list[Problem]:
    """A problem for each part of ``program`` the file format has no place for yet, so
    that nothing is dropped without a word."""
    problems = []
    for field in attrs.fields(Program):
        if not field.init or field.name in _MAPPED:
            continue
        default: Any = field.default
        if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
            default = default.factory()
        if getattr(program, field.name) != default:
            problems.append(
                Problem(
                    field.name, "cannot be written as data yet: the file format has no place for it"
                )
            )
    return problems
