"""The built-in performance estimators, CBPE for classifiers and DLE for regressors: a plugin
offering them through the ``modelops_estimators`` hook, the way a third-party plugin offers
its own. Nothing heavy loads until an estimator is fitted."""

from __future__ import annotations

from typing import Any

from modelops.entities.estimation import EstimationData, Estimator
from modelops.hookspecs import hookimpl

__all__ = ["BUILTIN_ESTIMATORS", "modelops_estimators"]


def _cbpe(reference: EstimationData) -> Any:
    from modelops.estimation.cbpe import fit_cbpe

    return fit_cbpe(reference)


def _dle(reference: EstimationData) -> Any:
    from modelops.estimation.dle import fit_dle

    return fit_dle(reference)


#: CBPE (confidence-based performance estimation) and DLE (direct loss estimation).
BUILTIN_ESTIMATORS = (
    Estimator("cbpe", "classification", ("accuracy", "precision", "recall", "f1", "roc_auc"),
              _cbpe),
    Estimator("dle", "regression", ("mae", "rmse", "mse"), _dle),
)


@hookimpl
def modelops_estimators() -> list[Estimator]:
    """The built-in estimators, offered the way a plugin offers its own."""
    return list(BUILTIN_ESTIMATORS)
