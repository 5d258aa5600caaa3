"""What a monitoring report draws of a window's predictions with feedback, as plain data.

Classification: the confusion matrix; for a binary model with scores, the ROC and
precision-recall curves, a calibration table (when the score is the positive class's
probability) and the scores' histogram by actual class. Regression: the errors' histogram and
a sample of predicted-against-actual points. Curves are thinned to at most 200 points and
the sample to 400 (seeded), so a report of a million predictions stays small.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["curves"]

_CURVE_POINTS = 200
_SCATTER_POINTS = 400
_LABELS_SHOWN = 12


def curves(window: Any) -> dict[str, Any]:
    """The plain data of a window's charts (see the module doc); empty without feedback."""
    if len(window.scored) == 0 or window.task is None:
        return {}
    if window.task == "regression":
        return _regression(*window.regression_arrays)
    labels, true, pred, pos = window.labels
    out: dict[str, Any] = {"confusion": _confusion(labels, true, pred)}
    scores = window.scores
    if pos is not None and scores is not None:
        ok = np.isfinite(scores)
        positive, score = (true == pos)[ok], scores[ok]
        if 0 < positive.sum() < len(positive):
            out["roc"], out["pr"] = _roc_pr(positive, score)
            if window.monitor.score == "probability":
                out["calibration"] = _calibration(positive, score)
            out["scores"] = _score_histogram(positive, score)
        out["positive"] = labels[pos]
    return out


def _confusion(labels: tuple[Any, ...], true: np.ndarray, pred: np.ndarray) -> dict[str, Any]:
    """Counts of (actual, predicted), rows actual; beyond 12 labels, the most frequent."""
    k = len(labels)
    matrix = np.bincount(true * k + pred, minlength=k * k).reshape(k, k)
    keep = np.argsort(-(matrix.sum(axis=0) + matrix.sum(axis=1)), kind="stable")
    keep = np.sort(keep[:_LABELS_SHOWN])
    return {"labels": [labels[i] for i in keep], "matrix": matrix[np.ix_(keep, keep)].tolist(),
            "rows": "actual", "columns": "predicted", "others": k - len(keep)}


def _thin(*arrays: np.ndarray) -> list[list[float]]:
    n = len(arrays[0])
    if n > _CURVE_POINTS:
        pick = np.unique(np.linspace(0, n - 1, _CURVE_POINTS).round().astype(int))
        arrays = tuple(a[pick] for a in arrays)
    return [a.tolist() for a in arrays]


def _roc_pr(positive: np.ndarray, score: np.ndarray) -> tuple[dict[str, Any], dict[str, Any]]:
    """ROC (fpr, tpr) and precision-recall points at every distinct score, highest first."""
    order = np.argsort(-score, kind="stable")
    s, y = score[order], positive[order]
    last = np.r_[s[1:] != s[:-1], True]          # the last row of each distinct score
    tp = np.cumsum(y)[last].astype(np.float64)
    fp = np.cumsum(~y)[last].astype(np.float64)
    p, n = float(y.sum()), float(len(y) - y.sum())
    fpr, tpr = np.r_[0.0, fp / n], np.r_[0.0, tp / p]
    precision, recall = tp / (tp + fp), tp / p
    auc = float(np.trapezoid(tpr, fpr)) if hasattr(np, "trapezoid") else \
        float(np.trapz(tpr, fpr))
    fpr_t, tpr_t = _thin(fpr, tpr)
    recall_t, precision_t = _thin(recall, precision)
    return ({"fpr": fpr_t, "tpr": tpr_t, "auc": auc},
            {"recall": recall_t, "precision": precision_t, "prevalence": p / (p + n)})


def _calibration(positive: np.ndarray, score: np.ndarray) -> dict[str, Any]:
    """Ten equal-width bins of the probability: its mean, the share of positives, the rows."""
    clipped = np.clip(score, 0.0, 1.0)
    bins = np.minimum((clipped * 10).astype(int), 9)
    count = np.bincount(bins, minlength=10)
    mean = np.bincount(bins, weights=clipped, minlength=10)
    hits = np.bincount(bins, weights=positive.astype(np.float64), minlength=10)
    has = count > 0
    return {"predicted": (mean[has] / count[has]).tolist(),
            "observed": (hits[has] / count[has]).tolist(), "count": count[has].tolist()}


def _score_histogram(positive: np.ndarray, score: np.ndarray) -> dict[str, Any]:
    lo, hi = float(score.min()), float(score.max())
    if lo >= 0 and hi <= 1:
        lo, hi = 0.0, 1.0
    elif hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    edges = np.linspace(lo, hi, 21)
    return {"edges": edges.tolist(),
            "positive": np.histogram(np.clip(score[positive], lo, hi), edges)[0].tolist(),
            "negative": np.histogram(np.clip(score[~positive], lo, hi), edges)[0].tolist()}


def _regression(true: np.ndarray, pred: np.ndarray) -> dict[str, Any]:
    ok = np.isfinite(true) & np.isfinite(pred)
    true, pred = true[ok], pred[ok]
    if len(true) == 0:
        return {}
    errors = pred - true
    lo, hi = np.quantile(errors, [0.005, 0.995]) if len(errors) > 1 else (errors[0] - 1,
                                                                            errors[0] + 1)
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    edges = np.linspace(lo, hi, 31)
    pick = np.arange(len(true))
    if len(pick) > _SCATTER_POINTS:
        pick = np.sort(np.random.default_rng(0).choice(len(true), _SCATTER_POINTS,
                                                       replace=False))
    return {"errors": {"edges": edges.tolist(),
                       "counts": np.histogram(np.clip(errors, lo, hi), edges)[0].tolist()},
            "scatter": {"actual": true[pick].tolist(), "predicted": pred[pick].tolist(),
                        "n": len(true)}}
