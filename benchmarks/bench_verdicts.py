"""Verdicts on realistic scenarios: how often health cries wolf on clean data, how often and
how soon it finds injected shifts — with Evidently's DataDriftPreset on the same batches.

Every scenario starts from a population: a dataset scikit-learn ships inside its package
(breast cancer, wine, digits, diabetes) or a synthetic claims table of mixed types (numeric,
integer counts, six categorical columns, two binary flags, missing values, 6 % positives).
Rows are drawn from the population by a Gaussian copula fitted per class (each column keeps
its distribution — integer columns stay integer — and the columns their rank correlations),
so the reference, the held-out set and every batch are independent samples of one
population, as large as needed. A scikit-learn model is trained on a 2,000-row reference,
scored on 1,000 held-out rows (its baseline metrics), and the reference profiled with its
label as target (``ops.drift.fit_reference(..., target="y")``), as a user does.

Each batch is logged as a day of production — predictions, scores and feedback spread over
24 hours — into a fresh store, and judged by ``ops.monitor(model).health("24h")`` with the
default ``HealthRules``. Scenarios:

- clean: no shift, batches of 50, 200, 1,000 and 10,000 rows;
- covariate shift of one column, and of a third of the numeric columns, by 0.1, 0.25, 0.5
  and 1 standard deviation (integer columns by whole steps, at least 1);
- a categorical share change (the claims table): total variation 0.05, 0.1, 0.2;
- label shift: the class priors change (binary: the minority class half as common again;
  more classes: the first class twice as likely), each class's features as before;
- concept drift: the labels flipped (the next class; regression: the target moved by one
  standard deviation) where the model's most important feature is in its top fifth.

Reported per dataset: the share of clean batches whose health is ``degraded`` or worse and
``unhealthy`` (targets: at most 5 % and 0 %), the detection rate (health not ``healthy``) of
each injected shift at each size, and the rows until detection (a stream of 12,800 rows is
judged at 50, 100, 200 … rows; the median first size that is not healthy). Evidently 0.7.23
runs ``Report([DataDriftPreset()])`` on the same reference and batches of features in its
own virtualenv (as ``bench_drift.py`` makes it): a column drifted ("any column", what a
per-column alarm would raise) and the dataset drifted (its default share of 0.5).

    python benchmarks/bench_verdicts.py                 # every scenario (about 30 minutes)
    python benchmarks/bench_verdicts.py --quick         # fewer batches (a few minutes)
    python benchmarks/bench_verdicts.py --no-evidently --json out.json

The benchmark reports what it measures; it is not tuned to pass. A FAIL is a finding.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_drift import default_venv, ensure_evidently  # the same virtualenv
from no_scaling import add_scale_option, stops_for_scale

TARGET_DEGRADED = 0.05        # clean batches degraded or worse, at most
TARGET_UNHEALTHY = 0.0        # clean batches unhealthy
SIZES = (50, 200, 1_000, 10_000)
LADDER = tuple(50 * 2 ** k for k in range(9))           # 50 … 12,800 rows
SHIFTS = (0.1, 0.25, 0.5, 1.0)
CATEGORY_SHIFTS = (0.05, 0.1, 0.2)
REFERENCE_ROWS = 2_000
HOLDOUT_ROWS = 1_000
SEED = 20261206
HOUR = 3_600_000
NOW = 1_800_000_000_000

perf = time.perf_counter


# -- populations ------------------------------------------------------------------------------


class Copula:
    """Rows like ``x``'s: interpolated quantiles per column, a Gaussian copula between them."""

    def __init__(self, x: np.ndarray, integer: np.ndarray) -> None:
        from scipy.special import ndtri

        n = len(x)
        self.integer = integer
        self.sorted = np.sort(x, axis=0)
        self.levels = (np.arange(n) + 0.5) / n
        ranks = np.argsort(np.argsort(x, axis=0, kind="stable"), axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            corr = np.corrcoef(ndtri((ranks + 0.5) / n), rowvar=False)
        corr = np.nan_to_num(np.atleast_2d(corr))
        np.fill_diagonal(corr, 1.0)
        values, vectors = np.linalg.eigh(corr)
        corr = (vectors * np.maximum(values, 1e-6)) @ vectors.T
        scale = np.sqrt(np.diag(corr))
        self.chol = np.linalg.cholesky(corr / np.outer(scale, scale))

    def draw(self, n: int, rng: np.random.Generator) -> np.ndarray:
        from scipy.special import ndtr

        u = ndtr(rng.standard_normal((n, self.chol.shape[0])) @ self.chol.T)
        x = np.column_stack([np.interp(u[:, j], self.levels, self.sorted[:, j])
                             for j in range(self.chol.shape[0])])
        x[:, self.integer] = np.rint(x[:, self.integer])
        return x


class Population:
    """A dataset's population: ``draw(n, rng, prior)`` gives a frame (name -> column) and
    labels; ``kinds`` says each column's kind; ``model()`` a fitted scikit-learn model."""

    name: str
    task: str
    columns: list[str]
    kinds: dict[str, str]
    std: dict[str, float]
    integer: dict[str, bool]

    def draw(self, n: int, rng: np.random.Generator,
             prior: np.ndarray | None = None) -> tuple[dict[str, np.ndarray], np.ndarray]:
        raise NotImplementedError

    def fit(self, frame: dict[str, np.ndarray], y: np.ndarray) -> Any:
        raise NotImplementedError

    def matrix(self, frame: dict[str, np.ndarray]) -> Any:
        return np.column_stack([frame[c] for c in self.columns])


class Bundled(Population):
    """One of scikit-learn's bundled datasets, drawn per class (classification) or jointly
    with its target (regression)."""

    def __init__(self, name: str, loader: Callable[[], Any], task: str) -> None:
        data = loader()
        x = np.asarray(data.data, dtype=np.float64)
        self.name, self.task = name, task
        self.columns = [str(c).replace(" ", "_") for c in getattr(
            data, "feature_names", [f"x{j}" for j in range(x.shape[1])])]
        integer = np.all(x == np.rint(x), axis=0)
        self.kinds = dict.fromkeys(self.columns, "numeric")
        self.integer = dict(zip(self.columns, integer.tolist()))
        self.std = dict(zip(self.columns, x.std(axis=0).tolist()))
        y = np.asarray(data.target)
        if task == "regression":
            self.joint = Copula(np.column_stack([x, y]), np.append(integer, False))
            self.y_std = float(y.std())
            self.classes: list[Any] = []
        else:
            self.classes = sorted(set(y.tolist()))
            self.prior = np.array([np.mean(y == c) for c in self.classes])
            self.by_class = [Copula(x[y == c], integer) for c in self.classes]

    def draw(self, n: int, rng: np.random.Generator,
             prior: np.ndarray | None = None) -> tuple[dict[str, np.ndarray], np.ndarray]:
        if self.task == "regression":
            both = self.joint.draw(n, rng)
            return dict(zip(self.columns, both[:, :-1].T)), both[:, -1]
        p = self.prior if prior is None else prior
        y = rng.choice(len(self.classes), size=n, p=p)
        x = np.empty((n, len(self.columns)))
        for k, copula in enumerate(self.by_class):
            rows = y == k
            if rows.any():
                x[rows] = copula.draw(int(rows.sum()), rng)
        return dict(zip(self.columns, x.T)), np.asarray(self.classes)[y]

    def fit(self, frame: dict[str, np.ndarray], y: np.ndarray) -> Any:
        from sklearn.linear_model import LogisticRegression, Ridge
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        last = Ridge() if self.task == "regression" else LogisticRegression(max_iter=3_000)
        return make_pipeline(StandardScaler(), last).fit(self.matrix(frame), y)


class Claims(Population):
    """A synthetic claims table: 8 numeric columns (skewed amounts, integer counts), 6
    categorical (3 to 12 levels), 2 binary flags, missing values in two columns, and a fraud
    label at about 6 %, logistic in a few of them."""

    LEVELS = {"region": 12, "channel": 4, "product": 6, "segment": 3, "vehicle": 8,
              "weekday": 7}
    NUMERIC = ["amount", "age", "tenure_months", "prior_claims", "premium", "income",
               "days_to_report", "witnesses"]
    BINARY = ["police_report", "new_customer"]

    def __init__(self) -> None:
        self.name, self.task = "claims", "classification"
        self.columns = [*self.NUMERIC, *self.LEVELS, *self.BINARY]
        self.kinds = {**dict.fromkeys(self.NUMERIC, "numeric"),
                      **dict.fromkeys(self.LEVELS, "categorical"),
                      **dict.fromkeys(self.BINARY, "numeric")}
        self.integer = {c: c in ("tenure_months", "prior_claims", "days_to_report",
                                 "witnesses", *self.BINARY) for c in self.columns}
        rng = np.random.default_rng(7)
        self.level_p = {}
        for name, k in self.LEVELS.items():
            w = (np.arange(1, k + 1) ** -rng.uniform(0.5, 1.2))
            self.level_p[name] = w / w.sum()
        sample, y = self.draw(50_000, np.random.default_rng(8))
        self.prior = np.array([1 - y.mean(), y.mean()])
        self.std = {c: float(np.nanstd(sample[c])) for c in self.NUMERIC + self.BINARY}
        self.classes = [0, 1]

    def draw(self, n: int, rng: np.random.Generator,
             prior: np.ndarray | None = None) -> tuple[dict[str, np.ndarray], np.ndarray]:
        if prior is None:
            return self._draw(n, rng)
        # label shift: as many of each class as the prior says, x | y kept
        f, y = self._draw(8 * n, rng)
        positives = min(int(rng.binomial(n, prior[1])), int((y == 1).sum()))
        keep = np.concatenate([rng.choice(np.flatnonzero(y == 1), positives, replace=False),
                               rng.choice(np.flatnonzero(y == 0), n - positives,
                                          replace=False)])
        rng.shuffle(keep)
        return {c: v[keep] for c, v in f.items()}, y[keep]

    def _draw(self, n: int, rng: np.random.Generator) -> tuple[dict[str, np.ndarray],
                                                                np.ndarray]:
        z = rng.standard_normal((n, 4))
        f: dict[str, np.ndarray] = {
            "amount": np.exp(7.5 + 0.9 * z[:, 0]),
            "age": np.clip(45 + 13 * z[:, 1], 18, 90),
            "tenure_months": rng.poisson(np.exp(3 + 0.6 * z[:, 1].clip(-3, 3))).astype(float),
            "prior_claims": rng.poisson(0.4 + 0.3 * (z[:, 2] > 1)).astype(float),
            "premium": np.exp(6.5 + 0.3 * z[:, 1] + 0.2 * rng.standard_normal(n)),
            "income": np.exp(10.5 + 0.5 * rng.standard_normal(n)),
            "days_to_report": rng.geometric(0.15, n).astype(float),
            "witnesses": rng.binomial(3, 0.3, n).astype(float),
        }
        for name, k in self.LEVELS.items():
            f[name] = np.asarray([f"{name[:3]}{j:02d}" for j in range(k)],
                                 dtype=object)[rng.choice(k, n, p=self.level_p[name])]
        f["police_report"] = (rng.random(n) < 0.55).astype(float)
        f["new_customer"] = (f["tenure_months"] < 6).astype(float)
        logit = (-4.2 + 1.3 * z[:, 0] + 0.9 * f["prior_claims"] - 1.2 * f["police_report"]
                 + 1.5 * (f["channel"] == "cha03") + 0.08 * (f["days_to_report"] - 6)
                 + 1.0 * f["new_customer"])
        y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
        f["income"][rng.random(n) < 0.08] = np.nan
        f["region"][rng.random(n) < 0.05] = None
        return f, y

    def fit(self, frame: dict[str, np.ndarray], y: np.ndarray) -> Any:
        from sklearn.compose import ColumnTransformer
        from sklearn.impute import SimpleImputer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import OneHotEncoder, StandardScaler

        numeric = [*self.NUMERIC, *self.BINARY]
        prep = ColumnTransformer([
            ("num", make_pipeline(SimpleImputer(), StandardScaler()), numeric),
            ("cat", make_pipeline(SimpleImputer(strategy="constant", fill_value="missing"),
                                  OneHotEncoder(handle_unknown="ignore")), list(self.LEVELS))])
        return make_pipeline(prep, LogisticRegression(max_iter=3_000)).fit(self.matrix(frame),
                                                                           y)

    def matrix(self, frame: dict[str, np.ndarray]) -> Any:
        import pandas as pd

        return pd.DataFrame({c: frame[c] for c in self.columns})


def populations(only: list[str] | None) -> list[Population]:
    from sklearn import datasets

    out: list[Population] = [
        Bundled("breast_cancer", datasets.load_breast_cancer, "classification"),
        Bundled("wine", datasets.load_wine, "classification"),
        Bundled("digits", datasets.load_digits, "classification"),
        Bundled("diabetes", datasets.load_diabetes, "regression"),
        Claims(),
    ]
    return [p for p in out if only is None or p.name in only]


# -- a trained model in its world -------------------------------------------------------------


class World:
    """A population with its model, baseline metrics and reference profile."""

    def __init__(self, pop: Population, seed: int) -> None:
        import modelops
        from modelops.drift import profile_frame

        rng = np.random.default_rng(seed)
        self.pop = pop
        ref, y = pop.draw(REFERENCE_ROWS, rng)
        self.reference = ref
        self.model = pop.fit(ref, y)
        held, y_held = pop.draw(HOLDOUT_ROWS, rng)
        self.baseline = self.score(held, y_held)
        self.categorical = [c for c, k in pop.kinds.items() if k == "categorical"]
        if pop.task == "classification":
            self.categorical.append("y")
        self._profile_frame = profile_frame
        self.importance = self._most_important(held, y_held)
        # the positive label of a binary problem: the minority class, scored by its probability
        self.positive = pop.classes[1] if len(pop.classes) == 2 else None
        _ = modelops  # imported for its side effects on first use only

    def reference_profile(self, rng: np.random.Generator) -> tuple[Any, dict[str, np.ndarray]]:
        """A fresh reference of the population (its profile, with the label as target, and
        its rows): every batch is judged against a reference of its own, so the rates are
        over references and batches alike, not about one lucky or unlucky reference."""
        ref, y = self.pop.draw(REFERENCE_ROWS, rng)
        profile = self._profile_frame("m", {**ref, "y": y}, categorical=self.categorical,
                                      target="y")
        return profile, ref

    def predict(self, frame: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray | None]:
        x = self.pop.matrix(frame)
        pred = self.model.predict(x)
        if self.pop.task == "regression":
            return pred, None
        proba = self.model.predict_proba(x)
        if len(self.pop.classes) == 2:
            return pred, proba[:, 1]
        return pred, proba.max(axis=1)

    def score(self, frame: dict[str, np.ndarray], y: np.ndarray) -> dict[str, float]:
        from sklearn import metrics as skm

        pred, score = self.predict(frame)
        if self.pop.task == "regression":
            return {"mae": float(skm.mean_absolute_error(y, pred)),
                    "rmse": float(np.sqrt(skm.mean_squared_error(y, pred))),
                    "r2": float(skm.r2_score(y, pred))}
        out = {"accuracy": float(skm.accuracy_score(y, pred))}
        if len(self.pop.classes) == 2:
            out["f1"] = float(skm.f1_score(y, pred, pos_label=self.pop.classes[1]))
            out["roc_auc"] = float(skm.roc_auc_score(y == self.pop.classes[1], score))
        else:
            out["f1"] = float(skm.f1_score(y, pred, average="macro"))
        return out

    def _most_important(self, frame: dict[str, np.ndarray], y: np.ndarray) -> str:
        """The numeric column whose permutation costs the model the most."""
        rng = np.random.default_rng(1)
        key = "mae" if self.pop.task == "regression" else "accuracy"
        sign = -1 if key == "mae" else 1
        base = self.score(frame, y)[key]
        best, drop = self.pop.columns[0], -math.inf
        for c in self.pop.columns:
            if self.pop.kinds[c] != "numeric" or len(np.unique(frame[c][:200])) <= 2:
                continue                 # a flag cannot move by a fraction of its spread
            shuffled = dict(frame)
            shuffled[c] = rng.permutation(frame[c])
            loss = sign * (base - self.score(shuffled, y)[key])
            if loss > drop:
                best, drop = c, loss
        return best


# -- scenarios ------------------------------------------------------------------------------


def shifted_columns(world: World, many: bool) -> list[str]:
    numeric = [c for c in world.pop.columns if world.pop.kinds[c] == "numeric"
               and world.pop.std.get(c, 0) > 0 and c not in Claims.BINARY]
    if not many:
        return [world.importance]
    return numeric[::3][:max(3, len(numeric) // 3)]


def scenario_batch(world: World, scenario: str, effect: float, n: int,
                   rng: np.random.Generator) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """A batch of ``n`` rows of ``scenario`` at ``effect``."""
    pop = world.pop
    prior = None
    if scenario == "label_shift":
        p = pop.prior.copy()
        if len(p) == 2:                  # the minority class half as common again
            minority = int(np.argmin(p))
            p[minority] *= 1.5
            p[1 - minority] = 1 - p[minority]
        else:                            # the first class twice as likely
            p[0] *= 2
            p /= p.sum()
        prior = p
    frame, y = pop.draw(n, rng, prior)
    if scenario in ("shift_one", "shift_many"):
        for c in shifted_columns(world, scenario == "shift_many"):
            step = effect * pop.std[c]
            if pop.integer[c]:
                step = max(1.0, float(np.rint(step)))
            frame[c] = frame[c] + step
    elif scenario == "category_share":
        column = "channel"
        top = frame[column] == "cha00"
        move = top & (rng.random(n) < effect / max(top.mean(), 1e-9))
        frame[column] = frame[column].copy()
        frame[column][move] = "cha03"
    elif scenario == "concept":
        c = world.importance
        cut = np.nanquantile(world.reference[c], 0.8)
        region = frame[c] > cut
        if pop.task == "regression":
            y = y + region * float(np.std(y))
        else:
            classes = list(pop.classes)
            nxt = {k: classes[(i + 1) % len(classes)] for i, k in enumerate(classes)}
            y = np.where(region, [nxt[v] for v in y.tolist()], y)
    return frame, y


SCENARIOS: list[tuple[str, tuple[float, ...]]] = [
    ("shift_one", SHIFTS),
    ("shift_many", SHIFTS),
    ("category_share", CATEGORY_SHIFTS),
    ("label_shift", (1.0,)),
    ("concept", (1.0,)),
]


def applies(world: World, scenario: str) -> bool:
    if scenario == "category_share":
        return isinstance(world.pop, Claims)
    if scenario == "label_shift":
        return world.pop.task == "classification"
    return True


# -- judging one batch ------------------------------------------------------------------------


def judge(world: World, profile: Any, frame: dict[str, np.ndarray], y: np.ndarray,
          until: int | None = None) -> dict[str, Any]:
    """Log the batch as a day of production into a fresh store and ask health."""
    import modelops

    n = len(y)
    pred, score = world.predict(frame)
    ops = modelops.connect("memory://")
    ops.drift.save_reference(profile)
    stamps = (NOW - 24 * HOUR + (np.arange(n) * (24 * HOUR)) // n).astype(np.int64)
    features = {c: frame[c] for c in world.pop.columns}
    with ops.predictions.logger("m", version="1.0.0") as log:
        ids = log.log_batch(features, pred.tolist(),
                            probabilities=None if score is None else score.tolist(),
                            timestamps=stamps.tolist())
        log.feedback_batch(ids, y.tolist(), timestamps=(stamps + 60_000).tolist())
    return health_of(ops, world, NOW if until is None else until)


def health_of(ops: Any, world: World, now: int) -> dict[str, Any]:
    score = "probability" if len(world.pop.classes) == 2 else "confidence"
    monitor = ops.monitor("m", "1.0.0", now=now, baseline=world.baseline,
                          task=world.pop.task, positive=world.positive, score=score)
    health = monitor.health("24h", alert=False)
    return {"status": health.status,
            "issues": sorted({i.kind for i in health.issues
                              if i.severity in ("medium", "high", "critical")})}


def stream(world: World, scenario: str, effect: float, rng: np.random.Generator) -> int | None:
    """Rows until detection: one stream of the ladder's largest size, judged at each size."""
    import modelops

    n = LADDER[-1]
    profile, _ = world.reference_profile(rng)
    frame, y = scenario_batch(world, scenario, effect, n, rng)
    pred, score = world.predict(frame)
    ops = modelops.connect("memory://")
    ops.drift.save_reference(profile)
    stamps = (NOW - 24 * HOUR + (np.arange(n) * (24 * HOUR)) // n).astype(np.int64)
    with ops.predictions.logger("m", version="1.0.0") as log:
        ids = log.log_batch({c: frame[c] for c in world.pop.columns}, pred.tolist(),
                            probabilities=None if score is None else score.tolist(),
                            timestamps=stamps.tolist())
        log.feedback_batch(ids, y.tolist(), timestamps=stamps.tolist())
    for size in LADDER:
        # the window ends just after the size-th row: it holds exactly the first `size` rows
        if health_of(ops, world, int(stamps[size - 1]) + 1)["status"] != "healthy":
            return size
    return None


# -- Evidently --------------------------------------------------------------------------------


def save_evidently_case(data_dir: str, key: str, world: World,
                        pairs: list[tuple[dict[str, np.ndarray], dict[str, np.ndarray]]]
                        ) -> None:
    """Each batch's reference and features as .npz, for the Evidently worker."""
    pop = world.pop
    numeric = [c for c in pop.columns if pop.kinds[c] == "numeric"]
    categorical = [c for c in pop.columns if pop.kinds[c] == "categorical"]

    def pack(frame: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        out = {f"num::{c}": np.asarray(frame[c], dtype=np.float64) for c in numeric}
        out.update({f"cat::{c}": np.asarray(["" if v is None else v for v in frame[c]],
                                            dtype=str) for c in categorical})
        return out

    for i, (reference, batch) in enumerate(pairs):
        np.savez(os.path.join(data_dir, f"{key}.{i}.ref.npz"), **pack(reference))
        np.savez(os.path.join(data_dir, f"{key}.{i}.npz"), **pack(batch))


def run_evidently(py: str, data_dir: str, timeout: float) -> dict[str, Any]:
    worker = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                          "verdicts_evidently_worker.py")
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    env.pop("PYTHONPATH", None)
    try:
        proc = subprocess.run([py, worker, data_dir], capture_output=True, text=True,
                              env=env, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return {"available": False, "reason": f"Evidently took over {timeout:.0f} s"}
    if proc.returncode != 0:
        return {"available": False, "reason": proc.stderr.strip()[-1500:]}
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["available"] = True
    return out


# -- the run ---------------------------------------------------------------------------------


def rate(values: list[bool]) -> float | None:
    return sum(values) / len(values) if values else None


def run_population(pop: Population, args: argparse.Namespace, data_dir: str | None
                   ) -> dict[str, Any]:
    t0 = perf()
    world = World(pop, args.seed)
    out: dict[str, Any] = {"dataset": pop.name, "task": pop.task, "columns": len(pop.columns),
                           "baseline": world.baseline, "important": world.importance,
                           "cells": []}
    clean_reps = args.clean_batches
    shift_reps = args.shift_batches
    ev_reps = args.evidently_batches
    for size in SIZES:
        cases = [("clean", 0.0, clean_reps)]
        cases += [(s, e, shift_reps) for s, effects in SCENARIOS if applies(world, s)
                  for e in effects]
        for scenario, effect, reps in cases:
            rng = np.random.default_rng([args.seed, size, hash_of(scenario), int(effect * 100)])
            if size >= 10_000:      # a day of 10,000 predictions costs a second to log
                reps = max(4, reps // 3)
            verdicts, kept = [], []
            for r in range(reps):
                profile, reference = world.reference_profile(rng)
                frame, y = scenario_batch(world, scenario, effect, size, rng)
                verdicts.append(judge(world, profile, frame, y))
                if data_dir is not None and r < ev_reps and scenario != "concept":
                    kept.append((reference, frame))
            key = f"{pop.name}.{scenario}.{effect:g}.{size}"
            if kept:
                save_evidently_case(data_dir, key, world, kept)
            statuses = [v["status"] for v in verdicts]
            kinds: dict[str, int] = {}
            for v in verdicts:
                for k in v["issues"]:
                    kinds[k] = kinds.get(k, 0) + 1
            out["cells"].append({
                "key": key, "scenario": scenario, "effect": effect, "size": size,
                "batches": reps,
                "degraded_or_worse": rate([s != "healthy" for s in statuses]),
                "unhealthy": rate([s == "unhealthy" for s in statuses]),
                "issues": kinds})
        print(f"  [{pop.name}] {size:,} rows done ({perf() - t0:.0f} s)", flush=True)
    ladder: list[dict[str, Any]] = []
    for scenario, effects in SCENARIOS:
        if not applies(world, scenario):
            continue
        for effect in effects:
            if scenario.startswith("shift") and effect < 0.25:
                continue
            rng = np.random.default_rng([args.seed, 99, hash_of(scenario), int(effect * 100)])
            found = [stream(world, scenario, effect, rng) for _ in range(args.stream_batches)]
            hits = sorted(v for v in found if v is not None)
            ladder.append({"scenario": scenario, "effect": effect, "streams": len(found),
                           "detected": len(hits),
                           "median_rows": median_or_none(found)})
    out["rows_until_detection"] = ladder
    out["seconds"] = perf() - t0
    print(f"  [{pop.name}] done in {out['seconds']:.0f} s", flush=True)
    return out


def median_or_none(found: list[int | None]) -> int | None:
    """The median of the first detecting sizes, counting a stream that never detected as
    beyond the ladder; None when the median stream never detected."""
    ranked = sorted(math.inf if v is None else v for v in found)
    if not ranked:
        return None
    mid = ranked[(len(ranked) - 1) // 2]
    return None if math.isinf(mid) else int(mid)


def hash_of(text: str) -> int:
    return sum((i + 1) * ord(ch) for i, ch in enumerate(text)) % 100_000


# -- printing ---------------------------------------------------------------------------------


def pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.0f}%"


def print_table(headers: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths)))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print("  ".join(v.ljust(w) for v, w in zip(r, widths)))


def report(results: dict[str, Any]) -> bool:
    evidently = results.get("evidently", {})
    ev_cases = evidently.get("cases", {}) if evidently.get("available") else {}
    ok = True
    print("\nClean batches: health degraded-or-worse / unhealthy (targets <= 5 % / 0 %), and "
          "Evidently DataDriftPreset: a column drifted / the dataset drifted")
    rows = []
    for pop in results["populations"]:
        for cell in pop["cells"]:
            if cell["scenario"] != "clean":
                continue
            ev = ev_cases.get(cell["key"], {})
            passed = cell["degraded_or_worse"] <= TARGET_DEGRADED and \
                cell["unhealthy"] <= TARGET_UNHEALTHY
            ok &= passed
            rows.append([pop["dataset"], f"{cell['size']:,}", str(cell["batches"]),
                         pct(cell["degraded_or_worse"]), pct(cell["unhealthy"]),
                         ", ".join(f"{k} {v}" for k, v in sorted(cell["issues"].items())) or "-",
                         pct(ev.get("any_column")), pct(ev.get("dataset")),
                         "PASS" if passed else "FAIL"])
    print_table(["dataset", "rows", "batches", "degraded+", "unhealthy", "issues (batches)",
                 "Evidently column", "Evidently dataset", "target"], rows)

    print("\nDetection: the share of shifted batches whose health is not healthy (modelops) "
          "and where Evidently flags a column")
    rows = []
    for pop in results["populations"]:
        keyed: dict[tuple[str, float], dict[int, Any]] = {}
        for cell in pop["cells"]:
            if cell["scenario"] != "clean":
                keyed.setdefault((cell["scenario"], cell["effect"]), {})[cell["size"]] = cell
        for (scenario, effect), by_size in keyed.items():
            row = [pop["dataset"], scenario, f"{effect:g}"]
            for size in SIZES:
                cell = by_size.get(size)
                ev = ev_cases.get(cell["key"], {}) if cell else {}
                row.append("-" if cell is None else
                           f"{pct(cell['degraded_or_worse'])} / {pct(ev.get('any_column'))}")
            rows.append(row)
    print_table(["dataset", "scenario", "effect", *(f"{s:,} rows" for s in SIZES)], rows)

    print("\nRows until detection (median over streams; '>12,800': the median stream never "
          "became unhealthy or degraded)")
    rows = []
    for pop in results["populations"]:
        for r in pop["rows_until_detection"]:
            rows.append([pop["dataset"], r["scenario"], f"{r['effect']:g}",
                         f"{r['detected']}/{r['streams']}",
                         ">12,800" if r["median_rows"] is None else f"{r['median_rows']:,}"])
    print_table(["dataset", "scenario", "effect", "streams detecting", "median rows"], rows)
    if not evidently.get("available"):
        print(f"\nEvidently: {evidently.get('reason', 'not run')}")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="fewer batches per cell (10 clean, 4 shifted, 3 streams)")
    parser.add_argument("--datasets", help="comma-separated subset of breast_cancer, wine, "
                                           "digits, diabetes, claims")
    parser.add_argument("--clean-batches", type=int, help="clean batches per size (60)")
    parser.add_argument("--shift-batches", type=int, help="shifted batches per cell (15)")
    parser.add_argument("--stream-batches", type=int, help="streams per shift for rows "
                                                           "until detection (8)")
    parser.add_argument("--evidently-batches", type=int,
                        help="batches per cell Evidently also judges (10)")
    parser.add_argument("--no-evidently", action="store_true", help="skip Evidently")
    parser.add_argument("--evidently-venv", default=default_venv(), metavar="PATH",
                        help="Evidently's virtualenv (made on first use)")
    parser.add_argument("--seed", type=int, default=SEED, help="the seed of every draw")
    parser.add_argument("--json", metavar="PATH", help="write every figure to PATH as JSON")
    add_scale_option(parser)
    args = parser.parse_args(argv)
    if stops_for_scale(parser, args):
        return 0
    quick = args.quick
    args.clean_batches = args.clean_batches or (10 if quick else 60)
    args.shift_batches = args.shift_batches or (4 if quick else 15)
    args.stream_batches = args.stream_batches or (3 if quick else 8)
    args.evidently_batches = args.evidently_batches or (4 if quick else 10)
    warnings.filterwarnings("ignore", category=UserWarning)

    import modelops

    results: dict[str, Any] = {"environment": {
        "modelops": modelops.__version__, "numpy": np.__version__,
        "python": platform.python_version(), "platform": platform.platform(),
        "cpus": os.cpu_count(), "quick": quick},
        "settings": {k: v for k, v in vars(args).items() if k != "json"},
        "populations": []}
    py, why = None, "skipped (--no-evidently)"
    if not args.no_evidently:
        py, why = ensure_evidently(args.evidently_venv, timeout=1800)
        print(f"Evidently: {why}", flush=True)
    data_dir = tempfile.mkdtemp(prefix="modelops-bench-verdicts-") if py else None
    try:
        for pop in populations(args.datasets.split(",") if args.datasets else None):
            print(f"[{pop.name}] {pop.task}, {len(pop.columns)} columns", flush=True)
            results["populations"].append(run_population(pop, args, data_dir))
        if args.json:     # modelops' figures first: Evidently takes a while
            with open(args.json, "w", encoding="utf-8") as f:
                json.dump(results, f, indent=2, default=str)
        if py is not None and data_dir is not None:
            print("Evidently on the same batches ...", flush=True)
            t0 = perf()
            results["evidently"] = run_evidently(py, data_dir, timeout=7200)
            results["evidently"]["seconds"] = perf() - t0
        else:
            results["evidently"] = {"available": False, "reason": why}
    finally:
        if data_dir is not None:
            shutil.rmtree(data_dir, ignore_errors=True)
    ok = report(results)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=2, default=str)
        print(f"figures written to {args.json}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
