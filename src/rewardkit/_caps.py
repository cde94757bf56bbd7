"""Cap accounting for one evaluation: how much each rule may still award a member."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from .model import CapUsage
from .rules import Cap
from .time import period_key

__all__ = ["Usage"]

_KEPT_PERIODS = 3  # cap usage kept per rule and period kind (older periods are dropped)


class Usage:
    """A working copy of a member's cap usage at one local instant."""

    def __init__(self, usage: Mapping[str, tuple[CapUsage, ...]], local: datetime) -> None:
        self._given = usage
        self._usage: Mapping[str, tuple[CapUsage, ...]] = usage  # copied on first change
        self._local = local
        self._changed = False

    def _current(self, rule: str, item: Cap) -> tuple[str, CapUsage]:
        key = f"{rule}@{item.per}"
        period = "lifetime" if item.per == "lifetime" else period_key(self._local, item.per)
        for usage in self._usage.get(key, ()):
            if usage.period == period:
                return key, usage
        return key, CapUsage(period)

    def room(self, rule: str, caps: Sequence[Cap]) -> int | None:
        """Points the rule may still award now (``None``: unlimited)."""
        room: int | None = None
        for item in caps:
            _, usage = self._current(rule, item)
            if item.awards is not None and usage.awards >= item.awards:
                return 0
            if item.points is not None:
                left = max(item.points - usage.points, 0)
                room = left if room is None else min(room, left)
        return room

    def record(self, rule: str, caps: Sequence[Cap], points: int) -> None:
        for item in caps:
            key, usage = self._current(rule, item)
            updated = CapUsage(usage.period, usage.points + points, usage.awards + 1)
            others = [u for u in self._usage.get(key, ()) if u.period != usage.period]
            kept = sorted([*others, updated], key=lambda u: u.period)[-_KEPT_PERIODS:]
            if not self._changed:
                self._usage = dict(self._usage)
                self._changed = True
            self._usage[key] = tuple(kept)  # type: ignore[index]

    def grant(self, rule: str, caps: Sequence[Cap], points: int) -> tuple[int, bool]:
        """Truncate ``points`` to what the caps allow, record it, and say if it was capped."""
        if not caps or points <= 0:
            return points, False
        room = self.room(rule, caps)
        granted = points if room is None else min(points, room)
        if granted > 0:
            self.record(rule, caps, granted)
        return granted, granted < points

    def frozen(self) -> Mapping[str, tuple[CapUsage, ...]]:
        """The usage after this evaluation (the one given, when nothing was recorded)."""
        return self._usage if self._changed else self._given
