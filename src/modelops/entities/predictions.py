"""Value objects of prediction logging: columnar tables of predictions and of feedback."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import attrs

from modelops.entities._frozen import FrozenDict, freeze
from modelops.entities.plain import to_plain

__all__ = ["LoggerStats", "PredictionTable"]


def _object_array(values: Any) -> Any:
    import numpy as np

    if isinstance(values, np.ndarray) and values.dtype == object:
        return values
    out = np.empty(len(values), dtype=object)
    out[:] = list(values)
    return out


def _float_array(values: Any) -> Any:
    import numpy as np

    return np.asarray(values, dtype=np.float64)


def _int_array(values: Any) -> Any:
    import numpy as np

    return np.asarray(values, dtype=np.int64)


@attrs.frozen(eq=False)
class PredictionTable:
    """Logged predictions as columns (numpy arrays), joined to their feedback.

    ``actuals`` holds None where no feedback arrived; ``has_feedback`` masks the rows that
    have it. Missing probabilities and latencies are NaN. ``features`` maps each feature to
    an array (object arrays where values are not all numbers).
    """

    ids: Any = attrs.field(converter=_object_array)
    timestamps: Any = attrs.field(converter=_int_array)
    versions: Any = attrs.field(converter=_object_array)
    predictions: Any = attrs.field(converter=_object_array)
    probabilities: Any = attrs.field(converter=_float_array)
    latency_ms: Any = attrs.field(converter=_float_array)
    features: FrozenDict[str, Any] = attrs.field(factory=FrozenDict, converter=freeze)
    metadata: Any = attrs.field(factory=list, converter=_object_array)
    actuals: Any = attrs.field(factory=list, converter=_object_array)
    feedback_timestamps: Any = attrs.field(factory=list, converter=_float_array)

    def __attrs_post_init__(self) -> None:
        n = len(self.ids)
        from modelops.errors import InvalidInput

        for name in ("timestamps", "versions", "predictions", "probabilities", "latency_ms"):
            if len(getattr(self, name)) != n:
                raise InvalidInput(f"has {len(getattr(self, name))} values for {n} rows",
                                   field=f"PredictionTable.{name}")
        for name, values in self.features.items():
            if len(values) != n:
                raise InvalidInput(f"has {len(values)} values for {n} rows",
                                   field=f"PredictionTable.features[{name!r}]")

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def has_feedback(self) -> Any:
        import numpy as np

        if len(self.actuals) != len(self):
            return np.zeros(len(self), dtype=bool)
        return np.array([a is not None for a in self.actuals.tolist()], dtype=bool)

    def select(self, mask: Any) -> PredictionTable:
        """The rows where ``mask`` is true (or at the given indices)."""
        import numpy as np

        def pick(values: Any) -> Any:
            return values[mask] if len(values) == len(self) else values

        return PredictionTable(
            ids=pick(self.ids), timestamps=pick(self.timestamps), versions=pick(self.versions),
            predictions=pick(self.predictions), probabilities=pick(self.probabilities),
            latency_ms=pick(self.latency_ms),
            features={k: pick(np.asarray(v)) for k, v in self.features.items()},
            metadata=pick(self.metadata), actuals=pick(self.actuals),
            feedback_timestamps=pick(self.feedback_timestamps))

    def rows(self) -> Iterator[dict[str, Any]]:
        """Each prediction as a dict (slow for big tables; for inspection)."""
        names = list(self.features)
        feats = [self.features[k] for k in names]
        has_actuals = len(self.actuals) == len(self)
        for i in range(len(self)):
            yield {
                "id": self.ids[i], "timestamp": int(self.timestamps[i]),
                "version": self.versions[i], "prediction": self.predictions[i],
                "probability": float(self.probabilities[i]),
                "latency_ms": float(self.latency_ms[i]),
                "features": {k: to_plain(f[i]) for k, f in zip(names, feats)},
                "metadata": self.metadata[i] if len(self.metadata) == len(self) else None,
                "actual": self.actuals[i] if has_actuals else None,
            }

    def to_pandas(self) -> Any:
        """A pandas DataFrame: one column per field, features as ``features.<name>``."""
        try:
            import pandas as pd
        except ImportError:
            from modelops.errors import MissingDependency

            raise MissingDependency("a table as a DataFrame", "pandas") from None
        columns: dict[str, Any] = {
            "id": self.ids, "timestamp": self.timestamps, "version": self.versions,
            "prediction": self.predictions, "probability": self.probabilities,
            "latency_ms": self.latency_ms,
        }
        columns.update({f"features.{k}": v for k, v in self.features.items()})
        if len(self.actuals) == len(self):
            columns["actual"] = self.actuals
            columns["feedback_timestamp"] = self.feedback_timestamps
        return pd.DataFrame(columns)


@attrs.frozen(kw_only=True)
class LoggerStats:
    """What a prediction logger did: every record is logged, then written or dropped."""

    logged: int = 0          # records accepted by log()/log_batch()/feedback()
    written: int = 0         # records durably stored
    dropped: int = 0         # records dropped by the drop policy (never silently)
    pending: int = 0         # records in the buffer now
    retries: int = 0         # failed writes that were retried
    last_error: str | None = None
    counts: FrozenDict[str, int] = attrs.field(factory=FrozenDict, converter=freeze)
    spilled: int = 0         # records a closing logger could not write, spilled to local disk


def as_mapping(value: Any, field: str) -> Mapping[str, Any]:
    from modelops.errors import InvalidInput

    if not isinstance(value, Mapping):
        raise InvalidInput(f"expected a mapping, got {type(value).__name__}", field=field)
    return value
