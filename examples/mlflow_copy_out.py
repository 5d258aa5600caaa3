"""Leaving MLflow: copy an MLflow store (runs, metric histories, artifacts, registered models
with their versions, stages and history, drift) into a modelops store, and back.

    python examples/mlflow_copy_out.py mlflow+http://127.0.0.1:5000 ./mlops  # copy a server
    python examples/mlflow_copy_out.py                                       # a demo database

The same as ``modelops store copy SRC DST``. Copying again adds nothing, so it can run until
the day of the move. Needs ``pip install modelops-mlflow scikit-learn``.
"""

from __future__ import annotations

import sys
import tempfile

import numpy as np
from sklearn.linear_model import LogisticRegression

import modelops


def fill(uri: str) -> None:
    """Something to copy: what a team using MLflow through modelops would have."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(200, 2))
    y = (X[:, 0] > 0).astype(int)
    ops = modelops.connect(uri)
    with ops.tracking.start_run(experiment="churn", name="baseline") as run:
        for step in range(20):
            run.log_metric("loss", 1 / (step + 1), step=step)
        run.log_text("baseline notes\n", "notes.md")
    ops.registry.register("churn", LogisticRegression().fit(X, y), run=run)
    ops.registry.promote("churn", "1.0.0")
    ops.close()


def main(argv: list[str]) -> None:
    with tempfile.TemporaryDirectory(prefix="modelops-copy-") as tmp:
        if argv:
            src, dst = argv[0], argv[1]
        else:
            src, dst = f"mlflow+sqlite:///{tmp}/mlflow.db", f"{tmp}/mlops"
            fill(src)
        first = modelops.copy_store(src, dst)
        print("first copy:\n" + first.summary())
        again = modelops.copy_store(src, dst)
        print(f"second copy added {again.total_copied} item(s)")
        ops = modelops.connect(dst)
        for model in ops.registry.list_models():
            production = [v.version for v in ops.registry.list_versions(model.name)
                          if v.stage.value == "production"]
            print(f"{model.name}: production {production}")
        ops.close()


if __name__ == "__main__":
    main(sys.argv[1:])
