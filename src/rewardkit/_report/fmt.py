"""How the report writes numbers, money, shares, spans and instants.

Every figure is written by one of these functions from a field of
:class:`rewardkit.analytics.Insights`; a test reads the report back and checks each
against the same function applied to the same field.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from html import escape

__all__ = ["days", "esc", "integer", "money", "percent", "ratio", "when"]


def esc(text: object) -> str:
    """HTML-escaped text, quotes included: safe in element content and attributes."""
    return escape(str(text), quote=True)


def integer(value: int) -> str:
    return f"{value:,}"


def money(value: Decimal, symbol: str = "") -> str:
    amount = value.quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)
    sign = "-" if amount < 0 else ""
    return f"{sign}{symbol}{abs(amount):,.2f}"


def percent(value: Decimal | None, places: int = 1) -> str:
    if value is None:
        return "n/a"
    quantum = Decimal(1).scaleb(-places)
    return f"{(value * 100).quantize(quantum, rounding=ROUND_HALF_EVEN)}%"


def ratio(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.1'), rounding=ROUND_HALF_EVEN)}×"


def days(span: timedelta) -> str:
    """``"6.5 days"``, ``"1 day"``, ``"5 hours"``."""
    if span < timedelta(days=1):
        hours = round(span.total_seconds() / 3600)
        return f"{hours} hour" + ("" if hours == 1 else "s")
    count = Decimal(span.total_seconds() / 86400).quantize(Decimal("0.1"))
    count = count.to_integral_value() if count == count.to_integral_value() else count
    return f"{count} day" + ("" if count == 1 else "s")


def when(instant: datetime) -> str:
    """``"Mon 2 Mar 2026, 09:00"`` (in the instant's own zone)."""
    return f"{instant:%a} {instant.day} {instant:%b %Y, %H:%M}"
