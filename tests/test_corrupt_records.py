"""Valid JSON of the wrong shape, or text that does not decode, in any record a read meets:
the record is skipped with a warning naming its file, or the read raises a StoreError naming
it; never a KeyError or a TypeError."""

import glob
import json
import os
import pathlib
import warnings

import numpy as np
import pytest

import modelops
from modelops import ModelOpsError, StoreError, StoreWarning

T0 = 1_790_000_000_000
#: JSON nested deeper than any parser recurses (Python's raises RecursionError; Arrow's
#: overflows its stack and takes the process with it).
DEEP = b"[" * 100_000 + b"]" * 100_000
SHAPES = [b"{}", b"[]", b'"text"', b"null", b'{"name": []}', b"\xff\xfe not text",
          b'{"name": ' + DEEP + b"}"]


@pytest.fixture
def store(tmp_path):
    ops = modelops.connect(tmp_path)
    with ops.tracking.start_run(experiment="exp", name="r") as run:
        run.log_metric("m", 1.0)
    ops.tracking.create_experiment("other")
    ops.drift.fit_reference("d", {"x": np.arange(50.0)})
    with ops.predictions.logger("p") as log:
        for i in range(3):
            log.log({"x": i}, i, id=f"id-{i}", timestamp=T0 + i)
    return tmp_path, run.run_id


def _one(root, pattern):
    """The first file matching ``pattern``, of the experiment "exp" where it matters."""
    paths = sorted(glob.glob(os.path.join(root, pattern)))
    if pattern.endswith("experiment.json"):
        paths = [p for p in paths if b'"name":"exp"' in pathlib.Path(p).read_bytes()]
    return paths[0]


def _reads(ops, run_id):
    return {
        "experiments": lambda: ops.tracking.list_experiments(),
        "experiment": lambda: ops.tracking.get_experiment("exp"),
        "search": lambda: ops.tracking.search_runs(),
        "run": lambda: ops.tracking.get_run(run_id),
        "history": lambda: ops.tracking.get_metric_history(run_id, "m"),
        "reference": lambda: ops.drift.reference("d"),
        "predictions": lambda: ops.predictions.read("p"),
    }


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: s.decode(errors="replace")[:20])
@pytest.mark.parametrize("record", ["experiments/*/experiment.json", "experiment-names/exp.json",
                                    "experiments/*/summaries.log",
                                    "experiments/*/runs/*/summary.json",
                                    "experiments/*/runs/*/run.json",
                                    "experiments/*/runs/*/log/*.json",
                                    "drift/d/profiles/*.json"])
def test_a_record_of_the_wrong_shape_is_skipped_or_a_store_error_naming_it(store, record,
                                                                         shape):
    root, run_id = store
    path = _one(root, record)
    with open(path, "wb") as f:
        f.write(shape)
    ops = modelops.connect(root)
    for name, read in _reads(ops, run_id).items():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                read()
            except ModelOpsError as exc:
                if isinstance(exc, StoreError):
                    assert os.path.basename(path) in str(exc), (name, exc)
                continue
        for w in caught:
            if issubclass(w.category, StoreWarning):
                assert os.path.basename(path) in str(w.message), (name, w.message)
    # What did not depend on the damaged record still reads.
    assert ops.tracking.get_experiment("other").name == "other"
    assert len(ops.predictions.read("p")) == 3


def test_a_summary_of_the_wrong_shape_is_rebuilt_from_the_run_records(store):
    root, run_id = store
    with open(_one(root, "experiments/*/runs/*/summary.json"), "w") as f:
        json.dump({"run_id": run_id}, f)
    ops = modelops.connect(root)
    with pytest.warns(StoreWarning, match=r"summary\.json"):
        assert ops.tracking.get_run(run_id).data.metrics == {"m": 1.0}
    # Search follows the experiment's summary log, which holds what the summary held.
    [found] = ops.tracking.search_runs("exp")
    assert (found.run_id, found.data.metrics) == (run_id, {"m": 1.0})


@pytest.mark.parametrize("line", [b"[]", b"null", b"1", b'"x"', b"{}", b'{"id": 5, "ts": 1}',
                                  b'{"id": "a", "ts": "soon"}', b"\xff\xfe",
                                  b'{"id": "a", "ts": 1, "prediction": ' + DEEP + b"}",
                                  b'{"id": "a", "ts": 99999999999999999999999}'],
                         ids=lambda s: s.decode(errors="replace")[:30])
def test_a_prediction_line_that_is_no_record_is_skipped_naming_its_part(store, line):
    root, _ = store
    part = _one(root, "predictions/p/date=*/part-*.jsonl")
    with open(part, "rb") as f:
        data = f.read()
    with open(part, "wb") as f:
        f.write(line + b"\n" + data)  # first: the line Arrow's reader is most fragile on
    ops = modelops.connect(root)
    for engine in ("auto", "python"):
        from modelops.predictions.reader import read_predictions

        with pytest.warns(StoreWarning, match=os.path.basename(part)):
            table = read_predictions(ops.predictions.store, "p", engine=engine)
        assert table.ids.tolist() == ["id-0", "id-1", "id-2"]


@pytest.mark.parametrize("engine", ["auto", "arrow", "python"])
def test_a_feedback_line_nested_too_deeply_is_skipped_naming_its_part(store, engine):
    """Arrow's JSON reader would crash the process on a part of that line alone (a stack
    overflow: no exception to catch)."""
    root, _ = store
    ops = modelops.connect(root)
    ops.predictions.feedback("p", "id-2", "no", timestamp=T0 + 10)
    part = _one(root, "predictions/p/feedback/date=*/part-*.jsonl")
    with open(part, "wb") as f:
        f.write(b'{"id": "id-2", "ts": 1, "actual": ' + DEEP + b"}\n")
    ops.predictions.feedback("p", "id-1", "yes", timestamp=T0 + 11)
    from modelops.predictions.reader import read_predictions

    with pytest.warns(StoreWarning, match=os.path.basename(part)):
        table = read_predictions(ops.predictions.store, "p", engine=engine)
    assert table.actuals.tolist() == [None, "yes", None]


def test_integers_beyond_64_bits_never_break_a_read(tmp_path):
    """JSON keeps them whole, Arrow's columns cannot: Arrow's JSON reader reads them as the
    nearest float (inf beyond a float's range), the line-by-line reader keeps them whole."""
    ops = modelops.connect(tmp_path)
    with ops.predictions.logger("p") as log:
        log.log({"x": 10 ** 400}, 1, id="big", timestamp=T0)
        log.log({"x": 2}, 10 ** 30, id="small", timestamp=T0 + 1)
    ops.predictions.feedback("p", "big", 10 ** 25, timestamp=T0 + 2)
    from modelops.predictions.reader import read_predictions

    store = ops.predictions.store
    exact = read_predictions(store, "p", engine="python")
    assert exact.features["x"].tolist() == [10 ** 400, 2]
    assert exact.predictions.tolist() == [1, 10 ** 30]
    assert exact.actuals.tolist() == [10 ** 25, None]
    nearest = read_predictions(store, "p", engine="auto")
    assert nearest.features["x"].tolist() == [float("inf"), 2.0]
    assert nearest.predictions.tolist() == [1.0, 1e30]
    assert nearest.actuals.tolist() == [1e25, None]


@pytest.mark.parametrize("record, field, value", [
    ("experiments/*/experiment.json", "tags", [[1]]),
    ("experiments/*/runs/*/log/*.json", "status", ["x"]),
    ("drift/d/profiles/*.json", "name", None),
    ("drift/d/profiles/*.json", "name", ["x"]),
    ("drift/d/profiles/*.json", "name", "other")])
def test_a_field_of_the_wrong_type_in_a_valid_record_is_no_raw_error(store, record, field,
                                                                     value):
    """Each once raised ValueError, TypeError or AttributeError from the reads below; a
    profile naming another model filed the reports of its checks under that model."""
    root, run_id = store
    path = _one(root, record)
    data = json.loads(pathlib.Path(path).read_bytes())
    data[field] = value
    pathlib.Path(path).write_text(json.dumps(data))
    ops = modelops.connect(root)
    reads = {**_reads(ops, run_id), "check": lambda: ops.drift.check("d", {"x": np.arange(50.)})}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StoreWarning)
        for name, read in reads.items():
            try:
                read()
            except ModelOpsError as exc:
                assert not isinstance(exc, StoreError) or os.path.basename(path) in str(exc), \
                    (name, exc)
    assert ops.drift.names() == ["d"]


def test_a_version_record_whose_metric_is_no_number_is_a_store_error(tmp_path):
    from modelops.backends.layout.registry import _log_line

    ops = modelops.connect(tmp_path)
    ops.registry.register("m", {"w": 1}, flavor="joblib", metrics={"f1": 0.9})
    log = tmp_path / "models" / "m" / "versions.log"
    (line,) = [x for x in log.read_bytes().split(b"\n") if x]
    record = json.loads(line.split(b"\t")[1])
    record["metrics"] = {"f1": "x"}
    log.write_bytes(_log_line("1.0.0", json.dumps(record).encode()))
    fresh = modelops.connect(tmp_path)
    with pytest.raises(StoreError, match="metric 'f1' is 'x', not a number"):
        fresh.registry.compare("m", "1.0.0", "1.0.0")
