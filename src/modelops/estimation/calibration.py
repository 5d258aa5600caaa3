"""Calibrating scores on a reference, and the test that decides whether to.

CBPE reads a calibrated score as the probability that a row is positive, so its estimates
are only as good as the calibration. A score is recalibrated with isotonic regression
(scikit-learn's ``IsotonicRegression``, fitted by scipy: :class:`Isotonic`) when a
calibration test says it helps, the test
NannyML uses, over ten folds of the reference: each tenth of the rows is calibrated by an
isotonic regression fitted on the other nine, and these held-out calibrated scores must have
a lower expected calibration error (ECE, ten bins of equal count) than the scores as they
are. (NannyML draws ten random 90/10 splits, which may overlap; disjoint folds hold every row
out once.) Calibrating in
sample would always look better; held out, it looks better only when the raw scores are off
by more than the regression's own noise.

On the benchmark's data sets (``benchmarks/bench_estimation.py``) this rule calibrated where
it helped. Two stricter rules we measured — a paired test of the out-of-fold Brier score, and
"lower ECE in every split" — left a gradient boosting model's scores and a 150-row
reference's as they were, and estimated ROC AUC four to ten times worse. The price: a model
that is calibrated already is sometimes recalibrated, and isotonic regression flattens the
extreme scores (with a 2,000-row reference that moved one estimate by 0.017 when the inputs
moved to the extremes); ``calibration=False`` keeps the scores as they are.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np

from modelops.errors import InvalidInput, MissingDependency

__all__ = ["Calibration", "calibrate", "expected_calibration_error", "one_thread", "sklearn"]

BINS = 10
#: Folds of the calibration test.
SPLITS = 10


def sklearn(feature: str = "performance estimation") -> Any:
    """scikit-learn, or ``MissingDependency`` naming the extra that brings it."""
    try:
        import sklearn as found
    except ImportError:
        raise MissingDependency(feature, "modelops[sklearn]") from None
    return found


def one_thread() -> Any:
    """A context in which scikit-learn's OpenMP and BLAS pools use one thread: the models
    fitted here are small, and on a busy machine a pool per core spends far more time
    waiting than working (a 5,000-row gradient boosting fit took 18× longer with two threads
    on two busy cores than with one)."""
    sklearn()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(1)


def expected_calibration_error(scores: np.ndarray, outcomes: np.ndarray,
                               bins: int = BINS, *, presorted: bool = False) -> float:
    """The mean absolute gap between the mean score and the share of positive outcomes over
    ``bins`` bins of equal count (sorted by score), weighted by bin size."""
    n = len(scores)
    if n == 0:
        return float("nan")
    order = np.arange(n) if presorted else np.argsort(scores)
    edges = np.linspace(0, n, min(bins, n) + 1).astype(np.intp)
    group = np.searchsorted(edges[1:-1], np.arange(n), side="right")
    sizes = np.bincount(group).astype(np.float64)
    gap = np.bincount(group, weights=scores[order]) - np.bincount(group, weights=outcomes[order])
    return float(np.abs(gap).sum() / sizes.sum())


@attrs.frozen(kw_only=True)
class Calibration:
    """How one score column is turned into probabilities: ``calibrated`` says whether an
    isotonic regression is applied; ``ece_raw`` is the expected calibration error of the
    raw scores on the reference, ``ece_calibrated`` that of the held-out calibrated scores
    the test compared."""

    calibrated: bool
    ece_raw: float
    ece_calibrated: float
    regression: Any = attrs.field(default=None, repr=False, eq=False)

    def apply(self, scores: np.ndarray) -> np.ndarray:
        """The probabilities of ``scores`` (clipped to [0, 1] when not calibrated)."""
        scores = np.asarray(scores, dtype=np.float64)
        if self.regression is None:
            return np.clip(scores, 0.0, 1.0)
        return np.asarray(self.regression.predict(scores), dtype=np.float64)


class Isotonic:
    """An increasing isotonic regression of outcomes on scores, predicting by linear
    interpolation between the fitted points and clipping beyond them: scikit-learn's
    ``IsotonicRegression(out_of_bounds="clip")``, fitted with scipy's pool-adjacent-violators
    (``scipy.optimize.isotonic_regression``, scipy ≥ 1.12) on the scores' distinct values,
    which takes a tenth of scikit-learn's time for the small fits calibration makes;
    scikit-learn's class where scipy is older."""

    def __init__(self, scores: np.ndarray, outcomes: np.ndarray, *,
                 presorted: bool = False) -> None:
        from scipy import optimize

        if not hasattr(optimize, "isotonic_regression"):
            sklearn("isotonic calibration with scipy older than 1.12")
            from sklearn.isotonic import IsotonicRegression

            self._sk = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
            self._sk.fit(scores, outcomes)
            return
        self._sk = None
        if not presorted:
            order = np.argsort(scores)
            scores, outcomes = scores[order], outcomes[order]
        starts = np.flatnonzero(np.concatenate(([True], scores[1:] != scores[:-1])))
        x = scores[starts]
        counts = np.diff(np.append(starts, len(scores)))
        means = np.add.reduceat(outcomes, starts) / counts
        y = np.clip(optimize.isotonic_regression(means, weights=counts.astype(np.float64)).x,
                    0.0, 1.0)
        # only the ends of each flat run matter to the interpolation: keep those
        change = y[1:] != y[:-1]
        keep = np.concatenate(([True], change)) | np.concatenate((change, [True]))
        self.x, self.y = x[keep], y[keep]

    def predict(self, scores: np.ndarray) -> np.ndarray:
        if self._sk is not None:
            return np.asarray(self._sk.predict(scores), dtype=np.float64)
        return np.interp(scores, self.x, self.y)


def calibrate(scores: np.ndarray, outcomes: np.ndarray, *, method: str | bool = "auto",
              seed: int = 0) -> Calibration:
    """Fit the calibration of ``scores`` (finite) to ``outcomes`` (0/1) on a reference.

    ``method``: ``"auto"`` (calibrate when the test above says it helps), True (always) or
    False (never; the scores are taken as probabilities).
    """
    if method not in ("auto", True, False):
        raise InvalidInput(f"expected 'auto', True or False, got {method!r}",
                           field="calibration")
    scores = np.asarray(scores, dtype=np.float64)
    outcomes = np.asarray(outcomes, dtype=np.float64)
    if method is False:
        raw = expected_calibration_error(np.clip(scores, 0.0, 1.0), outcomes)
        return Calibration(calibrated=False, ece_raw=raw, ece_calibrated=float("nan"))
    n = len(scores)
    order = np.argsort(scores)             # sorted once: every fold's fit reads it in order
    xs, ys = scores[order], outcomes[order]
    fold = np.random.default_rng(seed).permutation(n) % SPLITS
    held = np.full(n, np.nan)
    for k in range(SPLITS):
        test = fold == k
        train = ~test
        if not test.any() or ys[train].min() == ys[train].max():
            continue
        held[test] = Isotonic(xs[train], ys[train], presorted=True).predict(xs[test])
    known = np.isfinite(held)
    raw = expected_calibration_error(np.clip(xs, 0.0, 1.0), ys, presorted=True)
    if n >= 2 * SPLITS and known.all():
        before, cross = raw, expected_calibration_error(held, ys)
    elif n >= 2 * SPLITS and known.any():
        before = expected_calibration_error(np.clip(xs[known], 0.0, 1.0), ys[known])
        cross = expected_calibration_error(held[known], ys[known])
    else:
        before = cross = float("nan")
    use = method is True or cross < before
    return Calibration(calibrated=use, ece_raw=raw, ece_calibrated=cross,
                       regression=Isotonic(xs, ys, presorted=True) if use else None)
