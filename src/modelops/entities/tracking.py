"""Value objects of experiment tracking: experiments, runs, metrics, params, tags, artifacts.

Every class is a frozen attrs class validated on construction; an invalid field raises
``InvalidInput`` naming the class, the field and the bad value. Change one with
``attrs.evolve``.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator
from typing import Any

import attrs

from modelops.entities._frozen import FrozenDict, freeze
from modelops.entities.display import html_of
from modelops.entities.validators import (
    MAX_PARAM_VALUE_LENGTH,
    MAX_TAG_VALUE_LENGTH,
    check_int,
    check_key,
    check_name,
    check_number,
    check_str_mapping,
    check_value,
)
from modelops.errors import InvalidInput

__all__ = [
    "Experiment",
    "FileInfo",
    "LifecycleStage",
    "Metric",
    "MetricSeries",
    "Page",
    "Param",
    "Run",
    "RunData",
    "RunInfo",
    "RunStatus",
    "RunTag",
    "ViewType",
]


def _field(inst: Any, attribute: attrs.Attribute[Any]) -> str:
    return f"{type(inst).__name__}.{attribute.name}"


def _valid_name(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    check_name(value, _field(inst, attribute))


def _valid_key(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    check_key(value, _field(inst, attribute))


def _valid_id(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    # Ids become path segments too; a name check is exactly the guard they need.
    check_name(value, _field(inst, attribute))


def _valid_optional_id(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None:
        _valid_id(inst, attribute, value)


def _valid_int(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    check_int(value, _field(inst, attribute))


def _valid_optional_int(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None:
        check_int(value, _field(inst, attribute))


def _valid_tags(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    check_str_mapping(value, _field(inst, attribute), MAX_TAG_VALUE_LENGTH)


class LifecycleStage(str, enum.Enum):
    """Whether an experiment or run is live or soft-deleted (and restorable)."""

    ACTIVE = "active"
    DELETED = "deleted"


class ViewType(str, enum.Enum):
    """Which lifecycle stages a listing or search returns."""

    ACTIVE_ONLY = "active_only"
    DELETED_ONLY = "deleted_only"
    ALL = "all"

    def admits(self, stage: LifecycleStage) -> bool:
        if self is ViewType.ALL:
            return True
        return (stage is LifecycleStage.ACTIVE) == (self is ViewType.ACTIVE_ONLY)


class RunStatus(str, enum.Enum):
    """A run's status, with MLflow's names."""

    RUNNING = "RUNNING"
    SCHEDULED = "SCHEDULED"
    FINISHED = "FINISHED"
    FAILED = "FAILED"
    KILLED = "KILLED"

    @property
    def is_terminal(self) -> bool:
        return self in (RunStatus.FINISHED, RunStatus.FAILED, RunStatus.KILLED)

    @classmethod
    def parse(cls, value: Any) -> RunStatus:
        """A status from its name in any case; ``InvalidInput`` listing the names otherwise."""
        try:
            return cls(value.upper() if isinstance(value, str) else value)
        except ValueError:
            choices = ", ".join(s.value for s in cls)
            raise InvalidInput(f"expected one of {choices}, got {value!r}",
                               field="status") from None


def _to_stage(value: Any) -> LifecycleStage:
    try:
        return LifecycleStage(value)
    except ValueError:
        raise InvalidInput(f"expected 'active' or 'deleted', got {value!r}",
                           field="lifecycle_stage") from None


@attrs.frozen(kw_only=True)
class Experiment:
    """A named group of runs."""

    experiment_id: str = attrs.field(validator=_valid_id)
    name: str = attrs.field(validator=_valid_name)
    artifact_location: str = ""
    lifecycle_stage: LifecycleStage = attrs.field(default=LifecycleStage.ACTIVE,
                                                  converter=_to_stage)
    creation_time: int = attrs.field(default=0, validator=_valid_int)
    tags: FrozenDict[str, str] = attrs.field(factory=FrozenDict, converter=freeze,
                                             validator=_valid_tags)


@attrs.frozen
class Metric:
    """One metric point. ``value`` may be NaN or ±inf; it round-trips exactly."""

    key: str = attrs.field(validator=_valid_key)
    value: float = attrs.field()
    timestamp: int = attrs.field(validator=_valid_int)
    step: int = attrs.field(default=0, validator=_valid_int)

    @value.validator
    def _check_value(self, attribute: attrs.Attribute[Any], value: Any) -> None:
        check_number(value, _field(self, attribute))

    def __eq__(self, other: object) -> bool:
        # NaN == NaN here: a metric read back must equal the one logged.
        if not isinstance(other, Metric):
            return NotImplemented
        same_value = self.value == other.value or (self.value != self.value
                                                   and other.value != other.value)
        return same_value and (self.key, self.timestamp, self.step) == (
            other.key, other.timestamp, other.step)

    def __hash__(self) -> int:
        return hash((self.key, self.timestamp, self.step))


@attrs.frozen
class Param:
    """A hyper-parameter. Values are stored as strings, as MLflow does."""

    key: str = attrs.field(validator=_valid_key)
    value: str = attrs.field(converter=lambda v: v if isinstance(v, str) else str(v))

    @value.validator
    def _check_value(self, attribute: attrs.Attribute[Any], value: str) -> None:
        check_value(value, _field(self, attribute), MAX_PARAM_VALUE_LENGTH)


@attrs.frozen
class RunTag:
    """A run tag; unlike params, tags may be changed."""

    key: str = attrs.field(validator=_valid_key)
    value: str = attrs.field(converter=lambda v: v if isinstance(v, str) else str(v))

    @value.validator
    def _check_value(self, attribute: attrs.Attribute[Any], value: str) -> None:
        check_value(value, _field(self, attribute), MAX_TAG_VALUE_LENGTH)


def _int_array(value: Any) -> Any:
    import numpy as np

    try:
        return np.asarray(value, dtype=np.int64)
    except (OverflowError, TypeError, ValueError):
        raise InvalidInput("expected integers that fit in 64 bits",
                           field="MetricSeries.steps/timestamps") from None


def _float_array(value: Any) -> Any:
    import numpy as np

    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidInput("expected numbers", field="MetricSeries.values") from None


@attrs.frozen(eq=False)
class MetricSeries:
    """Many points of one metric, as numpy arrays: how metrics move in bulk.

    Stores take metrics as series (one per key) and return a metric's history as one, so a
    100,000-point history is three arrays, not 100,000 objects.
    """

    key: str = attrs.field(validator=_valid_key)
    steps: Any = attrs.field(converter=_int_array)
    values: Any = attrs.field(converter=_float_array)
    timestamps: Any = attrs.field(converter=_int_array)

    def __attrs_post_init__(self) -> None:
        lengths = {len(self.steps), len(self.values), len(self.timestamps)}
        if len(lengths) != 1:
            raise InvalidInput(
                f"steps, values and timestamps differ in length "
                f"({len(self.steps)}, {len(self.values)}, {len(self.timestamps)})",
                field=f"MetricSeries[{self.key!r}]",
            )

    def __len__(self) -> int:
        return len(self.values)

    def __iter__(self) -> Iterator[Metric]:
        for step, value, ts in zip(self.steps.tolist(), self.values.tolist(),
                                   self.timestamps.tolist()):
            yield Metric(self.key, value, ts, step)

    def __eq__(self, other: object) -> bool:
        import numpy as np

        if not isinstance(other, MetricSeries):
            return NotImplemented
        return (
            self.key == other.key
            and np.array_equal(self.steps, other.steps)
            and np.array_equal(self.timestamps, other.timestamps)
            and np.array_equal(self.values, other.values, equal_nan=True)
        )

    __hash__ = None  # type: ignore[assignment]

    @classmethod
    def group(cls, metrics: Iterable[Metric]) -> list[MetricSeries]:
        """Group metric points by key, keeping their order, into one series per key."""
        columns: dict[str, tuple[list[int], list[float], list[int]]] = {}
        for m in metrics:
            steps, values, stamps = columns.setdefault(m.key, ([], [], []))
            steps.append(m.step)
            values.append(m.value)
            stamps.append(m.timestamp)
        return [cls(key, *cols) for key, cols in columns.items()]


@attrs.frozen(kw_only=True)
class RunInfo:
    """What a run is: identity, status, times, lineage."""

    run_id: str = attrs.field(validator=_valid_id)
    experiment_id: str = attrs.field(validator=_valid_id)
    run_name: str = attrs.field(validator=_valid_name)
    status: RunStatus = attrs.field(default=RunStatus.RUNNING, converter=RunStatus.parse)
    start_time: int = attrs.field(default=0, validator=_valid_int)
    end_time: int | None = attrs.field(default=None, validator=_valid_optional_int)
    lifecycle_stage: LifecycleStage = attrs.field(default=LifecycleStage.ACTIVE,
                                                  converter=_to_stage)
    artifact_uri: str = ""
    user: str = ""
    parent_run_id: str | None = attrs.field(default=None, validator=_valid_optional_id)


@attrs.frozen(kw_only=True)
class RunData:
    """What a run logged: latest metric values, params, tags."""

    latest: FrozenDict[str, Metric] = attrs.field(factory=FrozenDict, converter=freeze)
    params: FrozenDict[str, str] = attrs.field(factory=FrozenDict, converter=freeze)
    tags: FrozenDict[str, str] = attrs.field(factory=FrozenDict, converter=freeze)

    @property
    def metrics(self) -> dict[str, float]:
        """Latest value of each metric (the point with the highest step, then timestamp)."""
        return {key: m.value for key, m in self.latest.items()}


@attrs.frozen
class Run:
    """A run: its ``info`` and its ``data``, with shortcuts to what is read most."""

    info: RunInfo
    data: RunData = attrs.field(factory=RunData)

    def _repr_html_(self) -> str:
        return html_of(self)

    @property
    def run_id(self) -> str:
        return self.info.run_id

    @property
    def name(self) -> str:
        return self.info.run_name

    @property
    def status(self) -> RunStatus:
        return self.info.status

    @property
    def params(self) -> FrozenDict[str, str]:
        return self.data.params

    @property
    def metrics(self) -> dict[str, float]:
        return self.data.metrics

    @property
    def tags(self) -> FrozenDict[str, str]:
        return self.data.tags


@attrs.frozen
class FileInfo:
    """An artifact in a listing; ``path`` is relative to the run's artifact root."""

    path: str
    is_dir: bool
    file_size: int | None = None


@attrs.frozen
class Page:
    """One page of results and the token for the next page (``None`` on the last)."""

    items: tuple[Any, ...] = attrs.field(converter=tuple)
    token: str | None = None

