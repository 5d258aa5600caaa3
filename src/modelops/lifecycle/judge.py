"""Comparing a challenger's predictions with a champion's, metric by metric: the metric's
value on each side, the significance test that fits it, and the sample that would detect a
given difference (``modelops.lifecycle.abtest`` holds the statistics).

``comparison_for(metric, ...)`` gives the comparison of a metric: a canonical name or alias of
the metric table (``modelops.metrics``), or a callable ``metric(y_true, y_pred)`` or
``metric(y_true, y_pred, score) -> float``:

=====================  =================================  =================================
metric                 test                               sample needed
=====================  =================================  =================================
accuracy               two proportions (Fisher's exact    Fleiss' formula for proportions
                       test when a cell is small)
precision, recall      two proportions over the           the same, over predicted /
                       predicted / actual positives       actual positives, as predictions
mae, mse, log_loss     Welch's t on per-row losses        the formula for means
roc_auc                DeLong's test                      the same, with DeLong variances
f1, others, callables  permutation test (seeded)          the same, with bootstrap variances
=====================  =================================  =================================
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from typing import Any

import attrs
import numpy as np

from modelops.errors import InvalidInput
from modelops.lifecycle import abtest

__all__ = ["Groups", "MetricComparison", "comparison_for"]

PROPORTIONS = ("accuracy", "precision", "recall")
LOSSES = ("mae", "mse", "log_loss")
NEEDS_POSITIVE = ("precision", "recall", "roc_auc", "log_loss")
_EPS = float(np.finfo(np.float64).eps)


@attrs.frozen
class Groups:
    """The champion's (``a``) and the challenger's (``b``) predictions with feedback:
    predictions, actuals and the positive class's score (NaN where none was logged)."""

    pred_a: np.ndarray
    true_a: np.ndarray
    score_a: np.ndarray
    pred_b: np.ndarray
    true_b: np.ndarray
    score_b: np.ndarray

    @property
    def sizes(self) -> tuple[int, int]:
        return len(self.pred_a), len(self.pred_b)


@attrs.define
class MetricComparison:
    """One metric's comparison. ``values`` gives the metric on each side; ``test`` the
    significance of the difference; ``plan`` how many challenger predictions with feedback
    detect ``effect`` (None when nothing can be planned on)."""

    name: str
    higher_is_better: bool
    kind: str                      # proportion | loss | auc | resampled
    positive: Any = None
    compute: Callable[..., float] | None = None
    resamples: int = 2_000
    seed: int = 0

    @property
    def needs_score(self) -> bool:
        """Whether the metric is measured on the positive class's scores (roc_auc,
        log_loss): rows without one cannot be compared."""
        return self.kind == "auc" or self.name == "log_loss"

    # -- the metric on each side ------------------------------------------------------------

    def _is_pos(self, values: np.ndarray) -> np.ndarray:
        return np.asarray([v == self.positive for v in values.tolist()], dtype=bool)

    def _counts(self, pred: np.ndarray, true: np.ndarray) -> tuple[int, int]:
        """(hits, denominator) of a proportion."""
        if self.name == "accuracy":
            hits = np.fromiter((p == t for p, t in zip(pred.tolist(), true.tolist())),
                               dtype=bool, count=len(pred))
            return int(hits.sum()), len(pred)
        pp, ap = self._is_pos(pred), self._is_pos(true)
        return int((pp & ap).sum()), int((pp if self.name == "precision" else ap).sum())

    def _losses(self, pred: np.ndarray, true: np.ndarray, score: np.ndarray) -> np.ndarray:
        if self.name == "log_loss":
            s = np.clip(np.asarray(score, dtype=np.float64), _EPS, 1 - _EPS)
            return -np.log(np.where(self._is_pos(true), s, 1 - s))
        try:
            err = np.asarray(pred.tolist(), dtype=np.float64) - \
                np.asarray(true.tolist(), dtype=np.float64)
        except (TypeError, ValueError):
            raise InvalidInput(f"{self.name} needs numeric predictions and actuals; use "
                               "metric='accuracy' for labels", field="metric") from None
        return np.abs(err) if self.name == "mae" else err ** 2

    def _encoded(self, pred: np.ndarray, true: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(y_true, y_pred) as a resampled metric takes them: "is the positive label" when
        there is one, else as logged. Done once before resampling, not per resample."""
        if self.positive is not None:
            return self._is_pos(true), self._is_pos(pred)
        return true, pred

    def _measure(self, pred: np.ndarray, true: np.ndarray, score: np.ndarray) -> float:
        """The metric on one side's rows (a resampled metric)."""
        assert self.compute is not None
        y_true, y_pred = self._encoded(pred, true)
        return float(self.compute(y_true, y_pred, score))

    def _resampler(self, g: Groups) -> Callable[[np.ndarray], float]:
        """The metric of a set of rows of both sides joined (champion's first)."""
        assert self.compute is not None
        pred, true, score = _joined(g)
        y_true, y_pred = self._encoded(pred, true)
        compute = self.compute
        return lambda rows: float(compute(y_true[rows], y_pred[rows], score[rows]))

    def values(self, g: Groups) -> tuple[float, float]:
        out = []
        for pred, true, score in ((g.pred_a, g.true_a, g.score_a),
                                  (g.pred_b, g.true_b, g.score_b)):
            if len(pred) == 0:
                out.append(math.nan)
            elif self.kind == "proportion":
                hits, n = self._counts(pred, true)
                out.append(hits / n if n else math.nan)
            elif self.kind == "loss":
                out.append(float(self._losses(pred, true, score).mean()))
            elif self.kind == "auc":
                pos = self._is_pos(true)
                out.append(_auc(pos, score) if 0 < pos.sum() < len(pos) else math.nan)
            else:
                out.append(self._measure(pred, true, score))
        return out[0], out[1]

    # -- significance -----------------------------------------------------------------------

    def enough(self, g: Groups) -> bool:
        n_a, n_b = g.sizes
        if n_a < 2 or n_b < 2:
            return False
        if self.kind == "proportion":
            return self._counts(g.pred_a, g.true_a)[1] > 0 and \
                self._counts(g.pred_b, g.true_b)[1] > 0
        if self.kind == "auc":
            return all(1 < self._is_pos(t).sum() < len(t) - 1 for t in (g.true_a, g.true_b))
        return True

    def test(self, g: Groups) -> abtest.Significance:
        if self.kind == "proportion":
            x1, n1 = self._counts(g.pred_a, g.true_a)
            x2, n2 = self._counts(g.pred_b, g.true_b)
            return abtest.two_proportions(x1, n1, x2, n2)
        if self.kind == "loss":
            return abtest.welch(self._losses(g.pred_a, g.true_a, g.score_a),
                                self._losses(g.pred_b, g.true_b, g.score_b))
        if self.kind == "auc":
            return abtest.delong(self._is_pos(g.true_a), g.score_a, self._is_pos(g.true_b),
                                 g.score_b)[0]
        return abtest.permutation(self._resampler(g), *g.sizes, resamples=self.resamples,
                                  seed=self.seed)

    # -- planning ---------------------------------------------------------------------------

    def plan(self, g: Groups, effect: float, towards: float, alpha: float, power: float,
             ratio: float) -> float | None:
        """Challenger predictions with feedback (in all) that detect a change of ``effect``
        in the direction of ``towards`` (its sign), the champion getting ``ratio`` times as
        many; None when there is nothing to plan on."""
        m1, _ = self.values(g)
        n_a, n_b = g.sizes
        if self.kind == "proportion":
            if math.isnan(m1):
                return None
            p2 = min(max(m1 + (effect if towards >= 0 else -effect), 0.0), 1.0)
            if p2 == m1:
                p2 = max(m1 - effect, 0.0)
            counted = self._counts(g.pred_b, g.true_b)[1] if n_b else 0
            per_row = counted / n_b if n_b and counted else 1.0
            return abtest.n_for_proportions(m1, p2, alpha=alpha, power=power,
                                            ratio=ratio) / per_row
        if not self.enough(g):
            return None
        if self.kind == "loss":
            sd_a = float(self._losses(g.pred_a, g.true_a, g.score_a).std(ddof=1))
            sd_b = float(self._losses(g.pred_b, g.true_b, g.score_b).std(ddof=1))
            return abtest.n_for_means(effect, sd_a, sd_b, alpha=alpha, power=power,
                                      ratio=ratio)
        if self.kind == "auc":
            _, var_a, var_b = abtest.delong(self._is_pos(g.true_a), g.score_a,
                                            self._is_pos(g.true_b), g.score_b)
            unit_a, unit_b = var_a * n_a, var_b * n_b
        else:
            measure = self._resampler(g)
            boot = min(self.resamples, 1_000)
            unit_a = abtest.unit_variance(measure, np.arange(n_a), resamples=boot,
                                          seed=self.seed)
            unit_b = abtest.unit_variance(measure, np.arange(n_a, n_a + n_b),
                                          resamples=boot, seed=self.seed + 1)
        return abtest.n_for_means(effect, math.sqrt(unit_a), math.sqrt(unit_b), alpha=alpha,
                                  power=power, ratio=ratio)


def _joined(g: Groups) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (np.concatenate((g.pred_a, g.pred_b)), np.concatenate((g.true_a, g.true_b)),
            np.concatenate((g.score_a, g.score_b)))


def _auc(positive: np.ndarray, score: np.ndarray) -> float:
    from scipy.stats import rankdata

    ranks = rankdata(score)
    m = int(positive.sum())
    n = len(score) - m
    return float((ranks[positive].sum() - m * (m + 1) / 2) / (m * n))


def comparison_for(metric: str | Callable[..., float], *, positive: Any = None,
                   labels: tuple[Any, ...] = (), higher_is_better: bool | None = None,
                   resamples: int = 2_000, seed: int = 0) -> MetricComparison:
    """The comparison of ``metric`` (see the module doc). ``positive`` is the positive label
    (default: 1 or True when the labels are 0/1 or booleans) — needed by precision, recall,
    roc_auc and log_loss; ``labels`` are the labels seen, for that default."""
    from modelops.metrics import canonical_metric, metric_table
    from modelops.metrics import higher_is_better as direction
    from modelops.metrics.grouped import default_positive

    if positive is None and labels:
        positive = default_positive(labels)
    if callable(metric):
        name = getattr(metric, "__name__", type(metric).__name__)
        return MetricComparison(name=name, kind="resampled", positive=positive,
                                higher_is_better=True if higher_is_better is None
                                else higher_is_better,
                                compute=_with_score(metric), resamples=resamples, seed=seed)
    if not isinstance(metric, str):
        raise InvalidInput(f"expected a metric name or a callable, got {metric!r}",
                           field="metric")
    name = canonical_metric(metric)
    table = metric_table()
    if name not in table and name not in LOSSES:
        raise InvalidInput(f"unknown metric {metric!r}; expected one of "
                           f"{', '.join(sorted(table))}, or a callable metric(y_true, "
                           "y_pred[, score])", field="metric")
    if name in NEEDS_POSITIVE and positive is None:
        raise InvalidInput(f"{name} is judged for a positive label; pass positive= (or store "
                           "it with ops.set_monitoring)", field="positive")
    better = direction(name) if higher_is_better is None else higher_is_better
    kind = "proportion" if name in PROPORTIONS else "loss" if name in LOSSES else \
        "auc" if name == "roc_auc" else "resampled"
    return MetricComparison(name=name, kind=kind, positive=positive, higher_is_better=better,
                            compute=table[name].compute if kind == "resampled" else None,
                            resamples=resamples, seed=seed)


def _with_score(metric: Callable[..., float]) -> Callable[[Any, Any, Any], float]:
    """A user's ``metric(y_true, y_pred)`` or ``metric(y_true, y_pred, score)`` as the
    three-argument form."""
    try:
        params = inspect.signature(metric).parameters.values()
        takes = sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and
                    p.default is p.empty for p in params)
        varargs = any(p.kind is p.VAR_POSITIONAL for p in params)
    except (TypeError, ValueError):      # a builtin without a signature: try three
        takes, varargs = 3, False
    if takes >= 3 or varargs:
        return metric
    return lambda y_true, y_pred, score: metric(y_true, y_pred)
