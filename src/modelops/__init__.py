"""modelops: a model's life after the notebook, in one embeddable library.

    import modelops

    ops = modelops.connect()                      # $MODELOPS_URI, else ./.modelops
    with ops.tracking.start_run(experiment="training", name="rf-200") as run:
        run.log_params({"n_estimators": 200})
        run.log_metric("loss", 0.31, step=1)

Importing modelops is light: numpy, fsspec backends and scientific packages load only when a
feature needs them.
"""

from modelops import errors
from modelops.client import Client, connect
from modelops.entities import (
    Experiment,
    FileInfo,
    LifecycleStage,
    Metric,
    MetricSeries,
    Param,
    Run,
    RunData,
    RunInfo,
    RunStatus,
    RunTag,
    ViewType,
)
from modelops.entities import display as _display
from modelops.entities import drift as _drift_entities
from modelops.entities.datasets import Dataset
from modelops.entities.drift import ColumnDrift, DatasetProfile, DriftReport
from modelops.entities.registry import (
    Decision,
    Lineage,
    ModelVersion,
    RegisteredModel,
    RegistryEvent,
    SemVer,
    Stage,
)
from modelops.errors import (
    AlreadyExists,
    AutologWarning,
    Conflict,
    FilterSyntaxError,
    IntegrityError,
    InvalidInput,
    MissingDependency,
    ModelOpsError,
    NotFound,
    ParamConflict,
    PromotionRefused,
    StoreError,
    StoreWarning,
    UnknownScheme,
    UntrustedModel,
)
from modelops.fluent import (
    active_run,
    end_run,
    get_client,
    get_run,
    get_uri,
    load_model,
    log_artifact,
    log_artifacts,
    log_dict,
    log_figure,
    log_input,
    log_metric,
    log_metrics,
    log_param,
    log_params,
    log_text,
    search_runs,
    set_experiment,
    set_tag,
    set_tags,
    set_uri,
    start_run,
)
from modelops.hookspecs import hookimpl
from modelops.registry import display as _registry_display
from modelops.tracking import ActiveRun, RunComparison, RunList, acting_as
from modelops.tracking import results as _results

__version__ = "0.1.0"


def _draw_drift_report(report: DriftReport, path: object = None, standalone: bool = True) -> str:
    # Loaded on the first report drawn: modelops.drift needs numpy and scipy.
    from modelops.drift.report import report_to_html

    return report_to_html(report, path, standalone=standalone)  # type: ignore[arg-type]


# A value object imports nothing above it; the face gives DriftReport.to_html its renderer,
# and runs, versions and registry events their notebook tables.
_drift_entities.use_html_renderer(_draw_drift_report)
_display.use_html_renderer(Run, _results.run_html)
_display.use_html_renderer(ModelVersion, _registry_display.version_html)
_display.use_html_renderer(RegistryEvent, _registry_display.event_html)

# Data validation needs numpy; import it on first use so ``import modelops`` stays light.
_VALIDATION = ("ClassBalance", "ColumnQuality", "ColumnSchema", "InputMismatch", "Issue",
               "QualityReport", "Schema", "SplitReport", "ValidationResult", "check_quality",
               "check_split", "infer_schema", "infer_signature", "validate")


# Lifecycle automation and the training helper: likewise imported on first use.
_LAZY = {"RetrainDecision": "modelops.lifecycle", "RetrainPolicy": "modelops.lifecycle",
         "Router": "modelops.lifecycle", "run_cycle": "modelops.lifecycle",
         "TrainingResult": "modelops.training", "train": "modelops.training",
         "copy_store": "modelops.copy", "autolog": "modelops.autologging",
         "enable_system_metrics_logging": "modelops.tracking.system_metrics",
         "disable_system_metrics_logging": "modelops.tracking.system_metrics",
         "set_system_metrics_sampling_interval": "modelops.tracking.system_metrics"}
_SUBMODULES = ("lifecycle", "training", "sklearn")


def __getattr__(name: str) -> object:
    import importlib

    if name in _VALIDATION:
        import modelops.validation

        return getattr(modelops.validation, name)
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    if name in _SUBMODULES:
        return importlib.import_module(f"modelops.{name}")
    raise AttributeError(f"module 'modelops' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_VALIDATION) | set(_LAZY) | set(_SUBMODULES))

__all__ = [
    "ActiveRun",
    "AlreadyExists",
    "AutologWarning",
    "ClassBalance",
    "Client",
    "ColumnDrift",
    "ColumnQuality",
    "ColumnSchema",
    "Conflict",
    "Dataset",
    "DatasetProfile",
    "Decision",
    "DriftReport",
    "Experiment",
    "FileInfo",
    "FilterSyntaxError",
    "InputMismatch",
    "IntegrityError",
    "InvalidInput",
    "Issue",
    "LifecycleStage",
    "Lineage",
    "Metric",
    "MetricSeries",
    "MissingDependency",
    "ModelOpsError",
    "ModelVersion",
    "NotFound",
    "Param",
    "ParamConflict",
    "PromotionRefused",
    "QualityReport",
    "RegisteredModel",
    "RegistryEvent",
    "RetrainDecision",
    "RetrainPolicy",
    "Router",
    "Run",
    "RunComparison",
    "RunData",
    "RunInfo",
    "RunList",
    "RunStatus",
    "RunTag",
    "Schema",
    "SemVer",
    "SplitReport",
    "Stage",
    "StoreError",
    "StoreWarning",
    "TrainingResult",
    "UnknownScheme",
    "UntrustedModel",
    "ValidationResult",
    "ViewType",
    "__version__",
    "acting_as",
    "active_run",
    "autolog",
    "check_quality",
    "check_split",
    "connect",
    "copy_store",
    "disable_system_metrics_logging",
    "enable_system_metrics_logging",
    "end_run",
    "errors",
    "get_client",
    "get_run",
    "get_uri",
    "hookimpl",
    "infer_schema",
    "infer_signature",
    "load_model",
    "log_artifact",
    "log_artifacts",
    "log_dict",
    "log_figure",
    "log_input",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "log_text",
    "run_cycle",
    "search_runs",
    "set_experiment",
    "set_system_metrics_sampling_interval",
    "set_tag",
    "set_tags",
    "set_uri",
    "start_run",
    "train",
    "validate",
]
