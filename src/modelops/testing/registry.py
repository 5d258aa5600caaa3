"""``RegistryStoreSuite``: the conformance tests every ``RegistryStore`` must pass.

A backend author subclasses the suite in a test module and provides a ``store`` fixture
returning a fresh, empty store::

    import pytest
    from modelops.testing import RegistryStoreSuite, StoreCapabilities

    class TestMyRegistryStore(RegistryStoreSuite):
        capabilities = StoreCapabilities(concurrent_processes=False)

        @pytest.fixture
        def store(self, tmp_path):
            store = MyRegistryStore(tmp_path)
            yield store
            store.close()

The suite talks to the store only through the ``RegistryStore`` interface — models, versions
with their files, and the append-only event trail — so it runs unchanged against any
backend. It checks the contract written on ``RegistryStore``: exclusive claims of
``(name, version)`` and of ``(model, seq)``, versions that become visible only whole, files
copied byte for byte, events that round-trip every field, and ``NotFound`` for unknown
models and versions.

Capabilities come from ``StoreCapabilities`` (shared with ``TrackingStoreSuite``); the ones
this suite uses are ``concurrent_threads``, ``reopen`` and ``concurrent_processes``
(``artifacts`` and ``purge`` do not apply to registry stores). A missing capability turns
the tests needing it into a named ``pytest.skip``. To mark a test as a known failure of one
backend, override it in the subclass with a ``pytest.mark.xfail`` and call ``super()``.

This module needs pytest (it is a pytest test class); it does not need hypothesis.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs
import pytest

from modelops.entities.datasets import Dataset
from modelops.entities.registry import (
    ArtifactFile,
    Change,
    Decision,
    Lineage,
    ModelVersion,
    RegisteredModel,
    RegistryEvent,
)
from modelops.entities.registry_codec import to_data
from modelops.entities.validators import MAX_NAME_LENGTH
from modelops.errors import AlreadyExists, Conflict, InvalidInput, NotFound
from modelops.stores import RegistryStore
from modelops.testing.base import StoreCapabilities, StoreSuite, in_threads
from modelops.testing.tracking import AWKWARD_NAMES

__all__ = [
    "AWKWARD_MODEL_NAMES",
    "RegistryStoreSuite",
    "StoreCapabilities",
    "artifact_files",
    "read_tree",
    "write_files",
]

#: A creation time (epoch ms) the suite gives its records.
T0 = 1_700_000_000_000

#: Valid model names that are awkward for stores mapping names to paths, keys or URLs.
AWKWARD_MODEL_NAMES: tuple[str, ...] = tuple(n for n in AWKWARD_NAMES if "@" not in n)

_counter = itertools.count()


def write_files(directory: str | os.PathLike[str], contents: Mapping[str, bytes]) -> dict[str, str]:
    """Write ``contents`` (relative path -> bytes) under a new folder of ``directory``;
    return the mapping ``create_version`` takes (relative path -> local path)."""
    root = Path(directory) / f"src-{next(_counter)}"
    out = {}
    for rel, data in contents.items():
        local = root.joinpath(*rel.split("/"))
        local.parent.mkdir(parents=True, exist_ok=True)
        local.write_bytes(data)
        out[rel] = str(local)
    return out


def read_tree(directory: str | os.PathLike[str]) -> dict[str, bytes]:
    """Every file below ``directory`` as relative path ('/'-separated) -> bytes."""
    out = {}
    for dirpath, _, names in os.walk(directory):
        for name in names:
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, directory).replace(os.sep, "/")
            with open(path, "rb") as f:
                out[rel] = f.read()
    return out


def artifact_files(contents: Mapping[str, bytes]) -> tuple[ArtifactFile, ...]:
    """The ``ArtifactFile`` records (sha256, size) of ``contents``, sorted by path."""
    return tuple(ArtifactFile(rel, hashlib.sha256(data).hexdigest(), len(data))
                 for rel, data in sorted(contents.items()))




class _FailsMidway(Mapping[str, str]):
    """A files mapping whose second item raises while the store is reading it."""

    def __init__(self, files: Mapping[str, str]) -> None:
        self._files = dict(files)

    def __iter__(self) -> Iterator[str]:
        return iter(self._files)

    def __len__(self) -> int:
        return len(self._files)

    def __getitem__(self, key: str) -> str:
        if key != next(iter(self._files)):
            raise RuntimeError("the files mapping failed midway")
        return self._files[key]


_CHILD_SCRIPT = textwrap.dedent("""
    import json, os, sys, time
    from modelops.client import open_store
    from modelops.entities.registry import (
        ArtifactFile, ModelVersion, RegisteredModel, RegistryEvent)
    from modelops.errors import AlreadyExists, Conflict
    from modelops.uri import parse_uri
    import hashlib

    uri, name, barrier, workdir, index, count, versions = sys.argv[1:8]
    index, count, versions = int(index), int(count), versions.split(",")
    store = open_store("registry", parse_uri(uri))
    files = {}
    for v in versions:
        data = f"process {index} version {v}".encode() * 100
        local = os.path.join(workdir, f"{index}-{v}.bin")
        with open(local, "wb") as f:
            f.write(data)
        files[v] = (local, ArtifactFile("w.bin", hashlib.sha256(data).hexdigest(), len(data)))
    open(os.path.join(barrier, str(index)), "w").close()
    deadline = time.monotonic() + 60
    while len(os.listdir(barrier)) < count and time.monotonic() < deadline:
        time.sleep(0.001)
    try:
        store.create_model(RegisteredModel(name=name, creator=f"process {index}"))
        model_won = True
    except AlreadyExists:
        model_won = False
    won = []
    for v in versions:
        local, record = files[v]
        try:
            store.create_version(
                ModelVersion(name=name, version=v, files=(record,), size=record.size,
                             creator=f"process {index}"),
                {"w.bin": local})
            won.append(v)
        except AlreadyExists:
            pass
    try:
        store.append_event(RegistryEvent(model=name, seq=1, action="tag",
                                         payload={"writer": index}))
        event_won = True
    except Conflict:
        event_won = False
    store.close()
    print(json.dumps({"model": model_won, "versions": won, "event": event_won}))
""")


class RegistryStoreSuite(StoreSuite):
    """Conformance tests of the ``RegistryStore`` contract.

    Subclass it as ``class TestMyStore(RegistryStoreSuite)`` and define a ``store`` fixture
    that returns a fresh, empty store (tearing it down after the test, if needed). Set
    ``capabilities`` to a ``StoreCapabilities`` to skip what the backend does not support.
    The class name has no ``Test`` prefix, so pytest collects it only through subclasses.
    """

    # -- fixtures and helpers -------------------------------------------------------------

    @pytest.fixture
    def store(self) -> RegistryStore:
        """Overridden by the subclass: a fresh, empty RegistryStore."""
        pytest.fail(f"{type(self).__name__} must define a `store` fixture returning a fresh, "
                    "empty RegistryStore")

    @pytest.fixture
    def model(self, store: RegistryStore) -> RegisteredModel:
        """A model named ``fraud``."""
        return store.create_model(self.new_model("fraud"))

    def open_again(self, store: RegistryStore) -> RegistryStore:
        """A second handle on the same data, as another process would open it."""
        from modelops.client import open_store
        from modelops.uri import parse_uri

        other = open_store("registry", parse_uri(self.store_uri(store)))
        assert other is not None, f"no registry store at {self.store_uri(store)}"
        return other

    @staticmethod
    def new_model(name: str, **kwargs: Any) -> RegisteredModel:
        fields: dict[str, Any] = {"created_time": T0, "creator": "alice",
                                  "description": "a model", "tags": {"team": "ml"}}
        return RegisteredModel(name=name, **{**fields, **kwargs})

    @staticmethod
    def new_version(name: str, version: str, contents: Mapping[str, bytes],
                    **kwargs: Any) -> ModelVersion:
        """A version record whose ``files`` and ``size`` describe ``contents``."""
        files = artifact_files(contents)
        fields: dict[str, Any] = {
            "run_id": "0" * 31 + "1", "metrics": {"f1": 0.91, "auc": 1 / 3},
            "params": {"C": "0.1"}, "framework": "sklearn", "flavor": "joblib",
            "created_time": T0, "creator": "alice",
        }
        return ModelVersion(name=name, version=version, files=files,
                            size=sum(f.size for f in files), **{**fields, **kwargs})

    def put_version(self, store: RegistryStore, tmp_path: Path, name: str, version: str,
                    contents: Mapping[str, bytes], **kwargs: Any) -> ModelVersion:
        """Write ``contents`` to local files and create the version from them."""
        record = self.new_version(name, version, contents, **kwargs)
        return store.create_version(record, write_files(tmp_path, contents))

    @staticmethod
    def download(store: RegistryStore, tmp_path: Path, name: str,
                 version: str) -> dict[str, bytes]:
        """Download a version into a new folder and read every file back."""
        dst = tmp_path / f"dst-{next(_counter)}"
        assert store.download_version(name, version, str(dst)) == str(dst)
        return read_tree(dst)

    @staticmethod
    def new_event(model: str, seq: int, action: str = "tag", **kwargs: Any) -> RegistryEvent:
        fields: dict[str, Any] = {"actor": "alice", "timestamp": T0 + seq}
        return RegistryEvent(model=model, seq=seq, action=action, **{**fields, **kwargs})

    @staticmethod
    def versions_of(store: RegistryStore, name: str) -> dict[str, ModelVersion]:
        """``list_versions`` as version -> record, checking no version is listed twice."""
        listed = store.list_versions(name)
        out = {v.version: v for v in listed}
        assert len(out) == len(listed), f"a version is listed twice: {listed}"
        return out

    # -- the store object -----------------------------------------------------------------

    def test_store_is_a_registry_store(self, store: RegistryStore) -> None:
        """The fixture yields a RegistryStore whose ``uri`` is a string."""
        assert isinstance(store, RegistryStore)
        assert isinstance(store.uri, str)

    def test_fresh_store_is_empty(self, store: RegistryStore) -> None:
        """A fresh store lists no models."""
        assert store.list_models() == []

    # -- models ---------------------------------------------------------------------------

    def test_create_model_returns_it(self, store: RegistryStore) -> None:
        """``create_model`` returns the record given; ``get_model`` returns it again with
        every field (creation time, creator, description, tags)."""
        record = self.new_model("fraud", tags={"team": "ml", "é": "ü"})
        assert store.create_model(record) == record
        assert store.get_model("fraud") == record
        assert store.list_models() == [record]

    def test_duplicate_model_raises_already_exists(self, store: RegistryStore) -> None:
        """A second ``create_model`` with a taken name raises AlreadyExists and leaves the
        first record as it was."""
        first = store.create_model(self.new_model("fraud"))
        with pytest.raises(AlreadyExists):
            store.create_model(self.new_model("fraud", creator="bob", description="other"))
        assert store.get_model("fraud") == first
        assert store.list_models() == [first]

    def test_get_unknown_model_raises_not_found(self, store: RegistryStore) -> None:
        """``get_model`` of a name never created raises NotFound (also when others exist)."""
        with pytest.raises(NotFound):
            store.get_model("nope")
        store.create_model(self.new_model("fraud"))
        with pytest.raises(NotFound):
            store.get_model("nope")
        with pytest.raises(NotFound):
            store.get_model("Fraud")

    def test_model_names_are_case_sensitive(self, store: RegistryStore) -> None:
        """``Fraud`` and ``fraud`` are two models."""
        store.create_model(self.new_model("fraud"))
        store.create_model(self.new_model("Fraud", creator="bob"))
        assert store.get_model("Fraud").creator == "bob"
        assert store.get_model("fraud").creator == "alice"
        assert len(store.list_models()) == 2

    def test_list_models_sorted_by_name(self, store: RegistryStore) -> None:
        """``list_models`` returns every model sorted by name, whatever the creation
        order."""
        names = ["m-b", "M-a", "m-a", "z", "a.b", "a b", "0"]
        for name in names:
            store.create_model(self.new_model(name))
        assert [m.name for m in store.list_models()] == sorted(names)

    def test_list_models_sorted_with_long_and_non_ascii_names(
            self, store: RegistryStore) -> None:
        """Sorted by name also when names are long (up to the length limit) or non-ASCII,
        which stores mapping names to file names may have to shorten."""
        names = ["b", "a" * MAX_NAME_LENGTH, "a" * 150 + "é" * 30, "é" * 101, "z",
                 "名" * MAX_NAME_LENGTH, "y" * 199 + "😀"]
        for name in names:
            store.create_model(self.new_model(name))
        assert [m.name for m in store.list_models()] == sorted(names)

    @pytest.mark.parametrize("name", [
        *AWKWARD_MODEL_NAMES, "x" * MAX_NAME_LENGTH, "é" * MAX_NAME_LENGTH,
        "😀" * MAX_NAME_LENGTH, ".hidden", "..x", "x~y", "versions", "events", "model.json",
    ])
    def test_awkward_valid_model_names(self, store: RegistryStore, tmp_path: Path,
                                       name: str) -> None:
        """A valid but awkward model name (spaces, dots, glob and URL characters, non-ASCII,
        the length limit, names of the layout's own files) works for models, versions and
        events."""
        store.create_model(self.new_model(name))
        assert store.get_model(name).name == name
        assert [m.name for m in store.list_models()] == [name]
        stored = self.put_version(store, tmp_path, name, "1.0.0", {"w.bin": b"weights"})
        assert store.get_version(name, "1.0.0") == stored
        assert list(self.versions_of(store, name)) == ["1.0.0"]
        assert self.download(store, tmp_path, name, "1.0.0") == {"w.bin": b"weights"}
        event = store.append_event(self.new_event(name, 1))
        assert store.list_events(name) == [event]

    # -- versions: create, get, list ------------------------------------------------------

    def test_create_version_returns_record_with_location(self, store: RegistryStore,
                                                         model: RegisteredModel,
                                                         tmp_path: Path) -> None:
        """``create_version`` returns the record given with ``artifact_location`` filled in
        (a non-empty string); every other field is as given."""
        record = self.new_version("fraud", "1.0.0", {"w.bin": b"w"})
        stored = store.create_version(record, write_files(tmp_path, {"w.bin": b"w"}))
        assert isinstance(stored.artifact_location, str) and stored.artifact_location
        assert attrs.evolve(stored, artifact_location="") == record

    def test_get_version_returns_the_stored_record(self, store: RegistryStore,
                                                   model: RegisteredModel,
                                                   tmp_path: Path) -> None:
        """``get_version`` returns exactly the record ``create_version`` returned."""
        stored = self.put_version(store, tmp_path, "fraud", "1.0.0", {"w.bin": b"w"})
        assert store.get_version("fraud", "1.0.0") == stored
        assert store.get_version("fraud", "1.0.0").artifact_location == \
            stored.artifact_location

    def test_version_record_round_trips_every_field(self, store: RegistryStore,
                                                    model: RegisteredModel,
                                                    tmp_path: Path) -> None:
        """Metrics, params, framework, flavor, files with digests, size, times, creator,
        lineage (its datasets too), flavor metadata (nested), description, tags and
        requirements come back unchanged."""
        contents = {"model.joblib": b"\x80\x04pickle", "meta/info.json": b"{}"}
        record = self.new_version(
            "fraud", "2.1.0-rc.1", contents,
            metrics={"f1": 0.1, "auc": 1 / 3, "big": 1.7976931348623157e308,
                     "tiny": 5e-324, "neg": -0.0, "loss": math.inf, "gain": -math.inf},
            params={"C": "1.0", "note": "multi\nline é 😀", "empty": ""},
            framework="sklearn", flavor="joblib", created_time=T0 + 7, creator="Zoë",
            lineage=Lineage(parent_version="2.0.0", training_data="s3://lake/x.parquet",
                            notes="retrained", datasets=[
                                Dataset(name="training", digest="ab" * 32, rows=1_000,
                                        source="s3://lake/x.parquet", run_id="r1",
                                        logged_time=T0),
                                Dataset(name="holdout é", digest="cd" * 32, rows=0,
                                        context="evaluation")]),
            flavor_meta={"file": "model.joblib", "class": "sklearn.X",
                         "nested": {"k": [1, 2.5, None, True, "s"]}, "n": 3},
            description="candidate — better recall", tags={"team": "ml", "modelops.build": "7"},
            requirements={"python": "3.11.7", "scikit-learn": "1.5.2", "numpy": "2.0.0rc1"},
        )
        stored = store.create_version(record, write_files(tmp_path, contents))
        got = store.get_version("fraud", "2.1.0-rc.1")
        assert got == stored
        assert attrs.evolve(got, artifact_location="") == record
        assert got.files == artifact_files(contents)
        assert got.lineage == record.lineage
        assert dict(got.flavor_meta) == dict(record.flavor_meta)

    def test_signature_and_input_example_round_trip(self, store: RegistryStore,
                                                    model: RegisteredModel,
                                                    tmp_path: Path) -> None:
        """A version's input signature and example come back as registered; a version
        registered without them reads back with none."""
        signature = {"version": 1, "columns": [
            {"name": "amount", "kind": "numeric", "dtype": "float", "nullable": True,
             "min": -1.5, "max": 2.0, "categories": None, "allow_new_categories": False},
            {"name": "country", "kind": "categorical", "dtype": "str", "nullable": False,
             "min": None, "max": None, "categories": ["de", "fr"],
             "allow_new_categories": False}]}
        example = [{"amount": 1.25, "country": "fr"}, {"amount": None, "country": "de"}]
        self.put_version(store, tmp_path, "fraud", "1.0.0", {"w": b"w"},
                         signature=signature, input_example=example)
        self.put_version(store, tmp_path, "fraud", "1.0.1", {"w": b"v"})
        got = store.get_version("fraud", "1.0.0")
        assert got.signature == signature
        assert [dict(r) for r in got.input_example] == example
        plain = store.get_version("fraud", "1.0.1")
        assert plain.signature is None and plain.input_example == ()

    def test_nan_metric_round_trips(self, store: RegistryStore, model: RegisteredModel,
                                    tmp_path: Path) -> None:
        """A NaN metric (the registry allows it with ``allow_nonfinite``) reads back as
        NaN."""
        self.put_version(store, tmp_path, "fraud", "1.0.0", {"w": b"w"},
                         metrics={"f1": math.nan, "ok": 1.0})
        got = store.get_version("fraud", "1.0.0").metrics
        assert math.isnan(got["f1"]) and got["ok"] == 1.0

    def test_duplicate_version_raises_already_exists_and_writes_nothing(
            self, store: RegistryStore, model: RegisteredModel, tmp_path: Path) -> None:
        """A second ``create_version`` of a taken ``(name, version)`` raises AlreadyExists;
        the listing, the record and the stored bytes stay the original's."""
        original = self.put_version(store, tmp_path, "fraud", "1.0.0",
                                    {"w.bin": b"original", "sub/x": b"1"})
        with pytest.raises(AlreadyExists):
            self.put_version(store, tmp_path, "fraud", "1.0.0",
                             {"w.bin": b"impostor", "extra.bin": b"2"}, creator="mallory")
        assert self.versions_of(store, "fraud") == {"1.0.0": original}
        assert store.get_version("fraud", "1.0.0") == original
        assert self.download(store, tmp_path, "fraud", "1.0.0") == \
            {"w.bin": b"original", "sub/x": b"1"}

    def test_versions_of_different_models_are_independent(self, store: RegistryStore,
                                                          tmp_path: Path) -> None:
        """The same version number in two models: two records, two sets of files."""
        store.create_model(self.new_model("a"))
        store.create_model(self.new_model("b"))
        va = self.put_version(store, tmp_path, "a", "1.0.0", {"w.bin": b"A"})
        vb = self.put_version(store, tmp_path, "b", "1.0.0", {"w.bin": b"B", "b.txt": b"b"})
        assert store.get_version("a", "1.0.0") == va
        assert store.get_version("b", "1.0.0") == vb
        assert self.download(store, tmp_path, "a", "1.0.0") == {"w.bin": b"A"}
        assert self.download(store, tmp_path, "b", "1.0.0") == {"w.bin": b"B", "b.txt": b"b"}
        assert list(self.versions_of(store, "a")) == ["1.0.0"]

    def test_versions_of_one_model_keep_their_own_files(self, store: RegistryStore,
                                                        model: RegisteredModel,
                                                        tmp_path: Path) -> None:
        """Versions with the same file paths keep their own bytes."""
        for i, version in enumerate(["1.0.0", "1.0.1", "1.1.0"]):
            self.put_version(store, tmp_path, "fraud", version, {"w.bin": bytes([i]) * 10})
        for i, version in enumerate(["1.0.0", "1.0.1", "1.1.0"]):
            assert self.download(store, tmp_path, "fraud", version) == \
                {"w.bin": bytes([i]) * 10}

    def test_list_versions_returns_every_record(self, store: RegistryStore,
                                                model: RegisteredModel,
                                                tmp_path: Path) -> None:
        """``list_versions`` returns each stored record once (in any order), pre-releases
        included."""
        versions = ["1.0.0", "1.0.0-rc.1", "1.0.0-alpha.beta-1", "1.10.0", "1.2.0", "0.0.1",
                    "10.0.0-0"]
        stored = {v: self.put_version(store, tmp_path, "fraud", v, {"w": v.encode()})
                  for v in versions}
        assert self.versions_of(store, "fraud") == stored

    def test_list_versions_of_model_without_versions(self, store: RegistryStore,
                                                     model: RegisteredModel) -> None:
        """A model with no version lists none."""
        assert store.list_versions("fraud") == []

    def test_long_prerelease_version(self, store: RegistryStore, model: RegisteredModel,
                                     tmp_path: Path) -> None:
        """A valid semantic version far longer than a file name (a 300-character
        pre-release) can be stored, read and downloaded."""
        version = "1.0.0-" + ".".join(["build"] * 50) + "-" + "x" * 50
        stored = self.put_version(store, tmp_path, "fraud", version, {"w": b"w"})
        assert store.get_version("fraud", version) == stored
        assert list(self.versions_of(store, "fraud")) == [version]
        assert self.download(store, tmp_path, "fraud", version) == {"w": b"w"}

    # -- versions: files ------------------------------------------------------------------

    def test_download_copies_bytes_exactly(self, store: RegistryStore,
                                           model: RegisteredModel, tmp_path: Path) -> None:
        """``download_version`` copies every file (nested paths, an empty file, every byte
        value, 1 MB of random bytes) byte for byte, and nothing else."""
        contents = {
            "model.joblib": bytes(range(256)) * 4,
            "empty.bin": b"",
            "sub/w.bin": b"\x00\xff" * 100,
            "sub/deeper/notes.txt": "é😀\r\n\n".encode(),
            "big.bin": os.urandom(1 << 20),
            ".hidden": b"dot",
        }
        self.put_version(store, tmp_path, "fraud", "1.0.0", contents)
        assert self.download(store, tmp_path, "fraud", "1.0.0") == contents

    def test_read_version_file_returns_one_file_exactly(self, store: RegistryStore,
                                                        model: RegisteredModel,
                                                        tmp_path: Path) -> None:
        """``read_version_file`` gives one file's stored bytes; a path the version does not
        have raises ``FileNotFoundError``."""
        contents = {"model.joblib": bytes(range(256)) * 4, "sub/w.bin": b"w", "e": b""}
        self.put_version(store, tmp_path, "fraud", "1.0.0", contents)
        for path, data in contents.items():
            assert store.read_version_file("fraud", "1.0.0", path) == data
        with pytest.raises(FileNotFoundError):
            store.read_version_file("fraud", "1.0.0", "absent.bin")

    def test_download_creates_missing_destination(self, store: RegistryStore,
                                                  model: RegisteredModel,
                                                  tmp_path: Path) -> None:
        """The destination directory (and its parents) is created if needed, and
        ``download_version`` returns it."""
        self.put_version(store, tmp_path, "fraud", "1.0.0", {"sub/w.bin": b"w"})
        dst = tmp_path / "not" / "yet" / "there"
        assert store.download_version("fraud", "1.0.0", str(dst)) == str(dst)
        assert read_tree(dst) == {"sub/w.bin": b"w"}

    def test_download_into_existing_directory(self, store: RegistryStore,
                                              model: RegisteredModel, tmp_path: Path) -> None:
        """Downloading into an existing, empty directory fills it."""
        self.put_version(store, tmp_path, "fraud", "1.0.0", {"w.bin": b"w", "a/b": b"b"})
        dst = tmp_path / "existing"
        dst.mkdir()
        store.download_version("fraud", "1.0.0", str(dst))
        assert read_tree(dst) == {"w.bin": b"w", "a/b": b"b"}

    def test_download_version_with_no_files(self, store: RegistryStore,
                                            model: RegisteredModel, tmp_path: Path) -> None:
        """A version with no files (say, an empty directory registered with the ``path``
        flavor) downloads as an empty directory."""
        self.put_version(store, tmp_path, "fraud", "1.0.0", {})
        dst = tmp_path / "empty"
        assert store.download_version("fraud", "1.0.0", str(dst)) == str(dst)
        assert dst.is_dir() and read_tree(dst) == {}

    def test_identical_files_are_kept_apart(self, store: RegistryStore,
                                            model: RegisteredModel, tmp_path: Path) -> None:
        """Identical bytes under several paths, in several versions and in two models (a
        store may keep them once) download whole for each of them."""
        store.create_model(self.new_model("other"))
        same = {"a.bin": b"same", "sub/b.bin": b"same", "c.bin": b""}
        self.put_version(store, tmp_path, "fraud", "1.0.0", same)
        self.put_version(store, tmp_path, "fraud", "1.0.1", {"a.bin": b"same", "d": b""})
        self.put_version(store, tmp_path, "other", "1.0.0", {"z.bin": b"same"})
        assert self.download(store, tmp_path, "fraud", "1.0.0") == same
        assert self.download(store, tmp_path, "fraud", "1.0.1") == {"a.bin": b"same", "d": b""}
        assert self.download(store, tmp_path, "other", "1.0.0") == {"z.bin": b"same"}

    def test_a_wrong_recorded_digest_spoils_no_other_version(self, store: RegistryStore,
                                                             model: RegisteredModel,
                                                             tmp_path: Path) -> None:
        """Each version downloads the bytes it was created with, whatever digests records
        hold: a record whose digest does not match its file (say, a file rewritten while it
        was being registered) changes nothing another version downloads."""
        real, rewritten = b"the real weights", b"rewritten during register"
        lying = self.new_version("fraud", "1.0.0", {"w.bin": real})  # the digest of `real`
        store.create_version(lying, write_files(tmp_path, {"w.bin": rewritten}))
        self.put_version(store, tmp_path, "fraud", "1.0.1", {"w.bin": real})
        assert self.download(store, tmp_path, "fraud", "1.0.1") == {"w.bin": real}
        # What was stored, byte for byte: the registry's digest check will refuse it.
        assert self.download(store, tmp_path, "fraud", "1.0.0") == {"w.bin": rewritten}

    def test_path_like_digests_change_nothing_else(self, store: RegistryStore,
                                                   tmp_path: Path) -> None:
        """A record whose file digest is no sha256 but a path (``../events/…``), with bytes
        that are a record's JSON, is refused with InvalidInput or kept as plain data: no
        event, version or model appears that was not created, and the version downloads
        its own bytes."""
        hostile = {
            "../events/000000000001.json": to_data(self.new_event("m0", 1, "promote")),
            "../versions/9.9.9.json": to_data(self.new_version("m1", "9.9.9", {})),
            "../../intruder/model.json": to_data(self.new_model("intruder")),
            "../model.json": to_data(self.new_model("m3", creator="mallory")),
        }
        created = []
        for i, (digest, document) in enumerate(hostile.items()):
            name = f"m{i}"
            created.append(store.create_model(self.new_model(name)))
            data = json.dumps(document).encode()
            try:
                # modelops refuses such a digest when the record is made; a backend's own
                # value objects might not, so the store must cope either way.
                record = ModelVersion(name=name, version="1.0.0",
                                      files=(ArtifactFile("w.json", digest, len(data)),),
                                      size=len(data))
                store.create_version(record, write_files(tmp_path, {"w.json": data}))
            except InvalidInput:
                self._assert_nothing_visible(store, tmp_path, name, "1.0.0")
                continue
            assert store.list_events(name) == [], digest
            assert list(self.versions_of(store, name)) == ["1.0.0"], digest
            assert self.download(store, tmp_path, name, "1.0.0") == {"w.json": data}, digest
            assert store.get_model(name) == created[-1], digest
        assert store.list_models() == created

    def test_stored_files_do_not_follow_the_local_files(self, store: RegistryStore,
                                                        model: RegisteredModel,
                                                        tmp_path: Path) -> None:
        """The store keeps a copy: changing or removing the local files afterwards changes
        nothing stored."""
        local = write_files(tmp_path, {"w.bin": b"before"})
        store.create_version(self.new_version("fraud", "1.0.0", {"w.bin": b"before"}), local)
        Path(local["w.bin"]).write_bytes(b"after!")
        assert self.download(store, tmp_path, "fraud", "1.0.0") == {"w.bin": b"before"}
        os.remove(local["w.bin"])
        assert self.download(store, tmp_path, "fraud", "1.0.0") == {"w.bin": b"before"}

    # -- versions: failed creates ---------------------------------------------------------

    def _assert_nothing_visible(self, store: RegistryStore, tmp_path: Path, name: str,
                                version: str) -> None:
        assert version not in self.versions_of(store, name)
        with pytest.raises(NotFound):
            store.get_version(name, version)
        dst = tmp_path / f"dst-{next(_counter)}"
        with pytest.raises(NotFound):
            store.download_version(name, version, str(dst))
        assert not dst.exists() or read_tree(dst) == {}

    def _create_fails(self, store: RegistryStore, record: ModelVersion,
                      files: Mapping[str, str]) -> None:
        with pytest.raises(Exception) as info:
            store.create_version(record, files)
        assert not isinstance(info.value, (AlreadyExists, NotFound)), info.value

    def test_missing_local_file_leaves_nothing_visible(self, store: RegistryStore,
                                                       model: RegisteredModel,
                                                       tmp_path: Path) -> None:
        """A create whose local file does not exist fails and leaves no version: not
        listed, not found; a retry with good files claims the same version."""
        record = self.new_version("fraud", "1.0.0", {"w.bin": b"w"})
        self._create_fails(store, record, {"w.bin": str(tmp_path / "does-not-exist")})
        self._assert_nothing_visible(store, tmp_path, "fraud", "1.0.0")
        stored = store.create_version(record, write_files(tmp_path, {"w.bin": b"w"}))
        assert self.versions_of(store, "fraud") == {"1.0.0": stored}
        assert self.download(store, tmp_path, "fraud", "1.0.0") == {"w.bin": b"w"}

    def test_second_file_missing_leaves_nothing_visible(self, store: RegistryStore,
                                                        model: RegisteredModel,
                                                        tmp_path: Path) -> None:
        """A create that fails at its second file (the first already stored) leaves no
        version and no stray file: the retry downloads exactly the retry's files."""
        contents = {"a.bin": b"a", "sub/b.bin": b"b"}
        record = self.new_version("fraud", "1.0.0", contents)
        files = write_files(tmp_path, contents)
        self._create_fails(store, record, {"a.bin": files["a.bin"],
                                           "sub/b.bin": str(tmp_path / "missing")})
        self._assert_nothing_visible(store, tmp_path, "fraud", "1.0.0")
        self.put_version(store, tmp_path, "fraud", "1.0.0", {"c.bin": b"c"})
        assert self.download(store, tmp_path, "fraud", "1.0.0") == {"c.bin": b"c"}

    def test_files_mapping_failing_midway_leaves_nothing_visible(
            self, store: RegistryStore, model: RegisteredModel, tmp_path: Path) -> None:
        """A files mapping that raises while being read (after its first file) propagates
        the error and leaves no version; a retry succeeds."""
        contents = {"a.bin": b"a", "b.bin": b"b"}
        record = self.new_version("fraud", "1.0.0", contents)
        files = write_files(tmp_path, contents)
        with pytest.raises(RuntimeError, match="midway"):
            store.create_version(record, _FailsMidway(files))
        self._assert_nothing_visible(store, tmp_path, "fraud", "1.0.0")
        stored = store.create_version(record, files)
        assert store.get_version("fraud", "1.0.0") == stored
        assert self.download(store, tmp_path, "fraud", "1.0.0") == contents

    def test_failed_create_leaves_other_versions_alone(self, store: RegistryStore,
                                                       model: RegisteredModel,
                                                       tmp_path: Path) -> None:
        """A failed create of one version changes nothing of the versions already
        stored."""
        first = self.put_version(store, tmp_path, "fraud", "1.0.0", {"w.bin": b"one"})
        self._create_fails(store, self.new_version("fraud", "1.0.1", {"w.bin": b"two"}),
                           {"w.bin": str(tmp_path / "missing")})
        assert self.versions_of(store, "fraud") == {"1.0.0": first}
        assert self.download(store, tmp_path, "fraud", "1.0.0") == {"w.bin": b"one"}

    # -- unknown models and versions ------------------------------------------------------

    def test_unknown_version_raises_not_found(self, store: RegistryStore,
                                              model: RegisteredModel, tmp_path: Path) -> None:
        """``get_version`` and ``download_version`` of a version never created raise
        NotFound, before and after the model has other versions."""
        dst = tmp_path / "dst"
        with pytest.raises(NotFound):
            store.get_version("fraud", "9.9.9")
        with pytest.raises(NotFound):
            store.download_version("fraud", "9.9.9", str(dst))
        self.put_version(store, tmp_path, "fraud", "1.0.0", {"w": b"w"})
        with pytest.raises(NotFound):
            store.get_version("fraud", "9.9.9")
        with pytest.raises(NotFound):
            store.get_version("fraud", "1.0.0-rc.1")
        with pytest.raises(NotFound):
            store.download_version("fraud", "9.9.9", str(dst))
        assert not dst.exists() or read_tree(dst) == {}

    def test_unknown_model_raises_not_found(self, store: RegistryStore,
                                            tmp_path: Path) -> None:
        """``get_version``, ``list_versions`` and ``download_version`` of a model never
        created raise NotFound."""
        with pytest.raises(NotFound):
            store.list_versions("nope")
        with pytest.raises(NotFound):
            store.get_version("nope", "1.0.0")
        with pytest.raises(NotFound):
            store.download_version("nope", "1.0.0", str(tmp_path / "dst"))

    def test_list_events_of_unknown_model_raises_not_found(self, store: RegistryStore) -> None:
        """``list_events`` of a model never created raises NotFound."""
        with pytest.raises(NotFound):
            store.list_events("nope")

    def test_append_event_to_unknown_model_raises_not_found(self,
                                                            store: RegistryStore) -> None:
        """``append_event`` for a model never created raises NotFound and creates nothing."""
        with pytest.raises(NotFound):
            store.append_event(self.new_event("nope", 1))
        assert store.list_models() == []

    def test_create_version_of_unknown_model_raises_not_found(self, store: RegistryStore,
                                                              tmp_path: Path) -> None:
        """``create_version`` under a model never created raises NotFound and leaves
        nothing that ``get_version`` could find."""
        with pytest.raises(NotFound):
            self.put_version(store, tmp_path, "nope", "1.0.0", {"w": b"w"})
        with pytest.raises(NotFound):
            store.get_version("nope", "1.0.0")

    # -- events ---------------------------------------------------------------------------

    def test_append_and_list_events_in_order(self, store: RegistryStore,
                                             model: RegisteredModel) -> None:
        """Events 1, 2, 3 appended are listed in sequence order; ``append_event`` returns
        the event."""
        events = [self.new_event("fraud", seq, action)
                  for seq, action in enumerate(["promote", "set_alias", "rollback"], 1)]
        for event in events:
            assert store.append_event(event) == event
        assert store.list_events("fraud") == events

    def test_events_listed_in_numeric_sequence_order(self, store: RegistryStore,
                                                     model: RegisteredModel) -> None:
        """Sequence order is numeric (2 before 10), whatever order they were appended in."""
        seqs = [3, 1, 12, 2, 10, 11, 4, 5, 6, 7, 8, 9, 100]
        for seq in seqs:
            store.append_event(self.new_event("fraud", seq))
        assert [e.seq for e in store.list_events("fraud")] == sorted(seqs)

    def test_list_events_of_model_without_events(self, store: RegistryStore,
                                                 model: RegisteredModel) -> None:
        """A model with no event lists none."""
        assert store.list_events("fraud") == []
        assert store.list_events("fraud", after_seq=5) == []

    def test_duplicate_seq_raises_conflict_and_changes_nothing(
            self, store: RegistryStore, model: RegisteredModel) -> None:
        """A second event with a taken sequence number raises Conflict; the trail keeps
        the first event (no fork)."""
        first = store.append_event(self.new_event("fraud", 1, "promote", reason="first"))
        second = store.append_event(self.new_event("fraud", 2, "archive"))
        for seq in (1, 2):
            with pytest.raises(Conflict):
                store.append_event(self.new_event("fraud", seq, "rollback", actor="mallory",
                                                  reason="fork"))
        assert store.list_events("fraud") == [first, second]

    @pytest.mark.parametrize("after", [0, 1, 2, 3, 4, 10])
    def test_list_events_after_seq(self, store: RegistryStore, model: RegisteredModel,
                                   after: int) -> None:
        """``list_events(after_seq=k)`` lists exactly the events with ``seq > k``."""
        events = [store.append_event(self.new_event("fraud", seq)) for seq in (1, 2, 3, 4)]
        assert store.list_events("fraud", after_seq=after) == \
            [e for e in events if e.seq > after]

    def test_read_version_reads_events_and_record_together(self, store: RegistryStore,
                                                           model: RegisteredModel,
                                                           tmp_path: Path) -> None:
        """``read_version`` answers what ``list_events`` and ``get_version`` would: the
        events after ``after_seq`` and the record, or None for a version the model lacks;
        an unknown model raises NotFound."""
        stored = self.put_version(store, tmp_path, "fraud", "1.0.0", {"w.bin": b"w"})
        events = [store.append_event(self.new_event("fraud", seq)) for seq in (1, 2, 3)]
        for after in (0, 2, 3):
            assert store.read_version("fraud", "1.0.0", after) == (events[after:], stored)
        assert store.read_version("fraud", "9.9.9", 1) == (events[1:], None)
        with pytest.raises(NotFound):
            store.read_version("no-such-model", "1.0.0")

    def test_events_round_trip_every_field(self, store: RegistryStore,
                                           model: RegisteredModel) -> None:
        """Changes (with absent before/after), a decision with deltas, payload (nested,
        non-ASCII, nulls), reason, actor and timestamp come back unchanged."""
        full = RegistryEvent(
            model="fraud", seq=1, action="promote",
            changes=(Change("1.1.0", "stage", "development", "production"),
                     Change("1.0.0", "stage", "production", "archived"),
                     Change("1.1.0", "alias:champion", None, "champion"),
                     Change("1.0.0", "alias:champion", "champion", None)),
            actor="Zoë 😀", timestamp=T0 + 123, reason="beats 1.0.0 — f1 +0.03",
            decision=Decision(promote=True, reason="f1 0.94 vs 0.91 (+0.03)",
                              candidate="1.1.0", incumbent="1.0.0",
                              deltas={"f1": 0.03, "loss": -0.5, "auc": 1 / 3}),
            payload={"target": "production", "version": "1.1.0", "unset": ["a", "b"],
                     "nested": {"k": [1, 2.5, None, True, "é"]}, "none": None,
                     "big": 2**62, "neg": -1.5},
        )
        bare = RegistryEvent(model="fraud", seq=2, action="refused",
                             decision=Decision(promote=False, reason="not enough"))
        empty = RegistryEvent(model="fraud", seq=3, action="describe")
        for event in (full, bare, empty):
            store.append_event(event)
        got = store.list_events("fraud")
        assert got == [full, bare, empty]
        assert got[0].decision is not None and dict(got[0].decision.deltas) == \
            {"f1": 0.03, "loss": -0.5, "auc": 1 / 3}
        assert got[0].decision.to_dict() == full.decision.to_dict()  # type: ignore[union-attr]
        assert (got[1].reason, got[1].decision.candidate, got[2].decision) == \
            (None, None, None)  # type: ignore[union-attr]

    def test_events_of_different_models_are_independent(self, store: RegistryStore) -> None:
        """Two models each have their own sequence 1, 2 …"""
        store.create_model(self.new_model("a"))
        store.create_model(self.new_model("b"))
        ea = store.append_event(self.new_event("a", 1, "promote"))
        eb = store.append_event(self.new_event("b", 1, "archive"))
        eb2 = store.append_event(self.new_event("b", 2, "tag"))
        assert store.list_events("a") == [ea]
        assert store.list_events("b") == [eb, eb2]

    def test_events_and_versions_do_not_mix(self, store: RegistryStore,
                                            model: RegisteredModel, tmp_path: Path) -> None:
        """Versions and events of one model live side by side: neither shows up in the
        other's listing."""
        stored = self.put_version(store, tmp_path, "fraud", "1.0.0", {"w": b"w"})
        event = store.append_event(self.new_event("fraud", 1))
        assert store.list_versions("fraud") == [stored]
        assert store.list_events("fraud") == [event]
        assert [m.name for m in store.list_models()] == ["fraud"]

    # -- several handles ------------------------------------------------------------------

    def test_second_handle_sees_models_versions_and_events(self, store: RegistryStore,
                                                           tmp_path: Path) -> None:
        """A handle opened later by URI reads the models, versions (with their bytes) and
        events the first wrote, and its claims collide with the first's."""
        self.require("reopen")
        model = store.create_model(self.new_model("fraud"))
        stored = self.put_version(store, tmp_path, "fraud", "1.0.0", {"sub/w.bin": b"w"})
        event = store.append_event(self.new_event("fraud", 1, "promote"))
        other = self.open_again(store)
        try:
            assert other.list_models() == [model]
            assert other.get_version("fraud", "1.0.0") == stored
            assert self.download(other, tmp_path, "fraud", "1.0.0") == {"sub/w.bin": b"w"}
            assert other.list_events("fraud") == [event]
            with pytest.raises(AlreadyExists):
                other.create_model(self.new_model("fraud"))
            with pytest.raises(AlreadyExists):
                self.put_version(other, tmp_path, "fraud", "1.0.0", {"w": b"other"})
            with pytest.raises(Conflict):
                other.append_event(self.new_event("fraud", 1, "rollback"))
            later = other.append_event(self.new_event("fraud", 2, "archive"))
            newer = self.put_version(other, tmp_path, "fraud", "1.0.1", {"w": b"2"})
        finally:
            other.close()
        assert store.list_events("fraud") == [event, later]
        assert store.list_events("fraud", after_seq=1) == [later]
        assert self.versions_of(store, "fraud") == {"1.0.0": stored, "1.0.1": newer}
        assert self.download(store, tmp_path, "fraud", "1.0.1") == {"w": b"2"}

    # -- concurrency ----------------------------------------------------------------------

    def test_threads_racing_for_a_version(self, store: RegistryStore,
                                          model: RegisteredModel, tmp_path: Path) -> None:
        """Of 8 threads creating the same version (each with its own files) exactly one
        succeeds and 7 get AlreadyExists; the stored record and bytes are the winner's."""
        self.require("concurrent_threads")
        prepared = []
        for i in range(8):
            contents = {"w.bin": f"thread {i}".encode() * 1000, f"only-{i}.txt": b"x"}
            prepared.append((contents, self.new_version("fraud", "1.0.0", contents,
                                                        creator=f"thread {i}"),
                             write_files(tmp_path, contents)))

        def create(i: int) -> ModelVersion | None:
            _, record, files = prepared[i]
            try:
                return store.create_version(record, files)
            except AlreadyExists:
                return None

        results = in_threads(8, create)
        winners = [(i, r) for i, r in enumerate(results) if r is not None]
        assert len(winners) == 1, f"{len(winners)} threads claimed the same version"
        (i, stored), = winners
        assert self.versions_of(store, "fraud") == {"1.0.0": stored}
        assert store.get_version("fraud", "1.0.0").creator == f"thread {i}"
        assert self.download(store, tmp_path, "fraud", "1.0.0") == prepared[i][0]

    def test_threads_creating_distinct_versions(self, store: RegistryStore,
                                                model: RegisteredModel,
                                                tmp_path: Path) -> None:
        """8 threads creating different versions of one model all succeed; none is lost."""
        self.require("concurrent_threads")
        files = [write_files(tmp_path, {"w.bin": bytes([i]) * 100}) for i in range(8)]

        def create(i: int) -> ModelVersion:
            return store.create_version(
                self.new_version("fraud", f"1.0.{i}", {"w.bin": bytes([i]) * 100}), files[i])

        results = in_threads(8, create)
        assert self.versions_of(store, "fraud") == {r.version: r for r in results}
        for i in range(8):
            assert self.download(store, tmp_path, "fraud", f"1.0.{i}") == \
                {"w.bin": bytes([i]) * 100}

    def test_threads_racing_for_a_sequence_number(self, store: RegistryStore,
                                                  model: RegisteredModel) -> None:
        """Of 8 threads appending an event with the same next sequence number exactly one
        wins; the others get Conflict; the trail holds the winner's event only."""
        self.require("concurrent_threads")
        store.append_event(self.new_event("fraud", 1))

        def append(i: int) -> RegistryEvent | None:
            try:
                return store.append_event(self.new_event("fraud", 2, "promote",
                                                          payload={"writer": i}))
            except Conflict:
                return None

        winners = [r for r in in_threads(8, append) if r is not None]
        assert len(winners) == 1, f"{len(winners)} threads claimed seq 2"
        assert store.list_events("fraud", after_seq=1) == winners

    def test_threads_appending_form_a_linear_history(self, store: RegistryStore,
                                                     model: RegisteredModel) -> None:
        """8 threads each appending 5 events, claiming the next number and retrying on
        Conflict (as the registry does), leave events 1..40 with no gap, no fork and none
        lost."""
        self.require("concurrent_threads")

        def writer(i: int) -> None:
            for n in range(5):
                while True:
                    events = store.list_events("fraud")
                    seq = events[-1].seq + 1 if events else 1
                    try:
                        store.append_event(self.new_event("fraud", seq,
                                                          payload={"writer": i, "n": n}))
                        break
                    except Conflict:
                        continue

        in_threads(8, writer)
        events = store.list_events("fraud")
        assert [e.seq for e in events] == list(range(1, 41))
        seen = sorted((e.payload["writer"], e.payload["n"]) for e in events)
        assert seen == [(i, n) for i in range(8) for n in range(5)]

    @pytest.mark.slow
    def test_processes_racing_for_versions(self, store: RegistryStore,
                                           tmp_path: Path) -> None:
        """4 processes open the store by URI and race to create one model, versions
        1.0.0 … 1.0.4 of it (each with its own bytes) and its event 1: exactly one winner
        of each claim, and each version's stored bytes are its winner's."""
        self.require("concurrent_processes")
        count, versions = 4, [f"1.0.{i}" for i in range(5)]
        barrier = tmp_path / "barrier"
        barrier.mkdir()
        workdir = tmp_path / "work"
        workdir.mkdir()
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", _CHILD_SCRIPT, self.store_uri(store), "shared",
                 str(barrier), str(workdir), str(i), str(count), ",".join(versions)],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )
            for i in range(count)
        ]
        outputs = []
        for proc in procs:
            out, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err
            outputs.append(json.loads(out.strip().splitlines()[-1]))
        assert sum(o["model"] for o in outputs) == 1
        assert sum(o["event"] for o in outputs) == 1
        for version in versions:
            winners = [i for i, o in enumerate(outputs) if version in o["versions"]]
            assert len(winners) == 1, f"version {version} won by {winners}"
            (i,) = winners
            assert store.get_version("shared", version).creator == f"process {i}"
            expected = f"process {i} version {version}".encode() * 100
            assert self.download(store, tmp_path, "shared", version) == {"w.bin": expected}
        assert sorted(self.versions_of(store, "shared")) == versions
        assert [m.name for m in store.list_models()] == ["shared"]
        (event,) = store.list_events("shared")
        assert outputs[event.payload["writer"]]["event"]
