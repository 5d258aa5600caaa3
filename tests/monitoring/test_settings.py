"""A model's monitoring settings are kept with the model: set once, used by code and the
CLI, overridable per call."""

from __future__ import annotations

import json

import numpy as np
import pytest

import modelops
from modelops.cli import main
from modelops.errors import InvalidInput
from modelops.monitoring import HealthRules, MonitorSettings
from modelops.monitoring.settings import SETTINGS_TAG

from ._data import NOW, H, log_rows, spread


def claims(ops):
    """A fraud model's day: string labels, slow predictions."""
    rng = np.random.default_rng(0)
    n = 400
    truth = np.where(rng.random(n) < 0.2, "fraud", "legit")
    pred = np.where(rng.random(n) < 0.85, truth, np.where(truth == "fraud", "legit", "fraud"))
    log_rows(ops, "claims", spread(n, NOW - 24 * H, NOW), pred.tolist(),
             actuals=truth.tolist(), latency=[80.0] * n, version="1.0.0")
    ops.registry.register("claims", {"w": 1}, version="1.0.0", flavor="joblib",
                          metrics={"accuracy": 0.85})


@pytest.fixture(params=["file", "memory"])
def store(request, tmp_path):
    return str(tmp_path / "store") if request.param == "file" else "memory://settings-test"


def test_settings_set_once_are_used_by_every_later_monitor(store):
    ops = modelops.connect(store)
    claims(ops)
    before = ops.monitor("claims", now=NOW)
    assert before.performance().average == "macro"      # string labels: no positive known
    stored = ops.set_monitoring("claims", positive="fraud", task="classification",
                                latency_slo_ms=50, degradation_threshold=0.02)
    assert stored == MonitorSettings(task="classification", positive="fraud", rules={
        "latency_slo_ms": 50, "degradation_threshold": 0.02})
    later = modelops.connect(store).monitor("claims", now=NOW)      # another client
    assert later.settings == stored and later.positive == "fraud"
    assert later.rules.latency_slo_ms == 50 and later.rules.degradation_threshold == 0.02
    performance = later.performance()
    assert performance.average == "binary" and performance.positive == "fraud"
    health = later.health(alert=False)
    assert health.issue("latency").severity == "medium"
    # a call's own arguments win; rule keywords change single fields
    own = ops.monitor("claims", now=NOW, positive="legit", latency_slo_ms=500)
    assert own.positive == "legit" and own.rules.latency_slo_ms == 500
    assert own.rules.degradation_threshold == 0.02
    assert ops.monitor("claims", now=NOW, rules=HealthRules()).rules == HealthRules()
    # an update keeps what it does not name; replace starts afresh
    assert ops.set_monitoring("claims", score="confidence").positive == "fraud"
    assert ops.set_monitoring("claims", replace=True, alert_at="medium") == MonitorSettings(
        rules={"alert_at": "medium"})
    actions = [e.action for e in ops.registry.history("claims")]
    assert actions.count("tag") == 3                    # the audit trail shows each change


def test_the_cli_judges_with_the_stored_settings(tmp_path, capsys, monkeypatch):
    uri = str(tmp_path / "store")
    ops = modelops.connect(uri)
    claims(ops)
    monkeypatch.setattr("modelops.monitoring.monitor._now_ms", lambda: NOW)
    assert main(["--uri", uri, "monitor", "health", "claims"]) == 0
    capsys.readouterr()
    assert main(["--uri", uri, "monitor", "configure", "claims", "--positive", "fraud",
                 "--latency-slo", "50", "--rule", "drift_min_rows=500"]) == 0
    assert "positive fraud" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_:
        main(["--uri", uri, "monitor", "health", "claims"])
    assert exit_.value.code == 4                      # the stored SLO: degraded
    assert "above the SLO of 50 ms" in capsys.readouterr().out
    code = ops.monitor("claims", now=NOW).health(alert=False)
    assert code.status == "degraded"                  # code and CLI agree
    assert main(["--uri", uri, "monitor", "configure", "claims", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["positive"] == "fraud" and shown["rules"] == {
        "drift_min_rows": 500, "latency_slo_ms": 50.0}
    assert main(["--uri", uri, "monitor", "configure", "claims", "--rule", "nope=1"]) == 1
    assert "unknown health rule 'nope'" in capsys.readouterr().err


def test_stored_settings_are_checked_when_read(tmp_path):
    ops = modelops.connect(tmp_path / "store")
    claims(ops)
    for bad, field in (("not json", SETTINGS_TAG), ('{"task": "ranking"}', "task"),
                       ('{"rules": {"volume_k": -1}}', "volume_k"),
                       ('{"colour": "red"}', "colour"), ('["x"]', "settings"),
                       ('{"positive": {"a": 1}}', "positive")):
        ops.registry.tag("claims", {SETTINGS_TAG: bad})
        with pytest.raises(InvalidInput) as err:
            ops.monitor("claims")
        assert err.value.field == field
    with pytest.raises(InvalidInput, match="unknown health rule"):
        ops.set_monitoring("claims", replace=True, weird_rule=3)
    with pytest.raises(modelops.NotFound):
        ops.set_monitoring("no-such-model", positive=1)
