"""Server-rendered SVG charts of the pages: metric histories (one or many runs, against step,
time or wall-clock time) and a scatter of a parameter against a metric.

The monitoring and drift pages draw with the core's report charts; these are the tracking
charts the reports have no use for. Every label is escaped; each point carries a ``<title>``
(the browser's hover), and ``data-*`` attributes the page's script reads for its tooltip.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Sequence
from datetime import datetime, timezone

#: Series colours, told apart by colour-blind readers (Okabe and Ito's palette).
COLOURS = ("#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#f0e442",
           "#000000")
_W, _H = 560.0, 220.0
_LEFT, _RIGHT, _TOP, _BOTTOM = 58.0, 12.0, 10.0, 36.0


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering [low, high]: steps of 1, 2, 2.5 or 5 times a power of 10."""
    if not high > low:
        return [low]
    raw = (high - low) / count
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1.0, 2.0, 2.5, 5.0, 10.0) if m * power >= raw)
    first = math.ceil(low / step - 1e-9) * step
    return [first + k * step for k in range(int((high - first) / step + 1e-9) + 1)]


def _time_format(span_ms: float) -> str:
    """A strftime format that tells apart ticks over a span of time."""
    if span_ms >= 3 * 86_400_000:
        return "%Y-%m-%d"
    if span_ms >= 86_400_000:
        return "%m-%d %H:%M"
    if span_ms >= 600_000:
        return "%H:%M"
    return "%H:%M:%S" if span_ms >= 10_000 else "%H:%M:%S.%f"


def _label(value: float, axis: str, time_format: str = "%H:%M:%S") -> str:
    if axis == "time":
        text = datetime.fromtimestamp(value / 1000, tz=timezone.utc).strftime(time_format)
        return text[:-3] if time_format.endswith("%f") else text
    if axis == "relative":
        return f"{value / 1000:.3g} s"
    if value == int(value) and abs(value) < 1e15:
        return f"{int(value):,}"
    return f"{value:.4g}"


def _scales(x_low: float, x_high: float, y_low: float, y_high: float
            ) -> tuple[Callable[[float], float], Callable[[float], float]]:
    """The plot's x and y pixel positions of data values in these ranges."""

    def px(x: float) -> float:
        return _LEFT + (x - x_low) / (x_high - x_low) * _W

    def py(y: float) -> float:
        return _TOP + _H - (y - y_low) / (y_high - y_low) * _H

    return px, py


def _value_grid(y_low: float, y_high: float, py: Callable[[float], float]) -> list[str]:
    """Horizontal grid lines at the value axis's ticks, with their labels."""
    out = []
    for v in _ticks(y_low, y_high):
        out.append(f'<line x1="{_LEFT}" y1="{py(v):.1f}" x2="{_LEFT + _W}" y2="{py(v):.1f}" '
                   'stroke="#d0d7de"/>')
        out.append(f'<text x="{_LEFT - 4}" y="{py(v) + 4:.1f}" text-anchor="end" '
                   f'fill="#57606a">{_e(_label(v, "value"))}</text>')
    return out


def _short(text: str, limit: int = 22) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def line_chart(series: Sequence[tuple[str, Sequence[float], Sequence[float]]], *,
               title: str, x_axis: str = "step", y_label: str = "") -> str:
    """Lines of (name, xs, ys), as inline SVG. ``x_axis`` is ``step``, ``time`` (Unix ms,
    labelled in UTC) or ``relative`` (ms since the first point); NaN and ±inf are gaps."""
    points = [[(float(x), float(y)) for x, y in zip(xs, ys)
               if math.isfinite(float(x)) and math.isfinite(float(y))]
              for _, xs, ys in series]
    every = [p for line in points for p in line]
    width, height = _LEFT + _W + _RIGHT, _TOP + _H + _BOTTOM
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{width:.0f}" '
           f'height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" role="img" '
           f'aria-label="{_e(title)}" font-family="sans-serif" font-size="11">',
           f"<title>{_e(title)}</title>"]
    if not every:
        out.append(f'<text x="{width / 2:.0f}" y="{height / 2:.0f}" text-anchor="middle" '
                   'fill="#57606a">no finite values</text></svg>')
        return "\n".join(out)
    x_low, x_high = min(p[0] for p in every), max(p[0] for p in every)
    y_low, y_high = min(p[1] for p in every), max(p[1] for p in every)
    if x_high == x_low:
        x_low, x_high = x_low - 1, x_high + 1
    pad = (y_high - y_low) * 0.05 or abs(y_high) * 0.05 or 1.0
    y_low, y_high = y_low - pad, y_high + pad

    px, py = _scales(x_low, x_high, y_low, y_high)
    out += _value_grid(y_low, y_high, py)
    time_format = _time_format(x_high - x_low)
    for v in _ticks(x_low, x_high, 5 if x_axis == "time" else 6):
        out.append(f'<text x="{px(v):.1f}" y="{_TOP + _H + 14}" text-anchor="middle" '
                   f'fill="#57606a">{_e(_label(v, x_axis, time_format))}</text>')
    if len(series) > 1:  # a legend, top right inside the plot
        for k, (name, _, _) in enumerate(series[:len(COLOURS)]):
            y = _TOP + 14 + 14 * k
            out.append(f'<rect x="{_LEFT + _W - 150}" y="{y - 8}" width="10" height="10" '
                       f'fill="{COLOURS[k]}"/><text x="{_LEFT + _W - 136}" y="{y + 1}" '
                       f'fill="#1f2328">{_e(_short(name))}</text>')
    axis_name = {"step": "step", "time": "time (UTC)", "relative": "time since the first point"}
    out.append(f'<text x="{_LEFT + _W / 2}" y="{height - 4}" text-anchor="middle" '
               f'fill="#57606a">{_e(axis_name.get(x_axis, x_axis))}</text>')
    if y_label:
        out.append(f'<text x="11" y="{_TOP + _H / 2}" text-anchor="middle" fill="#57606a" '
                   f'transform="rotate(-90 11 {_TOP + _H / 2})">{_e(y_label)}</text>')
    out.append(f'<rect x="{_LEFT}" y="{_TOP}" width="{_W}" height="{_H}" fill="none" '
               'stroke="#8c959f"/>')
    for k, ((name, _, _), line) in enumerate(zip(series, points)):
        colour = COLOURS[k % len(COLOURS)]
        if len(line) > 1:
            coords = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in line)
            out.append(f'<polyline points="{coords}" fill="none" stroke="{colour}" '
                       f'stroke-width="1.6"><title>{_e(name)}</title></polyline>')
        # a dot per point while they stay readable, each with its value on hover
        if len(line) <= 200:
            for x, y in line:
                tip = f"{name}: {_label(x, x_axis, time_format)} → {y:.6g}"
                out.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="2.5" '
                           f'fill="{colour}" data-tip="{_e(tip)}"><title>{_e(tip)}</title>'
                           "</circle>")
    out.append("</svg>")
    return "\n".join(out)


def scatter_chart(points: Sequence[tuple[str, float, float]], *, x_label: str,
                  y_label: str) -> str:
    """(name, x, y) points as an inline SVG scatter, each named on hover."""
    finite = [(n, float(x), float(y)) for n, x, y in points
              if math.isfinite(float(x)) and math.isfinite(float(y))]
    title = f"{y_label} against {x_label}"
    width, height = _LEFT + _W + _RIGHT, _TOP + _H + _BOTTOM
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{width:.0f}" '
           f'height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" role="img" '
           f'aria-label="{_e(title)}" font-family="sans-serif" font-size="11">',
           f"<title>{_e(title)}</title>"]
    if not finite:
        out.append(f'<text x="{width / 2:.0f}" y="{height / 2:.0f}" text-anchor="middle" '
                   'fill="#57606a">no runs with both values as numbers</text></svg>')
        return "\n".join(out)
    xs, ys = [p[1] for p in finite], [p[2] for p in finite]
    x_pad = (max(xs) - min(xs)) * 0.05 or 1.0
    y_pad = (max(ys) - min(ys)) * 0.05 or abs(max(ys)) * 0.05 or 1.0
    x_low, x_high, y_low, y_high = min(xs) - x_pad, max(xs) + x_pad, min(ys) - y_pad, \
        max(ys) + y_pad

    px, py = _scales(x_low, x_high, y_low, y_high)
    out += _value_grid(y_low, y_high, py)
    for v in _ticks(x_low, x_high, 6):
        out.append(f'<text x="{px(v):.1f}" y="{_TOP + _H + 14}" text-anchor="middle" '
                   f'fill="#57606a">{_e(_label(v, "value"))}</text>')
    out.append(f'<text x="{_LEFT + _W / 2}" y="{height - 4}" text-anchor="middle" '
               f'fill="#57606a">{_e(x_label)}</text>')
    out.append(f'<text x="11" y="{_TOP + _H / 2}" text-anchor="middle" fill="#57606a" '
               f'transform="rotate(-90 11 {_TOP + _H / 2})">{_e(y_label)}</text>')
    out.append(f'<rect x="{_LEFT}" y="{_TOP}" width="{_W}" height="{_H}" fill="none" '
               'stroke="#8c959f"/>')
    for k, (name, x, y) in enumerate(finite):
        tip = f"{name}: {x_label} {x:.6g}, {y_label} {y:.6g}"
        out.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="4" '
                   f'fill="{COLOURS[k % len(COLOURS)]}" data-tip="{_e(tip)}">'
                   f"<title>{_e(tip)}</title></circle>")
    out.append("</svg>")
    return "\n".join(out)
