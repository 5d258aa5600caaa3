"""Drift detection: statistics, mergeable profiles, checks, reports.

``ops.drift`` (a ``Drift``) fits reference profiles and checks new data against them;
``modelops.drift.stats`` holds the statistics as pure functions; ``modelops.drift.methods``
is the table of named methods (built-in and from plugins); ``profile_partitions`` and
``merge`` build a profile of data too big for one machine.

Names load on first use: the plugin manager registers ``modelops.drift.methods`` on the first
``connect()``, which must not pull in numpy and scipy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from modelops.drift.detector import check_profile
    from modelops.drift.profile import merge, profile_frame, profile_partitions, spec_for
    from modelops.drift.segments import SegmentDrift, SegmentedDriftReport
    from modelops.drift.service import Drift
    from modelops.entities.drift import (
        DriftMethod,
        MultivariateDrift,
        MultivariateMethod,
        StatResult,
    )

_WHERE = {
    "Drift": "modelops.drift.service",
    "DriftMethod": "modelops.entities.drift",
    "MultivariateDrift": "modelops.entities.drift",
    "MultivariateMethod": "modelops.entities.drift",
    "SegmentDrift": "modelops.drift.segments",
    "SegmentedDriftReport": "modelops.drift.segments",
    "StatResult": "modelops.entities.drift",
    "check_profile": "modelops.drift.detector",
    "merge": "modelops.drift.profile",
    "profile_frame": "modelops.drift.profile",
    "profile_partitions": "modelops.drift.profile",
    "spec_for": "modelops.drift.profile",
}

__all__ = [
    "Drift",
    "DriftMethod",
    "MultivariateDrift",
    "MultivariateMethod",
    "SegmentDrift",
    "SegmentedDriftReport",
    "StatResult",
    "check_profile",
    "merge",
    "profile_frame",
    "profile_partitions",
    "spec_for",
]


def __getattr__(name: str) -> object:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'modelops.drift' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
