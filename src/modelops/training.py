"""``modelops.train``: what a hand-written training service does, in one call.

::

    result = modelops.train(ops, "fraud", RandomForestClassifier(), X, y, cv=5,
                            promotion=MetricImprovement("f1", 0.01))

fits a scikit-learn estimator on a train split, evaluates it on the held-out split
(optionally cross-validated on the train split too), logs the estimator's params, the
metrics and the evaluation artifacts — the confusion matrix, the ROC curve, the
classification report, as JSON/text and, when matplotlib is installed, as images — in a
tracked run, registers the fitted model with the run, and applies the promotion rule.

Metrics, under their canonical names in the metric table (``modelops.metrics``):
classification — accuracy, precision, recall, f1 (of the positive class when binary, else
macro averages), roc_auc and log_loss (when the estimator gives scores); regression — mae,
rmse, r2; and every metric plugins add to the table for the task. Cross-validated means and
standard deviations are logged as ``cv_<metric>_mean`` / ``cv_<metric>_std``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

import attrs

from modelops._patching import inside as autolog_paused
from modelops.entities import FrozenDict, freeze
from modelops.entities.plain import to_plain
from modelops.errors import InvalidInput, MissingDependency, PromotionRefused


@attrs.frozen(kw_only=True)
class TrainingResult:
    """What ``train`` did: the fitted ``model``, the ``run_id`` it was tracked in, the
    held-out ``metrics``, the cross-validated ``cv_metrics`` (empty without ``cv``), the
    registered ``version`` (None with ``register=False``), the promotion rule's
    ``decision`` (None without a rule) and whether it ``promoted``; ``artifacts`` lists the
    files logged to the run."""

    model: Any
    task: str
    run_id: str
    metrics: FrozenDict[str, float] = attrs.field(converter=freeze)
    cv_metrics: FrozenDict[str, float] = attrs.field(factory=FrozenDict, converter=freeze)
    version: Any = None
    decision: Any = None
    promoted: bool = False
    artifacts: tuple[str, ...] = attrs.field(default=(), converter=tuple)


def _sklearn() -> Any:
    try:
        import sklearn
    except ImportError:
        raise MissingDependency("modelops.train", "scikit-learn") from None
    return sklearn


def _as_matrix(x: Any, field: str) -> tuple[Any, list[str] | None]:
    """A mapping of columns becomes a 2-D array (names kept); frames and arrays pass."""
    import numpy as np

    if isinstance(x, Mapping):
        names = [str(k) for k in x]
        try:
            columns = [np.asarray(v, dtype=np.float64) for v in x.values()]
        except (TypeError, ValueError):
            raise InvalidInput("columns given as a mapping must be numeric; pass a DataFrame "
                               "with a preprocessing pipeline for others", field=field) from None
        return np.column_stack(columns), names
    if not hasattr(x, "__len__") or isinstance(x, (str, bytes)):
        raise InvalidInput(f"expected an array, a DataFrame or a mapping of columns, got "
                           f"{type(x).__name__}", field=field)
    return x, None


def _signature(x: Any) -> dict[str, Any]:
    """The version's signature and input example, from a training frame with named columns
    (a DataFrame or a mapping); nothing for an unnamed array."""
    if not (isinstance(x, Mapping) or hasattr(x, "columns")):
        return {}
    from modelops.registry.service import signature_fields

    try:
        return signature_fields(None, None, frame=x)
    except InvalidInput:  # columns no signature describes (mixed types): serve unchecked
        return {}


def _params(estimator: Any, extra: Mapping[str, Any] | None) -> dict[str, str]:
    # Deep params reach inside pipelines (``logisticregression__C``); nested estimators
    # and step lists are described by their own params, so only plain values are kept.
    out = {"estimator": type(estimator).__name__}
    for key, value in estimator.get_params(deep=True).items():
        if value is None or isinstance(value, (bool, int, float, str)):
            out[key] = str(value)
    out.update({k: str(v) for k, v in (extra or {}).items()})
    return out


def _scores(model: Any, x: Any, column: int) -> Any:
    """Scores of class ``column`` (predict_proba), or the decision function for binary."""
    if hasattr(model, "predict_proba"):
        try:
            return model.predict_proba(x)
        except (AttributeError, NotImplementedError):  # e.g. SVC(probability=False)
            pass
    if hasattr(model, "decision_function"):
        return model.decision_function(x)
    return None


def _classification(model: Any, x: Any, y: Any, positive: Any, run: Any,
                    figures: bool) -> tuple[dict[str, float], list[str]]:
    import numpy as np
    from sklearn import metrics as skm

    classes = list(model.classes_)
    predicted = model.predict(x)
    binary = len(classes) == 2
    out: dict[str, float] = {"accuracy": float(skm.accuracy_score(y, predicted))}
    artifacts = []
    if binary:
        pos = classes[1] if positive is None else positive
        if pos not in classes:
            raise InvalidInput(f"{pos!r} is not one of the classes {classes}", field="positive")
        kw: dict[str, Any] = {"average": "binary", "pos_label": pos, "zero_division": 0}
    else:
        pos = None
        kw = {"average": "macro", "zero_division": 0}
    out["precision"] = float(skm.precision_score(y, predicted, **kw))
    out["recall"] = float(skm.recall_score(y, predicted, **kw))
    out["f1"] = float(skm.f1_score(y, predicted, **kw))
    raw = _scores(model, x, 1)
    roc = None
    if raw is not None:
        raw = np.asarray(raw)
        if binary:
            col = classes.index(pos)
            score = raw[:, col] if raw.ndim == 2 else (raw if col == 1 else -raw)
            out["roc_auc"] = float(skm.roc_auc_score(np.asarray(y) == pos, score))
            fpr, tpr, thresholds = skm.roc_curve(np.asarray(y) == pos, score)
            roc = {"positive": to_plain(pos), "auc": out["roc_auc"], "fpr": fpr.tolist(),
                   "tpr": tpr.tolist(),
                   "thresholds": [t if np.isfinite(t) else None for t in thresholds.tolist()]}
        elif raw.ndim == 2 and hasattr(model, "predict_proba"):
            out["roc_auc"] = float(skm.roc_auc_score(y, raw, multi_class="ovr",
                                                     labels=classes))
        if raw.ndim == 2 and hasattr(model, "predict_proba"):
            out["log_loss"] = float(skm.log_loss(y, raw, labels=classes))
    out.update(_plugin_metrics("classification", *_for_metrics(model, classes, pos, y,
                                                                  predicted, raw)))
    matrix = skm.confusion_matrix(y, predicted, labels=classes)
    run.log_dict({"labels": [to_plain(c) for c in classes], "matrix": matrix.tolist(),
                  "rows": "actual", "columns": "predicted"}, "confusion_matrix.json")
    artifacts.append("confusion_matrix.json")
    run.log_text(skm.classification_report(y, predicted, labels=classes, zero_division=0),
                 "classification_report.txt")
    artifacts.append("classification_report.txt")
    if roc is not None:
        run.log_dict(roc, "roc_curve.json")
        artifacts.append("roc_curve.json")
    if figures:
        artifacts += _figures(run, classes, matrix, roc)
    return out, artifacts


def _figures(run: Any, classes: list[Any], matrix: Any, roc: dict[str, Any] | None) -> list[str]:
    """The confusion matrix and ROC curve as PNG images, when matplotlib is installed."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        return []
    out = []
    fig = Figure(figsize=(4, 4))
    ax = fig.subplots()
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(classes)), [str(c) for c in classes])
    ax.set_yticks(range(len(classes)), [str(c) for c in classes])
    ax.set_xlabel("predicted")
    ax.set_ylabel("actual")
    for (i, j), count in _cells(matrix):
        ax.text(j, i, str(count), ha="center", va="center")
    fig.tight_layout()
    run.log_figure(fig, "confusion_matrix.png")
    out.append("confusion_matrix.png")
    if roc is not None:
        fig = Figure(figsize=(4, 4))
        ax = fig.subplots()
        ax.plot(roc["fpr"], roc["tpr"], label=f"AUC {roc['auc']:.3f}")
        ax.plot([0, 1], [0, 1], linestyle="--", color="grey")
        ax.set_xlabel("false positive rate")
        ax.set_ylabel("true positive rate")
        ax.legend(loc="lower right")
        fig.tight_layout()
        run.log_figure(fig, "roc_curve.png")
        out.append("roc_curve.png")
    return out


def _cells(matrix: Any) -> list[tuple[tuple[int, int], int]]:
    return [((i, j), int(matrix[i][j])) for i in range(len(matrix))
            for j in range(len(matrix[i]))]


def _regression(model: Any, x: Any, y: Any) -> dict[str, float]:
    import numpy as np
    from sklearn import metrics as skm

    predicted = model.predict(x)
    return {"mae": float(skm.mean_absolute_error(y, predicted)),
            "rmse": float(np.sqrt(skm.mean_squared_error(y, predicted))),
            "r2": float(skm.r2_score(y, predicted)),
            **_plugin_metrics("regression", np.asarray(y), predicted, None, None)}


def _for_metrics(model: Any, classes: list[Any], pos: Any, y: Any, predicted: Any,
                 raw: Any) -> tuple[Any, Any, Any, Any]:
    """(y_true, y_pred, score, probabilities) as metric callables take them: a binary
    problem as booleans "is the positive class" with the positive class's score; more
    classes as class numbers (by ``classes``) with a score column per class."""
    import numpy as np

    probabilities = raw is not None and raw.ndim == 2 and hasattr(model, "predict_proba")
    if pos is not None:
        score = None
        if raw is not None:
            col = classes.index(pos)
            score = raw[:, col] if raw.ndim == 2 else (raw if col == 1 else -raw)
        return (np.asarray(y) == pos, np.asarray(predicted) == pos, score,
                score if probabilities else None)
    number = {c: i for i, c in enumerate(classes)}
    true = np.array([number[v] for v in np.asarray(y).tolist()])
    pred = np.array([number[v] for v in np.asarray(predicted).tolist()])
    return true, pred, raw if probabilities else None, raw if probabilities else None


def _plugin_metrics(task: str, y_true: Any, y_pred: Any, score: Any,
                    probabilities: Any) -> dict[str, float]:
    """The metrics plugins add to the metric table for ``task`` (the built-in ones are
    computed above, with scikit-learn), each that has the score it needs."""
    from modelops.metrics import metrics_of_task
    from modelops.metrics.builtin import BUILTIN_METRICS

    out = {}
    for spec in metrics_of_task(task):
        if any(spec is b for b in BUILTIN_METRICS):
            continue
        given = {None: score, "score": score, "probability": probabilities}[spec.needs]
        if spec.needs is not None and given is None:
            continue
        out[spec.name] = float(spec.compute(y_true, y_pred, given))
    return out


def _cv_scoring(task: str, classes: list[Any], positive: Any) -> dict[str, Any]:
    """The cross-validation scorers: for a binary classifier of its positive class (labels
    of any type, strings included), as the held-out metrics are."""
    from sklearn.metrics import f1_score, make_scorer, roc_auc_score

    if task == "regression":
        return {"mae": "neg_mean_absolute_error", "rmse": "neg_root_mean_squared_error",
                "r2": "r2"}
    if len(classes) != 2:
        return {"accuracy": "accuracy", "f1": "f1_macro"}
    pos = classes[1] if positive is None else positive

    def roc_auc(estimator: Any, x: Any, y: Any) -> float:
        import numpy as np

        raw = _scores(estimator, x, 1)
        if raw is None:
            return float("nan")
        raw = np.asarray(raw)
        col = list(estimator.classes_).index(pos)
        score = raw[:, col] if raw.ndim == 2 else (raw if col == 1 else -raw)
        return float(roc_auc_score(np.asarray(y) == pos, score))

    return {"accuracy": "accuracy", "f1": make_scorer(f1_score, pos_label=pos),
            "roc_auc": roc_auc}


def _cross_validate(estimator: Any, x: Any, y: Any, cv: Any, task: str, positive: Any
                    ) -> dict[str, float]:
    import numpy as np
    from sklearn.model_selection import cross_validate

    # scikit-learn's classes_ order: a binary problem's positive is the second by default
    classes = [to_plain(c) for c in np.unique(np.asarray(y))] if task == "classification" \
        else []
    scoring = _cv_scoring(task, classes, positive)
    try:
        found = cross_validate(estimator, x, y, cv=cv, scoring=scoring, error_score="raise")
    except ValueError as exc:
        raise InvalidInput(f"cross-validation failed: {exc}", field="cv") from None
    out = {}
    for name, scorer in scoring.items():
        values = found[f"test_{name}"]
        if isinstance(scorer, str) and scorer.startswith("neg_"):
            values = -values
        out[f"cv_{name}_mean"] = float(values.mean())
        out[f"cv_{name}_std"] = float(values.std())
    return out


def _log_search(ops: Any, search: Any, parent: Any) -> list[str]:
    """A parameter search (``GridSearchCV``, ``RandomizedSearchCV``): its best params on the
    parent run (``best_<param>``, as MLflow's autologging names them) and one child run per
    candidate with its params and cross-validated scores. Returns the child runs' ids."""
    import math

    results = search.cv_results_
    experiment = ops.tracking.get_experiment(parent.experiment_id)
    parent.log_params({f"best_{k}": str(v) for k, v in search.best_params_.items()})
    if isinstance(getattr(search, "best_score_", None), float) and \
            math.isfinite(search.best_score_):
        parent.log_metric("best_cv_score", float(search.best_score_))
    keys = [k for k in results if k.startswith(("mean_", "std_", "rank_"))]
    ids = []
    for i, params in enumerate(results["params"]):
        with ops.tracking.start_run(experiment=experiment, name=f"candidate-{i}",
                                    parent=parent) as child:  # in the parent's experiment
            child.log_params({k: str(v) for k, v in params.items()})
            metrics = {}
            for key in keys:
                value = float(results[key][i])
                if math.isfinite(value):
                    metrics[key] = value
            child.log_metrics(metrics)
            ids.append(child.run_id)
    return ids


def train(ops: Any, name: str, estimator: Any, X: Any, y: Any, *, X_test: Any = None,
          y_test: Any = None, test_size: float = 0.25, cv: Any = None,
          experiment: str | None = None, run_name: str | None = None, run: Any = None,
          params: Mapping[str, Any] | None = None, register: bool = True,
          promotion: Any = None, stage: str = "production", lineage: Any = None,
          tags: Mapping[str, Any] | None = None, random_state: int | None = 0,
          positive: Any = None, figures: bool = True) -> TrainingResult:
    """Fit, evaluate, track, register and promote a scikit-learn estimator in one call.

    :param ops: a ``modelops.Client``.
    :param name: the registered model's name.
    :param estimator: an unfitted scikit-learn estimator (or pipeline); it is cloned.
    :param X, y: the training data (an array, a DataFrame, or a mapping of numeric columns).
    :param X_test, y_test: a held-out set; default: ``test_size`` of ``X, y``, stratified
        for classifiers, split with ``random_state``.
    :param cv: cross-validation folds on the train split (an int or a splitter); None: none.
    :param experiment: the tracking experiment (default ``"<name>-training"``).
    :param run: an ``ActiveRun`` to log into instead of starting one (it is not ended) —
        e.g. ``context.run`` inside a ``run_cycle`` training function.
    :param params: extra params to log.
    :param register: register the fitted model with the run and its metrics.
    :param promotion: a promotion rule applied against the holder of ``stage``; refused
        promotions are recorded in the model's history. None: no promotion.
    :param lineage: the version's lineage (``{"training_data": ...}``).
    :param positive: the positive class of a binary classifier (default: the second of
        ``estimator.classes_``, as scikit-learn's scores are).
    :param figures: also log the confusion matrix and ROC curve as PNG (with matplotlib).
    """
    _sklearn()
    from sklearn.base import clone, is_classifier, is_regressor
    from sklearn.model_selection import train_test_split

    from modelops.entities.validators import check_name

    check_name(name, "name")
    if not hasattr(estimator, "fit") or not hasattr(estimator, "get_params"):
        raise InvalidInput(f"expected a scikit-learn estimator, got {type(estimator).__name__}",
                           field="estimator")
    if is_classifier(estimator):
        task = "classification"
    elif is_regressor(estimator):
        task = "regression"
    else:
        raise InvalidInput(f"{type(estimator).__name__} is neither a classifier nor a "
                           "regressor", field="estimator")
    if (X_test is None) != (y_test is None):
        raise InvalidInput("give both X_test and y_test, or neither", field="X_test")
    x, names = _as_matrix(X, "X")
    if len(x) != len(y):
        raise InvalidInput(f"X has {len(x)} rows and y {len(y)}", field="y")
    if X_test is None:
        if isinstance(test_size, bool) or not isinstance(test_size, (int, float)) or \
                not 0 < test_size < 1:
            raise InvalidInput(f"expected a share between 0 and 1, got {test_size!r}",
                               field="test_size")
        x_train, x_test, y_train, y_test = train_test_split(
            x, y, test_size=test_size, random_state=random_state,
            stratify=y if task == "classification" else None)
    else:
        x_test, _ = _as_matrix(X_test, "X_test")
        if len(x_test) != len(y_test):
            raise InvalidInput(f"X_test has {len(x_test)} rows and y_test {len(y_test)}",
                               field="y_test")
        x_train, y_train = x, y
    model = clone(estimator)
    logged = _params(estimator, params)
    logged.update(train_rows=str(len(x_train)), test_rows=str(len(x_test)))
    if cv is not None:
        logged["cv"] = str(cv)
    if names is not None:
        logged["features"] = ",".join(names)[:250]

    # Our own run ends FINISHED, or FAILED on an error; a caller's run stays open.
    started = contextlib.nullcontext(run) if run is not None else ops.tracking.start_run(
        experiment=experiment or f"{name}-training", name=run_name or type(estimator).__name__,
        tags=tags)
    with started as active, autolog_paused():  # train logs its fits itself
        active.log_params(logged)
        cv_metrics: dict[str, float] = {}
        if cv is not None:
            cv_metrics = _cross_validate(clone(estimator), x_train, y_train, cv, task,
                                         positive)
        model.fit(x_train, y_train)
        if names is not None or hasattr(x_train, "columns"):
            # the data as the run's datasets, which the version links to (an array names no
            # columns a drift check could match: not logged)
            from modelops.tracking.datasets import log_training_data

            for part, x_part, y_part in (("training", x_train, y_train),
                                         ("evaluation", x_test, y_test)):
                frame = x_part if names is None else dict(zip(names, x_part.T))
                log_training_data(active, frame, y_part, part)
        if hasattr(model, "cv_results_") and hasattr(model, "best_params_"):
            _log_search(ops, model, active)
        if task == "classification":
            metrics, artifacts = _classification(model, x_test, y_test, positive, active,
                                                 figures)
        else:
            metrics, artifacts = _regression(model, x_test, y_test), []
        active.log_metrics({**metrics, **cv_metrics})
    version = decision = None
    promoted = False
    if register:
        version = ops.registry.register(name, model, run=active, metrics=metrics,
                                        lineage=lineage, tags=tags, **_signature(X))
        if promotion is not None:
            try:
                event = ops.registry.promote(name, version.version, stage=stage,
                                             policy=promotion, reason="modelops.train")
                decision, promoted = event.decision, True
            except PromotionRefused as refused:
                decision = refused.decision
            version = ops.registry.get_version(name, version.version)
    return TrainingResult(model=model, task=task, run_id=active.run_id, metrics=metrics,
                          cv_metrics=cv_metrics, version=version, decision=decision,
                          promoted=promoted, artifacts=artifacts)
