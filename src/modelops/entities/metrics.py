"""The model-quality metric definition: the ``modelops_metrics`` hook's payload."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from modelops.errors import InvalidInput

__all__ = ["TASKS", "MetricSpec"]

#: The tasks a metric applies to.
TASKS = ("classification", "regression")
_NEEDS = (None, "score", "probability")


def _name(instance: Any, attribute: Any, value: Any) -> None:
    if not isinstance(value, str) or not value.strip() or value != value.strip():
        raise InvalidInput(f"expected a name without surrounding spaces, got {value!r}",
                           field=f"MetricSpec.{attribute.name}")


def _aliases(instance: Any, attribute: Any, value: tuple[str, ...]) -> None:
    for alias in value:
        _name(instance, attribute, alias)


def _task(instance: Any, attribute: Any, value: Any) -> None:
    if value not in TASKS:
        raise InvalidInput(f"expected one of {', '.join(TASKS)}, got {value!r}",
                           field="MetricSpec.task")


def _needs(instance: Any, attribute: Any, value: Any) -> None:
    if value not in _NEEDS:
        raise InvalidInput(f"expected None, 'score' or 'probability', got {value!r}",
                           field="MetricSpec.needs")


@attrs.frozen(kw_only=True)
class MetricSpec:
    """A model-quality metric under its canonical name: an entry of the metric table.

    ``compute(y_true, y_pred, score) -> float`` measures predictions against actuals (numpy
    arrays of one value per row). For classification, boolean labels (or 0/1, or -1/1) are
    judged for the positive class ``True`` / ``1``, other labels as the unweighted mean over
    the labels present; ``score`` is the positive class's score (1-D), or with more classes
    one column per class, the classes numbered 0, 1, … by column. ``needs`` says what
    ``score`` must be: None (not used), ``"score"`` (any score that ranks rows) or
    ``"probability"``; without it the metric is not computed. ``higher_is_better`` gives the
    direction promotion rules and degradation checks use; ``aliases`` are other spellings of
    the name (``f1_score`` for ``f1``), matched without regard to case.
    """

    name: str = attrs.field(validator=_name)
    compute: Callable[[Any, Any, Any], float]
    task: str = attrs.field(validator=_task)
    higher_is_better: bool = True
    aliases: tuple[str, ...] = attrs.field(default=(), converter=tuple, validator=_aliases)
    needs: str | None = attrs.field(default=None, validator=_needs)
