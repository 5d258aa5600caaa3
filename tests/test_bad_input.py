"""Bad input gets an InvalidInput naming the argument, never a raw Python error, and nothing
is written."""

import decimal
import threading

import numpy as np
import pytest

import modelops
from modelops import InvalidInput

HUGE = 10**400  # no float holds it
AFTER_9999 = 253_402_300_800_000  # ms: 10000-01-01


def _cases(ops, run):
    logger = ops.predictions.logger("p")
    return {
        "metric value": lambda: run.log_metric("m", HUGE),
        "metric values": lambda: run.log_metrics({"m": HUGE}),
        "metric key": lambda: run.log_metric(["a"], 1.0),
        "metric step": lambda: run.log_metric("m", 1.0, step=HUGE),
        "artifact path": lambda: run.log_text("x", 5),
        "artifact file": lambda: run.log_dict({"a": 1}, 5),
        "figure path": lambda: run.log_figure(object(), 5),
        "model": lambda: ops.registry.register("m", threading.Lock(), flavor="joblib"),
        "model function": lambda: ops.registry.register("m", lambda x: x, flavor="joblib"),
        "registry metric array": lambda: ops.registry.register(
            "m", {"a": 1}, flavor="joblib", metrics={"f1": np.array([0.1, 0.2])}),
        "registry metric huge": lambda: ops.registry.register(
            "m", {"a": 1}, flavor="joblib", metrics={"f1": HUGE}),
        "registry metric decimal": lambda: ops.registry.register(
            "m", {"a": 1}, flavor="joblib", metrics={"f1": decimal.Decimal("1e400")}),
        "prediction timestamp": lambda: logger.log({"a": 1}, 1, timestamp=AFTER_9999),
        "prediction probability": lambda: logger.log({"a": 1}, 1, probability=HUGE),
        "prediction latency": lambda: logger.log({"a": 1}, 1, latency_ms=HUGE),
        "feedback timestamp": lambda: logger.feedback("x", 1, timestamp=AFTER_9999),
        "direct feedback timestamp": lambda: ops.predictions.feedback("p", "x", 1,
                                                                     timestamp=AFTER_9999),
        "read since": lambda: ops.predictions.read("p", since=AFTER_9999),
        "read until": lambda: ops.predictions.read("p", until=float("inf")),
        "retention day": lambda: ops.predictions.delete_before("p", 10**18),
        "cleanup age": lambda: ops.tracking.cleanup("e", older_than=HUGE),
        "cleanup age nan": lambda: ops.tracking.cleanup("e", older_than=float("nan")),
        "drift since": lambda: ops.drift.reports("d", since=AFTER_9999),
        # nested beyond any encoder's recursion, or numpy's dimensions
        "prediction features nested": lambda: logger.log({"a": DEEP}, 1),
        "feedback actual nested": lambda: logger.feedback("x", DEEP),
        "column nested": lambda: logger.log_columns({"a": [DEEP_LIST] * 10}, [1] * 10),
        "dict artifact nested": lambda: run.log_dict({"a": DEEP}, "d.json"),
        "dict artifact keys": lambda: run.log_dict({("a", 1): 1}, "d.json"),
        # what cannot be a float, or a category
        "drift reference huge": lambda: ops.drift.fit_reference("d", {"x": [HUGE] * 10}),
        "drift reference unhashable": lambda: ops.drift.fit_reference("d",
                                                                      {"c": [{"k": 1}] * 10}),
        "drift check method": lambda: ops.drift.check("kept", {"x": [1.0] * 200}, method=None),
        "drift check unhashable": lambda: ops.drift.check("kept-c", {"c": [{1}] * 200}),
        # local paths the operating system cannot take
        "download to NUL": lambda: ops.registry.download("kept", "1.0.0", "a\x00b"),
        "download to None": lambda: ops.registry.download("kept", "1.0.0", None),
        "load into a surrogate": lambda: ops.registry.load("kept", "1.0.0", dst_dir="\ud800"),
        "artifacts to NUL": lambda: ops.tracking.download_artifacts(run.run_id, "", "a\x00b"),
        "path model None": lambda: ops.registry.register("p", None, flavor="path"),
        "store a surrogate": lambda: modelops.connect("\ud800"),
    }


def _nested(depth, leaf):
    for _ in range(depth):
        leaf = [leaf]
    return leaf


DEEP = _nested(5_000, 1)
DEEP_LIST = _nested(100, [])


@pytest.mark.parametrize("case", list(_cases(modelops.connect("memory://"),
                                             None).keys()))
def test_bad_input_is_an_invalid_input_naming_it_and_writes_nothing(any_ops, case):
    ops = any_ops
    with ops.tracking.start_run(experiment="e") as run:
        run.log_metric("m", 1.0)
        ops.registry.register("kept", {"a": 1}, flavor="joblib")
        ops.drift.fit_reference("kept", {"x": np.arange(200.0)})
        ops.drift.fit_reference("kept-c", {"c": ["a", "b"] * 100})
        before = _snapshot(ops)
        with pytest.raises(InvalidInput) as caught:
            _cases(ops, run)[case]()
        assert caught.value.field, f"{case}: {caught.value}"
        assert _snapshot(ops) == before
    assert run.run.data.metrics == {"m": 1.0}


def _snapshot(ops):
    storage = ops.tracking.store.storage
    return {path: storage.read_bytes(path) for path, _ in storage.walk_files("")
            if not path.startswith(("experiments/", "experiment-names/"))}


def test_start_run_refuses_a_bad_run_name_before_creating_the_experiment(any_ops):
    with pytest.raises(InvalidInput, match="run name"):
        any_ops.tracking.start_run(experiment="new", name="../x")
    with pytest.raises(InvalidInput, match="run tags"):
        any_ops.tracking.start_run(experiment="new", tags={"ok": 1, "": 2})
    assert any_ops.tracking.list_experiments() == []


@pytest.mark.parametrize("relabel", ["skops", "path"])
def test_a_version_whose_flavor_does_not_match_its_files_is_a_store_error(tmp_path, relabel):
    """A record saying ``skops`` (or ``path``) over joblib files — written by a faulty tool,
    or edited — is reported as what it is, not as a zip or key error from deep inside."""
    import json

    ops = modelops.connect(f"memory://mislabelled-{relabel}")
    ops.registry.register("m", {"a": 1}, flavor="joblib")
    storage = ops.registry.store.storage
    claim = json.loads(storage.read_bytes("models/m/versions/1.0.0.json"))
    claim.update(version="1.0.1", flavor=relabel, flavor_meta={})
    storage.create("models/m/versions/1.0.1.json", json.dumps(claim).encode())
    pytest.importorskip("skops")
    with pytest.raises(modelops.StoreError, match=r"1\.0\.1"):
        modelops.connect(f"memory://mislabelled-{relabel}").registry.load(
            "m", "1.0.1", dst_dir=str(tmp_path / "dl") if relabel == "path" else None)


def test_a_latency_that_is_not_finite_is_logged_as_none_by_every_call(tmp_path):
    ops = modelops.connect(tmp_path)
    with ops.predictions.logger("p") as log:
        log.log({"a": 1.0}, 1, latency_ms=float("inf"), timestamp=1_790_000_000_000)
        log.log_records([{"a": 1.0}], [1], latency_ms=float("nan"))
        log.log_columns({"a": np.arange(10.0)}, np.zeros(10), latency_ms=float("-inf"))
    latency = ops.predictions.read("p").latency_ms
    assert len(latency) == 12 and np.isnan(latency).all()


def test_a_window_may_start_at_the_last_millisecond_of_the_year_9999(tmp_path):
    """A datetime's timestamp() is a float: the last millisecond rounded into the year 10000."""
    import datetime as dt

    ops = modelops.connect(tmp_path)
    assert len(ops.predictions.read("p", since=dt.datetime.max)) == 0
