"""Performance estimation without labels: the ``modelops_estimators`` hook's payload (an
``Estimator``), the data it is fitted on and applied to (``EstimationData``) and what it
estimates (``MetricEstimate``)."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import attrs

from modelops.entities._frozen import FrozenDict, freeze
from modelops.entities.plain import fields_to_plain
from modelops.errors import InvalidInput

__all__ = ["EstimationData", "Estimator", "FittedEstimator", "MetricEstimate"]

_TASKS = ("classification", "regression")


def _name(instance: Any, attribute: Any, value: Any) -> None:
    if not isinstance(value, str) or not value.strip() or value != value.strip():
        raise InvalidInput(f"expected a name without surrounding spaces, got {value!r}",
                           field=f"Estimator.{attribute.name}")


def _task(instance: Any, attribute: Any, value: Any) -> None:
    if value not in _TASKS:
        raise InvalidInput(f"expected one of {', '.join(_TASKS)}, got {value!r}",
                           field="Estimator.task")


@attrs.frozen(kw_only=True, eq=False)
class EstimationData:
    """Rows a performance estimator is fitted on (with ``actuals``) or applied to.

    ``predictions``: the model's outputs, one per row (labels, or numbers for a regressor).
    ``scores``: for a classifier, the positive class's score (1-D, binary), one column per
    class (2-D, the classes in the order of ``classes``), or None. ``classes``: the labels,
    in score-column order for a 2-D ``scores``; for binary scores ``(negative, positive)``.
    ``confidence``: True when a 1-D ``scores`` is the probability of the *predicted* label
    rather than of the positive class. ``features``: the inputs by column name.
    ``actuals``: the ground truth, or None where it is not known (every row of an analysis
    window). Arrays are numpy arrays of one value per row.
    """

    predictions: Any
    scores: Any = None
    classes: tuple[Any, ...] = attrs.field(default=(), converter=tuple)
    confidence: bool = False
    features: FrozenDict[str, Any] = attrs.field(factory=FrozenDict, converter=freeze)
    actuals: Any = None

    def __len__(self) -> int:
        return len(self.predictions)


@attrs.frozen(kw_only=True)
class MetricEstimate:
    """One metric of one window, estimated without labels.

    ``value`` is the estimate, ``lower``/``upper`` its band (what the estimator documents:
    for CBPE the range the realised value takes with ±3 standard errors if the calibrated
    scores are right). ``realised`` is the metric measured on the window's rows that have
    feedback (None when none have), over ``n_realised`` rows; ``n`` rows were estimated.
    """

    metric: str
    value: float
    lower: float = math.nan
    upper: float = math.nan
    n: int = 0
    realised: float | None = None
    n_realised: int = 0

    @property
    def error(self) -> float | None:
        """``value - realised``, when the realised value is known."""
        return None if self.realised is None else self.value - self.realised

    def to_dict(self) -> dict[str, Any]:
        """Every field as plain Python data (floats as they are, NaN included)."""
        return fields_to_plain(self)


class FittedEstimator(Protocol):
    """What ``Estimator.fit`` returns: an estimator fitted on a reference."""

    #: What fitting decided, in words (e.g. whether the scores were calibrated, and why).
    notes: Mapping[str, Any]
    #: The metrics measured on the reference (realised, from its actuals).
    reference_metrics: Mapping[str, float]

    def estimate(self, data: EstimationData) -> dict[str, MetricEstimate]:
        """The estimated metrics of ``data`` (its ``actuals`` are not read)."""


@attrs.frozen
class Estimator:
    """A performance estimator: an entry of the estimator table.

    ``fit(reference)`` gets an :class:`EstimationData` with ``actuals`` and returns a
    :class:`FittedEstimator`; ``fit`` raises ``InvalidInput`` for a reference it cannot use
    and ``MissingDependency`` for a missing package. ``task`` is ``"classification"`` or
    ``"regression"``; ``metrics`` names what it estimates (canonical names of the metric
    table).
    """

    name: str = attrs.field(validator=_name)
    task: str = attrs.field(validator=_task)
    metrics: tuple[str, ...] = attrs.field(converter=tuple)
    fit: Callable[[EstimationData], FittedEstimator]
