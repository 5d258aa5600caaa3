"""The modelops demo: train models on a dataset bundled with scikit-learn, track every run on
the embedded local store, search and compare them, register the best model, promote it
through a promotion rule, serve it from the registry, and watch its inputs for drift.

    python examples/demo.py                   # store in ./.modelops (or $MODELOPS_URI)
    python examples/demo.py --store /tmp/ops  # any store URI or path
"""

from __future__ import annotations

import argparse
import os
import time
import uuid

from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    accuracy_score,
    classification_report,
    confusion_matrix,
    f1_score,
    log_loss,
    roc_auc_score,
)
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import modelops
from modelops.registry import AllOf, Floors, MetricImprovement

EXPERIMENT = "demo-breast-cancer"
MODEL = "breast-cancer"

CANDIDATES = [
    ("logreg-C0.01", LogisticRegression, {"C": 0.01, "max_iter": 5000}),
    ("logreg-C1", LogisticRegression, {"C": 1.0, "max_iter": 5000}),
    ("forest-50", RandomForestClassifier, {"n_estimators": 50, "max_depth": 4, "random_state": 0}),
    ("forest-200", RandomForestClassifier, {"n_estimators": 200, "random_state": 0}),
    ("boosting-100", GradientBoostingClassifier, {"n_estimators": 100, "learning_rate": 0.1,
                                                  "random_state": 0}),
]


def track_training(ops: modelops.Client, session: str) -> dict[str, object]:
    """Train each candidate in a tracked run; returns the fitted models by run id."""
    data = load_breast_cancer()
    x_train, x_test, y_train, y_test = train_test_split(
        data.data, data.target, test_size=0.3, stratify=data.target, random_state=0)
    models = {}
    for name, estimator_class, params in CANDIDATES:
        tags = {"dataset": "breast_cancer", "family": estimator_class.__name__,
                "demo_session": session}
        with ops.tracking.start_run(experiment=EXPERIMENT, name=name, tags=tags) as run:
            run.log_params({"model": estimator_class.__name__, **params})
            model = make_pipeline(StandardScaler(), estimator_class(**params))
            started = time.perf_counter()
            model.fit(x_train, y_train)
            run.log_metric("fit_seconds", time.perf_counter() - started)
            proba = model.predict_proba(x_test)[:, 1]
            predicted = (proba >= 0.5).astype(int)
            run.log_metrics({
                "accuracy": accuracy_score(y_test, predicted),
                "f1": f1_score(y_test, predicted),
                "roc_auc": roc_auc_score(y_test, proba),
                "log_loss": log_loss(y_test, proba),
            })
            booster = model[-1]
            if hasattr(booster, "staged_predict_proba"):
                # A learning curve: one point per boosting stage.
                scaled = model[0].transform(x_test)
                for step, staged in enumerate(booster.staged_predict_proba(scaled)):
                    run.log_metric("test_log_loss", log_loss(y_test, staged[:, 1]), step=step)
            run.log_dict({"labels": data.target_names.tolist(),
                          "matrix": confusion_matrix(y_test, predicted).tolist()},
                         "confusion_matrix.json")
            run.log_text(classification_report(y_test, predicted,
                                               target_names=data.target_names),
                         "classification_report.txt")
            models[run.run_id] = model
        print(f"  tracked {name:<14} f1={run.run.metrics['f1']:.4f}  run {run.run_id}")
    return models


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", help="store URI or path (default: $MODELOPS_URI or ./.modelops)")
    parser.add_argument("--report", help="where to write the drift report (HTML)")
    args = parser.parse_args(argv)

    ops = modelops.connect(args.store)
    session = uuid.uuid4().hex[:8]
    print(f"modelops demo: store {ops.uri}, experiment {EXPERIMENT!r}, session {session}\n")

    print("1. Training and tracking candidates")
    models = track_training(ops, session)
    run_ids = list(models)

    print("\n2. Searching: runs of this session with f1 > 0.95, best ROC AUC first")
    found = ops.tracking.search_runs(
        EXPERIMENT,
        filter=f"metrics.f1 > 0.95 and tags.demo_session = '{session}'",
        order_by=["metrics.roc_auc DESC"],
    )
    for run in found:
        print(f"  {run.name:<14} roc_auc={run.metrics['roc_auc']:.4f}  f1={run.metrics['f1']:.4f}")

    print("\n3. Comparing every run of this session side by side")
    comparison = ops.tracking.compare(run_ids)
    print(comparison)
    best = comparison.best("roc_auc")
    print(f"\nBest by ROC AUC: {best.name} ({best.metrics['roc_auc']:.4f}), run {best.run_id}")

    history = ops.tracking.get_metric_history(
        next(r for r in run_ids if ops.tracking.get_run(r).name.startswith("boosting")),
        "test_log_loss")
    print(f"Boosting learning curve: {len(history)} points, log loss "
          f"{history.values[0]:.3f} -> {history.values[-1]:.3f}")
    print(f"Artifacts of the best run: "
          f"{[a.path for a in ops.tracking.list_artifacts(best.run_id)]}")

    print("\n4. Registering the best model and promoting it through a rule")
    version = ops.registry.register(MODEL, models[best.run_id], run=best,
                                    description=f"{best.name} from demo session {session}",
                                    lineage={"training_data": "sklearn:breast_cancer"})
    print(f"  registered {MODEL} {version.version} ({version.framework}, {version.flavor}, "
          f"sha256 {version.files[0].sha256[:12]}…)")
    gate = AllOf(Floors({"accuracy": 0.90, "f1": 0.90, "roc_auc": 0.95}),
                 MetricImprovement("roc_auc", min_improvement=0.0))
    try:
        ops.registry.promote(MODEL, version.version, policy=gate, reason="demo candidate")
        print(f"  promoted {version.version} to production")
    except modelops.PromotionRefused as refused:
        print(f"  not promoted: {refused.decision.reason}")
    serving = ops.registry.resolve(f"models:/{MODEL}@production")
    model = ops.registry.load_uri(f"models:/{MODEL}@production")
    x = load_breast_cancer().data[:5]
    predictions = model.predict(x).tolist()
    print(f"  serving {MODEL} {serving.version}: predictions for 5 rows {predictions}")
    print("  history:")
    for event in ops.registry.history(MODEL)[-3:]:
        moves = ", ".join(f"{c.version} {c.before}->{c.after}" for c in event.changes)
        print(f"    #{event.seq} {event.action}: {moves or event.decision.reason}")

    print("\n5. Watching the model's inputs for drift")
    watch_drift(ops, args.report or os.path.join(os.getcwd(), "demo-drift-report.html"))

    print("\n6. Serving with prediction logging, feedback and monitoring")
    serve_and_monitor(ops, model, serving.version)


def serve_and_monitor(ops: modelops.Client, model: object, version: str) -> None:
    """Log every prediction the served model makes, the truth when it arrives, then ask the
    monitor how the model is doing."""
    data = load_breast_cancer()
    names = [n.replace(" ", "_") for n in data.feature_names]
    with ops.predictions.logger(MODEL, version=version) as log:
        for row, truth in zip(data.data, data.target):
            started = time.perf_counter()
            proba = float(model.predict_proba(row.reshape(1, -1))[0, 1])
            pid = log.log(dict(zip(names, row.tolist())), int(proba >= 0.5), probability=proba,
                          latency_ms=(time.perf_counter() - started) * 1000)
            log.feedback(pid, int(truth))
    print(f"  logged {log.stats.written} records ({log.stats.dropped} dropped)")
    monitor = ops.monitor(MODEL, version)
    perf = monitor.performance("24h")
    print("  last 24h on feedback: " + ", ".join(
        f"{k}={v:.3f}" for k, v in sorted(perf.metrics.items())))
    latency = monitor.latency("24h")
    print(f"  latency p50={latency.p50:.2f} ms p99={latency.p99:.2f} ms")
    health = monitor.health("24h")
    print(f"  health: {health.status}")
    for issue in health.issues:
        print(f"    [{issue.severity}] {issue.kind}: {issue.message}")


def watch_drift(ops: modelops.Client, report_path: str) -> None:
    """Profile the training inputs, then check a fresh sample and a drifted one."""
    data = load_breast_cancer()
    x_train, x_new = train_test_split(data.data, test_size=0.3, random_state=1)
    names = [n.replace(" ", "_") for n in data.feature_names]
    ops.drift.fit_reference(MODEL, dict(zip(names, x_train.T)))
    calm = ops.drift.check(MODEL, dict(zip(names, x_new.T)))
    print(f"  held-out sample: {len(calm.drifted_columns)} of {len(calm.columns)} features "
          f"drifted -> dataset drifted: {calm.drifted}")
    shifted = x_new.copy()
    shifted[:, :20] *= 1.25          # e.g. a unit change upstream in 20 of 30 features
    alarm = ops.drift.check(MODEL, dict(zip(names, shifted.T)))
    print(f"  shifted sample:  {len(alarm.drifted_columns)} of {len(alarm.columns)} features "
          f"drifted -> dataset drifted: {alarm.drifted}")
    worst = max(alarm.columns, key=lambda c: c.effect or 0.0)
    print(f"  e.g. {worst.column}: {worst.reason}")
    alarm.to_html(report_path)
    print(f"  report: {report_path}")


if __name__ == "__main__":
    main()
