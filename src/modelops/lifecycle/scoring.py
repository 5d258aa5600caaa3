"""Feeding logged features to a model, and scoring it with the metric table.

A model fitted on named columns — scikit-learn records them in ``feature_names_in_``, a
``Pipeline`` whose first step is a ``ColumnTransformer`` among them — is given a pandas
DataFrame of exactly those columns, in that order: that is what it was fitted on, and a
``ColumnTransformer`` selects its columns by name. Any other model gets a 2-D array of the
features in the order given (the order a training function asked for them, else the logged
order). pandas is imported only for a model that needs a frame.

:func:`score_model` measures a model on rows with actuals by every metric of the metric table
(``modelops.metrics``) for the task: for a binary classifier, of the positive class (the
label given, else the second of ``classes_``, as scikit-learn's scores are), with the
positive class's probability as its score.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from modelops.errors import InvalidInput, MissingDependency

__all__ = ["column_values", "feature_names", "model_input", "predict_scores", "score_model"]


def feature_names(model: Any) -> list[str] | None:
    """The columns ``model`` was fitted on, in their order, or None when it was fitted on an
    unnamed array."""
    names = getattr(model, "feature_names_in_", None)
    if names is None:
        return None
    return [str(n) for n in list(names)]


def model_input(model: Any, features: Mapping[str, Any],
                order: Sequence[str] | None = None) -> Any:
    """The rows of ``features`` (column name -> values, one per row) as ``model`` takes them:
    a DataFrame of its training columns in their order when it has them, else a 2-D array
    of ``order`` (default: every feature, in the mapping's order). ``InvalidInput`` names the
    columns the model needs and the features lack."""
    import numpy as np

    names = feature_names(model)
    if names is not None:
        missing = [c for c in names if c not in features]
        if missing:
            raise InvalidInput(f"the model was fitted on columns the features lack: "
                               f"{', '.join(missing)}", field="features")
        try:
            import pandas as pd
        except ImportError:
            raise MissingDependency("predicting with a model fitted on named columns",
                                    "pandas") from None
        arrays = [column_values(features[c]) for c in names]
        if arrays and all(a.dtype == np.float64 and a.ndim == 1 for a in arrays):
            # One float block: built at a tenth of the cost of a column per array, and read
            # faster by scikit-learn's checks (a served single record pays both per request).
            return pd.DataFrame(np.column_stack(arrays), columns=pd.Index(names), copy=False)
        return pd.DataFrame(dict(zip(names, arrays)), columns=names)
    columns = list(features) if order is None else list(order)
    missing = [c for c in columns if c not in features]
    if missing:
        raise InvalidInput(f"no feature {missing[0]!r} (features: {', '.join(features)})",
                           field="features")
    if not columns:
        return np.zeros((0, 0))
    return np.column_stack([column_values(features[c]) for c in columns])


def column_values(values: Any) -> Any:
    """A logged feature as a numpy array: numbers as float64 (missing ones, logged as None,
    as NaN), anything else as it is."""
    import numpy as np

    arr = np.asarray(values)
    if arr.dtype.kind != "O":
        return arr
    try:      # logged numbers come back as objects when some are missing (None)
        return np.asarray([np.nan if v is None else v for v in arr.tolist()], dtype=np.float64)
    except (TypeError, ValueError, OverflowError):   # OverflowError: an int beyond a float
        return arr


def predict_scores(model: Any, x: Any, positive: Any = None) -> tuple[Any, Any, Any]:
    """(predictions, the positive class's score or None, probabilities per class or None)
    of ``model`` on ``x``. The positive class is ``positive``, else the second of the model's
    ``classes_`` for a binary classifier; with more classes the score is None."""
    import numpy as np

    classes = list(getattr(model, "classes_", []))
    proba = None
    if hasattr(model, "predict_proba"):
        try:
            proba = np.asarray(model.predict_proba(x), dtype=np.float64)
        except (AttributeError, NotImplementedError):   # e.g. SVC(probability=False)
            proba = None
    if proba is not None and proba.ndim == 2 and len(classes) == proba.shape[1] \
            and _predicts_argmax(model):
        # One pass through the model instead of two: for these estimators predict() is
        # exactly the class of highest probability (ties included), by their definition.
        predictions = np.asarray(model.classes_).take(np.argmax(proba, axis=1))
    else:
        predictions = np.asarray(model.predict(x))
    score = None
    if proba is not None and proba.ndim == 2 and proba.shape[1] == 2:
        column = 1
        if positive is not None and classes:
            if positive not in classes:
                raise InvalidInput(f"{positive!r} is not one of the model's classes "
                                   f"{classes}", field="positive")
            column = classes.index(positive)
        score = proba[:, column]
    return predictions, score, proba


#: scikit-learn classifiers whose ``predict`` is ``classes_[argmax(predict_proba)]``.
_ARGMAX_CLASSIFIERS = frozenset({
    "sklearn.linear_model._logistic.LogisticRegression",
    "sklearn.ensemble._forest.RandomForestClassifier",
    "sklearn.ensemble._forest.ExtraTreesClassifier",
    "sklearn.tree._classes.DecisionTreeClassifier",
    "sklearn.tree._classes.ExtraTreeClassifier",
    "sklearn.ensemble._gb.GradientBoostingClassifier",
    "sklearn.ensemble._hist_gradient_boosting.gradient_boosting."
    "HistGradientBoostingClassifier",
})


def _predicts_argmax(model: Any) -> bool:
    """Whether ``model`` (or a Pipeline ending in it) is one of ``_ARGMAX_CLASSIFIERS``."""
    steps = getattr(model, "steps", None)
    final = steps[-1][1] if isinstance(steps, list) and steps else model
    kind = type(final)
    return f"{kind.__module__}.{kind.__qualname__}" in _ARGMAX_CLASSIFIERS


def score_model(model: Any, features: Mapping[str, Any], actuals: Any, *,
                task: str | None = None, positive: Any = None,
                order: Sequence[str] | None = None) -> dict[str, float]:
    """Every metric of the task (the metric table's, plugins' included) of ``model`` on
    ``features`` against ``actuals``. ``task`` defaults to classification for a model with
    ``classes_``, else regression."""
    import numpy as np

    from modelops.metrics import metrics_of_task

    x = model_input(model, features, order)
    actuals = np.asarray(actuals)
    if task is None:
        task = "classification" if hasattr(model, "classes_") else "regression"
    predictions, score, proba = predict_scores(model, x, positive)
    classes = list(getattr(model, "classes_", []))
    if task == "regression":
        y_true = actuals.astype(np.float64)
        y_pred = predictions.astype(np.float64)
        given: dict[Any, Any] = {None: None, "score": None, "probability": None}
    elif len(classes) == 2 or positive is not None:
        pos = positive if positive is not None else classes[1]
        y_true, y_pred = actuals == pos, predictions == pos
        given = {None: score, "score": score, "probability": score}
    else:
        number = {c: i for i, c in enumerate(classes)}
        y_true = np.array([number.get(v, -1) for v in actuals.tolist()])
        y_pred = np.array([number.get(v, -1) for v in predictions.tolist()])
        given = {None: proba, "score": proba, "probability": proba}
    out = {}
    for spec in metrics_of_task(task):
        value = given[spec.needs]
        if spec.needs is not None and value is None:
            continue
        if spec.needs is not None and task == "classification" and not (
                len(classes) == 2 or positive is not None) and np.any(y_true < 0):
            continue        # an actual the model has no class for: no per-class score
        result = float(spec.compute(y_true, y_pred, value))
        if np.isfinite(result):
            out[spec.name] = result
    return out
