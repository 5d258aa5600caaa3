"""RegistryStore on MLflow's model registry.

How modelops' registry maps onto MLflow's (docs/mlflow.md has the user's view):

- A modelops model is an MLflow registered model. Its creation time and creator are kept in
  the model tag ``modelops.model`` (MLflow stamps its own); its tags and description are
  MLflow's.
- A modelops version is an MLflow model version (numbered by MLflow: 1, 2, 3 …). Its semantic
  version is the version tag ``modelops.version``; its files' sha256 digests and sizes are
  ``modelops.files`` (JSON, split over ``modelops.files.2`` … past MLflow's 100,000-character
  limit); its lineage is ``modelops.lineage.parent_version``, ``.training_data`` and
  ``.notes``; the rest of the record (metrics, params, flavor, creator …) is
  ``modelops.record``. Its tags are MLflow version tags, its description MLflow's.
- A version's files are artifacts of its training run when that is a run of this MLflow
  (where ``mlflow.<flavor>.log_model`` puts them), else of the model's audit-trail run
  (below), under ``modelops-versions/<semver>-<id>/``; the version's ``source`` and
  ``run_id`` point there, so MLflow downloads them (the record keeps the modelops run id).
  A scikit-learn version is also written as an MLflow model there (see
  ``modelops_mlflow.layout``), so ``mlflow.sklearn.load_model("models:/name@production")``
  loads it.
- The audit trail is one MLflow run per model, in the experiment ``modelops-registry``: each
  event is the param ``event.<seq>`` holding the event as JSON. MLflow never changes a
  param's value, so the database itself makes each sequence number a one-time claim.
- Stages and aliases are mirrored onto MLflow aliases after each event: ``production`` is the
  alias ``production``; ``staging`` the alias ``staging`` (the version moved there last);
  modelops aliases are MLflow aliases of the same name; every version's stage is also its tag
  ``modelops.stage``. MLflow's deprecated stages are not used.
- Each event's JSON carries a claim id (``$claim``, dropped on reading), so no two writers
  ever log the same value for one sequence number: a claim MLflow accepted is the writer's
  own, with no read-back.
- A store object keeps each trail it has read (events are never changed once claimed).
  Before answering from it, it asks MLflow in one search whether the trail holds the param
  of the next sequence number; only then is the trail read again. The registry only ever
  claims the number after the last one it saw, so a new event always shows up as that param
  (in the same database row as the claim: no window where a claimed event is missed). A
  trail whose mirroring is unfinished is read whole each time.
- On a sqlite or PostgreSQL database (``modelops_mlflow.database``) the store reads with
  plain SELECTs, and an event, everything it mirrors and the mirrored mark are one
  transaction that holds the database's write lock (sqlite) or the trail run's row lock
  (PostgreSQL), so what it mirrors is never behind the trail.
- Claims: MLflow numbers versions itself, so a version is claimed by creating it with its
  ``modelops.version`` tag (in the same transaction) and then looking: of the versions
  tagged with that semantic version, the one with the lowest number wins; a loser deletes
  its MLflow version and raises ``AlreadyExists``. MLflow numbers versions in order and never
  reuses a number, so a version numbered right after the last one the store listed (with no
  rival in the listing) needs no look.

Models and versions that plain MLflow code registered are read too: a version without
``modelops.version`` reads as version ``N.0.0`` (MLflow's number N) with flavor ``mlflow``;
its files are downloaded once and digested when the version is first read whole. Aliases
that plain MLflow code set (``production``, ``staging``, or any name modelops accepts as an
alias) show up in the history as a ``sync`` event by the actor ``mlflow``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import re
import shutil
import tempfile
import threading
import time
import uuid
import warnings
import weakref
from collections.abc import Iterator, Mapping
from typing import Any

import attrs

from modelops._files import sha256_file
from modelops._json import loads
from modelops.entities.registry import (
    ArtifactFile,
    Change,
    Lineage,
    ModelVersion,
    RegisteredModel,
    RegistryEvent,
    SemVer,
    Stage,
    check_alias,
)
from modelops.entities.registry_codec import event_from_data, to_data
from modelops.errors import (
    AlreadyExists,
    Conflict,
    InvalidInput,
    NotFound,
    StoreError,
    StoreWarning,
)
from modelops.stores import RegistryStore
from modelops.uri import hide_password
from modelops_mlflow.connection import (
    DECODE_ERRORS,
    Connection,
    error_code,
    mlflow_errors,
    skipped,
)
from modelops_mlflow.database import Database, Reader, Writer
from modelops_mlflow.remote import Remote
from modelops_mlflow.tracking import INTERNAL_TAG

#: Version tags that hold modelops' record (``modelops.build`` and other user tags are not).
VERSION_TAG = "modelops.version"
FILES_TAG = "modelops.files"
RECORD_TAG = "modelops.record"
STAGE_TAG = "modelops.stage"
LINEAGE_PREFIX = "modelops.lineage."
MODEL_TAG = "modelops.model"
TRAIL_TAG = "modelops.trail"
MIRRORED_TAG = "modelops.mirrored"
TRAIL_FOR_TAG = "modelops.trail_for"
REGISTRY_EXPERIMENT = "modelops-registry"

_TAG_LIMIT = 100_000  # MLflow's longest registry tag value
PARAM_LIMIT = 6000  # MLflow's longest param value
_SEQ_WIDTH = 12
_EVENT_PREFIX = "event."
_CLAIM_KEY = "$claim"
_PAGE = 10_000
_NUMBERING_TRIES = 30  # see _numbered
_FRESH_LISTING_S = 1.0  # how long a listing of versions serves the early "taken?" check
_PRODUCTION = Stage.PRODUCTION.value
_STAGING = Stage.STAGING.value

def _internal_version_tag(key: str) -> bool:
    return key in (VERSION_TAG, RECORD_TAG, STAGE_TAG) or key == FILES_TAG \
        or key.startswith(FILES_TAG + ".") or key.startswith(LINEAGE_PREFIX)


def _quote(name: str) -> str:
    """``name`` as a string literal of MLflow's search filters."""
    if "'" not in name:
        return f"'{name}'"
    if '"' not in name:
        return f'"{name}"'
    raise InvalidInput("MLflow's search cannot find a model whose name holds both ' and \"; "
                       f"choose another name than {name!r}", field="model name")


def _chunks(text: str) -> list[str]:
    return [text[i:i + _TAG_LIMIT] for i in range(0, len(text), _TAG_LIMIT)] or [""]


@attrs.frozen
class _Listed:
    """An MLflow version as the store sees it: its number, its semantic version, whether
    modelops registered it, and the MLflow object."""

    number: int
    semver: str
    tagged: bool
    mv: Any


@attrs.define
class _TrailCache:
    """What a store object last read of one trail run: its events by sequence number, the
    sequence number mirrored last, and the experiment holding the run (for the check)."""

    events: dict[int, RegistryEvent] = attrs.Factory(dict)
    mirrored: int = 0
    experiment_id: str = ""
    loaded: bool = False

    @property
    def last(self) -> int:
        return max(self.events, default=0)

    def sorted_events(self) -> list[RegistryEvent]:
        return [self.events[seq] for seq in sorted(self.events)]


def event_text(event: RegistryEvent, claim: str) -> str:
    """``event`` as the JSON a trail param holds, with the claim id ``claim``."""
    data = to_data(event)
    data[_CLAIM_KEY] = claim
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def _event_key(seq: int) -> str:
    return f"{_EVENT_PREFIX}{seq:0{_SEQ_WIDTH}d}"


_EVENT_KEY = re.compile(rf"{re.escape(_EVENT_PREFIX)}([0-9]{{{_SEQ_WIDTH}}})")


def _event_seq(key: str) -> int | None:
    """The sequence number of the event param ``key``; None for a param of another name."""
    found = _EVENT_KEY.fullmatch(key)
    return None if found is None else int(found.group(1))


def _semver_core(text: str) -> str | None:
    try:
        return SemVer.parse(text).core
    except InvalidInput:
        return None


class MlflowRegistryStore(RegistryStore):
    """Models, versions and the audit trail in MLflow's model registry."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.uri = hide_password(connection.uri)   # for messages and hooks, never to connect
        self.client = connection.client()
        self._lock = threading.RLock()
        self._experiment_id: str | None = None
        self._trails: dict[str, str] = {}
        self._artifact_uris: dict[str, str] = {}
        self._plain: dict[tuple[str, str, int], tuple[ArtifactFile, ...]] = {}
        # MLflow version number -> semantic version, per model: fixed once registered.
        self._semvers: dict[str, dict[str, str]] = {}
        # Semantic version -> MLflow number of the claim's winner, per model: fixed too (a
        # later rival gets a higher number), unless plain MLflow code deletes the version.
        self._numbers: dict[str, dict[str, int]] = {}
        self._cached_trails: dict[str, _TrailCache] = {}
        # MLflow number -> modelops.version tag (None: plain), per model, as listed.
        self._seen: dict[str, dict[int, str | None]] = {}
        self._seen_at: dict[str, float] = {}  # when each model's versions were listed
        self._cache_dir: str | None = None
        self._database: Database | bool | None = connection.direct_sql
        self._remote: Remote | bool | None = connection.direct_sql

    @property
    def _db(self) -> Database | None:
        """The database to read and write in SQL, or None (MLflow's client only); looked for
        on first use."""
        if isinstance(self._database, bool):
            self._database = Database.open(self.client) if self._database else None
        return self._database

    @property
    def _app(self) -> Remote | None:
        """modelops' app in the MLflow server this store talks to, or None (MLflow's REST
        API alone, or no server at all); asked for on first use."""
        if isinstance(self._remote, bool):
            if not self.connection.direct_sql or self._db is not None:
                self._remote = None
                return None
            try:
                self._remote = Remote.open(self.client, self.uri,
                                           self.connection.experiment_prefix)
            except StoreError:
                return None  # no answer now: MLflow's API for this call, ask again next time
        return self._remote

    @contextlib.contextmanager
    def _reading(self, snapshot: bool = False) -> Iterator[Reader]:
        """Reads of the database, in one snapshot when ``snapshot`` (inside a read or a write
        of this thread, that one's)."""
        assert self._db is not None
        try:
            with self._db.reading(snapshot) as reader:
                yield reader
        except NotFound as exc:
            raise NotFound(f"{exc} in {self.uri}") from None

    def close(self) -> None:
        if isinstance(self._database, Database):
            self._database.close()
        if self._cache_dir is not None:
            shutil.rmtree(self._cache_dir, ignore_errors=True)
            self._cache_dir = None

    # -- models -----------------------------------------------------------------------------

    def create_model(self, model: RegisteredModel) -> RegisteredModel:
        _quote(model.name)
        if any(k in (MODEL_TAG, TRAIL_TAG) for k in model.tags):
            raise InvalidInput(f"tags {MODEL_TAG!r} and {TRAIL_TAG!r} are the store's own",
                               field="tags")
        # The trail run first, so the model is created with its pointer in one transaction.
        trail = self._new_trail(model.name)
        tags = {**model.tags, TRAIL_TAG: trail,
                MODEL_TAG: json.dumps({"created_time": model.created_time,
                                       "creator": model.creator})}
        try:
            with mlflow_errors(f"creating model {model.name!r} in {self.uri}"):
                self.client.create_registered_model(model.name, tags=tags,
                                                    description=model.description or None)
        except AlreadyExists:
            self._drop_run(trail)
            raise AlreadyExists(f"model {model.name!r} already exists in {self.uri}") from None
        except BaseException:
            self._drop_run(trail)
            raise
        self._trails[model.name] = trail
        return model

    def _registered(self, name: str) -> Any:
        if self._db is not None:
            with self._reading() as reader:
                return reader.model(name)
        with mlflow_errors(f"no model named {name!r} in {self.uri}"):
            return self.client.get_registered_model(name)

    def get_model(self, name: str) -> RegisteredModel:
        return self._to_model(self._registered(name))

    @staticmethod
    def _to_model(rm: Any) -> RegisteredModel:
        """The model of MLflow's record; ``StoreError`` naming it when its ``modelops.model``
        tag (which anyone may edit in MLflow's UI) is not what modelops wrote."""
        tags = dict(rm.tags or {})
        try:
            own = loads(tags.pop(MODEL_TAG)) if MODEL_TAG in tags else None
            tags.pop(TRAIL_TAG, None)
            if own is None:  # registered by plain MLflow code
                own = {"created_time": int(rm.creation_timestamp or 0), "creator": ""}
            return RegisteredModel(name=rm.name, created_time=own["created_time"],
                                   creator=own["creator"], description=rm.description or "",
                                   tags=tags)
        except DECODE_ERRORS as exc:
            raise StoreError(f"model {rm.name!r}: its tag {MODEL_TAG} is not a record of "
                             f"modelops ({type(exc).__name__}: {exc})") from None

    def list_models(self) -> list[RegisteredModel]:
        out = []
        token = None
        with mlflow_errors(f"listing models in {self.uri}"):
            while True:
                page = self.client.search_registered_models(max_results=1000,
                                                            page_token=token)
                out.extend(page)
                token = page.token
                if not token:
                    break
        models = []
        for rm in out:
            try:
                models.append(self._to_model(rm))
            except StoreError as exc:
                skipped(exc)
            except InvalidInput:
                continue  # a name modelops cannot hold
        return sorted(models, key=lambda m: m.name)

    # -- versions ---------------------------------------------------------------------------

    def _listed(self, name: str) -> list[_Listed]:
        """Every MLflow version of ``name`` with its semantic version; losers of a claim and
        plain versions shadowed by a registered one are left out."""
        if self._db is not None:
            with self._reading() as reader:
                found = reader.versions(name)
        else:
            found = self._search_versions(name, f"name = {_quote(name)}")
        tagged: dict[str, _Listed] = {}
        plain: list[_Listed] = []
        for mv in found:
            number = int(mv.version)
            semver = (mv.tags or {}).get(VERSION_TAG)
            if semver is not None:
                core = _semver_core(semver)
                if core is None:
                    continue
                held = tagged.get(core)
                if held is None or number < held.number:
                    tagged[core] = _Listed(number, core, True, mv)
            else:
                plain.append(_Listed(number, f"{number}.0.0", False, mv))
        out = list(tagged.values())
        for listed in plain:
            if listed.semver in tagged:
                listed = attrs.evolve(listed, semver=f"0.0.0-mlflow.{listed.number}")
            out.append(listed)
        return sorted(out, key=lambda x: x.number)

    def _search_versions(self, name: str, flt: str) -> list[Any]:
        """Every MLflow version ``flt`` finds, all pages."""
        found: list[Any] = []
        token = None
        with mlflow_errors(f"listing versions of {name!r} in {self.uri}"):
            while True:
                page = self.client.search_model_versions(flt, max_results=_PAGE,
                                                         page_token=token)
                found.extend(page)
                token = page.token
                if not token:
                    return found

    def _tagged(self, name: str, core: str) -> _Listed | None:
        """The version modelops registered as ``core``: the lowest number holds the claim."""
        number = self._numbers.get(name, {}).get(core)
        if number is not None:
            # The winner known: one direct read, still checked against its tag.
            mv = self._version(name, number)
            if mv is not None and (mv.tags or {}).get(VERSION_TAG) == core:
                return _Listed(number, core, True, mv)
            self._numbers.get(name, {}).pop(core, None)
        tagged = self._tagged_as(name, core)
        if not tagged:
            return None
        mv = min(tagged, key=lambda v: int(v.version))
        self._known(name, core, int(mv.version))
        return _Listed(int(mv.version), core, True, mv)

    def _version(self, name: str, number: int) -> Any | None:
        """MLflow's version ``number`` of ``name``, or None."""
        if self._db is not None:
            with self._reading() as reader:
                found = reader.versions(name, number=number)
            return found[0] if found else None
        try:
            with mlflow_errors(f"looking up version {number} of {name} in {self.uri}"):
                return self.client.get_model_version(name, str(number))
        except NotFound:
            return None

    def _tagged_as(self, name: str, core: str) -> list[Any]:
        """The MLflow versions of ``name`` tagged with the semantic version ``core``."""
        if self._db is not None:
            with self._reading() as reader:
                return reader.versions(name, tag=(VERSION_TAG, core))
        with mlflow_errors(f"looking up {name} {core} in {self.uri}"):
            return self.client.search_model_versions(
                f"name = {_quote(name)} and tags.`{VERSION_TAG}` = '{core}'")

    def _find(self, name: str, version: str) -> _Listed:
        core = _semver_core(version)
        if core is not None:
            found = self._tagged(name, core)
            if found is not None:
                return found
        self._registered(name)
        for listed in self._listed(name):
            if listed.semver == core:
                return listed
        raise NotFound(f"model {name!r} has no version {version} in {self.uri}")

    def create_version(self, version: ModelVersion, files: Mapping[str, str]) -> ModelVersion:
        name = version.name
        core = SemVer.parse(version.version).core
        reserved = sorted(k for k in version.tags if _internal_version_tag(k))
        if reserved:
            raise InvalidInput(f"the tag {reserved[0]!r} is the store's own", field="tags")
        if {f.path for f in version.files} != set(files):
            raise InvalidInput("the files given and the files recorded differ", field="files")
        seen = self._recent_listing(name)
        if self._taken(name, core, seen):
            raise AlreadyExists(f"model {name!r} already has version {core}")
        home = self._home(version) or self._trail(name)
        folder = f"modelops-versions/{core[:64]}-{uuid.uuid4().hex[:12]}"
        with tempfile.TemporaryDirectory(prefix="modelops-mlflow-version-") as tmp:
            for rel in files:
                local = files[rel]
                target = os.path.join(tmp, *rel.split("/"))
                os.makedirs(os.path.dirname(target), exist_ok=True)
                shutil.copyfile(local, target)
            if self.connection.mlflow_model_layout:
                from modelops_mlflow.layout import write_mlflow_model

                write_mlflow_model(version, tmp)
            with mlflow_errors(f"storing the files of {name} {core} in {self.uri}"):
                self.client.log_artifacts(home, tmp, folder)
        source = f"{self._artifact_uri(home)}/{folder}"
        stored = attrs.evolve(version, version=core, artifact_location=source)
        tags = {**version.tags, **self._record_tags(stored)}
        with mlflow_errors(f"registering {name} {core} in {self.uri}"):
            mv = self._numbered(name, source=source, run_id=home, tags=tags,
                                description=version.description or None)
        number = int(mv.version)
        # The claim: of the versions tagged with this semantic version, the lowest number.
        # MLflow numbers versions in order and never reuses a number, so when ours follows
        # the last one the listing saw (which held no rival, or _taken would have said so),
        # nothing was created in between and there is no rival to look for.
        if number != max(seen, default=0) + 1 and self._rival_below(name, core, number):
            with mlflow_errors(f"withdrawing {name} {core} (MLflow version {number})"):
                self.client.delete_model_version(name, str(number))
            raise AlreadyExists(f"model {name!r} already has version {core}")
        self._known(name, core, number)
        return stored

    def _numbered(self, name: str, **fields: Any) -> Any:
        """MLflow's ``create_model_version``, tried again while it gives up on numbering.

        MLflow's SQL store numbers a version as the highest number + 1 and tries again, three
        times at once, when another writer took that number first. On MySQL (REPEATABLE READ)
        each try reads the highest number from its snapshot, so a few processes registering
        at once make it give up, or the database ends one of them as a deadlock. Either way
        its session was rolled back and nothing was created, so waiting a moment (random,
        to break the tie) and asking again is safe."""
        from mlflow.exceptions import MlflowException
        from sqlalchemy.exc import OperationalError

        for attempt in range(_NUMBERING_TRIES):
            try:
                return self.client.create_model_version(name, **fields)
            except MlflowException as exc:
                gave_up = "Model Version creation error" in str(exc.message)
                if not (gave_up or isinstance(exc.__cause__, OperationalError)) \
                        or attempt == _NUMBERING_TRIES - 1:
                    raise
            time.sleep(random.uniform(0, min(0.2, 0.01 * 2 ** attempt)))
        raise AssertionError("unreachable")

    def _rival_below(self, name: str, core: str, number: int) -> bool:
        return min(int(v.version) for v in self._tagged_as(name, core)) < number

    def _known(self, name: str, core: str, number: int) -> None:
        """Remember the winner of a claim both ways."""
        with self._lock:
            self._numbers.setdefault(name, {})[core] = number
            self._semvers.setdefault(name, {})[str(number)] = core

    def _recent_listing(self, name: str) -> dict[int, str | None]:
        """The versions as listed within the last second (the registry has typically just
        chosen the next version from that listing), else as listed now."""
        with self._lock:
            seen, listed_at = self._seen.get(name), self._seen_at.get(name, 0.0)
        if seen is None or time.monotonic() - listed_at > _FRESH_LISTING_S:
            seen = self._seen_versions(name)
        return seen

    def _taken(self, name: str, core: str, seen: dict[int, str | None]) -> bool:
        """Whether ``core`` names a version already: one modelops registered, or a version
        plain MLflow registered that reads as ``N.0.0``, judged from the listing ``seen``.
        An early refusal only (the claim after creating is what decides), so "free" is
        answered from the listing; "taken" is confirmed exactly."""
        if core not in self._semvers_of(seen):
            return False
        if self._tagged(name, core) is not None:
            return True
        major = core[:-len(".0.0")]
        if core.endswith(".0.0") and major.isdecimal() and str(int(major)) == major:
            mv = self._version(name, int(major))
            if mv is not None and VERSION_TAG not in (mv.tags or {}):
                return True
        return False

    def _seen_versions(self, name: str) -> dict[int, str | None]:
        """MLflow number -> ``modelops.version`` tag (None: plain) of every version: those
        this store listed before and those MLflow numbered since (one search). A version
        plain MLflow code deleted may linger. NotFound for an unknown model."""
        with self._lock:
            seen = dict(self._seen.get(name, {}))
        if self._db is not None:
            with self._reading() as reader:
                seen.update(reader.version_tags(name, VERSION_TAG, after=max(seen, default=0)))
        elif self._app is not None:
            seen.update(self._app.version_tags(name, after=max(seen, default=0)))
        else:
            flt = f"name = {_quote(name)}"
            if seen:
                flt += f" and version_number > {max(seen)}"
            for mv in self._search_versions(name, flt):
                seen[int(mv.version)] = (mv.tags or {}).get(VERSION_TAG)
        if not seen:
            self._registered(name)  # NotFound for an unknown model
        with self._lock:
            self._seen[name] = seen
            self._seen_at[name] = time.monotonic()
        return seen

    def version_tags(self, name: str, after: int = 0) -> dict[int, str | None]:
        """MLflow number -> ``modelops.version`` tag (None: plain) of the versions numbered
        after ``after`` (what modelops' server app answers a client listing them)."""
        return {n: tag for n, tag in self._seen_versions(name).items() if n > after}

    @staticmethod
    def _semvers_of(seen: dict[int, str | None]) -> set[str]:
        tagged = {core for core in map(_semver_core, filter(None, seen.values())) if core}
        return tagged | {f"{n}.0.0" for n, tag in seen.items() if tag is None}

    def version_numbers(self, name: str) -> list[str]:
        """Every semantic version, for choosing the next (a version plain MLflow code
        deleted may linger: the next version then skips its number; claims stay exact)."""
        return sorted(self._semvers_of(self._seen_versions(name)))

    def _home(self, version: ModelVersion) -> str | None:
        """The run that holds the version's files: its training run when that is a live run
        of this MLflow (as ``mlflow.<flavor>.log_model`` does), else None (the trail run).
        MLflow's server accepts a version's source only inside the run it names."""
        if not version.run_id:
            return None
        try:
            with mlflow_errors(f"looking up run {version.run_id}"):
                run = self.client.get_run(version.run_id)
        except (NotFound, InvalidInput):
            return None
        if run.info.lifecycle_stage != "active":
            return None
        self._artifact_uris[run.info.run_id] = run.info.artifact_uri
        return run.info.run_id

    @staticmethod
    def _record_tags(version: ModelVersion) -> dict[str, str]:
        """The version tags that hold a record (see the module docstring)."""
        data = to_data(version)
        files = data.pop("files")
        lineage = data.pop("lineage")
        for field in ("name", "version", "tags", "stage", "aliases", "artifact_location"):
            data.pop(field)
        tags = {VERSION_TAG: version.version,
                RECORD_TAG: json.dumps(data, separators=(",", ":"), ensure_ascii=False)}
        packed = json.dumps([[f["path"], f["sha256"], f["size"]] for f in files],
                            separators=(",", ":"), ensure_ascii=False)
        for i, chunk in enumerate(_chunks(packed)):
            tags[FILES_TAG if i == 0 else f"{FILES_TAG}.{i + 1}"] = chunk
        for key, value in lineage.items():
            if key == "datasets" and value:
                # a list: JSON in its tag (a newer reader's field, ignored by older ones)
                value = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
            if value not in (None, "", []):
                tags[LINEAGE_PREFIX + key] = value
        if len(tags[RECORD_TAG]) > _TAG_LIMIT:
            raise InvalidInput(f"the version's metrics, params and flavor metadata take "
                               f"{len(tags[RECORD_TAG])} characters as JSON; MLflow keeps "
                               f"{_TAG_LIMIT}", field="version")
        return tags

    def _to_version(self, name: str, listed: _Listed, whole: bool) -> ModelVersion:
        """The version of MLflow's record; ``StoreError`` naming it when the tags that hold
        modelops' record of it (which anyone may edit in MLflow's UI) are not what modelops
        wrote."""
        mv = listed.mv
        tags = dict(mv.tags or {})
        if not listed.tagged:
            return self._plain_version(name, listed, tags, whole)
        try:
            return self._recorded_version(name, listed, tags)
        except DECODE_ERRORS as exc:
            raise StoreError(f"version {listed.semver} of {name!r} (MLflow's version "
                             f"{listed.number}): its tags are not a record of modelops "
                             f"({type(exc).__name__}: {exc})") from None

    @staticmethod
    def _recorded_version(name: str, listed: _Listed, tags: dict[str, str]) -> ModelVersion:
        mv = listed.mv
        data = loads(tags[RECORD_TAG])
        parts = [tags[FILES_TAG]]
        i = 2
        while f"{FILES_TAG}.{i}" in tags:
            parts.append(tags[f"{FILES_TAG}.{i}"])
            i += 1
        files = tuple(ArtifactFile(p, s, n) for p, s, n in loads("".join(parts)))
        lineage = {k[len(LINEAGE_PREFIX):]: v for k, v in tags.items()
                   if k.startswith(LINEAGE_PREFIX)}
        if "datasets" in lineage:
            lineage["datasets"] = loads(lineage["datasets"])
        lineage = Lineage(**{k: v for k, v in lineage.items()
                             if k in ("parent_version", "training_data", "notes", "datasets")})
        user_tags = {k: v for k, v in tags.items() if not _internal_version_tag(k)}
        return ModelVersion(name=name, version=listed.semver, files=files, lineage=lineage,
                            tags=user_tags, artifact_location=mv.source or "", **data)

    def _plain_version(self, name: str, listed: _Listed, tags: dict[str, str],
                       whole: bool) -> ModelVersion:
        mv = listed.mv
        files: tuple[ArtifactFile, ...] = ()
        if whole:
            files = self._plain_files(name, listed)
        return ModelVersion(
            name=name, version=listed.semver, run_id=mv.run_id or None, flavor="mlflow",
            framework="mlflow", files=files, size=sum(f.size for f in files),
            created_time=int(mv.creation_timestamp or 0), creator=mv.user_id or "",
            flavor_meta={"mlflow_version": listed.number, "source": mv.source or ""},
            artifact_location=mv.source or "", description=mv.description or "",
            tags={k: v for k, v in tags.items() if k != STAGE_TAG})

    def _plain_files(self, name: str, listed: _Listed) -> tuple[ArtifactFile, ...]:
        """A plain version's files, downloaded once into this store's cache and digested."""
        key = (name, listed.mv.source or "", listed.number)
        with self._lock:
            cached = self._plain.get(key)
        if cached is not None:
            return cached
        folder = self._plain_folder(key)
        files = []
        for dirpath, _, names in os.walk(folder):
            for file_name in names:
                path = os.path.join(dirpath, file_name)
                rel = os.path.relpath(path, folder).replace(os.sep, "/")
                files.append(ArtifactFile(rel, *sha256_file(path)))
        result = tuple(sorted(files, key=lambda f: f.path))
        with self._lock:
            self._plain[key] = result
        return result

    def _plain_folder(self, key: tuple[str, str, int]) -> str:
        if self._cache_dir is None:
            self._cache_dir = tempfile.mkdtemp(prefix="modelops-mlflow-cache-")
            weakref.finalize(self, shutil.rmtree, self._cache_dir, True)
        folder = os.path.join(self._cache_dir, hashlib.sha256(repr(key).encode()).hexdigest())
        if not os.path.isdir(folder):
            partial = folder + ".part"
            shutil.rmtree(partial, ignore_errors=True)
            os.makedirs(partial)
            self._download(key[1], None, partial)
            os.replace(partial, folder)
        return folder

    def _download(self, source: str, rel: str | None, dst: str) -> None:
        from mlflow.artifacts import download_artifacts

        uri = source if rel is None else f"{source.rstrip('/')}/{rel}"
        with mlflow_errors(f"downloading {uri} from {self.uri}"):
            download_artifacts(artifact_uri=uri, dst_path=dst,
                               tracking_uri=self.connection.tracking_uri)

    def get_version(self, name: str, version: str) -> ModelVersion:
        return self._to_version(name, self._find(name, version), whole=True)

    def read_version(self, name: str, version: str, after_seq: int = 0
                     ) -> tuple[list[RegistryEvent], ModelVersion | None]:
        if self._app is not None:
            events, record, plain = self._app.read(name, version, after_seq)
        else:
            events, record, plain = self.read_recorded(name, version, after_seq)
        if plain:
            record = self.get_version(name, version)
        return events, record

    def read_recorded(self, name: str, version: str, after_seq: int = 0
                      ) -> tuple[list[RegistryEvent], ModelVersion | None, bool]:
        """The events after ``after_seq`` and the record of ``version`` as modelops
        registered it (None if there is none). For a version plain MLflow code registered
        the record is None and the flag True: ``get_version`` reads it, digesting its files
        on the first read, which a server leaves to its client."""
        events = self.list_events(name, after_seq)
        try:
            listed = self._find(name, version)
        except NotFound:
            return events, None, False
        if not listed.tagged:
            return events, None, True
        return events, self._to_version(name, listed, whole=False), False

    def list_versions(self, name: str) -> list[ModelVersion]:
        self._registered(name)
        out = []
        for listed in self._listed(name):
            try:
                out.append(self._to_version(name, listed, whole=False))
            except StoreError as exc:
                skipped(exc)
        return out

    def download_version(self, name: str, version: str, dst_dir: str) -> str:
        listed = self._find(name, version)
        record = self._to_version(name, listed, whole=True)
        os.makedirs(dst_dir, exist_ok=True)
        if not listed.tagged:
            folder = self._plain_folder((name, listed.mv.source or "", listed.number))
            shutil.copytree(folder, dst_dir, dirs_exist_ok=True)
            return dst_dir
        from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

        repo = get_artifact_repository(record.artifact_location,
                                       tracking_uri=self.connection.tracking_uri)
        for f in record.files:
            try:
                with mlflow_errors(f"downloading {f.path} of {name} {record.version}"):
                    repo.download_artifacts(f.path, dst_dir)
            except NotFound:
                continue  # reported by the registry's digest check as a missing file
        return dst_dir

    # -- the audit trail --------------------------------------------------------------------

    def _experiment(self) -> str:
        """The id of the experiment holding trail runs, made on first use."""
        if self._experiment_id is not None:
            return self._experiment_id
        name = self.connection.experiment_prefix + REGISTRY_EXPERIMENT
        with mlflow_errors(f"finding the registry experiment of {self.uri}"):
            exp = self.client.get_experiment_by_name(name)
            if exp is None:
                try:
                    experiment_id = self.client.create_experiment(
                        name, artifact_location=self.connection.artifact_location(
                            uuid.uuid4().hex),
                        tags={INTERNAL_TAG: "registry",
                              "mlflow.note.content": "The audit trail of modelops' model "
                              "registry: one run per model, one param per event."})
                except Exception as exc:
                    if error_code(exc) != "RESOURCE_ALREADY_EXISTS":
                        raise
                    experiment_id = self.client.get_experiment_by_name(name).experiment_id
            else:
                experiment_id = exp.experiment_id
        self._experiment_id = experiment_id
        return experiment_id

    def _new_trail(self, name: str) -> str:
        from mlflow.entities import RunStatus

        experiment_id = self._experiment()
        with mlflow_errors(f"starting the audit trail of {name!r} in {self.uri}"):
            run = self.client.create_run(experiment_id, run_name=name,
                                         tags={TRAIL_FOR_TAG: name})
            self.client._tracking_client.store.update_run_info(
                run.info.run_id, RunStatus.FINISHED, run.info.start_time, None)
        self._artifact_uris[run.info.run_id] = run.info.artifact_uri
        return run.info.run_id

    def _drop_run(self, run_id: str) -> None:
        with contextlib.suppress(Exception):
            self.client.delete_run(run_id)

    def _trail(self, name: str, rm: Any | None = None) -> str:
        """The trail run of ``name``, adopting a model plain MLflow code registered."""
        cached = self._trails.get(name)
        if cached is not None:
            return cached
        rm = rm if rm is not None else self._registered(name)
        trail = (rm.tags or {}).get(TRAIL_TAG)
        if trail is None:
            trail = self._adopt(name)
        self._trails[name] = trail
        return trail

    def _adopt(self, name: str) -> str:
        """Give a model plain MLflow registered its trail: the oldest trail run made for it
        (racing adopters each make one; all pick the oldest)."""
        experiment_id = self._experiment()
        mine = self._new_trail(name)
        with mlflow_errors(f"adopting model {name!r} in {self.uri}"):
            runs = self.client.search_runs(
                [experiment_id], f"tags.`{TRAIL_FOR_TAG}` = {_quote(name)}",
                order_by=["attributes.start_time ASC"], max_results=1000)
        runs = [r for r in runs if r.data.tags.get(TRAIL_FOR_TAG) == name]
        oldest = min(runs, key=lambda r: (r.info.start_time, r.info.run_id)).info.run_id
        if oldest != mine:
            self._drop_run(mine)
        with mlflow_errors(f"adopting model {name!r} in {self.uri}"):
            self.client.set_registered_model_tag(name, TRAIL_TAG, oldest)
        return oldest

    def _artifact_uri(self, run_id: str) -> str:
        uri = self._artifact_uris.get(run_id)
        if uri is None:
            with mlflow_errors(f"reading trail run {run_id} in {self.uri}"):
                uri = self.client.get_run(run_id).info.artifact_uri
            self._artifact_uris[run_id] = uri
        return uri

    def _cache(self, trail: str) -> _TrailCache:
        with self._lock:
            cache = self._cached_trails.get(trail)
            if cache is None:
                cache = self._cached_trails[trail] = _TrailCache()
            return cache

    def _read_trail(self, name: str, trail: str) -> _TrailCache:
        """The trail's events and mirrored mark, brought up to date: read whole the first
        time and while mirroring is unfinished, else only when the param of the next
        sequence number exists (one search that returns the run whole when it does)."""
        cache = self._cache(trail)
        if self._db is not None:
            with self._reading() as reader:
                if cache.loaded and cache.mirrored >= cache.last and \
                        not reader.has_param(trail, _event_key(cache.last + 1)):
                    return cache
                # Events never change: only those after the last one cached are read.
                row = reader.trail(trail, _event_key(cache.last) if cache.loaded else "",
                                   MIRRORED_TAG)
            self._take(name, trail, cache, row.params, row.mirrored, row.experiment_id)
            return cache
        store = self.client._tracking_client.store
        with mlflow_errors(f"reading the history of {name!r} in {self.uri}"):
            if not cache.loaded or cache.mirrored < cache.last:
                run = store.get_run(trail)
            else:
                found = store.search_runs(
                    [cache.experiment_id],
                    f"attributes.run_id = '{trail}' and "
                    f"params.`{_event_key(cache.last + 1)}` != ''",
                    3, 1, [], None)  # 3: active and deleted runs
                if not found:
                    return cache
                run = found[0]
        self._take_run(name, trail, cache, run)
        return cache

    def _take_run(self, name: str, trail: str, cache: _TrailCache, run: Any) -> None:
        self._take(name, trail, cache, run.data.params,
                   int(run.data.tags.get(MIRRORED_TAG, "0")), run.info.experiment_id)

    def _take(self, name: str, trail: str, cache: _TrailCache, params: Mapping[str, str],
              mirrored: int, experiment_id: str) -> None:
        """Fold what was read of the trail run of model ``name`` into its cache (events never
        change, so only new ones are decoded)."""
        fresh = self._decode_events(name, trail, params, cache.events)
        with self._lock:
            cache.events.update(fresh)
            cache.mirrored = mirrored
            cache.experiment_id = experiment_id
            cache.loaded = True

    def _decode_events(self, name: str, trail: str, params: Mapping[str, str],
                       known: Mapping[int, RegistryEvent]) -> dict[int, RegistryEvent]:
        """The events among a trail run's ``params`` that are not in ``known``. A param named
        like no event modelops writes (one logged by hand) is not an event; one that does
        not read as its event is a ``quarantined`` marker in its place."""
        fresh = {}
        for key, value in params.items():
            seq = _event_seq(key)
            if seq is not None and seq not in known:
                fresh[seq] = self._decode_event(name, trail, seq, value)
        return fresh

    def _decode_event(self, name: str, trail: str, seq: int, value: str) -> RegistryEvent:
        """The event the param of ``seq`` holds; where it does not read as that event (its
        params can be logged to by anyone, never changed or removed), a ``quarantined``
        marker, as the local store writes in place of an unreadable event file, so that the
        history reads on and moves past its number."""
        try:
            data = loads(value)
            if isinstance(data, dict) and "$artifact" in data:
                with tempfile.TemporaryDirectory() as tmp:
                    with mlflow_errors(f"reading event {data['$artifact']} of trail {trail}"):
                        local = self._event_file(trail, str(data["$artifact"]), tmp)
                    with open(local, "rb") as f:
                        data = loads(f.read())
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
            data.pop(_CLAIM_KEY, None)
            event = event_from_data(data)
            if event.seq != seq:
                raise ValueError(f"it is event {event.seq}")
            return event
        except (*DECODE_ERRORS, NotFound) as exc:   # NotFound: its file is not there
            marker = RegistryEvent(
                model=name, seq=seq, action="quarantined", actor="modelops", timestamp=0,
                reason=f"event {seq} (param {_event_key(seq)} of trail run {trail}) could not "
                       f"be read ({exc}); it was left in place")
        warnings.warn(f"modelops: {marker.reason}; the history moves on past it",
                      StoreWarning, stacklevel=2)
        return marker

    def _event_file(self, trail: str, path: str, dst: str) -> str:
        """Download the artifact ``path`` of the trail run into ``dst``; its local path."""
        return self.client.download_artifacts(trail, path, dst)

    def list_events(self, name: str, after_seq: int = 0) -> list[RegistryEvent]:
        if self._app is not None:
            return self._app.events(name, after_seq)
        # MLflow's aliases and the trail read in one snapshot: read apart, aliases a writer
        # moved between the two reads would look set outside modelops (a sync event).
        with self._reading(snapshot=True) if self._db is not None else contextlib.nullcontext():
            rm = self._registered(name)
            trail = (rm.tags or {}).get(TRAIL_TAG) or self._trails.get(name)
            events: list[RegistryEvent] = []
            mirrored = 0
            if trail:
                cache = self._read_trail(name, trail)
                with self._lock:
                    events, mirrored = cache.sorted_events(), cache.mirrored
            last = events[-1].seq if events else 0
            if mirrored >= last:
                sync = self._sync_event(name, rm, events, last + 1)
                if sync is not None:
                    events.append(sync)
        return [e for e in events if e.seq > after_seq]

    def append_event(self, event: RegistryEvent) -> RegistryEvent:
        claim = uuid.uuid4().hex
        # An event too long for a param is stored as an artifact, which this client does.
        if self._app is not None and len(event_text(event, claim)) <= PARAM_LIMIT:
            self._app.append(event, claim)
            return event
        return self.append_claimed(event, claim)

    def append_claimed(self, event: RegistryEvent, claim: str) -> RegistryEvent:
        """``append_event`` with the claim id ``claim``: in SQL, a second try with the same
        claim (a request sent again) finds its own event and succeeds."""
        rm = self._registered(event.model)
        trail = self._trail(event.model, rm)
        cache = self._cache(trail)
        if not cache.loaded:
            cache = self._read_trail(event.model, trail)
        # A stale cache is safe here: whatever it decides, the claim of a taken sequence
        # number fails (Conflict), and the caller reads again.
        with self._lock:
            events, mirrored = cache.sorted_events(), cache.mirrored
        last = events[-1].seq if events else 0
        claims = [(event, claim)]
        if mirrored >= last and event.seq == last + 2:
            # The caller saw the aliases plain MLflow code set: record them first. If they
            # are gone, the caller decided on a state that no longer holds: never leave a
            # gap another writer could fill with an event the caller did not see.
            sync = self._sync_event(event.model, rm, events, last + 1)
            if sync is None:
                raise Conflict(f"the aliases of {event.model!r} changed meanwhile")
            claims.insert(0, (sync, uuid.uuid4().hex))
        if self._db is not None:
            self._append_in_one(event.model, trail, claims)
            return event
        for one, claim_id in claims:
            self._claim(trail, one, claim_id)
        aliases = {a: str(v) for a, v in (rm.aliases or {}).items()}
        self._mirror(event.model, trail, aliases)
        return event

    def _append_in_one(self, name: str, trail: str,
                       claims: list[tuple[RegistryEvent, str]]) -> None:
        """Claim the events of ``claims`` (each with its claim id) and mirror every event not
        yet mirrored, in one transaction that holds the database's write lock (sqlite) or the
        trail's row lock (PostgreSQL) from its first claim: no other modelops writer appends
        meanwhile, so one pass is enough."""
        texts = [(event, self._event_text(trail, event, claim)) for event, claim in claims]
        cache = self._cache(trail)
        with self._lock:
            after = _event_key(cache.last)
        assert self._db is not None
        with self._db.writing() as tx:
            for event, text in texts:
                key = _event_key(event.seq)
                try:
                    tx.add_param(trail, key, text)
                except Conflict:
                    if tx.param(trail, key) != text:  # else ours, from an earlier try
                        raise Conflict(f"event {event.seq} of model {name!r} was written by "
                                       "someone else first") from None
            ours = {event.seq: event for event, _ in claims}
            row = tx.trail(trail, after, MIRRORED_TAG)
            others = {k: v for k, v in row.params.items()
                      if (seq := _event_seq(k)) is not None and seq not in ours}
            with self._lock:
                cached = dict(cache.events)
            fresh = {**self._decode_events(name, trail, others, cached), **ours}
            known = {**cached, **fresh}
            todo = [known[seq] for seq in sorted(known) if seq > row.mirrored]
            numbers = self._numbers_for(name, todo)  # read inside this transaction
            aliases = tx.aliases(name)
            for event in todo:
                self._apply(name, event, numbers, aliases, tx)
            tx.set_run_tag(trail, MIRRORED_TAG, str(max(known)))
        with self._lock:  # another thread may have folded a later transaction in already
            cache.events.update(fresh)
            cache.mirrored = max(cache.mirrored, max(known))
            cache.experiment_id = row.experiment_id

    def _event_text(self, trail: str, event: RegistryEvent, claim: str) -> str:
        """The param value that holds ``event``: its JSON, with the claim id ``claim`` so no
        two writers ever log the same value; past MLflow's param limit, a pointer to an
        artifact."""
        text = event_text(event, claim)
        if len(text) <= PARAM_LIMIT:
            return text
        path = f"events/{uuid.uuid4().hex}.json"
        with tempfile.TemporaryDirectory() as tmp:
            local = os.path.join(tmp, os.path.basename(path))
            with open(local, "w", encoding="utf-8") as f:
                f.write(text)
            with mlflow_errors(f"storing event {event.seq} of {event.model!r}"):
                self.client.log_artifact(trail, local, "events")
        return json.dumps({"$artifact": path})

    def _claim(self, trail: str, event: RegistryEvent, claim: str) -> None:
        from mlflow.entities import Param

        key = _event_key(event.seq)
        text = self._event_text(trail, event, claim)
        try:
            with mlflow_errors(f"appending event {event.seq} to {event.model!r}"):
                self.client._tracking_client.store.log_batch(trail, [], [Param(key, text)], [])
        except (InvalidInput, StoreError) as exc:
            # MLflow refuses another value for a param ("Changing param values is not
            # allowed"), or, when two inserts race, the database's unique key does.
            if self._param(event.model, trail, key) is None:
                raise
            raise Conflict(f"event {event.seq} of model {event.model!r} was written by "
                           "someone else first") from exc
        # MLflow accepts logging a param's value again; the claim id makes this value ours
        # alone, so an accepted log is our claim.
        cache = self._cache(trail)
        with self._lock:
            cache.events[event.seq] = event

    def _param(self, name: str, trail: str, key: str) -> str | None:
        with mlflow_errors(f"reading trail run {trail}"):
            run = self.client._tracking_client.store.get_run(trail)
        self._take_run(name, trail, self._cache(trail), run)
        return run.data.params.get(key)

    # -- stages and aliases mirrored onto MLflow aliases ------------------------------------

    def _mirror(self, name: str, trail: str, aliases: dict[str, str]) -> None:
        """Apply the events not yet mirrored to MLflow's aliases and stage tags; again while
        others appended meanwhile (the trail is the truth, the aliases follow it).
        ``aliases`` is MLflow's alias -> version number as read before the claim."""
        cache = self._cache(trail)
        writes = _ClientWrites(self.client)
        for _ in range(10):
            with self._lock:
                todo = [e for e in cache.sorted_events() if e.seq > cache.mirrored]
            if not todo:
                return
            numbers = self._numbers_for(name, todo)
            for event in todo:
                self._apply(name, event, numbers, aliases, writes)
            try:
                with mlflow_errors(f"marking the history of {name!r} mirrored"):
                    self.client.set_tag(trail, MIRRORED_TAG, str(todo[-1].seq))
            except StoreError as exc:
                # MLflow's SQL store inserts a tag it read as absent: two writers marking at
                # once collide on the key. The other's mark stands; read it and go on.
                if "IntegrityError" not in f"{type(exc.__cause__).__name__} {exc}":
                    raise
                self._read_trail(name, trail)
                continue
            with self._lock:
                cache.mirrored = todo[-1].seq
            # Did someone append (or mark) meanwhile? Then read again and go on.
            self._read_trail(name, trail)
            aliases = self._aliases(name) if cache.mirrored < cache.last else aliases

    def _numbers_for(self, name: str, events: list[RegistryEvent]) -> dict[str, int]:
        """Semantic version -> MLflow number for the versions ``events`` change: from the
        claims this store saw, else one listing of the model's versions."""
        wanted = {c.version for e in events for c in e.changes}
        wanted |= {e.payload["version"] for e in events
                   if e.action == "tag" and e.payload.get("version")}
        with self._lock:
            known = dict(self._numbers.get(name, {}))
        for core in sorted(wanted - known.keys()):
            found = self._tagged(name, core)  # one look-up by tag: a version just registered
            if found is None:  # a version plain MLflow code registered
                return {listed.semver: listed.number for listed in self._listed(name)}
            known[core] = found.number
        return known

    def _aliases(self, name: str) -> dict[str, str]:
        """MLflow alias -> MLflow version number."""
        return {a: str(v) for a, v in (self._registered(name).aliases or {}).items()}

    def _apply(self, name: str, event: RegistryEvent, numbers: dict[str, int],
               aliases: dict[str, str], writes: Writer | _ClientWrites) -> None:
        """Mirror ``event`` through ``writes``; ``aliases`` (alias -> number) is kept up to
        date, so an alias already where it belongs costs no write."""
        for change in event.changes:
            number = numbers.get(change.version)
            if number is None:
                continue  # a version MLflow does not hold
            if change.field == "stage":
                after = change.after or Stage.DEVELOPMENT.value
                writes.set_tag(name, number, STAGE_TAG, after)
                for alias in (_PRODUCTION, _STAGING):
                    if after == alias:
                        _set_alias(writes, name, alias, number, aliases)
                    elif change.before == alias:
                        _drop_alias(writes, name, alias, number, aliases)
            elif change.field.startswith("alias:"):
                alias = change.field.split(":", 1)[1]
                if change.after is not None:
                    _set_alias(writes, name, alias, number, aliases)
                else:
                    _drop_alias(writes, name, alias, number, aliases)
        if event.action == "tag":
            _mirror_tags(writes, name, event.payload, numbers)

    def _sync_event(self, name: str, rm: Any, events: list[RegistryEvent],
                    seq: int) -> RegistryEvent | None:
        """An event recording the aliases plain MLflow code set that the trail does not say,
        or None when MLflow's aliases agree with the trail."""
        aliases = dict(rm.aliases or {})
        if not aliases:
            return None
        by_number = self._semvers.get(name, {})
        if any(str(n) not in by_number for n in aliases.values()):
            by_number = {str(x.number): x.semver for x in self._listed(name)}
            self._semvers[name] = by_number
        stages, holders = _fold(events)
        changes: list[Change] = []
        for alias, number in sorted(aliases.items()):
            version = by_number.get(str(number))
            if version is None:
                continue
            if alias in (_PRODUCTION, _STAGING):
                before = stages.get(version, Stage.DEVELOPMENT.value)
                if before == alias:
                    continue
                changes.append(Change(version, "stage", before, alias))
                stages[version] = alias
                if alias == _PRODUCTION:
                    for other, stage in sorted(stages.items()):
                        if other != version and stage == _PRODUCTION:
                            changes.append(Change(other, "stage", _PRODUCTION,
                                                  Stage.ARCHIVED.value))
                            stages[other] = Stage.ARCHIVED.value
                continue
            try:
                check_alias(alias)
            except InvalidInput:
                continue  # not a name modelops takes as an alias
            holder = holders.get(alias)
            if holder == version:
                continue
            if holder is not None:
                changes.append(Change(holder, f"alias:{alias}", alias, None))
            changes.append(Change(version, f"alias:{alias}", None, alias))
            holders[alias] = version
        if not changes:
            return None
        return RegistryEvent(model=name, seq=seq, action="sync", changes=tuple(changes),
                             actor="mlflow", timestamp=int(rm.last_updated_timestamp or 0),
                             reason="aliases set in MLflow outside modelops")


class _ClientWrites:
    """The writes of mirroring, each a call of MLflow's registry client: the one under
    ``MlflowClient``, whose methods first ask whether the model is a prompt (one more
    request each through a server; a modelops model never is)."""

    def __init__(self, client: Any) -> None:
        self.registry = client._get_registry_client()

    def set_tag(self, name: str, number: int | None, key: str, value: str) -> None:
        with mlflow_errors(f"mirroring the tag {key!r} of {name} {number or ''}"):
            if number is None:
                self.registry.set_registered_model_tag(name, key, value)
            else:
                self.registry.set_model_version_tag(name, str(number), key, value)

    def delete_tag(self, name: str, number: int | None, key: str) -> None:
        try:
            with mlflow_errors(f"removing the tag {key!r} of {name} {number or ''}"):
                if number is None:
                    self.registry.delete_registered_model_tag(name, key)
                else:
                    self.registry.delete_model_version_tag(name, str(number), key)
        except NotFound:
            pass  # not there: nothing to remove

    def set_alias(self, name: str, alias: str, number: int) -> None:
        with mlflow_errors(f"setting alias {alias!r} of {name}"):
            self.registry.set_registered_model_alias(name, alias, str(number))

    def delete_alias(self, name: str, alias: str) -> None:
        with mlflow_errors(f"removing alias {alias!r} of {name}"):
            self.registry.delete_registered_model_alias(name, alias)


def _mirror_tags(writes: Writer | _ClientWrites, name: str, payload: Mapping[str, Any],
                 numbers: dict[str, int]) -> None:
    """Mirror a ``tag`` event onto MLflow's version (or model) tags. Keys the store keeps for
    itself and tags MLflow refuses are left to the history alone."""
    from mlflow.exceptions import MlflowException
    from mlflow.utils.validation import (
        _validate_model_version_tag,
        _validate_registered_model_tag,
        _validate_tag_name,
    )

    version = payload.get("version")
    number = numbers.get(version) if version else None
    if version and number is None:
        return  # a version MLflow does not hold
    own = _internal_version_tag if number is not None else (
        lambda key: key in (MODEL_TAG, TRAIL_TAG))
    for key, value in dict(payload.get("set") or {}).items():
        try:
            if number is not None:
                _validate_model_version_tag(key, value)
            else:
                _validate_registered_model_tag(key, value)
        except MlflowException:
            continue
        if not own(key):
            writes.set_tag(name, number, key, value)
    for key in payload.get("unset") or ():
        try:
            _validate_tag_name(key)
        except MlflowException:
            continue
        if not own(key):
            writes.delete_tag(name, number, key)


def _set_alias(writes: Writer | _ClientWrites, name: str, alias: str, number: int,
               aliases: dict[str, str]) -> None:
    if aliases.get(alias) == str(number):
        return
    try:
        writes.set_alias(name, alias, number)
    except InvalidInput:
        return  # a name MLflow refuses as an alias; the trail still holds it
    aliases[alias] = str(number)


def _drop_alias(writes: Writer | _ClientWrites, name: str, alias: str, number: int,
                aliases: dict[str, str]) -> None:
    if aliases.get(alias) != str(number):
        return
    writes.delete_alias(name, alias)
    del aliases[alias]


def _fold(events: list[RegistryEvent]) -> tuple[dict[str, str], dict[str, str]]:
    """Stages (version -> stage) and aliases (alias -> version) after ``events``."""
    stages: dict[str, str] = {}
    aliases: dict[str, str] = {}
    for event in events:
        for change in event.changes:
            if change.field == "stage":
                stages[change.version] = change.after or Stage.DEVELOPMENT.value
            elif change.field.startswith("alias:"):
                alias = change.field.split(":", 1)[1]
                if change.after is None:
                    if aliases.get(alias) == change.version:
                        del aliases[alias]
                else:
                    aliases[alias] = change.version
    return stages, aliases

