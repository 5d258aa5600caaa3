"""ActiveRun: a run being logged to, with its buffer.

Logging appends to an in-memory buffer and returns; the buffer is written as one segment on
``flush()``, when it holds ``max_buffered`` points, every few seconds from the background
flusher, at the end of the run and at interpreter exit. Input is validated at the call, so a
bad value raises there and never reaches storage.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import threading
from collections.abc import Mapping
from types import TracebackType
from typing import Any

from modelops._ids import now_ms
from modelops.entities import Metric, MetricSeries, Run, RunStatus
from modelops.entities.validators import (
    MAX_PARAM_VALUE_LENGTH,
    MAX_TAG_VALUE_LENGTH,
    check_int,
    check_key,
    check_number,
    check_text,
    check_value,
)
from modelops.errors import Conflict, InvalidInput, NotFound, ParamConflict
from modelops.stores import TrackingStore
from modelops.tracking import flusher

_I64 = 2**63

#: Points buffered before a log call writes them itself.
DEFAULT_MAX_BUFFERED = 20_000


class ActiveRun:
    """A run being logged to. Use it as a context manager, or call ``end()``.

    Thread-safe: many threads may log to one run.
    """

    def __init__(self, store: TrackingStore, run: Run, *, client: Any = None,
                 parent: ActiveRun | None = None,
                 max_buffered: int = DEFAULT_MAX_BUFFERED) -> None:
        self._store = store
        self._client = client
        self._run = run
        self.parent = parent
        self.depth = 0 if parent is None else parent.depth + 1
        self._max_buffered = max_buffered
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._metrics: dict[str, tuple[list[int], list[float], list[int]]] = {}
        self._params: dict[str, str] = {}
        self._tags: dict[str, str] = {}
        self._pending = 0
        self._known_params = dict(run.data.params)
        self._valid_keys: set[str] = set()
        self._ended = False
        self._on_end: list[Any] = []
        self._monitor: Any = None   # a SystemMetricsMonitor while system metrics are logged
        flusher.register(self)

    # -- identity ---------------------------------------------------------------------------

    @property
    def run_id(self) -> str:
        return self._run.info.run_id

    @property
    def experiment_id(self) -> str:
        return self._run.info.experiment_id

    @property
    def name(self) -> str:
        return self._run.info.run_name

    @property
    def info(self):  # type: ignore[no-untyped-def]
        """The RunInfo as it was when the run started (``run.info`` for the current one)."""
        return self._run.info

    @property
    def run(self) -> Run:
        """The run as stored now, after flushing this buffer."""
        self.flush()
        return self._store.get_run(self.run_id)

    @property
    def ended(self) -> bool:
        return self._ended

    def __repr__(self) -> str:
        return f"<ActiveRun {self.name!r} id={self.run_id}>"

    def _repr_html_(self) -> str:
        from modelops.tracking.results import run_html

        return run_html(self.run)

    # -- logging ----------------------------------------------------------------------------

    def _key(self, key: Any, field: str) -> str:
        if key.__class__ is not str or key not in self._valid_keys:
            check_key(key, field)
            self._valid_keys.add(key)
        return key

    def log_metric(self, key: str, value: float, step: int | None = None,
                   timestamp: int | None = None) -> None:
        """Log one metric point. ``step`` defaults to 0 and ``timestamp`` to now (ms)."""
        if key.__class__ is not str or key not in self._valid_keys:
            self._key(key, "metric key")
        if value.__class__ is not float:
            value = check_number(value, f"metrics[{key!r}].value")
        step = 0 if step is None else (step if step.__class__ is int and -_I64 <= step < _I64
                                       else check_int(step, f"metrics[{key!r}].step"))
        ts = now_ms() if timestamp is None else check_int(timestamp,
                                                          f"metrics[{key!r}].timestamp")
        with self._lock:
            if self._ended:
                raise Conflict(f"run {self.run_id} has ended; start or resume a run to log")
            cols = self._metrics.get(key)
            if cols is None:
                cols = self._metrics[key] = ([], [], [])
            cols[0].append(step)
            cols[1].append(value)
            cols[2].append(ts)
            self._pending += 1
            full = self._pending >= self._max_buffered
        if full:
            self.flush()
        else:
            self._nudge()

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None,
                    timestamp: int | None = None) -> None:
        """Log several metrics at one step; all are validated before any is buffered."""
        if not isinstance(metrics, Mapping):
            raise InvalidInput(f"expected a mapping, got {type(metrics).__name__}",
                               field="metrics")
        ts = now_ms() if timestamp is None else check_int(timestamp, "timestamp")
        step = 0 if step is None else check_int(step, "step")
        checked = [(self._key(k, "metric key"), check_number(v, f"metrics[{k!r}].value"))
                   for k, v in metrics.items()]
        for key, value in checked:
            self.log_metric(key, value, step, ts)

    def log_param(self, key: str, value: Any) -> None:
        """Log a param; logging it again with another value raises ``ParamConflict``."""
        self.log_params({self._key(key, "param key"): value})

    def log_params(self, params: Mapping[str, Any]) -> None:
        """Log params, all or none (a conflict or a bad value refuses the whole call)."""
        if not isinstance(params, Mapping):
            raise InvalidInput(f"expected a mapping, got {type(params).__name__}",
                               field="params")
        checked = {
            self._key(k, "param key"): check_value(v, f"params[{k!r}]", MAX_PARAM_VALUE_LENGTH)
            for k, v in params.items()
        }
        with self._lock:
            self._check_open()
            for key, value in checked.items():
                known = self._known_params.get(key)
                if known is not None and known != value:
                    raise ParamConflict(
                        f"param {key!r} of run {self.run_id} is {known!r}; params are "
                        f"immutable, so logging {value!r} is refused")
            for key, value in checked.items():
                if key not in self._known_params:
                    self._known_params[key] = value
                    self._params[key] = value
                    self._pending += 1
        self._nudge()

    def set_tag(self, key: str, value: Any) -> None:
        """Set a tag (tags, unlike params, may change)."""
        self.set_tags({self._key(key, "tag key"): value})

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        if not isinstance(tags, Mapping):
            raise InvalidInput(f"expected a mapping, got {type(tags).__name__}", field="tags")
        checked = {
            self._key(k, "tag key"): check_value(v, f"tags[{k!r}]", MAX_TAG_VALUE_LENGTH)
            for k, v in tags.items()
        }
        with self._lock:
            self._check_open()
            self._tags.update(checked)
            self._pending += len(checked)
        self._nudge()

    def log_batch(self, metrics: list[Metric] | tuple[Metric, ...] = (),
                  params: Mapping[str, Any] | None = None,
                  tags: Mapping[str, Any] | None = None) -> None:
        """Log Metric objects, params and tags together, as MLflow's ``log_batch``."""
        for i, m in enumerate(metrics):
            if not isinstance(m, Metric):
                raise InvalidInput(f"expected Metric, got {type(m).__name__}",
                                   field=f"metrics[{i}]")
        if params:
            self.log_params(params)
        if tags:
            self.set_tags(tags)
        for m in metrics:
            self.log_metric(m.key, m.value, m.step, m.timestamp)

    def _nudge(self) -> None:
        """Hand the GIL to the flusher, or to the system metrics' sampler, if one is late."""
        flusher.nudge()
        monitor = self._monitor
        if monitor is not None:
            monitor.pace.nudge()

    def _check_open(self) -> None:
        if self._ended:
            raise Conflict(f"run {self.run_id} has ended; start or resume a run to log")

    # -- artifacts (written at once: the source may change or vanish after the call) --------

    def log_artifact(self, local_path: str | os.PathLike[str],
                     artifact_path: str | None = None) -> None:
        """Copy a local file into the run, under the directory ``artifact_path``."""
        local_path = _local(local_path, "local_path")
        if not os.path.isfile(local_path):
            raise NotFound(f"no local file {local_path!r} to log as an artifact")
        name = os.path.basename(local_path)
        self._store.log_artifact(self.run_id, local_path, _join(artifact_path, name))

    def log_artifacts(self, local_dir: str | os.PathLike[str],
                      artifact_path: str | None = None) -> None:
        """Copy every file below a local directory into the run, keeping the tree."""
        local_dir = _local(local_dir, "local_dir")
        if not os.path.isdir(local_dir):
            raise NotFound(f"no local directory {local_dir!r} to log as artifacts")
        for dirpath, _, files in os.walk(local_dir):
            rel = os.path.relpath(dirpath, local_dir)
            sub = "" if rel == "." else rel.replace(os.sep, "/")
            for name in sorted(files):
                self._store.log_artifact(self.run_id, os.path.join(dirpath, name),
                                         _join(_join(artifact_path, sub), name))

    def log_text(self, text: str, artifact_file: str) -> None:
        """Write text (UTF-8) as the artifact ``artifact_file``."""
        _path(artifact_file, "artifact_file")
        check_text(text, "text")
        self._store.write_artifact(self.run_id, text.encode(), artifact_file)

    def log_dict(self, dictionary: Mapping[str, Any], artifact_file: str) -> None:
        """Write a mapping as JSON (or YAML for ``.yaml``/``.yml`` when PyYAML is installed)."""
        as_yaml = _path(artifact_file, "artifact_file").endswith((".yaml", ".yml"))
        refused: tuple[type[BaseException], ...] = (TypeError, ValueError, RecursionError)
        if as_yaml:
            try:
                import yaml
            except ImportError:
                from modelops.errors import MissingDependency

                raise MissingDependency("log_dict to YAML", "pyyaml") from None
            refused += (yaml.YAMLError,)
        try:
            data = yaml.safe_dump(dict(dictionary), sort_keys=False) if as_yaml else \
                json.dumps(dictionary, indent=2, default=str)
        except refused as exc:     # keys JSON cannot hold, nesting too deep for the encoder
            raise InvalidInput(f"cannot be written as {artifact_file!r}: "
                               f"{type(exc).__name__}: {exc}", field="dictionary") from None
        self.log_text(data, artifact_file)

    def log_figure(self, figure: Any, artifact_file: str, **savefig_kwargs: Any) -> None:
        """Save a matplotlib figure (anything with ``savefig``) as an image artifact."""
        _path(artifact_file, "artifact_file")
        if not hasattr(figure, "savefig"):
            raise InvalidInput(f"expected a figure with savefig(), got {type(figure).__name__}",
                               field="figure")
        buffer = io.BytesIO()
        fmt = os.path.splitext(artifact_file)[1].lstrip(".") or "png"
        figure.savefig(buffer, format=fmt, **savefig_kwargs)
        self._store.write_artifact(self.run_id, buffer.getvalue(), artifact_file)

    def log_model(self, model: Any, name: str | None = None, artifact_path: str = "model",
                  flavor: str | None = None, framework: str | None = None, *,
                  register: bool = True, **register_kwargs: Any) -> Any:
        """Store a model with this run under ``artifact_path`` and, by default, register it
        as a version of ``name`` in one call (``register_kwargs`` go to
        ``Registry.register``; the version's metrics and params default to this run's).

        With ``register=False`` the model is only stored, and the second argument is the
        artifact path (``run.log_model(model, "model", register=False)``, as MLflow's
        ``log_model``); ``ops.registry.register_from_run(run_id, path, name)`` registers it
        later, with the ``signature`` and ``input_example`` given here, if any, kept beside
        it. The manifest beside the model records ``requirements``: the distributions
        loading it needs, at the versions installed here (``modelops.environment``).
        Returns the ModelVersion, or the artifact path when not registering.
        """
        from modelops.entities.validators import check_bool
        from modelops.tracking.model_manifest import DESCRIBED, MANIFEST, manifest_text

        check_bool(register, "register")
        client = self._client
        if client is None:
            raise Conflict("log_model needs a run started from a Client with a registry")
        registry = client.registry
        if register:
            if name is None:
                raise InvalidInput("the model's name is needed to register it (or pass "
                                   "register=False)", field="name")
            registry._check_model_name(name)  # before anything is written
        else:
            other = sorted(set(register_kwargs) - set(DESCRIBED))
            if other:
                raise InvalidInput(f"{other[0]!r} is for registering; register=False only "
                                   "stores the model (with its signature and input example)",
                                   field="register")
            if name is not None:
                if artifact_path != "model":
                    raise InvalidInput("with register=False give the artifact path once "
                                       "(the model is not named)", field="name")
                artifact_path = name
        path = _path(artifact_path, "artifact_path").strip("/")
        if not path:
            raise InvalidInput("expected a folder for the model, got the run's root",
                               field="artifact_path")
        with tempfile.TemporaryDirectory(prefix="modelops-model-") as tmp:
            saved = registry.save(model, tmp, flavor, framework)
            described = {} if register else registry._signature_fields(
                register_kwargs.get("signature"), register_kwargs.get("input_example"))
            described["requirements"] = registry._requirements(
                saved, register_kwargs.get("requirements"))
            manifest = manifest_text(saved.flavor, saved.framework, saved.meta, saved.files,
                                     described)
            self.log_artifacts(tmp, path)
            self._store.write_artifact(self.run_id, manifest.encode(), f"{path}/{MANIFEST}")
            if not register:
                return path
            return registry.register(name, saved, run=self, **register_kwargs)

    # -- datasets ---------------------------------------------------------------------------

    def log_input(self, frame: Any, name: str = "dataset", source: str | None = None,
                  context: str = "training", *, target: str | None = None,
                  categorical: Any = None) -> Any:
        """Record a dataset this run used: its digest, ``source`` (a URI or path, as given),
        ``context`` (``"training"``, ``"evaluation"`` …), schema, rows and drift profile.
        Returns the ``Dataset``; ``run.inputs`` lists them, and a model version registered
        from this run links to them. ``target`` names the label column and ``categorical``
        columns to treat as categories, as ``ops.drift.fit_reference`` takes them.

        A name is logged once per run: the same frame again returns its record, another
        is a ``Conflict``. See ``modelops.tracking.datasets`` for the digest."""
        from modelops.tracking import datasets

        self._check_open()
        return datasets.log_input(self, self._store, frame, name=name, source=source,
                                  context=context, target=target, categorical=categorical)

    @property
    def inputs(self) -> list[Any]:
        """The datasets this run logged (``log_input``), as stored."""
        from modelops.tracking import datasets

        return datasets.read_inputs(self._store, self.run_id)

    # -- flushing and ending ----------------------------------------------------------------

    def flush(self) -> None:
        """Write everything buffered as one segment. On a store error the data stays
        buffered (and the error is raised) so a later flush retries it."""
        with self._write_lock:
            with self._lock:
                if not self._pending:
                    return
                metrics, params, tags = self._metrics, self._params, self._tags
                self._metrics, self._params, self._tags, self._pending = {}, {}, {}, 0
            try:
                series = [MetricSeries(k, *cols) for k, cols in metrics.items()]
                self._store.log_batch(self.run_id, series, params, tags)
            except BaseException:
                with self._lock:
                    self._requeue(metrics, params, tags)
                raise

    def _requeue(self, metrics: dict[str, tuple[list[int], list[float], list[int]]],
                 params: dict[str, str], tags: dict[str, str]) -> None:
        for key, (steps, values, stamps) in metrics.items():
            cols = self._metrics.get(key)
            if cols is None:
                self._metrics[key] = (steps, values, stamps)
            else:
                self._metrics[key] = (steps + cols[0], values + cols[1], stamps + cols[2])
            self._pending += len(steps)
        self._params = {**params, **self._params}
        self._tags = {**tags, **self._tags}
        self._pending += len(params) + len(tags)

    def end(self, status: RunStatus | str = RunStatus.FINISHED) -> None:
        """Flush, then mark the run ended with ``status``. A second call does nothing."""
        status = RunStatus.parse(status)
        if self._ended:
            return
        monitor, self._monitor = self._monitor, None
        if monitor is not None:
            monitor.stop()          # its last sample is in the buffer before the last flush
        try:
            self.flush()
        finally:
            with self._lock:
                self._ended = True
            flusher.unregister(self)
        final = self._store.update_run(self.run_id, status=status, end_time=now_ms())
        for callback in self._on_end:
            callback(self)
        if status.is_terminal:
            from modelops.plugins import emit

            emit("modelops_run_finished", run=final, store_uri=self._store.uri)

    def _forget_after_fork(self) -> None:
        self._monitor = None        # its thread is not in the child
        with self._lock:
            self._metrics, self._params, self._tags, self._pending = {}, {}, {}, 0
            self._ended = True

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is None:
            self.end(RunStatus.FINISHED)
        elif issubclass(exc_type, KeyboardInterrupt):
            self.end(RunStatus.KILLED)
        else:
            self.end(RunStatus.FAILED)


def _local(value: Any, field: str) -> str:
    """A local file or folder's path given by the caller."""
    if not isinstance(value, (str, os.PathLike)):
        raise InvalidInput(f"expected a local path, got {value!r}", field=field)
    path = os.fspath(value)
    if not isinstance(path, str) or "\x00" in path:
        raise InvalidInput(f"expected a local path, got {value!r}", field=field)
    return path


def _path(value: Any, field: str) -> str:
    """An artifact path given by the caller: a string (the store checks its segments)."""
    if not isinstance(value, str):
        raise InvalidInput(f"expected a path like 'plots/loss.png', got {value!r}", field=field)
    return value


def _join(directory: str | None, name: str) -> str:
    directory = ("" if directory is None else _path(directory, "artifact_path")).strip("/")
    return f"{directory}/{name}" if directory else name
