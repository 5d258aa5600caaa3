"""DLE, direct loss estimation: a regressor's MAE and RMSE before the labels arrive
(NannyML's method).

A nanny model — scikit-learn's ``HistGradientBoostingRegressor`` — learns on the reference
the absolute error ``|y - ŷ|`` from the features and the prediction; a second one learns the
squared error. On a window, the estimated MAE is the mean of the predicted absolute errors,
the estimated MSE the mean of the predicted squared errors and the RMSE its square root.
Where the model errs depends on the inputs, so a window that moves towards inputs where the
model did badly gets a worse estimate, with no label in sight.

The band is ±3 standard errors of a window's mean error, from the spread of the errors on the
reference (``3 σ / √n``; for RMSE by the delta method), as NannyML's sampling error.
Categorical features are given to the nanny models as categories (the reference's 254 most
frequent levels).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from modelops.entities.estimation import EstimationData, MetricEstimate
from modelops.errors import InvalidInput
from modelops.estimation.calibration import one_thread, sklearn
from modelops.frames import MatrixEncoding

__all__ = ["DLE", "METRICS", "fit_dle"]

METRICS = ("mae", "rmse", "mse")
BAND_Z = 3.0
MIN_REFERENCE = 100
#: The nanny models' settings (scikit-learn's defaults otherwise); fixed for repeatability.
NANNY = {"max_iter": 100, "early_stopping": False, "random_state": 0}

_PREDICTION = "\x00prediction"


def _numbers(values: Any, field: str) -> np.ndarray:
    try:
        out = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidInput("DLE needs numeric predictions and actuals", field=field) from None
    return out


class DLE:
    """A DLE estimator fitted on a reference; make one with :func:`fit_dle`."""

    metrics = METRICS

    def __init__(self, encoding: MatrixEncoding, absolute: Any, squared: Any,
                 reference_errors: np.ndarray, n_reference: int) -> None:
        self.encoding = encoding
        self.absolute = absolute
        self.squared = squared
        abs_err, sq_err = np.abs(reference_errors), reference_errors ** 2
        self.sd_abs = float(abs_err.std(ddof=1))
        self.sd_sq = float(sq_err.std(ddof=1))
        self.reference_metrics: Mapping[str, float] = {
            "mae": float(abs_err.mean()), "mse": float(sq_err.mean()),
            "rmse": float(math.sqrt(sq_err.mean()))}
        self.notes: Mapping[str, Any] = {
            "estimator": "dle", "n_reference": n_reference,
            "features": [n for n in encoding.names if n != _PREDICTION],
            "nanny": "HistGradientBoostingRegressor on the features and the prediction, one "
                     "for the absolute and one for the squared error",
            "band": f"±{BAND_Z:g} standard errors of a window's mean error, from the "
                    "reference's errors"}

    def __repr__(self) -> str:
        return f"<DLE features={len(self.encoding.names) - 1}>"

    def _matrix(self, data: EstimationData) -> np.ndarray:
        columns = dict(data.features)
        columns[_PREDICTION] = _numbers(data.predictions, "predictions")
        return self.encoding.matrix(columns)

    def estimate(self, data: EstimationData) -> dict[str, MetricEstimate]:
        """The estimated MAE, RMSE and MSE of the rows of ``data`` (actuals not read)."""
        n = len(data)
        if n == 0:
            return {m: MetricEstimate(metric=m, value=math.nan, n=0) for m in METRICS}
        x = self._matrix(data)
        with one_thread():
            mae = float(np.maximum(self.absolute.predict(x), 0.0).mean())
            mse = float(np.maximum(self.squared.predict(x), 0.0).mean())
        rmse = math.sqrt(mse)
        se_abs = self.sd_abs / math.sqrt(n)
        se_sq = self.sd_sq / math.sqrt(n)
        se_rmse = se_sq / (2 * rmse) if rmse > 0 else math.nan

        def band(metric: str, value: float, se: float) -> MetricEstimate:
            return MetricEstimate(metric=metric, value=value,
                                  lower=max(value - BAND_Z * se, 0.0),
                                  upper=value + BAND_Z * se, n=n)

        return {"mae": band("mae", mae, se_abs), "rmse": band("rmse", rmse, se_rmse),
                "mse": band("mse", mse, se_sq)}


def fit_dle(reference: EstimationData) -> DLE:
    """Fit DLE's nanny models on a reference with numeric actuals and predictions."""
    n = len(reference)
    if n < MIN_REFERENCE:
        raise InvalidInput(f"a DLE reference needs at least {MIN_REFERENCE} rows with "
                           f"feedback, got {n}", field="reference")
    if reference.actuals is None or len(reference.actuals) != n:
        raise InvalidInput("a reference needs the actual of every row", field="actuals")
    sklearn()
    from sklearn.ensemble import HistGradientBoostingRegressor

    errors = _numbers(reference.actuals, "actuals") - _numbers(reference.predictions,
                                                               "predictions")
    if not np.isfinite(errors).all():
        raise InvalidInput("every reference row needs a finite actual and prediction",
                           field="reference")
    with np.errstate(over="ignore"):
        squared_errors = errors ** 2
    if not np.isfinite(squared_errors).all():   # errors beyond about 1e154
        raise InvalidInput("the reference's errors are too large to square in floats",
                           field="reference")
    columns = dict(reference.features)
    columns[_PREDICTION] = _numbers(reference.predictions, "predictions")
    encoding = MatrixEncoding(columns)
    x = encoding.matrix(columns)
    mask = encoding.categorical_mask
    settings = dict(NANNY, categorical_features=mask if mask.any() else None)
    with one_thread():
        absolute = HistGradientBoostingRegressor(**settings).fit(x, np.abs(errors))
        squared = HistGradientBoostingRegressor(**settings).fit(x, squared_errors)
    return DLE(encoding, absolute, squared, errors, n)
