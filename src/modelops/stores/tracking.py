"""The TrackingStore interface: what a backend implements for experiment tracking."""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from modelops.entities import (
    Experiment,
    FileInfo,
    MetricSeries,
    Page,
    Run,
    RunStatus,
    ViewType,
)

if TYPE_CHECKING:
    from modelops.entities.datasets import Dataset
    from modelops.query import Filter, OrderBy


class TrackingStore(abc.ABC):
    """Persists experiments and runs; finds them again.

    A store is narrow: it stores and finds value objects. Buffering, the run context manager,
    comparison and clean-up live in ``modelops.tracking`` and work on every store.

    Contract every implementation keeps (``modelops.testing.TrackingStoreSuite`` checks it):

    - Input is validated before anything is written; a refused call leaves no trace.
    - ``create_experiment`` claims the name exclusively: of two racing creators, across
      processes or machines, one gets ``AlreadyExists``.
    - Params are immutable: ``log_batch`` with a known param key and another value raises
      ``ParamConflict`` and writes nothing of that batch.
    - Metric values round-trip exactly, NaN and ±inf included.
    - Unknown ids raise ``NotFound``.
    """

    #: The URI this store was opened with.
    uri: str = ""

    # -- experiments ----------------------------------------------------------------------

    @abc.abstractmethod
    def create_experiment(self, name: str, tags: Mapping[str, str] | None = None,
                          artifact_location: str | None = None) -> Experiment:
        """Create an experiment; ``AlreadyExists`` if the name is taken (also if deleted)."""

    @abc.abstractmethod
    def get_experiment(self, experiment_id: str) -> Experiment:
        """The experiment with this id, deleted or not; ``NotFound`` otherwise."""

    @abc.abstractmethod
    def get_experiment_by_name(self, name: str) -> Experiment | None:
        """The experiment with this name, deleted or not, or ``None``."""

    @abc.abstractmethod
    def list_experiments(self, view: ViewType = ViewType.ACTIVE_ONLY) -> list[Experiment]:
        """Experiments in creation order."""

    @abc.abstractmethod
    def set_experiment_lifecycle(self, experiment_id: str, deleted: bool) -> None:
        """Soft-delete (``deleted=True``) or restore an experiment."""

    # -- runs -----------------------------------------------------------------------------

    @abc.abstractmethod
    def create_run(self, experiment_id: str, *, run_name: str, start_time: int,
                   tags: Mapping[str, str] | None = None, parent_run_id: str | None = None,
                   user: str = "") -> Run:
        """Create a RUNNING run in an existing, active experiment."""

    @abc.abstractmethod
    def get_run(self, run_id: str) -> Run:
        """The run with its latest metrics, params and tags, deleted or not."""

    @abc.abstractmethod
    def update_run(self, run_id: str, *, status: RunStatus | None = None,
                   end_time: int | None = None, run_name: str | None = None) -> Run:
        """Change a run's status, end time or name; returns the updated run."""

    @abc.abstractmethod
    def set_run_lifecycle(self, run_id: str, deleted: bool) -> None:
        """Soft-delete (``deleted=True``) or restore a run."""

    @abc.abstractmethod
    def purge_run(self, run_id: str) -> None:
        """Remove a run and everything it logged, for good."""

    @abc.abstractmethod
    def log_batch(self, run_id: str, metrics: Sequence[MetricSeries] = (),
                  params: Mapping[str, str] | None = None,
                  tags: Mapping[str, str] | None = None) -> None:
        """Record metrics (one series per key), params and tags at once, all or nothing."""

    @abc.abstractmethod
    def get_metric_history(self, run_id: str, key: str) -> MetricSeries:
        """Every point of one metric, in logging order (empty if never logged)."""

    @abc.abstractmethod
    def search_runs(self, experiment_ids: Sequence[str], filter: Filter | None = None,
                    order_by: Sequence[OrderBy] = (), max_results: int = 1000,
                    page_token: str | None = None,
                    view: ViewType = ViewType.ACTIVE_ONLY) -> Page:
        """A page of runs of these experiments that match ``filter``, in ``order_by`` order.

        ``modelops.query.search`` evaluates, sorts and pages a list of runs; a store with its
        own query engine may translate the filter instead.
        """

    # -- artifacts ------------------------------------------------------------------------

    @abc.abstractmethod
    def log_artifact(self, run_id: str, local_path: str, artifact_path: str) -> None:
        """Copy a local file to ``artifact_path`` (a relative path) under the run."""

    @abc.abstractmethod
    def write_artifact(self, run_id: str, data: bytes, artifact_path: str) -> None:
        """Write bytes as the artifact ``artifact_path``; whole or absent."""

    @abc.abstractmethod
    def list_artifacts(self, run_id: str, path: str | None = None) -> list[FileInfo]:
        """The direct children of ``path`` (the artifact root when None), sorted by path."""

    @abc.abstractmethod
    def download_artifact(self, run_id: str, path: str, dst_dir: str) -> str:
        """Copy an artifact file or directory into ``dst_dir``; returns the local path."""

    # -- datasets (optional) --------------------------------------------------------------

    def mirror_dataset(self, run_id: str, dataset: Dataset) -> None:  # noqa: B027
        """Optional: record a dataset ``run.log_input`` logged in the backend's own form too
        (MLflow's run inputs, say), so its own tools show it. modelops reads datasets from
        the artifacts it writes beside (``modelops.tracking.datasets``), on every store; the
        default records nothing more."""

    # -- lifecycle of the store object ----------------------------------------------------

    def close(self) -> None:  # noqa: B027 - optional hook, nothing to release by default
        """Release connections or caches; the store is not used afterwards."""
