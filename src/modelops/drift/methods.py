"""Drift methods added by plugins (``modelops_drift_methods``)."""

from __future__ import annotations

from modelops.entities.drift import DriftMethod

__all__ = ["DriftMethod", "plugin_methods"]


def plugin_methods() -> dict[str, DriftMethod]:
    """Every drift method the loaded plugins offer, by name; later plugins first."""
    from modelops.plugins import plugin_manager

    out: dict[str, DriftMethod] = {}
    for found in plugin_manager().hook.modelops_drift_methods():
        for method in found or ():
            out.setdefault(method.name, method)
    return out
