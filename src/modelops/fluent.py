"""Module-level tracking for notebooks and MLflow users: ``modelops.start_run`` and friends.

They act on a default client, chosen by one rule (``get_client``):

1. the store ``set_uri(uri)`` chose, if it was called;
2. else the store ``$MODELOPS_URI`` names, if it is set;
3. else the client of the most recent ``modelops.connect(...)`` in this process;
4. else ``./.modelops`` on local disk.

So ``ops = modelops.connect("s3://bucket/ml")`` followed by
``modelops.load_model("models:/fraud@production")`` loads from that bucket. Each thread has
its own stack of active runs, so threads never log into each other's runs; the experiment
chosen by ``set_experiment`` is process-wide, as in MLflow.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from typing import Any

from modelops.client import Client, latest_client, open_client
from modelops.entities import Run, RunStatus
from modelops.errors import Conflict
from modelops.tracking import ActiveRun
from modelops.uri import ENV_URI, default_uri

_lock = threading.Lock()
_client: Client | None = None                  # set_uri's choice
_fallback: tuple[str, Client] | None = None    # a client for $MODELOPS_URI or ./.modelops
_experiment: str | None = None
_local = threading.local()


def _stack() -> list[ActiveRun]:
    stack = getattr(_local, "stack", None)
    if stack is None:
        stack = _local.stack = []
    return stack


def set_uri(uri: str | os.PathLike[str] | None) -> Client:
    """Point the module-level API at another store (None: back to the rule of this module's
    doc: ``$MODELOPS_URI``, else the most recent ``connect()``, else ``./.modelops``)."""
    global _client
    with _lock:
        _client = None if uri is None else open_client(uri)
    return get_client()


def get_client() -> Client:
    """The client the module-level API uses: ``set_uri``'s, else one for ``$MODELOPS_URI``,
    else the most recent ``modelops.connect()``'s, else one for ``./.modelops``."""
    global _fallback
    with _lock:
        if _client is not None:
            return _client
        wanted = os.environ.get(ENV_URI)
        if not wanted:
            latest = latest_client()
            if latest is not None:
                return latest
            wanted = default_uri()
        if _fallback is None or _fallback[0] != wanted:
            _fallback = (wanted, open_client(wanted))
        return _fallback[1]


def get_uri() -> str:
    """The URI of the store the module-level API uses now (``mlflow.get_tracking_uri``)."""
    return get_client().uri


def set_experiment(name: str) -> None:
    """Make ``name`` the experiment of later ``start_run`` calls (created on first use)."""
    global _experiment
    get_client().tracking.get_or_create_experiment(name)
    _experiment = name


def start_run(name: str | None = None, *, experiment: str | None = None,
              tags: Mapping[str, Any] | None = None, nested: bool = False,
              run_id: str | None = None,
              log_system_metrics: bool | None = None) -> ActiveRun:
    """Start (or resume, with ``run_id``) the active run of this thread.

    While a run is active, another ``start_run`` needs ``nested=True`` and makes a child run.
    ``log_system_metrics=True`` samples the machine's CPU, memory, disk, network and GPU use
    into the run while it is active (``modelops.tracking.system_metrics``).
    """
    stack = _stack()
    if stack and not nested:
        raise Conflict(f"run {stack[-1].run_id} is already active in this thread; end it "
                       "first or pass nested=True")
    run = get_client().tracking.start_run(
        experiment=experiment or _experiment, name=name, tags=tags,
        parent=stack[-1] if stack and nested else None, run_id=run_id,
        log_system_metrics=log_system_metrics,
    )
    stack.append(run)
    run._on_end.append(_pop)
    return run


def _pop(run: ActiveRun) -> None:
    stack = _stack()
    if run in stack:
        stack.remove(run)


def active_run() -> ActiveRun | None:
    """This thread's innermost active run, or None."""
    stack = _stack()
    return stack[-1] if stack else None


def _require() -> ActiveRun:
    run = active_run()
    return run if run is not None else start_run()


def end_run(status: RunStatus | str = RunStatus.FINISHED) -> None:
    """End this thread's innermost active run (nothing happens if there is none)."""
    run = active_run()
    if run is not None:
        run.end(status)


def log_param(key: str, value: Any) -> None:
    """Log a param to the active run (one is started if none is active, as in MLflow)."""
    _require().log_param(key, value)


def log_params(params: Mapping[str, Any]) -> None:
    """Log params to the active run, all or none."""
    _require().log_params(params)


def log_metric(key: str, value: float, step: int | None = None,
               timestamp: int | None = None) -> None:
    """Log one metric point to the active run."""
    _require().log_metric(key, value, step, timestamp)


def log_metrics(metrics: Mapping[str, float], step: int | None = None,
                timestamp: int | None = None) -> None:
    """Log several metrics at one step to the active run."""
    _require().log_metrics(metrics, step, timestamp)


def set_tag(key: str, value: Any) -> None:
    """Set a tag on the active run."""
    _require().set_tag(key, value)


def set_tags(tags: Mapping[str, Any]) -> None:
    """Set tags on the active run."""
    _require().set_tags(tags)


def log_artifact(local_path: str | os.PathLike[str], artifact_path: str | None = None) -> None:
    """Copy a local file into the active run, under the directory ``artifact_path``."""
    _require().log_artifact(local_path, artifact_path)


def log_artifacts(local_dir: str | os.PathLike[str], artifact_path: str | None = None) -> None:
    """Copy a local directory tree into the active run."""
    _require().log_artifacts(local_dir, artifact_path)


def log_dict(dictionary: Mapping[str, Any], artifact_file: str) -> None:
    """Write a mapping as a JSON (or YAML) artifact of the active run."""
    _require().log_dict(dictionary, artifact_file)


def log_text(text: str, artifact_file: str) -> None:
    """Write text as an artifact of the active run."""
    _require().log_text(text, artifact_file)


def log_figure(figure: Any, artifact_file: str) -> None:
    """Save a matplotlib figure as an image artifact of the active run."""
    _require().log_figure(figure, artifact_file)


def log_input(frame: Any, name: str = "dataset", source: str | None = None,
              context: str = "training", **kwargs: Any) -> Any:
    """``log_input`` on the active run (see ``ActiveRun.log_input``)."""
    return _require().log_input(frame, name, source, context, **kwargs)


def load_model(uri: str, trusted: bool = True, *, enforce_signature: bool = False) -> Any:
    """Load a model by URI (``models:/fraud@production``, ``models:/fraud/1.2.0``) from the
    default client's registry (see this module's doc for which store that is: the most
    recent ``connect()`` unless ``set_uri`` or ``$MODELOPS_URI`` says otherwise). Loading a
    pickle runs code: see ``Registry.load``. ``enforce_signature``: see
    ``Client.load_model``."""
    return get_client().load_model(uri, trusted=trusted, enforce_signature=enforce_signature)


def get_run(run_id: str) -> Run:
    """A run by id, from the default client's store."""
    return get_client().tracking.get_run(run_id)


def search_runs(experiments: Any = None, filter: str | None = None,
                order_by: list[str] | None = None, max_results: int = 1000,
                page_token: str | None = None, *, output: str = "runs") -> Any:
    """Search runs (of the current experiment when ``experiments`` is None and one is set):
    a RunList, or with ``output="pandas"`` a pandas DataFrame, as ``mlflow.search_runs``."""
    if experiments is None and _experiment is not None:
        experiments = _experiment
    return get_client().tracking.search_runs(experiments, filter, order_by, max_results,
                                             page_token, output=output)


def _reset_for_tests() -> None:
    """Forget the default client, the experiment and this thread's runs."""
    global _client, _experiment, _fallback
    from modelops import client

    with _lock:
        _client = _fallback = None
        _experiment = None
        client._latest.clear()
    _local.stack = []
