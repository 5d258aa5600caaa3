"""The metric table: names, aliases and directions in one place; built-in metrics checked
against scikit-learn; a plugin metric usable by name in training, monitoring and promotion."""

import numpy as np
import pytest

import modelops
from modelops import plugins
from modelops.errors import InvalidInput
from modelops.metrics import (
    MetricSpec,
    canonical_metric,
    find_metric,
    higher_is_better,
    metric_table,
)
from modelops.metrics.builtin import BUILTIN_METRICS

skm = pytest.importorskip("sklearn.metrics")


def test_built_in_metrics_come_through_the_hook_with_their_names_and_directions():
    table = metric_table()
    assert list(BUILTIN_METRICS) in plugins.plugin_manager().hook.modelops_metrics()
    assert all(table[spec.name] is spec for spec in BUILTIN_METRICS)
    lower = {name for name, spec in table.items() if not spec.higher_is_better}
    assert lower == {"log_loss", "mae", "mse", "rmse"}
    spellings = {"f1_score": "f1", "F1-Score": "f1", "auc": "roc_auc", " AUC ": "roc_auc",
                 "acc": "accuracy", "mean_squared_error": "mse", "mean_absolute_error": "mae",
                 "root_mean_squared_error": "rmse", "r2_score": "r2", "logloss": "log_loss",
                 "f1": "f1"}
    assert {k: canonical_metric(k) for k in spellings} == spellings
    assert canonical_metric("Loss") == "Loss" and higher_is_better("Loss")
    assert not higher_is_better("Mean_Squared_Error")
    assert find_metric({"f1_score": 0.9, "loss": 1.0}, "f1") == ("f1_score", 0.9)
    assert find_metric({"f1_score": 0.9, "f1": 0.8}, "f1") == ("f1", 0.8)   # exact spelling wins
    assert find_metric({"loss": 1.0}, "f1") is None


def test_a_metric_spec_is_validated():
    with pytest.raises(InvalidInput, match=r"MetricSpec\.task"):
        MetricSpec(name="x", compute=len, task="ranking")
    with pytest.raises(InvalidInput, match=r"MetricSpec\.name"):
        MetricSpec(name=" x", compute=len, task="regression")
    with pytest.raises(InvalidInput, match=r"MetricSpec\.needs"):
        MetricSpec(name="x", compute=len, task="regression", needs="labels")


def test_built_in_metrics_equal_scikit_learn():
    rng = np.random.default_rng(0)
    table = metric_table()
    y = rng.integers(0, 2, 400)
    score = np.clip(y * 0.3 + rng.random(400) * 0.7, 0, 1)
    pred = (score > 0.5).astype(int)
    for name, reference in (("accuracy", skm.accuracy_score), ("precision", skm.precision_score),
                            ("recall", skm.recall_score), ("f1", skm.f1_score)):
        assert table[name].compute(y, pred, None) == pytest.approx(reference(y, pred)), name
        assert table[name].compute(y == 1, pred == 1, None) == pytest.approx(reference(y, pred))
    assert table["roc_auc"].compute(y, pred, score) == pytest.approx(skm.roc_auc_score(y, score))
    assert table["log_loss"].compute(y, pred, score) == pytest.approx(skm.log_loss(y, score))
    labels = rng.integers(0, 3, 300)
    guess = np.where(rng.random(300) < 0.7, labels, rng.integers(0, 3, 300))
    proba = rng.dirichlet(np.ones(3), 300)
    proba[np.arange(300), labels] += 1
    proba /= proba.sum(axis=1, keepdims=True)
    assert table["f1"].compute(labels, guess, None) == pytest.approx(
        skm.f1_score(labels, guess, average="macro"))
    assert table["roc_auc"].compute(labels, guess, proba) == pytest.approx(
        skm.roc_auc_score(labels, proba, multi_class="ovr"))
    assert table["log_loss"].compute(labels, guess, proba) == pytest.approx(
        skm.log_loss(labels, proba))
    truth = rng.normal(10, 3, 200)
    estimate = truth + rng.normal(0, 1, 200)
    assert table["mae"].compute(truth, estimate, None) == pytest.approx(
        skm.mean_absolute_error(truth, estimate))
    assert table["mse"].compute(truth, estimate, None) == pytest.approx(
        skm.mean_squared_error(truth, estimate))
    assert table["rmse"].compute(truth, estimate, None) == pytest.approx(
        np.sqrt(skm.mean_squared_error(truth, estimate)))
    assert table["r2"].compute(truth, estimate, None) == pytest.approx(
        skm.r2_score(truth, estimate))


def test_training_monitoring_and_the_router_use_the_tables_names():
    from sklearn.datasets import load_breast_cancer, load_diabetes
    from sklearn.linear_model import Ridge

    from modelops.lifecycle.judge import LOSSES, PROPORTIONS  # the router's own tests
    from modelops.metrics import grouped

    ops = modelops.connect("memory://")
    data = load_breast_cancer()
    trained = modelops.train(ops, "c", _classifier(), data.data, data.target,
                             figures=False).metrics
    data = load_diabetes()
    regressed = modelops.train(ops, "r", Ridge(), data.data, data.target, figures=False).metrics
    table = metric_table()
    for name in (*trained, *regressed, *PROPORTIONS, *LOSSES, *grouped.CLASSIFICATION_METRICS,
                 *grouped.REGRESSION_METRICS):
        assert name in table and canonical_metric(name) == name, name
    assert {table[name].task for name in trained} == {"classification"}
    assert {table[name].task for name in regressed} == {"regression"}


def _classifier():
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression())


class BalancedAccuracy:
    """A plugin metric, with an alias; and a lower-is-better one."""

    @modelops.hookimpl
    def modelops_metrics(self):
        def balanced_accuracy(y_true, y_pred, score):
            y_true, y_pred = np.asarray(y_true).astype(bool), np.asarray(y_pred).astype(bool)
            return float(np.mean([np.mean(y_pred[y_true == c] == c) for c in (False, True)]))

        def miss_rate(y_true, y_pred, score):
            y_true, y_pred = np.asarray(y_true).astype(bool), np.asarray(y_pred).astype(bool)
            return float(np.mean(~y_pred[y_true]))

        return [MetricSpec(name="balanced_accuracy", compute=balanced_accuracy,
                           task="classification", aliases=("bacc",)),
                MetricSpec(name="miss_rate", compute=miss_rate, task="classification",
                           higher_is_better=False)]


@pytest.fixture
def plugin_metric():
    plugin = BalancedAccuracy()
    plugins.plugin_manager().register(plugin)
    yield plugin
    plugins.plugin_manager().unregister(plugin)


def test_a_plugin_metric_is_usable_by_name_everywhere(plugin_metric):
    from monitoring._data import NOW, H, log_rows, monitor, spread
    from sklearn.datasets import load_breast_cancer

    ops = modelops.connect("memory://")
    data = load_breast_cancer()
    result = modelops.train(ops, "cancer", _classifier(), data.data, data.target,
                            figures=False)
    assert 0.9 < result.metrics["balanced_accuracy"] <= 1.0
    assert result.version.metrics["balanced_accuracy"] == result.metrics["balanced_accuracy"]

    ops.registry.register("m", {"w": 1}, version="1.0.0", metrics={"bacc": 0.80,
                                                                   "miss_rate": 0.20})
    ops.registry.promote("m", "1.0.0")
    ops.registry.register("m", {"w": 2}, version="1.1.0",
                          metrics={"balanced_accuracy": 0.85, "miss_rate": 0.10})
    assert ops.registry.should_promote("m", "1.1.0", metric="BACC", min_improvement=0.04)
    assert ops.registry.should_promote("m", "1.1.0", metric="miss_rate", min_improvement=0.05)

    rng = np.random.default_rng(1)
    truth = rng.integers(0, 2, 400)
    pred = np.where(rng.random(400) < 0.8, truth, 1 - truth)
    log_rows(ops, "m", spread(400, NOW - 24 * H, NOW), pred.tolist(), actuals=truth.tolist(),
             version="1.1.0")
    watch = monitor(ops, "m", "1.1.0")
    performance = watch.performance()
    expected = skm.balanced_accuracy_score(truth, pred)
    assert performance.metrics["balanced_accuracy"] == pytest.approx(expected)
    trend = watch.trend("6h", periods=4, metric="bacc")
    assert trend.metric == "balanced_accuracy" and len(trend.values) == 4
    late = spread(400, NOW - 24 * H, NOW) >= NOW - 6 * H
    assert trend.values[-1] == pytest.approx(skm.balanced_accuracy_score(truth[late],
                                                                         pred[late]))
    degradation = {c.metric: c for c in watch.degradation().changes}
    assert degradation["balanced_accuracy"].worse_by == pytest.approx(0.85 - expected)
    assert degradation["miss_rate"].worse_by == pytest.approx(
        1 - skm.recall_score(truth, pred) - 0.10)


def test_a_plugin_metric_in_health_s_degradation_rule(plugin_metric):
    from monitoring._data import NOW, H, log_rows, monitor, spread

    ops = modelops.connect("memory://")
    rng = np.random.default_rng(2)
    truth = rng.integers(0, 2, 400)
    pred = np.where(rng.random(400) < 0.8, truth, 1 - truth)
    log_rows(ops, "m", spread(400, NOW - 24 * H, NOW), pred.tolist(), actuals=truth.tolist())
    # a lower-is-better plugin metric, in a baseline spelled by its name
    health = monitor(ops, "m", baseline={"miss_rate": 0.05}).health(alert=False)
    issue = health.issue("degradation")
    assert set(issue.details["metrics"]) == {"miss_rate"}
    found = issue.details["metrics"]["miss_rate"]
    assert found["current"] == pytest.approx(1 - skm.recall_score(truth, pred))
    assert found["worse_by"] == pytest.approx(found["current"] - 0.05)
    # by its alias, with a per-metric threshold
    health = monitor(ops, "m", baseline={"bacc": 0.9},
                     degradation_threshold={"balanced_accuracy": 0.01}).health(alert=False)
    assert "balanced_accuracy" in health.issue("degradation").details["metrics"]


def test_a_plugin_metric_in_the_routers_evaluation(plugin_metric):
    # by its alias; its value on each arm is the plugin's own computation
    ops = modelops.connect("memory://")
    ops.registry.register("m", {"w": 1})
    ops.registry.promote("m", "1.0.0")
    ops.registry.register("m", {"w": 2})
    ops.registry.promote("m", "1.0.1", stage="staging")
    rng = np.random.default_rng(3)
    arms: dict[str, tuple[list[int], list[int]]] = {"champion": ([], []),
                                                    "challenger": ([], [])}
    with ops.router("m", share=0.5) as router:
        for i in range(1_200):
            assignment = router.assign(f"k{i}")
            right = 0.9 if assignment.role == "champion" else 0.6
            truth = int(rng.integers(0, 2))
            pred = truth if rng.random() < right else 1 - truth
            router.feedback(router.log(assignment, {"x": float(i)}, pred), truth)
            arms[assignment.role][0].append(truth)
            arms[assignment.role][1].append(pred)
    found = router.evaluate("bacc")
    assert found.metric == "balanced_accuracy" and found.verdict == "worse"
    assert found.champion_value == pytest.approx(skm.balanced_accuracy_score(*arms["champion"]))
    assert found.challenger_value == pytest.approx(
        skm.balanced_accuracy_score(*arms["challenger"]))
