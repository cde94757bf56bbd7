"""Charts as inline SVG, drawn by hand: no plotting library, no script, printable.

Each chart is an ``<svg data-chart="NAME" data-series-count="N">`` with one
``<g data-series="KEY">`` per series, a ``<title>`` and a ``<desc>`` for screen
readers.  Geometry uses floats; the figures printed in the page come from the
analytics' Decimals, never from here.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import attrs

from .fmt import esc

__all__ = ["COLORS", "Series", "columns", "hbars", "lines", "pareto"]

COLORS = {
    "issued": "#2e7d6b",
    "redeemed": "#d98e04",
    "expired": "#b5485d",
    "outstanding": "#34506b",
    "spend": "#2e7d6b",
    "points": "#d98e04",
    "members": "#34506b",
}
_AXIS = "#8a8f98"
_GRID = "#e6e8eb"
_TEXT = "#4a5160"
Format = Callable[[float], str]


@attrs.frozen
class Series:
    key: str  # the data-series attribute
    label: str
    values: tuple[float, ...]
    color: str = ""

    @property
    def fill(self) -> str:
        return self.color or COLORS.get(self.key, "#34506b")


def _n(value: float) -> str:
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def nice_ticks(maximum: float, count: int = 4) -> list[float]:
    """0 and round steps up to at least ``maximum``."""
    if maximum <= 0:
        return [0.0, 1.0]
    raw = maximum / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    top = math.ceil(maximum / step - 1e-9) * step
    return [i * step for i in range(round(top / step) + 1)]


def short(value: float) -> str:
    """``"12k"``, ``"1.5M"``, ``"250"``: axis labels."""
    magnitude = abs(value)
    for limit, suffix in ((1e6, "M"), (1e3, "k")):
        if magnitude >= limit:
            text = f"{value / limit:.1f}".removesuffix(".0")
            return f"{text}{suffix}"
    return f"{value:.0f}" if value == int(value) else f"{value:.2f}"


def _open(chart: str, title: str, desc: str, width: int, height: int, count: int) -> list[str]:
    ident = f"chart-{esc(chart)}"
    return [
        f'<svg class="chart" data-chart="{esc(chart)}" data-series-count="{count}" '
        f'viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-labelledby="{ident}-title {ident}-desc" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{ident}-title">{esc(title)}</title>',
        f'<desc id="{ident}-desc">{esc(desc)}</desc>',
    ]


def _legend(series: Sequence[Series], x: float, y: float) -> list[str]:
    out = ['<g class="legend">']
    for item in series:
        out.append(
            f'<rect x="{_n(x)}" y="{_n(y - 9)}" width="10" height="10" rx="2" '
            f'fill="{item.fill}"/>'
            f'<text x="{_n(x + 14)}" y="{_n(y)}" fill="{_TEXT}">{esc(item.label)}</text>'
        )
        x += 24 + 7 * len(item.label)
    out.append("</g>")
    return out


def _y_axis(
    ticks: Sequence[float],
    left: float,
    right: float,
    y: Callable[[float], float],
    label: Format,
    side_label: Format | None = None,
) -> list[str]:
    out = ['<g class="axis">']
    for tick in ticks:
        py = y(tick)
        out.append(
            f'<line x1="{_n(left)}" x2="{_n(right)}" y1="{_n(py)}" y2="{_n(py)}" '
            f'stroke="{_GRID}"/>'
            f'<text x="{_n(left - 6)}" y="{_n(py + 4)}" text-anchor="end" '
            f'fill="{_TEXT}">{esc(label(tick))}</text>'
        )
        if side_label is not None:
            out.append(
                f'<text x="{_n(right + 6)}" y="{_n(py + 4)}" fill="{_TEXT}">'
                f"{esc(side_label(tick))}</text>"
            )
    out.append("</g>")
    return out


def _x_labels(labels: Sequence[str], x: Callable[[int], float], y: float) -> list[str]:
    every = max(1, math.ceil(len(labels) / 12))
    out = ['<g class="axis">']
    for i, text in enumerate(labels):
        if i % every == 0:
            out.append(
                f'<text x="{_n(x(i))}" y="{_n(y)}" text-anchor="middle" '
                f'fill="{_TEXT}">{esc(text)}</text>'
            )
    out.append("</g>")
    return out


def columns(
    chart: str,
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    width: int = 720,
    height: int = 280,
    label: Format = short,
) -> str:
    """Grouped columns, one group per label, one colour per series."""
    left, right, top, bottom = 52.0, width - 16.0, 34.0, height - 28.0
    peak = max((v for s in series for v in s.values), default=0.0)
    ticks = nice_ticks(peak)
    top_value = ticks[-1]

    def y(value: float) -> float:
        return bottom - (bottom - top) * value / top_value

    slot = (right - left) / max(len(labels), 1)
    bar = max(1.5, slot * 0.8 / max(len(series), 1))

    def x(i: int) -> float:
        return left + slot * (i + 0.5)

    desc = f"{len(labels)} periods, series: " + ", ".join(s.label for s in series)
    out = _open(chart, title, desc, width, height, len(series))
    out += _y_axis(ticks, left, right, y, label)
    for k, item in enumerate(series):
        out.append(f'<g data-series="{esc(item.key)}" fill="{item.fill}">')
        for i, value in enumerate(item.values):
            if value <= 0:
                continue
            px = x(i) - bar * len(series) / 2 + bar * k
            out.append(
                f'<rect x="{_n(px)}" y="{_n(y(value))}" width="{_n(bar * 0.92)}" '
                f'height="{_n(bottom - y(value))}"><title>{esc(labels[i])}: '
                f"{esc(item.label)} {value:,.0f}</title></rect>"
            )
        out.append("</g>")
    out.append(f'<line x1="{left}" x2="{right}" y1="{bottom}" y2="{bottom}" stroke="{_AXIS}"/>')
    out += _x_labels(labels, x, bottom + 16)
    out += _legend(series, left, 18)
    out.append("</svg>")
    return "\n".join(out)


def lines(
    chart: str,
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    width: int = 720,
    height: int = 280,
    label: Format = short,
    side_label: Format | None = None,
    area: bool = False,
) -> str:
    """One line (optionally filled down to zero) per series over the labels."""
    left, top, bottom = 52.0, 34.0, height - 28.0
    right = width - (70.0 if side_label else 16.0)
    peak = max((v for s in series for v in s.values), default=0.0)
    ticks = nice_ticks(peak)
    top_value = ticks[-1]

    def y(value: float) -> float:
        return bottom - (bottom - top) * max(value, 0.0) / top_value

    step = (right - left) / max(len(labels) - 1, 1)

    def x(i: int) -> float:
        return left + step * i if len(labels) > 1 else (left + right) / 2

    desc = f"{len(labels)} periods, series: " + ", ".join(s.label for s in series)
    out = _open(chart, title, desc, width, height, len(series))
    out += _y_axis(ticks, left, right, y, label, side_label)
    for item in series:
        points = " ".join(f"{_n(x(i))},{_n(y(v))}" for i, v in enumerate(item.values))
        out.append(f'<g data-series="{esc(item.key)}">')
        if area and item.values:
            out.append(
                f'<polygon points="{_n(x(0))},{_n(bottom)} {points} '
                f'{_n(x(len(item.values) - 1))},{_n(bottom)}" fill="{item.fill}" '
                f'fill-opacity="0.14"/>'
            )
        out.append(
            f'<polyline points="{points}" fill="none" stroke="{item.fill}" '
            f'stroke-width="2.5" stroke-linejoin="round"/>'
        )
        if len(item.values) <= 40:
            for i, v in enumerate(item.values):
                out.append(
                    f'<circle cx="{_n(x(i))}" cy="{_n(y(v))}" r="3" fill="{item.fill}">'
                    f"<title>{esc(labels[i])}: {esc(item.label)} {v:,.0f}</title></circle>"
                )
        out.append("</g>")
    out.append(f'<line x1="{left}" x2="{right}" y1="{bottom}" y2="{bottom}" stroke="{_AXIS}"/>')
    out += _x_labels(labels, x, bottom + 16)
    out += _legend(series, left, 18)
    out.append("</svg>")
    return "\n".join(out)


def pareto(
    chart: str,
    title: str,
    curve: Sequence[tuple[float, float, float]],
    marker: tuple[float, float],
    marker_text: str,
    *,
    width: int = 420,
    height: int = 300,
) -> str:
    """Cumulative share of spend and of points against the share of members."""
    left, right, top, bottom = 44.0, width - 22.0, 30.0, height - 34.0

    def x(share: float) -> float:
        return left + (right - left) * share

    def y(share: float) -> float:
        return bottom - (bottom - top) * share

    series = (
        Series("spend", "Spend", tuple(p[1] for p in curve)),
        Series("points", "Points held", tuple(p[2] for p in curve)),
    )
    desc = f"Members sorted by spend; {marker_text}"
    out = _open(chart, title, desc, width, height, len(series))
    out.append('<g class="axis">')
    for tick in (0, 0.25, 0.5, 0.75, 1):
        out.append(
            f'<line x1="{_n(left)}" x2="{_n(right)}" y1="{_n(y(tick))}" y2="{_n(y(tick))}" '
            f'stroke="{_GRID}"/>'
            f'<text x="{_n(left - 6)}" y="{_n(y(tick) + 4)}" text-anchor="end" '
            f'fill="{_TEXT}">{tick:.0%}</text>'
            f'<text x="{_n(x(tick))}" y="{_n(bottom + 15)}" text-anchor="middle" '
            f'fill="{_TEXT}">{tick:.0%}</text>'
        )
    out.append(
        f'<text x="{_n((left + right) / 2)}" y="{_n(bottom + 30)}" text-anchor="middle" '
        f'fill="{_TEXT}">members, highest spend first</text></g>'
    )
    out.append(
        f'<line class="guide" x1="{_n(x(0))}" y1="{_n(y(0))}" x2="{_n(x(1))}" y2="{_n(y(1))}" '
        f'stroke="{_AXIS}" stroke-dasharray="4 4"/>'
    )
    for item in series:
        points = " ".join(
            f"{_n(x(p[0]))},{_n(y(v))}" for p, v in zip(curve, item.values, strict=True)
        )
        out.append(
            f'<g data-series="{item.key}"><polyline points="{points}" fill="none" '
            f'stroke="{item.fill}" stroke-width="2.5" stroke-linejoin="round"/></g>'
        )
    mx, my = marker
    out.append(
        f'<g class="marker"><line x1="{_n(x(mx))}" x2="{_n(x(mx))}" y1="{_n(top)}" '
        f'y2="{_n(bottom)}" stroke="{_TEXT}" stroke-dasharray="2 3"/>'
        f'<circle cx="{_n(x(mx))}" cy="{_n(y(my))}" r="4.5" fill="{COLORS["spend"]}" '
        f'stroke="#fff" stroke-width="1.5"/>'
        f'<text x="{_n(x(mx) + 8)}" y="{_n(y(my) + 16)}" fill="{_TEXT}" '
        f'font-weight="600">{esc(marker_text)}</text></g>'
    )
    out += _legend(series, left, 16)
    out.append("</svg>")
    return "\n".join(out)


def hbars(
    chart: str,
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    notes: Sequence[str],
    *,
    width: int = 460,
    maximum: float | None = None,
) -> str:
    """Horizontal bars, one row per label (one bar per series), a note at the right."""
    row = 14.0 * len(series) + 12.0
    left, top = 104.0, 30.0
    right = width - 110.0
    height = int(top + row * len(labels) + 8)
    peak = maximum or max((v for s in series for v in s.values), default=0.0) or 1.0

    desc = f"{len(labels)} rows, series: " + ", ".join(s.label for s in series)
    out = _open(chart, title, desc, width, height, len(series))
    for i, text in enumerate(labels):
        ry = top + row * i
        out.append(
            f'<text x="{_n(left - 8)}" y="{_n(ry + row / 2 + 2)}" text-anchor="end" '
            f'fill="{_TEXT}">{esc(text)}</text>'
            f'<text x="{_n(right + 8)}" y="{_n(ry + row / 2 + 2)}" fill="{_TEXT}">'
            f"{esc(notes[i])}</text>"
        )
    for k, item in enumerate(series):
        out.append(f'<g data-series="{esc(item.key)}" fill="{item.fill}">')
        for i, value in enumerate(item.values):
            ry = top + row * i + 6 + 14 * k
            length = (right - left) * value / peak
            out.append(
                f'<rect x="{_n(left)}" y="{_n(ry)}" width="{_n(max(length, 1.0))}" height="11" '
                f'rx="2"><title>{esc(labels[i])}: {esc(item.label)}</title></rect>'
            )
        out.append("</g>")
    out.append(
        f'<line x1="{_n(left)}" x2="{_n(left)}" y1="{_n(top)}" y2="{_n(height - 6)}" '
        f'stroke="{_AXIS}"/>'
    )
    out += _legend(series, left, 16)
    out.append("</svg>")
    return "\n".join(out)
