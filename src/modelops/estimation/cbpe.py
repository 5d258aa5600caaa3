"""CBPE, confidence-based performance estimation: a classifier's metrics from its calibrated
scores, before the labels arrive (NannyML's method).

A calibrated score ``p`` is the probability that the row is positive, so each row adds ``p``
to the expected true positives (if predicted positive) or false negatives (if predicted
negative), and ``1 - p`` to the false positives or true negatives. Over a window the
expected confusion matrix gives

- accuracy ``(TP + TN) / n``, precision ``TP / (TP + FP)``, recall ``TP / (TP + FN)``,
  F1 ``2 TP / (2 TP + FP + FN)``;
- ROC AUC: the expected area, ``Σ p_i (1 - p_j) [s_i > s_j] / (Σ p · Σ (1 - p))`` over pairs
  of different rows ranked by the raw score ``s`` (ties count half), which is the area under
  the ROC curve of the expected counts.

With more classes the scores are calibrated one class against the rest, rows renormalised to
sum to 1, and precision, recall, F1 and ROC AUC are macro averages over the classes. A score
that is the probability of the *predicted* label (``confidence``) gives accuracy only.

The band is ±3 standard errors of the realised metric around the estimate if the calibrated
scores are right, computed in closed form rather than by resampling (so it costs nothing per
window): the exact standard deviation of a sum of independent Bernoulli outcomes for accuracy
and precision (their denominators do not depend on the labels), the delta method for recall
and F1, and Hanley & McNeil's (1982) formula for ROC AUC with the expected class counts. It
does not include the error of the calibration itself, which shrinks as the reference grows.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from modelops.entities.estimation import EstimationData, MetricEstimate
from modelops.errors import InvalidInput
from modelops.estimation.calibration import Calibration, calibrate
from modelops.metrics import grouped

__all__ = ["BAND_Z", "CBPE", "METRICS", "expected_auc", "fit_cbpe"]

#: What CBPE estimates (accuracy only from a confidence score).
METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc")
#: The band's half-width in standard errors (NannyML's alert thresholds are 3 σ too).
BAND_Z = 3.0
#: A reference needs at least this many rows with feedback, and each class this many.
MIN_REFERENCE = 100
MIN_CLASS = 10


def _ratio(num: float, den: float) -> float:
    return num / den if den > 0 else 0.0


def _estimate(metric: str, value: float, se: float, n: int) -> MetricEstimate:
    lower, upper = (value - BAND_Z * se, value + BAND_Z * se) if math.isfinite(se) \
        else (math.nan, math.nan)
    return MetricEstimate(metric=metric, value=float(value), lower=float(max(lower, 0.0)),
                          upper=float(min(upper, 1.0)), n=n)


def expected_auc(p: np.ndarray, s: np.ndarray) -> float:
    """The expected ROC AUC of rows positive with probability ``p``, ranked by ``s``: over
    pairs of different rows, ``Σ p_i (1 - p_j) [s_i > s_j]`` (ties half) over
    ``Σ p_i (1 - p_j)``."""
    order = np.argsort(s)              # ties are pooled below: their order does not matter
    s, p = s[order], p[order]
    q = 1.0 - p
    n = len(s)
    if n < 2:
        return math.nan
    new = np.empty(n, dtype=bool)
    new[0] = True
    new[1:] = s[1:] != s[:-1]
    block = np.cumsum(new) - 1
    neg_in_block = np.bincount(block, weights=q)
    neg_before = np.concatenate(([0.0], np.cumsum(neg_in_block)[:-1]))[block]
    ties = neg_in_block[block] - q              # the other rows of the same score
    numerator = float(np.dot(p, neg_before + 0.5 * ties))
    denominator = float(p.sum() * q.sum() - np.dot(p, q))
    return numerator / denominator if denominator > 0 else math.nan


def _hanley_mcneil(auc: float, n_pos: float, n_neg: float) -> float:
    """The standard error of an AUC with these class sizes (Hanley & McNeil, 1982)."""
    if not (math.isfinite(auc) and n_pos > 1 and n_neg > 1):
        return math.nan
    q1, q2 = auc / (2 - auc), 2 * auc * auc / (1 + auc)
    var = (auc * (1 - auc) + (n_pos - 1) * (q1 - auc * auc)
           + (n_neg - 1) * (q2 - auc * auc)) / (n_pos * n_neg)
    return math.sqrt(max(var, 0.0))


def _binary(p: np.ndarray, s: np.ndarray, yhat: np.ndarray) -> dict[str, tuple[float, float]]:
    """(estimate, standard error) of each metric, one positive class: ``p`` the calibrated
    probability of positive, ``s`` the raw score, ``yhat`` the predicted positives."""
    n = len(p)
    v = p * (1 - p)
    a, va = float(p[yhat].sum()), float(v[yhat].sum())        # expected TP, its variance
    b, vb = float(p[~yhat].sum()), float(v[~yhat].sum())      # expected FN
    m = int(yhat.sum())                                       # predicted positives
    correct = np.where(yhat, p, 1 - p)
    out = {"accuracy": (float(correct.mean()), math.sqrt(float(v.sum())) / n)}
    out["precision"] = (_ratio(a, m), _ratio(math.sqrt(va), m))
    pos = a + b
    out["recall"] = (_ratio(a, pos),
                     _ratio(math.sqrt(b * b * va + a * a * vb), pos * pos))
    den = a + b + m
    out["f1"] = (_ratio(2 * a, den),
                 _ratio(2 * math.sqrt((b + m) ** 2 * va + a * a * vb), den * den))
    auc = expected_auc(p, s)
    out["roc_auc"] = (auc, _hanley_mcneil(auc, pos, n - pos))
    return out


class CBPE:
    """A CBPE estimator fitted on a reference (see the module docstring); make one with
    :func:`fit_cbpe`. ``notes`` says how the scores were calibrated and why;
    ``reference_metrics`` are the metrics realised on the reference."""

    def __init__(self, mode: str, classes: tuple[Any, ...], calibrations: list[Calibration],
                 reference_metrics: dict[str, float], n_reference: int) -> None:
        self.mode = mode                      # binary | multiclass | confidence
        self.classes = classes
        self.calibrations = calibrations
        self.reference_metrics = reference_metrics
        self.metrics = ("accuracy",) if mode == "confidence" else METRICS
        used = [c.calibrated for c in calibrations]
        self.notes: Mapping[str, Any] = {
            "estimator": "cbpe", "mode": mode, "n_reference": n_reference,
            "calibrated": any(used),
            "calibration": (
                "scores calibrated on the reference by isotonic regression: calibrated, "
                "held-out scores had a lower expected calibration error"
                if all(used) else
                "scores used as they are: calibrating did not lower the held-out expected "
                "calibration error" if not any(used) else
                f"{sum(used)} of {len(used)} class scores calibrated by isotonic regression "
                "(where it lowered the held-out expected calibration error)"),
            "ece_raw": [c.ece_raw for c in calibrations],
            "ece_calibrated": [c.ece_calibrated for c in calibrations],
            "band": f"±{BAND_Z:g} standard errors of the realised value (closed form)"}

    def __repr__(self) -> str:
        return f"<CBPE {self.mode} classes={self.classes!r}>"

    def _index(self, predictions: np.ndarray) -> np.ndarray:
        """Each prediction's class index: one vectorised comparison per class."""
        predictions = np.asarray(predictions)
        out = np.full(len(predictions), -1, dtype=np.intp)
        for k, label in enumerate(self.classes):
            out[predictions == label] = k
        if (out < 0).any():
            bad = predictions[np.argmax(out < 0)]
            raise InvalidInput(f"a prediction {bad!r} is not one of the reference's classes "
                               f"{self.classes!r}", field="predictions")
        return out

    def probabilities(self, data: EstimationData) -> np.ndarray:
        """The calibrated probabilities of ``data``: of the positive class (binary), of each
        class (multiclass, rows summing to 1), or that the prediction is right
        (confidence)."""
        scores = _scores(data, 2 if self.mode == "multiclass" else 1)
        if self.mode != "multiclass":
            return self.calibrations[0].apply(scores)
        probs = np.column_stack([c.apply(scores[:, k])
                                 for k, c in enumerate(self.calibrations)])
        total = probs.sum(axis=1, keepdims=True)
        return np.divide(probs, total, out=np.full_like(probs, 1.0 / probs.shape[1]),
                         where=total > 0)

    def estimate(self, data: EstimationData) -> dict[str, MetricEstimate]:
        """The estimated metrics of the rows of ``data`` (their actuals are not read)."""
        n = len(data)
        if n == 0:
            return {m: MetricEstimate(metric=m, value=math.nan, n=0) for m in self.metrics}
        p = self.probabilities(data)
        if self.mode == "confidence":
            v = p * (1 - p)
            return {"accuracy": _estimate("accuracy", float(p.mean()),
                                          math.sqrt(float(v.sum())) / n, n)}
        pred = self._index(np.asarray(data.predictions))
        if self.mode == "binary":
            s = _scores(data, 1)
            found = _binary(p, s, pred == 1)
        else:
            found = self._multiclass(p, _scores(data, 2), pred)
        return {m: _estimate(m, value, se, n) for m, (value, se) in found.items()}

    def _multiclass(self, p: np.ndarray, s: np.ndarray,
                    pred: np.ndarray) -> dict[str, tuple[float, float]]:
        n, k = p.shape
        rows = np.arange(n)
        correct = p[rows, pred]
        out = {"accuracy": (float(correct.mean()),
                            math.sqrt(float((correct * (1 - correct)).sum())) / n)}
        per_class = [_binary(p[:, c], s[:, c], pred == c) for c in range(k)]
        for name in ("precision", "recall", "f1", "roc_auc"):
            values = np.array([found[name][0] for found in per_class])
            errors = np.array([found[name][1] for found in per_class])
            ok = np.isfinite(values)
            out[name] = (float(values[ok].mean()) if ok.any() else math.nan,
                         float(math.sqrt(np.nansum(errors[ok] ** 2)) / max(ok.sum(), 1)))
        return out


def _scores(data: EstimationData, ndim: int) -> np.ndarray:
    if data.scores is None:
        raise InvalidInput("CBPE needs the model's scores (probabilities)", field="scores")
    scores = np.asarray(data.scores, dtype=np.float64)
    if scores.ndim != ndim or len(scores) != len(data):
        wanted = "one score per row" if ndim == 1 else "one column of scores per class"
        raise InvalidInput(f"expected {wanted} for {len(data)} rows, got shape "
                           f"{scores.shape}", field="scores")
    if not np.isfinite(scores).all():
        raise InvalidInput("scores must be finite (leave rows without a score out)",
                           field="scores")
    return scores


def _encode(actuals: np.ndarray, predictions: np.ndarray,
            extra: tuple[Any, ...]) -> tuple[tuple[Any, ...], np.ndarray, np.ndarray]:
    """Sorted labels and both arrays as indices into them: by sorting when both hold whole
    numbers or booleans (the common case, and fast), else by ``grouped.encode_labels``."""
    kinds = {actuals.dtype.kind, predictions.dtype.kind}
    if kinds <= {"b", "i", "u"} and all(isinstance(v, (bool, int, np.integer, np.bool_))
                                         for v in extra):
        both = np.concatenate((actuals.astype(np.int64), predictions.astype(np.int64),
                               np.asarray(extra, dtype=np.int64)))
        found = np.unique(both)
        labels = tuple(bool(v) for v in found) if kinds == {"b"} else \
            tuple(int(v) for v in found)
        return (labels, np.searchsorted(found, actuals.astype(np.int64)),
                np.searchsorted(found, predictions.astype(np.int64)))
    return grouped.encode_labels(actuals, predictions, extra)


def _labels(data: EstimationData) -> tuple[tuple[Any, ...], np.ndarray, np.ndarray]:
    if data.actuals is None or len(data.actuals) != len(data):
        raise InvalidInput("a reference needs the actual of every row", field="actuals")
    labels, true, pred = _encode(np.asarray(data.actuals), np.asarray(data.predictions),
                                 data.classes)
    if data.classes:
        # keep the caller's order (score columns, or negative then positive)
        order = [labels.index(c) if c in labels else -1 for c in data.classes]
        if len(set(labels)) > len(data.classes):
            extra = [lab for lab in labels if lab not in data.classes]
            raise InvalidInput(f"labels {extra!r} are not among the classes "
                               f"{data.classes!r}", field="classes")
        remap = np.empty(len(labels), dtype=np.intp)
        remap[order] = np.arange(len(order))
        return tuple(data.classes), remap[true], remap[pred]
    return labels, true, pred


def fit_cbpe(reference: EstimationData, *, calibration: str | bool = "auto") -> CBPE:
    """Fit CBPE on a reference with actuals: binary when ``scores`` is 1-D (the positive
    class is ``classes[1]``, else the label ``grouped.default_positive`` picks: 1 or True),
    one-vs-rest when it has a column per class, accuracy only when ``confidence``.
    ``calibration``: ``"auto"`` (see ``modelops.estimation.calibration``), True or False."""
    n = len(reference)
    if n < MIN_REFERENCE:
        raise InvalidInput(f"a CBPE reference needs at least {MIN_REFERENCE} rows with "
                           f"feedback, got {n}", field="reference")
    labels, true, pred = _labels(reference)
    scores = np.asarray(reference.scores, dtype=np.float64) \
        if reference.scores is not None else None
    if reference.confidence:
        s = _scores(reference, 1)
        right = (true == pred).astype(np.float64)
        metrics = {"accuracy": float(right.mean())}
        return CBPE("confidence", labels, [calibrate(s, right, method=calibration)], metrics, n)
    if scores is not None and scores.ndim == 2:
        s = _scores(reference, 2)
        if s.shape[1] != len(labels):
            raise InvalidInput(f"{s.shape[1]} score columns for {len(labels)} classes "
                               f"{labels!r}; name them with classes=", field="scores")
        _enough(true, len(labels), labels)
        cals = [calibrate(s[:, k], (true == k).astype(np.float64), method=calibration)
                for k in range(len(labels))]
        metrics = {k: float(v[0]) for k, v in
                   grouped.classification(true, pred, len(labels), None).items()}
        areas = [grouped.roc_auc(true == k, s[:, k], np.zeros(n, dtype=np.intp), 1)[0]
                 for k in range(len(labels))]
        metrics["roc_auc"] = float(np.nanmean(areas))
        return CBPE("multiclass", labels, cals, metrics, n)
    s = _scores(reference, 1)
    if reference.classes:
        if len(labels) != 2:
            raise InvalidInput("binary CBPE needs classes=(negative, positive)",
                               field="classes")
        pos = 1
    else:
        positive = grouped.default_positive(labels)
        if positive is None or len(labels) != 2:
            raise InvalidInput(f"binary CBPE needs two classes and a positive one, got labels "
                               f"{labels!r}; pass classes=(negative, positive), or one column "
                               "of scores per class", field="classes")
        pos = labels.index(positive)
        if pos == 0:
            labels = labels[::-1]
            true, pred = 1 - true, 1 - pred
    _enough(true, 2, labels)
    outcome = (true == 1).astype(np.float64)
    metrics = {k: float(v[0]) for k, v in
               grouped.classification(true, pred, 2, 1, scores=s).items()}
    return CBPE("binary", labels, [calibrate(s, outcome, method=calibration)], metrics, n)


def _enough(true: np.ndarray, k: int, labels: tuple[Any, ...]) -> None:
    counts = np.bincount(true, minlength=k)
    if counts.min() < MIN_CLASS:
        low = labels[int(np.argmin(counts))]
        raise InvalidInput(f"the reference has {int(counts.min())} rows of class {low!r}; "
                           f"CBPE needs at least {MIN_CLASS} of each to calibrate",
                           field="reference")
