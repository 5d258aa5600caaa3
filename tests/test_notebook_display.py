"""Notebook display: runs, run lists, comparisons, versions, history and health as small,
escaped HTML tables."""

from __future__ import annotations

import re

import pytest
from sklearn.linear_model import LinearRegression

import modelops
from modelops import _html
from modelops.entities.monitoring import HealthIssue
from modelops.monitoring import Health

NASTY = '<script>alert("x")</script>'


def _cells(html: str) -> list[str]:
    return re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", html)


@pytest.fixture
def logged(ops):
    with ops.tracking.start_run(experiment="e", name="rf <b>") as run:
        run.log_params({"model": NASTY, "long": "x" * 500})
        run.log_metrics({"f1": 0.91234567})
        run.set_tag("team", "fraud & risk")
    return run


def _no_raw_markup(html: str) -> None:
    assert "<script>" not in html and "<b>" not in html
    assert html.count("<table") == html.count("</table>")


def test_a_run(ops, logged):
    run = ops.tracking.get_run(logged.run_id)
    html = run._repr_html_()
    _no_raw_markup(html)
    cells = _cells(html)
    assert "rf &lt;b&gt;" in cells and "FINISHED" in cells and "0.9123" in cells
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in cells
    assert "fraud &amp; risk" in cells
    assert any(c.startswith("<span title=") and len(c) < 1200 for c in cells)  # cut, titled
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", html)
    assert logged._repr_html_() == html  # the active run shows the stored run


def test_a_run_list_and_a_comparison(ops, logged):
    with ops.tracking.start_run(experiment="e", name="other") as other:
        other.log_params({"model": "lr"})
        other.log_metrics({"f1": 0.5})
    runs = ops.tracking.search_runs("e", order_by=["metrics.f1 DESC"])
    html = runs._repr_html_()
    _no_raw_markup(html)
    assert "<caption>2 run(s)</caption>" in html
    assert html.index("rf &lt;b&gt;") < html.index("other")
    comparison = ops.tracking.compare(runs)._repr_html_()
    _no_raw_markup(comparison)
    assert "params.model" in comparison and "metrics.f1" in comparison


def test_long_lists_are_cut_with_a_count():
    html = _html.table([{"i": i} for i in range(_html.MAX_ROWS + 7)])
    assert html.count("<tr>") == 1 + _html.MAX_ROWS + 1
    assert "and 7 more" in html
    assert "<tbody></tbody>" in _html.table([], columns=["a"])


def test_versions_and_history(ops, logged):
    model = LinearRegression().fit([[0.0], [1.0]], [0.0, 1.0])
    v = ops.registry.register("fraud", model, run=logged.run_id, description=NASTY)
    ops.registry.register("fraud", model)
    ops.registry.promote("fraud", v.version, reason=NASTY)
    ops.registry.set_alias("fraud", "champion", v.version)
    version = ops.registry.get_version("fraud", v.version)
    html = version._repr_html_()
    _no_raw_markup(html)
    cells = _cells(html)
    assert "production" in cells and "champion" in cells and logged.run_id in cells
    versions = ops.registry.list_versions("fraud")
    assert "fraud versions (2)" in versions._repr_html_()
    history = ops.registry.history("fraud")
    assert isinstance(history, list) and [e.action for e in history] == ["promote",
                                                                          "set_alias"]
    html = history._repr_html_()
    _no_raw_markup(html)
    assert "1.0.0 stage: development → production" in html
    assert "alias:champion" in html and html.count("<tr>") == 3
    assert history[0]._repr_html_().count("<tr>") == 2


def test_health():
    health = Health(model="fraud", version="1.0.0", status="unhealthy", n=1200,
                    checked_at=1_767_225_600_000,
                    issues=[HealthIssue(severity="high", kind="degradation", message=NASTY)])
    html = health._repr_html_()
    _no_raw_markup(html)
    cells = _cells(html)
    assert "unhealthy" in cells and "1,200" in cells and "high" in cells
    assert "2026-01-01 00:00:00 UTC" in cells
    assert "issues" not in Health(model="m", version=None, status="healthy")._repr_html_()


def test_a_drift_report_shows_inline():
    np = pytest.importorskip("numpy")
    ops = modelops.connect("memory://")
    rng = np.random.default_rng(0)
    ops.drift.fit_reference("m", {"a": rng.normal(size=500)})
    report = ops.drift.check("m", {"a": rng.normal(2, 1, size=500)})
    html = report._repr_html_()
    assert "<html" not in html and "a" in html
