"""Running a stream of requests through one :class:`~rewardkit.Rewards`, line by line.

A malformed line is reported with its number and skipped; a request the programme
refuses (not enough points, an unknown action...) is counted by reason.  With
``strict``, the first line that does not apply stops the run.  A store failure stops
it too: it is not a problem of the line.
"""

from __future__ import annotations

import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Final, TextIO

import attrs

from ..errors import ConcurrencyConflict, RewardkitError, StoreError
from ..facade import Rewards
from ..model import Outcome
from .common import PROBLEMS, CommandError, one_line
from .lines import LineError, Request, parse_line

__all__ = ["Progress", "Simulation", "Tally", "action_lines"]

SHOWN: Final = 20  # messages printed per kind (malformed, refused); the rest are counted
BATCH: Final = 1000  # record lines committed together (one transaction on a SQL store)

_REASONS: Final = {
    "InsufficientPoints": "not enough points",
    "RewardUnavailable": "reward unavailable",
    "UnknownReward": "unknown reward",
    "UnknownAction": "unknown action",
    "UnknownRaffle": "unknown raffle",
    "IdempotencyConflict": "id reused for another request",
    "InvalidAction": "invalid request",
    "RaffleError": "raffle closed or full",
    "ReferralError": "referral refused",
}


@contextmanager
def action_lines(path: str) -> Iterator[tuple[Iterable[tuple[int, bytes]], int | None]]:
    """The numbered lines of an action file (``-``: standard input) and its size."""
    if path == "-":
        yield enumerate(sys.stdin.buffer, start=1), None
        return
    try:
        total = os.path.getsize(path)
        stream = open(path, "rb")  # noqa: SIM115 (closed below)
    except IsADirectoryError:
        raise CommandError(f"cannot read {path!r}: it is a directory") from None
    except OSError as error:
        raise CommandError(f"cannot read {path!r}: {error.strerror}") from None
    with stream:
        yield enumerate(stream, start=1), total


class Progress:
    """A one-line progress bar, redrawn at most ten times a second, on a terminal only."""

    def __init__(self, stream: TextIO, total: int | None, *, enabled: bool) -> None:
        self.stream = stream
        self.total = total
        self.enabled = enabled
        self.start = time.monotonic()
        self._drawn = 0.0
        self._visible = False

    @classmethod
    def for_stderr(cls, total: int | None) -> Progress:
        return cls(sys.stderr, total, enabled=sys.stderr.isatty())

    def update(self, done: int, lines: int) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._drawn < 0.1:
            return
        self._drawn = now
        elapsed = f"{now - self.start:.0f} s"
        if self.total:
            share = min(done / self.total, 1.0)
            filled = int(share * 30)
            bar = f"[{'#' * filled}{'.' * (30 - filled)}] {share:4.0%}"
            self.stream.write(f"\r{bar}  {lines:,} lines  {elapsed}\033[K")
        else:
            self.stream.write(f"\r{lines:,} lines  {elapsed}\033[K")
        self.stream.flush()
        self._visible = True

    def clear(self) -> None:
        if self._visible:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self._visible = False

    def note(self, message: str) -> None:
        """Print a message on its own line, under (not through) the bar."""
        self.clear()
        print(message, file=self.stream)


@attrs.define
class Tally:
    """What happened to the lines of a run."""

    lines: int = 0  # requests read (blank and comment lines aside)
    applied: int = 0  # recorded (a new id)
    replayed: int = 0  # ids already recorded: nothing changed
    malformed: int = 0
    refused: int = 0
    reasons: Counter[str] = attrs.field(factory=Counter)
    first: datetime | None = None
    last: datetime | None = None
    stopped: bool = False

    @property
    def not_applied(self) -> int:
        return self.malformed + self.refused


class Simulation:
    """Feeds lines to one :class:`Rewards` and keeps the tally."""

    def __init__(
        self,
        kit: Rewards,
        source: str,
        *,
        progress: Progress,
        strict: bool = False,
        quiet: bool = False,
        keep: Callable[[Request], bool] | None = None,
    ) -> None:
        self.kit = kit
        self.source = source
        self.strict = strict
        self.quiet = quiet  # count refused and malformed lines without a message each
        self.progress = progress
        self.keep = keep  # only the requests it accepts are applied; others are skipped
        self.tally = Tally()
        self._tz = kit.program.tz
        self._queued: list[tuple[int, Request]] = []  # record lines not yet recorded

    def run_lines(self, lines: Iterable[tuple[int, bytes]], *, total: int | None) -> Tally:
        progress, tz = self.progress, self._tz
        progress.total = total
        done = 0
        for number, raw in lines:
            done += len(raw)
            try:
                request = parse_line(raw, tz)
            except LineError as error:
                self._malformed(number, str(error))
            else:
                if request is not None:
                    self.apply(number, request)
            if self.tally.stopped:
                break
            progress.update(done, number)
        self.flush()
        progress.clear()
        return self.tally

    def run_requests(self, requests: Iterable[Request]) -> Tally:
        """Requests already built (``rewardkit demo``), numbered from 1."""
        for number, request in enumerate(requests, start=1):
            self.apply(number, request)
            self.progress.update(number, number)
            if self.tally.stopped:
                break
        self.flush()
        self.progress.clear()
        return self.tally

    def apply(self, number: int, request: Request) -> None:
        """Apply one request, or queue it: ``record`` lines are recorded in batches
        (one transaction each on a SQL store), flushed before any other kind of line so
        that every line still sees the ones before it."""
        if self.keep is not None and not self.keep(request):
            return
        if request.action is not None and not self.strict:
            self._queued.append((number, request))
            if len(self._queued) >= BATCH:
                self.flush()
            return
        self.flush()
        try:
            result: Outcome | RewardkitError = request.call(self.kit)
        except (StoreError, ConcurrencyConflict) as error:
            raise self._store_failed(str(number), error) from None
        except RewardkitError as error:
            result = error
        self._count(number, request, result)

    def flush(self) -> None:
        """Record the queued ``record`` lines, together."""
        queued, self._queued = self._queued, []
        if not queued:
            return
        actions = [request.action for _, request in queued if request.action is not None]
        try:
            results = self.kit.record_many(actions)
        except (StoreError, ConcurrencyConflict) as error:
            raise self._store_failed(f"{queued[0][0]}-{queued[-1][0]}", error) from None
        for (number, request), result in zip(queued, results, strict=True):
            self._count(number, request, result)

    def _store_failed(self, lines: str, error: Exception) -> CommandError:
        self.progress.clear()
        return CommandError(f"{self.source}:{lines}: the store failed: {error}", PROBLEMS)

    def _count(self, number: int, request: Request, result: Outcome | RewardkitError) -> None:
        tally = self.tally
        tally.lines += 1
        if isinstance(result, RewardkitError):
            tally.refused += 1
            tally.reasons[_REASONS.get(type(result).__name__, type(result).__name__)] += 1
            self._note(tally.refused, f"{number}: refused: {one_line(result)}", "refused")
            tally.stopped = self.strict
            return
        if result.replayed:
            tally.replayed += 1
        else:
            tally.applied += 1
        at = request.at
        if tally.first is None or at < tally.first:
            tally.first = at
        if tally.last is None or at > tally.last:
            tally.last = at

    def _malformed(self, number: int, message: str) -> None:
        self.flush()  # the lines before it first, so that messages come in line order
        tally = self.tally
        tally.lines += 1
        tally.malformed += 1
        self._note(tally.malformed, f"{number}: malformed: {one_line(message)}", "malformed")
        tally.stopped = self.strict

    def _note(self, count: int, message: str, what: str) -> None:
        """Say what happened to a line: the first few of each kind, then a count."""
        if self.quiet:
            return
        if count <= SHOWN or self.strict:
            self.progress.note(f"{self.source}:{message}")
        elif count == SHOWN + 1:
            self.progress.note(f"{self.source}: more {what} lines are counted, not shown")
