"""The DriftStore interface (sketch; completed with drift detection).

Reference profiles per monitored model, and drift reports over time.
"""

from __future__ import annotations

import abc


class DriftStore(abc.ABC):  # noqa: B024 - completed by its issue
    """Persists reference profiles and drift reports."""

    uri: str = ""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections or caches."""
