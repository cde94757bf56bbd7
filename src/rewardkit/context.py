"""The one evaluation context every condition and rule receives."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, tzinfo
from types import MappingProxyType

import attrs

from .model import Action, MemberState

_NO_SEGMENTS: Mapping[str, Callable[[Context], object]] = MappingProxyType({})

__all__ = ["Context"]


@attrs.frozen
class Context:
    """An action, the member as it was before the action, and the programme's clock.

    ``local`` is the action's instant in the programme's time zone: weekdays, times of
    day, dates and cap periods are all read from it.  ``segments`` are the programme's
    member segments (``Program.all_segments``: named ones, and RFM ones with a model),
    for ``in_segment`` conditions.
    """

    action: Action
    member: MemberState
    tz: tzinfo
    local: datetime
    segments: Mapping[str, Callable[[Context], object]] = _NO_SEGMENTS

    @classmethod
    def of(
        cls,
        action: Action,
        member: MemberState,
        tz: tzinfo,
        segments: Mapping[str, Callable[[Context], object]] = _NO_SEGMENTS,
    ) -> Context:
        local = action.at.astimezone(tz)
        return cls(action, member, tz, local, segments)
