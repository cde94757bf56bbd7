"""Helpers shared by the time tests (expiry, pending points, tiers): exact instants in a
zone, the smallest step of time, and the ledger identity checked at an instant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import rewardkit as rk

MADRID = ZoneInfo("Europe/Madrid")
NEW_YORK = ZoneInfo("America/New_York")
TICK = timedelta(microseconds=1)  # the instant just before another: ``expiry - TICK``


def local(text: str, tz: ZoneInfo = MADRID, *, fold: int = 0) -> datetime:
    """The instant clocks in ``tz`` read ``text`` (``fold=1``: its second occurrence when
    clocks turn back), in UTC so that ``local(...) - TICK`` is exact even next to a DST
    change (aware arithmetic within one zone is wall-clock arithmetic)."""
    return datetime.fromisoformat(text).replace(tzinfo=tz, fold=fold).astimezone(UTC)


def ledger_explains_balance(kit: rk.Rewards, member: str, when: datetime) -> None:
    """balance = signed sum of the ledger at ``when``; every entry's running balance too."""
    running: dict[str, int] = {}
    for entry in kit.history(member, at=when):
        running[entry.currency] = running.get(entry.currency, 0) + entry.points
        assert entry.balance == running[entry.currency] >= 0, entry
    assert kit.member(member, at=when).balance == running.get(kit.program.currency, 0)
