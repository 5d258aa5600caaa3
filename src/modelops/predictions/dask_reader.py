"""Logged predictions as a Dask DataFrame: ``ops.predictions.read(..., engine="dask")``.

One partition per stored part that meets the window (the parts the in-process read would
read, pruned by day and by each part's time range), each read on a worker by the same reader
as in-process, so a partition has the columns and dtypes of ``PredictionTable.to_pandas()``
for its rows. A Dask DataFrame has one set of columns: those of the first part in the window
(read whole on the client to learn them); a feature that first appears in a later part is
not among them — read such a window in-process.

Feedback is joined the same way — the latest feedback of each id, logged on the day of
``since`` or later — by Dask: the feedback parts are read as partitions too, shuffled by id,
the newest of each id kept, and merged into the predictions on ``id`` (a left join). Unlike
the in-process read, the rows of the result are not in their logged order (a merge shuffles
them); aggregates are the same. A part compacted while the frame is computed fails the
computation with ``PartsChanged`` (a ``Conflict``): read again.

Workers open the store from its URI (``modelops.connect(uri)``, once per process), so they
need the store's plugin and credentials — on S3, the same environment as the client. A
``memory://`` store is visible only to workers in the client's process
(``LocalCluster(processes=False)``). Needs ``modelops[dask]``.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any

import numpy as np

from modelops.errors import MissingDependency
from modelops.predictions.reader import (
    _empty,
    read_feedback_part,
    read_part_window,
    window_parts,
)
from modelops.stores import PredictionStore
from modelops.stores.predictions import Part

_stores: dict[str, PredictionStore] = {}
_lock = threading.Lock()

#: The columns of the feedback joined to the predictions, as ``PredictionTable.to_pandas``.
FEEDBACK_COLUMNS = ("actual", "feedback_timestamp")


def _store(uri: str) -> PredictionStore:
    """The prediction store at ``uri``, opened once per process (on a worker)."""
    with _lock:
        if uri not in _stores:
            from modelops.plugins import open_store
            from modelops.uri import parse_uri

            _stores[uri] = open_store("predictions", parse_uri(uri))
        return _stores[uri]


class _Predictions:
    """Reads one prediction part's rows of the window as a pandas DataFrame (picklable:
    what it holds is plain data)."""

    def __init__(self, uri: str, model: str, version: str | None, since: int | None,
                 until: int | None, batch_bytes: int | None) -> None:
        self.uri, self.model, self.version = uri, model, version
        self.since, self.until, self.batch_bytes = since, until, batch_bytes
        #: The frame's columns and dtypes (an empty frame), set before it is computed.
        self.meta: Any = None

    def frame(self, part: Part, window: bool = True) -> Any:
        """The part's rows (of the window and version, unless ``window`` is False)."""
        table = read_part_window(_store(self.uri), self.model, part,
                                 version=self.version if window else None,
                                 since=self.since if window else None,
                                 until=self.until if window else None,
                                 batch_bytes=self.batch_bytes)
        return table.to_pandas().drop(columns=list(FEEDBACK_COLUMNS))

    def __call__(self, part: Part) -> Any:
        frame = self.frame(part)
        return frame if self.meta is None else _conform(frame, self.meta)


def _conform(frame: Any, meta: Any) -> Any:
    """A partition with the frame's columns in their order and, where its values allow, their
    dtypes (a part with no rows of the window has no feature columns of its own)."""
    out = frame.reindex(columns=meta.columns)
    for column, dtype in meta.dtypes.items():
        if out[column].dtype != dtype:
            # Kept as read if the first part's type cannot hold the values.
            with contextlib.suppress(TypeError, ValueError):
                out[column] = out[column].astype(dtype)
    return out


class _Feedback:
    """Reads one feedback part as a pandas DataFrame of id, feedback_timestamp, actual."""

    def __init__(self, uri: str, model: str) -> None:
        self.uri, self.model = uri, model

    def __call__(self, part: Part) -> Any:
        import pandas as pd

        ids, stamps, actuals = read_feedback_part(_store(self.uri), self.model, part)
        return pd.DataFrame({"id": ids, "actual": actuals, "feedback_timestamp": stamps})


def _latest(frame: Any) -> Any:
    """The newest feedback of each id in a partition that holds all of that id's."""
    return frame.sort_values("feedback_timestamp", kind="stable").drop_duplicates(
        "id", keep="last")


def read_dask(store: PredictionStore, model: str, *, version: str | None = None,
              since: int | None = None, until: int | None = None,
              with_feedback: bool = True, batch_bytes: int | None = None) -> Any:
    """The predictions of ``model`` in ``[since, until)`` (of ``version``) as a Dask
    DataFrame, joined to their latest feedback (see the module docstring)."""
    try:
        import dask.dataframe as dd
    except ImportError:
        raise MissingDependency("reading predictions as a Dask DataFrame", "dask") from None
    import dask


    # Strings stay as pandas makes them (its str dtype), as in the in-process read's
    # to_pandas(), not converted to Arrow-backed strings.
    with dask.config.set({"dataframe.convert-string": False}):
        return _read_dask(dd, store, model, version, since, until, with_feedback, batch_bytes)


def _read_dask(dd: Any, store: PredictionStore, model: str, version: str | None,
               since: int | None, until: int | None, with_feedback: bool,
               batch_bytes: int | None) -> Any:
    parts = window_parts(store, model, "predictions", since, until)
    reader = _Predictions(store.uri, model, version, since, until, batch_bytes)
    if parts:
        # The columns are those of the first part in the window, read whole.
        reader.meta = reader.frame(parts[0], window=False).iloc[:0]
        frame = dd.from_map(reader, parts, meta=reader.meta, label="modelops-predictions")
    else:
        empty = _empty().to_pandas().drop(columns=list(FEEDBACK_COLUMNS))
        frame = dd.from_pandas(empty, npartitions=1)
    if not with_feedback:  # the columns are there, empty, as in-process
        return frame.map_partitions(_no_feedback)
    feedback_parts = window_parts(store, model, "feedback", since, None, to_end=True)
    if not feedback_parts:
        return frame.map_partitions(_no_feedback)
    feedback = dd.from_map(_Feedback(store.uri, model), feedback_parts,
                           label="modelops-feedback")
    latest = feedback.shuffle("id").map_partitions(_latest)
    joined = frame.merge(latest, on="id", how="left")
    return joined.map_partitions(_as_read, latest._meta["actual"].dtype)


def _no_feedback(frame: Any) -> Any:
    out = frame.copy()
    out["actual"] = np.full(len(out), None, dtype=object)
    out["feedback_timestamp"] = np.full(len(out), np.nan)
    return out


def _as_read(frame: Any, actual_dtype: Any) -> Any:
    """The dtypes of the in-process read: actual of the feedback's type (None or NaN where
    there is none, as that type has it), feedback_timestamp float (NaN where none)."""
    out = frame.copy()
    actual = out["actual"].astype(object)
    out["actual"] = actual.where(actual.notna(), None).astype(actual_dtype)
    out["feedback_timestamp"] = out["feedback_timestamp"].astype(np.float64)
    return out
