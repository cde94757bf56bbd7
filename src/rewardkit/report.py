"""The programme manager's report: one self-contained HTML file.

>>> from rewardkit.analytics import analyse
>>> insights = analyse(kit.program, kit.store, at=now)
>>> write_report("report.html", insights, currency_symbol="€")

The page has no script and loads nothing: styles and SVG charts are inline, so it opens
offline, reads without JavaScript, prints (``@media print``) and can be mailed as is.
Every figure is rendered from ``insights``; user strings (member, rule, reward and
programme names) are escaped.
"""

from __future__ import annotations

import os
from pathlib import Path

from ._report.page import render
from .analytics import Insights

__all__ = ["render_report", "write_report"]


def render_report(
    insights: Insights, *, currency_symbol: str = "", title: str | None = None
) -> str:
    """The report as an HTML document (a string).

    ``currency_symbol`` prefixes money figures (``"€"``); ``title`` defaults to the
    programme's name."""
    if not isinstance(insights, Insights):
        raise TypeError(f"expected rewardkit.analytics.Insights, got {insights!r}")
    return render(insights, currency_symbol=currency_symbol, title=title)


def write_report(
    path: str | os.PathLike[str],
    insights: Insights,
    *,
    currency_symbol: str = "",
    title: str | None = None,
) -> Path:
    """Write the report to ``path`` (UTF-8), replacing it atomically; returns the path."""
    target = Path(path)
    text = render_report(insights, currency_symbol=currency_symbol, title=title)
    partial = target.with_name(f".{target.name}.partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(target)
    return target
