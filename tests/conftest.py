"""Shared fixtures: a café programme and a fixed clock."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

import rewardkit as rk

MADRID = ZoneInfo("Europe/Madrid")


def at(text: str) -> datetime:
    """A Madrid wall-clock instant: ``at("2026-03-07 09:30")``."""
    return datetime.fromisoformat(text).replace(tzinfo=MADRID)


def cafe_program(**overrides: object) -> rk.Program:
    settings: dict[str, object] = {
        "name": "Café Aroma",
        "timezone": "Europe/Madrid",
        "rules": (
            rk.per_amount("base", on="purchase", per="1.00", points=1),
            rk.fixed("visit", on="visit", points=1, caps=rk.cap(per="day", awards=1)),
            rk.first_time("welcome", on="purchase", points=50),
            rk.multiplier(
                "weekend-double", factor=2, targets=["base"], when=rk.weekday("sat", "sun")
            ),
        ),
        "rewards": (
            rk.reward("free-coffee", cost=100),
            rk.reward("mug", cost=300, stock=2),
        ),
    }
    settings.update(overrides)
    return rk.Program(**settings)  # type: ignore[arg-type]


@pytest.fixture
def program() -> rk.Program:
    return cafe_program()


@pytest.fixture
def kit(program: rk.Program) -> rk.Rewards:
    return rk.Rewards(program, store="memory://")
