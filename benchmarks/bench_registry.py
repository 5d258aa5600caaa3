"""Registry benchmarks: modelops' model registry against MLflow's (its sqlite store).

Runs every figure side by side on the same machine, in one process (plus fresh subprocesses
for the cold loads), and prints a table::

    figure | modelops | MLflow | ratio (MLflow / modelops) | target | PASS/FAIL/-

Usage::

    python benchmarks/bench_registry.py                 # full sizes: 200 versions, 20 loads
    python benchmarks/bench_registry.py --quick         # smoke run: 50 versions, 10 loads
    python benchmarks/bench_registry.py --json out.json # also write every figure as JSON
    python benchmarks/bench_registry.py --profile       # also cProfile modelops' side
    python benchmarks/bench_registry.py --keep          # keep the temporary directory
    python benchmarks/bench_registry.py --scale         # only the scaling curves (see below)

``--scale`` measures how the costs grow instead: the time of each register from 0 to 100,000
versions of one model (flat: the last decile within 1.5x the first), and the first
``get_version(stage="production")`` of a fresh process at 1,000 / 10,000 / 100,000 versions
with 1,000 events, against MLflow's first ``get_model_version_by_alias`` of a fresh process at
1,000 versions and 1,000 alias moves (target: at most 20 ms at 10,000 versions, at least 4x
MLflow at 1,000).

Needs ``modelops``, ``mlflow``, ``scikit-learn`` and ``joblib`` importable by the same
interpreter (``tox -e bench`` makes such an environment). Both systems write to a fresh
temporary directory: modelops through ``modelops.connect(tmpdir)``, MLflow through
``sqlite:///<tmpdir>/mlflow.db`` with its artifacts under the same directory.

The model is a scikit-learn ``LogisticRegression`` trained on iris; pickled with joblib it is
about 1 KB. Every figure checks that both systems hold the same thing afterwards (as many
versions, the same holder of production, identical predictions).

The calls of the two systems take turns (round by round, in a rotating order) rather than
running one system's batch after the other's: the machines this runs on are shared, and a busy
spell then slows both sides alike. A target figure takes turns between the two calls it
compares only; registration is also measured with five styles in rotation, as orientation (a
call right after a heavy one of another style runs with cold CPU caches, which costs a
sub-millisecond call proportionally more).

The benchmark reports what it measures; it is not tuned to pass. A FAIL is a finding.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import hashlib
import io
import json
import logging
import os
import platform
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

# Targets from the issue: MLflow time / modelops time must be at least this.
TARGET_REGISTER = 10.0
TARGET_LOAD = 5.0

PREDICT_ROWS = [0, 1, 50, 51, 100, 149]  # a few iris rows of each class
perf = time.perf_counter


# -- helpers --------------------------------------------------------------------------------


def interleaved(
    calls: dict[str, Callable[[int], Any]], n: int, warmup: int = 0
) -> dict[str, list[float]]:
    """Each call's wall time, ``n`` rounds; in round i every call runs once with argument i,
    in an order rotated each round. The machine this runs on is shared and its load drifts,
    so the systems take turns rather than running one after the other: a busy spell hits both
    sides alike. ``warmup`` untimed rounds first (arguments -warmup..-1)."""
    keys = list(calls)
    for i in range(-warmup, 0):
        for key in keys:
            calls[key](i)
    times: dict[str, list[float]] = {key: [] for key in keys}
    for i in range(n):
        r = i % len(keys)
        for key in keys[r:] + keys[:r]:
            t0 = perf()
            calls[key](i)
            times[key].append(perf() - t0)
    return times


def fmt_time(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.1f} µs"


def run_subprocess(code: str, *args: str) -> dict[str, Any]:
    """Run ``code`` in a fresh interpreter; it prints one JSON object as its last line."""
    env = dict(
        os.environ,
        PYTHONWARNINGS="ignore",
        GIT_PYTHON_REFRESH="quiet",
        MLFLOW_DISABLE_TELEMETRY=os.environ.get("MLFLOW_DISABLE_TELEMETRY", "true"),
    )
    t0 = perf()
    proc = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, check=False
    )
    wall = perf() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"subprocess failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["process_wall"] = wall
    return out


def quiet_mlflow() -> None:
    os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")
    # MLflow's usage telemetry off: no data leaves the machine, and its per-call recording is
    # not in MLflow's figures (which favours MLflow).
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    warnings.filterwarnings("ignore")
    for name in ("mlflow", "alembic", "sqlalchemy"):
        logging.getLogger(name).setLevel(logging.ERROR)


def settle() -> None:
    """Write dirty pages back to disk (``os.sync``) before a timed section."""
    if hasattr(os, "sync"):
        os.sync()


def git_state() -> str:
    """The commit of the modelops working tree, with '+dirty' when it has changes."""
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=here,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "../src"],
            cwd=here,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


def sha256_of(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def version_metrics(i: int) -> dict[str, float]:
    """The metrics of version ``i``: the same in both systems."""
    return {"accuracy": 0.9 + (i % 97) / 1000, "f1": 0.85 + (i % 89) / 1000}


def as_tags(metrics: dict[str, float]) -> dict[str, str]:
    return {f"metric.{k}": repr(v) for k, v in metrics.items()}


def mo_version(i: int) -> str:
    """modelops' i-th auto-chosen version (i from 0): 1.0.0, 1.0.1, ..."""
    return f"1.0.{i}"


def ml_version(i: int) -> str:
    """MLflow's i-th version (i from 0): 1, 2, ..."""
    return str(i + 1)


def predictions(model: Any, x: Any) -> list[list[float]]:
    return model.predict_proba(x[PREDICT_ROWS]).tolist()


# -- cold loads in fresh processes ----------------------------------------------------------

# Import (timed, reported apart), open the store (not in the figure), then time the first
# resolve + load of the process. The deserializer's modules (argv[4]: joblib, cloudpickle,
# sklearn.linear_model, and skops.io for the skops pairing) are imported before the timing on
# both sides, so the figure is the registry's work, not those imports. Nothing is cached in
# the process; the files are in the OS page cache.
MODELOPS_COLD = r"""
import importlib, json, sys, time
t0 = time.perf_counter()
import modelops
t1 = time.perf_counter()
for module in sys.argv[4].split(","):
    importlib.import_module(module)
from sklearn.datasets import load_iris
x, _ = load_iris(return_X_y=True)
rows, kwargs = json.loads(sys.argv[3]), json.loads(sys.argv[5])
t2 = time.perf_counter()
ops = modelops.connect(sys.argv[1])
t3 = time.perf_counter()
model = ops.registry.load_uri(f"models:/{sys.argv[2]}@production", **kwargs)
t4 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "open": t3 - t2, "load": t4 - t3,
                  "pred": model.predict_proba(x[rows]).tolist()}))
"""

MLFLOW_COLD = r"""
import importlib, json, logging, sys, time, warnings
warnings.filterwarnings("ignore")
t0 = time.perf_counter()
import mlflow, mlflow.sklearn
from mlflow import MlflowClient
t1 = time.perf_counter()
for name in ("mlflow", "alembic", "sqlalchemy"):
    logging.getLogger(name).setLevel(logging.ERROR)
for module in sys.argv[4].split(","):
    importlib.import_module(module)
from sklearn.datasets import load_iris
x, _ = load_iris(return_X_y=True)
rows = json.loads(sys.argv[3])
t2 = time.perf_counter()
mlflow.set_tracking_uri(sys.argv[1])
mlflow.set_registry_uri(sys.argv[1])
client = MlflowClient()
client.get_experiment("0")                           # opens the tracking store
client.search_registered_models(max_results=1)      # opens the registry store
t3 = time.perf_counter()
model = mlflow.sklearn.load_model(f"models:/{sys.argv[2]}@production")
t4 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "open": t3 - t2, "load": t4 - t3,
                  "pred": model.predict_proba(x[rows]).tolist()}))
"""

# The two pairings of serialization formats for the load figures: the same format family on
# both sides. MLflow 3.17's own default for mlflow.sklearn.log_model off Databricks is skops.
PAIRINGS = {
    "pickle": {
        "modelops_register": {},  # flavor joblib (the default for objects)
        "modelops_load": {},
        "mlflow_log": {"serialization_format": "cloudpickle"},
        "preimport": "joblib,cloudpickle,sklearn.linear_model",
        "what": "modelops joblib flavor / MLflow serialization_format='cloudpickle'",
    },
    "skops": {
        "modelops_register": {"flavor": "skops"},
        "modelops_load": {"trusted": False},
        "mlflow_log": {},  # MLflow's default: skops, loaded with its default trusted types
        "preimport": "joblib,cloudpickle,sklearn.linear_model,skops.io",
        "what": "modelops skops flavor, load(trusted=False) / MLflow's default (skops, "
        "skops_trusted_types=None)",
    },
}


# -- the figures ----------------------------------------------------------------------------


def train_models() -> tuple[Any, Any, Any]:
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    x, y = load_iris(return_X_y=True)
    clf = LogisticRegression(max_iter=1000).fit(x, y)
    other = LogisticRegression(C=0.1, max_iter=1000).fit(x, y)
    return x, clf, other


def version_artifacts(clf: Any, directory: str, n: int) -> tuple[list[Any], list[str]]:
    """n distinct copies of the estimator (an attribute ``bench_version_`` = i makes each
    pickle's bytes differ, so no store could share one stored file between versions), and
    each one's joblib file ``<directory>/<i>/model.joblib``."""
    import copy

    import joblib

    models, paths = [], []
    for i in range(n):
        model = copy.copy(clf)
        model.bench_version_ = i
        path = os.path.join(directory, str(i), "model.joblib")
        os.makedirs(os.path.dirname(path))
        joblib.dump(model, path)
        models.append(model)
        paths.append(path)
    return models, paths


def bench_register(
    ops: Any, mlflow: Any, client: Any, clf: Any, tmp: str, exp_id: str, n: int
) -> dict[str, Any]:
    """Register n versions of one model, each call timed; totals include the model's creation."""
    import mlflow.sklearn

    models, files = version_artifacts(clf, os.path.join(tmp, "artifacts"), n + 3)
    warm_models, warm_files = models[n:], files[n:]
    models, files = models[:n], files[:n]
    metrics = [version_metrics(i) for i in range(n)]

    run = client.create_run(exp_id, run_name="registry-source")
    rid = run.info.run_id
    # For MLflow A: every version's file logged into the run beforehand (not timed).
    for i, path in enumerate(files):
        client.log_artifact(rid, path, f"logged/{i}")

    # Warm-up on other models: first-call costs (imports, engine, schema) stay out.
    client.create_registered_model("warmup")
    for i in range(3):
        ops.registry.register("warmup-path", warm_files[i], metrics=metrics[i], flavor="path")
        ops.registry.register("warmup-object", warm_models[i], metrics=metrics[i])
        client.log_artifact(rid, warm_files[i], f"warmup/{i}")
        client.create_model_version(
            "warmup", f"{run.info.artifact_uri}/warmup/{i}", rid, tags=as_tags(metrics[i])
        )

    # MLflow C needs a logged model: mlflow.sklearn.log_model once (not timed).
    with mlflow.start_run():
        logged = mlflow.sklearn.log_model(
            clf,
            name="model",
            pip_requirements=["scikit-learn"],
            serialization_format="cloudpickle",  # MLflow's default, skops, needs skops
        )
    sink = io.StringIO()  # register_model eprints two lines per call

    out: dict[str, Any] = {
        "n_versions": n,
        "artifact_bytes": statistics.median(os.path.getsize(f) for f in files),
    }

    # Creating the registered model is timed and added to the first version's time, as
    # modelops creates its model in its first register.
    setup_s = {}
    for label, name in (
        ("pair_mlflow", "pair-cmv"),
        ("mlflow_cmv", "reg-cmv"),
        ("mlflow_log_cmv", "reg-log-cmv"),
    ):
        t0 = perf()
        client.create_registered_model(name)
        setup_s[label] = perf() - t0

    # Write back what the set-up wrote (n artifact files, the logged model), so its writeback
    # does not land on the first timed calls.
    settle()

    def log_and_create(i: int) -> Any:
        client.log_artifact(rid, files[i], f"versions/{i}")
        return client.create_model_version(
            "reg-log-cmv", f"{run.info.artifact_uri}/versions/{i}", rid, tags=as_tags(metrics[i])
        )

    def register_model(i: int) -> Any:
        with contextlib.redirect_stderr(sink):
            return mlflow.register_model(logged.model_uri, "reg-register", tags=as_tags(metrics[i]))

    # The target figure: the two calls it compares take turns with each other only.
    pair = interleaved(
        {
            "pair_modelops": lambda i: ops.registry.register(
                "pair-path", files[i], metrics=metrics[i], flavor="path"
            ),
            "pair_mlflow": lambda i: client.create_model_version(
                "pair-cmv", f"{run.info.artifact_uri}/logged/{i}", rid, tags=as_tags(metrics[i])
            ),
        },
        n,
    )
    settle()
    # Then all five styles in rotation: each call follows a different one each round, among
    # them MLflow's 12-16 ms register_model, which leaves the CPU caches cold for the next.
    times = interleaved(
        {
            # modelops: the file, as it is (flavor "path"): copied into the store, digested.
            "modelops_path": lambda i: ops.registry.register(
                "reg-path", files[i], metrics=metrics[i], flavor="path"
            ),
            # MLflow A: create_model_version only; each version's source is its file's
            # directory, logged into the run beforehand.
            "mlflow_cmv": lambda i: client.create_model_version(
                "reg-cmv", f"{run.info.artifact_uri}/logged/{i}", rid, tags=as_tags(metrics[i])
            ),
            # modelops: the estimator object (flavor "joblib"): dumped, digested, stored.
            "modelops_object": lambda i: ops.registry.register(
                "reg-object", models[i], metrics=metrics[i]
            ),
            # MLflow B: log_artifact (copies the file into the run's artifacts) +
            # create_model_version.
            "mlflow_log_cmv": log_and_create,
            # MLflow C: mlflow.register_model of the logged model (MLflow 3's path:
            # models:/<model_id> source; the logged model is looked up per call).
            "mlflow_register_model": register_model,
        },
        n,
    )
    times.update(pair)
    for label, extra in setup_s.items():
        times[label][0] += extra
    out.update(times)
    client.set_terminated(rid)

    # Checks: n versions in each, the metrics recorded; modelops' digests are the files'.
    digests = [sha256_of(f) for f in files]
    checks = {}
    for label, name in (
        ("pair_modelops", "pair-path"),
        ("modelops_path", "reg-path"),
        ("modelops_object", "reg-object"),
    ):
        versions = ops.registry.list_versions(name)
        checks[label] = {
            "versions": len(versions),
            "metrics_ok": [v.metrics for v in versions] == metrics,
            "digest_ok": label == "modelops_object"
            or [v.files[0].sha256 for v in versions] == digests,
        }
    for label, name in (
        ("pair_mlflow", "pair-cmv"),
        ("mlflow_cmv", "reg-cmv"),
        ("mlflow_log_cmv", "reg-log-cmv"),
        ("mlflow_register_model", "reg-register"),
    ):
        versions = sorted(
            client.search_model_versions(f"name='{name}'", max_results=10_000),
            key=lambda v: int(v.version),
        )
        checks[label] = {
            "versions": len(versions),
            "metrics_ok": [v.tags for v in versions] == [as_tags(m) for m in metrics],
        }
    out["checks"] = checks
    out["ok"] = all(
        c["versions"] == n and c["metrics_ok"] and c.get("digest_ok", True) for c in checks.values()
    )
    out["mlflow_cmv_source_example"] = client.get_model_version("reg-cmv", "1").source
    out["mlflow_register_model_source_example"] = client.get_model_version(
        "reg-register", "1"
    ).source
    for key in (
        "pair_modelops",
        "pair_mlflow",
        "modelops_path",
        "modelops_object",
        "mlflow_cmv",
        "mlflow_log_cmv",
        "mlflow_register_model",
    ):
        times = out[key]
        out[f"{key}_per_version_s"] = sum(times) / n
        out[f"{key}_median_s"] = statistics.median(times)
        k = max(1, n // 10)
        out[f"{key}_first_tenth_s"] = statistics.mean(times[:k])
        out[f"{key}_last_tenth_s"] = statistics.mean(times[-k:])
    return out


def bench_load(
    ops: Any,
    mlflow: Any,
    client: Any,
    x: Any,
    clf: Any,
    other: Any,
    root: str,
    ml_uri: str,
    repeats: int,
    cold_repeats: int,
) -> dict[str, Any]:
    """Resolve models:/<name>@production and load the LogisticRegression, warm and cold, for
    each pairing of serialization formats."""
    out: dict[str, Any] = {"repeats": repeats, "cold_repeats": cold_repeats, "rows": PREDICT_ROWS}
    expected = predictions(clf, x)
    labels = [label for label in PAIRINGS if label != "skops" or have_skops()]
    out["pairings"] = labels
    if "skops" not in labels:
        out["skipped"] = "skops: `pip install skops` to compare skops with skops"
    for label in labels:
        pairing = PAIRINGS[label]
        out[label] = _bench_load_pairing(
            ops,
            mlflow,
            client,
            x,
            clf,
            other,
            root,
            ml_uri,
            repeats,
            cold_repeats,
            f"iris-{label}",
            pairing,
            expected,
        )
    out["same_predictions"] = all(out[label]["same_predictions"] for label in labels)
    return out


def have_skops() -> bool:
    try:
        import skops.io  # noqa: F401
    except ImportError:
        return False
    return True


def _bench_load_pairing(
    ops: Any,
    mlflow: Any,
    client: Any,
    x: Any,
    clf: Any,
    other: Any,
    root: str,
    ml_uri: str,
    repeats: int,
    cold_repeats: int,
    name: str,
    pairing: dict[str, Any],
    expected: list[list[float]],
) -> dict[str, Any]:
    import mlflow.sklearn

    # Two versions in each system; the first (clf) serves in production.
    ops.registry.register(name, clf, metrics=version_metrics(0), **pairing["modelops_register"])
    ops.registry.register(name, other, metrics=version_metrics(1), **pairing["modelops_register"])
    ops.registry.promote(name, "1.0.0", stage="production")
    with contextlib.redirect_stderr(io.StringIO()):  # "Created version '1' of model ..."
        for model in (clf, other):
            with mlflow.start_run():
                mlflow.sklearn.log_model(
                    model,
                    name="model",
                    registered_model_name=name,
                    pip_requirements=["scikit-learn"],
                    **pairing["mlflow_log"],
                )
    client.set_registered_model_alias(name, "production", "1")
    uri = f"models:/{name}@production"
    load_kwargs = pairing["modelops_load"]
    settle()

    def mo_load() -> Any:
        return ops.registry.load_uri(uri, **load_kwargs)

    def ml_load() -> Any:
        return mlflow.sklearn.load_model(uri)

    def ml_alias_then_load() -> Any:
        client.get_model_version_by_alias(name, "production")
        return mlflow.sklearn.load_model(uri)

    with contextlib.redirect_stderr(io.StringIO()):  # MLflow's download progress bars
        warm = interleaved(
            {
                "modelops": lambda i: mo_load(),
                "mlflow": lambda i: ml_load(),
                "mlflow_alias_then_load": lambda i: ml_alias_then_load(),
            },
            repeats,
            warmup=1,
        )
        preds = {"modelops": predictions(mo_load(), x), "mlflow": predictions(ml_load(), x)}
    mo_all, ml_all, ml2_all = warm["modelops"], warm["mlflow"], warm["mlflow_alias_then_load"]
    mo_warm, ml_warm, ml2_warm = (statistics.median(t) for t in (mo_all, ml_all, ml2_all))

    # Cold: first load of a fresh process, for both, taking turns.
    args = (name, json.dumps(PREDICT_ROWS), pairing["preimport"])
    mo_colds, ml_colds = [], []
    for _ in range(cold_repeats):
        mo_colds.append(run_subprocess(MODELOPS_COLD, root, *args, json.dumps(load_kwargs)))
        ml_colds.append(run_subprocess(MLFLOW_COLD, ml_uri, *args))
    preds["modelops_cold"] = mo_colds[0]["pred"]
    preds["mlflow_cold"] = ml_colds[0]["pred"]
    same = all(p == expected for p in preds.values()) and all(
        c["pred"] == expected for c in mo_colds + ml_colds
    )

    mv = client.get_model_version_by_alias(name, "production")
    record = ops.registry.resolve(uri)
    ml_files = sorted(
        (f.path, f.file_size)
        for f in client.list_logged_model_artifacts(mv.model_id or mv.source.rsplit("/", 1)[1])
    )

    def med(runs: list[dict[str, Any]], key: str) -> float:
        return statistics.median(r[key] for r in runs)

    return {
        "what": pairing["what"],
        "modelops_warm_s": mo_warm,
        "modelops_warm_all_s": mo_all,
        "mlflow_warm_s": ml_warm,
        "mlflow_warm_all_s": ml_all,
        "mlflow_alias_then_load_warm_s": ml2_warm,
        "mlflow_alias_then_load_warm_all_s": ml2_all,
        "modelops_cold_s": med(mo_colds, "load"),
        "modelops_cold_all_s": [c["load"] for c in mo_colds],
        "mlflow_cold_s": med(ml_colds, "load"),
        "mlflow_cold_all_s": [c["load"] for c in ml_colds],
        "modelops_cold_import_s": med(mo_colds, "import"),
        "mlflow_cold_import_s": med(ml_colds, "import"),
        "modelops_cold_open_s": med(mo_colds, "open"),
        "mlflow_cold_open_s": med(ml_colds, "open"),
        "modelops_process_s": med(mo_colds, "process_wall"),
        "mlflow_process_s": med(ml_colds, "process_wall"),
        "mlflow_source": mv.source,
        "mlflow_files": ml_files,
        "modelops_files": [(f.path, f.size) for f in record.files],
        "modelops_version": record.version,
        "mlflow_version": mv.version,
        "predictions": preds,
        "same_predictions": same,
    }


def bench_stages(
    ops: Any, client: Any, clf: Any, other: Any, artifact: str, exp_id: str, repeats: int
) -> dict[str, Any]:
    """Promote/set an alias back and forth between two versions; read the holder back."""
    name = "stages"
    ops.registry.register(name, clf, metrics=version_metrics(0))
    ops.registry.register(name, other, metrics=version_metrics(1))
    run = client.create_run(exp_id, run_name="stages-source")
    client.log_artifact(run.info.run_id, artifact, "model")
    client.create_registered_model(name)
    for _ in range(2):
        client.create_model_version(name, f"{run.info.artifact_uri}/model", run.info.run_id)
    client.set_terminated(run.info.run_id)

    def med(times: list[float]) -> float:
        return statistics.median(times)

    out: dict[str, Any] = {"repeats": repeats}
    # Back and forth between the two versions (i even: the second, odd: the first).
    t = interleaved(
        {
            "modelops_promote": lambda i: ops.registry.promote(
                name, mo_version((i + 1) % 2), stage="production"
            ),
            "mlflow_set_alias_production": lambda i: client.set_registered_model_alias(
                name, "production", ml_version((i + 1) % 2)
            ),
        },
        repeats,
        warmup=1,
    )
    t.update(
        interleaved(
            {
                "modelops_set_alias": lambda i: ops.registry.set_alias(
                    name, "champion", mo_version(i % 2)
                ),
                "mlflow_set_alias": lambda i: client.set_registered_model_alias(
                    name, "champion", ml_version(i % 2)
                ),
            },
            repeats,
            warmup=1,
        )
    )
    t.update(
        interleaved(
            {
                "modelops_get_version": lambda i: ops.registry.get_version(
                    name, stage="production"
                ),
                "modelops_resolve": lambda i: ops.registry.resolve(f"models:/{name}@production"),
                "mlflow_get_by_alias": lambda i: client.get_model_version_by_alias(
                    name, "production"
                ),
            },
            repeats,
            warmup=1,
        )
    )
    for key, times in t.items():
        out[f"{key}_s"] = med(times)
        out[f"{key}_all_s"] = times
    mo_prod = ops.registry.get_version(name, stage="production").version
    mo_champ = ops.registry.get_version(name, alias="champion").version
    ml_prod = client.get_model_version_by_alias(name, "production").version
    ml_champ = client.get_model_version_by_alias(name, "champion").version
    mo_archived = [v.version for v in ops.registry.list_versions(name, stage="archived")]
    out.update(
        {
            "modelops_production": mo_prod,
            "modelops_champion": mo_champ,
            "mlflow_production": ml_prod,
            "mlflow_champion": ml_champ,
            "same_holders": int(mo_prod.rsplit(".", 1)[1]) + 1 == int(ml_prod)
            and int(mo_champ.rsplit(".", 1)[1]) + 1 == int(ml_champ),
            "modelops_archived": mo_archived,
            "modelops_events": len(ops.registry.history(name)),
        }
    )
    return out


def bench_history(
    ops: Any,
    mlflow: Any,
    client: Any,
    x: Any,
    clf: Any,
    other: Any,
    n_events: int,
    repeats: int,
) -> dict[str, Any]:
    """The warm pickle load and the production look-up again, on a model whose production
    has moved n_events times (the other load figures' models have one promotion)."""
    import mlflow.sklearn

    name = "iris-history"
    ops.registry.register(name, clf, metrics=version_metrics(0))
    ops.registry.register(name, other, metrics=version_metrics(1))
    with contextlib.redirect_stderr(io.StringIO()):
        for model in (clf, other):
            with mlflow.start_run():
                mlflow.sklearn.log_model(
                    model,
                    name="model",
                    registered_model_name=name,
                    pip_requirements=["scikit-learn"],
                    serialization_format="cloudpickle",
                )
    # Not timed: n_events promotions, ending with the first version (clf) in production.
    for i in range(n_events):
        back = (n_events - 1 - i) % 2
        ops.registry.promote(name, mo_version(back), stage="production")
        client.set_registered_model_alias(name, "production", ml_version(back))
    settle()
    uri = f"models:/{name}@production"
    with contextlib.redirect_stderr(io.StringIO()):
        t = interleaved(
            {
                "modelops_load": lambda i: ops.registry.load_uri(uri),
                "mlflow_load": lambda i: mlflow.sklearn.load_model(uri),
                "modelops_get_version": lambda i: ops.registry.get_version(
                    name, stage="production"
                ),
                "mlflow_get_by_alias": lambda i: client.get_model_version_by_alias(
                    name, "production"
                ),
            },
            repeats,
            warmup=1,
        )
        expected = predictions(clf, x)
        same = (
            predictions(ops.registry.load_uri(uri), x) == expected
            and predictions(mlflow.sklearn.load_model(uri), x) == expected
        )
    out: dict[str, Any] = {
        "n_events": n_events,
        "modelops_events": len(ops.registry.history(name)),
        "same_predictions": same,
    }
    for key, times in t.items():
        out[f"{key}_s"] = statistics.median(times)
        out[f"{key}_all_s"] = times
    return out


# -- scaling ---------------------------------------------------------------------------------

MODELOPS_FIRST_LOOKUP = r"""
import json, sys, time
import modelops
t0 = time.perf_counter()
ops = modelops.connect(sys.argv[1])
t1 = time.perf_counter()
version = ops.registry.get_version(sys.argv[2], stage="production").version
t2 = time.perf_counter()
print(json.dumps({"s": t2 - t1, "open_s": t2 - t0, "version": version}))
"""

MLFLOW_FIRST_LOOKUP = r"""
import json, logging, sys, time, warnings
warnings.filterwarnings("ignore")
import mlflow
from mlflow import MlflowClient
for name in ("mlflow", "alembic", "sqlalchemy"):
    logging.getLogger(name).setLevel(logging.ERROR)
mlflow.set_tracking_uri(sys.argv[1])
mlflow.set_registry_uri(sys.argv[1])
t0 = time.perf_counter()
client = MlflowClient()
client.search_registered_models(max_results=1)      # opens the registry store
t1 = time.perf_counter()
version = client.get_model_version_by_alias(sys.argv[2], "production").version
t2 = time.perf_counter()
print(json.dumps({"s": t2 - t1, "open_s": t2 - t0, "version": version}))
"""


def scale(tmp: str, client: Any, ml_uri: str, quick: bool) -> bool:
    """The scaling curves of the registry (``--scale``); True if both systems agreed."""
    from scaling import print_curve

    import modelops

    root = os.path.join(tmp, "modelops")
    ops = modelops.connect(root)
    source = os.path.join(tmp, "weights.bin")
    with open(source, "wb") as f:
        f.write(b"w" * 64)
    top = 10_000 if quick else 100_000
    print(f"[scale 1/3] registering {top:,} versions of one model, each call timed ...",
          flush=True)
    times = []
    for _ in range(top):
        t0 = perf()
        ops.registry.register("flat", source, flavor="path")
        times.append(perf() - t0)
    decile = top // 10
    medians = [statistics.median(times[i * decile:(i + 1) * decile]) for i in range(10)]
    points = [(i * decile + decile // 2, m * 1e3) for i, m in enumerate(medians)]
    exponent = print_curve("register version n of one model: median of each decile", "ms",
                           points)
    ratio = medians[-1] / medians[0]
    print(f"  last decile / first decile: {ratio:.2f} (target <= 1.5: "
          f"{'PASS' if ratio <= 1.5 else 'FAIL'}); exponent {exponent:.2f}")

    events = 200 if quick else 1000
    sizes = sorted({1000, top // 10, top})
    print(f"[scale 2/3] {events:,} promotions on models of {sizes} versions ...", flush=True)
    for size in sizes[:2]:
        for _ in range(size):
            ops.registry.register(f"v{size}", source, flavor="path")
    for size in sizes:
        name = "flat" if size == top else f"v{size}"
        for i in range(events):
            ops.registry.promote(name, f"1.0.{size - 1 - (events - 1 - i) % 2}",
                                 stage="production")
    ops.close()
    print(f"[scale 3/3] MLflow: 1,000 versions, {events:,} alias moves ...", flush=True)
    client.create_registered_model("v1000")
    for _ in range(1000):
        client.create_model_version("v1000", source)
    for i in range(events):
        client.set_registered_model_alias("v1000", "production", str(1000 - (events - 1 - i) % 2))
    settle()
    firsts: dict[int, list[float]] = {size: [] for size in sizes}
    mlflow_first: list[float] = []
    opened: dict[str, list[float]] = {"modelops": [], "mlflow": []}
    agreed = True
    for _ in range(3 if quick else 5):
        for size in sizes:
            name = "flat" if size == top else f"v{size}"
            out = run_subprocess(MODELOPS_FIRST_LOOKUP, root, name)
            firsts[size].append(out["s"])
            if size == 1000:
                opened["modelops"].append(out["open_s"])
            if out["version"] != f"1.0.{size - 1}":
                print(f"ERROR: modelops at {size:,}: {out['version']} in production",
                      file=sys.stderr)
                agreed = False
        out = run_subprocess(MLFLOW_FIRST_LOOKUP, ml_uri, "v1000")
        mlflow_first.append(out["s"])
        opened["mlflow"].append(out["open_s"])
        if str(out["version"]) != "1000":
            print(f"ERROR: MLflow: version {out['version']} at the alias", file=sys.stderr)
            agreed = False
    cold = {size: statistics.median(t) for size, t in firsts.items()}
    print_curve(f"first get_version(stage='production') of a fresh process, {events:,} events, "
                "median of the processes", "ms",
                [(size, cold[size] * 1e3) for size in sizes], note="size = versions")
    ml = statistics.median(mlflow_first)
    at10k, at1k = cold[sizes[1]], cold[sizes[0]]
    print(f"  at {sizes[1]:,} versions: {fmt_time(at10k)} (target <= 20 ms: "
          f"{'PASS' if at10k <= 0.020 else 'FAIL'})")
    print(f"  at 1,000 versions: modelops {fmt_time(at1k)}, MLflow get_model_version_by_alias "
          f"{fmt_time(ml)}: {ml / at1k:.1f}x (target >= 4x: "
          f"{'PASS' if ml / at1k >= 4 else 'FAIL'})")
    mo_open, ml_open = (statistics.median(opened[k]) for k in ("modelops", "mlflow"))
    print(f"  at 1,000 versions, opening the store included (modelops.connect / MlflowClient "
          f"and its first query): modelops {fmt_time(mo_open)}, MLflow {fmt_time(ml_open)}: "
          f"{ml_open / mo_open:.1f}x (target >= 4x: "
          f"{'PASS' if ml_open / mo_open >= 4 else 'FAIL'})")
    if not agreed:
        print("ERROR: a fresh process found another version in production", file=sys.stderr)
    return agreed


# -- profiling ------------------------------------------------------------------------------


def profile_modelops(ops: Any, clf: Any, tmp: str, n: int, repeats: int) -> dict[str, str]:
    """cProfile modelops' register loop (as in the first figure) and its warm load."""
    _, files = version_artifacts(clf, os.path.join(tmp, "profile-artifacts"), n)
    out = {}
    prof = cProfile.Profile()
    prof.enable()
    for i in range(n):
        ops.registry.register("profile-path", files[i], metrics=version_metrics(i), flavor="path")
    prof.disable()
    out["register"] = _stats_text(prof, f"register(path) x {n}")
    ops.registry.register("profile-load", clf, metrics=version_metrics(0))
    ops.registry.promote("profile-load", "1.0.0")
    ops.registry.load_uri("models:/profile-load@production")
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(repeats):
        ops.registry.load_uri("models:/profile-load@production")
    prof.disable()
    out["load"] = _stats_text(prof, f"load_uri (joblib) x {repeats}")
    return out


def _stats_text(prof: cProfile.Profile, title: str) -> str:
    buf = io.StringIO()
    buf.write(f"== cProfile: modelops {title} ==\n")
    stats = pstats.Stats(prof, stream=buf)
    stats.sort_stats("tottime").print_stats(18)
    stats.sort_stats("cumulative").print_stats(25)
    return buf.getvalue()


# -- report ---------------------------------------------------------------------------------


def rows_of(results: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []

    def row(figure: str, mo: float, ml: float, target: float | None, note: str = "") -> None:
        ratio = ml / mo if mo > 0 else float("inf")
        rows.append(
            {
                "figure": figure,
                "modelops_s": mo,
                "mlflow_s": ml,
                "ratio": ratio,
                "target": target,
                "pass": None if target is None else ratio >= target,
                "note": note,
            }
        )

    rg = results["register"]
    n = rg["n_versions"]
    size = rg["artifact_bytes"]
    mo = rg["modelops_path_per_version_s"]
    row(
        f"register {n} versions, per version: vs create_model_version",
        rg["pair_modelops_per_version_s"],
        rg["pair_mlflow_per_version_s"],
        TARGET_REGISTER,
        f"each version has its own {size:.0f}-byte joblib file (the estimator with a "
        "version attribute). modelops: register(name, <file i>, metrics=<2 metrics>, "
        "flavor='path'): sha256s the file where it is, appends its bytes to the model's pack "
        "and the version's record to its log, under the log's lock. MLflow: "
        "MlflowClient.create_model_version(name, source=<run artifact dir where file i was "
        "logged beforehand, untimed>, run_id, tags=<the 2 metrics>): one row in "
        "model_versions + tag rows in one sqlite transaction; it copies, reads and digests "
        "nothing (source is a string). The two calls take turns, one each per round. "
        "Totals include creating the registered model (modelops: on its first register)",
    )
    row(
        "  … the same, median call",
        rg["pair_modelops_median_s"],
        rg["pair_mlflow_median_s"],
        TARGET_REGISTER,
        "the median of the per-call times instead of the mean (less moved by busy spells of "
        f"a shared machine; the row above is what {n} registrations cost)",
    )
    row(
        f"register {n} versions in rotation with 3 other styles: vs create_model_version",
        mo,
        rg["mlflow_cmv_per_version_s"],
        None,
        "orientation: the same two calls, on other models, in a second pass where the five "
        "registration styles of this table take turns (the order rotating each round), so "
        "a call often follows MLflow's register_model or modelops' object register; this "
        "and the rows below come from that pass",
    )
    row(
        f"register {n} versions, per version: vs log_artifact + create_model_version",
        mo,
        rg["mlflow_log_cmv_per_version_s"],
        None,
        "the modelops figure of the rotation; MLflow per version: "
        "MlflowClient.log_artifact(run_id, "
        "<file i>, 'versions/<i>') (copies it into the run's artifacts, no digest) "
        "+ create_model_version(source=<that dir>) — the same file work as modelops minus "
        "the digest",
    )
    row(
        f"register {n} versions, per version: vs mlflow.register_model",
        mo,
        rg["mlflow_register_model_per_version_s"],
        None,
        "the modelops figure of the rotation; MLflow per version: mlflow.register_model("
        "'models:/<model_id>', name, tags=...) of a model logged once with "
        "mlflow.sklearn.log_model (tries create_registered_model, looks the logged model up, "
        "creates the version; copies nothing)",
    )
    row(
        f"register {n} versions of the estimator object, per version",
        rg["modelops_object_per_version_s"],
        rg["mlflow_cmv_per_version_s"],
        None,
        "modelops: register(name, <estimator i>, metrics=...) (joblib.dump into a "
        "temporary directory, sha256, store); MLflow: create_model_version as in the first "
        "row (MLflow has nothing that stores an object in its registry without logging it "
        "to a run first)",
    )
    ld = results["load"]
    for label in ld["pairings"]:
        lp = ld[label]
        files_mo = ", ".join(f"{p} {size} B" for p, size in lp["modelops_files"])
        files_ml = ", ".join(f"{p} {size} B" for p, size in lp["mlflow_files"])
        what = f"resolve @production + load LogisticRegression, {label}"
        row(
            f"{what}, warm",
            lp["modelops_warm_s"],
            lp["mlflow_warm_s"],
            TARGET_LOAD,
            f"{lp['what']}; median of {ld['repeats']} in the process that registered it. "
            f"modelops: ops.registry.load_uri('models:/iris-{label}@production'): replays "
            "new events to find production, takes the version's record, reads the files "
            f"({files_mo}) from the pack, checks every sha256, deserializes from memory. "
            f"MLflow: mlflow.sklearn.load_model('models:/iris-{label}@production'): "
            "resolves the alias in the registry, looks up the logged model "
            f"({lp['mlflow_source']}), copies its artifact directory ({files_ml}) to a "
            "temporary directory, reads MLmodel, deserializes",
        )
        row(
            f"  … vs get_model_version_by_alias + load_model, {label}, warm",
            lp["modelops_warm_s"],
            lp["mlflow_alias_then_load_warm_s"],
            TARGET_LOAD,
            "the issue's wording: MLflow's explicit alias look-up, then load_model of the same "
            "URI (which looks the alias up again); the row above is the stricter pairing",
        )
        row(
            f"{what}, cold",
            lp["modelops_cold_s"],
            lp["mlflow_cold_s"],
            TARGET_LOAD,
            f"first load of a fresh process, median of {ld['cold_repeats']}; the library and "
            "the deserializer's modules imported and the store opened first (not timed)",
        )
        row(
            f"  … whole fresh process ({label}: import, open, load)",
            lp["modelops_process_s"],
            lp["mlflow_process_s"],
            None,
            "orientation: wall time of the cold subprocess, with the untimed imports above "
            f"(scikit-learn{', skops' if label == 'skops' else ''} too); imports: modelops "
            f"{fmt_time(lp['modelops_cold_import_s'])}, mlflow+mlflow.sklearn "
            f"{fmt_time(lp['mlflow_cold_import_s'])}; store opening: modelops "
            f"{fmt_time(lp['modelops_cold_open_s'])}, MLflow {fmt_time(lp['mlflow_cold_open_s'])}",
        )
    if "skops" in ld["pairings"]:
        row(
            "load, each system's default format, warm",
            ld["pickle"]["modelops_warm_s"],
            ld["skops"]["mlflow_warm_s"],
            None,
            "orientation: modelops' default for an estimator (joblib) against MLflow 3.17's "
            "default for mlflow.sklearn.log_model off Databricks (skops); the figures above",
        )
    st = results["stages"]
    row(
        "promote to production",
        st["modelops_promote_s"],
        st["mlflow_set_alias_production_s"],
        None,
        "modelops: promote(name, v, stage='production') (the previous holder is archived: "
        "one event file, exclusive create); MLflow: set_registered_model_alias(name, "
        f"'production', v); back and forth between two versions, median of {st['repeats']}",
    )
    row(
        "set an alias",
        st["modelops_set_alias_s"],
        st["mlflow_set_alias_s"],
        None,
        "modelops: set_alias(name, 'champion', v); MLflow: set_registered_model_alias(name, "
        "'champion', v); back and forth",
    )
    row(
        "get_version(stage='production')",
        st["modelops_get_version_s"],
        st["mlflow_get_by_alias_s"],
        None,
        "MLflow: get_model_version_by_alias(name, 'production'); both return the full version "
        f"record; modelops read after {st['modelops_events']} events in the model's history",
    )
    row(
        "resolve('models:/…@production')",
        st["modelops_resolve_s"],
        st["mlflow_get_by_alias_s"],
        None,
        "modelops: ops.registry.resolve(uri) (parse + get_version); MLflow as above",
    )
    hs = results["history"]
    k = hs["n_events"]
    row(
        f"resolve + load, pickle, warm, after {k:,} promotions",
        hs["modelops_load_s"],
        hs["mlflow_load_s"],
        None,
        "orientation: the warm pickle load again, on a model whose production moved "
        f"{k:,} times ({hs['modelops_events']} events in modelops' history; MLflow's alias "
        "moved as often); median of the warm repeats",
    )
    row(
        f"get_version(stage='production'), after {k:,} promotions",
        hs["modelops_get_version_s"],
        hs["mlflow_get_by_alias_s"],
        None,
        "orientation: as the get_version row, on the same model as the row above",
    )
    return rows


def print_table(rows: list[dict[str, Any]], results: dict[str, Any]) -> None:
    env = results["environment"]
    print()
    print(
        f"modelops {env['modelops']} vs MLflow {env['mlflow']} (sqlite store) | "
        f"scikit-learn {env['sklearn']} | Python {env['python']} | {env['cpus']} CPUs | "
        f"{env['platform']} | modelops tree {env['modelops_tree']}"
    )
    if env.get("loadavg_start") and env.get("loadavg_end"):
        print(
            f"load average (1 min) at start {env['loadavg_start'][0]:.2f}, at end "
            f"{env['loadavg_end'][0]:.2f} on {env['cpus']} CPUs"
        )
    print()
    headers = ["figure", "modelops", "MLflow", "ratio", "target", "result"]
    table = [
        [
            r["figure"],
            fmt_time(r["modelops_s"]),
            fmt_time(r["mlflow_s"]),
            f"{r['ratio']:.2f}x" if r["ratio"] < 10 else f"{r['ratio']:.1f}x",
            "-" if r["target"] is None else f"≥ {r['target']:g}x",
            "-" if r["pass"] is None else ("PASS" if r["pass"] else "FAIL"),
        ]
        for r in rows
    ]
    widths = [max(len(h), *(len(t[i]) for t in table)) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths))
    print(line)
    print("-" * len(line))
    for t in table:
        print(
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(t, widths))
            )
        )
    print()
    print("notes:")
    for r in rows:
        if r["note"]:
            print(f"  - {r['figure'].strip(' …')}: {r['note']}")
    rg = results["register"]
    print("  - per-version spread (median call; mean of the first and last tenth of calls):")
    for key, label in (
        ("pair_modelops", "modelops register (path), in turns with create_model_version"),
        ("pair_mlflow", "MLflow create_model_version, in turns with modelops register"),
        ("modelops_path", "modelops register (path)"),
        ("modelops_object", "modelops register (object)"),
        ("mlflow_cmv", "MLflow create_model_version"),
        ("mlflow_log_cmv", "MLflow log_artifact + create_model_version"),
        ("mlflow_register_model", "MLflow register_model"),
    ):
        print(
            f"      {label}: median {fmt_time(rg[key + '_median_s'])}, first tenth "
            f"{fmt_time(rg[key + '_first_tenth_s'])}, last tenth "
            f"{fmt_time(rg[key + '_last_tenth_s'])}"
        )
    checks = ", ".join(
        f"{k} {c['versions']} versions" + ("" if c["metrics_ok"] else " (METRICS DIFFER)")
        for k, c in rg["checks"].items()
    )
    digests_ok = all(rg["checks"][k]["digest_ok"] for k in ("modelops_path", "pair_modelops"))
    print(f"  - versions registered: {checks}; modelops digests match the file: {digests_ok}")
    ld = results["load"]
    if "skipped" in ld:
        print(f"  - load pairing not run: {ld['skipped']}")
    for label in ld["pairings"]:
        lp = ld[label]
        print(
            f"  - {label}: loaded versions: modelops {lp['modelops_version']}, MLflow "
            f"{lp['mlflow_version']}; predict_proba on iris rows {ld['rows']} identical to the "
            f"trained model in every load (warm and cold, both systems): {lp['same_predictions']}"
        )
    hs = results["history"]
    print(
        f"  - after {hs['n_events']:,} promotions: predictions identical in both systems: "
        f"{hs['same_predictions']}"
    )
    st = results["stages"]
    print(
        f"  - after the flips: production modelops {st['modelops_production']} / MLflow "
        f"{st['mlflow_production']}, champion {st['modelops_champion']} / "
        f"{st['mlflow_champion']}; same holders: {st['same_holders']}"
    )
    print()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: 50 versions, 10 loads, 2 cold processes"
    )
    parser.add_argument("--json", metavar="PATH", help="write every figure to PATH as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument(
        "--profile", action="store_true", help="also cProfile modelops' register and load"
    )
    parser.add_argument("--scale", action="store_true",
                        help="only the scaling curves: register to 100,000 versions, the "
                        "first look-up of a fresh process by model size")
    args = parser.parse_args(argv)

    n_versions = 50 if args.quick else 200
    load_repeats = 10 if args.quick else 20
    cold_repeats = 2 if args.quick else 5
    stage_repeats = 20 if args.quick else 50
    n_events = 200 if args.quick else 1000

    import modelops

    try:
        quiet_mlflow()
        import joblib
        import mlflow
        import sklearn
        from mlflow import MlflowClient

        quiet_mlflow()  # again: importing mlflow configures its own logger
    except ImportError as exc:
        print(
            f"{exc.name} is not installed: `pip install mlflow scikit-learn joblib` (or run "
            "`tox -e bench`)",
            file=sys.stderr,
        )
        return 2

    tmp = tempfile.mkdtemp(prefix="modelops-bench-registry-")
    root = os.path.join(tmp, "modelops")
    ml_uri = f"sqlite:///{tmp}/mlflow.db"
    cwd = os.getcwd()
    os.chdir(tmp)  # MLflow's default ./mlruns and similar land in the temp dir, too
    try:
        mlflow.set_tracking_uri(ml_uri)
        mlflow.set_registry_uri(ml_uri)
        client = MlflowClient()
        if args.scale:
            return 0 if scale(tmp, client, ml_uri, args.quick) else 1
        ops = modelops.connect(root)
        exp_id = mlflow.create_experiment(
            "bench-registry", artifact_location=Path(tmp, "mlartifacts").as_uri()
        )
        mlflow.set_experiment(experiment_id=exp_id)

        x, clf, other = train_models()
        artifact_dir = os.path.join(tmp, "artifact")
        os.makedirs(artifact_dir)
        artifact = os.path.join(artifact_dir, "model.joblib")
        joblib.dump(clf, artifact)

        results: dict[str, Any] = {
            "environment": {
                "modelops": modelops.__version__,
                "mlflow": mlflow.__version__,
                "sklearn": sklearn.__version__,
                "python": platform.python_version(),
                "cpus": os.cpu_count(),
                "platform": platform.platform(),
                "quick": args.quick,
                "tmpdir": tmp,
                "modelops_tree": git_state(),
                "MLFLOW_DISABLE_TELEMETRY": os.environ.get("MLFLOW_DISABLE_TELEMETRY"),
                "loadavg_start": os.getloadavg() if hasattr(os, "getloadavg") else None,
            },
        }
        print(f"[1/4] registering {n_versions} versions (x2 modelops, x3 MLflow) ...", flush=True)
        results["register"] = bench_register(ops, mlflow, client, clf, tmp, exp_id, n_versions)
        print("[2/4] resolving and loading @production, warm and cold ...", flush=True)
        results["load"] = bench_load(
            ops, mlflow, client, x, clf, other, root, ml_uri, load_repeats, cold_repeats
        )
        print("[3/4] promotions, aliases, look-ups ...", flush=True)
        results["stages"] = bench_stages(ops, client, clf, other, artifact, exp_id, stage_repeats)
        print(f"[4/4] a model with {n_events:,} promotions ...", flush=True)
        results["history"] = bench_history(
            ops, mlflow, client, x, clf, other, n_events, load_repeats
        )
        if args.profile:
            print("[profile] cProfile of modelops' register and load ...", flush=True)
            results["profile"] = profile_modelops(ops, clf, tmp, n_versions, load_repeats)
        ops.close()
        if hasattr(os, "getloadavg"):
            results["environment"]["loadavg_end"] = os.getloadavg()
    finally:
        os.chdir(cwd)
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)

    rows = rows_of(results)
    results["table"] = rows
    print_table(rows, results)
    if args.profile:
        for text in results["profile"].values():
            print(text)
    ok = (
        results["register"]["ok"]
        and results["load"]["same_predictions"]
        and results["stages"]["same_holders"]
        and results["history"]["same_predictions"]
    )
    if not ok:
        print(
            "ERROR: the two systems do not hold the same thing (versions, metrics, holders or "
            "predictions differ); the comparison is not like for like.",
            file=sys.stderr,
        )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=2)
        print(f"figures written to {args.json}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
