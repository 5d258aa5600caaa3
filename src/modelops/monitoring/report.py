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
from modelops._html import write_page
from modelops.entities import FrozenDict, freeze
from modelops.entities.plain import finite_or_none, to_plain
from modelops.metrics import higher_is_better
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
    ``error_rate``, ``latency_p50``, ``latency_p99``, ``drift_share`` (NaN where a window
    has too little data, or there is no reference) and ``drift_columns`` (each feature's
    drift effect over its threshold per window). ``curves`` holds what the charts of
    predictions against actuals draw (``modelops.monitoring.curves``).
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
    curves: FrozenDict[str, Any] = attrs.field(factory=FrozenDict, converter=freeze)
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
            "curves": to_plain(self.curves),
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
            write_page(path, text)
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
    out.append(_against_actuals(r))
    out.append("<h2>Drift</h2>")
    out.append(_drift(r.drift))
    out.append(_drift_over_time(r))
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


#: A window with feedback for fewer than this share of its predictions is "feedback
#: pending": its metrics are marked, not read as a drop.
PENDING_SHARE = 0.5


def _charts(r: MonitoringReport) -> str:
    t = r.trend
    starts = list(t.get("starts", ()))
    if not starts:
        return '<p class="mo-note">No windows.</p>'
    step = starts[1] - starts[0] if len(starts) > 1 else r.until - starts[0]
    volume = _finite(t.get("volume", ()))
    feedback = _finite(t.get("feedback", ()))
    pending = [v > 0 and f < PENDING_SHARE * v for v, f in zip(volume, feedback)]
    changes = {c.metric: c for c in (r.degradation.changes if r.degradation else ())}
    figures = [_figure(f"Predictions per {r.trend_window}",
                       _time_chart(starts, step, t.get("volume", ()), "bar", _BLUE,
                                   "predictions", integer=True))]
    metric = r.trend_metric
    names = [metric] + [n for n in ("f1", "roc_auc", "rmse") if n != metric]
    for name in names:
        if name not in t or name == "volume":
            continue
        values = _finite(t[name])
        if not any(math.isfinite(v) for v in values):
            continue
        c = changes.get(name)
        lines = []
        if c is not None:
            limit = c.baseline - c.threshold if higher_is_better(name) else \
                c.baseline + c.threshold
            lines = [(c.baseline, "baseline", "#1a7f37"), (limit, "degraded beyond", _RED)]
        figures.append(_figure(
            f"{name} per {r.trend_window}",
            _time_chart(starts, step, values, "line", _ORANGE if name == metric else _BLUE,
                        name, lines=lines, pending=pending)))
    for name, label, colour, pct in (("error_rate", "error rate", _RED, True),
                                     ("latency_p99", "p99 latency (ms)", _ORANGE, False),
                                     ("drift_share", "share of drifted features", _RED, True)):
        if name not in t:
            continue
        values = _finite(t[name])
        if not any(math.isfinite(v) for v in values):
            continue
        figures.append(_figure(f"{label} per {r.trend_window}",
                               _time_chart(starts, step, values, "line", colour, label,
                                           percent=pct)))
    if r.estimated is not None:
        figures.append(_estimated_chart(r.estimated))
    note = ""
    if any(pending):
        note = ('<p class="mo-note">Hatched windows: feedback pending (fewer than '
                f"{PENDING_SHARE:.0%} of their predictions have feedback yet); their metrics "
                "are provisional.</p>")
    return '<div class="mo-charts">' + "\n".join(figures) + "</div>" + note


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
        out.append(f"<p>Dataset {state}: {len(rep.drifted_columns)} of "
                   f"{len(rep.judged_columns)} judged features drifted (share "
                   f"{_pct(rep.share)}, drifted from "
                   f"{_pct(rep.drift_share)}) against reference <code>{_e(d.reference_id)}"
                   "</code>.</p>")
        if rep.columns:
            from modelops.drift.report import by_drift, effect_bars

            columns = by_drift(rep.columns)
            out.append(effect_bars(columns))
            rows = ["<table><thead><tr><th>Column</th><th>Kind</th><th>Method</th>"
                    "<th>Statistic</th><th>p-value</th><th>Effect</th><th>Drifted</th></tr>"
                    "</thead><tbody>"]
            for c in columns:
                state = '<span class="mo-yes">yes</span>' if c.drifted else \
                    '<span class="mo-no">no</span>' if c.judged else "not judged"
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
                label: str, *, percent: bool = False, integer: bool = False,
                lines: list[tuple[float, str, str]] = (),  # type: ignore[assignment]
                pending: list[bool] = ()) -> str:  # type: ignore[assignment]
    """Values per window against time, as an inline SVG bar or line chart; NaN is a gap.
    ``lines``: horizontal reference lines (value, label, colour) such as a baseline and the
    threshold beyond which it degrades; ``pending``: windows hatched as feedback pending."""
    ys = _finite(values)
    n = len(ys)
    finite = [v for v in ys if math.isfinite(v)]
    marks = [v for v, _, _ in lines if math.isfinite(v)]
    low = min(0.0, min(finite + marks, default=0.0))
    if lines and finite:
        # a metric against its baseline: the axis spans the data and the lines, not 0 to 1
        span = max(finite + marks) - min(finite + marks)
        _, tick = _nice_axis(max(span, 1e-9) * 1.25)
        low = math.floor((min(finite + marks) - 0.1 * span) / tick) * tick
    top, tick = _nice_axis(max(finite + marks, default=0.0) - low)
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
    if any(pending):
        out.append('<defs><pattern id="mo-pending" width="6" height="6" '
                   'patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
                   '<line x1="0" y1="0" x2="0" y2="6" stroke="#d4a72c" stroke-width="2"/>'
                   "</pattern></defs>")
        for i, waiting in enumerate(pending[:n]):
            if waiting:
                out.append(f'<rect x="{left + i * slot:.1f}" y="{pad_top:.1f}" '
                           f'width="{slot:.1f}" height="{_PLOT_H:.1f}" fill="url(#mo-pending)" '
                           'opacity="0.35"><title>feedback pending</title></rect>')
    for k, (value, name, line_colour) in enumerate(lines):
        if not math.isfinite(value):
            continue
        y = y_of(value)
        out.append(f'<line x1="{left:.1f}" y1="{y:.1f}" x2="{left + plot_w:.1f}" y2="{y:.1f}" '
                   f'stroke="{line_colour}" stroke-width="1.5" stroke-dasharray="5 3"/>')
        # the first label above its line at the right, the next below its line at the left
        x, anchor, dy = (left + plot_w - 2, "end", -3) if k % 2 == 0 else (left + 2, "start",
                                                                             11)
        out.append(f'<text x="{x:.1f}" y="{y + dy:.1f}" text-anchor="{anchor}" '
                   f'fill="{line_colour}">{_e(name)} {value:.4g}</text>')

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


# -- predictions against actuals --------------------------------------------------------------


def _against_actuals(r: MonitoringReport) -> str:
    c = r.curves
    if not c:
        return ""
    figures = []
    if "confusion" in c:
        figures.append(_figure("Confusion matrix (rows: actual, columns: predicted)",
                               _confusion(c["confusion"])))
    if "roc" in c:
        roc = c["roc"]
        figures.append(_figure(f"ROC curve (AUC {roc['auc']:.3f})", _xy_chart(
            [(roc["fpr"], roc["tpr"], _BLUE, "ROC")], "false positive rate",
            "true positive rate", diagonal=True)))
    if "pr" in c:
        pr = c["pr"]
        figures.append(_figure("Precision-recall curve", _xy_chart(
            [(pr["recall"], pr["precision"], _BLUE, "precision")], "recall", "precision",
            level=(pr["prevalence"], "share of positives"))))
    if "calibration" in c:
        cal = c["calibration"]
        figures.append(_figure("Calibration (ten bins of the probability)", _xy_chart(
            [(cal["predicted"], cal["observed"], _ORANGE, "observed")],
            "mean predicted probability", "share of positives", diagonal=True,
            points=cal["count"])))
    if "scores" in c:
        h = c["scores"]
        figures.append(_figure(f"Scores by actual class (positive: {c.get('positive')})",
                               _histogram(h["edges"], [(h["negative"], _BLUE, "negative"),
                                                       (h["positive"], _ORANGE, "positive")],
                                          "score")))
    if "errors" in c:
        h = c["errors"]
        figures.append(_figure("Errors (predicted − actual)",
                               _histogram(h["edges"], [(h["counts"], _BLUE, "predictions")],
                                          "error")))
    if "scatter" in c:
        sc = c["scatter"]
        shown = len(sc["actual"])
        figures.append(_figure(
            f"Predicted against actual ({shown:,} of {sc['n']:,} predictions)",
            _xy_chart([(sc["actual"], sc["predicted"], _BLUE, "prediction")], "actual",
                      "predicted", diagonal=True, scatter=True)))
    return ("<h3>Predictions against actuals</h3>\n<div class=\"mo-charts\">"
            + "\n".join(figures) + "</div>")


def _confusion(data: Any) -> str:
    labels, matrix = list(data["labels"]), [list(row) for row in data["matrix"]]
    total = max(sum(sum(row) for row in matrix), 1)
    peak = max((v for row in matrix for v in row), default=1) or 1
    head = "".join(f"<th>{_e(v)}</th>" for v in labels)
    rows = [f"<table class=\"mo-confusion\"><thead><tr><th>actual \\ predicted</th>{head}"
            "</tr></thead><tbody>"]
    for label, row in zip(labels, matrix):
        cells = []
        for j, v in enumerate(row):
            strength = v / peak
            tint = f"rgba(76, 114, 176, {0.08 + 0.8 * strength:.2f})"
            colour = "#ffffff" if strength > 0.55 else "#1f2328"
            right = " mo-diag" if labels[j] == label else ""
            cells.append(f'<td class="mo-num{right}" style="background: {tint}; color: '
                         f'{colour}" title="{v:,} ({v / total:.1%})">{v:,}</td>')
        rows.append(f"<tr><th>{_e(label)}</th>{''.join(cells)}</tr>")
    rows.append("</tbody></table>")
    if data.get("others"):
        rows.append(f'<p class="mo-note">{data["others"]} rarer labels left out.</p>')
    return "\n".join(rows)


def _xy_chart(series: list[tuple[Any, Any, str, str]], x_label: str, y_label: str, *,
              diagonal: bool = False, level: tuple[float, str] | None = None,
              points: Any = None, scatter: bool = False) -> str:
    """Lines (or a scatter) of (x, y) series, as inline SVG; unit axes unless the data
    leave them (scatter)."""
    size, left, bottom, top_pad, right = 220.0, 46.0, 34.0, 8.0, 10.0
    xs = [float(v) for s in series for v in s[0]]
    ys = [float(v) for s in series for v in s[1]]
    if scatter and xs:
        lo = min(min(xs), min(ys))
        hi = max(max(xs), max(ys))
        if hi <= lo:    # one value: a unit either side of it, or of its size beyond 2**53
            pad = max(1.0, abs(lo) * 1e-6)
            lo, hi = lo - pad, hi + pad
    else:
        lo, hi = 0.0, 1.0
    width, height = left + size + right, top_pad + size + bottom

    def px(x: float) -> float:
        return left + (x - lo) / (hi - lo) * size

    def py(y: float) -> float:
        return top_pad + size - (y - lo) / (hi - lo) * size

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
           f'viewBox="0 0 {width:.0f} {height:.0f}" role="img" aria-label="{_e(y_label)} '
           f'against {_e(x_label)}" font-family="sans-serif" font-size="11">',
           f"<title>{_e(y_label)} against {_e(x_label)}</title>",
           f'<rect x="{left}" y="{top_pad}" width="{size}" height="{size}" fill="none" '
           'stroke="#d0d7de"/>']
    for k in range(5):
        v = lo + k * (hi - lo) / 4
        out.append(f'<text x="{px(v):.1f}" y="{top_pad + size + 13:.1f}" text-anchor="middle" '
                   f'fill="#57606a">{v:.3g}</text>')
        out.append(f'<text x="{left - 4:.1f}" y="{py(v) + 4:.1f}" text-anchor="end" '
                   f'fill="#57606a">{v:.3g}</text>')
    if diagonal:
        out.append(f'<line x1="{px(lo):.1f}" y1="{py(lo):.1f}" x2="{px(hi):.1f}" '
                   f'y2="{py(hi):.1f}" stroke="#8c959f" stroke-dasharray="4 3"/>')
    if level is not None:
        out.append(f'<line x1="{px(lo):.1f}" y1="{py(level[0]):.1f}" x2="{px(hi):.1f}" '
                   f'y2="{py(level[0]):.1f}" stroke="#8c959f" stroke-dasharray="4 3">'
                   f"<title>{_e(level[1])} {level[0]:.3g}</title></line>")
    for x_values, y_values, colour, _name in series:
        coords = [(px(float(x)), py(float(y))) for x, y in zip(x_values, y_values)
                  if math.isfinite(float(x)) and math.isfinite(float(y))]
        if scatter:
            out += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2" fill="{colour}" '
                    'fill-opacity="0.5"/>' for x, y in coords]
        elif coords:
            out.append(f'<polyline points="{" ".join(f"{x:.1f},{y:.1f}" for x, y in coords)}"'
                       f' fill="none" stroke="{colour}" stroke-width="1.8"/>')
        if points is not None:
            biggest = max(points) or 1
            for (x, y), count in zip(coords, points):
                r = 2.5 + 4 * math.sqrt(count / biggest)
                out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}" fill="{colour}">'
                           f"<title>{count:,} predictions</title></circle>")
    out.append(f'<text x="{left + size / 2:.1f}" y="{height - 4:.1f}" text-anchor="middle" '
               f'fill="#57606a">{_e(x_label)}</text>')
    out.append(f'<text x="11" y="{top_pad + size / 2:.1f}" text-anchor="middle" '
               f'fill="#57606a" transform="rotate(-90 11 {top_pad + size / 2:.1f})">'
               f"{_e(y_label)}</text>")
    out.append("</svg>")
    return "\n".join(out)


def _histogram(edges: Any, series: list[tuple[Any, str, str]], x_label: str) -> str:
    """Counts over bins, one series beside another, as inline SVG."""
    edges = [float(e) for e in edges]
    n = len(edges) - 1
    highest = max((float(v) for counts, _, _ in series for v in counts), default=0.0)
    top, tick = _nice_axis(highest)
    plot_w, left, bottom, pad_top = 300.0, 46.0, 34.0, 22.0
    width, height = left + plot_w + 10, pad_top + _PLOT_H + bottom
    base = pad_top + _PLOT_H
    group = plot_w / max(n, 1)
    bar = group * 0.8 / max(len(series), 1)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
           f'viewBox="0 0 {width:.0f} {height:.0f}" role="img" aria-label="histogram of '
           f'{_e(x_label)}" font-family="sans-serif" font-size="11">',
           f"<title>histogram of {_e(x_label)}</title>"]
    for k in range(round(top / tick) + 1):
        y = base - k * tick / top * _PLOT_H
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" '
                   f'stroke="{"#57606a" if k == 0 else "#d0d7de"}"/>')
        out.append(f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" fill="#57606a">'
                   f"{_e(_tick_label(k * tick, False, True))}</text>")
    for j, (counts, colour, name) in enumerate(series):
        for i, v in enumerate(counts):
            h = float(v) / top * _PLOT_H
            x = left + i * group + group * 0.1 + j * bar
            out.append(f'<rect x="{x:.1f}" y="{base - h:.1f}" width="{bar:.1f}" '
                       f'height="{h:.1f}" fill="{colour}"><title>{_e(name)} '
                       f"[{edges[i]:.3g}, {edges[i + 1]:.3g}): {int(v):,}</title></rect>")
        out.append(f'<rect x="{left + 8 + j * 90}" y="6" width="10" height="10" '
                   f'fill="{colour}"/><text x="{left + 22 + j * 90}" y="15" fill="#1f2328">'
                   f"{_e(name)}</text>")
    for k in range(5):
        i = round(k * n / 4)
        out.append(f'<text x="{left + i * group:.1f}" y="{base + 14:.1f}" text-anchor="middle" '
                   f'fill="#57606a">{edges[i]:.3g}</text>')
    out.append(f'<text x="{left + plot_w / 2:.1f}" y="{height - 4:.1f}" text-anchor="middle" '
               f'fill="#57606a">{_e(x_label)}</text>')
    out.append("</svg>")
    return "\n".join(out)


# -- drift over time --------------------------------------------------------------------------


def _drift_over_time(r: MonitoringReport) -> str:
    """Each feature's drift per window, as a heat map: red where it drifted (darker the
    further beyond its threshold), pale blue where not, grey where the window had too few
    values to judge it."""
    by_column = dict(r.trend.get("drift_columns", {}) or {})
    starts = list(r.trend.get("starts", ()))
    if not by_column or not starts:
        return ""
    values = {c: _finite(v.get("ratio", ())) for c, v in by_column.items()}
    drifted = {c: list(v.get("drifted", ())) for c, v in by_column.items()}
    if not any(math.isfinite(x) for v in values.values() for x in v):
        return ('<p class="mo-note">Drift over time: no window had enough values to judge a '
                "feature.</p>")
    order = sorted(values, key=lambda c: (-sum(map(bool, drifted[c])),
                                          -max([x for x in values[c] if math.isfinite(x)],
                                               default=-1.0)))
    shown = order[:30]
    n = len(starts)
    label_w = min(max(len(c) for c in shown) * 6.5 + 10, 200)
    cell_w, cell_h = max(min(640 / n, 28), 6), 16.0
    width, height = label_w + cell_w * n + 20, cell_h * len(shown) + 40
    fmt = "%H:%M" if starts[-1] - starts[0] < 86_400_000 else "%m-%d %H:%M"
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
           f'viewBox="0 0 {width:.0f} {height:.0f}" role="img" aria-label="drift of each '
           'feature over time" font-family="sans-serif" font-size="11">',
           "<title>drift of each feature over time</title>"]
    for row, name in enumerate(shown):
        y = 4 + row * cell_h
        short = name if len(name) <= 30 else name[:29] + "\u2026"
        out.append(f'<text x="{label_w - 6:.1f}" y="{y + 12:.1f}" text-anchor="end" '
                   f'fill="#1f2328">{_e(short)}</text>')
        for i, v in enumerate(values[name]):
            x = label_w + i * cell_w
            hit = i < len(drifted[name]) and bool(drifted[name][i])
            if not math.isfinite(v):
                fill, text = "#eaeef2", "not judged (too few values)"
            elif hit:
                fill = f"rgba(207, 34, 46, {0.35 + 0.6 * min(v, 4.0) / 4.0:.2f})"
                text = f"drifted: {v:.2g}× its threshold"
            else:
                fill = f"rgba(76, 114, 176, {0.05 + 0.3 * min(v, 2.0) / 2.0:.2f})"
                text = f"not drifted: {v:.2g}× its threshold"
            out.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{cell_w - 1:.1f}" '
                       f'height="{cell_h - 1:.1f}" fill="{fill}"><title>'
                       f"{_e(f'{name}, {_time(starts[i], fmt)} UTC: {text}')}</title></rect>")
    base = 4 + len(shown) * cell_h
    for j in range(min(n, 6)):
        i = round(j * (n - 1) / max(min(n, 6) - 1, 1))
        out.append(f'<text x="{label_w + (i + 0.5) * cell_w:.1f}" y="{base + 13:.1f}" '
                   f'text-anchor="middle" fill="#57606a">{_e(_time(starts[i], fmt))}</text>')
    out.append(f'<text x="{label_w:.1f}" y="{height - 4:.1f}" fill="#57606a">window start '
               "(UTC); red: drifted in that window (darker: further beyond its threshold); "
               "blue: not drifted; grey: too few values</text>")
    out.append("</svg>")
    more = len(order) - len(shown)
    note = f'<p class="mo-note">{more:,} more features not shown.</p>' if more > 0 else ""
    return ("<h3>Drift of each feature over time</h3>\n" + _figure(
        f"effect over its threshold per {r.trend_window}", "\n".join(out)) + note)
