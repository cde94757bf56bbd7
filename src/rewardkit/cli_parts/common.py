"""What every subcommand shares: errors with exit codes, files, dates, programmes, stores."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, time, tzinfo
from pathlib import Path
from typing import Any, Final, TextIO

from ..config import load_program
from ..errors import ProgramError, StoreError
from ..program import Program
from ..storage import Store, open_store

__all__ = [
    "OK",
    "PROBLEMS",
    "USAGE",
    "CommandError",
    "Moment",
    "load",
    "moment",
    "one_line",
    "open_url",
    "read_json",
    "read_program",
    "sqlite_path",
]

OK: Final = 0
PROBLEMS: Final = 1  # the command ran and found problems (invalid programme, bad lines...)
USAGE: Final = 2  # the command could not run as asked (arguments, files, URLs)


class CommandError(Exception):
    """A user mistake or a problem found: printed as one line, never a traceback."""

    def __init__(self, message: str, code: int = USAGE) -> None:
        super().__init__(one_line(message))
        self.code = code


def one_line(message: object) -> str:
    """A message on one line (a driver's multi-line error, a path with a newline)."""
    return " ".join(str(message).split())


# ---------------------------------------------------------------- dates


class Moment:
    """A date or an instant from the command line, placed in the programme's zone
    once the programme is known: ``2026-07-01`` is 00:00 that day, ``2026-07-01T09:30``
    is that wall-clock time, and an offset (``+02:00``, ``Z``) is kept."""

    def __init__(self, text: str) -> None:
        value = text.strip()
        try:
            self.value: date | datetime = (
                date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value)
            )
        except ValueError:
            raise ValueError(
                f"not a date: {text!r} (expected 2026-07-01, 2026-07-01T09:30 or "
                "2026-07-01T09:30+02:00)"
            ) from None
        self.text = text

    def at(self, tz: tzinfo) -> datetime:
        value = self.value
        if not isinstance(value, datetime):
            return datetime.combine(value, time(0), tzinfo=tz)
        return value if value.tzinfo is not None else value.replace(tzinfo=tz)

    def __repr__(self) -> str:
        return f"Moment({self.text!r})"


def moment(text: str) -> Moment:
    """An argparse ``type``: a bad date is a usage error (exit 2) naming the value."""
    import argparse

    try:
        return Moment(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


# ---------------------------------------------------------------- files


def _unreadable(path: str | os.PathLike[str], error: OSError) -> CommandError:
    reason = error.strerror or type(error).__name__
    return CommandError(f"cannot read {os.fspath(path)!r}: {reason}")


@contextmanager
def opened(path: str) -> Iterator[TextIO]:
    """A text file to read (``-``: standard input), with a usage error if it cannot be."""
    if path == "-":
        yield sys.stdin
        return
    try:
        stream = open(path, encoding="utf-8")  # noqa: SIM115 (closed below)
    except OSError as error:
        raise _unreadable(path, error) from None
    with stream:
        yield stream


def read_json(path: str, what: str) -> Any:
    """The JSON document in ``path`` (``-``: standard input)."""
    try:
        with opened(path) as stream:
            text = stream.read()
    except UnicodeDecodeError:
        raise CommandError(f"{path}: {what} is not UTF-8 text") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise CommandError(
            f"{path}: {what} is not valid JSON: {error.msg} (line {error.lineno}, "
            f"column {error.colno})"
        ) from None


def read_program(path: str) -> Program:
    """The programme in ``path``; :class:`ProgramError` when it is invalid."""
    try:
        return load_program(path)
    except IsADirectoryError:
        raise CommandError(f"cannot read {path!r}: it is a directory") from None
    except OSError as error:
        raise _unreadable(path, error) from None
    except UnicodeDecodeError:
        raise CommandError(f"{path}: the programme is not UTF-8 text") from None


def load(path: str) -> Program:
    """The programme in ``path``; its problems are printed, one per line, on stderr."""
    try:
        return read_program(path)
    except ProgramError as error:
        for problem in error.problems:
            print(one_line(problem), file=sys.stderr)
        count = len(error.problems)
        raise CommandError(
            f"{path}: {count} problem{'s' if count != 1 else ''} in the programme", PROBLEMS
        ) from None


# ---------------------------------------------------------------- stores


def sqlite_path(url: str) -> Path | None:
    """The file of a ``sqlite:///`` URL (``None`` for other stores)."""
    prefix = "sqlite:///"
    if not url.lower().startswith(prefix):
        return None
    return Path(url[len(prefix) :].split("?", 1)[0])


def open_url(url: str, *, existing: bool = False) -> Store:
    """The store at ``url``.  With ``existing`` (a reading command), a SQLite file must
    already be there, so a typo does not create an empty database, and an old schema
    is reported rather than migrated."""
    path = sqlite_path(url)
    if existing and path is not None and str(path) and not path.is_file():
        raise CommandError(f"no SQLite database at {str(path)!r} (from {url!r})")
    try:
        return open_store(url, auto_migrate=not existing)
    except StoreError as error:
        raise CommandError(str(error)) from None
    except ImportError as error:
        raise CommandError(
            f"{url!r} needs a driver that is not installed ({error.name}): "
            "pip install 'rewardkit[postgres]'"
        ) from None
