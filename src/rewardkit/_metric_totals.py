"""Running totals of a member's tier metric, so that the metric over a window is one
subtraction, not a sum over every contribution inside it.

A daily customer's 12-month window holds a year of contributions (365 and more), and
the engine reads the metric at least once per qualifying action: summed each time, that
is about 60 ns per contribution, the one cost of ``record`` that grew with a member's
activity besides the bytes written.  ``totals[i]`` is the sum of the first ``i``
contributions' values (``totals[0]`` is 0), so the window ``metric[low:high]`` sums to
``totals[high] - totals[low]``.  Totals survive the engine's usual changes cheaply:

* a contribution added at the end adds one total;
* pruning the window's start drops as many totals from the front (a difference of two
  totals does not depend on what came before them);
* anything else (a contribution slotted in before the last, a lifetime window folded
  into one) drops them, and they are summed again when next needed.

The totals are only used where the value is compared (a level's threshold), never where
it is shown: the difference of two totals is the same number as the sum, but may carry
more decimal places (``Decimal("10.00")`` for ``Decimal("10.0")``).  They are exact or
absent: a total that the decimal context would round is never kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Context, Decimal, Inexact, InvalidOperation

from .model import Contribution

__all__ = ["TOTALS_FROM", "Totals", "after_append", "running_totals", "window_total"]

TOTALS_FROM = 32
"""A metric shorter than this is summed each time: a few additions cost less than
keeping totals (memory for every state the store keeps decoded)."""

Totals = tuple[Decimal, ...]

_EXACT = Context(prec=28, traps=[Inexact, InvalidOperation])  # the default precision


def running_totals(metric: Sequence[Contribution]) -> Totals | None:
    """The running totals of ``metric`` (``None``: it is shorter than
    :data:`TOTALS_FROM`, or a total would not be exact)."""
    if len(metric) < TOTALS_FROM:
        return None
    add = _EXACT.add
    total = Decimal(0)
    totals = [total]
    try:
        for contribution in metric:
            total = add(total, contribution.value)
            totals.append(total)
    except (Inexact, InvalidOperation):
        return None
    return tuple(totals)


def after_append(totals: Totals | None, value: Decimal) -> Totals | None:
    """``totals`` with one more contribution of ``value`` at the end."""
    if totals is None:
        return None
    try:
        return (*totals, _EXACT.add(totals[-1], value))
    except (Inexact, InvalidOperation):
        return None


def window_total(totals: Totals, metric: Sequence[Contribution], low: int, high: int) -> Decimal:
    """The sum of ``metric[low:high]``'s values, from ``totals`` (``metric``'s own)."""
    try:
        return _EXACT.subtract(totals[high], totals[low])
    except (Inexact, InvalidOperation):
        return sum((c.value for c in metric[low:high]), Decimal(0))
