"""The PredictionStore interface (sketch; completed with prediction logging).

Appends batches of predictions and of feedback; scans them by model, version and time window.
"""

from __future__ import annotations

import abc


class PredictionStore(abc.ABC):  # noqa: B024 - completed by its issue
    """Persists logged predictions and feedback."""

    uri: str = ""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections or caches."""
