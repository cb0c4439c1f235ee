"""Charts as inline SVG strings: no JavaScript, no fonts or libraries from the internet.

Why hand-written SVG: the report must open offline, print, and survive being mailed as a zip;
three small chart shapes (stacked bars over time, lines over time, horizontal bars) cover what
an auditor needs. Every chart carries a ``<title>`` and an ``aria-label``; the numbers behind
it are always in a table on the same page, so the chart is never the only source of a figure.
Colours are the Okabe-Ito palette, readable with the common colour-vision deficiencies.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

__all__ = ["PALETTE", "hbar_chart", "line_chart", "stacked_bar_chart"]

PALETTE = ("#0072B2", "#E69F00", "#D55E00", "#009E73", "#CC79A7", "#56B4E9", "#F0E442")

_W, _H = 760, 280
_LEFT, _RIGHT, _TOP, _BOTTOM = 56, 16, 40, 44


def _nice_max(value: float) -> float:
    """A round axis maximum at or above ``value`` (1, 2, 2.5, 5 x 10^n)."""
    if value <= 0:
        return 1.0
    magnitude = 10 ** (len(str(int(value))) - 1) if value >= 1 else 1
    for step in (1, 2, 2.5, 5, 10):
        if step * magnitude >= value:
            return float(step * magnitude)
    return float(10 * magnitude)


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if value >= 10 or value == int(value) else f"{value:.1f}"


def _open(title: str, height: int = _H) -> list[str]:
    return [
        f"<figure><figcaption>{escape(title)}</figcaption>",
        f'<svg viewBox="0 0 {_W} {height}" '
        f'width="100%" role="img" aria-label="{escape(title)}" class="chart">',
        f"<title>{escape(title)}</title>",
    ]


def _legend(names: Sequence[str]) -> list[str]:
    parts, x = [], _LEFT
    for i, name in enumerate(names):
        color = PALETTE[i % len(PALETTE)]
        parts.append(f'<rect x="{x}" y="12" width="12" height="12" fill="{color}"/>')
        parts.append(f'<text x="{x + 16}" y="22" class="legend">{escape(name)}</text>')
        x += 28 + 7 * len(name)
    return parts


def _y_axis(top: float, plot_h: float, maximum: float, percent: bool) -> list[str]:
    parts = []
    for i in range(5):
        value = maximum * i / 4
        y = top + plot_h - plot_h * i / 4
        label = f"{value * 100:.0f} %" if percent else _fmt(value)
        parts.append(f'<line x1="{_LEFT}" x2="{_W - _RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
                     'class="grid"/>')
        parts.append(f'<text x="{_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" '
                     f'class="tick">{label}</text>')
    return parts


def _x_labels(categories: Sequence[str], step: float, bottom: float) -> list[str]:
    every = max(1, len(categories) // 12)
    return [
        f'<text x="{_LEFT + step * (i + 0.5):.1f}" y="{bottom + 16:.1f}" text-anchor="middle" '
        f'class="tick">{escape(c)}</text>'
        for i, c in enumerate(categories)
        if i % every == 0
    ]


def stacked_bar_chart(
    title: str, categories: Sequence[str], series: Mapping[str, Sequence[float]]
) -> str:
    """One stacked bar per category (e.g. a day), one colour per series."""
    plot_h = _H - _TOP - _BOTTOM
    totals = [sum(values[i] for values in series.values()) for i in range(len(categories))]
    maximum = _nice_max(max(totals, default=0))
    step = (_W - _LEFT - _RIGHT) / max(len(categories), 1)
    parts = _open(title) + _legend(list(series)) + _y_axis(_TOP, plot_h, maximum, False)
    for i, category in enumerate(categories):
        base: float = _TOP + plot_h
        for j, (name, values) in enumerate(series.items()):
            height = plot_h * values[i] / maximum
            if height <= 0:
                continue
            base -= height
            parts.append(
                f'<rect x="{_LEFT + step * i + step * 0.15:.1f}" y="{base:.1f}" '
                f'width="{step * 0.7:.1f}" height="{height:.1f}" '
                f'fill="{PALETTE[j % len(PALETTE)]}">'
                f"<title>{escape(category)} {escape(name)}: {_fmt(values[i])}</title></rect>"
            )
    parts += _x_labels(categories, step, _TOP + plot_h)
    return "".join(parts) + "</svg></figure>"


def line_chart(
    title: str, categories: Sequence[str], series: Mapping[str, Sequence[float | None]]
) -> str:
    """Shares (0..1) over categories, one line per series; gaps where a value is missing."""
    plot_h = _H - _TOP - _BOTTOM
    step = (_W - _LEFT - _RIGHT) / max(len(categories), 1)
    parts = _open(title) + _legend(list(series)) + _y_axis(_TOP, plot_h, 1.0, True)
    for j, (name, values) in enumerate(series.items()):
        color = PALETTE[j % len(PALETTE)]
        points = [
            (_LEFT + step * (i + 0.5), _TOP + plot_h * (1 - v), v, categories[i])
            for i, v in enumerate(values)
            if v is not None
        ]
        if len(points) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _, _ in points)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{color}" '
                         'stroke-width="2"/>')
        for x, y, v, category in points:
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{color}">'
                         f"<title>{escape(category)} {escape(name)}: {v * 100:.1f} %</title>"
                         "</circle>")
    parts += _x_labels(categories, step, _TOP + plot_h)
    return "".join(parts) + "</svg></figure>"


def hbar_chart(title: str, labels: Sequence[str], values: Sequence[float]) -> str:
    """Horizontal bars, largest first as given; long labels get the left third."""
    row, label_w, top = 22, 300, 10
    height = top + row * max(len(labels), 1) + 12
    maximum = _nice_max(max(values, default=0))
    width = _W - label_w - _RIGHT - 48
    parts = _open(title, height)
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = top + row * i
        bar = width * value / maximum
        parts.append(f'<text x="{label_w - 8}" y="{y + 15}" text-anchor="end" '
                     f'class="tick">{escape(label)}</text>')
        parts.append(f'<rect x="{label_w}" y="{y + 3}" width="{bar:.1f}" height="{row - 6}" '
                     f'fill="{PALETTE[0]}"><title>{escape(label)}: {_fmt(value)}</title></rect>')
        parts.append(f'<text x="{label_w + bar + 6:.1f}" y="{y + 15}" '
                     f'class="tick">{_fmt(value)}</text>')
    return "".join(parts) + "</svg></figure>"
