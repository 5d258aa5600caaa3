"""Multivariate drift: methods that look at the columns together, and so see a shift that
changes how columns move together while each column alone stays the same (which no
column-by-column test can see).

``reconstruction`` (data reconstruction drift, as NannyML's): the numeric columns are
standardised by the reference (missing values imputed with its means), compressed by a PCA
fitted on the reference to the components that explain 65 % of its variance, and
reconstructed; a row's error is the Euclidean distance to its reconstruction. When the
columns' joint structure changes, the reference's components fit the new rows worse (or, if
the columns grow more tied, better). The PCA is fitted twice, each time on one half of the
reference rows: the reference's errors are measured on the other half, the current rows'
under both fits, so both are errors of rows the PCA has not seen (a current row equal to a
reference row, under the fit that did not see it alone). Without drift the current
mean error has the reference's mean, and their difference a standard error of
``σ √(1/n + 1/n_ref)`` (``σ`` the spread of the reference's row errors, both means being
estimates); it drifts outside ``mean ± z σ √(1/n + 1/n_ref)``, with ``z`` 3 (NannyML's
mean ± 3 σ over reference chunks, for any window size), or from the ``threshold`` given as a
two-sided alpha. Numeric columns only; at least two.

``domain_classifier``: a classifier (scikit-learn's ``HistGradientBoostingClassifier``,
categorical columns as categories) learns to tell current rows from reference rows; its ROC
AUC out of fold (three folds) is 0.5 when it cannot. A one-sided DeLong test of AUC = 0.5
gives the p-value; drift when p < ``threshold`` (alpha, 0.05) and the AUC reaches
:data:`MIN_AUC` (0.55), so that huge samples do not flag differences no model would notice.
The explanation ranks the columns by how much shuffling each in the held-out rows lowers the
AUC. Each side uses at most 5,000 rows.

A current frame of more than :data:`CURRENT_ROWS` (100,000) rows is checked on a uniform sample
of that many (seeded: a frame always gets the same answer). The reference side holds at most
5,000 rows, so the band's width hardly depends on the current rows beyond that: at 100,000
against 5,000 it is 2.2 % wider than with a million, for a tenth of the time and memory.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from modelops.entities.drift import MultivariateDrift
from modelops.errors import InvalidInput, MissingDependency

__all__ = ["CURRENT_ROWS", "MIN_AUC", "VARIANCE", "check_multivariate", "delong_auc",
           "domain_classifier", "reconstruction"]

#: Reconstruction keeps the principal components that explain this share of the variance.
VARIANCE = 0.65
#: Reconstruction's band in standard errors when no threshold is given.
Z = 3.0
#: A domain classifier must reach this AUC (and be significant) to call drift.
MIN_AUC = 0.55
ALPHA = 0.05
FOLDS = 3
MAX_ROWS = 5_000
#: The current rows a check uses at most (a uniform sample of a bigger frame).
CURRENT_ROWS = 100_000


def _numeric_columns(reference: Mapping[str, np.ndarray]) -> list[str]:
    return [c for c, v in reference.items() if np.asarray(v).dtype.kind in "fiub"]


class _Pca:
    """Standardise, project on the leading components, reconstruct."""

    def __init__(self, x: np.ndarray) -> None:
        self.mean = np.nanmean(x, axis=0)
        self.mean = np.where(np.isfinite(self.mean), self.mean, 0.0)
        z = self._impute(x)
        self.scale = z.std(axis=0)
        self.scale[self.scale == 0] = 1.0
        z = (z - self.mean) / self.scale
        _u, s, vt = np.linalg.svd(z, full_matrices=False)
        share = np.cumsum(s ** 2) / max(float((s ** 2).sum()), 1e-300)
        k = int(np.searchsorted(share, VARIANCE) + 1)
        self.components = vt[:min(k, len(vt))]

    def _impute(self, x: np.ndarray) -> np.ndarray:
        return np.where(np.isfinite(x), x, self.mean)

    def errors(self, x: np.ndarray) -> np.ndarray:
        z = (self._impute(x) - self.mean) / self.scale
        back = (z @ self.components.T) @ self.components
        return np.sqrt(((z - back) ** 2).sum(axis=1))


def _rows_among(rows: np.ndarray, others: np.ndarray) -> np.ndarray:
    """Which of ``rows`` are equal, value for value, to one of ``others`` (two float
    matrices of the same columns): rows compared by a 64-bit hash of their values first,
    then, of those whose hash matches, by their bytes."""
    def hashed(x: np.ndarray) -> np.ndarray:
        bits = np.ascontiguousarray(x).view(np.uint64)
        out = np.zeros(len(x), dtype=np.uint64)
        for j in range(bits.shape[1]):     # FNV-1a's mixing, a whole column at a time
            out = (out ^ bits[:, j]) * np.uint64(0x100000001B3)
        return out

    def as_bytes(x: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(x)
        return x.view(np.dtype((np.void, x.dtype.itemsize * x.shape[1]))).ravel()

    found = np.isin(hashed(rows), hashed(others))
    if found.any():
        found[found] = np.isin(as_bytes(rows[found]), as_bytes(others))
    return found


def _matrix(frame: Mapping[str, np.ndarray], columns: list[str]) -> np.ndarray:
    return np.column_stack([np.asarray(frame[c], dtype=np.float64) for c in columns])


def reconstruction(reference: Mapping[str, np.ndarray], current: Mapping[str, np.ndarray],
                   threshold: float | None) -> MultivariateDrift:
    """Data reconstruction drift (see the module docstring)."""
    from scipy import stats

    columns = _numeric_columns(reference)
    if len(columns) < 2:
        raise InvalidInput(f"reconstruction needs at least two numeric columns, the reference "
                           f"has {len(columns)}", field="multivariate")
    ref, cur = _matrix(reference, columns), _matrix(current, columns)
    n_ref, n = len(ref), len(cur)
    if n_ref < 20 or n == 0:
        raise InvalidInput(f"reconstruction needs at least 20 reference rows and one current "
                           f"row, got {n_ref} and {n}", field="multivariate")
    half = np.random.default_rng(0).permutation(n_ref) % 2 == 0
    fits = (_Pca(ref[half]), _Pca(ref[~half]))
    ref_errors = np.concatenate((fits[0].errors(ref[~half]), fits[1].errors(ref[half])))
    cur_errors = (fits[0].errors(cur) + fits[1].errors(cur)) / 2
    # A current row that is one of the reference's rows was seen by one fit, which
    # reconstructs it better than a new row: replayed reference rows (a smoke test sending
    # the training set through the service) came out "drifted" at z ≈ -4. Such a row's
    # error is the other fit's alone, as the reference's own errors are.
    for seen, other in ((_rows_among(cur, ref[half]), fits[1]),
                        (_rows_among(cur, ref[~half]), fits[0])):
        if seen.any():
            cur_errors[seen] = other.errors(cur[seen])
    # A current row's error is the mean of two fits' errors, which varies a little less than
    # one fit's error: the spread of single errors makes the band slightly wide, never narrow.
    # Both means are estimates: the band is the two-sample standard error. With the
    # current window's error alone (σ / √n), a 10,000-row clean window against a 2,000-row
    # reference came out drifted in a quarter to half of the benchmark's clean batches.
    mean, sd = float(ref_errors.mean()), float(ref_errors.std(ddof=1))
    se = sd * math.sqrt(1 / n + 1 / n_ref)
    value = float(cur_errors.mean())
    z_limit = Z if threshold is None else float(stats.norm.isf(threshold / 2))
    alpha = float(2 * stats.norm.sf(Z)) if threshold is None else float(threshold)
    z = (value - mean) / se if se > 0 else 0.0
    pvalue = float(min(1.0, 2 * stats.norm.sf(abs(z))))
    lower, upper = mean - z_limit * se, mean + z_limit * se
    drifted = not lower <= value <= upper

    # which columns' reconstruction changed: each one's share of the squared error change
    def per_column(x: np.ndarray) -> np.ndarray:
        out = []
        for fit in fits:
            zz = (fit._impute(x) - fit.mean) / fit.scale
            out.append(((zz - (zz @ fit.components.T) @ fit.components) ** 2).mean(axis=0))
        return (out[0] + out[1]) / 2

    change = np.abs(per_column(cur) - per_column(ref))
    total = change.sum()
    order = np.argsort(-change)
    explanation = [(columns[i], float(change[i] / total)) for i in order[:10]] if total else []
    k = len(fits[0].components)
    return MultivariateDrift(
        method="reconstruction", statistic=value, expected=mean, lower=lower, upper=upper,
        pvalue=pvalue, threshold=alpha, drifted=drifted, columns=columns,
        explanation=explanation, n_reference=n_ref, n_current=n,
        reason=(f"{len(columns)} numeric columns, PCA to {k} component{'s' * (k != 1)} "
                f"({VARIANCE:.0%} of the reference's variance): mean reconstruction error "
                f"{value:.4g} against {mean:.4g} ± {z_limit:.3g} × {se:.3g} on the reference "
                f"(z = {z:.3g}): {'drifted' if drifted else 'not drifted'}"))


def delong_auc(scores: np.ndarray, positive: np.ndarray) -> tuple[float, float]:
    """ROC AUC of ``scores`` for ``positive`` rows and its DeLong standard error."""
    from scipy import stats

    ranks = stats.rankdata(scores)
    pos, neg = ranks[positive], ranks[~positive]
    m, n = len(pos), len(neg)
    auc = (pos.sum() - m * (m + 1) / 2) / (m * n)
    # structural components from the ranks within each class (ties count half)
    v10 = (pos - stats.rankdata(scores[positive])) / n
    v01 = 1 - (neg - stats.rankdata(scores[~positive])) / m
    var = v10.var(ddof=1) / m + v01.var(ddof=1) / n
    return float(auc), float(math.sqrt(max(var, 0.0)))


def domain_classifier(reference: Mapping[str, np.ndarray], current: Mapping[str, np.ndarray],
                      threshold: float | None) -> MultivariateDrift:
    """Domain-classifier drift (see the module docstring)."""
    from scipy import stats

    from modelops.frames import MatrixEncoding

    try:
        from sklearn.ensemble import HistGradientBoostingClassifier
        from threadpoolctl import threadpool_limits
    except ImportError:
        raise MissingDependency("the domain_classifier drift method",
                                "modelops[sklearn]") from None
    columns = list(reference)
    rng = np.random.default_rng(0)

    def rows(frame: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        n = len(next(iter(frame.values())))
        pick = slice(None) if n <= MAX_ROWS else np.sort(rng.choice(n, MAX_ROWS,
                                                                    replace=False))
        return {c: np.asarray(frame[c])[pick] for c in columns}

    ref, cur = rows(reference), rows(current)
    n_ref, n_cur = len(ref[columns[0]]), len(cur[columns[0]])
    if n_ref < 2 * FOLDS or n_cur < 2 * FOLDS:
        raise InvalidInput(f"domain_classifier needs at least {2 * FOLDS} rows on each side, "
                           f"got {n_ref} and {n_cur}", field="multivariate")
    encoding = MatrixEncoding(ref)
    x = np.vstack((encoding.matrix(ref), encoding.matrix(cur)))
    y = np.concatenate((np.zeros(n_ref, dtype=bool), np.ones(n_cur, dtype=bool)))
    fold = np.empty(len(y), dtype=np.intp)
    for side in (~y, y):       # stratified: each fold holds a third of each side
        where = np.flatnonzero(side)
        fold[where] = rng.permutation(len(where)) % FOLDS
    mask = encoding.categorical_mask
    scores = np.empty(len(y))
    models = []
    with threadpool_limits(1):
        for k in range(FOLDS):
            train = fold != k
            model = HistGradientBoostingClassifier(
                max_iter=50, early_stopping=False, random_state=0,
                categorical_features=mask if mask.any() else None).fit(x[train], y[train])
            scores[~train] = model.predict_proba(x[~train])[:, 1]
            models.append(model)
        auc, se = delong_auc(scores, y)
        drops = np.zeros(len(columns))
        for j in range(len(columns)):
            shuffled = np.empty(len(y))
            for k, model in enumerate(models):
                held = np.flatnonzero(fold == k)
                xs = x[held].copy()
                xs[:, j] = xs[rng.permutation(len(held)), j]
                shuffled[held] = model.predict_proba(xs)[:, 1]
            drops[j] = auc - delong_auc(shuffled, y)[0]
    alpha = ALPHA if threshold is None else float(threshold)
    pvalue = float(stats.norm.sf((auc - 0.5) / se)) if se > 0 else (0.0 if auc > 0.5 else 1.0)
    drifted = pvalue < alpha and auc >= MIN_AUC
    drops = np.maximum(drops, 0.0)
    total = drops.sum()
    order = np.argsort(-drops)
    explanation = [(columns[i], float(drops[i] / total)) for i in order[:10] if drops[i] > 0] \
        if total else []
    top = ", ".join(f"{c} ({s:.0%})" for c, s in explanation[:3]) or "none stands out"
    return MultivariateDrift(
        method="domain_classifier", statistic=auc, expected=0.5, lower=0.0,
        upper=MIN_AUC, pvalue=pvalue, threshold=alpha, drifted=drifted, columns=columns,
        explanation=explanation, n_reference=n_ref, n_current=n_cur,
        reason=(f"a classifier tells current rows from reference rows with ROC AUC "
                f"{auc:.3f} out of fold (DeLong p={pvalue:.3g}, alpha {alpha:g}; drift needs "
                f"AUC ≥ {MIN_AUC:g}): {'drifted' if drifted else 'not drifted'}; the columns "
                f"that tell them apart: {top}"))


def _names(multivariate: bool | str | Any, table: Mapping[str, Any]) -> list[str]:
    if multivariate is True:
        return list(table)
    names = [multivariate] if isinstance(multivariate, str) else list(multivariate)
    for name in names:
        if name not in table:
            raise InvalidInput(f"unknown multivariate method {name!r}; expected one of "
                               f"{', '.join(sorted(table))}", field="multivariate")
    return names


def check_multivariate(profile: Any, data: Mapping[str, np.ndarray],
                       multivariate: bool | str | Any = True,
                       threshold: float | None = None) -> tuple[MultivariateDrift, ...]:
    """Run the multivariate methods ``multivariate`` names (True: every one in the table) on
    the feature columns of ``data`` (a mapping of column to array) against the profile's row
    sample; of a frame of more than :data:`CURRENT_ROWS` rows, on a uniform sample of them."""
    from modelops.drift.methods import multivariate_table
    from modelops.frames import categorical, numeric

    if multivariate is False or multivariate is None:
        return ()
    table = multivariate_table()
    names = _names(multivariate, table)
    if not names:
        return ()
    if profile.sample is None:
        raise InvalidInput("the reference profile keeps no rows to compare columns together "
                           "(profiles fitted before row samples were kept); fit it again",
                           field="multivariate")
    roles = {profile.target, profile.prediction}
    columns = [c for c in profile.columns if c not in roles and c in data
               and c in profile.sample]
    if not columns:
        raise InvalidInput("the frame shares no feature column with the reference",
                           field="multivariate")
    n = len(data[columns[0]])
    rows = slice(None) if n <= CURRENT_ROWS else \
        np.sort(np.random.default_rng(0).choice(n, CURRENT_ROWS, replace=False))
    reference: dict[str, np.ndarray] = {}
    current: dict[str, np.ndarray] = {}
    for c in columns:
        if profile.columns[c].kind == "numeric":
            reference[c] = np.asarray(profile.sample[c], dtype=np.float64)
            current[c] = numeric(np.asarray(data[c])[rows], c)
        else:
            reference[c] = np.array(profile.sample[c], dtype=object)
            current[c] = categorical(np.asarray(data[c])[rows])
    out = []
    for name in names:
        found = table[name].compute(reference, current, threshold)
        if not isinstance(found, MultivariateDrift):
            raise InvalidInput(f"multivariate method {name!r} returned "
                               f"{type(found).__name__}, not a MultivariateDrift",
                               field="multivariate")
        out.append(found)
    return tuple(out)
