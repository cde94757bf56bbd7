"""The facade's leaderboard reads (a mixin of :class:`rewardkit.Rewards`)."""

from __future__ import annotations

from datetime import datetime

from ._values import identifier
from .leaderboards import Leaderboard, Standing
from .program import Program
from .storage import Store

__all__ = ["BoardCalls"]


class BoardCalls:
    """Top N, a member's rank, and the members around them."""

    program: Program
    store: Store

    def _when(self, at: datetime | None) -> datetime:
        raise NotImplementedError

    def _where(
        self, board: str, at: datetime | None, period: str | None, group: str | None
    ) -> tuple[Leaderboard, str, str]:
        item = self.program.leaderboard(board)
        key = period if period is not None else item.period(self._when(at), self.program.tz)
        if item.group is None and group:
            raise ValueError(f"leaderboard {item.id!r} has no groups; group={group!r} given")
        return item, key, group or ""

    def leaderboard(
        self,
        board: str,
        *,
        at: datetime | None = None,
        period: str | None = None,
        group: str | None = None,
        limit: int = 10,
        offset: int = 0,
    ) -> list[Standing]:
        """The best ``limit`` members (from the ``offset``-th) of the board's period
        containing ``at`` (default: now), or of the period key given (``"2026-W10"``)."""
        item, key, grp = self._where(board, at, period, group)
        rows = self.store.top(item.id, key, grp, limit, offset)
        return [
            Standing(offset + i + 1, member, item.units(score))
            for i, (member, score) in enumerate(rows)
        ]

    def rank(
        self,
        board: str,
        member: str,
        *,
        at: datetime | None = None,
        period: str | None = None,
        group: str | None = None,
    ) -> Standing | None:
        """A member's place on the board (``None`` if they have no score there)."""
        item, key, grp = self._where(board, at, period, group)
        found = self.store.rank(item.id, key, grp, identifier(member, "member"))
        return None if found is None else Standing(found[0], member, item.units(found[1]))

    def around(
        self,
        board: str,
        member: str,
        *,
        distance: int = 2,
        at: datetime | None = None,
        period: str | None = None,
        group: str | None = None,
    ) -> list[Standing]:
        """The member and up to ``distance`` members either side of them."""
        mine = self.rank(board, member, at=at, period=period, group=group)
        if mine is None:
            return []
        start = max(mine.rank - 1 - distance, 0)
        return self.leaderboard(
            board, at=at, period=period, group=group, limit=2 * distance + 1, offset=start
        )
