"""Names are checked against what every backend stores faithfully, before anything is written."""

import hashlib
import os

import pytest

import modelops
from modelops import InvalidInput

#: Names an object store or a URL would read differently from what was meant, or that no
#: filesystem can hold: refused on every backend.
UNFAITHFUL = ["a?versionId=1", "a?b", "a#b", "#", "x\ud800y", "\udfff"]


def _files(root):
    return sorted(os.path.relpath(os.path.join(d, f), root)
                  for d, _, files in os.walk(root) for f in files)


@pytest.mark.parametrize("name", UNFAITHFUL)
def test_names_no_backend_stores_faithfully_are_refused_before_writing(tmp_path, name):
    ops = modelops.connect(tmp_path / "store")
    calls = [
        lambda: ops.tracking.create_experiment(name),
        lambda: ops.tracking.start_run(experiment=name),
        lambda: ops.tracking.start_run(experiment="e", name=name),
        lambda: ops.registry.register(name, {"w": 1}, flavor="joblib"),
        lambda: ops.predictions.logger(name),
        lambda: ops.drift.fit_reference(name, {"x": [1.0, 2.0, 3.0]}),
    ]
    for call in calls:
        with pytest.raises(InvalidInput):
            call()
    assert _files(tmp_path / "store") == []


@pytest.mark.parametrize("key", ["a?b", "loss#1", "ok/x?versionId=3", "\ud800"])
def test_keys_no_backend_stores_faithfully_are_refused(tmp_path, key):
    ops = modelops.connect(tmp_path / "store")
    with ops.tracking.start_run(experiment="e") as run:
        for call in (lambda: run.log_metric(key, 1.0), lambda: run.log_param(key, 1),
                     lambda: run.set_tag(key, "x"), lambda: run.log_text("x", key)):
            with pytest.raises(InvalidInput):
                call()
    assert run.run.data.metrics == {} and run.run.data.params == {}


def test_an_artifact_path_segment_too_long_for_a_filesystem_is_refused(tmp_path):
    ops = modelops.connect(tmp_path / "store")
    with ops.tracking.start_run(experiment="e") as run, pytest.raises(InvalidInput):
        run.log_text("x", "é" * 200)  # 400 bytes: more than any filesystem's 255


def test_a_long_name_and_the_name_of_its_folder_never_meet(tmp_path):
    """Names too long for a filesystem live under '~' and their digest; no valid name can
    be that folder's name, so neither can take the other's place."""
    ops = modelops.connect(tmp_path / "store")
    long = "m" * 150 + "é" * 40  # 230 bytes
    ops.registry.register(long, {"who": "long"}, flavor="joblib")
    folder = "~" + hashlib.sha256(long.encode()).hexdigest()
    assert os.listdir(tmp_path / "store" / "models") == [folder]
    with pytest.raises(InvalidInput, match="~"):
        ops.registry.register(folder, {"who": "short"}, flavor="joblib")
    with pytest.raises(InvalidInput, match="~"):
        ops.tracking.create_experiment("~x")
    fresh = modelops.connect(tmp_path / "store")
    assert fresh.registry.load(long, "1.0.0") == {"who": "long"}
    assert [m.name for m in fresh.registry.list_models()] == [long]


@pytest.mark.parametrize("name", ["x~", "a~b", "%2F", "a b", "a:b", "[x]", "*", "é"])
def test_awkward_names_that_every_backend_stores_faithfully_still_work(any_ops, name):
    exp = any_ops.tracking.create_experiment(name)
    assert any_ops.tracking.get_experiment(name).experiment_id == exp.experiment_id
    any_ops.registry.register(name, {"w": 1}, flavor="joblib")
    assert [m.name for m in any_ops.registry.list_models()] == [name]
