"""Property suites for what modelops promises under hostile input, damaged files and faults.

Three suites, plain pytest classes driven by Hypothesis, each run against a ``sandbox``
fixture the subclass provides (a store and the space around it)::

    import pytest
    from modelops.testing.robustness import (BadInputSuite, CorruptionSuite, FaultSuite,
                                             Sandbox)

    @pytest.fixture
    def sandbox(tmp_path):
        return Sandbox.local(tmp_path)

    class TestLocalBadInput(BadInputSuite): ...
    class TestLocalCorruption(CorruptionSuite): ...
    class TestLocalFaults(FaultSuite): ...

- ``BadInputSuite``: hostile values (``strategies.hostile_values()``) through every public
  write and read call, one argument at a time: only ``ModelOpsError`` subclasses escape,
  nothing is written outside the store's root, and a refused call leaves the store byte for
  byte as it was.
- ``CorruptionSuite``: in a populated store one file is damaged (cut short, a bit flipped,
  replaced by valid JSON of another shape or by garbage, deleted, replaced by a link to a
  file outside the store) and every read runs: each ends in its result, a ``ModelOpsError``
  or a warning — never in another error, never in a byte from outside the root, never in a
  write (the one derived cache a search may refresh, ``search-index``, aside).
- ``FaultSuite``: a workload runs while the storage fails its n-th write with ``ENOSPC``,
  ``EIO`` or ``EROFS``, for every n the workload has: afterwards the store reads, everything
  the workload was told was stored is there, and no temporary file is left.

A ``Sandbox`` puts the store at ``<parent>/store`` and a secret at ``<parent>/outside``; the
suites compare fingerprints of everything under ``<parent>`` (``Sandbox.world``). Backends
other than local disk and fsspec filesystems subclass ``Sandbox``. The number of examples
is a class attribute of each suite (``examples``), and the environment variable
``MODELOPS_ROBUSTNESS_EXAMPLES`` overrides it for a deeper search; ``FaultSuite.every``
thins the n's.

Needs pytest and hypothesis.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import os
import shutil
import sys
import tempfile
import threading
import warnings
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

import attrs
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import modelops
from modelops.errors import ModelOpsError, NotFound, StoreError, StoreWarning
from modelops.predictions.columns import PARQUET_MIN_ROWS, arrow
from modelops.testing import strategies as mst

__all__ = [
    "SECRET",
    "BadInputSuite",
    "CorruptionSuite",
    "FaultSuite",
    "Sandbox",
    "failing_writes",
    "populate",
]

#: The content of the file outside the store that no read may ever return.
SECRET = b"modelops-secret-5f0c1d: a file outside the store"
_SECRET_TEXT = SECRET.decode()
_T0 = int(dt.datetime(2026, 1, 5, tzinfo=dt.timezone.utc).timestamp() * 1000)


# -- the sandbox --------------------------------------------------------------------------

def _storage_at(uri: str) -> Any:
    """The Storage the layout backend opens for ``uri`` (``file://`` or ``memory://``),
    found through the store-factory hooks as ``connect`` finds it: the testing kit, like
    the rest of the core, never imports a backend."""
    from modelops.client import open_store
    from modelops.uri import parse_uri

    return open_store("predictions", parse_uri(uri)).storage


@attrs.define
class Sandbox:
    """A store at ``<parent>/store`` and the space around it.

    ``parent`` is a Storage rooted at the parent folder (local disk, a memory filesystem,
    an S3 prefix); ``uri`` and ``options`` open the store; ``scratch`` is a local folder for
    downloads and source files; ``links`` says whether links can be planted (local disk).
    """

    parent: Any
    uri: str
    options: dict[str, Any] = attrs.field(factory=dict)
    scratch: str = attrs.field(factory=lambda: tempfile.mkdtemp(prefix="modelops-scratch-"))
    links: bool = False
    _count: int = 0

    @classmethod
    def local(cls, folder: Any) -> Sandbox:
        folder = os.fspath(folder)
        sandbox = cls(_storage_at(os.path.join(folder, "world")),
                      os.path.join(folder, "world", "store"), links=True,
                      scratch=os.path.join(folder, "scratch"))
        os.makedirs(sandbox.scratch, exist_ok=True)
        sandbox.plant_secret()
        return sandbox

    @classmethod
    def memory(cls, scratch: Any = None) -> Sandbox:
        """A sandbox in the process's memory filesystem; ``scratch`` a local folder (a new
        temporary one by default)."""
        from modelops._ids import new_id

        name = f"sandbox-{new_id()}"
        storage = _storage_at(f"memory://{name}")
        sandbox = cls(storage, f"memory://{name}/store") if scratch is None else \
            cls(storage, f"memory://{name}/store", scratch=os.fspath(scratch))
        sandbox.plant_secret()
        return sandbox

    def fresh(self) -> Sandbox:
        """A sandbox around a new, empty store beside this one's (the same secret)."""
        self._count += 1
        base = self.uri.rsplit("/", 1)[0]
        return attrs.evolve(self, uri=f"{base}/store-{self._count}", count=0)

    @property
    def store_rel(self) -> str:
        """The store's folder, relative to the parent."""
        return self.uri.rsplit("/", 1)[1]

    def connect(self) -> Any:
        return modelops.connect(self.uri, **self.options)

    def plant_secret(self) -> None:
        self.write("outside/secret.txt", SECRET)
        self.write("outside/folder/secret.txt", SECRET)

    # Fingerprints and edits go straight to the medium, beneath the Storage's own checks.

    def world(self) -> dict[str, Any]:
        """A fingerprint of every file (and, on local disk, folder and link) under the
        parent: equal fingerprints mean nothing was written."""
        root = getattr(self.parent, "root", "")
        if self.links:
            out: dict[str, Any] = {}
            for dirpath, dirnames, filenames in os.walk(root):
                for name in dirnames + filenames:
                    path = os.path.join(dirpath, name)
                    rel = os.path.relpath(path, root)
                    if os.path.islink(path):
                        out[rel] = ("link", os.readlink(path))
                    elif os.path.isdir(path):
                        out[rel] = ("dir",)
                    else:
                        with open(path, "rb") as f:
                            out[rel] = f.read()
            return out
        return {rel: self.parent.read_bytes(rel) for rel, _ in self.parent.walk_files("")}

    def files(self) -> list[str]:
        """Every file of the store, relative to the parent, sorted."""
        prefix = self.store_rel
        return sorted(f"{prefix}/{rel}" for rel, _ in self.parent.walk_files(prefix)
                      if not rel.startswith(".tmp/"))

    def read(self, rel: str) -> bytes:
        return self.parent.read_bytes(rel)

    def write(self, rel: str, data: bytes) -> None:
        if self.links:  # beneath LocalStorage, which would refuse to replace a link
            path = os.path.join(self.parent.root, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
            with open(path, "wb") as f:
                f.write(data)
            return
        self.parent.replace(rel, data)

    def delete(self, rel: str) -> None:
        self.parent.remove_tree(rel)

    def link(self, rel: str) -> None:
        """Replace the file ``rel`` by a link to the secret outside the store."""
        path = os.path.join(self.parent.root, rel)
        os.unlink(path)
        os.symlink(os.path.join(self.parent.root, "outside", "secret.txt"), path)

    def temp_files(self) -> list[str]:
        """Temporary files left in the store (local disk keeps them in ``.tmp``)."""
        if not self.links:
            return []
        folder = os.path.join(self.parent.root, self.store_rel, ".tmp")
        return sorted(os.listdir(folder)) if os.path.isdir(folder) else []


# -- a populated store ----------------------------------------------------------------------

@attrs.frozen
class Populated:
    """What ``populate`` made: names and ids the reads ask for."""

    run_id: str
    report_id: str
    scratch: str


def _frame(n: int = 60, shift: float = 0.0) -> dict[str, Any]:
    import numpy as np

    rng = np.random.default_rng(7)
    return {"x": rng.normal(shift, 1.0, n), "c": np.array(["a", "b", "c"] * (n // 3))}


def populate(ops: Any, scratch: str) -> Populated:
    """Fill a store with a little of everything: an experiment with a run (metrics, params,
    tags, artifacts in folders), a model with two versions (a pickle and plain files), a
    production version and an alias, a drift reference and report, predictions with
    feedback (and, with pyarrow, a part of them written as Parquet)."""
    with ops.tracking.start_run(experiment="exp", name="r") as run:
        for step in range(3):
            run.log_metrics({"m": 0.5 + step / 10, "loss": 1.0 / (step + 1)}, step=step)
        run.log_params({"lr": 0.1, "depth": 3})
        run.set_tags({"team": "ml"})
        run.log_text("notes", "notes.txt")
        run.log_dict({"a": 1}, "dir/config.json")
    ops.tracking.create_experiment("spare")
    source = os.path.join(scratch, "weights.bin")
    with open(source, "wb") as f:
        f.write(b"weights" * 20)
    ops.registry.register("m", {"w": 1}, flavor="joblib", metrics={"f1": 0.8})
    ops.registry.register("m", source, flavor="path", metrics={"f1": 0.9})
    ops.registry.register("spare-model", source, flavor="path")
    ops.registry.promote("m", "1.0.0")
    ops.registry.set_alias("m", "champion", "1.0.1")
    ops.drift.fit_reference("d", _frame())
    report = ops.drift.check("d", _frame(shift=0.5))
    with ops.predictions.logger("p", version="1.0.0") as log:
        for i in range(20):
            log.log({"x": float(i), "c": "a"}, "yes" if i % 2 else "no", probability=i / 20,
                    id=f"id-{i}", timestamp=_T0 + i * 1000)
        for i in range(0, 20, 3):
            log.feedback(f"id-{i}", "yes", timestamp=_T0 + 50_000 + i)
        if arrow() is not None:
            n = PARQUET_MIN_ROWS
            log.log_columns({"x": np.arange(n, dtype=float), "c": np.repeat("a", n)},
                            ["yes", "no"] * (n // 2), np.linspace(0, 1, n))
    return Populated(run.run_id, report.report_id, scratch)


def _reads(ops: Any, made: Populated) -> dict[str, Callable[[], Any]]:
    """Every read of the public API, over what ``populate`` made."""
    t, r, d, p = ops.tracking, ops.registry, ops.drift, ops.predictions
    run_id = made.run_id
    dst = tempfile.mkdtemp(prefix="dl-", dir=made.scratch)
    return {
        "list_experiments": lambda: t.list_experiments(view="all"),
        "get_experiment": lambda: t.get_experiment("exp"),
        "search_all": lambda: t.search_runs(view="all"),
        "search_filter": lambda: t.search_runs("exp", filter="metrics.m > 0 and "
                                               "params.lr = '0.1'", order_by=["metrics.m"]),
        "get_run": lambda: t.get_run(run_id),
        "history": lambda: t.get_metric_history(run_id, "m"),
        "list_artifacts": lambda: t.list_artifacts(run_id),
        "list_artifacts_dir": lambda: t.list_artifacts(run_id, "dir"),
        "read_text": lambda: t.read_text(run_id, "notes.txt"),
        "download_artifacts": lambda: t.download_artifacts(run_id, "", os.path.join(dst, "a")),
        "list_models": lambda: r.list_models(include_deleted=True),
        "get_model": lambda: r.get_model("m"),
        "list_versions": lambda: r.list_versions("m"),
        "get_version": lambda: r.get_version("m", "1.0.0"),
        "production": lambda: r.get_version("m", stage="production"),
        "alias": lambda: r.get_version("m", alias="champion"),
        "latest": lambda: r.latest("m"),
        "model_history": lambda: r.history("m"),
        "load_pickle": lambda: r.load("m", "1.0.0"),
        "load_files": lambda: _read_loaded(r.load("m", "1.0.1", dst_dir=os.path.join(dst, "m"))),
        "download": lambda: r.download("m", "1.0.1", os.path.join(dst, "d")),
        "resolve": lambda: r.resolve("models:/m@champion"),
        "should_promote": lambda: r.should_promote("m", "1.0.1", metric="f1"),
        "reference": lambda: d.reference("d"),
        "reports": lambda: d.reports("d"),
        "report": lambda: d.report("d", made.report_id),
        "predictions": lambda: p.read("p", since=_T0 - 1, until=_T0 + 10**6),
        "recent": lambda: p.recent("p", days=10**4),
        "prediction_models": lambda: p.models(),
        "health": lambda: ops.monitor("p").health(window="3650d", alert=False),
    }


def _read_loaded(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def _mentions_secret(value: Any, scratch: str) -> bool:
    """Whether a result, or any file a read put in ``scratch``, holds the secret."""
    try:
        text = repr(value)
    except Exception:
        text = ""
    if _SECRET_TEXT in text or repr(SECRET) in text:
        return True
    for dirpath, _, names in os.walk(scratch):
        for name in names:
            path = os.path.join(dirpath, name)
            if os.path.islink(path):
                continue
            with open(path, "rb") as f:
                if SECRET in f.read():
                    return True
    return False


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:60]}… ({len(text)} characters)"


def _settings(examples: int) -> settings:
    # MODELOPS_ROBUSTNESS_EXAMPLES runs a deeper search than a suite's default.
    examples = int(os.environ.get("MODELOPS_ROBUSTNESS_EXAMPLES", examples))
    return settings(max_examples=examples, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow, HealthCheck.data_too_large])


def _without_caches(world: dict[str, Any]) -> dict[str, Any]:
    # A search may refresh its derived index (and only that) when it reads.
    return {k: v for k, v in world.items() if not k.endswith("/search-index")}


# -- bad input ------------------------------------------------------------------------------

@attrs.frozen
class Call:
    """A public call: ``run(ctx, **kwargs)`` with each argument drawn from ``params`` (valid
    values); ``setup(ctx)`` makes what it acts on, ``teardown`` ends it."""

    name: str
    run: Callable[..., Any]
    params: dict[str, Any]
    setup: Callable[[Any], Any] | None = None
    teardown: Callable[[Any], Any] | None = None
    #: Arguments naming the caller's own local files: hostile values for them are of the
    #: wrong type or name nothing, never the machine's real files.
    local: tuple[str, ...] = ()


def _just(*values: Any) -> Any:
    return st.sampled_from(values)


#: Hostile values for arguments naming the caller's local files.
_HOSTILE_LOCAL = st.sampled_from([None, 5, 2.5, b"\x00", [], object(), "", "\x00",
                                  "a\x00b", "\ud800", "does/not/exist", "x" * 5000])


def _calls(made: Populated) -> list[Call]:
    run_id, report_id = made.run_id, made.report_id
    names = _just("exp", "new-exp", "spare")
    models = _just("m", "spare-model", "new-model")
    frame = _frame(30)

    def started(ctx: Any) -> Any:
        return ctx.tracking.start_run(experiment="exp", name="probe")

    def ended(active: Any) -> None:
        with contextlib.suppress(ModelOpsError):
            active.end()

    def logger(ctx: Any) -> Any:
        return ctx.predictions.logger("p", flush_every=60)

    def closed(log: Any) -> None:
        with contextlib.suppress(ModelOpsError):
            log.close(timeout=30)

    def download_dst(ctx: Any) -> str:
        return tempfile.mkdtemp(prefix="dl-", dir=made.scratch)

    return [
        # tracking
        Call("create_experiment", lambda c, **k: c.tracking.create_experiment(**k),
             {"name": _just("new-exp"), "tags": _just(None, {"k": "v"})}),
        Call("get_experiment", lambda c, **k: c.tracking.get_experiment(**k),
             {"name_or_id": names}),
        Call("list_experiments", lambda c, **k: c.tracking.list_experiments(**k),
             {"view": _just("all", "active_only")}),
        Call("delete_experiment", lambda c, **k: c.tracking.delete_experiment(**k),
             {"name_or_id": _just("spare")}),
        Call("restore_experiment", lambda c, **k: c.tracking.restore_experiment(**k),
             {"name_or_id": _just("spare")}),
        Call("start_run", lambda c, **k: ended(c.tracking.start_run(**k)),
             {"experiment": names, "name": _just(None, "run"), "tags": _just(None, {"a": "b"}),
              "parent": _just(None, run_id)}),
        Call("get_run", lambda c, **k: c.tracking.get_run(**k), {"run_id": _just(run_id)}),
        Call("set_terminated", lambda c, **k: c.tracking.set_terminated(**k),
             {"run_id": _just(run_id), "status": _just("FINISHED", "failed")}),
        Call("delete_run", lambda c, **k: c.tracking.delete_run(**k),
             {"run_id": _just(run_id)}),
        Call("restore_run", lambda c, **k: c.tracking.restore_run(**k),
             {"run_id": _just(run_id)}),
        Call("get_metric_history", lambda c, **k: c.tracking.get_metric_history(**k),
             {"run_id": _just(run_id), "key": _just("m", "loss")}),
        Call("search_runs", lambda c, **k: c.tracking.search_runs(**k),
             {"experiments": _just(None, "exp", ["exp", "spare"]),
              "filter": _just(None, "metrics.m > 0.5"), "order_by": _just(None, ["metrics.m"]),
              "max_results": _just(10, 1000), "page_token": _just(None),
              "view": _just("all", "active_only")}),
        Call("compare", lambda c, **k: c.tracking.compare(**k), {"runs": _just([run_id])}),
        Call("cleanup", lambda c, **k: c.tracking.cleanup(**k),
             {"experiment": _just("exp"), "older_than": _just(30, "12h"),
              "statuses": _just(("FINISHED",)), "dry_run": _just(True)}),
        Call("list_artifacts", lambda c, **k: c.tracking.list_artifacts(**k),
             {"run_id": _just(run_id), "path": _just(None, "dir")}),
        Call("read_text", lambda c, **k: c.tracking.read_text(**k),
             {"run_id": _just(run_id), "path": _just("notes.txt")}),
        Call("download_artifacts",
             lambda c, **k: c.tracking.download_artifacts(dst_path=download_dst(c), **k),
             {"run_id": _just(run_id), "path": _just("", "dir")}),
        # a run being logged to
        Call("log_metric", lambda a, **k: a.log_metric(**k),
             {"key": _just("m"), "value": _just(0.5), "step": _just(None, 3),
              "timestamp": _just(None, _T0)}, started, ended),
        Call("log_metrics", lambda a, **k: a.log_metrics(**k),
             {"metrics": _just({"m": 1.0}), "step": _just(None, 1)}, started, ended),
        Call("log_params", lambda a, **k: a.log_params(**k),
             {"params": _just({"p": 1})}, started, ended),
        Call("log_param", lambda a, **k: a.log_param(**k),
             {"key": _just("q"), "value": _just("v")}, started, ended),
        Call("set_tags", lambda a, **k: a.set_tags(**k),
             {"tags": _just({"t": "v"})}, started, ended),
        Call("log_text", lambda a, **k: a.log_text(**k),
             {"text": _just("hello"), "artifact_file": _just("out/t.txt")}, started, ended),
        Call("log_dict", lambda a, **k: a.log_dict(**k),
             {"dictionary": _just({"a": 1}), "artifact_file": _just("d.json")}, started, ended),
        Call("log_artifact", lambda a, **k: a.log_artifact(**k),
             {"local_path": _just(os.path.join(made.scratch, "in", "weights.bin")),
              "artifact_path": _just(None, "sub")}, started, ended, local=("local_path",)),
        Call("end", lambda a, **k: a.end(**k),
             {"status": _just("FINISHED", "FAILED")}, started, ended),
        # registry
        Call("register", lambda c, **k: c.registry.register(**k),
             {"name": models, "model": _just({"w": 2}),
              "version": _just(None, "7.0.0"), "bump": _just("patch", "minor"),
              "metrics": _just(None, {"f1": 0.5}), "params": _just(None, {"a": 1}),
              "description": _just(None, "d"), "tags": _just(None, {"t": "v"}),
              "lineage": _just(None, {"notes": "n"}), "flavor": _just("joblib"),
              "allow_nonfinite": _just(False)}),
        Call("get_model", lambda c, **k: c.registry.get_model(**k), {"name": models}),
        Call("list_models", lambda c, **k: c.registry.list_models(**k),
             {"include_deleted": _just(True, False)}),
        Call("describe", lambda c, **k: c.registry.describe(**k),
             {"name": _just("m"), "description": _just("text"), "version": _just(None, "1.0.0")}),
        Call("tag", lambda c, **k: c.registry.tag(**k),
             {"name": _just("m"), "tags": _just({"k": "v"}), "version": _just(None, "1.0.0"),
              "unset": _just((), ("k",))}),
        Call("delete_model", lambda c, **k: c.registry.delete_model(**k),
             {"name": _just("spare-model"), "force": _just(False)}),
        Call("restore_model", lambda c, **k: c.registry.restore_model(**k),
             {"name": _just("spare-model")}),
        Call("list_versions", lambda c, **k: c.registry.list_versions(**k),
             {"name": models, "stage": _just(None, "production")}),
        Call("get_version", lambda c, **k: c.registry.get_version(**k),
             {"name": _just("m"), "version": _just(None, "1.0.0"),
              "stage": _just(None), "alias": _just(None)}),
        Call("latest", lambda c, **k: c.registry.latest(**k), {"name": models}),
        Call("history", lambda c, **k: c.registry.history(**k), {"name": models}),
        Call("compare_versions", lambda c, **k: c.registry.compare(**k),
             {"name": _just("m"), "v1": _just("1.0.0"), "v2": _just("1.0.1")}),
        Call("resolve", lambda c, **k: c.registry.resolve(**k),
             {"uri": _just("models:/m/1.0.0", "models:/m@champion", "models:/m/latest")}),
        Call("download", lambda c, **k: c.registry.download(dst_dir=download_dst(c), **k),
             {"name": _just("m"), "version": _just("1.0.1")}),
        Call("load", lambda c, **k: c.registry.load(**k),
             {"name": _just("m"), "version": _just("1.0.0"), "trusted": _just(True, False)}),
        Call("load_uri", lambda c, **k: c.registry.load_uri(**k),
             {"uri": _just("models:/m/1.0.0"), "trusted": _just(True)}),
        Call("promote", lambda c, **k: c.registry.promote(**k),
             {"name": _just("m"), "version": _just("1.0.0", "1.0.1"),
              "stage": _just(None, "staging"), "alias": _just(None),
              "archive_previous": _just(True), "reason": _just(None, "why")}),
        Call("set_alias", lambda c, **k: c.registry.set_alias(**k),
             {"name": _just("m"), "alias": _just("champion", "b"), "version": _just("1.0.0")}),
        Call("remove_alias", lambda c, **k: c.registry.remove_alias(**k),
             {"name": _just("m"), "alias": _just("b")}),
        Call("rollback", lambda c, **k: c.registry.rollback(**k),
             {"name": _just("m"), "stage": _just(None), "alias": _just(None, "champion"),
              "reason": _just(None)}),
        Call("archive_old_versions", lambda c, **k: c.registry.archive_old_versions(**k),
             {"name": _just("m"), "keep_latest": _just(5)}),
        Call("should_promote", lambda c, **k: c.registry.should_promote(**k),
             {"name": _just("m"), "candidate": _just("1.0.1"), "metric": _just("f1"),
              "min_improvement": _just(0.01), "higher_is_better": _just(True),
              "against": _just("production", "@champion")}),
        # drift
        Call("fit_reference", lambda c, **k: c.drift.fit_reference(**k),
             {"name": _just("d", "d2"), "frame": _just(frame)}),
        Call("check", lambda c, **k: c.drift.check(**k),
             {"name": _just("d"), "frame": _just(frame)}),
        Call("reports", lambda c, **k: c.drift.reports(**k),
             {"name": _just("d"), "since": _just(None, _T0), "until": _just(None)}),
        Call("report", lambda c, **k: c.drift.report(**k),
             {"name": _just("d"), "report_id": _just(report_id)}),
        Call("reference", lambda c, **k: c.drift.reference(**k),
             {"name": _just("d"), "profile_id": _just(None)}),
        # predictions
        Call("logger", lambda c, **k: closed(c.predictions.logger(**k)),
             {"model": _just("p"), "version": _just(None, "1.0.0"),
              "flush_every": _just(1.0), "max_buffer": _just(1000),
              "drop_policy": _just("oldest")}),
        Call("log", lambda lg, **k: lg.log(**k),
             {"features": _just({"x": 1.0}), "prediction": _just("yes"),
              "probability": _just(None, 0.5), "latency_ms": _just(None, 3.0),
              "id": _just(None, "given-id"), "timestamp": _just(None, _T0),
              "metadata": _just(None, {"k": "v"})}, logger, closed),
        Call("log_batch", lambda lg, **k: lg.log_batch(**k),
             {"features": _just({"x": [1.0, 2.0]}), "predictions": _just(["a", "b"]),
              "probabilities": _just(None, [0.1, 0.2]), "ids": _just(None, ["i1", "i2"]),
              "timestamps": _just(None, [_T0, _T0 + 1])}, logger, closed),
        Call("logger_feedback", lambda lg, **k: lg.feedback(**k),
             {"id": _just("id-1"), "actual": _just("yes"), "timestamp": _just(None, _T0)},
             logger, closed),
        Call("read", lambda c, **k: c.predictions.read(**k),
             {"model": _just("p"), "version": _just(None, "1.0.0"), "since": _just(None, _T0),
              "until": _just(None), "with_feedback": _just(True, False)}),
        Call("recent", lambda c, **k: c.predictions.recent(**k),
             {"model": _just("p"), "limit": _just(10), "version": _just(None),
              "days": _just(2)}),
        Call("feedback", lambda c, **k: c.predictions.feedback(**k),
             {"model": _just("p"), "id": _just("id-2"), "actual": _just("no"),
              "timestamp": _just(None, _T0)}),
        Call("delete_before", lambda c, **k: c.predictions.delete_before(**k),
             {"model": _just("p"), "day": _just("1990-01-01")}),
        Call("compact", lambda c, **k: c.predictions.compact(**k),
             {"model": _just("p"), "day": _just("2026-01-04"), "fmt": _just("jsonl")}),
        Call("monitor", lambda c, **k: c.monitor(**k).health(window="3650d", alert=False),
             {"model": _just("p"), "version": _just(None)}),
    ]


class BadInputSuite:
    """Hostile values through every public call (see the module's docstring)."""

    #: Examples per test (each one call); raise it for a deeper search.
    examples: ClassVar[int] = 150

    @pytest.fixture
    def populated(self, sandbox: Sandbox) -> Iterator[tuple[Any, Populated]]:
        ops = sandbox.connect()
        os.makedirs(os.path.join(sandbox.scratch, "in"), exist_ok=True)
        with open(os.path.join(sandbox.scratch, "in", "weights.bin"), "wb") as f:
            f.write(b"local weights")
        made = populate(ops, sandbox.scratch)
        yield ops, made
        ops.close()

    def test_only_modelops_errors_and_refusals_change_nothing(
            self, sandbox: Sandbox, populated: tuple[Any, Populated]) -> None:
        ops, made = populated
        calls = _calls(made)

        @_settings(self.examples)
        @given(st.data())
        def check(data: Any) -> None:
            call = data.draw(st.sampled_from(calls), label="call")
            hostile = data.draw(st.sampled_from(sorted(call.params)), label="hostile argument")
            bad = _HOSTILE_LOCAL if hostile in call.local else mst.hostile_values()
            kwargs = {name: data.draw(bad if name == hostile else strategy, label=name)
                      for name, strategy in call.params.items()}
            target = call.setup(ops) if call.setup else ops
            try:
                before = sandbox.world()
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        call.run(target, **kwargs)
                except ModelOpsError:
                    after = sandbox.world()
                    changed = sorted(k for k in {*before, *after}
                                     if before.get(k) != after.get(k))
                    assert not changed, f"{call.name} refused {hostile}=" \
                                        f"{_short(kwargs[hostile])} but changed {changed[:5]}"
                except Exception as exc:
                    raise AssertionError(f"{call.name}({hostile}={_short(kwargs[hostile])}) "
                                         f"raised {type(exc).__name__}: {exc}") from exc
                outside = [k for k in sandbox.world() if not k.startswith(
                    (f"{sandbox.store_rel}/", "outside/")) and k not in (
                    sandbox.store_rel, "outside", "outside/folder")]
                assert not outside, f"{call.name} wrote outside the store: {outside[:5]}"
            finally:
                if call.teardown is not None:
                    call.teardown(target)

        check()


# -- corruption -----------------------------------------------------------------------------

_SHAPES = (b"{}", b"[]", b'"text"', b"1", b"null", b'{"a": 1}', b"[[]]", b'{"name": []}',
           b'{"runs": {"x": [1, 2, 3]}, "token": "t"}',
           # deeper than any JSON parser recurses
           b'{"id": "a", "ts": 1, "name": ' + b"[" * 100_000 + b"]" * 100_000 + b"}")
_DAMAGE = ("truncate", "flip", "shape", "delete", "garbage", "link")


class CorruptionSuite:
    """One damaged file, every read (see the module's docstring)."""

    examples: ClassVar[int] = 100

    @pytest.fixture
    def populated(self, sandbox: Sandbox) -> Iterator[Populated]:
        ops = sandbox.connect()
        made = populate(ops, sandbox.scratch)
        ops.close()
        yield made

    def test_every_read_of_a_damaged_store_ends_well(self, sandbox: Sandbox,
                                                      populated: Populated) -> None:
        files = sandbox.files()
        damage = [d for d in _DAMAGE if d != "link" or sandbox.links]

        @_settings(self.examples)
        @given(st.sampled_from(files), st.sampled_from(damage), st.data())
        def check(rel: str, how: str, data: Any) -> None:
            original = sandbox.read(rel)
            try:
                if how == "truncate":
                    cut = data.draw(st.integers(0, max(len(original) - 1, 0)), label="keep")
                    sandbox.write(rel, original[:cut])
                elif how == "flip":
                    if not original:
                        return
                    at = data.draw(st.integers(0, len(original) - 1), label="byte")
                    bit = data.draw(st.integers(0, 7), label="bit")
                    sandbox.write(rel, original[:at] + bytes([original[at] ^ (1 << bit)])
                                  + original[at + 1:])
                elif how == "shape":
                    sandbox.write(rel, data.draw(st.sampled_from(_SHAPES), label="shape"))
                elif how == "garbage":
                    sandbox.write(rel, b"\xff\xfe\x00garbage\x80")
                elif how == "delete":
                    sandbox.delete(rel)
                else:
                    sandbox.link(rel)
                self._read_everything(sandbox, populated, f"{how} {rel}")
            finally:
                sandbox.write(rel, original)

        check()

    @staticmethod
    def _read_everything(sandbox: Sandbox, made: Populated, what: str) -> None:
        ops = sandbox.connect()
        before = _without_caches(sandbox.world())
        try:
            for name, read in _reads(ops, made).items():
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore", StoreWarning)
                        warnings.simplefilter("ignore", RuntimeWarning)
                        result = read()
                except ModelOpsError as exc:
                    result = exc
                except Exception as exc:
                    raise AssertionError(f"after {what}, {name} raised {type(exc).__name__}: "
                                         f"{exc}") from exc
                assert not _mentions_secret(result, made.scratch), \
                    f"after {what}, {name} returned bytes from outside the store"
        finally:
            ops.close()
            shutil.rmtree(made.scratch, ignore_errors=True)
            os.makedirs(made.scratch, exist_ok=True)
        after = _without_caches(sandbox.world())
        changed = sorted(k for k in {*before, *after} if before.get(k) != after.get(k))
        assert not changed, f"after {what}, reading wrote {changed[:5]}"


# -- faults ---------------------------------------------------------------------------------

class _Fault:
    """Fails the n-th write with ``code`` (counting every write when n is 0)."""

    def __init__(self, n: int, code: int) -> None:
        self.n, self.code, self.count = n, code, 0
        self._lock = threading.Lock()

    def tick(self) -> None:
        with self._lock:
            self.count += 1
            fail = self.count == self.n
        if fail:
            raise OSError(self.code, os.strerror(self.code))


class _FailingOS:
    """``os`` as the local storage sees it, with its writes counted and failed."""

    _WRITING = os.O_WRONLY | os.O_RDWR | os.O_CREAT | getattr(os, "O_APPEND", 0)

    def __init__(self, real: Any, fault: _Fault) -> None:
        self._real, self._fault = real, fault

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def open(self, path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if flags & self._WRITING:
            self._fault.tick()
        return self._real.open(path, flags, *args, **kwargs)

    def _failing(name: str) -> Any:  # a factory of methods, run in the class body
        def method(self: _FailingOS, *args: Any, **kwargs: Any) -> Any:
            self._fault.tick()
            return getattr(self._real, name)(*args, **kwargs)

        method.__name__ = name
        return method

    write = _failing("write")
    link = _failing("link")
    replace = _failing("replace")
    rename = _failing("rename")
    makedirs = _failing("makedirs")
    mkdir = _failing("mkdir")


class _FailingShutil:
    def __init__(self, real: Any, fault: _Fault) -> None:
        self._real, self._fault = real, fault

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def copyfile(self, *args: Any, **kwargs: Any) -> Any:
        self._fault.tick()
        return self._real.copyfile(*args, **kwargs)


#: Methods of fsspec filesystems (and S3 requests) that write.
_FS_WRITES = frozenset({"pipe_file", "pipe", "put_file", "put", "rm_file", "rm", "rmdir",
                        "mkdir", "makedirs", "touch", "mv", "copy", "cp_file"})
_S3_WRITES = frozenset({"put_object", "delete_objects", "delete_object", "copy_object",
                        "create_multipart_upload", "upload_part", "complete_multipart_upload"})


class _FailingFS:
    """An fsspec filesystem (s3fs too) with its writes counted and failed."""

    def __init__(self, real: Any, fault: _Fault) -> None:
        self._real, self._fault = real, fault

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._real, name)
        if name in _FS_WRITES:
            def write(*args: Any, **kwargs: Any) -> Any:
                self._fault.tick()
                return value(*args, **kwargs)

            return write
        if name == "call_s3":
            def call(method: str, *args: Any, **kwargs: Any) -> Any:
                if method in _S3_WRITES:
                    self._fault.tick()
                return value(method, *args, **kwargs)

            return call
        return value


@contextlib.contextmanager
def failing_writes(ops: Any, n: int, code: int = errno.ENOSPC) -> Iterator[_Fault]:
    """Within the block, the n-th write of ``ops``'s stores fails with ``OSError(code)``
    (n = 0 only counts): local disk through the ``os`` calls of its storage, fsspec
    filesystems and S3 through their write methods and requests."""
    fault = _Fault(n, code)
    storages = [getattr(ops, kind).store.storage
                for kind in ("tracking", "registry", "drift", "predictions")]
    # A storage with no filesystem object works through the ``os`` calls of the modules
    # its class and base classes are defined in (local disk: ``LocalStorage`` and the
    # ``Storage`` helpers it appends and reads with).
    modules = {cls.__module__: sys.modules[cls.__module__]
               for storage in storages if getattr(storage, "fs", None) is None
               for cls in type(storage).__mro__ if cls.__module__ != "builtins"}
    patched = []
    with contextlib.ExitStack() as stack:
        if modules:
            mp = stack.enter_context(pytest.MonkeyPatch.context())
            for module in modules.values():
                if getattr(module, "os", None) is os:
                    mp.setattr(module, "os", _FailingOS(os, fault))
                if getattr(module, "shutil", None) is shutil:
                    mp.setattr(module, "shutil", _FailingShutil(shutil, fault))
        for storage in storages:
            fs = getattr(storage, "fs", None)
            if fs is not None and not isinstance(fs, _FailingFS) and id(storage) not in patched:
                patched.append(id(storage))
                storage.fs = _FailingFS(fs, fault)
                stack.callback(setattr, storage, "fs", fs)
        yield fault


@attrs.define
class _Workload:
    """The steps of the fault suite's workload, each with how to see it was stored."""

    acknowledged: list[str] = attrs.Factory(list)
    run_id: str | None = None
    ids: list[str] = attrs.Factory(list)
    leftovers: list[Any] = attrs.Factory(list)  # runs to end once the faults are off

    def run(self, ops: Any, scratch: str) -> None:
        source = os.path.join(scratch, "weights.bin")
        with open(source, "wb") as f:
            f.write(b"weights" * 10)
        active: list[Any] = []

        def start() -> None:
            active.append(ops.tracking.start_run(experiment="exp", name="r"))
            self.run_id = active[0].run_id

        def metrics() -> None:
            active[0].log_metrics({"m": 0.5, "n": 1.0})
            active[0].log_params({"p": 1})
            active[0].flush()

        steps: list[tuple[str, Callable[[], Any]]] = [
            ("experiment", lambda: ops.tracking.create_experiment("exp")),
            ("run", start),
            ("metrics", metrics),
            ("artifact", lambda: active[0].log_text("notes", "notes.txt")),
            ("end", lambda: active[0].end()),
            ("register", lambda: ops.registry.register("m", {"w": 1}, flavor="joblib")),
            ("register-files", lambda: ops.registry.register("m", source, flavor="path",
                                                             version="2.0.0")),
            ("promote", lambda: ops.registry.promote("m", "2.0.0")),
            ("alias", lambda: ops.registry.set_alias("m", "champion", "2.0.0")),
            ("predictions", lambda: self._predict(ops)),
            ("reference", lambda: ops.drift.fit_reference("d", _frame())),
            ("drift-report", lambda: ops.drift.check("d", _frame(shift=1.0))),
        ]
        for name, step in steps:
            if name in ("metrics", "artifact", "end") and not active:
                continue  # the run was never started
            try:
                step()
            except ModelOpsError:
                continue
            self.acknowledged.append(name)
        self.leftovers = active

    def finish(self) -> None:
        """End what the workload left open (with the faults off), so nothing writes later."""
        for active in self.leftovers:
            with contextlib.suppress(ModelOpsError):
                active.end()

    def _predict(self, ops: Any) -> None:
        log = ops.predictions.logger("p", flush_every=0.05, max_retry_delay=0.05)
        self.ids = [log.log({"x": float(i)}, "yes", id=f"id-{i}", timestamp=_T0 + i)
                    for i in range(5)]
        log.feedback("id-1", "no", timestamp=_T0 + 100)
        if not log.close(timeout=20):
            raise StoreError("the predictions were not written")

    def verify(self, ops: Any, scratch: str) -> None:
        """Every read works (or says NotFound for what was never acknowledged), and what
        was acknowledged is there."""
        done = set(self.acknowledged)
        t, r = ops.tracking, ops.registry
        if "experiment" in done:
            t.get_experiment("exp")
        runs = t.search_runs(view="all")
        if "run" in done:
            run = t.get_run(self.run_id)
            if "metrics" in done:
                assert run.data.metrics == {"m": 0.5, "n": 1.0}
                assert run.data.params == {"p": "1"}
            if "artifact" in done:
                assert t.read_text(self.run_id, "notes.txt") == "notes"
            if "end" in done:
                assert run.info.status.value == "FINISHED"
        assert len(runs) <= 1
        versions = _or_none(lambda: [v.version for v in r.list_versions("m")]) or []
        if "register" in done:
            assert "1.0.0" in versions and r.load("m", "1.0.0") == {"w": 1}
        if "register-files" in done:
            assert "2.0.0" in versions
            assert _read_loaded(r.load("m", "2.0.0", dst_dir=os.path.join(scratch, "l"))) \
                == b"weights" * 10
        if "promote" in done:
            assert r.get_version("m", stage="production").version == "2.0.0"
        if "alias" in done:
            assert r.get_version("m", alias="champion").version == "2.0.0"
        _or_none(lambda: r.history("m"))
        table = ops.predictions.read("p")
        if "predictions" in done:
            assert set(self.ids) <= set(table.ids.tolist())
            assert len(table.ids) == len(set(table.ids.tolist()))  # no duplicate
        if "reference" in done:
            ops.drift.reference("d")
        reports = _or_none(lambda: ops.drift.reports("d")) or []
        if "drift-report" in done:
            assert len(reports) == 1


def _or_none(read: Callable[[], Any]) -> Any:
    try:
        return read()
    except NotFound:
        return None


class FaultSuite:
    """A workload on a storage failing its n-th write, for every n (see the module's
    docstring)."""

    #: The error codes injected; n cycles through them unless ``all_codes``.
    codes: ClassVar[tuple[int, ...]] = (errno.ENOSPC, errno.EIO, errno.EROFS)
    all_codes: ClassVar[bool] = True
    #: Check every ``every``-th n (1: all of them).
    every: ClassVar[int] = 1

    def test_a_failed_write_at_any_point_loses_nothing_acknowledged(
            self, sandbox: Sandbox) -> None:
        counting = sandbox.fresh()
        ops = counting.connect()
        work = _Workload()
        with failing_writes(ops, 0) as fault:
            work.run(ops, counting.scratch)
        work.finish()
        ops.close()
        total = fault.count
        assert total > 10, f"the workload made only {total} writes"
        for n in range(1, total + 1, self.every):
            codes = self.codes if self.all_codes else (self.codes[n % len(self.codes)],)
            for code in codes:
                self._one(sandbox.fresh(), n, code)

    @staticmethod
    def _one(sandbox: Sandbox, n: int, code: int) -> None:
        work = _Workload()
        ops = sandbox.connect()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with failing_writes(ops, n, code):
                work.run(ops, sandbox.scratch)
            work.finish()
            ops.close()
            fresh = sandbox.connect()
            try:
                work.verify(fresh, sandbox.scratch)
            except (AssertionError, ModelOpsError) as exc:
                raise AssertionError(f"write {n} failing with {errno.errorcode[code]}, "
                                     f"acknowledged {work.acknowledged}: "
                                     f"{type(exc).__name__}: {exc}") from exc
            finally:
                fresh.close()
        assert sandbox.temp_files() == [], \
            f"write {n} failing with {errno.errorcode[code]} left temporary files"
