"""The ``mlflow`` flavor: how modelops loads a version that plain MLflow code registered.

Such a version is an MLflow model folder (an ``MLmodel`` file and the files it names).
modelops downloads it, digests the files, and loads it with MLflow: with the model's own
scikit-learn flavor when it has one (``mlflow.sklearn``), else as a ``pyfunc`` model.
Loading an MLflow model may unpickle it, so ``trusted=False`` refuses. This flavor only
reads: modelops registers models with its own flavors.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from typing import Any

from modelops.errors import InvalidInput, UntrustedModel

_env_lock = threading.Lock()
_ALLOW = "MLFLOW_ALLOW_PICKLE_DESERIALIZATION"


@contextlib.contextmanager
def _pickles_allowed() -> Iterator[None]:
    """MLflow loads pickled models only with this variable set; the caller trusted it."""
    with _env_lock:
        before = os.environ.get(_ALLOW)
        os.environ[_ALLOW] = "true"
        try:
            yield
        finally:
            if before is None:
                os.environ.pop(_ALLOW, None)
            else:
                os.environ[_ALLOW] = before


class MlflowFlavor:
    """Loads MLflow model folders (versions registered by plain MLflow code)."""

    name = "mlflow"

    def detect(self, obj: Any) -> str | None:
        return None  # never chosen to save: it only reads what MLflow registered

    def save(self, obj: Any, directory: str) -> dict[str, Any]:
        raise InvalidInput("the mlflow flavor only loads versions that MLflow registered; "
                           "register models with a modelops flavor (joblib, skops, path)",
                           field="flavor")

    def load(self, directory: str, meta: dict[str, Any], trusted: bool) -> Any:
        if not trusted:
            raise UntrustedModel("this version is an MLflow model, and loading it may "
                                 "unpickle code; pass trusted=True if you trust its source")
        if not os.path.exists(os.path.join(directory, "MLmodel")):
            return directory  # not an MLflow model: the files themselves
        from mlflow.models import Model

        flavors = Model.load(os.path.join(directory, "MLmodel")).flavors
        with _pickles_allowed():
            if "sklearn" in flavors:
                import mlflow.sklearn

                return mlflow.sklearn.load_model(directory)
            import mlflow.pyfunc

            return mlflow.pyfunc.load_model(directory)
