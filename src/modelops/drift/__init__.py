"""Drift detection: statistics, mergeable profiles, checks, reports.

``ops.drift`` (a ``Drift``) fits reference profiles and checks new data against them;
``modelops.drift.stats`` holds the statistics as pure functions; ``profile_partitions`` and
``merge`` build a profile of data too big for one machine.
"""

from modelops.drift.detector import check_profile
from modelops.drift.methods import DriftMethod
from modelops.drift.profile import merge, profile_frame, profile_partitions, spec_for
from modelops.drift.service import Drift
from modelops.drift.stats import StatResult

__all__ = [
    "Drift",
    "DriftMethod",
    "StatResult",
    "check_profile",
    "merge",
    "profile_frame",
    "profile_partitions",
    "spec_for",
]
