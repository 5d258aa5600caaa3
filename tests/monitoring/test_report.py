"""Reports as dicts, strict JSON and standalone HTML; the command line."""

from __future__ import annotations

import argparse
import json
import math
import re
from html.parser import HTMLParser

import numpy as np
import pytest

import modelops
from modelops._ids import now_ms
from modelops.cli import monitor as cli
from modelops.errors import InvalidInput, ModelOpsError

from ._data import NOW, H, connect, log_rows, monitor, spread
from .test_health import store

EVIL = '<script>alert("x")&'


def _no_constants(name):
    raise AssertionError(f"non-standard JSON constant {name}")


def test_report_dict_and_strict_json():
    report = monitor(store(flip_every=5, last_hour=5), "fraud", "1.2.0").report("24h", "1h")
    data = report.to_dict()
    assert data["status"] == report.status == "unhealthy"
    assert {i["kind"] for i in data["health"]["issues"]} == {"degradation", "volume"}
    assert data["performance"]["metrics"]["accuracy"] == pytest.approx(0.8, abs=0.01)
    assert data["degradation"]["baseline_source"] == "registry:fraud/1.2.0"
    assert data["drift"]["input"]["columns"][0]["column"] == "x"
    trend = data["trend"]
    assert trend["metric"] == "accuracy" and len(trend["starts"]) == 24
    assert trend["starts"][0] == NOW - 24 * H and trend["volume"][:23] == [100] * 23
    assert trend["volume"][23] == 5 and sum(trend["feedback"]) == 2_305
    assert set(trend) >= {"f1", "roc_auc", "error_rate", "latency_p99", "drift_share"}
    shares = trend["drift_share"][:23]                    # one feature: 0 or 1 per window
    assert set(shares) <= {0.0, 1.0} and sum(shares) <= 3  # false alarms at about alpha
    assert math.isnan(trend["drift_share"][23])           # 5 rows: too few to judge
    assert math.isnan(trend["roc_auc"][0])                 # no probabilities were logged
    text = report.to_json()
    loaded = json.loads(text, parse_constant=_no_constants)
    assert loaded["trend"]["roc_auc"][0] is None and loaded["model"] == "fraud"


def test_report_of_an_empty_window_is_valid_json():
    report = monitor(connect(), "ghost", None).report("2h", "30m")
    loaded = json.loads(report.to_json(), parse_constant=_no_constants)
    assert loaded["n"] == 0 and loaded["trend"]["volume"] == [0, 0, 0, 0]
    assert loaded["latency"]["p99"] is None and loaded["status"] == "unhealthy"
    assert "<svg" in report.to_html()


def test_report_window_must_be_a_multiple_of_the_trend_window():
    with pytest.raises(InvalidInput, match="trend_window"):
        monitor(connect(), "m", None).report("24h", "7h")
    with pytest.raises(InvalidInput, match="trend_window"):
        monitor(connect(), "m", None).report("1h", "2h")


class _Collect(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)

    def handle_data(self, data):
        self.text.append(data)


def test_html_is_standalone_and_escapes_names(tmp_path):
    ops = connect()
    rng = np.random.default_rng(0)
    n = 600
    ops.drift.fit_reference(EVIL, {EVIL: rng.normal(size=2_000)})
    truth = rng.integers(0, 2, n)
    log_rows(ops, EVIL, spread(n, NOW - 6 * H, NOW), truth.tolist(), actuals=truth.tolist(),
             probabilities=rng.random(n).tolist(), features={EVIL: rng.normal(size=n)},
             metadata=[{"error": True}] * 20 + [None] * (n - 20), version="1.0.0")
    path = tmp_path / "report.html"
    text = monitor(ops, EVIL).report("6h", "30m").to_html(path)
    assert path.read_text(encoding="utf-8") == text
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    assert "<script" not in text and EVIL not in text
    assert "&lt;script&gt;alert(&quot;x&quot;)&amp;" in text
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", text)     # nothing fetched
    parser = _Collect()
    parser.feed(text)
    assert parser.tags.count("svg") >= 4                   # volume, metric, errors, drift
    assert f"Monitoring report: {EVIL}" in "".join(parser.text)
    fragment = monitor(ops, EVIL).report("6h", "30m")._repr_html_()
    assert fragment.startswith('<div class="mo-monitor-report">') and "<style>" in fragment


# -- the command line --------------------------------------------------------------------------


def run(argv):
    """Run ``modelops ...`` with only the monitor group registered; returns the exit status."""
    parser = argparse.ArgumentParser(prog="modelops")
    parser.add_argument("--uri")
    cli.add_parser(parser.add_subparsers(dest="group", required=True))
    args = parser.parse_args(argv)
    try:
        args.handler(args)
    except SystemExit as exc:
        return exc.code
    except ModelOpsError:
        return 1
    return 0


def _live_store(path, *, last_hour=100, flip=False):
    ops = modelops.connect(path)
    now = now_ms()
    counts = [100] * 23 + [last_hour]
    ts = np.concatenate([spread(c, now - (24 - h) * H, now - (23 - h) * H)
                         for h, c in enumerate(counts)])
    truth = np.arange(len(ts)) % 2
    log_rows(ops, "fraud", ts, (1 - truth if flip else truth).tolist(), actuals=truth.tolist())
    ops.registry.register("fraud", {"w": 1}, version="1.0.0", flavor="joblib",
                          metrics={"accuracy": 0.95})
    return str(path)


def test_cli_health_exit_codes(tmp_path, capsys):
    healthy = _live_store(tmp_path / "a")
    assert run(["--uri", healthy, "monitor", "health", "fraud"]) == 0
    assert re.match(r"fraud: HEALTHY \(2,[34]\d\d predictions in the last 24h\)",
                    capsys.readouterr().out)
    degraded = _live_store(tmp_path / "b", last_hour=5)
    assert run(["--uri", degraded, "monitor", "health", "fraud"]) == cli.EXIT_DEGRADED == 4
    assert "volume" in capsys.readouterr().out
    unhealthy = _live_store(tmp_path / "c", flip=True)
    argv = ["--uri", unhealthy, "monitor", "health", "fraud", "--version", "1.0.0",
            "--window", "24h", "--json", "--no-alerts"]
    assert run(argv) == cli.EXIT_UNHEALTHY == 5               # accuracy 0 against 0.95
    health = json.loads(capsys.readouterr().out, parse_constant=_no_constants)
    assert health["status"] == "unhealthy" and health["issues"][0]["kind"] == "degradation"
    assert run([*argv, "--threshold", "1"]) == 0
    assert run(["--uri", healthy, "monitor", "health", "fraud", "--window", "soon"]) == 1


def test_cli_report_writes_html_and_json(tmp_path, capsys):
    uri = _live_store(tmp_path / "a", last_hour=5)
    out = tmp_path / "out.html"
    assert run(["--uri", uri, "monitor", "report", "fraud", "--html", str(out), "--json"]) == 0
    data = json.loads(capsys.readouterr().out, parse_constant=_no_constants)
    assert data["status"] == "degraded" and len(data["trend"]["starts"]) == 24
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert run(["--uri", uri, "monitor", "report", "fraud"]) == 0
    assert "DEGRADED" in capsys.readouterr().out


# -- what the page draws ----------------------------------------------------------------------

def scored_day(ops, *, pending_hours=0):
    """A binary classifier's day with scores; the last ``pending_hours`` mostly without
    feedback yet."""
    rng = np.random.default_rng(4)
    n = 24 * 120
    ts = spread(n, NOW - 24 * H, NOW)
    truth = rng.integers(0, 2, n)
    score = np.clip(0.25 + 0.5 * truth + rng.normal(0, 0.2, n), 0, 1)
    pred = (score > 0.5).astype(int)
    actuals = [int(t) if ts[i] < NOW - pending_hours * H or i % 10 == 0 else None
               for i, t in enumerate(truth)]
    log_rows(ops, "fraud", ts, pred.tolist(), actuals=actuals,
             probabilities=score.tolist(), features={"x": rng.normal(size=n)},
             version="1.2.0")
    ops.registry.register("fraud", {"w": 1}, version="1.2.0", flavor="joblib",
                          metrics={"accuracy": 0.9, "f1": 0.9, "roc_auc": 0.95})
    ops.drift.fit_reference("fraud", {"x": np.random.default_rng(5).normal(size=3_000)})
    return truth, score, pred


def test_metric_charts_show_the_baseline_its_threshold_and_pending_feedback():
    ops = connect()
    scored_day(ops, pending_hours=3)
    report = monitor(ops, "fraud", "1.2.0").report("24h", "1h")
    text = report.to_html()
    accuracy = text[text.index("<figcaption>accuracy per 1h</figcaption>"):]
    accuracy = accuracy[:accuracy.index("</svg>")]
    assert "baseline 0.9<" in accuracy and "degraded beyond 0.85<" in accuracy
    assert accuracy.count('stroke-dasharray="5 3"') == 2
    assert accuracy.count("<title>feedback pending</title>") == 3      # the last 3 hours
    assert "Hatched windows: feedback pending" in text


def test_classification_gets_its_confusion_matrix_and_curves_checked_against_sklearn():
    from sklearn import metrics as skm

    ops = connect()
    truth, score, pred = scored_day(ops)
    report = monitor(ops, "fraud", "1.2.0").report("24h", "1h")
    curves = report.to_dict()["curves"]
    assert curves["confusion"]["matrix"] == skm.confusion_matrix(truth, pred).tolist()
    assert curves["roc"]["auc"] == pytest.approx(skm.roc_auc_score(truth, score))
    fpr, tpr, _ = skm.roc_curve(truth, score)
    assert np.interp(0.2, curves["roc"]["fpr"], curves["roc"]["tpr"]) == pytest.approx(
        np.interp(0.2, fpr, tpr), abs=0.02)
    assert curves["pr"]["prevalence"] == pytest.approx(truth.mean())
    assert sum(curves["calibration"]["count"]) == len(truth)
    assert sum(curves["scores"]["positive"]) == truth.sum()
    text = report.to_html()
    for caption in ("Confusion matrix", "ROC curve (AUC", "Precision-recall curve",
                    "Calibration", "Scores by actual class"):
        assert f"<figcaption>{caption}" in text
    json.loads(report.to_json(), parse_constant=_no_constants)


def test_regression_gets_its_errors_and_predicted_against_actual():
    ops = connect()
    rng = np.random.default_rng(6)
    n = 2_000
    truth = rng.normal(50, 10, n)
    pred = truth + rng.normal(1, 2, n)
    log_rows(ops, "price", spread(n, NOW - 24 * H, NOW), pred.tolist(),
             actuals=truth.tolist())
    report = monitor(ops, "price").report("24h", "1h")
    curves = report.curves
    assert sum(curves["errors"]["counts"]) == n
    assert len(curves["scatter"]["actual"]) == 400 and curves["scatter"]["n"] == n
    text = report.to_html()
    assert "<figcaption>Errors (predicted − actual)" in text
    assert "<figcaption>Predicted against actual (400 of 2,000 predictions)" in text


def test_each_feature_s_drift_over_time():
    ops = connect()
    rng = np.random.default_rng(7)
    n = 24 * 200
    ts = spread(n, NOW - 24 * H, NOW)
    moved = np.where(ts >= NOW - 6 * H, 1.0, 0.0)       # x moves in the last 6 hours
    log_rows(ops, "m", ts, [0] * n, features={"x": rng.normal(size=n) + moved,
                                              "y": rng.normal(size=n)})
    ops.drift.fit_reference("m", {"x": rng.normal(size=3_000), "y": rng.normal(size=3_000)})
    report = monitor(ops, "m").report("24h", "1h")
    by_column = report.trend["drift_columns"]
    assert list(by_column["x"]["drifted"][-6:]) == [True] * 6
    # (before the move, a few false alarms among 18 windows of 200 rows, at about alpha)
    assert sum(by_column["x"]["drifted"][:18]) <= 4 and sum(by_column["y"]["drifted"]) <= 4
    assert all(r > 5 for r in by_column["x"]["ratio"][-6:])
    text = report.to_html()
    heat = text[text.index("Drift of each feature over time"):]
    assert heat.index(">x</text>") < heat.index(">y</text>")      # the drifted one first
    assert heat.count("drifted: ") >= 6
