"""Drift reports as plain data, JSON and HTML.

:class:`~modelops.entities.drift.DriftReport` draws ``to_html`` and ``_repr_html_`` through
:func:`report_to_html` here (``import modelops`` installs it); its ``to_dict`` and ``to_json``
are :func:`report_to_dict` and :func:`report_to_json`, built in ``modelops.entities``. The drift
store persists reports through :func:`report_to_json` and reads them back through
:func:`report_from_dict`.

Plain data
----------
:func:`report_to_dict` gives one key per attrs field, with the same names: nested
:class:`~modelops.entities.drift.ColumnDrift` and
:class:`~modelops.entities.drift.Histogram` become dicts, tuples become lists, the summary
mappings plain dicts, numpy scalars Python ``int`` / ``float``. Floats are kept as they are,
NaN and ±inf included (Python's :mod:`json` would write them as the non-standard ``NaN`` and
``Infinity``; :func:`report_to_json` does not, see below).

:func:`report_from_dict` is the exact inverse: ``report_from_dict(report_to_dict(r)) == r``
for every report whose floats are finite (NaN never equals itself, so a report holding NaN
cannot compare equal to anything, its copy included). Keys it does not know are ignored, so a
report written by a newer version that added a field still reads; a missing key takes the
field's default, and a missing required key raises
:class:`~modelops.errors.InvalidInput`.

JSON and non-finite floats
--------------------------
:func:`report_to_json` writes strict JSON (RFC 8259): every non-finite float (NaN, ``inf``,
``-inf``) is written as ``null``. Reading it back with :func:`report_from_dict` restores

- ``null`` in a field that is always a float (``share``, ``drift_share``, ``statistic``,
  ``threshold``, ``missing_share_*``), in a summary value and in a histogram share as NaN;
- ``null`` as the first histogram edge as ``-inf``, as the last one as ``inf`` (edges are
  sorted, so nothing else fits there), and elsewhere among the edges as NaN;
- ``null`` in an optional float (``pvalue``, ``effect``, ``min_effect``) as ``None``.

So ``report_from_dict(json.loads(report_to_json(r))) == r`` for every report whose floats are
finite, and for open-ended histogram edges; an infinite statistic comes back as NaN and a NaN
p-value as ``None``.

HTML
----
:func:`report_to_html` builds the page as a string: no matplotlib, no external CSS, script,
font or image, so the file opens offline and renders in notebooks. Every string that comes
from the user or the data (model name, column names, methods, reasons, category labels,
summary keys) is escaped with :func:`html.escape`.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from modelops._html import escape as _e
from modelops._html import nice_axis as _nice_axis
from modelops._html import num as _num
from modelops._html import pct as _pct
from modelops._html import utc_time as _time
from modelops._html import write_page
from modelops.entities.drift import ColumnDrift, DriftReport, Histogram
from modelops.entities.drift_codec import report_from_dict, report_to_dict, report_to_json
from modelops.errors import InvalidInput

__all__ = ["report_from_dict", "report_to_dict", "report_to_html", "report_to_json"]


# ---------------------------------------------------------------------------------------------
# plain data


_REFERENCE_COLOUR = "#4c72b0"
_CURRENT_COLOUR = "#dd8452"
_ROOT = "mo-drift-report"
_CORRECTIONS = {"bh": "Benjamini-Hochberg over the columns", "bonferroni":
                "Bonferroni over the columns", "none": "none (each column alone)"}

_CSS = """
.@ {font-family: -apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, Helvetica, Arial,
  sans-serif; font-size: 14px; line-height: 1.4; color: #1f2328; max-width: 1200px;}
.@ h1 {font-size: 1.5em; margin: 0.2em 0 0.4em;}
.@ h2 {font-size: 1.2em; margin: 1.2em 0 0.5em; border-bottom: 1px solid #d0d7de;}
.@ h3 {font-size: 1.05em; margin: 0 0 0.4em; word-break: break-all;}
.@ .mo-meta {display: grid; grid-template-columns: max-content auto; gap: 2px 16px;
  margin: 0 0 0.8em;}
.@ .mo-meta dt {color: #57606a;}
.@ .mo-meta dd {margin: 0;}
.@ .mo-verdict {padding: 8px 12px; border-radius: 6px; margin: 0.6em 0;
  border: 1px solid;}
.@ .mo-verdict.mo-bad {background: #ffebe9; border-color: #ff8182;}
.@ .mo-verdict.mo-good {background: #dafbe1; border-color: #4ac26b;}
.@ .mo-verdict strong {font-size: 1.1em;}
.@ table {border-collapse: collapse; margin: 0.3em 0;}
.@ th, .@ td {border: 1px solid #d0d7de; padding: 3px 7px; text-align: left;
  vertical-align: top;}
.@ th {background: #f6f8fa;}
.@ td.mo-num {text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap;}
.@ tr.mo-drifted td {background: #fff5f5;}
.@ .mo-yes {color: #a40e26; font-weight: 600;}
.@ .mo-no {color: #1a7f37;}
.@ .mo-reason {color: #57606a; max-width: 32em;}
.@ .mo-col {border: 1px solid #d0d7de; border-radius: 6px; padding: 8px 12px;
  margin: 10px 0;}
.@ .mo-col.mo-drifted {border-color: #ff8182;}
.@ .mo-col-body {display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-start;}
.@ .mo-sub {color: #57606a; font-weight: normal; font-size: 0.9em;}
.@ .mo-note {color: #57606a; margin: 0.3em 0;}
.@ svg {max-width: 100%; height: auto;}
.@ code {background: #f6f8fa; padding: 0 3px; border-radius: 3px;}
""".replace(".@", "." + _ROOT)   # every selector starts at the root class


def report_to_html(report: DriftReport, path: str | Path | None = None,
                   standalone: bool = True) -> str:
    """The report as HTML; written to ``path`` (UTF-8) when given. Returns the HTML.

    ``standalone=True`` gives a whole page (``<!DOCTYPE html>`` … ``</html>``) that opens
    offline: its styles are inline and its charts inline SVG, nothing is fetched.
    ``standalone=False`` gives a fragment for notebooks: one ``<div>`` holding its own
    ``<style>``, whose selectors all start with the report's root class, so nothing outside
    it is restyled (the page has the same styles in its ``<head>``).

    The page holds a header (model, time, rows, method, correction), the dataset verdict, the
    missing and new columns, a summary table with one row per column (target and prediction
    included, with their role) and one section per column: a histogram of the reference and
    current shares, the reference and current summaries, unseen categories and the reason.
    """
    if not isinstance(report, DriftReport):
        raise InvalidInput(f"expected a DriftReport, got {type(report).__name__}",
                           field="report")
    body = _fragment(report, style=not standalone)
    if standalone:
        title = f"Drift report: {report.name}"
        text = ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                f"<title>{_e(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n")
    else:
        text = body
    if path is not None:
        write_page(path, text)
    return text


def _all_columns(report: DriftReport) -> list[ColumnDrift]:
    columns = list(report.columns)
    for extra in (report.target, report.prediction):
        if extra is not None and not any(c is extra or c == extra for c in columns):
            columns.append(extra)
    return columns


def effect_ratio(c: ColumnDrift) -> float | None:
    """How far a column is from drifting, on one scale for every method: its effect over
    the smallest effect that counts (Wasserstein σ over its floor, total variation over its
    floor …); for a named distance its value over its threshold; for a named test
    log(p) / log(alpha). 1 is the line a drifted column crosses; None when not judged."""
    if not c.judged:
        return None
    if c.effect is not None and c.min_effect:
        return float(c.effect) / float(c.min_effect)
    if c.pvalue is None:
        return float(c.statistic) / c.threshold if c.threshold > 0 else None
    p = float(c.raw_pvalue if c.raw_pvalue is not None else c.pvalue)
    if not 0 < c.threshold < 1:
        return None
    return math.log(max(p, 1e-300)) / math.log(c.threshold)


def by_drift(columns: Iterable[ColumnDrift]) -> list[ColumnDrift]:
    """Columns drifted first, then by how far over (or under) their threshold they are."""
    return sorted(columns, key=lambda c: (not c.drifted, -(effect_ratio(c) or -1.0)))


def _fragment(report: DriftReport, style: bool) -> str:
    seed = f"{report.report_id}\0{report.name}\0{report.created_time}".encode()
    uid = "mo" + hashlib.sha1(seed, usedforsecurity=False).hexdigest()[:8]
    columns = by_drift(_all_columns(report))
    out: list[str] = [f'<div class="{_ROOT}" id="{uid}">']
    if style:
        out.append(f"<style>{_CSS}</style>")
    out.append(_header(report))
    out.append(_verdict(report))
    out.append(_data_summary(report))
    out.append(_column_sets(report))
    out.append("<h2>Columns</h2>")
    if columns:
        out.append(effect_bars(columns))
        out.append(_summary_table(columns, uid))
        out.append("<h2>Details</h2>")
        for i, c in enumerate(columns):
            out.append(_column_section(c, f"{uid}-c{i}"))
    else:
        out.append('<p class="mo-note">The report has no columns.</p>')
    out.append("</div>")
    return "\n".join(s for s in out if s)


def _header(report: DriftReport) -> str:
    rows = [
        ("Created", _time(report.created_time) if report.created_time else "unknown"),
        ("Rows", f"reference {_count(report.n_reference)} &middot; current "
                 f"{_count(report.n_current)}"),
        ("Method", _e(report.method)),
        ("Correction", _CORRECTIONS.get(report.correction or "none",
                                        _e(report.correction))),
    ]
    if report.report_id:
        rows.append(("Report", f"<code>{_e(report.report_id)}</code>"))
    if report.profile_id:
        rows.append(("Reference profile", f"<code>{_e(report.profile_id)}</code>"))
    items = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in rows)
    return f"<h1>Drift report: {_e(report.name)}</h1>\n<dl class=\"mo-meta\">{items}</dl>"


def _count(n: Any) -> str:
    try:
        return f"{int(n):,}"
    except (TypeError, ValueError, OverflowError):
        return _e(n)


def _verdict(report: DriftReport) -> str:
    n = sum(1 for c in report.columns if c.judged)
    k = sum(1 for c in report.columns if c.drifted)
    if report.drifted:
        head, cls = "Dataset drift detected", "mo-bad"
    else:
        head, cls = "No dataset drift", "mo-good"
    detail = (f"{k} of {n} judged feature column{'' if n == 1 else 's'} drifted "
              f"(share {_pct(report.share)}); the dataset counts as drifted when the share "
              f"reaches {_pct(report.drift_share)}.")
    lines = [f"<strong>{head}</strong>", detail]
    for role, c in (("Target", report.target), ("Prediction", report.prediction)):
        if c is not None:
            state = ('<span class="mo-yes">drifted</span>' if c.drifted
                     else '<span class="mo-no">not drifted</span>')
            lines.append(f"{role} <code>{_e(c.column)}</code>: {state}.")
    return f'<div class="mo-verdict {cls}">' + "<br>".join(lines) + "</div>"


def _data_summary(report: DriftReport) -> str:
    """One table row each: rows, missing values, new categories, of both samples."""
    columns = _all_columns(report)
    ref_missing = sum(c.missing_share_reference for c in columns) / len(columns) \
        if columns else 0.0
    cur_missing = sum(c.missing_share_current for c in columns) / len(columns) \
        if columns else 0.0
    unseen = [c for c in columns if c.unseen_categories]
    new = sum(len(c.unseen_categories) for c in unseen)
    judged = sum(1 for c in report.columns if c.judged)
    rows = [("rows", _count(report.n_reference), _count(report.n_current), ""),
            ("missing values (mean share per column)", _pct(ref_missing),
             _pct(cur_missing), ""),
            ("new categories", "", _count(new),
             f"in {len(unseen)} column{'' if len(unseen) == 1 else 's'}" if unseen else ""),
            ("features judged", "", f"{judged:,} of {len(report.columns):,}",
             f"a column needs {report.min_rows:,} non-missing values" if report.min_rows
             else "")]
    body = "".join(f"<tr><th>{k}</th><td class=\"mo-num\">{a}</td><td class=\"mo-num\">{b}"
                   f"</td><td class=\"mo-note\">{_e(note)}</td></tr>" for k, a, b, note in rows)
    return ("<table class=\"mo-summary\"><thead><tr><th></th><th>reference</th>"
            f"<th>current</th><th></th></tr></thead><tbody>{body}</tbody></table>")


def _column_sets(report: DriftReport) -> str:
    out = []
    if report.missing_columns:
        out.append("<p><strong>Missing columns</strong> (in the reference, not in the "
                   "current data): " + _names(report.missing_columns) + "</p>")
    if report.new_columns:
        out.append("<p><strong>New columns</strong> (in the current data, not in the "
                   "reference): " + _names(report.new_columns) + "</p>")
    return "\n".join(out)


def _names(names: Iterable[Any]) -> str:
    return ", ".join(f"<code>{_e(n)}</code>" for n in names)


def _summary_table(columns: list[ColumnDrift], uid: str) -> str:
    head = ("<tr><th>Column</th><th>Kind</th><th>Role</th><th>Method</th><th>Statistic</th>"
            "<th>p-value</th><th>Threshold</th><th>Effect</th><th>Min effect</th>"
            "<th>Drifted</th><th>Reason</th></tr>")
    rows = [f"<table>\n<thead>{head}</thead>\n<tbody>"]
    for i, c in enumerate(columns):
        effect = _num(c.effect)
        if c.effect is not None and c.effect_method:
            effect += f' <span class="mo-sub">({_e(c.effect_method)})</span>'
        row_class = ' class="mo-drifted"' if c.drifted else ""
        rows.append(
            f"<tr{row_class}>"
            f'<td><a href="#{uid}-c{i}">{_e(c.column)}</a></td>'
            f"<td>{_e(c.kind)}</td><td>{_e(c.role)}</td><td>{_e(c.method)}</td>"
            f'<td class="mo-num">{_num(c.statistic)}</td>'
            f'<td class="mo-num">{_num(c.pvalue)}</td>'
            f'<td class="mo-num">{_num(c.threshold)}</td>'
            f'<td class="mo-num">{effect}</td>'
            f'<td class="mo-num">{_num(c.min_effect)}</td>'
            f"<td>{_drifted(c.drifted, c.judged)}</td>"
            f'<td class="mo-reason">{_e(c.reason)}</td></tr>')
    rows.append("</tbody>\n</table>")
    return "\n".join(rows)


def _drifted(flag: bool, judged: bool = True) -> str:
    if not judged:
        return '<span class="mo-sub">not judged</span>'
    return '<span class="mo-yes">yes</span>' if flag else '<span class="mo-no">no</span>'


def _column_section(c: ColumnDrift, anchor: str) -> str:
    cls = "mo-col mo-drifted" if c.drifted else "mo-col"
    state = ('<span class="mo-yes">drifted</span>' if c.drifted
             else '<span class="mo-no">not drifted</span>' if c.judged
             else '<span class="mo-sub">not judged</span>')
    out = [f'<section class="{cls}" id="{anchor}">',
           f'<h3>{_e(c.column)} <span class="mo-sub">{_e(c.kind)} &middot; {_e(c.role)} '
           f"&middot; {_e(c.method)}</span> &mdash; {state}</h3>",
           '<div class="mo-col-body">']
    if c.histogram is not None:
        out.append(_histogram_svg(c.histogram, c.column, c.kind))
    else:
        out.append('<p class="mo-note">No histogram.</p>')
    out.append(_summaries(c))
    out.append("</div>")
    if c.unseen_categories:
        out.append(_unseen(c.unseen_categories))
    if c.reason:
        out.append(f'<p class="mo-reason">{_e(c.reason)}</p>')
    out.append("</section>")
    return "\n".join(out)


def _summaries(c: ColumnDrift) -> str:
    keys = list(c.reference_summary)
    keys += [k for k in c.current_summary if k not in c.reference_summary]
    keys = [k for k in keys if k not in ("count", "missing_share")]   # the first two rows
    rows = ["<table>", "<thead><tr><th></th><th>reference</th><th>current</th></tr></thead>",
            "<tbody>",
            f'<tr><th>rows</th><td class="mo-num">{_num(c.n_reference)}</td>'
            f'<td class="mo-num">{_num(c.n_current)}</td></tr>',
            f'<tr><th>missing</th><td class="mo-num">{_pct(c.missing_share_reference)}</td>'
            f'<td class="mo-num">{_pct(c.missing_share_current)}</td></tr>']
    for k in keys:
        rows.append(f'<tr><th>{_e(k)}</th>'
                    f'<td class="mo-num">{_num(c.reference_summary.get(k))}</td>'
                    f'<td class="mo-num">{_num(c.current_summary.get(k))}</td></tr>')
    rows.append("</tbody></table>")
    return "\n".join(rows)


_UNSEEN_SHOWN = 30


def _unseen(categories: tuple[str, ...]) -> str:
    shown = ", ".join(f"<code>{_e(_short(v, 40))}</code>" for v in categories[:_UNSEEN_SHOWN])
    more = len(categories) - _UNSEEN_SHOWN
    if more > 0:
        shown += f" and {more:,} more"
    n = len(categories)
    return (f"<p><strong>{n:,} categor{'y' if n == 1 else 'ies'} unseen in the reference:"
            f"</strong> {shown}</p>")


def _short(text: Any, limit: int) -> str:
    s = str(text)
    return s if len(s) <= limit else s[: limit - 1] + "\u2026"


# --- the charts --------------------------------------------------------------------------------

_BARS_SHOWN = 40
_RATIO_CAP = 5.0           # bars longer than 5× their threshold are drawn at 5× (labelled)
_UNITS = {"wasserstein": " σ"}


def _effect_text(c: ColumnDrift) -> str:
    if not c.judged:
        return "not judged"
    if c.effect is not None and c.min_effect is not None:
        unit = _UNITS.get(c.effect_method or "", "")
        return (f"{c.effect_method or 'effect'} {c.effect:.3g}{unit} (counts from "
                f"{c.min_effect:g}{unit})")
    if c.pvalue is None:
        return f"{c.method} {c.statistic:.3g} (threshold {c.threshold:g})"
    p = c.raw_pvalue if c.raw_pvalue is not None else c.pvalue
    return f"{c.method} p={p:.3g} (alpha {c.threshold:g})"


def effect_bars(columns: Iterable[ColumnDrift]) -> str:
    """Each column's effect over its own threshold (:func:`effect_ratio`) as a bar, drifted
    columns red, with the line at 1 every drifted column crosses: one axis for Wasserstein
    σ, total variation and every other statistic, each measured against its own threshold."""
    items = list(columns)
    shown, hidden = items[:_BARS_SHOWN], len(items) - _BARS_SHOWN
    ratios = [effect_ratio(c) for c in shown]
    top = min(max([r for r in ratios if r is not None] + [1.5]), _RATIO_CAP)
    top, _ = _nice_axis(top)
    label_w = min(max(len(str(c.column)) for c in shown) * _CHAR_WIDTH + 12, 220)
    plot_w, row_h, text_w = 300.0, 18.0, 420.0
    width = label_w + plot_w + text_w
    height = row_h * len(shown) + 40 + (16 if hidden > 0 else 0)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
           f'viewBox="0 0 {width:.0f} {height:.0f}" role="img" '
           'aria-label="drift of each column against its threshold" font-family="sans-serif" '
           'font-size="11">', "<title>drift of each column against its threshold</title>"]
    base = 8 + row_h * len(shown)
    for k in range(int(top) + 1):
        x = label_w + k / top * plot_w
        line = 'stroke="#cf222e" stroke-width="2" stroke-dasharray="4 3"' if k == 1 else \
            'stroke="#d0d7de" stroke-width="1"'
        out.append(f'<line x1="{x:.1f}" y1="4" x2="{x:.1f}" y2="{base:.1f}" {line}/>')
        out.append(f'<text x="{x:.1f}" y="{base + 13:.1f}" text-anchor="middle" '
                   f'fill="#57606a">{k}&times;</text>')
    for i, (c, ratio) in enumerate(zip(shown, ratios)):
        y = 6 + i * row_h
        name = _short(c.column, 34)
        out.append(f'<text x="{label_w - 6:.1f}" y="{y + 12:.1f}" text-anchor="end" '
                   f'fill="#1f2328">{_e(name)}</text>')
        text = _effect_text(c)
        if ratio is not None:
            w = min(max(ratio, 0.0), top) / top * plot_w
            colour = "#cf222e" if c.drifted else _REFERENCE_COLOUR
            out.append(f'<rect x="{label_w:.1f}" y="{y + 2:.1f}" width="{w:.1f}" '
                       f'height="{row_h - 5:.1f}" fill="{colour}"><title>'
                       f"{_e(f'{c.column}: {text}; {ratio:.3g}× its threshold')}</title></rect>")
            text = f"{ratio:.2g}× — {text}" + (" (beyond the axis)" if ratio > top else "")
        out.append(f'<text x="{label_w + plot_w + 6:.1f}" y="{y + 12:.1f}" fill="#57606a">'
                   f"{_e(_short(text, 72))}</text>")
    out.append(f'<text x="{label_w + plot_w / 2:.1f}" y="{base + 28:.1f}" text-anchor="middle" '
               'fill="#57606a">effect &divide; its threshold (the dashed line: drift, when the '
               "test agrees)</text>")
    if hidden > 0:
        out.append(f'<text x="{label_w:.1f}" y="{height - 4:.1f}" fill="#57606a">and '
                   f"{hidden:,} more columns in the table below</text>")
    out.append("</svg>")
    return "\n".join(out)


_PLOT_HEIGHT = 150
_CHAR_WIDTH = 6.2          # px per character of an 11px sans-serif label, roughly
_LABEL_CHARS = 12          # longer labels are cut, with an ellipsis; the full text is a tooltip
_ROTATED_STEP = 14         # px between two rotated labels


def _histogram_svg(h: Histogram, column: str, kind: str) -> str:
    """Reference and current shares side by side per bin, as inline SVG."""
    n = min(len(h.labels), len(h.reference), len(h.current))
    # whole-number bins are labelled by the values they hold, like categories
    numeric = h.edges is not None and len(h.edges) == n + 1 and h.scale != "integer"
    if n == 0:
        return '<p class="mo-note">Empty histogram.</p>'
    ref = [_share(v) for v in h.reference[:n]]
    cur = [_share(v) for v in h.current[:n]]
    top, tick = _nice_axis(max(ref + cur))

    # x-axis labels: bin labels at bin centres, or edge values at bin boundaries
    if numeric:
        texts = [_edge_label(e) for e in h.edges]          # type: ignore[union-attr]
    else:
        texts = [_short(label, _LABEL_CHARS) for label in h.labels[:n]]
    longest = max(len(t) for t in texts)
    plot_w = float(min(max(n * 26, 260), 680))
    slots = len(texts) - 1 if numeric else len(texts)
    spacing = plot_w / max(slots, 1)
    rotate = longest * _CHAR_WIDTH + 6 > spacing
    step = max(1, math.ceil(_ROTATED_STEP / spacing)) if rotate else 1
    label_h = longest * _CHAR_WIDTH * 0.72 + 14 if rotate else 16

    left = max(58.0, longest * _CHAR_WIDTH * 0.72 + 8) if rotate else 58.0
    right, top_pad = 14.0, 26.0
    bottom = label_h + 22
    width = left + plot_w + right
    height = top_pad + _PLOT_HEIGHT + bottom
    base = top_pad + _PLOT_HEIGHT
    group = plot_w / n
    bar = group * 0.4
    pad = group * 0.1

    title = f"Histogram of {column}: reference and current shares"
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
           f'viewBox="0 0 {width:.0f} {height:.0f}" role="img" aria-label="{_e(title)}" '
           'font-family="sans-serif" font-size="11">',
           f"<title>{_e(title)}</title>"]
    # y axis: a gridline per tick, from 0 to the top
    ticks = round(top / tick)
    for k in range(ticks + 1):
        y = base - k / ticks * _PLOT_HEIGHT
        out.append(f'<line x1="{left:.1f}" y1="{y:.1f}" x2="{left + plot_w:.1f}" y2="{y:.1f}" '
                   f'stroke="{"#57606a" if k == 0 else "#d0d7de"}" stroke-width="1"/>')
        out.append(f'<text x="{left - 4:.1f}" y="{y + 4:.1f}" text-anchor="end" '
                   f'fill="#57606a">{_pct(k * tick)}</text>')
    mid = top_pad + _PLOT_HEIGHT / 2
    out.append(f'<text x="12" y="{mid:.1f}" text-anchor="middle" fill="#57606a" '
               f'transform="rotate(-90 12 {mid:.1f})">share</text>')
    # bars, one group per bin, with a tooltip
    for i in range(n):
        x0 = left + i * group + pad
        tip = (f"{_bin_name(h, i, numeric)}: reference {_pct(ref[i])}, "
               f"current {_pct(cur[i])}")
        out.append(f"<g><title>{_e(tip)}</title>")
        for j, (v, colour) in enumerate(((ref[i], _REFERENCE_COLOUR),
                                         (cur[i], _CURRENT_COLOUR))):
            bh = min(v / top, 1.0) * _PLOT_HEIGHT
            out.append(f'<rect x="{x0 + j * bar:.1f}" y="{base - bh:.1f}" width="{bar:.1f}" '
                       f'height="{bh:.1f}" fill="{colour}"/>')
        out.append("</g>")
    # x labels
    label_y = base + 13
    for i, t in enumerate(texts):
        if i % step:
            continue
        x = left + (i * group if numeric else (i + 0.5) * group)
        if rotate:
            out.append(f'<text x="{x:.1f}" y="{label_y:.1f}" text-anchor="end" fill="#1f2328" '
                       f'transform="rotate(-45 {x:.1f} {label_y:.1f})">{_e(t)}</text>')
        else:
            out.append(f'<text x="{x:.1f}" y="{label_y:.1f}" text-anchor="middle" '
                       f'fill="#1f2328">{_e(t)}</text>')
    axis = "value" if numeric else ("value" if kind in ("numeric", "binary") else "category")
    if h.scale == "log":
        axis = "value (log scale: bins of equal ratios)"
    out.append(f'<text x="{left + plot_w / 2:.1f}" y="{height - 4:.1f}" text-anchor="middle" '
               f'fill="#57606a">{axis}</text>')
    # legend
    lx = left + plot_w - 150
    for j, (name, colour) in enumerate((("reference", _REFERENCE_COLOUR),
                                        ("current", _CURRENT_COLOUR))):
        x = lx + j * 80
        out.append(f'<rect x="{x:.1f}" y="8" width="10" height="10" fill="{colour}"/>')
        out.append(f'<text x="{x + 14:.1f}" y="17" fill="#1f2328">{name}</text>')
    out.append("</svg>")
    return "\n".join(out)


def _share(value: Any) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return 0.0
    return x if math.isfinite(x) and x > 0 else 0.0


def _edge_label(edge: Any) -> str:
    try:
        x = float(edge)
    except (TypeError, ValueError):
        return _short(edge, _LABEL_CHARS)
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "\u221e" if x > 0 else "\u2212\u221e"
    return f"{x:.3g}"


def _bin_name(h: Histogram, i: int, numeric: bool) -> str:
    if numeric:
        lo, hi = h.edges[i], h.edges[i + 1]                 # type: ignore[index]
        return f"[{_edge_label(lo)}, {_edge_label(hi)})"
    return str(h.labels[i])
