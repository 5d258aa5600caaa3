"""Drift reports as plain data, strict JSON and offline HTML."""

from __future__ import annotations

import html
import json
import math
import re
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

import attrs
import numpy as np
import pytest

from modelops.drift.report import (
    report_from_dict,
    report_to_dict,
    report_to_html,
    report_to_json,
)
from modelops.entities import FrozenDict
from modelops.entities.drift import ColumnDrift, DriftReport, Histogram
from modelops.errors import InvalidInput

EVIL = "<script>alert(1)</script>"


def numeric_column(name="age", drifted=True, **kw):
    fields = dict(
        column=name, kind="numeric", method="ks", statistic=0.31, pvalue=1.5e-12,
        threshold=0.05, drifted=drifted, effect=0.42, effect_method="wasserstein",
        min_effect=0.1, reason="ks: p < 0.05 and the effect is large enough",
        n_reference=1000, n_current=800, missing_share_reference=0.0,
        missing_share_current=0.0125,
        reference_summary={"mean": 41.2, "std": 9.5, "min": 18.0, "max": 90.0},
        current_summary={"mean": 47.9, "std": 11.0, "min": 18.0, "max": 95.0},
        histogram=Histogram(labels=["[-inf, 20)", "[20, 40)", "[40, 60)", "[60, inf)"],
                            reference=[0.1, 0.4, 0.4, 0.1], current=[0.05, 0.25, 0.45, 0.25],
                            edges=[-math.inf, 20.0, 40.0, 60.0, math.inf]),
    )
    fields.update(kw)
    return ColumnDrift(**fields)


def categorical_column(name="city", drifted=False, **kw):
    fields = dict(
        column=name, kind="categorical", method="chi2", statistic=3.2, pvalue=0.36,
        threshold=0.05, drifted=drifted, reason="chi2 on 4 categories",
        n_reference=1000, n_current=800, unseen_categories=["Gdańsk", "<b>bold</b>"],
        reference_summary={"categories": 4, "top_share": 0.4},
        current_summary={"categories": 6, "top_share": 0.38},
        histogram=Histogram(labels=["Paris", "Berlin", "a very long city name indeed",
                                    "<b>bold</b>"],
                            reference=[0.4, 0.3, 0.2, 0.1], current=[0.38, 0.32, 0.2, 0.1]),
    )
    fields.update(kw)
    return ColumnDrift(**fields)


def binary_column(name="churned_before", drifted=False, **kw):
    fields = dict(
        column=name, kind="binary", method="z_proportion", statistic=1.1, pvalue=0.27,
        threshold=0.05, drifted=drifted, n_reference=1000, n_current=800,
        reference_summary={"share_1": 0.2}, current_summary={"share_1": 0.22},
        histogram=Histogram(labels=["0", "1"], reference=[0.8, 0.2], current=[0.78, 0.22]),
    )
    fields.update(kw)
    return ColumnDrift(**fields)


def make_report(**kw):
    columns = [numeric_column(), categorical_column(), binary_column(),
               numeric_column(EVIL, drifted=False, reason=f"because {EVIL}"),
               ColumnDrift(column="no_hist", kind="numeric", method="psi", statistic=0.02,
                           pvalue=None, threshold=0.1, drifted=False)]
    fields = dict(
        name="churn-model", report_id="r-123", created_time=1_700_000_000_000,
        profile_id="p-9", columns=columns, share=0.2, drifted=False, drift_share=0.5,
        method="auto", correction="bonferroni", missing_columns=["income"],
        new_columns=["shoe_size", EVIL + "2"], n_reference=1000, n_current=800,
        target=binary_column("label", drifted=True, role="target", pvalue=0.001),
        prediction=numeric_column("score", drifted=False, role="prediction"),
    )
    fields.update(kw)
    return DriftReport(**fields)


def strict_loads(text):
    return json.loads(text, parse_constant=lambda c: pytest.fail(f"non-strict JSON: {c}"))


class Tags(HTMLParser):
    """Counts start/end tags and remembers the text of <script> elements, if any."""

    VOID = {"meta", "br", "rect", "line", "hr", "img", "input", "link"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.starts: dict[str, int] = {}
        self.errors: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs_):
        self.starts[tag] = self.starts.get(tag, 0) + 1
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs_):
        self.starts[tag] = self.starts.get(tag, 0) + 1

    def handle_endtag(self, tag):
        if tag in self.VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
            if tag in self.stack:
                while self.stack.pop() != tag:
                    pass
            return
        self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def parse(text):
    p = Tags()
    p.feed(text)
    p.close()
    return p


# --- plain data ------------------------------------------------------------------------------


def test_dict_round_trip_is_exact():
    report = make_report()
    data = report_to_dict(report)
    assert report_from_dict(data) == report
    assert report.to_dict() == data


def test_dict_is_plain_data():
    data = report_to_dict(make_report())

    def walk(v):
        if isinstance(v, dict):
            assert type(v) is dict and not isinstance(v, FrozenDict)
            for k, x in v.items():
                assert type(k) is str
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)
        else:
            assert v is None or type(v) in (str, int, float, bool), (type(v), v)

    walk(data)
    assert [f.name for f in attrs.fields(DriftReport)] == list(data)
    col = data["columns"][0]
    assert col["histogram"]["edges"][0] == -math.inf
    assert col["reference_summary"] == {"mean": 41.2, "std": 9.5, "min": 18.0, "max": 90.0}
    assert data["target"]["role"] == "target"
    assert data["columns"][4]["histogram"] is None


def test_numpy_scalars_become_python_scalars():
    col = numeric_column(statistic=np.float64(0.5), n_reference=np.int64(7),
                         drifted=np.bool_(True),
                         reference_summary={"mean": np.float32(1.5), "count": np.int32(3)})
    data = report_to_dict(make_report(columns=[col]))
    c = data["columns"][0]
    assert type(c["statistic"]) is float and type(c["n_reference"]) is int
    assert type(c["drifted"]) is bool
    assert type(c["reference_summary"]["mean"]) is float
    assert type(c["reference_summary"]["count"]) is int
    strict_loads(report_to_json(make_report(columns=[col])))


def test_from_dict_rebuilds_nested_value_objects():
    back = report_from_dict(report_to_dict(make_report()))
    assert isinstance(back.columns, tuple) and isinstance(back.columns[0], ColumnDrift)
    assert isinstance(back.columns[0].histogram, Histogram)
    assert isinstance(back.columns[0].histogram.labels, tuple)
    assert isinstance(back.columns[0].reference_summary, FrozenDict)
    assert isinstance(back.target, ColumnDrift) and back.target.role == "target"
    assert back.missing_columns == ("income",)
    assert back.columns[4].histogram is None
    hash(back)                       # frozen all the way down, as the original


def test_from_dict_defaults_ignores_unknown_keys_and_refuses_missing_required():
    minimal = {"name": "m", "columns": [], "share": 0.0, "drifted": False}
    report = report_from_dict(minimal)
    assert report == DriftReport(name="m", columns=(), share=0.0, drifted=False)
    assert report_from_dict({**minimal, "added_later": 1}) == report
    with pytest.raises(InvalidInput, match="share"):
        report_from_dict({"name": "m", "columns": [], "drifted": False})
    with pytest.raises(InvalidInput, match=r"columns\[0\]"):
        report_from_dict({**minimal, "columns": [{"column": "x"}]})
    with pytest.raises(InvalidInput):
        report_from_dict([1, 2])
    with pytest.raises(InvalidInput):
        report_from_dict({**minimal, "columns": "abc"})


# --- JSON ------------------------------------------------------------------------------------


def test_json_round_trip_of_a_finite_report():
    report = make_report()
    text = report_to_json(report)
    assert report_from_dict(strict_loads(text)) == report
    assert report.to_json() == text
    assert "\n  " in text                              # indent=2 by default
    assert "\n" not in report_to_json(report, indent=None)


def test_json_is_strict_and_non_finite_floats_become_null():
    col = numeric_column(
        statistic=math.inf, pvalue=math.nan, effect=-math.inf, threshold=math.nan,
        reference_summary={"mean": math.nan, "std": 1.0},
        histogram=Histogram(labels=["a", "b"], reference=[math.nan, 1.0],
                            current=[0.5, 0.5], edges=[-math.inf, math.nan, math.inf]))
    report = make_report(columns=[col], share=math.nan)
    assert "NaN" not in report_to_json(report) and "Infinity" not in report_to_json(report)
    data = strict_loads(report_to_json(report))
    c = data["columns"][0]
    assert data["share"] is None
    assert c["statistic"] is None and c["pvalue"] is None and c["effect"] is None
    assert c["threshold"] is None
    assert c["reference_summary"] == {"mean": None, "std": 1.0}
    assert c["histogram"]["reference"] == [None, 1.0]
    assert c["histogram"]["edges"] == [None, None, None]
    # and back, by the documented rules
    back = report_from_dict(data)
    b = back.columns[0]
    assert math.isnan(back.share)
    assert math.isnan(b.statistic) and math.isnan(b.threshold)   # always-float fields: NaN
    assert b.pvalue is None and b.effect is None                 # optional fields: None
    assert math.isnan(b.reference_summary["mean"]) and b.reference_summary["std"] == 1.0
    assert math.isnan(b.histogram.reference[0])
    lo, mid, hi = b.histogram.edges
    assert lo == -math.inf and math.isnan(mid) and hi == math.inf


def test_to_dict_keeps_non_finite_floats():
    report = make_report(share=math.inf)
    assert report_to_dict(report)["share"] == math.inf


def test_open_ended_edges_survive_json():
    report = make_report()
    assert report.columns[0].histogram.edges[0] == -math.inf
    back = report_from_dict(strict_loads(report_to_json(report)))
    assert back.columns[0].histogram.edges == (-math.inf, 20.0, 40.0, 60.0, math.inf)


def test_json_is_ascii_and_keeps_strings_as_they_are():
    text = report_to_json(make_report())
    assert text.isascii()
    data = strict_loads(text)
    assert data["columns"][1]["unseen_categories"] == ["Gdańsk", "<b>bold</b>"]
    assert data["columns"][3]["column"] == EVIL                 # JSON is not HTML-escaped


# --- HTML ------------------------------------------------------------------------------------


def test_html_page_is_written_and_standalone(tmp_path):
    report = make_report()
    path = tmp_path / "report.html"
    text = report_to_html(report, str(path))
    assert path.read_text(encoding="utf-8") == text
    assert text.startswith("<!DOCTYPE html>")
    assert "<html" in text and "</html>" in text and '<meta charset="utf-8">' in text
    head = text[:text.index("</head>")]
    assert "<style>" in head and text.count("<style>") == 1     # styles in the head only
    # nothing fetched from anywhere
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", text)
    assert "@import" not in text and "url(" not in text and "<link" not in text
    assert report.to_html() == report_to_html(report, None)
    assert report.to_html(str(tmp_path / "b.html")) == text


def test_html_header_and_verdict():
    text = report_to_html(make_report(), None)
    assert "churn-model" in text
    assert "2023-11-14 22:13:20 UTC" in text            # 1_700_000_000_000 ms
    assert "1,000" in text and "800" in text
    assert "No dataset drift" in text
    assert "1 of 5 judged feature columns drifted" in text
    assert "20%" in text and "50%" in text
    assert "Bonferroni over the columns" in text
    assert "Missing columns" in text and "income" in text
    assert "New columns" in text and "shoe_size" in text
    drifted = report_to_html(make_report(drifted=True, share=0.6), None)
    assert "Dataset drift detected" in drifted and "No dataset drift" not in drifted
    plain = report_to_html(make_report(missing_columns=[], new_columns=[], correction=None),
                           None)
    assert "Missing columns" not in plain and "New columns" not in plain


def test_html_escapes_every_user_string():
    report = make_report(name=f"model {EVIL}")
    text = report_to_html(report, None)
    assert "<script" not in text.lower()
    assert html.escape(EVIL) in text
    assert html.escape("<b>bold</b>") in text and "<b>bold</b>" not in text
    p = parse(text)
    assert "script" not in p.starts
    assert EVIL in "".join(p.text)                     # shown, as text
    fragment = report_to_html(report, None, standalone=False)
    assert "<script" not in fragment.lower()


def test_html_summary_table_has_every_column_with_its_role():
    report = make_report()
    text = report_to_html(report, None)
    start = text.index("<table>\n<thead><tr><th>Column</th>")
    table = text[start:text.index("</table>", start)]
    for c in [*report.columns, report.target, report.prediction]:
        assert f">{html.escape(c.column)}</a></td>" in table
    assert table.count("<tr") == 1 + len(report.columns) + 2
    assert "<td>target</td>" in table and "<td>prediction</td>" in table
    assert table.count('class="mo-drifted"') == 2          # age and the target
    assert "1.5e-12" in table and "wasserstein" in table
    assert "Target <code>label</code>" in text


def test_html_one_svg_per_column_with_a_histogram():
    report = make_report()
    text = report_to_html(report, None)
    with_hist = [c for c in [*report.columns, report.target, report.prediction]
                 if c.histogram is not None]
    # one histogram per column that has one, and the chart of effects
    assert text.count("<svg") == len(with_hist) + 1 == 7
    assert text.count("</svg>") == 7
    assert "No histogram." in text
    # the chart: two colours, a legend, axis labels
    assert "#4c72b0" in text and "#dd8452" in text
    assert ">reference</text>" in text and ">current</text>" in text
    assert ">share</text>" in text and ">category</text>" in text
    assert ">\u2212\u221e</text>" in text and ">20</text>" in text     # numeric edges
    assert ">Paris</text>" in text
    assert "a very long…" in text                          # cut short, full text in a tooltip
    assert "a very long city name indeed: reference 20%" in text
    # summaries and unseen categories
    assert ">mean</th>" in text and "41.2" in text and "47.9" in text
    assert "unseen in the reference" in text and "Gdańsk" in text


def test_html_without_histograms_has_no_svg():
    col = ColumnDrift(column="lonely", kind="numeric", method="psi", statistic=0.5,
                      pvalue=None, threshold=0.1, drifted=True)
    report = DriftReport(name="m", columns=[col], share=1.0, drifted=True)
    text = report_to_html(report, None)
    assert text.count("<svg") == 1 and "lonely" in text and "No histogram." in text
    assert "drift of each column against its threshold" in text   # the chart of effects
    assert "Dataset drift detected" in text and "1 of 1 judged feature column drifted" in text
    assert "unknown" in text                               # created_time 0


def test_html_fragment_for_notebooks():
    report = make_report()
    fragment = report_to_html(report, None, standalone=False)
    assert report._repr_html_() == fragment
    assert "<html" not in fragment and "<head" not in fragment and "<body" not in fragment
    assert "<!DOCTYPE" not in fragment
    assert fragment.startswith('<div class="mo-drift-report"')
    assert fragment.rstrip().endswith("</div>")
    css = fragment[fragment.index("<style>") + 7:fragment.index("</style>")]
    selectors = [s.strip() for rule in re.findall(r"([^{}]+)\{", css) for s in rule.split(",")]
    assert selectors and all(s.startswith(".mo-drift-report") for s in selectors)
    assert fragment.count("<svg") == 7


@pytest.mark.parametrize("standalone", [True, False])
def test_html_is_well_formed(standalone):
    p = parse(report_to_html(make_report(), None, standalone=standalone))
    assert p.errors == []
    assert p.stack == []
    assert p.starts["svg"] == 7


def test_html_non_finite_and_missing_values_render():
    col = numeric_column(statistic=math.nan, pvalue=None, effect=math.inf,
                         reference_summary={"mean": math.nan},
                         histogram=Histogram(labels=["a", "b"], reference=[math.nan, 0.0],
                                             current=[0.0, 0.0], edges=[0.0, 1.0, 2.0]))
    text = report_to_html(make_report(columns=[col], share=math.nan), None)
    assert "NaN" in text and "&infin;" in text and "&mdash;" in text
    assert text.count("<svg") == 4           # the column, target and prediction; the effects
    assert parse(text).errors == []


def test_html_many_bins_are_thinned_and_rotated():
    n = 120
    labels = [f"category number {i}" for i in range(n)]
    shares = [1 / n] * n
    col = categorical_column(histogram=Histogram(labels=labels, reference=shares,
                                                 current=shares))
    text = report_to_html(make_report(columns=[col]), None)
    start = text.rindex("<svg", 0, text.index(">category nu"))   # this column's histogram
    svg = text[start:text.index("</svg>", start)]
    assert "rotate(-45" in svg
    shown = re.findall(r">(category nu…)</text>", svg)
    assert 0 < len(shown) < n                             # not every label: they would overlap
    assert svg.count("<rect") == 2 * n + 2                # bars plus the legend
    width = float(re.search(r'<svg[^>]* width="(\d+)"', svg).group(1))
    assert width < 800


def test_html_report_with_50_columns_is_quick(tmp_path):
    columns = []
    for i in range(50):
        make = (numeric_column, categorical_column, binary_column)[i % 3]
        columns.append(make(f"col_{i}", drifted=i % 4 == 0))
    report = make_report(columns=columns, share=13 / 50, target=None, prediction=None)
    start = time.perf_counter()
    text = report_to_html(report, str(tmp_path / "big.html"))
    elapsed = time.perf_counter() - start
    assert elapsed < 1.0
    assert text.count("<svg") == 51                       # and the chart of effects
    for i in range(50):
        assert f">col_{i}</a></td>" in text
    assert "13 of 50 judged feature columns drifted" in text
    assert parse(text).errors == []


def test_html_does_not_import_matplotlib():
    import modelops.drift.report as module

    source = Path(module.__file__).read_text(encoding="utf-8")
    assert not re.search(r"^\s*(import|from)\s+matplotlib", source, re.M)
    if "matplotlib" not in sys.modules:
        report_to_html(make_report(), None)
        assert "matplotlib" not in sys.modules


def test_html_refuses_what_is_not_a_report():
    with pytest.raises(InvalidInput):
        report_to_html({"name": "x"}, None)
    with pytest.raises(InvalidInput):
        report_to_dict({"name": "x"})


# -- reading a report: order, whole numbers, skew, the summary, one axis of effects ----------

def checked():
    """A real check: a drifted count column, a skewed amount, a category share change with a
    new category, missing values, and quiet columns."""
    import modelops

    rng = np.random.default_rng(0)
    ops = modelops.connect("memory://")
    n = 3_000
    ref = {"visits": rng.poisson(3, n).astype(float), "amount": rng.lognormal(8, 1.2, n),
           "plan": rng.choice(["basic", "plus", "pro"], n, p=[0.6, 0.3, 0.1]).astype(object),
           "quiet": rng.normal(size=n), "age": rng.normal(40, 10, n)}
    ops.drift.fit_reference("m", ref)
    cur = {"visits": rng.poisson(4, 1_500).astype(float),
           "amount": rng.lognormal(8, 1.2, 1_500),
           "plan": rng.choice(["basic", "plus", "pro", "gold"], 1_500,
                              p=[0.5, 0.3, 0.15, 0.05]).astype(object),
           "quiet": rng.normal(size=1_500), "age": rng.normal(40.5, 10, 1_500)}
    cur["age"][:150] = np.nan
    return ops.drift.check("m", cur)


def test_columns_are_ordered_drifted_first_then_by_effect_over_threshold():
    report = checked()
    text = report_to_html(report, None)
    from modelops.drift.report import by_drift, effect_ratio

    ordered = [c.column for c in by_drift(report.columns)]
    assert ordered[:2] == ["visits", "plan"] or ordered[:2] == ["plan", "visits"]
    drifted = [c for c in report.columns if c.drifted]
    assert all(c.drifted for c in by_drift(report.columns)[:len(drifted)])
    ratios = [effect_ratio(c) for c in by_drift(report.columns)[len(drifted):]]
    assert ratios == sorted(ratios, reverse=True)
    start = text.index("<h2>Columns</h2>")
    table = text[text.index("<table>\n<thead><tr><th>Column</th>", start):]
    positions = [table.index(f">{name}</a></td>") for name in ordered]
    assert positions == sorted(positions)


def test_counts_get_whole_number_bins_and_quantiles_skewed_columns_a_log_scale():
    report = checked()
    visits = report.column("visits")
    assert visits.histogram.scale == "integer"
    assert all(label.replace(",", "").isdigit() for label in visits.histogram.labels)
    assert [e % 1 for e in visits.histogram.edges] == [0.5] * len(visits.histogram.edges)
    for summary in (visits.reference_summary, visits.current_summary):
        assert all(float(summary[q]).is_integer() for q in ("p05", "p25", "median", "p75",
                                                             "p95"))
    amount = report.column("amount")
    assert amount.histogram.scale == "log"
    edges = np.asarray(amount.histogram.edges)
    assert np.allclose(edges[1:] / edges[:-1], edges[1] / edges[0])   # equal ratios
    assert report.column("quiet").histogram.scale == "linear"
    text = report_to_html(report, None)
    assert "log scale: bins of equal ratios" in text
    from modelops.drift import check_profile, profile_frame

    rng = np.random.default_rng(1)
    profile = profile_frame("m", {"amount": rng.lognormal(8, 1.2, 2_000)})
    forced = check_profile(profile, {"amount": rng.lognormal(8, 1.2, 500)},
                           histogram="linear")
    assert forced.column("amount").histogram.scale == "linear"


def test_the_summary_gives_rows_missing_values_and_new_categories():
    report = checked()
    text = report_to_html(report, None)
    table = text[text.index('<table class="mo-summary">'):]
    table = table[:table.index("</table>")]
    assert ">3,000</td>" in table and ">1,500</td>" in table
    assert "missing values" in table and ">2%</td>" in table     # 10 % of one of 5 columns
    assert "new categories" in table and "in 1 column" in table
    assert "features judged" in table and "5 of 5" in table


def test_effects_of_every_kind_share_one_axis_against_their_thresholds():
    # Wasserstein σ and total variation were bars on one axis; each is now over its own
    # threshold, so 1 is drift's line for both.
    report = checked()
    from modelops.drift.report import effect_ratio

    visits, plan = report.column("visits"), report.column("plan")
    assert visits.effect_method == "wasserstein" and plan.effect_method == "tvd"
    assert effect_ratio(visits) == pytest.approx(visits.effect / 0.05)
    assert effect_ratio(plan) == pytest.approx(plan.effect / 0.02)
    text = report_to_html(report, None)
    svg = text[text.index('aria-label="drift of each column against its threshold"'):]
    svg = svg[:svg.index("</svg>")]
    assert "effect &divide; its threshold" in svg and 'stroke-dasharray="4 3"' in svg
    assert f"{effect_ratio(plan):.2g}× — tvd" in svg
    assert f"{effect_ratio(visits):.2g}× — wasserstein" in svg
    named = ColumnDrift(column="p", kind="numeric", method="psi", statistic=0.3, pvalue=None,
                        threshold=0.1, drifted=True)
    tested = ColumnDrift(column="k", kind="numeric", method="ks", statistic=0.3,
                         pvalue=1e-4, threshold=0.01, drifted=True)
    assert effect_ratio(named) == pytest.approx(3.0)
    assert effect_ratio(tested) == pytest.approx(2.0)            # log(1e-4) / log(0.01)
