"""modelops on MLflow against MLflow alone: the overhead of going through modelops, and the
copy rate of ``copy_store`` out of an MLflow store of 1,000 runs.

Prints a table::

    figure | through modelops | MLflow directly | overhead (modelops / MLflow - 1) | target

Usage::

    python benchmarks/bench_mlflow_plugin.py              # full sizes, on sqlite
    python benchmarks/bench_mlflow_plugin.py --quick      # smoke run (fewer runs and rounds)
    python benchmarks/bench_mlflow_plugin.py --postgres   # on PostgreSQL

Needs ``modelops``, ``modelops-mlflow`` (``pip install -e plugins/modelops-mlflow``),
``mlflow`` and ``scikit-learn``. Everything is written to a fresh temporary directory, both
sides to MLflow sqlite databases copied from one migrated, empty database.

With ``--postgres`` every figure is measured on PostgreSQL instead: a throwaway server of
the machine's PostgreSQL installation (``modelops_mlflow.testing.LocalPostgres``, on
127.0.0.1, durable settings as in production: fsync and synchronous commits on), needing
``apt-get install postgresql`` and ``pip install "modelops-mlflow[postgres]"``. Each figure
gets a database copied from one migrated, empty database, which both sides share (each with
its own experiments and models there); the servers run on such a database too.

The same work on both sides, through the public APIs:

- **run**: create a run in an experiment, log 5 params and 5 metrics, end it. modelops:
  ``ops.tracking.start_run`` as a context manager (its buffer flushes once at the end);
  MLflow: ``MlflowClient.create_run``, ``log_batch``, ``set_terminated``.
- **history**: log a 1,000-point metric history. modelops: ``run.log_metric`` per point
  (buffered); MLflow: one ``log_batch`` of 1,000 metrics.
- **search**: a filtered, ordered search for the 10 best of 1,000 runs
  (``metrics.f1 > 0.5 and params.model = 'rf'``, ``metrics.f1 DESC``): modelops'
  ``search_runs`` against ``MlflowClient.search_runs``, each given the experiment as it
  holds it (modelops an ``Experiment``, MLflow an id).
- **get by alias**: the version holding ``production``: ``registry.get_version(stage=...)``
  against ``MlflowClient.get_model_version_by_alias``.
- **register + promote**: register a small scikit-learn model and move it to production.
  MLflow: log the pickled model as a run artifact, ``create_model_version`` with tags, and
  ``set_registered_model_alias``. modelops also digests the files, claims the version,
  appends the audit-trail event and mirrors the stage; it writes no MLflow model copy here
  (``mlflow_model_layout=False``) since MLflow's side writes none either.
- **register + promote, by hand** (orientation): the same records modelops keeps, written
  with plain MLflow calls and no reads (version tags with the semantic version, digests and
  record; the event as a trail param; the stage tags of the new and the previous holder; the
  alias). It is what the bookkeeping costs in MLflow calls alone; unlike modelops it checks no
  claim and reads neither the trail nor the aliases, so it is not safe with other writers.
- **on a server**: run, register + promote and get by alias again, both sides through one real
  ``mlflow server`` on 127.0.0.1 (sqlite backend, artifacts proxied to a temporary folder),
  as teams with a tracking server use it. On sqlite the plugin's registry reads and writes
  in SQL (``direct_sql``); through a server every read and write is an MLflow request.
- **on a server with modelops' app**: the registry figures again through a server started
  with ``--app-name modelops`` (``modelops_mlflow.server``), where a registry read or change
  is one request that the server does in SQL; MLflow's side makes the same MLflow calls.
- **copy**: ``copy_store`` from an MLflow database of 1,000 runs (5 params, 5 metrics with
  10-point histories, one artifact each) to a local modelops store; runs per second.

Rounds alternate between the two sides so a busy machine slows both alike; each figure is
the median of its rounds. The benchmark reports what it measures; it is not tuned to pass.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import logging
import os
import pickle
import shutil
import statistics
import sys
import tempfile
import time
import uuid
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from no_scaling import add_scale_option, stops_for_scale

TARGET_OVERHEAD = 0.10  # modelops may add at most 10% to MLflow's own time
perf = time.perf_counter


def median_time(fn: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = perf()
        fn()
        times.append(perf() - start)
    return statistics.median(times)


def alternate(a: Callable[[], object], b: Callable[[], object], rounds: int
              ) -> tuple[float, float]:
    """Median times of ``a`` and ``b``, run in turns."""
    ta, tb = [], []
    for i in range(rounds):
        for fn, out in ((a, ta), (b, tb)) if i % 2 == 0 else ((b, tb), (a, ta)):
            start = perf()
            fn()
            out.append(perf() - start)
    return statistics.median(ta), statistics.median(tb)


class Bench:
    def __init__(self, root: Path, quick: bool, postgres: Any = None) -> None:
        from mlflow.tracking import MlflowClient

        self.root = root
        self.quick = quick
        self.postgres = postgres  # a started LocalPostgres, or None: sqlite
        self.rows: list[tuple[str, float, float]] = []
        if postgres is not None:
            uri = postgres.create_database("template")
            MlflowClient(tracking_uri=uri, registry_uri=uri).search_experiments()
            postgres.disconnect("template")
        else:
            self.template = root / "template.db"
            MlflowClient(tracking_uri=f"sqlite:///{self.template}").search_experiments()

    def database(self, name: str) -> str:
        if self.postgres is not None:
            return self.postgres.create_database(name.replace("-", "_"), "template")
        path = self.root / name / "mlflow.db"
        path.parent.mkdir()
        shutil.copyfile(self.template, path)
        return f"sqlite:///{path}"

    def artifacts(self, experiment: str) -> str:
        """An artifact location under the benchmark's directory: MLflow's default for a sqlite
        store is ``./mlruns`` in the working directory."""
        return (self.root / "mlartifacts" / experiment).as_uri()

    def sides(self, figure: str, server: str | None) -> tuple[str, str, str | None]:
        """The MLflow URIs of the modelops side and the MLflow side, and the artifact
        location of MLflow's experiment: a database each, or both on ``server`` (which keeps
        artifacts where it is told to)."""
        if server is not None:
            return server, server, None
        if self.postgres is not None:  # one database, as the two share one server
            database = self.database(figure)
            return database, database, self.artifacts(figure)
        return (self.database(f"{figure}-modelops"), self.database(f"{figure}-mlflow"),
                self.artifacts(figure))

    def record(self, figure: str, ours: float, theirs: float, target: bool = True) -> None:
        """A row; ``target=False`` for an orientation figure the aim does not apply to."""
        self.rows.append((figure, ours, theirs, target))

    # -- tracking ---------------------------------------------------------------------------

    @property
    def kind(self) -> str:
        return "sqlite" if self.postgres is None else "PostgreSQL"

    def runs(self, server: str | None = None) -> None:
        """The tracking figures, on two sqlite databases or (``server``) on one MLflow
        server, each side in its own experiment there; the history only on sqlite."""
        from mlflow.entities import Metric, Param
        from mlflow.tracking import MlflowClient

        import modelops

        ops_db, ml_db, location = self.sides("runs", server)
        where = "server" if server else self.kind
        ops = modelops.connect(f"mlflow+{ops_db}")
        client = MlflowClient(tracking_uri=ml_db)
        exp = client.create_experiment("bench", artifact_location=location)
        ops.tracking.create_experiment("mine")
        now = int(time.time() * 1000)

        def through_modelops() -> None:
            with ops.tracking.start_run(experiment="mine", name="r") as run:
                run.log_params({f"p{i}": i for i in range(5)})
                run.log_metrics({f"m{i}": i / 7 for i in range(5)})

        def directly() -> None:
            run = client.create_run(exp, run_name="r")
            client.log_batch(run.info.run_id,
                             metrics=[Metric(f"m{i}", i / 7, now, 0) for i in range(5)],
                             params=[Param(f"p{i}", str(i)) for i in range(5)])
            client.set_terminated(run.info.run_id)

        rounds = 20 if self.quick else 100
        through_modelops()
        directly()
        ours, theirs = alternate(through_modelops, directly, rounds)
        self.record(f"run: create + 5 params + 5 metrics + end ({where})", ours, theirs)
        if server is not None:
            ops.close()
            return
        n = 1000

        def history_modelops() -> None:
            with ops.tracking.start_run(experiment="mine", name="h") as run:
                for step in range(n):
                    run.log_metric("loss", 1 / (step + 1), step=step)

        def history_directly() -> None:
            run = client.create_run(exp, run_name="h")
            client.log_batch(run.info.run_id, metrics=[
                Metric("loss", 1 / (s + 1), now, s) for s in range(n)])
            client.set_terminated(run.info.run_id)

        ours, theirs = alternate(history_modelops, history_directly, 5 if self.quick else 15)
        self.record(f"run with a {n:,}-point history", ours, theirs)
        ops.close()

    def search(self) -> None:
        from mlflow.entities import Metric, Param
        from mlflow.tracking import MlflowClient

        import modelops

        db = self.database("search")
        client = MlflowClient(tracking_uri=db)
        exp = client.create_experiment("search", artifact_location=self.artifacts("search"))
        now = int(time.time() * 1000)
        for i in range(1000):
            run = client.create_run(exp, run_name=f"r{i}", start_time=now + i)
            client.log_batch(run.info.run_id,
                             metrics=[Metric("f1", (i * 37 % 1000) / 1000, now, 0)],
                             params=[Param("model", "rf" if i % 2 else "lr")])
        ops = modelops.connect(f"mlflow+{db}")
        flt, order = "metrics.f1 > 0.5 and params.model = 'rf'", ["metrics.f1 DESC"]
        # Each side is handed the experiment it searches, as held from earlier calls: MLflow
        # its id, modelops its Experiment (a name would cost a look-up MLflow's side skips).
        experiment = ops.tracking.get_experiment("search")

        def through_modelops() -> object:
            return ops.tracking.search_runs(experiment, filter=flt, order_by=order,
                                            max_results=10)

        def directly() -> object:
            return client.search_runs([exp], flt, order_by=order, max_results=10)

        assert [r.run_id for r in through_modelops()] == \
            [r.info.run_id for r in directly()]
        ours, theirs = alternate(through_modelops, directly, 10 if self.quick else 30)
        self.record("search: 10 best of 1,000 runs, filtered", ours, theirs)
        ops.close()

    # -- registry ---------------------------------------------------------------------------

    def registry(self, server: str | None = None, app: bool = False) -> None:
        """The registry figures, on two sqlite databases or (``server``) on one MLflow
        server, each side with its own models there; ``app``: the server runs modelops'
        app."""
        import numpy as np
        from mlflow.tracking import MlflowClient
        from sklearn.linear_model import LogisticRegression

        import modelops

        rng = np.random.default_rng(0)
        X = rng.normal(size=(150, 4))
        model = LogisticRegression().fit(X, (X[:, 0] > 0).astype(int))
        ops_db, ml_db, location = self.sides("reg", server)
        where = self.kind if not server else "server + app" if app else "server"
        ops = modelops.connect(f"mlflow+{ops_db}",
                               storage_options={"mlflow_model_layout": False})
        client = MlflowClient(tracking_uri=ml_db, registry_uri=ml_db)
        client.create_registered_model("bench")
        exp = client.create_experiment("models", artifact_location=location)
        holder = client.create_run(exp).info.run_id
        artifact_uri = client.get_run(holder).info.artifact_uri
        files = self.root / f"pickled-{where.replace(' ', '')}"
        files.mkdir()
        counter = iter(range(1, 10_000))

        def through_modelops() -> None:
            version = ops.registry.register("mine", model)
            ops.registry.promote("mine", version.version)

        def directly() -> None:
            i = next(counter)
            with open(files / "model.pkl", "wb") as f:
                pickle.dump(model, f)
            folder = f"versions/{i}"
            client.log_artifacts(holder, str(files), folder)
            mv = client.create_model_version("bench", f"{artifact_uri}/{folder}", holder,
                                             tags={"version": f"1.0.{i}"})
            client.set_registered_model_alias("bench", "production", mv.version)

        ours, theirs = alternate(through_modelops, directly, 10 if self.quick else 30)
        self.record(f"register + promote a model ({where})", ours, theirs)

        # The same records modelops keeps, written by hand: the semantic version, digests and
        # record as version tags, the event as a param of a trail run, both stage tags, the
        # alias. No reads: no claim check and no look at the trail or the aliases first, so
        # unlike modelops it is not safe against a concurrent writer or plain MLflow code.
        client.create_registered_model("by-hand")
        trail = client.create_run(exp).info.run_id
        hand = {"n": 0, "production": None}

        def by_hand() -> None:
            hand["n"] = i = hand["n"] + 1
            with open(files / "model.pkl", "wb") as f:
                pickle.dump(model, f)
            data = (files / "model.pkl").read_bytes()
            folder = f"by-hand/{i}"
            client.log_artifacts(holder, str(files), folder)
            record = {"metrics": {}, "params": {}, "flavor": "joblib", "creator": "bench"}
            mv = client.create_model_version("by-hand", f"{artifact_uri}/{folder}", holder, tags={
                "modelops.version": f"1.0.{i}",
                "modelops.files": json.dumps([["model.pkl", hashlib.sha256(data).hexdigest(),
                                               len(data)]]),
                "modelops.record": json.dumps(record), "modelops.stage": "development"})
            previous = hand["production"]
            event = {"seq": i, "action": "promote", "version": f"1.0.{i}", "previous": previous}
            client.log_param(trail, f"event.{i:012d}", json.dumps(event))
            client.set_model_version_tag("by-hand", mv.version, "modelops.stage", "production")
            if previous is not None:
                client.set_model_version_tag("by-hand", previous, "modelops.stage", "archived")
            client.set_registered_model_alias("by-hand", "production", mv.version)
            hand["production"] = mv.version

        ours, theirs = alternate(through_modelops, by_hand, 10 if self.quick else 30)
        self.record("  … vs the same records written by hand", ours, theirs, target=False)

        def alias_modelops() -> object:
            return ops.registry.get_version("mine", stage="production")

        def alias_directly() -> object:
            return client.get_model_version_by_alias("bench", "production")

        ours, theirs = alternate(alias_modelops, alias_directly, 20 if self.quick else 100)
        self.record(f"get the production version ({where})", ours, theirs)
        ops.close()

    def on_a_server(self, app: bool = False) -> None:
        """The run and registry figures through a real ``mlflow server`` on 127.0.0.1 (its
        own sqlite database), as teams with a tracking server use it; with ``app``, the
        registry figures through a server started with modelops' app."""
        import signal
        import socket
        import subprocess
        import urllib.request

        folder = self.root / ("server-app" if app else "server")
        db = self.database(folder.name)
        folder.mkdir(exist_ok=True)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        mlflow = Path(sys.executable).with_name("mlflow")
        with open(self.root / f"{folder.name}.log", "wb") as log:
            proc = subprocess.Popen(
                [str(mlflow) if mlflow.exists() else "mlflow", "server",
                 "--backend-store-uri", db, "--artifacts-destination", str(folder / "art"),
                 "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
                 *(["--app-name", "modelops"] if app else [])],
                stdout=log, stderr=subprocess.STDOUT, cwd=folder, start_new_session=True,
                # MLflow's job runner (GenAI jobs) starts a dozen processes that load the
                # CPU for a minute after start; neither side uses it.
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
                        raise RuntimeError("mlflow server did not start: " + (
                            self.root / f"{folder.name}.log").read_text(errors="replace")[-2000:]
                        ) from None
                    time.sleep(0.2)
            if not app:  # the app changes the registry's requests only
                self.runs(url)
            self.registry(url, app)
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)

    def on_a_server_with_the_app(self) -> None:
        self.on_a_server(app=True)

    # -- copy -------------------------------------------------------------------------------

    def copy(self) -> None:
        from mlflow.entities import Metric, Param
        from mlflow.tracking import MlflowClient

        import modelops

        n = 200 if self.quick else 1000
        db = self.database("copy-source")
        client = MlflowClient(tracking_uri=db)
        exp = client.create_experiment("source", artifact_location=self.artifacts("source"))
        note = self.root / "note.txt"
        note.write_text("artifact\n")
        now = int(time.time() * 1000)
        for i in range(n):
            run = client.create_run(exp, run_name=f"r{i}", start_time=now + i)
            client.log_batch(
                run.info.run_id,
                metrics=[Metric(f"m{k}", (i + s) / 10, now + s, s)
                         for k in range(5) for s in range(10)],
                params=[Param(f"p{k}", str(i * k)) for k in range(5)])
            client.log_artifact(run.info.run_id, str(note))
            client.set_terminated(run.info.run_id)
        dst = self.root / f"copy-{uuid.uuid4().hex[:6]}"
        start = perf()
        result = modelops.copy_store(f"mlflow+{db}", str(dst), kinds=("tracking",),
                                     progress=False)
        seconds = perf() - start
        assert result.copied["runs"] == n, result.summary()
        start = perf()
        again = modelops.copy_store(f"mlflow+{db}", str(dst), kinds=("tracking",),
                                    progress=False)
        check = perf() - start
        assert again.total_copied == 0
        self.copy_figures = (n, seconds, check)

    # -- report -----------------------------------------------------------------------------

    def report(self) -> None:
        import mlflow

        backend = "sqlite" if self.postgres is None else "PostgreSQL on 127.0.0.1"
        print(f"\nmodelops on MLflow {mlflow.__version__} vs MLflow directly ({backend}; servers "
              f"on it too), Python {sys.version.split()[0]}")
        header = ("figure", "through modelops", "MLflow directly", "overhead", "target")
        lines = [header]
        for figure, ours, theirs, target in self.rows:
            overhead = ours / theirs - 1
            verdict = "PASS" if overhead <= TARGET_OVERHEAD else "over"
            lines.append((figure, f"{ours * 1000:.2f} ms", f"{theirs * 1000:.2f} ms",
                          f"{overhead:+.0%} ({ours / theirs:.2f}×)",
                          f"≤ +{TARGET_OVERHEAD:.0%} {verdict}" if target else "-"))
        widths = [max(len(str(row[i])) for row in lines) for i in range(len(header))]
        for row in lines:
            print(" | ".join(str(c).ljust(w) for c, w in zip(row, widths)))
        n, seconds, check = self.copy_figures
        print(f"\ncopy_store, MLflow ({self.kind}) -> local, {n:,} runs with 5 params, 5 metrics "
              f"× 10 points and 1 artifact each: {seconds:.1f} s = {n / seconds:.0f} runs/s; "
              f"copying again (nothing to add): {check:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run")
    parser.add_argument("--json", metavar="PATH", help="write every figure to PATH as JSON")
    parser.add_argument("--postgres", action="store_true",
                        help="measure on a throwaway PostgreSQL server instead of sqlite")
    add_scale_option(parser)
    args = parser.parse_args()
    if stops_for_scale(parser, args):
        return
    logging.getLogger("mlflow").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")
    os.environ.setdefault("MODELOPS_FLUSH_INTERVAL", "60")
    with tempfile.TemporaryDirectory(prefix="bench-mlflow-plugin-") as tmp, \
            contextlib.ExitStack() as stack:
        postgres = None
        if args.postgres:
            from modelops_mlflow.testing import HOW_TO_GET, LocalPostgres, find_binaries

            if find_binaries() is None:
                sys.exit(HOW_TO_GET)
            postgres = stack.enter_context(LocalPostgres(durable=True))
        bench = Bench(Path(tmp), args.quick, postgres)
        for step in (bench.runs, bench.search, bench.registry, bench.on_a_server,
                     bench.on_a_server_with_the_app, bench.copy):
            step()
        bench.report()
    if args.json:
        n, seconds, again = bench.copy_figures
        figures = {
            "overhead": [{"figure": f, "modelops_s": ours, "mlflow_s": theirs,
                          "overhead": ours / theirs - 1, "target": target}
                         for f, ours, theirs, target in bench.rows],
            "copy": {"runs": n, "seconds": seconds, "runs_per_s": n / seconds,
                     "again_s": again},
        }
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(figures, f, indent=2)


if __name__ == "__main__":
    main()
