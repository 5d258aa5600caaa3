import os

import numpy as np
import pytest

import modelops
from modelops import (
    AlreadyExists,
    Conflict,
    IntegrityError,
    InvalidInput,
    NotFound,
    PromotionRefused,
    SemVer,
    Stage,
    StoreError,
    UntrustedModel,
)
from modelops.registry import AllOf, Ceilings, Floors, MetricImprovement, Registry

sklearn = pytest.importorskip("sklearn")
from sklearn.datasets import load_iris  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402


@pytest.fixture(scope="module")
def model():
    x, y = load_iris(return_X_y=True)
    return LogisticRegression(max_iter=1000).fit(x, y)


@pytest.fixture
def reg(any_ops):
    return any_ops.registry


def stages(reg, name):
    return {v.version: v.stage.value for v in reg.list_versions(name)}


def test_semver_parsing_and_precedence():
    order = ["1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta",
             "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.0.1", "1.1.0", "2.0.0"]
    parsed = [SemVer.parse(v) for v in order]
    assert sorted(reversed(parsed)) == parsed  # the semver 2.0 spec's own example
    assert SemVer.parse("1.0.0+build.7") == SemVer.parse("1.0.0")
    assert str(SemVer.parse("1.2.3-rc.1+sha.5")) == "1.2.3-rc.1+sha.5"
    assert SemVer.parse("1.2.3").bump("minor") == SemVer(1, 3, 0)
    assert SemVer.parse("1.2.3-rc.1").bump("patch") == SemVer(1, 2, 3)
    for bad in ("1.2", "01.2.3", "1.2.3-", "v1.2.3", "1.2.3-01", "", "1.2.3+", None, 1.2):
        with pytest.raises(InvalidInput, match="version"):
            SemVer.parse(bad)


def test_register_detects_framework_digests_and_auto_versions(reg, model):
    v1 = reg.register("iris", model, metrics={"f1": 0.9}, params={"C": 1.0},
                      description="first", tags={"team": "ml"},
                      lineage={"training_data": "s3://data/iris.csv", "notes": "baseline"})
    assert (v1.version, v1.framework, v1.flavor, v1.stage) == ("1.0.0", "sklearn", "joblib",
                                                               Stage.DEVELOPMENT)
    assert [f.path for f in v1.files] == ["model.joblib"] and len(v1.files[0].sha256) == 64
    assert v1.size == v1.files[0].size > 0 and v1.creator and v1.created_time > 0
    assert v1.params == {"C": "1.0"} and v1.lineage.training_data == "s3://data/iris.csv"
    assert reg.register("iris", model).version == "1.0.1"
    assert reg.register("iris", model, bump="minor").version == "1.1.0"
    assert reg.register("iris", model, bump="major").version == "2.0.0"
    assert reg.register("iris", model, version="2.1.0-rc.1").version == "2.1.0-rc.1"
    assert reg.register("iris", model).version == "2.1.0"  # a pre-release bumps to its release
    with pytest.raises(AlreadyExists):
        reg.register("iris", model, version="1.0.0")
    with pytest.raises(AlreadyExists):
        reg.register("iris", model, version="1.0.0+other-build")
    assert [v.version for v in reg.list_versions("iris")] == [
        "1.0.0", "1.0.1", "1.1.0", "2.0.0", "2.1.0-rc.1", "2.1.0"]
    loaded = reg.load("iris", "1.0.0")
    assert type(loaded).__name__ == "LogisticRegression"
    assert (loaded.coef_ == model.coef_).all()


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"version": "1.0"}, "version"),
    ({"metrics": {"f1": float("nan")}}, "metrics"),
    ({"metrics": {"f1": "high"}}, "metrics"),
    ({"metrics": {"../x": 1.0}}, "metrics"),
    ({"params": {"a\x00": 1}}, "params"),
    ({"tags": {"t": "x" * 9000}}, "tags"),
    ({"bump": "huge"}, "bump"),
    ({"lineage": {"parent": "1.0.0"}}, "lineage"),
    ({"flavor": "nope"}, "flavor"),
])
def test_bad_input_writes_nothing(reg, model, kwargs, field):
    with pytest.raises(InvalidInput, match=field):
        reg.register("iris", model, **kwargs)
    assert reg.list_models() == []


@pytest.mark.parametrize("name", ["../up", "a/b", "with@at", "", "nul\x00"])
def test_bad_model_names_are_refused(reg, model, name):
    with pytest.raises(InvalidInput):
        reg.register(name, model)
    assert reg.list_models() == []


def test_nonfinite_metrics_when_allowed(reg, model):
    v = reg.register("iris", model, metrics={"loss": float("inf")}, allow_nonfinite=True)
    assert v.metrics["loss"] == float("inf")


def test_path_flavor_for_files_and_directories(reg, tmp_path):
    (tmp_path / "weights").mkdir()
    (tmp_path / "weights" / "a.bin").write_bytes(b"\x00" * 10)
    (tmp_path / "weights" / "sub").mkdir()
    (tmp_path / "weights" / "sub" / "b.txt").write_text("B")
    (tmp_path / "one.onnx").write_bytes(b"onnx!")
    d = reg.register("dir-model", str(tmp_path / "weights"), framework="custom")
    f = reg.register("file-model", tmp_path / "one.onnx")
    assert f.flavor == "path" and [x.path for x in f.files] == ["data/one.onnx"]
    assert (d.flavor, d.framework, sorted(x.path for x in d.files)) == (
        "path", "custom", ["data/a.bin", "data/sub/b.txt"])
    local = reg.load("dir-model", trusted=False)  # plain files: no code runs
    with open(os.path.join(local, "sub", "b.txt")) as fh:
        assert fh.read() == "B"
    with open(reg.load("file-model"), "rb") as fh:
        assert fh.read() == b"onnx!"


def test_a_path_model_is_copied_so_later_edits_of_the_source_do_not_reach_it(reg, tmp_path):
    """Files are read where they are when registering, and stored as they were then."""
    source = tmp_path / "model.bin"
    source.write_bytes(b"v1")
    first = reg.register("m", source)
    source.write_bytes(b"v2 changed")
    with open(reg.load("m", first.version), "rb") as fh:
        assert fh.read() == b"v1"
    second = reg.register("m", source)
    assert second.files[0].sha256 != first.files[0].sha256
    with open(reg.load("m", second.version), "rb") as fh:
        assert fh.read() == b"v2 changed"


def test_untrusted_loading_refuses_pickles(reg, model):
    reg.register("iris", model)
    with pytest.raises(UntrustedModel, match="pickle"):
        reg.load("iris", trusted=False)


def test_skops_flavor_loads_untrusted(reg, model):
    pytest.importorskip("skops")
    reg.register("iris", model, flavor="skops")
    loaded = reg.load("iris", trusted=False)
    assert (loaded.coef_ == model.coef_).all()


def test_a_flipped_byte_is_refused_at_load(tmp_path, model):
    ops = modelops.connect(tmp_path / "store")
    v = ops.registry.register("iris", model)
    ops.registry.download("iris", v.version, str(tmp_path / "out"))
    stored = (tmp_path / "out" / v.files[0].path).read_bytes()
    # Wherever the store keeps the bytes (a blob of their own or a pack), flip one of them.
    (path, at), = [(p, p.read_bytes().find(stored)) for p in (tmp_path / "store").rglob("*")
                   if p.is_file() and stored in p.read_bytes()]
    data = bytearray(path.read_bytes())
    data[at + len(stored) // 2] ^= 0x01
    path.write_bytes(data)
    with pytest.raises(IntegrityError, match="does not match its recorded sha256"):
        ops.registry.load("iris", v.version)
    path.unlink()
    with pytest.raises(IntegrityError, match="missing"):
        ops.registry.load("iris", v.version)


def test_production_is_held_by_one_version_and_rollback_walks_back(reg, model):
    for _ in range(3):
        reg.register("m", model)
    reg.promote("m", "1.0.0")
    reg.promote("m", "1.0.1", stage="staging")
    assert stages(reg, "m") == {"1.0.0": "production", "1.0.1": "staging",
                                "1.0.2": "development"}
    reg.promote("m", "1.0.1")
    reg.promote("m", "1.0.2", archive_previous=False)
    assert stages(reg, "m") == {"1.0.0": "archived", "1.0.1": "staging", "1.0.2": "production"}
    assert reg.get_version("m", stage="production").version == "1.0.2"

    reg.rollback("m")
    assert reg.get_version("m", stage="production").version == "1.0.1"
    reg.rollback("m", reason="bad latency")
    assert reg.get_version("m", stage="production").version == "1.0.0"
    assert [v for v, s in stages(reg, "m").items() if s == "production"] == ["1.0.0"]
    with pytest.raises(Conflict, match="roll back"):
        reg.rollback("m")
    with pytest.raises(InvalidInput, match="expected a string") as caught:
        reg.rollback("m", alias=None, reason=object)   # refused before anything is written
    assert caught.value.field == "reason"
    history = reg.history("m")
    assert [e.action for e in history] == ["promote"] * 4 + ["rollback"] * 2
    assert [e.seq for e in history] == list(range(1, 7))
    assert history[-1].reason == "bad latency" and history[-1].actor


def test_aliases_are_exclusive_and_resolvable(reg, model):
    reg.register("m", model)
    reg.register("m", model)
    reg.set_alias("m", "champion", "1.0.0")
    reg.promote("m", "1.0.1", alias="challenger")
    with pytest.raises(InvalidInput, match="aliases go in alias="):
        reg.promote("m", "1.0.1", stage="prodution")
    with pytest.raises(InvalidInput, match="not both"):
        reg.promote("m", "1.0.1", stage="staging", alias="x")
    assert reg.get_version("m", alias="champion").aliases == ("champion",)
    reg.set_alias("m", "champion", "1.0.1")
    assert reg.get_version("m", "1.0.0").aliases == ()
    assert reg.get_version("m", "1.0.1").aliases == ("challenger", "champion")
    reg.rollback("m", alias="champion")
    assert reg.get_version("m", alias="champion").version == "1.0.0"
    reg.remove_alias("m", "champion")
    with pytest.raises(NotFound, match="champion"):
        reg.get_version("m", alias="champion")
    for bad in ("latest", "a@b", "production2/x"):
        with pytest.raises(InvalidInput):
            reg.set_alias("m", bad, "1.0.0")
    with pytest.raises(InvalidInput, match="stage"):
        reg.rollback("m", "staging")


def test_archive_old_versions_spares_served_ones(reg, model):
    for _ in range(8):
        reg.register("m", model)
    reg.promote("m", "1.0.0")
    reg.promote("m", "1.0.1", stage="staging")
    reg.set_alias("m", "shadow", "1.0.2")
    archived = reg.archive_old_versions("m", keep_latest=3)
    assert archived == ["1.0.3", "1.0.4"]
    assert reg.archive_old_versions("m", keep_latest=3) == []
    assert stages(reg, "m")["1.0.0"] == "production"
    assert reg.latest("m").version == "1.0.7"


def test_promotion_rules(reg, model):
    reg.register("m", model, metrics={"accuracy": 0.8, "f1": 0.70, "roc_auc": 0.80})
    reg.register("m", model, metrics={"accuracy": 0.9, "f1": 0.705, "roc_auc": 0.90})
    reg.register("m", model, metrics={"accuracy": 0.6, "f1": 0.90, "roc_auc": 0.95})
    gate = AllOf(Floors({"accuracy": 0.70, "f1": 0.65, "roc_auc": 0.75}),
                 MetricImprovement("f1", min_improvement=0.01))
    first = reg.promote("m", "1.0.0", policy=gate)  # the first passes its floors
    assert first.decision.promote and "no incumbent" in first.decision.reason

    decision = reg.should_promote("m", "1.0.1", metric="f1", min_improvement=0.01)
    assert not decision and decision.incumbent == "1.0.0"
    assert decision.deltas["f1"] == pytest.approx(0.005)
    with pytest.raises(PromotionRefused) as refused:
        reg.promote("m", "1.0.1", policy=gate)
    assert "not enough" in refused.value.decision.reason
    with pytest.raises(PromotionRefused, match=r"accuracy=0\.6 is not above 0\.7"):
        reg.promote("m", "1.0.2", policy=gate)
    assert reg.get_version("m", stage="production").version == "1.0.0"
    assert [e.action for e in reg.history("m")] == ["promote", "refused", "refused"]

    def low_latency(candidate, incumbent):
        return candidate.version != "1.0.2"

    with pytest.raises(PromotionRefused, match="low_latency returned False"):
        reg.promote("m", "1.0.2", policy=low_latency)
    event = reg.promote("m", "1.0.1", policy=Ceilings({"f1": 0.8}), reason="manual check")
    assert event.decision.promote and event.reason == "manual check"
    with pytest.raises(InvalidInput, match="no metric 'log_loss'"):
        reg.should_promote("m", "1.0.2", metric="log_loss")
    assert reg.should_promote("m", "1.0.2", metric="auc").deltas["auc"] == pytest.approx(0.05)


def test_versions_compare_under_any_name_of_a_metric(reg, model):
    reg.register("m", model, version="1.0.0", metrics={"f1_score": 0.80, "AUC": 0.85,
                                                       "mean_squared_error": 4.0})
    reg.promote("m", "1.0.0")
    reg.register("m", model, version="1.1.0", metrics={"f1": 0.83, "roc_auc": 0.84, "mse": 3.0})
    better = reg.should_promote("m", "1.1.0", metric="f1", min_improvement=0.02)
    assert better.promote and better.deltas["f1"] == pytest.approx(0.03)
    assert reg.should_promote("m", "1.1.0", metric="f1_score", min_improvement=0.02).promote
    assert not reg.should_promote("m", "1.1.0", metric="roc_auc", min_improvement=0.0)
    # mse is lower-is-better in the metric table: 3.0 against 4.0 is an improvement
    assert reg.should_promote("m", "1.1.0", metric="mse", min_improvement=0.5).promote
    assert not reg.should_promote("m", "1.1.0", metric="mse", min_improvement=0.5,
                                  higher_is_better=True).promote
    assert Floors({"f1_score": 0.82})(reg.get_version("m", "1.1.0"), None).promote
    comparison = reg.compare("m", "1.0.0", "1.1.0")
    assert comparison.metrics["f1"] == pytest.approx((0.80, 0.83, 0.03))
    assert comparison.metrics["roc_auc"] == pytest.approx((0.85, 0.84, -0.01))
    assert set(comparison.metrics) == {"f1", "roc_auc", "mse"}


def test_models_describe_tag_delete_restore(reg, model):
    reg.register("m", model)
    reg.describe("m", "fraud scorer")
    reg.tag("m", {"owner": "risk"})
    reg.tag("m", {"reviewed": "yes"}, version="1.0.0")
    reg.describe("m", "the baseline", version="1.0.0")
    got = reg.get_model("m")
    assert (got.description, dict(got.tags)) == ("fraud scorer", {"owner": "risk"})
    v = reg.get_version("m", "1.0.0")
    assert (v.description, v.tags["reviewed"]) == ("the baseline", "yes")
    reg.promote("m", "1.0.0")
    with pytest.raises(Conflict, match="still serves"):
        reg.delete_model("m")
    reg.delete_model("m", force=True)
    assert reg.list_models() == []
    with pytest.raises(NotFound):
        reg.load("m")
    with pytest.raises(Conflict, match="restore"):
        reg.register("m", model)
    reg.restore_model("m")
    assert [m.name for m in reg.list_models()] == ["m"]


def test_compare_versions(reg, model):
    reg.register("m", model, metrics={"f1": 0.8, "auc": 0.9}, params={"C": 1})
    reg.register("m", model, metrics={"f1": 0.85}, params={"C": 2},
                 lineage={"parent_version": "1.0.0"})
    cmp = reg.compare("m", "1.0.0", "1.0.1")
    assert cmp.metrics["f1"] == (0.8, 0.85, pytest.approx(0.05))
    assert cmp.metrics["roc_auc"] == (0.9, None, None)      # "auc" under its canonical name
    assert cmp.params_differing == {"C": ("1", "2")}
    assert "lineage.parent_version" in str(cmp)


def test_model_uris_and_load_model(tmp_path, model):
    modelops.set_uri(tmp_path)
    reg = modelops.get_client().registry
    reg.register("fraud", model, version="1.2.0")
    reg.register("fraud", model, version="1.3.0")
    reg.promote("fraud", "1.2.0")
    reg.set_alias("fraud", "champion", "1.3.0")
    assert reg.resolve("models:/fraud@production").version == "1.2.0"
    assert reg.resolve("models:/fraud/Production").version == "1.2.0"
    assert reg.resolve("models:/fraud@champion").version == "1.3.0"
    assert reg.resolve("models:/fraud/1.3.0").version == "1.3.0"
    assert reg.resolve("models:/fraud/latest").version == "1.3.0"
    assert type(modelops.load_model("models:/fraud@production")).__name__ == \
        "LogisticRegression"
    for bad in ("fraud@production", "models:/", "models:/fraud", "models:/fraud/1.x"):
        with pytest.raises(InvalidInput):
            reg.resolve(bad)
    with pytest.raises(NotFound):
        reg.resolve("models:/fraud@nobody")


def test_log_model_stores_with_the_run_and_registers(any_ops, model):
    with any_ops.tracking.start_run(experiment="train") as run:
        run.log_params({"C": 1.0})
        run.log_metrics({"f1": 0.93})
        version = run.log_model(model, "iris", description="from a run")
    assert version.run_id == run.run_id
    assert version.metrics == {"f1": 0.93} and version.params == {"C": "1.0"}
    assert [a.path for a in any_ops.tracking.list_artifacts(run.run_id, "model")] == [
        "model/model.joblib", "model/modelops-model.json"]
    assert any_ops.registry.load("iris").coef_.shape == model.coef_.shape


def test_a_large_artifact_is_streamed_into_the_store(tmp_path, monkeypatch):
    """Files over the in-memory limit are digested and copied in streams; the result is the
    same: one blob under the digest, verified at load, shared by versions of equal bytes."""
    import hashlib

    from modelops.backends.layout import registry as layout

    monkeypatch.setattr(layout, "_SMALL_ARTIFACT", 16)
    data = bytes(range(256)) * 16
    source = tmp_path / "weights.bin"
    source.write_bytes(data)
    ops = modelops.connect(str(tmp_path / "store"))
    first = ops.registry.register("big", str(source), flavor="path")
    second = ops.registry.register("big", str(source), flavor="path")
    blobs = tmp_path / "store" / "models" / "big" / "blobs"
    assert [p.name for p in blobs.iterdir()] == [hashlib.sha256(data).hexdigest()]
    for version in (first, second):
        loaded = ops.registry.load("big", version.version, dst_dir=str(tmp_path / version.version))
        with open(loaded, "rb") as f:
            assert f.read() == data


def _store_that_cannot_append(root):
    """The layout store on the same directory through fsspec's generic local filesystem,
    which has no appends: what an object store is to a model."""
    import fsspec

    from modelops.backends.layout import FsspecStorage
    from modelops.backends.layout.registry import LayoutRegistryStore

    return LayoutRegistryStore(FsspecStorage(fsspec.filesystem("file", auto_mkdir=True), str(root),
                                             protocol="file"))


def test_a_model_made_without_a_log_keeps_its_claim_files(tmp_path):
    """A model created where appends are impossible keeps one claim file a version, also
    when the local store registers its next versions."""
    source = tmp_path / "model.bin"
    source.write_bytes(b"weights" * 100)
    Registry(_store_that_cannot_append(tmp_path / "store")).register(
        "old", str(source), flavor="path")
    ops = modelops.connect(str(tmp_path / "store"))
    assert ops.registry.register("old", str(source), flavor="path").version == "1.0.1"
    model_dir = tmp_path / "store" / "models" / "old"
    assert sorted(p.name for p in (model_dir / "versions").iterdir()) == \
        ["1.0.0.json", "1.0.1.json"]
    assert not (model_dir / "versions.log").exists()
    fresh = modelops.connect(str(tmp_path / "store")).registry
    assert [v.version for v in fresh.list_versions("old")] == ["1.0.0", "1.0.1"]
    assert fresh.load("old", "1.0.0", dst_dir=str(tmp_path / "out"))


def test_a_model_with_a_log_reads_anywhere_and_refuses_writers_that_cannot_append(tmp_path):
    source = tmp_path / "model.bin"
    source.write_bytes(b"weights" * 100)
    ops = modelops.connect(str(tmp_path / "store"))
    made = ops.registry.register("m", str(source), flavor="path")
    elsewhere = Registry(_store_that_cannot_append(tmp_path / "store"))
    assert elsewhere.get_version("m", made.version).files == made.files
    loaded = elsewhere.load("m", made.version, dst_dir=str(tmp_path / "out"))
    with open(loaded, "rb") as f:
        assert f.read() == source.read_bytes()
    with pytest.raises(StoreError, match="append-only log"):
        elsewhere.register("m", str(source), flavor="path")
    assert [v.version for v in ops.registry.list_versions("m")] == [made.version]


class _CountingStore:
    """A registry store that counts the reads the registry makes of it."""

    def __init__(self, store):
        self._store = store
        self.calls = []

    def __getattr__(self, attr):
        value = getattr(self._store, attr)
        if attr in ("list_events", "get_version", "read_version"):
            def counted(*args, **kwargs):
                self.calls.append(attr)
                return value(*args, **kwargs)
            return counted
        return value


def test_a_lookup_reads_events_and_record_together_and_follows_new_events(model, tmp_path):
    """With the state it holds, the registry guesses which version a look-up wants and asks
    the store once for the new events and that record; when another writer has moved the
    stage meanwhile, it reads the version the new events point to."""
    from modelops.client import open_store
    from modelops.uri import parse_uri

    uri = parse_uri(f"file://{tmp_path}/store")
    other = Registry(open_store("registry", uri))
    for version in ("1.0.0", "1.1.0", "1.2.0"):
        other.register("m", model, version=version)
    other.promote("m", "1.0.0")
    store = _CountingStore(open_store("registry", uri))
    reg = Registry(store)

    assert reg.get_version("m", stage="production").version == "1.0.0"
    assert store.calls == ["list_events", "get_version"]  # nothing held yet: two reads
    store.calls.clear()
    assert reg.get_version("m", stage="production").version == "1.0.0"
    assert store.calls == ["read_version"]
    store.calls.clear()

    other.promote("m", "1.1.0")
    got = reg.get_version("m", stage="production")
    assert (got.version, got.stage) == ("1.1.0", Stage.PRODUCTION)
    assert store.calls == ["read_version", "get_version"]
    assert reg.get_version("m", "1.0.0").stage is Stage.ARCHIVED

    store.calls.clear()
    assert reg.get_version("m", "1.2.0").stage is Stage.DEVELOPMENT
    assert store.calls == ["read_version"]  # by number: always one read
    with pytest.raises(NotFound, match=r"1\.9\.0"):
        reg.get_version("m", "1.9.0")
    other.delete_model("m", force=True)
    with pytest.raises(NotFound, match="deleted"):
        reg.get_version("m", stage="production")
    with pytest.raises(NotFound, match="deleted"):
        reg.get_version("m", "1.2.0")


def test_acting_as_names_who_acted_per_thread(ops):
    import getpass
    import threading

    with modelops.acting_as("alice@example.com"):
        version = ops.registry.register("acted", {"w": 1}, flavor="joblib")
        event = ops.registry.promote("acted", version.version)
        with ops.tracking.start_run(experiment="acted") as run:
            pass
        seen = []
        other = threading.Thread(target=lambda: seen.append(
            ops.registry.set_alias("acted", "champion", version.version).actor))
        other.start()
        other.join()
    assert (version.creator, event.actor, run.run.info.user) == ("alice@example.com",) * 3
    assert seen == [getpass.getuser()]              # another thread acts as itself
    assert ops.registry.remove_alias("acted", "champion").actor == getpass.getuser()
    with pytest.raises(modelops.InvalidInput, match="user"), modelops.acting_as("a\x00b"):
        pass


@pytest.mark.parametrize("alias", [np.array([1.0, 2.0]), ["champion"], {"a": 1}])
def test_an_unhashable_alias_is_invalid_input(alias):
    # It reached the stage-name check and raised TypeError: unhashable type.
    ops = modelops.connect("memory://")
    ops.registry.register("m", {"w": 1})
    with pytest.raises(modelops.InvalidInput, match="alias"):
        ops.registry.get_version("m", alias=alias)
