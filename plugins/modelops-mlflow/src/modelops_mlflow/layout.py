"""A scikit-learn version written as an MLflow model too, so plain MLflow code loads it.

modelops stores a version's files as its flavor saved them (``model.joblib`` for the default
``joblib`` flavor, ``model.skops`` for ``skops``), with their digests. MLflow loads a model
from a folder with an ``MLmodel`` file, and reads scikit-learn models only as pickle,
cloudpickle or skops files. So when the store receives a scikit-learn version, it loads the
model once from the files being registered and writes it beside them with
``mlflow.sklearn.save_model``: ``MLmodel``, ``model.pkl`` (cloudpickle; ``model.skops`` stays
for skops versions), ``conda.yaml``, ``python_env.yaml`` and ``requirements.txt``. Then
``mlflow.sklearn.load_model("models:/fraud@production")`` and ``mlflow.pyfunc.load_model``
work (MLflow wants ``MLFLOW_ALLOW_PICKLE_DESERIALIZATION=true`` for either).

These files are MLflow's, not the version's: they carry no modelops digest, and modelops
never downloads them. Loading the registered files runs their pickle, which is what
registering the object just made; turn it off with the store option
``mlflow_model_layout=False``. A version's input signature is written as the MLflow model's
signature (MLflow's pyfunc then checks its input by it). Versions of other frameworks and
flavors are stored as they are, and MLflow sees a folder of files.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import warnings
from typing import Any

from modelops.entities.registry import ModelVersion

#: Files of an MLflow model folder; a version holding any of them is left alone.
MLFLOW_FILES = ("MLmodel", "model.pkl", "conda.yaml", "python_env.yaml", "requirements.txt")


def write_mlflow_model(version: ModelVersion, folder: str) -> bool:
    """Write the MLflow model files of a scikit-learn ``version`` into ``folder`` (which
    holds its registered files); returns whether it did."""
    if version.framework != "sklearn" or version.flavor not in ("joblib", "skops"):
        return False
    if any(os.path.exists(os.path.join(folder, name)) for name in MLFLOW_FILES):
        return False
    default = "model.joblib" if version.flavor == "joblib" else "model.skops"
    if not os.path.isfile(os.path.join(folder, dict(version.flavor_meta).get("file", default))):
        return False  # not what the flavor writes: nothing MLflow could load
    try:
        model = _load(version, folder)
        _save(model, version, folder)
    except Exception as exc:  # the version itself is fine: MLflow just sees its files
        warnings.warn(f"{version.name} {version.version}: not written as an MLflow model "
                      f"({exc!r}); modelops loads it, plain MLflow code sees its files",
                      stacklevel=3)
        return False
    return True


def _load(version: ModelVersion, folder: str) -> Any:
    meta = dict(version.flavor_meta)
    if version.flavor == "joblib":
        import joblib

        return joblib.load(os.path.join(folder, meta.get("file", "model.joblib")))
    import skops.io as sio

    path = os.path.join(folder, meta.get("file", "model.skops"))
    return sio.load(path, trusted=sio.get_untrusted_types(file=path) or None)


def _save(model: Any, version: ModelVersion, folder: str) -> None:
    import logging

    import mlflow.sklearn

    fmt = "skops" if version.flavor == "skops" else "cloudpickle"
    with tempfile.TemporaryDirectory(prefix="modelops-mlflow-model-") as tmp:
        target = os.path.join(tmp, "model")
        quiet = logging.getLogger("mlflow.sklearn")
        level = quiet.level
        quiet.setLevel(logging.ERROR)  # its pickle warning is about loading, said above
        try:
            # Naming the requirements spares MLflow inferring them (a subprocess, seconds).
            mlflow.sklearn.save_model(model, target, serialization_format=fmt,
                                      pip_requirements=_requirements(fmt),
                                      signature=mlflow_signature(version))
        finally:
            quiet.setLevel(level)
        for name in os.listdir(target):
            destination = os.path.join(folder, name)
            if os.path.exists(destination):
                continue
            shutil.move(os.path.join(target, name), destination)


#: modelops signature dtypes -> MLflow column types.
_MLFLOW_TYPES = {"float": "double", "int": "long", "bool": "boolean", "str": "string",
                 "bytes": "binary"}


def mlflow_signature(version: ModelVersion) -> Any:
    """The version's input signature as MLflow's ``ModelSignature`` (columns by name, with
    their types; a nullable column is optional), or None when it has none or holds a
    column MLflow has no type for."""
    if version.signature is None:
        return None
    from mlflow.models.signature import ModelSignature
    from mlflow.types.schema import ColSpec, Schema

    columns = []
    for column in version.signature["columns"]:
        kind = _MLFLOW_TYPES.get(column["dtype"])
        if kind is None:
            return None
        columns.append(ColSpec(kind, column["name"], required=not column.get("nullable")))
    return ModelSignature(inputs=Schema(columns))


def _requirements(fmt: str) -> list[str]:
    from importlib.metadata import version

    packages = ["scikit-learn", "skops" if fmt == "skops" else "cloudpickle"]
    return [f"{p}=={version(p)}" for p in packages]
