"""The model registry (``ops.registry``): versions, stages, promotion rules, rollback, history."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import operator
import os
import shutil
import tempfile
import threading
import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from modelops._files import check_local_path, sha256_file
from modelops._ids import now_ms
from modelops.entities import Run
from modelops.entities.registry import (
    MAX_EXAMPLE_ROWS,
    ArtifactFile,
    Change,
    Decision,
    Lineage,
    ModelVersion,
    RegisteredModel,
    RegistryEvent,
    SemVer,
    Stage,
    check_alias,
    check_metrics,
    check_requirements,
)
from modelops.entities.validators import (
    MAX_PARAM_VALUE_LENGTH,
    MAX_TAG_VALUE_LENGTH,
    check_bool,
    check_key,
    check_name,
    check_sequence,
    check_str_mapping,
)
from modelops.errors import (
    AlreadyExists,
    Conflict,
    IntegrityError,
    InvalidInput,
    MissingDependency,
    ModelOpsError,
    NotFound,
    PromotionRefused,
    StoreError,
    StoreWarning,
)
from modelops.registry.compare import VersionComparison
from modelops.registry.display import History, VersionList
from modelops.registry.flavors import Flavor, available_flavors, choose_flavor
from modelops.registry.policies import MetricImprovement, Rule, apply_rule
from modelops.registry.state import ModelState
from modelops.registry.uri import parse_model_uri
from modelops.stores import RegistryStore

if TYPE_CHECKING:
    from modelops.tracking import ActiveRun

#: The version an unversioned first register gets.
FIRST_VERSION = SemVer(1, 0, 0)
_BUMPS = frozenset({"major", "minor", "patch"})
_MAX_CLAIM_ATTEMPTS = 1000
#: Every this many events, the writer of the event stores the folded state as a checkpoint,
#: so a fresh process reads at most this many events, not the whole trail.
CHECKPOINT_EVERY = 50
#: One-file models up to this size load from memory (verified bytes, no temporary copy).
_IN_MEMORY_BYTES = 256 << 20


def _check_reason(reason: Any) -> None:
    """A change's ``reason``: None or a string (it is stored as the event's text)."""
    if reason is not None and not isinstance(reason, str):
        raise InvalidInput(f"expected a string, got {reason!r}", field="reason")


def _user() -> str:
    from modelops.tracking.service import _user as user

    return user()


@functools.lru_cache(maxsize=100_000)
def _semver(text: str) -> SemVer:
    return SemVer.parse(text)


#: A version's precedence as a plain tuple: ``max`` over many compares them in C.
_precedence = operator.attrgetter("_key")


@attrs.frozen
class SavedModel:
    """A model written to a local directory by its flavor, with digests, before registering."""

    directory: str
    flavor: str
    framework: str
    meta: dict[str, Any]
    files: tuple[ArtifactFile, ...]


def _digest_files(directory: str) -> tuple[ArtifactFile, ...]:
    files = []
    for dirpath, _, names in os.walk(directory):
        for name in names:
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, directory).replace(os.sep, "/")
            files.append(ArtifactFile(rel, *sha256_file(path)))
    return tuple(sorted(files, key=lambda f: f.path))


def _verify(record: ModelVersion, found: Mapping[str, ArtifactFile]) -> None:
    """``IntegrityError`` unless the files found are exactly the version's, byte for byte."""
    name = record.name
    for f in record.files:
        got = found.get(f.path)
        if got is None:
            raise IntegrityError(f"{name} {record.version}: file {f.path!r} is missing "
                                 "from the store")
        if got.sha256 != f.sha256 or got.size != f.size:
            raise IntegrityError(
                f"{name} {record.version}: file {f.path!r} does not match its recorded "
                f"sha256 {f.sha256[:16]}… (found {got.sha256[:16]}…); refusing to load "
                "a tampered or corrupted artifact")
    extra = sorted(set(found) - {f.path for f in record.files})
    if extra:
        raise IntegrityError(f"{name} {record.version}: unexpected file(s) {extra} in "
                             "the stored artifact")


@contextlib.contextmanager
def _loading(record: ModelVersion) -> Any:
    """Errors of a flavor rebuilding a verified model become modelops errors naming the
    version: the files are what was registered, so the record's flavor or metadata does
    not fit them (a package the pickle needs is missing, a mislabelled flavor …)."""
    try:
        yield
    except ModelOpsError:
        raise
    except ImportError as exc:
        raise MissingDependency(f"loading {record.name} {record.version}",
                                exc.name or str(exc)) from exc
    except Exception as exc:
        raise StoreError(f"{record.name} {record.version}: its {record.flavor!r} flavor could "
                         f"not load the stored files ({type(exc).__name__}: {exc}); is the "
                         "version's flavor the one it was saved with?") from exc


def _sources(saved: SavedModel) -> dict[str, str]:
    """Each file of a saved model mapped to its local path."""
    return {f.path: os.path.join(saved.directory, *f.path.split("/")) for f in saved.files}


def _target(stage: Stage | str | None, alias: str | None) -> str:
    """What a promotion or rollback is about: a stage's value, or an alias."""
    if alias is not None:
        if stage is not None:
            raise InvalidInput("give a stage or an alias, not both", field="alias")
        return check_alias(alias)
    if stage is None:
        return Stage.PRODUCTION.value
    if isinstance(stage, str) and not Stage.is_stage(stage.lower()):
        choices = ", ".join(s.value for s in Stage)
        raise InvalidInput(f"expected one of {choices}, got {stage!r} (aliases go in alias=)",
                           field="stage")
    return Stage.parse(stage).value


def signature_fields(signature: Any, example: Any,
                     frame: Any = None) -> dict[str, Any]:
    """A version's ``signature`` and ``input_example`` fields: the signature given (a Schema
    or its plain form), else inferred from ``frame`` (the training frame) or the example."""
    if signature is None and example is None and frame is None:
        return {"signature": None, "input_example": ()}
    from modelops.validation import Schema, infer_signature, input_example

    if isinstance(example, Mapping) and example and not all(
            hasattr(v, "__len__") and not isinstance(v, (str, bytes)) for v in example.values()):
        example = [example]                      # one record
    if isinstance(example, (list, tuple)) and all(isinstance(r, Mapping) for r in example):
        records = [dict(r) for r in example]     # records: as a request carries them
        example = {k: [r.get(k) for r in records] for k in records[0]} if records else None
    rows = input_example(example, MAX_EXAMPLE_ROWS) if example is not None else \
        input_example(frame, 1) if frame is not None else ()
    if signature is None:
        signature = infer_signature(frame if frame is not None else example)
    elif not isinstance(signature, Schema):
        signature = Schema.from_dict(signature)
    return {"signature": signature.to_dict(), "input_example": rows}


def _lineage(value: Lineage | Mapping[str, Any] | None) -> Lineage:
    if value is None:
        return Lineage()
    if isinstance(value, Lineage):
        return value
    if isinstance(value, Mapping):
        unknown = set(value) - {"parent_version", "training_data", "notes", "datasets"}
        if unknown:
            raise InvalidInput(f"unknown key {sorted(unknown)[0]!r}; expected parent_version, "
                               "training_data, notes, datasets", field="lineage")
        return Lineage(**value)
    raise InvalidInput(f"expected a mapping or Lineage, got {type(value).__name__}",
                       field="lineage")


#: How far up a nested run's parents registering looks for the datasets it was trained on.
_MAX_ANCESTORS = 8


class Registry:
    """The model registry on one RegistryStore: ``ops.registry``."""

    def __init__(self, store: RegistryStore, client: Any = None) -> None:
        self.store = store
        self._client = client
        self._states: dict[str, ModelState] = {}
        self._known_models: set[str] = set()
        self._highest: dict[str, tuple[Any, SemVer | None]] = {}  # for _next_version
        self._lock = threading.Lock()

    # -- state ------------------------------------------------------------------------------

    def _state(self, name: str) -> ModelState:
        """The model's state, brought up to date with any new events."""
        with self._lock:
            state = self._states.get(name)
        if state is None:
            state = self._checkpoint(name)
        events = self.store.list_events(name, after_seq=0 if state is None else state.seq)
        return self._fold(name, events)

    def _checkpoint(self, name: str) -> ModelState | None:
        """The state of the model's latest valid checkpoint, held from now on; None if it
        has none (a damaged one is ignored with a warning: the events are read instead)."""
        found = self.store.read_checkpoint(name)
        if found is None:
            return None
        seq, data = found
        try:
            state = ModelState.from_data(data)
            if state.seq != seq:
                raise ValueError(f"it holds the state after event {state.seq}, not {seq}")
        except (TypeError, ValueError) as exc:
            warnings.warn(f"modelops: ignored the checkpoint of model {name!r} after event "
                          f"{seq} ({exc}); its events are read instead", StoreWarning,
                          stacklevel=4)
            return None
        with self._lock:
            return self._states.setdefault(name, state)

    def _fold(self, name: str, events: Sequence[RegistryEvent]) -> ModelState:
        """The model's state with ``events`` applied (those it has not seen yet)."""
        with self._lock:
            state = self._states.get(name)
            if state is None:
                state = self._states[name] = ModelState()
            for event in events:
                if event.seq > state.seq:
                    state.apply(event)
            return state

    def _append(self, name: str, build: Any, state: ModelState | None = None) -> RegistryEvent:
        """Append the event ``build(state)`` makes, retrying on a lost race for the seq.

        ``build`` sees a fresh state each time (``state`` if the caller has just read it,
        else a new read). The event claims the sequence number after that state's last, so
        a decision (who is archived, who is rolled back to) made on a state someone has
        moved past fails its claim and is made again on the newer state.
        """
        for _ in range(_MAX_CLAIM_ATTEMPTS):
            state = state if state is not None else self._state(name)
            event = build(state)
            if event is None:
                raise Conflict("nothing to change")
            event = attrs.evolve(event, seq=state.seq + 1)
            try:
                self.store.append_event(event)
            except Conflict:
                state = None
                continue
            with self._lock:
                if state.seq == event.seq - 1:
                    state.apply(event)
                checkpoint = (state.to_data(), state.looked_up()) if state.seq == event.seq \
                    and event.seq % CHECKPOINT_EVERY == 0 else None
            if checkpoint is not None:
                # The event is stored: a checkpoint that cannot be written only leaves the
                # next fresh reader more events to read.
                with contextlib.suppress(StoreError, OSError):
                    self.store.write_checkpoint(name, event.seq, *checkpoint)
            if event.changes:
                from modelops.plugins import emit

                emit("modelops_stage_changed", event=event, store_uri=self.store.uri)
            return event
        raise Conflict(f"could not append to the history of {name!r}: too much contention")

    def _event(self, name: str, action: str, *, changes: Sequence[Change] = (),
               reason: str | None = None, decision: Decision | None = None,
               payload: Mapping[str, Any] | None = None) -> RegistryEvent:
        return RegistryEvent(model=name, seq=0, action=action, changes=tuple(changes),
                             actor=_user(), timestamp=now_ms(), reason=reason,
                             decision=decision, payload=dict(payload or {}))

    def _with_state(self, record: ModelVersion, state: ModelState) -> ModelVersion:
        v = record.version
        stage, aliases = state.stage_of(v), state.aliases_of(v)
        tags = state.version_tags.get(v)
        description = state.version_descriptions.get(v, record.description)
        if (stage is record.stage and aliases == record.aliases and not tags
                and description == record.description):
            return record  # nothing to fold in (a new version, typically)
        return attrs.evolve(record, stage=stage, aliases=aliases,
                            tags={**record.tags, **(tags or {})}, description=description)

    # -- models -----------------------------------------------------------------------------

    def _check_model_name(self, name: str) -> str:
        RegisteredModel(name=name)  # validates: a path-safe name without '@'
        return name

    def get_model(self, name: str) -> RegisteredModel:
        """A model with its current tags and description; ``NotFound`` if absent or deleted."""
        record, state = self._model(name)
        return attrs.evolve(record, tags={**record.tags, **state.tags},
                            description=state.description or record.description)

    def _model(self, name: str) -> tuple[RegisteredModel, ModelState]:
        """The stored record and current state of a model that exists and is not deleted."""
        state = self._live_state(name)
        return self.store.get_model(name), state

    def _live_state(self, name: str) -> ModelState:
        """The current state of a model that exists and is not deleted: one read of its new
        events per call (a remote store pays per read), which is ``NotFound`` for a model
        the store does not hold."""
        self._check_model_name(name)
        state = self._state(name)
        if state.deleted:
            raise NotFound(f"model {name!r} is deleted (restore_model brings it back)")
        return state

    def list_models(self, include_deleted: bool = False) -> list[RegisteredModel]:
        """Every model, sorted by name."""
        check_bool(include_deleted, "include_deleted")
        out = []
        for record in sorted(self.store.list_models(), key=lambda m: m.name):
            state = self._state(record.name)
            if state.deleted and not include_deleted:
                continue
            out.append(attrs.evolve(record, tags={**record.tags, **state.tags},
                                    description=state.description or record.description,
                                    deleted=state.deleted))
        return out

    def describe(self, name: str, description: str, version: str | None = None) -> None:
        """Set the description of a model, or of one of its versions."""
        if not isinstance(description, str):
            raise InvalidInput("expected a string", field="description")
        v = self.get_version(name, version).version if version is not None else None
        self._model(name)
        self._append(name, lambda s: self._event(
            name, "describe", payload={"version": v, "description": description}))

    def tag(self, name: str, tags: Mapping[str, Any], version: str | None = None,
            unset: Sequence[str] = ()) -> None:
        """Set (and ``unset``) tags on a model, or on one of its versions."""
        checked = check_str_mapping(tags, "tags", MAX_TAG_VALUE_LENGTH)
        unset = [check_key(k, "unset") for k in check_sequence(unset, "unset")]
        v = self.get_version(name, version).version if version is not None else None
        self._model(name)
        self._append(name, lambda s: self._event(
            name, "tag", payload={"version": v, "set": checked, "unset": list(unset)}))

    def delete_model(self, name: str, force: bool = False) -> None:
        """Soft-delete a model: hidden and not loadable until ``restore_model``. Refused while
        a version is in production or holds an alias, unless ``force``."""
        check_bool(force, "force")
        _, state = self._model(name)
        busy = [v for v, s in state.stages.items() if s == Stage.PRODUCTION.value]
        busy += list(state.aliases.values())
        if busy and not force:
            raise Conflict(f"model {name!r} still serves version(s) {sorted(set(busy))}; "
                           "archive them first or pass force=True")
        self._append(name, lambda s: self._event(name, "delete_model"))

    def restore_model(self, name: str) -> None:
        self._check_model_name(name)
        self.store.get_model(name)
        if not self._state(name).deleted:
            return
        self._append(name, lambda s: self._event(name, "restore_model"))

    # -- registering ------------------------------------------------------------------------

    def save(self, model: Any, directory: str, flavor: str | None = None,
             framework: str | None = None) -> SavedModel:
        """Write a model with its flavor into an empty local directory and digest the files."""
        chosen, detected = choose_flavor(model, flavor)
        try:
            meta = chosen.save(model, directory)
        except ModelOpsError:
            raise
        except OSError as exc:
            raise StoreError(f"saving the model into {directory} failed: {exc}") from exc
        except Exception as exc:  # a pickler or a serializer refusing this object
            raise InvalidInput(f"the {chosen.name} flavor cannot save this "
                               f"{type(model).__name__}: {type(exc).__name__}: {exc}",
                               field="model") from exc
        return SavedModel(directory, chosen.name, framework or detected, meta,
                          _digest_files(directory))

    @staticmethod
    def _signature_fields(signature: Any, input_example: Any) -> dict[str, Any]:
        """The plain ``signature`` and ``input_example`` a version would record for these
        arguments; ``run.log_model(register=False)`` keeps them for ``register_from_run``."""
        return signature_fields(signature, input_example)

    def register(self, name: str, model: Any, version: str | None = None, *,
                 bump: str = "patch", run: Run | ActiveRun | str | None = None,
                 metrics: Mapping[str, float] | None = None,
                 params: Mapping[str, Any] | None = None, framework: str | None = None,
                 description: str | None = None, tags: Mapping[str, Any] | None = None,
                 lineage: Lineage | Mapping[str, Any] | None = None,
                 flavor: str | None = None, allow_nonfinite: bool = False,
                 signature: Any = None, input_example: Any = None,
                 requirements: Mapping[str, str] | None = None) -> ModelVersion:
        """Register a model object (or a file/directory path, or a ``SavedModel``) as a new
        version of ``name``.

        ``version`` is a semantic version; when omitted, the highest registered version is
        bumped (``bump="patch"|"minor"|"major"``; the first is 1.0.0). A version that exists
        raises ``AlreadyExists`` — also when another process registered it a moment ago; an
        auto-chosen version then moves on to the next one. ``metrics`` and ``params`` default
        to those of ``run``. Everything is validated before anything is written.

        ``signature`` is the input the model takes (a ``modelops.validation.Schema``, e.g.
        from ``modelops.infer_signature(X_train)``, or its ``to_dict()``); ``input_example``
        a frame of a few input rows, kept with the version (its first rows) and, when no
        signature is given, the frame the signature is inferred from.

        ``requirements`` (``{distribution: version}``) is what loading the version needs;
        by default the versions installed here of what its flavor and framework need, and
        Python's (``modelops.environment.requirements``).
        """
        if type(name) is not str or name not in self._known_models:  # those were checked
            self._check_model_name(name)
        wanted = SemVer.parse(version) if version is not None else None
        check_bool(allow_nonfinite, "allow_nonfinite")
        if not isinstance(bump, str) or bump not in _BUMPS:
            FIRST_VERSION.bump(bump)  # raises InvalidInput naming the choices
        run_id, run_metrics, run_params = self._run_facts(run)
        checked_metrics = check_metrics(run_metrics if metrics is None else metrics,
                                        allow_nonfinite=allow_nonfinite)
        checked_params = check_str_mapping(run_params if params is None else params, "params",
                                           MAX_PARAM_VALUE_LENGTH)
        checked_tags = check_str_mapping(tags, "tags", MAX_TAG_VALUE_LENGTH)
        if description is not None and not isinstance(description, str):
            raise InvalidInput("expected a string", field="description")
        fields = {"run_id": run_id, "metrics": checked_metrics, "params": checked_params,
                  "description": description or "", "tags": checked_tags,
                  "lineage": self._with_datasets(_lineage(lineage), run_id),
                  "requirements": None if requirements is None
                  else check_requirements(dict(requirements)),
                  **signature_fields(signature, input_example)}
        if isinstance(model, SavedModel):
            # Digest what is on disk now: the files may have changed since save().
            model = attrs.evolve(model, files=_digest_files(model.directory))
            return self._register_saved(name, model, _sources(model), wanted, bump, **fields)
        chosen, detected = choose_flavor(model, flavor)
        in_place = getattr(chosen, "in_place", None)
        if in_place is not None:
            meta, sources = in_place(model)
            files = tuple(ArtifactFile(rel, *sha256_file(local))
                          for rel, local in sorted(sources.items()))
            saved = SavedModel("", chosen.name, framework or detected, meta, files)
            return self._register_saved(name, saved, sources, wanted, bump, **fields)
        with tempfile.TemporaryDirectory(prefix="modelops-register-") as tmp:
            saved = self.save(model, tmp, flavor, framework)
            return self._register_saved(name, saved, _sources(saved), wanted, bump, **fields)

    def _run_facts(self, run: Any) -> tuple[str | None, dict[str, float], dict[str, str]]:
        if run is None:
            return None, {}, {}
        from modelops.tracking import ActiveRun

        if isinstance(run, ActiveRun):
            run = run.run  # flushes its buffer first
        elif isinstance(run, str):
            if self._client is None:
                return check_name(run, "run"), {}, {}
            run = self._client.tracking.get_run(run)
        if not isinstance(run, Run):
            raise InvalidInput(f"expected a run, a run id or an ActiveRun, got "
                               f"{type(run).__name__}", field="run")
        return run.run_id, dict(run.data.metrics), dict(run.data.params)

    @staticmethod
    def _requirements(saved: SavedModel, given: Mapping[str, str] | None) -> dict[str, str]:
        """What loading a saved model needs: ``given``, else what is installed here."""
        if given is not None:
            return check_requirements(dict(given))
        from modelops.environment import requirements

        flavor = available_flavors().get(saved.flavor)
        return requirements(saved.flavor, saved.framework,
                            tuple(getattr(flavor, "packages", ())))

    def _with_datasets(self, lineage: Lineage, run_id: str | None) -> Lineage:
        """The lineage with the datasets the run logged (``run.log_input``) — or, for a
        nested run that logged none, its nearest ancestor's (a sweep logs its data once, on
        the parent) — unless it names datasets itself."""
        if run_id is None or lineage.datasets or self._client is None:
            return lineage
        from modelops.tracking.datasets import read_inputs

        store = self._client.tracking.store
        for _ in range(_MAX_ANCESTORS):
            found = read_inputs(store, run_id)
            if found:
                return attrs.evolve(lineage, datasets=found)
            parent = store.get_run(run_id).info.parent_run_id
            if parent is None:
                break
            run_id = parent
        return lineage

    def register_from_run(self, run_id: str, path: str, name: str, version: str | None = None,
                          **register_kwargs: Any) -> ModelVersion:
        """Register the model ``run.log_model`` stored under ``path`` of run ``run_id`` as a
        version of ``name``, whose ``run_id`` (and, by default, metrics and params) are the
        run's. The stored files must be exactly those logged, byte for byte
        (``IntegrityError`` otherwise); ``register_kwargs`` go to ``register``."""
        from modelops.tracking.model_manifest import MANIFEST, check_files, read_manifest

        self._check_model_name(name)
        check_name(run_id, "run_id")
        if not isinstance(path, str) or not path.strip("/"):
            raise InvalidInput(f"expected the artifact path log_model was given, got {path!r}",
                               field="path")
        if self._client is None:
            raise Conflict("register_from_run needs a registry opened from a Client with "
                           "tracking")
        tracking = self._client.tracking
        tracking.get_run(run_id)  # NotFound names the run before anything is read
        where = f"run {run_id}'s model {path!r}"
        with tempfile.TemporaryDirectory(prefix="modelops-from-run-") as tmp:
            local = tracking.download_artifacts(run_id, path.strip("/"), tmp)
            if not os.path.isdir(local):
                raise InvalidInput(f"{where} is a file, not a folder log_model wrote",
                                   field="path")
            flavor, framework, meta, listed, described = read_manifest(local, where)
            os.remove(os.path.join(local, MANIFEST))
            found = _digest_files(local)
            check_files(listed, found, where)
            if flavor not in available_flavors():
                raise IntegrityError(f"{where}: unknown flavor {flavor!r} in {MANIFEST}")
            saved = SavedModel(local, flavor, framework, meta, found)
            if described:             # log_model's signature, example and requirements
                try:
                    kept = signature_fields(described.get("signature"),
                                            described.get("input_example"))
                    if "requirements" in described:
                        kept["requirements"] = check_requirements(described["requirements"])
                except InvalidInput as exc:
                    raise IntegrityError(f"{where}: {MANIFEST} holds a malformed signature, "
                                         f"input example or requirements ({exc})") from exc
                for key in described:
                    register_kwargs.setdefault(key, kept[key])
            return self.register(name, saved, version, run=run_id, **register_kwargs)

    def _register_saved(self, name: str, saved: SavedModel, sources: Mapping[str, str],
                        wanted: SemVer | None, bump: str, **fields: Any) -> ModelVersion:
        if name not in self._known_models:
            with contextlib.suppress(AlreadyExists):
                self.store.create_model(RegisteredModel(name=name, created_time=now_ms(),
                                                        creator=_user()))
            self._known_models.add(name)
        state = self._state(name)
        if state.deleted:
            raise Conflict(f"model {name!r} is deleted; restore_model it before registering "
                           "new versions")
        if wanted is not None and wanted.core in self.store.version_numbers(name):
            # Refused before any file is stored (the claim below still settles a race).
            raise AlreadyExists(f"model {name!r} already has version {wanted.core}")
        tags = dict(fields.pop("tags"))
        fields["requirements"] = self._requirements(saved, fields.get("requirements"))
        for attempt in range(_MAX_CLAIM_ATTEMPTS):
            semver = wanted if wanted is not None else self._next_version(name, bump, attempt)
            if semver.build:
                tags["modelops.build"] = semver.build
            record = ModelVersion(
                name=name, version=semver.core, framework=saved.framework, flavor=saved.flavor,
                flavor_meta=saved.meta, files=saved.files, size=sum(f.size for f in saved.files),
                created_time=now_ms(), creator=_user(), tags=tags, **fields)
            try:
                stored = self.store.create_version(record, sources)
                break
            except AlreadyExists:
                if wanted is not None:
                    raise
        else:
            raise Conflict(f"could not claim a version of {name!r}: too much contention")
        from modelops.plugins import emit

        result = self._with_state(stored, state)
        emit("modelops_version_registered", version=result, store_uri=self.store.uri)
        return result

    def _next_version(self, name: str, bump: str, attempt: int) -> SemVer:
        mark, highest = self._highest.get(name, (None, None))
        if not isinstance(mark, frozenset):
            since = self.store.version_numbers_since(name, mark)
            if since is not None:
                # Only the versions registered since the last call: flat in the model's size.
                numbers, mark, every = since
                if every:  # the first call, or a store restored underneath
                    highest = None
                new = [_semver(v) for v in numbers]
                if new:
                    highest = max(new if highest is None else [highest, *new], key=_precedence)
                self._highest[name] = (mark, highest)
                return self._bumped(highest, bump, attempt)
        numbers = frozenset(self.store.version_numbers(name))
        # The highest version is kept with the set it was found in, so each call compares
        # only the versions registered since (versions are never unregistered; a store put
        # back to an older copy under a running process is the one way to lose some).
        seen, highest = self._highest.get(name, (frozenset(), None))
        if len(numbers) < len(seen):  # versions went away: a store restored underneath
            seen, highest = frozenset(), None
        new = [_semver(v) for v in numbers.difference(seen)]
        if new:
            highest = max(new if highest is None else [highest, *new], key=_precedence)
            self._highest[name] = (numbers, highest)
        return self._bumped(highest, bump, attempt)

    @staticmethod
    def _bumped(highest: SemVer | None, bump: str, attempt: int) -> SemVer:
        if highest is None:
            return FIRST_VERSION if attempt == 0 else FIRST_VERSION.bump(bump)
        return highest.bump(bump)

    # -- reading ----------------------------------------------------------------------------

    def list_versions(self, name: str, stage: Stage | str | None = None) -> list[ModelVersion]:
        """Every version of a model in semver order, optionally only those in ``stage``."""
        state = self._live_state(name)
        versions = sorted((self._with_state(r, state) for r in self.store.list_versions(name)),
                          key=lambda v: v.semver)
        if stage is not None:
            wanted = Stage.parse(stage)
            versions = [v for v in versions if v.stage is wanted]
        return VersionList(versions)

    def get_version(self, name: str, version: str | None = None, *,
                    stage: Stage | str | None = None, alias: str | None = None) -> ModelVersion:
        """One version, by number, by the stage it is in (production: the one holder; other
        stages: the highest version there), or by alias. With nothing, the latest version."""
        given = sum(x is not None for x in (version, stage, alias))
        if given > 1:
            raise InvalidInput("give at most one of version, stage and alias", field="version")
        if given == 0:
            return self.latest(name)
        return self._version(name, version, stage, alias)[0]

    def _version(self, name: str, version: str | None, stage: Stage | str | None,
                 alias: str | None) -> tuple[ModelVersion, ModelState]:
        """``get_version`` by one of version, stage or alias, with the state it read.

        When the version wanted is known (by number, or from the state held since the last
        read), the new events and its record are read together: one round trip for a store
        behind a server. Should the new events point elsewhere, that version is read then.
        """
        self._check_model_name(name)
        if alias is not None and Stage.is_stage(alias):
            stage, alias = alias, None
        with self._lock:
            held = self._states.get(name)
        guess = None
        if version is not None:
            guess = SemVer.parse(version).core
        elif held is not None and not held.deleted:
            with contextlib.suppress(NotFound):
                guess = self._wanted(name, held, stage, alias)
        if guess is None:
            state = self._live_state(name)
            number = self._wanted(name, state, stage, alias)
            return self._with_state(self.store.get_version(name, number), state), state
        events, record = self.store.read_version(name, guess, 0 if held is None else held.seq)
        state = self._fold(name, events)
        if state.deleted:
            raise NotFound(f"model {name!r} is deleted (restore_model brings it back)")
        number = guess if version is not None else self._wanted(name, state, stage, alias)
        if record is None or number != guess:
            record = self.store.get_version(name, number)  # NotFound names what is missing
        return self._with_state(record, state), state

    @staticmethod
    def _wanted(name: str, state: ModelState, stage: Stage | str | None,
                alias: str | None) -> str:
        """The version that holds ``alias``, or the one ``stage`` points to, in ``state``."""
        if alias is not None:
            holder = state.aliases.get(check_alias(alias))
            if holder is None:
                raise NotFound(f"no version of {name!r} holds the alias {alias!r}")
            return holder
        wanted = Stage.parse(stage)
        candidates = [v for v, s in state.stages.items() if s == wanted.value]
        if not candidates:
            raise NotFound(f"no version of {name!r} is in {wanted.value}")
        return max(candidates, key=SemVer.parse)

    def latest(self, name: str) -> ModelVersion:
        """The highest version that is not archived or failed (else the highest of all)."""
        versions = self.list_versions(name)
        if not versions:
            raise NotFound(f"model {name!r} has no versions")
        live = [v for v in versions if v.stage not in (Stage.ARCHIVED, Stage.FAILED)]
        return (live or versions)[-1]

    def history(self, name: str) -> History:
        """Every event of the model's audit trail, oldest first (``NotFound`` for an unknown
        model, from the store's read)."""
        self._check_model_name(name)
        return History(self.store.list_events(name))

    def compare(self, name: str, v1: str, v2: str) -> VersionComparison:
        """Two versions side by side: metric deltas, params that differ, lineage."""
        return VersionComparison.of(self.get_version(name, v1), self.get_version(name, v2))

    # -- loading ----------------------------------------------------------------------------

    def resolve(self, uri: str) -> ModelVersion:
        """The version a ``models:/`` URI names."""
        ref = parse_model_uri(uri)
        if ref.latest:
            return self.latest(ref.name)
        return self.get_version(ref.name, ref.version, stage=ref.stage, alias=ref.alias)

    def download(self, name: str, version: str, dst_dir: str) -> ModelVersion:
        """Copy a version's files into ``dst_dir`` and verify every digest; returns the
        version. A file that is missing, extra, or whose bytes changed raises
        ``IntegrityError``. Files already in ``dst_dir`` are never touched: one in the way
        of a version's file (with other content) is refused with ``InvalidInput`` before
        anything is written, and a failed download removes only what it wrote."""
        record = self.get_version(name, version)
        self._download_into(record, dst_dir)
        return record

    def _download_into(self, record: ModelVersion, dst_dir: str) -> None:
        """Download into the caller's ``dst_dir``: staged and verified in a folder of
        modelops' own first, then placed beside whatever the caller keeps there."""
        from modelops._placing import place_into

        expected = {f.path: (f.sha256, f.size) for f in record.files}
        place_into(dst_dir, lambda staging: self._fetch(record, staging), expected)

    def _fetch(self, record: ModelVersion, directory: str) -> None:
        """Copy a version's files into ``directory``, a folder modelops made and owns, and
        verify them; everything in it is the store's."""
        self.store.download_version(record.name, record.version, directory)
        _verify(record, {f.path: f for f in _digest_files(directory)})

    def _load_in_memory(self, record: ModelVersion, flavor: Any, trusted: bool) -> Any:
        """A one-file model verified and deserialized from the very bytes read: no copy on
        disk, and nothing can change between the digest check and the load."""
        (f,) = record.files
        try:
            data = self.store.read_version_file(record.name, record.version, f.path)
        except FileNotFoundError:
            data = None
        found = {} if data is None else {
            f.path: ArtifactFile(f.path, hashlib.sha256(data).hexdigest(), len(data))}
        _verify(record, found)
        with _loading(record):
            return flavor.load_bytes(data, dict(record.flavor_meta), trusted)

    def load(self, name: str, version: str | None = None, *, stage: Stage | str | None = None,
             alias: str | None = None, trusted: bool = True, dst_dir: str | None = None) -> Any:
        """Load a version's model: verify every digest, then rebuild it with its flavor.

        ``name`` may be a ``models:/`` URI instead (``models:/fraud@production``), naming the
        version itself.

        Loading a ``joblib`` (pickle) version runs code from the file: only load what you
        trust. ``trusted=False`` refuses pickles and loads ``skops`` versions with skops'
        safe types only. ``path`` versions return the local path of the verified copy
        (kept in ``dst_dir``, or a new temporary directory).
        """
        if isinstance(name, str) and name.startswith("models:/"):
            if (version, stage, alias) != (None, None, None):
                raise InvalidInput("a models:/ URI names the version itself; give no "
                                   "version, stage or alias with it", field="version")
            return self.load_uri(name, trusted=trusted, dst_dir=dst_dir)
        record = self.get_version(name, version, stage=stage, alias=alias)
        return self._load(record, trusted, dst_dir)

    def load_uri(self, uri: str, trusted: bool = True, dst_dir: str | None = None) -> Any:
        """Load the model a ``models:/`` URI names (see ``load``)."""
        return self._load(self.resolve(uri), trusted, dst_dir)

    def _load(self, record: ModelVersion, trusted: bool, dst_dir: str | None) -> Any:
        check_bool(trusted, "trusted")
        if dst_dir is not None:
            dst_dir = check_local_path(dst_dir, "dst_dir")
        # ``record`` was just resolved through _model, which refuses a deleted model.
        flavor: Flavor | None = available_flavors().get(record.flavor)
        if flavor is None:
            raise InvalidInput(f"{record.name} {record.version} needs the {record.flavor!r} "
                               "flavor, which no installed plugin offers", field="flavor")
        if (dst_dir is None and len(record.files) == 1 and record.size <= _IN_MEMORY_BYTES
                and hasattr(flavor, "load_bytes")):
            return self._load_in_memory(record, flavor, trusted)
        if dst_dir is not None:
            self._download_into(record, dst_dir)
            with _loading(record):
                return flavor.load(os.path.abspath(os.fspath(dst_dir)),
                                   dict(record.flavor_meta), trusted)
        target = tempfile.mkdtemp(prefix="modelops-model-")
        keep = False
        try:
            self._fetch(record, target)
            with _loading(record):
                model = flavor.load(target, dict(record.flavor_meta), trusted)
            keep = record.flavor == "path"  # the model is the verified copy itself
            return model
        finally:
            if not keep:
                shutil.rmtree(target, ignore_errors=True)

    # -- stages, aliases, promotion ---------------------------------------------------------

    def promote(self, name: str, version: str, stage: Stage | str | None = None, *,
                alias: str | None = None, archive_previous: bool = True,
                reason: str | None = None, policy: Rule | None = None) -> RegistryEvent:
        """Move a version to a ``stage`` (default ``production``), or give it an ``alias``
        (``champion``; any valid name). A misspelt stage is an error, never a new alias.

        ``production`` and every alias are held by one version at a time: the previous holder
        of production is archived (or put back in staging with ``archive_previous=False``);
        the previous holder of an alias loses it. With ``policy``, the rule decides against the
        current holder first; a refusal is recorded in the history and raises
        ``PromotionRefused``. Returns the event appended to the history.
        """
        target = _target(stage, alias)
        check_bool(archive_previous, "archive_previous")
        _check_reason(reason)
        candidate, state = self._version(name, version, None, None)
        v = candidate.version

        def build(state: ModelState) -> RegistryEvent:
            incumbent_version = state.holder(target)
            decision = None
            if policy is not None:
                incumbent = None
                if incumbent_version is not None and incumbent_version != v:
                    incumbent = self._with_state(self.store.get_version(name, incumbent_version),
                                                 state)
                decision = apply_rule(policy, self._with_state(candidate, state), incumbent)
                if not decision.promote:
                    return self._event(name, "refused", reason=reason, decision=decision,
                                       payload={"version": v, "wanted": target})
            changes = self._changes(state, v, target, archive_previous)
            action = "promote" if Stage.is_stage(target) else "set_alias"
            if target == Stage.ARCHIVED.value:
                action = "archive"
            return self._event(name, action, changes=changes, reason=reason, decision=decision,
                               payload={"target": target, "version": v})

        event = self._append(name, build, state)
        if event.action == "refused":
            raise PromotionRefused(f"promotion of {name} {v} to {target} refused: "
                                   f"{event.decision.reason}", event.decision)
        return event

    @staticmethod
    def _changes(state: ModelState, v: str, target: str, archive_previous: bool) -> list[Change]:
        if Stage.is_stage(target):
            changes = [Change(v, "stage", state.stage_of(v).value, target)]
            if target == Stage.PRODUCTION.value:
                previous = state.holder(target)
                if previous is not None and previous != v:
                    demoted = Stage.ARCHIVED if archive_previous else Stage.STAGING
                    changes.append(Change(previous, "stage", target, demoted.value))
            return changes
        field = f"alias:{target}"
        changes = [Change(v, field, target if state.aliases.get(target) == v else None, target)]
        previous = state.aliases.get(target)
        if previous is not None and previous != v:
            changes.append(Change(previous, field, target, None))
        return changes

    def set_alias(self, name: str, alias: str, version: str) -> RegistryEvent:
        """Give ``alias`` to a version (taking it from whichever version held it)."""
        return self.promote(name, version, alias=alias)

    def remove_alias(self, name: str, alias: str) -> RegistryEvent:
        check_alias(alias)

        def build(state: ModelState) -> RegistryEvent:
            holder = state.aliases.get(alias)
            if holder is None:
                raise NotFound(f"no version of {name!r} holds the alias {alias!r}")
            return self._event(name, "remove_alias",
                               changes=[Change(holder, f"alias:{alias}", alias, None)],
                               payload={"target": alias, "version": holder})

        self._model(name)
        return self._append(name, build)

    def rollback(self, name: str, stage: Stage | str | None = None, *,
                 alias: str | None = None, reason: str | None = None) -> RegistryEvent:
        """Give ``stage`` (production, or an alias) back to the version that held it before.

        Repeated rollbacks keep going back (C → B → A). The version rolled back from is
        archived (for production) or loses the alias.
        """
        _check_reason(reason)
        target = _target(stage, alias)
        if Stage.is_stage(target) and target != Stage.PRODUCTION.value:
            raise InvalidInput(f"only production and aliases are held by one version; "
                               f"{target!r} cannot be rolled back", field="stage")
        self._model(name)

        def build(state: ModelState) -> RegistryEvent:
            stack = state.held.get(target, [])
            current = state.holder(target)
            if len(stack) < 2 or current is None:
                raise Conflict(f"{name!r} has no earlier holder of {target} to roll back to")
            previous = stack[-2]
            if Stage.is_stage(target):
                changes = [Change(current, "stage", target, Stage.ARCHIVED.value),
                           Change(previous, "stage", state.stage_of(previous).value, target)]
            else:
                field = f"alias:{target}"
                changes = [Change(current, field, target, None), Change(previous, field, None,
                                                                        target)]
            return self._event(name, "rollback", changes=changes,
                               reason=reason or f"rollback from {current} to {previous}",
                               payload={"target": target, "version": previous,
                                        "from": current})

        return self._append(name, build)

    def archive_old_versions(self, name: str, keep_latest: int = 5) -> list[str]:
        """Archive all but the ``keep_latest`` highest versions; versions in production or
        staging, or holding an alias, are never archived. Returns the archived versions."""
        if isinstance(keep_latest, bool) or not isinstance(keep_latest, int) or keep_latest < 0:
            raise InvalidInput(f"expected an integer >= 0, got {keep_latest!r}",
                               field="keep_latest")
        versions = self.list_versions(name)
        old = versions[:-keep_latest] if keep_latest else versions
        protected = {Stage.PRODUCTION, Stage.STAGING, Stage.ARCHIVED}

        def build(state: ModelState) -> RegistryEvent | None:
            chosen = [v.version for v in old if state.stage_of(v.version) not in protected
                      and not state.aliases_of(v.version)]
            if not chosen:
                return None
            return self._event(name, "archive", changes=[
                Change(v, "stage", state.stage_of(v).value, Stage.ARCHIVED.value)
                for v in chosen], reason=f"keep the latest {keep_latest}")

        try:
            event = self._append(name, build)
        except Conflict as exc:
            if str(exc) == "nothing to change":
                return []
            raise
        return [c.version for c in event.changes]

    def should_promote(self, name: str, candidate: str, metric: str = "f1",
                       min_improvement: float = 0.01, higher_is_better: bool | None = None,
                       against: str = "production") -> Decision:
        """Would ``candidate`` beat the version holding ``against`` on ``metric``?
        (``against`` is a stage, or an alias written ``"@champion"``.)

        A dry run of ``MetricImprovement``: nothing is recorded. With no incumbent, the answer
        is yes. Either version may hold the metric under any of its names (``f1`` or
        ``f1_score``); ``higher_is_better`` defaults to the metric table's direction.
        """
        rule = MetricImprovement(metric, min_improvement, higher_is_better)
        return self.evaluate(name, candidate, rule, against)

    def evaluate(self, name: str, candidate: str, policy: Rule,
                 against: str = "production") -> Decision:
        """What ``policy`` decides for ``candidate`` against the holder of ``against`` (a stage,
        or an alias written ``"@champion"``)."""
        version = self.get_version(name, candidate)
        state = self._state(name)
        if isinstance(against, str) and against.startswith("@"):
            target = check_alias(against[1:], "against")
        else:
            target = Stage.parse(against).value
        holder = state.holder(target)
        incumbent = None
        if holder is not None and holder != version.version:
            incumbent = self._with_state(self.store.get_version(name, holder), state)
        return apply_rule(policy, version, incumbent)
