"""DLE: a nanny model's estimate of MAE and RMSE against the realised values."""

import math

import numpy as np
import pytest

from modelops.errors import InvalidInput
from modelops.estimation import EstimationData, fit_dle, fit_estimator


def rows(rng, n, spread=1.0):
    """A regressor whose error grows with |b| (it never sees the noise): moving b moves the
    error, which only the features can tell."""
    a = rng.normal(0, 1, n)
    b = rng.normal(0, spread, n)
    city = rng.choice(["north", "south"], n)
    noise = rng.normal(0, 0.2 + np.abs(b) + (city == "south"), n)
    actual = 2 * a + noise
    return {"a": a, "b": b, "city": city}, 2 * a, actual


def test_dle_follows_the_error_where_the_inputs_move():
    rng = np.random.default_rng(0)
    features, pred, actual = rows(rng, 8000)
    fitted = fit_estimator(EstimationData(predictions=pred, actuals=actual, features=features))
    assert fitted.notes["estimator"] == "dle"
    assert math.isclose(fitted.reference_metrics["mae"], np.mean(np.abs(actual - pred)))
    for spread in (1.0, 1.6):
        features, pred, actual = rows(rng, 5000, spread)
        found = fitted.estimate(EstimationData(predictions=pred, features=features))
        mae = np.mean(np.abs(actual - pred))
        rmse = math.sqrt(np.mean((actual - pred) ** 2))
        assert abs(found["mae"].value - mae) / mae < 0.06, (spread, found["mae"], mae)
        assert abs(found["rmse"].value - rmse) / rmse < 0.08, (spread, found["rmse"], rmse)
        assert found["mae"].lower < found["mae"].value < found["mae"].upper
    assert found["mae"].value > fitted.reference_metrics["mae"] * 1.2   # it saw the shift


def test_dle_refuses_labels_and_missing_columns():
    rng = np.random.default_rng(1)
    features, pred, actual = rows(rng, 300)
    with pytest.raises(InvalidInput, match="numeric"):
        fit_dle(EstimationData(predictions=np.array(["x"] * 300), actuals=actual,
                               features=features))
    fitted = fit_dle(EstimationData(predictions=pred, actuals=actual, features=features))
    with pytest.raises(InvalidInput, match="'city'"):
        fitted.estimate(EstimationData(predictions=pred, features={"a": features["a"],
                                                                    "b": features["b"]}))
