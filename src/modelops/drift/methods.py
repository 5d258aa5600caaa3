"""The drift method table: every named test or distance, built-in or from a plugin.

``ops.drift.check(name, frame, method="psi")`` (or ``method={"income": "psi"}``) finds the
method here by name. This module is a plugin too: it offers the built-in statistics through
the ``modelops_drift_methods`` hook, exactly as a third-party plugin offers its own, and
:func:`method_table` joins what every plugin offers (plugins registered later first, so a
plugin may replace a built-in method by giving its name).

Built in (the statistics of ``modelops.drift.stats``; threshold defaults: alpha 0.05 for a
test, 0.1 for a distance):

====================  ======================  ==========================================
name                  column kinds            computed
====================  ======================  ==========================================
``ks``                numeric (and binary)    two-sample Kolmogorov-Smirnov test
``wasserstein``       numeric                 distance in reference standard deviations
``energy``            numeric                 energy distance
``anderson_darling``  numeric                 k-sample Anderson-Darling test; needs a
                                              reference that kept every value
``psi``               numeric, categorical    population stability index
``jensen_shannon``    numeric, categorical    Jensen-Shannon distance
``hellinger``         numeric, categorical    Hellinger distance
``tvd``               numeric, categorical    total variation distance
``chi2``              categorical             chi-square test of homogeneity
``z_proportion``      binary                  two-proportion z-test
====================  ======================  ==========================================

and the multivariate methods (``modelops.drift.multivariate``; ``ops.drift.check(...,
multivariate=True)``), which judge the columns together: ``reconstruction`` (PCA data
reconstruction error) and ``domain_classifier`` (a classifier telling current rows from
reference rows). The same hook offers both kinds: a ``DriftMethod`` judges one column, a
``MultivariateMethod`` a dataset.

Numeric methods compute exactly while the reference keeps every value, else on its buckets
(``modelops.drift.columns``); distances over numeric columns bin both samples by the
reference's deciles. This module imports no numpy or scipy until a method runs, because the
plugin manager loads it on the first ``connect()``.
"""

from __future__ import annotations

from typing import Any

from modelops.entities.drift import DriftMethod, MultivariateMethod, StatResult
from modelops.errors import InvalidInput
from modelops.hookspecs import hookimpl

__all__ = ["BUILTIN_METHODS", "BUILTIN_MULTIVARIATE", "CORRECTIONS", "DEFAULT_ALPHA",
           "DEFAULT_CORRECTION", "DEFAULT_DISTANCE", "DEFAULT_DRIFT_ALPHA", "DEFAULT_DRIFT_SHARE",
           "DEFAULT_MIN_EFFECT", "DEFAULT_MIN_ROWS", "DriftMethod", "MultivariateMethod",
           "method_table", "modelops_drift_methods", "multivariate_table"]

#: The alpha of a named test when the caller gives no threshold.
DEFAULT_ALPHA = 0.05
#: The threshold of a distance when the caller gives none.
DEFAULT_DISTANCE = 0.1

# The defaults of a drift verdict, shared by ``ops.drift.check``, ``modelops drift check``
# and the health rules (``HealthRules``); docs/decisions.md gives the false-alarm and
# detection rates they were chosen from (``benchmarks/bench_verdicts.py``).

#: The significance level of the auto method's tests (after the correction): on clean
#: batches of the benchmark's five populations, 0.05 flagged some column in up to 7.5 % of
#: checks (2.5-7.5 % by population and size), 0.025 in at most 3.3 %, while a 0.25 σ shift
#: of one column of 1,000 rows is still found in every population (docs/decisions.md).
DEFAULT_DRIFT_ALPHA = 0.025
#: How p-values are adjusted over the columns one check tests: Benjamini-Hochberg, whose
#: false-alarm rate on clean data is alpha for the whole check instead of alpha per column.
DEFAULT_CORRECTION = "bh"
#: The corrections a check knows ("none": each column at alpha on its own).
CORRECTIONS = ("bh", "bonferroni", "none")
#: A column with fewer non-missing current values than this is not judged.
DEFAULT_MIN_ROWS = 100
#: The dataset drifted when at least this share of the judged feature columns drifted.
DEFAULT_DRIFT_SHARE = 0.5
#: The effect an auto-checked column must also show to drift, by kind: the Wasserstein
#: distance in reference standard deviations, the change of the share of ones, the total
#: variation distance between the category shares.
DEFAULT_MIN_EFFECT = {"numeric": 0.05, "binary": 0.02, "categorical": 0.02}


def _numeric(reference: Any, current: Any) -> Any:
    from modelops.drift.columns import NumericColumn

    return NumericColumn.of(reference, current)


def _ks(reference: Any, current: Any, threshold: float | None) -> StatResult:
    return _numeric(reference, current).ks(threshold or DEFAULT_ALPHA)


def _wasserstein(reference: Any, current: Any, threshold: float | None) -> StatResult:
    return _numeric(reference, current).wasserstein(threshold or DEFAULT_DISTANCE)


def _energy(reference: Any, current: Any, threshold: float | None) -> StatResult:
    return _numeric(reference, current).energy(threshold or DEFAULT_DISTANCE)


def _anderson_darling(reference: Any, current: Any, threshold: float | None) -> StatResult:
    from modelops.drift import stats

    column = _numeric(reference, current)
    if not column.exact:
        raise InvalidInput("anderson_darling needs every reference value, which profiles keep "
                           "only up to 5,000 values; use ks", field="method")
    return stats.anderson_darling(column.reference, column.values,
                                  threshold or DEFAULT_ALPHA)


def _z_proportion(reference: Any, current: Any, threshold: float | None) -> StatResult:
    import numpy as np

    from modelops.drift import stats

    values = current[np.isfinite(current)]
    return stats.z_proportion_from_counts(round(reference.mean * reference.count),
                                          reference.count, float(values.sum()), len(values),
                                          threshold or DEFAULT_ALPHA)


def _counts(reference: Any, current: Any) -> tuple[Any, Any]:
    """Reference and current counts over the same bins: the categories, or for a numeric
    column the reference's deciles."""
    if reference.kind == "categorical":
        from modelops.drift.columns import CategoricalColumn

        column = CategoricalColumn.of(reference, current)
        return column.r, column.c
    return _numeric(reference, current).coarse_counts()


def _psi(reference: Any, current: Any, threshold: float | None) -> StatResult:
    from modelops.drift import stats

    return stats.psi_from_counts(*_counts(reference, current), threshold or DEFAULT_DISTANCE)


def _jensen_shannon(reference: Any, current: Any, threshold: float | None) -> StatResult:
    from modelops.drift import stats

    return stats.jensen_shannon_from_counts(*_counts(reference, current),
                                            threshold or DEFAULT_DISTANCE)


def _hellinger(reference: Any, current: Any, threshold: float | None) -> StatResult:
    from modelops.drift import stats

    return stats.hellinger_from_counts(*_counts(reference, current),
                                       threshold or DEFAULT_DISTANCE)


def _tvd(reference: Any, current: Any, threshold: float | None) -> StatResult:
    from modelops.drift import stats

    return stats.tvd(*_counts(reference, current), threshold or DEFAULT_DISTANCE)


def _chi2(reference: Any, current: Any, threshold: float | None) -> StatResult:
    from modelops.drift import stats

    return stats.chi2(*_counts(reference, current), threshold or DEFAULT_ALPHA)


_BOTH = ("numeric", "categorical")

#: The built-in methods, in the order they are documented.
BUILTIN_METHODS = (
    DriftMethod("ks", ("numeric",), _ks),
    DriftMethod("wasserstein", ("numeric",), _wasserstein),
    DriftMethod("energy", ("numeric",), _energy),
    DriftMethod("anderson_darling", ("numeric",), _anderson_darling),
    DriftMethod("psi", _BOTH, _psi),
    DriftMethod("jensen_shannon", _BOTH, _jensen_shannon),
    DriftMethod("hellinger", _BOTH, _hellinger),
    DriftMethod("tvd", _BOTH, _tvd),
    DriftMethod("chi2", ("categorical",), _chi2),
    DriftMethod("z_proportion", ("binary",), _z_proportion),
)


def _reconstruction(reference: Any, current: Any, threshold: float | None) -> Any:
    from modelops.drift.multivariate import reconstruction

    return reconstruction(reference, current, threshold)


def _domain_classifier(reference: Any, current: Any, threshold: float | None) -> Any:
    from modelops.drift.multivariate import domain_classifier

    return domain_classifier(reference, current, threshold)


#: The built-in multivariate methods.
BUILTIN_MULTIVARIATE = (
    MultivariateMethod("reconstruction", _reconstruction),
    MultivariateMethod("domain_classifier", _domain_classifier),
)


@hookimpl
def modelops_drift_methods() -> list[DriftMethod | MultivariateMethod]:
    """The built-in drift methods, offered the way a plugin offers its own."""
    return [*BUILTIN_METHODS, *BUILTIN_MULTIVARIATE]


def _table(kind: type) -> dict[str, Any]:
    from modelops.plugins import hook

    out: dict[str, Any] = {}
    for found in hook("modelops_drift_methods")():
        for method in found or ():
            if isinstance(method, kind):
                out.setdefault(method.name, method)
    return out


def method_table() -> dict[str, DriftMethod]:
    """Every column drift method the loaded plugins offer (this module included), by name; a
    method of a plugin registered later wins over one of the same name registered earlier."""
    return _table(DriftMethod)


def multivariate_table() -> dict[str, MultivariateMethod]:
    """Every multivariate drift method the loaded plugins offer, by name (later plugins win,
    as in :func:`method_table`)."""
    return _table(MultivariateMethod)


def is_builtin(method: DriftMethod) -> bool:
    """Whether ``method`` is one of this module's (not a plugin's)."""
    return any(method is m for m in BUILTIN_METHODS)
