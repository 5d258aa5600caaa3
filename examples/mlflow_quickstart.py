"""modelops on MLflow: the same modelops code, with MLflow's server (or database) as the store.

    python examples/mlflow_quickstart.py mlflow+http://127.0.0.1:5000   # your MLflow server
    python examples/mlflow_quickstart.py mlflow+postgresql://mlflow@db/mlflow   # its database
    python examples/mlflow_quickstart.py                                # a temporary sqlite
                                                                         # database
Then open the MLflow UI: the run, the registered model with its ``production`` alias and the
drift experiment are there. Plain MLflow code loads the model modelops registered.
Needs ``pip install modelops-mlflow scikit-learn``.
"""

from __future__ import annotations

import os
import sys
import tempfile
import uuid

import numpy as np
from sklearn.linear_model import LogisticRegression

import modelops


def tour(uri: str, predictions: str) -> None:
    rng = np.random.default_rng(7)
    X = rng.normal(size=(500, 3))
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int)
    suffix = uuid.uuid4().hex[:6]  # a shared server keeps earlier tours
    name = f"fraud-{suffix}"
    ops = modelops.connect(uri, predictions=predictions)

    # Tracking: an MLflow run, seen as such in the MLflow UI.
    with ops.tracking.start_run(experiment=f"fraud-training-{suffix}", name="lr") as run:
        run.log_params({"C": 1.0})
        model = LogisticRegression(C=1.0).fit(X, y)
        for step in range(10):
            run.log_metric("loss", 1 / (step + 1), step=step)
        run.log_metric("accuracy", float((model.predict(X) == y).mean()))
    best = ops.tracking.search_runs(f"fraud-training-{suffix}", filter="metrics.accuracy > 0.8",
                                    order_by=["metrics.accuracy DESC"])
    print(f"run {run.run_id}: accuracy {best[0].metrics['accuracy']:.3f}")

    # Registry: an MLflow model version; production is the MLflow alias "production".
    version = ops.registry.register(name, model, version="1.0.0", run=run)
    ops.registry.promote(name, version.version)
    print(f"registered {name} {version.version}; history: "
          f"{[e.action for e in ops.registry.history(name)]}")

    # Plain MLflow code reads it by alias (MLflow loads pickled models only when allowed).
    import mlflow
    from mlflow.tracking import MlflowClient

    mlflow.set_tracking_uri(uri.removeprefix("mlflow+"))
    os.environ.setdefault("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", "true")
    loaded = mlflow.sklearn.load_model(f"models:/{name}@production")
    mv = MlflowClient().get_model_version_by_alias(name, "production")
    same = (loaded.predict(X) == model.predict(X)).all()
    print(f"MLflow version {mv.version} is modelops {mv.tags['modelops.version']}; "
          f"mlflow.sklearn loads it: {same}")

    # Drift: each check is a run in the experiment modelops-drift-<name>.
    ops.drift.fit_reference(name, {"a": X[:, 0], "b": X[:, 1]})
    report = ops.drift.check(name, {"a": X[:, 0] + 1.0, "b": X[:, 1]})
    print(f"drift: {report.drifted_columns} drifted (share {report.share:.2f})")

    # Predictions stay on a filesystem store.
    log = ops.predictions.logger(name, version=version.version)
    log.log(features={"a": 0.1, "b": -0.3, "c": 1.0}, prediction=1)
    log.close()
    print(f"logged {len(ops.predictions.read(name))} prediction(s) to {predictions}")
    ops.close()


def main(argv: list[str]) -> None:
    with tempfile.TemporaryDirectory(prefix="modelops-mlflow-") as tmp:
        uri = argv[0] if argv else f"mlflow+sqlite:///{tmp}/mlflow.db"
        tour(uri, f"file://{tmp}/predictions")


if __name__ == "__main__":
    main(sys.argv[1:])
