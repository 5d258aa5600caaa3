"""CBPE against scikit-learn's metrics and against realised performance on calibrated data."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

from modelops.errors import InvalidInput, MissingDependency
from modelops.estimation import EstimationData, estimator_table, fit_cbpe, fit_estimator
from modelops.estimation.calibration import calibrate, expected_calibration_error
from modelops.estimation.cbpe import expected_auc


def calibrated_model(rng, n, shift=0.0):
    """Rows whose score is exactly the probability of the positive label."""
    x = rng.normal(shift, 1, n)
    p = 1 / (1 + np.exp(-2 * x))
    y = (rng.random(n) < p).astype(int)
    return p, y


def test_certain_scores_give_the_realised_metrics_exactly():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400)
    s = rng.random(400)
    pred = (s > 0.5).astype(int)
    fitted = fit_cbpe(EstimationData(predictions=pred, scores=s, actuals=y),
                      calibration=False)
    # a score of exactly 0 or 1 is certain: the expected confusion matrix is the real one
    p = y.astype(float)
    cbpe = fitted.estimate(EstimationData(predictions=pred, scores=p))
    assert math.isclose(cbpe["accuracy"].value, skm.accuracy_score(y, pred))
    assert math.isclose(cbpe["precision"].value, skm.precision_score(y, pred))
    assert math.isclose(cbpe["recall"].value, skm.recall_score(y, pred))
    assert math.isclose(cbpe["f1"].value, skm.f1_score(y, pred))


def test_expected_auc_of_certain_labels_is_sklearns_auc():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 300)
    s = np.round(rng.random(300), 1)            # ties included
    assert math.isclose(expected_auc(y.astype(float), s), skm.roc_auc_score(y, s))


def test_expected_auc_is_the_mean_auc_of_labels_drawn_from_the_scores():
    rng = np.random.default_rng(2)
    p = rng.random(200)
    draws = [skm.roc_auc_score(y, p) for y in (rng.random((4000, 200)) < p).astype(int)]
    assert abs(expected_auc(p, p) - np.mean(draws)) < 0.003


def test_ece_by_hand():
    scores = np.array([0.1, 0.2, 0.8, 0.9])
    outcomes = np.array([0.0, 1.0, 1.0, 1.0])
    # two bins of two: |0.15 - 0.5| and |0.85 - 1.0|, weighted equally
    assert math.isclose(expected_calibration_error(scores, outcomes, bins=2),
                        (0.35 + 0.15) / 2)


def test_calibration_is_applied_only_when_it_helps_out_of_fold():
    rng = np.random.default_rng(3)
    p, y = calibrated_model(rng, 5000)
    assert not calibrate(p, y).calibrated                  # already calibrated
    squeezed = 0.5 + (p - 0.5) * 0.3                       # far too timid
    found = calibrate(squeezed, y)
    assert found.calibrated and found.ece_calibrated < found.ece_raw


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_a_calibrated_model_is_estimated_ever_closer_as_the_window_grows(seed):
    rng = np.random.default_rng(seed)
    p, y = calibrated_model(rng, 10_000)
    fitted = fit_cbpe(EstimationData(predictions=(p > 0.5).astype(int), scores=p, actuals=y))
    errors = {}
    for n in (500, 50_000):
        q, yy = calibrated_model(rng, n, shift=0.7)
        pred = (q > 0.5).astype(int)
        found = fitted.estimate(EstimationData(predictions=pred, scores=q))
        errors[n] = {"accuracy": abs(found["accuracy"].value - skm.accuracy_score(yy, pred)),
                     "roc_auc": abs(found["roc_auc"].value - skm.roc_auc_score(yy, q)),
                     "f1": abs(found["f1"].value - skm.f1_score(yy, pred))}
    for metric, error in errors[50_000].items():
        assert error < 0.015, (metric, error)
    assert max(errors[50_000].values()) < max(max(errors[500].values()), 0.015)


def test_the_band_holds_the_realised_value_as_often_as_three_standard_errors_should():
    rng = np.random.default_rng(4)
    p, y = calibrated_model(rng, 5000)
    fitted = fit_cbpe(EstimationData(predictions=(p > 0.5).astype(int), scores=p, actuals=y),
                      calibration=False)
    inside = {m: 0 for m in ("accuracy", "precision", "recall", "f1", "roc_auc")}
    trials = 300
    for _ in range(trials):
        q, yy = calibrated_model(rng, 400, shift=0.3)
        pred = (q > 0.5).astype(int)
        found = fitted.estimate(EstimationData(predictions=pred, scores=q))
        real = {"accuracy": skm.accuracy_score(yy, pred), "precision":
                skm.precision_score(yy, pred), "recall": skm.recall_score(yy, pred),
                "f1": skm.f1_score(yy, pred), "roc_auc": skm.roc_auc_score(yy, q)}
        for metric in inside:
            inside[metric] += found[metric].lower <= real[metric] <= found[metric].upper
    for metric, count in inside.items():
        assert count / trials >= 0.97, (metric, count)     # 3 σ: 99.7% in theory


def test_multiclass_with_certain_scores_gives_sklearns_macro_metrics():
    rng = np.random.default_rng(5)
    y = rng.choice(["a", "b", "c"], 600)
    pred = np.where(rng.random(600) < 0.7, y, rng.choice(["a", "b", "c"], 600))
    raw = rng.dirichlet([1, 1, 1], 600)
    fitted = fit_cbpe(EstimationData(predictions=pred, scores=raw, actuals=y,
                                     classes=("a", "b", "c")), calibration=False)
    onehot = (y[:, None] == np.array(["a", "b", "c"])).astype(float)
    found = fitted.estimate(EstimationData(predictions=pred, scores=onehot))
    assert math.isclose(found["accuracy"].value, skm.accuracy_score(y, pred))
    for name, fn in (("precision", skm.precision_score), ("recall", skm.recall_score),
                     ("f1", skm.f1_score)):
        assert math.isclose(found[name].value, fn(y, pred, average="macro")), name


def test_multiclass_estimates_track_a_shift_in_class_mix():
    rng = np.random.default_rng(6)
    centers = np.array([[0, 0], [2, 0], [0, 2]])

    def rows(n, weights):
        y = rng.choice(3, n, p=weights)
        x = centers[y] + rng.normal(0, 1.2, (n, 2))
        d = -((x[:, None, :] - centers[None]) ** 2).sum(axis=2) / (2 * 1.2 ** 2)
        prior = np.log(np.array(weights))
        proba = np.exp(d + prior)
        proba /= proba.sum(axis=1, keepdims=True)
        return y, proba

    y, proba = rows(6000, [1 / 3] * 3)
    fitted = fit_estimator(EstimationData(predictions=proba.argmax(1), scores=proba, actuals=y,
                                          classes=(0, 1, 2)))
    y2, proba2 = rows(5000, [1 / 3] * 3)
    found = fitted.estimate(EstimationData(predictions=proba2.argmax(1), scores=proba2))
    assert abs(found["accuracy"].value - skm.accuracy_score(y2, proba2.argmax(1))) < 0.02
    assert abs(found["roc_auc"].value -
               skm.roc_auc_score(y2, proba2, multi_class="ovr")) < 0.02


def test_confidence_scores_estimate_accuracy():
    rng = np.random.default_rng(7)
    y = rng.choice(["a", "b", "c", "d"], 4000)
    conf = rng.uniform(0.3, 1.0, 4000)
    pred = np.where(rng.random(4000) < conf, y, "z")
    fitted = fit_cbpe(EstimationData(predictions=pred, scores=conf, actuals=y,
                                     confidence=True))
    assert fitted.metrics == ("accuracy",)
    conf2 = rng.uniform(0.6, 1.0, 3000)
    y2 = rng.choice(["a", "b"], 3000)
    pred2 = np.where(rng.random(3000) < conf2, y2, "z")
    found = fitted.estimate(EstimationData(predictions=pred2, scores=conf2))
    assert abs(found["accuracy"].value - np.mean(pred2 == y2)) < 0.03


def test_bad_references_name_what_is_wrong():
    rng = np.random.default_rng(8)
    p, y = calibrated_model(rng, 50)
    with pytest.raises(InvalidInput, match="at least 100"):
        fit_cbpe(EstimationData(predictions=(p > 0.5).astype(int), scores=p, actuals=y))
    p, y = calibrated_model(rng, 500)
    with pytest.raises(InvalidInput, match="actual"):
        fit_cbpe(EstimationData(predictions=(p > 0.5).astype(int), scores=p))
    with pytest.raises(InvalidInput, match="positive"):
        fit_cbpe(EstimationData(predictions=np.where(p > 0.5, "x", "y"), scores=p,
                                actuals=np.where(y == 1, "x", "y")))
    fitted = fit_cbpe(EstimationData(predictions=np.where(p > 0.5, "x", "y"), scores=p,
                                     actuals=np.where(y == 1, "x", "y"), classes=("y", "x")))
    with pytest.raises(InvalidInput, match="not one of the reference's classes"):
        fitted.estimate(EstimationData(predictions=np.array(["x", "q"]),
                                       scores=np.array([0.1, 0.2])))
    with pytest.raises(InvalidInput, match="finite"):
        fitted.estimate(EstimationData(predictions=np.array(["x"]), scores=np.array([np.nan])))


def test_cbpe_needs_no_scikit_learn_and_dle_names_the_extra(monkeypatch):
    import sys

    from modelops.estimation import fit_dle

    monkeypatch.setitem(sys.modules, "sklearn", None)
    rng = np.random.default_rng(9)
    p, y = calibrated_model(rng, 500)
    fitted = fit_cbpe(EstimationData(predictions=(p > 0.5).astype(int), scores=p, actuals=y),
                      calibration=True)
    assert fitted.notes["calibrated"]
    with pytest.raises(MissingDependency, match=r"modelops\[sklearn\]"):
        fit_dle(EstimationData(predictions=p, actuals=y.astype(float), features={"p": p}))


def test_the_builtin_estimators_come_through_the_table():
    table = estimator_table()
    assert table["cbpe"].task == "classification" and table["dle"].task == "regression"


def test_isotonic_equals_scikit_learns():
    from sklearn.isotonic import IsotonicRegression

    from modelops.estimation.calibration import Isotonic

    rng = np.random.default_rng(10)
    s = np.round(rng.random(3000), 2)                      # ties included
    y = (rng.random(3000) < s ** 2).astype(float)
    new = np.concatenate((rng.random(500) * 1.2 - 0.1, s[:100]))
    ours = Isotonic(s, y).predict(new)
    theirs = IsotonicRegression(y_min=0, y_max=1, out_of_bounds="clip").fit(s, y).predict(new)
    assert np.allclose(ours, theirs)
