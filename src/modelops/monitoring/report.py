"""``MonitoringReport``: one window of a model in production, as data, JSON and HTML.

The HTML page is built as a string, the way drift reports are: no matplotlib, no external CSS,
script, font or image — styles inline, charts inline SVG — so it opens offline and renders in
notebooks. Every string from the user or the data (model and version names, column names,
messages, labels) goes through :func:`html.escape`.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import attrs

from modelops import _html
from modelops._html import escape as _e
from modelops._html import nice_axis as _nice_axis
from modelops._html import utc_time as _time
from modelops.entities import FrozenDict, freeze
from modelops.entities.plain import finite_or_none, to_plain
from modelops.monitoring.values import (
    Degradation,
    DriftCheck,
    ErrorRate,
    Health,
    Latency,
    Performance,
    Volume,
)

_ROOT = "mo-monitor-report"
_BLUE = "#4c72b0"
_ORANGE = "#dd8452"
_RED = "#cf222e"
_SEVERITY_COLOURS = {"critical": "#82071e", "high": "#cf222e", "medium": "#9a6700",
                     "low": "#57606a"}
_STATUS_CLASSES = {"healthy": "mo-good", "degraded": "mo-warn", "unhealthy": "mo-bad"}

_CSS = """
.@ {font-family: -apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, Helvetica, Arial,
  sans-serif; font-size: 14px; line-height: 1.4; color: #1f2328; max-width: 1200px;}
.@ h1 {font-size: 1.5em; margin: 0.2em 0 0.4em; word-break: break-all;}
.@ h2 {font-size: 1.2em; margin: 1.2em 0 0.5em; border-bottom: 1px solid #d0d7de;}
.@ .mo-meta {display: grid; grid-template-columns: max-content auto; gap: 2px 16px;
  margin: 0 0 0.8em;}
.@ .mo-meta dt {color: #57606a;}
.@ .mo-meta dd {margin: 0;}
.@ .mo-verdict {padding: 8px 12px; border-radius: 6px; margin: 0.6em 0; border: 1px solid;}
.@ .mo-verdict.mo-bad {background: #ffebe9; border-color: #ff8182;}
.@ .mo-verdict.mo-warn {background: #fff8c5; border-color: #d4a72c;}
.@ .mo-verdict.mo-good {background: #dafbe1; border-color: #4ac26b;}
.@ .mo-verdict strong {font-size: 1.1em;}
.@ table {border-collapse: collapse; margin: 0.3em 0;}
.@ th, .@ td {border: 1px solid #d0d7de; padding: 3px 7px; text-align: left;
  vertical-align: top;}
.@ th {background: #f6f8fa;}
.@ td.mo-num {text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap;}
.@ .mo-sev {font-weight: 600; text-transform: uppercase; font-size: 0.85em;}
.@ .mo-yes {color: #a40e26; font-weight: 600;}
.@ .mo-no {color: #1a7f37;}
.@ .mo-note {color: #57606a; margin: 0.3em 0;}
.@ .mo-charts {display: flex; flex-wrap: wrap; gap: 12px 24px;}
.@ figure {margin: 0;}
.@ figcaption {font-weight: 600; margin: 0 0 2px;}
.@ svg {max-width: 100%; height: auto;}
.@ code {background: #f6f8fa; padding: 0 3px; border-radius: 3px;}
""".replace(".@", "." + _ROOT)


@attrs.frozen(kw_only=True)
class MonitoringReport:
    """A monitoring report of one window (``Monitor.report()``).

    ``trend`` holds per-``trend_window`` series, oldest first: ``starts`` (Unix ms),
    ``volume``, ``feedback`` (rows with feedback), each of the task's metrics,
    ``error_rate``, ``latency_p50``, ``latency_p99`` and ``drift_share`` (NaN where a window
    has too little data, or there is no reference).
    """

    model: str
    version: str | None
    window: str
    trend_window: str
    since: int
    until: int
    n: int
    task: str | None
    health: Health
    performance: Performance
    degradation: Degradation | None
    baseline_note: str = ""
    drift: DriftCheck
    volume: Volume | None
    latency: Latency
    error_rate: ErrorRate
    trend_metric: str
    trend: FrozenDict[str, Any] = attrs.field(converter=freeze)
    #: Performance estimated without labels per trend window (an ``EstimatedPerformance``),
    #: with the realised values where feedback arrived; None without a labelled reference.
    estimated: Any = None

    @property
    def status(self) -> str:
        return self.health.status

    def to_dict(self) -> dict[str, Any]:
        """Plain Python data (floats as they are, NaN included)."""
        return {
            "model": self.model, "version": self.version, "window": self.window,
            "trend_window": self.trend_window, "since": self.since, "until": self.until,
            "n": self.n, "task": self.task, "status": self.health.status,
            "health": self.health.to_dict(), "performance": self.performance.to_dict(),
            "degradation": None if self.degradation is None else self.degradation.to_dict(),
            "baseline": self.baseline_note, "drift": self.drift.to_dict(),
            "volume": None if self.volume is None else self.volume.to_dict(),
            "latency": self.latency.to_dict(), "error_rate": self.error_rate.to_dict(),
            "trend": {"metric": self.trend_metric, **to_plain(self.trend)},
            "estimated": None if self.estimated is None else self.estimated.to_dict(),
        }

    def to_json(self, indent: int | None = 2) -> str:
        """Strict JSON (RFC 8259): NaN and ±inf are written as null."""
        return json.dumps(finite_or_none(self.to_dict()), indent=indent, allow_nan=False,
                          ensure_ascii=False)

    def to_html(self, path: str | Path | None = None, standalone: bool = True) -> str:
        """The report as HTML, written to ``path`` (UTF-8) when given; returns the HTML.

        ``standalone=True`` gives a whole page that opens offline; ``False`` a ``<div>``
        fragment with its own scoped ``<style>``, for notebooks."""
        body = _fragment(self, style=not standalone)
        if standalone:
            title = _e(f"Monitoring report: {self.model}")
            text = ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                    f"<title>{title}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n{body}\n"
                    "</body>\n</html>\n")
        else:
            text = body
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    def _repr_html_(self) -> str:
        return self.to_html(standalone=False)


# -- formatting -------------------------------------------------------------------------------


def _num(value: Any, digits: int = 4) -> str:
    return _html.num(value, digits, nan="&mdash;")  # NaN here means "no figure yet"


def _pct(value: Any) -> str:
    return _html.pct(value, nan="&mdash;")


def _finite(values: Any) -> list[float]:
    out = []
    for v in values:
        try:
            x = float(v)
        except (TypeError, ValueError):
            x = math.nan
        out.append(x)
    return out


# -- the page ---------------------------------------------------------------------------------


def _fragment(r: MonitoringReport, style: bool) -> str:
    out = [f'<div class="{_ROOT}">']
    if style:
        out.append(f"<style>{_CSS}</style>")
    out.append(f"<h1>Monitoring report: {_e(r.model)}</h1>")
    meta = [("Version", _e(r.version) if r.version is not None else "all versions"),
            ("Window", f"{_e(r.window)}: {_time(r.since)} &ndash; {_time(r.until)}"),
            ("Predictions", f"{r.n:,} ({r.performance.n:,} with feedback)"),
            ("Task", _e(r.task or "unknown"))]
    out.append('<dl class="mo-meta">' + "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in meta)
               + "</dl>")
    out.append(_verdict(r.health))
    out.append("<h2>Over time</h2>")
    out.append(_charts(r))
    out.append("<h2>Performance</h2>")
    out.append(_performance(r))
    out.append("<h2>Drift</h2>")
    out.append(_drift(r.drift))
    out.append("<h2>Volume, latency and errors</h2>")
    out.append(_operations(r))
    out.append("</div>")
    return "\n".join(s for s in out if s)


def _verdict(health: Health) -> str:
    cls = _STATUS_CLASSES.get(health.status, "mo-warn")
    head = f'<div class="mo-verdict {cls}"><strong>{_e(health.status.upper())}</strong>'
    if not health.issues:
        return head + " &mdash; no issues.</div>"
    rows = ["<table><thead><tr><th>Severity</th><th>Kind</th><th>Message</th></tr></thead>"
            "<tbody>"]
    for issue in health.issues:
        colour = _SEVERITY_COLOURS.get(issue.severity, "#57606a")
        rows.append(f'<tr><td class="mo-sev" style="color: {colour}">{_e(issue.severity)}'
                    f"</td><td><code>{_e(issue.kind)}</code></td><td>{_e(issue.message)}</td>"
                    "</tr>")
    rows.append("</tbody></table>")
    n = len(health.issues)
    return f"{head} &mdash; {n} issue{'' if n == 1 else 's'}.\n" + "\n".join(rows) + "</div>"


def _charts(r: MonitoringReport) -> str:
    t = r.trend
    starts = list(t.get("starts", ()))
    if not starts:
        return '<p class="mo-note">No windows.</p>'
    step = starts[1] - starts[0] if len(starts) > 1 else r.until - starts[0]
    figures = [_figure(f"Predictions per {r.trend_window}",
                       _time_chart(starts, step, t.get("volume", ()), "bar", _BLUE,
                                   "predictions", integer=True))]
    metric = r.trend_metric
    if metric in t and metric not in ("volume",):
        figures.append(_figure(f"{metric} per {r.trend_window}",
                               _time_chart(starts, step, t[metric], "line", _ORANGE, metric)))
    for name, label, colour, pct in (("f1", "f1", _BLUE, False),
                                     ("roc_auc", "roc_auc", _BLUE, False),
                                     ("rmse", "rmse", _BLUE, False),
                                     ("error_rate", "error rate", _RED, True),
                                     ("latency_p99", "p99 latency (ms)", _ORANGE, False),
                                     ("drift_share", "share of drifted features", _RED, True)):
        if name == metric or name not in t:
            continue
        values = _finite(t[name])
        if not any(math.isfinite(v) for v in values):
            continue
        figures.append(_figure(f"{label} per {r.trend_window}",
                               _time_chart(starts, step, values, "line", colour, label,
                                           percent=pct)))
    if r.estimated is not None:
        figures.append(_estimated_chart(r.estimated))
    return '<div class="mo-charts">' + "\n".join(figures) + "</div>"


def _estimated_chart(found: Any) -> str:
    """The headline metric estimated without labels per window — its band shaded, the
    estimate a line — and the realised value as dots where feedback has arrived."""
    metric = next((m for m in ("roc_auc", "accuracy", "mae", "rmse") if m in found.estimates),
                  next(iter(found.estimates), None))
    if metric is None:
        return ""
    values = found.estimates[metric]
    est = _finite(e.value for e in values)
    lower = _finite(e.lower for e in values)
    upper = _finite(e.upper for e in values)
    real = [math.nan if e.realised is None else float(e.realised) for e in values]
    every = [v for v in (*est, *lower, *upper, *real) if math.isfinite(v)]
    if not every:
        return ""
    n = len(values)
    low = min(every)
    span, tick = _nice_axis(max(every) - low or 1.0)
    low = math.floor(low / tick) * tick
    top = low + span + tick
    plot_w = float(min(max(n * 14, 320), 760))
    left, pad_top, bottom = 62.0, 10.0, 34.0
    width, height = left + plot_w + 12.0, pad_top + _PLOT_H + bottom
    base = pad_top + _PLOT_H
    slot = plot_w / max(n, 1)

    def x_of(i: int) -> float:
        return left + (i + 0.5) * slot

    def y_of(v: float) -> float:
        return base - (v - low) / (top - low) * _PLOT_H

    label = f"{metric} estimated ({found.estimator}) and realised"
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
           f'viewBox="0 0 {width:.0f} {height:.0f}" role="img" aria-label="{_e(label)}" '
           'font-family="sans-serif" font-size="11">', f"<title>{_e(label)}</title>"]
    for k in range(round((top - low) / tick) + 1):
        y = y_of(low + k * tick)
        out.append(f'<line x1="{left:.1f}" y1="{y:.1f}" x2="{left + plot_w:.1f}" y2="{y:.1f}" '
                   'stroke="#d0d7de" stroke-width="1"/>')
        out.append(f'<text x="{left - 4:.1f}" y="{y + 4:.1f}" text-anchor="end" '
                   f'fill="#57606a">{_e(f"{low + k * tick:.3g}")}</text>')
    band = [i for i in range(n) if math.isfinite(lower[i]) and math.isfinite(upper[i])]
    if len(band) > 1:
        points = [f"{x_of(i):.1f},{y_of(upper[i]):.1f}" for i in band] + \
                 [f"{x_of(i):.1f},{y_of(lower[i]):.1f}" for i in reversed(band)]
        out.append(f'<polygon points="{" ".join(points)}" fill="{_BLUE}" fill-opacity="0.15" '
                   'stroke="none"><title>band of the estimate</title></polygon>')
    line = [f"{x_of(i):.1f},{y_of(v):.1f}" for i, v in enumerate(est) if math.isfinite(v)]
    if len(line) > 1:
        out.append(f'<polyline points="{" ".join(line)}" fill="none" stroke="{_BLUE}" '
                   'stroke-width="1.5"/>')
    for i, v in enumerate(est):
        if math.isfinite(v):
            tip = _e(f"{_time(found.starts[i])}: estimated {v:.4g} "
                     f"({lower[i]:.4g} to {upper[i]:.4g}) on {values[i].n:,} predictions")
            out.append(f'<circle cx="{x_of(i):.1f}" cy="{y_of(v):.1f}" r="2.5" '
                       f'fill="{_BLUE}"><title>{tip}</title></circle>')
    for i, v in enumerate(real):
        if math.isfinite(v):
            tip = _e(f"{_time(found.starts[i])}: realised {v:.4g} on "
                     f"{values[i].n_realised:,} predictions with feedback")
            out.append(f'<rect x="{x_of(i) - 3:.1f}" y="{y_of(v) - 3:.1f}" width="6" '
                       f'height="6" fill="{_ORANGE}"><title>{tip}</title></rect>')
    fmt = "%H:%M" if found.starts[-1] - found.starts[0] < 86_400_000 else "%m-%d %H:%M"
    for j in range(min(n, 6)):
        i = round(j * (n - 1) / max(min(n, 6) - 1, 1))
        out.append(f'<text x="{x_of(i):.1f}" y="{base + 14:.1f}" text-anchor="middle" '
                   f'fill="#1f2328">{_e(_time(found.starts[i], fmt))}</text>')
    out.append(f'<text x="{left + plot_w / 2:.1f}" y="{height - 4:.1f}" text-anchor="middle" '
               'fill="#57606a">window start (UTC): estimate (line, band shaded), realised '
               '(squares)</text>')
    out.append("</svg>")
    return _figure(f"{metric} per {found.every}, estimated without labels and realised",
                   "\n".join(out))


def _figure(caption: str, svg: str) -> str:
    return f"<figure><figcaption>{_e(caption)}</figcaption>\n{svg}\n</figure>"


def _performance(r: MonitoringReport) -> str:
    p = r.performance
    if p.n == 0:
        return '<p class="mo-note">No prediction in the window has feedback.</p>'
    changes = {c.metric: c for c in (r.degradation.changes if r.degradation else ())}
    rows = ["<table><thead><tr><th>Metric</th><th>Current</th><th>Baseline</th>"
            "<th>Worse by</th><th>Threshold</th><th>Degraded</th></tr></thead><tbody>"]
    for name, value in p.metrics.items():
        c = changes.get(name)
        if c is None:
            rows.append(f"<tr><td>{_e(name)}</td><td class=\"mo-num\">{_num(value)}</td>"
                        "<td></td><td></td><td></td><td></td></tr>")
            continue
        state = '<span class="mo-yes">yes</span>' if c.degraded else \
            '<span class="mo-no">no</span>'
        rows.append(f"<tr><td>{_e(name)}</td><td class=\"mo-num\">{_num(value)}</td>"
                    f"<td class=\"mo-num\">{_num(c.baseline)}</td>"
                    f"<td class=\"mo-num\">{_num(c.worse_by)}</td>"
                    f"<td class=\"mo-num\">{_num(c.threshold)}</td><td>{state}</td></tr>")
    rows.append("</tbody></table>")
    notes = [f"{p.n:,} predictions with feedback."]
    if p.task == "classification":
        labels = ", ".join(f"<code>{_e(v)}</code>" for v in p.labels[:20])
        notes.append(f"Labels: {labels}." if labels else "")
        notes.append(f"Precision, recall and F1 of the positive label <code>{_e(p.positive)}"
                     "</code>." if p.average == "binary" else
                     "Precision, recall and F1 are macro averages over the labels.")
    if r.degradation is not None:
        notes.append(f"Baseline: {_e(r.degradation.baseline_source)}.")
    elif r.baseline_note:
        notes.append(f"No baseline: {_e(r.baseline_note)}.")
    return "\n".join(rows) + '\n<p class="mo-note">' + " ".join(n for n in notes if n) + "</p>"


def _drift(d: DriftCheck) -> str:
    out = []
    if d.report is None:
        out.append(f'<p class="mo-note">Input drift not checked: {_e(d.note or "no data")}.'
                   "</p>")
    else:
        rep = d.report
        state = '<span class="mo-yes">drifted</span>' if rep.drifted else \
            '<span class="mo-no">not drifted</span>'
        out.append(f"<p>Dataset {state}: {len(rep.drifted_columns)} of {len(rep.columns)} "
                   f"features drifted (share {_pct(rep.share)}, drifted from "
                   f"{_pct(rep.drift_share)}) against reference <code>{_e(d.reference_id)}"
                   "</code>.</p>")
        if rep.columns:
            out.append(_column_bars(rep.columns))
            rows = ["<table><thead><tr><th>Column</th><th>Kind</th><th>Method</th>"
                    "<th>Statistic</th><th>p-value</th><th>Effect</th><th>Drifted</th></tr>"
                    "</thead><tbody>"]
            for c in rep.columns:
                state = '<span class="mo-yes">yes</span>' if c.drifted else \
                    '<span class="mo-no">no</span>'
                rows.append(f"<tr><td>{_e(c.column)}</td><td>{_e(c.kind)}</td>"
                            f"<td>{_e(c.method)}</td><td class=\"mo-num\">{_num(c.statistic)}"
                            f"</td><td class=\"mo-num\">{_num(c.pvalue)}</td>"
                            f"<td class=\"mo-num\">{_num(c.effect)}</td><td>{state}</td></tr>")
            rows.append("</tbody></table>")
            out.append("\n".join(rows))
    if d.prediction is not None:
        c = d.prediction
        state = '<span class="mo-yes">drifted</span>' if c.drifted else \
            '<span class="mo-no">not drifted</span>'
        out.append(f"<p>Predictions against the {_e(d.prediction_against)}: {state} "
                   f"({_e(c.method)} statistic {_num(c.statistic)}"
                   + (f", p {_num(c.pvalue)}" if c.pvalue is not None else "")
                   + (f", effect {_num(c.effect)}" if c.effect is not None else "") + ").</p>")
    return "\n".join(out)


def _operations(r: MonitoringReport) -> str:
    lat, err, vol = r.latency, r.error_rate, r.volume
    rows = [("latency p50 / p90 / p95 / p99 / max (ms)",
             " / ".join(_num(v) for v in (lat.p50, lat.p90, lat.p95, lat.p99, lat.max))),
            ("rows with a latency", _num(lat.n)),
            ("error rate", f"{_pct(err.rate)} ({_num(err.errors)} of {_num(err.n)}: "
                           f"{_num(err.null_predictions)} without a prediction, "
                           f"{_num(err.flagged)} flagged in metadata)")]
    if vol is not None:
        if vol.enough_history:
            band = f"expected {_num(max(vol.lower, 0.0))} to {_num(vol.upper)}, median " \
                   f"{_num(vol.median)}"
        else:
            band = "too little history to judge"
        verdict = f" &mdash; <span class=\"mo-yes\">{_e(vol.anomaly)}</span>" \
            if vol.anomaly else ""
        rows.append((f"predictions in the last {_e(vol.window)}",
                     f"{_num(vol.count)} ({band}){verdict}"))
    body = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows)
    return f"<table><tbody>{body}</tbody></table>"


# -- charts -----------------------------------------------------------------------------------

_PLOT_H = 140.0


def _tick_label(value: float, percent: bool, integer: bool) -> str:
    if percent:
        return f"{value * 100:.3g}%"
    if integer or (value == int(value) and abs(value) >= 1):
        return f"{value:,.0f}" if abs(value) < 1e6 else f"{value:.3g}"
    return f"{value:.3g}"


def _time_chart(starts: list[int], step: int, values: Any, kind: str, colour: str,
                label: str, *, percent: bool = False, integer: bool = False) -> str:
    """Values per window against time, as an inline SVG bar or line chart; NaN is a gap."""
    ys = _finite(values)
    n = len(ys)
    finite = [v for v in ys if math.isfinite(v)]
    low = min(0.0, min(finite, default=0.0))
    top, tick = _nice_axis(max(finite, default=0.0) - low)
    top += low
    plot_w = float(min(max(n * 14, 320), 760))
    left, right, pad_top, bottom = 62.0, 12.0, 10.0, 34.0
    width, height = left + plot_w + right, pad_top + _PLOT_H + bottom
    base = pad_top + _PLOT_H

    def y_of(v: float) -> float:
        return base - (v - low) / (top - low) * _PLOT_H if top > low else base

    slot = plot_w / max(n, 1)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
           f'viewBox="0 0 {width:.0f} {height:.0f}" role="img" aria-label="{_e(label)}" '
           'font-family="sans-serif" font-size="11">', f"<title>{_e(label)}</title>"]
    ticks = max(1, round((top - low) / tick))
    for k in range(ticks + 1):
        v = low + k * tick
        y = y_of(v)
        out.append(f'<line x1="{left:.1f}" y1="{y:.1f}" x2="{left + plot_w:.1f}" y2="{y:.1f}" '
                   f'stroke="{"#57606a" if k == 0 else "#d0d7de"}" stroke-width="1"/>')
        out.append(f'<text x="{left - 4:.1f}" y="{y + 4:.1f}" text-anchor="end" '
                   f'fill="#57606a">{_e(_tick_label(v, percent, integer))}</text>')
    fmt = "%H:%M" if starts[-1] - starts[0] < 86_400_000 else "%m-%d %H:%M"

    def tip(i: int) -> str:
        value = "no data" if not math.isfinite(ys[i]) else \
            _tick_label(ys[i], percent, integer) if integer or percent else f"{ys[i]:.4g}"
        return _e(f"{_time(starts[i], fmt)} to {_time(starts[i] + step, fmt)} UTC: {value}")

    if kind == "bar":
        for i, v in enumerate(ys):
            if not math.isfinite(v):
                continue
            y = y_of(max(v, low))
            out.append(f'<rect x="{left + i * slot + slot * 0.1:.1f}" y="{y:.1f}" '
                       f'width="{max(slot * 0.8, 1):.1f}" height="{max(base - y, 0):.1f}" '
                       f'fill="{colour}"><title>{tip(i)}</title></rect>')
    else:
        segments: list[list[str]] = [[]]
        for i, v in enumerate(ys):
            if not math.isfinite(v):
                segments.append([])
                continue
            x = left + (i + 0.5) * slot
            segments[-1].append(f"{x:.1f},{y_of(v):.1f}")
            out.append(f'<circle cx="{x:.1f}" cy="{y_of(v):.1f}" r="2.5" fill="{colour}">'
                       f"<title>{tip(i)}</title></circle>")
        for points in segments:
            if len(points) > 1:
                out.append(f'<polyline points="{" ".join(points)}" fill="none" '
                           f'stroke="{colour}" stroke-width="1.5"/>')
    labels = min(n, 6)
    for j in range(labels):
        i = round(j * (n - 1) / max(labels - 1, 1))
        x = left + (i + 0.5) * slot
        out.append(f'<text x="{x:.1f}" y="{base + 14:.1f}" text-anchor="middle" '
                   f'fill="#1f2328">{_e(_time(starts[i], fmt))}</text>')
    out.append(f'<text x="{left + plot_w / 2:.1f}" y="{height - 4:.1f}" text-anchor="middle" '
               'fill="#57606a">window start (UTC)</text>')
    out.append("</svg>")
    return "\n".join(out)


def _column_bars(columns: Any) -> str:
    """Per column, its drift effect (or statistic) as a horizontal bar: red when drifted."""
    items = []
    for c in columns:
        value = c.effect if c.effect is not None else c.statistic
        try:
            v = float(value)
        except (TypeError, ValueError):
            v = math.nan
        items.append((str(c.column), v if math.isfinite(v) else 0.0, bool(c.drifted),
                      c.effect_method or c.method))
    label_w = min(max(len(name) for name, *_ in items) * 6.5 + 10, 200)
    plot_w, row_h = 360.0, 18.0
    top, _step = _nice_axis(max((v for _, v, _, _ in items), default=0.0))
    width = label_w + plot_w + 70
    height = row_h * len(items) + 30
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
           f'viewBox="0 0 {width:.0f} {height:.0f}" role="img" '
           'aria-label="drift per column" font-family="sans-serif" font-size="11">',
           "<title>drift per column</title>"]
    for i, (name, v, drifted, method) in enumerate(items):
        y = 6 + i * row_h
        short = name if len(name) <= 30 else name[:29] + "\u2026"
        w = max(v / top * plot_w, 0.0) if top > 0 else 0.0
        out.append(f'<text x="{label_w - 6:.1f}" y="{y + 12:.1f}" text-anchor="end" '
                   f'fill="#1f2328">{_e(short)}</text>')
        out.append(f'<rect x="{label_w:.1f}" y="{y + 2:.1f}" width="{w:.1f}" '
                   f'height="{row_h - 5:.1f}" fill="{_RED if drifted else _BLUE}">'
                   f"<title>{_e(f'{name}: {method} {v:.4g}, drifted: {drifted}')}</title>"
                   "</rect>")
        out.append(f'<text x="{label_w + w + 4:.1f}" y="{y + 12:.1f}" fill="#57606a">'
                   f"{_e(f'{v:.3g}')}</text>")
    out.append(f'<text x="{label_w:.1f}" y="{height - 4:.1f}" fill="#57606a">effect (red: '
               "drifted)</text>")
    out.append("</svg>")
    return "\n".join(out)
