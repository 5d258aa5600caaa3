"""``run_cycle``: check the policy; if due, retrain, register with lineage, promote or say why
not — once per model at a time, however many schedulers call it.

::

    report = run_cycle(ops, "fraud", train, policy=RetrainPolicy(drift_share=0.3),
                       promotion=MetricImprovement("f1", 0.01))
    print(report)          # what happened and why; report.status says it in one word

A cycle:

1. reads the model's cycle history; a live lease elsewhere makes this call ``busy``;
2. asks the policy (``RetrainPolicy.evaluate``) about the production version's monitor; not
   due: ``skipped``, nothing is written;
3. takes the cycle lease (see ``modelops.lifecycle.lease``); lost to another process that
   decided at the same moment: ``busy``;
4. checks the data window's labelled predictions against ``data_rules`` when given; a broken
   ``error`` rule stops the cycle (``invalid_data``) before anything is trained;
5. calls ``train_fn(context) -> (model, metrics)`` inside a tracked run;
6. registers the model with lineage: the version it replaces, the triggers, the data window;
7. applies the promotion rule against production and promotes to ``target`` (``promoted``),
   or records why not (``refused``); with no rule, the version stays in development
   (``registered``);
8. releases the lease with the outcome, which the model's history keeps.

A failing ``train_fn`` marks the run failed, releases the lease with the error, and raises.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from modelops._ids import new_id, now_ms
from modelops._time import utc_time
from modelops.entities.registry import (
    Decision,
    Lineage,
    ModelVersion,
    RegisteredModel,
    Stage,
    check_alias,
    check_metrics,
)
from modelops.entities.validators import check_name
from modelops.errors import AlreadyExists, InvalidInput, NotFound, PromotionRefused
from modelops.lifecycle.lease import (
    CycleLog,
    CycleRecord,
    acquire,
    is_current,
    read_cycles,
    release,
    still_held,
)
from modelops.lifecycle.policy import RetrainDecision, RetrainPolicy, production_version

#: What ``CycleReport.status`` can be.
STATUSES = ("skipped", "busy", "promoted", "registered", "refused", "invalid_data")


def _iso(ms: int) -> str:
    return utc_time(ms, "%Y-%m-%dT%H:%M:%SZ")


@attrs.frozen(kw_only=True)
class TrainContext:
    """What ``train_fn`` gets: the client, the model, the tracked run to log into, why it is
    retraining, the production version it replaces, and the data window
    ``[since, until)`` (Unix ms) of logged predictions to learn from."""

    ops: Any
    model: str
    cycle: str
    run: Any                              # the modelops ActiveRun of this cycle
    decision: RetrainDecision
    production: ModelVersion | None
    since: int
    until: int

    def predictions(self, labelled: bool = True) -> Any:
        """The predictions logged in the data window (a ``PredictionTable``), only those
        with feedback unless ``labelled=False``."""
        table = self.ops.predictions.read(self.model, since=self.since, until=self.until)
        return table.select(table.has_feedback) if labelled else table

    def labelled(self, features: Sequence[str] | None = None) -> tuple[Any, Any]:
        """``(X, y)`` from the data window's predictions that have feedback: ``X`` a 2-D
        float array of ``features`` (default: every logged feature, in logged order), ``y``
        the actuals. ``InvalidInput`` names a feature that is missing or not numeric."""
        import numpy as np

        table = self.predictions()
        names = list(table.features) if features is None else list(features)
        columns = []
        for name in names:
            if name not in table.features:
                raise InvalidInput(f"no logged feature {name!r} in the data window "
                                   f"(logged: {', '.join(table.features) or 'none'})",
                                   field="features")
            try:
                columns.append(np.asarray(table.features[name], dtype=np.float64))
            except (TypeError, ValueError):
                raise InvalidInput(f"feature {name!r} is not numeric; read "
                                   "context.predictions() and encode it", field="features") \
                    from None
        x = np.column_stack(columns) if columns else np.zeros((len(table), 0))
        return x, np.asarray(table.actuals.tolist())

    def frame(self, labelled: bool = True) -> dict[str, Any]:
        """The data window's predictions as columns: each logged feature, ``prediction``
        and ``actual`` (what ``data_rules`` are checked on)."""
        table = self.predictions(labelled)
        return {**dict(table.features), "prediction": table.predictions,
                "actual": table.actuals}

    def production_model(self) -> Any:
        """The production model, loaded (None when there is none)."""
        if self.production is None:
            return None
        return self.ops.registry.load(self.model, self.production.version)


@attrs.frozen(kw_only=True)
class CycleReport:
    """What one ``run_cycle`` call did.

    ``status``: ``skipped`` (the policy said not yet), ``busy`` (another cycle holds the
    lease, or started since the decision), ``promoted``, ``registered`` (no promotion rule),
    ``refused`` (the rule said no; ``promotion`` says why), or ``invalid_data`` (the data
    window broke an ``error`` rule of ``data_rules``; ``validation`` has the issues, and
    nothing was trained). ``version`` is the version this cycle registered, ``replaced`` the
    production version when it started.
    """

    model: str
    status: str
    decision: RetrainDecision | None = None
    cycle: str | None = None
    version: ModelVersion | None = None
    replaced: str | None = None
    target: str = "production"
    promotion: Decision | None = None
    run_id: str | None = None
    blocked_by: CycleRecord | None = None
    started_at: int = 0
    finished_at: int = 0
    message: str = ""
    validation: Any = None               # the data rules' ValidationResult, when checked

    @property
    def trained(self) -> bool:
        return self.version is not None

    @property
    def promoted(self) -> bool:
        return self.status == "promoted"

    def to_dict(self) -> dict[str, Any]:
        """The report as plain data (JSON-ready)."""
        blocked = self.blocked_by
        return {
            "model": self.model, "status": self.status, "message": self.message,
            "cycle": self.cycle, "target": self.target, "replaced": self.replaced,
            "version": None if self.version is None else self.version.version,
            "run_id": self.run_id, "started_at": self.started_at,
            "finished_at": self.finished_at,
            "decision": None if self.decision is None else self.decision.to_dict(),
            "promotion": None if self.promotion is None else self.promotion.to_dict(),
            "validation": None if self.validation is None else self.validation.to_dict(),
            "blocked_by": None if blocked is None else {
                "cycle": blocked.cycle, "holder": blocked.holder,
                "started_at": blocked.started_at, "expires_at": blocked.expires_at,
                "finished": blocked.finished},
        }

    def __str__(self) -> str:
        lines = [f"{self.model}: {self.status} — {self.message}"]
        if self.decision is not None:
            lines += [f"  {'why' if self.decision.retrain else 'checked'}: {r}"
                      for r in self.decision.reasons]
        if self.promotion is not None:
            lines.append(f"  promotion rule: {self.promotion.reason}")
        return "\n".join(lines)


def _clock(now: Callable[[], int] | int | None) -> Callable[[], int]:
    if now is None:
        return now_ms
    if callable(now):
        return lambda: int(now())
    if isinstance(now, int) and not isinstance(now, bool):
        return lambda: now
    raise InvalidInput(f"expected a callable returning Unix ms, or an int, got {now!r}",
                       field="now")


def _target(target: Any) -> tuple[str | None, str | None]:
    """(stage, alias) from ``"production"``, ``"staging"`` or ``"@alias"``."""
    if isinstance(target, str) and target.startswith("@"):
        return None, check_alias(target[1:], "target")
    stage = Stage.parse(target)
    if stage not in (Stage.PRODUCTION, Stage.STAGING):
        raise InvalidInput(f"a retrained version goes to production, staging or an alias "
                           f"('@challenger'), not {stage.value}", field="target")
    return stage.value, None


def _ensure_model(registry: Any, model: str) -> None:
    """Make the model's registry record (a first cycle trains its first version)."""
    try:
        registry.get_model(model)
    except NotFound:
        from modelops.registry.service import _user

        RegisteredModel(name=model)  # validates the name
        with contextlib.suppress(AlreadyExists):
            registry.store.create_model(RegisteredModel(name=model, created_time=now_ms(),
                                                        creator=_user()))
        registry.get_model(model)    # NotFound for a deleted model: restore_model it first


def _unpack(result: Any) -> tuple[Any, dict[str, float]]:
    if not isinstance(result, tuple) or len(result) != 2:
        raise InvalidInput(f"train_fn must return (model, metrics), got "
                           f"{type(result).__name__}", field="train_fn")
    fitted, metrics = result
    if fitted is None:
        raise InvalidInput("train_fn returned no model", field="train_fn")
    if not isinstance(metrics, Mapping):
        raise InvalidInput(f"train_fn must return (model, metrics) with metrics a mapping, got "
                           f"{type(metrics).__name__}", field="train_fn")
    return fitted, check_metrics(metrics, field="train_fn metrics")


def run_cycle(ops: Any, model: str, train_fn: Callable[[TrainContext], Any], *,
              policy: RetrainPolicy | None = None, promotion: Any = None,
              target: str = "production", experiment: str | None = None,
              data_window: Any = None, force: bool = False, lease: Any = "1h",
              monitor: Any = None, now: Callable[[], int] | int | None = None,
              data_rules: Sequence[Any] | None = None) -> CycleReport:
    """One retraining cycle of ``model``; safe to call from a scheduler every few minutes.

    :param ops: a ``modelops.Client``.
    :param train_fn: ``train_fn(context: TrainContext) -> (model, metrics)``; called only
        when retraining is due, inside a tracked run (``context.run``).
    :param policy: when to retrain (default ``RetrainPolicy()``).
    :param promotion: a promotion rule (``modelops.registry.MetricImprovement("f1", 0.01)``,
        ``Floors``, ``AllOf`` or any ``(candidate, incumbent) -> Decision`` callable),
        judged against the production version. None: register only.
    :param target: where a promoted version goes: ``"production"`` (default),
        ``"staging"`` or an alias ``"@challenger"`` (to route it as a challenger first).
    :param experiment: the tracking experiment of the run (default ``"<model>-retraining"``).
    :param data_window: how far back ``context`` reaches for training data (default: the
        policy's ``window``).
    :param force: retrain without asking the policy (the lease still applies).
    :param lease: how long the lease lasts (``"1h"``): a crashed cycle blocks others this long
        at most; a cycle running longer may be taken over, and then writes nothing more.
    :param monitor: the monitor the policy judges (default: ``ops.monitor(model, <production
        version>)``).
    :param now: a callable returning Unix ms (or a fixed int), for tests.
    :param data_rules: data rules (``modelops.validation.rules``) the data window's labelled
        predictions must keep (checked on ``context.frame()``: the logged features,
        ``prediction`` and ``actual``) before anything is trained; a broken ``error`` rule
        ends the cycle as ``invalid_data``, with the issues in ``report.validation``.
    """
    model = check_name(model, "model")
    if not callable(train_fn):
        raise InvalidInput(f"expected a callable train_fn(context), got "
                           f"{type(train_fn).__name__}", field="train_fn")
    policy = RetrainPolicy() if policy is None else policy
    if not isinstance(policy, RetrainPolicy):
        raise InvalidInput(f"expected a RetrainPolicy, got {type(policy).__name__}",
                           field="policy")
    if promotion is not None and not callable(promotion):
        raise InvalidInput(f"expected a promotion rule (a callable), got "
                           f"{type(promotion).__name__}", field="promotion")
    stage, alias = _target(target)
    from modelops.monitoring.windows import parse_window

    lease_ms = parse_window(lease, "lease")
    window_ms = parse_window(policy.window if data_window is None else data_window,
                             "data_window")
    if experiment is not None:
        check_name(experiment, "experiment")
    clock = _clock(now)
    registry = ops.registry
    store = registry.store
    target_name = stage or f"@{alias}"

    try:
        observed = read_cycles(store, model)
    except NotFound:                    # a model never registered: its first cycle trains it
        observed = CycleLog()
    started = clock()
    live = observed.live(started)
    if live is not None:
        return CycleReport(model=model, status="busy", target=target_name, blocked_by=live,
                           started_at=started, finished_at=clock(),
                           message=f"cycle {live.cycle[:12]} of {live.holder} holds the lease "
                                   f"until {_iso(live.expires_at)}")
    production = production_version(registry, model)
    replaced = None if production is None else production.version
    if force:
        decision = RetrainDecision.forced(model, replaced, started)
    else:
        if monitor is None:
            monitor = ops.monitor(model, None if production is None else production.version,
                                  now=clock)
        decision = policy.evaluate(monitor)
    if not decision.retrain:
        return CycleReport(model=model, status="skipped", decision=decision,
                           target=target_name, started_at=started, finished_at=clock(),
                           replaced=replaced, message="retraining is not due")

    from modelops.registry.service import _user

    _ensure_model(registry, model)
    cycle = new_id()
    actor = _user()
    got = acquire(store, model, cycle=cycle, ttl_ms=lease_ms, observed_seq=observed.seq,
                  now=clock, actor=actor, reason=str(decision), triggers=decision.triggers)
    if isinstance(got, CycleRecord):
        why = "holds the lease" if got.live(clock()) else "ran since this decision"
        return CycleReport(model=model, status="busy", decision=decision, target=target_name,
                           blocked_by=got, started_at=started, finished_at=clock(),
                           replaced=replaced,
                           message=f"cycle {got.cycle[:12]} of {got.holder} {why}")

    until = clock()
    since = until - window_ms
    checked = None
    if data_rules:
        checked = _check_data(ops, model, cycle, decision, production, since, until,
                              data_rules)
        if not checked.passed:
            message = "the data window broke data rules: " + "; ".join(
                f"{i.check} ({i.count} rows)" if i.count else i.check for i in checked.errors)
            release(store, got, outcome="invalid_data", version=None, reason=message,
                    now=clock, actor=actor)
            return CycleReport(model=model, status="invalid_data", decision=decision,
                               cycle=cycle, replaced=replaced, target=target_name,
                               started_at=started, finished_at=clock(), message=message,
                               validation=checked)
    try:
        version, run_id = _train_and_register(
            ops, model, train_fn, got, decision, production, since, until,
            experiment or f"{model}-retraining", clock)
        outcome, promotion_decision, message = _promote(
            registry, model, version, stage, alias, promotion, cycle,
            lambda: still_held(store, got, clock()))
    except BaseException as exc:
        if is_current(store, got):             # not taken over: free it, saying why
            release(store, got, outcome="failed", version=None,
                    reason=f"{type(exc).__name__}: {exc}", now=clock, actor=actor)
        raise
    release(store, got, outcome=outcome, version=version.version, reason=message, now=clock,
            actor=actor)
    if outcome == "promoted":
        version = registry.get_version(model, version.version)
    return CycleReport(model=model, status=outcome, decision=decision, cycle=cycle,
                       version=version, replaced=replaced, target=target_name,
                       promotion=promotion_decision, run_id=run_id, started_at=started,
                       finished_at=clock(), message=message, validation=checked)


def _check_data(ops: Any, model: str, cycle: str, decision: RetrainDecision,
                production: ModelVersion | None, since: int, until: int,
                data_rules: Sequence[Any]) -> Any:
    from modelops.validation import check_rules

    context = TrainContext(ops=ops, model=model, cycle=cycle, run=None, decision=decision,
                           production=production, since=since, until=until)
    return check_rules(context.frame(), list(data_rules))


def _train_and_register(ops: Any, model: str, train_fn: Callable[[TrainContext], Any],
                        lease: Any, decision: RetrainDecision, production: ModelVersion | None,
                        since: int, until: int, experiment: str,
                        clock: Callable[[], int]) -> tuple[ModelVersion, str]:
    """Train inside a tracked run (failed if anything here fails) and register."""
    triggers = ",".join(decision.triggers)
    replaced = None if production is None else production.version
    tags = {"modelops.cycle": lease.cycle, "modelops.trigger": triggers,
            "modelops.data_since": _iso(since), "modelops.data_until": _iso(until)}
    if replaced is not None:
        tags["modelops.replaces"] = replaced
    with ops.tracking.start_run(experiment=experiment, name=f"retrain-{model}",
                                tags=tags) as run:
        context = TrainContext(ops=ops, model=model, cycle=lease.cycle, run=run,
                               decision=decision, production=production, since=since,
                               until=until)
        fitted, metrics = _unpack(train_fn(context))
        if metrics:
            run.log_metrics(metrics)
        still_held(ops.registry.store, lease, clock())
        lineage = Lineage(
            parent_version=replaced,
            training_data=f"predictions:{model}[{_iso(since)}, {_iso(until)})",
            notes=f"retrained by cycle {lease.cycle} ({triggers}): "
                  + "; ".join(decision.reasons))
        version = ops.registry.register(
            model, fitted, run=run, metrics=metrics, lineage=lineage, tags=tags,
            description=f"retrained ({triggers})"
                        + (f", replacing {replaced}" if replaced else ""))
        return version, run.run_id


def _promote(registry: Any, model: str, version: ModelVersion, stage: str | None,
             alias: str | None, promotion: Any, cycle: str,
             check_lease: Callable[[], None]) -> tuple[str, Decision | None, str]:
    """Apply the rule against production; promote to the target, or say why not."""
    v = version.version
    if promotion is None:
        return "registered", None, f"registered {v}; no promotion rule given, left in " \
                                   "development"
    reason = f"retraining cycle {cycle[:12]}"
    check_lease()
    if stage == Stage.PRODUCTION.value:
        try:
            event = registry.promote(model, v, stage=stage, policy=promotion, reason=reason)
        except PromotionRefused as refused:
            decision = refused.decision
            return "refused", decision, f"registered {v}, not promoted: {decision.reason}"
        return "promoted", event.decision, f"registered {v} and promoted it to production"
    decision = registry.evaluate(model, v, promotion, against="production")
    if not decision.promote:
        return "refused", decision, f"registered {v}, not promoted: {decision.reason}"
    registry.promote(model, v, stage=stage, alias=alias, reason=f"{reason}: {decision.reason}")
    where = stage if stage is not None else f"alias {alias!r}"
    return "promoted", decision, f"registered {v} and promoted it to {where}"
