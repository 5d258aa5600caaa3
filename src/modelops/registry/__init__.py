"""The model registry: semantic versions, stages and aliases, promotion rules, rollback,
flavors with verified digests, and an audit trail."""

from modelops.registry.compare import VersionComparison
from modelops.registry.flavors import Flavor
from modelops.registry.policies import AllOf, Ceilings, Floors, MetricImprovement, Rule
from modelops.registry.service import Registry, SavedModel
from modelops.registry.uri import ModelReference, parse_model_uri

__all__ = [
    "AllOf",
    "Ceilings",
    "Flavor",
    "Floors",
    "MetricImprovement",
    "ModelReference",
    "Registry",
    "Rule",
    "SavedModel",
    "VersionComparison",
    "parse_model_uri",
]
