"""Signatures: inferred at registration, stored with the version, and the input contract
(conform) that both load_model(enforce_signature=True) and modelops serve apply."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

import modelops
from modelops.validation import InputMismatch, conform, conform_frame, infer_signature

X = pd.DataFrame({"amount": [1.5, 2.0, np.nan, 4.0], "items": [1, 2, 3, 4],
                  "country": ["fr", "de", "fr", "es"], "vip": [True, False, True, False]})
Y = np.array([0, 1, 0, 1])


def _fields(exc: InputMismatch) -> dict[str, str]:
    return {p["field"]: p["problem"] for p in exc.problems}


def test_infer_signature_records_names_dtypes_nullability_and_categories():
    sig = infer_signature(X)
    assert sig.names == ("amount", "items", "country", "vip")
    by = {c.name: c for c in sig.columns}
    assert (by["amount"].dtype, by["amount"].nullable) == ("float", True)
    assert (by["items"].dtype, by["items"].nullable) == ("int", False)
    assert by["country"].categories == ("de", "es", "fr")
    assert by["vip"].dtype == "bool"


def test_conform_coerces_good_records_in_signature_order():
    sig = infer_signature(X)
    rows = [{"vip": 1, "country": "fr", "items": 3.0, "amount": None},
            {"country": "it", "items": 2, "amount": 7, "vip": False}]
    out = conform(sig, rows)
    assert list(out) == ["amount", "items", "country", "vip"]
    assert out["amount"].dtype == np.float64 and math.isnan(out["amount"][0])
    assert out["items"].dtype == np.int64 and out["items"].tolist() == [3, 2]
    assert out["vip"].tolist() == [True, False]
    assert out["country"].tolist() == ["fr", "it"]      # an unseen category is the model's


def test_conform_names_every_bad_field_at_once():
    sig = infer_signature(X)
    rows = [{"amount": "1", "items": 1.5, "country": "fr", "vip": True, "extra": 1},
            {"amount": 1.0, "items": None, "country": 7, "vip": "yes"},
            {"amount": math.inf, "items": 2 ** 70, "vip": False}]
    with pytest.raises(InputMismatch) as info:
        conform(sig, rows)
    problems = info.value.problems
    assert {(p["field"], tuple(p["rows"])) for p in problems} == {
        ("extra", (0,)), ("amount", (0, 2)), ("items", (0, 2)), ("items", (1,)),
        ("country", (2,)), ("country", (1,)), ("vip", (1,))}
    assert isinstance(info.value, modelops.InvalidInput)


def test_unknown_columns_can_be_ignored():
    sig = infer_signature(X)
    row = {"amount": 1.0, "items": 1, "country": "fr", "vip": True, "extra": 1}
    assert "extra" not in conform(sig, [row], unknown="ignore")
    with pytest.raises(modelops.InvalidInput, match="unknown"):
        conform(sig, [row], unknown="sometimes")


def test_conform_frame_applies_the_same_contract_to_frames():
    sig = infer_signature(X)
    assert conform_frame(sig, X)["items"].tolist() == [1, 2, 3, 4]
    strict = infer_signature(X.fillna(0.0))
    with pytest.raises(InputMismatch) as info:
        conform_frame(strict, X.drop(columns=["vip"]))
    assert _fields(info.value) == {"amount": "is missing (null or NaN) but the signature "
                                             "does not allow it", "vip": "is missing"}


def test_registration_stores_the_signature_and_example(tmp_path):
    ops = modelops.connect(tmp_path / "s")
    model = LogisticRegression().fit(X[["items"]].to_numpy(), Y)
    v = ops.registry.register("m", model, input_example=X[["items"]])
    assert [c["name"] for c in v.signature["columns"]] == ["items"]
    assert [dict(r) for r in v.input_example] == [{"items": i} for i in (1, 2, 3, 4)]
    again = modelops.connect(tmp_path / "s").registry.get_version("m", v.version)
    assert again.signature == v.signature
    records = ops.registry.register("m", model, input_example={"items": 3})
    assert records.signature["columns"][0]["dtype"] == "int"
    plain = ops.registry.register("m", model)
    assert plain.signature is None and plain.input_example == ()
    with pytest.raises(modelops.InvalidInput):
        ops.registry.register("m", model, signature={"columns": "nope"})


def test_train_infers_the_signature_from_the_training_frame(tmp_path):
    ops = modelops.connect(tmp_path / "s")
    x = pd.DataFrame({"a": np.arange(40.0), "b": np.arange(40) % 3})
    y = (x["a"] > 20).astype(int)
    result = modelops.train(ops, "t", LogisticRegression(), x, y, figures=False)
    assert [c["name"] for c in result.version.signature["columns"]] == ["a", "b"]
    assert len(result.version.input_example) == 1


def test_log_model_takes_an_input_example(tmp_path):
    ops = modelops.connect(tmp_path / "s")
    model = LogisticRegression().fit(X[["items"]].to_numpy(), Y)
    with ops.tracking.start_run(experiment="e") as run:
        v = run.log_model(model, "m", input_example=X[["items"]].head(2))
    assert v.signature["columns"][0]["name"] == "items" and len(v.input_example) == 2


def test_load_model_enforcing_the_signature_checks_and_feeds_named_columns(tmp_path,
                                                                          monkeypatch):
    monkeypatch.setenv("MODELOPS_URI", str(tmp_path / "s"))
    ops = modelops.connect(tmp_path / "s")
    x = X.fillna(0.0)
    pipe = make_pipeline(make_column_transformer(
        (OneHotEncoder(handle_unknown="ignore"), ["country"]), ("passthrough", ["amount"])),
        LogisticRegression()).fit(x, Y)
    v = ops.registry.register("p", pipe, input_example=x)
    ops.registry.promote("p", v.version, stage="production")
    model = ops.load_model("models:/p@production", enforce_signature=True)
    expected = pipe.predict_proba(x)
    # Columns in another order, as records, or one record: the pipeline gets its own order.
    np.testing.assert_allclose(model.predict_proba(x[list(reversed(x.columns))]), expected)
    np.testing.assert_allclose(model.predict_proba(x.to_dict(orient="records")), expected)
    assert model.predict(x.iloc[0].to_dict()).tolist() == pipe.predict(x.head(1)).tolist()
    assert model.classes_.tolist() == [0, 1]       # the model's own attributes pass through
    with pytest.raises(InputMismatch) as info:
        model.predict([{"amount": "x", "items": 1, "country": "fr", "vip": True}])
    assert _fields(info.value) == {"amount": "expected a finite number, got str 'x'"}
    plain = ops.registry.register("q", pipe)
    with pytest.raises(modelops.InvalidInput, match="without a signature"):
        ops.load_model(plain.uri, enforce_signature=True)
    assert modelops.load_model(v.uri, enforce_signature=True).signature.names == \
        tuple(x.columns)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_one_pass_predictions_equal_predict_for_argmax_classifiers(n_classes):
    """predict_scores takes predictions from predict_proba for the estimators whose predict
    is its argmax: the answers must be predict()'s exactly."""
    from sklearn.datasets import make_classification
    from sklearn.ensemble import (
        ExtraTreesClassifier,
        GradientBoostingClassifier,
        HistGradientBoostingClassifier,
        RandomForestClassifier,
    )
    from sklearn.preprocessing import StandardScaler
    from sklearn.tree import DecisionTreeClassifier, ExtraTreeClassifier

    from modelops.lifecycle.scoring import _predicts_argmax, predict_scores

    x, y = make_classification(600, 6, n_informative=4, n_classes=n_classes, random_state=0)
    for estimator in (make_pipeline(StandardScaler(), LogisticRegression()),
                      RandomForestClassifier(20, random_state=0),
                      ExtraTreesClassifier(20, random_state=0),
                      GradientBoostingClassifier(n_estimators=20, random_state=0),
                      HistGradientBoostingClassifier(max_iter=20),
                      DecisionTreeClassifier(random_state=0),
                      ExtraTreeClassifier(random_state=0)):
        model = estimator.fit(x[:400], y[:400])
        assert _predicts_argmax(model)
        predictions, _, _ = predict_scores(model, x[400:])
        assert predictions.tolist() == model.predict(x[400:]).tolist()


def test_load_model_enforcing_the_signature_calls_a_float_model_through_its_twin(tmp_path):
    from sklearn.preprocessing import StandardScaler

    ops = modelops.connect(tmp_path / "s")
    rng = np.random.default_rng(3)
    x = pd.DataFrame(rng.normal(size=(300, 3)), columns=["a", "b", "c"])
    y = (x["a"] - x["c"] > 0).astype(int).to_numpy()
    pipe = make_pipeline(StandardScaler(), LogisticRegression()).fit(x, y)
    v = ops.registry.register("f", pipe, input_example=x.head(3))
    model = ops.load_model(v.uri, enforce_signature=True)
    assert model._twin is not None and model._twin.columns == ("a", "b", "c")
    # Whatever order or shape the input comes in, the answers are the model's.
    np.testing.assert_allclose(model.predict_proba(x[["c", "a", "b"]]), pipe.predict_proba(x),
                               rtol=1e-12)
    assert model.predict(x.to_dict(orient="records")).tolist() == pipe.predict(x).tolist()
    with pytest.raises(InputMismatch):
        model.predict({"a": 1.0, "b": "two", "c": 3.0})
    assert isinstance(model.prepare(x), pd.DataFrame)   # prepare still gives the model's input
