"""The machinery under programme files: paths, problems, and values as text.

Every hook raises :class:`~rewardkit.errors.ProgramError` with paths relative to the
value it was given (``""`` for the value itself); :func:`problems_from` walks cattrs'
error tree (``ClassValidationError`` / ``IterableValidationError`` and their notes) and
prefixes those paths, so a problem deep in a rule reads ``rules[2].when.time.from``.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from contextvars import ContextVar
from datetime import time, timedelta
from typing import Final

import attrs
from cattrs.errors import (
    ClassValidationError,
    ForbiddenExtraKeysError,
    IterableValidationError,
)
from dateutil.relativedelta import relativedelta

from .errors import Problem, ProgramError
from .expiry import term_text
from .model import DEFAULT_CURRENCY
from .time import parse_time_of_day

__all__ = [
    "HOOK",
    "NAME",
    "Loading",
    "clock_text",
    "duration_data",
    "fail",
    "file_names",
    "join",
    "loading",
    "problems_from",
    "relocate",
    "suggestion",
    "term_data",
    "time_of_day",
]

NAME: Final = "rewardkit.name"
"""attrs field metadata: the field's name in files when it differs (``from``, ``in``)."""
HOOK: Final = "rewardkit.structure"
"""attrs field metadata: a function structuring the field's value (``value -> value``)."""

_TERM_UNITS: Final = ("years", "months", "days", "hours", "minutes")
_DURATION_UNITS: Final = ("years", "months", "days", "hours", "minutes", "seconds")
_ABSOLUTE: Final = ("year", "month", "day", "weekday", "hour", "minute", "second", "microsecond")


@attrs.frozen
class Loading:
    """What hooks need to know about the programme being loaded."""

    currency: str = DEFAULT_CURRENCY  # the default currency of rules and rewards
    levels: tuple[str, ...] | None = None  # tier levels (None: unknown, do not check)
    segments: tuple[str, ...] | None = None  # segment names (None: unknown, do not check)


_OUTSIDE_A_LOAD: Final = Loading()
loading: ContextVar[Loading] = ContextVar("rewardkit_loading", default=_OUTSIDE_A_LOAD)


# ---------------------------------------------------------------- paths and problems


def join(prefix: str, rest: str) -> str:
    """``rules[2]`` + ``points`` = ``rules[2].points``; ``[0]`` and ``.x`` attach as is."""
    if not rest:
        return prefix
    if not prefix:
        return rest.lstrip(".")
    if rest.startswith(("[", ".")):
        return prefix + rest
    return f"{prefix}.{rest}"


def fail(path: str, message: str) -> ProgramError:
    return ProgramError([Problem(path, message)])


def relocate(
    error: ProgramError, prefix: str, renames: Mapping[str, str] | None = None
) -> list[Problem]:
    """``error``'s problems under ``prefix``; ``renames`` maps a path's first segment
    (a factory's argument name) to its name in files (``""`` drops it)."""
    problems = []
    for problem in error.problems:
        path = problem.path
        if renames:
            head = re.match(r"[^.\[]*", path)
            first = head.group(0) if head else ""
            if first in renames:
                path = renames[first] + path[len(first) :]
        problems.append(Problem(join(prefix, path), problem.message))
    return problems


def suggestion(word: object, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for a close match, else `` (expected a, b, c)``."""
    options = sorted(choices)
    close = difflib.get_close_matches(word, options, n=1) if isinstance(word, str) else []
    if close:
        return f" (did you mean {close[0]!r}?)"
    return f" (expected {', '.join(options)})" if options else ""


def file_names(cls: type) -> dict[str, str]:
    """Each attrs field's name in files, by Python name."""
    return {a.name: a.metadata.get(NAME, a.name) for a in attrs.fields(cls) if a.init}


def _unknown_fields(error: ForbiddenExtraKeysError, path: str) -> list[Problem]:
    known = list(file_names(error.cl).values())

    def hint(key: str) -> str:
        return suggestion(key, known) if known else " (this table takes no fields)"

    return [
        Problem(path, f"unknown field {key!r}{hint(key)}") for key in sorted(error.extra_fields)
    ]


def _init_problem(error: Exception, path: str, cls: type) -> list[Problem]:
    """An exception raised by a class's ``__init__`` (an attrs validator, a check in
    ``__attrs_post_init__``): cattrs attaches no note, so find the field if we can."""
    if isinstance(error, ProgramError):
        return relocate(error, path)
    if isinstance(error, ForbiddenExtraKeysError):
        return _unknown_fields(error, path)
    names = file_names(cls)
    text = str(error.args[0]) if error.args else type(error).__name__
    field = error.args[1] if len(error.args) > 1 else None
    if isinstance(field, attrs.Attribute) and field.name in names:
        name = field.name
    else:
        match = re.match(r"'(\w+)' ", text)
        name = match.group(1) if match and match.group(1) in names else ""
    if name:
        text = re.sub(rf"^'{name}' ", "", text)
        return [Problem(join(path, names[name]), text)]
    return [Problem(path, text)]


def _class_problems(error: ClassValidationError, path: str) -> list[Problem]:
    """The problems of one table: unknown keys first, then each field's.  A required field
    that an unknown key is a misspelling of is not reported missing: the did-you-mean
    says it already."""
    names = file_names(error.cl)
    noted, bare = error.group_exceptions()
    problems = []
    misspelt: set[str] = set()
    for sub in bare:
        problems.extend(_init_problem(sub, path, error.cl))
        if isinstance(sub, ForbiddenExtraKeysError):
            for key in sub.extra_fields:
                misspelt.update(difflib.get_close_matches(key, list(names.values()), n=1))
    for sub, note in noted:
        name = names.get(note.name, note.name)
        if isinstance(sub, KeyError) and not isinstance(sub, ProgramError):
            if name not in misspelt:
                problems.append(Problem(join(path, name), "is required"))
        else:
            problems.extend(problems_from(sub, join(path, name)))
    return problems


def problems_from(error: BaseException, path: str) -> list[Problem]:
    """Every problem in ``error`` (a cattrs error tree, a ProgramError...) under ``path``."""
    if isinstance(error, ProgramError):
        return relocate(error, path)
    if isinstance(error, ClassValidationError):
        return _class_problems(error, path)
    if isinstance(error, IterableValidationError):
        noted_items, bare_items = error.group_exceptions()
        problems = []
        for sub, item in noted_items:
            index = item.index
            where = join(path, f"[{index}]" if isinstance(index, int) else str(index))
            problems.extend(problems_from(sub, where))
        for sub in bare_items:
            problems.extend(problems_from(sub, path))
        return problems
    if isinstance(error, ForbiddenExtraKeysError):
        return _unknown_fields(error, path)
    return [Problem(path, str(error) or type(error).__name__)]


# ---------------------------------------------------------------- data for durations and times


def term_data(value: relativedelta | timedelta) -> dict[str, int]:
    """A term (``{"months": 12}``) as :func:`rewardkit.expiry.term` reads it back."""
    if isinstance(value, timedelta):
        if value.microseconds:
            raise fail("", f"cannot be written as data: {value} is not whole minutes")
        value = relativedelta(seconds=int(value.total_seconds()))
    units = {unit: getattr(value, unit) for unit in _TERM_UNITS if getattr(value, unit)}
    exact = (
        all(getattr(value, field) is None for field in _ABSOLUTE)
        and not value.leapdays
        and not value.seconds
        and not value.microseconds
        and all(amount > 0 for amount in units.values())
    )
    if not exact:
        raise fail(
            "",
            f"cannot be written as data: {term_text(value)} is not a whole number of "
            "years, months, days, hours and minutes",
        )
    return units


def duration_data(value: relativedelta | timedelta) -> dict[str, int]:
    """A duration (``{"hours": 2}``) as :func:`rewardkit.time.parse_duration` reads it."""
    if isinstance(value, timedelta):
        if value.microseconds or value <= timedelta(0):
            raise fail("", f"cannot be written as data: {value} is not whole seconds")
        minutes, seconds = divmod(value.seconds, 60)
        hours, minutes = divmod(minutes, 60)
        parts = {"days": value.days, "hours": hours, "minutes": minutes, "seconds": seconds}
        return {unit: amount for unit, amount in parts.items() if amount}
    units = {unit: getattr(value, unit) for unit in _DURATION_UNITS if getattr(value, unit)}
    if value.microseconds or any(amount < 0 for amount in units.values()):
        raise fail("", f"cannot be written as data: {value!r} is not whole seconds")
    return units


def clock_text(value: time) -> str:
    """``"07:00"``, ``"07:00:30"`` or, with microseconds, the full ISO text."""
    if value.microsecond:
        return value.isoformat()
    return value.isoformat(timespec="seconds" if value.second else "minutes")


def time_of_day(value: object, path: str = "") -> time:
    """A time of day from ``"07:30"``, a TOML local time, or ISO text with a fraction."""
    if isinstance(value, str) and "." in value:
        try:
            parsed = time.fromisoformat(value.strip())
        except ValueError:
            pass
        else:
            if parsed.tzinfo is None:
                return parsed
    return parse_time_of_day(value, path=path)  # type: ignore[arg-type]
