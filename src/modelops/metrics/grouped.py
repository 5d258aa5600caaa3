"""Model-quality metrics over groups of rows (monitoring windows), vectorised with numpy.

Every function takes whole columns plus a group index per row and returns one value per group,
so a trend of 168 windows costs about what one window costs: counts come from ``np.bincount``
over (group, true label, predicted label), ROC AUC from one sort by (group, score). The
definitions are scikit-learn's (the tests check them against ``sklearn.metrics`` on the same
arrays), but scikit-learn is not needed:

- ``accuracy``: the share of rows whose predicted label equals the actual one.
- ``precision``, ``recall``, ``f1``: with two labels and a positive label, of the positive
  class (sklearn's ``average="binary", pos_label=...``); otherwise the unweighted mean over
  the labels present in the group's actuals or predictions (``average="macro"``). A ratio
  whose denominator is 0 counts as 0 (``zero_division=0``).
- ``roc_auc``: the area under the ROC curve of the score against "actual is the positive
  label" (ties count half), for groups holding both classes; NaN otherwise.
- ``mae``, ``rmse``, ``r2``: mean absolute error, root mean squared error, and the
  coefficient of determination (1 when the actuals are constant and predicted exactly, 0 when
  they are constant and not; NaN for fewer than two rows, as sklearn).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from modelops.errors import InvalidInput

#: What :func:`classification` and :func:`regression` compute, by canonical name (the metric
#: table, ``modelops.metrics``, names and directs them).
CLASSIFICATION_METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc")
REGRESSION_METRICS = ("mae", "rmse", "r2")
#: Classification is assumed for numbers only when they are whole and at most this many.
MAX_CLASSES_FROM_NUMBERS = 20


def default_positive(labels: tuple[Any, ...]) -> Any:
    """1 (or True) when the labels are {0, 1} or {-1, 1} numbers or booleans (sklearn's rule);
    else None: precision, recall and F1 are macro averages, and no ROC AUC."""
    if not labels or len(labels) > 2:
        return None
    if not all(isinstance(v, (int, float, bool, np.number, np.bool_)) for v in labels):
        return None
    values = {float(v) for v in labels}
    if values <= {0.0, 1.0} or values <= {-1.0, 1.0}:
        return True if any(isinstance(v, (bool, np.bool_)) for v in labels) else 1
    return None


def null_mask(values: np.ndarray) -> np.ndarray:
    """True where a value is missing: None or NaN (vectorised, also for object arrays)."""
    values = np.asarray(values)
    if values.dtype.kind == "f":
        return np.isnan(values)
    if values.dtype.kind != "O":
        return np.zeros(len(values), dtype=bool)
    # ``x != x`` is True only for NaN; np.equal compares to None element by element.
    return np.equal(values, None) | np.not_equal(values, values)


def _kinds(values: np.ndarray) -> tuple[bool, np.ndarray | None]:
    """(has labels that are not numbers, the values as floats when they are all numbers)."""
    if len(values) == 0:
        return False, np.zeros(0)
    kind = values.dtype.kind
    if kind in "USb":
        return True, None
    if kind in "iuf":
        return False, values.astype(np.float64)
    types = set(map(type, values.tolist()))
    if any(issubclass(t, (str, bool, np.bool_)) for t in types):
        return True, None
    try:
        return False, np.asarray(values.tolist(), dtype=np.float64)
    except (TypeError, ValueError):
        return True, None


def detect_task(predictions: np.ndarray, actuals: np.ndarray) -> str | None:
    """``"classification"`` when labels are strings or booleans, or whole numbers with at most
    20 distinct values; ``"regression"`` for other numbers; None with no values at all.
    Both arrays hold present values only."""
    floats = []
    for values in (actuals, predictions):
        labels, as_float = _kinds(np.asarray(values))
        if labels:
            return "classification"
        if as_float is not None and len(as_float):
            floats.append(as_float)
    if not floats:
        return None
    joined = np.concatenate(floats)
    finite = joined[np.isfinite(joined)]
    if len(finite) == 0:
        return None
    if np.all(finite == np.round(finite)) and \
            len(np.unique(finite)) <= MAX_CLASSES_FROM_NUMBERS:
        return "classification"
    return "regression"


def _sort_key(label: Any) -> tuple[int, Any]:
    return (1, label) if isinstance(label, str) else (0, label)


def encode_labels(actuals: np.ndarray, predictions: np.ndarray,
                  extra: tuple[Any, ...] = ()) -> tuple[tuple[Any, ...], np.ndarray, np.ndarray]:
    """Sorted labels, and the actuals and predictions as indices into them.

    Labels equal in Python (``1``, ``1.0``, ``True``) are one label. Hashing, not sorting,
    maps the values, so a million labels take a few tens of milliseconds.
    """
    a_list = _as_list(actuals)
    p_list = _as_list(predictions)
    try:
        found = set(a_list)
        found.update(p_list)
        found.update(extra)
    except TypeError:
        raise InvalidInput("labels must be strings, numbers or booleans (hashable values)",
                           field="actual") from None
    try:
        labels = tuple(sorted(found, key=_sort_key))
    except TypeError:
        labels = tuple(sorted(found, key=lambda v: (type(v).__name__, str(v))))
    index = {label: i for i, label in enumerate(labels)}
    # whole floats spelled as ints: the actual 1 and the prediction 1.0 show as 1
    labels = tuple(int(v) if type(v) is float and v.is_integer() else v for v in labels)
    codes_a = np.fromiter(map(index.__getitem__, a_list), dtype=np.intp, count=len(a_list))
    codes_p = np.fromiter(map(index.__getitem__, p_list), dtype=np.intp, count=len(p_list))
    return labels, codes_a, codes_p


def _as_list(values: np.ndarray) -> list[Any]:
    values = np.asarray(values)
    if values.dtype.kind == "f":
        # whole floats as ints, so 1.0 and an actual of 1 are one label with one spelling
        as_int = values.astype(np.int64)
        if np.all(as_int == values):
            return as_int.tolist()
    return values.tolist()


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    out = np.zeros(np.broadcast(num, den).shape, dtype=np.float64)
    np.divide(num, den, out=out, where=den > 0)
    return out


def classification(true: np.ndarray, pred: np.ndarray, n_labels: int, positive: int | None,
                   groups: np.ndarray | None = None, n_groups: int = 1,
                   scores: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Accuracy, precision, recall, F1 (and ROC AUC when ``scores`` and ``positive`` are
    given) per group, from label indices. ``groups`` holds each row's group (all 0 if None)."""
    k = max(n_labels, 1)
    g = np.zeros(len(true), dtype=np.intp) if groups is None else groups
    counts = np.bincount((g * k + true) * k + pred, minlength=n_groups * k * k)
    cm = counts.reshape(n_groups, k, k).astype(np.float64)     # [group, actual, predicted]
    actual = cm.sum(axis=2)
    predicted = cm.sum(axis=1)
    hits = np.diagonal(cm, axis1=1, axis2=2)
    total = actual.sum(axis=1)
    out: dict[str, np.ndarray] = {}
    with np.errstate(invalid="ignore", divide="ignore"):
        out["accuracy"] = np.where(total > 0, hits.sum(axis=1) / np.where(total > 0, total, 1),
                                   np.nan)
    precision = _ratio(hits, predicted)
    recall = _ratio(hits, actual)
    f1 = _ratio(2 * hits, actual + predicted)
    if positive is not None and n_labels <= 2:
        out["precision"] = precision[:, positive]
        out["recall"] = recall[:, positive]
        out["f1"] = f1[:, positive]
    else:
        present = (actual + predicted) > 0
        n_present = present.sum(axis=1)
        for name, per_label in (("precision", precision), ("recall", recall), ("f1", f1)):
            sums = (per_label * present).sum(axis=1)
            out[name] = np.where(n_present > 0, sums / np.maximum(n_present, 1), np.nan)
    for name in ("precision", "recall", "f1"):
        out[name] = np.where(total > 0, out[name], np.nan)
    if scores is not None and positive is not None and n_labels <= 2:
        out["roc_auc"] = roc_auc(true == positive, scores, g, n_groups)
    return out


def roc_auc(is_positive: np.ndarray, scores: np.ndarray, groups: np.ndarray,
            n_groups: int) -> np.ndarray:
    """ROC AUC per group as the Mann-Whitney statistic (average ranks for ties); NaN for a
    group without both classes. Rows whose score is not finite are left out."""
    ok = np.isfinite(scores)
    y, s, g = is_positive[ok], scores[ok], groups[ok]
    out = np.full(n_groups, np.nan)
    if len(s) == 0:
        return out
    order = np.lexsort((s, g))
    gs, ss, ys = g[order], s[order], y[order]
    n = len(ss)
    new_block = np.empty(n, dtype=bool)
    new_block[0] = True
    new_block[1:] = (gs[1:] != gs[:-1]) | (ss[1:] != ss[:-1])
    starts = np.flatnonzero(new_block)
    ends = np.append(starts[1:], n)                         # exclusive
    block = np.cumsum(new_block) - 1
    avg_rank = ((starts + 1 + ends) / 2.0)[block]           # 1-based global ranks, ties averaged
    sizes = np.bincount(gs, minlength=n_groups)
    offset = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    rank = avg_rank - offset[gs]                            # ranks within each group
    n_pos = np.bincount(gs, weights=ys.astype(np.float64), minlength=n_groups)
    n_neg = sizes - n_pos
    rank_sum = np.bincount(gs, weights=rank * ys, minlength=n_groups)
    both = (n_pos > 0) & (n_neg > 0)
    u = rank_sum - n_pos * (n_pos + 1) / 2
    out[both] = u[both] / (n_pos[both] * n_neg[both])
    return out


def regression(true: np.ndarray, pred: np.ndarray, groups: np.ndarray | None = None,
               n_groups: int = 1) -> dict[str, np.ndarray]:
    """MAE, RMSE and R² per group (rows with a non-finite actual or prediction left out)."""
    ok = np.isfinite(true) & np.isfinite(pred)
    g = (np.zeros(len(true), dtype=np.intp) if groups is None else groups)[ok]
    y, p = true[ok], pred[ok]
    n = np.bincount(g, minlength=n_groups).astype(np.float64)
    err = y - p
    sse = np.bincount(g, weights=err * err, minlength=n_groups)
    sae = np.bincount(g, weights=np.abs(err), minlength=n_groups)
    mean = _ratio(np.bincount(g, weights=y, minlength=n_groups), n)
    dev = y - mean[g]
    sst = np.bincount(g, weights=dev * dev, minlength=n_groups)
    has = n > 0
    out = {"mae": np.where(has, _ratio(sae, n), np.nan),
           "rmse": np.where(has, np.sqrt(_ratio(sse, n)), np.nan)}
    r2 = np.where(sst > 0, 1 - _ratio(sse, sst), np.where(sse == 0, 1.0, 0.0))
    out["r2"] = np.where(n >= 2, r2, np.nan)
    return out
