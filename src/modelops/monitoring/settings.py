"""A model's monitoring settings, kept with the model in the registry.

What a monitor must be told to judge a model — its task, the positive label of a binary
classifier, what a logged probability is, and the health rules (thresholds, SLOs, drift
rules) — is set once and kept with the model::

    ops.set_monitoring("fraud", positive="fraud", task="classification",
                       latency_slo_ms=200, degradation_threshold=0.03)
    ops.monitor("fraud").health()          # uses them, and so does `modelops monitor health`
    ops.monitor("fraud", positive="legit")  # a call's own arguments win over them

They are a tag of the registered model (``modelops.monitoring``, JSON), written through the
registry's audit trail like any tag, so every registry backend keeps them (local disk, memory,
S3, MLflow) and ``models history`` shows who changed them when. What is read back is checked
as any input is: an unknown setting or a bad value is an ``InvalidInput`` naming it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import attrs

from modelops._json import loads
from modelops.entities._frozen import FrozenDict, freeze
from modelops.entities.plain import to_plain
from modelops.errors import InvalidInput, NotFound
from modelops.monitoring.values import HealthRules

__all__ = ["SETTINGS_TAG", "MonitorSettings", "load_settings", "save_settings"]

#: The registered model's tag that holds its monitoring settings.
SETTINGS_TAG = "modelops.monitoring"
TASKS = ("classification", "regression")
SCORES = ("probability", "confidence")
_RULE_FIELDS = frozenset(f.name for f in attrs.fields(HealthRules))


def _label(instance: Any, attribute: Any, value: Any) -> None:
    if value is None or isinstance(value, (str, bool, int)):
        return
    if isinstance(value, float) and math.isfinite(value):
        return
    raise InvalidInput(f"expected a label (a string, number or boolean), got {value!r}",
                       field=attribute.name)


def _one_of(choices: tuple[str, ...]) -> Any:
    def check(instance: Any, attribute: Any, value: Any) -> None:
        if value is not None and value not in choices:
            raise InvalidInput(f"expected one of {', '.join(choices)}, got {value!r}",
                               field=attribute.name)
    return check


def _rules(instance: Any, attribute: Any, value: Any) -> None:
    unknown = sorted(set(value) - _RULE_FIELDS)
    if unknown:
        raise InvalidInput(f"unknown health rule {unknown[0]!r}; HealthRules fields are "
                           f"{', '.join(sorted(_RULE_FIELDS))}", field=f"rules.{unknown[0]}")
    HealthRules(**_thawed(value))      # each value checked by HealthRules itself


def _thawed(rules: Mapping[str, Any]) -> dict[str, Any]:
    return {k: dict(v) if isinstance(v, Mapping) else v for k, v in rules.items()}


@attrs.frozen(kw_only=True)
class MonitorSettings:
    """How a model is monitored: ``task`` (``"classification"``/``"regression"``; None:
    detected from the data), ``positive`` (the positive label of a binary classifier; None:
    1/True when the labels are 0/1), ``score`` (``"probability"``: a logged probability is
    the positive class's; ``"confidence"``: the predicted label's) and ``rules``, the
    ``HealthRules`` fields that differ from the defaults."""

    task: str | None = attrs.field(default=None, validator=_one_of(TASKS))
    positive: Any = attrs.field(default=None, validator=_label)
    score: str | None = attrs.field(default=None, validator=_one_of(SCORES))
    rules: FrozenDict[str, Any] = attrs.field(factory=FrozenDict, converter=freeze,
                                              validator=_rules)

    def health_rules(self) -> HealthRules:
        """The ``HealthRules`` these settings give (the defaults, with ``rules`` over them)."""
        return HealthRules(**_thawed(self.rules))

    def to_dict(self) -> dict[str, Any]:
        """The settings as plain data (what the tag holds, as JSON)."""
        return {"task": self.task, "positive": self.positive, "score": self.score,
                "rules": to_plain(dict(self.rules))}

    @classmethod
    def from_dict(cls, data: Any, model: str = "") -> MonitorSettings:
        """Settings from plain data, every key and value checked."""
        where = f"the monitoring settings of {model!r}" if model else "monitoring settings"
        if not isinstance(data, Mapping):
            raise InvalidInput(f"{where}: expected a mapping, got {type(data).__name__}",
                               field="settings")
        unknown = sorted(set(data) - {"task", "positive", "score", "rules"})
        if unknown:
            raise InvalidInput(f"{where}: unknown setting {unknown[0]!r}", field=unknown[0])
        rules = data.get("rules") or {}
        if not isinstance(rules, Mapping):
            raise InvalidInput(f"{where}: rules must be a mapping", field="rules")
        return cls(task=data.get("task"), positive=data.get("positive"),
                   score=data.get("score"), rules=rules)


def _rule_changes(rules: HealthRules) -> dict[str, Any]:
    """The fields of ``rules`` that differ from the defaults."""
    default = HealthRules()
    return {f.name: getattr(rules, f.name) for f in attrs.fields(HealthRules)
            if getattr(rules, f.name) != getattr(default, f.name)}


def load_settings(client: Any, model: str) -> MonitorSettings:
    """The settings stored with ``model`` (empty ones for a model without any, or not
    registered, or a client without a registry)."""
    try:
        registered = client.registry.get_model(model)
    except NotFound:
        return MonitorSettings()
    text = registered.tags.get(SETTINGS_TAG)
    if not text:
        return MonitorSettings()
    try:
        data = loads(text)
    except ValueError:
        raise InvalidInput(f"the monitoring settings of {model!r} are not JSON",
                           field=SETTINGS_TAG) from None
    return MonitorSettings.from_dict(data, model)


def save_settings(client: Any, model: str, *, task: str | None = None, positive: Any = None,
                  score: str | None = None, rules: HealthRules | None = None,
                  replace: bool = False, **rule_options: Any) -> MonitorSettings:
    """Store monitoring settings with ``model`` (a registered model): the given ones over
    those already stored (all of them anew with ``replace=True``). ``rules`` (a
    ``HealthRules``) and keyword arguments naming its fields set the health rules."""
    current = MonitorSettings() if replace else load_settings(client, model)
    if rules is not None and not isinstance(rules, HealthRules):
        raise InvalidInput(f"expected HealthRules, got {type(rules).__name__}", field="rules")
    unknown = sorted(set(rule_options) - _RULE_FIELDS)
    if unknown:
        raise InvalidInput(f"unknown health rule {unknown[0]!r}; HealthRules fields are "
                           f"{', '.join(sorted(_RULE_FIELDS))}", field=unknown[0])
    changed = dict(current.rules)
    if rules is not None:
        changed = _rule_changes(rules)
    changed.update(rule_options)
    settings = MonitorSettings(
        task=current.task if task is None else task,
        positive=current.positive if positive is None else positive,
        score=current.score if score is None else score,
        rules=_rule_changes(HealthRules(**_thawed(changed))))
    text = json.dumps(settings.to_dict(), sort_keys=True, allow_nan=False)
    client.registry.tag(model, {SETTINGS_TAG: text})
    return settings
