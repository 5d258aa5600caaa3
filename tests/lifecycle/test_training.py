"""modelops.train: what it logs, registers and promotes, checked against scikit-learn."""

import json

import numpy as np
import pytest

import modelops
from modelops.registry import MetricImprovement

sklearn = pytest.importorskip("sklearn")
from sklearn import metrics as skm  # noqa: E402
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris  # noqa: E402
from sklearn.linear_model import LogisticRegression, Ridge  # noqa: E402
from sklearn.model_selection import cross_val_score, train_test_split  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402


@pytest.fixture
def ops():
    return modelops.connect("memory://")


def estimator():
    return make_pipeline(StandardScaler(), LogisticRegression(C=0.5, max_iter=2_000))


def test_a_binary_classifier_is_fitted_tracked_registered_and_promoted(ops):
    data = load_breast_cancer()
    result = modelops.train(ops, "cancer", estimator(), data.data, data.target, cv=4,
                            promotion=MetricImprovement("f1"),
                            lineage={"training_data": "sklearn:breast_cancer"})
    x_train, x_test, y_train, y_test = train_test_split(
        data.data, data.target, test_size=0.25, random_state=0, stratify=data.target)
    reference = estimator().fit(x_train, y_train)
    predicted = reference.predict(x_test)
    proba = reference.predict_proba(x_test)[:, 1]
    assert result.task == "classification"
    assert result.metrics == pytest.approx({
        "accuracy": skm.accuracy_score(y_test, predicted),
        "precision": skm.precision_score(y_test, predicted),
        "recall": skm.recall_score(y_test, predicted),
        "f1": skm.f1_score(y_test, predicted),
        "roc_auc": skm.roc_auc_score(y_test, proba),
        "log_loss": skm.log_loss(y_test, proba)})
    cv = cross_val_score(estimator(), x_train, y_train, cv=4, scoring="f1")
    assert result.cv_metrics["cv_f1_mean"] == pytest.approx(cv.mean())
    assert result.cv_metrics["cv_f1_std"] == pytest.approx(cv.std())
    assert set(result.cv_metrics) == {f"cv_{m}_{s}" for m in ("accuracy", "f1", "roc_auc")
                                      for s in ("mean", "std")}

    run = ops.tracking.get_run(result.run_id)
    assert run.info.status.value == "FINISHED" and run.info.run_name == "Pipeline"
    assert run.metrics["f1"] == result.metrics["f1"]
    assert run.metrics["cv_f1_mean"] == result.cv_metrics["cv_f1_mean"]
    assert run.params["logisticregression__C"] == "0.5"
    assert run.params["train_rows"] == str(len(y_train)) and run.params["cv"] == "4"
    files = {a.path for a in ops.tracking.list_artifacts(result.run_id)}
    assert {"confusion_matrix.json", "roc_curve.json", "classification_report.txt"} <= files
    matrix = json.loads(ops.tracking.read_text(result.run_id, "confusion_matrix.json"))
    assert matrix["matrix"] == skm.confusion_matrix(y_test, predicted).tolist()
    roc = json.loads(ops.tracking.read_text(result.run_id, "roc_curve.json"))
    fpr, tpr, _ = skm.roc_curve(y_test, proba)
    assert roc["fpr"] == pytest.approx(fpr.tolist()) and roc["tpr"] == pytest.approx(tpr.tolist())
    if pytest.importorskip("matplotlib"):
        assert {"confusion_matrix.png", "roc_curve.png"} <= files

    version = result.version
    assert version.version == "1.0.0" and version.run_id == result.run_id
    assert version.metrics == result.metrics and version.stage.value == "production"
    assert version.lineage.training_data == "sklearn:breast_cancer"
    assert result.promoted and result.decision.promote
    loaded = ops.registry.load("cancer", "1.0.0")
    assert (loaded.predict(x_test) == result.model.predict(x_test)).all()


def test_a_refused_promotion_is_recorded(ops):
    data = load_breast_cancer()
    modelops.train(ops, "cancer", estimator(), data.data, data.target,
                   promotion=MetricImprovement("f1"))
    again = modelops.train(ops, "cancer", estimator(), data.data, data.target,
                           promotion=MetricImprovement("f1", 0.01), figures=False)
    assert not again.promoted and "not enough" in again.decision.reason
    assert again.version.stage.value == "development"
    assert ops.registry.history("cancer")[-1].action == "refused"
    assert "confusion_matrix.png" not in again.artifacts


def test_multiclass_regression_and_a_given_test_set(ops):
    iris = load_iris()
    result = modelops.train(ops, "iris", LogisticRegression(max_iter=2_000), iris.data,
                            iris.target, register=False, figures=False)
    assert result.version is None and set(result.metrics) == {
        "accuracy", "precision", "recall", "f1", "roc_auc", "log_loss"}
    assert "roc_curve.json" not in result.artifacts      # one curve per class: not drawn
    diabetes = load_diabetes()
    x, y = diabetes.data, diabetes.target
    result = modelops.train(ops, "diabetes", Ridge(), x[:300], y[:300], X_test=x[300:],
                            y_test=y[300:], cv=3)
    fitted = Ridge().fit(x[:300], y[:300]).predict(x[300:])
    assert result.task == "regression"
    assert result.metrics == pytest.approx({
        "mae": skm.mean_absolute_error(y[300:], fitted),
        "rmse": np.sqrt(skm.mean_squared_error(y[300:], fitted)),
        "r2": skm.r2_score(y[300:], fitted)})
    cv = -cross_val_score(Ridge(), x[:300], y[:300], cv=3, scoring="neg_mean_absolute_error")
    assert result.cv_metrics["cv_mae_mean"] == pytest.approx(cv.mean())


def test_columns_by_name_and_string_labels(ops):
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=400), rng.normal(size=400)
    y = np.where(a + b > 0, "fraud", "ok")
    result = modelops.train(ops, "named", LogisticRegression(), {"a": a, "b": b}, y,
                            positive="fraud", register=False, figures=False)
    assert result.metrics["recall"] > 0.9
    run = ops.tracking.get_run(result.run_id)
    assert run.params["features"] == "a,b"


def test_logging_into_a_callers_run_leaves_it_open(ops):
    data = load_breast_cancer()
    with ops.tracking.start_run(experiment="mine") as run:
        result = modelops.train(ops, "cancer", estimator(), data.data, data.target, run=run,
                                register=False, figures=False)
        assert not run.ended
        run.log_metric("extra", 1.0)
    assert result.run_id == run.run_id
    assert ops.tracking.get_run(run.run_id).metrics["extra"] == 1.0


def test_a_failing_fit_fails_the_run(ops):
    x = np.zeros((20, 2))
    with pytest.raises(ValueError, match="class"):           # one class only: fit refuses
        modelops.train(ops, "tiny", LogisticRegression(), x, np.zeros(20), X_test=x,
                       y_test=np.zeros(20), register=False)
    runs = ops.tracking.search_runs("tiny-training")
    assert [r.info.status.value for r in runs] == ["FAILED"]


@pytest.mark.parametrize(("call", "field"), [
    (lambda ops: modelops.train(ops, "m", object(), [[1]], [1]), "estimator"),
    (lambda ops: modelops.train(ops, "m", LogisticRegression(), [[1], [2]], [1]), "y"),
    (lambda ops: modelops.train(ops, "m", LogisticRegression(), [[1]], [1], X_test=[[1]]),
     "X_test"),
    (lambda ops: modelops.train(ops, "m", LogisticRegression(), [[1], [2]], [1, 0],
                                test_size=2), "test_size"),
    (lambda ops: modelops.train(ops, "m", LogisticRegression(), "abc", [1, 0, 1]), "X"),
    (lambda ops: modelops.train(ops, "a/b", LogisticRegression(), [[1]], [1]), "name"),
])
def test_bad_input_is_refused_before_a_run_starts(ops, call, field):
    with pytest.raises(modelops.InvalidInput) as err:
        call(ops)
    assert err.value.field == field
    assert ops.tracking.list_experiments() == [] or all(
        not ops.tracking.search_runs(e.name) for e in ops.tracking.list_experiments())


def survey(n=600, seed=0):
    """A survey: string answers, some missing, and string labels."""
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "parties": rng.choice(["often", "sometimes", "never"], n),
        "hours_alone": rng.normal(4, 2, n),
        "stage_fear": rng.choice(["yes", "no", None], n, p=[0.45, 0.45, 0.10]),
    })
    extrovert = (frame["parties"] == "often") | ((frame["hours_alone"] < 3.5)
                                                  & (frame["stage_fear"] == "no"))
    flip = rng.random(n) < 0.1
    labels = np.where(extrovert ^ flip, "Extrovert", "Introvert")
    return frame, labels


def survey_model():
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.preprocessing import OneHotEncoder

    prep = ColumnTransformer([
        ("cat", make_pipeline(SimpleImputer(strategy="constant", fill_value="missing"),
                              OneHotEncoder(handle_unknown="ignore")),
         ["parties", "stage_fear"]),
        ("num", StandardScaler(), ["hours_alone"])])
    return make_pipeline(prep, LogisticRegression(max_iter=2_000))


def test_cross_validation_scores_the_given_positive_of_string_labels(ops, recwarn):
    # cv=5 with positive="Extrovert" used to give NaN CV scores and a screen of warnings:
    # the f1 scorer looked for a positive label 1.
    from sklearn.metrics import f1_score, make_scorer

    frame, labels = survey()
    result = modelops.train(ops, "personality", survey_model(), frame, labels, cv=5,
                            positive="Extrovert")
    cv = result.cv_metrics
    assert all(np.isfinite(v) for v in cv.values()), cv
    x_train, _, y_train, _ = train_test_split(frame, labels, test_size=0.25, random_state=0,
                                              stratify=labels)
    want = cross_val_score(survey_model(), x_train, y_train, cv=5,
                           scoring=make_scorer(f1_score, pos_label="Extrovert"))
    assert cv["cv_f1_mean"] == pytest.approx(want.mean())
    auc = cross_val_score(survey_model(), x_train, y_train == "Extrovert", cv=5,
                          scoring="roc_auc")
    assert cv["cv_roc_auc_mean"] == pytest.approx(auc.mean())
    assert not [w for w in recwarn.list if "sklearn" in str(w.filename)]
    assert result.metrics["f1"] == pytest.approx(f1_score(
        *_held_out(frame, labels, result.model), pos_label="Extrovert"))


def _held_out(frame, labels, model):
    _, x_test, _, y_test = train_test_split(frame, labels, test_size=0.25, random_state=0,
                                            stratify=labels)
    return y_test, model.predict(x_test)


def test_a_parameter_search_logs_its_best_params_and_a_child_run_per_candidate(ops):
    from sklearn.model_selection import GridSearchCV, RandomizedSearchCV

    data = load_breast_cancer()
    grid = GridSearchCV(estimator(), {"logisticregression__C": [0.01, 0.1, 1.0]}, cv=3)
    result = modelops.train(ops, "cancer", grid, data.data, data.target)
    run = ops.tracking.get_run(result.run_id)
    best = result.model.best_params_["logisticregression__C"]
    assert run.params["best_logisticregression__C"] == str(best)
    assert run.metrics["best_cv_score"] == pytest.approx(result.model.best_score_)
    children = ops.tracking.search_runs("cancer-training",
                                        filter=f"attributes.parent_run_id = "
                                               f"'{result.run_id}'")
    assert len(children) == 3
    by_c = {r.params["logisticregression__C"]: r for r in children}
    scores = result.model.cv_results_
    for i, c in enumerate(scores["param_logisticregression__C"]):
        child = by_c[str(c)]
        assert child.metrics["mean_test_score"] == pytest.approx(scores["mean_test_score"][i])
        assert child.metrics["rank_test_score"] == scores["rank_test_score"][i]
    search = RandomizedSearchCV(estimator(), {"logisticregression__C": [0.01, 0.1, 1.0, 10.0]},
                                n_iter=2, cv=3, random_state=0)
    again = modelops.train(ops, "cancer", search, data.data, data.target, register=False)
    assert len(ops.tracking.search_runs(
        "cancer-training", filter=f"attributes.parent_run_id = '{again.run_id}'")) == 2


def test_a_version_trained_with_f1_and_one_registered_with_f1_score_compare(ops, tmp_path,
                                                                              capsys,
                                                                              monkeypatch):
    # modelops.train logs "f1"; MLflow users register "f1_score": one metric table makes
    # them one metric for rules, the CLI, the router and monitoring alike.
    from modelops.cli import main
    from modelops.registry import Floors

    uri = str(tmp_path / "store")
    local = modelops.connect(uri)
    data = load_breast_cancer()
    trained = modelops.train(local, "cancer", estimator(), data.data, data.target,
                             stage="production", promotion=MetricImprovement("f1"))
    assert trained.promoted and "f1" in trained.version.metrics
    f1 = trained.version.metrics["f1"]
    logged = local.registry.register("cancer", estimator().fit(data.data, data.target),
                                     metrics={"f1_score": f1 + 0.02})
    for name in ("f1", "f1_score", "F1-Score"):
        decision = local.registry.should_promote("cancer", logged.version, metric=name,
                                                 min_improvement=0.01)
        assert decision.promote and decision.deltas[name] == pytest.approx(0.02)
    assert not Floors({"f1": f1 + 0.05})(local.registry.get_version("cancer",
                                                                    logged.version), None)
    # the CLI: a retraining whose train function reports f1_score, judged on f1
    (tmp_path / "reports_f1_score.py").write_text(
        "def train(context):\n"
        "    return {'w': 1}, {'f1_score': " + repr(f1 - 0.1) + "}\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    assert main(["--uri", uri, "lifecycle", "run", "cancer", "--train",
                 "reports_f1_score:train", "--force", "--metric", "f1",
                 "--compare", "registered"]) == 0
    out = capsys.readouterr().out
    assert "refused" in out and f"f1 {f1 - 0.1:.6g} vs {f1:.6g}" in out
    # monitoring: a baseline registered as f1_score meets the window's f1
    monitor = local.monitor("cancer", logged.version)
    assert monitor.window("24h").baseline[0] == {"f1": pytest.approx(f1 + 0.02)}
