"""The one evaluation context every condition and rule receives."""

from __future__ import annotations

from datetime import datetime, tzinfo

import attrs

from .model import Action, MemberState

__all__ = ["Context"]


@attrs.frozen
class Context:
    """An action, the member as it was before the action, and the programme's clock.

    ``local`` is the action's instant in the programme's time zone: weekdays, times of
    day, dates and cap periods are all read from it.
    """

    action: Action
    member: MemberState
    tz: tzinfo
    local: datetime

    @classmethod
    def of(cls, action: Action, member: MemberState, tz: tzinfo) -> Context:
        return cls(action=action, member=member, tz=tz, local=action.at.astimezone(tz))
