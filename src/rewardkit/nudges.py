"""Nudges: what to tell a member now ("only 25 points to your free coffee").

(skeleton: the lead defined NudgeSettings and the signature of ``nudges``; the body
is being written.)
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import attrs
from dateutil.relativedelta import relativedelta

from ._values import freeze

if TYPE_CHECKING:
    from .model import MemberState
    from .program import Program

__all__ = ["Nudge", "NudgeSettings", "nudges"]


def _templates(value: Mapping[str, str]) -> Mapping[str, str]:
    return freeze(value)


def _fields(value: Mapping[str, Any]) -> Mapping[str, Any]:
    return freeze(value)


@attrs.frozen
class NudgeSettings:
    """When each nudge appears, and the templates its message comes from."""

    reward_share: Decimal = Decimal(0)  # show the next reward once this share of it is held
    expiring_within: relativedelta | timedelta = attrs.field(
        default=relativedelta(days=30), eq=False
    )
    tier_risk_within: relativedelta | timedelta = attrs.field(
        default=relativedelta(days=30), eq=False
    )
    next_tier_share: Decimal = Decimal("0.5")
    inactive_after: relativedelta | timedelta | None = attrs.field(
        default=relativedelta(days=30), eq=False
    )
    templates: Mapping[str, str] = attrs.field(factory=dict, converter=_templates, hash=False)


@attrs.frozen
class Nudge:
    """One thing worth telling a member now."""

    kind: str
    key: str
    message: str
    since: datetime
    fields: Mapping[str, Any] = attrs.field(factory=dict, converter=_fields, hash=False)


def nudges(program: Program, state: MemberState, at: datetime) -> tuple[Nudge, ...]:
    """The nudges for ``state`` (already advanced to ``at``) at ``at``."""
    return ()
