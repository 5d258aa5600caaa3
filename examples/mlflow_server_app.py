"""modelops' app in an MLflow server: each registry read or change is one request.

    python examples/mlflow_server_app.py

Starts ``mlflow server --app-name modelops`` on a free port of 127.0.0.1 over a temporary
sqlite database, registers a model through it, and times promotions and look-ups of the
production version through the app against the same through MLflow's REST API alone
(``direct_sql=False``), on the same server and model. Plain MLflow reads the result.
Needs ``pip install modelops-mlflow scikit-learn``.
"""

from __future__ import annotations

import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

import modelops


@contextmanager
def mlflow_server(folder: Path) -> Iterator[str]:
    """``mlflow server --app-name modelops`` on a free port; yields its URL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mlflow = Path(sys.executable).with_name("mlflow")
    with open(folder / "server.log", "wb") as log:
        proc = subprocess.Popen(
            [str(mlflow) if mlflow.exists() else "mlflow", "server", "--app-name", "modelops",
             "--backend-store-uri", f"sqlite:///{folder / 'mlflow.db'}",
             "--artifacts-destination", str(folder / "mlartifacts"),
             "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            env={**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"})
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    sys.exit("mlflow server did not start:\n"
                             + (folder / "server.log").read_text(errors="replace")[-2000:])
                time.sleep(0.2)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def median_ms(fn: Callable[[int], object], rounds: int) -> float:
    times = []
    for i in range(rounds):
        start = time.perf_counter()
        fn(i)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    rng = np.random.default_rng(3)
    X = rng.normal(size=(200, 3))
    model = LogisticRegression().fit(X, (X[:, 0] > 0).astype(int))
    with tempfile.TemporaryDirectory() as tmp, mlflow_server(Path(tmp)) as url:
        app = modelops.connect(f"mlflow+{url}")
        rest = modelops.connect(f"mlflow+{url}", storage_options={"direct_sql": False})
        versions = [app.registry.register("churn", model).version for _ in range(2)]
        print(f"registered churn {', '.join(versions)} on {url}")

        for label, ops in (("through modelops' app", app), ("through MLflow's API", rest)):
            promote = median_ms(lambda i, ops=ops: ops.registry.promote(
                "churn", versions[i % 2]), 10)
            look_up = median_ms(lambda i, ops=ops: ops.registry.get_version(
                "churn", stage="production"), 20)
            print(f"{label}: promote {promote:.1f} ms, production version {look_up:.1f} ms")

        assert app.registry.history("churn") == rest.registry.history("churn")
        print(f"one history: {len(app.registry.history('churn'))} events, read alike both ways")
        from mlflow.tracking import MlflowClient

        held = MlflowClient(tracking_uri=url, registry_uri=url).get_model_version_by_alias(
            "churn", "production")
        print(f"plain MLflow: production is churn {held.tags['modelops.version']}, as "
              f"modelops says: {app.registry.get_version('churn', stage='production').version}")
        app.close()
        rest.close()


if __name__ == "__main__":
    main()
