"""Calibrating scores on a reference, and the test that decides whether to.

CBPE reads a calibrated score as the probability that a row is positive, so its estimates
are only as good as the calibration. A score is recalibrated with isotonic regression
(scikit-learn's ``IsotonicRegression``) when a calibration test says it helps: each reference
row is calibrated out of fold (five folds: each fifth by a regression fitted on the other
four), and the row's Brier score ``(score - outcome)²`` raw and calibrated are compared in a
paired test; calibration is used when it lowers the mean Brier score by more than
:data:`Z` standard errors. Calibrating in sample would always look better; out of fold it
looks better only when the raw scores really are off, not when isotonic regression just
fits noise (which on an already calibrated model costs accuracy: a 2,000-row reference
calibrated anyway moved the estimate of a perfectly calibrated model by 0.017). The expected
calibration error (ECE, ten bins of equal count) of both is reported too.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np

from modelops.errors import InvalidInput, MissingDependency

__all__ = ["Calibration", "calibrate", "expected_calibration_error", "one_thread", "sklearn"]

BINS = 10
FOLDS = 5
#: Calibrate when the out-of-fold Brier score is lower by more than this many standard errors.
Z = 2.0


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
                               bins: int = BINS) -> float:
    """The mean absolute gap between the mean score and the share of positive outcomes over
    ``bins`` bins of equal count (sorted by score), weighted by bin size."""
    n = len(scores)
    if n == 0:
        return float("nan")
    order = np.argsort(scores, kind="stable")
    edges = np.linspace(0, n, min(bins, n) + 1).astype(np.intp)
    group = np.searchsorted(edges[1:-1], np.arange(n), side="right")
    sizes = np.bincount(group).astype(np.float64)
    gap = np.bincount(group, weights=scores[order]) - np.bincount(group, weights=outcomes[order])
    return float(np.abs(gap).sum() / sizes.sum())


@attrs.frozen(kw_only=True)
class Calibration:
    """How one score column is turned into probabilities: ``calibrated`` says whether an
    isotonic regression is applied; ``z`` is the test's statistic (how many standard errors
    calibrating out of fold lowered the Brier score); ``ece_raw``/``ece_calibrated`` the
    expected calibration error of the raw and out-of-fold calibrated scores."""

    calibrated: bool
    ece_raw: float
    ece_calibrated: float
    z: float = float("nan")
    regression: Any = attrs.field(default=None, repr=False, eq=False)

    def apply(self, scores: np.ndarray) -> np.ndarray:
        """The probabilities of ``scores`` (clipped to [0, 1] when not calibrated)."""
        scores = np.asarray(scores, dtype=np.float64)
        if self.regression is None:
            return np.clip(scores, 0.0, 1.0)
        return np.asarray(self.regression.predict(scores), dtype=np.float64)


def _isotonic(scores: np.ndarray, outcomes: np.ndarray) -> Any:
    sklearn()
    from sklearn.isotonic import IsotonicRegression

    return IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip",
                              increasing=True).fit(scores, outcomes)


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
    raw = expected_calibration_error(np.clip(scores, 0.0, 1.0), outcomes)
    if method is False:
        return Calibration(calibrated=False, ece_raw=raw, ece_calibrated=float("nan"))
    n = len(scores)
    fold = np.random.default_rng(seed).permutation(n) % FOLDS
    out_of_fold = np.empty(n)
    for k in range(FOLDS):
        held = fold == k
        if held.all() or not held.any():
            continue
        out_of_fold[held] = _isotonic(scores[~held], outcomes[~held]).predict(scores[held])
    if n < 2 * FOLDS:
        use, z, cross = method is True, float("nan"), float("nan")
    else:
        cross = expected_calibration_error(out_of_fold, outcomes)
        gain = (np.clip(scores, 0.0, 1.0) - outcomes) ** 2 - (out_of_fold - outcomes) ** 2
        spread = float(gain.std(ddof=1))
        z = float(gain.mean()) / (spread / np.sqrt(n)) if spread > 0 else 0.0
        use = method is True or z > Z
    return Calibration(calibrated=use, ece_raw=raw, ece_calibrated=cross, z=z,
                       regression=_isotonic(scores, outcomes) if use else None)
