"""The RegistryStore interface (sketch; completed with the model registry).

Models and versions; a version is created with an exclusive claim, so a second create of the
same version fails with ``AlreadyExists`` across processes and machines; stage and alias
changes are an append-only trail of events.
"""

from __future__ import annotations

import abc


class RegistryStore(abc.ABC):  # noqa: B024 - completed by its issue
    """Persists registered models, their versions and artifacts, and stage events."""

    uri: str = ""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections or caches."""
