"""Names that conditions refer to: tier levels (``tier_in``) and segments
(``in_segment``: named segments, and RFM segments when the programme has an RFM model),
checked once the programme knows them both.

Paths are those a programme file writes: ``rules[3].when.segment``,
``badges[0].criterion.when.any[1].tier[0]``, ``segments.lapsed.segment``.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator, Mapping

import attrs

from ._compose import _Condition, walk
from .conditions import _TierIn
from .errors import Problem
from .rfm import SEGMENT_NAMES
from .segments import _InSegment

__all__ = ["no_segment", "no_tier", "reference_problems"]


def _unknown(what: str, name: object, known: Iterable[str], listed: str, none: str) -> str:
    names = sorted(known)
    close = difflib.get_close_matches(name, names, n=1) if isinstance(name, str) else []
    if close:
        return f"no {what} {name!r} (did you mean {close[0]!r}?)"
    return f"no {what} {name!r} ({f'{listed}: ' + ', '.join(names) if names else none})"


def no_tier(level: object, levels: Iterable[str]) -> str:
    """``no tier 'glod' (did you mean 'gold'?)``, else the levels there are."""
    return _unknown("tier", level, levels, "levels", "no tiers defined")


def no_segment(name: object, segments: Iterable[str]) -> str:
    """``no segment 'vpi' (did you mean 'vip'?)``, else the segments there are; an RFM
    segment's name when the programme has no RFM model says so."""
    known = list(segments)
    if name in SEGMENT_NAMES and name not in known:
        return (
            f"no segment {name!r}: {name} is an RFM segment, and the programme declares "
            "no RFM model (Program(rfm=...), or an [rfm] table in a file)"
        )
    return _unknown("segment", name, known, "segments", "no segments defined")


def conditions_of(obj: object, path: str) -> Iterator[tuple[str, _Condition]]:
    """The conditions held by an attrs object's fields (a rule's ``when``)."""
    cls = type(obj)
    if not attrs.has(cls):
        return
    for field in attrs.fields(cls):
        value = getattr(obj, field.name, None)
        if isinstance(value, _Condition):
            yield f"{path}.{field.name}", value


def _named_problems(
    places: Iterable[tuple[str, object]], levels: set[str], segments: Mapping[str, object]
) -> Iterator[Problem]:
    for place, cond in places:
        for path, part in walk(cond, place):
            if isinstance(part, _InSegment) and part.name not in segments:
                yield Problem(f"{path}.segment", no_segment(part.name, segments))
            elif isinstance(part, _TierIn):
                for i, level in enumerate(part.levels):
                    if level not in levels:
                        yield Problem(f"{path}.tier[{i}]", no_tier(level, levels))


def _cycles(segments: Mapping[str, object]) -> Iterator[Problem]:
    """A segment defined through itself (``a`` is ``b``, ``b`` is ``a``) would never
    finish evaluating: a problem for each cycle found, at its first segment by name."""
    refers = {
        name: sorted({p.name for _, p in walk(cond) if isinstance(p, _InSegment)})
        for name, cond in segments.items()
    }
    done: set[str] = set()

    def visit(name: str, trail: list[str]) -> Iterator[Problem]:
        if name in trail:
            cycle = trail[trail.index(name) :]
            first = cycle.index(min(cycle))
            ordered = [*cycle[first:], *cycle[:first], min(cycle)]
            yield Problem(
                f"segments.{ordered[0]}", f"is defined through itself ({' -> '.join(ordered)})"
            )
            return
        if name in done:
            return
        for other in refers.get(name, ()):
            yield from visit(other, [*trail, name])
        done.add(name)

    for name in sorted(refers):
        yield from visit(name, [])


def reference_problems(
    places: Iterable[tuple[str, object]], levels: set[str], segments: Mapping[str, object]
) -> list[Problem]:
    """Every tier level and segment named by the conditions at ``places`` (each
    ``(path, condition)``) that the programme lacks, and every segment cycle."""
    return [*_named_problems(places, levels, segments), *_cycles(segments)]
