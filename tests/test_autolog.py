"""modelops.autolog(): scikit-learn fits logged without logging code."""

from __future__ import annotations

import json
import threading
import warnings

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn import metrics
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import modelops
import modelops.sklearn
from modelops import _patching
from modelops.errors import AutologWarning, InvalidInput


@pytest.fixture(autouse=True)
def _store():
    modelops.set_uri("memory://")
    yield
    modelops.autolog(disable=True)
    assert _patching.patched() == []


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3))
    return X, (X[:, 0] + 0.3 * rng.normal(size=120) > 0).astype(int)


def _runs(**kw):
    return modelops.search_runs(**kw)


def test_a_fit_outside_a_run_gets_its_own_run(data):
    X, y = data
    modelops.autolog()
    model = LogisticRegression(C=0.5).fit(X, y)
    [run] = _runs()
    assert run.info.status.value == "FINISHED" and run.info.run_name == "LogisticRegression"
    assert run.data.params["C"] == "0.5" and run.data.params["estimator"] == \
        "LogisticRegression"
    predicted = model.predict(X)
    for name, fn in (("accuracy", metrics.accuracy_score), ("f1", metrics.f1_score),
                     ("precision", metrics.precision_score), ("recall", metrics.recall_score)):
        assert run.data.metrics[f"training_{name}"] == pytest.approx(fn(y, predicted))
    tracking = modelops.get_client().tracking
    example = json.loads(tracking.read_text(run.run_id, "input_example.json"))
    assert np.allclose(example["data"], X[:5])
    assert modelops.get_client().registry.list_models() == []  # stored, not registered
    version = modelops.get_client().registry.register_from_run(run.run_id, "model", "clf")
    np.testing.assert_array_equal(modelops.get_client().registry.load("clf").coef_,
                                  model.coef_)
    assert version.run_id == run.run_id


def test_a_fit_inside_a_run_logs_into_it(data):
    X, _ = data
    modelops.autolog(log_models=False)
    with modelops.start_run(name="mine") as mine:
        LinearRegression().fit(X, X[:, 0] * 2.0)
        assert modelops.active_run() is mine and not mine.ended
    [run] = _runs()
    assert run.run_id == mine.run_id
    assert run.data.metrics["training_r2"] == pytest.approx(1.0)
    assert run.data.metrics["training_mse"] == pytest.approx(0.0, abs=1e-20)
    assert set(run.data.metrics) == {"training_mse", "training_rmse", "training_mae",
                                     "training_r2"}
    assert "model" not in [a.path for a in modelops.get_client().tracking.list_artifacts(
        run.run_id)]


def test_a_pipeline_with_a_column_transformer_logs_nested_params(data):
    X, y = data
    frame = pd.DataFrame({"amount": X[:, 0], "age": X[:, 1],
                          "region": np.where(X[:, 2] > 0, "north", "south")})
    pipe = Pipeline([
        ("prep", ColumnTransformer([("num", StandardScaler(), ["amount", "age"]),
                                    ("cat", OneHotEncoder(), ["region"])])),
        ("clf", LogisticRegression(C=2.0)),
    ])
    modelops.autolog()
    pipe.fit(frame, y)
    [run] = _runs()  # the steps' own fits log nothing
    params = run.data.params
    assert params["estimator"] == "Pipeline" and params["clf__C"] == "2.0"
    assert params["prep__num__with_mean"] == "True"
    assert params["prep__cat__handle_unknown"] == "error"
    example = json.loads(modelops.get_client().tracking.read_text(run.run_id,
                                                                   "input_example.json"))
    assert example["columns"] == ["amount", "age", "region"]
    assert example["data"][0] == [frame.amount[0], frame.age[0], frame.region[0]]
    # the stored model keeps its signature, which the version registered from it records
    ops = modelops.get_client()
    version = ops.registry.register_from_run(run.run_id, "model", "churn")
    columns = version.signature["columns"]
    assert [c["name"] for c in columns] == ["amount", "age", "region"]
    assert columns[2]["kind"] == "categorical" and set(columns[2]["categories"]) == {
        "north", "south"}
    assert version.input_example[0]["region"] == frame.region[0]
    model = ops.load_model("models:/churn/1.0.0", enforce_signature=True)
    with pytest.raises(modelops.InvalidInput, match="region"):
        model.predict(frame.drop(columns="region"))


@pytest.mark.parametrize("backend", [None, "threading"])
def test_a_grid_search_logs_one_child_run_per_candidate(data, backend):
    X, y = data
    search = GridSearchCV(LogisticRegression(), {"C": [0.01, 0.1, 1.0, 10.0]}, cv=3,
                          n_jobs=None if backend is None else 2)
    modelops.autolog()
    if backend is None:
        search.fit(X, y)
    else:
        with joblib.parallel_backend(backend):
            search.fit(X, y)
    runs = _runs()
    [parent] = [r for r in runs if r.info.parent_run_id is None]
    children = [r for r in runs if r.info.parent_run_id == parent.run_id]
    assert len(runs) == 5 and len(children) == 4
    assert parent.data.params["best_C"] == str(search.best_params_["C"])
    assert parent.data.metrics["best_cv_score"] == pytest.approx(search.best_score_)
    by_c = {r.data.params["C"]: r for r in children}
    for i, c in enumerate(search.cv_results_["param_C"]):
        assert by_c[str(c)].data.metrics["mean_test_score"] == pytest.approx(
            search.cv_results_["mean_test_score"][i])


def test_a_randomized_search_over_a_pipeline(data):
    X, y = data
    pipe = make_pipeline(StandardScaler(), LogisticRegression())
    search = RandomizedSearchCV(pipe, {"logisticregression__C": np.logspace(-2, 2, 20)},
                                n_iter=3, cv=3, random_state=0)
    modelops.autolog()
    search.fit(X, y)
    runs = _runs()
    [parent] = [r for r in runs if r.info.parent_run_id is None]
    assert len(runs) == 4
    assert "best_logisticregression__C" in parent.data.params
    assert parent.data.params["estimator__logisticregression__C"] == "1.0"


def test_the_model_is_registered_only_when_asked(data):
    X, y = data
    modelops.autolog(registered_model_name="churn")
    LogisticRegression().fit(X, y)
    [run] = _runs()
    [version] = modelops.get_client().registry.list_versions("churn")
    assert version.run_id == run.run_id
    assert version.signature is None            # fitted on an array: no column names
    assert version.metrics["training_accuracy"] == \
        run.data.metrics["training_accuracy"]


def test_a_fit_that_raises_fails_the_run_and_the_error_is_the_users(data):
    X, y = data
    modelops.autolog()
    bad = X.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN") as raised:
        LogisticRegression().fit(bad, y)
    assert not isinstance(raised.value, modelops.ModelOpsError)
    [run] = _runs()
    assert run.info.status.value == "FAILED" and run.data.params["C"] == "1.0"
    assert modelops.active_run() is None
    with pytest.raises(ValueError), modelops.start_run() as mine:  # the user's run: theirs
        LogisticRegression().fit(bad, y)
        assert False, "not reached"  # pragma: no cover
    assert modelops.get_run(mine.run_id).info.status.value == "FAILED"


def test_a_logging_failure_is_a_warning_and_the_fit_goes_on(data):
    X, y = data
    modelops.autolog(log_models=False)
    with modelops.start_run() as run:
        run.log_param("C", "other")  # the fit's C=1.0 conflicts with it
        with pytest.warns(AutologWarning, match="params.*ParamConflict"):
            model = LogisticRegression().fit(X, y)
    assert model.coef_.shape == (1, 3)
    assert modelops.get_run(run.run_id).data.metrics["training_accuracy"] > 0.5
    modelops.autolog(log_models=False, silent=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with modelops.start_run() as run:
            run.log_param("C", "other")
            LogisticRegression().fit(X, y)


def test_disable_restores_every_method(data):
    X, y = data
    original = LogisticRegression.__dict__["fit"]
    modelops.autolog()
    assert LogisticRegression.__dict__["fit"] is not original
    assert (LogisticRegression, "fit") in _patching.patched("sklearn")
    modelops.autolog(disable=True)
    assert LogisticRegression.__dict__["fit"] is original and _patching.patched() == []
    LogisticRegression().fit(X, y)
    assert _runs() == []
    modelops.sklearn.autolog()
    LogisticRegression().fit(X, y)
    modelops.sklearn.autolog(disable=True)
    LogisticRegression().fit(X, y)
    assert len(_runs()) == 1


def test_threads_each_log_their_own_fit(data):
    X, y = data
    modelops.autolog(log_models=False, log_input_examples=False)
    errors = []

    def fit(c):
        try:
            for _ in range(3):
                LogisticRegression(C=c).fit(X, y)
            with modelops.start_run(name=f"thread-{c}"):
                LogisticRegression(C=c).fit(X, y)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=fit, args=(c,)) for c in (0.1, 0.2, 0.3, 0.4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    runs = _runs()
    assert len(runs) == 16
    for c in ("0.1", "0.2", "0.3", "0.4"):
        [named] = [r for r in runs if r.info.run_name == f"thread-{c}"]
        assert named.data.params["C"] == c
        assert sum(r.data.params["C"] == c for r in runs) == 4


def test_train_logs_its_own_fits_once(data):
    X, y = data
    modelops.autolog()
    result = modelops.train(modelops.get_client(), "clf", LogisticRegression(), X, y,
                            register=False)
    runs = _runs(experiments="clf-training")
    assert [r.run_id for r in runs] == [result.run_id]
    assert len(_runs()) == 1


def test_bad_options_are_refused():
    with pytest.raises(InvalidInput) as err:
        modelops.autolog(log_models="yes")
    assert err.value.field == "log_models"
    with pytest.raises(InvalidInput):
        modelops.autolog(registered_model_name="a@b")
    with pytest.raises(InvalidInput) as err:
        modelops.autolog(frameworks=("torch",))
    assert err.value.field == "frameworks"
    assert _patching.patched() == []


@pytest.mark.parametrize("package, cls", [("xgboost", "XGBClassifier"),
                                          ("lightgbm", "LGBMClassifier")])
def test_boosters_through_their_sklearn_api(data, package, cls):
    module = pytest.importorskip(package, reason=f"{package} is not installed")
    X, y = data
    modelops.autolog(log_models=False)
    getattr(module, cls)(n_estimators=5).fit(X, y)
    [run] = _runs()
    assert run.data.params["n_estimators"] == "5"
    assert "training_accuracy" in run.data.metrics


def test_a_frame_fitted_on_is_logged_as_the_training_dataset(data):
    X, y = data
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    label = pd.Series(y, name="label")
    modelops.autolog(registered_model_name="clf")
    with modelops.start_run() as run:
        LogisticRegression().fit(frame, label)
        LogisticRegression().fit(frame.head(60), label.head(60))  # other data, one run
    tracking = modelops.get_client().tracking
    first, second = tracking.list_inputs(run.run_id)
    assert (first.name, first.context, first.rows) == ("training", "training", 120)
    assert first.columns == ["a", "b", "c", "label"]
    assert second.name == f"training-{second.digest[:8]}" and second.rows == 60
    assert tracking.input_profile(run.run_id, "training").target == "label"
    version = modelops.get_client().registry.get_version("clf", "1.0.0")
    assert [d.name for d in version.lineage.datasets] == ["training"]


def test_arrays_and_log_datasets_false_log_no_dataset(data):
    X, y = data
    modelops.autolog(log_models=False)
    LogisticRegression().fit(X, y)                       # no column names
    modelops.autolog(log_models=False, log_datasets=False)
    LogisticRegression().fit(pd.DataFrame(X, columns=["a", "b", "c"]), y)
    tracking = modelops.get_client().tracking
    assert [tracking.list_inputs(r.run_id) for r in _runs()] == [[], []]


def test_a_one_column_target_frame_gets_its_training_metrics(data):
    """MLflow's wine tutorial fits on ``train[["quality"]]``: a one-column frame."""
    X, _ = data
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    target = pd.DataFrame({"quality": 2.0 * X[:, 0] + 1.0})
    modelops.autolog(log_models=False)
    with modelops.start_run() as run:
        LinearRegression().fit(frame, target)
    stored = modelops.get_run(run.run_id)
    assert stored.metrics["training_r2"] == pytest.approx(1.0)
    assert stored.metrics["training_rmse"] == pytest.approx(0.0, abs=1e-9)
    profile = modelops.get_client().tracking.input_profile(run.run_id, "training")
    assert profile.target == "quality" and list(profile.columns)[-1] == "quality"
