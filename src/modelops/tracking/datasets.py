"""Datasets logged with a run (``run.log_input``): how they are described, stored and read.

A logged dataset is two artifacts of its run, under ``modelops-datasets/<name>/``:
``profile.json``, the drift reference profile of the frame (``modelops.drift.profile``, the
profile ``ops.drift.fit_reference`` stores), written first, then ``dataset.json``, the
``Dataset`` record. A dataset is listed once its record is there, so a crash between the two
writes leaves nothing half-logged. Being artifacts, they go wherever the run's artifacts go,
on every tracking store; a store may also record the dataset in its own form in between
(``TrackingStore.mirror_dataset``: the MLflow backend logs it as an MLflow run input).

The digest is the sha256 of the frame's content in row order: its column names, each
column's dtype and its values (numbers by their bytes, NaN made one value; anything else by
its text, with None and NaN as missing). The same rows in another order are another dataset,
as in MLflow, whose digest hashes the frame's rows in order too: the order a model saw its
data in can change what it learned.

Everything read back is untrusted: the record's fields are validated, its name and run must
be those asked for, and the profile must describe the record's rows and columns
(``IntegrityError`` naming the artifact otherwise).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
from typing import Any

import attrs
import numpy as np

from modelops._ids import now_ms
from modelops._json import loads
from modelops.entities.datasets import (  # noqa: F401 - parse_uri is this module's too
    Dataset,
    dataset_from_data,
    dataset_to_data,
    parse_uri,
)
from modelops.entities.validators import check_key, check_name
from modelops.errors import Conflict, IntegrityError, InvalidInput, NotFound

#: The run's artifact folder holding its datasets.
FOLDER = "modelops-datasets"
RECORD = "dataset.json"
PROFILE = "profile.json"
_FORMAT = 1
_DECODE_ERRORS = (TypeError, ValueError, KeyError, AttributeError, IndexError)


def digest(columns: dict[str, np.ndarray]) -> str:
    """The sha256 of a frame's columns (``modelops.frames.to_columns``), in row order."""
    h = hashlib.sha256()
    for name, values in columns.items():
        encoded = name.encode()
        h.update(len(encoded).to_bytes(8, "little") + encoded)
        h.update(values.dtype.str.encode() + b"\x00")
        if values.dtype.kind in "biufcmM":
            data = np.ascontiguousarray(values)
            if data.dtype.kind in "fc":          # every NaN the same bytes
                data = np.where(np.isnan(data), np.nan, data)
            h.update(data.tobytes())
        else:
            for value in values.tolist():
                if value is None or (isinstance(value, float) and math.isnan(value)) or \
                        type(value).__name__ == "NAType":
                    h.update(b"\x00")
                else:
                    text = (value if isinstance(value, str) else repr(value)).encode()
                    h.update(b"\x01" + len(text).to_bytes(8, "little") + text)
    return h.hexdigest()


def describe(frame: Any, *, name: str, source: str | None, context: str,
             target: str | None = None, categorical: Any = None) -> tuple[Dataset, Any]:
    """The ``Dataset`` record (without a run) and drift profile of a frame."""
    from modelops.drift.profile import profile_frame
    from modelops.frames import to_columns
    from modelops.validation import infer_signature

    check_name(name, "name")
    check_key(context, "context")
    columns = to_columns(frame)
    if not columns:
        raise InvalidInput("the frame has no columns", field="frame")
    profile = profile_frame(name, columns, categorical=categorical, target=target)
    if profile.rows == 0:
        raise InvalidInput("the frame has no rows", field="frame")
    schema = infer_signature(columns, categorical).to_dict()
    record = Dataset(name=name, digest=digest(columns), rows=profile.rows, context=context,
                     source=source, schema=schema)
    return record, profile


def log_input(run: Any, store: Any, frame: Any, *, name: str, source: str | None,
              context: str, target: str | None = None, categorical: Any = None) -> Dataset:
    """Describe ``frame`` and store it with ``run`` (an ActiveRun); see the module docstring.

    A name is logged once per run: the same content again returns the stored record, other
    content is a ``Conflict``."""
    from modelops.entities.drift_codec import profile_to_data

    record, profile = describe(frame, name=name, source=source, context=context,
                               target=target, categorical=categorical)
    known = {d.name: d for d in read_inputs(store, run.run_id)}.get(name)
    if known is not None:
        if (known.digest, known.context, known.source) == \
                (record.digest, record.context, record.source):
            return known
        raise Conflict(f"run {run.run_id} already logged a dataset {name!r} (digest "
                       f"{known.digest[:12]}…, context {known.context!r}); log this one "
                       "under another name")
    record = attrs.evolve(record, run_id=run.run_id, logged_time=now_ms())
    folder = f"{FOLDER}/{name}"
    store.write_artifact(run.run_id, json.dumps(profile_to_data(profile)).encode(),
                         f"{folder}/{PROFILE}")
    store.mirror_dataset(run.run_id, record)
    data = {"format": _FORMAT, **dataset_to_data(record)}
    store.write_artifact(run.run_id, json.dumps(data, indent=1).encode(), f"{folder}/{RECORD}")
    return record


def _read_json(store: Any, run_id: str, path: str) -> Any:
    with tempfile.TemporaryDirectory(prefix="modelops-dataset-") as tmp:
        local = store.download_artifact(run_id, path, tmp)
        if not os.path.isfile(local):
            raise IntegrityError(f"run {run_id}'s artifact {path!r} is not a file")
        with open(local, "rb") as f:
            raw = f.read()
    try:
        return loads(raw)
    except ValueError as exc:  # bad UTF-8 included
        raise IntegrityError(f"run {run_id}'s artifact {path!r} is not JSON ({exc})") from None


def read_record(store: Any, run_id: str, name: str) -> Dataset:
    """The dataset ``name`` run ``run_id`` logged, validated; ``NotFound`` if none."""
    check_name(name, "name")
    path = f"{FOLDER}/{name}/{RECORD}"
    try:
        data = _read_json(store, run_id, path)
    except NotFound:
        raise NotFound(f"run {run_id} logged no dataset {name!r}") from None
    try:
        if not isinstance(data, dict) or data.get("format") != _FORMAT:
            raise ValueError(f"expected a format-{_FORMAT} object")
        record = dataset_from_data({k: v for k, v in data.items() if k != "format"})
        if record.name != name or record.run_id != run_id or record.schema is None:
            raise ValueError(f"it names dataset {record.name!r} of run {record.run_id!r}")
    except _DECODE_ERRORS as exc:
        raise IntegrityError(f"run {run_id}'s artifact {path!r} is not a dataset record "
                             f"({type(exc).__name__}: {exc})") from None
    return record


def read_inputs(store: Any, run_id: str) -> list[Dataset]:
    """Every dataset the run logged, in the order logged (a folder without a record, left
    by a crash mid-log, is not one)."""
    try:
        entries = store.list_artifacts(run_id, FOLDER)
    except NotFound:
        return []
    out = []
    for entry in entries:
        if not entry.is_dir:
            continue
        name = entry.path.rsplit("/", 1)[-1]
        try:
            out.append(read_record(store, run_id, name))
        except NotFound:
            continue
        except InvalidInput as exc:   # a folder name no dataset could have
            raise IntegrityError(f"run {run_id}'s artifacts hold {entry.path!r}, not a "
                                 f"dataset folder ({exc})") from None
    return sorted(out, key=lambda d: (d.logged_time, d.name))


def read_profile(store: Any, record: Dataset) -> Any:
    """The drift profile stored with a dataset record, checked against the record."""
    from modelops.entities.drift_codec import profile_from_data

    path = f"{FOLDER}/{record.name}/{PROFILE}"
    try:
        data = _read_json(store, record.run_id, path)
    except NotFound:
        raise IntegrityError(f"run {record.run_id}'s dataset {record.name!r} has no "
                             f"{PROFILE}") from None
    try:
        profile = profile_from_data(data)
        if profile.rows != record.rows or list(profile.columns) != record.columns:
            raise ValueError(f"it describes {profile.rows} rows of columns "
                             f"{list(profile.columns)[:5]}, not the record's {record.rows} "
                             f"rows of {record.columns[:5]}")
    except _DECODE_ERRORS as exc:
        raise IntegrityError(f"run {record.run_id}'s artifact {path!r} is not the dataset's "
                             f"profile ({type(exc).__name__}: {exc})") from None
    return profile


def one_column(values: Any) -> Any:
    """``values`` as an array; a one-column frame or matrix (``train[["quality"]]``, as
    MLflow's wine tutorial fits on) as its column."""
    array = np.asarray(values.to_numpy() if hasattr(values, "to_numpy") else values)
    return array[:, 0] if array.ndim == 2 and array.shape[1] == 1 else array


def training_frame(X: Any, y: Any) -> tuple[dict[str, Any], str | None]:
    """``X``'s columns and ``y`` (as ``y``'s name, else ``target``) as one frame, and the
    target's column (None when ``y`` is absent or not one value per row)."""
    from modelops.frames import to_columns

    columns = to_columns(X)
    if y is None:
        return columns, None
    values = one_column(y)
    if values.ndim != 1 or len(values) != len(next(iter(columns.values()), ())):
        return columns, None
    named = list(y.columns) if hasattr(y, "columns") else None   # a one-column frame
    name = str(named[0] if named else getattr(y, "name", None) or "target")
    while name in columns:
        name = f"{name}_"
    return {**columns, name: values}, name


def log_training_data(run: Any, X: Any, y: Any, name: str = "training") -> Any:
    """Log ``X`` and ``y`` as the run's dataset ``name`` (also its context: ``training``,
    ``evaluation``); another frame already logged under that name in this run leaves it be,
    and this one is ``<name>-<digest>``."""
    from modelops.frames import to_columns

    frame, target = training_frame(X, y)
    try:
        return run.log_input(frame, name, context=name, target=target)
    except Conflict:
        return run.log_input(frame, f"{name}-{digest(to_columns(frame))[:8]}",
                             context=name, target=target)
