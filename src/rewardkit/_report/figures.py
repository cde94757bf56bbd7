"""Figures in the page: each carries the ``Insights`` field it shows and its value.

Every figure goes through :func:`figure`, which records the path of the field
(``data-figure``) and its exact value (``data-value``) beside the formatted text, so a
test can hold the page to the analytics.
"""

from __future__ import annotations

from decimal import Decimal

from ..analytics import Insights
from . import fmt
from .fmt import esc

__all__ = ["Figures", "figure", "panel", "plural"]


def figure(path: str, value: object, text: str) -> str:
    """A figure: formatted text, the exact value and the Insights field it comes from."""
    return f'<span data-figure="{esc(path)}" data-value="{esc(value)}">{esc(text)}</span>'


def plural(count: int, word: str) -> str:
    return word if count == 1 else f"{word}s"


def panel(ident: str, title: str, intro: str, body: str) -> str:
    return (
        f'<section class="panel" id="{esc(ident)}"><h2>{esc(title)}</h2>'
        f'<p class="intro">{intro}</p>{body}</section>'
    )


class Figures:
    """What every section needs: the insights and the figure writers."""

    def __init__(self, insights: Insights, symbol: str) -> None:
        self.i = insights
        self.symbol = symbol

    def money(self, path: str, value: Decimal) -> str:
        return figure(path, value, fmt.money(value, self.symbol))

    def count(self, path: str, value: int) -> str:
        return figure(path, value, fmt.integer(value))

    def pct(self, path: str, value: Decimal | None) -> str:
        return figure(path, value, fmt.percent(value))
