"""Hypothesis strategies for what members do: actions, members, instants, bad input.

Every strategy reads the programme it is given (see :func:`probe`): actions use its
own kinds, the attribute names and values its conditions test, amounts at and one cent
around its thresholds, and instants on its calendar edges in its time zone (weekend
and month boundaries, a happy hour's first and last microsecond, DST days, raffle and
reward windows).  Without a programme they draw plain, valid actions::

    from hypothesis import given
    from rewardkit.testing.activity import actions

    @given(actions(program=cafe))
    def test_points_are_never_negative(stream):
        kit = rk.Rewards(cafe)
        for action in stream:
            assert kit.record(action).points >= 0

This module needs hypothesis (the ``testing`` extra); rewardkit itself never imports it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from functools import lru_cache
from typing import Any

from hypothesis import strategies as st

from .._values import AttributeValue
from ..model import Action
from ..program import Program
from ..time import resolve_local
from ._probe import Probe, probe

__all__ = [
    "DEFAULT_MEMBERS",
    "DEFAULT_START",
    "action",
    "actions",
    "instants",
    "invalid_actions",
    "members",
    "probe",
]

DEFAULT_MEMBERS = ("ana", "bob", "zoé")
"""The member ids actions use by default: few, so that members act more than once."""

DEFAULT_START = datetime(2026, 3, 1)
"""The default first instant, a wall-clock time in the programme's zone: the next 60
days hold the spring DST change of Europe and North America, a month end and weekends."""

_TICK = timedelta(microseconds=1)
_KINDS = ("purchase", "visit")  # for a programme whose rules fire for any kind
_PLAIN = Program(name="plain", rules=())


@lru_cache(maxsize=64)
def _probe(program: Program) -> Probe:
    return probe(program)


def _probe_of(program: Program | None) -> Probe:
    try:
        return _probe(program if program is not None else _PLAIN)
    except TypeError:  # an unhashable programme (a user's mutable policy inside)
        return probe(program if program is not None else _PLAIN)


def _first(program: Program | None, start: datetime | None) -> datetime:
    tz = program.tz if program is not None else UTC
    if start is None:
        return resolve_local(DEFAULT_START, tz).astimezone(UTC)
    if start.tzinfo is None:
        return resolve_local(start, tz).astimezone(UTC)
    return start.astimezone(UTC)


# ---------------------------------------------------------------- members


def members(pool: Sequence[str] | None = None) -> st.SearchStrategy[str]:
    """Member ids: drawn from ``pool`` if given, else mostly :data:`DEFAULT_MEMBERS`
    and sometimes any valid id (printable, not blank, up to 200 characters)."""
    if pool is not None:
        if not pool:
            raise ValueError("members(pool=...) needs at least one member id")
        return st.sampled_from(tuple(pool))
    return st.one_of(st.sampled_from(DEFAULT_MEMBERS), _valid_ids())


def _ids() -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(("a0", "order-1001")), _valid_ids())


@lru_cache(maxsize=1)
def _valid_ids() -> st.SearchStrategy[str]:
    printable = st.characters(exclude_categories=("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp", "Zs"))
    return st.text(printable, min_size=1, max_size=200)


# ---------------------------------------------------------------- instants


@st.composite
def _instant(draw: st.DrawFn, found: Probe, first: datetime, last: datetime) -> datetime:
    """An instant in ``[first, last]``: uniform, or snapped to a calendar edge (to the
    microsecond before it, on it, or after it)."""
    span = int((last - first) / _TICK)
    moment = first + draw(st.integers(0, max(span, 0))) * _TICK
    if draw(st.booleans()):
        edges = [e for e in found.edges_after(moment) if e <= last + _TICK]
        if edges:
            edge = draw(st.sampled_from(edges))
            moment = edge + draw(st.sampled_from((0, -1, 1))) * _TICK
    return min(max(moment, first), last).astimezone(found.tz)


def instants(
    program: Program | None = None, *, start: datetime | None = None, days: int = 60
) -> st.SearchStrategy[datetime]:
    """Aware instants in the programme's zone within ``days`` of ``start`` (default
    :data:`DEFAULT_START`; a naive ``start`` is read on the programme's wall clock),
    half of them on a calendar edge of the programme or one microsecond either side."""
    if days <= 0:
        raise ValueError(f"days must be positive, got {days!r}")
    first = _first(program, start)
    return _instant(_probe_of(program), first, first + timedelta(days=days) - _TICK)


# ---------------------------------------------------------------- one action


def _any_value() -> st.SearchStrategy[AttributeValue]:
    scalar: st.SearchStrategy[AttributeValue] = st.one_of(
        st.text(max_size=6),
        st.integers(-1000, 1000),
        st.booleans(),
        st.none(),
        st.decimals(min_value=-100, max_value=100, places=2),
    )
    return st.one_of(scalar, st.lists(scalar, max_size=3).map(tuple))


def _attributes(found: Probe) -> st.SearchStrategy[dict[str, AttributeValue]]:
    known = {
        name: st.one_of(st.sampled_from(values), _any_value()) if values else _any_value()
        for name, values in found.attributes.items()
    }
    extra: st.SearchStrategy[dict[str, AttributeValue]] = st.one_of(
        st.just({}), st.dictionaries(st.sampled_from(("note", "channel")), _any_value(), max_size=1)
    )
    return st.tuples(st.fixed_dictionaries({}, optional=known), extra).map(
        lambda drawn: {**drawn[1], **drawn[0]}
    )


def _amounts(found: Probe) -> st.SearchStrategy[Decimal | None]:
    plain = st.decimals(min_value=0, max_value=500, places=2)
    edges = st.sampled_from(found.amounts) if found.amounts else plain
    return st.one_of(st.none(), plain, edges)


def _kinds(found: Probe, kinds: Sequence[str] | None) -> st.SearchStrategy[str]:
    if kinds is not None:
        if not kinds:
            raise ValueError("kinds=... needs at least one action kind")
        return st.sampled_from(tuple(kinds))
    known = found.kinds or _KINDS
    if found.any_kind and found.kinds:
        return st.one_of(st.sampled_from(known), st.sampled_from(_KINDS))
    return st.sampled_from(known)


def action(
    program: Program | None = None,
    *,
    id: str | st.SearchStrategy[str] | None = None,
    members: Sequence[str] | st.SearchStrategy[str] | None = None,
    kinds: Sequence[str] | None = None,
    at: datetime | st.SearchStrategy[datetime] | None = None,
) -> st.SearchStrategy[Action]:
    """One valid action for ``program``: its kinds, attributes and amount edges.

    ``id`` and ``at`` are values or strategies (defaults: any valid id; :func:`instants`).
    """
    found = _probe_of(program)
    when: st.SearchStrategy[datetime]
    if isinstance(at, st.SearchStrategy):
        when = at
    else:
        when = instants(program) if at is None else st.just(at)
    return st.builds(
        Action,
        id=_ids() if id is None else id if isinstance(id, st.SearchStrategy) else st.just(id),
        member=_member_strategy(members),
        kind=_kinds(found, kinds),
        at=when,
        amount=_amounts(found),
        attributes=_attributes(found),
    )


def _member_strategy(
    given: Sequence[str] | st.SearchStrategy[str] | None,
) -> st.SearchStrategy[str]:
    if isinstance(given, st.SearchStrategy):
        return given
    return st.sampled_from(DEFAULT_MEMBERS if given is None else tuple(given))


# ---------------------------------------------------------------- streams


def actions(
    program: Program | None = None,
    *,
    members: Sequence[str] | st.SearchStrategy[str] | None = None,
    kinds: Sequence[str] | None = None,
    start: datetime | None = None,
    days: int = 60,
    min_size: int = 0,
    max_size: int = 25,
) -> st.SearchStrategy[list[Action]]:
    """Valid streams of actions, in time order (ties allowed), with unique ids
    (``a0``, ``a1``...), for ``program``'s kinds, attributes, amounts and calendar
    edges, within ``days`` of ``start``.  ``members``: ids or a strategy of ids
    (default :data:`DEFAULT_MEMBERS`)."""
    when = instants(program, start=start, days=days)
    return st.lists(when, min_size=min_size, max_size=max_size).flatmap(
        lambda moments: _stream(program, members, kinds, moments)
    )


def _stream(
    program: Program | None,
    members: Sequence[str] | st.SearchStrategy[str] | None,
    kinds: Sequence[str] | None,
    moments: list[datetime],
) -> st.SearchStrategy[list[Action]]:
    ordered = sorted(moments, key=lambda moment: moment.astimezone(UTC))
    return st.tuples(
        *(
            action(program, id=f"a{i}", members=members, kinds=kinds, at=moment)
            for i, moment in enumerate(ordered)
        )
    ).map(list)


# ---------------------------------------------------------------- bad input


class _NoOffset(tzinfo):
    """A tzinfo that does not know its offset: a datetime with it is still naive."""

    def utcoffset(self, dt: datetime | None) -> timedelta | None:
        return None

    def dst(self, dt: datetime | None) -> timedelta | None:
        return None

    def tzname(self, dt: datetime | None) -> str | None:
        return None

    def __repr__(self) -> str:
        return "_NoOffset()"


def _valid_fields() -> dict[str, st.SearchStrategy[Any]]:
    return {
        "id": st.sampled_from(("a0", "order-1001")),
        "member": st.sampled_from(DEFAULT_MEMBERS),
        "kind": st.sampled_from(_KINDS),
        "at": st.just(datetime(2026, 3, 7, 9, 30, tzinfo=UTC)),
        "amount": st.one_of(st.none(), st.decimals(min_value=0, max_value=100, places=2)),
        "attributes": st.just({"category": "pastry"}),
    }


def _bad_ids() -> st.SearchStrategy[object]:
    return st.one_of(
        st.sampled_from(("", " ", "\t", "a\x00b", "line\nbreak", "x" * 201)),
        st.sampled_from((None, 7, b"bytes", ("a",))),
    )


def _bad_instants() -> st.SearchStrategy[object]:
    naive = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1))
    return st.one_of(
        naive,
        naive.map(lambda moment: moment.replace(tzinfo=_NoOffset())),
        st.sampled_from(("2026-03-07T09:30:00+00:00", date(2026, 3, 7), time(9, 30), 0, None)),
    )


def _bad_amounts() -> st.SearchStrategy[object]:
    return st.one_of(
        st.decimals(max_value=Decimal("-0.01"), places=2, allow_nan=False),
        st.floats(max_value=-1e-9, allow_nan=False),
        st.sampled_from(
            (
                Decimal("NaN"),
                Decimal("sNaN"),
                Decimal("Infinity"),
                Decimal("-Infinity"),
                math.nan,
                math.inf,
                -math.inf,
                "twelve",
                "",
                True,
                False,
                [12],
                object(),
            )
        ),
    )


def _bad_attributes() -> st.SearchStrategy[object]:
    unstorable = st.sampled_from(
        (
            math.nan,
            math.inf,
            Decimal("NaN"),
            Decimal("-Infinity"),
            b"bytes",
            {"nested": 1},
            {1, 2},
            datetime(2026, 1, 1, tzinfo=UTC),
            object(),
            [object()],
            (math.nan,),
        )
    )
    return st.one_of(
        unstorable.map(lambda value: {"category": value}),
        st.sampled_from(({"": 1}, {7: "seven"}, {None: 1}, ["category", "pastry"], "pastry")),
    )


_BAD: dict[str, Any] = {
    "id": _bad_ids,
    "member": _bad_ids,
    "kind": _bad_ids,
    "at": _bad_instants,
    "amount": _bad_amounts,
    "attributes": _bad_attributes,
}


@st.composite
def invalid_actions(draw: st.DrawFn) -> dict[str, Any]:
    """Keyword arguments for :class:`~rewardkit.Action` with exactly one bad field (a
    naive or offset-less datetime, a negative, NaN or infinite amount, an empty or
    unprintable id, an attribute value no store can hold...): ``Action(**kwargs)`` must
    raise :class:`~rewardkit.InvalidAction`."""
    fields = {name: draw(strategy) for name, strategy in _valid_fields().items()}
    bad = draw(st.sampled_from(sorted(_BAD)))
    fields[bad] = draw(_BAD[bad]())
    return fields
