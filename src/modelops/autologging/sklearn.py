"""Autologging of scikit-learn estimators (and XGBoost's and LightGBM's scikit-learn API):
which classes get a logging ``fit``, and what one fit logs."""

from __future__ import annotations

import importlib.util
import warnings
from collections.abc import Callable
from typing import Any

from modelops import _patching as patching
from modelops.errors import AutologWarning, InvalidInput

#: Rows of ``X`` kept as the input example.
EXAMPLE_ROWS = 5
_MODULES = {"sklearn": "sklearn", "xgboost": "xgboost", "lightgbm": "lightgbm"}
#: Preprocessing fitted on its own is not a model to log, and scikit-learn's metrics fit
#: label encoders inside (as MLflow's autologging, these are left unpatched; inside a
#: pipeline they are logged as its steps' params).
_NOT_LOGGED = ("sklearn.preprocessing.", "sklearn.impute.", "sklearn.feature_extraction.",
               "sklearn.feature_selection.",
               "sklearn.compose._column_transformer.ColumnTransformer")


def check_frameworks(frameworks: Any) -> tuple[str, ...]:
    if isinstance(frameworks, str):
        frameworks = (frameworks,)
    if not isinstance(frameworks, (tuple, list)) or not frameworks or \
            any(f not in _MODULES for f in frameworks):
        raise InvalidInput(f"expected some of {', '.join(_MODULES)}, got {frameworks!r}",
                           field="frameworks")
    return tuple(frameworks)


def _classes(framework: str) -> list[type]:
    """The classes of ``framework`` defining the ``fit`` methods its estimators run."""
    if framework == "sklearn":
        from sklearn.utils import all_estimators

        found = [cls for _, cls in all_estimators()]
    elif framework == "xgboost":
        from xgboost.sklearn import XGBModel

        found = [XGBModel, *_subclasses(XGBModel)]
    else:
        from lightgbm.sklearn import LGBMModel

        found = [LGBMModel, *_subclasses(LGBMModel)]
    # The class whose ``fit`` each one runs (GridSearchCV's is BaseSearchCV's), once each.
    owners = {next((k for k in cls.__mro__ if "fit" in k.__dict__), None) for cls in found}
    return [k for k in owners if k is not None and k.__module__.split(".")[0] == framework
            and not k.__module__.startswith(_NOT_LOGGED)
            and f"{k.__module__}.{k.__qualname__}" not in _NOT_LOGGED]


def _subclasses(cls: type) -> list[type]:
    out = []
    for sub in cls.__subclasses__():
        out += [sub, *_subclasses(sub)]
    return out


def install(framework: str) -> bool:
    """Patch ``framework``'s estimators; False when the package is not installed."""
    if importlib.util.find_spec(_MODULES[framework]) is None:
        return False
    for cls in _classes(framework):
        patching.patch(framework, cls, "fit", _logging_fit(framework))
    return True


def _logging_fit(framework: str) -> Callable[[Any], Callable[..., Any]]:
    def make(original: Any) -> Callable[..., Any]:
        def fit(self: Any, *args: Any, **kwargs: Any) -> Any:
            from modelops.autologging import settings

            chosen = settings(framework)
            if chosen is None or patching.inner():
                return original(self, *args, **kwargs)
            with patching.inside():
                return _logged_fit(chosen, original, self, args, kwargs)

        return fit

    return make


def _warn(settings: Any, what: str, exc: BaseException) -> None:
    if not settings.silent:
        warnings.warn(f"modelops autologging could not {what}: {type(exc).__name__}: {exc}",
                      AutologWarning, stacklevel=4)


def _logged_fit(settings: Any, original: Any, estimator: Any, args: tuple[Any, ...],
                kwargs: dict[str, Any]) -> Any:
    from modelops import fluent
    from modelops.entities import RunStatus

    X = args[0] if args else kwargs.get("X")
    y = args[1] if len(args) > 1 else kwargs.get("y")
    run, owned = fluent.active_run(), False
    if run is None:
        try:
            run = fluent.start_run(name=type(estimator).__name__,
                                   tags={"modelops.autolog": type(estimator).__module__})
            owned = True
        except Exception as exc:
            _warn(settings, "start a run", exc)
    if run is not None:
        _attempt(settings, "log the params", lambda: run.log_params(_params(estimator)))
    try:
        fitted = original(estimator, *args, **kwargs)
    except BaseException as exc:
        if owned:
            failed = RunStatus.KILLED if isinstance(exc, KeyboardInterrupt) \
                else RunStatus.FAILED
            _attempt(settings, "end the run", lambda: run.end(failed))
        raise
    if run is not None:
        _after_fit(settings, run, estimator, X, y)
        if owned:
            _attempt(settings, "end the run", run.end)
    return fitted


def _attempt(settings: Any, what: str, action: Callable[[], Any]) -> None:
    try:
        action()
    except Exception as exc:
        _warn(settings, what, exc)


def _params(estimator: Any) -> dict[str, str]:
    from modelops.training import _params as plain_params

    return plain_params(estimator, None)


def _after_fit(settings: Any, run: Any, estimator: Any, X: Any, y: Any) -> None:
    if hasattr(estimator, "cv_results_") and hasattr(estimator, "best_params_"):
        from modelops.fluent import get_client
        from modelops.training import _log_search

        _attempt(settings, "log the search's candidates",
                 lambda: _log_search(get_client(), estimator, run))
    if settings.log_training_metrics and y is not None:
        _attempt(settings, "log training metrics",
                 lambda: run.log_metrics(training_metrics(estimator, X, y)))
    if settings.log_datasets and hasattr(X, "columns"):
        from modelops.tracking.datasets import log_training_data

        _attempt(settings, "log the training data", lambda: log_training_data(run, X, y))
    example = None
    if settings.log_input_examples and X is not None:
        try:
            example = input_example(X)
            run.log_dict(example, "input_example.json")
        except Exception as exc:
            _warn(settings, "log an input example", exc)
    if settings.log_models:
        # the version's signature and input example, from the frame the model was fitted on
        # (an array names no columns: no signature, as train() does)
        described = {}
        if hasattr(X, "columns"):
            try:
                from modelops.registry.service import signature_fields

                described = signature_fields(None, X)
            except Exception as exc:
                _warn(settings, "infer the model's signature", exc)
        name = settings.registered_model_name
        if name is None:
            _attempt(settings, "store the model",
                     lambda: run.log_model(estimator, "model", register=False, **described))
        else:
            _attempt(settings, f"register the model as {name!r}",
                     lambda: run.log_model(estimator, name, **described))


def training_metrics(estimator: Any, X: Any, y: Any) -> dict[str, float]:
    """Metrics of a fitted classifier or regressor on the data it was fitted on, by the
    metric table's kernels (scikit-learn's defaults: a binary task's positive class, else
    the macro average): ``training_accuracy``, ``training_f1`` …, ``training_r2``."""
    import numpy as np
    from sklearn import base

    from modelops.metrics import builtin, grouped
    from modelops.tracking.datasets import one_column

    if not hasattr(estimator, "predict"):  # a transformer, or a search without refit
        return {}
    y, predicted = one_column(y), one_column(estimator.predict(X))
    if y.ndim != 1 or predicted.ndim != 1:   # several outputs: no single-target metric
        return {}
    if base.is_classifier(estimator):
        labels, true, pred = grouped.encode_labels(np.asarray(y), np.asarray(predicted))
        positive = grouped.default_positive(labels)
        table = grouped.classification(true, pred, len(labels),
                                       None if positive is None else labels.index(positive))
        out = {f"training_{k}": table[k][0] for k in ("accuracy", "precision", "recall", "f1")}
    elif base.is_regressor(estimator):
        out = {f"training_{fn.__name__}": fn(y, predicted)
               for fn in (builtin.mse, builtin.rmse, builtin.mae, builtin.r2)}
    else:
        return {}
    return {k: float(v) for k, v in out.items() if np.isfinite(v)}


def input_example(X: Any) -> dict[str, Any]:
    """The first rows of ``X`` as JSON-ready data: ``{"columns": …, "data": …}`` for a
    DataFrame, ``{"data": …}`` for an array or a list."""
    import numpy as np

    if hasattr(X, "iloc") and hasattr(X, "columns"):
        head = X.iloc[:EXAMPLE_ROWS]
        return {"columns": [str(c) for c in head.columns],
                "data": [[_plain(v) for v in row] for row in head.itertuples(index=False)]}
    if hasattr(X, "tocsr"):  # a sparse matrix: its dense rows
        X = X[:EXAMPLE_ROWS].toarray()
    rows = np.asarray(X[:EXAMPLE_ROWS], dtype=object)
    return {"data": [[_plain(v) for v in np.atleast_1d(row)] for row in rows]}


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):  # a numpy scalar
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)
