"""The modelops demo: a model's whole life on the embedded local store.

Train five scikit-learn models on a dataset bundled with scikit-learn, track every run, search
and compare them, register the best and promote it through a rule; then put it in production:
serve predictions with logging and feedback, watch its health, let the inputs drift and the
health turn, retrain automatically through a retraining policy, route a share of traffic to the
challenger, judge it with a significance test and promote it — printing what happens at each
step, ending healthy on clean data with the reasons why, and writing the HTML drift and
monitoring reports.

    python examples/demo.py                   # store in ./.modelops (or $MODELOPS_URI)
    python examples/demo.py --store ./ops     # any store URI or path

Production traffic is simulated: patients drawn from each class's distribution of the
training data (a Gaussian on log1p of the features), so there is as much of it as the story
needs, and the requests are independent. The demo replays 18 hours of that traffic in
seconds: predictions carry simulated timestamps, and the monitor and the retraining cycle are
asked at those times (``now=``).
"""

from __future__ import annotations

import argparse
import os
import time
import uuid

import numpy as np
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
from modelops.lifecycle import RetrainPolicy, run_cycle
from modelops.registry import AllOf, Floors, MetricImprovement

EXPERIMENT = "demo-breast-cancer"
MODEL = "breast-cancer"
HOUR = 3_600_000
#: The drift: a new scanner calibration reads the first 20 measurements 50% higher.
DRIFTED_FEATURES = 20
DRIFT_FACTOR = 1.5

CANDIDATES = [
    ("logreg-C0.01", LogisticRegression, {"C": 0.01, "max_iter": 5000}),
    ("logreg-C1", LogisticRegression, {"C": 1.0, "max_iter": 5000}),
    ("forest-50", RandomForestClassifier, {"n_estimators": 50, "max_depth": 4, "random_state": 0}),
    ("forest-200", RandomForestClassifier, {"n_estimators": 200, "random_state": 0}),
    ("boosting-100", GradientBoostingClassifier, {"n_estimators": 100, "learning_rate": 0.1,
                                                  "random_state": 0}),
]


def feature_names() -> list[str]:
    return [n.replace(" ", "_") for n in load_breast_cancer().feature_names]


def split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    data = load_breast_cancer()
    return train_test_split(data.data, data.target, test_size=0.3, stratify=data.target,
                            random_state=0)


class Patients:
    """Simulated production traffic: new patients drawn from each class of the training data
    by a Gaussian copula (every measurement keeps its distribution, the measurements keep
    their correlations); ``drift`` applies the scanner recalibration."""

    def __init__(self, x: np.ndarray, y: np.ndarray, seed: int = 7) -> None:
        from scipy.special import ndtri

        self.rng = np.random.default_rng(seed)
        self.prior = float(y.mean())
        self.classes = {}
        for c in (0, 1):
            rows = np.sort(x[y == c], axis=0)
            n = len(rows)
            ranks = np.argsort(np.argsort(x[y == c], axis=0), axis=0)
            scores = ndtri((ranks + 0.5) / n)
            self.classes[c] = (rows, (np.arange(n) + 0.5) / n, np.corrcoef(scores, rowvar=False))

    def draw(self, n: int, drift: bool = False) -> tuple[np.ndarray, np.ndarray]:
        from scipy.special import ndtr

        y = (self.rng.random(n) < self.prior).astype(int)
        x = np.empty((n, 30))
        for c, (sorted_rows, levels, corr) in self.classes.items():
            rows = y == c
            u = ndtr(self.rng.multivariate_normal(np.zeros(30), corr, int(rows.sum())))
            x[rows] = np.column_stack([np.interp(u[:, j], levels, sorted_rows[:, j])
                                       for j in range(30)])
        if drift:
            x[:, :DRIFTED_FEATURES] *= DRIFT_FACTOR
        return x, y


def track_training(ops: modelops.Client, demo_run: str) -> dict[str, object]:
    """Train each candidate in a tracked run; returns the fitted models by run id."""
    data = load_breast_cancer()
    x_train, x_test, y_train, y_test = split()
    models = {}
    for name, estimator_class, params in CANDIDATES:
        tags = {"dataset": "breast_cancer", "family": estimator_class.__name__,
                "demo_run": demo_run}
        with ops.tracking.start_run(experiment=EXPERIMENT, name=name, tags=tags) as run:
            run.log_params({"model": estimator_class.__name__, **params})
            run.log_input({**dict(zip(feature_names(), x_train.T)), "benign": y_train},
                          name="training", source="sklearn:breast_cancer", target="benign")
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


def serve(ops: modelops.Client, model: object, version: str, patients: Patients, n: int,
          start: int, end: int, drift: bool) -> None:
    """Serve ``n`` requests spread over ``[start, end)``: predict, log, and record the truth."""
    names = feature_names()
    x, truth = patients.draw(n, drift)
    stamps = start + np.arange(n) * ((end - start) // n)
    with ops.predictions.logger(MODEL, version=version) as log:
        for row, actual, ts in zip(x, truth, stamps.tolist()):
            started = time.perf_counter()
            proba = float(model.predict_proba(row.reshape(1, -1))[0, 1])
            pid = log.log(dict(zip(names, row.tolist())), int(proba >= 0.5), probability=proba,
                          latency_ms=(time.perf_counter() - started) * 1000, timestamp=ts)
            log.feedback(pid, int(actual), timestamp=ts + 60_000)
    print(f"  logged {log.stats.written} records ({log.stats.dropped} dropped)")


def show_health(ops: modelops.Client, version: str, at: int, label: str,
                why: bool = False) -> str:
    monitor = ops.monitor(MODEL, version, now=at)
    perf = monitor.performance("6h")
    health = monitor.health("6h", alert=False)
    print(f"  {label}: accuracy={perf.metrics.get('accuracy', float('nan')):.3f} on {perf.n} "
          f"predictions with feedback; health: {health.status}")
    for issue in health.issues:
        if issue.severity in ("critical", "high", "medium"):
            print(f"    [{issue.severity}] {issue.kind}: {issue.message}")
    if why:
        explain(monitor)
    return health.status


def explain(monitor: object) -> None:
    """Why the health is what it is: each verdict with the rule that made it."""
    window = monitor.window("6h")  # type: ignore[attr-defined]
    rules = monitor.rules  # type: ignore[attr-defined]
    report = window.drift.report
    if report is not None:
        tests = sum(1 for c in (*report.columns, report.target, window.drift.prediction)
                    if c is not None and c.judged and c.pvalue is not None)
        print(f"    why: input drift — {len(report.drifted_columns)} of "
              f"{len(report.judged_columns)} features drifted; a column drifts when its test "
              f"is significant at alpha {rules.drift_alpha:g} after "
              f"{rules.drift_correction.upper()} over the window's {tests} tests and its "
              f"effect reaches its floor (0.05 σ), each judged on at least "
              f"{rules.drift_min_rows} values")
    found = window.degradation()
    if found is not None:
        shown = ", ".join(f"{c.metric} {c.current:.3f} vs {c.baseline:.3f}"
                          + ("" if c.pvalue is None else f" (p={c.pvalue:.2g})")
                          for c in found.changes)
        print(f"    why: performance against the registered metrics — {shown}; a metric "
              f"degrades when worse by more than {rules.degradation_threshold:g} and "
              f"significantly so (p < {found.alpha:g})")
    prediction = window.drift.prediction
    if prediction is not None:
        print(f"    why: the predictions against the {window.drift.prediction_against}: "
              f"{'drifted' if prediction.drifted else 'not drifted'}")


def make_retrain(patients_x: np.ndarray) -> object:
    """The training function the retraining cycle calls: learn from the feedback of the
    cycle's data window, evaluate on a held-out part of it, beside the production model."""
    names = feature_names()

    def retrain(context):  # type: ignore[no-untyped-def]
        x, y = context.labelled(features=names)
        x_fit, x_hold, y_fit, y_hold = train_test_split(x, y.astype(int), test_size=0.3,
                                                        stratify=y.astype(int), random_state=0)
        result = modelops.train(
            context.ops, context.model,
            make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=5000)),
            x_fit, y_fit, X_test=x_hold, y_test=y_hold, cv=5, run=context.run,
            register=False)
        old = context.production_model()
        old_accuracy = accuracy_score(y_hold, old.predict(x_hold))
        context.run.log_metric("production_accuracy", old_accuracy)
        print(f"    train_fn: {len(y)} predictions with feedback in the data window; held-out "
              f"accuracy {result.metrics['accuracy']:.3f} (production model: "
              f"{old_accuracy:.3f}); cv accuracy {result.cv_metrics['cv_accuracy_mean']:.3f}")
        return result.model, result.metrics

    return retrain


def route(router: object, patients: Patients, n: int, start: int, end: int) -> None:
    """Serve ``n`` drifted requests through the router, each with its truth."""
    names = feature_names()
    x, truth = patients.draw(n, drift=True)
    stamps = start + np.arange(n) * ((end - start) // n)
    first = route.served  # type: ignore[attr-defined]
    for i, (row, actual, ts) in enumerate(zip(x, truth, stamps.tolist())):
        served = router.predict(f"patient-{first + i}", dict(zip(names, row.tolist())),
                                timestamp=ts)
        router.feedback(served.id, int(actual), timestamp=ts + 60_000)
    route.served += n  # type: ignore[attr-defined]


route.served = 0  # type: ignore[attr-defined]


def serve_over_http(ops: modelops.Client, patients: Patients, n: int) -> None:
    """The last minutes of traffic through ``modelops serve``'s app, in this process on a
    loopback port: predictions logged by the server, feedback posted, health and metrics
    read over HTTP. Needs the modelops-serve plugin (``tox -e demo`` installs it)."""
    try:
        import uvicorn
        from modelops_serve import app
    except ImportError:
        print("  (skipped: install plugins/modelops-serve to serve over HTTP; tox -e demo does)")
        return
    import json
    import socket
    import threading
    import urllib.error
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    api = app(ops, MODEL)                                   # follows @production
    server = uvicorn.Server(uvicorn.Config(api, host="127.0.0.1", port=port,
                                           log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    url = f"http://127.0.0.1:{port}"
    began = int(time.time() * 1000)

    def call(path: str, body: object = None) -> tuple[int, object]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(url + path, data=data,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request) as response:
                raw = response.read()
                status = response.status
        except urllib.error.HTTPError as error:
            raw, status = error.read(), error.code
        text = raw.decode()
        return status, json.loads(text) if text.startswith(("{", "[")) else text

    try:
        names = feature_names()
        x, truth = patients.draw(n)
        info = call("/version")[1]
        print(f"  {url}: {info['name']} {info['version']} ({info['stage']}, digest "
              f"{info['digest'][:12]}…)")
        correct = 0
        for row, actual in zip(x, truth):
            served = call("/predict", {"features": dict(zip(names, row.tolist()))})[1]
            call("/feedback", {"id": served["id"], "actual": int(actual)})
            correct += served["prediction"] == int(actual)
        print(f"  {n} requests answered and logged ({served['logged']}), feedback posted: "
              f"accuracy {correct / n:.3f}")
        batch = call("/predict", {"columns": names, "data": x[:20].tolist()})[1]
        call("/feedback", [{"id": p["id"], "actual": int(a)}
                           for p, a in zip(batch["predictions"], truth[:20])])
        print(f"  a batch of 20 in one request (pandas' split orient), its feedback in one "
              f"more: {sum(p['prediction'] for p in batch['predictions'])} predicted "
              f"malignant")
        status, refused = call("/predict", {"features": dict(zip(names[:-1], x[0].tolist()))})
        problem = refused.get("fields", [{}])[0]
        print(f"  a request lacking {names[-1]!r}: {status} — {refused['error']}: "
              f"{problem.get('field')} {problem.get('problem')}")
        metrics = call("/metrics")[1]
        accuracy = next(line for line in metrics.splitlines()
                        if line.startswith("modelops_serve_live_accuracy"))
        print(f"  /metrics: {accuracy}")
    finally:
        server.should_exit = True
        thread.join()
    logged = ops.predictions.read(MODEL, version=info["version"], since=began)
    print(f"  read back from the store: the server logged {len(logged)} predictions, "
          f"{int(logged.has_feedback.sum())} with feedback")


def main(argv: list[str] | None = None) -> None:
    global MODEL
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", help="store URI or path (default: $MODELOPS_URI or ./.modelops)")
    parser.add_argument("--report", help="where to write the drift report (HTML)")
    parser.add_argument("--monitoring-report",
                        help="where to write the monitoring report (HTML)")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    ops = modelops.connect(args.store)
    demo_run = uuid.uuid4().hex[:8]
    if MODEL in {m.name for m in ops.registry.list_models()}:
        MODEL = f"{MODEL}-{demo_run}"
        print(f"(this store already holds breast-cancer from an earlier run: this run's model "
              f"is {MODEL}, so the two stories do not mix)")
    print(f"modelops demo: store {ops.uri}, experiment {EXPERIMENT!r}, demo run {demo_run}\n")

    print("1. Training and tracking candidates")
    models = track_training(ops, demo_run)
    run_ids = list(models)

    print("\n2. Searching: runs of this demo with f1 > 0.95, best ROC AUC first")
    found = ops.tracking.search_runs(
        EXPERIMENT,
        filter=f"metrics.f1 > 0.95 and tags.demo_run = '{demo_run}'",
        order_by=["metrics.roc_auc DESC"],
    )
    for run in found:
        print(f"  {run.name:<14} roc_auc={run.metrics['roc_auc']:.4f}  f1={run.metrics['f1']:.4f}")

    print("\n3. Comparing every run of this demo side by side")
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
    # The input contract the server checks requests against (the model was fitted on arrays
    # of these columns, in this order; retrained versions taking the same columns keep it).
    signature = modelops.infer_signature(dict(zip(feature_names(), split()[0].T)))
    version = ops.registry.register(MODEL, models[best.run_id], run=best,
                                    description=f"{best.name} from demo run {demo_run}",
                                    lineage={"training_data": "sklearn:breast_cancer"},
                                    signature=signature)
    print(f"  registered {MODEL} {version.version} ({version.framework}, {version.flavor}, "
          f"sha256 {version.files[0].sha256[:12]}…)")
    gate = AllOf(Floors({"accuracy": 0.90, "f1": 0.90, "roc_auc": 0.95}),
                 MetricImprovement("roc_auc", min_improvement=0.0))
    ops.registry.promote(MODEL, version.version, policy=gate, reason="demo candidate")
    print(f"  promoted {version.version} to production")
    serving = ops.registry.resolve(f"models:/{MODEL}@production")
    model = ops.registry.load_uri(f"models:/{MODEL}@production")
    x_train, x_test, y_train, _ = split()
    print(f"  serving {MODEL} {serving.version}: predictions for 5 rows "
          f"{model.predict(x_test[:5]).tolist()}")

    print("\n5. Watching the model's inputs for drift")
    names = feature_names()
    # the reference: the features of the data the version was trained on, as its run logged
    ops.drift.fit_reference(MODEL, dataset=version.lineage.datasets[0], columns=names)
    calm = ops.drift.check(MODEL, dict(zip(names, x_test.T)))
    print(f"  held-out sample: {len(calm.drifted_columns)} of {len(calm.columns)} features "
          f"drifted -> dataset drifted: {calm.drifted}")
    shifted = x_test.copy()
    shifted[:, :DRIFTED_FEATURES] *= DRIFT_FACTOR
    alarm = ops.drift.check(MODEL, dict(zip(names, shifted.T)))
    print(f"  shifted sample:  {len(alarm.drifted_columns)} of {len(alarm.columns)} features "
          f"drifted -> dataset drifted: {alarm.drifted}")
    worst = max(alarm.columns, key=lambda c: c.effect or 0.0)
    print(f"  e.g. {worst.column}: {worst.reason}")
    drift_path = args.report or os.path.join(os.getcwd(), "demo-drift-report.html")
    alarm.to_html(drift_path)
    print(f"  drift report: {drift_path}")

    # The replayed day: calm traffic from 18 to 12 hours ago, drifted traffic from 12 to 6
    # hours ago, the retraining cycle 6 hours ago, routed traffic since.
    now = int(time.time() * 1000) // 60_000 * 60_000
    patients = Patients(x_train, y_train)
    champion = serving.version

    print("\n6. Serving with prediction logging and feedback (18 to 12 hours ago)")
    serve(ops, model, champion, patients, 1200, now - 18 * HOUR, now - 12 * HOUR, drift=False)
    show_health(ops, champion, now - 12 * HOUR, "12 hours ago, last 6h")

    print(f"\n7. The inputs drift: a new scanner reads {DRIFTED_FEATURES} measurements "
          f"{(DRIFT_FACTOR - 1) * 100:.0f}% higher (12 to 6 hours ago)")
    serve(ops, model, champion, patients, 1200, now - 12 * HOUR, now - 6 * HOUR, drift=True)
    status = show_health(ops, champion, now - 6 * HOUR, "6 hours ago, last 6h")
    print(f"  the health turned: healthy -> {status}")

    print("\n8. Retraining automatically: run_cycle checks the policy, retrains, registers, "
          "gates")
    policy = RetrainPolicy(drift_share=0.3, degradation=0.05, window="6h", cooldown=None)
    decision = policy.evaluate(ops.monitor(MODEL, champion, now=now - 6 * HOUR))
    print(f"  policy: {decision}")
    report = run_cycle(ops, MODEL, make_retrain(x_train), policy=policy,
                       promotion=Floors({"accuracy": 0.90, "roc_auc": 0.95}), target="staging",
                       experiment=f"{EXPERIMENT}-retraining", now=now - 6 * HOUR)
    print("  " + str(report).replace("\n", "\n  "))
    challenger = report.version
    lineage = challenger.lineage
    print(f"  lineage of {challenger.version}: replaces {lineage.parent_version}, trained on "
          f"{lineage.training_data}, trigger {challenger.tags['modelops.trigger']}")
    again = run_cycle(ops, MODEL, make_retrain(x_train), policy=RetrainPolicy(window="6h"),
                      now=now - 6 * HOUR)
    why = "" if again.decision is None else f": {again.decision.reasons[-1]}"
    print(f"  a second scheduler call a moment later: {again.status} ({again.message}{why})")

    print("\n9. Routing 30% of the traffic to the challenger (6 hours ago until now)")
    with ops.router(MODEL, champion="production", challenger="staging", share=0.3) as router:
        print(f"  {router}: patient-17 -> {router.assign('patient-17').version}, "
              f"patient-17 again -> {router.assign('patient-17').version}")
        route(router, patients, 100, now - 6 * HOUR, now - 5 * HOUR - 30 * 60_000)
        first = router.evaluate(window="6h", min_effect=0.03, now=now)
        print(f"  after 100 requests: {first.verdict} — {first.message}")
        more = min(first.needed_requests or 2_000, 6_000)
        route(router, patients, more, now - 5 * HOUR - 30 * 60_000, now - 60_000)
        second = router.evaluate(window="6h", min_effect=0.03, now=now)
        print(f"  after {100 + more} requests: {second.verdict} — {second.message}")
        conclusion = router.conclude(second)
        print(f"  conclude: {conclusion.action} — {conclusion.message.split(':')[0]}")
    production = ops.registry.get_version(MODEL, stage="production")
    print(f"  production is now {production.version}; {champion} is "
          f"{ops.registry.get_version(MODEL, champion).stage.value}")

    print("\n10. After the promotion")
    window = ops.predictions.read(MODEL, version=champion, since=now - 12 * HOUR,
                                  until=now - 6 * HOUR)
    ops.drift.fit_reference(MODEL, {k: window.features[k] for k in names})
    print("  reference profile refreshed from the new version's training window")
    status = show_health(ops, production.version, now, "now, last 6h", why=True)
    print(f"  the model in production is {status} on clean data")
    monitoring_path = args.monitoring_report or os.path.join(os.getcwd(),
                                                             "demo-monitoring-report.html")
    ops.monitor(MODEL, champion, now=now).report("18h", trend_window="1h").to_html(
        monitoring_path)
    print(f"  monitoring report of {champion}'s 18 hours: {monitoring_path}")

    print("\n11. Serving the production model over HTTP (modelops serve, on loopback)")
    serve_over_http(ops, patients, 200)

    print("  history:")
    for event in ops.registry.history(MODEL):
        moves = ", ".join(f"{c.version} {c.before}->{c.after}" for c in event.changes)
        print(f"    #{event.seq} {event.action}: {moves or event.reason}"[:110])
    print(f"\nDone in {time.perf_counter() - started:.1f} s.")


if __name__ == "__main__":
    main()
