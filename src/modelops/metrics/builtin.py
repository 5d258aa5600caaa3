"""The built-in metrics: a plugin offering them through the ``modelops_metrics`` hook, the way
a third-party plugin offers its own.

Each is a function ``(y_true, y_pred, score) -> float`` over whole arrays, computed with numpy
by the kernels monitoring uses per window (``modelops.metrics.grouped``); they equal
scikit-learn's functions of the same name with its defaults (the tests check them). numpy
loads when a metric runs, not when the plugin manager loads this module.
"""

from __future__ import annotations

from typing import Any

from modelops.entities.metrics import MetricSpec
from modelops.hookspecs import hookimpl

__all__ = ["BUILTIN_METRICS", "modelops_metrics"]


def _labels(y_true: Any, y_pred: Any) -> tuple[Any, Any, Any, int | None]:
    import numpy as np

    from modelops.metrics import grouped

    labels, true, pred = grouped.encode_labels(np.asarray(y_true), np.asarray(y_pred))
    positive = grouped.default_positive(labels)
    return labels, true, pred, (labels.index(positive) if positive is not None else None)


def _classification(name: str, y_true: Any, y_pred: Any) -> float:
    from modelops.metrics import grouped

    labels, true, pred, pos = _labels(y_true, y_pred)
    return float(grouped.classification(true, pred, len(labels), pos)[name][0])


def accuracy(y_true: Any, y_pred: Any, score: Any = None) -> float:
    """The share of rows whose prediction equals the actual."""
    return _classification("accuracy", y_true, y_pred)


def precision(y_true: Any, y_pred: Any, score: Any = None) -> float:
    """Precision of the positive class (binary labels), else the macro average."""
    return _classification("precision", y_true, y_pred)


def recall(y_true: Any, y_pred: Any, score: Any = None) -> float:
    """Recall of the positive class (binary labels), else the macro average."""
    return _classification("recall", y_true, y_pred)


def f1(y_true: Any, y_pred: Any, score: Any = None) -> float:
    """F1 of the positive class (binary labels), else the macro average."""
    return _classification("f1", y_true, y_pred)


def roc_auc(y_true: Any, y_pred: Any, score: Any) -> float:
    """Area under the ROC curve of the positive class's score; with a score column per class,
    the mean of one-vs-rest areas (the classes numbered by column)."""
    import numpy as np

    from modelops.metrics import grouped

    score = np.asarray(score, dtype=np.float64)
    true = np.asarray(y_true)
    if score.ndim == 2:
        zeros = np.zeros(len(true), dtype=np.intp)
        areas = [grouped.roc_auc(true == k, score[:, k], zeros, 1)[0]
                 for k in range(score.shape[1])]
        return float(np.mean(areas))
    _names, codes, _pred, pos = _labels(true, y_pred)
    if pos is None:
        return float("nan")
    return float(grouped.roc_auc(codes == pos, score, np.zeros(len(codes), dtype=np.intp),
                                 1)[0])


def log_loss(y_true: Any, y_pred: Any, score: Any) -> float:
    """Mean negative log-likelihood of the actuals under the predicted probabilities (of the
    positive class, or one column per class), clipped to [eps, 1 - eps] as scikit-learn."""
    import numpy as np

    p = np.asarray(score, dtype=np.float64)
    true = np.asarray(y_true)
    if p.ndim == 1:
        _names, codes, _pred, pos = _labels(true, y_pred)
        if pos is None:
            return float("nan")
        p = np.column_stack((1 - p, p))
        index = (codes == pos).astype(np.intp)
    else:
        index = true.astype(np.intp)
    eps = np.finfo(p.dtype).eps
    p = np.clip(p, eps, 1 - eps)
    p = p / p.sum(axis=1, keepdims=True)
    return float(-np.mean(np.log(p[np.arange(len(index)), index])))


def _errors(y_true: Any, y_pred: Any) -> Any:
    import numpy as np

    true = np.asarray(y_true, dtype=np.float64)
    pred = np.asarray(y_pred, dtype=np.float64)
    ok = np.isfinite(true) & np.isfinite(pred)
    return true[ok], pred[ok]


def _regression(name: str, y_true: Any, y_pred: Any) -> float:
    from modelops.metrics import grouped

    return float(grouped.regression(*_errors(y_true, y_pred))[name][0])


def mae(y_true: Any, y_pred: Any, score: Any = None) -> float:
    """Mean absolute error."""
    return _regression("mae", y_true, y_pred)


def mse(y_true: Any, y_pred: Any, score: Any = None) -> float:
    """Mean squared error."""
    import numpy as np

    true, pred = _errors(y_true, y_pred)
    return float(np.mean((true - pred) ** 2)) if len(true) else float("nan")


def rmse(y_true: Any, y_pred: Any, score: Any = None) -> float:
    """Root mean squared error."""
    return _regression("rmse", y_true, y_pred)


def r2(y_true: Any, y_pred: Any, score: Any = None) -> float:
    """Coefficient of determination."""
    return _regression("r2", y_true, y_pred)


_C, _R = "classification", "regression"

#: The built-in metrics, with the other spellings registered models and tools use.
BUILTIN_METRICS = (
    MetricSpec(name="accuracy", compute=accuracy, task=_C, aliases=("acc", "accuracy_score")),
    MetricSpec(name="precision", compute=precision, task=_C, aliases=("precision_score",)),
    MetricSpec(name="recall", compute=recall, task=_C, aliases=("recall_score",)),
    MetricSpec(name="f1", compute=f1, task=_C, aliases=("f1_score", "f1-score")),
    MetricSpec(name="roc_auc", compute=roc_auc, task=_C, needs="score",
               aliases=("auc", "roc-auc", "rocauc", "roc_auc_score")),
    MetricSpec(name="log_loss", compute=log_loss, task=_C, needs="probability",
               higher_is_better=False, aliases=("logloss", "log-loss", "cross_entropy")),
    MetricSpec(name="mae", compute=mae, task=_R, higher_is_better=False,
               aliases=("mean_absolute_error",)),
    MetricSpec(name="mse", compute=mse, task=_R, higher_is_better=False,
               aliases=("mean_squared_error",)),
    MetricSpec(name="rmse", compute=rmse, task=_R, higher_is_better=False,
               aliases=("root_mean_squared_error",)),
    MetricSpec(name="r2", compute=r2, task=_R, aliases=("r2_score", "r^2")),
)


@hookimpl
def modelops_metrics() -> list[MetricSpec]:
    """The built-in metrics, offered the way a plugin offers its own."""
    return list(BUILTIN_METRICS)
