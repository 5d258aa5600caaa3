"""Experiment tracking: runs, buffered logging, search, comparison, clean-up."""

from modelops.tracking.results import RunComparison, RunList
from modelops.tracking.run import ActiveRun
from modelops.tracking.service import Tracking, acting_as

__all__ = ["ActiveRun", "RunComparison", "RunList", "Tracking", "acting_as"]
