"""Drift methods added by plugins (``modelops_drift_methods``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs


@attrs.frozen
class DriftMethod:
    """A named drift test for some column kinds.

    ``compute(reference_profile, current_values, threshold)`` returns a
    ``modelops.drift.stats.StatResult``; ``threshold`` is None unless the caller gave one.
    """

    name: str
    kinds: tuple[str, ...] = attrs.field(converter=tuple)
    compute: Callable[[Any, Any, float | None], Any]


def plugin_methods() -> dict[str, DriftMethod]:
    """Every drift method the loaded plugins offer, by name; later plugins first."""
    from modelops.plugins import plugin_manager

    out: dict[str, DriftMethod] = {}
    for found in plugin_manager().hook.modelops_drift_methods():
        for method in found or ():
            out.setdefault(method.name, method)
    return out
