"""Health checks: rule functions over a monitor's window, each turning what the window shows
into issues with severities.

A check is a function ``check(window, rules) -> iterable of HealthIssue``: ``window`` is a
:class:`~modelops.monitoring.Window` (the predictions of the checked window and everything
computed from them, each once), ``rules`` the monitor's
:class:`~modelops.monitoring.HealthRules`, where each check finds its settings. The built-in
checks are :data:`BUILTIN_CHECKS`; plugins add theirs through the ``modelops_health_checks``
hook, and :func:`health_checks` is the table of both that ``Monitor.health()`` runs.

The built-in rules (settings of ``HealthRules``; defaults in brackets):

==================  ========  ==========================================================
kind                severity  when
==================  ========  ==========================================================
no_data             high      no predictions at all in the window
volume              critical  the newest ``volume_window`` [1h] has no predictions while
                              the windows before it (in the health window) had some
volume              medium    that count is outside median ± k × max(1.4826 × MAD,
                              floor × median, √median) of the windows before [k 3,
                              floor 0.1]
error_rate          high      more than ``error_rate_high`` [5 %] of predictions failed
error_rate          medium    more than ``error_rate_medium`` [1 %]
latency             medium    p99 latency above ``latency_slo_ms`` [no SLO]
degradation         high      a metric worse than the baseline by more than
                              ``degradation_threshold`` [0.05, absolute], and
                              significantly so: the drop's one-sided p-value, times
                              the number of metrics compared, below
                              ``degradation_alpha`` [0.01]
input_drift         high      the dataset drifted against the reference: at least
                              ``drift_share`` [0.5] of the judged features drifted
input_drift         medium    some features drifted, the dataset did not
prediction_drift    medium    the predictions' distribution drifted (against the
                              reference's prediction column, else the window's later
                              half against its earlier half)
target_drift        medium    the actuals' distribution drifted against the reference's
                              target column
drift_not_judged    low       no feature has ``drift_min_rows`` [100] non-missing values
                              in the window
no_feedback         low       no prediction in the window has feedback
little_feedback     low       fewer than ``min_feedback`` [30] have: not judged
no_baseline         low       no baseline metrics (none given, no registered version
                              with metrics): degradation not checked
no_reference        low       no reference profile: input drift not checked
drift_failed        low       the drift check raised (e.g. a column changed type)
==================  ========  ==========================================================

Drift is judged as one family of tests per health check — every feature, the target and
the prediction — by ``HealthRules``: a column needs ``drift_min_rows`` [100] non-missing
values in the window to be judged; its test is significant at ``drift_alpha`` [0.025] after
the ``drift_correction`` [Benjamini-Hochberg] over the family; and it must also show an
effect of ``drift_min_effect`` [0.05 σ numeric, 0.02 binary and categorical]. These are the
defaults of ``ops.drift.check`` too; docs/decisions.md gives the false-alarm and detection
rates they were chosen from.

And ``estimated_degradation``, severity ``estimated_severity`` [medium]: with fewer than
``min_feedback`` predictions with feedback, a metric estimated without labels (CBPE for a
classifier, DLE for a regressor; ``modelops.monitoring.estimated``) is worse than on the
reference it was estimated from by more than ``degradation_threshold``. The reference is the
predictions with feedback of ``estimation_reference`` [30d] before the window; windows with
fewer than ``estimation_min_rows`` [300] predictions are not estimated.

And ``multivariate_drift``, medium: no feature drifted on its own, yet a multivariate method
of the rules' ``multivariate`` [``("reconstruction",)``] found the features drifted together
against the reference profile's row sample — how they move together changed (windows of at
least ``multivariate_min_rows`` [100] predictions). When features drifted one by one,
``input_drift`` says so and this check stays quiet rather than repeat it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from modelops.entities.monitoring import HealthIssue
from modelops.metrics import higher_is_better
from modelops.monitoring.values import HealthRules
from modelops.monitoring.windows import parse_window

if TYPE_CHECKING:
    from modelops.monitoring.window import Window

#: What a health check is.
HealthCheck = Callable[["Window", HealthRules], Iterable[HealthIssue]]

__all__ = ["BUILTIN_CHECKS", "HealthCheck", "drift", "error_rate", "estimated_performance",
           "health_checks", "latency", "multivariate_drift", "no_data", "performance",
           "volume"]


def _issue(severity: str, kind: str, message: str, **details: Any) -> HealthIssue:
    return HealthIssue(severity=severity, kind=kind, message=message, details=details)


def _pct(x: float) -> str:
    return f"{x * 100:.3g}%"


def _n(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}"


def no_data(window: Window, rules: HealthRules) -> Iterator[HealthIssue]:
    """``no_data``: nothing was logged in the window."""
    if len(window) == 0:
        yield _issue("high", "no_data", f"no predictions logged in the last {window.label}")


def volume(window: Window, rules: HealthRules) -> Iterator[HealthIssue]:
    """``volume``: the newest ``volume_window`` against the ones before it in the window."""
    found = window.volume(parse_window(rules.volume_window, "volume_window"))
    if found is None or found.anomaly is None:
        return
    if found.anomaly == "zero":
        yield _issue("critical", "volume",
                     f"no predictions in the last {found.window}, against a median of "
                     f"{_n(found.median)} per {found.window} before", count=0,
                     median=found.median, lower=found.lower, upper=found.upper)
        return
    word = "below" if found.anomaly == "low" else "above"
    yield _issue("medium", "volume",
                 f"{found.count:,} predictions in the last {found.window}, far {word} the "
                 f"median of {_n(found.median)} (expected {_n(max(found.lower, 0))} to "
                 f"{_n(found.upper)})", count=found.count, median=found.median,
                 lower=found.lower, upper=found.upper, direction=found.anomaly)


def error_rate(window: Window, rules: HealthRules) -> Iterator[HealthIssue]:
    """``error_rate``: the share of failed predictions against two limits."""
    found = window.error_rate
    if not found.n or found.rate <= rules.error_rate_medium:
        return
    high = found.rate > rules.error_rate_high
    limit = rules.error_rate_high if high else rules.error_rate_medium
    yield _issue("high" if high else "medium", "error_rate",
                 f"{_pct(found.rate)} of predictions failed ({found.errors:,} of "
                 f"{found.n:,}), above {_pct(limit)}", rate=found.rate, errors=found.errors,
                 n=found.n, threshold=limit)


def latency(window: Window, rules: HealthRules) -> Iterator[HealthIssue]:
    """``latency``: p99 latency against the SLO, when there is one."""
    found = window.latency
    slo = rules.latency_slo_ms
    if slo is not None and found.n and found.p99 > slo:
        yield _issue("medium", "latency", f"p99 latency {found.p99:.4g} ms is above the SLO "
                     f"of {slo:g} ms", p99=found.p99, slo_ms=slo)


def performance(window: Window, rules: HealthRules) -> Iterator[HealthIssue]:
    """``degradation`` against the baseline, or why performance is not judged
    (``no_feedback``, ``little_feedback``, ``no_baseline``)."""
    if len(window) == 0:
        return
    n = window.performance.n
    baseline, source = window.baseline
    if n == 0:
        yield _issue("low", "no_feedback", f"no prediction of the last {window.label} has "
                     "feedback: performance is not measured")
    elif n < rules.min_feedback:
        yield _issue("low", "little_feedback", f"only {n} predictions of the last "
                     f"{window.label} have feedback (fewer than {rules.min_feedback}): "
                     "performance is not judged", n=n, min_feedback=rules.min_feedback)
    elif baseline is None:
        yield _issue("low", "no_baseline", f"no baseline metrics ({source}): degradation is "
                     "not checked", reason=source)
    else:
        found = window.degradation(rules)
        worse = [c for c in found.changes if c.degraded] if found is not None else []
        if worse:
            parts = [f"{c.metric} {c.current:.4g} against {c.baseline:.4g} (worse by "
                     f"{c.worse_by:.3g}, threshold {c.threshold:g}"
                     + (f", p={c.pvalue:.2g} × {found.tests} metrics < {found.alpha:g}"
                        if c.pvalue is not None and found.alpha is not None else "") + ")"
                     for c in worse]
            yield _issue("high", "degradation", f"performance degraded against {source} on "
                         f"{n:,} predictions with feedback: " + "; ".join(parts),
                         baseline_source=source, n=n, alpha=found.alpha, tests=found.tests,
                         metrics={c.metric: {"baseline": c.baseline, "current": c.current,
                                             "worse_by": c.worse_by,
                                             "threshold": c.threshold,
                                             "standard_error": c.standard_error,
                                             "pvalue": c.pvalue}
                                  for c in worse})


def estimated_performance(window: Window, rules: HealthRules) -> Iterator[HealthIssue]:
    """``estimated_degradation``: while feedback is missing, the metrics estimated without
    labels against those realised on the reference they were estimated from."""
    if len(window) == 0 or window.performance.n >= rules.min_feedback:
        return
    found, _why = window.estimated
    if found is None:
        return
    worse = []
    for metric, values in found.estimates.items():
        estimate, base = values[-1], found.reference_metrics.get(metric)
        if base is None or not math.isfinite(estimate.value):
            continue
        by = base - estimate.value if higher_is_better(metric) else estimate.value - base
        if by > rules.threshold_of(metric):
            worse.append((metric, estimate, base, by))
    if worse:
        parts = [f"{m} {e.value:.4g} (band {e.lower:.4g} to {e.upper:.4g}) against "
                 f"{b:.4g} on the reference (worse by {by:.3g})" for m, e, b, by in worse]
        yield _issue(rules.estimated_severity, "estimated_degradation",
                     f"estimated without labels ({found.estimator}), performance degraded: "
                     + "; ".join(parts), estimator=found.estimator, reference=found.reference,
                     n_reference=found.n_reference,
                     metrics={m: {"estimate": e.value, "lower": e.lower, "upper": e.upper,
                                  "reference": b, "worse_by": by,
                                  "threshold": rules.threshold_of(m)}
                              for m, e, b, by in worse})


def drift(window: Window, rules: HealthRules) -> Iterator[HealthIssue]:
    """``input_drift``, ``prediction_drift`` and ``target_drift``, or why drift is not checked
    (``no_reference``, ``drift_not_judged``, ``drift_failed``). Every issue says the rules it
    was judged by (``HealthRules.drift_*``) in its message and in ``details["rules"]``."""
    if len(window) == 0:
        return
    found = window.drift
    if window.drift_error is not None:
        yield _issue("low", "drift_failed", f"the drift check failed: {window.drift_error}",
                     error=window.drift_error)
        return
    report = found.report
    how = rules.drift_rule_text()
    judged_by = _drift_rules(rules, found)
    if found.reference_id is None:
        yield _issue("low", "no_reference", f"no reference profile for "
                     f"{window.monitor.model!r}: input drift is not checked (fit one with "
                     "ops.drift.fit_reference)")
    elif report is not None and report.columns:
        judged = report.judged_columns
        drifted = list(report.drifted_columns)
        n = len(judged)
        shown = ", ".join(drifted[:10]) + (f" and {len(drifted) - 10} more"
                                           if len(drifted) > 10 else "")
        if not judged:
            yield _issue("low", "drift_not_judged", f"input drift not judged: no feature has "
                         f"{rules.drift_min_rows:,} non-missing values in the last "
                         f"{window.label} ({len(window):,} predictions) [{how}]",
                         n=len(window), rules=judged_by, reference_id=found.reference_id)
        elif report.drifted:
            yield _issue("high", "input_drift", f"input drift: {len(drifted)} of {n} features "
                         f"drifted ({_pct(report.share)}): {shown} [{how}]",
                         share=report.share, columns=drifted, judged=n, rules=judged_by,
                         reference_id=found.reference_id)
        elif drifted:
            yield _issue("medium", "input_drift", f"{len(drifted)} of {n} features drifted: "
                         f"{shown} (the dataset as a whole did not, share "
                         f"{_pct(report.share)}) [{how}]", share=report.share,
                         columns=drifted, judged=n, rules=judged_by,
                         reference_id=found.reference_id)
    if found.prediction is not None and found.prediction.drifted:
        c = found.prediction
        yield _issue("medium", "prediction_drift", f"the predictions drifted against the "
                     f"{found.prediction_against}: {c.method} statistic {c.statistic:.3g}"
                     + (f", p={c.pvalue:.3g}" if c.pvalue is not None else "")
                     + (f", effect {c.effect:.3g}" if c.effect is not None else "")
                     + f" [{how}]", against=found.prediction_against, method=c.method,
                     statistic=c.statistic, pvalue=c.pvalue, effect=c.effect, rules=judged_by)
    if report is not None and report.target is not None and report.target.drifted:
        c = report.target
        yield _issue("medium", "target_drift", f"the actuals ({c.column}) drifted against the "
                     f"reference: {c.method} statistic {c.statistic:.3g}"
                     + (f", p={c.pvalue:.3g}" if c.pvalue is not None else "") + f" [{how}]",
                     method=c.method, statistic=c.statistic, pvalue=c.pvalue, effect=c.effect,
                     rules=judged_by)


def _drift_rules(rules: HealthRules, found: Any) -> dict[str, Any]:
    """The drift rules as issue details: the settings, and how many tests shared alpha."""
    report = found.report
    family = [] if report is None else [*report.columns, report.target]
    family.append(found.prediction)
    tests = sum(1 for c in family if c is not None and c.judged and c.pvalue is not None)
    options = rules.drift_options()
    return {"alpha": options["threshold"], "correction": options["correction"],
            "tests": tests, "min_rows": options["min_rows"],
            "min_effect": options["min_effect"], "drift_share": options["drift_share"]}


def multivariate_drift(window: Window, rules: HealthRules) -> Iterator[HealthIssue]:
    """``multivariate_drift``: the features drifted together (``modelops.drift.multivariate``)
    while none drifted alone, which a column-by-column check cannot see."""
    if len(window) < rules.multivariate_min_rows or not rules.multivariate or \
            window.drift.drifted_columns:
        return
    found, _why = window.multivariate
    for result in found:
        if result.drifted:
            top = ", ".join(f"{c} ({share:.0%})" for c, share in result.explanation[:3])
            yield _issue("medium", "multivariate_drift",
                         f"the features drifted together ({result.method}): {result.reason}",
                         method=result.method, statistic=result.statistic,
                         expected=result.expected, lower=result.lower, upper=result.upper,
                         pvalue=result.pvalue, columns=[c for c, _ in result.explanation],
                         explanation=top)


#: The built-in checks, in the order their issues are listed (most severe first after that).
BUILTIN_CHECKS: tuple[HealthCheck, ...] = (no_data, volume, error_rate, latency, performance,
                                           estimated_performance, drift, multivariate_drift)


def health_checks() -> tuple[HealthCheck, ...]:
    """The built-in checks, then those of plugins (``modelops_health_checks``), in the order
    the plugins were registered."""
    from modelops.plugins import hook

    extra = [check for found in reversed(hook("modelops_health_checks")())
             for check in found or ()]
    return (*BUILTIN_CHECKS, *extra)
