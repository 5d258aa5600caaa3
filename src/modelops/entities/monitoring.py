"""Value objects of monitoring that plugins see: health issues and the alerts raised for them
(the ``modelops_alert_raised`` hook's payload), and the severities that rank them."""

from __future__ import annotations

from typing import Any

import attrs

from modelops.entities._frozen import FrozenDict, freeze
from modelops.entities.plain import fields_to_plain
from modelops.errors import InvalidInput

__all__ = ["SEVERITIES", "Alert", "HealthIssue", "severity_rank"]

#: Severities, least severe first.
SEVERITIES = ("low", "medium", "high", "critical")


def severity_rank(severity: str, field: str = "severity") -> int:
    """0 for ``low`` … 3 for ``critical``; ``InvalidInput`` for anything else."""
    try:
        return SEVERITIES.index(severity)
    except ValueError:
        raise InvalidInput(f"expected one of {', '.join(SEVERITIES)}, got {severity!r}",
                           field=field) from None


def _severity(instance: Any, attribute: Any, value: Any) -> None:
    severity_rank(value, attribute.name)


@attrs.frozen(kw_only=True)
class HealthIssue:
    """One finding of a health check."""

    severity: str = attrs.field(validator=_severity)  # low | medium | high | critical
    kind: str                                          # e.g. "degradation", "input_drift"
    message: str
    details: FrozenDict[str, Any] = attrs.field(factory=FrozenDict, converter=freeze)

    def to_dict(self) -> dict[str, Any]:
        """Every field as plain Python data (floats as they are, NaN included)."""
        return fields_to_plain(self)


@attrs.frozen(kw_only=True)
class Alert:
    """An issue at or above the monitor's ``alert_at`` severity, handed to the
    ``modelops_alert_raised`` hook."""

    model: str
    version: str | None
    severity: str = attrs.field(validator=_severity)
    kind: str
    message: str
    details: FrozenDict[str, Any] = attrs.field(factory=FrozenDict, converter=freeze)
    raised_at: int = 0           # Unix ms

    def to_dict(self) -> dict[str, Any]:
        """Every field as plain Python data (floats as they are, NaN included)."""
        return fields_to_plain(self)
