"""Champion/challenger routing: ``ops.router(model, champion="production",
challenger="staging", share=0.1)``.

Each request key (a user id, a device, an account) is hashed with SHA-256 together with
the router's ``salt``; the first 64 bits, read as a number in [0, 1), send the request to the
challenger when below ``share``. So the same key always gets the same version, in every
process and on every machine, with no state to share; and Python's ``hash()``, which is
randomised per process, is never used.

Every prediction served through the router is logged by the prediction logger of the version
that served it, with ``{"route": "champion" | "challenger", "router": <salt>}`` in its
metadata; ``evaluate()`` compares the two versions on the routed predictions that got
feedback, and ``conclude()`` acts on the answer through the registry.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from modelops.entities.registry import ModelVersion, RegistryEvent, Stage, check_alias
from modelops.entities.validators import check_name
from modelops.errors import InvalidInput, NotFound, PromotionRefused

ROLES = ("champion", "challenger")
VERDICTS = ("better", "worse", "unknown")
_TWO_64 = float(2 ** 64)


@attrs.frozen
class Assignment:
    """Where one request key goes: its ``role`` and the ``version`` serving it; ``bucket``
    is the key's position in [0, 1) (challenger when below the share)."""

    key: str
    role: str
    version: str
    bucket: float


@attrs.frozen(kw_only=True)
class RoutedPrediction:
    """A prediction served through the router, as logged."""

    id: str
    key: str
    role: str
    version: str
    prediction: Any
    probability: float | None
    latency_ms: float


@attrs.frozen(kw_only=True)
class Evaluation:
    """The challenger against the champion on routed predictions that got feedback.

    ``verdict`` is ``better`` or ``worse`` when the test's p-value is below ``alpha``, else
    ``unknown``; ``difference`` is challenger minus champion (for ``mae``/``mse`` a negative
    difference is an improvement). ``needed`` is how many more challenger predictions with
    feedback a test of ``power`` needs to detect ``planned_effect`` (``min_effect`` if given,
    else the difference observed); ``needed_requests`` the routed requests that takes at
    the router's share. Both are 0 once decided, None when there is nothing to plan on.
    """

    model: str
    metric: str
    champion: str
    challenger: str
    n_champion: int
    n_challenger: int
    champion_value: float
    challenger_value: float
    difference: float
    higher_is_better: bool
    test: str
    statistic: float
    pvalue: float
    alpha: float
    power: float
    verdict: str
    planned_effect: float | None
    needed: int | None
    needed_requests: int | None
    since: int
    until: int
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in attrs.fields(type(self))}

    def __str__(self) -> str:
        return self.message


@attrs.frozen(kw_only=True)
class Conclusion:
    """What ``conclude()`` did: ``promoted`` the challenger, ``retired`` it (archived),
    ``continue`` (not known yet: keep routing), or ``refused`` (the promotion rule said no;
    ``decision`` says why)."""

    action: str
    evaluation: Evaluation
    event: RegistryEvent | None = None
    decision: Any = None
    message: str = ""

    def __str__(self) -> str:
        return self.message


def _share(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or \
            not math.isfinite(value) or not 0 <= value <= 1:
        raise InvalidInput(f"expected a number from 0 to 1, got {value!r}", field="share")
    return float(value)


def _key(key: Any) -> tuple[str, bytes]:
    if isinstance(key, bool):
        raise InvalidInput(f"expected a str, int or bytes key, got {key!r}", field="key")
    if isinstance(key, str):
        return key, key.encode("utf-8", "surrogatepass")
    if isinstance(key, int):
        text = str(key)
        return text, text.encode()
    if isinstance(key, (bytes, bytearray)):
        return bytes(key).hex(), bytes(key)
    raise InvalidInput(f"expected a str, int or bytes key, got {type(key).__name__}",
                       field="key")


def _probability(x: float, field: str) -> float:
    if isinstance(x, bool) or not isinstance(x, (int, float)) or not 0 < x < 1:
        raise InvalidInput(f"expected a number between 0 and 1, got {x!r}", field=field)
    return float(x)


class Router:
    """Routes requests of ``model`` between a champion and a challenger version.

    ``champion`` and ``challenger`` name a stage (``"production"``, ``"staging"``), an alias
    (``"@challenger"``) or a version (``"1.3.0"``); they are resolved once, when the router
    is made. ``share`` of the keys go to the challenger. ``salt`` makes the split of one
    experiment independent of another's (default ``"<model>/<challenger version>"``); keep it
    to keep every key's assignment. ``logger_options`` go to each version's prediction
    logger. Thread-safe; use it as a context manager, or ``close()`` it, to flush the logs.
    """

    def __init__(self, client: Any, model: str, champion: str = "production",
                 challenger: str = "staging", share: float = 0.1, *, salt: str | None = None,
                 logger_options: Mapping[str, Any] | None = None) -> None:
        self.client = client
        self.model = check_name(model, "model")
        self.share = _share(share)
        registry = client.registry
        self.champion_spec = champion
        self.challenger_spec = challenger
        self.champion = _resolve(registry, self.model, champion, "champion")
        self.challenger = _resolve(registry, self.model, challenger, "challenger")
        if self.champion.version == self.challenger.version:
            raise InvalidInput(f"champion and challenger are both version "
                               f"{self.champion.version}", field="challenger")
        if salt is not None and (not isinstance(salt, str) or not salt):
            raise InvalidInput(f"expected a non-empty string, got {salt!r}", field="salt")
        self.salt = salt if salt is not None else f"{self.model}/{self.challenger.version}"
        self._prefix = self.salt.encode("utf-8", "surrogatepass") + b"\x00"
        self._logger_options = dict(logger_options or {})
        self._loggers: dict[str, Any] = {}
        self._models: dict[str, Any] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return (f"<Router {self.model!r} champion={self.champion.version} "
                f"challenger={self.challenger.version} share={self.share:g}>")

    @property
    def versions(self) -> dict[str, str]:
        """``{"champion": version, "challenger": version}``."""
        return {"champion": self.champion.version, "challenger": self.challenger.version}

    # -- routing --------------------------------------------------------------------------

    def bucket(self, key: Any) -> float:
        """The key's position in [0, 1): SHA-256 of the salt and the key, first 64 bits."""
        _, raw = _key(key)
        digest = hashlib.sha256(self._prefix + raw).digest()
        return int.from_bytes(digest[:8], "big") / _TWO_64

    def assign(self, key: Any) -> Assignment:
        """The version that serves ``key`` (a str, int or bytes)."""
        text, raw = _key(key)
        bucket = int.from_bytes(hashlib.sha256(self._prefix + raw).digest()[:8], "big") / _TWO_64
        role = "challenger" if bucket < self.share else "champion"
        version = self.challenger.version if role == "challenger" else self.champion.version
        return Assignment(text, role, version, bucket)

    def assign_many(self, keys: Iterable[Any]) -> list[Assignment]:
        """``assign`` for each key, in order."""
        return [self.assign(k) for k in keys]

    # -- serving --------------------------------------------------------------------------

    def logger(self, role: str) -> Any:
        """The prediction logger of the champion's or the challenger's version."""
        version = self._version_of(role)
        with self._lock:
            log = self._loggers.get(version)
            if log is None:
                log = self._loggers[version] = self.client.predictions.logger(
                    self.model, version=version, **self._logger_options)
            return log

    def load(self, role: str) -> Any:
        """The champion's or the challenger's model, loaded once (digests verified)."""
        version = self._version_of(role)
        with self._lock:
            if version not in self._models:
                self._models[version] = self.client.registry.load(self.model, version)
            return self._models[version]

    def _version_of(self, role: str) -> str:
        if role == "champion":
            return self.champion.version
        if role == "challenger":
            return self.challenger.version
        raise InvalidInput(f"expected 'champion' or 'challenger', got {role!r}", field="role")

    def log(self, key: Any, features: Mapping[str, Any], prediction: Any,
            probability: float | None = None, latency_ms: float | None = None, *,
            metadata: Mapping[str, Any] | None = None, timestamp: int | None = None,
            id: str | None = None) -> str:
        """Log a prediction made for ``key`` by the version the key is assigned to (served
        elsewhere); returns the prediction id for ``feedback``."""
        assignment = key if isinstance(key, Assignment) else self.assign(key)
        meta = dict(metadata or {})
        meta.update(route=assignment.role, router=self.salt)
        return self.logger(assignment.role).log(
            features, prediction, probability=probability, latency_ms=latency_ms, id=id,
            timestamp=timestamp, metadata=meta)

    def predict(self, key: Any, features: Mapping[str, Any], *,
                timestamp: int | None = None) -> RoutedPrediction:
        """Serve one request: pick the version for ``key``, predict with its model on the
        features (one row), log the prediction, return it.

        A model fitted on named columns (scikit-learn's ``feature_names_in_``: a pipeline
        with a ``ColumnTransformer`` over categorical inputs, say) gets a one-row pandas
        DataFrame of its training columns in their order; any other model a 1×n array of the
        features in the mapping's order. With ``predict_proba``, the logged probability is
        the positive class's for a binary classifier — the model's monitoring setting
        ``positive`` when stored (``ops.registry.set_monitoring``), else the second class,
        what the monitor's ROC AUC expects — and the predicted class's otherwise."""
        from modelops.lifecycle.scoring import model_input, predict_scores

        if not isinstance(features, Mapping):
            raise InvalidInput(f"expected a mapping of feature to value, got "
                               f"{type(features).__name__}", field="features")
        assignment = self.assign(key)
        model = self.load(assignment.role)
        row = model_input(model, {name: [value] for name, value in features.items()})
        started = time.perf_counter()
        predictions, score, proba = predict_scores(model, row, self._positive())
        prediction = predictions[0]
        probability = None
        if score is not None:
            probability = float(score[0])
        elif proba is not None:
            probability = float(proba[0].max())
        latency = (time.perf_counter() - started) * 1000
        prediction = prediction.item() if hasattr(prediction, "item") else prediction
        pid = self.log(assignment, features, prediction, probability, latency,
                       timestamp=timestamp)
        return RoutedPrediction(id=pid, key=assignment.key, role=assignment.role,
                                version=assignment.version, prediction=prediction,
                                probability=probability, latency_ms=latency)

    def _positive(self) -> Any:
        """The model's positive label from its monitoring settings, or None; read once."""
        if not hasattr(self, "_stored_positive"):
            from modelops.monitoring.settings import load_settings

            self._stored_positive = load_settings(self.client, self.model).positive
        return self._stored_positive

    def feedback(self, id: str, actual: Any, timestamp: int | None = None) -> None:
        """Record the ground truth of a routed prediction (whichever version served it)."""
        self.logger("champion").feedback(id, actual, timestamp)

    def flush(self, timeout: float | None = None) -> bool:
        """Write every logged prediction and feedback; True once stored."""
        with self._lock:
            loggers = list(self._loggers.values())
        return all([log.flush(timeout) for log in loggers])

    def close(self) -> None:
        """Flush and close the loggers."""
        with self._lock:
            loggers = list(self._loggers.values())
            self._loggers.clear()
        for log in loggers:
            log.close()

    def __enter__(self) -> Router:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- judging --------------------------------------------------------------------------

    def evaluate(self, metric: Any = "accuracy", *, window: Any = "7d", alpha: float = 0.05,
                 power: float = 0.8, min_effect: float | None = None, positive: Any = None,
                 higher_is_better: bool | None = None, resamples: int = 2_000, seed: int = 0,
                 now: int | None = None) -> Evaluation:
        """Compare the challenger with the champion on this router's predictions of the
        last ``window`` that got feedback (logged predictions are flushed first).

        ``metric`` is any metric of the metric table, by a canonical name or alias —
        accuracy, precision, recall, f1, roc_auc, log_loss, mae, mse, … — or a callable
        ``metric(y_true, y_pred)`` / ``metric(y_true, y_pred, score) -> float`` (higher is
        better unless ``higher_is_better=False``). Each is tested as
        ``modelops.lifecycle.judge`` says: two proportions for accuracy, precision and recall
        (Fisher's exact test for small counts), Welch's t-test for mae, mse and log loss,
        DeLong's test for ROC AUC, a permutation test (``resamples``, ``seed``) for F1 and
        the rest. ``positive`` is the positive label (default: the model's monitoring
        setting, else 1/True). ``better``/``worse`` at p < ``alpha``. ``min_effect``: the
        smallest difference worth detecting, for ``needed`` (default: the observed one).

        Looking at the result again and again as data arrives and stopping at the first
        p < alpha raises the false-positive rate above ``alpha``: decide on the sample
        ``needed`` gives, or use a smaller ``alpha`` for repeated looks.
        """

        from modelops.lifecycle.judge import Groups, comparison_for
        from modelops.metrics.grouped import null_mask
        from modelops.monitoring.windows import parse_window

        alpha = _probability(alpha, "alpha")
        power = _probability(power, "power")
        if min_effect is not None and (isinstance(min_effect, bool) or
                                       not isinstance(min_effect, (int, float)) or
                                       not min_effect > 0 or not math.isfinite(min_effect)):
            raise InvalidInput(f"expected a positive number, got {min_effect!r}",
                               field="min_effect")
        if isinstance(resamples, bool) or not isinstance(resamples, int) or resamples < 99:
            raise InvalidInput(f"expected a whole number of at least 99, got {resamples!r}",
                               field="resamples")
        width = parse_window(window)
        self.flush()
        if now is None:
            from modelops._ids import now_ms

            # The window ends after this millisecond: what was logged in it counts (an
            # evaluation right after logging would otherwise miss the last predictions).
            now = now_ms() + 1
        since = int(now) - width
        table = self.client.predictions.read(self.model, since=since, until=int(now))
        roles = self._roles(table)
        scored = table.has_feedback & (roles >= 0) & ~null_mask(table.predictions)
        roles = roles[scored]
        predictions = table.predictions[scored]
        actuals = table.actuals[scored]
        scores = table.probabilities[scored]
        labels = tuple(dict.fromkeys([*actuals.tolist(), *predictions.tolist()]))
        comparison = comparison_for(
            metric, positive=self._positive() if positive is None else positive,
            labels=labels if len(labels) <= 2 else (), higher_is_better=higher_is_better,
            resamples=resamples, seed=seed)
        a, b = roles == 0, roles == 1
        if comparison.needs_score:   # rows logged without a probability say nothing of it
            import numpy as np

            unscored = np.isnan(np.asarray(scores, dtype=np.float64))
            a, b = a & ~unscored, b & ~unscored
        groups = Groups(predictions[a], actuals[a], scores[a], predictions[b], actuals[b],
                        scores[b])
        ratio = (1 - self.share) / self.share if 0 < self.share < 1 else 1.0
        return self._judge(comparison, groups, alpha, power, min_effect, ratio, since,
                           int(now))

    def _roles(self, table: Any) -> Any:
        """0 for this router's champion rows, 1 for its challenger rows, -1 for the rest."""
        import numpy as np

        out = np.full(len(table), -1, dtype=np.int8)
        if len(table.metadata) != len(table):
            return out
        versions = table.versions.tolist()
        champion, challenger = self.champion.version, self.challenger.version
        for i, meta in enumerate(table.metadata.tolist()):
            if isinstance(meta, dict) and meta.get("router") == self.salt:
                if versions[i] == champion:
                    out[i] = 0
                elif versions[i] == challenger:
                    out[i] = 1
        return out

    def _judge(self, comparison: Any, groups: Any, alpha: float, power: float,
               min_effect: float | None, ratio: float, since: int, until: int) -> Evaluation:
        metric, higher = comparison.name, comparison.higher_is_better
        n1, n2 = groups.sizes
        m1, m2 = comparison.values(groups)
        diff = m2 - m1
        base = {"model": self.model, "metric": metric, "champion": self.champion.version,
                "challenger": self.challenger.version, "n_champion": n1, "n_challenger": n2,
                "champion_value": m1, "challenger_value": m2, "difference": diff,
                "higher_is_better": higher, "alpha": alpha, "power": power, "since": since,
                "until": until}
        if not comparison.enough(groups):
            needed, effect = self._plan(comparison, groups, diff, min_effect, alpha, power,
                                        ratio)
            return Evaluation(
                test="none", statistic=math.nan, pvalue=math.nan, verdict="unknown",
                planned_effect=effect, needed=needed,
                needed_requests=self._requests(needed),
                message=f"not enough feedback yet: {n1} champion and {n2} challenger "
                        f"predictions with feedback" + self._need_text(needed, effect),
                **base)
        result = comparison.test(groups)
        if math.isnan(result.pvalue):
            needed, effect = self._plan(comparison, groups, diff, min_effect, alpha, power,
                                        ratio)
            return Evaluation(
                test=result.test, statistic=result.statistic, pvalue=math.nan,
                verdict="unknown", planned_effect=effect, needed=needed,
                needed_requests=self._requests(needed),
                message=f"not known yet: {metric} {m2:.4g} vs {m1:.4g} ({diff:+.4g}), "
                        f"{result.test} gives no p-value on {n2} vs {n1} predictions with "
                        "feedback" + self._need_text(needed, effect), **base)
        if result.pvalue < alpha:
            verdict = "better" if (diff > 0) == higher else "worse"
            needed: int | None = 0
            effect = abs(diff)
            message = (f"the challenger {self.challenger.version} is {verdict}: {metric} "
                       f"{m2:.4g} vs {m1:.4g} ({diff:+.4g}), {result.test} p={result.pvalue:.3g}"
                       f" < {alpha:g} on {n2} vs {n1} predictions with feedback")
        else:
            verdict = "unknown"
            needed, effect = self._plan(comparison, groups, diff, min_effect, alpha, power,
                                        ratio)
            message = (f"not known yet: {metric} {m2:.4g} vs {m1:.4g} ({diff:+.4g}), "
                       f"{result.test} p={result.pvalue:.3g} ≥ {alpha:g} on {n2} vs {n1} "
                       "predictions with feedback" + self._need_text(needed, effect))
        return Evaluation(test=result.test, statistic=result.statistic, pvalue=result.pvalue,
                          verdict=verdict, planned_effect=effect, needed=needed,
                          needed_requests=self._requests(needed), message=message, **base)

    def _plan(self, comparison: Any, groups: Any, diff: float, min_effect: float | None,
              alpha: float, power: float, ratio: float) -> tuple[int | None, float | None]:
        """More challenger predictions with feedback needed to detect the planned effect, and
        that effect; (None, None) without anything to plan on."""
        observed = diff if not math.isnan(diff) else 0.0
        effect = float(min_effect) if min_effect is not None else abs(observed)
        if effect == 0:
            return None, None
        total = comparison.plan(groups, effect, observed, alpha, power, ratio)
        if total is None or not math.isfinite(total):
            return None, effect
        return max(0, math.ceil(total) - groups.sizes[1]), effect

    def _requests(self, needed: int | None) -> int | None:
        if needed is None or self.share == 0:
            return None
        return math.ceil(needed / self.share)

    def _need_text(self, needed: int | None, effect: float | None) -> str:
        if needed is None:
            return "; no difference to plan on (pass min_effect=)"
        if needed == 0:
            return (f"; the sample planned for a difference of {effect:.3g} is reached, so any "
                    "real difference is likely smaller")
        return (f"; about {needed:,} more challenger predictions with feedback (≈ "
                f"{self._requests(needed):,} routed requests) to detect a difference of "
                f"{effect:.3g}")

    def conclude(self, evaluation: Evaluation | None = None, *, policy: Any = None,
                 **evaluate_options: Any) -> Conclusion:
        """Act on an evaluation (made now with ``evaluate_options`` when not given):
        ``better`` promotes the challenger to the champion's place (production: the champion
        is archived) through the registry, with ``policy`` as its promotion rule when given;
        ``worse`` retires the challenger (archived, and its alias removed); ``unknown``
        changes nothing."""
        if evaluation is None:
            evaluation = self.evaluate(**evaluate_options)
        registry = self.client.registry
        v = self.challenger.version
        if evaluation.verdict == "better":
            stage, alias = _place(self.champion_spec)
            try:
                event = registry.promote(self.model, v, stage=stage, alias=alias,
                                         policy=policy, reason=f"router: {evaluation.message}")
            except PromotionRefused as refused:
                return Conclusion(action="refused", evaluation=evaluation,
                                  decision=refused.decision,
                                  message=f"the challenger {v} was better, but the promotion "
                                          f"rule refused it: {refused.decision.reason}")
            where = stage or f"alias {alias!r}"
            return Conclusion(action="promoted", evaluation=evaluation, event=event,
                              decision=event.decision,
                              message=f"promoted the challenger {v} to {where}: "
                                      f"{evaluation.message}")
        if evaluation.verdict == "worse":
            event = registry.promote(self.model, v, stage=Stage.ARCHIVED.value,
                                     reason=f"router: {evaluation.message}")
            _, alias = _place(self.challenger_spec)
            if alias is not None and alias in registry.get_version(self.model, v).aliases:
                registry.remove_alias(self.model, alias)
            return Conclusion(action="retired", evaluation=evaluation, event=event,
                              message=f"retired the challenger {v} (archived): "
                                      f"{evaluation.message}")
        return Conclusion(action="continue", evaluation=evaluation,
                          message=f"keep routing: {evaluation.message}")


def _place(spec: Any) -> tuple[str | None, str | None]:
    """(stage, alias) a spec names; a version number or version object means production."""
    if isinstance(spec, str) and spec.startswith("@"):
        return None, spec[1:]
    if isinstance(spec, str) and Stage.is_stage(spec.lower()):
        return spec.lower(), None
    return Stage.PRODUCTION.value, None


def _resolve(registry: Any, model: str, spec: Any, role: str) -> ModelVersion:
    if isinstance(spec, ModelVersion):
        return registry.get_version(model, spec.version)
    if not isinstance(spec, str) or not spec:
        raise InvalidInput(f"expected a stage, '@alias' or a version, got {spec!r}",
                           field=role)
    try:
        if spec.startswith("@"):
            return registry.get_version(model, alias=check_alias(spec[1:], role))
        if Stage.is_stage(spec.lower()):
            return registry.get_version(model, stage=spec.lower())
        return registry.get_version(model, spec)
    except NotFound as exc:
        raise NotFound(f"the {role} of {model!r} ({spec}) cannot be found: {exc}") from None
