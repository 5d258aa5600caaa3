"""The RegistryStore interface: what a backend implements for the model registry."""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from typing import Any

from modelops.entities.registry import ModelVersion, RegisteredModel, RegistryEvent
from modelops.errors import NotFound


class RegistryStore(abc.ABC):
    """Persists registered models, their versions with artifacts, and their events.

    The store is narrow: semantic versions, stages, aliases, promotion rules, flavors and
    digest checks live in ``modelops.registry``; state is folded there from the events.

    Contract (``modelops.testing.RegistryStoreSuite`` checks it):

    - ``create_version`` claims ``(name, version)`` exclusively, across processes and
      machines: of two racing creators exactly one succeeds, the other gets ``AlreadyExists``.
      A version becomes visible only once all its files are stored; a failed or interrupted
      create leaves nothing visible.
    - ``append_event`` claims ``(model, seq)`` exclusively: a second event with the same
      sequence number raises ``Conflict`` and writes nothing, so the trail has no fork.
    - Unknown models and versions raise ``NotFound``.
    """

    uri: str = ""

    @abc.abstractmethod
    def create_model(self, model: RegisteredModel) -> RegisteredModel:
        """Record a new model name; ``AlreadyExists`` if it is taken."""

    @abc.abstractmethod
    def get_model(self, name: str) -> RegisteredModel:
        """The model's creation record; ``NotFound`` if there is none."""

    @abc.abstractmethod
    def list_models(self) -> list[RegisteredModel]:
        """Every model's creation record, sorted by name."""

    @abc.abstractmethod
    def create_version(self, version: ModelVersion, files: Mapping[str, str]) -> ModelVersion:
        """Store a version's files (relative path -> local path) and claim the version.

        ``version.version`` is the semantic version without build metadata. Returns the record
        as stored (with ``artifact_location`` filled in).
        """

    @abc.abstractmethod
    def get_version(self, name: str, version: str) -> ModelVersion:
        """A version's record as registered; ``NotFound`` if absent."""

    @abc.abstractmethod
    def list_versions(self, name: str) -> list[ModelVersion]:
        """Every version's record (any order; the registry sorts by precedence)."""

    def version_numbers(self, name: str) -> list[str]:
        """Every version number of a model (any order), for choosing the next one.

        Override when the numbers can be listed without reading every record.
        """
        return [v.version for v in self.list_versions(name)]

    def version_numbers_since(self, name: str, mark: Any = None
                              ) -> tuple[list[str], Any, bool] | None:
        """The version numbers registered since ``mark``, the mark to pass next time, and
        whether the numbers are every version of the model (when ``mark`` is None, or no
        longer valid because the store was replaced underneath). None where the store cannot
        tell what is new: the registry then reads every ``version_numbers``.

        Override when the store keeps its versions in the order they were created, so that
        choosing the next version costs the same at the 100,000th as at the first.
        """
        return None

    @abc.abstractmethod
    def download_version(self, name: str, version: str, dst_dir: str) -> str:
        """Copy a version's files into ``dst_dir`` (created if needed); returns ``dst_dir``.

        Copies what is stored, byte for byte; the registry verifies the digests.
        """

    def read_version_file(self, name: str, version: str, path: str) -> bytes:
        """One file of a version, as stored (``FileNotFoundError`` if it is missing).

        Override when a file can be read without copying the whole version.
        """
        import os
        import tempfile

        with tempfile.TemporaryDirectory(prefix="modelops-read-") as tmp:
            self.download_version(name, version, tmp)
            with open(os.path.join(tmp, *path.split("/")), "rb") as f:
                return f.read()

    @abc.abstractmethod
    def append_event(self, event: RegistryEvent) -> RegistryEvent:
        """Append an event with ``event.seq``; ``Conflict`` if that number is taken."""

    @abc.abstractmethod
    def list_events(self, name: str, after_seq: int = 0) -> list[RegistryEvent]:
        """The model's events with ``seq > after_seq``, in sequence order; ``NotFound`` if
        the model does not exist (the registry relies on it to check a model exists)."""

    def read_version(self, name: str, version: str, after_seq: int = 0
                     ) -> tuple[list[RegistryEvent], ModelVersion | None]:
        """The model's events after ``after_seq`` and the record of ``version`` (None if the
        model has no such version), read together.

        The registry calls it when it can guess which version a look-up wants from the
        state it already holds, and reads that version again if the new events change the
        answer. Override when one round trip can answer both, as a store behind a server
        can; this default is ``list_events`` then ``get_version``.
        """
        events = self.list_events(name, after_seq)
        try:
            return events, self.get_version(name, version)
        except NotFound:
            return events, None

    def read_checkpoint(self, name: str) -> tuple[int, Any] | None:
        """The latest checkpoint of the model's folded state: ``(seq, data)`` with the data
        ``write_checkpoint`` was given (unchecked: the registry validates it), or None if
        there is none or it cannot be read (a warning says which). The default keeps none."""
        return None

    def write_checkpoint(self, name: str, seq: int, data: Any,  # noqa: B027
                         versions: Sequence[str] = ()) -> None:
        """Keep ``data``, the model's state folded from events ``1..seq``, so that a fresh
        reader starts from it rather than from the first event. ``versions`` are those a
        look-up from this state answers with: a store may note where their records are, so
        that a fresh reader reads them without a scan. Created exclusively: a checkpoint is
        never replaced (two writers of one seq fold the same events, so the loser's is the
        same). Optional: the default keeps none."""

    def close(self) -> None:  # noqa: B027 - optional hook, nothing to release by default
        """Release connections or caches."""
