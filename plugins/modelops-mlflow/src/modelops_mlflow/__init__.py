"""modelops on MLflow: ``modelops.connect("mlflow+sqlite:///mlflow.db")``.

Tracking, the model registry and drift reports live in MLflow (a database, or a tracking
server), where the MLflow UI and plain ``mlflow`` code see them; what plain MLflow code logged
and registered is readable by modelops. Predictions stay on a filesystem store::

    ops = modelops.connect("mlflow+http://127.0.0.1:5000", predictions="file:///var/mlops")

The plugin registers itself through the ``modelops`` entry-point group; nothing needs to be
imported. See docs/mlflow.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from modelops_mlflow.drift import MlflowDriftStore
    from modelops_mlflow.registry import MlflowRegistryStore
    from modelops_mlflow.tracking import MlflowTrackingStore

__version__ = "0.1.0"
__all__ = ["MlflowDriftStore", "MlflowRegistryStore", "MlflowTrackingStore", "__version__"]

_LAZY = {
    "MlflowTrackingStore": "modelops_mlflow.tracking",
    "MlflowRegistryStore": "modelops_mlflow.registry",
    "MlflowDriftStore": "modelops_mlflow.drift",
}


def __getattr__(name: str) -> Any:
    # MLflow takes over a second to import: load a store's module when it is asked for.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'modelops_mlflow' has no attribute {name!r}")
