"""Pending points: awards held for a returns window before they can be spent."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta, tzinfo

import attrs
from dateutil.relativedelta import relativedelta

from .expiry import after_wall_clock, term, term_text

__all__ = ["Hold", "pending_for", "until_confirmed"]


@attrs.frozen(repr=False)
class Hold:
    """Hold awards for ``span`` after the action (``None``: until the host confirms)."""

    span: relativedelta | None = attrs.field(eq=False)
    key: tuple[int, ...] | None = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        key = None
        if self.span is not None:
            s = self.span
            key = (s.years, s.months, s.days, s.hours, s.minutes, s.seconds)
        object.__setattr__(self, "key", key)

    def release_at(self, earned_at: datetime, tz: tzinfo) -> datetime | None:
        return None if self.span is None else after_wall_clock(earned_at, self.span, tz)

    def __repr__(self) -> str:
        if self.span is None:
            return "<pending until confirmed>"
        return f"<pending for {term_text(self.span)}>"


def pending_for(length: relativedelta | timedelta | Mapping[str, int]) -> Hold:
    """Hold awards for ``length`` (a returns window), or until confirmed if sooner."""
    return Hold(term(length, path="pending"))


until_confirmed = Hold(None)
"""Hold awards until the host calls ``Rewards.confirm(action_id)``."""
