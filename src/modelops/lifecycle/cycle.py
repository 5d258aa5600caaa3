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
import numpy as np

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
from modelops.errors import (
    AlreadyExists,
    InvalidInput,
    MissingDependency,
    NotFound,
    PromotionRefused,
)
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

#: What ``run_cycle(compare=...)`` can compare.
COMPARISONS = ("holdout", "registered")
#: The share of the window's predictions with feedback ``compare="holdout"`` keeps apart.
HOLDOUT_SHARE = 0.3
#: Fewer held-out predictions than this: no comparison, the promotion is refused.
MIN_HOLDOUT = 30


def _iso(ms: int) -> str:
    return utc_time(ms, "%Y-%m-%dT%H:%M:%SZ")


@attrs.frozen(kw_only=True)
class TrainContext:
    """What ``train_fn`` gets: the client, the model, the tracked run to log into, why it is
    retraining, the production version it replaces, and the data window
    ``[since, until)`` (Unix ms) of logged predictions to learn from.

    With ``run_cycle(..., compare="holdout")`` (the default) a share of the window's
    predictions with feedback is held out: :meth:`predictions` and :meth:`labelled` leave
    those out, and the cycle scores the new model and the production one on them; do not
    train on :meth:`holdout`.
    """

    ops: Any
    model: str
    cycle: str
    run: Any                              # the modelops ActiveRun of this cycle
    decision: RetrainDecision
    production: ModelVersion | None
    since: int
    until: int
    table: Any = None                     # the window's predictions, read once
    held_out: Any = None                  # a mask over ``table``: the held-out rows
    requested: list[str] = attrs.field(factory=list)   # features labelled() was asked for

    def _table(self) -> Any:
        if self.table is not None:
            return self.table
        return self.ops.predictions.read(self.model, since=self.since, until=self.until)

    def predictions(self, labelled: bool = True) -> Any:
        """The predictions logged in the data window (a ``PredictionTable``), only those
        with feedback unless ``labelled=False``; never the held-out ones."""
        table = self._table()
        keep = table.has_feedback if labelled else np.ones(len(table), dtype=bool)
        if self.held_out is not None:
            keep = keep & ~self.held_out
        return table.select(keep)

    def labelled(self, features: Sequence[str] | None = None, *,
                 as_frame: bool | None = None) -> tuple[Any, Any]:
        """``(X, y)`` from the data window's predictions that have feedback (the held-out
        ones left out): ``X`` holds ``features`` (default: every logged feature, in logged
        order), ``y`` the actuals. ``X`` is a 2-D float array when every feature is numeric,
        else a pandas DataFrame (categorical features as strings) — or as ``as_frame``
        says. ``InvalidInput`` names a feature that is missing."""
        return self._xy(self.predictions(), features, as_frame)

    def holdout(self, features: Sequence[str] | None = None, *,
                as_frame: bool | None = None) -> tuple[Any, Any]:
        """``(X, y)`` of the held-out predictions, as :meth:`labelled` gives them: what the
        cycle compares the new model and the production one on. Empty without a holdout."""
        table = self._table()
        mask = np.zeros(len(table), dtype=bool) if self.held_out is None else self.held_out
        return self._xy(table.select(mask), features, as_frame)

    def _xy(self, table: Any, features: Sequence[str] | None,
            as_frame: bool | None) -> tuple[Any, Any]:
        from modelops.lifecycle.scoring import column_values

        names = list(table.features) if features is None else list(features)
        if features is not None:
            self.requested[:] = names
        columns = {}
        for name in names:
            if name not in table.features:
                raise InvalidInput(f"no logged feature {name!r} in the data window "
                                   f"(logged: {', '.join(table.features) or 'none'})",
                                   field="features")
            columns[name] = column_values(table.features[name])
        numeric = all(c.dtype.kind in "fiub" for c in columns.values())
        y = np.asarray(table.actuals.tolist())
        if as_frame or (as_frame is None and not numeric):
            try:
                import pandas as pd
            except ImportError:
                raise MissingDependency("categorical features as a DataFrame",
                                        "pandas") from None
            return pd.DataFrame(columns, columns=names), y
        try:
            x = np.column_stack([np.asarray(c, dtype=np.float64) for c in columns.values()]) \
                if columns else np.zeros((len(table), 0))
        except (TypeError, ValueError):
            raise InvalidInput("a feature is not numeric; pass as_frame=True",
                               field="features") from None
        return x, y

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
              monitor: Any = None, compare: str = "holdout", holdout: float = HOLDOUT_SHARE,
              now: Callable[[], int] | int | None = None,
              data_rules: Sequence[Any] | None = None) -> CycleReport:
    """One retraining cycle of ``model``; safe to call from a scheduler every few minutes.

    :param ops: a ``modelops.Client``.
    :param train_fn: ``train_fn(context: TrainContext) -> (model, metrics)``; called only
        when retraining is due, inside a tracked run (``context.run``).
    :param policy: when to retrain (default ``RetrainPolicy()``).
    :param promotion: a promotion rule (``modelops.registry.MetricImprovement("f1", 0.01)``,
        ``Floors``, ``AllOf`` or any ``(candidate, incumbent) -> Decision`` callable),
        judged against the production version. None: register only.
    :param compare: what the rule compares. ``"holdout"`` (default): a share ``holdout`` of
        the data window's predictions with feedback is kept from ``train_fn``, and the new
        model and the production model are both scored on it, by the metric table's metrics
        for the task — the same data, the same day; the version is registered with those
        metrics and the recorded reason says so. Without enough of them (30) or a production
        model that cannot be scored on the logged features, the promotion is refused, saying
        why. ``"registered"``: the rule compares the metrics ``train_fn`` returned with those
        the production version was registered with, whenever and on whatever data.
    :param holdout: the share held out with ``compare="holdout"`` (0.3).
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
    if compare not in COMPARISONS:
        raise InvalidInput(f"expected one of {', '.join(COMPARISONS)}, got {compare!r}",
                           field="compare")
    if isinstance(holdout, bool) or not isinstance(holdout, (int, float)) or \
            not 0 < holdout < 1:
        raise InvalidInput(f"expected a share between 0 and 1, got {holdout!r}",
                           field="holdout")
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
        version, run_id, comparison = _train_and_register(
            ops, model, train_fn, got, decision, production, since, until,
            experiment or f"{model}-retraining", clock,
            holdout if compare == "holdout" else None)
        outcome, promotion_decision, message = _promote(
            registry, model, version, stage, alias, promotion, cycle,
            lambda: still_held(store, got, clock()), comparison)
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
                        since: int, until: int, experiment: str, clock: Callable[[], int],
                        holdout: float | None
                        ) -> tuple[ModelVersion, str, Comparison | None]:
    """Train inside a tracked run (failed if anything here fails), compare on the held-out
    predictions (with ``holdout``) and register."""
    triggers = ",".join(decision.triggers)
    replaced = None if production is None else production.version
    tags = {"modelops.cycle": lease.cycle, "modelops.trigger": triggers,
            "modelops.data_since": _iso(since), "modelops.data_until": _iso(until)}
    if replaced is not None:
        tags["modelops.replaces"] = replaced
    table = held = None
    if holdout is not None:
        table = ops.predictions.read(model, since=since, until=until)
        held = _hold_out(table, holdout)
    with ops.tracking.start_run(experiment=experiment, name=f"retrain-{model}",
                                tags=tags) as run:
        context = TrainContext(ops=ops, model=model, cycle=lease.cycle, run=run,
                               decision=decision, production=production, since=since,
                               until=until, table=table, held_out=held)
        fitted, metrics = _unpack(train_fn(context))
        if metrics:
            run.log_metrics(metrics)
        comparison = None
        if holdout is not None:
            comparison = _compare(context, fitted)
            if comparison.candidate:
                run.log_metrics({f"holdout_{k}": v for k, v in comparison.candidate.items()})
            if comparison.incumbent:
                run.log_metrics({f"holdout_production_{k}": v
                                 for k, v in comparison.incumbent.items()})
            metrics = {**metrics, **comparison.candidate}
            tags["modelops.compared_on"] = comparison.describe()
        still_held(ops.registry.store, lease, clock())
        lineage = Lineage(
            parent_version=replaced,
            training_data=f"predictions:{model}[{_iso(since)}, {_iso(until)})",
            notes=f"retrained by cycle {lease.cycle} ({triggers}): "
                  + "; ".join(decision.reasons))
        version = ops.registry.register(
            model, fitted, run=run, metrics=metrics, lineage=lineage, tags=tags,
            signature=_carried_signature(context, fitted),
            description=f"retrained ({triggers})"
                        + (f", replacing {replaced}" if replaced else ""))
        return version, run.run_id, comparison


def _carried_signature(context: TrainContext, fitted: Any) -> Any:
    """The production version's input signature, for a new model that takes the same
    columns in the same order — fitted on a frame of those names, or on the arrays
    ``labelled()`` gave for exactly those features — so a served model keeps its input
    contract across retraining; else None (a version never claims a contract it may not
    keep)."""
    from modelops.lifecycle.scoring import feature_names
    from modelops.validation import signature_of

    signature = None if context.production is None else signature_of(context.production)
    if signature is None:
        return None
    wanted = list(signature.names)
    names = feature_names(fitted)
    if names is not None:
        return signature if list(names) == wanted else None
    if context.requested == wanted and getattr(fitted, "n_features_in_", None) == len(wanted):
        return signature
    return None


def _hold_out(table: Any, share: float) -> Any:
    """A seeded random ``share`` of the rows with feedback (and a prediction) of ``table``."""
    from modelops.metrics.grouped import null_mask

    labelled = np.flatnonzero(table.has_feedback & ~null_mask(table.predictions))
    chosen = np.random.default_rng(0).permutation(labelled)[:round(share * len(labelled))]
    mask = np.zeros(len(table), dtype=bool)
    mask[chosen] = True
    return mask


@attrs.frozen(kw_only=True)
class Comparison:
    """The new model and the production model scored on the same held-out predictions."""

    n: int
    since: int
    until: int
    candidate: dict[str, float] = attrs.field(factory=dict)
    incumbent: dict[str, float] | None = None
    incumbent_version: str | None = None
    problem: str | None = None            # why they could not be compared

    def describe(self) -> str:
        where = (f"{self.n:,} held-out predictions with feedback of "
                 f"[{_iso(self.since)}, {_iso(self.until)})")
        if self.incumbent_version is None:
            scored = f"scored on {where}" if self.candidate else \
                "judged on the metrics train_fn returned"
            return f"{scored}; no production version to compare with"
        return f"the new model and production {self.incumbent_version} scored on the same {where}"


def _compare(context: TrainContext, fitted: Any) -> Comparison:
    """Score the trained model and the production one on the held-out predictions."""
    from modelops.lifecycle.scoring import score_model

    table = context.table.select(context.held_out)
    base = {"n": len(table), "since": context.since, "until": context.until}
    production = context.production
    version = None if production is None else production.version
    if len(table) < MIN_HOLDOUT:
        if production is None:   # nothing to compare with: the rule reads train_fn's metrics
            return Comparison(**base)
        return Comparison(incumbent_version=version, **base,
                          problem=f"only {len(table)} held-out predictions with feedback in "
                                  f"the data window, {MIN_HOLDOUT} needed to compare")
    from modelops.monitoring.settings import load_settings

    settings = load_settings(context.ops, context.model)
    actuals = table.actuals
    order = context.requested or None
    how = {"task": settings.task, "positive": settings.positive, "order": order}
    try:
        candidate = score_model(fitted, table.features, actuals, **how)
    except Exception as exc:  # a model that cannot predict on the logged features
        return Comparison(incumbent_version=version, **base,
                          problem=f"the new model could not be scored on the held-out "
                                  f"predictions: {type(exc).__name__}: {exc}")
    if production is None:
        return Comparison(candidate=candidate, **base)
    try:
        current = context.production_model()
        incumbent = score_model(current, table.features, actuals, **how)
    except Exception as exc:
        return Comparison(candidate=candidate, incumbent_version=version, **base,
                          problem=f"production {version} could not be scored on the "
                                  f"held-out predictions: {type(exc).__name__}: {exc}")
    return Comparison(candidate=candidate, incumbent=incumbent, incumbent_version=version,
                      **base)


def _promote(registry: Any, model: str, version: ModelVersion, stage: str | None,
             alias: str | None, promotion: Any, cycle: str,
             check_lease: Callable[[], None],
             comparison: Comparison | None) -> tuple[str, Decision | None, str]:
    """Apply the rule against production; promote to the target, or say why not."""
    v = version.version
    if promotion is None:
        return "registered", None, f"registered {v}; no promotion rule given, left in " \
                                   "development"
    reason = f"retraining cycle {cycle[:12]}"
    check_lease()
    if comparison is not None:
        return _promote_compared(registry, model, version, stage, alias, promotion, reason,
                                 comparison)
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


def _promote_compared(registry: Any, model: str, version: ModelVersion, stage: str | None,
                      alias: str | None, promotion: Any, reason: str,
                      comparison: Comparison) -> tuple[str, Decision | None, str]:
    """The rule judges both models' held-out metrics; the registry records its decision."""
    from modelops.registry.policies import apply_rule

    v = version.version
    said = comparison.describe()
    if comparison.problem is not None:
        decision = Decision(promote=False, candidate=v, incumbent=comparison.incumbent_version,
                            reason=f"{said}: {comparison.problem}; pass compare='registered' "
                                   "to compare registered metrics instead")
    else:
        incumbent = None
        if comparison.incumbent_version is not None:
            held = registry.get_version(model, comparison.incumbent_version)
            incumbent = attrs.evolve(held, metrics=comparison.incumbent)
        # the version holds train_fn's metrics with the held-out ones over them
        judged = apply_rule(promotion, version, incumbent)
        decision = attrs.evolve(judged, reason=f"{said}: {judged.reason}")

    def as_compared(candidate: ModelVersion, holder: ModelVersion | None) -> Decision:
        # production changed hands since the comparison: what was compared is moot
        if stage == Stage.PRODUCTION.value and decision.promote and \
                (None if holder is None else holder.version) != comparison.incumbent_version:
            return Decision(promote=False, candidate=v,
                            incumbent=None if holder is None else holder.version,
                            reason=f"production is {holder.version if holder else 'empty'} "
                                   f"now, not {comparison.incumbent_version} as compared")
        return decision

    where = stage if stage is not None else f"alias {alias!r}"
    try:
        event = registry.promote(model, v, stage=stage, alias=alias, policy=as_compared,
                                 reason=reason)
    except PromotionRefused as refused:
        return "refused", refused.decision, \
            f"registered {v}, not promoted: {refused.decision.reason}"
    return "promoted", event.decision, f"registered {v} and promoted it to {where}"
