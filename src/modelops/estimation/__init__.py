"""Performance estimation without labels: CBPE for classifiers, DLE for regressors, and the
estimator table plugins add to (``modelops_estimators``). See ``docs/estimation.md``.

    from modelops.estimation import EstimationData, fit_estimator

    fitted = fit_estimator(EstimationData(predictions=pred, scores=proba, actuals=y))
    fitted.estimate(EstimationData(predictions=new_pred, scores=new_proba))["roc_auc"]

``ops.monitor(model).estimated_performance()`` does the same over logged predictions.
Names load on first use: the plugin manager registers ``modelops.estimation.builtin`` on the
first ``connect()``, which must not pull in numpy or scikit-learn.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from modelops.entities.estimation import (
        EstimationData,
        Estimator,
        FittedEstimator,
        MetricEstimate,
    )
    from modelops.estimation.calibration import expected_calibration_error
    from modelops.estimation.cbpe import CBPE, fit_cbpe
    from modelops.estimation.dle import DLE, fit_dle
    from modelops.estimation.table import estimator_for, estimator_table

_WHERE = {
    "CBPE": "modelops.estimation.cbpe",
    "DLE": "modelops.estimation.dle",
    "EstimationData": "modelops.entities.estimation",
    "Estimator": "modelops.entities.estimation",
    "FittedEstimator": "modelops.entities.estimation",
    "MetricEstimate": "modelops.entities.estimation",
    "estimator_for": "modelops.estimation.table",
    "estimator_table": "modelops.estimation.table",
    "expected_calibration_error": "modelops.estimation.calibration",
    "fit_cbpe": "modelops.estimation.cbpe",
    "fit_dle": "modelops.estimation.dle",
}

__all__ = [
    "CBPE",
    "DLE",
    "EstimationData",
    "Estimator",
    "FittedEstimator",
    "MetricEstimate",
    "estimator_for",
    "estimator_table",
    "expected_calibration_error",
    "fit_cbpe",
    "fit_dle",
    "fit_estimator",
]


def fit_estimator(reference: Any, *, estimator: str | None = None,
                  task: str | None = None) -> Any:
    """Fit a performance estimator on ``reference`` (an ``EstimationData`` with actuals): the
    one named ``estimator`` in the estimator table, else CBPE for a classifier and DLE for a
    regressor (``task``, or guessed: classification when there are scores)."""
    from modelops.entities.estimation import EstimationData
    from modelops.errors import InvalidInput
    from modelops.estimation.table import estimator_for

    if not isinstance(reference, EstimationData):
        raise InvalidInput(f"expected EstimationData, got {type(reference).__name__}",
                           field="reference")
    if task is None and estimator is None:
        task = "classification" if reference.scores is not None else "regression"
    return estimator_for(task, estimator).fit(reference)


def __getattr__(name: str) -> object:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'modelops.estimation' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
