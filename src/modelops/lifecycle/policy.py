"""``RetrainPolicy``: when a model is due for retraining, judged from its monitor.

The policy reads what monitoring already measures — the share of drifted input features,
metrics against the registered baseline, the volume of traffic, the production version's age
— and answers with a ``RetrainDecision(retrain, reasons)``. Every check that fired is a
trigger; when none fired, the reasons say how far each check was from firing. Two guards can
hold a due retraining back: too little new feedback to learn from, and a cooldown after the
last cycle that trained.
"""

from __future__ import annotations

import math
from typing import Any

import attrs

from modelops.entities import FrozenDict, freeze
from modelops.errors import InvalidInput, NotFound
from modelops.metrics import exceeds

#: The triggers a decision can name.
TRIGGERS = ("no_production", "input_drift", "degradation", "volume_drop", "max_age", "forced")


def _fraction(inst: Any, attribute: Any, value: Any) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or \
            not math.isfinite(value) or not 0 < value <= 1:
        raise InvalidInput(f"expected a number in (0, 1] or None, got {value!r}",
                           field=f"RetrainPolicy.{attribute.name}")


def _non_negative(inst: Any, attribute: Any, value: Any) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or \
            not math.isfinite(value) or value < 0:
        raise InvalidInput(f"expected a number >= 0 or None, got {value!r}",
                           field=f"RetrainPolicy.{attribute.name}")


def _count(inst: Any, attribute: Any, value: Any) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInput(f"expected a whole number >= 1 or None, got {value!r}",
                           field=f"RetrainPolicy.{attribute.name}")


def _window(optional: bool) -> Any:
    def check(inst: Any, attribute: Any, value: Any) -> None:
        if value is None and optional:
            return
        from modelops.monitoring.windows import parse_window

        parse_window(value, f"RetrainPolicy.{attribute.name}")
    return check


def _cooldown(inst: Any, attribute: Any, value: Any) -> None:
    if value in (None, 0, "0"):
        return
    _window(False)(inst, attribute, value)


@attrs.frozen(kw_only=True)
class RetrainDecision:
    """What a ``RetrainPolicy`` decided: ``retrain`` and the ``reasons`` why (or why not).

    ``triggers`` names the checks that fired (``input_drift``, ``degradation``,
    ``volume_drop``, ``max_age``, ``no_production``, ``forced``); a decision can have
    triggers and still not retrain when a guard (``min_new_feedback``, ``cooldown``) holds it
    back. ``details`` holds the numbers behind every check, as plain data. ``version`` is the
    production version judged (None when there is none). Truthy when ``retrain``.

    (``modelops.Decision`` is the registry's promotion decision; this is its retraining
    counterpart, with the shape ``Decision(retrain, reasons)``.)
    """

    retrain: bool
    reasons: tuple[str, ...] = attrs.field(converter=tuple)
    triggers: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    model: str = ""
    version: str | None = None
    checked_at: int = 0
    details: FrozenDict[str, Any] = attrs.field(factory=FrozenDict, converter=freeze)

    def __bool__(self) -> bool:
        return self.retrain

    def to_dict(self) -> dict[str, Any]:
        """Every field as plain data."""
        from modelops.entities.plain import to_plain

        return {"retrain": self.retrain, "reasons": list(self.reasons),
                "triggers": list(self.triggers), "model": self.model, "version": self.version,
                "checked_at": self.checked_at, "details": to_plain(dict(self.details))}

    def __str__(self) -> str:
        head = "retrain" if self.retrain else "no retraining"
        return f"{head}: " + "; ".join(self.reasons)

    @classmethod
    def forced(cls, model: str, version: str | None, now: int) -> RetrainDecision:
        return cls(retrain=True, reasons=("forced by the caller",), triggers=("forced",),
                   model=model, version=version, checked_at=now)


def _pct(x: float) -> str:
    return f"{x * 100:.0f}%"


def _age(ms: float) -> str:
    hours = ms / 3_600_000
    return f"{hours / 24:.1f} days" if hours >= 48 else f"{hours:.1f} hours"


@attrs.frozen(kw_only=True)
class RetrainPolicy:
    """When to retrain a model, from what its monitor measures.

    Triggers (None switches one off):

    - ``drift_share``: the share of input features that drifted against the reference
      profile, in the last ``window``, reached this (0.3: 30% of features).
    - ``degradation``: a metric registered with the production version got worse by more
      than this (absolute) on the ``window``'s predictions that have feedback (judged only
      with at least the monitor's ``min_feedback`` of them, 30 by default).
    - ``volume_drop``: the newest ``volume_window`` had at least this share fewer
      predictions than the median of the ``volume_history`` windows before it (0.5: half).
    - ``max_age``: the production version is older than this (``"7d"``).
    - no version in production: always a trigger (the first model is due).

    Guards (a triggered retraining waits while one holds):

    - ``min_new_feedback``: fewer predictions than this got feedback since the production
      version was registered: not enough new ground truth to learn from yet.
    - ``cooldown``: a cycle that trained finished less than this ago (``"1h"``; 0 or None
      for none): the new version has had no time to be judged.
    """

    drift_share: float | None = attrs.field(default=0.3, validator=_fraction)
    degradation: float | None = attrs.field(default=0.05, validator=_non_negative)
    volume_drop: float | None = attrs.field(default=None, validator=_fraction)
    max_age: Any = attrs.field(default=None, validator=_window(True))
    min_new_feedback: int | None = attrs.field(default=None, validator=_count)
    cooldown: Any = attrs.field(default="1h", validator=_cooldown)
    window: Any = attrs.field(default="24h", validator=_window(False))
    volume_window: Any = attrs.field(default="1h", validator=_window(False))
    volume_history: int = attrs.field(default=24, validator=_count)

    def cooldown_ms(self) -> int:
        from modelops.monitoring.windows import parse_window

        return 0 if self.cooldown in (None, 0, "0") else parse_window(self.cooldown)

    def evaluate(self, monitor: Any) -> RetrainDecision:
        """Judge the model ``monitor`` watches (``ops.monitor(model)``; a monitor of one
        version judges that version's traffic) at the monitor's *now*."""
        from modelops.monitoring import Monitor

        if not isinstance(monitor, Monitor):
            raise InvalidInput(f"expected a Monitor (ops.monitor(model)), got "
                               f"{type(monitor).__name__}", field="monitor")
        now = monitor.now()
        model = monitor.model
        production = production_version(monitor.client.registry, model)
        triggers: list[str] = []
        fired: list[str] = []
        calm: list[str] = []
        details: dict[str, Any] = {}

        if production is None:
            triggers.append("no_production")
            fired.append(f"no version of {model!r} is in production")
        else:
            self._check_age(production, now, triggers, fired, calm, details)
            self._check_drift(monitor, triggers, fired, calm, details)
            self._check_degradation(monitor, triggers, fired, calm, details)
            self._check_volume(monitor, triggers, fired, calm, details)

        held: list[str] = []
        if triggers:
            if production is not None and self.min_new_feedback is not None:
                self._guard_feedback(monitor, production, now, held, details)
            self._guard_cooldown(monitor.client, model, now, held, details)
        retrain = bool(triggers) and not held
        reasons = fired + held if triggers else calm or ["no check could run"]
        return RetrainDecision(retrain=retrain, reasons=reasons, triggers=triggers, model=model,
                               version=None if production is None else production.version,
                               checked_at=now, details=details)

    # -- triggers -------------------------------------------------------------------------

    def _check_age(self, production: Any, now: int, triggers: list[str], fired: list[str],
                   calm: list[str], details: dict[str, Any]) -> None:
        if self.max_age is None:
            return
        from modelops.monitoring.windows import parse_window

        limit = parse_window(self.max_age)
        age = now - production.created_time
        details["age"] = {"version": production.version, "age_ms": age, "max_age_ms": limit}
        text = f"production version {production.version} is {_age(age)} old"
        if age > limit:
            triggers.append("max_age")
            fired.append(f"{text} (max {self.max_age})")
        else:
            calm.append(f"{text}, within {self.max_age}")

    def _check_drift(self, monitor: Any, triggers: list[str], fired: list[str],
                     calm: list[str], details: dict[str, Any]) -> None:
        if self.drift_share is None:
            return
        check = monitor.drift(self.window)
        report = check.report
        if report is None or not report.columns:
            details["input_drift"] = {"share": None, "note": check.note}
            calm.append(f"input drift not judged: {check.note or 'no features to compare'}")
            return
        drifted = report.drifted_columns
        share = float(report.share)
        details["input_drift"] = {"share": share, "threshold": self.drift_share,
                                  "drifted": drifted, "features": len(report.columns),
                                  "rows": report.n_current}
        text = (f"{len(drifted)} of {len(report.columns)} input features drifted "
                f"({_pct(share)}) in the last {self.window}")
        if share >= self.drift_share:
            triggers.append("input_drift")
            fired.append(f"input drift: {text}, threshold {_pct(self.drift_share)}")
        else:
            calm.append(f"{text}, below {_pct(self.drift_share)}")

    def _check_degradation(self, monitor: Any, triggers: list[str], fired: list[str],
                           calm: list[str], details: dict[str, Any]) -> None:
        if self.degradation is None:
            return
        try:
            found = monitor.degradation(threshold=self.degradation, window=self.window)
        except InvalidInput as exc:
            details["degradation"] = {"note": str(exc)}
            calm.append("degradation not judged: no baseline metrics")
            return
        need = monitor.rules.min_feedback
        details["degradation"] = {"n": found.n, "min_feedback": need,
                                  "baseline": found.baseline_source,
                                  "changes": [c.to_dict() for c in found.changes]}
        if found.n < need:
            calm.append(f"degradation not judged: {found.n} predictions with feedback in the "
                        f"last {self.window}, {need} needed")
            return
        worst = [c for c in found.changes if c.degraded]
        if worst:
            triggers.append("degradation")
            shown = ", ".join(f"{c.metric} {c.current:.3f} vs {c.baseline:.3f}" for c in worst)
            fired.append(f"degradation: {shown} (worse by more than {self.degradation:g}) on "
                         f"{found.n} predictions with feedback")
            return
        beyond = [c for c in found.changes if exceeds(c.worse_by, c.threshold)]
        if not beyond:
            calm.append(f"metrics within {self.degradation:g} of the baseline on {found.n} "
                        "predictions with feedback")
            return
        shown = ", ".join(f"{c.metric} {c.current:.3f} vs {c.baseline:.3f} ("
                          + ("not testable" if c.pvalue is None else f"p={c.pvalue:.3g}") + ")"
                          for c in beyond)
        calm.append(f"degradation not shown: {shown} worse by more than {self.degradation:g}, "
                    f"but not beyond chance (alpha {found.alpha:g}, over {found.tests} "
                    f"metrics) on {found.n} predictions with feedback")

    def _check_volume(self, monitor: Any, triggers: list[str], fired: list[str],
                      calm: list[str], details: dict[str, Any]) -> None:
        if self.volume_drop is None:
            return
        volume = monitor.volume(self.volume_window, history=self.volume_history)
        if not volume.enough_history or not volume.median > 0:
            details["volume"] = {"count": volume.count, "note": "not enough history"}
            calm.append("volume not judged: not enough history")
            return
        drop = 1.0 - volume.count / volume.median
        details["volume"] = {"count": volume.count, "median": volume.median, "drop": drop,
                             "threshold": self.volume_drop}
        text = (f"{volume.count} predictions in the last {self.volume_window} against a "
                f"median of {volume.median:g}")
        if drop >= self.volume_drop:
            triggers.append("volume_drop")
            fired.append(f"volume drop: {text} ({_pct(drop)} fewer, threshold "
                         f"{_pct(self.volume_drop)})")
        else:
            calm.append(f"{text}")

    # -- guards ---------------------------------------------------------------------------

    def _guard_feedback(self, monitor: Any, production: Any, now: int, held: list[str],
                        details: dict[str, Any]) -> None:
        # New ground truth: feedback that arrived since the version was registered, for
        # predictions of any version logged up to one window before it (late feedback).
        from modelops.monitoring.windows import parse_window

        since = production.created_time
        table = monitor.client.predictions.read(monitor.model,
                                                since=since - parse_window(self.window),
                                                until=now)
        arrived = table.feedback_timestamps
        n = 0
        if len(arrived) == len(table):
            n = int((table.has_feedback & (arrived >= since)).sum())
        details["new_feedback"] = {"n": n, "needed": self.min_new_feedback, "since": since}
        if n < self.min_new_feedback:
            held.append(f"waiting for feedback: {n} predictions got feedback since "
                        f"{production.version} was registered, {self.min_new_feedback} needed")

    def _guard_cooldown(self, client: Any, model: str, now: int, held: list[str],
                        details: dict[str, Any]) -> None:
        cooldown = self.cooldown_ms()
        if not cooldown:
            return
        from modelops.lifecycle.lease import read_cycles

        try:
            last = read_cycles(client.store("registry"), model).last_trained()
        except NotFound:
            return
        if last is None or last.finished_at is None:
            return
        since = now - last.finished_at
        details["cooldown"] = {"last_cycle": last.cycle, "finished_at": last.finished_at,
                               "cooldown_ms": cooldown}
        if since < cooldown:
            held.append(f"cooling down: cycle {last.cycle[:12]} registered {last.version} "
                        f"{_age(since)} ago (cooldown {self.cooldown})")


def production_version(registry: Any, model: str) -> Any:
    """The production version of ``model`` in ``registry``, or None (also when the model is
    unknown)."""
    try:
        return registry.get_version(model, stage="production")
    except NotFound:
        return None
