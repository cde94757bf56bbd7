"""RFM: recency, frequency and monetary scores, the segments they name, and the
conditions that test them in rules.

One definition serves the analytics (:mod:`rewardkit.analytics` computes a model over a
store and places members with :func:`segment_of`) and the rules (a programme that
declares ``rfm=`` lets ``in_segment("at-risk")`` test it as each action happens).  It
reads only what :class:`~rewardkit.model.MemberState` holds:

- recency: whole days (24 hours) from the member's latest visit to the instant scored
  (a visit is an action of ``RFMModel.kinds``; of any kind when ``None``);
- frequency: the member's visits;
- monetary: the member's spend, net of refunds (``MemberState.spent``, every kind).

A model holds four cut points per measure, the first between scores 1 and 2, the last
between 4 and 5.  A score is 1 + the number of cut points the member beats: strictly
fewer days than ``recency_days[k]`` (so those run from the longest silence down),
strictly more visits than ``frequency[k]``, strictly more spend than ``monetary[k]``
(those run upwards).  The scores then name a segment, first match wins
(:data:`SEGMENT_RULES`).  A member without a visit has no segment.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any, Final, NamedTuple, TypeVar

import attrs

from ._compose import _Condition
from ._values import freeze, number
from .context import Context
from .errors import Problem, ProgramError
from .model import MemberState
from .time import micros

__all__ = [
    "CUT_POINTS",
    "SEGMENT_NAMES",
    "SEGMENT_RULES",
    "Facts",
    "RFMModel",
    "RFMScore",
    "Segment",
    "facts_of",
    "micros",
    "quintile_boundaries",
    "rfm_score",
    "rfm_segments",
    "score_facts",
    "segment_for",
    "segment_of",
    "silent_days",
]

_DAY_US: Final = 86_400_000_000
CUT_POINTS: Final = 4
"""Cut points per measure: scores run from 1 to 5."""

T = TypeVar("T", int, Decimal, timedelta)


class Segment(StrEnum):
    """RFM segments (see :data:`SEGMENT_RULES`)."""

    CHAMPIONS = "champions"
    LOYAL = "loyal"
    POTENTIAL = "potential"
    NEW = "new"
    AT_RISK = "at-risk"
    HIBERNATING = "hibernating"
    LOST = "lost"

    @property
    def label(self) -> str:
        """``"At risk"`` for ``at-risk``."""
        return self.value.replace("-", " ").capitalize()


SEGMENT_NAMES: Final = tuple(segment.value for segment in Segment)
"""The names ``in_segment`` conditions use for RFM segments."""

SEGMENT_RULES: tuple[tuple[Segment, str, str], ...] = (
    (Segment.CHAMPIONS, "R ≥ 4 and F + M ≥ 8", "Recognise them: perks, early access, referrals."),
    (Segment.NEW, "R ≥ 4 and F = 1", "Make the second visit easy: a welcome-back bonus."),
    (Segment.LOYAL, "R ≥ 3 and F + M ≥ 6", "Keep them close: tier benefits, personal thanks."),
    (Segment.POTENTIAL, "R ≥ 3", "Build the habit: a bonus for visiting again this week."),
    (Segment.AT_RISK, "R ≤ 2 and F + M ≥ 6", "Win them back personally, before they go."),
    (Segment.HIBERNATING, "R = 2", "Remind them of their points and the next reward."),
    (Segment.LOST, "R = 1", "A low-cost win-back, or let them go."),
)
"""The segment table, first match wins: (segment, rule on the R, F, M scores, action)."""


@attrs.frozen
class RFMScore:
    recency: int  # 1..5, 5 = most recent
    frequency: int  # 1..5, 5 = most visits
    monetary: int  # 1..5, 5 = most spend
    segment: Segment


# ---------------------------------------------------------------- the model


def _sequence(value: object) -> Any:
    """A list or tuple as a tuple; anything else is kept for the check to report."""
    return tuple(value) if isinstance(value, (list, tuple)) else value


def _amounts(value: object) -> Any:
    items = _sequence(value)
    if not isinstance(items, tuple):
        return items
    parsed: list[object] = []
    for item in items:
        try:
            parsed.append(number(item, ""))
        except ProgramError:
            parsed.append(item)  # reported by the check, as written
    return tuple(parsed)


def _kinds(value: object) -> Any:
    if value is None:
        return None
    if isinstance(value, str):
        return frozenset([value])
    if isinstance(value, (list, tuple, set, frozenset)):
        try:
            return frozenset(value)
        except TypeError:  # an unhashable item: reported by the check
            return tuple(value)
    return value


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _cut_problems(
    name: str, values: object, what: str, *, rising: bool, unit: str = "", order: str
) -> list[Problem]:
    """The problems of one measure's cut points: four values of the right kind, in order."""
    path = f"rfm.{name}"
    if not isinstance(values, tuple) or len(values) != CUT_POINTS:
        shown = list(values) if isinstance(values, tuple) else values
        return [
            Problem(
                path,
                f"expected {CUT_POINTS} cut points (between scores 1|2, 2|3, 3|4 and 4|5), "
                f"got {shown!r}",
            )
        ]
    valid = (lambda v: isinstance(v, Decimal)) if name == "monetary" else _whole
    bad = [
        Problem(f"{path}[{i}]", f"must be {what} >= 0, got {value!r}")
        for i, value in enumerate(values)
        if not valid(value)
    ]
    if bad:
        return bad
    for i in range(1, len(values)):
        before, now = values[i - 1], values[i]
        if (now < before) if rising else (now > before):
            relation = "less" if rising else "longer"
            message = (
                f"{now}{unit} is {relation} than the cut point before it ({before}{unit}): "
                f"list them {order}"
            )
            return [Problem(f"{path}[{i}]", message)]  # the first is enough to see the order
    return []


@attrs.frozen
class RFMModel:
    """Cut points of the RFM scores, computed over a population (by
    :mod:`rewardkit.analytics`) or written by hand, applicable to any member.

    ``recency_days``: four whole numbers of days, the longest silence first (the cut
    between scores 1 and 2) down to the shortest (between 4 and 5).  ``frequency``
    (visits) and ``monetary`` (spend) rise the other way, lowest first.  ``kinds``: the
    action kinds that count as visits (``None``: every kind).  ``members``: how many
    members the cut points were computed over (0: not known, such as a model written by
    hand); it does not change any score.

    Over the population it was computed from, a score equals 1 + floor(5 x (members
    with a worse value) / members): equal values share a score, the lowest their group
    touches.  Every problem is reported at once as a :class:`ProgramError` whose paths
    start with ``rfm.``.
    """

    recency_days: tuple[int, ...] = attrs.field(converter=_sequence)
    frequency: tuple[int, ...] = attrs.field(converter=_sequence)
    monetary: tuple[Decimal, ...] = attrs.field(converter=_amounts)
    kinds: frozenset[str] | None = attrs.field(default=None, converter=_kinds)
    members: int = 0

    def __attrs_post_init__(self) -> None:
        problems = [
            *_cut_problems(
                "recency_days",
                self.recency_days,
                "a whole number of days",
                rising=False,
                unit=" days",
                order="from the longest silence (scores 1|2) down to the shortest (4|5)",
            ),
            *_cut_problems(
                "frequency",
                self.frequency,
                "a whole number of visits",
                rising=True,
                order="from the fewest visits (scores 1|2) up to the most (4|5)",
            ),
            *_cut_problems(
                "monetary",
                self.monetary,
                "an amount",
                rising=True,
                order="from the least spend (scores 1|2) up to the most (4|5)",
            ),
        ]
        kinds = self.kinds
        if kinds is not None:
            if not isinstance(kinds, frozenset):
                problems.append(
                    Problem("rfm.kinds", f"expected one action kind or a list, got {kinds!r}")
                )
            elif not kinds:
                problems.append(Problem("rfm.kinds", "must name at least one action kind"))
            elif any(not isinstance(k, str) or not k.strip() for k in kinds):
                shown = sorted(map(repr, kinds))
                problems.append(
                    Problem("rfm.kinds", f"an action kind must be a non-empty string: {shown}")
                )
        if not _whole(self.members):
            problems.append(
                Problem("rfm.members", f"must be a whole number >= 0, got {self.members!r}")
            )
        if problems:
            raise ProgramError(problems)


# ---------------------------------------------------------------- a member's facts


class Facts(NamedTuple):
    """What the models need to know about a member, read from their state."""

    visits: int  # actions of the counted kinds
    first: int  # microseconds since the epoch of the first action; -1: none
    last: int  # of the latest action of the counted kinds; -1: none
    spent: Decimal


def facts_of(state: MemberState, kinds: frozenset[str] | None = None) -> Facts:
    """A member's visits, first and last visit and spend.  With ``kinds``, visits and
    the last visit count those kinds only; the first visit is the first action of any
    kind (the state does not keep a first instant per kind)."""
    if kinds is None:
        visits = sum(state.kinds.values())
        latest = list(state.activity.values()) or (
            [state.last_activity] if state.last_activity else []
        )
    else:
        visits = sum(n for kind, n in state.kinds.items() if kind in kinds)
        latest = [instant for kind, instant in state.activity.items() if kind in kinds]
    first = -1 if state.first_seen is None or not visits else micros(state.first_seen)
    last = micros(max(latest)) if latest and visits else -1
    return Facts(visits, first, last, state.spent)


def silent_days(last: int, at: int) -> int:
    """Whole days from ``last`` to ``at`` (microseconds since the epoch); 0 when ``at``
    is not after ``last``."""
    return max(at - last, 0) // _DAY_US


# ---------------------------------------------------------------- scores


def quintile_boundaries(ordered: Sequence[T]) -> tuple[T, ...]:
    """The values at positions ceil(k x n / 5) - 1, k = 1..4, of ``ordered`` (worst
    first): a value scores 1 + the number of boundaries it is strictly better than."""
    n = len(ordered)
    return tuple(ordered[-(-k * n // 5) - 1] for k in range(1, 5)) if n else ()


def segment_for(recency: int, frequency: int, monetary: int) -> Segment:
    """The named segment of R, F, M scores (``SEGMENT_RULES``, first match wins)."""
    fm = frequency + monetary
    if recency >= 4 and fm >= 8:
        return Segment.CHAMPIONS
    if recency >= 4 and frequency == 1:
        return Segment.NEW
    if recency >= 3:
        return Segment.LOYAL if fm >= 6 else Segment.POTENTIAL
    if fm >= 6:
        return Segment.AT_RISK
    return Segment.HIBERNATING if recency == 2 else Segment.LOST


def score_facts(facts: Facts, model: RFMModel, at: int) -> RFMScore | None:
    """The scores of a member's facts at ``at`` (microseconds since the epoch)."""
    if facts.visits <= 0 or facts.last < 0:
        return None
    days = silent_days(facts.last, at)
    r = 1 + sum(1 for cut in model.recency_days if days < cut)
    f = 1 + sum(1 for cut in model.frequency if facts.visits > cut)
    m = 1 + sum(1 for cut in model.monetary if facts.spent > cut)
    return RFMScore(r, f, m, segment_for(r, f, m))


def rfm_score(state: MemberState, model: RFMModel, at: datetime) -> RFMScore | None:
    """A member's R, F, M scores and segment at ``at`` against ``model``'s cut points;
    ``None`` for a member without a visit."""
    return score_facts(facts_of(state, model.kinds), model, micros(at))


def segment_of(state: MemberState, model: RFMModel, at: datetime) -> Segment | None:
    """The member's RFM segment at ``at``: what ``in_segment`` tests in a programme
    that declares ``model`` (with the member before the action, at its instant)."""
    score = rfm_score(state, model, at)
    return None if score is None else score.segment


# ---------------------------------------------------------------- in rules


@attrs.frozen(repr=False)
class _RFMSegment(_Condition):
    """The member is in ``segment`` of ``model`` as the action happens (a snapshot of
    the cut points: the condition does no I/O and reads no clock)."""

    model: RFMModel
    segment: Segment

    def __call__(self, ctx: Context, /) -> bool:
        return segment_of(ctx.member, self.model, ctx.action.at) is self.segment

    def _describe(self) -> str:
        return f"member in RFM segment {self.segment.value}"


def rfm_segments(model: RFMModel) -> Mapping[str, _Condition]:
    """Each RFM segment of ``model`` by name, for ``in_segment`` conditions."""
    return freeze({segment.value: _RFMSegment(model, segment) for segment in Segment})
