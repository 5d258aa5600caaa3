"""Every hook a modelops plugin can implement.

A plugin is a module or object with functions named like these hooks and marked with
``modelops.hookimpl``; it is registered through the ``modelops`` entry-point group::

    [project.entry-points.modelops]
    myplugin = "my_package.modelops_plugin"

    # the hooks it implements: only they import it (one that declares none is imported by
    # any hook)
    [project.entry-points."modelops.hooks"]
    modelops_run_finished = "my_package.modelops_plugin"

modelops's own backends are plugins registered the same way (see ``modelops.plugins``).
Hooks are called with keyword arguments; an implementation may accept fewer arguments than
the spec names. ``docs/plugins.md`` has a runnable example of each hook.

Store factories (``firstresult``: the first implementation that returns a store wins; plugins
registered later are asked first, so an installed plugin can take over a built-in scheme):
``modelops_tracking_store``, ``modelops_registry_store``, ``modelops_drift_store``,
``modelops_prediction_store``.

Discovery and extension points (every implementation is called, results joined):
``modelops_schemes``, ``modelops_model_flavors``, ``modelops_drift_methods``,
``modelops_health_checks``, ``modelops_metrics``, ``modelops_estimators``,
``modelops_cli_commands``.

Events (every implementation is called; an exception in one is reported as a warning and
does not stop the caller): ``modelops_run_finished``, ``modelops_version_registered``,
``modelops_stage_changed``, ``modelops_drift_detected``, ``modelops_alert_raised``,
``modelops_predictions_written``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from modelops.entities import Run
    from modelops.entities.drift import DriftMethod, DriftReport, MultivariateMethod
    from modelops.entities.estimation import Estimator
    from modelops.entities.metrics import MetricSpec
    from modelops.entities.monitoring import Alert, HealthIssue
    from modelops.entities.registry import Flavor, ModelVersion, RegistryEvent
    from modelops.stores import DriftStore, PredictionStore, RegistryStore, TrackingStore
    from modelops.uri import StoreURI

PROJECT = "modelops"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec(firstresult=True)
def modelops_tracking_store(uri: StoreURI) -> TrackingStore | None:
    """Open a TrackingStore for ``uri``, or return None if this plugin does not serve it.

    :param uri: the parsed URI (``uri.scheme``, ``uri.path``, ``uri.options`` holding the
        ``storage_options`` given to ``connect``).
    :return: a store, or None to let other plugins answer. Raise ``InvalidInput`` for a URI
        of your scheme that is malformed, ``MissingDependency`` when a package is missing.
    """


@hookspec(firstresult=True)
def modelops_registry_store(uri: StoreURI) -> RegistryStore | None:
    """Open a RegistryStore for ``uri``, or return None. Same contract as
    ``modelops_tracking_store``."""


@hookspec(firstresult=True)
def modelops_drift_store(uri: StoreURI) -> DriftStore | None:
    """Open a DriftStore for ``uri``, or return None. Same contract as
    ``modelops_tracking_store``."""


@hookspec(firstresult=True)
def modelops_prediction_store(uri: StoreURI) -> PredictionStore | None:
    """Open a PredictionStore for ``uri``, or return None. Same contract as
    ``modelops_tracking_store``."""


@hookspec
def modelops_schemes() -> list[str]:
    """The URI schemes this plugin serves (``["s3", "s3a"]``).

    Used to list what is available when a URI's scheme is unknown, and by
    ``modelops plugins``. Every implementation is called; the lists are joined.
    """


@hookspec
def modelops_run_finished(run: Run, store_uri: str) -> None:
    """A run ended (FINISHED, FAILED or KILLED) and everything it logged was flushed.

    :param run: the run as stored, with its final status, metrics, params and tags.
    :param store_uri: the URI of the tracking store that holds it.

    Called in the thread that ended the run; keep it quick (queue slow work).
    """


@hookspec
def modelops_model_flavors() -> list[Flavor]:
    """Model flavors (serializers) this plugin adds to the registry.

    A flavor has a ``name``, ``detect(obj) -> str | None`` (the framework name if it can save
    ``obj``, else None), ``save(obj, directory) -> dict`` (writes files, returns metadata kept
    with the version) and ``load(directory, meta, trusted) -> object``. See
    ``modelops.entities.registry.Flavor``. Flavors of later plugins are tried first when a
    model's flavor is not named.
    """


@hookspec
def modelops_version_registered(version: ModelVersion, store_uri: str) -> None:
    """A model version was registered: its files are stored and its digests recorded.

    :param version: the version as registered (stage ``development``).
    :param store_uri: the URI of the registry store that holds it.
    """


@hookspec
def modelops_stage_changed(event: RegistryEvent, store_uri: str) -> None:
    """A model's stages or aliases changed (promotion, rollback, archive, alias set/removed).

    :param event: the event as appended to the model's history; ``event.changes`` lists
        each version whose stage or alias changed, from what to what.
    :param store_uri: the URI of the registry store.
    """


@hookspec
def modelops_drift_methods() -> list[DriftMethod | MultivariateMethod]:
    """Drift tests, usable by name in ``ops.drift.check(..., method=...)``: the drift method
    table (``modelops.drift.methods.method_table``) joins every plugin's.

    The built-in statistics come through this hook too (``modelops.drift.methods`` is a
    built-in plugin); a method of a plugin registered later replaces one of the same name.

    A ``modelops.drift.DriftMethod`` (defined in ``modelops.entities.drift``) has a ``name``,
    the column ``kinds`` it applies to (``"numeric"``, ``"binary"``, ``"categorical"``) and
    ``compute(reference, current, threshold) -> StatResult``, where ``reference`` is the
    column's profile (``NumericProfile``: moments, buckets, and every value while there are at
    most 5,000; ``CategoricalProfile``: counts per category) and ``current`` the current values
    as a numpy array (float64 for numeric columns, strings or None for categorical ones).

    A ``modelops.drift.MultivariateMethod(name, compute)`` judges the columns together, usable
    by name in ``ops.drift.check(..., multivariate=[...])`` and health's ``multivariate``
    rule (``modelops.drift.methods.multivariate_table``): ``compute(reference, current,
    threshold) -> MultivariateDrift`` gets the reference profile's row sample and the current
    rows, each a mapping of feature column to numpy array. The built-in ``reconstruction``
    and ``domain_classifier`` come through this hook too.
    """


@hookspec
def modelops_metrics() -> list[MetricSpec]:
    """Model-quality metrics for the metric table (``modelops.metrics.metric_table``), usable
    by name in promotion rules, ``Monitor.performance``/``trend``/``degradation`` and
    ``modelops.train``.

    A ``modelops.metrics.MetricSpec`` (defined in ``modelops.entities.metrics``) has a
    canonical ``name``, ``compute(y_true, y_pred, score) -> float``, the ``task`` it applies
    to (``"classification"`` or ``"regression"``), ``higher_is_better``, other spellings in
    ``aliases`` and what ``score`` it ``needs`` (None, ``"score"`` or ``"probability"``).
    The built-in metrics come through this hook too (``modelops.metrics.builtin``); a metric
    of a plugin registered later replaces one of the same name.
    """


@hookspec
def modelops_estimators() -> list[Estimator]:
    """Performance estimators for the estimator table
    (``modelops.estimation.estimator_table``), usable by name in
    ``Monitor.estimated_performance(estimator=...)`` and ``fit_estimator(estimator=...)``.

    A ``modelops.estimation.Estimator`` (defined in ``modelops.entities.estimation``) has a
    ``name``, the ``task`` it estimates (``"classification"`` or ``"regression"``), the
    ``metrics`` it estimates (canonical names of the metric table) and
    ``fit(reference) -> fitted``: ``reference`` is an ``EstimationData`` (predictions, scores,
    classes, features and actuals as numpy arrays); ``fitted`` has ``estimate(data) ->
    {metric: MetricEstimate}`` (value and band), ``reference_metrics`` (realised on the
    reference) and ``notes`` (plain data saying what fitting decided). The built-in CBPE and
    DLE come through this hook too (``modelops.estimation.builtin``); an estimator of a plugin
    registered later replaces one of the same name.
    """


@hookspec
def modelops_cli_commands(groups: Any) -> None:
    """Add command groups to the ``modelops`` command line.

    :param groups: the ``argparse`` sub-parsers action of the top-level parser: call
        ``groups.add_parser("serve", help=...)``, add its options, and
        ``set_defaults(handler=fn)``; ``fn(args)`` runs the command, with the global
        ``args.uri`` (None: the default store) and ``args.utc`` beside the command's own
        options. A ``modelops.ModelOpsError`` it raises is printed as one line and exits 1;
        set ``reads=True`` in the defaults for a command that must refuse a local store that
        does not exist.

    The built-in groups (``experiments``, ``runs``, ``models`` …) are added through this hook
    too, first; a plugin's group name must not repeat one (argparse refuses it). Called once
    per ``modelops`` invocation, so import heavy modules inside the handler, not here.
    """


@hookspec
def modelops_drift_detected(report: DriftReport, store_uri: str) -> None:
    """A drift check found the dataset drifted (the share of drifted columns reached the
    report's ``drift_share``), or its target or prediction drifted.

    :param report: the stored ``DriftReport``; ``report.drifted_columns`` names the columns.
    :param store_uri: the URI of the drift store that holds it.
    """


@hookspec
def modelops_health_checks() -> list[Callable[[Any, Any], Iterable[HealthIssue]]]:
    """Health checks to run after the built-in ones in every ``Monitor.health()`` and
    ``report()`` (the health-check table: ``modelops.monitoring.checks.health_checks``).

    A check is a function ``check(window, rules)`` returning (or yielding) the
    ``HealthIssue`` objects it found, none when all is well. ``window`` is a
    ``modelops.monitoring.Window``: the predictions of the checked window (``window.table``)
    and what is computed from them, each once (``performance``, ``error_rate``, ``latency``,
    ``drift``, ``baseline``, ``volume(step)`` …), with ``window.monitor`` the monitor.
    ``rules`` is the monitor's ``HealthRules``; a plugin's own settings are in
    ``rules.extra`` (``ops.monitor("fraud", extra={...})``). Issues at or above the rules'
    ``alert_at`` raise alerts like the built-in ones. Checks of plugins registered earlier run
    first.
    """


@hookspec
def modelops_alert_raised(alert: Alert, store_uri: str) -> None:
    """A health check found an issue at or above the monitor's ``alert_at`` severity
    (``"high"`` by default: ``high`` and ``critical`` issues).

    :param alert: a ``modelops.monitoring.Alert`` (defined in
        ``modelops.entities.monitoring``): ``model`` and ``version`` (None when every
        version is monitored), ``severity`` (``"critical"``, ``"high"``, ``"medium"`` or
        ``"low"``), ``kind`` (``"degradation"``, ``"input_drift"``, ``"volume"``,
        ``"error_rate"`` …), a human-readable ``message``, ``details`` (plain JSON-able data:
        the numbers behind the finding) and ``raised_at`` (Unix ms, the end of the window
        checked).
    :param store_uri: the URI of the prediction store the window was read from.

    Called once per issue in each ``Monitor.health()`` call (not by ``report()``), in the
    thread that ran it; the same condition seen by the next check is raised again, so
    deduplicate or rate-limit in the plugin. Keep it quick (queue slow work such as webhooks).
    """


@hookspec
def modelops_predictions_written(model: str, version: str | None, kind: str,
                                 records: Sequence[str], table: Any, store_uri: str) -> None:
    """A prediction logger stored a part of records (or ``ops.predictions.feedback`` stored
    one piece of feedback).

    :param model: the model's name.
    :param version: the logger's version (None for a logger without one, and for direct
        feedback).
    :param kind: ``"predictions"`` or ``"feedback"``.
    :param records: the records just stored, one JSON object per string, with the fields
        documented in ``docs/predictions.md`` (predictions: ``id``, ``ts``, ``version``,
        ``prediction``, ``probability``, ``latency_ms``, ``features``, ``metadata``;
        feedback: ``id``, ``ts``, ``actual``). Parse only what you need. Of a Parquet part
        each record is encoded on first use: read ``table`` instead.
    :param table: the records as a ``pyarrow.Table`` with the same fields (``features`` a
        struct) when the logger wrote them as a Parquet part — rows it was given as columns
        (``log_columns``), never encoded as JSON; else None. Compute with Arrow or numpy on
        its columns rather than a loop over ``records``.
    :param store_uri: the URI of the prediction store.

    Called once per part, after it is stored, in the logger's background writer thread (so
    never on the serving path); keep it quick. Metrics exporters count and measure here.
    """
