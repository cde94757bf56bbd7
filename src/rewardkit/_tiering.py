"""Driving a tier ladder through time: upgrades at once, downgrades at reviews."""

from __future__ import annotations

import bisect
from datetime import UTC, datetime
from decimal import Decimal

from ._book import TIME, Book
from ._metric_totals import after_append
from .events import TierGraceStarted
from .model import Contribution, TierStatus
from .program import Program
from .tiers import contribution_at

__all__ = ["contribute", "qualify", "review"]


def contribute(
    program: Program, book: Book, at: datetime, value: Decimal, *, dated: datetime | None = None
) -> None:
    """Add an action's (or a release's, or a reversal's) contribution to the metric at
    ``at`` (``dated``: the instant it counts from, when not ``at``)."""
    ladder = program.tiers
    if ladder is None or not value:
        return
    item = Contribution(at if dated is None else dated, value)
    metric = book.metric
    if book.metric_sorted:  # slot it in: the metric stays in time order, as pruning keeps it
        index = bisect.bisect_right(metric, item.at, key=contribution_at)
        metric.insert(index, item)
        # Totals survive an addition at the end; one slotted in before changes the rest.
        book.totals = after_append(book.totals, value) if index == len(metric) - 1 else None
        kept = ladder.prune_sorted(metric, at, program.tz)
    else:
        metric.append(item)
        kept = ladder.prune(metric, at, program.tz)
        book.metric_sorted = True
        book.totals = None
    dropped = len(metric) - len(kept)
    if book.totals is not None and dropped:
        # Pruned from the start: as many totals go (a lifetime window folds instead).
        suffix = not kept or kept[0] is metric[dropped]
        book.totals = book.totals[dropped:] if suffix else None
    book.metric = list(kept)


def qualify(program: Program, book: Book, at: datetime, cause: str) -> None:
    """Upgrade at once when the metric reaches a higher level; a member on grace who
    qualifies again for their level leaves grace with a fresh review."""
    ladder = program.tiers
    if ladder is None:
        return
    target = ladder.level_for(
        ladder.value(
            book.metric, at, program.tz, ordered=book.metric_sorted, totals=book.metric_totals()
        )
    )
    current = book.tier
    if target is None:
        return
    if current is None or ladder.rank(target.id) > ladder.rank(current.level):
        review_at = ladder.keep.first_review(at, book.tier_activity, program.tz)
        book.change_tier(
            TierStatus(target.id, at, review_at), at, cause, "qualified", program.currency
        )
    elif current.grace_until is not None and ladder.rank(target.id) >= ladder.rank(current.level):
        review_at = ladder.keep.first_review(at, book.tier_activity, program.tz)
        book.tier = TierStatus(current.level, current.since, review_at)


def retire_unknown(program: Program, book: Book, at: datetime) -> bool:
    """A level the programme no longer has (renamed or removed since the member reached
    it, or the programme has no tiers any more) is dropped at ``at``, and the member
    placed again by the metric, at once.  Whether it was."""
    ladder = program.tiers
    current = book.tier
    if current is None or (ladder is not None and ladder.has_level(current.level)):
        return False
    reason = f"level {current.level!r} is no longer in the programme"
    book.change_tier(None, at, TIME, reason, program.currency)
    qualify(program, book, at, TIME)
    return True


def touch(program: Program, book: Book, at: datetime) -> None:
    """A qualifying action happened: a level kept while active is pushed forward."""
    ladder = program.tiers
    book.tier_activity = at if book.tier_activity is None else max(book.tier_activity, at)
    current = book.tier
    if ladder is None or current is None or not ladder.keep.uses_activity:
        return
    if current.grace_until is None:
        review_at = ladder.keep.first_review(current.since, book.tier_activity, program.tz)
        book.tier = TierStatus(current.level, current.since, review_at)


def review(program: Program, book: Book, at: datetime) -> None:
    """The member's review (or grace) instant has come: keep, grace, or drop."""
    if retire_unknown(program, book, at):  # a level gone from the programme: no review
        return
    ladder = program.tiers
    current = book.tier
    if ladder is None or current is None:
        return
    value = ladder.value_at_review(
        book.metric, at, program.tz, ordered=book.metric_sorted, totals=book.metric_totals()
    )
    met = ladder.level_for(value)
    if ladder.keep.uses_activity and met is not None:
        # The member has been inactive for the keep's whole length: the level lapses
        # whatever the metric says, down to the best level below it still met.
        below = [
            lvl for lvl in ladder.levels[: ladder.rank(current.level)] if value >= lvl.threshold
        ]
        met = below[-1] if below else None
    met_rank = ladder.rank(met.id if met else None)
    if met_rank >= ladder.rank(current.level):
        review_at = ladder.keep.next_review(at, book.tier_activity, program.tz)
        book.tier = TierStatus(current.level, current.since, review_at)
        return
    if ladder.grace is not None and current.grace_until is None:
        from .expiry import after_wall_clock

        grace_until = after_wall_clock(at, ladder.grace, program.tz)
        book.tier = TierStatus(current.level, current.since, None, grace_until)
        book.events.append(
            TierGraceStarted(book.state.id, at, TIME, current.level, grace_until.astimezone(UTC))
        )
        return
    reason = "grace" if current.grace_until is not None else "review"
    if ladder.keep.uses_activity:
        reason = "inactive"
    if met is None:
        book.change_tier(None, at, TIME, reason, program.currency)
    else:
        # The lower level was earned in the window just judged: it is held like a
        # level kept at this review (for a calendar keep: this period, not the next too).
        review_at = ladder.keep.next_review(at, book.tier_activity, program.tz)
        book.change_tier(TierStatus(met.id, at, review_at), at, TIME, reason, program.currency)


def due(book: Book) -> datetime | None:
    current = book.tier
    if current is None:
        return None
    return current.grace_until if current.grace_until is not None else current.review_at
