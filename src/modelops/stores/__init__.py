"""The four store interfaces a backend implements, and nothing else.

A backend may implement any subset; ``modelops.connect`` combines stores from different
backends (``connect("mlflow+sqlite:///m.db", predictions="file:///var/mlops")``).
"""

from modelops.stores.drift import DriftStore
from modelops.stores.predictions import PredictionStore
from modelops.stores.registry import RegistryStore
from modelops.stores.tracking import TrackingStore

#: The kinds of store ``connect`` wires, by the keyword that overrides each.
STORE_KINDS = ("tracking", "registry", "drift", "predictions")

__all__ = ["STORE_KINDS", "DriftStore", "PredictionStore", "RegistryStore", "TrackingStore"]
