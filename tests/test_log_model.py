"""run.log_model without registering, and registering it later from the run."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from modelops.errors import IntegrityError, InvalidInput, NotFound
from modelops.tracking.model_manifest import MANIFEST


@pytest.fixture(scope="module")
def model():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    return LogisticRegression().fit(X, (X[:, 0] > 0).astype(int))


def _logged(ops, model, path="model"):
    with ops.tracking.start_run(experiment="train") as run:
        run.log_params({"C": 1.0})
        run.log_metrics({"f1": 0.9})
        assert run.log_model(model, path, register=False) == path
    return run


def test_log_model_without_registering_stores_files_and_manifest(any_ops, model):
    run = _logged(any_ops, model)
    paths = [a.path for a in any_ops.tracking.list_artifacts(run.run_id, "model")]
    assert paths == ["model/model.joblib", f"model/{MANIFEST}"]
    manifest = json.loads(any_ops.tracking.read_text(run.run_id, f"model/{MANIFEST}"))
    assert manifest["flavor"] == "joblib" and manifest["framework"] == "sklearn"
    assert [f["path"] for f in manifest["files"]] == ["model.joblib"]
    assert any_ops.registry.list_models() == []


def test_register_from_run_links_the_run_and_loads(any_ops, model):
    run = _logged(any_ops, model, "clf/lr")
    version = any_ops.registry.register_from_run(run.run_id, "clf/lr", "iris",
                                                 description="picked later")
    assert version.version == "1.0.0" and version.run_id == run.run_id
    assert version.metrics == {"f1": 0.9} and version.params == {"C": "1.0"}
    assert version.description == "picked later"
    assert [f.path for f in version.files] == ["model.joblib"]
    loaded = any_ops.registry.load("iris")
    np.testing.assert_array_equal(loaded.coef_, model.coef_)
    again = any_ops.registry.register_from_run(run.run_id, "clf/lr", "iris", version="2.0.0")
    assert again.version == "2.0.0" and again.files == version.files


def test_log_model_registering_also_writes_the_manifest(any_ops, model):
    with any_ops.tracking.start_run() as run:
        version = run.log_model(model, "iris")
    assert version.run_id == run.run_id
    other = any_ops.registry.register_from_run(run.run_id, "model", "copy")
    assert other.files == version.files


def test_bad_calls_are_refused_before_writing(ops, model):
    with ops.tracking.start_run() as run:
        with pytest.raises(InvalidInput, match="register"):
            run.log_model(model, "model", register=False, description="x")
        with pytest.raises(InvalidInput) as err:
            run.log_model(model, "a", "b", register=False)
        assert err.value.field == "name"
        with pytest.raises(InvalidInput) as err:
            run.log_model(model, register=False, artifact_path="/")
        assert err.value.field == "artifact_path"
        with pytest.raises(InvalidInput) as err:
            run.log_model(model)
        assert err.value.field == "name"
        with pytest.raises(InvalidInput) as err:
            run.log_model(model, "x", register="no")
        assert err.value.field == "register"
    assert ops.tracking.list_artifacts(run.run_id) == []
    with pytest.raises(NotFound):
        ops.registry.register_from_run("0" * 32, "model", "iris")
    with pytest.raises(InvalidInput) as err:
        ops.registry.register_from_run(run.run_id, "", "iris")
    assert err.value.field == "path"
    with pytest.raises(NotFound, match="nothing"):
        ops.registry.register_from_run(run.run_id, "nothing", "iris")
    assert ops.registry.list_models() == []


def _artifact_dir(tmp_path, run):
    found = [p for p in (tmp_path / "store").rglob(MANIFEST) if run.run_id in str(p)]
    assert len(found) == 1
    return found[0].parent


def test_tampered_files_are_refused(tmp_path, ops, model):
    run = _logged(ops, model)
    folder = _artifact_dir(tmp_path, run)
    with open(folder / "model.joblib", "ab") as f:
        f.write(b"x")
    with pytest.raises(IntegrityError, match="does not match"):
        ops.registry.register_from_run(run.run_id, "model", "iris")
    (folder / "extra.txt").write_text("hi")
    with pytest.raises(IntegrityError):
        ops.registry.register_from_run(run.run_id, "model", "iris")
    assert ops.registry.list_models() == []


@pytest.mark.parametrize("manifest", ["not json", "[]", '{"format": 1}',
                                      '{"format": 1, "flavor": "sklearn", "framework": "s", '
                                      '"flavor_meta": {}, "files": [{"path": "../x", '
                                      '"sha256": "' + "0" * 64 + '", "size": 1}]}'])
def test_a_malformed_manifest_is_an_integrity_error(tmp_path, ops, model, manifest):
    run = _logged(ops, model)
    (_artifact_dir(tmp_path, run) / MANIFEST).write_text(manifest)
    with pytest.raises(IntegrityError, match=MANIFEST):
        ops.registry.register_from_run(run.run_id, "model", "iris")


def test_a_folder_not_written_by_log_model(ops, tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "a.txt").write_text("a")
    with ops.tracking.start_run() as run:
        run.log_artifacts(str(tmp_path / "d"), "plain")
    with pytest.raises(IntegrityError, match="not stored by log_model"):
        ops.registry.register_from_run(run.run_id, "plain", "iris")


def test_a_stored_model_keeps_its_signature_for_the_version(any_ops, model):
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(np.random.default_rng(3).normal(size=(8, 3)), columns=["a", "b", "c"])
    with any_ops.tracking.start_run() as run:
        run.log_model(model, "model", register=False, input_example=frame)
        with pytest.raises(InvalidInput, match="description"):
            run.log_model(model, "other", register=False, description="registering only")
    version = any_ops.registry.register_from_run(run.run_id, "model", "iris")
    assert [c["name"] for c in version.signature["columns"]] == ["a", "b", "c"]
    assert len(version.input_example) == 5 and version.input_example[0]["a"] == frame.a[0]
    plain = any_ops.registry.register_from_run(run.run_id, "model", "iris", signature=None,
                                               input_example=None)
    assert plain.signature is None                  # the caller's choice wins


def test_a_malformed_signature_in_the_manifest_is_an_integrity_error(tmp_path, ops, model):
    run = _logged(ops, model)
    path = _artifact_dir(tmp_path, run) / MANIFEST
    manifest = json.loads(path.read_text())
    path.write_text(json.dumps({**manifest, "signature": {"columns": "everything"}}))
    with pytest.raises(IntegrityError, match="signature"):
        ops.registry.register_from_run(run.run_id, "model", "iris")
    assert ops.registry.list_models() == []
