"""Segments: conditions on what a member has done so far, for promotions that target
them ("customers who spent 200 or more", "members inactive for 60 days").

Named segments are declared once on the programme (``Program(segments={...})``) and
tested by name with :func:`in_segment`, as are the RFM segments of the programme's RFM
model (``Program(rfm=...)``, see :mod:`rewardkit.rfm`).  Statistics are read from the
member as they were just before the action, at the action's instant.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from decimal import Decimal

import attrs
from dateutil.relativedelta import relativedelta

from ._compose import _Condition
from ._compose import fail as _fail
from ._values import number
from .context import Context
from .expiry import after_wall_clock, term, term_text

__all__ = ["actions_at_least", "in_segment", "inactive_for", "spent_at_least"]


@attrs.frozen(repr=False)
class _SpentAtLeast(_Condition):
    amount: Decimal

    def __call__(self, ctx: Context, /) -> bool:
        return ctx.member.spent >= self.amount

    def _describe(self) -> str:
        return f"member spent >= {self.amount}"


def spent_at_least(amount: object) -> _Condition:
    """The member's total spend so far (refunds deducted) is at least ``amount``."""
    return _SpentAtLeast(number(amount, "amount"))


@attrs.frozen(repr=False)
class _ActionsAtLeast(_Condition):
    count: int
    kind: str | None

    def __call__(self, ctx: Context, /) -> bool:
        kinds = ctx.member.kinds
        done = sum(kinds.values()) if self.kind is None else kinds.get(self.kind, 0)
        return done >= self.count

    def _describe(self) -> str:
        what = "actions" if self.kind is None else f"{self.kind} actions"
        return f"member has >= {self.count} {what}"


def actions_at_least(count: int, kind: str | None = None) -> _Condition:
    """The member had at least ``count`` actions (of ``kind``) before this one."""
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise _fail(("count", f"must be a non-negative integer, got {count!r}"))
    if kind is not None and (not isinstance(kind, str) or not kind.strip()):
        raise _fail(("kind", f"must be a non-empty string, got {kind!r}"))
    return _ActionsAtLeast(count, kind)


@attrs.frozen(repr=False)
class _InactiveFor(_Condition):
    span: relativedelta = attrs.field(eq=False)
    text: str = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "text", term_text(self.span))

    def __call__(self, ctx: Context, /) -> bool:
        last = ctx.member.last_activity
        return last is not None and after_wall_clock(last, self.span, ctx.tz) <= ctx.action.at

    def _describe(self) -> str:
        return f"member inactive for {self.text}"


def inactive_for(span: relativedelta | timedelta | Mapping[str, int]) -> _Condition:
    """The member's previous activity was at least ``span`` before this action (a
    win-back promotion); a member's first action never matches."""
    return _InactiveFor(term(span, path="span"))


@attrs.frozen(repr=False)
class _InSegment(_Condition):
    name: str

    def __call__(self, ctx: Context, /) -> bool:
        segment = ctx.segments.get(self.name)
        return segment is not None and bool(segment(ctx))

    def _describe(self) -> str:
        return f"member in segment {self.name}"


def in_segment(name: str) -> _Condition:
    """The member belongs to the programme's segment ``name`` (checked when the
    programme is built): one of its named segments, or, when it declares an RFM model
    (``Program(rfm=...)``), one of the RFM segments (``"champions"``, ``"at-risk"``...)."""
    if not isinstance(name, str) or not name.strip():
        raise _fail(("name", f"must be a non-empty string, got {name!r}"))
    return _InSegment(str(name))  # a str subclass (an RFM Segment) as its plain text
